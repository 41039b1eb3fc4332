/*
 * Server scenarios run in several modes (see test_server_scenarios.h).
 */
#include "test_server_scenarios.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "sw_test.h"
#include "swoole/timer.h"
#include "test_server_util.h"

void scenario_echo(sw_server_mode_t mode)
{
    srv_spec_t spec = {.mode = mode, .workers = 2, .opts = {{"reactor_num", "2"}}};
    srv_t s;
    srv_start(&s, &spec, 2);
    int fd = cli_tcp(s.port);
    cli_echo(fd, mode == SW_MODE_THREAD ? "hello thread" : "hello process");
    cli_echo(fd, "again");
    close(fd);
    ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000)));
    pid_t master = s.pid;
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_CONNECT), 1);
    ASSERT_EQ(srv_count(&s, EV_START), 1);
    ASSERT_EQ(srv_count(&s, EV_SHUTDOWN), 1);
    if (mode != SW_MODE_THREAD) {
        return;
    }
    /* No manager in THREAD mode; every worker runs in the master process. */
    ASSERT_EQ(srv_count(&s, EV_MSTART), 0);
    ASSERT_EQ(srv_count(&s, EV_MSTOP), 0);
    for (int i = 0; i < s.nevs; i++) {
        if (s.evs[i].type == EV_WSTART || s.evs[i].type == EV_CONNECT) {
            ASSERT_EQ(s.evs[i].pid, master);
        }
    }
}

