/*
 * The manager: the server's workers as slots of the library's one supervisor
 * (src/process/supervisor.h), which forks, reaps, respawns, reloads and stops them. This file
 * only adds what is the server's: the slot body (a worker), the shared-counter repair between
 * a worker's death and its respawn, on_worker_error, and the signals of the manager.
 *
 * BASE mode: the manager is the master process (the one that called sw_server_start), and its
 * loop is the master's loop. Slot i is worker i (event workers are added first, so slot ids
 * are worker ids; task workers and user processes are slots of their own groups after them,
 * added by sw__task_manager_setup, task.c).
 *
 * Signals (on the manager's loop, through signalfd): SIGTERM and SIGINT shut the server down,
 * SIGUSR1 reloads the workers and task workers (reload_async: all at once, else one at a
 * time), SIGUSR2 the task workers only.
 */
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "core/log_int.h"
#include "process/supervisor.h"
#include "server/server_int.h"
#include "server/task_int.h"
#include "swoole/error.h"

#define GROUP_WORKER SW__GROUP_WORKER

static int slot_main(sw_sup_t *sup, int slot, void *arg)
{
    sw_server_t *srv = arg;
    /* The supervisor, the master's loop and its signal watchers are the master's: this
     * process has copies that it must not use. */
    sw__sup_child_close(sup);
    srv->sup = NULL;
    srv->master_loop = NULL;
    srv->master_nsigs = 0;
    srv->is_master = false;
    if (srv->mode == SW_MODE_PROCESS) {
        return sw__process_worker_main(srv, slot);
    }
    return sw__base_worker_main(srv, slot);
}

static void on_spawn(sw_sup_t *sup, int slot, pid_t pid, void *arg)
{
    (void)sup;
    sw_server_t *srv = arg;
    if (slot >= srv->o.worker_num) {
        sw__task_on_spawn(srv, slot, pid);
        return;
    }
    atomic_store(&srv->shm_workers[slot].pid, (int32_t)pid);
}

static void on_exit_cb(sw_sup_t *sup, int slot, const sw_process_status_t *st, unsigned flags,
                       void *arg)
{
    (void)sup;
    sw_server_t *srv = arg;
    if (slot >= srv->o.worker_num) {
        sw__task_on_exit(srv, slot, st, flags);
        return;
    }
    sw__worker_shm_t *w = &srv->shm_workers[slot];
    /* Repair before the replacement starts (swoole/rfc#88): the dead process's connections
     * died with it, so its sessions go, and only its: in an async reload the next worker
     * with this id already runs, with its own incarnation tag. A process that died before
     * recording its incarnation had not opened anything. */
    uint64_t cleared = 0;
    /* PROCESS: the connections live in the master's reactor threads and survive. */
    for (int i = 0; i < 4 && srv->mode == SW_MODE_BASE; i++) {
        if (atomic_load(&w->inc[i].pid) == (int32_t)st->pid) {
            cleared = sw__session_clear_owner(srv, slot, atomic_load(&w->inc[i].gen), slot);
            atomic_store(&w->inc[i].pid, 0);
            break;
        }
    }
    int32_t dead = (int32_t)st->pid;
    atomic_compare_exchange_strong(&w->pid, &dead, 0);
    /* PROCESS: a worker that died holding its channels frees them for its replacement. */
    dead = (int32_t)st->pid;
    atomic_compare_exchange_strong(&w->reader, &dead, 0);
    bool abnormal = !(flags & SW_SUP_EXIT_EXPECTED) && (st->signal != 0 || st->exit_code != 0);
    if (abnormal) {
        if (srv->mode == SW_MODE_BASE) {
            SW_LOG_WARNING(srv->log,
                           "worker %d (pid %d) exited abnormally: code %d, signal %d; %llu "
                           "connections lost",
                           slot, (int)st->pid, st->exit_code, st->signal,
                           (unsigned long long)cleared);
        } else {
            SW_LOG_WARNING(srv->log,
                           "worker %d (pid %d) exited abnormally: code %d, signal %d; its "
                           "connections stay with the master",
                           slot, (int)st->pid, st->exit_code, st->signal);
        }
        if (srv->h.on_worker_error) {
            srv->h.on_worker_error(srv, slot, st->pid, st->exit_code, st->signal, srv->arg);
        }
    }
}

static void on_stopped(sw_sup_t *sup, void *arg)
{
    (void)sup;
    sw_server_t *srv = arg;
    sw_loop_stop(srv->master_loop);
}

static void on_reload_done(sw_sup_t *sup, void *arg)
{
    (void)sup;
    sw_server_t *srv = arg;
    SW_LOG_INFO(srv->log, "manager: reload done");
}

static int reload_groups(sw_server_t *srv, uint32_t mask);

int sw__manager_reload(sw_server_t *srv)
{
    return reload_groups(srv, 1u << GROUP_WORKER | 1u << SW__GROUP_TASK);
}

