/*
 * Helpers shared by the WebSocket tests: growable byte strings, the byte notation of the
 * vector files in tests/data/websocket/, guard-page placement, and name look-ups.
 *
 * Byte notation (one line, tokens separated by spaces):
 *     81 fe 0100 ...     hex bytes, one or more pairs per token
 *     "Hello\x21"        a string; escapes \\ \" \xNN \n \r \t
 *     125*2a  3*"ab"     a hex byte or a string repeated N times
 *     @37fa213d          emits the 4 key bytes, then masks every later byte of the line with
 *                        that key, phase starting at 0 (so a frame's payload can be written in
 *                        clear text after its key)
 *     /                  ends the masked part (so that another frame can follow on the line)
 */
#ifndef SW_TEST_WEBSOCKET_UTIL_H
#define SW_TEST_WEBSOCKET_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *p;
    size_t n, cap;
} ws_bytes_t;

void ws_bytes_put(ws_bytes_t *b, const void *p, size_t n);
void ws_bytes_free(ws_bytes_t *b);

/* Parses the notation above, appending to *out. Returns NULL, or a static message. */
const char *ws_parse_bytes(const char *s, ws_bytes_t *out, bool allow_mask);

/* A writable area that ends right before a PROT_NONE page: data placed with ws_guard_place
 * ends at the page boundary, so a read or write past its end faults. */
typedef struct {
    uint8_t *base, *end;
    size_t size;
} ws_guard_t;

void ws_guard_init(ws_guard_t *g, size_t need);
uint8_t *ws_guard_place(ws_guard_t *g, const void *src, size_t n);
void ws_guard_free(ws_guard_t *g);

/* The SW_E* code called `name` (without SW_), or 1 when there is none. */
int ws_err_by_name(const char *name);
/* The sw_ws_detail_t called `name`, or -1. */
int ws_detail_by_name(const char *name);

/* The directory of the vector files, with a trailing slash. */
const char *ws_data_dir(void);

/* Reads a whole file into a NUL-terminated buffer the caller frees; fails the test if absent. */
char *ws_read_file(const char *path, size_t *len);

#endif
