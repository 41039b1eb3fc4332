/* See test_httpd_util.h. */
#include "test_httpd_util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fault.h"
#include "sw_test.h"
#include "test_server_util.h"

/* ---- the server --------------------------------------------------------------------------- */

typedef struct {
    sw_http_server_t *hs;
    sw_http_response_t *resp;
} defer_t;

static void defer_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    sw_http_response_t *resp = arg;
    (void)sw_http_response_end(resp, "deferred\n", 9);
}

static void on_request(sw_http_server_t *hs, sw_http_request_t *req, sw_http_response_t *resp,
                       void *arg)
{
    (void)arg;
    size_t n;
    const char *path = sw_http_request_path(req, &n);
    char buf[4096];
    int k;
    if (strcmp(path, "/hello") == 0) {
        sw_http_response_header(resp, "Content-Type", "text/plain");
        sw_http_response_end(resp, "hello\n", 6);
    } else if (strcmp(path, "/echo") == 0) {
        size_t tl = 0;
        const char *t = sw_http_request_trailer(req, "x-t", &tl);
        if (t) {
            snprintf(buf, sizeof(buf), "%.*s", (int)tl, t);
            sw_http_response_header(resp, "X-Trailer", buf);
        }
        size_t bl;
        const char *b = sw_http_request_body(req, &bl);
        sw_http_response_end(resp, b, bl);
    } else if (strcmp(path, "/info") == 0) {
        size_t al = 0, cl = 0, fl = 0, hl = 0, ml = 0;
        const char *m = sw_http_request_method_name(req, &ml);
        const char *a = sw_http_request_get(req, "a", &al);
        const char *c = sw_http_request_cookie(req, "c", &cl);
        const char *f = sw_http_request_post(req, "f", &fl);
        const char *h = sw_http_request_header(req, "X-CASE", &hl);
        k = snprintf(buf, sizeof(buf), "%.*s %s a=%.*s c=%.*s f=%.*s h=%.*s v=%d", (int)ml, m, path,
                     (int)al, a ? a : "", (int)cl, c ? c : "", (int)fl, f ? f : "", (int)hl,
                     h ? h : "", sw_http_request_version(req));
        sw_http_response_end(resp, buf, (size_t)k);
    } else if (strcmp(path, "/files") == 0) {
        size_t fk = 0;
        for (size_t i = 0; i < sw_http_request_file_count(req); i++) {
            sw_http_upload_t u;
            sw_http_request_file(req, i, &u);
            /* A checksum of the temporary file's content. */
            FILE *fp = fopen(u.tmp_name, "rb");
            unsigned long sum = 0;
            int ch;
            while (fp && (ch = fgetc(fp)) != EOF) {
                sum = sum * 31 + (unsigned char)ch;
            }
            if (fp) {
                fclose(fp);
            }
            fk += (size_t)snprintf(buf + fk, sizeof(buf) - fk, "%s %s %llu %lu %s\n", u.field,
                                   u.name, (unsigned long long)u.size, sum, u.tmp_name);
        }
        size_t fl = 0;
        const char *f = sw_http_request_post(req, "f", &fl);
        fk += (size_t)snprintf(buf + fk, sizeof(buf) - fk, "f=%.*s\n", (int)fl, f ? f : "");
        sw_http_response_end(resp, buf, fk);
    } else if (strcmp(path, "/echofile") == 0) {
        /* The body echoed; a body in a file (a request in pieces) with sendfile. */
        uint64_t fsz = 0;
        const char *file = sw_http_request_body_file(req, &fsz);
        if (file) {
            if (sw_http_response_sendfile(resp, file, 0, 0) < 0) {
                sw_http_response_end(resp, "sendfile failed\n", 16);
            }
        } else {
            size_t bl;
            const char *b = sw_http_request_body(req, &bl);
            sw_http_response_end(resp, b, bl);
        }
    } else if (strcmp(path, "/sum") == 0 || strcmp(path, "/size") == 0) {
        /* The body's size, whether it sits in a file (a request in pieces), and (/sum) a
         * checksum of its bytes; /size does not touch them. */
        size_t bl = 0;
        uint64_t fsz = 0;
        const char *file = sw_http_request_body_file(req, &fsz);
        unsigned long sum = 0;
        if (path[1] == 's' && path[2] == 'u') {
            const char *b = sw_http_request_body(req, &bl);
            for (size_t i = 0; i < bl; i++) {
                sum = sum * 31 + (unsigned char)b[i];
            }
        } else if (!file) {
            (void)sw_http_request_body(req, &bl);
        }
        size_t fl = 0;
        const char *f = sw_http_request_post(req, "f", &fl);
        k = snprintf(buf, sizeof(buf), "size=%llu file=%d sum=%lu f=%.*s files=%zu",
                     (unsigned long long)(file ? fsz : bl), file != NULL, sum, (int)fl, f ? f : "",
                     sw_http_request_file_count(req));
        sw_http_response_end(resp, buf, (size_t)k);
    } else if (strcmp(path, "/chunked") == 0) {
        sw_http_response_write(resp, "abc", 3);
        sw_http_response_write(resp, "defg", 4);
        sw_http_response_end(resp, "h", 1);
    } else if (strcmp(path, "/gzip") == 0) {
        memset(buf, 'a', 1000);
        sw_http_response_gzip(resp, 6);
        sw_http_response_end(resp, buf, 1000);
    } else if (strcmp(path, "/defer") == 0) {
        uint64_t id;
        if (sw_server_after(sw_http_server_server(hs), 50, defer_cb, resp, &id) < 0) {
            sw_http_response_end(resp, "timer failed\n", 13);
        }
    } else if (strcmp(path, "/cookie") == 0) {
        sw_http_cookie_t c = {.name = "sid",
                              .name_len = 3,
                              .value = "x1",
                              .value_len = 2,
                              .path = "/",
                              .path_len = 1,
                              .domain = "example.com",
                              .domain_len = 11,
                              .max_age = 60,
                              .has_max_age = 1,
                              .secure = 1,
                              .http_only = 1,
                              .same_site = SW_HTTP_SAMESITE_LAX};
        int r = sw_http_response_cookie(resp, &c);
        sw_http_response_end(resp, r == 0 ? "ok" : "bad", r == 0 ? 2 : 3);
    } else if (strcmp(path, "/redirect") == 0) {
        sw_http_response_redirect(resp, "/hello", 0);
    } else if (strcmp(path, "/misuse") == 0) {
        /* Calls that must be refused, made on a live response: the body says which failed. */
        int bad = 0;
        bad |= (sw_http_response_status(resp, 99, NULL) != SW_EINVAL) << 0;
        bad |= (sw_http_response_status(resp, 200, "a\r\nb") != SW_EINVAL) << 1;
        bad |= (sw_http_response_header(resp, "Content-Length", "1") != SW_EINVAL) << 2;
        bad |= (sw_http_response_header(resp, "Bad Name", "1") != SW_EINVAL) << 3;
        bad |= (sw_http_response_header(resp, "X-A", "1\r\nX-B: 2") != SW_EINVAL) << 4;
        bad |= (sw_http_response_redirect(NULL, "/", 0) != SW_EINVAL) << 5;
        bad |= (sw_http_response_gzip(resp, 10) != SW_EINVAL) << 6;
        sw_http_cookie_t c = {.name = "bad name", .name_len = 8};
        bad |= (sw_http_response_cookie(resp, &c) != SW_EINVAL) << 7;
        bad |= (sw_http_response_writable(resp) != 1) << 8;
        bad |= (sw_http_response_write(resp, "x", 1) != 0) << 9;
        bad |= (sw_http_response_status(resp, 201, NULL) != SW_ESERVER_STATE) << 10;
        bad |= (sw_http_response_header(resp, "X-Late", "1") != SW_ESERVER_STATE) << 11;
        bad |= (sw_http_request_header_at(req, 1000, NULL, NULL, NULL, NULL) != SW_EINVAL) << 12;
        sw_http_upload_t u;
        bad |= (sw_http_request_file(req, 0, &u) != SW_EINVAL) << 13;
        bad |= (sw_http_request_header(req, "no-such", NULL) != NULL) << 14;
        bad |= (sw_http_request_trailer(req, "no-such", NULL) != NULL) << 15;
        bad |= (sw_http_request_body(req, NULL) != NULL) << 16;
        k = snprintf(buf, sizeof(buf), "bad=%d", bad);
        sw_http_response_end(resp, buf, (size_t)k);
    } else if (strcmp(path, "/remote") == 0) {
        int port = 0;
        const char *ip = sw_http_request_remote_addr(req, &port);
        k = snprintf(buf, sizeof(buf), "%s %d %d", ip, port > 0, sw_http_request_session(req) > 0);
        sw_http_response_end(resp, buf, (size_t)k);
    } else if (strcmp(path, "/task") == 0) {
        /* Needs task_worker_num: the body goes to on_task, whose result is the answer. */
        size_t blen;
        const char *b = sw_http_request_body(req, &blen);
        void *res = NULL;
        size_t rlen = 0;
        int rc =
            sw_server_taskwait(sw_http_server_server(hs), b ? b : "", blen, 5000, -1, &res, &rlen);
        if (rc < 0) {
            k = snprintf(buf, sizeof(buf), "taskwait: %s", sw_err_name(rc));
            sw_http_response_status(resp, 500, NULL);
            sw_http_response_end(resp, buf, (size_t)k);
        } else {
            sw_http_response_end(resp, res, rlen);
        }
        sw_server_task_free(res);
    } else if (strcmp(path, "/status") == 0) {
        sw_http_response_status(resp, 599, "Custom Reason");
        sw_http_response_end(resp, "x", 1);
    } else {
        sw_http_response_status(resp, 404, NULL);
        sw_http_response_end(resp, "nothing here\n", 13);
    }
}

