/*
 * BASE mode: calls on a session that another worker process owns (src/server/base_fwd.c),
 * and the task/connection counters of sw_server_stats.
 *
 * The server (forked, test_server_util.h) runs two BASE workers with enable_reuse_port, so
 * the kernel spreads the clients over both; the test opens clients until each worker holds
 * one (bounded). A client drives its worker with one-line commands naming the session of the
 * other worker's client; the worker answers with one line.
 */
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/fault.h"
#include "sw_test.h"
#include "swoole/error.h"
#include "test_server_util.h"

/* ---- server side --------------------------------------------------------------------------- */

static void reply(sw_server_t *srv, uint64_t session, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reply(sw_server_t *srv, uint64_t session, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || n > (int)sizeof(buf) - 2) {
        n = (int)sizeof(buf) - 2;
    }
    buf[n++] = '\n';
    (void)sw_server_send(srv, session, buf, (size_t)n);
}

typedef struct {
    sw_server_t *srv;
    uint64_t sid;
    int rc;
} thr_t;

static void *thr_send(void *arg)
{
    thr_t *t = arg;
    t->rc = sw_server_send(t->srv, t->sid, "from-thread\n", 12);
    int rc = sw_server_close(t->srv, t->sid, 0);
    if (t->rc == 0) {
        t->rc = rc;
    }
    return NULL;
}

static void bcast(sw_server_t *srv, uint64_t session, const char *text)
{
    uint64_t cursor = 0, ids[64];
    int total = 0, failed = 0, n;
    char line[128];
    int len = snprintf(line, sizeof(line), "%s\n", text);
    while ((n = sw_server_connections(srv, &cursor, ids, 64)) > 0) {
        for (int i = 0; i < n; i++) {
            total++;
            failed += sw_server_send(srv, ids[i], line, (size_t)len) < 0;
        }
    }
    reply(srv, session, "N:%d:%d", total, failed);
}

