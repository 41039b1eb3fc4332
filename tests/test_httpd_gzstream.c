/*
 * gzip of streamed responses (sw_http_response_write then end) over loopback, in BASE,
 * PROCESS and THREAD modes: the body decoded with zlib equals what was written; each write()
 * decodes on arrival (Z_SYNC_FLUSH), before the server writes again; clients without gzip in
 * Accept-Encoding, HEAD, 204, a user Content-Encoding and level 0 get the body as written;
 * HTTP/1.0 bodies until close; pipelined streams; a connection dropped mid-stream (the stream
 * state freed: the server checks for leaks with LeakSanitizer when it runs in an ASan build);
 * allocation failures at the start and in the middle of a stream; curl --compressed.
 *
 * The server runs in a forked child with its own routes (below). Without zlib in the build the
 * cases check that responses go uncompressed, or are skipped.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef SW_HAVE_ZLIB
#include <zlib.h>
#endif

#include "core/fault.h"
#include "sw_test.h"
#include "swoole/http_server.h"
#include "test_server_util.h"

/* Present only in sanitizer builds: a leak check that does not end the process. */
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

#ifdef SW_HAVE_ZLIB
#define HAVE_ZLIB 1
#else
#define HAVE_ZLIB 0
#endif

/* ---- the bodies ----------------------------------------------------------------------------- */

/* Deterministic filler: words (compressible) or LCG bytes (incompressible). */
static void fill(char *p, size_t n, unsigned seed, bool text)
{
    static const char *const words[] = {"alpha ",   "beta ", "gamma ", "delta\n",
                                        "epsilon ", "zeta ", "eta ",   "theta\n"};
    uint32_t x = seed * 2654435761u + 1;
    size_t i = 0;
    while (i < n) {
        x = x * 1103515245u + 12345u;
        if (text) {
            const char *w = words[(x >> 16) & 7];
            for (; *w && i < n; w++) {
                p[i++] = *w;
            }
        } else {
            p[i++] = (char)(x >> 24);
        }
    }
}

/* The writes of /stream: sizes and kinds; a 0-byte write, and one larger than the server's
 * deflate slice (256 KiB). */
static const struct {
    size_t len;
    bool text;
} k_parts[] = {{6, true}, {5000, true}, {0, true}, {300000, false}, {70000, true}};
#define NPARTS (sizeof(k_parts) / sizeof(k_parts[0]))
static const char k_tail[] = "the end\n";

/* The whole body of /stream (malloc'd); its length in *len. */
static char *stream_body(size_t *len)
{
    size_t n = sizeof(k_tail) - 1;
    for (size_t i = 0; i < NPARTS; i++) {
        n += k_parts[i].len;
    }
    char *b = malloc(n);
    ASSERT_NOT_NULL(b);
    size_t at = 0;
    for (size_t i = 0; i < NPARTS; i++) {
        fill(b + at, k_parts[i].len, (unsigned)i, k_parts[i].text);
        at += k_parts[i].len;
    }
    memcpy(b + at, k_tail, sizeof(k_tail) - 1);
    *len = n;
    return b;
}

#define PART1_LEN 3000
#define PART2_LEN 2000
#define BIG_LEN   (1024 * 1024)

/* ---- the server ----------------------------------------------------------------------------- */

/* A response kept open across requests (/hold .. /finish); one worker, so one of them. */
static sw_http_response_t *g_held;
static char g_codes[128]; /* what /fault-mid's calls returned, for /codes */

static int query_int(const sw_http_request_t *req, const char *key, int dflt)
{
    size_t n;
    const char *v = sw_http_request_get(req, key, &n);
    char tmp[16];
    if (!v || n == 0 || n >= sizeof(tmp)) {
        return dflt;
    }
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    return atoi(tmp);
}

/* Ends `resp` with "<what>=<rc>". */
static void answer(sw_http_response_t *resp, const char *what, int rc)
{
    char buf[128];
    int k = snprintf(buf, sizeof(buf), "%s=%d", what, rc);
    sw_http_response_end(resp, buf, (size_t)k);
}

