/*
 * The loop: creation and destruction, the backend choice, the iteration, liveness, embedding
 * and walking the handles.
 *
 * One iteration (sw_loop_run):
 *
 *     run due timers -> compute the timeout -> backend wait -> update the cached time ->
 *     dispatch fd events -> run posted callbacks -> run deferred callbacks -> run due timers
 *
 * The time is read once per iteration, right after the wait (plus once when sw_loop_run
 * starts, so that a loop left idle does not compute its first timeout from an old time). The
 * timers at the top of the next iteration see the same time as those at the end of this one
 * and find nothing due unless a callback created a timer for "now".
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/log_int.h"
#include "loop/loop_int.h"
#include "swoole/error.h"

#define SW_LOOP_DEFAULT_WRITE_QUEUE_MAX ((size_t)64 << 20)
#define SW_LOOP_DEFAULT_MAX_EVENTS      512u
#define SW_LOOP_MAX_MAX_EVENTS          65536u

void sw_loop_options_init(sw_loop_options_t *opts)
{
    if (opts) {
        memset(opts, 0, sizeof(*opts));
    }
}

/* ---- backend choice ------------------------------------------------------------------------ */

static const sw__backend_ops_t *const preferred[] = {
#ifdef SW_LOOP_HAVE_EPOLL
    &sw__backend_epoll,
#endif
#ifdef SW_LOOP_HAVE_KQUEUE
    &sw__backend_kqueue,
#endif
    &sw__backend_poll,
};

/* Finds the backend called `name`. Returns 0, SW_EINVAL (no backend has that name on any
 * platform) or SW_ENOTSUP (it exists, not here). */
static int backend_by_name(const char *name, const sw__backend_ops_t **out)
{
    for (size_t i = 0; i < sizeof(preferred) / sizeof(preferred[0]); i++) {
        if (strcmp(preferred[i]->name, name) == 0) {
            *out = preferred[i];
            return 0;
        }
    }
    if (strcmp(name, "epoll") == 0 || strcmp(name, "kqueue") == 0) {
        return SW_ENOTSUP;
    }
    return SW_EINVAL;
}

/* Initialises the named backend, or the best one that works here. Only SW_ENOTSUP moves on to
 * the next: a real failure (out of fds) is reported, not hidden behind a slower backend. */
static int backend_open(sw_loop_t *loop, const char *name, unsigned max_events)
{
    if (!name || !*name) {
        name = getenv("SW_LOOP_BACKEND");
    }
    if (name && *name) {
        const sw__backend_ops_t *ops;
        int r = backend_by_name(name, &ops);
        if (r == 0) {
            r = ops->init(&loop->backend, max_events);
        }
        if (r == 0) {
            loop->ops = ops;
        }
        return r;
    }
    int r = SW_ENOTSUP;
    for (size_t i = 0; i < sizeof(preferred) / sizeof(preferred[0]) && r == SW_ENOTSUP; i++) {
        r = preferred[i]->init(&loop->backend, max_events);
        if (r == 0) {
            loop->ops = preferred[i];
        }
    }
    return r;
}

/* ---- create / destroy ---------------------------------------------------------------------- */

static void loop_free(sw_loop_t *loop)
{
    sw__signal_close(loop);
    sw__async_close(loop);
    sw__write_free_all(loop);
    if (loop->ops) {
        loop->ops->close(loop->backend);
    }
    if (loop->timers) {
        sw__timers_destroy(loop->timers);
    }
    pthread_mutex_destroy(&loop->post_lock);
    sw__big_free(loop->fds, (size_t)loop->nfds * sizeof(sw__fd_t));
    sw__free(loop);
}

int sw_loop_create(sw_loop_t **out, const sw_loop_options_t *opts)
{
    if (!out) {
        return SW_EINVAL;
    }
    sw_loop_options_t o;
    sw_loop_options_init(&o);
    if (opts) {
        o = *opts;
    }
    unsigned max_events = o.max_events ? o.max_events : SW_LOOP_DEFAULT_MAX_EVENTS;
    if (max_events > SW_LOOP_MAX_MAX_EVENTS) {
        max_events = SW_LOOP_MAX_MAX_EVENTS;
    }
    sw_loop_t *loop = sw__calloc(1, sizeof(*loop));
    if (!loop) {
        return SW_ENOMEM;
    }
    loop->write_queue_max = o.write_queue_max ? o.write_queue_max : SW_LOOP_DEFAULT_WRITE_QUEUE_MAX;
    loop->log = o.log;
    loop->wake_rfd = loop->wake_wfd = -1;
    atomic_init(&loop->post_count, 0);
    int r = pthread_mutex_init(&loop->post_lock, NULL);
    if (r != 0) {
        sw__free(loop);
        return -r;
    }
    r = sw__timers_create(&loop->timers);
    if (r == 0) {
        r = backend_open(loop, o.backend, max_events);
    }
    if (r == 0) {
        r = sw__async_init(loop);
    }
    if (r < 0) {
        loop_free(loop);
        return r;
    }
    sw_loop_update_time(loop);
    *out = loop;
    return 0;
}