static void f_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                      size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    char cmd[256];
    size_t n = len < sizeof(cmd) - 1 ? len : sizeof(cmd) - 1;
    memcpy(cmd, data, n);
    cmd[n] = '\0';
    char *nl = strchr(cmd, '\n');
    if (nl) {
        *nl = '\0';
    }
    unsigned long long sid, uid;
    char text[128];
    int count;
    if (sscanf(cmd, "send %llu %127s", &sid, text) == 2) {
        strcat(text, "\n");
        reply(srv, session, "R:%d", sw_server_send(srv, sid, text, strlen(text)));
    } else if (sscanf(cmd, "seq %llu %d", &sid, &count) == 2) {
        /* count sends, then a close: all must arrive, in order, before the EOF. */
        int bad = 0;
        for (int i = 0; i < count; i++) {
            char m[32];
            int ml = snprintf(m, sizeof(m), "m%d\n", i);
            bad += sw_server_send(srv, sid, m, (size_t)ml) < 0;
        }
        int rc = sw_server_close(srv, sid, 0);
        reply(srv, session, "R:%d:%d", bad, rc);
    } else if (sscanf(cmd, "close %llu", &sid) == 1) {
        reply(srv, session, "R:%d", sw_server_close(srv, sid, 0));
    } else if (sscanf(cmd, "reset %llu", &sid) == 1) {
        reply(srv, session, "R:%d", sw_server_close(srv, sid, 1));
    } else if (sscanf(cmd, "bind %llu %llu", &sid, &uid) == 2) {
        reply(srv, session, "R:%d", sw_server_bind(srv, sid, uid));
    } else if (sscanf(cmd, "info %llu", &sid) == 1) {
        sw_connection_info_t info;
        int a = sw_server_connection_info(srv, sid, &info);
        int b = sw_server_sendwait(srv, sid, "x", 1, 100);
        reply(srv, session, "R:%d:%d", a, b);
    } else if (sscanf(cmd, "pause %llu", &sid) == 1) {
        int a = sw_server_pause(srv, sid);
        int b = sw_server_resume(srv, sid);
        reply(srv, session, "R:%d:%d", a, b);
    } else if (sscanf(cmd, "file %llu %127s", &sid, text) == 2) {
        int a = sw_server_sendfile(srv, sid, text, 0, 0);
        reply(srv, session, "R:%d", a);
    } else if (sscanf(cmd, "thread %llu", &sid) == 1) {
        thr_t t = {.srv = srv, .sid = sid};
        pthread_t th;
        int rc = pthread_create(&th, NULL, thr_send, &t);
        if (rc == 0) {
            pthread_join(th, NULL);
        }
        reply(srv, session, "R:%d", rc == 0 ? t.rc : -rc);
    } else if (sscanf(cmd, "bcast %127s", text) == 1) {
        bcast(srv, session, text);
    } else if (sscanf(cmd, "tsend %llu %127s", &sid, text) == 2) {
        /* A task worker sends to the session (forwarded from there too). */
        reply(srv, session, "R:%d", sw_server_task(srv, cmd + 6, strlen(cmd + 6), 0, NULL));
    } else if (sscanf(cmd, "msg %d", &count) == 1) {
        reply(srv, session, "R:%d", sw_server_send_message(srv, count, "hello", 5));
    } else if (!strcmp(cmd, "wstats")) {
        sw_server_stats_t st;
        int rc = sw_server_stats(srv, &st);
        reply(srv, session, "C:%d:%d:%llu", rc, sw_server_worker_id(srv),
              (unsigned long long)st.worker_connection_num);
    } else if (!strcmp(cmd, "tstats")) {
        sw_server_stats_t st;
        int rc = sw_server_stats(srv, &st);
        reply(srv, session, "T:%d:%llu:%llu:%llu:%d", rc, (unsigned long long)st.task_count,
              (unsigned long long)st.task_done_count, (unsigned long long)st.tasking_num,
              st.task_idle_worker_num);
    } else if (!strcmp(cmd, "tw")) {
        void *res = NULL;
        int rc = sw_server_taskwait(srv, "noop", 4, scaled_ms(5000), -1, &res, NULL);
        sw_server_task_free(res);
        reply(srv, session, "W:%d", rc);
    } else if (!strcmp(cmd, "sid")) {
        reply(srv, session, "S:%llu", (unsigned long long)session);
    } else if (!strcmp(cmd, "uid")) {
        sw_connection_info_t info;
        int rc = sw_server_connection_info(srv, session, &info);
        reply(srv, session, "U:%d:%llu:%d", rc, (unsigned long long)info.uid, info.worker_id);
    } else if (!strcmp(cmd, "bad")) {
        int a = sw_server_send(srv, 0, "x", 1);
        int b = sw_server_send(srv, session + 1000000, "x", 1);
        int c = sw_server_close(srv, session + 1000000, 0);
        reply(srv, session, "X:%d,%d,%d", a, b, c);
    } else if (!strcmp(cmd, "ping")) {
        reply(srv, session, "pong");
    } else {
        reply(srv, session, "?");
    }
}

static void f_task(sw_server_t *srv, uint64_t id, int src, const void *data, size_t len, void *arg)
{
    (void)id;
    (void)src;
    (void)arg;
    char buf[200];
    unsigned long long sid;
    char text[128];
    size_t n = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;
    memcpy(buf, data, n);
    buf[n] = '\0';
    int rc = SW_EINVAL;
    if (!strcmp(buf, "noop")) {
        (void)sw_server_task_finish(srv, "ok", 2);
        return;
    }
    if (sscanf(buf, "%llu %126s", &sid, text) == 2) {
        strcat(text, "\n");
        rc = sw_server_send(srv, sid, text, strlen(text));
    }
    ev_emit(EV_RESULT, sw_server_worker_id(srv), rc, 0, 0);
    (void)sw_server_task_finish(srv, "ok", 2);
}

static void f_finish(sw_server_t *srv, uint64_t id, const void *data, size_t len, void *arg)
{
    (void)srv;
    (void)id;
    (void)data;
    (void)len;
    (void)arg;
}

static void f_pipe(sw_server_t *srv, int src, const void *data, size_t len, void *arg)
{
    (void)arg;
    bool ok = len == 5 && !memcmp(data, "hello", 5);
    ev_emit(EV_RESULT, sw_server_worker_id(srv), src, ok, 0);
}

