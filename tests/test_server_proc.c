/*
 * BASE mode with a manager: a worker killed with SIGKILL, reload (async and rolling),
 * max_request, shutdown bounded by max_wait_time, shutdown requested by a worker, and no
 * process outliving the master.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sw_test.h"
#include "test_server_util.h"

/* Kill -9 the worker serving one client: that client sees the end of its connection; the
 * worker comes back with the same id and a new pid; on_worker_error reports signal 9; the
 * clients of the other workers keep being served. */
SW_TEST_TIMEOUT(kill_worker, 60)
{
    srv_spec_t spec = {.workers = 4};
    srv_t s;
    srv_start(&s, &spec, 4);
    enum { N = 24 };
    int fds[N], owner[N];
    for (int i = 0; i < N; i++) {
        fds[i] = cli_tcp(s.port);
        cli_echo(fds[i], "hi");
        const ev_t *c = srv_wait(&s, EV_CONNECT, -1, scaled_ms(5000));
        ASSERT_NOT_NULL(c);
        owner[i] = c->worker;
    }
    int victim = owner[0];
    pid_t pids[4];
    srv_worker_pids(&s, pids, 4);
    pid_t dead = pids[victim];
    ASSERT_GT(dead, 0);
    ASSERT_EQ(kill(dead, SIGKILL), 0);
    const ev_t *err = srv_wait(&s, EV_WERROR, victim, scaled_ms(10000));
    ASSERT_NOT_NULL(err);
    ASSERT_EQ(err->pid, dead);
    ASSERT_EQ(err->b, SIGKILL);
    ASSERT_EQ(err->a, -1);
    const ev_t *back = srv_wait(&s, EV_WSTART, victim, scaled_ms(10000));
    ASSERT_NOT_NULL(back);
    ASSERT_NE(back->pid, dead);
    for (int i = 0; i < N; i++) {
        if (owner[i] == victim) {
            int r = cli_wait_close(fds[i]);
            ASSERT_TRUE(r == 0 || r == SW_ECONNRESET);
        } else {
            cli_echo(fds[i], "still here");
        }
        close(fds[i]);
    }
    /* The new worker serves too: with the others stopped, only it can accept. */
    srv_worker_pids(&s, pids, 4);
    for (int i = 0; i < 4; i++) {
        if (i != victim) {
            ASSERT_EQ(kill(pids[i], SIGSTOP), 0);
        }
    }
    int fd = cli_tcp(s.port);
    cli_echo(fd, "new");
    const ev_t *c = srv_wait(&s, EV_CONNECT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(c->worker, victim);
    close(fd);
    for (int i = 0; i < 4; i++) {
        if (i != victim) {
            ASSERT_EQ(kill(pids[i], SIGCONT), 0);
        }
    }
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_WERROR), 1);
}

static void reload_test(const char *async)
{
    srv_spec_t spec = {.workers = 4, .opts = {{"reload_async", async}}};
    srv_t s;
    srv_start(&s, &spec, 4);
    pid_t before[4], after[4];
    srv_worker_pids(&s, before, 4);
    int fd = cli_tcp(s.port);
    cli_echo(fd, "before reload");
    ASSERT_EQ(kill(s.pid, SIGUSR1), 0);
    for (int i = 0; i < 4; i++) {
        if (!srv_wait(&s, EV_WSTART, -1, scaled_ms(15000))) {
            sw_test_fail(__FILE__, __LINE__, "only %d workers restarted", i);
        }
    }
    /* Async: old and new overlap, and an old worker still accepts until it handles its
     * SIGTERM (a connection it takes then ends with it: BASE mode). Wait for all four to
     * have stopped before connecting again. */
    for (int i = 0; i < 4; i++) {
        if (!srv_wait(&s, EV_WSTOP, -1, scaled_ms(15000))) {
            sw_test_fail(__FILE__, __LINE__, "only %d old workers stopped", i);
        }
    }
    srv_worker_pids(&s, after, 4);
    for (int i = 0; i < 4; i++) {
        ASSERT_GT(after[i], 0);
        ASSERT_NE(after[i], before[i]);
    }
    /* BASE mode: the connection belonged to an old worker and ended with it. */
    int r = cli_wait_close(fd);
    ASSERT_TRUE(r == 0 || r == SW_ECONNRESET);
    close(fd);
    fd = cli_tcp(s.port);
    cli_echo(fd, "after reload");
    close(fd);
    ASSERT_EQ(srv_stop(&s, 15), 0);
    for (int i = 0; i < 4; i++) {
        ASSERT_FALSE(pid_alive(before[i]));
        ASSERT_FALSE(pid_alive(after[i]));
    }
    ASSERT_EQ(srv_count(&s, EV_WERROR), 0);
    ASSERT_EQ(srv_count(&s, EV_WSTOP), 8);
}

