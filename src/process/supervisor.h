/*
 * The supervisor (internal): the library's one fork/wait/respawn/reload/shutdown path. The
 * process pool runs on it, and so must the server's manager (event workers, task workers and
 * user processes are slots in groups).
 *
 * A supervisor owns numbered slots (0, 1, ... in the order they were added). Each slot has a
 * start function that runs in the child, a group (a number 0..31, for reloading a subset) and
 * flags. While the supervisor runs, each slot has at most one current child; a slot whose child
 * ends is started again (same slot id), unless the supervisor is stopping or the slot is
 * SW_SUP_SLOT_ONESHOT. Everything happens on one sw_loop_t in the supervising process:
 *
 *   - SIGCHLD through an sw_signal_t watcher (started before the first fork, so no exit is
 *     missed); each delivery reaps every known pid with waitpid(pid, WNOHANG): children the
 *     program started by other means are never reaped here. SIGCHLD's disposition is reset to
 *     the default first when it is ignored (see sw__process_reset_sigchld).
 *   - one loop timer, armed for the earliest deadline: a SIGKILL due after max_wait_ms, or a
 *     delayed respawn. No polling while nothing is due.
 *
 * On every reap: on_exit(slot, status, flags) runs first (the server repairs the slot's shared
 * counters there), then the replacement is forked and on_spawn(slot, pid) runs. A slot whose
 * child lived less than 1 s is started again after a delay (10 ms, doubling per quick death, at
 * most 1 s), so that a crash loop does not spin; a fork that fails is retried the same way and
 * reported through on_spawn_error.
 *
 * Reload (a set of groups): ROLLING sends stop_signal to one slot's child, waits for its exit
 * (SIGKILL after max_wait_ms), starts its replacement, then the next slot; ASYNC signals every
 * selected child at once, starts every replacement immediately (old and new overlap; the old
 * ones are "detached": reaped and reported with SW_SUP_EXIT_DETACHED, never respawned) and
 * kills the stragglers after max_wait_ms. on_reload_done when every selected slot has a new
 * child (rolling) or every detached child is gone (async).
 *
 * Shutdown: stop_signal to every child, SIGKILL after max_wait_ms to those still alive, and
 * on_stopped once every child is reaped; the SIGCHLD watcher and the timer are gone by then,
 * so the loop no longer runs on the supervisor's account.
 *
 * Children: every fork goes through sw__process_fork(pdeath_signal), so children die with the
 * supervising process (PR_SET_PDEATHSIG, race-checked). The child runs the slot's function and
 * exits with its return value; it must not use the supervisor or the parent's loop (both are
 * copies), except sw__sup_child_close() to free its copy.
 *
 * Callbacks run on the loop, in the supervising process. They may call any function here,
 * including sw__sup_destroy once nothing is alive (the free is deferred until the callback
 * returns). on_reload_done and on_stopped run after the call that caused them has returned
 * (from a reap, the timer, or a deferred callback), never inside sw__sup_reload or
 * sw__sup_shutdown.
 *
 * Thread: the loop's thread only. One supervisor per SIGCHLD-watching loop is fine (several on
 * one loop each reap their own pids); do not watch SIGCHLD in another loop of the process.
 *
 * How the server's manager uses it (PROCESS mode):
 *     sw__sup_options_init(&o); o.max_wait_ms = max_wait_time * 1000; o.on_exit = ...;
 *     sw__sup_create(&sup, manager_loop, &o);
 *     for each event worker i:  sw__sup_add_slot(sup, GROUP_WORKER, 0, worker_main, srv);
 *     for each task worker:     sw__sup_add_slot(sup, GROUP_TASK, 0, task_main, srv);
 *     for each user process:    sw__sup_add_slot(sup, GROUP_USER, 0, user_main, proc);
 *     sw__sup_start(sup);
 *     SIGUSR1 -> sw__sup_reload(sup, 1u << GROUP_WORKER | 1u << GROUP_TASK, mode);
 *     SIGUSR2 -> sw__sup_reload(sup, 1u << GROUP_TASK, mode);
 *     SIGTERM -> sw__sup_shutdown(sup); on_stopped -> leave the manager loop.
 *     on_exit -> repair shared counters of the slot, log/on_worker_error if not expected.
 * The worker id is the slot id (add event workers first so that they are 0..worker_num-1).
 */
#ifndef SW_PROCESS_SUPERVISOR_H
#define SW_PROCESS_SUPERVISOR_H

#include <stdint.h>
#include <sys/types.h>

#include "swoole/log.h"
#include "swoole/loop.h"
#include "swoole/process.h"

typedef struct sw_sup_s sw_sup_t;

/* The slot's process body, run in the child. The return value is the exit code. */
typedef int (*sw_sup_child_fn)(sw_sup_t *sup, int slot, void *arg);

