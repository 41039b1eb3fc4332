/*
 * THREAD mode: reactor threads do the socket IO, worker threads of the same process run the
 * callbacks, SW_IPC_MEMORY channels join them (src/server/thread.c, process.c,
 * proc_worker.c). The scenarios of PROCESS mode (test_server_mproc.c) that apply to threads.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

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

SW_TEST_TIMEOUT(thread_echo, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_THREAD, .workers = 2, .opts = {{"reactor_num", "2"}}};
    srv_t s;
    srv_start(&s, &spec, 2);
    int fd = cli_tcp(s.port);
    echo_once(fd, "hello thread");
    echo_once(fd, "again");
    close(fd);
    ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000)));
    pid_t master = s.pid;
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_CONNECT), 1);
    ASSERT_EQ(srv_count(&s, EV_START), 1);
    ASSERT_EQ(srv_count(&s, EV_SHUTDOWN), 1);
    /* No manager in THREAD mode; every worker runs in the master process. */
    ASSERT_EQ(srv_count(&s, EV_MSTART), 0);
    ASSERT_EQ(srv_count(&s, EV_MSTOP), 0);
    for (int i = 0; i < s.nevs; i++) {
        if (s.evs[i].type == EV_WSTART || s.evs[i].type == EV_CONNECT) {
            ASSERT_EQ(s.evs[i].pid, master);
        }
    }
}

/* Scenario 3: 200 clients x 100 messages, byte-exact, two reactor threads, four workers. */
SW_TEST_TIMEOUT(thread_clients_200x100, 180)
{
    enum { NC = 200, NM = 100 };
    srv_spec_t spec = {.mode = SW_MODE_THREAD, .workers = 4, .opts = {{"reactor_num", "2"}}};
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

SW_TEST_TIMEOUT(thread_dispatch_round_robin, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_THREAD,
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

SW_TEST_TIMEOUT(thread_dispatch_idle_worker, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_THREAD,
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

SW_TEST_TIMEOUT(thread_dispatch_ip_hash, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_THREAD,
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

/* Modes 2 (default), 4 and 5 before a bind: connect, every message and close of a session
 * reach one worker thread, in that order. */
static void order_check(const char *mode)
{
    enum { NC = 16, NM = 5 };
    srv_spec_t spec = {.mode = SW_MODE_THREAD,
                       .workers = 4,
                       .report_recv = true,
                       .opts = {{"reactor_num", "2"}, {"dispatch_mode", mode}}};
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
        ASSERT_TRUE(w >= 0 && w < 4);
        used[w] = 1;
        int state = 0, recvs = 0;
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
    if (strcmp(mode, "4") != 0) {
        ASSERT_GT(used[0] + used[1] + used[2] + used[3], 1);
    }
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_CONNECT), NC);
}

SW_TEST_TIMEOUT(thread_dispatch_fd_order, 60)
{
    order_check("2");
}

SW_TEST_TIMEOUT(thread_dispatch_ip_order, 60)
{
    order_check("4");
}

SW_TEST_TIMEOUT(thread_dispatch_uid_order_unbound, 60)
{
    order_check("5");
}

/* dispatch_mode 5: after sw_server_bind (forwarded to the reactor thread over the channel, in
 * order with the worker's sends) the connection's messages go to worker uid % worker_num. */
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

SW_TEST_TIMEOUT(thread_dispatch_uid, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_THREAD,
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
        close(fd);
        ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, 7 % 4, scaled_ms(5000)));
    }
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

