/*
 * Length framing: the matrix of every length type with length and body offsets, arriving
 * whole, byte at a time, in odd chunks and exactly as the hint asks; several packets in one
 * segment; a message split across many reads; lengths over package_max_length refused before
 * the body arrives; negative and garbage lengths; the user length function. Scenario 6 of
 * swoole-reference.md §4, without sockets (the server's tests run it over TCP).
 */
#include <stdlib.h>
#include <string.h>

#include "protocol_util.h"
#include "sw_test.h"
#include "swoole/protocol.h"

static const char TYPES[] = "cCsSnvlLNV";

static sw_protocol_t length_spec(char type, uint32_t length_offset, uint32_t body_offset,
                                 size_t max)
{
    sw_protocol_t p;
    sw_protocol_init(&p);
    p.open_length_check = true;
    p.package_length_type = type;
    p.package_length_offset = length_offset;
    p.package_body_offset = body_offset;
    p.package_max_length = max;
    ASSERT_OK(sw_protocol_check(&p));
    return p;
}

/* Largest value a type can carry that is not negative. */
static int64_t type_max(char type)
{
    switch (type) {
    case 'c':
        return 127;
    case 'C':
        return 255;
    case 's':
        return 32767;
    case 'S':
    case 'n':
    case 'v':
        return 65535;
    case 'l':
        return 2147483647;
    default:
        return 4294967295;
    }
}

/* Appends one message of `total` bytes to `buf` at `*n`: filler bytes, then the length
 * field. Returns false when `total` cannot be expressed with this spec. */
static bool put_message(const sw_protocol_t *p, unsigned char *buf, size_t *n, size_t total,
                        uint64_t *rng)
{
    size_t size = (size_t)sw_protocol_length_size(p->package_length_type);
    size_t field_end = p->package_length_offset + size;
    if (total < field_end || total < p->package_body_offset) {
        return false;
    }
    int64_t value = (int64_t)(total - p->package_body_offset);
    if (value > type_max(p->package_length_type)) {
        return false;
    }
    unsigned char *m = buf + *n;
    for (size_t i = 0; i < total; i++) {
        m[i] = (unsigned char)frame_rand(rng);
    }
    frame_put_length(p->package_length_type, value, m + p->package_length_offset);
    *n += total;
    return true;
}

SW_TEST_TIMEOUT(length_matrix, 120)
{
    /* (length_offset, body_offset) pairs: header counted or not, fields after a prefix, a
     * body offset before the field's end, body offsets far past it. */
    static const uint32_t offsets[][2] = {{0, 0}, {0, 99},  {3, 0},  {3, 7},
                                          {5, 2}, {0, 300}, {17, 21}};
    static const size_t chunk_sets[][4] = {
        {0}, {1}, {2, 3, 5, 7}, {FRAME_CHUNK_HINT}, {13, 1, 64, 2}};
    static const size_t nchunk[] = {1, 1, 4, 1, 4};
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    size_t cap = 64 << 10;
    unsigned char *buf = malloc(cap);
    size_t *ends = malloc(cap * sizeof *ends);
    ASSERT_NOT_NULL(buf);
    ASSERT_NOT_NULL(ends);
    for (const char *t = TYPES; *t; t++) {
        for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++) {
            sw_protocol_t p = length_spec(*t, offsets[o][0], offsets[o][1], 4096);
            /* Messages of assorted lengths, including the smallest the spec allows. */
            size_t n = 0, count = 0;
            for (size_t i = 0; i < 40; i++) {
                size_t size = (size_t)sw_protocol_length_size(*t);
                size_t lo = offsets[o][0] + size;
                if (lo < offsets[o][1]) {
                    lo = offsets[o][1];
                }
                size_t hi = offsets[o][1] + (size_t)type_max(*t);
                if (hi > lo + 600) {
                    hi = lo + 600;
                }
                size_t total = i == 0 ? lo : lo + (size_t)(frame_rand(&rng) % (hi - lo + 1));
                if (put_message(&p, buf, &n, total, &rng)) {
                    ends[count++] = n;
                }
            }
            ASSERT_UEQ(count, 40);
            for (size_t c = 0; c < sizeof nchunk / sizeof nchunk[0]; c++) {
                for (int guard = 0; guard < 2; guard++) {
                    frame_run_t r;
                    frame_run(&p, buf, n, chunk_sets[c], nchunk[c], guard, &r);
                    if (r.error || r.count != count) {
                        sw_test_fail(__FILE__, __LINE__,
                                     "type %c offsets %u/%u chunks #%zu guard %d: %zu of %zu "
                                     "messages, error %s",
                                     *t, offsets[o][0], offsets[o][1], c, guard, r.count, count,
                                     sw_err_name(r.error));
                    }
                    for (size_t i = 0; i < count; i++) {
                        ASSERT_UEQ(r.ends[i], ends[i]);
                    }
                    ASSERT_UEQ(r.leftover, 0);
                    frame_run_free(&r);
                }
            }
        }
    }
    free(ends);
    free(buf);
}

