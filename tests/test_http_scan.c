/*
 * The framer's fast head scan (src/protocol/http_scan.c): the heads real clients send take
 * it, with the strict parser's framing bits and Content-Length; every shape it does not
 * handle falls back (returns 0), one case per reason, and the fallback still gives the
 * parser's answer; and the HTTP framer built on it cuts and flags requests as before.
 * The differential fuzz target fuzz/fuzz_http_scan.c checks the same contract on random input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/protocol_int.h"
#include "protocol_util.h"
#include "sw_test.h"
#include "swoole/http.h"
#include "swoole/protocol.h"

#define FRAMING_BITS                                                                            \
    (SW_HTTP_F_UPGRADE | SW_HTTP_F_EXPECT_CONTINUE | SW_HTTP_F_TE_CODINGS | SW_HTTP_F_CHUNKED | \
     SW_HTTP_F_CONTENT_LENGTH)

/* The strict parser as the framer ran it before the scan (default options, max_head h). */
static int strict(const char *head, size_t h, uint32_t *flags, uint64_t *clen)
{
    char *copy = malloc(h);
    ASSERT_NE(copy, NULL);
    memcpy(copy, head, h);
    sw_http_parser_options_t o;
    sw_http_parser_options_init(&o);
    o.max_head = (uint32_t)h;
    sw_http_header_t fields[100];
    sw_http_parser_t p;
    ASSERT_OK(sw_http_parser_init(&p, SW_HTTP_REQUEST, &o, fields, 100));
    int r = sw_http_parser_execute(&p, copy, h);
    free(copy);
    *flags = p.flags & FRAMING_BITS;
    *clen = p.content_length;
    return r;
}

/* Scans head[0..h) from an exactly-sized copy (ASan sees any read past h); checks the
 * contract against the parser and that sw__http_head_framing gives the parser's answer.
 * Returns what the scan returned. */
static int scan(const char *head, size_t h, uint32_t *flags, uint64_t *clen)
{
    char *copy = malloc(h ? h : 1);
    ASSERT_NE(copy, NULL);
    memcpy(copy, head, h);
    uint32_t pf = 0, ff = 0;
    uint64_t pl = 0, fl = 0;
    int pr = strict(head, h, &pf, &pl);
    *flags = 0xffffffffu;
    *clen = 0xdeadbeef;
    int r = sw__http_scan_head(copy, h, flags, clen);
    if (r == 1) {
        ASSERT_EQ(pr, SW_HTTP_HEAD_DONE);
        ASSERT_EQ(*flags, pf);
        ASSERT_EQ(*clen, (pf & SW_HTTP_F_CONTENT_LENGTH) ? pl : 0);
    } else {
        ASSERT_EQ(r, 0);
    }
    int f = sw__http_head_framing(copy, h, &ff, &fl);
    if (pr == SW_HTTP_HEAD_DONE) {
        ASSERT_EQ(f, 0);
        ASSERT_EQ(ff & FRAMING_BITS, pf);
        if (pf & SW_HTTP_F_CONTENT_LENGTH) {
            ASSERT_EQ(fl, pl);
        }
    } else {
        ASSERT_LT(f, 0);
    }
    free(copy);
    return r;
}

static int scan_str(const char *head, uint32_t *flags, uint64_t *clen)
{
    return scan(head, strlen(head), flags, clen);
}

/* A head of `fields` lines "Xn: v" after Host, in a malloc'd string. */
static char *head_with_fields(int fields)
{
    size_t cap = 64 + (size_t)fields * 16;
    char *s = malloc(cap);
    ASSERT_NE(s, NULL);
    size_t n = (size_t)snprintf(s, cap, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < fields - 1; i++) {
        n += (size_t)snprintf(s + n, cap - n, "X%d: v\r\n", i);
    }
    snprintf(s + n, cap - n, "\r\n");
    return s;
}

/* A head whose start line (without CRLF) is `line_len` bytes. */
static char *head_with_line(size_t line_len)
{
    const char *tail = " HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t n = line_len + strlen(tail) - strlen(" HTTP/1.1") + 1;
    char *s = malloc(n + 16);
    ASSERT_NE(s, NULL);
    memcpy(s, "GET /", 5);
    memset(s + 5, 'a', line_len - 5 - strlen(" HTTP/1.1"));
    strcpy(s + line_len - strlen(" HTTP/1.1"), tail);
    return s;
}

