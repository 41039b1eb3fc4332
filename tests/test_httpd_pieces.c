/*
 * HTTP framing in pieces (http_piece_size, swoole/protocol.h "HTTP framing: pieces") as a
 * pure function: a reader that frames a stream arriving in chunks of every size, the way the
 * server's read path does, and checks each promise: pieces join up to exactly the request the
 * whole-request framer returns, the flags say first / more / last, no piece is longer than
 * allowed, the unread input never exceeds one piece plus one read, and a chunked body decoded
 * piece by piece with sw_http_parser_body is the body decoded whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sw_test.h"
#include "swoole/buffer.h"
#include "swoole/http.h"
#include "swoole/protocol.h"

static void spec(sw_protocol_t *p, size_t max, size_t piece)
{
    sw_protocol_init(p);
    ASSERT_OK(sw_protocol_set_option(p, "open_http_protocol", "1"));
    p->package_max_length = max;
    p->http_max_header_size = 1024;
    p->http_piece_size = piece;
    ASSERT_OK(sw_protocol_check(p));
}

typedef struct {
    size_t msgs;      /* requests (whole, or last pieces) */
    size_t pieces;    /* pieces returned (PIECE flag) */
    size_t ends[16];  /* stream offset after each request */
    size_t max_piece; /* longest piece after a first one */
    size_t max_unread;
    bool cont; /* SW_FRAMER_CONTINUE seen */
} run_t;

/* Frames `n` bytes arriving `chunk` at a time (0: as much as the hint asks, at least 1). */
static void run(const sw_protocol_t *p, const char *s, size_t n, size_t chunk, run_t *r)
{
    memset(r, 0, sizeof(*r));
    sw_buffer_t in;
    ASSERT_OK(sw_buffer_init(&in, 64, 0));
    sw_framer_t fr;
    sw_framer_init(&fr);
    size_t fed = 0, off = 0, hint = 1;
    bool more = false;
    size_t first_len = 0;
    for (int guard = 0; guard < 1000000; guard++) {
        size_t unread = in.length - in.offset;
        size_t k = chunk ? chunk : (hint > unread ? hint - unread : 1);
        if (k > n - fed) {
            k = n - fed;
        }
        if (k > 0) {
            ASSERT_OK(sw_buffer_append(&in, s + fed, k));
            fed += k;
        }
        for (;;) {
            unread = in.length - in.offset;
            if (unread > r->max_unread) {
                r->max_unread = unread;
            }
            size_t out = 0;
            int rc = sw_protocol_next(p, &fr, in.str + in.offset, unread, &out);
            ASSERT_TRUE(rc == 0 || rc == 1);
            if (rc == 0) {
                ASSERT_GT(out, unread);
                if (fr.flags & SW_FRAMER_CONTINUE) {
                    r->cont = true;
                    fr.flags &= (uint8_t)~SW_FRAMER_CONTINUE;
                }
                hint = out;
                break;
            }
            ASSERT_GT(out, 0u);
            ASSERT_LE(out, unread);
            if (fr.flags & SW_FRAMER_PIECE) {
                r->pieces++;
                if (more) {
                    if (out > r->max_piece) {
                        r->max_piece = out;
                    }
                } else {
                    first_len = out;
                    ASSERT_TRUE((fr.flags & SW_FRAMER_MORE) != 0); /* a first piece is never last */
                }
                more = (fr.flags & SW_FRAMER_MORE) != 0;
            } else {
                ASSERT_FALSE(more); /* a whole request never follows an unfinished one */
            }
            off += out;
            if (!(fr.flags & SW_FRAMER_MORE)) {
                ASSERT_LT(r->msgs, 16u);
                r->ends[r->msgs++] = off;
            }
            ASSERT_OK(sw_buffer_consume(&in, out));
        }
        sw_buffer_recycle(&in);
        if (fed == n) {
            break;
        }
    }
    (void)first_len;
    sw_buffer_close(&in);
}

/* A request with a Content-Length body of `blen` bytes of a pattern. */
static char *post(size_t blen, size_t *n)
{
    char head[128];
    int h = snprintf(head, sizeof(head),
                     "PUT /u HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", blen);
    char *s = malloc((size_t)h + blen + 64);
    ASSERT_NOT_NULL(s);
    memcpy(s, head, (size_t)h);
    for (size_t i = 0; i < blen; i++) {
        s[(size_t)h + i] = (char)('a' + i % 26);
    }
    memcpy(s + h + blen, "GET /n HTTP/1.1\r\nHost: x\r\n\r\n", 28);
    *n = (size_t)h + blen + 28;
    return s;
}

SW_TEST(pieces_option)
{
    sw_protocol_t p;
    sw_protocol_init(&p);
    ASSERT_EQ(p.http_piece_size, 0u);
    ASSERT_OK(sw_protocol_set_option(&p, "http_piece_size", "65536"));
    ASSERT_EQ(p.http_piece_size, 65536u);
    ASSERT_OK(sw_protocol_set_option(&p, "http_piece_size", "0"));
    ASSERT_ERR(sw_protocol_set_option(&p, "http_piece_size", "1073741825"), SW_EOPTION_VALUE);
    ASSERT_ERR(sw_protocol_set_option(&p, "http_piece_size", "-1"), SW_EOPTION_VALUE);
    p.http_piece_size = (size_t)1 << 31;
    ASSERT_ERR(sw_protocol_check(&p), SW_EOPTION_VALUE);
}