SW_TEST(length_default_spec)
{
    /* Swoole's server-port defaults: 'N' at 0, body offset 4: the length counts the body. */
    sw_protocol_t p;
    sw_protocol_init(&p);
    ASSERT_OK(sw_protocol_set_option(&p, "open_length_check", "1"));
    ASSERT_OK(sw_protocol_check(&p));
    sw_framer_t st;
    sw_framer_init(&st);
    const char msg[] = "\0\0\0\5hello\0\0\0\0";
    size_t out = 0;
    ASSERT_EQ(sw_protocol_next(&p, &st, msg, 13, &out), 1);
    ASSERT_UEQ(out, 9);
    /* An empty body is a message of its header alone. */
    ASSERT_EQ(sw_protocol_next(&p, &st, msg + 9, 4, &out), 1);
    ASSERT_UEQ(out, 4);
}

SW_TEST(length_several_in_one_segment)
{
    sw_protocol_t p = length_spec('n', 0, 2, 1024);
    const char seg[] = "\0\3abc\0\1d\0\0\0\4wx"; /* abc, d, empty, then half of a 4-byte body */
    size_t len = sizeof seg - 1, off = 0, out = 0;
    sw_framer_t st;
    sw_framer_init(&st);
    ASSERT_EQ(sw_protocol_next(&p, &st, seg + off, len - off, &out), 1);
    ASSERT_UEQ(out, 5);
    off += out;
    ASSERT_EQ(sw_protocol_next(&p, &st, seg + off, len - off, &out), 1);
    ASSERT_UEQ(out, 3);
    off += out;
    ASSERT_EQ(sw_protocol_next(&p, &st, seg + off, len - off, &out), 1);
    ASSERT_UEQ(out, 2);
    off += out;
    ASSERT_EQ(sw_protocol_next(&p, &st, seg + off, len - off, &out), 0);
    ASSERT_UEQ(out, 6); /* the whole message, now that its length is known */
    /* Only the length field so far: the hint is the field's end. */
    sw_framer_init(&st);
    ASSERT_EQ(sw_protocol_next(&p, &st, "\0", 1, &out), 0);
    ASSERT_UEQ(out, 2);
    ASSERT_EQ(sw_protocol_next(&p, &st, "", 0, &out), 0);
    ASSERT_UEQ(out, 2);
}