static void on_request(sw_http_server_t *hs, sw_http_request_t *req, sw_http_response_t *resp,
                       void *arg)
{
    (void)hs;
    (void)arg;
    size_t n;
    const char *path = sw_http_request_path(req, &n);
    if (strcmp(path, "/stream") == 0) {
        /* ?level=N: sw_http_response_gzip; ?ce=1: the user's own Content-Encoding;
         * ?status=N: that status. */
        int level = query_int(req, "level", -1);
        if (level >= 0) {
            (void)sw_http_response_gzip(resp, level);
        }
        if (query_int(req, "ce", 0)) {
            sw_http_response_header(resp, "Content-Encoding", "identity");
        }
        sw_http_response_status(resp, query_int(req, "status", 200), NULL);
        sw_http_response_header(resp, "Content-Type", "text/plain");
        char *b = malloc(300000);
        for (size_t i = 0; b && i < NPARTS; i++) {
            fill(b, k_parts[i].len, (unsigned)i, k_parts[i].text);
            sw_http_response_write(resp, b, k_parts[i].len);
        }
        free(b);
        sw_http_response_end(resp, k_tail, sizeof(k_tail) - 1);
    } else if (strcmp(path, "/whole") == 0) {
        char b[5000];
        fill(b, sizeof(b), 1, true);
        sw_http_response_end(resp, b, sizeof(b));
    } else if (strcmp(path, "/hold") == 0) {
        /* The first part now (?lazy=1: nothing yet, so that the first write comes after
         * on_request, when the request is gone); the rest when other requests ask for it. */
        char b[PART1_LEN];
        fill(b, sizeof(b), 11, true);
        g_held = resp;
        if (!query_int(req, "lazy", 0)) {
            sw_http_response_write(resp, b, sizeof(b));
        }
    } else if (strcmp(path, "/next") == 0) {
        char b[PART2_LEN];
        fill(b, sizeof(b), 12, true);
        answer(resp, "write", g_held ? sw_http_response_write(g_held, b, sizeof(b)) : 1);
    } else if (strcmp(path, "/finish") == 0) {
        int rc = g_held ? sw_http_response_end(g_held, k_tail, sizeof(k_tail) - 1) : 1;
        g_held = NULL;
        answer(resp, "end", rc);
    } else if (strcmp(path, "/probe") == 0) {
        answer(resp, "writable", g_held ? sw_http_response_writable(g_held) : -1);
    } else if (strcmp(path, "/fault-start") == 0) {
        /* The stream cannot be made (its first or its n-th allocation fails): the body goes
         * uncompressed. */
        char b[PART1_LEN];
        fill(b, sizeof(b), 11, true);
        (void)sw__fault_set("alloc", query_int(req, "skip", 0), 1);
        int rc = sw_http_response_write(resp, b, sizeof(b));
        (void)sw__fault_set("alloc", 0, 0);
        sw_http_response_end(resp, rc == 0 ? "" : "write failed", rc == 0 ? 0 : 12);
    } else if (strcmp(path, "/fault-mid") == 0) {
        /* The second write cannot get its output room: the stream breaks, and so do the
         * calls after it; the connection closes after the response. */
        char b[PART1_LEN];
        fill(b, sizeof(b), 11, true);
        int w1 = sw_http_response_write(resp, b, sizeof(b));
        char *big = malloc(BIG_LEN);
        if (!big) {
            sw_http_response_end(resp, NULL, 0);
            return;
        }
        fill(big, BIG_LEN, 5, false);
        (void)sw__fault_set("alloc", 0, 1);
        int w2 = sw_http_response_write(resp, big, BIG_LEN);
        (void)sw__fault_set("alloc", 0, 0);
        free(big);
        int w3 = sw_http_response_write(resp, "x", 1);
        int e = sw_http_response_end(resp, "y", 1);
        snprintf(g_codes, sizeof(g_codes), "%d %d %d %d", w1, w2, w3, e);
    } else if (strcmp(path, "/codes") == 0) {
        sw_http_response_end(resp, g_codes, strlen(g_codes));
    } else {
        sw_http_response_status(resp, 404, NULL);
        sw_http_response_end(resp, "no\n", 3);
    }
}