static void log_live(sw_loop_t *loop, const sw_handle_info_t *info, void *arg)
{
    (void)arg;
    SW_LOG_WARNING(loop->log, "sw_loop_destroy: still active: %s", info->what);
}

int sw_loop_fork_release(sw_loop_t *loop)
{
    if (!loop) {
        return SW_EINVAL;
    }
    /* No sw_io_stop and no backend del here: the backend's kernel object (an epoll instance)
     * is shared with the parent, and removing an fd from it in the child would remove it for
     * the parent too. Only this process's descriptors and memory go. The post mutex is left
     * alone: another thread may have held it at fork(). */
    if (loop->sig_src) {
        sw__sigsrc_forget(loop);
    }
    sw__async_forget(loop);
    sw__write_free_all(loop);
    if (loop->ops) {
        loop->ops->forget(loop->backend);
    }
    if (loop->timers) {
        sw__timers_destroy(loop->timers);
    }
    sw__big_free(loop->fds, (size_t)loop->nfds * sizeof(sw__fd_t));
    sw__free(loop);
    return 0;
}

int sw_loop_destroy(sw_loop_t *loop)
{
    if (!loop) {
        return SW_EINVAL;
    }
    if (loop->running) {
        return SW_ELOOP_RUNNING;
    }
    if (sw__loop_alive(loop)) {
        sw_loop_walk(loop, log_live, NULL);
        return SW_EBUSY;
    }
    loop_free(loop);
    return 0;
}

const char *sw_loop_backend_name(const sw_loop_t *loop)
{
    return loop ? loop->ops->name : NULL;
}

/* ---- time ---------------------------------------------------------------------------------- */