SW_TEST(scan_clean_heads)
{
    /* The heads of wrk, h2load, curl, a browser, ab (HTTP/1.0) and friends. */
    static const char *const heads[] = {
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:9501\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:29999\r\nuser-agent: h2load nghttp2/1.52.0\r\n\r\n",
        ("GET /wspage?x=1&y=%20 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; "
         "Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\nAccept: text/html,*/*;q=0.8\r\n"
         "Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: "
         "keep-alive\r\nCookie: a=b; c=d\r\nUpgrade-Insecure-Requests: 1\r\n\r\n"),
        ("GET /index.html HTTP/1.0\r\nHost: localhost\r\nUser-Agent: ApacheBench/2.3\r\nAccept: "
         "*/*\r\n\r\n"),
        "GET / HTTP/1.0\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
        "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nconnection: CLOSE\r\n\r\n",
        "GET / HTTP/1.1\r\nHost:\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a:\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a:1 \r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a:00080\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a.b-c_d~e!f$g&h'i(j)k*l+m,n;o=p:65535\r\n\r\n",
        "GET / HTTP/1.1\r\nHost:\ta\t\r\nX:\t a\tb \t\r\nY:\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n",
        "PROPFIND /x HTTP/1.1\r\nHost: a\r\nDepth: 1\r\n\r\n",
        "GET /a/b?c=d#e HTTP/1.1\r\nHost: a\r\nExpect: something-else\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        uint32_t fl;
        uint64_t cl;
        ASSERT_EQ(scan_str(heads[i], &fl, &cl), 1);
        ASSERT_EQ(fl, 0u);
        ASSERT_EQ(cl, 0u);
    }
}

