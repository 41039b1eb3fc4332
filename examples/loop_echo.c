/*
 * loop_echo: a TCP echo server on the libswoole loop.
 *
 *     loop_echo [--host H] [--port P]
 *
 * Listens on H:P (defaults 127.0.0.1 and 9501; --port 0 picks a free port; IPv6 hosts such as
 * "::1" work too), prints one line "listening on H:P" when it is ready and echoes every byte it
 * receives. SIGINT or SIGTERM closes every connection and the listening socket, destroys the
 * loop and exits with status 0.
 *
 * It is also the libswoole side of the echo benchmark (bench/echo), so it is written the way a
 * fast server is: one 64 KiB read buffer for the whole loop (a connection owns no buffer while
 * it is idle), replies through sw_loop_write (written at once when the socket takes them,
 * queued by the loop when it does not), no allocation per message, and back-pressure: a
 * connection whose queued replies pass PAUSE_ABOVE bytes stops being read until its queue is
 * empty, so a client that sends without reading cannot grow our memory. (The loop reports
 * SW_EVENT_WRITE to a watcher only when nothing of that fd is queued, so "writable" means
 * "drained".)
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <swoole.h>

#define READ_BUF_SIZE (64 * 1024)
#define PAUSE_ABOVE   (1024 * 1024)
/* Connections taken per readiness event of the listening socket, so that a flood of
 * connections cannot starve the established ones. */
#define ACCEPT_BATCH 64
/* How long accepting pauses when the process is out of descriptors (EMFILE/ENFILE): with a
 * level-triggered watcher the pending connection would otherwise wake us again at once. */
#define ACCEPT_RETRY_MS 100

typedef enum {
    CONN_READING, /* reading and echoing */
    CONN_PAUSED,  /* too much queued: waiting for the queue to drain before reading again */
    CONN_DRAINING /* the peer finished sending: writing what is queued, then closing */
} conn_state_t;

typedef struct server_s server_t;

typedef struct conn_s {
    sw_io_t io;
    server_t *srv;
    struct conn_s *prev;
    struct conn_s *next;
    int fd;
    conn_state_t state;
} conn_t;

struct server_s {
    sw_loop_t *loop;
    int lfd;
    sw_io_t listen_io;
    sw_signal_t sig_int;
    sw_signal_t sig_term;
    uint64_t accept_timer; /* non-zero while accepting is paused */
    conn_t *conns;         /* every open connection, for the shutdown */
    char buf[READ_BUF_SIZE];
};

static void conn_close(conn_t *c)
{
    server_t *srv = c->srv;

    sw_io_stop(&c->io);
    sw_loop_write_cancel(srv->loop, c->fd);
    close(c->fd);
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        srv->conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    free(c);
}

/* Reads once (the watcher is level-triggered: more data wakes us again) and echoes it. */
static void conn_read(conn_t *c)
{
    server_t *srv = c->srv;
    ssize_t n = read(c->fd, srv->buf, sizeof(srv->buf));

    if (n > 0) {
        if (sw_loop_write(srv->loop, c->fd, srv->buf, (size_t)n) < 0) {
            conn_close(c);
            return;
        }
        if (sw_loop_write_pending(srv->loop, c->fd) > PAUSE_ABOVE) {
            c->state = CONN_PAUSED;
            if (sw_io_start(&c->io, SW_EVENT_WRITE) < 0) {
                conn_close(c);
            }
        }
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return;
    }
    /* End of input or a read error. After a clean end, the replies still queued are owed. */
    if (n == 0 && sw_loop_write_pending(srv->loop, c->fd) > 0) {
        c->state = CONN_DRAINING;
        if (sw_io_start(&c->io, SW_EVENT_WRITE) == 0) {
            return;
        }
    }
    conn_close(c);
}

static void on_conn(sw_io_t *io, int events, void *arg)
{
    conn_t *c = arg;
    (void)io;

    /* ERROR: the socket failed, or the loop's background write of our replies did. */
    if (events & SW_EVENT_ERROR) {
        conn_close(c);
        return;
    }
    if (c->state == CONN_READING) {
        /* A hang-up without READ still ends in read(): it returns 0 or the error. */
        if (events & (SW_EVENT_READ | SW_EVENT_HUP)) {
            conn_read(c);
        }
        return;
    }
    if (events & SW_EVENT_HUP) {
        conn_close(c); /* nobody is left to receive what is queued */
        return;
    }
    /* WRITE comes only once the loop has written everything queued for this fd. */
    if (events & SW_EVENT_WRITE) {
        if (c->state == CONN_DRAINING) {
            conn_close(c);
        } else {
            c->state = CONN_READING;
            if (sw_io_start(&c->io, SW_EVENT_READ) < 0) {
                conn_close(c);
            }
        }
    }
}

static void on_accept_retry(sw_loop_t *loop, uint64_t id, void *arg)
{
    server_t *srv = arg;
    (void)loop;
    (void)id;

    srv->accept_timer = 0;
    if (sw_io_start(&srv->listen_io, SW_EVENT_READ) < 0) {
        fprintf(stderr, "loop_echo: cannot watch the listening socket again\n");
    }
}

