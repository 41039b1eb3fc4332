/* The loop itself: creation, backends, run modes, defer, stop, references, destroy with live
 * handles, walking, embedding. Every case also runs with SW_LOOP_BACKEND=poll (__poll). */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sw_test.h"
#include "swoole/log.h"
#include "swoole/loop.h"
#include "swoole/timer.h"

static const char *env_backend(void)
{
    const char *b = getenv("SW_LOOP_BACKEND");
    return b && *b ? b : NULL;
}

SW_TEST(loop_create_destroy)
{
    sw_loop_t *loop = NULL;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    ASSERT_NOT_NULL(loop);
    ASSERT_NOT_NULL(sw_loop_backend_name(loop));
    if (env_backend()) {
        ASSERT_STR_EQ(sw_loop_backend_name(loop), env_backend());
    } else {
#ifdef __linux__
        ASSERT_STR_EQ(sw_loop_backend_name(loop), "epoll");
#endif
    }
    ASSERT_EQ(sw_loop_alive(loop), 0);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_ONCE), 0);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_NOWAIT), 0);
    ASSERT_OK(sw_loop_destroy(loop));
}

SW_TEST(loop_backend_choice)
{
    sw_loop_options_t o;
    sw_loop_options_init(&o);
    ASSERT_NULL(o.backend);
    ASSERT_EQ(o.write_queue_max, 0);
    sw_loop_t *loop = NULL;

    o.backend = "poll";
    ASSERT_OK(sw_loop_create(&loop, &o));
    ASSERT_STR_EQ(sw_loop_backend_name(loop), "poll");
    ASSERT_OK(sw_loop_destroy(loop));

#ifdef __linux__
    o.backend = "epoll";
    ASSERT_OK(sw_loop_create(&loop, &o));
    ASSERT_STR_EQ(sw_loop_backend_name(loop), "epoll");
    ASSERT_OK(sw_loop_destroy(loop));
    o.backend = "kqueue";
    loop = NULL;
    ASSERT_ERR(sw_loop_create(&loop, &o), SW_ENOTSUP);
    ASSERT_NULL(loop);
#endif

    o.backend = "select";
    ASSERT_ERR(sw_loop_create(&loop, &o), SW_EINVAL);
    o.backend = "";
    ASSERT_OK(sw_loop_create(&loop, &o)); /* empty: as NULL */
    ASSERT_OK(sw_loop_destroy(loop));

    /* The environment variable picks the backend; the options win over it. */
    ASSERT_OK(setenv("SW_LOOP_BACKEND", "nonsense", 1));
    ASSERT_ERR(sw_loop_create(&loop, NULL), SW_EINVAL);
    o.backend = "poll";
    ASSERT_OK(sw_loop_create(&loop, &o));
    ASSERT_STR_EQ(sw_loop_backend_name(loop), "poll");
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(setenv("SW_LOOP_BACKEND", "poll", 1));
    ASSERT_OK(sw_loop_create(&loop, NULL));
    ASSERT_STR_EQ(sw_loop_backend_name(loop), "poll");
    ASSERT_OK(sw_loop_destroy(loop));
}

static void dummy_cb(sw_loop_t *loop, void *arg)
{
    (void)loop;
    (void)arg;
}

static void walk_count(sw_loop_t *loop, const sw_handle_info_t *info, void *arg)
{
    (void)loop;
    (void)info;
    ++*(int *)arg;
}

