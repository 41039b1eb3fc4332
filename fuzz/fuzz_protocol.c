/*
 * libFuzzer target: stream framing with a random spec, differential three ways.
 *
 * Input: a 12-byte header that picks the spec and the chunk pattern, then the stream.
 *   [0] mode: 0 none, 1 EOF check, 2 EOF split, 3 length field, 4 length function
 *   [1] delimiter length - 1 (mod 8); bit 7 maps the delimiter to the alphabet "ab\r\n"
 *   [2..9] delimiter bytes   [2] also the length type (mod 10) for the length modes
 *   [3] length offset (mod 24)   [4] body offset (mod 40)
 *   [10..11] package_max_length - 1 (mod 4096, little-endian)
 * The stream is framed by a reader like the server's (unread bytes capped at
 * package_max_length, framing after every chunk, consume, go on) three times: handed over
 * whole, one byte at a time, and in pseudo-random chunks. For EOF split and both length modes
 * the three must give the same messages and the same final error as a reference framer
 * written independently here (memmem, a byte-wise length decoder). EOF check is
 * arrival-dependent by design; byte at a time it must equal the reference EOF split, and in
 * every run each message must end with the delimiter. No framing: the messages must add up
 * to the stream. Every message fits the limit in every mode.
 *
 * Unread input of up to 512 bytes is copied to a buffer of exactly that size before each call,
 * so that a framer reading past `len` is caught by ASan.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swoole/error.h"
#include "swoole/protocol.h"

#include "fuzz_reader.h"

#define HEADER     12
#define MAX_STREAM 8192

typedef fuzz_cuts_t result_t;

static void push(result_t *r, size_t end)
{
    r->ends[r->count++] = end;
}

/* Varint (LEB128) body length, total = prefix + body; a 4th continuation byte is malformed. */
static ssize_t varint_length(const char *data, size_t len, void *arg)
{
    (void)arg;
    size_t v = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        v |= (size_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            return (ssize_t)(i + 1 + v);
        }
        if (i == 3) {
            return -1;
        }
    }
    return 0;
}

/* Reference EOF split over the whole stream. */
static void ref_split(const sw_protocol_t *p, const unsigned char *s, size_t n, result_t *r)
{
    size_t start = 0;
    r->count = 0;
    r->error = 0;
    for (;;) {
        size_t window = n - start < p->package_max_length ? n - start : p->package_max_length;
        const unsigned char *hit = memmem(s + start, window, p->package_eof, p->package_eof_len);
        if (!hit) {
            if (n - start >= p->package_max_length) {
                r->error = SW_EPKGTOOBIG;
            }
            break;
        }
        start = (size_t)(hit - s) + p->package_eof_len;
        push(r, start);
    }
    r->leftover = n - start;
}

/* Reference length decoder: byte-wise, sign from the top bit, host order by a union. */
static int64_t ref_decode(char type, const unsigned char *f)
{
    union {
        uint32_t u;
        unsigned char b[4];
    } probe = {.u = 1};
    bool little = probe.b[0] == 1;
    size_t size = (size_t)sw_protocol_length_size(type);
    bool big = type == 'n' || type == 'N' || (!little && strchr("sSlL", type));
    bool sign = type == 'c' || type == 's' || type == 'l';
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++) {
        unsigned char b = big ? f[i] : f[size - 1 - i];
        v = v << 8 | b;
    }
    if (sign && (v >> (8 * size - 1))) {
        return (int64_t)v - ((int64_t)1 << (8 * size));
    }
    return (int64_t)v;
}

static void ref_length(const sw_protocol_t *p, const unsigned char *s, size_t n, result_t *r)
{
    size_t start = 0, max = p->package_max_length;
    r->count = 0;
    r->error = 0;
    for (;;) {
        size_t len = n - start, total;
        if (p->package_length_func) {
            size_t seen = len < max ? len : max;
            if (seen == 0) {
                break;
            }
            ssize_t t = p->package_length_func((const char *)s + start, seen, NULL);
            if (t < 0) {
                r->error = SW_EPKGMALFORMED;
                break;
            }
            if (t == 0) {
                if (seen >= max) {
                    r->error = SW_EPKGTOOBIG;
                }
                break;
            }
            if ((size_t)t > max) {
                r->error = SW_EPKGTOOBIG;
                break;
            }
            total = (size_t)t;
        } else {
            size_t end =
                p->package_length_offset + (size_t)sw_protocol_length_size(p->package_length_type);
            if (len < end) {
                break;
            }
            int64_t v = ref_decode(p->package_length_type, s + start + p->package_length_offset);
            if (v < 0) {
                r->error = SW_EPKGMALFORMED;
                break;
            }
            if ((uint64_t)v + p->package_body_offset > max) {
                r->error = SW_EPKGTOOBIG;
                break;
            }
            total = (size_t)v + p->package_body_offset;
            if (total < end) {
                r->error = SW_EPKGMALFORMED;
                break;
            }
        }
        if (len < total) {
            break;
        }
        start += total;
        push(r, start);
    }
    r->leftover = n - start;
}