SW_TEST_TIMEOUT(reload_async, 60)
{
    reload_test("1");
}

SW_TEST_TIMEOUT(reload_rolling, 60)
{
    reload_test("0");
}

/* max_request 5: a worker that handled 5 messages is replaced (same id, new pid). */
SW_TEST_TIMEOUT(max_request, 60)
{
    srv_spec_t spec = {.workers = 1, .opts = {{"max_request", "5"}}};
    srv_t s;
    srv_start(&s, &spec, 1);
    pid_t first = 0;
    srv_worker_pids(&s, &first, 1);
    for (int i = 0; i < 12; i++) {
        int fd = cli_tcp(s.port);
        cli_echo(fd, "req");
        close(fd);
        if (i == 4 || i == 9) {
            /* The 5th and 10th requests end their worker: wait for the next one. */
            ASSERT_NOT_NULL(srv_wait(&s, EV_WSTOP, 0, scaled_ms(10000)));
            ASSERT_NOT_NULL(srv_wait(&s, EV_WSTART, 0, scaled_ms(10000)));
        }
    }
    pid_t now = 0;
    srv_worker_pids(&s, &now, 1);
    ASSERT_NE(now, first);
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_WSTART), 3);
    ASSERT_EQ(srv_count(&s, EV_WERROR), 0);
    ASSERT_EQ(srv_count(&s, EV_MSTART), 1);
}

/* A worker stuck in a callback does not hold the shutdown beyond max_wait_time: it is
 * killed, and nothing is left. */
static void stuck_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                          size_t len, void *arg)
{
    (void)srv;
    (void)session;
    (void)reactor_id;
    (void)data;
    (void)len;
    (void)arg;
    ev_emit(EV_RESULT, sw_server_worker_id(srv), 0, 0, 0);
    for (int i = 0; i < 600; i++) {
        usleep(100000);
    }
}

SW_TEST_TIMEOUT(shutdown_bounded_by_max_wait_time, 60)
{
    srv_spec_t spec = {.workers = 2, .opts = {{"max_wait_time", "1"}}};
    spec.h.on_receive = stuck_receive;
    srv_t s;
    srv_start(&s, &spec, 2);
    pid_t pids[2];
    srv_worker_pids(&s, pids, 2);
    int fd = cli_tcp(s.port);
    cli_send(fd, "x", 1);
    ASSERT_NOT_NULL(srv_wait(&s, EV_RESULT, -1, scaled_ms(5000)));
    uint64_t t0 = sw_test_now_ms();
    ASSERT_EQ(srv_stop(&s, 20), 0);
    uint64_t took = sw_test_now_ms() - t0;
    /* A liveness bound, far from the 1 s limit (the stuck callback would last 60 s). */
    ASSERT_LT(took, (uint64_t)scaled_ms(15000));
    for (int i = 0; i < 2; i++) {
        ASSERT_FALSE(pid_alive(pids[i]));
    }
    ASSERT_EQ(srv_count(&s, EV_SHUTDOWN), 1);
    close(fd);
}

/* sw_server_shutdown from inside a worker ends the whole server. */
static void shutdown_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                             size_t len, void *arg)
{
    (void)session;
    (void)reactor_id;
    (void)data;
    (void)len;
    (void)arg;
    ev_emit(EV_RESULT, sw_server_worker_id(srv), sw_server_shutdown(srv), 0, 0);
}

