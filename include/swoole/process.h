/*
 * Processes: a fork/exec helper with a pipe and a message queue, and a process pool.
 *
 * sw_process_t is Swoole's swoole_process for C: a child process running a function (or an
 * executable) with an optional socketpair to its parent ("the pipe": stream or datagram), the
 * child's stdin/stdout optionally redirected to it, and an optional System V message queue.
 * Around it: wait (status decoded into exit code and signal), kill, daemon, process title,
 * signal handlers that run on a loop, and interval timers (alarm).
 *
 * sw_pool_t is a pool of N worker processes supervised by the calling ("master") process on
 * an sw_loop_t: workers that die are reported (exit code and signal) and started again with
 * the same worker id; jobs go from the master to the workers through a message queue or unix
 * sockets; reload replaces every worker; shutdown is bounded by max_wait_ms (SIGTERM, then
 * SIGKILL).
 *
 * Guarantees shared by every child this module starts (the pool's and sw_process_start's):
 *   - The child asks the kernel to kill it when its parent dies (PR_SET_PDEATHSIG, SIGKILL by
 *     default) and exits at once if the parent died before that request took effect, so no
 *     child outlives a parent that crashed. (Linux sends it when the parent *thread* that
 *     forked ends: fork from a thread that lives as long as the children.)
 *   - The child starts with every signal unblocked and every caught signal back at its default
 *     action (signals the parent watched through a loop would otherwise stay blocked, or run a
 *     handler that writes into the parent's loop). Ignored signals stay ignored, except
 *     SIGCHLD, which is reset to its default; the synchronous fault signals (SIGSEGV, SIGBUS,
 *     SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT) keep their handlers.
 *   - Before forking, the parent flushes every stdio stream, so nothing buffered is written
 *     twice. A child function that returns ends the child with _exit(return value & 0xff)
 *     after flushing stdio again: atexit handlers and destructors belong to the parent and do
 *     not run in the child.
 *   - Starting children resets SIGCHLD to its default action when it is ignored or has
 *     SA_NOCLDWAIT (both let the kernel reap children itself, so wait would find nothing and a
 *     pool could not respawn: a launcher that ignores SIGCHLD passes that on to its children).
 *
 * A loop is not carried into a child (see swoole/loop.h): a child that needs one creates its
 * own. Fork happens in the calling thread; in a program with threads, only async-signal-safe
 * work is safe in the child until it execs, as with fork() itself.
 *
 * Threads: every call here is for one thread at a time per object. sw_pool_t belongs to the
 * thread that runs its loop.
 *
 * If a call that takes a callback fails, the callback never runs.
 */
#ifndef SWOOLE_PROCESS_H
#define SWOOLE_PROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "swoole/common.h"
#include "swoole/log.h"
#include "swoole/loop.h"

SW_EXTERN_C_BEGIN

#if defined(__cplusplus)
#define SW_PROCESS_NORETURN [[noreturn]]
#else
#define SW_PROCESS_NORETURN _Noreturn
#endif

/* ---- exit status --------------------------------------------------------------------------- */

/** How a child ended, decoded from the wait status. */
typedef struct sw_process_status_s {
    pid_t pid;       /* the child */
    int exit_code;   /* exit status (0..255) when it exited, else -1 */
    int signal;      /* the signal that killed it, else 0 */
    int core_dumped; /* 1 if it was killed and dumped core */
} sw_process_status_t;

/**
 * Waits for a child to end and decodes its status. `pid` > 0 waits for that child, -1 for any
 * child of the calling process. `blocking` 1 waits (retrying after EINTR), 0 returns at once.
 * `st` may be NULL. Returns the child's pid (and fills `st`), 0 when not blocking and no
 * matching child has ended yet, SW_EINVAL (pid 0 or below -1: process groups are not waited
 * here) or SW_ECHILD (no such child, or it was already reaped).
 *
 * A pool's master must not wait for -1 (it would take the pool's workers away from it).
 */
