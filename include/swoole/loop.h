/*
 * The event loop.
 *
 * A loop (sw_loop_t) is one reactor: fd watchers, buffered writes, timers (swoole/timer.h),
 * deferred callbacks, callbacks posted from other threads, and signal watchers. Backends
 * (epoll, kqueue, poll) sit behind one interface; the best available one is used unless the
 * options or the environment variable SW_LOOP_BACKEND name another.
 *
 * Threads: a loop belongs to the thread that runs it. Every call in this header must be made
 * on that thread, except sw_loop_post(), which is safe from any thread. Many loops (one per
 * thread) may live in one program; there is no global state.
 *
 * Lifetime: sw_loop_run() returns when nothing is active (no started watcher, timer, pending
 * write, deferred or posted callback, signal watcher, or reference) or after sw_loop_stop().
 * sw_loop_destroy() refuses (SW_EBUSY) while anything is active and names what is.
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
 * watcher, whatever it asked for. */
#define SW_EVENT_READ 0x1
#define SW_EVENT_WRITE 0x2
#define SW_EVENT_ERROR 0x4
#define SW_EVENT_HUP 0x8

typedef enum {
    SW_RUN_DEFAULT = 0, /* run until nothing is active or sw_loop_stop() */
    SW_RUN_ONCE = 1,    /* wait for events once (blocking if nothing is due), run them, return */
    SW_RUN_NOWAIT = 2   /* poll without blocking, run what is ready, return */
} sw_run_mode_t;

typedef struct sw_loop_options_s {
    /* "epoll", "kqueue" or "poll"; NULL: $SW_LOOP_BACKEND if set, else the best available. */
    const char *backend;
    /* Where the loop reports problems (a handle left at destroy, a failed background write);
     * NULL: nowhere. Not owned: must outlive the loop. */
    sw_log_t *log;
    /* Cap of bytes queued by sw_loop_write() per fd; 0: default 64 MiB. */
    size_t write_queue_max;
    /* Events taken from the backend per wait; 0: default 512. */
    unsigned max_events;
} sw_loop_options_t;

/** Fills `opts` with the defaults (all zero / NULL). */
SW_API void sw_loop_options_init(sw_loop_options_t *opts);

/**
 * Creates a loop. `opts` may be NULL for the defaults; it is not kept. Returns 0, SW_EINVAL
 * (out NULL, unknown backend name), SW_ENOTSUP (backend not available on this platform),
 * SW_ENOMEM, or the negated errno of the backend's creation (SW_EMFILE...).
 */
SW_API int sw_loop_create(sw_loop_t **out, const sw_loop_options_t *opts);

/**
 * Destroys a loop that has nothing active. Returns 0 (the loop is freed), SW_EINVAL (NULL),
 * SW_ELOOP_RUNNING (called from inside sw_loop_run) or SW_EBUSY: something is still active;
 * the loop is left intact, each live handle is logged at WARNING on the loop's log, and
 * sw_loop_walk() lists them.
 */
SW_API int sw_loop_destroy(sw_loop_t *loop);

/** The backend in use: "epoll", "kqueue" or "poll". */
SW_API const char *sw_loop_backend_name(const sw_loop_t *loop);

/**
 * Runs the loop. Returns 0 when nothing is active any more, 1 when something still is (after
 * sw_loop_stop(), SW_RUN_ONCE or SW_RUN_NOWAIT), SW_EINVAL, SW_ELOOP_RUNNING (re-entered from
 * a callback) or the negated errno of a backend failure.
 */
SW_API int sw_loop_run(sw_loop_t *loop, sw_run_mode_t mode);

/** Makes sw_loop_run() return after the current iteration. From the loop's thread only; to
 * stop a loop from another thread, sw_loop_post() a callback that calls this. */
SW_API void sw_loop_stop(sw_loop_t *loop);

/** 1 if something is active (sw_loop_run would not return at once), else 0. */
SW_API int sw_loop_alive(const sw_loop_t *loop);

/** Keeps the loop alive without any handle (for example while other threads will post to
 * it), until a matching sw_loop_unref(). References count as active for destroy. */
