/*
 * HTTP parser API tests: arguments, sticky errors, reset, default limits, header lookup,
 * in-place decoding, and streaming a large body through small windows.
 */
#include <stdlib.h>
#include <string.h>

#include "swoole/http.h"
#include "sw_test.h"
#include "test_http_util.h"

static int parse_all(sw_http_parser_t *p, char *buf, size_t len)
{
    int r;
    do {
        r = sw_http_parser_execute(p, buf, len);
    } while (r == SW_HTTP_HEAD_DONE);
    return r;
}

SW_TEST(http_parser_init_arguments)
{
    sw_http_parser_t p;
    sw_http_header_t h[4];
    sw_http_parser_options_t o;
    sw_http_parser_options_init(NULL);
    sw_http_parser_options_init(&o);
    ASSERT_EQ(o.max_start_line, 8192);
    ASSERT_EQ(o.max_head, 65536);
    ASSERT_EQ(o.max_headers, 100);
    ASSERT_EQ(o.max_chunk_line, 1024);
    ASSERT_TRUE(o.max_body == UINT64_MAX);
    ASSERT_EQ(o.lenient, 0);
    ASSERT_EQ(o.simd, SW_HTTP_SIMD_AUTO);

    ASSERT_ERR(sw_http_parser_init(NULL, SW_HTTP_REQUEST, &o, h, 4), SW_EINVAL);
    ASSERT_ERR(sw_http_parser_init(&p, (sw_http_type_t)0, &o, h, 4), SW_EINVAL);
    ASSERT_ERR(sw_http_parser_init(&p, (sw_http_type_t)3, &o, h, 4), SW_EINVAL);
    ASSERT_ERR(sw_http_parser_init(&p, SW_HTTP_REQUEST, &o, NULL, 4), SW_EINVAL);
    o.max_head = 0;
    ASSERT_ERR(sw_http_parser_init(&p, SW_HTTP_REQUEST, &o, h, 4), SW_EINVAL);
    o.max_head = 0x80000000u;
    ASSERT_ERR(sw_http_parser_init(&p, SW_HTTP_REQUEST, &o, h, 4), SW_EINVAL);
    sw_http_parser_options_init(&o);
    o.max_start_line = 0;
    ASSERT_ERR(sw_http_parser_init(&p, SW_HTTP_REQUEST, &o, h, 4), SW_EINVAL);
    sw_http_parser_options_init(&o);
    o.max_chunk_line = 0;
    ASSERT_ERR(sw_http_parser_init(&p, SW_HTTP_REQUEST, &o, h, 4), SW_EINVAL);
    sw_http_parser_options_init(&o);
    o.lenient = 0x100;
    ASSERT_ERR(sw_http_parser_init(&p, SW_HTTP_REQUEST, &o, h, 4), SW_EINVAL);
    sw_http_parser_options_init(&o);
    o.simd = 7;
    ASSERT_ERR(sw_http_parser_init(&p, SW_HTTP_REQUEST, &o, h, 4), SW_EINVAL);
    o.simd = -1;
    ASSERT_ERR(sw_http_parser_init(&p, SW_HTTP_REQUEST, &o, h, 4), SW_EINVAL);

    /* NULL options mean the defaults; no header array is allowed (then no field fits). */
    p.data = &o;
    ASSERT_OK(sw_http_parser_init(&p, SW_HTTP_RESPONSE, NULL, NULL, 0));
    ASSERT_PTR_EQ(p.data, &o);
    ASSERT_EQ(p.type, SW_HTTP_RESPONSE);

    int best = sw_http_simd_best();
    ASSERT_TRUE(best == SW_HTTP_SIMD_SCALAR || best == SW_HTTP_SIMD_SSE42 ||
                best == SW_HTTP_SIMD_AVX2);
    for (int level = SW_HTTP_SIMD_SCALAR; level <= SW_HTTP_SIMD_AVX2; level++) {
        o.simd = level;
        int r = sw_http_parser_init(&p, SW_HTTP_REQUEST, &o, h, 4);
        ASSERT_TRUE(r == 0 || (r == SW_ENOTSUP && level > best));
    }
}

