/*
 * task_server: TCP requests answered through task workers (Swoole's "soa_server" example).
 *
 *     task_server [--host H] [--port P] [--mode base|process] [--workers N] [--tasks N]
 *                 [--ipc-mode 1|2|3]
 *
 * Protocol, both ways: a 4-byte big-endian length, then that many bytes. A request's body is
 * "<service> <argument>"; services: "upper" (the argument in capitals), "sum" (the decimal sum
 * of the space-separated integers), "echo". The event worker that reads a request hands it to
 * a task worker with sw_server_task, carrying the session id in front of the body; the task
 * worker runs the service and answers with sw_server_task_finish (the session id, then the
 * response); on_finish in the event worker frames the response and sends it to the session.
 * The event workers never block on a service.
 * Responses to pipelined requests may come back in another order (each request goes to
 * whichever task worker is free): a client that pipelines tags its requests.
 *
 *     task_server --client H:P "<service> <argument>"
 *
 * is the client side: sends one request, prints the response, exits 0 (1 on any error).
 *
 * Prints "task_server listening on H:P" when ready; SIGINT / SIGTERM shut it down, SIGUSR1
 * reloads every worker, SIGUSR2 the task workers only.
 *
 *     printf '\0\0\0\x0bupper hello' | nc 127.0.0.1 9501 | xxd
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <swoole.h>

/* Event worker: one framed request -> one task: [8 bytes session][body]. */
static void on_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                       size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    if (len < 4) {
        return;
    }
    char buf[8 + 65536];
    size_t body = len - 4;
    if (body > sizeof(buf) - 8) {
        sw_server_close(srv, session, 1);
        return;
    }
    memcpy(buf, &session, 8);
    memcpy(buf + 8, data + 4, body);
    int r = sw_server_task(srv, buf, 8 + body, -1, NULL);
    if (r < 0) {
        fprintf(stderr, "task_server: task: %s\n", sw_strerror(r));
        sw_server_close(srv, session, 1);
    }
}

/* Task worker: runs the service; the result is [8 bytes session][response]. */
static void on_task(sw_server_t *srv, uint64_t task_id, int src_worker_id, const void *data,
                    size_t len, void *arg)
{
    (void)task_id;
    (void)src_worker_id;
    (void)arg;
    const char *d = data;
    if (len < 8) {
        return;
    }
    char out[8 + 65536];
    memcpy(out, d, 8);
    const char *req = d + 8;
    size_t rlen = len - 8;
    const char *sp = memchr(req, ' ', rlen);
    size_t name_len = sp ? (size_t)(sp - req) : rlen;
    const char *argp = sp ? sp + 1 : req + rlen;
    size_t alen = (size_t)(req + rlen - argp);
    size_t n = 0;
    if (name_len == 5 && !memcmp(req, "upper", 5)) {
        for (size_t i = 0; i < alen; i++) {
            out[8 + i] = (char)toupper((unsigned char)argp[i]);
        }
        n = alen;
    } else if (name_len == 3 && !memcmp(req, "sum", 3)) {
        char tmp[65537];
        memcpy(tmp, argp, alen);
        tmp[alen] = '\0';
        long long sum = 0;
        char *p = tmp, *end;
        for (;;) {
            long long v = strtoll(p, &end, 10);
            if (end == p) {
                break;
            }
            sum += v;
            p = end;
        }
        n = (size_t)snprintf(out + 8, sizeof(out) - 8, "%lld", sum);
    } else if (name_len == 4 && !memcmp(req, "echo", 4)) {
        memcpy(out + 8, argp, alen);
        n = alen;
    } else {
        n = (size_t)snprintf(out + 8, sizeof(out) - 8, "error: unknown service");
    }
    (void)sw_server_task_finish(srv, out, 8 + n);
}

/* Event worker: the task's result goes to its session, framed. */
static void on_finish(sw_server_t *srv, uint64_t task_id, const void *data, size_t len, void *arg)
{
    (void)task_id;
    (void)arg;
    if (len < 8) {
        return;
    }
    uint64_t session;
    memcpy(&session, data, 8);
    size_t n = len - 8;
    unsigned char hdr[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};
    /* Both sends leave together (sends inside a callback are corked). A session that closed
     * meanwhile is simply gone (SW_ESESSION). */
    if (sw_server_send(srv, session, hdr, 4) == 0) {
        (void)sw_server_send(srv, session, (const char *)data + 8, n);
    }
}