static void on_accept(sw_io_t *io, int events, void *arg)
{
    server_t *srv = arg;
    (void)io;
    (void)events;

    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                sw_io_stop(&srv->listen_io);
                if (sw_timer_after(srv->loop, ACCEPT_RETRY_MS, on_accept_retry, srv,
                                   &srv->accept_timer) < 0) {
                    srv->accept_timer = 0;
                    fprintf(stderr, "loop_echo: out of resources, no longer accepting\n");
                }
            }
            /* EAGAIN: no more for now; ECONNABORTED and the like: that peer is gone. */
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        conn_t *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->srv = srv;
        c->fd = fd;
        c->state = CONN_READING;
        if (sw_io_init(srv->loop, &c->io, fd, on_conn, c) < 0 ||
            sw_io_start(&c->io, SW_EVENT_READ) < 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = srv->conns;
        if (srv->conns) {
            srv->conns->prev = c;
        }
        srv->conns = c;
    }
}

/* SIGINT/SIGTERM: release everything; sw_loop_run then returns, nothing being active. */
static void on_signal(sw_signal_t *sig, int signum, void *arg)
{
    server_t *srv = arg;
    (void)sig;
    (void)signum;

    while (srv->conns) {
        conn_close(srv->conns);
    }
    sw_io_stop(&srv->listen_io);
    close(srv->lfd);
    srv->lfd = -1;
    if (srv->accept_timer) {
        sw_timer_clear(srv->loop, srv->accept_timer);
        srv->accept_timer = 0;
    }
    sw_signal_stop(&srv->sig_int);
    sw_signal_stop(&srv->sig_term);
}

/* Binds and listens on host:port; returns the socket or -1 after printing why. */
static int listen_on(const char *host, const char *port, unsigned *bound_port)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
    };
    struct addrinfo *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "loop_echo: %s: %s\n", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    int err = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0) {
            break;
        }
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "loop_echo: cannot listen on %s:%s: %s\n", host, port, strerror(err));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        fprintf(stderr, "loop_echo: getsockname: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    if (ss.ss_family == AF_INET6) {
        *bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    } else {
        *bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    return fd;
}

static int usage(FILE *out, int status)
{
    fprintf(out, "usage: loop_echo [--host H] [--port P]\n"
                 "  TCP echo server on the libswoole loop (defaults: 127.0.0.1, 9501;\n"
                 "  --port 0 picks a free port). SIGINT or SIGTERM stops it.\n");
    return status;
}

static int fail(const char *what, int code)
{
    fprintf(stderr, "loop_echo: %s: %s (%s)\n", what, sw_strerror(code), sw_err_name(code));
    return 1;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    const char *port = "9501";

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
            host = argv[++i];
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return usage(stdout, 0);
        } else {
            return usage(stderr, 2);
        }
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (*port == '\0' || *end != '\0' || p < 0 || p > 65535) {
        fprintf(stderr, "loop_echo: bad port '%s'\n", port);
        return 2;
    }

    /* Replies go out with write(): a peer that vanished must give EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);

    server_t *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        fprintf(stderr, "loop_echo: out of memory\n");
        return 1;
    }
    unsigned bound_port = 0;
    srv->lfd = listen_on(host, port, &bound_port);
    if (srv->lfd < 0) {
        free(srv);
        return 1;
    }
    int rc = sw_loop_create(&srv->loop, NULL);
    if (rc < 0) {
        close(srv->lfd);
        free(srv);
        return fail("sw_loop_create", rc);
    }
    /* Signal watchers first: once "listening" is printed, SIGTERM must reach the loop. */
    if ((rc = sw_signal_init(srv->loop, &srv->sig_int, on_signal, srv)) < 0 ||
        (rc = sw_signal_init(srv->loop, &srv->sig_term, on_signal, srv)) < 0 ||
        (rc = sw_signal_start(&srv->sig_int, SIGINT)) < 0 ||
        (rc = sw_signal_start(&srv->sig_term, SIGTERM)) < 0 ||
        (rc = sw_io_init(srv->loop, &srv->listen_io, srv->lfd, on_accept, srv)) < 0 ||
        (rc = sw_io_start(&srv->listen_io, SW_EVENT_READ)) < 0) {
        sw_signal_stop(&srv->sig_int);
        sw_signal_stop(&srv->sig_term);
        sw_io_stop(&srv->listen_io);
        close(srv->lfd);
        sw_loop_destroy(srv->loop);
        free(srv);
        return fail("cannot start watching", rc);
    }

    printf("listening on %s:%u\n", host, bound_port);
    fflush(stdout);

    rc = sw_loop_run(srv->loop, SW_RUN_DEFAULT);
    if (rc < 0) {
        return fail("sw_loop_run", rc);
    }
    rc = sw_loop_destroy(srv->loop);
    if (rc < 0) {
        return fail("sw_loop_destroy", rc);
    }
    free(srv);
    return 0;
}