static int run(sw_server_mode_t mode, int workers, const char *const *opts, int wfd)
{
    sw_server_t *srv;
    sw_port_t *port = NULL;
    sw_http_server_t *hs = NULL;
    int r = fork_server_create(&srv, &port, mode, workers, "HTTPD_TEST_LOG");
    if (!srv) {
        return 1;
    }
    r |= sw_http_server_create(&hs, srv);
    r |= sw_http_server_enable_port(hs, port);
    for (int i = 0; r == 0 && opts && opts[i]; i += 2) {
        r = sw_http_server_set_option(hs, opts[i], opts[i + 1]);
    }
    sw_http_handlers_t h = {.on_request = on_request};
    r |= sw_http_server_set_handlers(hs, &h, NULL);
    int p[1] = {r == 0 ? sw_port_number(port) : -1};
    if (write(wfd, p, sizeof(p)) != (ssize_t)sizeof(p) || r != 0) {
        return 1;
    }
    close(wfd);
    r = sw_server_start(srv);
    sw_http_server_destroy(hs);
    sw_server_destroy(srv);
    /* The workers of BASE mode with one worker and of THREAD mode ran in this process: their
     * responses (open, orphaned, with deflate streams) are all freed by now. */
    if (__lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check() != 0) {
        fprintf(stderr, "gzstream server: leaks\n");
        return 1;
    }
    return r == 0 ? 0 : 1;
}

static int start(sw_server_mode_t mode, const char *const *opts, pid_t *pid)
{
    int p[1];
    *pid = fork_server(run, mode, 1, opts, p, sizeof(p), "HTTP");
    return p[0];
}

/* ---- the client ----------------------------------------------------------------------------- */

/* One response read as it arrives: the head, then the body de-chunked and, when it is gzip,
 * inflated as the bytes come. */
typedef struct {
    int fd;
    int status;
    char head[8192];
    bool chunked, until_close, gz, done, eof;
    long long clen; /* Content-Length, -1 when none */
    /* de-chunking */
    int st; /* 0 size line, 1 data, 2 CRLF after data, 3 trailer lines */
    size_t left;
    char line[80];
    size_t line_len;
    /* bytes read past what was processed */
    char pend[1 << 16];
    size_t pend_len;
    /* the decoded body */
    char *out;
    size_t out_len, out_cap;
    size_t wire; /* body bytes as sent (before inflating) */
#ifdef SW_HAVE_ZLIB
    z_stream zs;
    bool z_open, z_end;
#endif
} gcli_t;

