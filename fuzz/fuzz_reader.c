/*
 * The framing fuzz targets' reader (see fuzz_reader.h).
 */
#include "fuzz_reader.h"

#include <stdlib.h>
#include <string.h>

#include "swoole/error.h"

/* The size of the next read. */
static size_t next_read(const fuzz_reader_t *rd, uint64_t *x, size_t left)
{
    size_t want = left;
    if (rd->pattern == FUZZ_BYTES) {
        want = 1;
    } else if (rd->pattern == FUZZ_CHUNKS) {
        *x ^= *x >> 12, *x ^= *x << 25, *x ^= *x >> 27; /* xorshift64 */
        want = (size_t)(*x % rd->chunk_max) + 1;
    }
    return want < left ? want : left;
}

void fuzz_read(const fuzz_reader_t *rd, const unsigned char *s, size_t n, fuzz_cuts_t *out)
{
    const sw_protocol_t *p = rd->p;
    size_t max = p->package_max_length;
    size_t start = 0, fed = 0;
    uint64_t x = rd->seed | 1;
    sw_framer_t st;
    sw_framer_init(&st);
    out->count = 0;
    out->error = 0;
    out->leftover = 0;
    while (fed < n) {
        size_t want = next_read(rd, &x, n - fed);
        if (want > max - (fed - start)) {
            want = max - (fed - start);
        }
        if (want == 0) {
            abort(); /* the framer waits for more than the limit: a deadlock */
        }
        fed += want;
        for (;;) {
            size_t len = fed - start, cut = 0;
            const char *data = (const char *)s + start;
            char *copy = NULL;
            if (len <= rd->copy_max) {
                copy = malloc(len ? len : 1);
                if (!copy) {
                    abort();
                }
                memcpy(copy, data, len);
                data = copy;
            }
            int rc = rd->next(p, &st, data, len, &cut);
            free(copy);
            if (rc < 0) {
                if (rc != SW_EPKGTOOBIG && rc != SW_EPKGMALFORMED) {
                    abort();
                }
                out->error = rc;
                return;
            }
            if (rc == 0) {
                if (cut <= len || cut > max) {
                    abort();
                }
                break;
            }
            if (cut == 0 || cut > len || cut > max || out->count == out->cap) {
                abort();
            }
            out->ends[out->count++] = start + cut;
            if (rd->on_message) {
                rd->on_message(s, start, start + cut, rd->arg);
            }
            start += cut;
        }
    }
    out->leftover = n - start;
}

void fuzz_cuts_same(const fuzz_cuts_t *a, const fuzz_cuts_t *b)
{
    if (a->error != b->error || a->count != b->count) {
        abort();
    }
    if (memcmp(a->ends, b->ends, a->count * sizeof *a->ends) != 0) {
        abort();
    }
    if (!a->error && a->leftover != b->leftover) {
        abort();
    }
}

void fuzz_read_ways(const fuzz_reader_t *rd, const unsigned char *s, size_t n, fuzz_cuts_t *whole,
                    fuzz_cuts_t *bytes, fuzz_cuts_t *chunks)
{
    fuzz_reader_t r = *rd;
    r.pattern = FUZZ_WHOLE;
    fuzz_read(&r, s, n, whole);
    r.pattern = FUZZ_BYTES;
    fuzz_read(&r, s, n, bytes);
    if (chunks) {
        r.pattern = FUZZ_CHUNKS;
        fuzz_read(&r, s, n, chunks);
    }
}
