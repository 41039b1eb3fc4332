/*
 * BASE mode servers over real sockets: echo with one worker (a single process) and with a
 * manager and four workers, many clients, every socket type, SO_REUSEPORT, stats, shutdown.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sw_test.h"
#include "test_server_scenarios.h"
#include "test_server_util.h"

/* ---- one worker: a single process ------------------------------------------------------- */

static void single_start(sw_server_t *srv, void *arg)
{
    (void)arg;
    /* One process: master and worker, no manager; options are fixed once started. */
    int ok = sw_server_master_pid(srv) == getpid() && sw_server_manager_pid(srv) == 0 &&
             sw_server_worker_id(srv) == 0 && sw_server_worker_pid(srv) == getpid() &&
             sw_server_loop(srv) != NULL &&
             sw_server_set_option(srv, "worker_num", "2") == SW_ESERVER_STATE &&
             sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP, NULL) == SW_ESERVER_STATE &&
             sw_server_reload(srv) == SW_ENOTSUP && sw_server_destroy(srv) == SW_ESERVER_STATE;
    ev_emit(EV_START, -1, ok, 0, 0);
}

static void stats_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                          size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    if (len == 5 && !memcmp(data, "stats", 5)) {
        sw_server_stats_t st;
        int r = sw_server_stats(srv, &st);
        char out[128];
        int n = snprintf(out, sizeof(out), "%d %llu %llu %llu %d", r,
                         (unsigned long long)st.connection_num, (unsigned long long)st.accept_count,
                         (unsigned long long)st.request_count, st.worker_num);
        sw_server_send(srv, session, out, (size_t)n);
        return;
    }
    sw_server_send(srv, session, data, len);
}

SW_TEST(echo_single_process)
{
    srv_spec_t spec = {.workers = 1};
    spec.h.on_start = single_start;
    spec.h.on_receive = stats_receive;
    srv_t s;
    srv_start(&s, &spec, 1);
    const ev_t *e = srv_wait(&s, EV_START, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 1);
    ASSERT_EQ(e->pid, s.pid);
    const ev_t *w = srv_wait(&s, EV_WSTART, 0, 0);
    (void)w;
    int fd = cli_tcp(s.port);
    cli_echo(fd, "hello");
    cli_echo(fd, "world, again");
    cli_send(fd, "stats", 5);
    char buf[128] = {0};
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
    ASSERT_GT(n, 0);
    int r = -1, wn = 0;
    unsigned long long conns = 0, accepts = 0, reqs = 0;
    ASSERT_EQ(sscanf(buf, "%d %llu %llu %llu %d", &r, &conns, &accepts, &reqs, &wn), 5);
    ASSERT_EQ(r, 0);
    ASSERT_EQ(conns, 1);
    ASSERT_EQ(accepts, 1);
    ASSERT_EQ(reqs, 3);
    ASSERT_EQ(wn, 1);
    close(fd);
    ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000)));
    ASSERT_EQ(srv_stop(&s, 10), 0);
    ASSERT_EQ(srv_count(&s, EV_WSTOP), 1);
    ASSERT_EQ(srv_count(&s, EV_SHUTDOWN), 1);
    ASSERT_EQ(srv_count(&s, EV_MSTART), 0);
    ASSERT_EQ(srv_count(&s, EV_WERROR), 0);
}

/* ---- a manager and four workers ---------------------------------------------------------- */

