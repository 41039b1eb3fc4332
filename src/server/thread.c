/*
 * THREAD mode: the PROCESS layout in one process. The master's main thread accepts and handles
 * signals, reactor threads do all socket IO (process.c, unchanged), and worker_num worker
 * threads run the user's callbacks (proc_worker.c, the same body as a PROCESS worker). They
 * talk over SW_IPC_MEMORY channels (in-memory queues with eventfd wake-ups), one per
 * (worker, reactor thread) pair, so dispatch, ordering and backpressure are PROCESS's.
 *
 * This file is the part a manager plays in PROCESS mode, done by the master's main thread:
 *
 *   start     every worker thread, once the reactor threads are ready.
 *   end       a worker thread that ends (max_request, reload, a loop failure) posts
 *             ended_cb to the master loop, which joins it and starts a new thread with the
 *             same worker id (after 1 s when the worker could not start), unless the server
 *             is shutting down. Messages for the worker wait in its channels meanwhile.
 *   reload    reload_async: every worker thread is asked to stop and each is replaced when
 *             it has ended; otherwise one at a time (the next one once the previous
 *             replacement runs). An old and a new worker thread never overlap: the new one
 *             starts after the old one was joined (a memory channel has one reader).
 *   shutdown  every worker thread is asked to stop; the master waits for all of them before
 *             the reactor threads close the connections. A thread cannot be killed: one
 *             stuck in a callback past max_wait_time is logged and waited for.
 *
 * A stop request is posted to the worker's loop (sw_loop_post); the loop pointer is published
 * by the worker thread under the slot's mutex while the loop exists.
 *
 * There is no manager: on_manager_start/on_manager_stop are not called, and on_worker_error
 * never runs (a crashing worker thread takes the process with it). Worker settings that are
 * per process (user, group, chroot) are not applied in THREAD mode; open_cpu_affinity pins
 * each worker thread.
 */
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "core/log_int.h"
#include "server/proc_int.h"
#include "server/task_int.h"
#include "swoole/error.h"
#include "swoole/timer.h"

struct sw__tworker_s {
    sw_server_t *srv;
    int id;
    pthread_t th;
    bool running;         /* master thread: created and not joined yet */
    uint64_t retry_timer; /* master thread: a delayed restart */
    pthread_mutex_t mu;   /* guards w and stop */
    sw__worker_t *w;      /* the worker while its loop exists */
    bool stop;            /* a stop was asked for this thread */
    int rc;               /* the worker's result (read after the join) */
};

static void stop_cb(sw_loop_t *loop, void *arg)
{
    (void)loop;
    sw__worker_t *w = arg;
    sw__proc_worker_stop(w->srv, w, "stop requested");
}

/* Worker thread: the loop exists (w) or is about to be destroyed (NULL). */
static void publish(void *arg, sw__worker_t *w)
{
    sw__tworker_t *tw = arg;
    pthread_mutex_lock(&tw->mu);
    tw->w = w;
    if (w && tw->stop) {
        sw__proc_worker_stop(tw->srv, w, "stop requested");
    }
    pthread_mutex_unlock(&tw->mu);
}

static void ask_stop(sw__tworker_t *tw)
{
    pthread_mutex_lock(&tw->mu);
    tw->stop = true;
    if (tw->w && sw_loop_post(tw->w->loop, stop_cb, tw->w) < 0) {
        SW_LOG_ERROR(tw->srv->log, "worker %d: cannot post the stop request", tw->id);
    }
    pthread_mutex_unlock(&tw->mu);
}

static void ended_cb(sw_loop_t *loop, void *arg);

static void pin_cpu(sw_server_t *srv, int worker_id)
{
    cpu_set_t allowed, set;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
        return;
    }
    for (int i = 0; i < srv->o.cpu_affinity_ignore_num; i++) {
        int c = srv->o.cpu_affinity_ignore[i];
        if (c >= 0 && c < CPU_SETSIZE) {
            CPU_CLR(c, &allowed);
        }
    }
    int n = CPU_COUNT(&allowed);
    if (n <= 0) {
        return;
    }
    int want = worker_id % n;
    CPU_ZERO(&set);
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (CPU_ISSET(c, &allowed) && want-- == 0) {
            CPU_SET(c, &set);
            break;
        }
    }
    /* Linux: pid 0 is the calling thread. */
    (void)sched_setaffinity(0, sizeof(set), &set);
}

static void *tw_main(void *arg)
{
    sw__tworker_t *tw = arg;
    sw_server_t *srv = tw->srv;
    if (srv->o.open_cpu_affinity) {
        pin_cpu(srv, tw->id);
    }
    tw->rc = sw__proc_worker_run(srv, tw->id, publish, tw);
    if (sw_loop_post(srv->master_loop, ended_cb, tw) < 0) {
        /* The master then only learns it when it joins at shutdown. */
        SW_LOG_ERROR(srv->log, "worker %d: cannot tell the master it ended", tw->id);
    }
    return NULL;
}

static int start_one(sw__tworker_t *tw)
{
    pthread_mutex_lock(&tw->mu);
    tw->stop = false;
    tw->w = NULL;
    pthread_mutex_unlock(&tw->mu);
    tw->rc = 0;
    int e = -SW_FAULT("thread", SW_EAGAIN);
    if (e == 0) {
        e = pthread_create(&tw->th, NULL, tw_main, tw);
    }
    if (e != 0) {
        SW_LOG_ERROR(tw->srv->log, "worker %d: cannot create its thread: %s", tw->id,
                     sw_strerror(-e));
        return -e;
    }
    tw->running = true;
    return 0;
}