/* Scenario 5: a 16 MiB length-framed message each way through the memory channels. */
SW_TEST_TIMEOUT(thread_16mib_message, 120)
{
    srv_spec_t spec = {.mode = SW_MODE_THREAD,
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
    cli_send(fd, msg, body + 4);
    cli_recv(fd, got, body + 4);
    ASSERT_EQ(memcmp(msg, got, body + 4), 0);
    close(fd);
    free(msg);
    free(got);
    ASSERT_EQ(srv_stop(&s, 30), 0);
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
    static char chunk[4096];
    memset(chunk, 'b', sizeof(chunk));
    int64_t sent = 5;
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
 * worker timer, send to a closed session. */
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

SW_TEST_TIMEOUT(thread_calls_from_worker, 60)
{
    snprintf(g_file, sizeof(g_file), "/tmp/sw_tmode_%d.txt", (int)getpid());
    FILE *f = fopen(g_file, "w");
    ASSERT_NOT_NULL(f);
    fputs("0123456789", f);
    fclose(f);
    srv_spec_t spec = {.mode = SW_MODE_THREAD,
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
    /* A closed session: SW_ESESSION from the directory. */
    const ev_t *c = srv_wait(&s, EV_CONNECT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(c);
    uint64_t gone = c->s;
    close(fd);
    ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000)));
    int b = cli_tcp(s.port);
    char m[64];
    snprintf(m, sizeof(m), "probe %llu", (unsigned long long)gone);
    echo_once(b, m);
    e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, SW_ESESSION);
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
    ASSERT_EQ(srv_stop(&s, 15), 0);
    unlink(g_file);
}

/* Reload (SIGUSR1 to the process): every worker thread is replaced by a new thread with the
 * same id while a client keeps sending; every request is answered, the connections stay. */
static void reload_keeps(const char *async)
{
    srv_spec_t spec = {.mode = SW_MODE_THREAD,
                       .workers = 2,
                       .opts = {{"reactor_num", "2"}, {"reload_async", async}}};
    srv_t s;
    srv_start(&s, &spec, 2);
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = cli_tcp(s.port);
        echo_once(fds[i], "before reload");
    }
    /* In-flight: requests sent before the signal are answered by the old or the new worker. */
    for (int i = 0; i < 4; i++) {
        cli_send(fds[i], "in flight", 9);
    }
    ASSERT_EQ(kill(s.pid, SIGUSR1), 0);
    char buf[16];
    for (int i = 0; i < 4; i++) {
        cli_recv(fds[i], buf, 9);
        ASSERT_MEM_EQ(buf, "in flight", 9);
    }
    for (int i = 0; i < 2; i++) {
        ASSERT_NOT_NULL(srv_wait(&s, EV_WSTART, -1, scaled_ms(15000)));
        ASSERT_NOT_NULL(srv_wait(&s, EV_WSTOP, -1, scaled_ms(15000)));
        for (int k = 0; k < 4; k++) {
            echo_once(fds[k], "during reload");
        }
    }
    for (int i = 0; i < 4; i++) {
        echo_once(fds[i], "after reload");
        close(fds[i]);
    }
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_WERROR), 0);
    ASSERT_EQ(srv_count(&s, EV_WSTART), 4);
    ASSERT_EQ(srv_count(&s, EV_WSTOP), 4);
}

SW_TEST_TIMEOUT(thread_reload_async, 60)
{
    reload_keeps("true");
}

SW_TEST_TIMEOUT(thread_reload_rolling, 60)
{
    reload_keeps("false");
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
    echo_once(fd, "reload");
    const ev_t *e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    for (int i = 0; i < 2; i++) {
        ASSERT_NOT_NULL(srv_wait(&s, EV_WSTART, -1, scaled_ms(15000)));
    }
    echo_once(fd, "still served");
    close(fd);
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

/* max_request: the worker thread is replaced after its messages; the client keeps its
 * connection and every message is answered. */
SW_TEST_TIMEOUT(thread_max_request, 60)
{
    srv_spec_t spec = {
        .mode = SW_MODE_THREAD, .workers = 1, .opts = {{"reactor_num", "1"}, {"max_request", "2"}}};
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
    ASSERT_GE(srv_count(&s, EV_WSTOP), 3);
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
    echo_once(fd, "x");
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
    srv_spec_t spec = {.mode = SW_MODE_THREAD,
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
    echo_once(a, "a");
    echo_once(b, "b");
    int c = cli_tcp(s.port); /* the kernel accepts it; the server closes it at once */
    ASSERT_EQ(cli_wait_close(c), 0);
    close(c);
    echo_once(a, "a again");
    close(b);
    ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000)));
    int d = cli_tcp(s.port);
    echo_once(d, "d");
    close(a);
    close(d);
    ASSERT_EQ(srv_stop(&s, 10), 0);
    ASSERT_EQ(srv_count(&s, EV_CONNECT), 3);
}
