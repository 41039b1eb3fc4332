/*
 * core_http: the server core without the HTTP layer, for bench/httpd/run.sh. A port with
 * open_http_protocol frames requests (the same framer demo_server's port uses) and on_receive
 * answers each with demo_server's `GET /` answer (Server, Date, Content-Type, Content-Length,
 * "hello\n") in ONE sw_server_send, whatever the request was: no request or response object,
 * no parsing beyond the framer's. Between raw_epoll_http (the kernel's floor) and demo_server
 * (the whole HTTP server), it splits libswoole's cost into the server core (reactor, framing,
 * dispatch, corked output, IPC in PROCESS/THREAD mode) and the HTTP layer (src/httpd).
 *
 *   core_http [--host 127.0.0.1] [--port 0] [--mode base|process|thread] [--workers N]
 *             [--reactors N]
 *
 * Prints "listening on http://HOST:PORT" once started, stops on SIGTERM or SIGINT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <swoole.h>

/* The answer, its Date rewritten when the second changes. One per worker process; in THREAD
 * mode the worker threads would share it, so each thread keeps its own copy (thread_local). */
static const char answer_fmt[] = "HTTP/1.1 200 OK\r\nServer: libswoole\r\n"
                                 "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
                                 "Content-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n";
#define ANSWER_LEN (sizeof(answer_fmt) - 1)
#define DATE_OFF   (sizeof("HTTP/1.1 200 OK\r\nServer: libswoole\r\nDate: ") - 1)

static _Thread_local char answer[ANSWER_LEN + 1];
static _Thread_local time_t answer_time = -1;

static void on_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                       size_t len, void *arg)
{
    (void)reactor_id;
    (void)data;
    (void)len;
    (void)arg;
    time_t now = time(NULL);
    if (now != answer_time) {
        char date[SW_HTTP_DATE_SIZE];
        memcpy(answer, answer_fmt, ANSWER_LEN);
        if (sw_http_date_format((int64_t)now, date) >= 0) {
            memcpy(answer + DATE_OFF, date, 29);
        }
        answer_time = now;
    }
    if (sw_server_send(srv, session, answer, ANSWER_LEN) < 0) {
        (void)sw_server_close(srv, session, 1);
    }
}

static void on_start(sw_server_t *srv, void *arg)
{
    (void)srv;
    printf("listening on %s\n", (const char *)arg);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *workers = "1", *reactors = NULL;
    int port = 0;
    sw_server_mode_t mode = SW_MODE_BASE;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (strcmp(a, "--host") == 0) {
            host = v;
        } else if (strcmp(a, "--port") == 0) {
            port = atoi(v);
        } else if (strcmp(a, "--workers") == 0) {
            workers = v;
        } else if (strcmp(a, "--reactors") == 0) {
            reactors = v;
        } else if (strcmp(a, "--mode") == 0) {
            mode = strcmp(v, "process") == 0  ? SW_MODE_PROCESS
                   : strcmp(v, "thread") == 0 ? SW_MODE_THREAD
                                              : SW_MODE_BASE;
        }
    }
    sw_server_t *srv;
    sw_port_t *lp;
    int r = sw_server_create(&srv, mode);
    if (r < 0) {
        fprintf(stderr, "core_http: %s\n", sw_strerror(r));
        return 1;
    }
    r = sw_server_set_option(srv, "worker_num", workers);
    if (r == 0 && reactors) {
        r = sw_server_set_option(srv, "reactor_num", reactors);
    }
    if (r == 0) {
        r = sw_server_listen(srv, host, port, SW_SOCK_TCP, &lp);
    }
    if (r == 0) {
        r = sw_port_set_option(lp, "open_http_protocol", "true");
    }
    char addr[128];
    if (r == 0) {
        snprintf(addr, sizeof(addr), "http://%s:%d", host, sw_port_number(lp));
        sw_server_handlers_t h = {.on_receive = on_receive, .on_start = on_start};
        r = sw_server_set_handlers(srv, &h, addr);
    }
    if (r == 0) {
        r = sw_server_start(srv);
    }
    if (r < 0) {
        fprintf(stderr, "core_http: %s\n", sw_strerror(r));
    }
    sw_server_destroy(srv);
    return r < 0 ? 1 : 0;
}
