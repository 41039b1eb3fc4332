/*
 * Task workers, worker messages and user processes (src/server/task*.c, message.c): issue 6
 * items 3-7 and 10, in BASE and PROCESS mode.
 *
 * The server runs in a forked child (test_server_util.h). A client drives an event worker
 * with one-line text commands (one command per read: the client waits for each reply);
 * the worker answers with one line. Task workers run the commands of on_task below. Processes
 * report what only they can see (pids, messages received) as EV_RESULT events:
 * worker = reporting id, a = TAG_*, b = value, s = extra.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fault.h"
#include "sw_test.h"
#include "swoole/error.h"
#include "swoole/timer.h"
#include "test_server_util.h"

#include "test_server_task.h"

/* The server child's state (test program globals; inherited by every server process). */
static char g_tmpdir[128];
static int g_workers = 1;
static uint64_t g_ids[64];
static uint64_t g_sessions[64];
static int g_nids;

static void fill(char *p, size_t n, const char *tag)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (char)('a' + i % 26);
    }
    memcpy(p, tag, n < 4 ? n : 4);
}

static bool check(const char *p, size_t n)
{
    for (size_t i = 4; i < n; i++) {
        if (p[i] != (char)('a' + i % 26)) {
            return false;
        }
    }
    return true;
}

static int count_tmpfiles(void)
{
    DIR *d = opendir(g_tmpdir);
    if (!d) {
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += !strncmp(e->d_name, "swoole.task.", 12);
    }
    closedir(d);
    return n;
}

/* ---- server side --------------------------------------------------------------------------- */