SW_TEST(length_split_across_many_reads)
{
    /* A 1 MiB message in 1,000-byte reads: no message until the last byte, the hint is the
     * total from the first read on, and the bytes come out whole. */
    size_t total = 1 << 20;
    sw_protocol_t p = length_spec('N', 0, 4, 2 << 20);
    unsigned char *m = malloc(total);
    ASSERT_NOT_NULL(m);
    for (size_t i = 0; i < total; i++) {
        m[i] = (unsigned char)(i * 7);
    }
    frame_put_length('N', (int64_t)total - 4, m);
    sw_framer_t st;
    sw_framer_init(&st);
    size_t out = 0;
    for (size_t have = 1000; have < total; have += 1000) {
        ASSERT_EQ(sw_protocol_next(&p, &st, (const char *)m, have, &out), 0);
        ASSERT_UEQ(out, total);
    }
    ASSERT_EQ(sw_protocol_next(&p, &st, (const char *)m, total, &out), 1);
    ASSERT_UEQ(out, total);
    frame_run_t r;
    frame_run1(&p, m, total, 1000, &r);
    ASSERT_EQ(r.error, 0);
    ASSERT_UEQ(r.count, 1);
    ASSERT_UEQ(r.ends[0], total);
    frame_run_free(&r);
    free(m);
}

SW_TEST(length_too_big_before_body)
{
    /* For every type, a length one past the limit is refused as soon as the field is
     * complete, whatever the arrival pattern: the body is never buffered. */
    for (const char *t = TYPES; *t; t++) {
        size_t size = (size_t)sw_protocol_length_size(*t);
        size_t max = *t == 'c' ? 100 : 200; /* within reach of every type */
        sw_protocol_t p = length_spec(*t, 3, 5, max);
        unsigned char m[512] = {0};
        frame_put_length(*t, (int64_t)(max - 5 + 1), m + 3);
        size_t field_end = 3 + size;
        for (size_t chunk = 1; chunk <= 3; chunk++) {
            frame_run_t r;
            frame_run1(&p, m, sizeof m, chunk, &r);
            ASSERT_ERR(r.error, SW_EPKGTOOBIG);
            ASSERT_ULE(r.fed_at_error, field_end + chunk - 1);
            ASSERT_UGE(r.fed_at_error, field_end);
            frame_run_free(&r);
        }
        /* Exactly the limit is fine. */
        frame_put_length(*t, (int64_t)(max - 5), m + 3);
        frame_run_t r;
        frame_run1(&p, m, max, 1, &r);
        ASSERT_EQ(r.error, 0);
        ASSERT_UEQ(r.count, 1);
        frame_run_free(&r);
    }
    /* The largest 32-bit length plus the largest body offset: no overflow, too big. */
    sw_protocol_t p = length_spec('N', 0, SW_PROTOCOL_OFFSET_MAX, SW_PROTOCOL_MAX_LENGTH_LIMIT);
    sw_framer_t st;
    sw_framer_init(&st);
    size_t out = 0;
    ASSERT_ERR(sw_protocol_next(&p, &st, "\xff\xff\xff\xff", 4, &out), SW_EPKGTOOBIG);
    /* 'L' reads 0xffffffff as 4294967295 (too big), 'l' as -1 (malformed). */
    p = length_spec('L', 0, 4, 1 << 20);
    sw_framer_init(&st);
    ASSERT_ERR(sw_protocol_next(&p, &st, "\xff\xff\xff\xff", 4, &out), SW_EPKGTOOBIG);
    p = length_spec('l', 0, 4, 1 << 20);
    sw_framer_init(&st);
    ASSERT_ERR(sw_protocol_next(&p, &st, "\xff\xff\xff\xff", 4, &out), SW_EPKGMALFORMED);
}

