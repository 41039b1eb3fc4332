/*
 * The processes of a task worker and of a user process (both forked by the manager through
 * the supervisor; see task_int.h), running a task, and the message-queue reader of
 * task_ipc_mode 2/3.
 *
 * A task worker: its own loop (timers work), SIGTERM stops it between two callbacks (a task
 * being run is finished first: on_task is never interrupted by a signal of ours). Mode 1
 * tasks arrive on its inbox (a unix socket); tasks queued there when it dies are taken by its
 * replacement. Modes 2/3: a reader thread blocks in msgrcv, hands the task to the loop and
 * waits until the loop has run it before it takes the next one, so in mode 3 a busy task
 * worker leaves the queue to the free ones. When the task worker stops, a task the thread
 * handed over but the loop did not run yet is put back in the queue for another one. The
 * thread, blocked in msgrcv, is woken by SIGUSR2, which only it has unblocked (an empty
 * handler without SA_RESTART, installed in task worker processes of modes 2/3 only: msgrcv
 * fails with EINTR and the thread sees the stop flag); the signal is repeated every 10 ms
 * until the thread has ended, since one sent just before it enters msgrcv is not noticed.
 * (pthread_cancel would be simpler but its unwinding is not supported by ASan.)
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log_int.h"
#include "server/proc_int.h"
#include "server/task_int.h"
#include "swoole/error.h"

/* ---- running a task --------------------------------------------------------------------- */

void sw__task_run(sw__task_t *tk, const sw_ipc_header_t *h, const void *data, size_t len)
{
    sw_server_t *srv = tk->srv;
    char *p;
    size_t n;
    if (sw__task_load(tk, h->ext, data, len, &p, &n, false) < 0) {
        return; /* logged; the sender's taskwait times out */
    }
    int t = tk->self - tk->nw;
    atomic_store(&tk->shm->tw[t].busy, 1);
    tk->in_task = true;
    tk->answered = false;
    tk->cur_id = h->session;
    tk->cur_src = h->worker_id;
    tk->cur_flags = h->ext;
    if (srv->h.on_task) {
        srv->h.on_task(srv, h->session, h->worker_id, p, n, srv->arg);
    }
    tk->in_task = false;
    atomic_store(&tk->shm->tw[t].busy, 0);
    atomic_fetch_add_explicit(&tk->shm->done, 1, memory_order_relaxed);
    if (p != data) {
        sw__free(p);
    }
    tk->handled++;
    if (srv->o.task_max_request && tk->handled >= srv->o.task_max_request && !tk->stopping) {
        SW_LOG_DEBUG(srv->log, "task worker %d: stopping (task_max_request)", tk->self);
        tk->stopping = true;
        sw_loop_stop(tk->loop);
    }
}

/* ---- modes 2/3: the queue reader --------------------------------------------------------- */

static void push_back(sw__task_t *tk, const sw__mq_item_t *it)
{
    int rc = sw__msgqueue_push(&tk->mq, it->type, it->buf, it->len, 1);
    if (rc < 0) {
        SW_LOG_WARNING(tk->srv->log, "task worker %d: a task could not be put back: %s", tk->self,
                       sw_strerror(rc));
    }
}

static void mq_item_cb(sw_loop_t *loop, void *arg)
{
    (void)loop;
    sw__mq_item_t *it = arg;
    sw__task_t *tk = it->tk;
    sw_ipc_header_t h;
    if (tk->stopping) {
        push_back(tk, it);
    } else if (it->len < SW_IPC_HEADER_SIZE) {
        SW_LOG_WARNING(tk->srv->log, "task worker %d: short queue message dropped", tk->self);
    } else {
        memcpy(&h, it->buf, SW_IPC_HEADER_SIZE);
        if (h.magic != SW_IPC_MAGIC || h.type != SW_IPC_TASK ||
            h.length != it->len - SW_IPC_HEADER_SIZE) {
            SW_LOG_WARNING(tk->srv->log, "task worker %d: abnormal queue message dropped",
                           tk->self);
        } else {
            sw__task_run(tk, &h, it->buf + SW_IPC_HEADER_SIZE, h.length);
        }
    }
    sw__free(it);
    pthread_mutex_lock(&tk->mq_mu);
    tk->mq_busy = false;
    pthread_cond_signal(&tk->mq_cv);
    pthread_mutex_unlock(&tk->mq_mu);
}