static void reply(sw_server_t *srv, uint64_t session, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reply(sw_server_t *srv, uint64_t session, const char *fmt, ...)
{
    char buf[512];
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

static void t_task(sw_server_t *srv, uint64_t id, int src, const void *data, size_t len, void *arg)
{
    (void)arg;
    (void)id;
    (void)src;
    const char *d = data;
    char out[64];
    if (len > 4 && d[0] == 'B') {
        /* A big payload: answered with itself when intact. */
        if (check(d, len)) {
            (void)sw_server_task_finish(srv, data, len);
        } else {
            (void)sw_server_task_finish(srv, "corrupt", 7);
        }
    } else if (len >= 5 && !strncmp(d, "echo:", 5)) {
        (void)sw_server_task_finish(srv, d + 5, len - 5);
    } else if (len >= 6 && !strncmp(d, "sleep:", 6)) {
        int ms = atoi(d + 6);
        const char *x = strchr(d + 6, ':');
        usleep((useconds_t)ms * 1000);
        (void)sw_server_task_finish(srv, x ? x + 1 : "", x ? len - (size_t)(x + 1 - d) : 0);
    } else if (len >= 7 && !strncmp(d, "bigres:", 7)) {
        /* bigres:MS:N: after MS ms, a result of N bytes (over 64 KiB: by file). */
        int ms = atoi(d + 7);
        const char *x = strchr(d + 7, ':');
        size_t n = x ? (size_t)atol(x + 1) : 0;
        char *p = malloc(n + 1);
        fill(p, n, "Rxxx");
        usleep((useconds_t)ms * 1000);
        (void)sw_server_task_finish(srv, p, n);
        free(p);
    } else if (len == 3 && !strncmp(d, "pid", 3)) {
        int n = snprintf(out, sizeof(out), "%d", (int)getpid());
        (void)sw_server_task_finish(srv, out, (size_t)n);
    } else if (len == 6 && !strncmp(d, "whoami", 6)) {
        int n = snprintf(out, sizeof(out), "%d", sw_server_worker_id(srv));
        (void)sw_server_task_finish(srv, out, (size_t)n);
    } else if (len >= 8 && !strncmp(d, "sleeppid", 8)) {
        ev_emit(EV_RESULT, sw_server_worker_id(srv), TAG_TASKPID, getpid(), 0);
        for (int i = 0; i < 1000; i++) {
            usleep(10000); /* killed long before */
        }
    } else if (len == 4 && !strncmp(d, "self", 4)) {
        int r1 = sw_server_task(srv, "x", 1, -1, NULL);
        (void)sw_server_task_finish(srv, "ok", 2);
        int r2 = sw_server_task_finish(srv, "again", 5);
        ev_emit(EV_RESULT, sw_server_worker_id(srv), TAG_TBAD, r1, (uint64_t)(int64_t)r2);
    }
    /* "none": no result */
}

static void t_finish(sw_server_t *srv, uint64_t id, const void *data, size_t len, void *arg)
{
    (void)arg;
    for (int i = 0; i < g_nids; i++) {
        if (g_ids[i] == id) {
            reply(srv, g_sessions[i], "F:%.*s", (int)(len > 100 ? 100 : len), (const char *)data);
            g_ids[i] = 0;
            return;
        }
    }
}

static void t_pipe(sw_server_t *srv, int src, const void *data, size_t len, void *arg)
{
    (void)arg;
    const char *d = data;
    bool ok = len >= 4 && check(d, len);
    ev_emit(EV_RESULT, sw_server_worker_id(srv), TAG_MSG, (int64_t)len,
            (uint64_t)src << 1 | (ok ? 1u : 0u));
    if (len >= 4 && !memcmp(d, "ping", 4)) {
        char *p = malloc(len);
        fill(p, len, "pong");
        (void)sw_server_send_message(srv, src, p, len);
        free(p);
    }
}

static void t_timer(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    sw_server_t *srv = arg;
    ev_emit(EV_RESULT, sw_server_worker_id(srv), TAG_TIMER, 0, 0);
}

static void t_wstart(sw_server_t *srv, int id, void *arg)
{
    (void)arg;
    ev_emit(EV_WSTART, id, 0, 0, 0);
    if (id >= g_workers) {
        (void)sw_server_after(srv, 5, t_timer, srv, NULL);
    }
}

static void cmd_big(sw_server_t *srv, uint64_t session, size_t n)
{
    char *p = malloc(n);
    fill(p, n, "Bxxx");
    void *res = NULL;
    size_t rlen = 0;
    int rc = sw_server_taskwait(srv, p, n, scaled_ms(5000), -1, &res, &rlen);
    bool eq = rc == 0 && rlen == n && !memcmp(res, p, n);
    sw_server_task_free(res);
    free(p);
    reply(srv, session, "B:%d:%d:%d", rc, eq, count_tmpfiles());
}

static void cmd_multi(sw_server_t *srv, uint64_t session)
{
    sw_task_wait_t t[3] = {{.data = "echo:0", .len = 6},
                           {.data = "echo:1", .len = 6},
                           {.data = "sleep:5000:x", .len = 12}};
    int rc = sw_server_taskwait_multi(srv, t, 3, 1000);
    reply(srv, session, "M:%d:%d,%d,%d:%s,%s", rc, t[0].status, t[1].status, t[2].status,
          t[0].result ? (char *)t[0].result : "-", t[1].result ? (char *)t[1].result : "-");
    for (int i = 0; i < 3; i++) {
        sw_server_task_free(t[i].result);
    }
}

static void cmd_bad(sw_server_t *srv, uint64_t session)
{
    void *res = (void *)1;
    int a = sw_server_task(NULL, "x", 1, -1, NULL);
    int b = sw_server_task(srv, "x", 1, 99, NULL);
    int c = sw_server_taskwait(srv, "x", 1, 10, -1, NULL, NULL);
    int d = sw_server_task_finish(srv, "x", 1);
    int e = sw_server_send_message(srv, sw_server_worker_id(srv), "x", 1);
    int f = sw_server_send_message(srv, 1000, "x", 1);
    int g = sw_server_taskwait_multi(srv, NULL, 1, 10);
    int h = sw_server_task(srv, NULL, 5, -1, NULL);
    (void)res;
    reply(srv, session, "X:%d,%d,%d,%d,%d,%d,%d,%d", a, b, c, d, e, f, g, h);
}

static void t_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
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
    int dst, timeout;
    char payload[200];
    unsigned long size;
    if (sscanf(cmd, "task %d %199s", &dst, payload) == 2) {
        uint64_t id = 0;
        int rc = sw_server_task(srv, payload, strlen(payload), dst, &id);
        if (rc < 0) {
            reply(srv, session, "T:%d", rc);
        } else if (g_nids < 64) {
            g_ids[g_nids] = id;
            g_sessions[g_nids++] = session;
        }
    } else if (sscanf(cmd, "wait %d %d %199s", &timeout, &dst, payload) == 3) {
        void *res = NULL;
        size_t rlen = 0;
        int rc =
            sw_server_taskwait(srv, payload, strlen(payload), scaled_ms(timeout), dst, &res, &rlen);
        reply(srv, session, "W:%d:%.*s", rc, (int)(rlen > 100 ? 100 : rlen),
              res ? (char *)res : "");
        sw_server_task_free(res);
    } else if (sscanf(cmd, "big %lu", &size) == 1) {
        cmd_big(srv, session, size);
    } else if (!strcmp(cmd, "multi")) {
        cmd_multi(srv, session);
    } else if (sscanf(cmd, "msg %d %lu", &dst, &size) == 2) {
        char *p = malloc(size);
        fill(p, size, "ping");
        int rc = sw_server_send_message(srv, dst, p, size);
        free(p);
        reply(srv, session, "S:%d", rc);
    } else if (!strcmp(cmd, "bad")) {
        cmd_bad(srv, session);
    } else if (!strcmp(cmd, "bigsleep")) {
        /* A 1 MiB task (so it travels by file) that makes its task worker sleep. */
        size_t sz = (size_t)1 << 20;
        char *p = malloc(sz);
        fill(p, sz, "slee");
        memcpy(p, "sleeppid", 8);
        int rc = sw_server_task(srv, p, sz, 0, NULL);
        free(p);
        reply(srv, session, "Z:%d", rc);
    } else if (sscanf(cmd, "pidof %d", &dst) == 1) {
        reply(srv, session, "P:%d", (int)sw_server_get_worker_pid(srv, dst));
    } else if (!strcmp(cmd, "files")) {
        reply(srv, session, "N:%d", count_tmpfiles());
    } else {
        reply(srv, session, "?");
    }
}

/* ---- test side ---------------------------------------------------------------------------- */

static void make_tmpdir(int n)
{
    snprintf(g_tmpdir, sizeof(g_tmpdir), "/tmp/swtask-%d-%d", (int)getpid(), n);
}

static void remove_tmpdir(void)
{
    ASSERT_EQ(count_tmpfiles(), 0);
    (void)rmdir(g_tmpdir);
}

/* Starts a server with `workers` event workers and `tasks` task workers in `mode`, with
 * extra options `extra` (name, value pairs, NULL-terminated, at most 8). */
void task_start(task_ctx_t *c, srv_spec_t *spec, sw_server_mode_t mode, int workers, int tasks,
                const char *const *extra)
{
    static char tn[16];
    snprintf(tn, sizeof(tn), "%d", tasks);
    make_tmpdir(tasks * 100 + workers * 10 + (int)mode);
    g_workers = workers;
    spec->mode = mode;
    spec->workers = workers;
    int k = 0;
    spec->opts[k][0] = "task_worker_num";
    spec->opts[k++][1] = tn;
    spec->opts[k][0] = "task_tmpdir";
    spec->opts[k++][1] = g_tmpdir;
    spec->opts[k][0] = "max_wait_time";
    spec->opts[k++][1] = "1";
    if (mode != SW_MODE_BASE) {
        spec->opts[k][0] = "reactor_num";
        spec->opts[k++][1] = "1";
    }
    for (int i = 0; extra && extra[i]; i += 2) {
        spec->opts[k][0] = extra[i];
        spec->opts[k++][1] = extra[i + 1];
    }
    spec->h.on_receive = t_receive;
    spec->h.on_task = t_task;
    spec->h.on_finish = t_finish;
    spec->h.on_pipe_message = t_pipe;
    spec->h.on_worker_start = t_wstart;
    srv_start(&c->s, spec, workers + tasks);
    c->fd = cli_tcp(c->s.port);
}

void task_stop(task_ctx_t *c)
{
    close(c->fd);
    ASSERT_EQ(srv_stop(&c->s, 20), 0);
    remove_tmpdir();
}

/* Sends one command and reads the one-line reply into `out`. */
void task_cmd(task_ctx_t *c, const char *line, char *out, size_t cap)
{
    cli_send(c->fd, line, strlen(line));
    size_t n = 0;
    while (n < cap - 1) {
        char ch;
        cli_recv(c->fd, &ch, 1);
        if (ch == '\n') {
            break;
        }
        out[n++] = ch;
    }
    out[n] = '\0';
}

void task_expect(task_ctx_t *c, const char *line, const char *want)
{
    char got[512];
    task_cmd(c, line, got, sizeof(got));
    ASSERT_STR_EQ(got, want);
}

const ev_t *task_wait_tag(srv_t *s, int tag, int worker, int ms)
{
    for (;;) {
        const ev_t *e = srv_wait(s, EV_RESULT, worker, ms);
        if (!e || e->a == tag) {
            return e;
        }
    }
}

/* ---- cases ---------------------------------------------------------------------------------- */

static void task_basic_opts(sw_server_mode_t mode, const char *const *extra)
{
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, mode, 2, 2, extra);
    task_expect(&c, "task -1 echo:hello", "F:hello");
    task_expect(&c, "task 1 echo:there", "F:there");
    task_expect(&c, "wait 2000 -1 echo:abc", "W:0:abc");
    task_expect(&c, "wait 2000 0 whoami", "W:0:2");
    task_expect(&c, "wait 2000 1 whoami", "W:0:3");
    task_stop(&c);
}