static void out_add(gcli_t *c, const void *p, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        c->out_cap = (c->out_len + n) * 2 + 1024;
        c->out = realloc(c->out, c->out_cap);
        ASSERT_NOT_NULL(c->out);
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

/* Body bytes as sent: inflated when gzip, else kept. */
static void body_add(gcli_t *c, const char *p, size_t n)
{
    c->wire += n;
    if (!c->gz) {
        out_add(c, p, n);
        return;
    }
#ifdef SW_HAVE_ZLIB
    ASSERT_FALSE(c->z_end && n > 0); /* nothing after the gzip trailer */
    c->zs.next_in = (Bytef *)(uintptr_t)p;
    c->zs.avail_in = (uInt)n;
    while (c->zs.avail_in > 0 && !c->z_end) {
        char buf[16384];
        c->zs.next_out = (Bytef *)buf;
        c->zs.avail_out = sizeof(buf);
        int z = inflate(&c->zs, Z_NO_FLUSH);
        if (z != Z_OK && z != Z_STREAM_END && z != Z_BUF_ERROR) {
            sw_test_fail(__FILE__, __LINE__, "inflate: %d %s", z, c->zs.msg ? c->zs.msg : "");
        }
        out_add(c, buf, sizeof(buf) - c->zs.avail_out);
        c->z_end = z == Z_STREAM_END;
    }
    ASSERT_EQ(c->zs.avail_in, 0u);
#else
    sw_test_fail(__FILE__, __LINE__, "gzip body in a build without zlib");
#endif
}

/* Processes the pending bytes; what is not used yet stays pending. */
static void process(gcli_t *c)
{
    size_t i = 0;
    while (i < c->pend_len && !c->done) {
        if (!c->chunked) {
            size_t n = c->pend_len - i;
            if (c->clen >= 0 && (long long)(c->wire + n) > c->clen) {
                n = (size_t)(c->clen - (long long)c->wire);
            }
            body_add(c, c->pend + i, n);
            i += n;
            if (c->clen >= 0 && (long long)c->wire == c->clen) {
                c->done = true;
            }
            continue;
        }
        if (c->st == 1) {
            size_t n = c->pend_len - i < c->left ? c->pend_len - i : c->left;
            body_add(c, c->pend + i, n);
            i += n;
            c->left -= n;
            if (c->left == 0) {
                c->st = 2;
            }
            continue;
        }
        /* A line: size line, the CRLF after data, or a trailer line. */
        char ch = c->pend[i++];
        ASSERT_LT(c->line_len, sizeof(c->line) - 1);
        c->line[c->line_len++] = ch;
        if (ch != '\n') {
            continue;
        }
        c->line[c->line_len] = '\0';
        size_t ll = c->line_len;
        c->line_len = 0;
        ASSERT_TRUE(ll >= 2 && c->line[ll - 2] == '\r');
        if (c->st == 2) {
            ASSERT_EQ(ll, 2u);
            c->st = 0;
        } else if (c->st == 0) {
            char *end;
            unsigned long long sz = strtoull(c->line, &end, 16);
            ASSERT_TRUE(end != c->line && *end == '\r');
            if (sz == 0) {
                c->st = 3;
            } else {
                c->left = (size_t)sz;
                c->st = 1;
            }
        } else if (ll == 2) { /* st 3: the empty line after the trailer */
            c->done = true;
        }
    }
    memmove(c->pend, c->pend + i, c->pend_len - i);
    c->pend_len -= i;
}

/* Reads more bytes (fails the test on timeout); false at EOF. */
static bool more(gcli_t *c)
{
    ASSERT_LT(c->pend_len, sizeof(c->pend));
    for (;;) {
        ssize_t n = recv(c->fd, c->pend + c->pend_len, sizeof(c->pend) - c->pend_len, 0);
        if (n > 0) {
            c->pend_len += (size_t)n;
            return true;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno != ECONNRESET) {
            sw_test_fail(__FILE__, __LINE__, "recv: %s (body %zu bytes so far)", strerror(errno),
                         c->out_len);
        }
        c->eof = true;
        return false;
    }
}

/* Reads the head of the next response on `fd` (bytes already read past the previous one in
 * `c` are kept). is_head: the answer to HEAD (no body whatever the head says). */
static void read_head(gcli_t *c, bool is_head)
{
    char *e;
    while (!(e = memmem(c->pend, c->pend_len, "\r\n\r\n", 4))) {
        if (!more(c)) {
            sw_test_fail(__FILE__, __LINE__, "connection ended before a head");
        }
    }
    size_t hl = (size_t)(e + 4 - c->pend);
    ASSERT_LT(hl, sizeof(c->head));
    memcpy(c->head, c->pend, hl);
    c->head[hl] = '\0';
    memmove(c->pend, c->pend + hl, c->pend_len - hl);
    c->pend_len -= hl;
    ASSERT_EQ(sscanf(c->head, "HTTP/1.1 %d", &c->status), 1);
    char v[64];
    c->chunked = http_head_field(c->head, "transfer-encoding", v, sizeof(v)) >= 0;
    if (c->chunked) {
        ASSERT_STR_EQ(v, "chunked");
    }
    c->clen = http_head_field(c->head, "content-length", v, sizeof(v)) >= 0 ? atoll(v) : -1;
    c->gz =
        http_head_field(c->head, "content-encoding", v, sizeof(v)) >= 0 && strcmp(v, "gzip") == 0;
    bool bodiless = is_head || c->status == 204 || c->status == 304 || c->status < 200;
    c->until_close = !bodiless && !c->chunked && c->clen < 0;
    c->done = bodiless || (!c->chunked && c->clen == 0);
    if (bodiless) {
        c->chunked = false;
    }
    c->st = 0;
    c->line_len = 0;
    c->wire = 0;
    c->out_len = 0;
    c->eof = false;
#ifdef SW_HAVE_ZLIB
    if (c->z_open) {
        inflateEnd(&c->zs);
        c->z_open = false;
    }
    c->z_end = false;
    if (c->gz) {
        memset(&c->zs, 0, sizeof(c->zs));
        ASSERT_EQ(inflateInit2(&c->zs, 15 + 16), Z_OK); /* gzip wrapper only */
        c->z_open = true;
    }
#endif
    process(c);
}

/* Reads until `want` decoded bytes are there, or the body is complete. */
static void read_until(gcli_t *c, size_t want)
{
    while (!c->done && c->out_len < want) {
        if (!more(c)) {
            return;
        }
        process(c);
    }
}

/* Reads the rest of the body; for a body until close, to EOF. Checks that a gzip stream is
 * complete. */
static void read_rest(gcli_t *c)
{
    while (!c->done) {
        if (!more(c)) {
            ASSERT_TRUE(c->until_close);
            c->done = true;
            break;
        }
        process(c);
    }
#ifdef SW_HAVE_ZLIB
    if (c->gz) {
        ASSERT_TRUE(c->z_end);
    }
#endif
}

static gcli_t *gcli_new(int port)
{
    gcli_t *c = calloc(1, sizeof(*c));
    ASSERT_NOT_NULL(c);
    c->fd = cli_tcp(port);
    return c;
}

static void gcli_free(gcli_t *c)
{
#ifdef SW_HAVE_ZLIB
    if (c->z_open) {
        inflateEnd(&c->zs);
    }
#endif
    close(c->fd);
    free(c->out);
    free(c);
}

static void sends(gcli_t *c, const char *s)
{
    cli_send(c->fd, s, strlen(s));
}

/* One GET on a new connection, the whole response read. */
static gcli_t *get(int port, const char *req)
{
    gcli_t *c = gcli_new(port);
    sends(c, req);
    read_head(c, false);
    read_rest(c);
    return c;
}

static void expect_body(const gcli_t *c, const char *body, size_t len)
{
    if (c->out_len != len) {
        sw_test_fail(__FILE__, __LINE__, "body of %zu bytes, expected %zu; head:\n%s", c->out_len,
                     len, c->head);
    }
    ASSERT_MEM_EQ(c->out, body, len);
}

/* A short answer of the side requests (/next, /finish, /probe, /codes). */
static void side(int port, const char *path, char *out, size_t cap)
{
    char req[128];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    gcli_t *c = get(port, req);
    ASSERT_EQ(c->status, 200);
    ASSERT_LT(c->out_len, cap);
    memcpy(out, c->out, c->out_len);
    out[c->out_len] = '\0';
    gcli_free(c);
}

#define GZ_REQ(path) "GET " path " HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, deflate\r\n\r\n"

/* ---- cases ---------------------------------------------------------------------------------- */

/* Several writes then end: the gzip stream decodes to their concatenation; the rules that
 * keep a body uncompressed; HTTP/1.0; two streams pipelined (the second held back). */
static void roundtrip(sw_server_mode_t mode)
{
    pid_t pid;
    int port = start(mode, NULL, &pid);
    size_t blen;
    char *body = stream_body(&blen);

    gcli_t *c = get(port, GZ_REQ("/stream"));
    ASSERT_EQ(c->status, 200);
    ASSERT_EQ(c->gz, HAVE_ZLIB);
    ASSERT_TRUE(c->chunked);
    char v[64];
    if (HAVE_ZLIB) {
        ASSERT_EQ(http_head_field(c->head, "vary", v, sizeof(v)) >= 0, 1);
        ASSERT_STR_EQ(v, "Accept-Encoding");
        ASSERT_LT(c->wire, blen); /* compressed (the incompressible part stays as large) */
    }
    expect_body(c, body, blen);
    gcli_free(c);

    /* No Accept-Encoding, gzip refused with q=0, level 0, the user's Content-Encoding: the
     * chunks as written. */
    static const char *const plain[] = {
        "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /stream HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip;q=0, deflate\r\n\r\n",
        GZ_REQ("/stream?level=0"),
        GZ_REQ("/stream?ce=1"),
    };
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        c = get(port, plain[i]);
        ASSERT_EQ(c->status, 200);
        ASSERT_FALSE(c->gz);
        ASSERT_TRUE(c->chunked);
        ASSERT_EQ(http_head_field(c->head, "vary", v, sizeof(v)), -1);
        expect_body(c, body, blen);
        gcli_free(c);
    }

    /* Another level by sw_http_response_gzip. */
    c = get(port, GZ_REQ("/stream?level=9"));
    ASSERT_EQ(c->gz, HAVE_ZLIB);
    expect_body(c, body, blen);
    gcli_free(c);

    /* HEAD: the head GET gets (gzip included), no body: the next response follows at once. */
    c = gcli_new(port);
    sends(c, "HEAD /stream HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"
             "GET /stream?status=204 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"
             "GET /whole HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n");
    read_head(c, true);
    ASSERT_EQ(c->status, 200);
    ASSERT_EQ(http_head_field(c->head, "content-encoding", v, sizeof(v)) >= 0, HAVE_ZLIB);
    ASSERT_TRUE(http_head_field(c->head, "transfer-encoding", v, sizeof(v)) >= 0);
    ASSERT_TRUE(c->done);
    /* 204: no body, no coding. */
    read_head(c, false);
    ASSERT_EQ(c->status, 204);
    ASSERT_EQ(http_head_field(c->head, "content-encoding", v, sizeof(v)), -1);
    ASSERT_EQ(http_head_field(c->head, "transfer-encoding", v, sizeof(v)), -1);
    ASSERT_TRUE(c->done);
    /* A whole body still goes with Content-Length, compressed as before. */
    read_head(c, false);
    ASSERT_EQ(c->status, 200);
    ASSERT_EQ(c->gz, HAVE_ZLIB);
    ASSERT_TRUE(c->clen > 0);
    read_rest(c);
    char whole[5000];
    fill(whole, sizeof(whole), 1, true);
    expect_body(c, whole, sizeof(whole));
    gcli_free(c);

    /* HTTP/1.0: the compressed body ends with the connection. */
    c = get(port, "GET /stream HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n");
    ASSERT_EQ(c->status, 200);
    ASSERT_TRUE(c->until_close);
    ASSERT_EQ(c->gz, HAVE_ZLIB);
    expect_body(c, body, blen);
    gcli_free(c);

    /* Two streams pipelined: the second is produced while the first is being sent, held, then
     * sent; each decodes on its own. */
    c = gcli_new(port);
    sends(c, GZ_REQ("/stream") GZ_REQ("/stream?level=1"));
    for (int i = 0; i < 2; i++) {
        read_head(c, false);
        ASSERT_EQ(c->gz, HAVE_ZLIB);
        read_rest(c);
        expect_body(c, body, blen);
    }
    gcli_free(c);
    free(body);
    fork_server_stop(pid, "HTTP");
}

