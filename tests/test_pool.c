/* The process pool: respawn after kill -9 with the same id, bounded shutdown under busy
 * workers, rolling and async reload, jobs through each channel, replies, parent death, start
 * failures, the signals the master can handle. */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core/fault.h"
#include "swoole/loop.h"
#include "swoole/process.h"
#include "swoole/timer.h"
#include "test_process_util.h"

#define MAXW 8

typedef struct {
    sw_loop_t *loop;
    sw_pool_t *pool;
    pid_t pids[MAXW];
    int spawns[MAXW];
    int exits[MAXW];
    sw_process_status_t last[MAXW];
    int expected[MAXW];
    int total_spawns;
    int total_exits;
    int reloaded;
    int stopped;
    int destroy_in_stopped;
    /* jobs */
    int replies;
    int reply_from[64];
    char reply_text[64][64];
    int results_fd; /* workers write result lines here (queue channel) */
    int want;       /* what wait_spawns / wait_replies wait for */
} state_t;

static void on_spawn(sw_pool_t *pool, int id, pid_t pid, void *arg)
{
    (void)pool;
    state_t *s = arg;
    s->pids[id] = pid;
    s->spawns[id]++;
    s->total_spawns++;
}

static void on_exit_cb(sw_pool_t *pool, int id, const sw_process_status_t *st, int expected,
                       void *arg)
{
    (void)pool;
    state_t *s = arg;
    s->exits[id]++;
    s->total_exits++;
    s->last[id] = *st;
    s->expected[id] = expected;
}

static void on_reload(sw_pool_t *pool, void *arg)
{
    (void)pool;
    ((state_t *)arg)->reloaded = 1;
}

static void on_stopped(sw_pool_t *pool, void *arg)
{
    state_t *s = arg;
    s->stopped = 1;
    if (s->destroy_in_stopped) {
        ASSERT_OK(sw_pool_destroy(pool));
        s->pool = NULL;
    }
}

static void on_reply(sw_pool_t *pool, int id, const void *data, size_t len, void *arg)
{
    (void)pool;
    state_t *s = arg;
    if (s->replies < 64) {
        s->reply_from[s->replies] = id;
        size_t n = len < 63 ? len : 63;
        memcpy(s->reply_text[s->replies], data, n);
        s->reply_text[s->replies][n] = '\0';
    }
    s->replies++;
}

static int worker_sleep(sw_pool_t *pool, int id, void *arg)
{
    (void)pool;
    (void)id;
    (void)arg;
    for (int i = 0; i < 6000; i++) {
        pt_sleep_ms(10);
    }
    return 0;
}

/* Workers that must be ready before the test goes on write one byte here. */
static int g_ready_fd = -1;

static void wait_ready(int fd, int n)
{
    for (int i = 0; i < n; i++) {
        char c;
        ASSERT_EQ(read(fd, &c, 1), 1);
    }
}

static int worker_busy_ignores_term(sw_pool_t *pool, int id, void *arg)
{
    (void)pool;
    (void)id;
    (void)arg;
    signal(SIGTERM, SIG_IGN);
    if (write(g_ready_fd, "r", 1) != 1) {
        return 40;
    }
    volatile unsigned long spin = 0;
    uint64_t start = sw_test_now_ms();
    while (sw_test_now_ms() - start < 60000) {
        spin++; /* a busy worker: it never returns to a loop */
    }
    return 0;
}

static sw_pool_handlers_t base_handlers(void)
{
    sw_pool_handlers_t h;
    memset(&h, 0, sizeof(h));
    h.on_spawn = on_spawn;
    h.on_exit = on_exit_cb;
    h.on_reload = on_reload;
    h.on_stopped = on_stopped;
    h.on_reply = on_reply;
    return h;
}

static int spawns_reached(void *arg)
{
    state_t *s = arg;
    return s->total_spawns >= s->want;
}

static void wait_spawns(state_t *s, int n, const char *what)
{
    s->want = n;
    pt_run_while_not(s->loop, spawns_reached, s, 20000, what);
}

static void stop_and_destroy(state_t *s)
{
    ASSERT_OK(sw_pool_shutdown(s->pool));
    pt_run_until(s->loop, &s->stopped, 30000, "pool stop");
    ASSERT_EQ(sw_loop_alive(s->loop), 0);
    ASSERT_OK(sw_pool_destroy(s->pool));
    ASSERT_OK(sw_loop_destroy(s->loop));
}