/* SIGUSR1: event and task workers; SIGUSR2: task workers only. User processes never. */
static int reload_groups(sw_server_t *srv, uint32_t mask)
{
    if (!srv->sup) {
        return SW_ENOTSUP;
    }
    if (srv->shutdown_requested) {
        return SW_ESERVER_STATE;
    }
    int rc = sw__sup_reload(srv->sup, mask,
                            srv->o.reload_async ? SW_SUP_RELOAD_ASYNC : SW_SUP_RELOAD_ROLLING);
    if (rc < 0) {
        SW_LOG_WARNING(srv->log, "manager: reload refused: %s", sw_strerror(rc));
    } else {
        SW_LOG_INFO(srv->log, "manager: reloading %s",
                    mask & (1u << GROUP_WORKER) ? "workers and task workers" : "task workers");
    }
    return rc;
}

static void manager_signal_cb(sw_signal_t *sig, int signum, void *arg)
{
    (void)sig;
    sw_server_t *srv = arg;
    switch (signum) {
    case SIGTERM:
    case SIGINT:
        sw__server_begin_shutdown(srv);
        break;
    case SIGUSR1:
        (void)sw__manager_reload(srv);
        break;
    case SIGUSR2:
        if (srv->o.task_worker_num > 0) {
            (void)reload_groups(srv, 1u << SW__GROUP_TASK);
        } else {
            SW_LOG_NOTICE(srv->log, "manager: SIGUSR2 ignored: no task workers");
        }
        break;
    default:
        break;
    }
}

static void stop_signals(sw_server_t *srv)
{
    for (int i = 0; i < srv->master_nsigs; i++) {
        sw_signal_stop(&srv->master_sigs[i]);
    }
    srv->master_nsigs = 0;
}

int sw__manager_run(sw_server_t *srv)
{
    sw_loop_options_t lo;
    sw_loop_options_init(&lo);
    lo.log = srv->log;
    int rc = sw_loop_create(&srv->master_loop, &lo);
    if (rc < 0) {
        return rc;
    }
    static const int sigs[4] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
    for (int i = 0; i < 4 && rc == 0; i++) {
        rc = sw_signal_init(srv->master_loop, &srv->master_sigs[i], manager_signal_cb, srv);
        if (rc == 0) {
            rc = sw_signal_start(&srv->master_sigs[i], sigs[i]);
        }
        if (rc == 0) {
            srv->master_nsigs = i + 1;
        }
    }
    sw_sup_options_t so;
    sw__sup_options_init(&so);
    so.max_wait_ms = (unsigned)(srv->o.max_wait_time * 1000);
    if (so.max_wait_ms == 0) {
        so.max_wait_ms = 1;
    }
    so.pdeath_signal = SIGKILL;
    so.log = srv->log;
    so.name = "manager";
    so.arg = srv;
    so.on_spawn = on_spawn;
    so.on_exit = on_exit_cb;
    so.on_stopped = on_stopped;
    so.on_reload_done = on_reload_done;
    sw_sup_t *sup = NULL;
    if (rc == 0) {
        rc = sw__sup_create(&sup, srv->master_loop, &so);
    }
    for (int i = 0; i < srv->o.worker_num && rc == 0; i++) {
        int slot = sw__sup_add_slot(sup, GROUP_WORKER, 0, slot_main, srv);
        if (slot < 0) {
            rc = slot;
        }
    }
    if (rc == 0) {
        rc = sw__task_manager_setup(srv, sup);
    }
    if (rc == 0) {
        srv->sup = sup;
        atomic_store(&srv->shm->manager_pid, (int32_t)getpid());
        if (srv->h.on_manager_start) {
            srv->h.on_manager_start(srv, srv->arg);
        }
        rc = sw__sup_start(sup);
        if (rc < 0) {
            SW_LOG_ERROR(srv->log, "manager: cannot start the workers: %s", sw_strerror(rc));
        } else {
            srv->started = true;
            /* PROCESS: the master runs on_start. */
            if (srv->mode == SW_MODE_BASE && srv->h.on_start) {
                srv->h.on_start(srv, srv->arg);
            }
            int lr = sw_loop_run(srv->master_loop, SW_RUN_DEFAULT);
            if (lr < 0) {
                SW_LOG_ERROR(srv->log, "manager: loop failed: %s", sw_strerror(lr));
                rc = lr;
                /* The loop cannot watch the workers any more: end them here. */
                for (int i = 0; i < sw__sup_slot_count(sup); i++) {
                    (void)sw__sup_kill(sup, i, SIGKILL);
                    pid_t pid = sw__sup_pid(sup, i);
                    if (pid > 0) {
                        (void)sw_process_wait(pid, 1, NULL);
                    }
                }
            }
        }
        if (srv->h.on_manager_stop) {
            srv->h.on_manager_stop(srv, srv->arg);
        }
        atomic_store(&srv->shm->manager_pid, 0);
    }
    stop_signals(srv);
    if (sup && sw__sup_destroy(sup) < 0) {
        SW_LOG_ERROR(srv->log, "manager: workers still alive at exit");
    }
    srv->sup = NULL;
    sw__task_manager_cleanup(srv);
    sw__server_close_loop(srv, srv->master_loop);
    srv->master_loop = NULL;
    return rc;
}