static void on_start(sw_server_t *srv, void *arg)
{
    (void)srv;
    const char *where = arg;
    printf("task_server listening on %s\n", where);
    fflush(stdout);
}

static int io_all(int fd, void *buf, size_t len, int out)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = out ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One request, one response (IPv4 only: an example). */
static int client(const char *where, const char *request)
{
    char host[64];
    const char *colon = strrchr(where, ':');
    size_t hl = colon ? (size_t)(colon - where) : 0;
    size_t len = strlen(request);
    if (!colon || hl >= sizeof(host) || len > 65536) {
        fprintf(stderr, "task_server: --client HOST:PORT REQUEST\n");
        return 1;
    }
    memcpy(host, where, hl);
    host[hl] = '\0';
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = 10};
    if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("task_server: connect");
        if (fd >= 0) {
            close(fd);
        }
        return 1;
    }
    unsigned char hdr[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
                            (unsigned char)(len >> 8), (unsigned char)len};
    static char body[65536 + 1];
    int rc = 1;
    if (io_all(fd, hdr, 4, 1) == 0 && io_all(fd, (void *)request, len, 1) == 0 &&
        io_all(fd, hdr, 4, 0) == 0) {
        size_t n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
        if (n < sizeof(body) && io_all(fd, body, n, 0) == 0) {
            body[n] = '\0';
            printf("%s\n", body);
            rc = 0;
        }
    }
    if (rc) {
        fprintf(stderr, "task_server: no response\n");
    }
    close(fd);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--client")) {
        return client(argv[2], argv[3]);
    }
    const char *host = "127.0.0.1", *mode = "base", *ipc = "1";
    int port = 9501, workers = 2, tasks = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--host")) {
            host = argv[i + 1];
        } else if (!strcmp(argv[i], "--port")) {
            port = atoi(argv[i + 1]);
        } else if (!strcmp(argv[i], "--mode")) {
            mode = argv[i + 1];
        } else if (!strcmp(argv[i], "--workers")) {
            workers = atoi(argv[i + 1]);
        } else if (!strcmp(argv[i], "--tasks")) {
            tasks = atoi(argv[i + 1]);
        } else if (!strcmp(argv[i], "--ipc-mode")) {
            ipc = argv[i + 1];
        } else {
            fprintf(stderr,
                    "usage: %s [--host H] [--port P] [--mode base|process] [--workers N] "
                    "[--tasks N] [--ipc-mode 1|2|3]\n",
                    argv[0]);
            return 2;
        }
    }
    sw_server_t *srv;
    int r = sw_server_create(&srv, strcmp(mode, "process") ? SW_MODE_BASE : SW_MODE_PROCESS);
    if (r < 0) {
        fprintf(stderr, "task_server: %s\n", sw_strerror(r));
        return 1;
    }
    char wn[16], tn[16];
    snprintf(wn, sizeof(wn), "%d", workers);
    snprintf(tn, sizeof(tn), "%d", tasks);
    sw_port_t *p = NULL;
    if ((r = sw_server_set_option(srv, "worker_num", wn)) < 0 ||
        (r = sw_server_set_option(srv, "task_worker_num", tn)) < 0 ||
        (r = sw_server_set_option(srv, "task_ipc_mode", ipc)) < 0 ||
        (r = sw_server_listen(srv, host, port, SW_SOCK_TCP, &p)) < 0 ||
        (r = sw_port_set_option(p, "open_length_check", "1")) < 0 ||
        (r = sw_port_set_option(p, "package_length_type", "N")) < 0 ||
        (r = sw_port_set_option(p, "package_length_offset", "0")) < 0 ||
        (r = sw_port_set_option(p, "package_body_offset", "4")) < 0 ||
        (r = sw_port_set_option(p, "package_max_length", "65540")) < 0) {
        fprintf(stderr, "task_server: %s\n", sw_strerror(r));
        sw_server_destroy(srv);
        return 1;
    }
    char where[128];
    snprintf(where, sizeof(where), "%s:%d", host, sw_port_number(p));
    sw_server_handlers_t h = {
        .on_start = on_start, .on_receive = on_receive, .on_task = on_task, .on_finish = on_finish};
    sw_server_set_handlers(srv, &h, where);
    r = sw_server_start(srv);
    sw_server_destroy(srv);
    if (r < 0) {
        fprintf(stderr, "task_server: %s\n", sw_strerror(r));
        return 1;
    }
    return 0;
}