SW_TEST(pieces_content_length)
{
    sw_protocol_t p;
    spec(&p, 1 << 20, 1000);
    size_t n;
    char *s = post(10000, &n);
    size_t req_end = n - 28;
    size_t chunks[] = {0, 1, 7, 999, 1000, 1001, 4096, 100000};
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        run_t r;
        run(&p, s, n, chunks[i], &r);
        ASSERT_EQ(r.msgs, 2u);
        ASSERT_EQ(r.ends[0], req_end);
        ASSERT_EQ(r.ends[1], n);
        ASSERT_EQ(r.pieces, 1 + (req_end - 1000 + 999) / 1000); /* 1000, then 1000 each */
        ASSERT_LE(r.max_piece, 1000u);
        size_t per_read = chunks[i] ? chunks[i] : 1000;
        ASSERT_LE(r.max_unread, 1000 + per_read + 28);
    }
    /* A request no longer than the piece size stays whole. */
    spec(&p, 1 << 20, 20000);
    run_t r;
    run(&p, s, n, 3, &r);
    ASSERT_EQ(r.pieces, 0u);
    ASSERT_EQ(r.msgs, 2u);
    ASSERT_EQ(r.ends[0], req_end);
    free(s);
}

SW_TEST(pieces_head_longer_than_piece)
{
    /* A piece size below the head's length: the first piece is the head and one body byte. */
    sw_protocol_t p;
    spec(&p, 1 << 20, 16);
    size_t n;
    char *s = post(40, &n);
    for (size_t c = 0; c < 50; c++) {
        run_t r;
        run(&p, s, n, c, &r);
        ASSERT_EQ(r.msgs, 2u);
        ASSERT_EQ(r.ends[0], n - 28);
        ASSERT_EQ(r.pieces, 4u); /* head+1, 16, 16, 7 */
    }
    free(s);
}

SW_TEST(pieces_expect_continue)
{
    sw_protocol_t p;
    spec(&p, 1 << 20, 100);
    const char *h =
        "POST /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 300\r\n\r\n";
    size_t hl = strlen(h);
    char *s = malloc(hl + 300);
    ASSERT_NOT_NULL(s);
    memcpy(s, h, hl);
    memset(s + hl, 'b', 300);
    sw_framer_t fr;
    sw_framer_init(&fr);
    size_t out;
    ASSERT_EQ(sw_protocol_next(&p, &fr, s, hl, &out), 0);
    ASSERT_TRUE((fr.flags & SW_FRAMER_CONTINUE) != 0);
    run_t r;
    run(&p, s, hl + 300, 0, &r);
    ASSERT_EQ(r.msgs, 1u);
    ASSERT_EQ(r.ends[0], hl + 300);
    ASSERT_TRUE(r.cont);
    free(s);
}

/* A chunked request of `nchunks` chunks of `csize` bytes, with a trailer, then a GET. */
static char *chunked(int nchunks, size_t csize, size_t *n, size_t *req_end, char **body)
{
    sw_buffer_t b;
    ASSERT_OK(sw_buffer_init(&b, 256, 0));
    *body = malloc((size_t)nchunks * csize + 1);
    ASSERT_NOT_NULL(*body);
    const char *h = "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    ASSERT_OK(sw_buffer_append(&b, h, strlen(h)));
    for (int i = 0; i < nchunks; i++) {
        char line[64];
        int l = snprintf(line, sizeof(line), "%zx;ext=%d\r\n", csize, i);
        ASSERT_OK(sw_buffer_append(&b, line, (size_t)l));
        for (size_t k = 0; k < csize; k++) {
            char c = (char)('A' + (i + (int)k) % 26);
            (*body)[(size_t)i * csize + k] = c;
            ASSERT_OK(sw_buffer_append(&b, &c, 1));
        }
        ASSERT_OK(sw_buffer_append(&b, "\r\n", 2));
    }
    ASSERT_OK(sw_buffer_append(&b, "0\r\nX-T: 1\r\n\r\n", 13));
    *req_end = b.length;
    ASSERT_OK(sw_buffer_append(&b, "GET /n HTTP/1.1\r\nHost: x\r\n\r\n", 28));
    *n = b.length;
    char *s = malloc(b.length);
    ASSERT_NOT_NULL(s);
    memcpy(s, b.str, b.length);
    sw_buffer_close(&b);
    return s;
}

SW_TEST(pieces_chunked_split_everywhere)
{
    size_t n, req_end;
    char *body;
    char *s = chunked(12, 37, &n, &req_end, &body);
    sw_protocol_t p;
    for (size_t piece = 60; piece <= 300; piece += 29) {
        spec(&p, 1 << 20, piece);
        for (size_t c = 0; c <= 64; c += (c < 8 ? 1 : 13)) {
            run_t r;
            run(&p, s, n, c, &r);
            ASSERT_EQ(r.msgs, 2u);
            ASSERT_EQ(r.ends[0], req_end);
            ASSERT_EQ(r.ends[1], n);
            ASSERT_GT(r.pieces, 1u);
            ASSERT_LE(r.max_piece, piece);
        }
    }
    free(s);
    free(body);
}

