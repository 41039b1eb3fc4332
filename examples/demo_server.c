/*
 * demo_server: the HTTP server of libswoole in one file.
 *
 *   demo_server [--host 127.0.0.1] [--port 9501] [--mode base|thread|process] [--workers N]
 *               [--reactors N] [--document-root DIR] [--max-body BYTES]
 *
 * Routes:
 *   GET /             200 text/plain "hello\n"
 *   POST|PUT /echo    200 with the request body, byte for byte (--max-body: the largest
 *                     request, 2 MiB by default, up to 1 GiB; a request over 2 MiB reaches
 *                     the worker in pieces, is kept in a temporary file and echoed from it
 *                     with sendfile: a 1 GB upload never sits in memory)
 *   GET /stats        the server's counters as JSON (?format=prometheus: Prometheus text)
 *   /ws               WebSocket echo: every text or binary message comes back as it was
 *                     (other paths refuse the WebSocket handshake with 404)
 *   GET /wspage       an HTML page whose script opens /ws, sends a message and shows the echo
 *   anything else     a file under --document-root when given (static handler), else 404
 *
 * Prints "listening on http://HOST:PORT" once the port is bound (port 0 picks a free one),
 * and stops on SIGTERM or SIGINT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swoole/error.h"
#include "swoole/http_server.h"
#include "swoole/websocket_server.h"

static const char wspage[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>libswoole WebSocket echo</title>"
    "</head>\n<body><h1>WebSocket echo</h1><p id=\"state\">connecting</p><pre id=\"log\"></pre>\n"
    "<script>\n"
    "const log = (s) => { document.getElementById('log').textContent += s + '\\n'; };\n"
    "const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') +\n"
    "                         location.host + '/ws');\n"
    "ws.onopen = () => {\n"
    "  document.getElementById('state').textContent = 'open';\n"
    "  const msg = 'hello from the browser';\n"
    "  log('sent: ' + msg);\n"
    "  ws.send(msg);\n"
    "};\n"
    "ws.onmessage = (e) => { log('echo: ' + e.data); };\n"
    "ws.onclose = (e) => { document.getElementById('state').textContent = 'closed ' + e.code; };\n"
    "</script></body></html>\n";

static void send_stats(sw_http_server_t *hs, sw_http_request_t *req, sw_http_response_t *resp)
{
    sw_server_stats_t st;
    if (sw_server_stats(sw_http_server_server(hs), &st) < 0) {
        sw_http_response_status(resp, 500, NULL);
        sw_http_response_end(resp, "no stats\n", 9);
        return;
    }
    size_t fl = 0;
    const char *fmt = sw_http_request_get(req, "format", &fl);
    char buf[2048];
    int n;
    if (fmt && fl == 10 && memcmp(fmt, "prometheus", 10) == 0) {
        n = snprintf(buf, sizeof(buf),
                     "# TYPE swoole_connections gauge\nswoole_connections %llu\n"
                     "# TYPE swoole_accepted_total counter\nswoole_accepted_total %llu\n"
                     "# TYPE swoole_closed_total counter\nswoole_closed_total %llu\n"
                     "# TYPE swoole_requests_total counter\nswoole_requests_total %llu\n"
                     "# TYPE swoole_received_bytes_total counter\n"
                     "swoole_received_bytes_total %llu\n"
                     "# TYPE swoole_sent_bytes_total counter\nswoole_sent_bytes_total %llu\n"
                     "# TYPE swoole_workers gauge\nswoole_workers %d\n",
                     (unsigned long long)st.connection_num, (unsigned long long)st.accept_count,
                     (unsigned long long)st.close_count, (unsigned long long)st.request_count,
                     (unsigned long long)st.total_recv_bytes,
                     (unsigned long long)st.total_send_bytes, st.worker_num);
        sw_http_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
    } else {
        n = snprintf(buf, sizeof(buf),
                     "{\"start_time\":%lld,\"connection_num\":%llu,\"accept_count\":%llu,"
                     "\"close_count\":%llu,\"abort_count\":%llu,\"request_count\":%llu,"
                     "\"response_count\":%llu,\"total_recv_bytes\":%llu,"
                     "\"total_send_bytes\":%llu,\"worker_num\":%d,\"task_worker_num\":%d,"
                     "\"worker_request_count\":%llu}\n",
                     (long long)st.start_time, (unsigned long long)st.connection_num,
                     (unsigned long long)st.accept_count, (unsigned long long)st.close_count,
                     (unsigned long long)st.abort_count, (unsigned long long)st.request_count,
                     (unsigned long long)st.response_count, (unsigned long long)st.total_recv_bytes,
                     (unsigned long long)st.total_send_bytes, st.worker_num, st.task_worker_num,
                     (unsigned long long)st.worker_request_count);
        sw_http_response_header(resp, "Content-Type", "application/json");
    }
    sw_http_response_end(resp, buf, (size_t)n);
}

static void on_request(sw_http_server_t *hs, sw_http_request_t *req, sw_http_response_t *resp,
                       void *arg)
{
    (void)arg;
    const char *path = sw_http_request_path(req, NULL);
    int m = sw_http_request_method(req);
    if (strcmp(path, "/") == 0 && (m == SW_HTTP_METHOD_GET || m == SW_HTTP_METHOD_HEAD)) {
        sw_http_response_header(resp, "Content-Type", "text/plain");
        sw_http_response_end(resp, "hello\n", 6);
    } else if (strcmp(path, "/echo") == 0 &&
               (m == SW_HTTP_METHOD_POST || m == SW_HTTP_METHOD_PUT)) {
        sw_http_response_header(resp, "Content-Type", "application/octet-stream");
        sw_http_response_gzip(resp, 0); /* byte for byte */
        const char *file = sw_http_request_body_file(req, NULL);
        if (file) {
            sw_http_response_sendfile(resp, file, 0, 0);
        } else {
            size_t len;
            const char *body = sw_http_request_body(req, &len);
            sw_http_response_end(resp, body, len);
        }
    } else if (strcmp(path, "/stats") == 0) {
        send_stats(hs, req, resp);
    } else if (strcmp(path, "/wspage") == 0 &&
               (m == SW_HTTP_METHOD_GET || m == SW_HTTP_METHOD_HEAD)) {
        sw_http_response_header(resp, "Content-Type", "text/html; charset=utf-8");
        sw_http_response_end(resp, wspage, sizeof(wspage) - 1);
    } else {
        sw_http_response_status(resp, 404, NULL);
        sw_http_response_header(resp, "Content-Type", "text/plain");
        sw_http_response_end(resp, "Not Found\n", 10);
    }
}