SW_TEST(http_parser_call_arguments)
{
    sw_http_parser_t p;
    sw_http_header_t h[8];
    sw_http_piece_t pc;
    char req[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    ASSERT_OK(sw_http_parser_init(&p, SW_HTTP_REQUEST, NULL, h, 8));
    ASSERT_ERR(sw_http_parser_execute(NULL, req, 5), SW_EINVAL);
    ASSERT_ERR(sw_http_parser_execute(&p, NULL, 5), SW_EINVAL);
    ASSERT_EQ(sw_http_parser_execute(&p, NULL, 0), SW_HTTP_PARTIAL);
    ASSERT_ERR(sw_http_parser_body(&p, req, 3, &pc), SW_EINVAL); /* before the head */
    ASSERT_ERR(sw_http_parser_body(NULL, req, 3, &pc), SW_EINVAL);
    ASSERT_ERR(sw_http_parser_body(&p, req, 3, NULL), SW_EINVAL);
    ASSERT_ERR(sw_http_parser_finish(NULL), SW_EINVAL);
    sw_http_parser_reset(NULL);
    sw_http_parser_set_request_method(NULL, SW_HTTP_METHOD_HEAD);

    ASSERT_EQ(sw_http_parser_execute(&p, req, 20), SW_HTTP_PARTIAL);
    /* Giving fewer bytes than were already scanned is a caller error, not sticky. */
    ASSERT_ERR(sw_http_parser_execute(&p, req, 10), SW_EINVAL);
    ASSERT_EQ(p.error, 0);
    ASSERT_EQ(sw_http_parser_execute(&p, req, strlen(req)), SW_HTTP_HEAD_DONE);
    ASSERT_ERR(sw_http_parser_execute(&p, req, 10), SW_EINVAL);
    ASSERT_EQ(sw_http_parser_execute(&p, req, strlen(req)), SW_HTTP_MESSAGE_DONE);
    ASSERT_EQ(sw_http_parser_execute(&p, req, strlen(req)), SW_HTTP_MESSAGE_DONE);
    ASSERT_EQ(sw_http_parser_body(&p, "x", 1, &pc), SW_HTTP_MESSAGE_DONE);
    ASSERT_EQ(pc.consumed, 0);
    ASSERT_EQ(sw_http_parser_finish(&p), SW_HTTP_MESSAGE_DONE);
    ASSERT_MEM_EQ(req + p.head_len, "abc", 3);
    ASSERT_EQ(p.body_len, 3);
    ASSERT_EQ(p.consumed, strlen(req));
}

SW_TEST(http_parser_sticky_error_and_reset)
{
    sw_http_parser_t p;
    sw_http_header_t h[8];
    char bad[] = "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n";
    char good[] = "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT_OK(sw_http_parser_init(&p, SW_HTTP_REQUEST, NULL, h, 8));
    int marker = 0;
    p.data = &marker;
    ASSERT_ERR(sw_http_parser_execute(&p, bad, strlen(bad)), SW_EHTTP_HEADER_SPACE);
    ASSERT_EQ(p.error, SW_EHTTP_HEADER_SPACE);
    ASSERT_EQ(p.error_offset, 28);
    ASSERT_NOT_NULL(p.error_reason);
    /* Sticky: every later call repeats it, whatever the input. */
    ASSERT_ERR(sw_http_parser_execute(&p, good, strlen(good)), SW_EHTTP_HEADER_SPACE);
    ASSERT_ERR(sw_http_parser_finish(&p), SW_EHTTP_HEADER_SPACE);
    sw_http_piece_t pc;
    ASSERT_ERR(sw_http_parser_body(&p, good, 3, &pc), SW_EHTTP_HEADER_SPACE);
    sw_http_parser_reset(&p);
    ASSERT_EQ(p.error, 0);
    ASSERT_PTR_EQ(p.data, &marker);
    ASSERT_EQ(parse_all(&p, good, strlen(good)), SW_HTTP_MESSAGE_DONE);
    ASSERT_EQ(p.target.len, 3);
    ASSERT_MEM_EQ(good + p.target.off, "/ok", 3);
    ASSERT_EQ(p.method, SW_HTTP_METHOD_GET);
    ASSERT_STR_EQ(sw_http_method_name(SW_HTTP_METHOD_PATCH), "PATCH");
    ASSERT_NULL(sw_http_method_name(SW_HTTP_METHOD_OTHER));
    ASSERT_NULL(sw_http_method_name((sw_http_method_t)99));
}

/* The default limits: a start line of 8192 bytes passes, 8193 does not; a head of 65536
 * bytes passes, 65537 does not, and the scan stops at the limit. */
SW_TEST(http_parser_default_limits)
{
    sw_http_parser_t p;
    sw_http_header_t h[128];
    size_t cap = 70000;
    char *buf = malloc(cap);
    ASSERT_NOT_NULL(buf);
    for (int extra = 0; extra < 2; extra++) {
        size_t tl = 8192 - 13 + (size_t)extra; /* "GET " + target + " HTTP/1.1" */
        size_t n = 0;
        memcpy(buf, "GET /", 5);
        n = 5;
        memset(buf + n, 'a', tl - 1);
        n += tl - 1;
        memcpy(buf + n, " HTTP/1.1\r\nHost: a\r\n\r\n", 22);
        n += 22;
        ASSERT_OK(sw_http_parser_init(&p, SW_HTTP_REQUEST, NULL, h, 128));
        int r = parse_all(&p, buf, n);
        if (extra) {
            ASSERT_ERR(r, SW_EHTTP_LINE_TOO_LONG);
        } else {
            ASSERT_EQ(r, SW_HTTP_MESSAGE_DONE);
            ASSERT_EQ(p.target.len + 4 + 9, 8192);
        }
    }
    for (int extra = 0; extra < 2; extra++) {
        /* 25 bytes of request line and Host, 2 of end, the rest in one field. */
        size_t n = 0, total = 65536 + (size_t)extra;
        memcpy(buf, "GET / HTTP/1.1\r\nHost: a\r\nX: ", 28);
        n = 28;
        memset(buf + n, 'v', total - 28 - 4);
        n = total - 4;
        memcpy(buf + n, "\r\n\r\n", 4);
        n += 4;
        ASSERT_OK(sw_http_parser_init(&p, SW_HTTP_REQUEST, NULL, h, 128));
        int r = parse_all(&p, buf, n);
        if (extra) {
            ASSERT_ERR(r, SW_EHTTP_HEAD_TOO_LARGE);
            ASSERT_EQ(p.error_offset, 65536);
        } else {
            ASSERT_EQ(r, SW_HTTP_MESSAGE_DONE);
            ASSERT_EQ(p.head_len, 65536);
        }
    }
    /* 100 fields pass, 101 do not; a smaller array than max_headers is the limit. */
    for (int fields = 100; fields <= 101; fields++) {
        size_t n = 0;
        n += (size_t)sprintf(buf + n, "GET / HTTP/1.1\r\nHost: a\r\n");
        for (int i = 1; i < fields; i++) {
            n += (size_t)sprintf(buf + n, "X-%d: %d\r\n", i, i);
        }
        n += (size_t)sprintf(buf + n, "\r\n");
        ASSERT_OK(sw_http_parser_init(&p, SW_HTTP_REQUEST, NULL, h, 128));
        int r = parse_all(&p, buf, n);
        ASSERT_EQ(r, fields == 100 ? SW_HTTP_MESSAGE_DONE : SW_EHTTP_TOO_MANY_HEADERS);
        ASSERT_OK(sw_http_parser_init(&p, SW_HTTP_REQUEST, NULL, h, 3));
        ASSERT_ERR(parse_all(&p, buf, n), SW_EHTTP_TOO_MANY_HEADERS);
    }
    free(buf);
}

SW_TEST(http_header_find)
{
    sw_http_parser_t p;
    sw_http_header_t h[8];
    char req[] = "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nCookie: c\r\n\r\n";
    ASSERT_OK(sw_http_parser_init(&p, SW_HTTP_REQUEST, NULL, h, 8));
    ASSERT_EQ(parse_all(&p, req, strlen(req)), SW_HTTP_MESSAGE_DONE);
    ASSERT_EQ(sw_http_header_find(req, h, p.num_headers, "host", 4, 0), 0);
    ASSERT_EQ(sw_http_header_find(req, h, p.num_headers, "X-a", 3, 0), 1);
    ASSERT_EQ(sw_http_header_find(req, h, p.num_headers, "X-A", 3, 2), 2);
    ASSERT_ERR(sw_http_header_find(req, h, p.num_headers, "X-A", 3, 3), SW_ENOENT);
    ASSERT_ERR(sw_http_header_find(req, h, p.num_headers, "Cookies", 7, 0), SW_ENOENT);
    ASSERT_EQ(sw_http_header_find(req, h, p.num_headers, "COOKIE", 6, 0), 3);
    ASSERT_ERR(sw_http_header_find(NULL, h, 1, "a", 1, 0), SW_EINVAL);
    ASSERT_ERR(sw_http_header_find(req, NULL, 1, "a", 1, 0), SW_EINVAL);
    ASSERT_ERR(sw_http_header_find(req, h, 1, NULL, 1, 0), SW_EINVAL);
    ASSERT_ERR(sw_http_header_find(req, NULL, 0, "a", 1, 0), SW_ENOENT);
}

/* In-place decoding leaves the head and the next message untouched and the body contiguous. */
SW_TEST(http_parser_in_place_chunked)
{
    sw_http_parser_t p;
    sw_http_header_t h[8];
    char req[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3\r\nabc\r\n4;x=y\r\ndefg\r\n1\r\nh\r\n0\r\nT: v\r\n\r\n"
                 "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t n = strlen(req);
    char copy[sizeof(req)];
    memcpy(copy, req, sizeof(req));
    ASSERT_OK(sw_http_parser_init(&p, SW_HTTP_REQUEST, NULL, h, 8));
    ASSERT_EQ(parse_all(&p, req, n), SW_HTTP_MESSAGE_DONE);
    ASSERT_EQ(p.body_len, 8);
    ASSERT_MEM_EQ(req + p.head_len, "abcdefgh", 8);
    ASSERT_MEM_EQ(req, copy, p.head_len);
    ASSERT_EQ(p.num_trailers, 1);
    ASSERT_MEM_EQ(req + h[p.num_headers].name.off, "T", 1);
    ASSERT_MEM_EQ(req + h[p.num_headers].value.off, "v", 1);
    ASSERT_TRUE(p.flags & SW_HTTP_F_TRAILERS);
    ASSERT_MEM_EQ(req + p.consumed, copy + p.consumed, n - p.consumed);
    size_t next = (size_t)p.consumed;
    sw_http_parser_reset(&p);
    ASSERT_EQ(parse_all(&p, req + next, n - next), SW_HTTP_MESSAGE_DONE);
    ASSERT_EQ(p.consumed, n - next);
    ASSERT_MEM_EQ(req + next + p.target.off, "/next", 5);
}

/* A 1 GiB body, with Content-Length and chunked, streams through 64 KiB windows of one
 * reused buffer: nothing is accumulated. */
SW_TEST_TIMEOUT(http_parser_stream_large_body, 120)
{
    const size_t win = 65536;
    const uint64_t total = (uint64_t)1 << 30;
    char *w = malloc(win);
    ASSERT_NOT_NULL(w);
    memset(w, 'z', win);
    sw_http_parser_t p;
    sw_http_header_t h[8];
    sw_http_piece_t pc;
    char head[] = "PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: 1073741824\r\n\r\n";
    ASSERT_OK(sw_http_parser_init(&p, SW_HTTP_REQUEST, NULL, h, 8));
    ASSERT_EQ(sw_http_parser_execute(&p, head, strlen(head)), SW_HTTP_HEAD_DONE);
    uint64_t got = 0;
    int r = SW_HTTP_PARTIAL;
    while (r == SW_HTTP_PARTIAL) {
        r = sw_http_parser_body(&p, w, win, &pc);
        ASSERT_EQ(pc.consumed, win);
        got += pc.data_len;
    }
    ASSERT_EQ(r, SW_HTTP_MESSAGE_DONE);
    ASSERT_TRUE(got == total && p.body_len == total);

    /* Chunked: each window is one 65528-byte chunk with its framing. */
    char chead[] = "PUT /big HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    ASSERT_OK(sw_http_parser_init(&p, SW_HTTP_REQUEST, NULL, h, 8));
    ASSERT_EQ(sw_http_parser_execute(&p, chead, strlen(chead)), SW_HTTP_HEAD_DONE);
    memcpy(w, "fff8\r\n", 6);
    memcpy(w + win - 2, "\r\n", 2);
    const size_t per = win - 8;
    got = 0;
    for (uint64_t i = 0; i < total / per; i++) {
        size_t off = 0;
        while (off < win) {
            r = sw_http_parser_body(&p, w + off, win - off, &pc);
            ASSERT_EQ(r, SW_HTTP_PARTIAL);
            got += pc.data_len;
            off += pc.consumed;
        }
    }
    r = sw_http_parser_body(&p, "0\r\n\r\n", 5, &pc);
    ASSERT_EQ(r, SW_HTTP_MESSAGE_DONE);
    ASSERT_EQ(pc.consumed, 5);
    ASSERT_TRUE(got == p.body_len && got == (total / per) * per);
    free(w);
}

/* The parser works on a buffer that a reactor grows with realloc between calls. */
SW_TEST(http_parser_realloc_between_calls)
{
    const char *msg = "POST /r HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    size_t n = strlen(msg);
    sw_http_parser_t p;
    sw_http_header_t h[8];
    ASSERT_OK(sw_http_parser_init(&p, SW_HTTP_REQUEST, NULL, h, 8));
    char *buf = NULL;
    int r = SW_HTTP_PARTIAL;
    for (size_t len = 1; len <= n; len++) {
        char *nb = realloc(buf, len);
        ASSERT_NOT_NULL(nb);
        buf = nb;
        buf[len - 1] = msg[len - 1];
        r = sw_http_parser_execute(&p, buf, len);
        if (r == SW_HTTP_HEAD_DONE) {
            r = sw_http_parser_execute(&p, buf, len);
        }
        ASSERT_GE(r, 0);
    }
    ASSERT_EQ(r, SW_HTTP_MESSAGE_DONE);
    ASSERT_MEM_EQ(buf + p.head_len, "hello world", 11);
    ASSERT_EQ(sw_http_header_find(buf, h, p.num_headers, "transfer-encoding", 17, 0), 1);
    free(buf);
}
