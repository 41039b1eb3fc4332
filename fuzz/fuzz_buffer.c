/*
 * Fuzz target: random sequences of sw_buffer_t and sw_chain_t operations, each checked against
 * a plain reference model (a flat byte array with a length and a read offset) that predicts
 * the return code and the contents after every step.
 *
 * Input layout: byte 0 picks the buffer's max_size and initial capacity, byte 1 the chain's
 * chunk_size and max_length; then each operation is an opcode byte followed by the argument
 * bytes it reads. Lengths and offsets are mostly small, but an argument byte with the high
 * bit set selects a value near SIZE_MAX, so that every wrap-around path is exercised.
 * Missing bytes read as 0, so every input is a valid program.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "swoole/buffer.h"
#include "swoole/error.h"

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "fuzz_buffer: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

typedef struct {
    const uint8_t *p;
    size_t n;
} input_t;

static uint8_t next_byte(input_t *in)
{
    if (in->n == 0) {
        return 0;
    }
    in->n--;
    return *in->p++;
}

/* A length or offset: 0..127 directly, or SIZE_MAX - (0..127) when the high bit is set. A
 * call given such a value can only succeed when it is small, so 128-byte scratch arrays and
 * the 256-byte pattern are always large enough. */
static size_t next_size(input_t *in)
{
    uint8_t v = next_byte(in);
    return v & 0x80 ? SIZE_MAX - (v & 0x7f) : v;
}

/* Source bytes for writes: a fixed pattern. */
static uint8_t pattern[256];

/* ---- sw_buffer_t against a flat model -------------------------------------------------- */

typedef struct {
    uint8_t *bytes; /* max_size bytes */
    size_t length, offset, max;
} model_t;

static void check_buffer(const sw_buffer_t *b, const model_t *m)
{
    CHECK(b->length == m->length);
    CHECK(b->offset == m->offset);
    CHECK(b->offset <= b->length && b->length <= b->size && b->size <= b->max_size);
    CHECK(b->length == 0 || memcmp(b->str, m->bytes, b->length) == 0);
}

/* Model of a successful write of `len` bytes from `src` at `at` (at <= length). */
static void model_put(model_t *m, size_t at, const uint8_t *src, size_t len)
{
    memmove(m->bytes + at, src, len);
    if (at + len > m->length) {
        m->length = at + len;
    }
}