SW_TEST(echo_four_workers)
{
    srv_spec_t spec = {.workers = 4};
    srv_t s;
    srv_start(&s, &spec, 4);
    pid_t pids[4] = {0};
    for (int i = 0; i < s.nevs; i++) {
        if (s.evs[i].type == EV_WSTART) {
            ASSERT_GE(s.evs[i].worker, 0);
            ASSERT_LT(s.evs[i].worker, 4);
            pids[s.evs[i].worker] = s.evs[i].pid;
        }
    }
    for (int i = 0; i < 4; i++) {
        ASSERT_GT(pids[i], 0);
        ASSERT_NE(pids[i], s.pid);
    }
    ASSERT_NOT_NULL(srv_wait(&s, EV_MSTART, -1, scaled_ms(5000)));
    const ev_t *st = srv_wait(&s, EV_START, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(st);
    ASSERT_EQ(st->pid, s.pid);
    int fds[20];
    for (int i = 0; i < 20; i++) {
        fds[i] = cli_tcp(s.port);
    }
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 20; i++) {
            char msg[32];
            snprintf(msg, sizeof(msg), "client %d round %d", i, round);
            cli_echo(fds[i], msg);
        }
    }
    for (int i = 0; i < 20; i++) {
        close(fds[i]);
    }
    ASSERT_EQ(srv_stop(&s, 15), 0);
    /* Nothing of the server is left. */
    for (int i = 0; i < 4; i++) {
        ASSERT_FALSE(pid_alive(pids[i]));
    }
    ASSERT_EQ(srv_count(&s, EV_WSTOP), 4);
    ASSERT_EQ(srv_count(&s, EV_MSTOP), 1);
    ASSERT_EQ(srv_count(&s, EV_SHUTDOWN), 1);
    ASSERT_EQ(srv_count(&s, EV_WERROR), 0);
}

/* 200 clients x 100 messages of varied sizes, all echoed byte-exact, four workers. */
SW_TEST_TIMEOUT(clients_200x100, 120)
{
    scenario_many_clients(SW_MODE_BASE, 12345);
}

/* ---- other socket types ------------------------------------------------------------------ */