SW_TEST(loop_bad_arguments)
{
    ASSERT_ERR(sw_loop_create(NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw_loop_destroy(NULL), SW_EINVAL);
    ASSERT_ERR(sw_loop_run(NULL, SW_RUN_DEFAULT), SW_EINVAL);
    ASSERT_ERR(sw_loop_walk(NULL, walk_count, NULL), SW_EINVAL);
    ASSERT_ERR(sw_loop_timeout(NULL), SW_EINVAL);
    ASSERT_ERR(sw_loop_backend_fd(NULL), SW_EINVAL);
    ASSERT_ERR(sw_loop_defer(NULL, dummy_cb, NULL), SW_EINVAL);
    ASSERT_ERR(sw_loop_post(NULL, dummy_cb, NULL), SW_EINVAL);
    ASSERT_EQ(sw_loop_alive(NULL), 0);
    ASSERT_EQ(sw_loop_now(NULL), 0);
    ASSERT_NULL(sw_loop_get_data(NULL));
    ASSERT_NULL(sw_loop_backend_name(NULL));
    sw_loop_stop(NULL);
    sw_loop_ref(NULL);
    sw_loop_unref(NULL);
    sw_loop_update_time(NULL);
    sw_loop_set_data(NULL, NULL);
    sw_loop_options_init(NULL);

    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    ASSERT_ERR(sw_loop_run(loop, (sw_run_mode_t)3), SW_EINVAL);
    ASSERT_ERR(sw_loop_run(loop, (sw_run_mode_t)-1), SW_EINVAL);
    ASSERT_ERR(sw_loop_walk(loop, NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw_loop_defer(loop, NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw_loop_post(loop, NULL, NULL), SW_EINVAL);
    sw_loop_unref(loop); /* without a ref: ignored */
    ASSERT_EQ(sw_loop_alive(loop), 0);
    ASSERT_OK(sw_loop_destroy(loop));
}

SW_TEST(loop_data_and_time)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int x;
    ASSERT_NULL(sw_loop_get_data(loop));
    sw_loop_set_data(loop, &x);
    ASSERT_PTR_EQ(sw_loop_get_data(loop), &x);
    uint64_t t0 = sw_loop_now(loop);
    ASSERT_GT(t0, 0);
    struct timespec ts = {0, 3 * 1000 * 1000};
    nanosleep(&ts, NULL);
    ASSERT_UEQ(sw_loop_now(loop), t0); /* cached */
    sw_loop_update_time(loop);
    ASSERT_UGE(sw_loop_now(loop), t0 + 3);
    ASSERT_OK(sw_loop_destroy(loop));
}

/* ---- defer ----------------------------------------------------------------------------------- */

typedef struct {
    sw_loop_t *loop;
    int order[16];
    int n;
} trace_t;

static trace_t *g_trace;

static void trace_cb(sw_loop_t *loop, void *arg)
{
    ASSERT_PTR_EQ(loop, g_trace->loop);
    int id = (int)(intptr_t)arg;
    g_trace->order[g_trace->n++] = id;
    if (id == 1) {
        /* Deferred from a deferred callback: runs in the next iteration. */
        ASSERT_OK(sw_loop_defer(loop, trace_cb, (void *)(intptr_t)4));
    }
}

static intptr_t g_seq_next;

static void seq_cb(sw_loop_t *loop, void *arg)
{
    (void)loop;
    ASSERT_EQ((intptr_t)arg, g_seq_next);
    g_seq_next++;
}

SW_TEST(loop_defer_order)
{
    trace_t t = {0};
    g_trace = &t;
    ASSERT_OK(sw_loop_create(&t.loop, NULL));
    ASSERT_OK(sw_loop_defer(t.loop, trace_cb, (void *)(intptr_t)1));
    ASSERT_OK(sw_loop_defer(t.loop, trace_cb, (void *)(intptr_t)2));
    ASSERT_OK(sw_loop_defer(t.loop, trace_cb, (void *)(intptr_t)3));
    ASSERT_EQ(sw_loop_alive(t.loop), 1);
    ASSERT_EQ(sw_loop_timeout(t.loop), 0);
    ASSERT_EQ(sw_loop_run(t.loop, SW_RUN_ONCE), 1); /* the one deferred by 1 is left */
    ASSERT_EQ(t.n, 3);
    ASSERT_EQ(t.order[0], 1);
    ASSERT_EQ(t.order[1], 2);
    ASSERT_EQ(t.order[2], 3);
    ASSERT_EQ(sw_loop_run(t.loop, SW_RUN_ONCE), 0);
    ASSERT_EQ(t.n, 4);
    ASSERT_EQ(t.order[3], 4);
    ASSERT_EQ(sw_loop_timeout(t.loop), -1);

    /* Many defers, some queued while others run: the ring grows, wraps, keeps the order. */
    g_seq_next = 0;
    for (intptr_t i = 0; i < 1000; i++) {
        ASSERT_OK(sw_loop_defer(t.loop, seq_cb, (void *)i));
    }
    ASSERT_EQ(sw_loop_run(t.loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(g_seq_next, 1000);
    ASSERT_OK(sw_loop_destroy(t.loop));
}

/* ---- run modes, stop, references ---------------------------------------------------------- */

static int g_calls;

static void stop_cb(sw_loop_t *loop, void *arg)
{
    (void)arg;
    g_calls++;
    sw_loop_stop(loop);
}

static void count_cb(sw_loop_t *loop, void *arg)
{
    (void)loop;
    (void)arg;
    g_calls++;
}

SW_TEST(loop_run_modes_and_stop)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));

    /* A reference keeps the loop alive; NOWAIT returns at once with 1. */
    sw_loop_ref(loop);
    ASSERT_EQ(sw_loop_alive(loop), 1);
    ASSERT_EQ(sw_loop_timeout(loop), -1);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_NOWAIT), 1);

    /* stop from a callback ends DEFAULT, which reports that something is still alive. */
    g_calls = 0;
    ASSERT_OK(sw_loop_defer(loop, stop_cb, NULL));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 1);
    ASSERT_EQ(g_calls, 1);

    /* stop before run: the run returns at once, without running anything. */
    ASSERT_OK(sw_loop_defer(loop, count_cb, NULL));
    sw_loop_stop(loop);
    ASSERT_EQ(sw_loop_timeout(loop), 0);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 1);
    ASSERT_EQ(g_calls, 1);
    /* The request was consumed: the next run runs the defer. */
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_NOWAIT), 1);
    ASSERT_EQ(g_calls, 2);

    sw_loop_unref(loop);
    ASSERT_EQ(sw_loop_alive(loop), 0);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_OK(sw_loop_destroy(loop));
}