SW_TEST(pool_bad_arguments)
{
    sw_pool_options_t o;
    sw_pool_options_init(&o);
    ASSERT_EQ(o.worker_num, 1);
    ASSERT_EQ(o.max_wait_ms, 3000);
    ASSERT_EQ(o.ipc, SW_POOL_IPC_NONE);
    sw_pool_options_init(NULL);
    sw_pool_handlers_t h = base_handlers();
    sw_pool_t *pool = NULL;
    ASSERT_ERR(sw_pool_create(&pool, &o, &h, NULL), SW_EINVAL); /* no on_worker/on_job */
    h.on_job = on_reply;                                        /* any function of the right type */
    ASSERT_ERR(sw_pool_create(&pool, &o, &h, NULL), SW_EINVAL); /* on_job without a channel */
    h.on_job = NULL;
    h.on_worker = worker_sleep;
    ASSERT_ERR(sw_pool_create(NULL, &o, &h, NULL), SW_EINVAL);
    ASSERT_ERR(sw_pool_create(&pool, &o, NULL, NULL), SW_EINVAL);
    o.worker_num = 0;
    ASSERT_ERR(sw_pool_create(&pool, &o, &h, NULL), SW_EINVAL);
    o.worker_num = SW_POOL_MAX_WORKERS + 1;
    ASSERT_ERR(sw_pool_create(&pool, &o, &h, NULL), SW_EINVAL);
    o.worker_num = 2;
    o.ipc = (sw_pool_ipc_t)9;
    ASSERT_ERR(sw_pool_create(&pool, &o, &h, NULL), SW_EINVAL);
    o.ipc = SW_POOL_IPC_NONE;
    o.reload_mode = (sw_pool_reload_mode_t)5;
    ASSERT_ERR(sw_pool_create(&pool, &o, &h, NULL), SW_EINVAL);
    ASSERT_NULL(pool);
    o.reload_mode = SW_POOL_RELOAD_ROLLING;

    ASSERT_OK(sw_pool_create(&pool, &o, &h, NULL));
    ASSERT_ERR(sw_pool_submit(pool, -1, "x", 1), SW_ENOTSUP);
    ASSERT_ERR(sw_pool_reload(pool), SW_ESERVER_STATE);
    ASSERT_ERR(sw_pool_shutdown(pool), SW_ESERVER_STATE);
    ASSERT_ERR(sw_pool_start(pool, NULL), SW_EINVAL);
    ASSERT_EQ(sw_pool_worker_pid(pool, 0), 0);
    ASSERT_ERR(sw_pool_worker_pid(pool, 2), SW_EINVAL);
    ASSERT_ERR(sw_pool_worker_pid(pool, -1), SW_EINVAL);
    ASSERT_EQ(sw_pool_worker_id(pool), -1);
    ASSERT_ERR(sw_pool_queue_id(pool), SW_ENOENT);
    char buf[8];
    ASSERT_ERR(sw_pool_recv(pool, buf, sizeof(buf), 0), SW_ENOT_WORKER);
    ASSERT_ERR(sw_pool_reply(pool, "x", 1), SW_ENOT_WORKER);
    ASSERT_ERR(sw_pool_worker_fd(pool), SW_ENOT_WORKER);
    sw_pool_set_data(pool, buf);
    ASSERT_PTR_EQ(sw_pool_get_data(pool), buf);
    ASSERT_OK(sw_pool_destroy(pool));

    /* Socket channel: worker ids and sizes are checked before the state. */
    o.ipc = SW_POOL_IPC_SOCKET_SHARED;
    ASSERT_OK(sw_pool_create(&pool, &o, &h, NULL));
    ASSERT_ERR(sw_pool_submit(pool, 0, "x", 1), SW_EINVAL); /* no target on a shared socket */
    ASSERT_ERR(sw_pool_submit(pool, 2, "x", 1), SW_EINVAL);
    ASSERT_ERR(sw_pool_submit(pool, -2, "x", 1), SW_EINVAL);
    ASSERT_ERR(sw_pool_submit(pool, -1, NULL, 1), SW_EINVAL);
    ASSERT_ERR(sw_pool_submit(pool, -1, "x", 1), SW_ESERVER_STATE);
    ASSERT_OK(sw_pool_destroy(pool));

    ASSERT_ERR(sw_pool_destroy(NULL), SW_EINVAL);
    ASSERT_ERR(sw_pool_start(NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw_pool_submit(NULL, -1, "x", 1), SW_EINVAL);
    ASSERT_ERR(sw_pool_reload(NULL), SW_EINVAL);
    ASSERT_ERR(sw_pool_shutdown(NULL), SW_EINVAL);
    ASSERT_ERR(sw_pool_worker_pid(NULL, 0), SW_EINVAL);
    ASSERT_EQ(sw_pool_worker_id(NULL), -1);
    ASSERT_ERR(sw_pool_worker_fd(NULL), SW_EINVAL);
    ASSERT_ERR(sw_pool_recv(NULL, buf, 1, 0), SW_EINVAL);
    ASSERT_ERR(sw_pool_reply(NULL, "x", 1), SW_EINVAL);
    ASSERT_ERR(sw_pool_queue_id(NULL), SW_EINVAL);
    ASSERT_NULL(sw_pool_get_data(NULL));
}

SW_TEST(pool_kill9_respawns_same_id)
{
    state_t s = {0};
    ASSERT_OK(sw_loop_create(&s.loop, NULL));
    sw_pool_options_t o;
    sw_pool_options_init(&o);
    o.worker_num = 3;
    sw_pool_handlers_t h = base_handlers();
    h.on_worker = worker_sleep;
    ASSERT_OK(sw_pool_create(&s.pool, &o, &h, &s));
    ASSERT_OK(sw_pool_start(s.pool, s.loop));
    ASSERT_ERR(sw_pool_start(s.pool, s.loop), SW_EALREADY);
    ASSERT_ERR(sw_pool_destroy(s.pool), SW_EBUSY);
    ASSERT_EQ(s.total_spawns, 3);
    for (int i = 0; i < 3; i++) {
        ASSERT_GT(s.pids[i], 0);
        ASSERT_EQ(sw_pool_worker_pid(s.pool, i), s.pids[i]);
    }
    pid_t old = s.pids[1];
    ASSERT_OK(sw_process_kill(old, SIGKILL));
    wait_spawns(&s, 4, "the respawn of worker 1");
    ASSERT_EQ(s.spawns[1], 2);
    ASSERT_EQ(s.spawns[0], 1);
    ASSERT_EQ(s.spawns[2], 1);
    ASSERT_NE(s.pids[1], old);
    ASSERT_GT(s.pids[1], 0);
    ASSERT_EQ(sw_pool_worker_pid(s.pool, 1), s.pids[1]);
    ASSERT_TRUE(pt_alive(s.pids[1]));
    ASSERT_EQ(s.exits[1], 1);
    ASSERT_EQ(s.last[1].pid, old);
    ASSERT_EQ(s.last[1].signal, SIGKILL);
    ASSERT_EQ(s.last[1].exit_code, -1);
    ASSERT_EQ(s.expected[1], 0);
    stop_and_destroy(&s);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(s.expected[i], 1);
        ASSERT_EQ(s.last[i].signal, SIGTERM);
    }
}