void scenario_many_clients(sw_server_mode_t mode, uint32_t seed)
{
    enum { NC = 200, NM = 100 };
    srv_spec_t spec = {.mode = mode, .workers = 4};
    if (mode != SW_MODE_BASE) {
        spec.opts[0][0] = "reactor_num";
        spec.opts[0][1] = "2";
    }
    srv_t s;
    srv_start(&s, &spec, 4);
    static int fds[NC];
    for (int i = 0; i < NC; i++) {
        fds[i] = cli_tcp(s.port);
    }
    static char msg[2048], got[2048];
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

/* ---- dispatch modes ------------------------------------------------------------------------ */

/* A server of `mode` with `workers` workers, `reactors` reactor threads, dispatch_mode
 * `dispatch` (NULL: the default) and EV_RECV reports; waits for every worker. */
static void dispatch_start(srv_t *s, sw_server_mode_t mode, int workers, const char *reactors,
                           const char *dispatch)
{
    srv_spec_t spec = {.mode = mode,
                       .workers = workers,
                       .report_recv = true,
                       .opts = {{"reactor_num", reactors}, {"dispatch_mode", dispatch}}};
    if (!dispatch) {
        spec.opts[1][0] = NULL;
    }
    srv_start(s, &spec, workers);
}

/* Sends `n` messages one at a time (each echoed before the next) and returns the worker of
 * each receive in `workers`. */
static void recv_workers(srv_t *s, int fd, int n, int *workers)
{
    for (int i = 0; i < n; i++) {
        char m[32];
        snprintf(m, sizeof(m), "msg %d", i);
        cli_echo(fd, m);
        const ev_t *e = srv_wait(s, EV_RECV, -1, scaled_ms(5000));
        ASSERT_NOT_NULL(e);
        workers[i] = e->worker;
    }
}

void scenario_dispatch_round_robin(sw_server_mode_t mode)
{
    srv_t s;
    dispatch_start(&s, mode, 4, "1", "1");
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

void scenario_dispatch_idle_worker(sw_server_mode_t mode)
{
    srv_t s;
    dispatch_start(&s, mode, 3, "2", "3");
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

void scenario_dispatch_ip_hash(sw_server_mode_t mode)
{
    srv_t s;
    dispatch_start(&s, mode, 4, "2", "4");
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

void scenario_dispatch_order(sw_server_mode_t mode, const char *dispatch)
{
    enum { NC = 16, NM = 5 };
    srv_t s;
    dispatch_start(&s, mode, 4, "2", dispatch);
    int fds[NC];
    for (int i = 0; i < NC; i++) {
        fds[i] = cli_tcp(s.port);
    }
    for (int m = 0; m < NM; m++) {
        for (int i = 0; i < NC; i++) {
            cli_echo(fds[i], "ordered");
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
        ASSERT_TRUE(w >= 0 && w < 4);
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
    if (!dispatch || strcmp(dispatch, "4") != 0) {
        ASSERT_GT(used[0] + used[1] + used[2] + used[3], 1);
    }
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_CONNECT), NC);
}

/* "bind <uid>" binds the session (EV_RESULT a = the result); every message is reported
 * (EV_RECV) and echoed. */
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

void scenario_dispatch_uid(sw_server_mode_t mode)
{
    srv_spec_t spec = {.mode = mode,
                       .workers = 4,
                       .opts = {{"reactor_num", "2"}, {"dispatch_mode", "5"}},
                       .h = {.on_receive = bind_receive}};
    srv_t s;
    srv_start(&s, &spec, 4);
    for (int k = 0; k < 3; k++) {
        int fd = cli_tcp(s.port);
        cli_echo(fd, "bind 7");
        const ev_t *e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(e->a, 0);
        ASSERT_NOT_NULL(srv_wait(&s, EV_RECV, -1, scaled_ms(5000)));
        for (int i = 0; i < 4; i++) {
            cli_echo(fd, "bound");
            e = srv_wait(&s, EV_RECV, -1, scaled_ms(5000));
            ASSERT_NOT_NULL(e);
            ASSERT_EQ(e->worker, 7 % 4);
        }
        if (mode == SW_MODE_PROCESS) {
            cli_echo(fd, "bind 6"); /* refused in the master: stays on worker 3 */
            ASSERT_NOT_NULL(srv_wait(&s, EV_RESULT, -1, scaled_ms(5000)));
            ASSERT_NOT_NULL(srv_wait(&s, EV_RECV, -1, scaled_ms(5000)));
            cli_echo(fd, "still bound");
            e = srv_wait(&s, EV_RECV, -1, scaled_ms(5000));
            ASSERT_NOT_NULL(e);
            ASSERT_EQ(e->worker, 7 % 4);
        }
        close(fd);
        ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, 7 % 4, scaled_ms(5000)));
    }
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

/* ---- large messages, reload ---------------------------------------------------------------- */

void scenario_16mib_message(sw_server_mode_t mode)
{
    srv_spec_t spec = {.mode = mode,
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
    /* Sending the whole message before receiving is safe: the server reads all of it before
     * it answers. */
    cli_send(fd, msg, body + 4);
    cli_recv(fd, got, body + 4);
    ASSERT_EQ(memcmp(msg, got, body + 4), 0);
    close(fd);
    free(msg);
    free(got);
    ASSERT_EQ(srv_stop(&s, 30), 0);
}

void scenario_reload_keeps(sw_server_mode_t mode, const char *async)
{
    bool thread = mode == SW_MODE_THREAD;
    srv_spec_t spec = {
        .mode = mode, .workers = 2, .opts = {{"reactor_num", "2"}, {"reload_async", async}}};
    srv_t s;
    srv_start(&s, &spec, 2);
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = cli_tcp(s.port);
        cli_echo(fds[i], "before reload");
    }
    /* THREAD: requests sent before the signal are answered by the old or the new worker. */
    for (int i = 0; thread && i < 4; i++) {
        cli_send(fds[i], "in flight", 9);
    }
    ASSERT_EQ(kill(s.pid, SIGUSR1), 0);
    char buf[16];
    for (int i = 0; thread && i < 4; i++) {
        cli_recv(fds[i], buf, 9);
        ASSERT_MEM_EQ(buf, "in flight", 9);
    }
    for (int i = 0; i < 2; i++) {
        ASSERT_NOT_NULL(srv_wait(&s, EV_WSTART, -1, scaled_ms(15000)));
        ASSERT_NOT_NULL(srv_wait(&s, EV_WSTOP, -1, scaled_ms(15000)));
        for (int k = 0; thread && k < 4; k++) {
            cli_echo(fds[k], "during reload");
        }
    }
    for (int i = 0; i < 4; i++) {
        cli_echo(fds[i], "after reload");
        close(fds[i]);
    }
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_WERROR), 0);
    if (thread) {
        ASSERT_EQ(srv_count(&s, EV_WSTART), 4);
    }
    ASSERT_EQ(srv_count(&s, EV_WSTOP), 4);
}

/* ---- calls from a worker ------------------------------------------------------------------- */

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

static void *close_thread(void *p)
{
    thr_arg_t *a = p;
    a->rc = sw_server_close(a->srv, a->session, 0);
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

/* The requests: "thread" (send from a user thread, EV_RESULT b 0), "file" (sendfile of
 * g_file bytes 2..6, b 1), "pause" (pause, resumed by a worker timer: b 3, then b 2),
 * "probe <session>" (a send to that session, b 4), "closeme" ("bye", then sw_server_close
 * from a user thread, b 5); anything else is echoed. The thread argument is per worker thread
 * (THREAD mode runs several workers in one process). */
static void calls_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                          size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    static _Thread_local thr_arg_t ta;
    if (len == 6 && !memcmp(data, "thread", 6)) {
        ta = (thr_arg_t){.srv = srv, .session = session};
        pthread_t t;
        if (pthread_create(&t, NULL, send_thread, &ta) == 0) {
            pthread_join(t, NULL);
        }
        ev_emit(EV_RESULT, sw_server_worker_id(srv), ta.rc, 0, session);
    } else if (len == 7 && !memcmp(data, "closeme", 7)) {
        ta = (thr_arg_t){.srv = srv, .session = session};
        pthread_t t;
        (void)sw_server_send(srv, session, "bye", 3);
        if (pthread_create(&t, NULL, close_thread, &ta) == 0) {
            pthread_join(t, NULL);
        }
        ev_emit(EV_RESULT, sw_server_worker_id(srv), ta.rc, 5, session);
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
    } else if (len > 6 && !memcmp(data, "probe ", 6)) {
        char buf[32];
        size_t n = len - 6 < sizeof(buf) - 1 ? len - 6 : sizeof(buf) - 1;
        memcpy(buf, data + 6, n);
        buf[n] = '\0';
        uint64_t target = strtoull(buf, NULL, 10);
        int r = sw_server_send(srv, target, "x", 1);
        ev_emit(EV_RESULT, sw_server_worker_id(srv), r, 4, target);
        (void)sw_server_send(srv, session, data, len);
    } else {
        (void)sw_server_send(srv, session, data, len);
    }
}

/* Closes `fd` (the first client, its connect not yet taken), then a second client asks to
 * send to its session: SW_ESESSION from the directory. In PROCESS/THREAD mode a peer's end of
 * stream keeps the session open for the workers' calls until on_close has returned (sends
 * from on_close still reach a half-closed peer), so a probe made while on_close is still
 * running elsewhere may succeed: probe again (bounded) until the session is gone. Returns the
 * second client. */
static int probe_closed_session(srv_t *s, int fd)
{
    const ev_t *c = srv_wait(s, EV_CONNECT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(c);
    uint64_t gone = c->s;
    close(fd);
    ASSERT_NOT_NULL(srv_wait(s, EV_CLOSE, -1, scaled_ms(5000)));
    int b = cli_tcp(s->port);
    char m[64];
    snprintf(m, sizeof(m), "probe %llu", (unsigned long long)gone);
    int last = 0;
    for (int i = 0; i < 200; i++) {
        cli_echo(b, m);
        const ev_t *e = srv_wait(s, EV_RESULT, -1, scaled_ms(5000));
        ASSERT_NOT_NULL(e);
        last = e->a;
        if (last != 0) {
            break;
        }
        usleep(10000);
    }
    ASSERT_EQ(last, SW_ESESSION);
    return b;
}

static void calls_start(srv_t *s, sw_server_mode_t mode)
{
    srv_spec_t spec = {.mode = mode,
                       .workers = 2,
                       .opts = {{"reactor_num", "2"}},
                       .h = {.on_receive = calls_receive}};
    srv_start(s, &spec, 2);
}

void scenario_calls_from_worker(sw_server_mode_t mode, const char *tag)
{
    snprintf(g_file, sizeof(g_file), "/tmp/sw_%s_%d.txt", tag, (int)getpid());
    FILE *f = fopen(g_file, "w");
    ASSERT_NOT_NULL(f);
    fputs("0123456789", f);
    fclose(f);
    srv_t s;
    calls_start(&s, mode);
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
    cli_echo(fd, "after the resume");
    e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    ASSERT_EQ(e->b, 3);
    e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    ASSERT_EQ(e->b, 2);
    if (mode == SW_MODE_THREAD) {
        int b = probe_closed_session(&s, fd);
        /* sw_server_close from a user thread of the worker: the client gets "bye", then EOF. */
        cli_send(b, "closeme", 7);
        cli_recv(b, buf, 3);
        ASSERT_MEM_EQ(buf, "bye", 3);
        int r = cli_wait_close(b);
        ASSERT_TRUE(r == 0 || r == SW_ECONNRESET);
        e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(e->a, 0);
        ASSERT_EQ(e->b, 5);
        close(b);
    } else {
        close(fd);
    }
    ASSERT_EQ(srv_stop(&s, 15), 0);
    unlink(g_file);
}

void scenario_send_to_closed_session(sw_server_mode_t mode)
{
    srv_t s;
    calls_start(&s, mode);
    int a = cli_tcp(s.port);
    cli_echo(a, "a");
    int b = probe_closed_session(&s, a);
    close(b);
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

/* ---- heartbeat, max_request ---------------------------------------------------------------- */

void scenario_heartbeat(sw_server_mode_t mode)
{
    srv_spec_t spec = {.mode = mode,
                       .workers = 2,
                       .opts = {{"reactor_num", "2"},
                                {"heartbeat_check_interval", "0.05"},
                                {"heartbeat_idle_time", "0.2"}}};
    srv_t s;
    srv_start(&s, &spec, 2);
    int fd = cli_tcp(s.port);
    cli_echo(fd, "then silence");
    int r = cli_wait_close(fd);
    ASSERT_TRUE(r == 0 || r == SW_ECONNRESET);
    close(fd);
    const ev_t *c = srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(c);
    ASSERT_TRUE(c->a >= 0 && c->a < 2);
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

void scenario_max_request(sw_server_mode_t mode)
{
    srv_spec_t spec = {
        .mode = mode, .workers = 1, .opts = {{"reactor_num", "1"}, {"max_request", "2"}}};
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_tcp(s.port);
    for (int i = 0; i < 6; i++) {
        cli_echo(fd, "counted");
    }
    close(fd);
    ASSERT_NOT_NULL(srv_wait(&s, EV_WSTART, -1, scaled_ms(5000)));
    ASSERT_NOT_NULL(srv_wait(&s, EV_WSTART, -1, scaled_ms(5000)));
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_WERROR), 0);
    ASSERT_GE(srv_count(&s, EV_WSTOP), 3);
}
