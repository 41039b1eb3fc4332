/*
 * The event loop.
 *
 * A loop (sw_loop_t) is one reactor: fd watchers, buffered writes, timers (swoole/timer.h),
 * deferred callbacks, callbacks posted from other threads, and signal watchers. Backends
 * (epoll, kqueue, poll) sit behind one interface; the best available one is used unless the
 * options or the environment variable SW_LOOP_BACKEND name another.
 *
 * Threads: a loop belongs to the thread that runs it. Every call in this header must be made
 * on that thread, except sw_loop_post(), which is safe from any thread (calls from other
 * threads are not detected). Many loops (one per thread) may live in one program; there is no
 * global state, except where signal dispositions force it (the self-pipe signal source of
 * non-Linux systems, see sw_signal_start).
 *
 * Lifetime: sw_loop_run() returns when nothing is active (no started watcher, timer, pending
 * write, deferred or posted callback, signal watcher, or reference) or after sw_loop_stop().
 * sw_loop_destroy() refuses (SW_EBUSY) while anything is active and names what is.
 *
 * Fork: a loop is not carried into a child process (the epoll set and the wake-up fd would be
 * shared with the parent); create a new loop in the child.
 *
 * If a call that takes a callback fails, the callback never runs.
 */
#ifndef SWOOLE_LOOP_H
#define SWOOLE_LOOP_H

#include <stdint.h>
#include <sys/types.h>

#include "swoole/common.h"
#include "swoole/log.h"

SW_EXTERN_C_BEGIN

typedef struct sw_loop_s sw_loop_t;

/* Event bits for fd watchers. SW_EVENT_ERROR and SW_EVENT_HUP are always reported to a started
 * watcher, whatever it asked for (on kqueue only together with READ or WRITE interest, since a
 * kqueue filter exists only for those). Watchers are level-triggered: an event is reported
 * again at each iteration until the condition is handled or the watcher is stopped. */
#define SW_EVENT_READ  0x1
#define SW_EVENT_WRITE 0x2
#define SW_EVENT_ERROR 0x4
#define SW_EVENT_HUP   0x8

typedef enum {
    SW_RUN_DEFAULT = 0, /* run until nothing is active or sw_loop_stop() */
    SW_RUN_ONCE = 1,    /* wait for events once (blocking if nothing is due), run them, return */
    SW_RUN_NOWAIT = 2   /* poll without blocking, run what is ready, return */
} sw_run_mode_t;

typedef struct sw_loop_options_s {
    /* "epoll", "kqueue" or "poll"; NULL or "": $SW_LOOP_BACKEND if set and not empty, else the
     * best available (epoll, then kqueue, then poll). */
    const char *backend;
    /* Where the loop reports problems (a handle left at destroy, a failed background write);
     * NULL: nowhere. Not owned: must outlive the loop. */
    sw_log_t *log;
    /* Cap of bytes queued by sw_loop_write() per fd; 0: default 64 MiB. */
    size_t write_queue_max;
    /* Events taken from the backend per wait; 0: default 512; at most 65536. */
    unsigned max_events;
} sw_loop_options_t;

/** Fills `opts` with the defaults (all zero / NULL). */
SW_API void sw_loop_options_init(sw_loop_options_t *opts);

/**
 * Creates a loop. `opts` may be NULL for the defaults; it is not kept. Returns 0 and stores the
 * loop in `*out`, or SW_EINVAL (out NULL, unknown backend name in the options or in
 * $SW_LOOP_BACKEND), SW_ENOTSUP (backend not available on this platform), SW_ENOMEM, or the
 * negated errno of creating the backend or the wake-up fd (SW_EMFILE...); `*out` is untouched
 * on error. A loop holds two fds (the backend's and an eventfd, or a pipe without eventfd)
 * and a third once a signal watcher starts.
 */
SW_API int sw_loop_create(sw_loop_t **out, const sw_loop_options_t *opts);

/**
 * Destroys a loop that has nothing active. Returns 0 (the loop is freed), SW_EINVAL (NULL),
 * SW_ELOOP_RUNNING (called from inside sw_loop_run) or SW_EBUSY: something is still active;
 * the loop is left intact, each live handle is logged at WARNING on the loop's log, and
 * sw_loop_walk() lists them. Sticky write errors (sw_loop_write_error) do not count as active
 * and are freed. No other thread may post to the loop once destroy may run.
 */
SW_API int sw_loop_destroy(sw_loop_t *loop);