SW_API int sw_process_wait(pid_t pid, int blocking, sw_process_status_t *st);

/**
 * Sends `signo` to process `pid` (signo 0 checks that the process exists). Returns 0,
 * SW_EINVAL (pid <= 0: groups and "every process" are refused; signo outside 0..64),
 * SW_ESRCH (no such process) or SW_EPERM.
 */
SW_API int sw_process_kill(pid_t pid, int signo);

/* ---- the process object --------------------------------------------------------------------- */

typedef struct sw_process_s sw_process_t;

/**
 * The child's main function, run in the child after sw_process_start. Its return value is the
 * child's exit code (masked to 0..255). `proc` is the child's view of the object: its pipe end,
 * its queue. The child may also end with sw_process_exit, or replace itself with
 * sw_process_exec.
 */
typedef int (*sw_process_fn)(sw_process_t *proc, void *arg);

/* Flags of sw_process_create (combine with |).
 *   SW_PROCESS_PIPE_NONE     no pipe (the default)
 *   SW_PROCESS_PIPE_STREAM   socketpair(AF_UNIX, SOCK_STREAM): a byte stream
 *   SW_PROCESS_PIPE_DGRAM    socketpair(AF_UNIX, SOCK_DGRAM): messages keep their bounds
 *   SW_PROCESS_REDIRECT      the child's stdin and stdout are its end of the pipe; implies
 *                            SW_PROCESS_PIPE_STREAM when no type is given
 *   SW_PROCESS_NO_PDEATHSIG  the child is not killed when the parent dies */
#define SW_PROCESS_PIPE_NONE    0x0
#define SW_PROCESS_PIPE_STREAM  0x1
#define SW_PROCESS_PIPE_DGRAM   0x2
#define SW_PROCESS_REDIRECT     0x4
#define SW_PROCESS_NO_PDEATHSIG 0x8

/** Largest datagram sw_process_write accepts on a SW_PROCESS_PIPE_DGRAM pipe. */
#define SW_PROCESS_DGRAM_MAX (64 * 1024)

/**
 * Creates a process object; nothing is forked yet. `fn` runs in the child (it may be NULL when
 * sw_process_set_exec is called before start); `arg` is passed to it. The pipe, when asked
 * for, is created now (both ends close-on-exec and blocking). Returns 0 and stores the object
 * in `*out`, or SW_EINVAL (out NULL, unknown flags, STREAM together with DGRAM, REDIRECT with
 * DGRAM), SW_ENOMEM or the negated errno of socketpair (SW_EMFILE...). `*out` is untouched on
 * error.
 */
SW_API int sw_process_create(sw_process_t **out, sw_process_fn fn, void *arg, int flags);

/**
 * Frees the object in the calling process: closes this side's pipe end, stops and frees the
 * signal watchers registered through it, and removes the message queue if this process created
 * it in owned mode. It neither kills nor waits for the child: reap it first (sw_process_wait),
 * or it stays a zombie until this process exits. May be called from one of its own signal
 * callbacks. Returns 0 or SW_EINVAL (NULL).
 */
SW_API int sw_process_destroy(sw_process_t *proc);

/**
 * Makes the child execute `path` instead of running a function: sw_process_start then forks,
 * and the child (after the guarantees above and the stdin/stdout redirection) calls
 * execve(path, argv, envp). `argv` is NULL-terminated (NULL: { path, NULL }); `envp` NULL
 * keeps the current environment. Both are copied. Call before start. Returns 0, SW_EINVAL
 * (NULL proc or path, already started) or SW_ENOMEM.
 */
SW_API int sw_process_set_exec(sw_process_t *proc, const char *path, char *const argv[],
                               char *const envp[]);