static void retry_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    sw__tworker_t *tw = arg;
    tw->retry_timer = 0;
    if (!tw->srv->shutdown_requested && !tw->running && start_one(tw) < 0) {
        (void)sw_timer_after(loop, 1000, retry_cb, tw, &tw->retry_timer);
    }
}

static void next_rolling(sw__proc_t *pr, int done)
{
    if (pr->reload_next != done) {
        return;
    }
    /* The next worker that runs (one waiting for a restart is new already). */
    int next = done + 1;
    while (next < pr->nw && !pr->tw[next].running) {
        next++;
    }
    pr->reload_next = next < pr->nw ? next : -1;
    if (pr->reload_next >= 0) {
        ask_stop(&pr->tw[next]);
    } else {
        SW_LOG_INFO(pr->tw[done].srv->log, "master: reload done");
    }
}

/* Master thread: a worker thread has ended (or is about to return). */
static void ended_cb(sw_loop_t *loop, void *arg)
{
    sw__tworker_t *tw = arg;
    sw_server_t *srv = tw->srv;
    sw__proc_t *pr = srv->proc;
    if (!tw->running) {
        return; /* joined already (a forced stop) */
    }
    pthread_join(tw->th, NULL);
    tw->running = false;
    if (srv->shutdown_requested) {
        return;
    }
    if (tw->rc < 0) {
        SW_LOG_ERROR(srv->log, "worker %d failed (%s): restarting it in 1 s", tw->id,
                     sw_strerror(tw->rc));
        (void)sw_timer_after(loop, 1000, retry_cb, tw, &tw->retry_timer);
    } else if (start_one(tw) < 0) {
        (void)sw_timer_after(loop, 1000, retry_cb, tw, &tw->retry_timer);
    }
    next_rolling(pr, tw->id);
}

int sw__thread_workers_start(sw_server_t *srv)
{
    sw__proc_t *pr = srv->proc;
    /* Task worker threads and the members' channels first (task_thread.c): a worker thread
     * may send a task from on_worker_start. */
    int trc = sw__task_threads_start(srv);
    if (trc < 0) {
        return trc;
    }
    pr->tw = sw__calloc((size_t)pr->nw, sizeof(*pr->tw));
    if (!pr->tw) {
        return SW_ENOMEM;
    }
    for (int i = 0; i < pr->nw; i++) {
        pr->tw[i].srv = srv;
        pr->tw[i].id = i;
        pthread_mutex_init(&pr->tw[i].mu, NULL);
    }
    for (int i = 0; i < pr->nw; i++) {
        int rc = start_one(&pr->tw[i]);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

static void clear_retry(sw__tworker_t *tw)
{
    if (tw->retry_timer) {
        (void)sw_timer_clear(tw->srv->master_loop, tw->retry_timer);
        tw->retry_timer = 0;
    }
}

void sw__thread_workers_stop(sw_server_t *srv)
{
    sw__proc_t *pr = srv->proc;
    pr->reload_next = -1;
    for (int i = 0; pr->tw && i < pr->nw; i++) {
        clear_retry(&pr->tw[i]);
        if (pr->tw[i].running) {
            ask_stop(&pr->tw[i]);
        }
    }
    sw__task_threads_stop(srv);
}

bool sw__thread_workers_done(sw_server_t *srv)
{
    sw__proc_t *pr = srv->proc;
    for (int i = 0; pr->tw && i < pr->nw; i++) {
        if (pr->tw[i].running) {
            return false;
        }
    }
    return sw__task_threads_done(srv);
}

void sw__thread_workers_join(sw_server_t *srv)
{
    sw__proc_t *pr = srv->proc;
    sw__thread_workers_stop(srv);
    for (int i = 0; pr->tw && i < pr->nw; i++) {
        if (pr->tw[i].running) {
            pthread_join(pr->tw[i].th, NULL);
            pr->tw[i].running = false;
        }
    }
    /* The task worker threads too; then their channels go (no endpoint is left). */
    sw__task_threads_free(srv);
}

int sw__thread_reload(sw_server_t *srv)
{
    sw__proc_t *pr = srv->proc;
    if (!pr->tw) {
        return SW_ESERVER_STATE;
    }
    /* SIGUSR1 reloads the task workers too (as the manager does in the other modes). */
    sw__task_threads_reload(srv);
    if (srv->o.reload_async) {
        SW_LOG_INFO(srv->log, "master: reloading %d worker threads", pr->nw);
        for (int i = 0; i < pr->nw; i++) {
            sw__tworker_t *tw = &pr->tw[i];
            if (tw->running) {
                ask_stop(tw);
            }
        }
        return 0;
    }
    if (pr->reload_next >= 0) {
        SW_LOG_WARNING(srv->log, "master: reload refused: a rolling reload is running");
        return SW_EBUSY;
    }
    SW_LOG_INFO(srv->log, "master: reloading %d worker threads one at a time", pr->nw);
    pr->reload_next = 0;
    if (pr->tw[0].running) {
        ask_stop(&pr->tw[0]);
    } else {
        next_rolling(pr, 0);
    }
    return 0;
}

void sw__thread_workers_free(sw_server_t *srv)
{
    sw__proc_t *pr = srv->proc;
    sw__task_threads_free(srv);
    if (!pr->tw) {
        return;
    }
    for (int i = 0; i < pr->nw; i++) {
        pthread_mutex_destroy(&pr->tw[i].mu);
    }
    sw__free(pr->tw);
    pr->tw = NULL;
}

static int thread_start(sw_server_t *srv)
{
    return sw__proc_start(srv);
}

const sw__mode_ops_t sw__mode_thread = {
    .name = "thread",
    .start = thread_start,
    .forward = sw__proc_forward,
};