SW_TEST(scan_clean_framing)
{
    uint32_t fl;
    uint64_t cl;
    ASSERT_EQ(scan_str("POST /echo HTTP/1.1\r\nHost: localhost:9501\r\nUser-Agent: curl/7.88.1\r\n"
                       "Accept: */*\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\n",
                       &fl, &cl),
              1);
    ASSERT_EQ(fl, SW_HTTP_F_CONTENT_LENGTH);
    ASSERT_EQ(cl, 11u);
    ASSERT_EQ(scan_str("POST / HTTP/1.1\r\nHost: a\r\ncontent-LENGTH:\t 007 \t\r\n\r\n", &fl, &cl),
              1);
    ASSERT_EQ(fl, SW_HTTP_F_CONTENT_LENGTH);
    ASSERT_EQ(cl, 7u);
    ASSERT_EQ(scan_str("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &fl, &cl), 1);
    ASSERT_EQ(fl, SW_HTTP_F_CONTENT_LENGTH);
    ASSERT_EQ(cl, 0u);
    ASSERT_EQ(scan_str("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999999999\r\n\r\n",
                       &fl, &cl),
              1);
    ASSERT_EQ(cl, 999999999999999999u);
    /* Expect: 100-continue (any case) is a framing bit in HTTP/1.1 only. */
    ASSERT_EQ(scan_str("PUT /up HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n"
                       "Content-Length: 5\r\n\r\n",
                       &fl, &cl),
              1);
    ASSERT_EQ(fl, SW_HTTP_F_CONTENT_LENGTH | SW_HTTP_F_EXPECT_CONTINUE);
    ASSERT_EQ(cl, 5u);
    ASSERT_EQ(
        scan_str("PUT /up HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", &fl, &cl),
        1);
    ASSERT_EQ(fl, SW_HTTP_F_CONTENT_LENGTH);
    /* The limits: 100 field lines, a start line of 8192 bytes. */
    char *s = head_with_fields(100);
    ASSERT_EQ(scan_str(s, &fl, &cl), 1);
    free(s);
    s = head_with_line(8192);
    ASSERT_EQ(scan_str(s, &fl, &cl), 1);
    free(s);
}

SW_TEST(scan_fallbacks)
{
    /* Every shape the scan leaves to the strict parser; scan() checks that the fallback still
     * gives the parser's answer (HEAD_DONE with its flags, or its error). */
    static const char *const heads[] = {
        /* leading bare LF, bare LF endings, stray CR */
        "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\nHost: a\n\n",
        "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
        "\r\rGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        /* start line */
        "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        " GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\n",
        "GET / HTTP/1.2\r\nHost: a\r\n\r\n",
        "GET / http/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
        "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
        /* field syntax */
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
        "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX(: v\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n",
        /* Host */
        "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a%41b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a:80:80\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a:0000080\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: :80\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        /* Content-Length */
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000000000000\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n",
        /* Transfer-Encoding, Upgrade, Connection */
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: a b\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        uint32_t fl;
        uint64_t cl;
        if (scan_str(heads[i], &fl, &cl) != 0) {
            ASSERT_EQ(i, (size_t)-1); /* shows which one */
        }
    }
    /* The limits, one past: 101 field lines, a start line of 8193 bytes. */
    uint32_t fl;
    uint64_t cl;
    char *s = head_with_fields(101);
    ASSERT_EQ(scan_str(s, &fl, &cl), 0);
    free(s);
    s = head_with_line(8193);
    ASSERT_EQ(scan_str(s, &fl, &cl), 0);
    free(s);
}

SW_TEST(scan_bounds)
{
    /* h must be a whole head ending at its empty line: shorter cuts, bytes after the empty
     * line and tiny inputs fall back; each prefix is scanned from an exactly-sized copy. */
    const char *wrk = "GET / HTTP/1.1\r\nHost: 127.0.0.1:9501\r\n\r\n";
    size_t n = strlen(wrk);
    uint32_t fl;
    uint64_t cl;
    for (size_t h = 1; h < n; h++) {
        ASSERT_EQ(scan(wrk, h, &fl, &cl), 0);
    }
    ASSERT_EQ(scan(wrk, n, &fl, &cl), 1);
    const char *two = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT_EQ(scan(two, strlen(two), &fl, &cl), 0);
    ASSERT_EQ(scan(two, strlen(two) / 2, &fl, &cl), 1);
    ASSERT_EQ(scan_str("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n", &fl, &cl), 0);
    ASSERT_EQ(scan_str("GET / HTTP/1.0\r\n\r\n", &fl, &cl), 1);
    ASSERT_EQ(scan_str("GET / HTTP/1.0\r\n\n", &fl, &cl), 0);
}

/* --- The framer on top: cuts and flags as before. --- */

static void http_spec(sw_protocol_t *p, size_t max, bool ws)
{
    sw_protocol_init(p);
    p->open_http_protocol = true;
    p->open_websocket_protocol = ws;
    p->package_max_length = max;
    ASSERT_OK(sw_protocol_check(p));
}

SW_TEST(framer_cuts)
{
    /* Fast-path and fallback requests mixed, at every chunk size. */
    static const char reqs[] =
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:9501\r\n\r\n"
        "\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
        "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n0\r\n\r\n"
        "GET / HTTP/1.0\r\n\r\n"
        "PUT /x HTTP/1.1\r\nHost: a\r\ncontent-length: 0\r\n\r\n"
        "GET / HTTP/1.1\r\nHost: [::1]\r\nContent-Length: 2\r\n\r\nok";
    const char *starts[] = {
        "\r\nPOST /echo", "POST /c", "GET / HTTP/1.0", "PUT /x", "GET / HTTP/1.1\r\nHost: [", NULL};
    size_t n = sizeof(reqs) - 1, ends[6];
    for (int i = 0; starts[i]; i++) {
        ends[i] = (size_t)(strstr(reqs, starts[i]) - reqs);
    }
    ends[5] = n;
    sw_protocol_t p;
    http_spec(&p, 4096, false);
    for (size_t chunk = 1; chunk <= n; chunk++) {
        frame_run_t r;
        frame_run1(&p, reqs, n, chunk, &r);
        ASSERT_EQ(r.error, 0);
        ASSERT_EQ(r.count, 6u);
        for (int i = 0; i < 6; i++) {
            ASSERT_EQ(r.ends[i], ends[i]);
        }
        frame_run_free(&r);
    }
}

/* One sw_protocol_next call over `s` with a fresh state; the result, *out and the flags. */
static int next1(const sw_protocol_t *p, const char *s, size_t *out, uint8_t *flags)
{
    sw_framer_t st;
    sw_framer_init(&st);
    int r = sw_protocol_next(p, &st, s, strlen(s), out);
    *flags = st.flags;
    return r;
}

SW_TEST(framer_flags)
{
    sw_protocol_t p;
    http_spec(&p, 1024, true);
    size_t out;
    uint8_t fl;
    /* Expect: 100-continue, head alone: the caller may send 100 Continue (fast path). */
    const char *exp = "PUT /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                      "Content-Length: 5\r\n\r\n";
    ASSERT_EQ(next1(&p, exp, &out, &fl), 0);
    ASSERT_EQ(out, strlen(exp) + 5);
    ASSERT_NE(fl & SW_FRAMER_CONTINUE, 0);
    /* The same in HTTP/1.0: no interim answer. */
    const char *exp10 = "PUT /up HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    ASSERT_EQ(next1(&p, exp10, &out, &fl), 0);
    ASSERT_EQ(fl & SW_FRAMER_CONTINUE, 0);
    /* A WebSocket upgrade (fallback path) is flagged. */
    const char *up = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                     "\r\n";
    ASSERT_EQ(next1(&p, up, &out, &fl), 1);
    ASSERT_EQ(out, strlen(up));
    ASSERT_NE(fl & SW_FRAMER_UPGRADE, 0);
    /* A plain GET is not. */
    const char *get = "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n";
    ASSERT_EQ(next1(&p, get, &out, &fl), 1);
    ASSERT_EQ(out, strlen(get));
    ASSERT_EQ(fl & (SW_FRAMER_UPGRADE | SW_FRAMER_CONTINUE), 0);
    /* A body over package_max_length: the head alone is delivered (answered 413). */
    const char *big = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\nabc";
    ASSERT_EQ(next1(&p, big, &out, &fl), 1);
    ASSERT_EQ(out, strlen(big) - 3);
    /* A coding other than chunked: the head alone (answered 501); chunked not last is a
     * malformed head, also delivered alone (answered 400). */
    const char *gz = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\nxx";
    ASSERT_EQ(next1(&p, gz, &out, &fl), 1);
    ASSERT_EQ(out, strlen(gz) - 2);
    const char *gz2 = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\nxx";
    ASSERT_EQ(next1(&p, gz2, &out, &fl), 1);
    ASSERT_EQ(out, strlen(gz2) - 2);
    /* A malformed head is delivered whole for the server's parse to answer 400. */
    const char *bad = "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nGET";
    ASSERT_EQ(next1(&p, bad, &out, &fl), 1);
    ASSERT_EQ(out, strlen(bad) - 3);
}