/**
 * Forks the child. In the parent, returns the child's pid (> 0); the child runs `fn` (or the
 * exec set up by sw_process_set_exec) and never returns from this call. The parent keeps its
 * end of the pipe and closes the child's; the child the other way round.
 *
 * With sw_process_set_exec, start returns only once the exec has happened: a failing exec is
 * reported to the parent through a close-on-exec pipe and start returns its code (SW_ENOENT,
 * SW_EACCES, SW_ENOEXEC is reported as SW_EINVAL...) after reaping the child, so no silent
 * exit status 127 ever stands for "not found".
 *
 * Returns the pid, SW_EINVAL (NULL proc; neither fn nor exec), SW_EALREADY (started before: a
 * process object starts once), or the negated errno of fork (SW_EAGAIN, SW_ENOMEM; fault point
 * "fork"), of pipe2, or of the exec as above.
 */
SW_API int sw_process_start(sw_process_t *proc);

/** The child's pid after a start (in the parent and in the child), else 0. 0 for NULL. */
SW_API pid_t sw_process_pid(const sw_process_t *proc);

/** The user's slot; the library never touches it (the child sees the value it had at fork). */
SW_API void sw_process_set_data(sw_process_t *proc, void *data);
SW_API void *sw_process_get_data(const sw_process_t *proc);

/**
 * This side's end of the pipe (the parent's end in the parent, the child's in the child), to
 * be watched with an sw_io_t on any loop, or SW_EINVAL (NULL) / SW_EBADF (no pipe, or this
 * end was closed). The fd stays owned by the object.
 */
SW_API int sw_process_pipe_fd(const sw_process_t *proc);

/** Puts this side's pipe end into non-blocking (blocking 0) or blocking mode. Returns 0,
 * SW_EINVAL (NULL) or SW_EBADF (no pipe / closed). */
SW_API int sw_process_set_blocking(sw_process_t *proc, int blocking);

/**
 * Writes to the pipe. Stream: writes all `len` bytes (retrying partial writes and EINTR) when
 * the end is blocking; when it is non-blocking, as much as fits now. Datagram: one message
 * (len <= SW_PROCESS_DGRAM_MAX). Returns the number of bytes written, or SW_EINVAL (NULL proc,
 * NULL data with len > 0), SW_EBADF (no pipe, closed end, write side shut down with
 * sw_process_close), SW_EMSGSIZE (datagram too large), SW_EAGAIN (non-blocking and nothing
 * fitted), SW_EPIPE (the other side closed; SIGPIPE is never raised) or another negated errno.
 * A stream write that fails after a partial write returns the count written so far.
 */
SW_API ssize_t sw_process_write(sw_process_t *proc, const void *data, size_t len);

/**
 * Reads from the pipe once (retrying EINTR). Stream: up to `size` bytes, 0 at end of stream.
 * Datagram: one message; a message larger than `size` is dropped and SW_EMSGSIZE returned.
 * Returns the byte count, 0 (end of stream; for a datagram pipe also an empty message),
 * SW_EINVAL (NULL proc or buf, size 0), SW_EBADF (no pipe, closed, read side shut down),
 * SW_EAGAIN (non-blocking and nothing to read) or another negated errno.
 */
SW_API ssize_t sw_process_read(sw_process_t *proc, void *buf, size_t size);

/* `how` of sw_process_close. */
#define SW_PROCESS_CLOSE_READ  1 /* no more reads here (shutdown SHUT_RD) */
#define SW_PROCESS_CLOSE_WRITE 2 /* no more writes here: the other side reads end of stream */
#define SW_PROCESS_CLOSE_BOTH  3 /* closes this side's end */

/**
 * Closes this side's pipe end, fully or one direction (with shutdown(2); a stream peer then
 * reads end of stream). Closing a direction that is already closed is a no-op. Returns 0,
 * SW_EINVAL (NULL, bad `how`), SW_EBADF (no pipe or already fully closed).
 */
SW_API int sw_process_close(sw_process_t *proc, int how);