SW_TEST_TIMEOUT(pool_shutdown_busy_worker_bounded, 60)
{
    state_t s = {0};
    ASSERT_OK(sw_loop_create(&s.loop, NULL));
    sw_pool_options_t o;
    sw_pool_options_init(&o);
    o.worker_num = 2;
    o.max_wait_ms = 300;
    sw_pool_handlers_t h = base_handlers();
    h.on_worker = worker_busy_ignores_term;
    int rp[2];
    ASSERT_EQ(pipe2(rp, O_CLOEXEC), 0);
    g_ready_fd = rp[1];
    ASSERT_OK(sw_pool_create(&s.pool, &o, &h, &s));
    ASSERT_OK(sw_pool_start(s.pool, s.loop));
    wait_ready(rp[0], 2); /* both workers ignore SIGTERM now */
    close(rp[0]);
    close(rp[1]);
    uint64_t t0 = sw_test_now_ms();
    ASSERT_OK(sw_pool_shutdown(s.pool));
    ASSERT_OK(sw_pool_shutdown(s.pool)); /* again: 0 */
    ASSERT_ERR(sw_pool_reload(s.pool), SW_ESERVER_STATE);
    ASSERT_ERR(sw_pool_submit(s.pool, -1, "x", 1), SW_ENOTSUP);
    s.destroy_in_stopped = 1;
    pt_run_until(s.loop, &s.stopped, 30000, "pool stop");
    uint64_t took = sw_test_now_ms() - t0;
    /* A hang guard, not a speed test: max_wait_ms plus a generous margin. */
    ASSERT_LT(took, o.max_wait_ms + 5000);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(s.last[i].signal, SIGKILL);
        ASSERT_EQ(s.expected[i], 1);
    }
    ASSERT_NULL(s.pool); /* destroyed inside on_stopped */
    ASSERT_EQ(sw_loop_alive(s.loop), 0);
    ASSERT_OK(sw_loop_destroy(s.loop));
}

