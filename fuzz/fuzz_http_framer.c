/*
 * libFuzzer target: HTTP request framing (open_http_protocol), differential against the HTTP
 * parser.
 *
 * Input: a 3-byte header, then the stream.
 *   [0..1] package_max_length - 64 (mod 4096, little-endian)   [2] http_max_header_size - 64
 * The stream is framed by a reader like the server's (unread bytes capped at
 * package_max_length) three times: whole, one byte at a time, and in pseudo-random chunks.
 * The three must cut the same messages (HTTP framing does not depend on how bytes arrive).
 * Every message must fit the limit, and each one is checked against the strict parser run on
 * the stream from the message's first byte: when the parser completes a request whose head
 * fits http_max_header_size and whose length fits package_max_length, the framer must have
 * cut exactly there (a disagreement is a request-smuggling bug).
 *
 * Pieces (http_piece_size): the stream is framed once more with a piece size taken from the
 * header bytes, 13 bytes at a time; the requests it returns (the messages without
 * SW_FRAMER_MORE) must end exactly where the whole framing ended them, a first piece must not
 * also be last, and the unread input must never pass one piece (or head) plus one read.
 *
 * Unread input of up to 512 bytes is copied to a buffer of exactly that size before each
 * call, so that a framer reading past `len` is caught by ASan.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swoole/error.h"
#include "swoole/http.h"
#include "swoole/protocol.h"

#include "fuzz_reader.h"

#define HEADER     3
#define MAX_STREAM 8192

/* The parser's view of the request starting at s[0]: its length when it completes one whose
 * head fits `hmax` and whole length fits `max`, else 0. */
static size_t parser_length(const unsigned char *s, size_t n, size_t max, size_t hmax)
{
    static char buf[MAX_STREAM];
    sw_http_header_t fields[100];
    sw_http_parser_options_t o;
    sw_http_parser_options_init(&o);
    o.max_head = 0x7fffffff;
    sw_http_parser_t p;
    if (sw_http_parser_init(&p, SW_HTTP_REQUEST, &o, fields, 100) < 0) {
        abort();
    }
    memcpy(buf, s, n);
    int r = sw_http_parser_execute(&p, buf, n);
    if (r == SW_HTTP_HEAD_DONE) {
        r = sw_http_parser_execute(&p, buf, n);
    }
    if (r != SW_HTTP_MESSAGE_DONE || p.head_len > hmax || p.consumed > max) {
        return 0;
    }
    return (size_t)p.consumed;
}

static void check_pieces(const sw_protocol_t *whole, size_t piece, const unsigned char *s, size_t n,
                         const size_t *ends, size_t count)
{
    static unsigned char buf[MAX_STREAM];
    sw_protocol_t p = *whole;
    p.http_piece_size = piece;
    size_t hmax = p.http_max_header_size < p.package_max_length ? p.http_max_header_size
                                                                : p.package_max_length;
    size_t bound = (piece > hmax + 1 ? piece : hmax + 1) + 13;
    sw_framer_t fr;
    sw_framer_init(&fr);
    size_t have = 0, off = 0, fed = 0, k = 0;
    bool more = false;
    while (fed < n) {
        size_t c = n - fed < 13 ? n - fed : 13;
        memcpy(buf + have, s + fed, c);
        have += c;
        fed += c;
        for (;;) {
            size_t out = 0;
            int r = sw_protocol_next(&p, &fr, (const char *)buf, have, &out);
            if (r < 0) {
                abort();
            }
            if (r == 0) {
                fr.flags &= (uint8_t)~SW_FRAMER_CONTINUE;
                break;
            }
            if (out == 0 || out > have) {
                abort();
            }
            bool is_piece = (fr.flags & SW_FRAMER_PIECE) != 0;
            bool has_more = (fr.flags & SW_FRAMER_MORE) != 0;
            if ((has_more && !is_piece) || (!more && is_piece && !has_more)) {
                abort(); /* MORE only on pieces; a first piece is never the last */
            }
            off += out;
            memmove(buf, buf + out, have - out);
            have -= out;
            more = has_more;
            if (!has_more) {
                if (k >= count || ends[k] != off) {
                    abort(); /* pieces must join up to the whole framing's requests */
                }
                k++;
            }
        }
        if (have > bound) {
            abort(); /* more input held than one piece (or head) and one read */
        }
    }
    if (k != count) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER || size > HEADER + MAX_STREAM) {
        return 0;
    }
    sw_protocol_t p;
    sw_protocol_init(&p);
    p.open_http_protocol = true;
    p.package_max_length = 64 + ((size_t)data[0] | (size_t)data[1] << 8) % 4096;
    p.http_max_header_size = 64u + data[2];
    if (sw_protocol_check(&p) != 0) {
        abort();
    }
    const unsigned char *s = data + HEADER;
    size_t n = size - HEADER;
    static size_t e0[MAX_STREAM + 1], e1[MAX_STREAM + 1], e2[MAX_STREAM + 1];
    fuzz_cuts_t whole = {.ends = e0, .cap = MAX_STREAM + 1},
                bytes = {.ends = e1, .cap = MAX_STREAM + 1},
                chunks = {.ends = e2, .cap = MAX_STREAM + 1};
    fuzz_reader_t rd = {.p = &p,
                        .next = sw_protocol_next,
                        .chunk_max = 61,
                        .seed = 0x9e3779b97f4a7c15ULL,
                        .copy_max = 512};
    fuzz_read_ways(&rd, s, n, &whole, &bytes, &chunks);
    if (whole.error) {
        abort(); /* HTTP framing never fails on input */
    }
    fuzz_cuts_same(&whole, &bytes);
    fuzz_cuts_same(&whole, &chunks);
    size_t c0 = whole.count;
    size_t hmax = p.http_max_header_size < p.package_max_length ? p.http_max_header_size
                                                                : p.package_max_length;
    size_t start = 0;
    for (size_t i = 0; i < c0; i++) {
        size_t want = parser_length(s + start, n - start, p.package_max_length, hmax);
        if (want && want != e0[i] - start) {
            abort();
        }
        start = e0[i];
    }
    check_pieces(&p, 1 + ((size_t)data[0] ^ data[2]) % 700, s, n, e0, c0);
    return 0;
}