SW_TEST_TIMEOUT(task_finish_and_wait_base, 60)
{
    task_basic_opts(SW_MODE_BASE, NULL);
}

SW_TEST_TIMEOUT(task_finish_and_wait_process, 60)
{
    task_basic_opts(SW_MODE_PROCESS, NULL);
}

SW_TEST_TIMEOUT(task_ipc_mode2, 60)
{
    static const char *const x[] = {"task_ipc_mode", "2", NULL};
    task_basic_opts(SW_MODE_BASE, x);
}

SW_TEST_TIMEOUT(task_ipc_mode3, 60)
{
    static const char *const x[] = {"task_ipc_mode", "3", NULL};
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, SW_MODE_BASE, 1, 2, x);
    task_expect(&c, "task -1 echo:hello", "F:hello");
    task_expect(&c, "wait 2000 -1 echo:abc", "W:0:abc");
    /* dst is ignored: whichever task worker is free takes it. */
    char got[64];
    task_cmd(&c, "wait 2000 0 whoami", got, sizeof(got));
    ASSERT_TRUE(!strcmp(got, "W:0:1") || !strcmp(got, "W:0:2"));
    task_expect(&c, "big 100000", "B:0:1:0");
    task_stop(&c);
}

SW_TEST_TIMEOUT(task_ipc_mode2_tmpfile, 60)
{
    static const char *const x[] = {"task_ipc_mode", "2", NULL};
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, SW_MODE_PROCESS, 1, 1, x);
    task_expect(&c, "big 20000", "B:0:1:0");
    task_stop(&c);
}