/**
 * In the child: ends it now with `code` (masked to 0..255) after flushing stdio; atexit
 * handlers do not run (they belong to the parent). Does not return. `proc` may be NULL.
 */
SW_PROCESS_NORETURN SW_API void sw_process_exit(sw_process_t *proc, int code);

/**
 * Replaces the calling process's image: execve(path, argv, envp) (envp NULL: the current
 * environment). Meant for the child's function; the pipe survives as stdin/stdout when the
 * object was created with SW_PROCESS_REDIRECT (the pipe's own fd is close-on-exec). Returns
 * only on failure: SW_EINVAL (NULL path) or the negated errno of execve (SW_ENOENT...). The
 * child should then exit (by convention with 127).
 */
SW_API int sw_process_exec(sw_process_t *proc, const char *path, char *const argv[],
                           char *const envp[]);

/* ---- message queue --------------------------------------------------------------------------- */

/* `mode` of sw_process_use_queue.
 *   SW_QUEUE_OWNED   created new (key IPC_PRIVATE, or a key nobody uses: else SW_EEXIST);
 *                    removed (IPC_RMID) by sw_process_destroy in the process that created it
 *   SW_QUEUE_SHARED  created if missing, else opened; never removed by the library */
#define SW_QUEUE_OWNED  1
#define SW_QUEUE_SHARED 2

/**
 * Attaches a System V message queue to the object (call before start: the child inherits it).
 * `key` 0 is IPC_PRIVATE (only this process and its children can reach it; always OWNED).
 * The queue is created with permissions 0600. The largest message is the system's msgmax
 * (/proc/sys/kernel/msgmax, 8192 bytes by default); queue capacity is msgmnb (16384 bytes by
 * default). Returns 0, SW_EINVAL (NULL, bad mode, shared mode with key 0), SW_EALREADY (a queue
 * is attached already), SW_EEXIST (owned mode and the key exists), SW_EACCES, SW_ENOSPC (the
 * system's queue limit) or another negated errno of msgget.
 */
SW_API int sw_process_use_queue(sw_process_t *proc, int key, int mode);

/** The queue's id (msqid) or SW_EINVAL (NULL) / SW_ENOENT (no queue). */
SW_API int sw_process_queue_id(const sw_process_t *proc);

/* Flags of push/pop. */
#define SW_QUEUE_NOWAIT 0x1 /* do not block: SW_EAGAIN when full (push) or empty (pop) */

/**
 * Puts one message on the queue (blocking while the queue is full unless SW_QUEUE_NOWAIT).
 * Returns 0, SW_EINVAL (NULL proc, NULL data with len > 0, unknown flags), SW_ENOENT (no queue),
 * SW_EMSGSIZE (len > msgmax), SW_EAGAIN (full and NOWAIT), SW_EINTR (a signal handler ran while
 * blocked; nothing was sent), SW_EIDRM (the queue was removed) or another negated errno.
 */
SW_API int sw_process_push(sw_process_t *proc, const void *data, size_t len, int flags);

/**
 * Takes the oldest message off the queue into `buf` (blocking while it is empty unless
 * SW_QUEUE_NOWAIT). Returns the message length, SW_EINVAL (NULL proc or buf, unknown flags),
 * SW_ENOENT (no queue), SW_E2BIG (the message is longer than `size`: it stays in the queue),
 * SW_EAGAIN (empty and NOWAIT), SW_EINTR (a signal handler ran while blocked), SW_EIDRM (the
 * queue was removed) or another negated errno.
 */
SW_API ssize_t sw_process_pop(sw_process_t *proc, void *buf, size_t size, int flags);

/** Messages and bytes in the queue now. Either pointer may be NULL. Returns 0, SW_EINVAL,
 * SW_ENOENT (no queue) or the negated errno of msgctl. */
SW_API int sw_process_queue_stats(const sw_process_t *proc, size_t *messages, size_t *bytes);

/* ---- signals and timers on a loop --------------------------------------------------------- */

