/*
 * Static files (document_root + enable_static_handler): body and MIME type, ETag and
 * Last-Modified with 304, byte ranges (206, 416), HEAD, traversal refused (.., encoded ..,
 * a symlink out of the root), a missing file falling through to on_request; and gzip of a
 * response, checked by decompressing it with the system's gzip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sw_test.h"
#include "test_httpd_util.h"
#include "test_server_util.h"

static hresp_t ask(int fd, const char *req, int is_head)
{
    cli_send(fd, req, strlen(req));
    hresp_t r;
    ASSERT_EQ(hresp_read(fd, &r, is_head), 0);
    return r;
}

static void write_file(const char *path, const char *data)
{
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    fputs(data, f);
    fclose(f);
}

static void static_files(sw_server_mode_t mode)
{
    char base[] = "/tmp/sw_httpd_st_XXXXXX";
    ASSERT_NOT_NULL(mkdtemp(base));
    char root[256], file[300], outside[300], link[300], html[300];
    snprintf(root, sizeof(root), "%s/root", base);
    ASSERT_EQ(mkdir(root, 0700), 0);
    snprintf(file, sizeof(file), "%s/data.txt", root);
    write_file(file, "0123456789");
    snprintf(html, sizeof(html), "%s/index.html", root);
    write_file(html, "<p>hi</p>");
    snprintf(outside, sizeof(outside), "%s/secret.txt", base);
    write_file(outside, "secret");
    snprintf(link, sizeof(link), "%s/link.txt", root);
    ASSERT_EQ(symlink(outside, link), 0);
    const char *opts[] = {"document_root", root, "enable_static_handler", "true", NULL};
    hsrv_t s;
    hsrv_start(&s, mode, 1, opts);
    int fd = cli_tcp(s.port);
    char v[256], etag[64], lm[64];

    hresp_t r = ask(fd, "GET /data.txt HTTP/1.1\r\nHost: x\r\n\r\n", 0);
    ASSERT_EQ(r.status, 200);
    ASSERT_STR_EQ(r.body, "0123456789");
    ASSERT_EQ(hresp_header(&r, "content-type", v, sizeof(v)), 0);
    ASSERT_STR_EQ(v, "text/plain; charset=utf-8");
    ASSERT_EQ(hresp_header(&r, "etag", etag, sizeof(etag)), 0);
    ASSERT_EQ(hresp_header(&r, "last-modified", lm, sizeof(lm)), 0);
    hresp_free(&r);

    r = ask(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0);
    ASSERT_EQ(r.status, 200);
    ASSERT_STR_EQ(r.body, "<p>hi</p>");
    hresp_free(&r);

    char req[512];
    snprintf(req, sizeof(req), "GET /data.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\r\n\r\n",
             etag);
    r = ask(fd, req, 0);
    ASSERT_EQ(r.status, 304);
    ASSERT_EQ(r.body_len, 0u);
    hresp_free(&r);
    snprintf(req, sizeof(req), "GET /data.txt HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: %s\r\n\r\n",
             lm);
    r = ask(fd, req, 0);
    ASSERT_EQ(r.status, 304);
    hresp_free(&r);
    r = ask(fd,
            "GET /data.txt HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 "
            "GMT\r\n\r\n",
            0);
    ASSERT_EQ(r.status, 200);
    hresp_free(&r);

    r = ask(fd, "GET /data.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=2-5\r\n\r\n", 0);
    ASSERT_EQ(r.status, 206);
    ASSERT_STR_EQ(r.body, "2345");
    ASSERT_EQ(hresp_header(&r, "content-range", v, sizeof(v)), 0);
    ASSERT_STR_EQ(v, "bytes 2-5/10");
    hresp_free(&r);
    r = ask(fd, "GET /data.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=-3\r\n\r\n", 0);
    ASSERT_EQ(r.status, 206);
    ASSERT_STR_EQ(r.body, "789");
    hresp_free(&r);
    r = ask(fd, "GET /data.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=7-\r\n\r\n", 0);
    ASSERT_EQ(r.status, 206);
    ASSERT_STR_EQ(r.body, "789");
    hresp_free(&r);
    r = ask(fd, "GET /data.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=10-\r\n\r\n", 0);
    ASSERT_EQ(r.status, 416);
    ASSERT_EQ(hresp_header(&r, "content-range", v, sizeof(v)), 0);
    ASSERT_STR_EQ(v, "bytes */10");
    hresp_free(&r);

    r = ask(fd, "HEAD /data.txt HTTP/1.1\r\nHost: x\r\n\r\n", 1);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(hresp_header(&r, "content-length", v, sizeof(v)), 0);
    ASSERT_STR_EQ(v, "10");
    ASSERT_EQ(r.body_len, 0u);
    hresp_free(&r);

    /* Traversal. */
    r = ask(fd, "GET /../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n", 0);
    ASSERT_EQ(r.status, 403);
    hresp_free(&r);
    r = ask(fd, "GET /%2e%2e/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n", 0);
    ASSERT_EQ(r.status, 403);
    hresp_free(&r);
    r = ask(fd, "GET /a/%2E%2E/%2e%2e/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n", 0);
    ASSERT_EQ(r.status, 403);
    hresp_free(&r);
    r = ask(fd, "GET /link.txt HTTP/1.1\r\nHost: x\r\n\r\n", 0);
    ASSERT_EQ(r.status, 404);
    ASSERT_EQ(strstr(r.body, "secret"), NULL);
    hresp_free(&r);
    /* Not a file: on_request answers. */
    r = ask(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 0);
    ASSERT_EQ(r.status, 200);
    ASSERT_STR_EQ(r.body, "hello\n");
    hresp_free(&r);

    close(fd);
    hsrv_stop(&s);
    unlink(link);
    unlink(file);
    unlink(html);
    unlink(outside);
    rmdir(root);
    rmdir(base);
}

