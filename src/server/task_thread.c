/*
 * THREAD mode: task workers as threads of the master process, and the member state of worker
 * threads (tasks, results and worker messages between threads).
 *
 * There is no manager in THREAD mode, so the master's main thread does here what the manager
 * does for processes (task.c): before the event worker threads start it makes the inbox and
 * waitbox channels of task_int.h with the memory kind (SW_IPC_MEMORY: whole messages, an
 * eventfd wake-up, nothing to inherit), then starts one thread per task worker. The channels
 * carry the same messages as the unix sockets of the other modes, so task.c and message.c run
 * unchanged on them: every member writes side 0 of another member's inbox with its own sender
 * id, only the member reads side 1 of its own; an event worker's taskwait blocks on its
 * waitbox (a loop-less endpoint: recv_wait on the eventfd).
 *
 * Member state. A process-mode member keeps its state (its id, endpoints, the running task or
 * taskwait) in srv->task; here several members share the process, so each member thread has
 * its own copy of sw__task_t (the shared fields copied from srv->task, the member fields its
 * own), found through a thread-local pointer (sw__task_self). Task ids carry a per-member
 * incarnation tag instead of the pid in their high half (all members share the pid), so a
 * replaced worker thread never gets its predecessor's on_finish.
 *
 * A task worker thread runs incarnations in a row: loop, attach, on_worker_start, loop run,
 * on_worker_stop, detach. task_max_request ends an incarnation and the thread starts the next
 * one itself (new tag, new loop); a stop request (shutdown) ends the thread. Its stop request
 * is an sw_loop_post to its loop, published under a mutex while the loop exists (as thread.c
 * does for worker threads). A thread cannot be killed: a task that never returns holds the
 * shutdown, logged by the master after max_wait_time.
 *
 * Not in THREAD mode: task_ipc_mode 2/3 (the System V queue is shared by processes) and user
 * processes (sw_server_add_process): sw_server_start returns SW_ENOTSUP (task.c). Reload
 * (SIGUSR2: task workers; SIGUSR1 / sw_server_reload: worker threads and task workers) ends
 * the current incarnation of every task worker thread, as task_max_request does.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "core/log_int.h"
#include "server/task_int.h"
#include "swoole/error.h"

typedef struct sw__tthread_s {
    sw_server_t *srv;
    int id; /* worker id: nw + index */
    pthread_t th;
    bool running;      /* master: created, not joined */
    _Atomic int ended; /* the thread is about to return */
    pthread_mutex_t mu;
    sw_loop_t *loop; /* while an incarnation's loop exists (under mu) */
    bool stop;       /* under mu */
} sw__tthread_t;

static _Thread_local sw__task_t *tl_member;

sw__task_t *sw__task_self(const sw_server_t *srv)
{
    if (srv->mode == SW_MODE_THREAD && tl_member && tl_member->srv == srv) {
        return tl_member;
    }
    return srv->task;
}

/* A member copy of srv->task: the shared fields, member fields cleared. */
static sw__task_t *member_new(sw_server_t *srv)
{
    sw__task_t *m = sw__calloc(1, sizeof(*m));
    if (!m) {
        return NULL;
    }
    const sw__task_t *tk = srv->task;
    m->srv = srv;
    m->ready = tk->ready;
    m->nw = tk->nw;
    m->nt = tk->nt;
    m->nu = tk->nu;
    m->np = tk->np;
    m->mode = tk->mode;
    m->shm = tk->shm;
    m->inbox = tk->inbox;
    m->waitbox = tk->waitbox;
    m->inline_max = tk->inline_max;
    memcpy(m->tmpdir, tk->tmpdir, sizeof(m->tmpdir));
    memcpy(m->tmp_prefix, tk->tmp_prefix, sizeof(m->tmp_prefix));
    m->manager_pid = tk->manager_pid;
    m->threaded = true;
    m->self = -1;
    return m;
}

int sw__task_thread_attach(sw_server_t *srv, sw__worker_t *w)
{
    sw__task_t *tk = srv->task;
    if (!tk || !tk->ready) {
        return 0;
    }
    sw__task_t *m = member_new(srv);
    if (!m) {
        return SW_ENOMEM;
    }
    tl_member = m;
    return sw__task_member_attach(m, w->id, SW__M_WORKER, w->loop);
}

void sw__task_thread_detach(sw_server_t *srv)
{
    sw__task_t *m = tl_member;
    if (!m || m->srv != srv) {
        return;
    }
    if (m->kind != SW__M_NONE) {
        sw__task_member_detach(m, (int)(srv->o.max_wait_time * 1000));
    } else {
        sw__free(m->out_ep);
        sw__free(m->wout_ep);
    }
    tl_member = NULL;
    sw__free(m);
}

/* ---- task worker threads ------------------------------------------------------------------ */

static void tt_stop_cb(sw_loop_t *loop, void *arg)
{
    (void)arg;
    sw__task_t *m = tl_member;
    if (m) {
        m->stopping = true;
    }
    sw_loop_stop(loop);
}