void sw_loop_update_time(sw_loop_t *loop)
{
    if (!loop) {
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    loop->now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t sw_loop_now(const sw_loop_t *loop)
{
    return loop ? loop->now_ms : 0;
}

sw__timers_t *sw__loop_timers(const sw_loop_t *loop)
{
    return loop->timers;
}

/* ---- run ----------------------------------------------------------------------------------- */

int sw__loop_alive(const sw_loop_t *loop)
{
    return loop->nio_active || loop->nwrite_pending || loop->nsig_active || loop->refs ||
           loop->defers.count || atomic_load_explicit(&loop->post_count, memory_order_relaxed) ||
           sw__timers_count(loop->timers);
}

int sw_loop_alive(const sw_loop_t *loop)
{
    return loop && sw__loop_alive(loop) ? 1 : 0;
}

static int next_timeout(const sw_loop_t *loop)
{
    if (loop->stop_flag || loop->defers.count ||
        atomic_load_explicit(&loop->post_count, memory_order_relaxed)) {
        return 0;
    }
    int64_t deadline = sw__timers_next_deadline(loop->timers);
    if (deadline < 0) {
        return -1;
    }
    if ((uint64_t)deadline <= loop->now_ms) {
        return 0;
    }
    uint64_t ms = (uint64_t)deadline - loop->now_ms;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

int sw_loop_run(sw_loop_t *loop, sw_run_mode_t mode)
{
    if (!loop || (mode != SW_RUN_DEFAULT && mode != SW_RUN_ONCE && mode != SW_RUN_NOWAIT)) {
        return SW_EINVAL;
    }
    if (loop->running) {
        return SW_ELOOP_RUNNING;
    }
    loop->running = 1;
    sw_loop_update_time(loop);
    int err = 0;
    int alive = sw__loop_alive(loop);
    while (alive && !loop->stop_flag) {
        sw__timers_run(loop, loop->timers, loop->now_ms);
        if (!sw__loop_alive(loop)) {
            /* The timers just run were the last thing alive: waiting now would block forever. */
            break;
        }
        int timeout = mode == SW_RUN_NOWAIT ? 0 : next_timeout(loop);
        int n = loop->ops->wait(loop->backend, timeout);
        sw_loop_update_time(loop);
        if (n < 0) {
            SW_LOG_ERROR(loop->log, "loop: %s wait failed: %s", loop->ops->name, sw_strerror(n));
            err = n;
            break;
        }
        if (n > 0) {
            loop->ops->dispatch(loop->backend, loop, n);
        }
        sw__async_run_posts(loop);
        sw__async_run_defers(loop);
        sw__timers_run(loop, loop->timers, loop->now_ms);
        alive = sw__loop_alive(loop);
        if (mode != SW_RUN_DEFAULT) {
            break;
        }
    }
    loop->stop_flag = 0;
    loop->running = 0;
    return err ? err : sw__loop_alive(loop);
}

void sw_loop_stop(sw_loop_t *loop)
{
    if (loop) {
        loop->stop_flag = 1;
    }
}

void sw_loop_ref(sw_loop_t *loop)
{
    if (loop) {
        loop->refs++;
    }
}

void sw_loop_unref(sw_loop_t *loop)
{
    if (loop && loop->refs > 0) {
        loop->refs--;
    }
}

void sw_loop_set_data(sw_loop_t *loop, void *data)
{
    if (loop) {
        loop->data = data;
    }
}

void *sw_loop_get_data(const sw_loop_t *loop)
{
    return loop ? loop->data : NULL;
}

/* ---- embedding ----------------------------------------------------------------------------- */

int sw_loop_backend_fd(const sw_loop_t *loop)
{
    if (!loop) {
        return SW_EINVAL;
    }
    return loop->ops->backend_fd ? loop->ops->backend_fd(loop->backend) : SW_ENOTSUP;
}

int sw_loop_timeout(const sw_loop_t *loop)
{
    if (!loop) {
        return SW_EINVAL;
    }
    return next_timeout(loop);
}

/* ---- walk ---------------------------------------------------------------------------------- */

static const char *const event_names[] = {"none", "READ", "WRITE", "READ|WRITE"};

static int emit(sw_loop_t *loop, sw_walk_cb cb, void *arg, sw_handle_type_t type, int64_t ident,
                const char *what)
{
    sw_handle_info_t info = {.type = type, .ident = ident, .what = what};
    cb(loop, &info, arg);
    return 1;
}

int sw_loop_walk(sw_loop_t *loop, sw_walk_cb cb, void *arg)
{
    if (!loop || !cb) {
        return SW_EINVAL;
    }
    char what[96];
    int n = 0;
    for (uint32_t fd = 0; fd < loop->nfds; fd++) {
        const sw__fd_t *slot = &loop->fds[fd];
        if (slot->io && !(slot->io->flags & SW_IO_INTERNAL)) {
            snprintf(what, sizeof(what), "io fd=%u events=%s", fd,
                     event_names[slot->io->events & 3]);
            n += emit(loop, cb, arg, SW_HANDLE_IO, fd, what);
        }
        if (slot->wq && slot->wq->error == 0) {
            snprintf(what, sizeof(what), "write fd=%u pending=%zu bytes", fd,
                     sw_chain_length(&slot->wq->chain));
            n += emit(loop, cb, arg, SW_HANDLE_WRITE, fd, what);
        }
    }
    n += sw__timers_walk(loop, loop->timers, cb, arg);
    for (int s = 1; s < SW_NSIG; s++) {
        for (const sw_signal_t *w = loop->sig_heads[s]; w; w = w->next) {
            snprintf(what, sizeof(what), "signal signum=%d", s);
            n += emit(loop, cb, arg, SW_HANDLE_SIGNAL, s, what);
        }
    }
    if (loop->defers.count) {
        snprintf(what, sizeof(what), "defer count=%zu", loop->defers.count);
        n += emit(loop, cb, arg, SW_HANDLE_DEFER, (int64_t)loop->defers.count, what);
    }
    size_t posts = atomic_load_explicit(&loop->post_count, memory_order_relaxed);
    if (posts) {
        snprintf(what, sizeof(what), "post count=%zu", posts);
        n += emit(loop, cb, arg, SW_HANDLE_POST, (int64_t)posts, what);
    }
    if (loop->refs) {
        snprintf(what, sizeof(what), "ref count=%u", loop->refs);
        n += emit(loop, cb, arg, SW_HANDLE_REF, loop->refs, what);
    }
    return n;
}
