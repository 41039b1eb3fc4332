/*
 * PROCESS mode: the master's reactor threads do the socket IO, worker processes run the
 * callbacks, the ipc bus joins them (src/server/process.c).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "core/fault.h"
#include "sw_test.h"
#include "swoole/timer.h"
#include "test_server_util.h"

static void echo_once(int fd, const char *msg)
{
    char buf[256];
    size_t n = strlen(msg);
    cli_send(fd, msg, n);
    cli_recv(fd, buf, n);
    ASSERT_MEM_EQ(buf, msg, n);
}

SW_TEST_TIMEOUT(process_echo, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS, .workers = 2, .opts = {{"reactor_num", "2"}}};
    srv_t s;
    srv_start(&s, &spec, 2);
    int fd = cli_tcp(s.port);
    echo_once(fd, "hello process");
    echo_once(fd, "again");
    close(fd);
    ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000)));
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_CONNECT), 1);
    ASSERT_EQ(srv_count(&s, EV_START), 1);
    ASSERT_EQ(srv_count(&s, EV_SHUTDOWN), 1);
}

/* Scenario 3 in PROCESS mode: 200 clients x 100 messages, byte-exact, two reactor threads and
 * four workers. */
SW_TEST_TIMEOUT(process_clients_200x100, 180)
{
    enum { NC = 200, NM = 100 };
    srv_spec_t spec = {.mode = SW_MODE_PROCESS, .workers = 4, .opts = {{"reactor_num", "2"}}};
    srv_t s;
    srv_start(&s, &spec, 4);
    static int fds[NC];
    for (int i = 0; i < NC; i++) {
        fds[i] = cli_tcp(s.port);
    }
    static char msg[2048], got[2048];
    uint32_t seed = 777;
    for (int m = 0; m < NM; m++) {
        size_t lens[NC];
        for (int i = 0; i < NC; i++) {
            seed = seed * 1103515245u + 12345u;
            lens[i] = 1 + (seed >> 8) % 1500;
            for (size_t k = 0; k < lens[i]; k++) {
                msg[k] = (char)(i * 31 + m * 7 + (int)k);
            }
            cli_send(fds[i], msg, lens[i]);
        }
        for (int i = 0; i < NC; i++) {
            cli_recv(fds[i], got, lens[i]);
            for (size_t k = 0; k < lens[i]; k++) {
                if (got[k] != (char)(i * 31 + m * 7 + (int)k)) {
                    sw_test_fail(__FILE__, __LINE__, "client %d message %d byte %zu differs", i, m,
                                 k);
                }
            }
        }
    }
    for (int i = 0; i < NC; i++) {
        close(fds[i]);
    }
    for (int i = 0; i < NC; i++) {
        ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(10000)));
    }
    ASSERT_EQ(srv_stop(&s, 20), 0);
    ASSERT_EQ(srv_count(&s, EV_CONNECT), NC);
    ASSERT_EQ(srv_count(&s, EV_CLOSE), NC);
}

/* Sends `n` messages one at a time (each echoed before the next) and returns the worker of
 * each receive in `workers`. */
static void recv_workers(srv_t *s, int fd, int n, int *workers)
{
    for (int i = 0; i < n; i++) {
        char m[32];
        snprintf(m, sizeof(m), "msg %d", i);
        echo_once(fd, m);
        const ev_t *e = srv_wait(s, EV_RECV, -1, scaled_ms(5000));
        ASSERT_NOT_NULL(e);
        workers[i] = e->worker;
    }
}

/* dispatch_mode 1: one client's messages go round the workers; no connect/close events. */
SW_TEST_TIMEOUT(dispatch_round_robin, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS,
                       .workers = 4,
                       .report_recv = true,
                       .opts = {{"reactor_num", "1"}, {"dispatch_mode", "1"}}};
    srv_t s;
    srv_start(&s, &spec, 4);
    int fd = cli_tcp(s.port);
    int w[8];
    recv_workers(&s, fd, 8, w);
    for (int i = 1; i < 8; i++) {
        ASSERT_EQ(w[i], (w[i - 1] + 1) % 4);
    }
    close(fd);
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_CONNECT), 0);
    ASSERT_EQ(srv_count(&s, EV_CLOSE), 0);
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
    echo_once(fd, "x");
    close(fd);
    ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000)));
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_CONNECT), 1);
}