/**
 * For a child process after fork(): frees a loop created by the parent without changing
 * anything the parent still uses. The loop's own descriptors (the epoll fd, the wake-up
 * eventfd or pipe, the signalfd or self-pipe) are closed in the child and its memory is freed;
 * no watcher is stopped, because stopping one would remove its fd from the epoll instance the
 * child shares with the parent. Timers, deferred and posted callbacks and queued writes are
 * dropped without running. The user's fds and watcher structs are not touched; the loop must
 * not be used afterwards, and the child must not return into an sw_loop_run of it (a child
 * forked from a callback usually runs its own code and exits). The signal mask and signal
 * dispositions stay as inherited. Allowed while the parent was inside sw_loop_run. Returns 0
 * or SW_EINVAL (NULL).
 */
SW_API int sw_loop_fork_release(sw_loop_t *loop);

/** The backend in use: "epoll", "kqueue" or "poll" (a static string); NULL for a NULL loop. */
SW_API const char *sw_loop_backend_name(const sw_loop_t *loop);

/**
 * Runs the loop. One iteration runs the due timers, waits for fd events (not at all in
 * SW_RUN_NOWAIT or while deferred or posted callbacks are queued; else until the next timer,
 * or without limit), dispatches them, then runs the posted callbacks, the deferred callbacks
 * and the timers that became due. Returns 0 when nothing is active any more, 1 when something
 * still is (after sw_loop_stop(), SW_RUN_ONCE or SW_RUN_NOWAIT), SW_EINVAL (NULL loop, unknown
 * mode), SW_ELOOP_RUNNING (re-entered from a callback) or the negated errno of a backend
 * failure (the wait itself; EINTR is not a failure). Returns at once when nothing is active.
 */
SW_API int sw_loop_run(sw_loop_t *loop, sw_run_mode_t mode);

/** Makes sw_loop_run() return after the current iteration. Called while the loop does not
 * run, it makes the next sw_loop_run() return at once (as in libuv). The request is cleared
 * when sw_loop_run returns. From the loop's thread only; to stop a loop from another thread,
 * sw_loop_post() a callback that calls this. NULL is ignored. */
SW_API void sw_loop_stop(sw_loop_t *loop);

/** 1 if something is active (sw_loop_run would not return at once), else 0 (also for NULL). */
SW_API int sw_loop_alive(const sw_loop_t *loop);

/** Keeps the loop alive without any handle (for example while other threads will post to
 * it), until a matching sw_loop_unref(). References count as active for destroy. An unref
 * without a ref, and NULL, are ignored. */
SW_API void sw_loop_ref(sw_loop_t *loop);
SW_API void sw_loop_unref(sw_loop_t *loop);

/** The loop's cached time: milliseconds on the monotonic clock (CLOCK_MONOTONIC), updated
 * once per iteration right after the backend wait, and when sw_loop_run starts. 0 for NULL. */
SW_API uint64_t sw_loop_now(const sw_loop_t *loop);

/** Updates the cached time now (useful after a long callback). */
SW_API void sw_loop_update_time(sw_loop_t *loop);

/** The user's slot; the library never touches it. */
SW_API void sw_loop_set_data(sw_loop_t *loop, void *data);
SW_API void *sw_loop_get_data(const sw_loop_t *loop);

/* ---- embedding ---------------------------------------------------------------------------- */

/**
 * One fd that becomes readable when the loop has fd events, posted callbacks or signals to
 * handle (the epoll or kqueue fd; the wake-up fd and the signal fd are registered in it), for
 * driving this loop from another event loop: poll this fd for reading with the timeout of
 * sw_loop_timeout(), then call sw_loop_run(loop, SW_RUN_NOWAIT). The fd belongs to the loop:
 * do not close or read it. Returns the fd, SW_EINVAL (NULL) or SW_ENOTSUP (the poll backend
 * has no such fd).
 */
SW_API int sw_loop_backend_fd(const sw_loop_t *loop);

/**
 * Milliseconds until the loop needs to run again, from its cached time: 0 when work is pending
 * (deferred or posted callbacks, a stop request, a timer due), the time to the next timer
 * (at most INT_MAX), or -1 when only fd events, posts or signals can wake it. SW_EINVAL (a
 * value below -1) for a NULL loop.
 */
SW_API int sw_loop_timeout(const sw_loop_t *loop);

/* ---- handles and walking ---------------------------------------------------------------- */

typedef enum {
    SW_HANDLE_IO = 1,
    SW_HANDLE_WRITE = 2, /* bytes queued by sw_loop_write() */
    SW_HANDLE_TIMER = 3,
    SW_HANDLE_SIGNAL = 4,
    SW_HANDLE_DEFER = 5,
    SW_HANDLE_POST = 6,
    SW_HANDLE_REF = 7
} sw_handle_type_t;

typedef struct sw_handle_info_s {
    sw_handle_type_t type;
    int64_t ident;    /* fd, timer id, signal number, or a count for DEFER/POST/REF */
    const char *what; /* a short description, e.g. "io fd=7 events=READ"; valid during the cb */
} sw_handle_info_t;

