/* The framing tests' reader; see protocol_util.h. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "protocol_util.h"
#include "sw_test.h"
#include "swoole/buffer.h"

static void record(frame_run_t *r, size_t end)
{
    if (r->count == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->ends = realloc(r->ends, r->cap * sizeof *r->ends);
        ASSERT_NOT_NULL(r->ends);
    }
    r->ends[r->count++] = end;
}

typedef struct {
    char *map;
    size_t size; /* usable bytes before the guard page */
} guard_t;

static void guard_open(guard_t *g, size_t need)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    g->size = (need + page - 1) / page * page + page;
    g->map = mmap(NULL, g->size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_TRUE(g->map != MAP_FAILED);
    ASSERT_EQ(mprotect(g->map + g->size, page, PROT_NONE), 0);
}

static void guard_close(guard_t *g)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    munmap(g->map, g->size + page);
}

void frame_run(const sw_protocol_t *p, const void *stream, size_t n, const size_t *chunks,
               size_t nchunks, bool guard, frame_run_t *r)
{
    const char *s = stream;
    size_t max = p->package_max_length;
    memset(r, 0, sizeof *r);
    sw_buffer_t in;
    ASSERT_OK(sw_buffer_init(&in, 0, max));
    guard_t g = {0};
    if (guard) {
        guard_open(&g, max);
    }
    sw_framer_t st;
    sw_framer_init(&st);
    size_t fed = 0, ci = 0, hint = 1;
    bool done = false;
    while (!done) {
        /* Read a chunk, as much as fits under the cap. */
        sw_buffer_recycle(&in);
        size_t room = max - in.length;
        size_t unread = in.length - in.offset;
        size_t want = nchunks ? chunks[ci++ % nchunks] : 0;
        if (want == FRAME_CHUNK_HINT) {
            want = hint - unread;
        }
        if (want == 0 || want > n - fed) {
            want = n - fed;
        }
        if (want > room) {
            want = room;
        }
        if (want == 0) {
            /* Everything fed, or the buffer is full: the framer must have decided already. */
            if (fed < n) {
                sw_test_fail(__FILE__, __LINE__,
                             "framer needs more than package_max_length "
                             "(%zu unread, hint %zu)",
                             unread, hint);
            }
            break;
        }
        char *dst;
        ASSERT_OK(sw_buffer_reserve(&in, want, &dst));
        memcpy(dst, s + fed, want);
        ASSERT_OK(sw_buffer_commit(&in, want));
        fed += want;
        /* Frame everything that is complete. */
        for (;;) {
            unread = in.length - in.offset;
            if (unread > r->max_unread) {
                r->max_unread = unread;
            }
            const char *data = in.str + in.offset;
            if (guard) {
                memcpy(g.map + g.size - unread, data, unread);
                data = g.map + g.size - unread;
            }
            size_t out = 0;
            r->calls++;
            int rc = sw_protocol_next(p, &st, data, unread, &out);
            if (rc < 0) {
                if (unread < hint) {
                    sw_test_fail(__FILE__, __LINE__, "%s with %zu bytes after a hint of %zu",
                                 sw_err_name(rc), unread, hint);
                }
                r->error = rc;
                r->fed_at_error = fed;
                done = true;
                break;
            }
            if (rc == 0) {
                ASSERT_UGT(out, unread);
                ASSERT_ULE(out, max);
                hint = out;
                break;
            }
            ASSERT_EQ(rc, 1);
            if (unread < hint) {
                sw_test_fail(__FILE__, __LINE__, "message with %zu bytes after a hint of %zu",
                             unread, hint);
            }
            ASSERT_UGE(out, 1);
            ASSERT_ULE(out, unread);
            ASSERT_ULE(out, max);
            size_t at = r->consumed;
            ASSERT_MEM_EQ(data, s + at, out);
            r->consumed += out;
            record(r, r->consumed);
            ASSERT_OK(sw_buffer_consume(&in, out));
            hint = 1;
        }
    }
    if (!r->error) {
        r->leftover = in.length - in.offset;
        ASSERT_UEQ(r->consumed + r->leftover, n);
    }
    r->examined = st.examined;
    sw_buffer_close(&in);
    if (guard) {
        guard_close(&g);
    }
}

void frame_run1(const sw_protocol_t *p, const void *stream, size_t n, size_t chunk, frame_run_t *r)
{
    frame_run(p, stream, n, &chunk, 1, false, r);
}

void frame_run_free(frame_run_t *r)
{
    free(r->ends);
    r->ends = NULL;
    r->count = r->cap = 0;
}

void frame_put_length(char type, int64_t value, unsigned char *out)
{
    switch (type) {
    case 'c':
    case 'C':
        out[0] = (unsigned char)value;
        break;
    case 's': {
        int16_t v = (int16_t)value;
        memcpy(out, &v, 2);
        break;
    }
    case 'S': {
        uint16_t v = (uint16_t)value;
        memcpy(out, &v, 2);
        break;
    }
    case 'l': {
        int32_t v = (int32_t)value;
        memcpy(out, &v, 4);
        break;
    }
    case 'L': {
        uint32_t v = (uint32_t)value;
        memcpy(out, &v, 4);
        break;
    }
    case 'n':
        out[0] = (unsigned char)(value >> 8);
        out[1] = (unsigned char)value;
        break;
    case 'v':
        out[0] = (unsigned char)value;
        out[1] = (unsigned char)(value >> 8);
        break;
    case 'N':
        for (int i = 0; i < 4; i++) {
            out[i] = (unsigned char)(value >> (24 - 8 * i));
        }
        break;
    case 'V':
        for (int i = 0; i < 4; i++) {
            out[i] = (unsigned char)(value >> (8 * i));
        }
        break;
    default:
        sw_test_fail(__FILE__, __LINE__, "bad length type '%c'", type);
    }
}

uint64_t frame_rand(uint64_t *state)
{
    /* xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators"). */
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 2685821657736338717ull;
}