static void shutdown_by_worker(int workers)
{
    srv_spec_t spec = {.workers = workers};
    spec.h.on_receive = shutdown_receive;
    srv_t s;
    srv_start(&s, &spec, workers);
    int fd = cli_tcp(s.port);
    cli_send(fd, "stop", 4);
    const ev_t *e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    ASSERT_NOT_NULL(srv_wait(&s, EV_SHUTDOWN, -1, scaled_ms(10000)));
    int r = cli_wait_close(fd);
    ASSERT_TRUE(r == 0 || r == SW_ECONNRESET);
    close(fd);
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

SW_TEST_TIMEOUT(shutdown_from_worker, 60)
{
    shutdown_by_worker(3);
}

SW_TEST_TIMEOUT(shutdown_from_single_process, 60)
{
    shutdown_by_worker(1);
}

/* SIGKILL to the master: every worker dies with it (PR_SET_PDEATHSIG). */
SW_TEST_TIMEOUT(no_orphans_when_master_dies, 60)
{
    srv_spec_t spec = {.workers = 3};
    srv_t s;
    srv_start(&s, &spec, 3);
    pid_t pids[3];
    srv_worker_pids(&s, pids, 3);
    ASSERT_EQ(kill(s.pid, SIGKILL), 0);
    int status;
    ASSERT_EQ(waitpid(s.pid, &status, 0), s.pid);
    s.pid = 0;
    uint64_t deadline = sw_test_now_ms() + (uint64_t)scaled_ms(10000);
    for (int i = 0; i < 3; i++) {
        while (pid_alive(pids[i]) && sw_test_now_ms() < deadline) {
            usleep(10000);
        }
        ASSERT_FALSE(pid_alive(pids[i]));
    }
    srv_stop(&s, 1);
}

/* SIGINT (a terminal's Ctrl+C) shuts down like SIGTERM; workers do not report errors. */
SW_TEST_TIMEOUT(sigint_shuts_down, 60)
{
    srv_spec_t spec = {.workers = 2};
    srv_t s;
    srv_start(&s, &spec, 2);
    ASSERT_EQ(kill(s.pid, SIGINT), 0);
    ASSERT_NOT_NULL(srv_wait(&s, EV_SHUTDOWN, -1, scaled_ms(10000)));
    ASSERT_EQ(srv_stop(&s, 10), 0);
    ASSERT_EQ(srv_count(&s, EV_WERROR), 0);
    ASSERT_EQ(srv_count(&s, EV_WSTOP), 2);
}

/* Async reload: the old worker i and the new worker i overlap. When the old one is reaped, the
 * manager clears the sessions it left — and must not touch those of the new worker with the
 * same id. The old workers are kept alive (output to clients that do not read lingers until
 * 90% of max_wait_time) while the new workers take connections; once the old ones are
 * reaped, those connections must still be served. */
static void flood_or_echo(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                          size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    if (len == 5 && !memcmp(data, "flood", 5)) {
        static char big[1 << 20];
        sw_server_send(srv, session, big, sizeof(big));
        return;
    }
    sw_server_send(srv, session, data, len);
}

SW_TEST_TIMEOUT(reload_async_keeps_new_sessions, 60)
{
    srv_spec_t spec = {.workers = 2,
                       .opts = {{"reload_async", "1"}, {"max_wait_time", "1"}},
                       .port_opts = {{"kernel_socket_send_buffer_size", "4096"}}};
    spec.h.on_receive = flood_or_echo;
    srv_t s;
    srv_start(&s, &spec, 2);
    pid_t old[2];
    srv_worker_pids(&s, old, 2);
    /* A flooded, never-read connection on each old worker. */
    /* Workers share the listen socket and the kernel wakes whichever it likes: keep
     * connecting, pausing a little after each repeat so the other worker gets its turn. */
    int flooded[64], nflooded = 0;
    bool has[2] = {false, false};
    for (int i = 0; i < 512 && !(has[0] && has[1]); i++) {
        int fd = cli_tcp(s.port);
        const ev_t *c = srv_wait(&s, EV_CONNECT, -1, scaled_ms(5000));
        ASSERT_NOT_NULL(c);
        if (has[c->worker]) {
            close(fd);
            usleep(2000);
            continue;
        }
        has[c->worker] = true;
        cli_send(fd, "flood", 5);
        flooded[nflooded++] = fd;
    }
    ASSERT_TRUE(has[0] && has[1]);
    ASSERT_EQ(kill(s.pid, SIGUSR1), 0);
    ASSERT_NOT_NULL(srv_wait(&s, EV_WSTART, -1, scaled_ms(10000)));
    ASSERT_NOT_NULL(srv_wait(&s, EV_WSTART, -1, scaled_ms(10000)));
    pid_t fresh[2];
    srv_worker_pids(&s, fresh, 2);
    /* Connections on the new workers (a stopping old one no longer accepts; one that still
     * did just before its stop closes the connection: skip those). */
    int live[2] = {-1, -1};
    for (int i = 0; i < 1024 && (live[0] < 0 || live[1] < 0); i++) {
        int fd = cli_tcp(s.port);
        const ev_t *c = srv_wait(&s, EV_CONNECT, -1, scaled_ms(5000));
        ASSERT_NOT_NULL(c);
        if (c->pid != fresh[c->worker] || live[c->worker] >= 0) {
            close(fd);
            usleep(2000);
            continue;
        }
        cli_echo(fd, "on a new worker");
        live[c->worker] = fd;
    }
    ASSERT_GE(live[0], 0);
    ASSERT_GE(live[1], 0);
    /* The old workers are gone and reaped (their output was reset at the deadline). */
    uint64_t deadline = sw_test_now_ms() + (uint64_t)scaled_ms(10000);
    for (int i = 0; i < 2; i++) {
        while (kill(old[i], 0) == 0 && sw_test_now_ms() < deadline) {
            usleep(10000);
        }
        ASSERT_NE(kill(old[i], 0), 0);
    }
    usleep(50000);
    for (int i = 0; i < 2; i++) {
        cli_echo(live[i], "still served after the old worker was reaped");
        close(live[i]);
    }
    for (int i = 0; i < nflooded; i++) {
        close(flooded[i]);
    }
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_WERROR), 0);
}
