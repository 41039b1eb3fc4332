/*
 * PROCESS mode: the master's reactor threads do the socket IO, worker processes run the
 * callbacks, the ipc bus joins them (src/server/process.c). Scenarios that THREAD (or BASE)
 * mode runs too are in test_server_scenarios.c.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sw_test.h"
#include "test_server_scenarios.h"
#include "test_server_util.h"

SW_TEST_TIMEOUT(process_echo, 60)
{
    scenario_echo(SW_MODE_PROCESS);
}

/* Scenario 3 in PROCESS mode: 200 clients x 100 messages, byte-exact, two reactor threads and
 * four workers. */
SW_TEST_TIMEOUT(process_clients_200x100, 180)
{
    scenario_many_clients(SW_MODE_PROCESS, 777);
}

/* dispatch_mode 1: one client's messages go round the workers; no connect/close events. */
SW_TEST_TIMEOUT(dispatch_round_robin, 60)
{
    scenario_dispatch_round_robin(SW_MODE_PROCESS);
}

/* dispatch_mode 1 with enable_unsafe_event: connect and close are delivered too. */
SW_TEST_TIMEOUT(dispatch_round_robin_unsafe_event, 60)
{
    srv_spec_t spec = {
        .mode = SW_MODE_PROCESS,
        .workers = 2,
        .opts = {{"reactor_num", "1"}, {"dispatch_mode", "1"}, {"enable_unsafe_event", "true"}}};
    srv_t s;
    srv_start(&s, &spec, 2);
    int fd = cli_tcp(s.port);
    cli_echo(fd, "x");
    close(fd);
    ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000)));
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_CONNECT), 1);
}

/* dispatch_mode 3: with every worker idle each message is answered, by some worker; no
 * connect/close events. */
SW_TEST_TIMEOUT(dispatch_idle_worker, 60)
{
    scenario_dispatch_idle_worker(SW_MODE_PROCESS);
}

/* dispatch_mode 4: every connection from one client address reaches the same worker. */
SW_TEST_TIMEOUT(dispatch_ip_hash, 60)
{
    scenario_dispatch_ip_hash(SW_MODE_PROCESS);
}

/* dispatch_mode 2 (default): connect, every message and close of a session reach one worker,
 * in that order; the sessions spread over the workers. */
SW_TEST_TIMEOUT(dispatch_fd_order, 60)
{
    scenario_dispatch_order(SW_MODE_PROCESS, NULL);
}

/* Scenario 5: a 16 MiB length-framed message each way through the bus. */
SW_TEST_TIMEOUT(process_16mib_message, 120)
{
    scenario_16mib_message(SW_MODE_PROCESS);
}

/* Scenario 13 in PROCESS mode: SIGKILL the worker of a client; the client stays connected,
 * on_worker_error sees signal 9, and its next request is answered by the new worker. */
SW_TEST_TIMEOUT(process_kill_worker, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS, .workers = 2, .opts = {{"reactor_num", "2"}}};
    srv_t s;
    srv_start(&s, &spec, 2);
    int fd = cli_tcp(s.port);
    cli_echo(fd, "before");
    const ev_t *c = srv_wait(&s, EV_CONNECT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(c);
    int victim = c->worker;
    pid_t pids[2];
    srv_worker_pids(&s, pids, 2);
    pid_t dead = pids[victim];
    ASSERT_GT(dead, 0);
    ASSERT_EQ(kill(dead, SIGKILL), 0);
    const ev_t *err = srv_wait(&s, EV_WERROR, victim, scaled_ms(10000));
    ASSERT_NOT_NULL(err);
    ASSERT_EQ(err->pid, dead);
    ASSERT_EQ(err->b, SIGKILL);
    const ev_t *back = srv_wait(&s, EV_WSTART, victim, scaled_ms(10000));
    ASSERT_NOT_NULL(back);
    ASSERT_NE(back->pid, dead);
    cli_echo(fd, "after the crash");
    cli_echo(fd, "and again");
    close(fd);
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_WERROR), 1);
}

/* SIGUSR1 to the master: every worker is replaced and the connections stay. */
SW_TEST_TIMEOUT(process_reload_async_keeps_connections, 60)
{
    scenario_reload_keeps(SW_MODE_PROCESS, "true");
}

SW_TEST_TIMEOUT(process_reload_rolling_keeps_connections, 60)
{
    scenario_reload_keeps(SW_MODE_PROCESS, "false");
}

/* Shutdown: on_shutdown runs, and no manager or worker process is left. */
SW_TEST_TIMEOUT(process_shutdown_leaves_nothing, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS, .workers = 3, .opts = {{"reactor_num", "2"}}};
    srv_t s;
    srv_start(&s, &spec, 3);
    int fd = cli_tcp(s.port);
    cli_echo(fd, "x");
    const ev_t *m = srv_wait(&s, EV_MSTART, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(m);
    pid_t manager = m->pid;
    pid_t pids[3];
    srv_worker_pids(&s, pids, 3);
    ASSERT_NE(manager, s.pid);
    ASSERT_EQ(srv_stop(&s, 15), 0);
    /* The connection was closed by the server. */
    int r = cli_wait_close(fd);
    ASSERT_TRUE(r == 0 || r == SW_ECONNRESET);
    close(fd);
    ASSERT_FALSE(pid_alive(manager));
    for (int i = 0; i < 3; i++) {
        ASSERT_GT(pids[i], 0);
        ASSERT_FALSE(pid_alive(pids[i]));
    }
    ASSERT_EQ(srv_count(&s, EV_SHUTDOWN), 1);
    ASSERT_EQ(srv_count(&s, EV_WSTOP), 3);
}