/* A result that comes after its taskwait gave up is dropped; the next taskwait gets its own
 * result, and no on_finish runs for the late one. */
void task_late_result(sw_server_mode_t mode)
{
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, mode, 1, 1, NULL);
    char got[64];
    snprintf(got, sizeof(got), "W:%d:", SW_ETIMEDOUT);
    task_expect(&c, "wait 50 -1 sleep:1500:late", got);
    task_expect(&c, "wait 3000 -1 echo:next", "W:0:next");
    task_expect(&c, "wait 3000 -1 echo:third", "W:0:third");
    /* An async task after it: only its own result. */
    task_expect(&c, "task -1 echo:async", "F:async");
    task_stop(&c);
}

SW_TEST_TIMEOUT(taskwait_timeout_late_result, 60)
{
    task_late_result(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(taskwait_none_times_out, 60)
{
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, SW_MODE_PROCESS, 1, 1, NULL);
    char want[64];
    snprintf(want, sizeof(want), "W:%d:", SW_ETIMEDOUT);
    task_expect(&c, "wait 100 -1 none", want);
    task_expect(&c, "wait 3000 -1 echo:ok", "W:0:ok");
    task_stop(&c);
}

void task_multi(sw_server_mode_t mode)
{
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, mode, 1, 2, NULL);
    char want[64];
    snprintf(want, sizeof(want), "M:2:0,0,%d:0,1", SW_ETIMEDOUT);
    task_expect(&c, "multi", want);
    task_stop(&c);
}

SW_TEST_TIMEOUT(taskwait_multi, 60)
{
    task_multi(SW_MODE_BASE);
}