SW_TEST_TIMEOUT(roundtrip_base, 60)
{
    roundtrip(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(roundtrip_process, 60)
{
    roundtrip(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(roundtrip_thread, 60)
{
    roundtrip(SW_MODE_THREAD);
}

/* Each write decodes when it arrives: the server writes the next part only when another
 * request asks for it, after the client has inflated the previous one. Without a flush per
 * write the client would wait here until its receive limit and fail. */
static void sync_flush(sw_server_mode_t mode)
{
    if (!HAVE_ZLIB) {
        SW_TEST_SKIP("built without zlib");
    }
    pid_t pid;
    int port = start(mode, NULL, &pid);
    char p1[PART1_LEN], p2[PART2_LEN];
    fill(p1, sizeof(p1), 11, true);
    fill(p2, sizeof(p2), 12, true);
    gcli_t *c = gcli_new(port);
    sends(c, GZ_REQ("/hold"));
    read_head(c, false);
    ASSERT_TRUE(c->gz);
    read_until(c, sizeof(p1));
    expect_body(c, p1, sizeof(p1));
    size_t wire1 = c->wire;
    char out[64];
    side(port, "/next", out, sizeof(out));
    ASSERT_STR_EQ(out, "write=0");
    read_until(c, sizeof(p1) + sizeof(p2));
    ASSERT_EQ(c->out_len, sizeof(p1) + sizeof(p2));
    ASSERT_MEM_EQ(c->out + sizeof(p1), p2, sizeof(p2));
    ASSERT_LT(wire1, c->wire);
    ASSERT_FALSE(c->done);
    side(port, "/finish", out, sizeof(out));
    ASSERT_STR_EQ(out, "end=0");
    read_rest(c);
    ASSERT_EQ(c->out_len, sizeof(p1) + sizeof(p2) + sizeof(k_tail) - 1);
    ASSERT_MEM_EQ(c->out + sizeof(p1) + sizeof(p2), k_tail, sizeof(k_tail) - 1);
    /* The connection is still good for another request. */
    sends(c, "GET /whole HTTP/1.1\r\nHost: x\r\n\r\n");
    read_head(c, false);
    read_rest(c);
    ASSERT_EQ(c->out_len, 5000u);
    gcli_free(c);
    fork_server_stop(pid, "HTTP");
}

SW_TEST(sync_flush_base)
{
    sync_flush(SW_MODE_BASE);
}

SW_TEST(sync_flush_process)
{
    sync_flush(SW_MODE_PROCESS);
}

SW_TEST(sync_flush_thread)
{
    sync_flush(SW_MODE_THREAD);
}

/* Waits (bounded) until the server has seen the held response's connection go. */
static void wait_not_writable(int port)
{
    char out[64] = "";
    for (int i = 0; i < 500; i++) {
        side(port, "/probe", out, sizeof(out));
        if (strcmp(out, "writable=0") == 0) {
            return;
        }
        usleep(10000);
    }
    sw_test_fail(__FILE__, __LINE__, "the server did not see the close: %s", out);
}

/* Waits (bounded) until /hold has run: its response is held and writable. */
static void wait_held(int port)
{
    char out[64] = "";
    for (int i = 0; i < 500; i++) {
        side(port, "/probe", out, sizeof(out));
        if (strcmp(out, "writable=1") == 0) {
            return;
        }
        usleep(10000);
    }
    sw_test_fail(__FILE__, __LINE__, "/hold did not run: %s", out);
}

/* The client goes away mid-stream: the response is orphaned and its stream freed; writes
 * and end say SW_ESESSION. A second stream is dropped and never ended: the worker frees it
 * when it stops (the server's leak check covers BASE and THREAD mode). */
static void dropped(sw_server_mode_t mode)
{
    pid_t pid;
    int port = start(mode, NULL, &pid);
    for (int round = 0; round < 2; round++) {
        gcli_t *c = gcli_new(port);
        sends(c, GZ_REQ("/hold"));
        read_head(c, false);
        ASSERT_EQ(c->gz, HAVE_ZLIB);
        read_until(c, PART1_LEN);
        ASSERT_EQ(c->out_len, (size_t)PART1_LEN);
        gcli_free(c);
        wait_not_writable(port);
        if (round == 0) {
            char out[64], want[64];
            side(port, "/next", out, sizeof(out));
            snprintf(want, sizeof(want), "write=%d", SW_ESESSION);
            ASSERT_STR_EQ(out, want);
            side(port, "/finish", out, sizeof(out));
            snprintf(want, sizeof(want), "end=%d", SW_ESESSION);
            ASSERT_STR_EQ(out, want);
        }
    }
    fork_server_stop(pid, "HTTP");
}

SW_TEST(dropped_base)
{
    dropped(SW_MODE_BASE);
}

SW_TEST(dropped_process)
{
    dropped(SW_MODE_PROCESS);
}

SW_TEST(dropped_thread)
{
    dropped(SW_MODE_THREAD);
}

/* Accept-Encoding as RFC 9110 §12.5.3 reads it: q=0 refuses, x-gzip is gzip, "*" covers gzip
 * unless gzip is named. Each case twice: the first write in on_request, and after it (the
 * answer looked up when on_request returned). */
SW_TEST(accept_encoding)
{
    if (!HAVE_ZLIB) {
        SW_TEST_SKIP("built without zlib");
    }
    static const struct {
        const char *ae;
        bool gz;
    } cases[] = {
        {"gzip", true},
        {"GZIP", true},
        {"deflate, gzip, br, zstd", true},
        {"x-gzip", true},
        {"gzip;q=0", false},
        {"gzip ; q=0.000", false},
        {"gzip;q=0.001", true},
        {"gzip;q=1.0", true},
        {"*", true},
        {"*;q=0", false},
        {"*, gzip;q=0", false},
        {"gzip;q=0, *", false},
        {"identity;q=1, *;q=0", false},
        {"deflate", false},
        {"gzipx, xgzip", false},
        {"", false},
        {" , ;, gzip", true},
    };
    pid_t pid;
    int port = start(SW_MODE_BASE, NULL, &pid);
    char req[256], out[64];
    for (size_t i = 0; i < 2 * sizeof(cases) / sizeof(cases[0]); i++) {
        bool lazy = i % 2;
        const char *ae = cases[i / 2].ae;
        snprintf(req, sizeof(req),
                 "GET /hold?lazy=%d HTTP/1.1\r\nHost: x\r\nAccept-Encoding: %s\r\n\r\n", lazy, ae);
        gcli_t *c = gcli_new(port);
        sends(c, req);
        if (lazy) {
            wait_held(port);
            side(port, "/next", out, sizeof(out));
            ASSERT_STR_EQ(out, "write=0");
        }
        read_head(c, false);
        if (c->gz != cases[i / 2].gz) {
            sw_test_fail(__FILE__, __LINE__, "Accept-Encoding: %s (lazy %d): gzip %d", ae, lazy,
                         c->gz);
        }
        side(port, "/finish", out, sizeof(out));
        ASSERT_STR_EQ(out, "end=0");
        read_rest(c);
        ASSERT_EQ(c->out_len, (lazy ? PART2_LEN : PART1_LEN) + sizeof(k_tail) - 1);
        gcli_free(c);
    }
    fork_server_stop(pid, "HTTP");
}

/* The stream cannot be made (the state's allocation, or one of zlib's, fails): the body goes
 * uncompressed, complete. BASE mode with one worker: the server is one thread, so the fault
 * hits the allocation the route aims at. */
SW_TEST(fault_start)
{
    SRV_NEED_FAULTS();
    if (!HAVE_ZLIB) {
        SW_TEST_SKIP("built without zlib");
    }
    pid_t pid;
    int port = start(SW_MODE_BASE, NULL, &pid);
    char p1[PART1_LEN];
    fill(p1, sizeof(p1), 11, true);
    for (int skip = 0; skip < 4; skip++) {
        char req[128];
        snprintf(req, sizeof(req), GZ_REQ("/fault-start?skip=%d"), skip);
        gcli_t *c = get(port, req);
        ASSERT_EQ(c->status, 200);
        ASSERT_FALSE(c->gz); /* the state, then zlib's first three in deflateInit2 */
        expect_body(c, p1, sizeof(p1));
        gcli_free(c);
    }
    fork_server_stop(pid, "HTTP");
}

/* A write fails mid-stream (no room for its output): that write and every call after it
 * return SW_ENOMEM, the client gets what was flushed before and then the connection closes
 * without a last chunk. */
SW_TEST(fault_mid_stream)
{
    SRV_NEED_FAULTS();
    if (!HAVE_ZLIB) {
        SW_TEST_SKIP("built without zlib");
    }
    pid_t pid;
    int port = start(SW_MODE_BASE, NULL, &pid);
    gcli_t *c = gcli_new(port);
    sends(c, GZ_REQ("/fault-mid"));
    read_head(c, false);
    ASSERT_TRUE(c->gz);
    while (more(c)) {
        process(c);
    }
    ASSERT_FALSE(c->done);
    char p1[PART1_LEN];
    fill(p1, sizeof(p1), 11, true);
    expect_body(c, p1, sizeof(p1));
    gcli_free(c);
    char out[64], want[64];
    side(port, "/codes", out, sizeof(out));
    snprintf(want, sizeof(want), "0 %d %d %d", SW_ENOMEM, SW_ENOMEM, SW_ENOMEM);
    ASSERT_STR_EQ(out, want);
    fork_server_stop(pid, "HTTP");
}

/* curl --compressed as a real client: it asks for gzip, decodes the stream, and gets the body
 * as written. */
static void curl_client(sw_server_mode_t mode)
{
    if (system("command -v curl >/dev/null 2>&1") != 0) {
        SW_TEST_SKIP("curl is not installed (Debian package curl)");
    }
    pid_t pid;
    int port = start(mode, NULL, &pid);
    size_t blen;
    char *body = stream_body(&blen);
    char cmd[256];
    snprintf(cmd, sizeof(cmd),
             "curl -sS --compressed --max-time 20 -D - http://127.0.0.1:%d/stream", port);
    FILE *p = popen(cmd, "r");
    ASSERT_NOT_NULL(p);
    size_t cap = blen + 65536, len = 0, n;
    char *out = malloc(cap);
    ASSERT_NOT_NULL(out);
    while (len < cap && (n = fread(out + len, 1, cap - len, p)) > 0) {
        len += n;
    }
    ASSERT_EQ(pclose(p), 0);
    char *e = memmem(out, len, "\r\n\r\n", 4);
    ASSERT_NOT_NULL(e);
    *e = '\0';
    char v[64];
    ASSERT_EQ(http_head_field(out, "content-encoding", v, sizeof(v)) >= 0, HAVE_ZLIB);
    size_t hl = (size_t)(e + 4 - out);
    ASSERT_EQ(len - hl, blen);
    ASSERT_MEM_EQ(out + hl, body, blen);
    free(out);
    free(body);
    fork_server_stop(pid, "HTTP");
}

SW_TEST(curl_base)
{
    curl_client(SW_MODE_BASE);
}

SW_TEST(curl_process)
{
    curl_client(SW_MODE_PROCESS);
}

SW_TEST(curl_thread)
{
    curl_client(SW_MODE_THREAD);
}