/* A send to a closed session fails with SW_ESESSION (from a worker: the directory). */
SW_TEST_TIMEOUT(process_send_to_closed_session, 60)
{
    scenario_send_to_closed_session(SW_MODE_PROCESS);
}

/* Backpressure: with the worker stopped (SIGSTOP) a client that keeps sending is held back by
 * TCP (the reactor stops reading once max_queued_bytes wait for the worker) instead of
 * growing the master's queue; after SIGCONT every byte arrives. */
static void count_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                          size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    static int64_t total;
    total += (int64_t)len;
    if (len >= 3 && memcmp(data + len - 3, "END", 3) == 0) {
        ev_emit(EV_RESULT, sw_server_worker_id(srv), 0, total, session);
    }
}

SW_TEST_TIMEOUT(process_backpressure, 120)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS,
                       .workers = 1,
                       .opts = {{"reactor_num", "1"}, {"max_queued_bytes", "262144"}},
                       .h = {.on_receive = count_receive}};
    srv_t s;
    srv_start(&s, &spec, 1);
    pid_t worker;
    srv_worker_pids(&s, &worker, 1);
    ASSERT_GT(worker, 0);
    int fd = cli_tcp(s.port);
    ASSERT_EQ(kill(worker, SIGSTOP), 0);
    int64_t sent = cli_send_until_held(fd, (int64_t)256 << 20);
    /* Held back: the kernel's buffers (TCP, and the 8 MiB ipc socket buffers) plus the
     * watermark, about 20 MiB here; without the pause the master would queue 64 MiB and then
     * drop the connection. */
    ASSERT_LT(sent, (int64_t)40 << 20);
    ASSERT_EQ(kill(worker, SIGCONT), 0);
    cli_send(fd, "END", 3);
    const ev_t *r = srv_wait(&s, EV_RESULT, -1, scaled_ms(30000));
    ASSERT_NOT_NULL(r);
    ASSERT_EQ(r->b, sent + 3);
    close(fd);
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

/* Calls from a worker: send from another thread of the worker (posted to its loop, then over
 * IPC), sendfile (the master opens the file), pause/resume of reading. */
SW_TEST_TIMEOUT(process_calls_from_worker, 60)
{
    scenario_calls_from_worker(SW_MODE_PROCESS, "mproc");
}

/* The reactor threads run the heartbeat: an idle client is closed, and its worker gets
 * on_close with the reactor thread's id. */
SW_TEST_TIMEOUT(process_heartbeat, 60)
{
    scenario_heartbeat(SW_MODE_PROCESS);
}

/* max_request: the worker is replaced after its messages; the client keeps its connection
 * and every message is answered. */
SW_TEST_TIMEOUT(process_max_request, 60)
{
    scenario_max_request(SW_MODE_PROCESS);
}

/* accept fails once with EMFILE in the master: it stops accepting for a moment, then serves. */
SW_TEST_TIMEOUT(process_fault_accept_emfile, 60)
{
    SRV_NEED_FAULTS();
    srv_spec_t spec = {.mode = SW_MODE_PROCESS,
                       .workers = 1,
                       .fault = {"accept", 0, 1},
                       .opts = {{"reactor_num", "1"}, {"log_level", "none"}}};
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_tcp(s.port);
    cli_echo(fd, "served after the retry");
    close(fd);
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

/* The manager cannot be forked: start fails and nothing runs. */
SW_TEST_TIMEOUT(process_fault_manager_fork, 60)
{
    SRV_NEED_FAULTS();
    srv_spec_t spec = {.mode = SW_MODE_PROCESS, .workers = 2, .fault = {"fork", 0, 1}};
    srv_t s;
    ASSERT_LT(srv_start_failure(&s, &spec), 0);
    ASSERT_EQ(srv_count(&s, EV_START), 0);
}

/* The manager starts but cannot fork a worker, and exits: the master notices and shuts down
 * (sw_server_start fails with SW_ECHILD), leaving nothing behind. The fault skips the
 * master's fork of the manager and fails the manager's first. */
SW_TEST_TIMEOUT(process_manager_failure_shuts_down, 60)
{
    SRV_NEED_FAULTS();
    srv_spec_t spec = {.mode = SW_MODE_PROCESS,
                       .workers = 2,
                       .fault = {"fork", 1, 1},
                       .opts = {{"log_level", "none"}}};
    srv_t s;
    ASSERT_EQ(srv_start_failure(&s, &spec), SW_ECHILD);
    ASSERT_EQ(srv_count(&s, EV_SHUTDOWN), 1);
}

/* dispatch_mode 5: before sw_server_bind a connection's messages go where mode 2 sends them;
 * after it, to worker uid % worker_num, for every connection bound to that uid. A second
 * bind is refused in the master (logged) and changes nothing. */
SW_TEST_TIMEOUT(dispatch_uid, 60)
{
    scenario_dispatch_uid(SW_MODE_PROCESS);
}