/* dispatch_mode 3: with every worker idle each message is answered, by some worker; no
 * connect/close events. */
SW_TEST_TIMEOUT(dispatch_idle_worker, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS,
                       .workers = 3,
                       .report_recv = true,
                       .opts = {{"reactor_num", "2"}, {"dispatch_mode", "3"}}};
    srv_t s;
    srv_start(&s, &spec, 3);
    int fd = cli_tcp(s.port);
    int w[6];
    recv_workers(&s, fd, 6, w);
    for (int i = 0; i < 6; i++) {
        ASSERT_TRUE(w[i] >= 0 && w[i] < 3);
    }
    close(fd);
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_CONNECT), 0);
}

/* dispatch_mode 4: every connection from one client address reaches the same worker. */
SW_TEST_TIMEOUT(dispatch_ip_hash, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS,
                       .workers = 4,
                       .report_recv = true,
                       .opts = {{"reactor_num", "2"}, {"dispatch_mode", "4"}}};
    srv_t s;
    srv_start(&s, &spec, 4);
    int first = -1;
    for (int i = 0; i < 8; i++) {
        int fd = cli_tcp(s.port);
        int w[2];
        recv_workers(&s, fd, 2, w);
        const ev_t *c = srv_wait(&s, EV_CONNECT, -1, scaled_ms(5000));
        ASSERT_NOT_NULL(c);
        if (first < 0) {
            first = c->worker;
        }
        ASSERT_EQ(c->worker, first);
        ASSERT_EQ(w[0], first);
        ASSERT_EQ(w[1], first);
        close(fd);
    }
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

/* dispatch_mode 2 (default): connect, every message and close of a session reach one worker,
 * in that order; the sessions spread over the workers. */
SW_TEST_TIMEOUT(dispatch_fd_order, 60)
{
    enum { NC = 16, NM = 5 };
    srv_spec_t spec = {
        .mode = SW_MODE_PROCESS, .workers = 4, .report_recv = true, .opts = {{"reactor_num", "2"}}};
    srv_t s;
    srv_start(&s, &spec, 4);
    int fds[NC];
    for (int i = 0; i < NC; i++) {
        fds[i] = cli_tcp(s.port);
    }
    for (int m = 0; m < NM; m++) {
        for (int i = 0; i < NC; i++) {
            echo_once(fds[i], "ordered");
        }
    }
    for (int i = 0; i < NC; i++) {
        close(fds[i]);
    }
    for (int i = 0; i < NC; i++) {
        ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000)));
    }
    srv_poll(&s);
    int used[4] = {0};
    for (int i = 0; i < s.nevs; i++) {
        if (s.evs[i].type != EV_CONNECT) {
            continue;
        }
        uint64_t sid = s.evs[i].s;
        int w = s.evs[i].worker;
        used[w] = 1;
        int state = 0; /* 0: connected, receiving; 1: closed */
        int recvs = 0;
        for (int k = i + 1; k < s.nevs; k++) {
            const ev_t *e = &s.evs[k];
            if (e->s != sid || (e->type != EV_RECV && e->type != EV_CLOSE)) {
                continue;
            }
            ASSERT_EQ(e->worker, w);
            ASSERT_EQ(state, 0);
            if (e->type == EV_RECV) {
                recvs++;
            } else {
                state = 1;
            }
        }
        ASSERT_EQ(recvs, NM);
        ASSERT_EQ(state, 1);
    }
    ASSERT_GT(used[0] + used[1] + used[2] + used[3], 1);
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_CONNECT), NC);
}

