/*
 * The loop's internals: the loop structure, the backend interface and the fd table, shared by
 * the files of src/loop (loop.c, io.c, write.c, async.c, signal*.c and the backends).
 *
 * Platform switches come from src/loop/CMakeLists.txt, never from a public header:
 *   SW_LOOP_HAVE_EPOLL   backend_epoll.c is compiled (Linux)
 *   SW_LOOP_HAVE_KQUEUE  backend_kqueue.c is compiled (BSD, macOS)
 *   SW_LOOP_LINUX_API    eventfd wake-up and signalfd signals; without it a pipe wakes the loop
 *                        and signals come through a self-pipe written by a sigaction handler
 *                        (the path every non-Linux system takes; -DSWOOLE_LOOP_PORTABLE=ON
 *                        builds it on Linux so that it is tested here too).
 */
#ifndef SW_LOOP_LOOP_INT_H
#define SW_LOOP_LOOP_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include "swoole/buffer.h"
#include "swoole/loop.h"
#include "loop/timer_int.h"

/* ---- backends ------------------------------------------------------------------------------ */

/*
 * One backend (epoll, kqueue, poll). `state` is what init() made. Interest bits are
 * SW_EVENT_READ / SW_EVENT_WRITE (0 is allowed: only errors and hang-ups). `udata` is an opaque
 * 64-bit value the backend must hand back with every event of that fd (the loop puts the fd
 * and a generation in it, see sw__loop_udata).
 *
 *   init        makes the state; max_events bounds the events taken per wait.
 *   add         starts watching fd (not watched yet).
 *   mod         changes the interest of a watched fd from old_events to events.
 *   del         stops watching fd; errors are ignored by the loop (the fd may be closed already).
 *   wait        blocks up to timeout_ms (-1: forever, 0: poll) and collects ready events.
 *               Returns their number, 0 on timeout or EINTR, or a negated errno.
 *   dispatch    hands the `n` collected events to sw__loop_dispatch(), in order. Callbacks run
 *               from here may call add/mod/del; the backend must cope (epoll and kqueue keep
 *               the kernel's array, poll copies the ready entries before delivering).
 *   close       frees the state.
 *   forget      frees the state in a child after fork(), without touching kernel state shared
 *               with the parent; closes the backend's fd only where the child inherited it.
 *   backend_fd  an fd that is readable when wait would return events, or SW_ENOTSUP.
 *
 * Every call may return SW_E* codes; add and mod report the kernel's errno (SW_EBADF,
 * SW_EPERM for regular files under epoll, SW_ENOMEM...).
 */
typedef struct sw__backend_ops_s {
    const char *name;
    int (*init)(void **state, unsigned max_events);
    int (*add)(void *state, int fd, int events, uint64_t udata);
    int (*mod)(void *state, int fd, int old_events, int events, uint64_t udata);
    int (*del)(void *state, int fd, int old_events);
    int (*wait)(void *state, int timeout_ms);
    void (*dispatch)(void *state, sw_loop_t *loop, int n);
    void (*close)(void *state);
    void (*forget)(void *state);
    int (*backend_fd)(const void *state);
} sw__backend_ops_t;

extern const sw__backend_ops_t sw__backend_poll;
#ifdef SW_LOOP_HAVE_EPOLL
extern const sw__backend_ops_t sw__backend_epoll;
#endif
#ifdef SW_LOOP_HAVE_KQUEUE
extern const sw__backend_ops_t sw__backend_kqueue;
#endif

/* ---- fd table ------------------------------------------------------------------------------ */

/* Write queue of one fd (write.c): allocated when bytes are first queued, freed when the queue
 * drains without error or is cancelled. */
typedef struct sw__wq_s {
    sw_chain_t chain;
    int error; /* sticky: the error that ended the background writes, or 0 */
} sw__wq_t;

/*
 * One entry per fd number, indexed by fd, grown by doubling. `gen` changes each time the fd is
 * added to or removed from the backend; it travels in the event's udata, so an event collected
 * before the fd was stopped, closed or re-registered within the same batch no longer matches
 * and is dropped (the idea of nginx's "instance" bit, with a full counter).
 */
typedef struct sw__fd_s {
    sw_io_t *io;        /* the started watcher, user or internal, or NULL */
    sw__wq_t *wq;       /* queued writes or a sticky error, or NULL */
    uint32_t gen;       /* registration generation */
    uint8_t registered; /* the fd is in the backend's set */
    uint8_t reg_events; /* interest registered with the backend */
} sw__fd_t;

/* sw_io_t.flags */
#define SW_IO_ACTIVE   0x1u
#define SW_IO_INTERNAL 0x2u /* the loop's own watcher: not counted as active, not walked */

