/*
 * A reader for the framing tests that does what the server's read path does: an sw_buffer_t
 * capped at package_max_length, bytes arriving in chunks of given sizes, sw_protocol_next in
 * a loop, consume, recycle. It records what came out and checks the framer's promises on
 * every call:
 *   - a message is 1..package_max_length bytes, and its bytes are the stream's;
 *   - on 0 the hint is > the unread bytes and <= package_max_length, and any later call with
 *     fewer bytes than the hint returns 0 again (the hint is a true lower bound);
 *   - the framer never needs more than the capped buffer can hold (no deadlock).
 * With `guard` set, the unread bytes are moved before each call so that they end right at a
 * PROT_NONE page: a framer reading one byte past `len` crashes, and one that remembered a
 * pointer instead of an offset reads the wrong bytes (the contract lets the buffer move).
 */
#ifndef SW_TEST_PROTOCOL_UTIL_H
#define SW_TEST_PROTOCOL_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "swoole/protocol.h"

/* Chunk size meaning "read exactly what the framer's hint asks for". */
#define FRAME_CHUNK_HINT ((size_t)-1)

typedef struct {
    size_t count;        /* messages delivered */
    size_t *ends;        /* stream offset just after each message (malloc'd) */
    size_t cap;          /* room in ends */
    int error;           /* 0, or the SW_E* code that stopped framing */
    size_t fed_at_error; /* stream bytes handed to the buffer when the error came */
    size_t consumed;     /* stream bytes delivered in messages */
    size_t leftover;     /* unread bytes at the end (a partial message) */
    size_t max_unread;   /* most unread bytes held at once */
    size_t calls;        /* sw_protocol_next calls */
    uint64_t examined;   /* the framer's examined counter at the end */
} frame_run_t;

/*
 * Frames `n` bytes of `stream` arriving in chunks of chunks[0], chunks[1], ... (cycled; a
 * chunk of 0 or larger than what is left means "all that is left and fits"). Fails the test on
 * any broken promise. Free with frame_run_free.
 */
void frame_run(const sw_protocol_t *p, const void *stream, size_t n, const size_t *chunks,
               size_t nchunks, bool guard, frame_run_t *r);

/* One chunk size for the whole stream. */
void frame_run1(const sw_protocol_t *p, const void *stream, size_t n, size_t chunk, frame_run_t *r);

void frame_run_free(frame_run_t *r);

/* Writes `value` as a length field of `type` (PHP pack semantics, host order for s S l L). */
void frame_put_length(char type, int64_t value, unsigned char *out);

/* Deterministic pseudo-random numbers for building streams (xorshift64*). */
uint64_t frame_rand(uint64_t *state);

#endif
