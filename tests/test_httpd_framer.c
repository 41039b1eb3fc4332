/*
 * HTTP framing (open_http_protocol) as a pure function: options, whole requests at every
 * split (through the reader of protocol_util.c, which checks the framer's promises), and
 * what is delivered for requests that cannot be framed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol_util.h"
#include "sw_test.h"
#include "swoole/protocol.h"

static void http_spec(sw_protocol_t *p, size_t max, unsigned head)
{
    sw_protocol_init(p);
    ASSERT_OK(sw_protocol_set_option(p, "open_http_protocol", "1"));
    p->package_max_length = max;
    p->http_max_header_size = head;
    ASSERT_OK(sw_protocol_check(p));
}

SW_TEST(framer_options)
{
    sw_protocol_t p;
    sw_protocol_init(&p);
    ASSERT_EQ(p.open_http_protocol, false);
    ASSERT_EQ(p.http_max_header_size, 65536u);
    ASSERT_OK(sw_protocol_set_option(&p, "open_http_protocol", "true"));
    ASSERT_EQ(sw_protocol_mode(&p), SW_FRAMING_HTTP);
    ASSERT_ERR(sw_protocol_set_option(&p, "open_http_protocol", "yes"), SW_EOPTION_VALUE);
    ASSERT_OK(sw_protocol_set_option(&p, "http_max_header_size", "64"));
    ASSERT_ERR(sw_protocol_set_option(&p, "http_max_header_size", "63"), SW_EOPTION_VALUE);
    ASSERT_ERR(sw_protocol_set_option(&p, "http_max_header_size", "2147483648"), SW_EOPTION_VALUE);
    ASSERT_OK(sw_protocol_check(&p));
    p.open_length_check = true;
    ASSERT_ERR(sw_protocol_check(&p), SW_EOPTION_VALUE);
    p.open_length_check = false;
    p.open_eof_check = true;
    ASSERT_ERR(sw_protocol_check(&p), SW_EOPTION_VALUE);
}

static const char k_reqs[] = "\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                             "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nwxyz"
                             "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "4;a=b\r\n1234\r\n0\r\nT: 1\r\nU: 2\r\n\r\n"
                             "GET /d HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";

SW_TEST(framer_every_split)
{
    sw_protocol_t p;
    http_spec(&p, 4096, 1024);
    size_t n = sizeof(k_reqs) - 1;
    size_t ends[4];
    ends[0] = (size_t)(strstr(k_reqs, "POST /b") - k_reqs);
    ends[1] = (size_t)(strstr(k_reqs, "POST /c") - k_reqs);
    ends[2] = (size_t)(strstr(k_reqs, "GET /d") - k_reqs);
    ends[3] = n;
    for (size_t chunk = 1; chunk <= n; chunk++) {
        frame_run_t r;
        frame_run(&p, k_reqs, n, &chunk, 1, chunk < 8, &r);
        ASSERT_EQ(r.error, 0);
        ASSERT_EQ(r.count, 4u);
        for (int i = 0; i < 4; i++) {
            ASSERT_EQ(r.ends[i], ends[i]);
        }
        ASSERT_EQ(r.leftover, 0u);
        frame_run_free(&r);
    }
    /* Two pieces, split at every byte. */
    for (size_t k = 1; k < n; k++) {
        size_t chunks[2] = {k, n - k};
        frame_run_t r;
        frame_run(&p, k_reqs, n, chunks, 2, false, &r);
        ASSERT_EQ(r.count, 4u);
        ASSERT_EQ(r.ends[2], ends[2]);
        frame_run_free(&r);
    }
}

/* One call over `s`: the result and the length. */
static int next1(const sw_protocol_t *p, const char *s, size_t *out)
{
    sw_framer_t st;
    sw_framer_init(&st);
    return sw_protocol_next(p, &st, s, strlen(s), out);
}

SW_TEST(framer_bad_requests)
{
    sw_protocol_t p;
    http_spec(&p, 200, 64);
    size_t n;
    /* No end of head within 64 bytes: 64 bytes delivered. */
    char big[128];
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    big[127] = '\0';
    ASSERT_EQ(next1(&p, big, &n), 1);
    ASSERT_EQ(n, 64u);
    /* A head the parser refuses: the head. */
    const char *bad = "GET / HTTP/1.1\r\nBad Name: 1\r\n\r\nmore";
    ASSERT_EQ(next1(&p, bad, &n), 1);
    ASSERT_EQ(n, strlen(bad) - 4);
    /* Content-Length over the limit: the head alone, at once. */
    const char *cl = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n";
    ASSERT_EQ(next1(&p, cl, &n), 1);
    ASSERT_EQ(n, strlen(cl));
    /* Bad chunk size: up to the bad byte. */
    const char *ch = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nq";
    ASSERT_EQ(next1(&p, ch, &n), 1);
    ASSERT_EQ(n, strlen(ch));
    /* Incomplete: the hint is one more byte, or the whole Content-Length message. */
    const char *part = "GET / HTTP/1.1\r\nHo";
    ASSERT_EQ(next1(&p, part, &n), 0);
    ASSERT_EQ(n, strlen(part) + 1);
    const char *body = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab";
    ASSERT_EQ(next1(&p, body, &n), 0);
    ASSERT_EQ(n, strlen(body) + 8);
    /* A chunked body reaching package_max_length: what fits is delivered. */
    char longc[400];
    int k = snprintf(longc, sizeof(longc),
                     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nff\r\n");
    memset(longc + k, 'z', sizeof(longc) - (size_t)k - 1);
    longc[sizeof(longc) - 1] = '\0';
    ASSERT_EQ(next1(&p, longc, &n), 1);
    ASSERT_EQ(n, 200u);
}