/* The user's on_task (through the HTTP server's pass-through): "task:" + the data. */
static void on_task(sw_server_t *srv, uint64_t task_id, int src_worker_id, const void *data,
                    size_t len, void *arg)
{
    (void)task_id, (void)src_worker_id, (void)arg;
    char out[256];
    size_t n = len < sizeof(out) - 5 ? len : sizeof(out) - 5;
    memcpy(out, "task:", 5);
    memcpy(out + 5, data, n);
    sw_server_task_finish(srv, out, n + 5);
}

/* The user's on_receive, for the raw (non-HTTP) port: echo. */
static void raw_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                        size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    sw_server_send(srv, session, data, len);
}

static int is_http_option(const char *name)
{
    static const char *const names[] = {"upload_tmp_dir",
                                        "upload_max_filesize",
                                        "document_root",
                                        "enable_static_handler",
                                        "http_compression",
                                        "http_compression_level",
                                        "http_compression_min_length",
                                        "http_server_software",
                                        "http_header_timeout",
                                        "http_parse_cookie",
                                        "http_parse_post",
                                        "http_parse_files"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static int run(sw_server_mode_t mode, int workers, const char *const *opts, int wfd)
{
    sw_server_t *srv;
    sw_port_t *port = NULL;
    sw_http_server_t *hs;
    int r = fork_server_create(&srv, &port, mode, workers, "HTTPD_TEST_LOG");
    if (!srv) {
        return 1;
    }
    r |= sw_http_server_create(&hs, srv);
    r |= sw_http_server_enable_port(hs, port);
    sw_port_t *raw = NULL;
    for (int i = 0; r == 0 && opts && opts[i]; i += 2) {
        if (strcmp(opts[i], "raw_port") == 0) {
            r = sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP, &raw);
        } else if (strncmp(opts[i], "fault:", 6) == 0) {
            r = sw__fault_set(opts[i] + 6, atoi(opts[i + 1]), 1);
        } else if (strncmp(opts[i], "port:", 5) == 0) {
            r = sw_port_set_option(port, opts[i] + 5, opts[i + 1]);
        } else if (is_http_option(opts[i])) {
            r = sw_http_server_set_option(hs, opts[i], opts[i + 1]);
        } else {
            r = sw_server_set_option(srv, opts[i], opts[i + 1]);
        }
        if (r < 0) {
            fprintf(stderr, "option %s=%s: %s\n", opts[i], opts[i + 1], sw_strerror(r));
        }
    }
    sw_http_handlers_t h = {.on_request = on_request};
    h.server.on_task = on_task;
    if (raw) {
        h.server.on_receive = raw_receive;
    }
    r |= sw_http_server_set_handlers(hs, &h, NULL);
    int p[2] = {r == 0 ? sw_port_number(port) : -1, raw ? sw_port_number(raw) : 0};
    if (write(wfd, p, sizeof(p)) != (ssize_t)sizeof(p) || r != 0) {
        return 1;
    }
    close(wfd);
    r = sw_server_start(srv);
    sw_http_server_destroy(hs);
    sw_server_destroy(srv);
    return r == 0 ? 0 : 1;
}

void hsrv_start(hsrv_t *s, sw_server_mode_t mode, int workers, const char *const *opts)
{
    int p[2];
    s->pid = fork_server(run, mode, workers, opts, p, sizeof(p), "HTTP");
    s->port = p[0];
    s->raw_port = p[1];
}

void hsrv_stop(hsrv_t *s)
{
    fork_server_stop(s->pid, "HTTP");
}

/* ---- the client --------------------------------------------------------------------------- */

/* Bytes read past the previous response on each fd (pipelining): a small per-fd stash. */
static char g_stash[64][65536];
static size_t g_stash_len[64];

int hresp_read(int fd, hresp_t *r, int is_head)
{
    memset(r, 0, sizeof(*r));
    ASSERT_LT(fd, 64);
    size_t cap = 1 << 16, len = g_stash_len[fd];
    char *buf = malloc(cap);
    ASSERT_NOT_NULL(buf);
    memcpy(buf, g_stash[fd], len);
    g_stash_len[fd] = 0;
    sw_http_header_t hdr[64];
    sw_http_parser_t p;
    ASSERT_OK(sw_http_parser_init(&p, SW_HTTP_RESPONSE, NULL, hdr, 64));
    if (is_head) {
        sw_http_parser_set_request_method(&p, SW_HTTP_METHOD_HEAD);
    }
    int rc = SW_HTTP_PARTIAL;
    for (;;) {
        if (len > 0) {
            rc = sw_http_parser_execute(&p, buf, len);
            if (rc == SW_HTTP_HEAD_DONE) {
                rc = sw_http_parser_execute(&p, buf, len);
            }
            if (rc < 0) {
                sw_test_fail(__FILE__, __LINE__, "bad response: %s (%s)", sw_err_name(rc),
                             p.error_reason ? p.error_reason : "");
            }
            if (rc == SW_HTTP_MESSAGE_DONE) {
                break;
            }
        }
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ASSERT_NOT_NULL(buf);
        }
        /* Reads of at most 16 KiB, so that what follows the response (pipelined responses)
         * always fits the stash. */
        size_t room = cap - len < 16384 ? cap - len : 16384;
        ssize_t n = recv(fd, buf + len, room, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (p.head_len && sw_http_parser_finish(&p) == SW_HTTP_MESSAGE_DONE) {
                break;
            }
            free(buf);
            if (len == 0) {
                return -1;
            }
            sw_test_fail(__FILE__, __LINE__, "connection ended inside a response (%zu bytes)", len);
        }
        len += (size_t)n;
    }
    r->status = p.status;
    r->keep_alive = (p.flags & SW_HTTP_F_KEEP_ALIVE) != 0;
    r->head_len = p.head_len < sizeof(r->head) ? p.head_len : sizeof(r->head) - 1;
    memcpy(r->head, buf, r->head_len);
    r->head[r->head_len] = '\0';
    r->body_len = (size_t)p.body_len;
    r->body = malloc(r->body_len + 1);
    ASSERT_NOT_NULL(r->body);
    memcpy(r->body, buf + p.head_len, r->body_len);
    r->body[r->body_len] = '\0';
    size_t rest = len - (size_t)p.consumed;
    ASSERT_LE(rest, sizeof(g_stash[0]));
    memcpy(g_stash[fd], buf + p.consumed, rest);
    g_stash_len[fd] = rest;
    free(buf);
    return 0;
}

void hresp_free(hresp_t *r)
{
    free(r->body);
    r->body = NULL;
}

int hresp_header(const hresp_t *r, const char *name, char *out, size_t cap)
{
    return http_head_field(r->head, name, out, cap) < 0 ? -1 : 0;
}