/**
 * Runs `cb` on `loop` each time the calling process receives `signo` (an sw_signal_t watcher
 * kept by `proc`; see sw_signal_start for how signals reach the loop). Registering the same
 * signal again replaces the callback (and the loop); `cb` NULL removes the watcher. The object
 * only holds the watcher: it works in any process (the parent, the child, or a process that
 * never starts `proc`). Watchers registered in the parent are not carried into the child.
 * Returns 0, SW_EINVAL (NULL proc; NULL loop with a cb; bad signo: SIGKILL, SIGSTOP...),
 * SW_ENOMEM, or the errors of sw_signal_start. Removing a signal that is not registered is 0.
 */
SW_API int sw_process_signal(sw_process_t *proc, sw_loop_t *loop, int signo, sw_signal_cb cb,
                             void *arg);

/* `type` of sw_process_alarm (the setitimer timers). */
#define SW_ALARM_REAL    0 /* wall clock; SIGALRM */
#define SW_ALARM_VIRTUAL 1 /* user CPU time of the process; SIGVTALRM */
#define SW_ALARM_PROF    2 /* user + system CPU time; SIGPROF */

/**
 * Starts (or replaces) the calling process's interval timer of `type`: the signal fires every
 * `usec` microseconds, the first time after `usec`; `usec` 0 stops it. Watch the signal first
 * (sw_process_signal(proc, loop, SIGALRM, ...)): an unwatched SIGALRM ends the process. The
 * timer is the process's own (setitimer), one per type. Returns 0 or SW_EINVAL (negative usec,
 * unknown type).
 */
SW_API int sw_process_alarm(int64_t usec, int type);

/* ---- daemon and title --------------------------------------------------------------------- */

/**
 * Detaches the calling process from its terminal and session: forks (the original process
 * exits with status 0 at once), calls setsid() in the child, forks again (the session leader
 * exits, so the daemon can never reacquire a terminal) and returns 0 in that grandchild, whose
 * parent is now init (or the nearest subreaper). Unless `nochdir`, the daemon's working
 * directory becomes "/"; unless `noclose`, its stdin, stdout and stderr are /dev/null. The
 * daemon's PR_SET_PDEATHSIG is clear (fork clears it).
 *
 * Errors: before the first fork, SW_EAGAIN/SW_ENOMEM (fault point "fork") are returned in the
 * original process, which keeps running. A failure after it (setsid, the second fork, opening
 * /dev/null) is returned in the first child, whose parent already exited with 0 (as daemon(3)).
 */
SW_API int sw_process_daemon(int nochdir, int noclose);

/** Where a process title is written: the memory of the original argv strings. Fill it with
 * sw_process_title_init; the fields are read-only for users. */
typedef struct sw_process_title_s {
    char *area;  /* argv[0]'s memory; NULL when unusable */
    size_t size; /* bytes from argv[0] to the end of the last contiguous argument */
} sw_process_title_t;

/**
 * Records the argv area from main's `argc`/`argv` so that sw_process_set_name can overwrite it.
 * The title will then be truncated to the length of the original command line (all arguments
 * with their separators). Once a name has been set, argv[1..] no longer hold the arguments:
 * parse them first. Returns 0 or SW_EINVAL (NULL t or argv, argc < 1, argv[0] NULL).
 */
SW_API int sw_process_title_init(sw_process_title_t *t, int argc, char **argv);

/**
 * Names the calling process: prctl(PR_SET_NAME) sets /proc/PID/comm, which `ps -o comm`,
 * `top` and `pkill` show (the first 15 bytes); and when `t` comes from sw_process_title_init,
 * the argv area is overwritten so that /proc/PID/cmdline and `ps -o args` / `ps aux` show
 * `name` (truncated to the area's size, padded with NULs). Without `t` only comm changes and
 * `ps aux` still shows the original command line. Returns 0, SW_EINVAL (NULL or empty name) or
 * the negated errno of prctl.
 */