/* Every message of an EOF-check run ends with the delimiter. */
static void ends_with_eof(const sw_protocol_t *p, const unsigned char *s, const result_t *r)
{
    size_t prev = 0;
    for (size_t i = 0; i < r->count; i++) {
        size_t e = r->ends[i];
        if (e - prev < p->package_eof_len ||
            memcmp(s + e - p->package_eof_len, p->package_eof, p->package_eof_len) != 0) {
            abort();
        }
        prev = e;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER) {
        return 0;
    }
    const unsigned char *h = data;
    const unsigned char *s = data + HEADER;
    size_t n = size - HEADER;
    if (n > MAX_STREAM) {
        n = MAX_STREAM;
    }
    static const char types[] = "cCsSnvlLNV";
    static const char alphabet[] = "ab\r\n";
    sw_protocol_t p;
    sw_protocol_init(&p);
    int mode = h[0] % 5;
    size_t eof_len = (size_t)(h[1] & 7) + 1;
    char eof[8];
    for (size_t i = 0; i < eof_len; i++) {
        eof[i] = (h[1] & 0x80) ? alphabet[h[2 + i] & 3] : (char)h[2 + i];
    }
    if (sw_protocol_set_eof(&p, eof, eof_len) != 0) {
        abort();
    }
    p.open_eof_check = mode == 1;
    p.open_eof_split = mode == 2;
    p.open_length_check = mode >= 3;
    p.package_length_type = types[h[2] % 10];
    p.package_length_offset = h[3] % 24;
    p.package_body_offset = h[4] % 40;
    p.package_max_length = (size_t)(h[10] | h[11] << 8) % 4096 + 1;
    if (mode == 4) {
        p.package_length_func = varint_length;
    }
    size_t out;
    sw_framer_t st;
    sw_framer_init(&st);
    if (sw_protocol_check(&p) != 0) {
        /* A spec the check refuses is refused by the framer too. */
        if (sw_protocol_next(&p, &st, (const char *)s, n, &out) != SW_EOPTION_VALUE) {
            abort();
        }
        return 0;
    }
    size_t *buf = malloc(4 * (n + 1) * sizeof *buf);
    if (!buf) {
        return 0;
    }
    result_t whole = {.ends = buf, .cap = n + 1}, bytes = {.ends = buf + n + 1, .cap = n + 1},
             chunks = {.ends = buf + 2 * (n + 1), .cap = n + 1},
             ref = {.ends = buf + 3 * (n + 1), .cap = n + 1};
    fuzz_reader_t rd = {.p = &p,
                        .next = sw_protocol_next,
                        .chunk_max = 97,
                        .seed = (uint64_t)h[5] << 40 | (uint64_t)h[6] << 24 | (uint64_t)h[7] << 8 |
                                h[8],
                        .copy_max = 512};
    fuzz_read_ways(&rd, s, n, &whole, &bytes, &chunks);
    switch (mode) {
    case 0: /* raw: no errors, everything delivered in pieces of at most the limit */
        if (whole.error || bytes.error || chunks.error || whole.leftover || bytes.count != n) {
            abort();
        }
        break;
    case 1: /* EOF check */
        ref_split(&p, s, n, &ref);
        fuzz_cuts_same(&bytes, &ref);
        ends_with_eof(&p, s, &whole);
        ends_with_eof(&p, s, &chunks);
        break;
    case 2:
        ref_split(&p, s, n, &ref);
        fuzz_cuts_same(&whole, &ref);
        fuzz_cuts_same(&bytes, &ref);
        fuzz_cuts_same(&chunks, &ref);
        break;
    default:
        ref_length(&p, s, n, &ref);
        fuzz_cuts_same(&whole, &ref);
        fuzz_cuts_same(&bytes, &ref);
        fuzz_cuts_same(&chunks, &ref);
        break;
    }
    free(buf);
    return 0;
}
