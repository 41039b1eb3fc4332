/*
 * THREAD mode: reactor threads do the socket IO, worker threads of the same process run the
 * callbacks, SW_IPC_MEMORY channels join them (src/server/thread.c, process.c,
 * proc_worker.c). The scenarios shared with PROCESS (and BASE) mode live in
 * test_server_scenarios.c; the cases here that are not one-line calls to them are THREAD's own.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "sw_test.h"
#include "test_server_scenarios.h"
#include "test_server_util.h"

SW_TEST_TIMEOUT(thread_echo, 60)
{
    scenario_echo(SW_MODE_THREAD);
}

/* Scenario 3: 200 clients x 100 messages, byte-exact, two reactor threads, four workers. */
SW_TEST_TIMEOUT(thread_clients_200x100, 180)
{
    scenario_many_clients(SW_MODE_THREAD, 777);
}

SW_TEST_TIMEOUT(thread_dispatch_round_robin, 60)
{
    scenario_dispatch_round_robin(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(thread_dispatch_idle_worker, 60)
{
    scenario_dispatch_idle_worker(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(thread_dispatch_ip_hash, 60)
{
    scenario_dispatch_ip_hash(SW_MODE_THREAD);
}

/* Modes 2 (default), 4 and 5 before a bind: connect, every message and close of a session
 * reach one worker thread, in that order. */
SW_TEST_TIMEOUT(thread_dispatch_fd_order, 60)
{
    scenario_dispatch_order(SW_MODE_THREAD, "2");
}

SW_TEST_TIMEOUT(thread_dispatch_ip_order, 60)
{
    scenario_dispatch_order(SW_MODE_THREAD, "4");
}

SW_TEST_TIMEOUT(thread_dispatch_uid_order_unbound, 60)
{
    scenario_dispatch_order(SW_MODE_THREAD, "5");
}

/* dispatch_mode 5: after sw_server_bind (forwarded to the reactor thread over the channel, in
 * order with the worker's sends) the connection's messages go to worker uid % worker_num. */
SW_TEST_TIMEOUT(thread_dispatch_uid, 60)
{
    scenario_dispatch_uid(SW_MODE_THREAD);
}

/* Scenario 5: a 16 MiB length-framed message each way through the memory channels. */
SW_TEST_TIMEOUT(thread_16mib_message, 120)
{
    scenario_16mib_message(SW_MODE_THREAD);
}

/* Backpressure: the only worker thread is stuck in a callback (a thread cannot be stopped
 * from outside, so the test's first message makes it wait for a flag file); a client that
 * keeps sending is held back by TCP once max_queued_bytes wait for the worker, instead of
 * growing the master's queues; when the worker goes on, every byte arrives. */
static char g_flag[64];
static int64_t g_total;

static void stuck_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                          size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    if (g_total == 0) {
        ev_emit(EV_RESULT, sw_server_worker_id(srv), 1, 0, session);
        struct stat st;
        for (int i = 0; i < 6000 && stat(g_flag, &st) != 0; i++) {
            usleep(10000);
        }
    }
    g_total += (int64_t)len;
    if (len >= 3 && memcmp(data + len - 3, "END", 3) == 0) {
        ev_emit(EV_RESULT, sw_server_worker_id(srv), 0, g_total, session);
    }
}

SW_TEST_TIMEOUT(thread_backpressure, 120)
{
    snprintf(g_flag, sizeof(g_flag), "/tmp/sw_tmode_flag_%d", (int)getpid());
    unlink(g_flag);
    srv_spec_t spec = {.mode = SW_MODE_THREAD,
                       .workers = 1,
                       .opts = {{"reactor_num", "1"}, {"max_queued_bytes", "262144"}},
                       .h = {.on_receive = stuck_receive}};
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_tcp(s.port);
    cli_send(fd, "first", 5);
    const ev_t *e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 1);
    int64_t sent = 5 + cli_send_until_held(fd, ((int64_t)256 << 20) - 5);
    /* Held back: TCP's buffers, the memory channel (8 MiB) and the watermark; without the
     * pause the reactor would queue 64 MiB and then drop the connection. */
    ASSERT_LT(sent, (int64_t)40 << 20);
    FILE *f = fopen(g_flag, "w");
    ASSERT_NOT_NULL(f);
    fclose(f);
    cli_send(fd, "END", 3);
    e = srv_wait(&s, EV_RESULT, -1, scaled_ms(30000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->b, sent + 3);
    close(fd);
    unlink(g_flag);
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

/* Calls from a worker thread: send from another (user) thread, sendfile, pause/resume with a
 * worker timer, send to a closed session, close from a user thread. */
SW_TEST_TIMEOUT(thread_calls_from_worker, 60)
{
    scenario_calls_from_worker(SW_MODE_THREAD, "tmode");
}

/* Reload (SIGUSR1 to the process): every worker thread is replaced by a new thread with the
 * same id while a client keeps sending; every request is answered, the connections stay. */
SW_TEST_TIMEOUT(thread_reload_async, 60)
{
    scenario_reload_keeps(SW_MODE_THREAD, "true");
}

SW_TEST_TIMEOUT(thread_reload_rolling, 60)
{
    scenario_reload_keeps(SW_MODE_THREAD, "false");
}

/* sw_server_reload from a worker thread's callback. */
static void reload_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                           size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    if (len == 6 && !memcmp(data, "reload", 6)) {
        ev_emit(EV_RESULT, sw_server_worker_id(srv), sw_server_reload(srv), 0, session);
    }
    (void)sw_server_send(srv, session, data, len);
}

SW_TEST_TIMEOUT(thread_reload_from_worker, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_THREAD,
                       .workers = 2,
                       .opts = {{"reactor_num", "1"}},
                       .h = {.on_receive = reload_receive}};
    srv_t s;
    srv_start(&s, &spec, 2);
    int fd = cli_tcp(s.port);
    cli_echo(fd, "reload");
    const ev_t *e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    for (int i = 0; i < 2; i++) {
        ASSERT_NOT_NULL(srv_wait(&s, EV_WSTART, -1, scaled_ms(15000)));
    }
    cli_echo(fd, "still served");
    close(fd);
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

/* max_request: the worker thread is replaced after its messages; the client keeps its
 * connection and every message is answered. */
SW_TEST_TIMEOUT(thread_max_request, 60)
{
    scenario_max_request(SW_MODE_THREAD);
}

/* Shutdown: on_shutdown runs with only the calling thread left in the process (every reactor
 * and worker thread joined), and the client's connection was closed. */
static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    if (!d) {
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* Threads of the server process before start (a sanitizer may run its own). */
static int g_base_threads;

static int note_threads(sw_server_t *srv, sw_port_t *port)
{
    (void)srv;
    (void)port;
    g_base_threads = count_threads();
    return 0;
}

static void threads_shutdown(sw_server_t *srv, void *arg)
{
    (void)srv;
    (void)arg;
    ev_emit(EV_SHUTDOWN, -1, count_threads() - g_base_threads, 0, 0);
}

SW_TEST_TIMEOUT(thread_shutdown_leaves_no_thread, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_THREAD,
                       .workers = 3,
                       .opts = {{"reactor_num", "2"}},
                       .setup = note_threads,
                       .h = {.on_shutdown = threads_shutdown}};
    srv_t s;
    srv_start(&s, &spec, 3);
    int fd = cli_tcp(s.port);
    cli_echo(fd, "x");
    ASSERT_EQ(srv_stop(&s, 15), 0);
    int r = cli_wait_close(fd);
    ASSERT_TRUE(r == 0 || r == SW_ECONNRESET);
    close(fd);
    const ev_t *e = srv_wait(&s, EV_SHUTDOWN, -1, 0);
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    ASSERT_EQ(srv_count(&s, EV_WSTOP), 3);
}

/* A worker thread stuck in a callback delays the shutdown (a thread cannot be killed), and the
 * shutdown completes once it returns. */
static void slow_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                         size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    (void)sw_server_send(srv, session, data, len);
    ev_emit(EV_RESULT, sw_server_worker_id(srv), 0, 0, session);
    usleep(300 * 1000);
}

SW_TEST_TIMEOUT(thread_shutdown_waits_for_callback, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_THREAD,
                       .workers = 1,
                       .opts = {{"reactor_num", "1"}, {"max_wait_time", "0.05"}},
                       .h = {.on_receive = slow_receive}};
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_tcp(s.port);
    cli_send(fd, "slow", 4);
    ASSERT_NOT_NULL(srv_wait(&s, EV_RESULT, -1, scaled_ms(5000)));
    ASSERT_EQ(srv_stop(&s, 15), 0);
    close(fd);
    ASSERT_EQ(srv_count(&s, EV_WSTOP), 1);
    ASSERT_EQ(srv_count(&s, EV_SHUTDOWN), 1);
}

/* The reactor threads run the heartbeat: an idle client is closed, and its worker thread gets
 * on_close with the reactor thread's id. */
SW_TEST_TIMEOUT(thread_heartbeat, 60)
{
    scenario_heartbeat(SW_MODE_THREAD);
}

/* max_conn at accept: the reactor thread refuses a connection past it (closed at once), and
 * takes a new one once another has gone. */
SW_TEST_TIMEOUT(thread_max_conn_at_accept, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_THREAD,
                       .workers = 2,
                       .opts = {{"reactor_num", "2"}, {"max_conn", "2"}, {"log_level", "none"}}};
    srv_t s;
    srv_start(&s, &spec, 2);
    int a = cli_tcp(s.port);
    int b = cli_tcp(s.port);
    cli_echo(a, "a");
    cli_echo(b, "b");
    int c = cli_tcp(s.port); /* the kernel accepts it; the server closes it at once */
    ASSERT_EQ(cli_wait_close(c), 0);
    close(c);
    cli_echo(a, "a again");
    close(b);
    ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000)));
    /* b's slot is free once the reactor has its worker's acknowledgement of the close, which
     * follows on_close (process.c, end of stream): a connection made right after on_close may
     * still be refused. */
    int d = -1;
    for (int i = 0; i < 200; i++) {
        d = cli_tcp(s.port);
        char ch = 0;
        if (send(d, "d", 1, MSG_NOSIGNAL) == 1 && recv(d, &ch, 1, 0) == 1) {
            ASSERT_EQ(ch, 'd');
            break;
        }
        close(d);
        d = -1;
        usleep(10000);
    }
    ASSERT_GE(d, 0);
    cli_echo(d, "d");
    close(a);
    close(d);
    ASSERT_EQ(srv_stop(&s, 10), 0);
    ASSERT_EQ(srv_count(&s, EV_CONNECT), 3);
}