static void tt_publish(sw__tthread_t *tt, sw_loop_t *loop)
{
    pthread_mutex_lock(&tt->mu);
    tt->loop = loop;
    pthread_mutex_unlock(&tt->mu);
}

static bool tt_stopped(sw__tthread_t *tt)
{
    pthread_mutex_lock(&tt->mu);
    bool s = tt->stop;
    pthread_mutex_unlock(&tt->mu);
    return s;
}

/* One incarnation of task worker tt->id; returns 0 or an error. */
static int tt_run(sw__tthread_t *tt)
{
    sw_server_t *srv = tt->srv;
    sw__task_t *tk = srv->task;
    sw__worker_t *w = sw__calloc(1, sizeof(*w));
    sw__task_t *m = member_new(srv);
    if (!w || !m) {
        sw__free(w);
        sw__free(m);
        return SW_ENOMEM;
    }
    w->id = tt->id;
    w->pid = getpid();
    w->thread = pthread_self();
    w->srv = srv;
    sw_loop_options_t lo;
    sw_loop_options_init(&lo);
    lo.log = srv->log;
    int rc = sw_loop_create(&w->loop, &lo);
    if (rc < 0) {
        SW_LOG_ERROR(srv->log, "task worker %d: loop: %s", tt->id, sw_strerror(rc));
        sw__free(w);
        sw__free(m);
        return rc;
    }
    sw__server_set_worker(srv, w);
    tl_member = m;
    rc = sw__task_member_attach(m, tt->id, SW__M_TASK, w->loop);
    if (rc == 0) {
        atomic_store(&tk->shm->tw[tt->id - tk->nw].pid, (int32_t)w->pid);
        tt_publish(tt, w->loop);
        if (tt_stopped(tt)) {
            m->stopping = true;
        }
        if (srv->h.on_worker_start) {
            srv->h.on_worker_start(srv, tt->id, srv->arg);
        }
        if (!m->stopping) {
            int lr = sw_loop_run(w->loop, SW_RUN_DEFAULT);
            if (lr < 0) {
                SW_LOG_ERROR(srv->log, "task worker %d: loop failed: %s", tt->id, sw_strerror(lr));
                rc = lr;
            }
        }
        m->stopping = true;
        if (srv->h.on_worker_stop) {
            srv->h.on_worker_stop(srv, tt->id, srv->arg);
        }
        tt_publish(tt, NULL);
    } else {
        SW_LOG_ERROR(srv->log, "task worker %d: cannot start: %s", tt->id, sw_strerror(rc));
    }
    atomic_store(&tk->shm->tw[tt->id - tk->nw].busy, 0);
    if (m->kind != SW__M_NONE) {
        sw__task_member_detach(m, (int)(srv->o.max_wait_time * 1000));
    } else {
        sw__free(m->out_ep);
        sw__free(m->wout_ep);
    }
    tl_member = NULL;
    sw__free(m);
    sw__server_close_loop(srv, w->loop);
    sw__server_set_worker(srv, NULL);
    sw__free(w);
    return rc;
}

static void *tt_main(void *arg)
{
    sw__tthread_t *tt = arg;
    sw_server_t *srv = tt->srv;
    for (;;) {
        int rc = tt_run(tt);
        if (rc < 0 || tt_stopped(tt) || !atomic_load(&srv->shm->running)) {
            break;
        }
        /* task_max_request ended that incarnation: the next one takes over. */
        SW_LOG_DEBUG(srv->log, "task worker %d: restarting (task_max_request)", tt->id);
    }
    atomic_store(&tt->ended, 1);
    return NULL;
}

/* The channels and the shared fields of srv->task (what the manager does in task.c). */
static int tthreads_setup(sw_server_t *srv, sw__task_t *tk)
{
    tk->nw = srv->o.worker_num;
    tk->nt = srv->o.task_worker_num;
    tk->nu = 0;
    tk->np = tk->nw + tk->nt;
    tk->mode = 1;
    tk->manager_pid = 0;
    tk->threaded = true;
    snprintf(tk->tmpdir, sizeof(tk->tmpdir), "%s",
             srv->o.task_tmpdir[0] ? srv->o.task_tmpdir : "/tmp");
    snprintf(tk->tmp_prefix, sizeof(tk->tmp_prefix), "swoole.task.%d.", (int)getpid());
    tk->inline_max = SW__TASK_INLINE_MAX;
    int rc = sw__task_shm_make(srv, tk);
    if (rc < 0) {
        return rc;
    }
    tk->ready = true; /* from here, sw__task_manager_cleanup undoes what was made */
    tk->inbox = sw__calloc((size_t)tk->np, sizeof(*tk->inbox));
    tk->waitbox = tk->nt > 0 ? sw__calloc((size_t)tk->nw, sizeof(*tk->waitbox)) : NULL;
    if (!tk->inbox || (tk->nt > 0 && !tk->waitbox)) {
        return SW_ENOMEM;
    }
    sw_ipc_channel_options_t co;
    sw__ipc_channel_options_init(&co);
    co.kind = SW_IPC_MEMORY;
    for (int i = 0; rc == 0 && i < tk->np; i++) {
        rc = sw__ipc_channel_create(&tk->inbox[i], &co);
    }
    for (int i = 0; rc == 0 && tk->waitbox && i < tk->nw; i++) {
        rc = sw__ipc_channel_create(&tk->waitbox[i], &co);
    }
    return rc;
}