static void check_reload(sw_pool_reload_mode_t mode)
{
    state_t s = {0};
    ASSERT_OK(sw_loop_create(&s.loop, NULL));
    sw_pool_options_t o;
    sw_pool_options_init(&o);
    o.worker_num = 4;
    o.reload_mode = mode;
    sw_pool_handlers_t h = base_handlers();
    h.on_worker = worker_sleep;
    ASSERT_OK(sw_pool_create(&s.pool, &o, &h, &s));
    ASSERT_OK(sw_pool_start(s.pool, s.loop));
    pid_t before[4];
    memcpy(before, s.pids, sizeof(before));
    ASSERT_OK(sw_pool_reload(s.pool));
    ASSERT_ERR(sw_pool_reload(s.pool), SW_EBUSY);
    pt_run_until(s.loop, &s.reloaded, 30000, "reload");
    for (int i = 0; i < 4; i++) {
        ASSERT_NE(s.pids[i], before[i]);
        ASSERT_EQ(sw_pool_worker_pid(s.pool, i), s.pids[i]);
        ASSERT_EQ(s.spawns[i], 2);
        ASSERT_EQ(s.exits[i], 1);
        ASSERT_EQ(s.expected[i], 1);
        ASSERT_EQ(s.last[i].pid, before[i]);
        ASSERT_FALSE(pt_alive(before[i]));
    }
    /* A second reload works too. */
    s.reloaded = 0;
    ASSERT_OK(sw_pool_reload(s.pool));
    pt_run_until(s.loop, &s.reloaded, 30000, "second reload");
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(s.spawns[i], 3);
    }
    stop_and_destroy(&s);
}

SW_TEST(pool_reload_rolling_replaces_every_worker)
{
    check_reload(SW_POOL_RELOAD_ROLLING);
}

SW_TEST(pool_reload_async_replaces_every_worker)
{
    check_reload(SW_POOL_RELOAD_ASYNC);
}

/* ---- jobs through the message queue ------------------------------------------------------ */

typedef struct {
    int results_fd;
    int key; /* 0: private queue owned by the pool */
} queue_job_arg_t;

static void job_square(sw_pool_t *pool, int id, const void *data, size_t len, void *arg)
{
    (void)pool;
    state_t *s = arg;
    char in[32];
    size_t n = len < sizeof(in) - 1 ? len : sizeof(in) - 1;
    memcpy(in, data, n);
    in[n] = '\0';
    long v = atol(in);
    char line[64];
    int l = snprintf(line, sizeof(line), "%d %ld %ld\n", id, v, v * v);
    ssize_t w = write(s->results_fd, line, (size_t)l); /* < PIPE_BUF: atomic */
    (void)w;
}

typedef struct {
    int fd;
    char buf[8192];
    size_t got;
    int lines;
    int want;
    int done;
} results_t;

static void on_results(sw_io_t *io, int events, void *arg)
{
    (void)events;
    results_t *r = arg;
    ssize_t n = read(r->fd, r->buf + r->got, sizeof(r->buf) - 1 - r->got);
    if (n <= 0) {
        sw_io_stop(io);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        r->lines += r->buf[r->got + (size_t)i] == '\n';
    }
    r->got += (size_t)n;
    if (r->lines >= r->want) {
        r->done = 1;
    }
}

static void check_results(const results_t *r, int njobs, int nworkers)
{
    long seen[64] = {0};
    const char *p = r->buf;
    for (int i = 0; i < r->lines; i++) {
        int id;
        long v, sq;
        ASSERT_EQ(sscanf(p, "%d %ld %ld", &id, &v, &sq), 3);
        ASSERT_GE(id, 0);
        ASSERT_LT(id, nworkers);
        ASSERT_GE(v, 0);
        ASSERT_LT(v, njobs);
        ASSERT_EQ(sq, v * v);
        seen[v]++;
        p = strchr(p, '\n') + 1;
    }
    for (int v = 0; v < njobs; v++) {
        ASSERT_EQ(seen[v], 1); /* each job exactly once */
    }
}