/* sw_signal_t.flags */
#define SW_SIG_ACTIVE  0x1u
#define SW_SIG_PENDING 0x2u

/* Signal numbers the loop accepts: 1 .. SW_NSIG-1. */
#define SW_NSIG 65

static inline uint64_t sw__loop_udata(int fd, uint32_t gen)
{
    return (uint64_t)(uint32_t)fd | ((uint64_t)gen << 32);
}

/* ---- callback queues (defer, post) --------------------------------------------------------- */

typedef struct {
    sw_loop_cb cb;
    void *arg;
} sw__cb_t;

/* A FIFO ring of callbacks grown by doubling; it never allocates once warm. */
typedef struct {
    sw__cb_t *items;
    size_t head;
    size_t count;
    size_t cap;
} sw__cbq_t;

/* ---- the loop ------------------------------------------------------------------------------ */

struct sw_loop_s {
    /* hot: touched every iteration or every event */
    const sw__backend_ops_t *ops;
    void *backend;
    sw__fd_t *fds;
    uint32_t nfds;   /* entries in fds */
    uint64_t now_ms; /* cached monotonic time */
    sw__timers_t *timers;
    sw__cbq_t defers;
    atomic_size_t post_count; /* callbacks in `posts`, readable without the lock */
    int running;
    int stop_flag;

    /* what keeps the loop alive, besides timers, defers and posts */
    unsigned nio_active;     /* started user watchers */
    unsigned nwrite_pending; /* fds with queued bytes */
    unsigned nsig_active;    /* started signal watchers */
    unsigned refs;

    size_t write_queue_max;
    sw_log_t *log;
    void *data;

    /* posts (async.c): the only state shared with other threads */
    pthread_mutex_t post_lock;
    sw__cbq_t posts;         /* guarded by post_lock */
    sw__cbq_t running_posts; /* loop thread only: the batch being run */
    int wake_rfd;            /* eventfd (both ends the same) or the pipe's read end */
    int wake_wfd;
    sw_io_t wake_io;

    /* signals (signal.c and its source) */
    sw_signal_t *sig_heads[SW_NSIG]; /* watchers per signal number, in start order */
    void *sig_src;                   /* the source's state (signalfd or self-pipe), lazily */
};

/* ---- internal calls between the files ------------------------------------------------------ */

/* io.c */
int sw__loop_fd_reserve(sw_loop_t *loop, int fd);
int sw__loop_fd_sync(sw_loop_t *loop, int fd);
void sw__loop_dispatch(sw_loop_t *loop, uint64_t udata, int events);
/* Starts an internal watcher (SW_IO_INTERNAL) for READ. */
int sw__io_start_internal(sw_loop_t *loop, sw_io_t *io, int fd, sw_io_cb cb, void *arg);

/* write.c */
/* Writes queued bytes of `fd` after WRITE/ERROR/HUP readiness. Returns 1 when the background
 * writes of the fd failed just now (the caller adds SW_EVENT_ERROR for the watcher), else 0. */
int sw__write_drain(sw_loop_t *loop, int fd);
/* Frees every write queue and sticky error (destroy). */
void sw__write_free_all(sw_loop_t *loop);

/* async.c */
int sw__async_init(sw_loop_t *loop);
void sw__async_close(sw_loop_t *loop);
/* After fork(), in the child: closes the wake-up fds and frees the queues without stopping
 * any watcher (that would change the backend the parent shares). */
void sw__async_forget(sw_loop_t *loop);
/* Runs the posted callbacks queued now; those posted meanwhile wait for the next call. */
void sw__async_run_posts(sw_loop_t *loop);
/* Runs the deferred callbacks queued now; those deferred meanwhile wait for the next call. */
void sw__async_run_defers(sw_loop_t *loop);
void sw__cbq_free(sw__cbq_t *q);

/* signal.c */
void sw__signal_deliver(sw_loop_t *loop, int signum);
void sw__signal_close(sw_loop_t *loop);

/* The signal source (signal_signalfd.c or signal_pipe.c). add: the first watcher of `signum`
 * starts; remove: its last watcher stopped. close: at loop destroy, no watcher left. */
int sw__sigsrc_add(sw_loop_t *loop, int signum);
void sw__sigsrc_remove(sw_loop_t *loop, int signum);
void sw__sigsrc_close(sw_loop_t *loop);
/* After fork(), in the child: closes the source's fds and frees it without touching the
 * backend. The signal mask and dispositions are left as inherited. */
void sw__sigsrc_forget(sw_loop_t *loop);

/* loop.c */
int sw__loop_alive(const sw_loop_t *loop);

#endif