int sw__task_threads_start(sw_server_t *srv)
{
    bool tasks = srv->o.task_worker_num > 0;
    if (!tasks && srv->o.worker_num < 2) {
        return 0; /* nobody to send a message to */
    }
    if (!srv->task) {
        srv->task = sw__calloc(1, sizeof(sw__task_t));
        if (!srv->task) {
            return SW_ENOMEM;
        }
        srv->task->srv = srv;
        srv->task->self = -1;
    }
    sw__task_t *tk = srv->task;
    int rc = tthreads_setup(srv, tk);
    if (rc < 0) {
        SW_LOG_ERROR(srv->log, "master: task/message channels: %s", sw_strerror(rc));
        sw__task_manager_cleanup(srv);
        if (!tasks && rc != SW_ENOMEM) {
            /* Only worker messages needed them: run without (as the manager does). */
            SW_LOG_WARNING(srv->log, "master: worker messages disabled: %s", sw_strerror(rc));
            return 0;
        }
        return rc;
    }
    if (!tasks) {
        return 0;
    }
    tk->tthreads = sw__calloc((size_t)tk->nt, sizeof(*tk->tthreads));
    if (!tk->tthreads) {
        return SW_ENOMEM;
    }
    for (int i = 0; i < tk->nt; i++) {
        sw__tthread_t *tt = &tk->tthreads[i];
        tt->srv = srv;
        tt->id = tk->nw + i;
        pthread_mutex_init(&tt->mu, NULL);
    }
    for (int i = 0; i < tk->nt; i++) {
        sw__tthread_t *tt = &tk->tthreads[i];
        int e = -SW_FAULT("thread", SW_EAGAIN);
        if (e == 0) {
            e = pthread_create(&tt->th, NULL, tt_main, tt);
        }
        if (e != 0) {
            SW_LOG_ERROR(srv->log, "task worker %d: cannot create its thread: %s", tt->id,
                         sw_strerror(-e));
            return -e;
        }
        tt->running = true;
    }
    return 0;
}

void sw__task_threads_stop(sw_server_t *srv)
{
    sw__task_t *tk = srv->task;
    for (int i = 0; tk && tk->tthreads && i < tk->nt; i++) {
        sw__tthread_t *tt = &tk->tthreads[i];
        pthread_mutex_lock(&tt->mu);
        tt->stop = true;
        if (tt->loop && sw_loop_post(tt->loop, tt_stop_cb, NULL) < 0) {
            SW_LOG_ERROR(srv->log, "task worker %d: cannot post the stop request", tt->id);
        }
        pthread_mutex_unlock(&tt->mu);
    }
}

void sw__task_threads_reload(sw_server_t *srv)
{
    sw__task_t *tk = srv->task;
    if (!tk || !tk->tthreads) {
        return;
    }
    SW_LOG_INFO(srv->log, "master: reloading %d task worker threads", tk->nt);
    for (int i = 0; i < tk->nt; i++) {
        sw__tthread_t *tt = &tk->tthreads[i];
        pthread_mutex_lock(&tt->mu);
        /* The incarnation ends (the running task first); the thread starts the next one. */
        if (tt->loop && !tt->stop && sw_loop_post(tt->loop, tt_stop_cb, NULL) < 0) {
            SW_LOG_ERROR(srv->log, "task worker %d: cannot post the reload request", tt->id);
        }
        pthread_mutex_unlock(&tt->mu);
    }
}

bool sw__task_threads_done(sw_server_t *srv)
{
    sw__task_t *tk = srv->task;
    bool done = true;
    for (int i = 0; tk && tk->tthreads && i < tk->nt; i++) {
        sw__tthread_t *tt = &tk->tthreads[i];
        if (tt->running && atomic_load(&tt->ended)) {
            pthread_join(tt->th, NULL);
            tt->running = false;
        }
        done = done && !tt->running;
    }
    return done;
}

void sw__task_threads_free(sw_server_t *srv)
{
    sw__task_t *tk = srv->task;
    if (!tk || !tk->threaded) {
        return;
    }
    sw__task_threads_stop(srv);
    for (int i = 0; tk->tthreads && i < tk->nt; i++) {
        sw__tthread_t *tt = &tk->tthreads[i];
        if (tt->running) {
            pthread_join(tt->th, NULL);
            tt->running = false;
        }
        pthread_mutex_destroy(&tt->mu);
    }
    sw__free(tk->tthreads);
    tk->tthreads = NULL;
    sw__task_manager_cleanup(srv);
    tk->threaded = false;
}
