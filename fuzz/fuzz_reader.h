/*
 * The reader shared by the framing fuzz targets (fuzz_protocol.c, fuzz_http_framer.c,
 * fuzz_ws_framer.c): it frames a stream the way the server frames a connection -- unread
 * bytes capped at package_max_length, framing after every read, consume the messages, go on
 * -- with the reads cut whole, one byte at a time, or in pseudo-random chunks, and records
 * where each message ended. The targets run it several ways and compare the cuts.
 *
 * Every contract of the framing call is checked on the way (abort() on a breach, which the
 * fuzzer reports): a message is never empty, longer than the unread bytes or than the limit;
 * "need more" asks for more than there is but not beyond the limit; an error is only
 * SW_EPKGTOOBIG or SW_EPKGMALFORMED; the reader never waits for more than the limit.
 */
#ifndef SW_FUZZ_READER_H
#define SW_FUZZ_READER_H

#include <stddef.h>
#include <stdint.h>

#include "swoole/protocol.h"

/* sw_protocol_next or sw_protocol_next_websocket. */
typedef int (*fuzz_next_fn)(const sw_protocol_t *p, sw_framer_t *st, const char *data, size_t len,
                            size_t *out);

enum { FUZZ_WHOLE, FUZZ_BYTES, FUZZ_CHUNKS };

typedef struct {
    const sw_protocol_t *p;
    fuzz_next_fn next;
    int pattern;      /* FUZZ_WHOLE, FUZZ_BYTES or FUZZ_CHUNKS */
    size_t chunk_max; /* FUZZ_CHUNKS: reads of 1..chunk_max bytes (xorshift64 of seed | 1) */
    uint64_t seed;
    /* Unread input of up to copy_max bytes is copied to a buffer of exactly that size before
     * each call, so that a framer reading past `len` is caught by ASan. */
    size_t copy_max;
    /* Called for every message cut, s[start..end) (may be NULL). */
    void (*on_message)(const unsigned char *s, size_t start, size_t end, void *arg);
    void *arg;
} fuzz_reader_t;

/* What a run cut: the end offset of each message, the error that stopped it (0: none) and the
 * bytes left unread at the end. `ends` is the caller's, `cap` entries (at least the stream's
 * length). */
typedef struct {
    size_t *ends;
    size_t cap;
    size_t count;
    int error;
    size_t leftover;
} fuzz_cuts_t;

/* Frames s[0..n) as `rd` says into `out` (its ends and cap set by the caller). */
void fuzz_read(const fuzz_reader_t *rd, const unsigned char *s, size_t n, fuzz_cuts_t *out);

/* Frames s[0..n) whole into `whole`, one byte at a time into `bytes` and, unless `chunks` is
 * NULL, in pseudo-random chunks into `chunks` (rd's pattern is ignored). */
void fuzz_read_ways(const fuzz_reader_t *rd, const unsigned char *s, size_t n, fuzz_cuts_t *whole,
                    fuzz_cuts_t *bytes, fuzz_cuts_t *chunks);

/* abort() unless a and b cut the same messages and stopped with the same error (and, without
 * an error, left the same bytes). */
void fuzz_cuts_same(const fuzz_cuts_t *a, const fuzz_cuts_t *b);

#endif