static void body_queue_jobs(void *arg)
{
    queue_job_arg_t *qa = arg;
    state_t s = {0};
    ASSERT_OK(sw_loop_create(&s.loop, NULL));
    int pfd[2];
    ASSERT_EQ(pipe2(pfd, O_CLOEXEC | O_NONBLOCK), 0);
    s.results_fd = pfd[1];
    sw_pool_options_t o;
    sw_pool_options_init(&o);
    o.worker_num = 4;
    o.ipc = SW_POOL_IPC_QUEUE;
    o.queue_key = qa->key;
    sw_pool_handlers_t h = base_handlers();
    h.on_job = job_square;
    ASSERT_OK(sw_pool_create(&s.pool, &o, &h, &s));
    int qid = sw_pool_queue_id(s.pool);
    ASSERT_GE(qid, 0);
    if (qa->key == 0) {
        pt_report_queue(qid); /* a keyed queue is the test's own, removed by the test */
    }
    ASSERT_ERR(sw_pool_submit(s.pool, -1, "1", 1), SW_ESERVER_STATE);
    ASSERT_ERR(sw_pool_submit(s.pool, 0, "1", 1), SW_EINVAL); /* no target on a queue */
    ASSERT_OK(sw_pool_start(s.pool, s.loop));
    results_t r = {.fd = pfd[0], .want = 40};
    sw_io_t io;
    ASSERT_OK(sw_io_init(s.loop, &io, pfd[0], on_results, &r));
    ASSERT_OK(sw_io_start(&io, SW_EVENT_READ));
    for (int i = 0; i < 40; i++) {
        char job[16];
        int n = snprintf(job, sizeof(job), "%d", i);
        int rc;
        uint64_t t0 = sw_test_now_ms();
        while ((rc = sw_pool_submit(s.pool, -1, job, (size_t)n)) == SW_EAGAIN &&
               sw_test_now_ms() - t0 < 10000) {
            sw_loop_run(s.loop, SW_RUN_NOWAIT);
        }
        ASSERT_OK(rc);
    }
    pt_run_until(s.loop, &r.done, 20000, "40 results");
    check_results(&r, 40, 4);
    sw_io_stop(&io);
    close(pfd[0]);
    close(pfd[1]);
    /* Job-loop workers idle in msgrcv end by SIGTERM. */
    ASSERT_OK(sw_pool_shutdown(s.pool));
    pt_run_until(s.loop, &s.stopped, 30000, "pool stop");
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(s.expected[i], 1);
    }
    ASSERT_OK(sw_pool_destroy(s.pool));
    ASSERT_OK(sw_loop_destroy(s.loop));
    struct msqid_ds ds;
    if (qa->key == 0) {
        ASSERT_EQ(msgctl(qid, IPC_STAT, &ds), -1); /* removed by destroy */
    } else {
        ASSERT_EQ(msgctl(qid, IPC_STAT, &ds), 0); /* shared: left alone */
    }
}

SW_TEST(pool_queue_jobs_private_queue)
{
    queue_job_arg_t qa = {0};
    int leaked = 0;
    int status = pt_run_isolated(body_queue_jobs, &qa, &leaked);
    ASSERT_ISOLATED_OK(status);
    ASSERT_EQ(leaked, 0);
}

SW_TEST(pool_queue_jobs_shared_key)
{
    int id = -1;
    queue_job_arg_t qa = {0};
    qa.key = pt_fresh_queue_key(&id);
    int status = pt_run_isolated(body_queue_jobs, &qa, NULL);
    int removed = msgctl(id, IPC_RMID, NULL);
    ASSERT_ISOLATED_OK(status);
    ASSERT_EQ(removed, 0);
}

/* ---- jobs through sockets, with replies -------------------------------------------------- */

static void job_reply(sw_pool_t *pool, int id, const void *data, size_t len, void *arg)
{
    (void)arg;
    char out[96];
    int n = snprintf(out, sizeof(out), "w%d:%.*s", id, (int)len, (const char *)data);
    if (sw_pool_reply(pool, out, (size_t)n) != 0) {
        _exit(20);
    }
}

static void submit_retry(state_t *s, int worker, const char *job)
{
    int rc;
    uint64_t t0 = sw_test_now_ms();
    while ((rc = sw_pool_submit(s->pool, worker, job, strlen(job))) == SW_EAGAIN &&
           sw_test_now_ms() - t0 < 10000) {
        sw_loop_run(s->loop, SW_RUN_NOWAIT);
    }
    ASSERT_OK(rc);
}

static int replies_reached(void *arg)
{
    state_t *s = arg;
    return s->replies >= s->want;
}

static void wait_replies(state_t *s, int n)
{
    s->want = n;
    pt_run_while_not(s->loop, replies_reached, s, 20000, "replies");
    ASSERT_EQ(s->replies, n);
}