SW_TEST(static_base)
{
    static_files(SW_MODE_BASE);
}

SW_TEST(static_process)
{
    static_files(SW_MODE_PROCESS);
}

SW_TEST(static_thread)
{
    static_files(SW_MODE_THREAD);
}

/* gzip round trip through the system's gzip; skipped without zlib in the build or gzip. */
SW_TEST(gzip_roundtrip)
{
    hsrv_t s;
    hsrv_start(&s, SW_MODE_BASE, 1, NULL);
    int fd = cli_tcp(s.port);
    hresp_t r = ask(fd, "GET /gzip HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", 0);
    ASSERT_EQ(r.status, 200);
    char v[64];
    int has = hresp_header(&r, "content-encoding", v, sizeof(v)) == 0;
    hresp_t plain = ask(fd, "GET /gzip HTTP/1.1\r\nHost: x\r\n\r\n", 0);
    ASSERT_EQ(plain.body_len, 1000u);
    ASSERT_EQ(hresp_header(&plain, "content-encoding", v, sizeof(v)), -1);
    hresp_free(&plain);
    close(fd);
    hsrv_stop(&s);
    if (!has) {
        hresp_free(&r);
        SW_TEST_SKIP("built without zlib: responses are not compressed");
    }
    ASSERT_STR_EQ(v, "gzip");
    ASSERT_LT(r.body_len, 100u);
    if (system("command -v gzip >/dev/null 2>&1") != 0) {
        hresp_free(&r);
        SW_TEST_SKIP("no gzip program on this machine to check the body");
    }
    char path[] = "/tmp/sw_httpd_gz_XXXXXX";
    int tf = mkstemp(path);
    ASSERT_GE(tf, 0);
    ASSERT_EQ(write(tf, r.body, r.body_len), (ssize_t)r.body_len);
    close(tf);
    hresp_free(&r);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "gzip -dc < %s", path);
    FILE *p = popen(cmd, "r");
    ASSERT_NOT_NULL(p);
    char out[2048];
    size_t n = fread(out, 1, sizeof(out), p);
    ASSERT_EQ(pclose(p), 0);
    unlink(path);
    ASSERT_EQ(n, 1000u);
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ(out[i], 'a');
    }
}