SW_API int sw_process_set_name(const sw_process_title_t *t, const char *name);

/* ---- process pool ------------------------------------------------------------------------- */

typedef struct sw_pool_s sw_pool_t;

/* How the master hands jobs to workers (sw_pool_options_t.ipc). */
typedef enum {
    /* No channel: workers do their own thing. */
    SW_POOL_IPC_NONE = 0,
    /* A System V message queue shared by the workers: the first idle worker takes the next
     * job. No replies. */
    SW_POOL_IPC_QUEUE = 1,
    /* One SOCK_DGRAM socketpair per worker: jobs go to a chosen worker (or round-robin);
     * workers reply to the master. */
    SW_POOL_IPC_SOCKET = 2,
    /* One SOCK_DGRAM socketpair read by every worker: the first idle worker takes the next
     * job; workers reply. */
    SW_POOL_IPC_SOCKET_SHARED = 3
} sw_pool_ipc_t;

/* Reload modes (sw_pool_options_t.reload_mode). */
typedef enum {
    /* One worker at a time: SIGTERM, wait for its exit (SIGKILL after max_wait_ms), start its
     * replacement, next. */
    SW_POOL_RELOAD_ROLLING = 0,
    /* Every worker at once: SIGTERM to all old workers and start the replacements immediately
     * (old and new overlap); an old worker still alive after max_wait_ms is killed. */
    SW_POOL_RELOAD_ASYNC = 1
} sw_pool_reload_mode_t;

/** Largest job or reply through the socket channels (one datagram). Queue jobs are limited by
 * the system's msgmax instead (8192 bytes by default). */
#define SW_POOL_MESSAGE_MAX (64 * 1024)
/** Largest worker_num. */
#define SW_POOL_MAX_WORKERS 1024

typedef struct sw_pool_options_s {
    /* 1 .. SW_POOL_MAX_WORKERS; default 1. */
    unsigned worker_num;
    /* Default SW_POOL_IPC_NONE. */
    sw_pool_ipc_t ipc;
    /* SW_POOL_IPC_QUEUE: 0 (default) is a private queue owned and removed by the pool; another
     * key opens or creates a shared queue that the pool never removes. */
    int queue_key;
    /* How long shutdown and reload wait for a worker after SIGTERM before SIGKILL; default
     * 3000 (Swoole's max_wait_time, 3 s). */
    unsigned max_wait_ms;
    /* Default SW_POOL_RELOAD_ROLLING. */
    sw_pool_reload_mode_t reload_mode;
    /* 1: the master watches SIGTERM and SIGINT (shutdown) and SIGUSR1 (reload) on its loop
     * while the pool runs. Default 0. */
    int handle_signals;
    /* Where the master reports worker deaths and failures; NULL (default): nowhere. Not
     * owned: it must outlive the pool. */
    sw_log_t *log;
} sw_pool_options_t;

/** Fills `opts` with the defaults. */
SW_API void sw_pool_options_init(sw_pool_options_t *opts);

/* Callbacks. "Worker:" callbacks run in the worker process, "Master:" ones on the master's
 * loop. `arg` is the one given to sw_pool_create. */