static int g_timer_fired;

static void timer_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    (void)arg;
    g_timer_fired++;
}

SW_TEST(loop_run_once_waits_for_timer)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    g_timer_fired = 0;
    ASSERT_OK(sw_timer_after(loop, 20, timer_cb, NULL, NULL));
    int t = sw_loop_timeout(loop);
    ASSERT_GE(t, 0);
    ASSERT_LE(t, 20);
    /* ONCE blocks until the timer is due (bounded: the test's own time limit). */
    uint64_t start = sw_test_now_ms();
    while (g_timer_fired == 0 && sw_test_now_ms() - start < 10000) {
        sw_loop_run(loop, SW_RUN_ONCE);
    }
    ASSERT_EQ(g_timer_fired, 1);
    ASSERT_EQ(sw_loop_alive(loop), 0);
    ASSERT_OK(sw_loop_destroy(loop));
}

static void reenter_cb(sw_loop_t *loop, void *arg)
{
    (void)arg;
    ASSERT_ERR(sw_loop_run(loop, SW_RUN_DEFAULT), SW_ELOOP_RUNNING);
    ASSERT_ERR(sw_loop_run(loop, SW_RUN_NOWAIT), SW_ELOOP_RUNNING);
    ASSERT_ERR(sw_loop_destroy(loop), SW_ELOOP_RUNNING);
    g_calls++;
}

SW_TEST(loop_reentrance)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    g_calls = 0;
    ASSERT_OK(sw_loop_defer(loop, reenter_cb, NULL));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(g_calls, 1);
    ASSERT_OK(sw_loop_destroy(loop));
}

/* ---- destroy with live handles ------------------------------------------------------------- */

typedef struct {
    int types[16];
    char what[16][96];
    int n;
} walked_t;

static void walk_collect(sw_loop_t *loop, const sw_handle_info_t *info, void *arg)
{
    (void)loop;
    walked_t *w = arg;
    ASSERT_LT(w->n, 16);
    w->types[w->n] = info->type;
    snprintf(w->what[w->n], sizeof(w->what[0]), "%s", info->what);
    w->n++;
}

static int has_type(const walked_t *w, int type, const char *needle)
{
    for (int i = 0; i < w->n; i++) {
        if (w->types[i] == type && strstr(w->what[i], needle)) {
            return 1;
        }
    }
    return 0;
}

typedef struct {
    char lines[16][256];
    int n;
} logged_t;

static void log_capture(sw_log_t *log, sw_log_level_t level, const char *line, void *arg)
{
    (void)log;
    logged_t *l = arg;
    ASSERT_EQ(level, SW_LOG_WARNING);
    if (l->n < 16) {
        snprintf(l->lines[l->n++], sizeof(l->lines[0]), "%s", line);
    }
}