SW_API void sw_loop_ref(sw_loop_t *loop);
SW_API void sw_loop_unref(sw_loop_t *loop);

/** The loop's cached time: milliseconds on the monotonic clock, updated at each iteration. */
SW_API uint64_t sw_loop_now(const sw_loop_t *loop);

/** Updates the cached time now (useful after a long callback). */
SW_API void sw_loop_update_time(sw_loop_t *loop);

/** The user's slot; the library never touches it. */
SW_API void sw_loop_set_data(sw_loop_t *loop, void *data);
SW_API void *sw_loop_get_data(const sw_loop_t *loop);

/* ---- embedding ---------------------------------------------------------------------------- */

/**
 * One fd that becomes readable when the loop has fd events, posted callbacks or signals to
 * handle, for driving this loop from another event loop: poll this fd with the timeout of
 * sw_loop_timeout(), then call sw_loop_run(loop, SW_RUN_NOWAIT). Returns the fd or
 * SW_ENOTSUP (the poll backend has no such fd).
 */
SW_API int sw_loop_backend_fd(const sw_loop_t *loop);

/**
 * Milliseconds until the loop needs to run again: 0 when work is pending (deferred callbacks,
 * a stop request), the time to the next timer, or -1 when only fd events can wake it.
 */
SW_API int sw_loop_timeout(const sw_loop_t *loop);

/* ---- handles and walking ---------------------------------------------------------------- */

typedef enum {
    SW_HANDLE_IO = 1,
    SW_HANDLE_WRITE = 2,  /* bytes queued by sw_loop_write() */
    SW_HANDLE_TIMER = 3,
    SW_HANDLE_SIGNAL = 4,
    SW_HANDLE_DEFER = 5,
    SW_HANDLE_POST = 6,
    SW_HANDLE_REF = 7
} sw_handle_type_t;

typedef struct sw_handle_info_s {
    sw_handle_type_t type;
    int64_t ident;   /* fd, timer id, signal number, or a count for DEFER/POST/REF */
    const char *what; /* a short description, e.g. "io fd=7 events=READ"; valid during the cb */
} sw_handle_info_t;

typedef void (*sw_walk_cb)(sw_loop_t *loop, const sw_handle_info_t *info, void *arg);

/** Calls `cb` once for each active handle. Returns the number of handles or SW_EINVAL. The
 * callback must not change the loop. */
SW_API int sw_loop_walk(sw_loop_t *loop, sw_walk_cb cb, void *arg);

/* ---- fd watchers -------------------------------------------------------------------------- */

typedef struct sw_io_s sw_io_t;

/** Called with the events that happened (SW_EVENT_* bits). The watcher may be stopped, started
 * with other events, or its memory reused from inside the callback. */
typedef void (*sw_io_cb)(sw_io_t *io, int events, void *arg);

struct sw_io_s {
    void *data; /* the user's; never touched */
    /* private */
    sw_loop_t *loop;
    sw_io_cb cb;
    void *arg;
    int fd;
    int events;
    uint32_t flags;
    uint32_t gen;
};

/**
 * Prepares a watcher for `fd` (caller-allocated; it must stay valid while started). Nothing
 * is registered until sw_io_start. Returns 0, SW_EINVAL (NULL loop/io/cb or fd < 0) or
 * SW_EBADF (fd is not open).
 */
SW_API int sw_io_init(sw_loop_t *loop, sw_io_t *io, int fd, sw_io_cb cb, void *arg);

/**
 * Starts watching for `events` (SW_EVENT_READ and/or SW_EVENT_WRITE; 0 watches only errors
 * and hang-ups), or changes the events of a started watcher. One watcher per fd per loop.
 * Returns 0, SW_EINVAL, SW_EEXIST (another watcher has this fd), SW_EBADF, SW_ENOMEM or the
 * negated errno of the backend (SW_EPERM: regular files cannot be watched with epoll).
 */
SW_API int sw_io_start(sw_io_t *io, int events);

/**
 * Stops the watcher; events already collected for it in this iteration are dropped. Stop a
 * watcher before closing its fd. Stopping a stopped watcher is a no-op. Returns 0 or
 * SW_EINVAL.
 */