typedef void (*sw_walk_cb)(sw_loop_t *loop, const sw_handle_info_t *info, void *arg);

/** Calls `cb` once for each active handle: each started fd watcher and each fd with queued
 * writes (in fd order), each timer, each started signal watcher, then one entry each for the
 * queued deferred callbacks, the queued posted callbacks and the references, when there are
 * any. The loop's own internal fds are not listed. Returns the number of handles or SW_EINVAL
 * (NULL loop or cb). The callback must not change the loop. */
SW_API int sw_loop_walk(sw_loop_t *loop, sw_walk_cb cb, void *arg);

/* ---- fd watchers -------------------------------------------------------------------------- */

typedef struct sw_io_s sw_io_t;

/** Called with the events that happened (SW_EVENT_* bits, only those the watcher asked for plus
 * ERROR and HUP). The watcher may be stopped, started with other events, or its memory reused
 * from inside the callback; other watchers may be stopped and their fds closed too: events
 * already collected for them are then dropped. */
typedef void (*sw_io_cb)(sw_io_t *io, int events, void *arg);

struct sw_io_s {
    void *data;      /* the user's; never touched */
    sw_loop_t *loop; /* read-only: the loop given to sw_io_init */
    int fd;          /* read-only: the fd given to sw_io_init */
    /* private */
    int events;
    sw_io_cb cb;
    void *arg;
    uint32_t flags;
};

/**
 * Prepares a watcher for `fd` (caller-allocated; it must stay valid while started, and must
 * not be started when it is initialised again). Nothing is registered until sw_io_start.
 * `data` is not touched. Returns 0, SW_EINVAL (NULL loop/io/cb or fd < 0) or SW_EBADF (fd is
 * not open).
 */
SW_API int sw_io_init(sw_loop_t *loop, sw_io_t *io, int fd, sw_io_cb cb, void *arg);

/**
 * Starts watching for `events` (SW_EVENT_READ and/or SW_EVENT_WRITE; 0 watches only errors
 * and hang-ups), or changes the events of a started watcher (no system call when they are the
 * same). One watcher per fd per loop. Returns 0, SW_EINVAL (NULL or zeroed, never initialised io;
 * other bits in events), SW_EEXIST (another watcher has this fd), SW_EBADF (fd closed),
 * SW_ENOMEM or the negated errno of the backend (SW_EPERM: regular files cannot be watched
 * with epoll). On error the watcher keeps its previous state.
 */
SW_API int sw_io_start(sw_io_t *io, int events);

/**
 * Stops the watcher; events already collected for it in this iteration are dropped. Stop a
 * watcher before closing its fd (after closing it, the stop still works, but epoll keeps
 * reporting the fd if another descriptor still refers to the same file). Stopping a stopped
 * watcher is a no-op. Returns 0 or SW_EINVAL (NULL or zeroed, never initialised io).
 */
SW_API int sw_io_stop(sw_io_t *io);

/** 1 if the watcher is started, else 0 (also for NULL). */
SW_API int sw_io_is_active(const sw_io_t *io);

/* ---- buffered writes ---------------------------------------------------------------------- */

/**
 * Swoole's event write: writes `data` to `fd` now as far as it goes and queues the rest, which
 * the loop writes with writev() when the fd becomes writable; bytes leave in the order of the
 * calls. The data is copied. The fd should be non-blocking (a blocking fd blocks the loop
 * until everything is written). Queued bytes keep the loop alive; the fd is registered for
 * WRITE only while bytes are queued, so a write that goes out at once costs one write() and
 * nothing else.
 *
 * Returns 0 (all written or queued; also for len 0), SW_EINVAL (NULL loop, fd < 0, NULL data
 * with len > 0), SW_EOVERFLOW_OUTPUT (queued bytes + len would pass write_queue_max, checked
 * before anything is written: nothing of `data` is written or queued; a single call larger
 * than the cap always fails), the fd's sticky error (below), or the negated errno of write()
 * when the fd failed now (SW_EBADF, SW_EPIPE...: nothing was written). SW_ENOMEM or a backend
 * error (SW_EPERM...) while queueing the rest after a partial write leaves the written part
 * written and the rest dropped: the stream is incomplete and the fd should be closed.
 *
 * When a queued write fails later, the queue of that fd is dropped, the error is kept (see
 * sw_loop_write_error), it is logged at NOTICE on the loop's log, and a watcher started on
 * that fd receives SW_EVENT_ERROR. A watcher that asked for SW_EVENT_WRITE gets it only when
 * the fd's queue is empty, so that what it writes itself cannot overtake queued bytes.
 * Before closing an fd that had queued writes or a write error, call sw_loop_write_cancel(),
 * or the next fd with that number inherits them.
 */
SW_API int sw_loop_write(sw_loop_t *loop, int fd, const void *data, size_t len);