static void wake_handler(int signo)
{
    (void)signo;
}

static void *mq_main(void *arg)
{
    sw__task_t *tk = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    (void)pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    long type = tk->mode == 2 ? tk->self - tk->nw + 1 : 1;
    size_t cap = tk->mq.msgmax;
    for (;;) {
        pthread_mutex_lock(&tk->mq_mu);
        while (tk->mq_busy && !tk->mq_stop) {
            pthread_cond_wait(&tk->mq_cv, &tk->mq_mu);
        }
        bool stop = tk->mq_stop;
        pthread_mutex_unlock(&tk->mq_mu);
        if (stop) {
            break;
        }
        sw__mq_item_t *it = sw__malloc(sizeof(*it) + cap);
        if (!it) {
            usleep(10000);
            continue;
        }
        ssize_t n = sw__msgqueue_pop(&tk->mq, type, it->buf, cap, 0, NULL);
        if (n < 0) {
            sw__free(it);
            if (n == SW_EINTR) {
                continue;
            }
            SW_LOG_ERROR(tk->srv->log, "task worker %d: message queue: %s", tk->self,
                         sw_strerror((int)n));
            if (n == SW_EIDRM || n == SW_EINVAL) {
                break;
            }
            usleep(10000);
            continue;
        }
        it->tk = tk;
        it->type = type;
        it->len = (size_t)n;
        pthread_mutex_lock(&tk->mq_mu);
        tk->mq_busy = true;
        pthread_mutex_unlock(&tk->mq_mu);
        if (sw_loop_post(tk->loop, mq_item_cb, it) < 0) {
            push_back(tk, it);
            sw__free(it);
            break;
        }
    }
    return NULL;
}

static int mq_start(sw__task_t *tk)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = wake_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR2, &sa, NULL) != 0) {
        return -errno;
    }
    pthread_mutex_init(&tk->mq_mu, NULL);
    pthread_cond_init(&tk->mq_cv, NULL);
    tk->mq_busy = false;
    tk->mq_stop = false;
    int e = pthread_create(&tk->mq_thread, NULL, mq_main, tk);
    if (e != 0) {
        pthread_mutex_destroy(&tk->mq_mu);
        pthread_cond_destroy(&tk->mq_cv);
        return -e;
    }
    tk->mq_thread_on = true;
    return 0;
}

static void mq_stop(sw__task_t *tk)
{
    if (!tk->mq_thread_on) {
        return;
    }
    pthread_mutex_lock(&tk->mq_mu);
    tk->mq_stop = true;
    pthread_cond_signal(&tk->mq_cv);
    pthread_mutex_unlock(&tk->mq_mu);
    for (;;) {
        (void)pthread_kill(tk->mq_thread, SIGUSR2);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (pthread_timedjoin_np(tk->mq_thread, NULL, &ts) == 0) {
            break;
        }
    }
    tk->mq_thread_on = false;
    /* A task handed over but not run yet goes back to the queue (tk->stopping is set). */
    (void)sw_loop_run(tk->loop, SW_RUN_NOWAIT);
    pthread_mutex_destroy(&tk->mq_mu);
    pthread_cond_destroy(&tk->mq_cv);
}

/* ---- the processes ----------------------------------------------------------------------- */

static void member_signal_cb(sw_signal_t *sig, int signum, void *arg)
{
    (void)sig;
    sw_server_t *srv = arg;
    sw__task_t *tk = srv->task;
    if (signum == SIGTERM && !tk->stopping) {
        tk->stopping = true;
        sw_loop_stop(tk->loop);
    }
}