SW_TEST(pool_socket_jobs_targeted_and_replies)
{
    state_t s = {0};
    ASSERT_OK(sw_loop_create(&s.loop, NULL));
    sw_pool_options_t o;
    sw_pool_options_init(&o);
    o.worker_num = 3;
    o.ipc = SW_POOL_IPC_SOCKET;
    sw_pool_handlers_t h = base_handlers();
    h.on_job = job_reply;
    ASSERT_OK(sw_pool_create(&s.pool, &o, &h, &s));
    ASSERT_OK(sw_pool_start(s.pool, s.loop));
    static char big[SW_POOL_MESSAGE_MAX + 1];
    ASSERT_ERR(sw_pool_submit(s.pool, 0, big, sizeof(big)), SW_EMSGSIZE);
    /* Targeted: worker i answers job i. */
    for (int i = 0; i < 3; i++) {
        char job[16];
        snprintf(job, sizeof(job), "t%d", i);
        submit_retry(&s, i, job);
    }
    wait_replies(&s, 3);
    for (int i = 0; i < 3; i++) {
        int w = -1, t = -2;
        ASSERT_EQ(sscanf(s.reply_text[i], "w%d:t%d", &w, &t), 2);
        ASSERT_EQ(w, t);
        ASSERT_EQ(s.reply_from[i], w);
    }
    /* Round-robin: 30 jobs spread over the three workers. */
    for (int i = 0; i < 30; i++) {
        char job[16];
        snprintf(job, sizeof(job), "r%d", i);
        submit_retry(&s, -1, job);
    }
    wait_replies(&s, 33);
    int per[3] = {0};
    for (int i = 3; i < 33; i++) {
        per[s.reply_from[i]]++;
    }
    ASSERT_GT(per[0], 0);
    ASSERT_GT(per[1], 0);
    ASSERT_GT(per[2], 0);
    /* A worker killed with jobs queued for it: its replacement reads the same socket. */
    pid_t old = s.pids[2];
    ASSERT_OK(sw_process_kill(old, SIGKILL));
    wait_spawns(&s, 4, "the respawn of worker 2");
    submit_retry(&s, 2, "after");
    wait_replies(&s, 34);
    ASSERT_STR_EQ(s.reply_text[33], "w2:after");
    stop_and_destroy(&s);
    for (int i = 0; i < 3; i++) {
        /* Idle job-loop workers wait in ppoll with SIGTERM unblocked. */
        ASSERT_EQ(s.expected[i], 1);
    }
}

SW_TEST(pool_socket_shared_jobs)
{
    state_t s = {0};
    ASSERT_OK(sw_loop_create(&s.loop, NULL));
    sw_pool_options_t o;
    sw_pool_options_init(&o);
    o.worker_num = 2;
    o.ipc = SW_POOL_IPC_SOCKET_SHARED;
    sw_pool_handlers_t h = base_handlers();
    h.on_job = job_reply;
    ASSERT_OK(sw_pool_create(&s.pool, &o, &h, &s));
    ASSERT_OK(sw_pool_start(s.pool, s.loop));
    for (int i = 0; i < 40; i++) {
        char job[16];
        snprintf(job, sizeof(job), "j%d", i);
        submit_retry(&s, -1, job);
    }
    wait_replies(&s, 40);
    int seen[40] = {0};
    for (int i = 0; i < 40; i++) {
        int w = -1, j = -1;
        ASSERT_EQ(sscanf(s.reply_text[i], "w%d:j%d", &w, &j), 2);
        ASSERT_EQ(w, s.reply_from[i]);
        ASSERT_TRUE(w == 0 || w == 1);
        seen[j]++;
    }
    for (int i = 0; i < 40; i++) {
        ASSERT_EQ(seen[i], 1);
    }
    stop_and_destroy(&s);
}

/* A worker main of its own: sw_pool_recv / sw_pool_reply until "quit". */
static int worker_custom(sw_pool_t *pool, int id, void *arg)
{
    (void)arg;
    if (sw_pool_worker_id(pool) != id || sw_pool_worker_fd(pool) < 0 ||
        sw_pool_worker_pid(pool, id) != getpid() ||
        sw_pool_worker_pid(pool, (id + 1) % 2) != SW_ENOT_MASTER ||
        sw_pool_submit(pool, -1, "x", 1) != SW_ENOT_MASTER ||
        sw_pool_shutdown(pool) != SW_ENOT_MASTER || sw_pool_reload(pool) != SW_ENOT_MASTER) {
        return 30;
    }
    char buf[SW_POOL_MESSAGE_MAX];
    if (sw_pool_recv(pool, buf, sizeof(buf), SW_QUEUE_NOWAIT) != SW_EAGAIN) {
        return 31;
    }
    if (sw_pool_reply(pool, buf, SW_POOL_MESSAGE_MAX + 1) != SW_EMSGSIZE ||
        sw_pool_recv(pool, buf, 0, 0) != SW_EINVAL ||
        sw_pool_recv(pool, buf, 1, 0x8) != SW_EINVAL) {
        return 32;
    }
    /* The master sends nothing before this. */
    if (sw_pool_reply(pool, "ready", 5) != 0) {
        return 36;
    }
    for (;;) {
        ssize_t n = sw_pool_recv(pool, buf, sizeof(buf), 0);
        if (n < 0) {
            return 33;
        }
        if (n == 4 && memcmp(buf, "quit", 4) == 0) {
            break;
        }
        if (sw_pool_reply(pool, buf, (size_t)n) != 0) {
            return 34;
        }
    }
    /* The copy may be destroyed in the worker; the pool frees it when this returns. */
    return sw_pool_destroy(pool) == 0 ? 7 : 35;
}