/* ---- test side ---------------------------------------------------------------------------- */

static int local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t l = sizeof(a);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    return ntohs(a.sin_port);
}

/* Reads one line (up to '\n') into buf. */
static void read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        cli_recv(fd, buf + n, 1);
        if (buf[n] == '\n') {
            break;
        }
        n++;
    }
    buf[n] = '\0';
}

static void cmd(int fd, const char *line, char *out, size_t cap)
{
    cli_send(fd, line, strlen(line));
    read_line(fd, out, cap);
}

/* A blocking client of 127.0.0.1:port. With enable_reuse_port each worker opens its own
 * listening socket after on_worker_start, so a refused connect is retried (bounded). */
static int connect_retry(int port)
{
    for (int i = 0; i < 500; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_TRUE(fd >= 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
            struct timeval tv = {.tv_sec = 5};
            (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
            cli_timeout(fd, scaled_ms(5000));
            return fd;
        }
        ASSERT_EQ(errno, ECONNREFUSED);
        close(fd);
        usleep(2000);
    }
    ASSERT_TRUE(!"connect kept being refused");
    return -1;
}

typedef struct {
    srv_t s;
    int fd[2];       /* a client held by worker 0 / worker 1 */
    uint64_t sid[2]; /* their sessions */
    int extra[64];   /* other clients */
    int nextra;
} fctx_t;

static void start_two(fctx_t *c, srv_spec_t *spec, int tasks)
{
    spec->mode = SW_MODE_BASE;
    spec->workers = 2;
    spec->opts[0][0] = "enable_reuse_port";
    spec->opts[0][1] = "1";
    spec->opts[1][0] = "max_wait_time";
    spec->opts[1][1] = "2";
    spec->h.on_receive = f_receive;
    if (tasks) {
        spec->opts[2][0] = "task_worker_num";
        spec->opts[2][1] = "1";
        spec->h.on_task = f_task;
        spec->h.on_finish = f_finish;
    }
    srv_start(&c->s, spec, 2 + tasks);
    c->fd[0] = c->fd[1] = -1;
    c->nextra = 0;
    /* The kernel hashes each client's 4-tuple onto one of the two SO_REUSEPORT sockets: open
     * clients until each worker holds one (all 64 on one worker: probability 2^-63). */
    for (int i = 0; i < 64 && (c->fd[0] < 0 || c->fd[1] < 0); i++) {
        int fd = connect_retry(c->s.port);
        int port = local_port(fd);
        const ev_t *e = srv_wait(&c->s, EV_CONNECT, -1, scaled_ms(5000));
        ASSERT_NOT_NULL(e);
        ASSERT_EQ((int)e->b, port);
        ASSERT_TRUE(e->worker == 0 || e->worker == 1);
        if (c->fd[e->worker] < 0) {
            c->fd[e->worker] = fd;
            c->sid[e->worker] = e->s;
        } else {
            /* Maybe the other worker does not listen yet: give it a moment. */
            c->extra[c->nextra++] = fd;
            usleep(2000);
        }
    }
    ASSERT_TRUE(c->fd[0] >= 0 && c->fd[1] >= 0);
}

static void stop_two(fctx_t *c)
{
    for (int i = 0; i < 2; i++) {
        if (c->fd[i] >= 0) {
            close(c->fd[i]);
        }
    }
    for (int i = 0; i < c->nextra; i++) {
        close(c->extra[i]);
    }
    ASSERT_EQ(srv_stop(&c->s, 20), 0);
}

SW_TEST(base_fwd_send_close)
{
    fctx_t c;
    srv_spec_t spec = {0};
    start_two(&c, &spec, 0);
    char line[256], buf[256];
    /* Worker 0 sends to worker 1's session, and the other way round. */
    for (int a = 0; a < 2; a++) {
        int b = 1 - a;
        snprintf(line, sizeof(line), "send %llu hello%d\n", (unsigned long long)c.sid[b], a);
        cmd(c.fd[a], line, buf, sizeof(buf));
        ASSERT_STR_EQ(buf, "R:0");
        read_line(c.fd[b], buf, sizeof(buf));
        snprintf(line, sizeof(line), "hello%d", a);
        ASSERT_STR_EQ(buf, line);
    }
    /* Pause + resume from the other worker, then the session still answers. */
    snprintf(line, sizeof(line), "pause %llu\n", (unsigned long long)c.sid[1]);
    cmd(c.fd[0], line, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "R:0:0");
    cmd(c.fd[1], "ping\n", buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "pong");
    /* Bind from worker 0, seen by worker 1 in its own connection_info. Worker 1 may read
     * its client's "uid" before the bind waiting in its inbox (two fds ready in one loop
     * iteration; order is kept per sender and session only): asked again until it shows,
     * bounded. */
    snprintf(line, sizeof(line), "bind %llu 4242\n", (unsigned long long)c.sid[1]);
    cmd(c.fd[0], line, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "R:0");
    for (int i = 0; i < 500; i++) {
        cmd(c.fd[1], "uid\n", buf, sizeof(buf));
        if (strcmp(buf, "U:0:0:1") != 0) {
            break;
        }
        usleep(2000);
    }
    ASSERT_STR_EQ(buf, "U:0:4242:1");
    /* connection_info / sendwait of another worker's session: documented SW_ENOTSUP. */
    snprintf(line, sizeof(line), "info %llu\n", (unsigned long long)c.sid[1]);
    cmd(c.fd[0], line, buf, sizeof(buf));
    snprintf(line, sizeof(line), "R:%d:%d", SW_ENOTSUP, SW_ENOTSUP);
    ASSERT_STR_EQ(buf, line);
    /* Bad sessions. */
    cmd(c.fd[0], "bad\n", buf, sizeof(buf));
    snprintf(line, sizeof(line), "X:%d,%d,%d", SW_EINVAL, SW_ESESSION, SW_ESESSION);
    ASSERT_STR_EQ(buf, line);
    /* 200 sends then a close from worker 0: all arrive in order, then EOF; on_close runs in
     * worker 1 with reactor id -1 (a server-side close). */
    snprintf(line, sizeof(line), "seq %llu 200\n", (unsigned long long)c.sid[1]);
    cmd(c.fd[0], line, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "R:0:0");
    for (int i = 0; i < 200; i++) {
        char want[32];
        snprintf(want, sizeof(want), "m%d", i);
        read_line(c.fd[1], buf, sizeof(buf));
        ASSERT_STR_EQ(buf, want);
    }
    ASSERT_EQ(cli_wait_close(c.fd[1]), 0);
    const ev_t *e = srv_wait(&c.s, EV_CLOSE, 1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_UEQ(e->s, c.sid[1]);
    ASSERT_EQ(e->a, -1);
    /* The session is gone: the next call fails in the caller, from the directory. */
    snprintf(line, sizeof(line), "send %llu late\n", (unsigned long long)c.sid[1]);
    cmd(c.fd[0], line, buf, sizeof(buf));
    snprintf(line, sizeof(line), "R:%d", SW_ESESSION);
    ASSERT_STR_EQ(buf, line);
    stop_two(&c);
}

SW_TEST(base_fwd_thread_and_sendfile)
{
    fctx_t c;
    srv_spec_t spec = {0};
    start_two(&c, &spec, 0);
    char line[512], buf[256];
    /* sendfile of another worker's session: the owner opens the file. */
    char path[] = "/tmp/swfwd-XXXXXX";
    int tfd = mkstemp(path);
    ASSERT_TRUE(tfd >= 0);
    ASSERT_EQ(write(tfd, "file-bytes\n", 11), 11);
    close(tfd);
    snprintf(line, sizeof(line), "file %llu %s\n", (unsigned long long)c.sid[0], path);
    cmd(c.fd[1], line, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "R:0");
    read_line(c.fd[0], buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "file-bytes");
    unlink(path);
    /* A thread of worker 1 (not its loop thread) sends then closes: posted to the loop, then
     * forwarded in order. */
    snprintf(line, sizeof(line), "thread %llu\n", (unsigned long long)c.sid[0]);
    cmd(c.fd[1], line, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "R:0");
    read_line(c.fd[0], buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "from-thread");
    ASSERT_EQ(cli_wait_close(c.fd[0]), 0);
    stop_two(&c);
}

SW_TEST(base_fwd_reset)
{
    fctx_t c;
    srv_spec_t spec = {0};
    start_two(&c, &spec, 0);
    char line[256], buf[256];
    snprintf(line, sizeof(line), "reset %llu\n", (unsigned long long)c.sid[0]);
    cmd(c.fd[1], line, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "R:0");
    int rc = cli_wait_close(c.fd[0]);
    ASSERT_TRUE(rc == 0 || rc == SW_ECONNRESET);
    stop_two(&c);
}

SW_TEST(base_fwd_broadcast)
{
    fctx_t c;
    srv_spec_t spec = {0};
    start_two(&c, &spec, 0);
    int total = 2 + c.nextra;
    char buf[256], want[64];
    /* Worker 1 sends to every connection of the server (both workers') via the listing. */
    cmd(c.fd[1], "bcast hi-all\n", buf, sizeof(buf));
    /* Its own client gets the broadcast first (same callback, sent before the reply). */
    ASSERT_STR_EQ(buf, "hi-all");
    read_line(c.fd[1], buf, sizeof(buf));
    snprintf(want, sizeof(want), "N:%d:0", total);
    ASSERT_STR_EQ(buf, want);
    read_line(c.fd[0], buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "hi-all");
    for (int i = 0; i < c.nextra; i++) {
        read_line(c.extra[i], buf, sizeof(buf));
        ASSERT_STR_EQ(buf, "hi-all");
    }
    stop_two(&c);
}

SW_TEST(base_fwd_from_task_worker)
{
    fctx_t c;
    srv_spec_t spec = {0};
    start_two(&c, &spec, 1);
    char line[256], buf[256];
    for (int a = 0; a < 2; a++) {
        snprintf(line, sizeof(line), "tsend %llu via-task%d\n", (unsigned long long)c.sid[a], a);
        cmd(c.fd[1 - a], line, buf, sizeof(buf));
        ASSERT_STR_EQ(buf, "R:0");
        const ev_t *e = srv_wait(&c.s, EV_RESULT, 2, scaled_ms(5000));
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(e->a, 0);
        read_line(c.fd[a], buf, sizeof(buf));
        snprintf(line, sizeof(line), "via-task%d", a);
        ASSERT_STR_EQ(buf, line);
    }
    stop_two(&c);
}

/* ---- sw_server_stats: per-worker connection_num (PROCESS/THREAD) and task counters ------- */

static void start_mode(srv_t *s, srv_spec_t *spec, sw_server_mode_t mode, const char *dispatch,
                       int tasks)
{
    spec->mode = mode;
    spec->workers = 2;
    int k = 0;
    spec->opts[k][0] = "dispatch_mode";
    spec->opts[k++][1] = dispatch;
    spec->opts[k][0] = "max_wait_time";
    spec->opts[k++][1] = "2";
    if (mode != SW_MODE_BASE) {
        spec->opts[k][0] = "reactor_num";
        spec->opts[k++][1] = "2";
    }
    if (tasks) {
        spec->opts[k][0] = "task_worker_num";
        spec->opts[k++][1] = "1";
        spec->h.on_task = f_task;
        spec->h.on_finish = f_finish;
    }
    spec->h.on_receive = f_receive;
    srv_start(s, spec, 2 + tasks);
}

/* Asks every client for its worker's connection count; returns the sum over the distinct
 * workers seen (each connection is counted by exactly one worker). */
static unsigned long long conn_sum(int *fds, int n)
{
    unsigned long long per[2] = {0, 0};
    bool seen[2] = {false, false};
    char buf[128];
    for (int i = 0; i < n; i++) {
        cmd(fds[i], "wstats\n", buf, sizeof(buf));
        int rc = -1, w = -1;
        unsigned long long v = 0;
        ASSERT_EQ(sscanf(buf, "C:%d:%d:%llu", &rc, &w, &v), 3);
        ASSERT_EQ(rc, 0);
        ASSERT_TRUE(w == 0 || w == 1);
        per[w] = v;
        seen[w] = true;
    }
    return (seen[0] ? per[0] : 0) + (seen[1] ? per[1] : 0);
}

static void conn_counts(sw_server_mode_t mode)
{
    srv_t s;
    srv_spec_t spec = {0};
    start_mode(&s, &spec, mode, "2", 0);
    int fds[6];
    for (int i = 0; i < 6; i++) {
        fds[i] = cli_tcp(s.port);
    }
    /* CONNECT reaches the worker before the client's first message: exact at once. */
    ASSERT_EQ(conn_sum(fds, 6), 6ull);
    close(fds[5]);
    /* The close reaches the counters after the reactor saw it: bounded poll. */
    unsigned long long sum = 0;
    for (int i = 0; i < 500 && (sum = conn_sum(fds, 5)) != 5; i++) {
        usleep(2000);
    }
    ASSERT_EQ(sum, 5ull);
    for (int i = 0; i < 5; i++) {
        close(fds[i]);
    }
    ASSERT_EQ(srv_stop(&s, 20), 0);
}

SW_TEST_TIMEOUT(stats_worker_connection_num_process, 60)
{
    conn_counts(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(stats_worker_connection_num_thread, 60)
{
    conn_counts(SW_MODE_THREAD);
}

/* Round-robin dispatch: a connection has no worker, nothing is counted per worker. */
SW_TEST_TIMEOUT(stats_worker_connection_num_mode1, 60)
{
    srv_t s;
    srv_spec_t spec = {0};
    start_mode(&s, &spec, SW_MODE_PROCESS, "1", 0);
    int fd = cli_tcp(s.port);
    ASSERT_EQ(conn_sum(&fd, 1), 0ull);
    close(fd);
    ASSERT_EQ(srv_stop(&s, 20), 0);
}

static void task_counts(sw_server_mode_t mode)
{
    srv_t s;
    srv_spec_t spec = {0};
    start_mode(&s, &spec, mode, "2", 1);
    int fd = cli_tcp(s.port);
    char buf[128];
    cmd(fd, "tstats\n", buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "T:0:0:0:0:1");
    for (int i = 0; i < 3; i++) {
        cmd(fd, "tw\n", buf, sizeof(buf));
        ASSERT_STR_EQ(buf, "W:0");
    }
    /* The task worker counts a task done after on_task returned, which may be just after the
     * result arrived: bounded poll. */
    for (int i = 0; i < 500; i++) {
        cmd(fd, "tstats\n", buf, sizeof(buf));
        if (!strcmp(buf, "T:0:3:3:0:1")) {
            break;
        }
        usleep(2000);
    }
    ASSERT_STR_EQ(buf, "T:0:3:3:0:1");
    close(fd);
    ASSERT_EQ(srv_stop(&s, 20), 0);
}

SW_TEST_TIMEOUT(stats_task_counters_base, 60)
{
    task_counts(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(stats_task_counters_process, 60)
{
    task_counts(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(stats_task_counters_thread, 60)
{
    task_counts(SW_MODE_THREAD);
}

/* THREAD mode without task workers: worker threads still message each other (the inboxes
 * are made whenever worker_num > 1). */
SW_TEST_TIMEOUT(thread_send_message_without_tasks, 60)
{
    srv_t s;
    srv_spec_t spec = {0};
    spec.h.on_pipe_message = f_pipe;
    start_mode(&s, &spec, SW_MODE_THREAD, "2", 0);
    int fd = cli_tcp(s.port);
    char buf[128], line[64];
    cmd(fd, "wstats\n", buf, sizeof(buf));
    int rc = -1, me = -1;
    unsigned long long v = 0;
    ASSERT_EQ(sscanf(buf, "C:%d:%d:%llu", &rc, &me, &v), 3);
    snprintf(line, sizeof(line), "msg %d\n", 1 - me);
    cmd(fd, line, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "R:0");
    const ev_t *e = srv_wait(&s, EV_RESULT, 1 - me, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, me);
    ASSERT_EQ(e->b, 1);
    snprintf(line, sizeof(line), "msg %d\n", me);
    cmd(fd, line, buf, sizeof(buf));
    snprintf(line, sizeof(line), "R:%d", SW_EWORKER_ID);
    ASSERT_STR_EQ(buf, line);
    close(fd);
    ASSERT_EQ(srv_stop(&s, 20), 0);
}

/* THREAD mode: a task worker thread that cannot be created fails the start, and everything
 * made so far (reactor threads, channels) is undone. Thread creations: the reactor thread,
 * then the task worker thread (failed here). */
SW_TEST(thread_task_thread_create_fails)
{
    if (!sw__fault_enabled()) {
        return;
    }
    sw_server_t *srv;
    ASSERT_OK(sw_server_create(&srv, SW_MODE_THREAD));
    ASSERT_OK(sw_server_set_option(srv, "worker_num", "1"));
    ASSERT_OK(sw_server_set_option(srv, "reactor_num", "1"));
    ASSERT_OK(sw_server_set_option(srv, "task_worker_num", "1"));
    ASSERT_OK(sw_server_set_option(srv, "log_level", "5"));
    ASSERT_OK(sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP, NULL));
    ASSERT_OK(sw__fault_set("thread", 1, 1));
    ASSERT_ERR(sw_server_start(srv), SW_EAGAIN);
    sw__fault_reset();
    ASSERT_OK(sw_server_destroy(srv));
}

/* PROCESS: a task worker has no channel to the reactor threads; an event worker relays its
 * send (base_fwd.c). THREAD: a task worker thread posts it to the reactor thread. */
static void task_worker_send(sw_server_mode_t mode)
{
    srv_t s;
    srv_spec_t spec = {0};
    start_mode(&s, &spec, mode, "2", 1);
    int fd = cli_tcp(s.port);
    char buf[128], line[128];
    unsigned long long sid = 0;
    cmd(fd, "sid\n", buf, sizeof(buf));
    ASSERT_EQ(sscanf(buf, "S:%llu", &sid), 1);
    snprintf(line, sizeof(line), "tsend %llu from-task\n", sid);
    /* The task runs while the worker's reply waits for its callback to end: either line may
     * come first. */
    char other[128];
    cmd(fd, line, buf, sizeof(buf));
    read_line(fd, other, sizeof(other));
    ASSERT_TRUE((!strcmp(buf, "R:0") && !strcmp(other, "from-task")) ||
                (!strcmp(buf, "from-task") && !strcmp(other, "R:0")));
    const ev_t *e = srv_wait(&s, EV_RESULT, 2, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    close(fd);
    ASSERT_EQ(srv_stop(&s, 20), 0);
}

SW_TEST_TIMEOUT(process_task_worker_send_relayed, 60)
{
    task_worker_send(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(thread_task_worker_send, 60)
{
    task_worker_send(SW_MODE_THREAD);
}

/* The owner dies (SIGKILL): the manager clears its sessions, so a call from the other worker
 * fails at once with SW_ESESSION (checked after the replacement started). */
SW_TEST_TIMEOUT(base_fwd_owner_killed, 60)
{
    fctx_t c;
    srv_spec_t spec = {0};
    start_two(&c, &spec, 0);
    int victim = 0;
    for (int i = 0; i < c.s.nevs; i++) {
        if (c.s.evs[i].type == EV_WSTART && c.s.evs[i].worker == 1) {
            victim = c.s.evs[i].pid;
        }
    }
    ASSERT_GT(victim, 0);
    ASSERT_EQ(kill(victim, SIGKILL), 0);
    ASSERT_NOT_NULL(srv_wait(&c.s, EV_WERROR, 1, scaled_ms(5000)));
    ASSERT_NOT_NULL(srv_wait(&c.s, EV_WSTART, 1, scaled_ms(5000)));
    char line[128], buf[128];
    snprintf(line, sizeof(line), "send %llu gone\n", (unsigned long long)c.sid[1]);
    cmd(c.fd[0], line, buf, sizeof(buf));
    snprintf(line, sizeof(line), "R:%d", SW_ESESSION);
    ASSERT_STR_EQ(buf, line);
    stop_two(&c);
}