typedef struct sw_pool_handlers_s {
    /* Worker: the worker's main function. Its return value is the worker's exit code. When it
     * is NULL, the library runs a job loop instead: receive a job, call on_job, repeat.
     * SIGTERM is blocked while on_job runs, so a SIGTERM that arrives during a job lets it
     * finish; the loop then ends (on_worker_stop runs, exit code 0). A SIGTERM that arrives
     * while the worker waits for a job ends it at once by the signal (its default action;
     * on_worker_stop does not run). With the queue channel, a SIGTERM that lands in the instant
     * between msgrcv() returning a job and the signal being blocked again ends the worker with
     * that job taken; the socket channels wait in ppoll() and have no such window. One of
     * on_worker and on_job is required. */
    int (*on_worker)(sw_pool_t *pool, int worker_id, void *arg);
    /* Worker: one job, for the library's job loop. `data` is valid during the call. */
    void (*on_job)(sw_pool_t *pool, int worker_id, const void *data, size_t len, void *arg);
    /* Worker: before on_worker / the job loop, and after the job loop ends. */
    void (*on_worker_start)(sw_pool_t *pool, int worker_id, void *arg);
    void (*on_worker_stop)(sw_pool_t *pool, int worker_id, void *arg);
    /* Master: a worker process was started (at start, after a death, on reload). */
    void (*on_spawn)(sw_pool_t *pool, int worker_id, pid_t pid, void *arg);
    /* Master: a worker process ended (`st`: exit code or signal). `expected` is 1 when the
     * pool asked it to end (shutdown, reload), 0 for a death on its own. Unless the pool is
     * shutting down, a new worker with the same id starts right after this returns (after a
     * short delay when the slot keeps dying within a second of its start: 10 ms doubling up
     * to 1 s, so a crash loop does not spin). */
    void (*on_exit)(sw_pool_t *pool, int worker_id, const sw_process_status_t *st, int expected,
                    void *arg);
    /* Master: a reply from a worker (socket channels). `data` is valid during the call. */
    void (*on_reply)(sw_pool_t *pool, int worker_id, const void *data, size_t len, void *arg);
    /* Master: a reload finished (every selected worker was replaced). */
    void (*on_reload)(sw_pool_t *pool, void *arg);
    /* Master: shutdown finished: every worker has been reaped and the pool holds nothing on
     * the loop any more. The pool may be destroyed from here. */
    void (*on_stopped)(sw_pool_t *pool, void *arg);
} sw_pool_handlers_t;

/**
 * Creates a pool (nothing is forked yet). `opts` NULL means the defaults; `h` is copied.
 * Returns 0 and stores the pool in `*out`, or SW_EINVAL (out or h NULL, neither on_worker nor
 * on_job, on_job without a channel, worker_num 0 or > SW_POOL_MAX_WORKERS, unknown ipc or
 * reload mode), SW_ENOMEM, or the errors of socketpair/msgget (SW_EEXIST cannot happen: a
 * keyed queue is opened if it exists). `*out` is untouched on error.
 */
SW_API int sw_pool_create(sw_pool_t **out, const sw_pool_options_t *opts,
                          const sw_pool_handlers_t *h, void *arg);

/**
 * Master: starts the workers and supervises them on `loop` (a SIGCHLD watcher, a timer for
 * deadlines, and watchers for replies): the call returns at once and the pool works while the
 * loop runs. Returns 0, SW_EINVAL (NULL pool or loop), SW_EALREADY (started before),
 * SW_ENOT_MASTER (called in a worker), the errors of sw_signal_start, or the negated errno of
 * fork (fault point "fork"): then the workers already started are killed and reaped before
 * the call returns, and the pool can be destroyed.
 */
SW_API int sw_pool_start(sw_pool_t *pool, sw_loop_t *loop);

/**
 * Master: queues a job. `worker_id` -1 lets the pool choose (queue and shared socket: the first
 * idle worker; socket: round-robin, skipping full sockets); a worker id is honoured only with
 * SW_POOL_IPC_SOCKET. Never blocks. Returns 0, SW_EINVAL (NULL pool, NULL data with len > 0,
 * worker_id out of range, a worker id with another channel), SW_ENOTSUP (no channel),
 * SW_ENOT_MASTER, SW_ESERVER_STATE (not started, or shutting down), SW_EMSGSIZE (over the
 * limit), SW_EAGAIN (the channel is full: retry later) or another negated errno.
 */
SW_API int sw_pool_submit(sw_pool_t *pool, int worker_id, const void *data, size_t len);