/* Scenario 5: a 16 MiB length-framed message each way through the bus. */
SW_TEST_TIMEOUT(process_16mib_message, 120)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS,
                       .workers = 2,
                       .opts = {{"reactor_num", "2"}, {"socket_buffer_size", "67108864"}},
                       .port_opts = {{"open_length_check", "true"},
                                     {"package_length_type", "N"},
                                     {"package_length_offset", "0"},
                                     {"package_body_offset", "4"},
                                     {"package_max_length", "33554432"}}};
    srv_t s;
    srv_start(&s, &spec, 2);
    size_t body = (size_t)16 << 20;
    unsigned char *msg = malloc(body + 4), *got = malloc(body + 4);
    ASSERT_NOT_NULL(msg);
    ASSERT_NOT_NULL(got);
    msg[0] = (unsigned char)(body >> 24);
    msg[1] = (unsigned char)(body >> 16);
    msg[2] = (unsigned char)(body >> 8);
    msg[3] = (unsigned char)body;
    uint32_t seed = 99;
    for (size_t i = 0; i < body; i++) {
        seed = seed * 1103515245u + 12345u;
        msg[4 + i] = (unsigned char)(seed >> 16);
    }
    int fd = cli_tcp(s.port);
    cli_timeout(fd, scaled_ms(30000));
    /* Send and receive at once: the echo starts before the whole request has been read by
     * this side only if the server answers early, which it does not; sending first is safe
     * because the server reads the whole message before answering. */
    cli_send(fd, msg, body + 4);
    cli_recv(fd, got, body + 4);
    ASSERT_EQ(memcmp(msg, got, body + 4), 0);
    close(fd);
    free(msg);
    free(got);
    ASSERT_EQ(srv_stop(&s, 30), 0);
}

/* Scenario 13 in PROCESS mode: SIGKILL the worker of a client; the client stays connected,
 * on_worker_error sees signal 9, and its next request is answered by the new worker. */
SW_TEST_TIMEOUT(process_kill_worker, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS, .workers = 2, .opts = {{"reactor_num", "2"}}};
    srv_t s;
    srv_start(&s, &spec, 2);
    int fd = cli_tcp(s.port);
    echo_once(fd, "before");
    const ev_t *c = srv_wait(&s, EV_CONNECT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(c);
    int victim = c->worker;
    pid_t dead = 0;
    srv_poll(&s);
    for (int i = 0; i < s.nevs; i++) {
        if (s.evs[i].type == EV_WSTART && s.evs[i].worker == victim) {
            dead = s.evs[i].pid;
        }
    }
    ASSERT_GT(dead, 0);
    ASSERT_EQ(kill(dead, SIGKILL), 0);
    const ev_t *err = srv_wait(&s, EV_WERROR, victim, scaled_ms(10000));
    ASSERT_NOT_NULL(err);
    ASSERT_EQ(err->pid, dead);
    ASSERT_EQ(err->b, SIGKILL);
    const ev_t *back = srv_wait(&s, EV_WSTART, victim, scaled_ms(10000));
    ASSERT_NOT_NULL(back);
    ASSERT_NE(back->pid, dead);
    echo_once(fd, "after the crash");
    echo_once(fd, "and again");
    close(fd);
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_WERROR), 1);
}

/* SIGUSR1 to the master: every worker is replaced and the connections stay. */
static void reload_keeps(const char *async)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS,
                       .workers = 2,
                       .opts = {{"reactor_num", "2"}, {"reload_async", async}}};
    srv_t s;
    srv_start(&s, &spec, 2);
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = cli_tcp(s.port);
        echo_once(fds[i], "before reload");
    }
    ASSERT_EQ(kill(s.pid, SIGUSR1), 0);
    for (int i = 0; i < 2; i++) {
        ASSERT_NOT_NULL(srv_wait(&s, EV_WSTART, -1, scaled_ms(15000)));
        ASSERT_NOT_NULL(srv_wait(&s, EV_WSTOP, -1, scaled_ms(15000)));
    }
    for (int i = 0; i < 4; i++) {
        echo_once(fds[i], "after reload");
        close(fds[i]);
    }
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_WERROR), 0);
    ASSERT_EQ(srv_count(&s, EV_WSTOP), 4);
}

SW_TEST_TIMEOUT(process_reload_async_keeps_connections, 60)
{
    reload_keeps("true");
}

SW_TEST_TIMEOUT(process_reload_rolling_keeps_connections, 60)
{
    reload_keeps("false");
}

