/*
 * echo_server: a TCP (or UDP) echo server on the libswoole server.
 *
 *     echo_server [--host H] [--port P] [--mode base|thread|process] [--workers N]
 *                 [--reactors N] [--udp] [--max-conn N]
 *
 * Listens on H:P (defaults 127.0.0.1 and 9501; --port 0 picks a free port; IPv6 hosts such as
 * "::1" work too), prints one line "listening on H:P" on stdout when it is ready (and what it
 * runs, "echo_server: tcp, base mode, 1 worker", on stderr), and sends back every message it
 * receives (with --udp, every datagram). A client that does not read what it is sent is paused
 * at the output's high watermark and resumed at the low one, so a flood is held by TCP
 * instead of growing the server's memory. SIGINT or SIGTERM shut it down cleanly: the
 * connections are closed once their output is written, the workers exit, and the program
 * exits with status 0. With more than one worker, SIGUSR1 replaces the workers.
 *
 * --mode base (default): every worker process accepts and serves its own connections; one
 * worker is a single process. --mode process: the master's --reactors threads (default:
 * min(CPUs, 8)) do the socket IO and --workers worker processes run on_receive; a worker that
 * dies is replaced and its clients stay connected. --mode thread: the same with the workers
 * as threads of one process. A mode or a combination the library does not support (datagram
 * ports outside BASE mode, for now) makes the program print the library's error and exit
 * with status 1. --max-conn sets max_conn (default: the open file limit; in BASE mode it may
 * go up to that limit times the workers: bench/server/idle.sh holds idle connections so).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <swoole.h>

static void on_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                       size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    int r = sw_server_send(srv, session, data, len);
    if (r < 0 && r != SW_ESESSION) {
        /* Past socket_buffer_size even though reading stopped at the high watermark (a huge
         * message): drop the client rather than buffer without end. */
        sw_server_close(srv, session, 1);
    }
}

/* Back-pressure: stop reading from a client that does not read its echo, until it does. */
static void on_buffer_full(sw_server_t *srv, uint64_t session, int reactor_id, void *arg)
{
    (void)reactor_id;
    (void)arg;
    (void)sw_server_pause(srv, session);
}

static void on_buffer_empty(sw_server_t *srv, uint64_t session, int reactor_id, void *arg)
{
    (void)reactor_id;
    (void)arg;
    (void)sw_server_resume(srv, session);
}

static void on_packet(sw_server_t *srv, const sw_packet_t *pkt, void *arg)
{
    (void)arg;
    (void)sw_server_sendto(srv, pkt->port, pkt->addr, pkt->addrlen, pkt->data, pkt->len);
}

typedef struct {
    const char *host;
    int port;
    const char *mode;
    int workers;
    int udp;
} config_t;

static void on_start(sw_server_t *srv, void *arg)
{
    config_t *cfg = arg;
    sw_server_options_t o;
    sw_server_get_options(srv, &o);
    fprintf(stderr, "echo_server: %s, %s mode, %d worker%s\n", cfg->udp ? "udp" : "tcp", cfg->mode,
            o.worker_num, o.worker_num == 1 ? "" : "s");
    printf("listening on %s:%d\n", cfg->host, cfg->port);
    fflush(stdout);
}

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--host H] [--port P] [--mode base|thread|process] [--workers N] "
            "[--reactors N] [--udp] [--max-conn N]\n",
            prog);
    return 2;
}

int main(int argc, char **argv)
{
    config_t cfg = {.host = "127.0.0.1", .port = 9501, .mode = "base", .workers = 1};
    const char *reactors = NULL, *max_conn = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--udp")) {
            cfg.udp = 1;
        } else if (!v) {
            return usage(argv[0]);
        } else if (!strcmp(a, "--host")) {
            cfg.host = v, i++;
        } else if (!strcmp(a, "--port")) {
            cfg.port = atoi(v), i++;
        } else if (!strcmp(a, "--mode")) {
            cfg.mode = v, i++;
        } else if (!strcmp(a, "--workers")) {
            cfg.workers = atoi(v), i++;
        } else if (!strcmp(a, "--reactors")) {
            reactors = v, i++;
        } else if (!strcmp(a, "--max-conn")) {
            max_conn = v, i++;
        } else {
            return usage(argv[0]);
        }
    }
    sw_server_mode_t mode;
    if (!strcmp(cfg.mode, "base")) {
        mode = SW_MODE_BASE;
    } else if (!strcmp(cfg.mode, "process")) {
        mode = SW_MODE_PROCESS;
    } else if (!strcmp(cfg.mode, "thread")) {
        mode = SW_MODE_THREAD;
    } else {
        return usage(argv[0]);
    }
    sw_server_t *srv;
    int r = sw_server_create(&srv, mode);
    if (r < 0) {
        fprintf(stderr, "echo_server: %s mode: %s\n", cfg.mode, sw_strerror(r));
        return 1;
    }
    char num[16];
    snprintf(num, sizeof(num), "%d", cfg.workers);
    r = sw_server_set_option(srv, "worker_num", num);
    if (r == 0 && reactors) {
        r = sw_server_set_option(srv, "reactor_num", reactors);
    }
    if (r == 0 && max_conn) {
        r = sw_server_set_option(srv, "max_conn", max_conn);
    }
    if (r < 0) {
        fprintf(stderr, "echo_server: bad --workers, --reactors or --max-conn: %s\n",
                sw_strerror(r));
        sw_server_destroy(srv);
        return 2;
    }
    int v6 = strchr(cfg.host, ':') != NULL;
    sw_sock_type_t type =
        cfg.udp ? (v6 ? SW_SOCK_UDP6 : SW_SOCK_UDP) : (v6 ? SW_SOCK_TCP6 : SW_SOCK_TCP);
    sw_port_t *port;
    r = sw_server_listen(srv, cfg.host, cfg.port, type, &port);
    if (r < 0) {
        fprintf(stderr, "echo_server: cannot listen on %s:%d: %s\n", cfg.host, cfg.port,
                sw_strerror(r));
        sw_server_destroy(srv);
        return 1;
    }
    cfg.port = sw_port_number(port);
    sw_server_handlers_t h = {.on_start = on_start,
                              .on_receive = on_receive,
                              .on_packet = on_packet,
                              .on_buffer_full = on_buffer_full,
                              .on_buffer_empty = on_buffer_empty};
    sw_server_set_handlers(srv, &h, &cfg);
    r = sw_server_start(srv);
    if (r < 0) {
        fprintf(stderr, "echo_server: cannot start (%s mode%s): %s\n", cfg.mode,
                cfg.udp ? ", udp" : "", sw_strerror(r));
    }
    sw_server_destroy(srv);
    return r < 0 ? 1 : 0;
}