/* WebSocket: only /ws upgrades. */
static int on_handshake(sw_websocket_server_t *ws, sw_http_request_t *req, sw_http_response_t *resp,
                        void *arg)
{
    (void)ws;
    (void)resp;
    (void)arg;
    return strcmp(sw_http_request_path(req, NULL), "/ws") == 0 ? 0 : 404;
}

static void on_message(sw_websocket_server_t *ws, const sw_websocket_frame_t *f, void *arg)
{
    (void)arg;
    sw_websocket_push(sw_websocket_server_server(ws), f->session, f->data, f->len, f->opcode,
                      SW_WEBSOCKET_FLAG_FIN);
}

static void on_start(sw_server_t *srv, void *arg)
{
    (void)srv;
    const char *addr = arg;
    printf("listening on %s\n", addr);
    fflush(stdout);
}

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--host H] [--port P] [--mode base|thread|process] [--workers N] "
            "[--reactors N] [--document-root DIR] [--max-body BYTES]\n",
            argv0);
    return 2;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *root = NULL, *workers = "1", *reactors = NULL;
    const char *max_body = NULL;
    int port = 9501;
    sw_server_mode_t mode = SW_MODE_BASE;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            return usage(argv[0]);
        }
        if (strcmp(a, "--host") == 0) {
            host = v;
        } else if (strcmp(a, "--port") == 0) {
            port = atoi(v);
        } else if (strcmp(a, "--workers") == 0) {
            workers = v;
        } else if (strcmp(a, "--reactors") == 0) {
            reactors = v;
        } else if (strcmp(a, "--document-root") == 0) {
            root = v;
        } else if (strcmp(a, "--max-body") == 0) {
            max_body = v;
        } else if (strcmp(a, "--mode") == 0) {
            if (strcmp(v, "base") == 0) {
                mode = SW_MODE_BASE;
            } else if (strcmp(v, "process") == 0) {
                mode = SW_MODE_PROCESS;
            } else if (strcmp(v, "thread") == 0) {
                mode = SW_MODE_THREAD;
            } else {
                return usage(argv[0]);
            }
        } else {
            return usage(argv[0]);
        }
    }
    sw_server_t *srv;
    sw_port_t *lp;
    sw_http_server_t *hs;
    sw_websocket_server_t *ws = NULL;
    int r = sw_server_create(&srv, mode);
    if (r < 0) {
        fprintf(stderr, "server: %s\n", sw_strerror(r));
        return 1;
    }
    r = sw_server_set_option(srv, "worker_num", workers);
    if (r == 0 && reactors) {
        r = sw_server_set_option(srv, "reactor_num", reactors);
    }
    if (r == 0) {
        r = sw_server_listen(srv, host, port, strchr(host, ':') ? SW_SOCK_TCP6 : SW_SOCK_TCP, &lp);
    }
    if (r == 0) {
        r = sw_http_server_create(&hs, srv);
    }
    if (r < 0) {
        fprintf(stderr, "setup: %s\n", sw_strerror(r));
        sw_server_destroy(srv);
        return 1;
    }
    r = sw_http_server_enable_port(hs, lp);
    if (r == 0 && max_body) {
        r = sw_port_set_option(lp, "package_max_length", max_body);
    }
    if (r == 0) {
        r = sw_websocket_server_create(&ws, hs);
    }
    if (r == 0) {
        r = sw_websocket_server_enable_port(ws, lp);
    }
    if (r == 0) {
        sw_websocket_handlers_t wh = {.on_handshake = on_handshake, .on_message = on_message};
        r = sw_websocket_server_set_handlers(ws, &wh, NULL);
    }
    if (r == 0 && root) {
        r = sw_http_server_set_option(hs, "document_root", root);
        if (r == 0) {
            r = sw_http_server_set_option(hs, "enable_static_handler", "true");
        }
    }
    char addr[128];
    snprintf(addr, sizeof(addr), strchr(host, ':') ? "http://[%s]:%d" : "http://%s:%d", host,
             sw_port_number(lp));
    sw_http_handlers_t h = {.on_request = on_request, .server = {.on_start = on_start}};
    if (r == 0) {
        r = sw_http_server_set_handlers(hs, &h, addr);
    }
    if (r == 0) {
        r = sw_server_start(srv);
    }
    if (r < 0) {
        fprintf(stderr, "demo_server: %s\n", sw_strerror(r));
    }
    if (ws) {
        sw_websocket_server_destroy(ws);
    }
    sw_http_server_destroy(hs);
    sw_server_destroy(srv);
    return r < 0 ? 1 : 0;
}