void task_big(sw_server_mode_t mode)
{
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, mode, 1, 1, NULL);
    /* 1 MiB each way through temp files; none left once the taskwait returned. */
    task_expect(&c, "big 1048576", "B:0:1:0");
    task_expect(&c, "big 65536", "B:0:1:0");
    task_expect(&c, "big 70000", "B:0:1:0");
    task_stop(&c);
}

SW_TEST_TIMEOUT(task_1mib_tmpfile_base, 60)
{
    task_big(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(task_1mib_tmpfile_process, 60)
{
    task_big(SW_MODE_PROCESS);
}

/* A task worker killed in the middle of a task (whose 1 MiB payload came by file) is
 * respawned with its id; the server keeps serving; no file is left. */
static void killed_case(sw_server_mode_t mode)
{
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, mode, 1, 1, NULL);
    task_expect(&c, "bigsleep", "Z:0");
    const ev_t *e = task_wait_tag(&c.s, TAG_TASKPID, 1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    pid_t victim = (pid_t)e->b;
    ASSERT_EQ(kill(victim, SIGKILL), 0);
    const ev_t *err = srv_wait(&c.s, EV_WERROR, 1, scaled_ms(5000));
    ASSERT_NOT_NULL(err);
    ASSERT_EQ(err->b, SIGKILL);
    const ev_t *again = srv_wait(&c.s, EV_WSTART, 1, scaled_ms(5000));
    ASSERT_NOT_NULL(again);
    ASSERT_NE(again->pid, (int)victim);
    task_expect(&c, "wait 3000 -1 echo:after", "W:0:after");
    task_expect(&c, "big 1048576", "B:0:1:0");
    task_expect(&c, "files", "N:0");
    task_stop(&c);
}

SW_TEST_TIMEOUT(task_worker_killed_base, 60)
{
    killed_case(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(task_worker_killed_process, 60)
{
    killed_case(SW_MODE_PROCESS);
}

/* Messages: worker -> worker, worker -> task worker -> back, each 1 MiB and small. */
void task_messages(sw_server_mode_t mode)
{
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, mode, 2, 1, NULL);
    /* The client's connection is on worker 0 or 1: find out by asking for a message to the
     * other one (sending to itself is refused). */
    char got[64];
    task_cmd(&c, "msg 1 1048576", got, sizeof(got));
    int me = 0, other = 1;
    if (strcmp(got, "S:0") != 0) {
        me = 1;
        other = 0;
        char want[32];
        snprintf(want, sizeof(want), "S:%d", SW_EWORKER_ID);
        ASSERT_STR_EQ(got, want);
        task_expect(&c, "msg 0 1048576", "S:0");
    }
    /* other got ping (1 MiB, from me), answered pong, which me got. */
    const ev_t *e = task_wait_tag(&c.s, TAG_MSG, other, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->b, 1048576);
    ASSERT_EQ(e->s, (uint64_t)me << 1 | 1);
    e = task_wait_tag(&c.s, TAG_MSG, me, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->b, 1048576);
    ASSERT_EQ(e->s, (uint64_t)other << 1 | 1);
    /* Worker -> task worker (id 2) -> back. */
    task_expect(&c, "msg 2 1048576", "S:0");
    e = task_wait_tag(&c.s, TAG_MSG, 2, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->b, 1048576);
    ASSERT_EQ(e->s, (uint64_t)me << 1 | 1);
    e = task_wait_tag(&c.s, TAG_MSG, me, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->s, 2u << 1 | 1);
    task_expect(&c, "msg 2 10", "S:0");
    e = task_wait_tag(&c.s, TAG_MSG, 2, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->b, 10);
    task_stop(&c);
}

SW_TEST_TIMEOUT(send_message_base, 60)
{
    task_messages(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(send_message_process, 60)
{
    task_messages(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(task_worker_timer, 60)
{
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, SW_MODE_PROCESS, 1, 2, NULL);
    ASSERT_NOT_NULL(task_wait_tag(&c.s, TAG_TIMER, 1, scaled_ms(5000)));
    ASSERT_NOT_NULL(task_wait_tag(&c.s, TAG_TIMER, 2, scaled_ms(5000)));
    task_stop(&c);
}

/* SIGUSR2 replaces the task workers only; SIGUSR1 replaces both kinds. */
SW_TEST_TIMEOUT(task_reload_sigusr2, 60)
{
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, SW_MODE_BASE, 2, 2, NULL);
    int wpid[4] = {0};
    for (int i = 0; i < c.s.nevs; i++) {
        if (c.s.evs[i].type == EV_WSTART) {
            wpid[c.s.evs[i].worker] = c.s.evs[i].pid;
        }
    }
    ASSERT_EQ(kill(c.s.pid, SIGUSR2), 0);
    const ev_t *a = srv_wait(&c.s, EV_WSTART, 2, scaled_ms(5000));
    const ev_t *b = srv_wait(&c.s, EV_WSTART, 3, scaled_ms(5000));
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(b);
    ASSERT_NE(a->pid, wpid[2]);
    ASSERT_NE(b->pid, wpid[3]);
    /* Let the reload settle; the event workers are the same processes. */
    usleep((useconds_t)scaled_ms(300) * 1000);
    srv_poll(&c.s);
    ASSERT_TRUE(pid_alive(wpid[0]));
    ASSERT_TRUE(pid_alive(wpid[1]));
    ASSERT_NULL(srv_wait(&c.s, EV_WSTART, 0, 0));
    ASSERT_NULL(srv_wait(&c.s, EV_WSTART, 1, 0));
    task_expect(&c, "wait 3000 -1 echo:reloaded", "W:0:reloaded");
    /* SIGUSR1: every worker. */
    ASSERT_EQ(kill(c.s.pid, SIGUSR1), 0);
    for (int id = 0; id < 4; id++) {
        ASSERT_NOT_NULL(srv_wait(&c.s, EV_WSTART, id, scaled_ms(5000)));
    }
    close(c.fd);
    c.fd = cli_tcp(c.s.port);
    task_expect(&c, "wait 3000 -1 echo:again", "W:0:again");
    task_stop(&c);
}

SW_TEST_TIMEOUT(task_reload_sigusr2_process, 60)
{
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, SW_MODE_PROCESS, 1, 1, NULL);
    int wpid = 0, tpid = 0;
    for (int i = 0; i < c.s.nevs; i++) {
        if (c.s.evs[i].type == EV_WSTART) {
            *(c.s.evs[i].worker == 0 ? &wpid : &tpid) = c.s.evs[i].pid;
        }
    }
    char want[64];
    snprintf(want, sizeof(want), "P:%d", tpid);
    task_expect(&c, "pidof 1", want);
    snprintf(want, sizeof(want), "P:%d", SW_EWORKER_ID);
    task_expect(&c, "pidof 2", want);
    ASSERT_EQ(kill(c.s.pid, SIGUSR2), 0);
    const ev_t *a = srv_wait(&c.s, EV_WSTART, 1, scaled_ms(5000));
    ASSERT_NOT_NULL(a);
    ASSERT_NE(a->pid, tpid);
    ASSERT_TRUE(pid_alive(wpid));
    ASSERT_NULL(srv_wait(&c.s, EV_WSTART, 0, 0));
    task_expect(&c, "wait 3000 -1 echo:ok", "W:0:ok");
    task_stop(&c);
}

SW_TEST_TIMEOUT(task_max_request, 60)
{
    static const char *const x[] = {"task_max_request", "2", NULL};
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, SW_MODE_BASE, 1, 1, x);
    char p1[64], p2[64], p3[64];
    task_cmd(&c, "wait 3000 0 pid", p1, sizeof(p1));
    task_cmd(&c, "wait 3000 0 pid", p2, sizeof(p2));
    ASSERT_STR_EQ(p1, p2);
    ASSERT_NOT_NULL(srv_wait(&c.s, EV_WSTART, 1, scaled_ms(5000)));
    task_cmd(&c, "wait 3000 0 pid", p3, sizeof(p3));
    ASSERT_EQ(strncmp(p3, "W:0:", 4), 0);
    ASSERT_TRUE(strcmp(p1, p3) != 0);
    ASSERT_EQ(srv_count(&c.s, EV_WERROR), 0);
    task_stop(&c);
}

void task_bad_calls(sw_server_mode_t mode)
{
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, mode, 1, 1, NULL);
    char want[256];
    snprintf(want, sizeof(want), "X:%d,%d,%d,%d,%d,%d,%d,%d", SW_EINVAL, SW_EINVAL, SW_EINVAL,
             SW_ENOT_WORKER, SW_EWORKER_ID, SW_EWORKER_ID, SW_EINVAL, SW_EINVAL);
    task_expect(&c, "bad", want);
    /* Inside a task worker: no tasks from there; one answer per task. */
    task_expect(&c, "wait 3000 -1 self", "W:0:ok");
    const ev_t *e = task_wait_tag(&c.s, TAG_TBAD, 1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->b, SW_ENOT_WORKER);
    ASSERT_EQ((int64_t)e->s, SW_EALREADY);
    task_stop(&c);
}

SW_TEST_TIMEOUT(task_bad_calls_in_worker, 60)
{
    task_bad_calls(SW_MODE_BASE);
}

/* Outside a running server: clear codes, nothing forked. */
SW_TEST(task_bad_calls_outside)
{
    sw_server_t *srv;
    ASSERT_OK(sw_server_create(&srv, SW_MODE_BASE));
    void *res = NULL;
    ASSERT_ERR(sw_server_task(srv, "x", 1, -1, NULL), SW_ENOTSUP);
    ASSERT_OK(sw_server_set_option(srv, "task_worker_num", "1"));
    ASSERT_ERR(sw_server_task(srv, "x", 1, -1, NULL), SW_ENOT_WORKER);
    ASSERT_ERR(sw_server_taskwait(srv, "x", 1, 10, -1, &res, NULL), SW_ENOT_WORKER);
    ASSERT_NULL(res);
    sw_task_wait_t t = {.data = "x", .len = 1};
    ASSERT_ERR(sw_server_taskwait_multi(srv, &t, 1, 10), SW_ENOT_WORKER);
    ASSERT_ERR(sw_server_taskwait_multi(srv, &t, 0, 10), SW_EINVAL);
    ASSERT_ERR(sw_server_task_finish(srv, "x", 1), SW_ENOT_WORKER);
    ASSERT_ERR(sw_server_send_message(srv, 0, "x", 1), SW_ENOT_WORKER);
    ASSERT_ERR(sw_server_send_message(NULL, 0, "x", 1), SW_EINVAL);
    ASSERT_ERR(sw_server_add_process(srv, NULL, NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw_server_set_option(srv, "task_ipc_mode", "4"), SW_EOPTION_VALUE);
    ASSERT_ERR(sw_server_set_option(srv, "task_ipc_mode", "0"), SW_EOPTION_VALUE);
    char longdir[300];
    memset(longdir, 'a', sizeof(longdir) - 1);
    longdir[sizeof(longdir) - 1] = '\0';
    ASSERT_ERR(sw_server_set_option(srv, "task_tmpdir", longdir), SW_EOPTION_VALUE);
    ASSERT_OK(sw_server_set_option(srv, "task_max_request", "5"));
    ASSERT_OK(sw_server_set_option(srv, "message_queue_key", "12345"));
    sw_server_options_t o;
    ASSERT_OK(sw_server_get_options(srv, &o));
    ASSERT_EQ(o.task_ipc_mode, 1);
    ASSERT_EQ(o.task_max_request, 5u);
    ASSERT_EQ(o.message_queue_key, 12345);
    /* A task_tmpdir that cannot be made: start fails at once. */
    ASSERT_OK(sw_server_set_option(srv, "task_tmpdir", "/proc/self/nope/tasks"));
    ASSERT_OK(sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP, NULL));
    int rc = sw_server_start(srv);
    ASSERT_LT(rc, 0);
    ASSERT_OK(sw_server_destroy(srv));
    sw_server_task_free(NULL);
}

SW_TEST(task_thread_mode_refused)
{
    /* THREAD mode has task worker threads (test_server_task_thread.c), but neither the
     * System V queue of task_ipc_mode 2/3 nor user processes. */
    sw_server_t *srv;
    ASSERT_OK(sw_server_create(&srv, SW_MODE_THREAD));
    ASSERT_OK(sw_server_set_option(srv, "task_worker_num", "1"));
    ASSERT_OK(sw_server_set_option(srv, "task_ipc_mode", "2"));
    ASSERT_OK(sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP, NULL));
    ASSERT_ERR(sw_server_start(srv), SW_ENOTSUP);
    ASSERT_ERR(sw_server_add_process(srv, (sw_server_process_fn)1, NULL, NULL), SW_ENOTSUP);
    ASSERT_OK(sw_server_destroy(srv));
}

/* ---- user processes ------------------------------------------------------------------------ */

static int user_main(sw_server_t *srv, int id, void *arg)
{
    (void)arg;
    ev_emit(EV_RESULT, id, TAG_USTART, getpid(), 0);
    char msg[64];
    fill(msg, sizeof(msg), "ping");
    (void)sw_server_send_message(srv, 0, msg, sizeof(msg));
    sw_loop_run(sw_server_loop(srv), SW_RUN_DEFAULT);
    return 0;
}

static int user_setup(sw_server_t *srv, sw_port_t *port)
{
    (void)port;
    int id = -1;
    int rc = sw_server_add_process(srv, user_main, NULL, &id);
    return rc < 0 ? rc : (id == 2 ? 0 : SW_EINVAL);
}

static void user_case(sw_server_mode_t mode)
{
    task_ctx_t c;
    srv_spec_t spec = {.setup = user_setup};
    task_start(&c, &spec, mode, 1, 1, NULL);
    const ev_t *e = task_wait_tag(&c.s, TAG_USTART, 2, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    pid_t first = (pid_t)e->b;
    /* Its ping reached worker 0, whose pong reached it. */
    e = task_wait_tag(&c.s, TAG_MSG, 0, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->s, 2u << 1 | 1);
    ASSERT_NOT_NULL(task_wait_tag(&c.s, TAG_MSG, 2, scaled_ms(5000)));
    ASSERT_EQ(kill(first, SIGKILL), 0);
    e = task_wait_tag(&c.s, TAG_USTART, 2, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    pid_t second = (pid_t)e->b;
    ASSERT_NE(second, first);
    task_expect(&c, "msg 2 100", "S:0");
    ASSERT_NOT_NULL(task_wait_tag(&c.s, TAG_MSG, 2, scaled_ms(5000)));
    task_stop(&c);
    ASSERT_EQ(pid_alive(second), 0);
}

SW_TEST_TIMEOUT(add_process_base, 60)
{
    user_case(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(add_process_process, 60)
{
    user_case(SW_MODE_PROCESS);
}

/* The temp file cannot be written (fault point "task_tmpfile"): the task fails with
 * SW_ETASK_TMPFILE, small tasks still work. */
SW_TEST_TIMEOUT(task_tmpfile_fault, 60)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("fault injection not compiled in");
    }
    sw__fault_set("task_tmpfile", 0, -1);
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, SW_MODE_BASE, 1, 1, NULL);
    char want[64];
    snprintf(want, sizeof(want), "B:%d:0:0", SW_ETASK_TMPFILE);
    task_expect(&c, "big 100000", want);
    task_expect(&c, "wait 3000 -1 echo:small", "W:0:small");
    task_stop(&c);
    sw__fault_reset();
}

/* message_queue_key: the named queue is used and left in place at shutdown. */
SW_TEST_TIMEOUT(task_message_queue_key, 60)
{
    static char key[32];
    int k = 0x5377000 + (int)(getpid() & 0xffff);
    snprintf(key, sizeof(key), "%d", k);
    const char *const x[] = {"task_ipc_mode", "2", "message_queue_key", key, NULL};
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, SW_MODE_BASE, 1, 1, x);
    task_expect(&c, "wait 3000 -1 echo:keyed", "W:0:keyed");
    task_stop(&c);
    int id = msgget((key_t)k, 0);
    ASSERT_GE(id, 0);
    ASSERT_EQ(msgctl(id, IPC_RMID, NULL), 0);
}

/* A late result that came by file: the taskwait that drops it removes the file. */
SW_TEST_TIMEOUT(taskwait_late_big_result_file_removed, 60)
{
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, SW_MODE_PROCESS, 1, 1, NULL);
    char want[64];
    snprintf(want, sizeof(want), "W:%d:", SW_ETIMEDOUT);
    task_expect(&c, "wait 20 -1 bigres:1500:200000", want);
    /* The next taskwait waits behind the late one, sees its result first and drops it. */
    task_expect(&c, "wait 5000 -1 echo:mine", "W:0:mine");
    task_expect(&c, "files", "N:0");
    task_stop(&c);
}

void task_basic(sw_server_mode_t mode)
{
    task_basic_opts(mode, NULL);
}