/* Shutdown: on_shutdown runs, and no manager or worker process is left. */
SW_TEST_TIMEOUT(process_shutdown_leaves_nothing, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS, .workers = 3, .opts = {{"reactor_num", "2"}}};
    srv_t s;
    srv_start(&s, &spec, 3);
    int fd = cli_tcp(s.port);
    echo_once(fd, "x");
    const ev_t *m = srv_wait(&s, EV_MSTART, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(m);
    pid_t manager = m->pid;
    pid_t pids[3] = {0};
    srv_poll(&s);
    for (int i = 0; i < s.nevs; i++) {
        if (s.evs[i].type == EV_WSTART && s.evs[i].worker >= 0 && s.evs[i].worker < 3) {
            pids[s.evs[i].worker] = s.evs[i].pid;
        }
    }
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
static void probe_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                          size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    char buf[32];
    if (len > 6 && len < sizeof(buf) && memcmp(data, "probe ", 6) == 0) {
        memcpy(buf, data + 6, len - 6);
        buf[len - 6] = '\0';
        uint64_t target = strtoull(buf, NULL, 10);
        int r = sw_server_send(srv, target, "x", 1);
        ev_emit(EV_RESULT, sw_server_worker_id(srv), r, 0, target);
    }
    (void)sw_server_send(srv, session, data, len);
}

SW_TEST_TIMEOUT(process_send_to_closed_session, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS,
                       .workers = 2,
                       .opts = {{"reactor_num", "2"}},
                       .h = {.on_receive = probe_receive}};
    srv_t s;
    srv_start(&s, &spec, 2);
    int a = cli_tcp(s.port);
    echo_once(a, "a");
    const ev_t *c = srv_wait(&s, EV_CONNECT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(c);
    uint64_t gone = c->s;
    close(a);
    ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000)));
    int b = cli_tcp(s.port);
    char m[64];
    snprintf(m, sizeof(m), "probe %llu", (unsigned long long)gone);
    echo_once(b, m);
    const ev_t *res = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(res);
    ASSERT_EQ(res->a, SW_ESESSION);
    close(b);
    ASSERT_EQ(srv_stop(&s, 15), 0);
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
    const ev_t *w = srv_wait(&s, EV_WSTART, -1, 0);
    (void)w;
    pid_t worker = 0;
    for (int i = 0; i < s.nevs; i++) {
        if (s.evs[i].type == EV_WSTART) {
            worker = s.evs[i].pid;
        }
    }
    ASSERT_GT(worker, 0);
    int fd = cli_tcp(s.port);
    ASSERT_EQ(kill(worker, SIGSTOP), 0);
    static char chunk[4096];
    memset(chunk, 'b', sizeof(chunk));
    int64_t sent = 0;
    const int64_t cap = (int64_t)256 << 20;
    int idle_ms = 0;
    while (sent < cap && idle_ms < scaled_ms(1000)) {
        ssize_t n = send(fd, chunk, sizeof(chunk), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            sent += n;
            idle_ms = 0;
        } else {
            ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
            usleep(10000);
            idle_ms += 10;
        }
    }
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
typedef struct {
    sw_server_t *srv;
    uint64_t session;
    int rc;
} thr_arg_t;

static void *send_thread(void *p)
{
    thr_arg_t *a = p;
    a->rc = sw_server_send(a->srv, a->session, "from a thread", 13);
    return NULL;
}

static char g_file[64];

static void resume_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    thr_arg_t *a = arg;
    int r = sw_server_resume(a->srv, a->session);
    ev_emit(EV_RESULT, sw_server_worker_id(a->srv), r, 2, a->session);
}

static void calls_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                          size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    static thr_arg_t ta;
    if (len == 6 && !memcmp(data, "thread", 6)) {
        ta = (thr_arg_t){.srv = srv, .session = session};
        pthread_t t;
        if (pthread_create(&t, NULL, send_thread, &ta) == 0) {
            pthread_join(t, NULL);
        }
        ev_emit(EV_RESULT, sw_server_worker_id(srv), ta.rc, 0, session);
    } else if (len == 4 && !memcmp(data, "file", 4)) {
        int r = sw_server_sendfile(srv, session, g_file, 2, 5);
        ev_emit(EV_RESULT, sw_server_worker_id(srv), r, 1, session);
    } else if (len == 5 && !memcmp(data, "pause", 5)) {
        ta = (thr_arg_t){.srv = srv, .session = session};
        int r = sw_server_pause(srv, session);
        uint64_t id;
        if (r == 0) {
            r = sw_server_after(srv, 50, resume_cb, &ta, &id);
        }
        ev_emit(EV_RESULT, sw_server_worker_id(srv), r, 3, session);
        (void)sw_server_send(srv, session, "paused", 6);
    } else {
        (void)sw_server_send(srv, session, data, len);
    }
}

