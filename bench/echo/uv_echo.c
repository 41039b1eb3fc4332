/*
 * The libuv anchor for the loop echo benchmark (issue 3, item 17): a TCP echo server written
 * the efficient libuv way. Reads go into one 64 KiB buffer (safe: each read is answered with
 * uv_try_write before the next read); only bytes the socket does not take are copied into a
 * heap buffer and queued with uv_write, and reading stops until that write completes.
 *
 *   uv_echo [--host H] [--port P]      prints "listening on H:P"; SIGINT/SIGTERM stop it
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define BUF_SIZE 65536

static char rbuf[BUF_SIZE];
static uv_loop_t *loop;
static uv_tcp_t server;
static uv_signal_t sigint_w, sigterm_w;

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
} pending_write_t;

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = rbuf;
    buf->len = sizeof(rbuf);
}

static void close_cb(uv_handle_t *h)
{
    free(h);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void write_cb(uv_write_t *req, int status)
{
    pending_write_t *pw = (pending_write_t *)req;
    uv_stream_t *s = req->handle;
    free(pw->buf.base);
    free(pw);
    if (status < 0) {
        if (!uv_is_closing((uv_handle_t *)s)) {
            uv_close((uv_handle_t *)s, close_cb);
        }
        return;
    }
    uv_read_start(s, alloc_cb, read_cb);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    if (nread < 0) {
        uv_close((uv_handle_t *)s, close_cb);
        return;
    }
    if (nread == 0) {
        return;
    }
    uv_buf_t out = uv_buf_init(buf->base, (unsigned)nread);
    int w = uv_try_write(s, &out, 1);
    if (w == UV_EAGAIN) {
        w = 0;
    } else if (w < 0) {
        uv_close((uv_handle_t *)s, close_cb);
        return;
    }
    if (w < nread) {
        pending_write_t *pw = malloc(sizeof(*pw));
        size_t rest = (size_t)(nread - w);
        pw->buf = uv_buf_init(malloc(rest), (unsigned)rest);
        memcpy(pw->buf.base, buf->base + w, rest);
        uv_read_stop(s);
        uv_write(&pw->req, s, &pw->buf, 1, write_cb);
    }
}

static void on_connection(uv_stream_t *srv, int status)
{
    if (status < 0) {
        return;
    }
    uv_tcp_t *c = malloc(sizeof(*c));
    uv_tcp_init(loop, c);
    if (uv_accept(srv, (uv_stream_t *)c) == 0) {
        uv_tcp_nodelay(c, 1);
        uv_read_start((uv_stream_t *)c, alloc_cb, read_cb);
    } else {
        uv_close((uv_handle_t *)c, close_cb);
    }
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) {
        uv_close(h, (h == (uv_handle_t *)&server || h == (uv_handle_t *)&sigint_w ||
                     h == (uv_handle_t *)&sigterm_w)
                        ? NULL
                        : close_cb);
    }
}

static void on_signal(uv_signal_t *w, int signum)
{
    (void)w;
    (void)signum;
    uv_walk(loop, close_walk, NULL);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 9503;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--host") == 0) {
            host = argv[i + 1];
        } else if (strcmp(argv[i], "--port") == 0) {
            port = atoi(argv[i + 1]);
        }
    }
    loop = uv_default_loop();
    struct sockaddr_in sa;
    uv_ip4_addr(host, port, &sa);
    uv_tcp_init(loop, &server);
    if (uv_tcp_bind(&server, (const struct sockaddr *)&sa, 0) < 0 ||
        uv_listen((uv_stream_t *)&server, 512, on_connection) < 0) {
        fprintf(stderr, "bind/listen failed\n");
        return 1;
    }
    int len = sizeof(sa);
    uv_tcp_getsockname(&server, (struct sockaddr *)&sa, &len);
    uv_signal_init(loop, &sigint_w);
    uv_signal_start(&sigint_w, on_signal, SIGINT);
    uv_signal_init(loop, &sigterm_w);
    uv_signal_start(&sigterm_w, on_signal, SIGTERM);
    printf("listening on %s:%d\n", host, ntohs(sa.sin_port));
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    return 0;
}