SW_TEST(pool_custom_worker_recv_reply)
{
    state_t s = {0};
    ASSERT_OK(sw_loop_create(&s.loop, NULL));
    sw_pool_options_t o;
    sw_pool_options_init(&o);
    o.worker_num = 2;
    o.ipc = SW_POOL_IPC_SOCKET;
    sw_pool_handlers_t h = base_handlers();
    h.on_worker = worker_custom;
    ASSERT_OK(sw_pool_create(&s.pool, &o, &h, &s));
    ASSERT_OK(sw_pool_start(s.pool, s.loop));
    wait_replies(&s, 2);
    ASSERT_STR_EQ(s.reply_text[0], "ready");
    ASSERT_STR_EQ(s.reply_text[1], "ready");
    s.replies = 0;
    /* A large reply round trip. */
    static char payload[SW_POOL_MESSAGE_MAX];
    for (size_t i = 0; i < sizeof(payload); i++) {
        payload[i] = (char)('A' + i % 23);
    }
    int rc;
    uint64_t t0 = sw_test_now_ms();
    while ((rc = sw_pool_submit(s.pool, 1, payload, sizeof(payload))) == SW_EAGAIN &&
           sw_test_now_ms() - t0 < 10000) {
        sw_loop_run(s.loop, SW_RUN_NOWAIT);
    }
    ASSERT_OK(rc);
    wait_replies(&s, 1);
    ASSERT_EQ(s.reply_from[0], 1);
    ASSERT_MEM_EQ(s.reply_text[0], payload, 63);
    /* "quit": both exit 7 on their own and are started again (not expected). */
    submit_retry(&s, 0, "quit");
    submit_retry(&s, 1, "quit");
    wait_spawns(&s, 4, "both respawns");
    wait_replies(&s, 3); /* the new workers' "ready" */
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(s.last[i].exit_code, 7);
        ASSERT_EQ(s.expected[i], 0);
    }
    stop_and_destroy(&s);
}

/* SIGTERM that arrives while on_job runs lets the job finish; the worker then exits 0. */
static void job_slow(sw_pool_t *pool, int id, const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    (void)arg;
    (void)id;
    sw_pool_reply(pool, "started", 7);
    pt_sleep_ms(400);
    sw_pool_reply(pool, "finished", 8);
}

static void on_worker_stop(sw_pool_t *pool, int id, void *arg)
{
    (void)id;
    (void)arg;
    sw_pool_reply(pool, "stop-hook", 9);
}

SW_TEST(pool_job_finishes_before_sigterm)
{
    state_t s = {0};
    ASSERT_OK(sw_loop_create(&s.loop, NULL));
    sw_pool_options_t o;
    sw_pool_options_init(&o);
    o.worker_num = 1;
    o.ipc = SW_POOL_IPC_SOCKET;
    o.max_wait_ms = 10000;
    sw_pool_handlers_t h = base_handlers();
    h.on_job = job_slow;
    h.on_worker_stop = on_worker_stop;
    ASSERT_OK(sw_pool_create(&s.pool, &o, &h, &s));
    ASSERT_OK(sw_pool_start(s.pool, s.loop));
    submit_retry(&s, 0, "go");
    wait_replies(&s, 1);
    ASSERT_STR_EQ(s.reply_text[0], "started");
    ASSERT_OK(sw_pool_shutdown(s.pool));
    pt_run_until(s.loop, &s.stopped, 30000, "pool stop");
    ASSERT_EQ(s.replies, 3);
    ASSERT_STR_EQ(s.reply_text[1], "finished");
    ASSERT_STR_EQ(s.reply_text[2], "stop-hook");
    ASSERT_EQ(s.last[0].exit_code, 0);
    ASSERT_EQ(s.last[0].signal, 0);
    ASSERT_EQ(s.expected[0], 1);
    ASSERT_OK(sw_pool_destroy(s.pool));
    ASSERT_OK(sw_loop_destroy(s.loop));
}

/* ---- the master dies: no orphans --------------------------------------------------------- */

static int master_process(sw_process_t *p, void *arg)
{
    (void)arg;
    state_t s = {0};
    if (sw_loop_create(&s.loop, NULL) != 0) {
        return 2;
    }
    sw_pool_options_t o;
    sw_pool_options_init(&o);
    o.worker_num = 3;
    sw_pool_handlers_t h = base_handlers();
    h.on_worker = worker_sleep;
    if (sw_pool_create(&s.pool, &o, &h, &s) != 0 || sw_pool_start(s.pool, s.loop) != 0) {
        return 3;
    }
    if (sw_process_write(p, s.pids, sizeof(pid_t) * 3) != (ssize_t)(sizeof(pid_t) * 3)) {
        return 4;
    }
    for (int i = 0; i < 6000; i++) {
        sw_loop_run(s.loop, SW_RUN_NOWAIT);
        pt_sleep_ms(10);
    }
    return 5;
}