/* Decodes the request at the front of `s` from its pieces, with the streaming body API, as a
 * worker does: the head from the first piece, then every piece's bytes. */
SW_TEST(pieces_chunked_decode)
{
    size_t n, req_end;
    char *body;
    char *s = chunked(40, 333, &n, &req_end, &body);
    sw_protocol_t p;
    spec(&p, 1 << 20, 1000);
    sw_framer_t fr;
    sw_framer_init(&fr);
    size_t pos = 0;
    sw_http_parser_t hp;
    sw_http_parser_options_t o;
    sw_http_parser_options_init(&o);
    sw_http_header_t f[16];
    ASSERT_OK(sw_http_parser_init(&hp, SW_HTTP_REQUEST, &o, f, 16));
    char *got = malloc(40 * 333);
    ASSERT_NOT_NULL(got);
    size_t glen = 0;
    bool first = true, done = false;
    while (!done) {
        size_t out;
        /* Everything up to the request's end is there: pieces come out one per call. */
        int rc = sw_protocol_next(&p, &fr, s + pos, req_end - pos, &out);
        ASSERT_EQ(rc, 1);
        ASSERT_TRUE((fr.flags & SW_FRAMER_PIECE) != 0);
        char *w = s + pos;
        size_t wl = out;
        if (first) {
            ASSERT_EQ(sw_http_parser_execute(&hp, w, wl), SW_HTTP_HEAD_DONE);
            w += hp.head_len;
            wl -= hp.head_len;
            first = false;
        }
        while (wl > 0) {
            sw_http_piece_t pc;
            int b = sw_http_parser_body(&hp, w, wl, &pc);
            ASSERT_TRUE(b == SW_HTTP_PARTIAL || b == SW_HTTP_MESSAGE_DONE);
            memcpy(got + glen, w + pc.data_off, pc.data_len);
            glen += pc.data_len;
            w += pc.consumed;
            wl -= pc.consumed;
            if (b == SW_HTTP_MESSAGE_DONE) {
                ASSERT_EQ(wl, 0u);
                ASSERT_FALSE(fr.flags & SW_FRAMER_MORE);
                done = true;
            }
        }
        pos += out;
    }
    ASSERT_EQ(pos, req_end);
    ASSERT_EQ(glen, (size_t)40 * 333);
    ASSERT_MEM_EQ(got, body, glen);
    free(got);
    free(s);
    free(body);
}

SW_TEST(pieces_chunked_over_limit)
{
    /* A chunked body past package_max_length: the last piece ends at the limit (413). */
    size_t n, req_end;
    char *body;
    char *s = chunked(40, 333, &n, &req_end, &body);
    sw_protocol_t p;
    spec(&p, 5000, 1000);
    run_t r;
    run(&p, s, n, 0, &r);
    ASSERT_GE(r.msgs, 1u);
    ASSERT_EQ(r.ends[0], 5000u);
    ASSERT_EQ(r.pieces, 5u);
    free(s);
    free(body);
}

SW_TEST(pieces_bad_chunk_line)
{
    /* A bad chunk line in a later piece: the last piece ends at the bad byte, as whole. */
    const char *h = "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    char s[4096];
    size_t hl = strlen(h);
    memcpy(s, h, hl);
    size_t k = hl;
    for (int i = 0; i < 10; i++) {
        k += (size_t)snprintf(s + k, sizeof(s) - k, "40\r\n%064d\r\n", 0);
    }
    size_t bad = k;
    k += (size_t)snprintf(s + k, sizeof(s) - k, "zz\r\n");
    sw_protocol_t p;
    spec(&p, 1 << 20, 200);
    spec(&p, 1 << 20, 200);
    run_t r;
    run(&p, s, k, 0, &r);
    ASSERT_EQ(r.msgs, 1u);
    ASSERT_EQ(r.ends[0], bad + 1);
    sw_protocol_t whole;
    spec(&whole, 1 << 20, 0);
    run(&whole, s, k, 0, &r);
    ASSERT_EQ(r.ends[0], bad + 1);
}

SW_TEST(pieces_upgrade_never_cut)
{
    sw_protocol_t p;
    spec(&p, 1 << 20, 64);
    ASSERT_OK(sw_protocol_set_option(&p, "open_websocket_protocol", "1"));
    const char *s = "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    "Content-Length: 100\r\n\r\n";
    char buf[512];
    size_t hl = strlen(s);
    memcpy(buf, s, hl);
    memset(buf + hl, 'q', 100);
    run_t r;
    run(&p, buf, hl + 100, 0, &r);
    ASSERT_EQ(r.pieces, 0u);
    ASSERT_EQ(r.msgs, 1u);
    ASSERT_EQ(r.ends[0], hl + 100);
}