SW_API int sw_io_stop(sw_io_t *io);

/** 1 if the watcher is started. */
SW_API int sw_io_is_active(const sw_io_t *io);

/* ---- buffered writes ---------------------------------------------------------------------- */

/**
 * Swoole's event write: writes `data` to `fd` now as far as it goes and queues the rest, which
 * the loop writes when the fd becomes writable; bytes leave in order. The data is copied.
 * Queued bytes keep the loop alive. Returns 0 (all written or queued), SW_EINVAL, SW_EBADF,
 * SW_EOVERFLOW_OUTPUT (the queue would pass write_queue_max: nothing of `data` is queued),
 * SW_ENOMEM, or the negated errno of write() (SW_EPIPE...) when the fd failed now.
 *
 * When a queued write fails later, the queue of that fd is dropped, the error is kept (see
 * sw_loop_write_error), and a watcher started on that fd receives SW_EVENT_ERROR.
 */
SW_API int sw_loop_write(sw_loop_t *loop, int fd, const void *data, size_t len);

/** Bytes queued for `fd` (0 if none). */
SW_API size_t sw_loop_write_pending(const sw_loop_t *loop, int fd);

/** The error that ended the background writes of `fd`, or 0. Further sw_loop_write calls on
 * that fd return it until sw_loop_write_cancel. */
SW_API int sw_loop_write_error(const sw_loop_t *loop, int fd);

/** Drops the queue and the error of `fd` (call before closing an fd with pending writes).
 * Returns the number of bytes dropped. */
SW_API size_t sw_loop_write_cancel(sw_loop_t *loop, int fd);

/* ---- deferred and posted callbacks -------------------------------------------------------- */

typedef void (*sw_loop_cb)(sw_loop_t *loop, void *arg);

/**
 * Runs `cb` once at the end of the current iteration (or of the next one when called outside
 * sw_loop_run), in the order of the calls. A callback deferred from a deferred callback runs
 * in the next iteration, so deferring in a loop cannot starve fd events. Returns 0,
 * SW_EINVAL or SW_ENOMEM.
 */
SW_API int sw_loop_defer(sw_loop_t *loop, sw_loop_cb cb, void *arg);

/**
 * Thread-safe: from any thread, queues `cb` to run once on the loop's thread and wakes the
 * loop. Callbacks from one thread run in the order they were posted. Queued callbacks keep the
 * loop alive; a loop that may otherwise finish while others post should hold sw_loop_ref().
 * Returns 0, SW_EINVAL or SW_ENOMEM.
 */
SW_API int sw_loop_post(sw_loop_t *loop, sw_loop_cb cb, void *arg);

/* ---- signals ------------------------------------------------------------------------------ */

typedef struct sw_signal_s sw_signal_t;

/** Called on the loop's thread (never in signal context) once per delivery; signals of the
 * same number that arrive together may be merged, as the kernel merges them. */
typedef void (*sw_signal_cb)(sw_signal_t *sig, int signum, void *arg);

struct sw_signal_s {
    void *data; /* the user's */
    /* private */
    sw_loop_t *loop;
    sw_signal_cb cb;
    void *arg;
    int signum;
    int active;
    sw_signal_t *next;
};

/** Prepares a signal watcher (caller-allocated). Returns 0 or SW_EINVAL. */
SW_API int sw_signal_init(sw_loop_t *loop, sw_signal_t *sig, sw_signal_cb cb, void *arg);

/**
 * Starts delivering `signum` to the callback. The signal is blocked in the calling thread (on
 * Linux it is read from a signalfd): start signal watchers before creating other threads, or
 * block the signal in them, or the kernel may deliver it to a thread that does not block it.
 * Several watchers may watch one signal; each is called. Returns 0, SW_EINVAL (bad number,
 * SIGKILL, SIGSTOP, already started on another number), or the negated errno of the system.
 */
SW_API int sw_signal_start(sw_signal_t *sig, int signum);

/** Stops the watcher; when no watcher of the loop is left for that signal, its previous
 * blocked state is restored. Returns 0 or SW_EINVAL. */
SW_API int sw_signal_stop(sw_signal_t *sig);

SW_EXTERN_C_END

#endif