SW_TEST(pool_master_death_leaves_no_orphans)
{
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    sw_process_t *m = NULL;
    ASSERT_OK(sw_process_create(&m, master_process, NULL, SW_PROCESS_PIPE_STREAM));
    int mpid = sw_process_start(m);
    ASSERT_GT(mpid, 0);
    pid_t workers[3];
    size_t got = 0;
    while (got < sizeof(workers)) {
        ssize_t n = sw_process_read(m, (char *)workers + got, sizeof(workers) - got);
        ASSERT_GT(n, 0);
        got += (size_t)n;
    }
    ASSERT_OK(sw_process_kill(mpid, SIGKILL));
    sw_process_status_t st;
    ASSERT_EQ(sw_process_wait(mpid, 1, &st), mpid);
    /* Every worker gets SIGKILL from the kernel (PR_SET_PDEATHSIG) and comes to us. */
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(sw_process_wait(workers[i], 1, &st), workers[i]);
        ASSERT_EQ(st.signal, SIGKILL);
    }
    ASSERT_OK(sw_process_destroy(m));
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}

/* ---- start failures, signals ------------------------------------------------------------- */

SW_TEST(pool_start_fork_fault)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("fault injection not compiled in");
    }
    int fds_before = sw_test_count_fds();
    state_t s = {0};
    ASSERT_OK(sw_loop_create(&s.loop, NULL));
    sw_pool_options_t o;
    sw_pool_options_init(&o);
    o.worker_num = 3;
    o.ipc = SW_POOL_IPC_SOCKET;
    o.handle_signals = 1;
    sw_pool_handlers_t h = base_handlers();
    h.on_worker = worker_sleep;
    ASSERT_OK(sw_pool_create(&s.pool, &o, &h, &s));
    ASSERT_OK(sw__fault_set("fork", 1, 1));
    ASSERT_ERR(sw_pool_start(s.pool, s.loop), SW_EAGAIN);
    sw__fault_reset();
    ASSERT_EQ(pt_count_children(), 0);
    ASSERT_EQ(sw_loop_alive(s.loop), 0);
    ASSERT_ERR(sw_pool_start(s.pool, s.loop), SW_EALREADY);
    ASSERT_OK(sw_pool_shutdown(s.pool)); /* stopped already: 0 */
    ASSERT_OK(sw_pool_destroy(s.pool));
    ASSERT_OK(sw_loop_destroy(s.loop));

    /* Creation faults: socketpair, msgget, alloc. */
    o.ipc = SW_POOL_IPC_SOCKET;
    ASSERT_OK(sw__fault_set("socketpair", 2, 1));
    ASSERT_ERR(sw_pool_create(&s.pool, &o, &h, &s), SW_EMFILE);
    o.ipc = SW_POOL_IPC_QUEUE;
    ASSERT_OK(sw__fault_set("msgget", 0, 1));
    ASSERT_ERR(sw_pool_create(&s.pool, &o, &h, &s), SW_ENOSPC);
    ASSERT_OK(sw__fault_set("alloc", 0, 1));
    ASSERT_ERR(sw_pool_create(&s.pool, &o, &h, &s), SW_ENOMEM);
    sw__fault_reset();
    ASSERT_EQ(sw_test_count_fds(), fds_before);
}

static void send_self(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    kill(getpid(), (int)(intptr_t)arg);
}

SW_TEST(pool_handles_master_signals)
{
    state_t s = {0};
    ASSERT_OK(sw_loop_create(&s.loop, NULL));
    sw_pool_options_t o;
    sw_pool_options_init(&o);
    o.worker_num = 2;
    o.handle_signals = 1;
    sw_pool_handlers_t h = base_handlers();
    h.on_worker = worker_sleep;
    ASSERT_OK(sw_pool_create(&s.pool, &o, &h, &s));
    ASSERT_OK(sw_pool_start(s.pool, s.loop));
    pid_t before[2] = {s.pids[0], s.pids[1]};
    ASSERT_OK(sw_timer_after(s.loop, 0, send_self, (void *)(intptr_t)SIGUSR1, NULL));
    pt_run_until(s.loop, &s.reloaded, 30000, "reload by SIGUSR1");
    ASSERT_NE(s.pids[0], before[0]);
    ASSERT_NE(s.pids[1], before[1]);
    ASSERT_OK(sw_timer_after(s.loop, 0, send_self, (void *)(intptr_t)SIGTERM, NULL));
    pt_run_until(s.loop, &s.stopped, 30000, "stop by SIGTERM");
    ASSERT_EQ(sw_loop_alive(s.loop), 0); /* the signal watchers are gone too */
    ASSERT_OK(sw_pool_destroy(s.pool));
    ASSERT_OK(sw_loop_destroy(s.loop));
}