static int logged_has(const logged_t *l, const char *needle)
{
    for (int i = 0; i < l->n; i++) {
        if (strstr(l->lines[i], needle)) {
            return 1;
        }
    }
    return 0;
}

static void io_noop(sw_io_t *io, int events, void *arg)
{
    (void)io;
    (void)events;
    (void)arg;
}

static void sig_noop(sw_signal_t *sig, int signum, void *arg)
{
    (void)sig;
    (void)signum;
    (void)arg;
}

SW_TEST(loop_destroy_busy_names_handles)
{
    sw_log_t *log;
    ASSERT_OK(sw_log_create(&log));
    logged_t logged = {0};
    ASSERT_OK(sw_log_set_handler(log, log_capture, &logged));
    sw_loop_options_t o;
    sw_loop_options_init(&o);
    o.log = log;
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, &o));

    int sv[2], pw[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    ASSERT_OK(pipe2(pw, O_NONBLOCK | O_CLOEXEC));
    sw_io_t io;
    ASSERT_OK(sw_io_init(loop, &io, sv[0], io_noop, NULL));
    ASSERT_OK(sw_io_start(&io, SW_EVENT_READ));
    /* A pipe holds 64 KiB: 200 KiB leave bytes queued. */
    static char big[200 << 10];
    ASSERT_OK(sw_loop_write(loop, pw[1], big, sizeof(big)));
    ASSERT_GT(sw_loop_write_pending(loop, pw[1]), 0);
    uint64_t tid;
    ASSERT_OK(sw_timer_after(loop, 100000, timer_cb, NULL, &tid));
    sw_signal_t sig;
    ASSERT_OK(sw_signal_init(loop, &sig, sig_noop, NULL));
    ASSERT_OK(sw_signal_start(&sig, SIGUSR2));
    ASSERT_OK(sw_loop_defer(loop, count_cb, NULL));
    ASSERT_OK(sw_loop_post(loop, count_cb, NULL));
    sw_loop_ref(loop);

    ASSERT_ERR(sw_loop_destroy(loop), SW_EBUSY);
    walked_t w = {0};
    ASSERT_EQ(sw_loop_walk(loop, walk_collect, &w), 7);
    ASSERT_EQ(w.n, 7);
    char needle[64];
    snprintf(needle, sizeof(needle), "io fd=%d events=READ", sv[0]);
    ASSERT_TRUE(has_type(&w, SW_HANDLE_IO, needle));
    ASSERT_TRUE(logged_has(&logged, needle));
    snprintf(needle, sizeof(needle), "write fd=%d", pw[1]);
    ASSERT_TRUE(has_type(&w, SW_HANDLE_WRITE, needle));
    ASSERT_TRUE(logged_has(&logged, needle));
    ASSERT_TRUE(has_type(&w, SW_HANDLE_TIMER, ""));
    ASSERT_TRUE(has_type(&w, SW_HANDLE_SIGNAL, "signal"));
    ASSERT_TRUE(logged_has(&logged, "signal"));
    ASSERT_TRUE(has_type(&w, SW_HANDLE_DEFER, "defer count=1"));
    ASSERT_TRUE(logged_has(&logged, "defer count=1"));
    ASSERT_TRUE(has_type(&w, SW_HANDLE_POST, "post count=1"));
    ASSERT_TRUE(has_type(&w, SW_HANDLE_REF, "ref count=1"));
    ASSERT_EQ(logged.n, 7);

    /* Clean up one by one: each step still refuses until the last. */
    ASSERT_OK(sw_io_stop(&io));
    ASSERT_ERR(sw_loop_destroy(loop), SW_EBUSY);
    size_t pending = sw_loop_write_pending(loop, pw[1]);
    ASSERT_UEQ(sw_loop_write_cancel(loop, pw[1]), pending);
    ASSERT_UEQ(sw_loop_write_pending(loop, pw[1]), 0);
    ASSERT_OK(sw_timer_clear(loop, tid));
    ASSERT_OK(sw_signal_stop(&sig));
    g_calls = 0;
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_NOWAIT), 1); /* runs the defer and the post */
    ASSERT_EQ(g_calls, 2);
    ASSERT_ERR(sw_loop_destroy(loop), SW_EBUSY); /* the reference */
    sw_loop_unref(loop);
    ASSERT_EQ(sw_loop_walk(loop, walk_collect, &w), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    close(sv[0]);
    close(sv[1]);
    close(pw[0]);
    close(pw[1]);
    sw_log_destroy(log);
}