static void buffer_step(sw_buffer_t *b, model_t *m, input_t *in)
{
    uint8_t op = next_byte(in) % 11;
    size_t off = next_size(in);
    size_t len = next_size(in);
    int rc;
    switch (op) {
    case 0: /* append from the pattern */
    case 1: /* append a part of the buffer itself */
    {
        const void *src = pattern;
        const uint8_t *msrc = pattern;
        if (op == 1 && b->str && len <= b->length && off <= b->length - len) {
            src = b->str + off;
            msrc = m->bytes + off;
        }
        int want = len == 0 ? 0 : len > m->max - m->length ? SW_EOVERFLOW : 0;
        uint8_t tmp[256];
        if (want == 0 && len > 0) {
            memcpy(tmp, msrc, len);
        }
        rc = sw_buffer_append(b, src, len);
        CHECK(rc == want);
        if (rc == 0 && len > 0) {
            model_put(m, m->length, tmp, len);
        }
        break;
    }
    case 2: { /* write at an offset, sometimes from the buffer itself */
        size_t from = next_size(in);
        const void *src = pattern;
        const uint8_t *msrc = pattern;
        if (b->str && len <= b->length && from <= b->length - len) {
            src = b->str + from;
            msrc = m->bytes + from;
        }
        int want = off > m->length      ? SW_EBUFFER_BOUNDS
                   : len == 0           ? 0
                   : len > m->max - off ? SW_EOVERFLOW
                                        : 0;
        uint8_t tmp[256];
        if (want == 0 && len > 0) {
            memcpy(tmp, msrc, len);
        }
        rc = sw_buffer_write(b, off, src, len);
        CHECK(rc == want);
        if (rc == 0 && len > 0) {
            model_put(m, off, tmp, len);
        }
        break;
    }
    case 3: { /* read */
        uint8_t out[128];
        int want = off > m->length || len > m->length - off ? SW_EBUFFER_BOUNDS : 0;
        rc = sw_buffer_read(b, off, out, len); /* len <= 127 whenever it can succeed */
        CHECK(rc == want);
        if (rc == 0) {
            CHECK(len == 0 || memcmp(out, m->bytes + off, len) == 0);
        }
        break;
    }
    case 4: { /* substr, copy and/or remove */
        uint8_t out[128];
        bool remove = off & 1;
        int want = off > m->length || len > m->length - off ? SW_EBUFFER_BOUNDS : 0;
        rc = sw_buffer_substr(b, off, len, (len & 2) ? NULL : out, remove);
        CHECK(rc == want);
        if (rc == 0 && len > 0) {
            if (!(len & 2)) {
                CHECK(memcmp(out, m->bytes + off, len) == 0);
            }
            if (remove) {
                size_t end = off + len;
                memmove(m->bytes + off, m->bytes + end, m->length - end);
                m->length -= len;
                if (m->offset >= end) {
                    m->offset -= len;
                } else if (m->offset > off) {
                    m->offset = off;
                }
            }
        }
        break;
    }
    case 5: { /* expand */
        size_t cap = len < SIZE_MAX - 127 ? len * 32 : len;
        size_t old = b->size;
        int want = cap <= old ? 0 : cap > m->max ? SW_EOVERFLOW : 0;
        rc = sw_buffer_expand(b, cap);
        CHECK(rc == want);
        CHECK(b->size == (rc == 0 && cap > old ? cap : old));
        break;
    }
    case 6: { /* reserve, fill, commit part of it */
        char *p = NULL;
        int want = len > m->max - m->length ? SW_EOVERFLOW : 0;
        rc = sw_buffer_reserve(b, len, &p);
        CHECK(rc == want);
        if (rc == 0) {
            CHECK(b->size - b->length >= len);
            size_t k = off <= len ? off : len;
            if (k > 0) {
                memcpy(p, pattern, k);
                memcpy(m->bytes + m->length, pattern, k);
            }
            CHECK(sw_buffer_commit(b, k) == 0);
            m->length += k;
        }
        break;
    }
    case 7: { /* commit past the allocation: always refused */
        size_t extra = b->size - b->length;
        CHECK(sw_buffer_commit(b, len < SIZE_MAX - 127 ? extra + 1 + len : len) ==
              SW_EBUFFER_BOUNDS);
        break;
    }
    case 8: { /* consume */
        int want = len > m->length - m->offset ? SW_EBUFFER_BOUNDS : 0;
        rc = sw_buffer_consume(b, len);
        CHECK(rc == want);
        if (rc == 0) {
            m->offset += len;
        }
        break;
    }
    case 9: /* recycle */
        sw_buffer_recycle(b);
        memmove(m->bytes, m->bytes + m->offset, m->length - m->offset);
        m->length -= m->offset;
        m->offset = 0;
        break;
    case 10: /* clear, or close (the buffer stays usable) */
        if (off & 1) {
            sw_buffer_close(b);
            CHECK(b->str == NULL && b->size == 0);
        } else {
            sw_buffer_clear(b);
        }
        m->length = m->offset = 0;
        break;
    }
    check_buffer(b, m);
}

/* ---- sw_chain_t against a flat model --------------------------------------------------- */

typedef struct {
    uint8_t *bytes;
    size_t length, cap, max;
} cmodel_t;

static void check_chain(const sw_chain_t *c, const cmodel_t *m)
{
    CHECK(sw_chain_length(c) == m->length);
    struct iovec iov[64];
    size_t off = 0;
    int n = sw_chain_peek(c, iov, 64);
    CHECK(n >= 0);
    CHECK((size_t)n == (c->nchunks < 64 ? c->nchunks : 64));
    for (int i = 0; i < n; i++) {
        CHECK(iov[i].iov_len > 0);
        CHECK(off + iov[i].iov_len <= m->length);
        CHECK(memcmp(iov[i].iov_base, m->bytes + off, iov[i].iov_len) == 0);
        off += iov[i].iov_len;
    }
    CHECK(c->nchunks > 64 || off == m->length);
}