SW_TEST_TIMEOUT(process_calls_from_worker, 60)
{
    snprintf(g_file, sizeof(g_file), "/tmp/sw_mproc_%d.txt", (int)getpid());
    FILE *f = fopen(g_file, "w");
    ASSERT_NOT_NULL(f);
    fputs("0123456789", f);
    fclose(f);
    srv_spec_t spec = {.mode = SW_MODE_PROCESS,
                       .workers = 2,
                       .opts = {{"reactor_num", "2"}},
                       .h = {.on_receive = calls_receive}};
    srv_t s;
    srv_start(&s, &spec, 2);
    int fd = cli_tcp(s.port);
    char buf[64];
    cli_send(fd, "thread", 6);
    cli_recv(fd, buf, 13);
    ASSERT_MEM_EQ(buf, "from a thread", 13);
    const ev_t *e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    cli_send(fd, "file", 4);
    cli_recv(fd, buf, 5);
    ASSERT_MEM_EQ(buf, "23456", 5);
    e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    cli_send(fd, "pause", 5);
    cli_recv(fd, buf, 6);
    ASSERT_MEM_EQ(buf, "paused", 6);
    echo_once(fd, "after the resume");
    e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    ASSERT_EQ(e->b, 3);
    e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    ASSERT_EQ(e->b, 2);
    close(fd);
    ASSERT_EQ(srv_stop(&s, 15), 0);
    unlink(g_file);
}

/* The reactor threads run the heartbeat: an idle client is closed, and its worker gets
 * on_close with the reactor thread's id. */
SW_TEST_TIMEOUT(process_heartbeat, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS,
                       .workers = 2,
                       .opts = {{"reactor_num", "2"},
                                {"heartbeat_check_interval", "0.05"},
                                {"heartbeat_idle_time", "0.2"}}};
    srv_t s;
    srv_start(&s, &spec, 2);
    int fd = cli_tcp(s.port);
    echo_once(fd, "then silence");
    int r = cli_wait_close(fd);
    ASSERT_TRUE(r == 0 || r == SW_ECONNRESET);
    close(fd);
    const ev_t *c = srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(c);
    ASSERT_TRUE(c->a >= 0 && c->a < 2);
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

/* max_request: the worker is replaced after its messages; the client keeps its connection
 * and every message is answered. */
SW_TEST_TIMEOUT(process_max_request, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS,
                       .workers = 1,
                       .opts = {{"reactor_num", "1"}, {"max_request", "2"}}};
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_tcp(s.port);
    for (int i = 0; i < 6; i++) {
        echo_once(fd, "counted");
    }
    close(fd);
    ASSERT_NOT_NULL(srv_wait(&s, EV_WSTART, -1, scaled_ms(5000)));
    ASSERT_NOT_NULL(srv_wait(&s, EV_WSTART, -1, scaled_ms(5000)));
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_WERROR), 0);
}

/* accept fails once with EMFILE in the master: it stops accepting for a moment, then serves. */
static int arm_accept(sw_server_t *srv, sw_port_t *port)
{
    (void)srv;
    (void)port;
    sw__fault_set("accept", 0, 1);
    return 0;
}

SW_TEST_TIMEOUT(process_fault_accept_emfile, 60)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("needs -DSWOOLE_FAULT_INJECTION=ON");
    }
    srv_spec_t spec = {.mode = SW_MODE_PROCESS,
                       .workers = 1,
                       .setup = arm_accept,
                       .opts = {{"reactor_num", "1"}, {"log_level", "none"}}};
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_tcp(s.port);
    echo_once(fd, "served after the retry");
    close(fd);
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

/* The manager cannot be forked: start fails and nothing runs. */
static int arm_fork_manager(sw_server_t *srv, sw_port_t *port)
{
    (void)srv;
    (void)port;
    sw__fault_set("fork", 0, 1);
    return 0;
}