/* ---- embedding ----------------------------------------------------------------------------- */

static int g_io_events;

static void io_read_cb(sw_io_t *io, int events, void *arg)
{
    (void)arg;
    g_io_events |= events;
    char buf[16];
    ASSERT_EQ(read(io->fd, buf, sizeof(buf)), 1);
}

SW_TEST(loop_embed_backend_fd)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int bfd = sw_loop_backend_fd(loop);
    if (strcmp(sw_loop_backend_name(loop), "poll") == 0) {
        ASSERT_ERR(bfd, SW_ENOTSUP);
        ASSERT_OK(sw_loop_destroy(loop));
        return;
    }
    ASSERT_GE(bfd, 0);
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    sw_io_t io;
    ASSERT_OK(sw_io_init(loop, &io, sv[0], io_read_cb, NULL));
    ASSERT_OK(sw_io_start(&io, SW_EVENT_READ));

    /* Nothing pending: the backend fd is not readable and the timeout is "forever". */
    struct pollfd p = {.fd = bfd, .events = POLLIN};
    ASSERT_EQ(sw_loop_timeout(loop), -1);
    ASSERT_EQ(poll(&p, 1, 0), 0);

    /* An fd event makes it readable; NOWAIT then delivers it. */
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    ASSERT_EQ(poll(&p, 1, 5000), 1);
    g_io_events = 0;
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_NOWAIT), 1);
    ASSERT_EQ(g_io_events, SW_EVENT_READ);
    ASSERT_EQ(poll(&p, 1, 0), 0);

    /* A post makes it readable too (the wake-up fd is registered in it). */
    g_calls = 0;
    ASSERT_OK(sw_loop_post(loop, count_cb, NULL));
    ASSERT_EQ(poll(&p, 1, 5000), 1);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_NOWAIT), 1);
    ASSERT_EQ(g_calls, 1);

    /* A timer: the outside poll sleeps for sw_loop_timeout() and then the timer runs. */
    g_timer_fired = 0;
    ASSERT_OK(sw_timer_after(loop, 10, timer_cb, NULL, NULL));
    uint64_t start = sw_test_now_ms();
    while (g_timer_fired == 0 && sw_test_now_ms() - start < 10000) {
        int t = sw_loop_timeout(loop);
        ASSERT_GE(t, 0);
        ASSERT_LE(t, 10);
        poll(&p, 1, t);
        sw_loop_run(loop, SW_RUN_NOWAIT);
    }
    ASSERT_EQ(g_timer_fired, 1);

    /* A deferred callback: timeout 0. */
    ASSERT_OK(sw_loop_defer(loop, count_cb, NULL));
    ASSERT_EQ(sw_loop_timeout(loop), 0);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_NOWAIT), 1);

    ASSERT_OK(sw_io_stop(&io));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_NOWAIT), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    close(sv[0]);
    close(sv[1]);
}

SW_TEST(loop_walk_empty_and_internal_fds_hidden)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int n = 0;
    ASSERT_EQ(sw_loop_walk(loop, walk_count, &n), 0);
    ASSERT_EQ(n, 0);
    sw_loop_ref(loop);
    ASSERT_EQ(sw_loop_walk(loop, walk_count, &n), 1);
    sw_loop_unref(loop);
    ASSERT_OK(sw_loop_destroy(loop));
}

SW_TEST(loop_many_loops)
{
    /* No global state: several loops side by side, each with its own work. */
    sw_loop_t *loops[8];
    for (int i = 0; i < 8; i++) {
        ASSERT_OK(sw_loop_create(&loops[i], NULL));
        ASSERT_OK(sw_loop_defer(loops[i], count_cb, NULL));
    }
    g_calls = 0;
    for (int i = 0; i < 8; i++) {
        ASSERT_EQ(sw_loop_run(loops[i], SW_RUN_DEFAULT), 0);
        ASSERT_EQ(g_calls, i + 1);
    }
    for (int i = 0; i < 8; i++) {
        ASSERT_OK(sw_loop_destroy(loops[i]));
    }
}