static void model_consume(cmodel_t *m, size_t len)
{
    memmove(m->bytes, m->bytes + len, m->length - len);
    m->length -= len;
}

static void chain_step(sw_chain_t *c, cmodel_t *m, input_t *in, const int *pfd)
{
    uint8_t op = next_byte(in) % 4;
    size_t len = next_size(in);
    switch (op) {
    case 0:
    case 1: { /* append */
        size_t limit = m->max ? m->max : SIZE_MAX;
        int want = len == 0 ? 0 : len > limit - m->length ? SW_EOVERFLOW_OUTPUT : 0;
        if (want == 0 && m->length + len > m->cap) {
            return; /* keep the model's memory bounded: skip */
        }
        int rc = sw_chain_append(c, pattern, len);
        CHECK(rc == want);
        if (rc == 0 && len > 0) {
            memcpy(m->bytes + m->length, pattern, len);
            m->length += len;
        }
        break;
    }
    case 2: { /* consume */
        int want = len > m->length ? SW_EBUFFER_BOUNDS : 0;
        int rc = sw_chain_consume(c, len);
        CHECK(rc == want);
        if (rc == 0) {
            model_consume(m, len);
        }
        break;
    }
    case 3: { /* write into a non-blocking pipe, then drain it and compare */
        if (pfd[0] < 0) {
            break;
        }
        ssize_t w = sw_chain_write(c, pfd[1]);
        CHECK(w >= 0 || w == SW_EAGAIN);
        if (m->length == 0) {
            CHECK(w == 0);
        }
        uint8_t buf[4096];
        size_t got = 0;
        for (;;) {
            ssize_t r = read(pfd[0], buf, sizeof(buf));
            if (r <= 0) {
                CHECK(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
                break;
            }
            CHECK(got + (size_t)r <= m->length);
            CHECK(memcmp(buf, m->bytes + got, (size_t)r) == 0);
            got += (size_t)r;
        }
        CHECK(w < 0 ? got == 0 : got == (size_t)w);
        model_consume(m, got);
        break;
    }
    }
    check_chain(c, m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < sizeof(pattern); i++) {
        pattern[i] = (uint8_t)(i * 37 + 11);
    }
    input_t in = {data, size};

    uint8_t bsel = next_byte(&in);
    model_t m = {.max = 1 + (size_t)(bsel & 0x3f) * 64}; /* 1 .. 4033 bytes */
    size_t capacity = (size_t)(bsel >> 6) * (m.max / 4);
    sw_buffer_t b;
    CHECK(sw_buffer_init(&b, capacity, m.max) == 0);
    m.bytes = malloc(m.max);
    CHECK(m.bytes != NULL);

    uint8_t csel = next_byte(&in);
    cmodel_t cm = {.cap = 1 << 16, .max = (csel & 0x80) ? 0 : (size_t)(csel & 0x0f) * 512};
    sw_chain_t c;
    CHECK(sw_chain_init(&c, 1 + (size_t)((csel >> 4) & 0x7) * 9, cm.max) == 0);
    cm.bytes = malloc(cm.cap);
    CHECK(cm.bytes != NULL);

    int pfd[2] = {-1, -1};
    if (pipe(pfd) == 0) {
        fcntl(pfd[0], F_SETFL, O_NONBLOCK);
        fcntl(pfd[1], F_SETFL, O_NONBLOCK);
    } else {
        pfd[0] = pfd[1] = -1;
    }

    while (in.n > 0) {
        if (next_byte(&in) & 1) {
            chain_step(&c, &cm, &in, pfd);
        } else {
            buffer_step(&b, &m, &in);
        }
    }

    if (pfd[0] >= 0) {
        close(pfd[0]);
        close(pfd[1]);
    }
    sw_chain_close(&c);
    CHECK(sw_chain_length(&c) == 0);
    sw_buffer_close(&b);
    free(cm.bytes);
    free(m.bytes);
    return 0;
}