static int member_main(sw_server_t *srv, int id, int kind)
{
    sw__task_t *tk = srv->task;
    if (sw__server_worker_settings(srv, id) < 0) {
        return 1;
    }
    /* PROCESS: the reactor-thread <-> event worker channels are not ours. */
    for (int i = 0; srv->proc && srv->proc->ch && i < srv->proc->nw * srv->proc->nr; i++) {
        if (srv->proc->ch[i]) {
            (void)sw__ipc_channel_destroy(srv->proc->ch[i]);
            srv->proc->ch[i] = NULL;
        }
    }
    sw__worker_t *w = sw__calloc(1, sizeof(*w));
    if (!w) {
        return 1;
    }
    w->id = id;
    w->pid = getpid();
    w->thread = pthread_self();
    sw_loop_options_t lo;
    sw_loop_options_init(&lo);
    lo.log = srv->log;
    int rc = sw_loop_create(&w->loop, &lo);
    if (rc < 0) {
        SW_LOG_ERROR(srv->log, "worker %d: loop: %s", id, sw_strerror(rc));
        sw__free(w);
        return 1;
    }
    rc = sw_signal_init(w->loop, &w->sigs[0], member_signal_cb, srv);
    if (rc == 0) {
        rc = sw_signal_start(&w->sigs[0], SIGTERM);
    }
    if (rc == 0) {
        w->nsigs = 1;
        srv->worker = w;
        rc = sw__task_member_attach(tk, id, kind, w->loop);
    }
    if (rc == 0 && kind == SW__M_TASK && tk->mode != 1) {
        rc = mq_start(tk);
    }
    int code = 0;
    if (rc == 0 && kind == SW__M_TASK) {
        if (srv->h.on_worker_start) {
            srv->h.on_worker_start(srv, id, srv->arg);
        }
        if (!tk->stopping) {
            int lr = sw_loop_run(w->loop, SW_RUN_DEFAULT);
            if (lr < 0) {
                SW_LOG_ERROR(srv->log, "task worker %d: loop failed: %s", id, sw_strerror(lr));
                rc = lr;
            }
        }
        tk->stopping = true;
        mq_stop(tk);
        if (srv->h.on_worker_stop) {
            srv->h.on_worker_stop(srv, id, srv->arg);
        }
    } else if (rc == 0) {
        sw__uproc_t *u = &tk->uprocs[id - tk->nw - tk->nt];
        code = u->fn(srv, id, u->arg);
        tk->stopping = true;
    } else {
        SW_LOG_ERROR(srv->log, "worker %d: cannot start: %s", id, sw_strerror(rc));
        mq_stop(tk);
    }
    sw__task_member_detach(tk, (int)(srv->o.max_wait_time * 1000));
    for (int i = 0; i < w->nsigs; i++) {
        sw_signal_stop(&w->sigs[i]);
    }
    sw__server_close_loop(srv, w->loop);
    srv->worker = NULL;
    sw__free(w);
    if (rc < 0) {
        return 1;
    }
    return code;
}

/* The supervisor's copies and the master's loop are the parent's: never used here. */
static void child_reset(sw_sup_t *sup, sw_server_t *srv)
{
    sw__sup_child_close(sup);
    srv->sup = NULL;
    srv->master_loop = NULL;
    srv->master_nsigs = 0;
    srv->is_master = false;
}

int sw__task_worker_slot(sw_sup_t *sup, int slot, void *arg)
{
    sw_server_t *srv = arg;
    child_reset(sup, srv);
    return member_main(srv, slot, SW__M_TASK);
}

int sw__task_user_slot(sw_sup_t *sup, int slot, void *arg)
{
    sw_server_t *srv = arg;
    child_reset(sup, srv);
    return member_main(srv, slot, SW__M_USER);
}
