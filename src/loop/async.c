/*
 * Deferred callbacks (loop thread only) and posted callbacks (from any thread), and the fd that
 * wakes the loop for the latter.
 *
 * Both queues are rings of (cb, arg) that double when full, so a warm loop allocates nothing.
 * Posts go into `posts` under `post_lock`; the loop takes the whole ring in one swap with the
 * empty `running_posts` and runs it without the lock, so posting threads never wait for
 * callbacks.
 *
 * Wake-ups are coalesced: a poster writes the wake fd only when its callback made the queue go
 * from empty to non-empty. A poster that finds the queue non-empty knows that whoever made it
 * non-empty wrote the fd after the loop last emptied the queue, so the loop will look at the
 * queue again. The loop reads the wake fd only when the backend reports it readable. The cost
 * is at most one spurious wake-up when the loop took a batch before reading the fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#ifdef SW_LOOP_LINUX_API
#include <sys/eventfd.h>
#endif

#include "core/alloc.h"
#include "core/fault.h"
#include "loop/loop_int.h"
#include "swoole/error.h"

/* First capacity of a callback ring (a power of two: indexes wrap with a mask). */
#define SW_CBQ_MIN 16u

static int cbq_push(sw__cbq_t *q, sw_loop_cb cb, void *arg)
{
    if (q->count == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : SW_CBQ_MIN;
        sw__cb_t *items = sw__malloc(ncap * sizeof(*items));
        if (!items) {
            return SW_ENOMEM;
        }
        for (size_t i = 0; i < q->count; i++) {
            items[i] = q->items[(q->head + i) & (q->cap - 1)];
        }
        sw__free(q->items);
        q->items = items;
        q->head = 0;
        q->cap = ncap;
    }
    q->items[(q->head + q->count) & (q->cap - 1)] = (sw__cb_t){cb, arg};
    q->count++;
    return 0;
}

static sw__cb_t cbq_pop(sw__cbq_t *q)
{
    sw__cb_t c = q->items[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
    q->count--;
    return c;
}

void sw__cbq_free(sw__cbq_t *q)
{
    sw__free(q->items);
    memset(q, 0, sizeof(*q));
}

/* ---- defer --------------------------------------------------------------------------------- */

int sw_loop_defer(sw_loop_t *loop, sw_loop_cb cb, void *arg)
{
    if (!loop || !cb) {
        return SW_EINVAL;
    }
    return cbq_push(&loop->defers, cb, arg);
}

void sw__async_run_defers(sw_loop_t *loop)
{
    /* Only the callbacks queued now: those they defer wait for the next iteration. */
    for (size_t n = loop->defers.count; n > 0; n--) {
        sw__cb_t c = cbq_pop(&loop->defers);
        c.cb(loop, c.arg);
    }
}

/* ---- post ---------------------------------------------------------------------------------- */

static void wake(sw_loop_t *loop)
{
#ifdef SW_LOOP_LINUX_API
    uint64_t one = 1;
    ssize_t r;
    do {
        r = write(loop->wake_wfd, &one, sizeof(one));
    } while (r < 0 && errno == EINTR);
#else
    char one = 1;
    ssize_t r;
    do {
        r = write(loop->wake_wfd, &one, 1);
    } while (r < 0 && errno == EINTR);
#endif
    /* EAGAIN: the counter or the pipe is full, so the fd is readable already. */
    (void)r;
}

int sw_loop_post(sw_loop_t *loop, sw_loop_cb cb, void *arg)
{
    if (!loop || !cb) {
        return SW_EINVAL;
    }
    pthread_mutex_lock(&loop->post_lock);
    int r = cbq_push(&loop->posts, cb, arg);
    int was_empty = r == 0 && loop->posts.count == 1;
    if (r == 0) {
        atomic_store_explicit(&loop->post_count, loop->posts.count, memory_order_relaxed);
    }
    pthread_mutex_unlock(&loop->post_lock);
    if (was_empty) {
        wake(loop);
    }
    return r;
}

void sw__async_run_posts(sw_loop_t *loop)
{
    if (atomic_load_explicit(&loop->post_count, memory_order_relaxed) == 0) {
        return;
    }
    pthread_mutex_lock(&loop->post_lock);
    sw__cbq_t batch = loop->posts;
    loop->posts = loop->running_posts;
    atomic_store_explicit(&loop->post_count, 0, memory_order_relaxed);
    pthread_mutex_unlock(&loop->post_lock);
    loop->running_posts = batch;
    while (loop->running_posts.count > 0) {
        sw__cb_t c = cbq_pop(&loop->running_posts);
        c.cb(loop, c.arg);
    }
}

/* The wake fd fired: empty it. The posts themselves run after the fd events. */
static void wake_cb(sw_io_t *io, int events, void *arg)
{
    (void)events;
    (void)arg;
#ifdef SW_LOOP_LINUX_API
    uint64_t v;
    while (read(io->fd, &v, sizeof(v)) < 0 && errno == EINTR) {
    }
#else
    char buf[64];
    ssize_t r;
    do {
        r = read(io->fd, buf, sizeof(buf));
    } while (r == (ssize_t)sizeof(buf) || (r < 0 && errno == EINTR));
#endif
}

static int make_wake_fds(int *rfd, int *wfd)
{
    int r = SW_FAULT("eventfd", SW_EMFILE);
    if (r) {
        return r;
    }
#ifdef SW_LOOP_LINUX_API
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    *rfd = *wfd = fd;
#else
    /* No eventfd: a pipe. pipe2() is missing on macOS, so the flags are set afterwards; the
     * loop is created before the program forks or execs anything from another thread. */
    int p[2];
    if (pipe(p) < 0) {
        return -errno;
    }
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(p[i], F_GETFL);
        if (fl < 0 || fcntl(p[i], F_SETFL, fl | O_NONBLOCK) < 0 ||
            fcntl(p[i], F_SETFD, FD_CLOEXEC) < 0) {
            r = -errno;
            close(p[0]);
            close(p[1]);
            return r;
        }
    }
    *rfd = p[0];
    *wfd = p[1];
#endif
    return 0;
}

int sw__async_init(sw_loop_t *loop)
{
    int r = make_wake_fds(&loop->wake_rfd, &loop->wake_wfd);
    if (r < 0) {
        loop->wake_rfd = loop->wake_wfd = -1;
        return r;
    }
    r = sw__io_start_internal(loop, &loop->wake_io, loop->wake_rfd, wake_cb, NULL);
    if (r < 0) {
        sw__async_close(loop);
    }
    return r;
}

void sw__async_forget(sw_loop_t *loop)
{
    if (loop->wake_rfd >= 0) {
        close(loop->wake_rfd);
        if (loop->wake_wfd != loop->wake_rfd) {
            close(loop->wake_wfd);
        }
    }
    loop->wake_rfd = loop->wake_wfd = -1;
    sw__cbq_free(&loop->defers);
    sw__cbq_free(&loop->posts);
    sw__cbq_free(&loop->running_posts);
}

void sw__async_close(sw_loop_t *loop)
{
    if (loop->wake_rfd >= 0) {
        sw_io_stop(&loop->wake_io);
        close(loop->wake_rfd);
        if (loop->wake_wfd != loop->wake_rfd) {
            close(loop->wake_wfd);
        }
    }
    loop->wake_rfd = loop->wake_wfd = -1;
    sw__cbq_free(&loop->defers);
    sw__cbq_free(&loop->posts);
    sw__cbq_free(&loop->running_posts);
}