/* on_exit flags.
 *   EXPECTED  the supervisor asked it to end (reload, shutdown); sw__sup_kill does not count
 *   KILLED    it outlived max_wait_ms after the stop signal and got SIGKILL
 *   RELOAD    it was asked to end by a reload
 *   DETACHED  an old child of an async reload; its slot already has a new child
 *   RESPAWN   a replacement will be started when on_exit returns (unless on_exit stops the
 *             supervisor) */
#define SW_SUP_EXIT_EXPECTED 0x1
#define SW_SUP_EXIT_KILLED   0x2
#define SW_SUP_EXIT_RELOAD   0x4
#define SW_SUP_EXIT_DETACHED 0x8
#define SW_SUP_EXIT_RESPAWN  0x10

/* Slot flags. ONESHOT: never respawned; its child's exit is reported and the slot stays empty
 * (e.g. the master watching its manager). */
#define SW_SUP_SLOT_ONESHOT 0x1

/* Reload modes. */
#define SW_SUP_RELOAD_ROLLING 0
#define SW_SUP_RELOAD_ASYNC   1

/* States. */
#define SW_SUP_IDLE     0 /* created, not started */
#define SW_SUP_RUNNING  1
#define SW_SUP_STOPPING 2
#define SW_SUP_STOPPED  3 /* after on_stopped, or after a failed start */

typedef struct sw_sup_options_s {
    unsigned max_wait_ms; /* SIGTERM -> SIGKILL grace (shutdown, reload); default 3000 */
    int stop_signal;      /* default SIGTERM */
    int pdeath_signal;    /* sent to children when the supervising thread dies; default SIGKILL;
                             0: none */
    sw_log_t *log;        /* deaths, kills and fork failures are logged here; NULL: nowhere */
    const char *name;     /* prefix of log lines, e.g. "pool" or "manager"; static storage */
    void *arg;            /* passed to every callback */
    void (*on_spawn)(sw_sup_t *sup, int slot, pid_t pid, void *arg);
    void (*on_exit)(sw_sup_t *sup, int slot, const sw_process_status_t *st, unsigned flags,
                    void *arg);
    void (*on_spawn_error)(sw_sup_t *sup, int slot, int err, void *arg);
    void (*on_reload_done)(sw_sup_t *sup, void *arg);
    void (*on_stopped)(sw_sup_t *sup, void *arg);
} sw_sup_options_t;

void sw__sup_options_init(sw_sup_options_t *o);

/* Creates a supervisor on `loop` (options copied). Returns 0, SW_EINVAL, SW_ENOMEM. */
int sw__sup_create(sw_sup_t **out, sw_loop_t *loop, const sw_sup_options_t *o);

/* Adds a slot before start. Returns the slot id (>= 0), SW_EINVAL (NULL fn, group > 31,
 * unknown flags), SW_ESERVER_STATE (started) or SW_ENOMEM. */
int sw__sup_add_slot(sw_sup_t *sup, unsigned group, unsigned flags, sw_sup_child_fn fn, void *arg);

/* Starts the SIGCHLD watcher and forks every slot (on_spawn for each). On a failure the
 * children already forked are SIGKILLed and reaped before returning (no callbacks for them),
 * the state becomes SW_SUP_STOPPED and the error is returned: SW_ESERVER_STATE (not idle),
 * SW_EINVAL (no slots), the errors of sw_signal_start, or of fork (fault point "fork"). */
int sw__sup_start(sw_sup_t *sup);

/* Reloads the slots whose group is in `group_mask` (bit n: group n). Returns 0,
 * SW_ESERVER_STATE (not running), SW_EBUSY (a reload is under way), SW_EINVAL (bad mode). A
 * reload that selects no live child completes at once (on_reload_done, deferred). */
int sw__sup_reload(sw_sup_t *sup, uint32_t group_mask, int mode);

/* Starts the shutdown (see above). Returns 0 (also when already stopping or stopped) or
 * SW_ESERVER_STATE (never started). */
int sw__sup_shutdown(sw_sup_t *sup);

/* Frees the supervisor when no child is alive (idle, stopped). Inside a callback the free
 * happens when the callback returns. Returns 0 or SW_EBUSY. */
int sw__sup_destroy(sw_sup_t *sup);

/* In a child: frees this process's copy of the supervisor without touching the loop (the
 * parent's). */
void sw__sup_child_close(sw_sup_t *sup);

/* The current child of `slot` (0 while none), or SW_EINVAL for a bad slot. */
pid_t sw__sup_pid(const sw_sup_t *sup, int slot);

/* The slot of a current or detached child, or SW_ENOENT. */
int sw__sup_slot_of(const sw_sup_t *sup, pid_t pid);

/* Sends `signo` to the current child of `slot`. Returns 0, SW_EINVAL, SW_ESRCH (no child). */
int sw__sup_kill(sw_sup_t *sup, int slot, int signo);

int sw__sup_state(const sw_sup_t *sup);
int sw__sup_slot_count(const sw_sup_t *sup);
/* Children alive now (current and detached). */
int sw__sup_alive(const sw_sup_t *sup);

#endif