/** Bytes queued for `fd` (0 if none, after an error, or for bad arguments). */
SW_API size_t sw_loop_write_pending(const sw_loop_t *loop, int fd);

/** The error that ended the background writes of `fd`, 0 if none, or SW_EINVAL (NULL loop,
 * fd < 0). Further sw_loop_write calls on that fd return it until sw_loop_write_cancel. */
SW_API int sw_loop_write_error(const sw_loop_t *loop, int fd);

/** Drops the queue and the error of `fd` (call before closing an fd with pending writes).
 * Returns the number of bytes dropped (0 for bad arguments). */
SW_API size_t sw_loop_write_cancel(sw_loop_t *loop, int fd);

/* ---- deferred and posted callbacks -------------------------------------------------------- */

typedef void (*sw_loop_cb)(sw_loop_t *loop, void *arg);

/**
 * Runs `cb` once at the end of the current iteration (or of the next one when called outside
 * sw_loop_run), in the order of the calls. A callback deferred from a deferred callback runs
 * in the next iteration, so deferring in a loop cannot starve fd events; while callbacks are
 * queued the loop does not block in its wait. Returns 0, SW_EINVAL (NULL loop or cb) or
 * SW_ENOMEM.
 */
SW_API int sw_loop_defer(sw_loop_t *loop, sw_loop_cb cb, void *arg);

/**
 * Thread-safe: from any thread, queues `cb` to run once on the loop's thread (after the fd
 * events of an iteration) and wakes the loop. Callbacks run in the order they were queued, so
 * those from one thread run in the order that thread posted them. A callback posted from a
 * posted callback runs in the next iteration. The loop is woken (one write to its eventfd or
 * pipe) only when the queue goes from empty to non-empty. Queued callbacks keep the loop
 * alive; a loop that may otherwise finish while others post should hold sw_loop_ref(). Returns
 * 0, SW_EINVAL (NULL loop or cb) or SW_ENOMEM.
 */
SW_API int sw_loop_post(sw_loop_t *loop, sw_loop_cb cb, void *arg);

/* ---- signals ------------------------------------------------------------------------------ */

typedef struct sw_signal_s sw_signal_t;

/** Called on the loop's thread (never in signal context) once per delivery; signals of the
 * same number that arrive together may be merged, as the kernel merges them. */
typedef void (*sw_signal_cb)(sw_signal_t *sig, int signum, void *arg);

struct sw_signal_s {
    void *data;      /* the user's; never touched */
    sw_loop_t *loop; /* read-only: the loop given to sw_signal_init */
    int signum;      /* read-only: the signal watched while started */
    /* private */
    uint32_t flags;
    sw_signal_cb cb;
    void *arg;
    sw_signal_t *next;
};

/** Prepares a signal watcher (caller-allocated; it must stay valid while started, and must not
 * be started when it is initialised again). Returns 0 or SW_EINVAL (NULL loop, sig or cb). */
SW_API int sw_signal_init(sw_loop_t *loop, sw_signal_t *sig, sw_signal_cb cb, void *arg);

/**
 * Starts delivering `signum` to the callback. Several watchers of a loop may watch one signal;
 * each is called, in the order they were started. Starting a started watcher on the same
 * number is a no-op. Returns 0, SW_EINVAL (NULL or zeroed, never initialised sig; bad
 * number, SIGKILL, SIGSTOP, the signals glibc reserves between 31 and SIGRTMIN; already
 * started on another number), SW_ENOMEM, or the negated errno of the system (SW_EMFILE...).
 *
 * Linux: the signal is blocked in the calling thread and read from the loop's signalfd. Start
 * signal watchers before creating other threads, or block the signal in them, or the kernel may
 * deliver it to a thread that does not block it. A process-directed signal is read by one
 * signalfd only: watch each signal in one loop.
 *
 * Elsewhere (and in builds with SWOOLE_LOOP_PORTABLE): a sigaction handler, installed while
 * any loop of the process watches the signal, writes it into a pipe of each such loop (at most
 * 64 loops with signal watchers per process: SW_EBUSY past that; signal numbers below 64). The
 * signal is not blocked. The previous disposition is restored when the last watcher in the
 * process stops.
 */
SW_API int sw_signal_start(sw_signal_t *sig, int signum);

/** Stops the watcher (a no-op when stopped). When no watcher of the loop is left for that
 * signal, its previous state is restored: on Linux an instance that arrived but was not read
 * yet is discarded and, unless the signal was blocked before the first watcher started, it is
 * unblocked in the calling thread. Call it on the thread that started the watcher. Returns 0
 * or SW_EINVAL (NULL or zeroed, never initialised sig). */
SW_API int sw_signal_stop(sw_signal_t *sig);

SW_EXTERN_C_END

#endif