SW_TEST(length_negative_and_garbage)
{
    sw_framer_t st;
    size_t out = 0;
    unsigned char f[4];
    /* Negative values of the signed types. */
    static const struct {
        char type;
        int64_t value;
    } neg[] = {{'c', -1}, {'c', -128}, {'s', -1}, {'s', -32768}, {'l', -1}, {'l', INT32_MIN}};
    for (size_t i = 0; i < sizeof neg / sizeof neg[0]; i++) {
        sw_protocol_t p = length_spec(neg[i].type, 0, 0, 1 << 20);
        frame_put_length(neg[i].type, neg[i].value, f);
        sw_framer_init(&st);
        ASSERT_ERR(sw_protocol_next(&p, &st, (const char *)f, 4, &out), SW_EPKGMALFORMED);
    }
    /* The same bytes in the unsigned types are lengths. */
    sw_protocol_t p = length_spec('C', 0, 0, 1 << 20);
    sw_framer_init(&st);
    ASSERT_EQ(sw_protocol_next(&p, &st, "\xff", 1, &out), 0);
    ASSERT_UEQ(out, 255);
    /* A total that ends before the length field: could never be framed. */
    p = length_spec('N', 4, 0, 1 << 20);
    frame_put_length('N', 7, f);
    char m[16] = "abcd";
    memcpy(m + 4, f, 4);
    sw_framer_init(&st);
    ASSERT_ERR(sw_protocol_next(&p, &st, m, 8, &out), SW_EPKGMALFORMED);
    frame_put_length('N', 8, f); /* exactly the field's end: a header-only message */
    memcpy(m + 4, f, 4);
    sw_framer_init(&st);
    ASSERT_EQ(sw_protocol_next(&p, &st, m, 8, &out), 1);
    ASSERT_UEQ(out, 8);
    /* Zero length with the header counted: total 0. */
    p = length_spec('n', 0, 0, 1 << 20);
    sw_framer_init(&st);
    ASSERT_ERR(sw_protocol_next(&p, &st, "\0\0", 2, &out), SW_EPKGMALFORMED);
    /* Byte at a time, the error comes with the field's last byte, not before. */
    frame_put_length('l', -5, f);
    p = length_spec('l', 0, 4, 1 << 20);
    frame_run_t r;
    frame_run1(&p, f, 4, 1, &r);
    ASSERT_ERR(r.error, SW_EPKGMALFORMED);
    ASSERT_UEQ(r.fed_at_error, 4);
    frame_run_free(&r);
}

SW_TEST(length_decode_values)
{
    /* PHP pack() semantics, fixed vectors: n/N big-endian, v/V little-endian, s S l L host. */
    static const unsigned char b[4] = {0x01, 0x02, 0x03, 0x04};
    static const struct {
        char type;
        size_t expect;
    } v[] = {{'C', 0x01},   {'c', 0x01},       {'n', 0x0102},
             {'v', 0x0201}, {'N', 0x01020304}, {'V', 0x04030201}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        sw_protocol_t p = length_spec(v[i].type, 0, 0, SW_PROTOCOL_MAX_LENGTH_LIMIT);
        sw_framer_t st;
        sw_framer_init(&st);
        size_t out = 0;
        /* A total within the 4 bytes given is a message; a larger one is the hint. */
        ASSERT_EQ(sw_protocol_next(&p, &st, (const char *)b, 4, &out), v[i].expect <= 4);
        ASSERT_UEQ(out, v[i].expect);
    }
    uint16_t h16;
    uint32_t h32;
    memcpy(&h16, b, 2);
    memcpy(&h32, b, 4);
    static const char host[] = "sSlL";
    for (const char *t = host; *t; t++) {
        sw_protocol_t p = length_spec(*t, 0, 0, SW_PROTOCOL_MAX_LENGTH_LIMIT);
        sw_framer_t st;
        sw_framer_init(&st);
        size_t out = 0;
        ASSERT_EQ(sw_protocol_next(&p, &st, (const char *)b, 4, &out), 0);
        ASSERT_UEQ(out, (*t == 's' || *t == 'S') ? h16 : h32);
    }
}

/* A user length function for a varint-prefixed protocol (LEB128 length of the body, as
 * protobuf's length-delimited streams): total = prefix bytes + body. More than 5 prefix
 * bytes is malformed. Counts its calls and the largest input it was shown. */
typedef struct {
    size_t calls;
    size_t max_len;
} varint_ctx_t;

static ssize_t varint_length(const char *data, size_t len, void *arg)
{
    varint_ctx_t *ctx = arg;
    ctx->calls++;
    if (len > ctx->max_len) {
        ctx->max_len = len;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < len && i < 5; i++) {
        unsigned char c = (unsigned char)data[i];
        v |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            return (ssize_t)(i + 1 + v);
        }
    }
    return len >= 5 ? -1 : 0;
}