SW_TEST_TIMEOUT(process_fault_manager_fork, 60)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("needs -DSWOOLE_FAULT_INJECTION=ON");
    }
    srv_spec_t spec = {.mode = SW_MODE_PROCESS, .workers = 2, .setup = arm_fork_manager};
    srv_t s;
    srv_start(&s, &spec, 0);
    const ev_t *e = srv_wait(&s, EV_START_FAILED, -1, scaled_ms(10000));
    ASSERT_NOT_NULL(e);
    ASSERT_LT(e->a, 0);
    ASSERT_EQ(srv_stop(&s, 10), 1);
    ASSERT_EQ(srv_count(&s, EV_START), 0);
}

/* The manager starts but cannot fork a worker, and exits: the master notices and shuts down
 * (sw_server_start fails with SW_ECHILD), leaving nothing behind. */
static int arm_fork_worker(sw_server_t *srv, sw_port_t *port)
{
    (void)srv;
    (void)port;
    sw__fault_set("fork", 1, 1); /* the manager's first fork (the master's passed) */
    return 0;
}

SW_TEST_TIMEOUT(process_manager_failure_shuts_down, 60)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("needs -DSWOOLE_FAULT_INJECTION=ON");
    }
    srv_spec_t spec = {.mode = SW_MODE_PROCESS,
                       .workers = 2,
                       .setup = arm_fork_worker,
                       .opts = {{"log_level", "none"}}};
    srv_t s;
    srv_start(&s, &spec, 0);
    const ev_t *e = srv_wait(&s, EV_START_FAILED, -1, scaled_ms(10000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, SW_ECHILD);
    ASSERT_EQ(srv_stop(&s, 10), 1);
    ASSERT_EQ(srv_count(&s, EV_SHUTDOWN), 1);
}

/* dispatch_mode 5: before sw_server_bind a connection's messages go where mode 2 sends them;
 * after it, to worker uid % worker_num, for every connection bound to that uid. A second
 * bind is refused in the master (logged) and changes nothing. */
static void bind_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                         size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    if (len > 5 && !memcmp(data, "bind ", 5)) {
        char buf[32];
        size_t n = len - 5 < sizeof(buf) - 1 ? len - 5 : sizeof(buf) - 1;
        memcpy(buf, data + 5, n);
        buf[n] = '\0';
        int r = sw_server_bind(srv, session, strtoull(buf, NULL, 10));
        ev_emit(EV_RESULT, sw_server_worker_id(srv), r, 0, session);
    }
    ev_emit(EV_RECV, sw_server_worker_id(srv), (int)len, 0, session);
    (void)sw_server_send(srv, session, data, len);
}

SW_TEST_TIMEOUT(dispatch_uid, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS,
                       .workers = 4,
                       .opts = {{"reactor_num", "2"}, {"dispatch_mode", "5"}},
                       .h = {.on_receive = bind_receive}};
    srv_t s;
    srv_start(&s, &spec, 4);
    for (int k = 0; k < 3; k++) {
        int fd = cli_tcp(s.port);
        echo_once(fd, "bind 7");
        const ev_t *e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(e->a, 0);
        ASSERT_NOT_NULL(srv_wait(&s, EV_RECV, -1, scaled_ms(5000)));
        for (int i = 0; i < 4; i++) {
            echo_once(fd, "bound");
            e = srv_wait(&s, EV_RECV, -1, scaled_ms(5000));
            ASSERT_NOT_NULL(e);
            ASSERT_EQ(e->worker, 7 % 4);
        }
        echo_once(fd, "bind 6"); /* refused in the master: stays on worker 3 */
        ASSERT_NOT_NULL(srv_wait(&s, EV_RESULT, -1, scaled_ms(5000)));
        ASSERT_NOT_NULL(srv_wait(&s, EV_RECV, -1, scaled_ms(5000)));
        echo_once(fd, "still bound");
        e = srv_wait(&s, EV_RECV, -1, scaled_ms(5000));
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(e->worker, 7 % 4);
        close(fd);
        ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, 7 % 4, scaled_ms(5000)));
    }
    ASSERT_EQ(srv_stop(&s, 15), 0);
}