/**
 * Master: replaces every worker (reload_mode). on_exit reports each old worker with expected
 * 1, on_spawn each new one, on_reload the end. Returns 0, SW_EINVAL, SW_ENOT_MASTER,
 * SW_ESERVER_STATE (not running) or SW_EBUSY (a reload is already under way).
 */
SW_API int sw_pool_reload(sw_pool_t *pool);

/**
 * Master: stops the pool: SIGTERM to every worker, SIGKILL to those still alive after
 * max_wait_ms, and on_stopped once all are reaped (the loop then has nothing of the pool left:
 * sw_loop_run returns if nothing else is active). Calling it again while it is under way, or
 * after it ended, is 0. Returns 0, SW_EINVAL, SW_ENOT_MASTER or SW_ESERVER_STATE (never
 * started).
 */
SW_API int sw_pool_shutdown(sw_pool_t *pool);

/**
 * Frees the pool. In the master, only when no worker is alive: never started, start failed, or
 * after on_stopped (destroy may be called from on_stopped itself). It closes the channels and
 * removes an owned queue. In a worker it only frees this process's copy (the queue stays).
 * Returns 0, SW_EINVAL (NULL) or SW_EBUSY (workers alive: shut down first).
 */
SW_API int sw_pool_destroy(sw_pool_t *pool);

/** Master: the pid of worker `worker_id` now (0 while it is being replaced), SW_EINVAL (NULL,
 * id out of range). In a worker: its own pid for its own id, else SW_ENOT_MASTER. */
SW_API int sw_pool_worker_pid(const sw_pool_t *pool, int worker_id);

/** The pool's message queue id (msqid, as `ipcs -q` lists it), SW_EINVAL (NULL) or SW_ENOENT
 * (not the queue channel). */
SW_API int sw_pool_queue_id(const sw_pool_t *pool);

/** The worker id of the calling process: 0 .. worker_num-1 in a worker, -1 in the master
 * (and for NULL). */
SW_API int sw_pool_worker_id(const sw_pool_t *pool);

/** Worker: the fd this worker reads jobs from (socket channels), to watch it on the worker's
 * own loop and call sw_pool_recv with SW_QUEUE_NOWAIT when it is readable. SW_EINVAL,
 * SW_ENOT_WORKER, SW_ENOTSUP (queue or no channel). */
SW_API int sw_pool_worker_fd(const sw_pool_t *pool);

/**
 * Worker: receives the next job into `buf` (blocking unless SW_QUEUE_NOWAIT in flags). Returns
 * its length, SW_EINVAL (NULL, size 0, unknown flags), SW_ENOT_WORKER, SW_ENOTSUP (no
 * channel), SW_EAGAIN (NOWAIT and nothing there), SW_EINTR (a signal handler ran), SW_E2BIG
 * (queue: the job is longer than `size` and stays queued), SW_EMSGSIZE (socket: the job was
 * longer than `size` and is dropped) or another negated errno. 0 is an empty job. A buffer of
 * SW_POOL_MESSAGE_MAX bytes always fits (with the queue channel, msgmax bytes).
 */
SW_API ssize_t sw_pool_recv(sw_pool_t *pool, void *buf, size_t size, int flags);

/**
 * Worker: sends a reply to the master, which receives it in on_reply with this worker's id
 * (socket channels; blocks while the socket is full). Returns 0, SW_EINVAL, SW_ENOT_WORKER,
 * SW_ENOTSUP (queue or no channel), SW_EMSGSIZE (len > SW_POOL_MESSAGE_MAX) or another negated
 * errno (SW_ECONNREFUSED/SW_EPIPE: the master is gone).
 */
SW_API int sw_pool_reply(sw_pool_t *pool, const void *data, size_t len);

/** The user's slot; the library never touches it. */
SW_API void sw_pool_set_data(sw_pool_t *pool, void *data);
SW_API void *sw_pool_get_data(const sw_pool_t *pool);

SW_EXTERN_C_END

#endif