SW_TEST(udp_echo)
{
    srv_spec_t spec = {.workers = 2, .type = SW_SOCK_UDP};
    srv_t s;
    srv_start(&s, &spec, 2);
    int fd = cli_udp(s.port, false);
    for (int i = 0; i < 20; i++) {
        char msg[64], buf[64];
        int n = snprintf(msg, sizeof(msg), "datagram %d", i);
        ASSERT_EQ(send(fd, msg, (size_t)n, 0), n);
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        ASSERT_EQ(r, n);
        ASSERT_MEM_EQ(buf, msg, (size_t)n);
    }
    close(fd);
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

SW_TEST(udp6_echo)
{
    int probe = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
    int ok = probe >= 0 && bind(probe, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (probe >= 0) {
        close(probe);
    }
    if (!ok) {
        SW_TEST_SKIP("no IPv6 loopback");
    }
    srv_spec_t spec = {.workers = 1, .type = SW_SOCK_UDP6};
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_udp(s.port, true);
    char buf[16];
    ASSERT_EQ(send(fd, "six", 3, 0), 3);
    ASSERT_EQ(recv(fd, buf, sizeof(buf), 0), 3);
    ASSERT_MEM_EQ(buf, "six", 3);
    close(fd);
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

SW_TEST(tcp6_echo)
{
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
    int ok = probe >= 0 && bind(probe, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (probe >= 0) {
        close(probe);
    }
    if (!ok) {
        SW_TEST_SKIP("no IPv6 loopback");
    }
    srv_spec_t spec = {.workers = 2, .type = SW_SOCK_TCP6};
    srv_t s;
    srv_start(&s, &spec, 2);
    int fd = cli_tcp6(s.port);
    cli_echo(fd, "over IPv6");
    close(fd);
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

static char unix_path[64];

SW_TEST(unix_stream_echo)
{
    snprintf(unix_path, sizeof(unix_path), "/tmp/sw-srv-us-%d.sock", (int)getpid());
    srv_spec_t spec = {.workers = 2, .type = SW_SOCK_UNIX_STREAM, .host = unix_path};
    srv_t s;
    srv_start(&s, &spec, 2);
    ASSERT_EQ(s.port, 0);
    int fd = cli_unix(unix_path);
    cli_echo(fd, "over a unix socket");
    cli_echo(fd, "twice");
    close(fd);
    ASSERT_EQ(srv_stop(&s, 10), 0);
    /* The server removed its socket file. */
    struct stat st;
    ASSERT_NE(stat(unix_path, &st), 0);
}

SW_TEST(unix_dgram_echo)
{
    snprintf(unix_path, sizeof(unix_path), "/tmp/sw-srv-ud-%d.sock", (int)getpid());
    char cpath[80];
    snprintf(cpath, sizeof(cpath), "/tmp/sw-cli-ud-%d.sock", (int)getpid());
    srv_spec_t spec = {.workers = 1, .type = SW_SOCK_UNIX_DGRAM, .host = unix_path};
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    struct sockaddr_un me = {.sun_family = AF_UNIX}, to = {.sun_family = AF_UNIX};
    snprintf(me.sun_path, sizeof(me.sun_path), "%s", cpath);
    snprintf(to.sun_path, sizeof(to.sun_path), "%s", unix_path);
    unlink(cpath);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
    cli_timeout(fd, scaled_ms(5000));
    ASSERT_EQ(sendto(fd, "dgram", 5, 0, (struct sockaddr *)&to, sizeof(to)), 5);
    char buf[16];
    ASSERT_EQ(recv(fd, buf, sizeof(buf), 0), 5);
    ASSERT_MEM_EQ(buf, "dgram", 5);
    close(fd);
    unlink(cpath);
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

/* Several ports of different types on one server. */
static int udp_port_number;

static int add_udp(sw_server_t *srv, sw_port_t *port)
{
    (void)port;
    sw_port_t *u;
    int r = sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_UDP, &u);
    if (r == 0) {
        ev_emit(EV_RESULT, -1, sw_port_number(u), 0, 0);
    }
    return r;
}

SW_TEST(two_ports)
{
    srv_spec_t spec = {.workers = 2, .setup = add_udp};
    srv_t s;
    srv_start(&s, &spec, 2);
    const ev_t *e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    udp_port_number = e->a;
    int t = cli_tcp(s.port);
    cli_echo(t, "tcp side");
    int u = cli_udp(udp_port_number, false);
    char buf[16];
    ASSERT_EQ(send(u, "udp side", 8, 0), 8);
    ASSERT_EQ(recv(u, buf, sizeof(buf), 0), 8);
    ASSERT_MEM_EQ(buf, "udp side", 8);
    close(t);
    close(u);
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

/* enable_reuse_port: each worker accepts on its own socket; all of them serve. */
SW_TEST(reuse_port_echo)
{
    srv_spec_t spec = {.workers = 4, .opts = {{"enable_reuse_port", "1"}}};
    srv_t s;
    srv_start(&s, &spec, 4);
    int seen[4] = {0};
    int fds[64];
    for (int i = 0; i < 64; i++) {
        fds[i] = cli_tcp(s.port);
        cli_echo(fds[i], "reuseport");
        const ev_t *c = srv_wait(&s, EV_CONNECT, -1, scaled_ms(5000));
        ASSERT_NOT_NULL(c);
        seen[c->worker]++;
    }
    int workers = 0;
    for (int i = 0; i < 4; i++) {
        workers += seen[i] > 0;
    }
    /* 64 connections spread by the kernel's hash: more than one worker took some. */
    ASSERT_GT(workers, 1);
    for (int i = 0; i < 64; i++) {
        close(fds[i]);
    }
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

/* The server's pid file exists while it runs and is removed at shutdown. */
static char pid_path[64];

SW_TEST(pid_file)
{
    snprintf(pid_path, sizeof(pid_path), "/tmp/sw-srv-%d.pid", (int)getpid());
    srv_spec_t spec = {.workers = 2, .opts = {{"pid_file", pid_path}}};
    srv_t s;
    srv_start(&s, &spec, 2);
    FILE *f = fopen(pid_path, "r");
    ASSERT_NOT_NULL(f);
    int pid = 0;
    ASSERT_EQ(fscanf(f, "%d", &pid), 1);
    fclose(f);
    ASSERT_EQ(pid, s.pid);
    ASSERT_EQ(srv_stop(&s, 10), 0);
    ASSERT_NE(access(pid_path, F_OK), 0);
}