static size_t put_varint(unsigned char *out, size_t v)
{
    size_t n = 0;
    do {
        out[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) {
            out[n] |= 0x80;
        }
        n++;
    } while (v);
    return n;
}

SW_TEST(length_user_function)
{
    varint_ctx_t ctx = {0};
    sw_protocol_t p;
    sw_protocol_init(&p);
    p.open_length_check = true;
    p.package_length_type = '?'; /* ignored: the function decides */
    p.package_length_func = varint_length;
    p.package_length_arg = &ctx;
    p.package_max_length = 1000;
    ASSERT_OK(sw_protocol_check(&p));
    /* Messages with 1- and 2-byte prefixes, fed byte at a time and whole. */
    unsigned char buf[4096];
    size_t n = 0, ends[16], count = 0;
    static const size_t bodies[] = {0, 5, 127, 128, 300, 990};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        n += put_varint(buf + n, bodies[i]);
        memset(buf + n, 'a' + (int)i, bodies[i]);
        n += bodies[i];
        ends[count++] = n;
    }
    size_t chunks[] = {1, 0, 7, FRAME_CHUNK_HINT};
    for (size_t c = 0; c < 4; c++) {
        ctx = (varint_ctx_t){0};
        frame_run_t r;
        frame_run(&p, buf, n, &chunks[c], 1, c == 0, &r);
        ASSERT_EQ(r.error, 0);
        ASSERT_UEQ(r.count, count);
        for (size_t i = 0; i < count; i++) {
            ASSERT_UEQ(r.ends[i], ends[i]);
        }
        /* Called until the prefix is complete, never again while the body arrives. */
        ASSERT_ULE(ctx.calls, 2 * count);
        ASSERT_ULE(ctx.max_len, p.package_max_length);
        frame_run_free(&r);
    }
    /* Over the limit: the function's total is refused at once. */
    size_t k = put_varint(buf, 999); /* 2 + 999 > 1000 */
    ctx = (varint_ctx_t){0};
    frame_run_t r;
    frame_run1(&p, buf, k, 1, &r);
    ASSERT_ERR(r.error, SW_EPKGTOOBIG);
    ASSERT_UEQ(r.fed_at_error, 2);
    frame_run_free(&r);
    /* Malformed: the function's negative answer. */
    memset(buf, 0xff, 8);
    frame_run1(&p, buf, 8, 1, &r);
    ASSERT_ERR(r.error, SW_EPKGMALFORMED);
    ASSERT_UEQ(r.fed_at_error, 5);
    frame_run_free(&r);
}

/* A function that never finds a length: the stream grows to the limit and stops there. */
static ssize_t never_length(const char *data, size_t len, void *arg)
{
    (void)data;
    size_t *max_len = arg;
    if (len > *max_len) {
        *max_len = len;
    }
    return 0;
}

SW_TEST(length_user_function_never_decides)
{
    size_t seen = 0;
    sw_protocol_t p;
    sw_protocol_init(&p);
    p.open_length_check = true;
    p.package_length_func = never_length;
    p.package_length_arg = &seen;
    p.package_max_length = 300;
    unsigned char buf[1000] = {0};
    for (size_t chunk = 1; chunk <= 1000; chunk *= 10) {
        frame_run_t r;
        frame_run1(&p, buf, sizeof buf, chunk, &r);
        ASSERT_ERR(r.error, SW_EPKGTOOBIG);
        ASSERT_UEQ(r.fed_at_error, 300); /* the buffer is capped at the limit */
        ASSERT_UEQ(seen, 300);
        frame_run_free(&r);
    }
    /* Handed more than the limit at once, the function still sees only the limit. */
    seen = 0;
    sw_framer_t st;
    sw_framer_init(&st);
    size_t out = 0;
    ASSERT_ERR(sw_protocol_next(&p, &st, (const char *)buf, sizeof buf, &out), SW_EPKGTOOBIG);
    ASSERT_UEQ(seen, 300);
}
