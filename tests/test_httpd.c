/*
 * The HTTP server over loopback: requests and responses, keep-alive and HTTP/1.0, HEAD,
 * pipelining (split at every byte, responses in order), chunked uploads with trailers,
 * multipart uploads (temporary files removed), error answers, the header timeout, in BASE
 * mode and the main cases in PROCESS mode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sw_test.h"
#include "test_httpd_util.h"
#include "test_server_util.h"

static void get_ok(int fd, const char *req, int status, const char *body)
{
    cli_send(fd, req, strlen(req));
    hresp_t r;
    ASSERT_EQ(hresp_read(fd, &r, 0), 0);
    ASSERT_EQ(r.status, status);
    if (body) {
        ASSERT_EQ(r.body_len, strlen(body));
        ASSERT_MEM_EQ(r.body, body, r.body_len);
    }
    hresp_free(&r);
}

static void basics(sw_server_mode_t mode)
{
    hsrv_t s;
    hsrv_start(&s, mode, 2, NULL);
    int fd = cli_tcp(s.port);
    get_ok(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 200, "hello\n");
    get_ok(fd,
           "GET /info?a=1%202&b=3 HTTP/1.1\r\nHost: x\r\nCookie: d=4; c=\"5\"\r\n"
           "x-case: Yes\r\n\r\n",
           200, "GET /info a=1 2 c=5 f= h=Yes v=11");
    get_ok(fd,
           "POST /info HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
           "Content-Length: 11\r\n\r\nf=a+b&g=%41",
           200, "POST /info a= c= f=a b h= v=11");
    /* Binary data labelled as a form (curl --data-binary does that) is not an error: the
     * request arrives with its raw body and no form fields. */
    get_ok(fd,
           "POST /info HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
           "Content-Length: 7\r\n\r\nf=%zz\x01\xff",
           200, "POST /info a= c= f= h= v=11");
    get_ok(fd, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", 404, "nothing here\n");
    get_ok(fd, "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n", 200, "abcdefgh");
    hresp_t r;
    cli_send(fd, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n",
             strlen("GET /status HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(hresp_read(fd, &r, 0), 0);
    ASSERT_EQ(r.status, 599);
    ASSERT_NOT_NULL(strstr(r.head, "599 Custom Reason\r\n"));
    ASSERT_NOT_NULL(strstr(r.head, "\r\nServer: libswoole\r\n"));
    ASSERT_NOT_NULL(strstr(r.head, "\r\nDate: "));
    hresp_free(&r);
    cli_send(fd, "GET /cookie HTTP/1.1\r\nHost: x\r\n\r\n",
             strlen("GET /cookie HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(hresp_read(fd, &r, 0), 0);
    char v[256];
    if (hresp_header(&r, "set-cookie", v, sizeof(v)) != 0) {
        sw_test_fail(__FILE__, __LINE__, "no Set-Cookie in %s%s", r.head, r.body);
    }
    ASSERT_NOT_NULL(strstr(v, "sid=x1"));
    ASSERT_NOT_NULL(strstr(v, "Max-Age=60"));
    ASSERT_NOT_NULL(strstr(v, "Domain=example.com"));
    ASSERT_NOT_NULL(strstr(v, "HttpOnly"));
    ASSERT_NOT_NULL(strstr(v, "SameSite=Lax"));
    hresp_free(&r);
    cli_send(fd, "GET /redirect HTTP/1.1\r\nHost: x\r\n\r\n",
             strlen("GET /redirect HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(hresp_read(fd, &r, 0), 0);
    ASSERT_EQ(r.status, 302);
    ASSERT_EQ(hresp_header(&r, "location", v, sizeof(v)), 0);
    ASSERT_STR_EQ(v, "/hello");
    hresp_free(&r);
    /* HEAD: the head of GET, no body. */
    cli_send(fd, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n",
             strlen("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(hresp_read(fd, &r, 1), 0);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(hresp_header(&r, "content-length", v, sizeof(v)), 0);
    ASSERT_STR_EQ(v, "6");
    ASSERT_EQ(r.body_len, 0u);
    hresp_free(&r);
    /* Still alive after all of that; then "Connection: close" ends it. */
    get_ok(fd, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200, "hello\n");
    ASSERT_EQ(cli_wait_close(fd), 0);
    close(fd);
    /* HTTP/1.0: closed after the response unless keep-alive is asked for. */
    fd = cli_tcp(s.port);
    get_ok(fd, "GET /info HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200,
           "GET /info a= c= f= h= v=10");
    get_ok(fd, "GET /hello HTTP/1.0\r\n\r\n", 200, "hello\n");
    ASSERT_EQ(cli_wait_close(fd), 0);
    close(fd);
    /* HTTP/1.0 and write(): no chunked coding, the body ends with the connection. */
    fd = cli_tcp(s.port);
    get_ok(fd, "GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200, "abcdefgh");
    close(fd);
    fd = cli_tcp(s.port);
    get_ok(fd, "GET /remote HTTP/1.1\r\nHost: x\r\n\r\n", 200, "127.0.0.1 1 1");
    close(fd);
    hsrv_stop(&s);
}

SW_TEST(basics_base)
{
    basics(SW_MODE_BASE);
}

SW_TEST(basics_process)
{
    basics(SW_MODE_PROCESS);
}

/* Three requests (plain, Content-Length, chunked with a trailer) as one stream. */
static const char k_stream[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                               "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n12345"
                               "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                               "\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: tv\r\n\r\n";

static void read_three(int fd)
{
    hresp_t r;
    ASSERT_EQ(hresp_read(fd, &r, 0), 0);
    ASSERT_STR_EQ(r.body, "hello\n");
    hresp_free(&r);
    ASSERT_EQ(hresp_read(fd, &r, 0), 0);
    ASSERT_STR_EQ(r.body, "12345");
    hresp_free(&r);
    ASSERT_EQ(hresp_read(fd, &r, 0), 0);
    ASSERT_STR_EQ(r.body, "abcde");
    char v[32];
    ASSERT_EQ(hresp_header(&r, "x-trailer", v, sizeof(v)), 0);
    ASSERT_STR_EQ(v, "tv");
    hresp_free(&r);
}

static void pipeline(sw_server_mode_t mode)
{
    hsrv_t s;
    hsrv_start(&s, mode, 1, NULL);
    size_t n = sizeof(k_stream) - 1;
    for (size_t k = 1; k < n; k++) {
        int fd = cli_tcp(s.port);
        cli_send(fd, k_stream, k);
        usleep(200);
        cli_send(fd, k_stream + k, n - k);
        read_three(fd);
        close(fd);
    }
    /* One byte at a time. */
    int fd = cli_tcp(s.port);
    for (size_t k = 0; k < n; k++) {
        cli_send(fd, k_stream + k, 1);
    }
    read_three(fd);
    /* Responses in request order even when the first one ends later. */
    const char *two =
        "GET /defer HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    cli_send(fd, two, strlen(two));
    hresp_t r;
    ASSERT_EQ(hresp_read(fd, &r, 0), 0);
    ASSERT_STR_EQ(r.body, "deferred\n");
    hresp_free(&r);
    ASSERT_EQ(hresp_read(fd, &r, 0), 0);
    ASSERT_STR_EQ(r.body, "hello\n");
    hresp_free(&r);
    close(fd);
    hsrv_stop(&s);
}

SW_TEST_TIMEOUT(pipeline_base, 120)
{
    pipeline(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(pipeline_process, 120)
{
    pipeline(SW_MODE_PROCESS);
}

/* Sends `req`, expects `status` and the end of the connection. */
static void expect_error(int port, const char *req, size_t len, int status)
{
    int fd = cli_tcp(port);
    cli_send(fd, req, len);
    hresp_t r;
    ASSERT_EQ(hresp_read(fd, &r, 0), 0);
    if (r.status != status) {
        sw_test_fail(__FILE__, __LINE__, "%.40s...: status %d, expected %d", req, r.status, status);
    }
    char v[32];
    ASSERT_EQ(hresp_header(&r, "connection", v, sizeof(v)), 0);
    ASSERT_STR_EQ(v, "close");
    hresp_free(&r);
    int e = cli_wait_close(fd);
    ASSERT_TRUE(e == 0 || e == SW_ECONNRESET);
    close(fd);
}

static void errors(sw_server_mode_t mode)
{
    static const char *const opts[] = {"port:package_max_length", "65536",
                                       "port:http_max_header_size", "1024", NULL};
    hsrv_t s;
    hsrv_start(&s, mode, 1, opts);
    char big[4096];
    int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + n, 'a', 2000);
    expect_error(s.port, big, (size_t)n + 2000, 431);
    const char *tl = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
    expect_error(s.port, tl, strlen(tl), 413);
    /* A chunked body growing past the limit. */
    int fd = cli_tcp(s.port);
    const char *ch = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    cli_send(fd, ch, strlen(ch));
    char chunk[8192 + 16];
    int hl = snprintf(chunk, sizeof(chunk), "2000\r\n");
    memset(chunk + hl, 'z', 8192);
    memcpy(chunk + hl + 8192, "\r\n", 2);
    hresp_t r;
    int got = -1;
    for (int i = 0; i < 12 && got < 0; i++) {
        if (send(fd, chunk, (size_t)hl + 8194, MSG_NOSIGNAL) < 0) {
            break;
        }
    }
    got = hresp_read(fd, &r, 0);
    ASSERT_EQ(got, 0);
    ASSERT_EQ(r.status, 413);
    hresp_free(&r);
    close(fd);
    expect_error(s.port, "GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n",
                 strlen("GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n"), 400);
    expect_error(s.port, "GET / HTTP/1.1\r\n\r\n", strlen("GET / HTTP/1.1\r\n\r\n"),
                 400); /* no Host */
    const char *te = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
    expect_error(s.port, te, strlen(te), 501);
    const char *pri = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    expect_error(s.port, pri, strlen(pri), 505);
    const char *bad_chunk =
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    expect_error(s.port, bad_chunk, strlen(bad_chunk), 400);
    /* After an error nothing more is answered on that connection, even a valid request that
     * arrived with the bad one. */
    fd = cli_tcp(s.port);
    const char *two = "GET / HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    cli_send(fd, two, strlen(two));
    ASSERT_EQ(hresp_read(fd, &r, 0), 0);
    ASSERT_EQ(r.status, 400);
    hresp_free(&r);
    ASSERT_EQ(hresp_read(fd, &r, 0), -1);
    close(fd);
    hsrv_stop(&s);
}

SW_TEST_TIMEOUT(errors_base, 60)
{
    errors(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(errors_process, 60)
{
    errors(SW_MODE_PROCESS);
}

static void multipart(sw_server_mode_t mode)
{
    char dir[] = "/tmp/sw_httpd_up_XXXXXX";
    ASSERT_NOT_NULL(mkdtemp(dir));
    const char *opts[] = {"upload_tmp_dir", dir, NULL};
    hsrv_t s;
    hsrv_start(&s, mode, 1, opts);
    const char *body = "--BOUND\r\n"
                       "Content-Disposition: form-data; name=\"f\"\r\n\r\n"
                       "field value\r\n"
                       "--BOUND\r\n"
                       "Content-Disposition: form-data; name=\"up1\"; filename=\"a.txt\"\r\n"
                       "Content-Type: text/plain\r\n\r\n"
                       "first file\r\n"
                       "--BOUND\r\n"
                       "Content-Disposition: form-data; name=\"up2\"; filename=\"b.bin\"\r\n\r\n"
                       "\x01\x02\r\n\x03\r\n"
                       "--BOUND--\r\n";
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "POST /files HTTP/1.1\r\nHost: x\r\n"
                     "Content-Type: multipart/form-data; boundary=BOUND\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     strlen(body), body);
    int fd = cli_tcp(s.port);
    cli_send(fd, req, (size_t)n);
    hresp_t r;
    ASSERT_EQ(hresp_read(fd, &r, 0), 0);
    ASSERT_EQ(r.status, 200);
    char f1[256], f2[256], n1[64], n2[64], p1[512], p2[512];
    unsigned long long s1, s2;
    unsigned long c1, c2;
    ASSERT_EQ(sscanf(r.body, "%255s %63s %llu %lu %511s\n%255s %63s %llu %lu %511s", f1, n1, &s1,
                     &c1, p1, f2, n2, &s2, &c2, p2),
              10);
    ASSERT_STR_EQ(f1, "up1");
    ASSERT_STR_EQ(n1, "a.txt");
    ASSERT_EQ(s1, 10u);
    ASSERT_STR_EQ(f2, "up2");
    ASSERT_EQ(s2, 5u);
    ASSERT_NOT_NULL(strstr(r.body, "f=field value\n"));
    ASSERT_EQ(strncmp(p1, dir, strlen(dir)), 0);
    /* The temporary files are removed when on_request returns; in PROCESS and THREAD modes
     * the response may reach us a moment before that, so wait for it (bounded). */
    for (int i = 0; i < 500 && (access(p1, F_OK) == 0 || access(p2, F_OK) == 0); i++) {
        usleep(10000);
    }
    ASSERT_NE(access(p1, F_OK), 0);
    ASSERT_NE(access(p2, F_OK), 0);
    hresp_free(&r);
    close(fd);
    hsrv_stop(&s);
    ASSERT_EQ(rmdir(dir), 0); /* empty: nothing was left behind */
}

SW_TEST(multipart_base)
{
    multipart(SW_MODE_BASE);
}

SW_TEST(multipart_process)
{
    multipart(SW_MODE_PROCESS);
}

/* A head that never completes is closed after http_header_timeout. */
SW_TEST_TIMEOUT(header_timeout, 60)
{
    static const char *const opts[] = {"http_header_timeout", "1", NULL};
    hsrv_t s;
    hsrv_start(&s, SW_MODE_BASE, 1, opts);
    int fd = cli_tcp(s.port);
    cli_timeout(fd, scaled_ms(10000));
    cli_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n", strlen("GET / HTTP/1.1\r\nHost: x\r\n"));
    int e = cli_wait_close(fd);
    ASSERT_TRUE(e == 0 || e == SW_ECONNRESET);
    close(fd);
    /* An idle keep-alive connection (no partial request) is not closed by it in BASE mode. */
    fd = cli_tcp(s.port);
    get_ok(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 200, "hello\n");
    usleep(2500 * 1000);
    get_ok(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 200, "hello\n");
    close(fd);
    hsrv_stop(&s);
}

/* Expect: 100-continue with the body sent at once (as clients do after their wait). */
SW_TEST(expect_continue)
{
    hsrv_t s;
    hsrv_start(&s, SW_MODE_BASE, 1, NULL);
    int fd = cli_tcp(s.port);
    get_ok(fd,
           "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
           "abc",
           200, "abc");
    /* Too large is refused at once, without waiting for the body. */
    close(fd);
    hsrv_stop(&s);
    static const char *const opts[] = {"port:package_max_length", "4096", NULL};
    hsrv_start(&s, SW_MODE_BASE, 1, opts);
    const char *big = "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                      "Content-Length: 5000\r\n\r\n";
    expect_error(s.port, big, strlen(big), 413);
    const char *magic = "GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n";
    expect_error(s.port, magic, strlen(magic), 417);
    hsrv_stop(&s);
}

/* 100 pipelined requests behind slow responses: the server stops reading at its bound of
 * unfinished responses and goes on once they end; every answer arrives, in order. */
static void pipeline_many(sw_server_mode_t mode)
{
    hsrv_t s;
    hsrv_start(&s, mode, 1, NULL);
    int fd = cli_tcp(s.port);
    enum { N = 100 };
    static char all[N * 64];
    size_t len = 0;
    for (int i = 0; i < N; i++) {
        const char *one = i % 2 ? "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                                : "GET /defer HTTP/1.1\r\nHost: x\r\n\r\n";
        memcpy(all + len, one, strlen(one));
        len += strlen(one);
    }
    cli_send(fd, all, len);
    for (int i = 0; i < N; i++) {
        hresp_t r;
        ASSERT_EQ(hresp_read(fd, &r, 0), 0);
        ASSERT_STR_EQ(r.body, i % 2 ? "hello\n" : "deferred\n");
        hresp_free(&r);
    }
    close(fd);
    hsrv_stop(&s);
}

SW_TEST_TIMEOUT(pipeline_many_base, 60)
{
    pipeline_many(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(pipeline_many_process, 60)
{
    pipeline_many(SW_MODE_PROCESS);
}

SW_TEST(basics_thread)
{
    basics(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(pipeline_thread, 120)
{
    pipeline(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(errors_thread, 60)
{
    errors(SW_MODE_THREAD);
}

SW_TEST(multipart_thread)
{
    multipart(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(pipeline_many_thread, 60)
{
    pipeline_many(SW_MODE_THREAD);
}
