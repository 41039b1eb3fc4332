/*
 * The worker side of PROCESS and THREAD mode: a loop with one ipc endpoint per reactor thread
 * (side 1 of channel w * R + r) that turns CONNECT/DATA/CLOSE/BUFFER_* messages into the
 * user's callbacks, and the forward op that carries a worker's session requests (send, close,
 * pause, resume, sendfile, bind) to the reactor thread owning the session, on the channel of
 * (this worker, that reactor thread): one channel keeps one sender's order, so a reply sent
 * after a bind is applied after it.
 *
 * One body, two hosts. PROCESS: sw__process_worker_main in a process forked by the manager
 * (worker settings, only its own channels kept, signal watchers: SIGTERM stops it).
 * THREAD: sw__proc_worker_run on a worker thread of the master (thread.c), which learns the
 * worker's loop through `publish` so that it can post the stop request.
 *
 * The current worker: srv->worker in a PROCESS worker process (one worker per process, any
 * thread of it); a thread-local pointer in THREAD mode (several workers in one process; the
 * worker threads only). sw__server_worker() (server.c) reads the right one.
 *
 * Hooks: a worker's setup and teardown around the user's callbacks are in worker_body(), the
 * one place where per-worker attachments (task workers, messages) belong.
 */
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log_int.h"
#include "ipc/ipc_int.h"
#include "server/framing.h"
#include "server/proc_int.h"
#include "server/task_int.h"
#include "swoole/error.h"

void sw__proc_worker_stop(sw_server_t *srv, sw__worker_t *w, const char *why)
{
    if (w->stopping) {
        return;
    }
    w->stopping = true;
    SW_LOG_DEBUG(srv->log, "worker %d: stopping (%s)", w->id, why);
    /* No new message from now on (a batch being delivered ends after this callback); what
     * was read already is delivered by drain(). */
    for (int r = 0; w->wep && r < srv->proc->nr; r++) {
        if (w->wep[r]) {
            (void)sw__ipc_recv_stop(w->wep[r]);
        }
    }
    sw_loop_stop(w->loop);
}

/* Sets SW__DIR_GONE on the entry of `sid`, then checks the entry still is that session (it
 * may have been closed and its slot reused meanwhile) and takes the bit back if not. */
static void mark_gone(sw_server_t *srv, uint64_t sid)
{
    sw__dirent_t *e = &srv->shm_dir[sid & srv->shm->dir_mask];
    if (atomic_load_explicit(&e->sid, memory_order_acquire) != sid) {
        return;
    }
    atomic_fetch_or(&e->flags, SW__DIR_GONE);
    if (atomic_load_explicit(&e->sid, memory_order_acquire) != sid) {
        atomic_fetch_and(&e->flags, (uint16_t)~SW__DIR_GONE);
    }
}

static void w_msg(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *h, const void *data, size_t len,
                  void *arg)
{
    (void)ep;
    sw__worker_t *w = arg;
    sw_server_t *srv = w->srv;
    sw__worker_shm_t *ws = &srv->shm_workers[w->id];
    /* The busy flag is read only by dispatch mode 3: a shared cache line written twice per
     * message otherwise for nothing. */
    bool busy = srv->o.dispatch_mode == 3;
    if (busy) {
        atomic_store(&ws->busy, 1);
    }
    switch (h->type) {
    case SW_IPC_CONNECT:
        if (srv->h.on_connect) {
            srv->h.on_connect(srv, h->session, h->reactor_id, srv->arg);
        }
        break;
    case SW_IPC_DATA:
        if (srv->o.discard_timeout_request && !sw_server_exists(srv, h->session)) {
            SW_LOG_DEBUG(srv->log, "worker %d: data of closed session %llu dropped", w->id,
                         (unsigned long long)h->session);
            break;
        }
        /* A request in pieces (ext: SW__MSG_* bits) counts once, with its last piece, so
         * that max_request never stops a worker in the middle of one. */
        bool last = !(h->ext & SW__MSG_MORE);
        if (last) {
            atomic_fetch_add(&srv->shm->request_count, 1);
            atomic_fetch_add(&ws->request_count, 1);
        }
        sw__server_set_msg_piece(h->ext & (SW__MSG_MORE | SW__MSG_CONT));
        if (srv->h.on_receive) {
            srv->h.on_receive(srv, h->session, h->reactor_id, data, len, srv->arg);
        }
        if (last) {
            w->requests++;
            if (w->max_request && w->requests >= w->max_request && w->holds == 0) {
                sw__proc_worker_stop(srv, w, "max_request");
            }
        }
        break;
    case SW_IPC_CLOSE:
        if (srv->h.on_close) {
            srv->h.on_close(srv, h->session, (h->ext & 1u) ? -1 : h->reactor_id, srv->arg);
        }
        if (h->ext & 2u) {
            /* The peer ended its stream and the reactor keeps the socket until we are done.
             * From now on the session is closed for the workers' calls (as after on_close in
             * BASE mode); then acknowledge on the path of our sends, so the replies made so
             * far go first. */
            mark_gone(srv, h->session);
            sw_ipc_header_t a = {.session = h->session,
                                 .type = SW__IPC_CLOSE_ACK,
                                 .reactor_id = h->reactor_id,
                                 .worker_id = (uint16_t)w->id};
            int rc = h->reactor_id < srv->proc->nr
                         ? sw__proc_to_reactor(w, h->reactor_id, &a, NULL, 0, false)
                         : SW_EINVAL;
            if (rc < 0) {
                SW_LOG_WARNING(srv->log, "worker %d: close of session %llu not acknowledged: %s",
                               w->id, (unsigned long long)h->session, sw_strerror(rc));
            }
        }
        break;
    case SW_IPC_DGRAM:
        sw__dgram_deliver(w, h, data, len);
        break;
    case SW_IPC_BUFFER_FULL:
    case SW_IPC_BUFFER_EMPTY: {
        sw_server_session_cb cb =
            h->type == SW_IPC_BUFFER_FULL ? srv->h.on_buffer_full : srv->h.on_buffer_empty;
        if (cb) {
            cb(srv, h->session, h->reactor_id, srv->arg);
        }
        break;
    }
    default:
        SW_LOG_WARNING(srv->log, "worker %d: unexpected message type %d", w->id, h->type);
        break;
    }
    if (busy) {
        atomic_store(&ws->busy, 0);
    }
}

static void w_signal_cb(sw_signal_t *sig, int signum, void *arg)
{
    (void)sig;
    sw__worker_t *w = arg;
    if (signum == SIGTERM) {
        sw__proc_worker_stop(w->srv, w, "SIGTERM");
    }
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The worker has left its loop: it stops reading its channels, but first delivers what it has
 * read and not delivered yet (the rest of a batch) and completes a message whose first pieces
 * it has read (socket channels carry a large message in pieces; the rest follows the pieces
 * on the same channel), within max_wait_time. What is still in the channels is left for the
 * replacement, which starts reading only after this worker has finished (see
 * sw__process_worker_main), so no message is split between the two.
 */
static void drain(sw_server_t *srv, sw__worker_t *w)
{
    sw__proc_t *pr = srv->proc;
    uint64_t deadline = mono_ms() + (uint64_t)(srv->o.max_wait_time * 1000);
    for (int r = 0; r < pr->nr; r++) {
        if (w->wep[r]) {
            (void)sw__ipc_recv_stop(w->wep[r]);
        }
    }
    for (;;) {
        bool busy = false;
        for (int r = 0; r < pr->nr; r++) {
            sw_ipc_stats_t st;
            if (!w->wep[r] || sw__ipc_stats(w->wep[r], &st) < 0) {
                continue;
            }
            if (st.reassembly > 0 || sw__ipc_recv_pending(w->wep[r])) {
                busy = true;
                (void)sw__ipc_recv_wait(w->wep[r], 10);
            }
        }
        if (!busy) {
            return;
        }
        if (mono_ms() >= deadline) {
            SW_LOG_WARNING(srv->log,
                           "worker %d: a message was still incomplete when it stopped: "
                           "dropped",
                           w->id);
            return;
        }
    }
}

/* Everything between the worker's loop being made and destroyed. */
static int worker_body(sw_server_t *srv, sw__worker_t *w, void (*publish)(void *, sw__worker_t *),
                       void *parg)
{
    sw__proc_t *pr = srv->proc;
    int rc = 0;
    if (!pr->threads) {
        static const int sigs[4] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
        for (int i = 0; i < 4 && rc == 0; i++) {
            rc = sw_signal_init(w->loop, &w->sigs[i], w_signal_cb, w);
            if (rc == 0) {
                rc = sw_signal_start(&w->sigs[i], sigs[i]);
            }
            if (rc == 0) {
                w->nsigs = i + 1;
            }
        }
    }
    for (int r = 0; rc == 0 && r < pr->nr; r++) {
        sw_ipc_endpoint_options_t eo;
        sw__ipc_endpoint_options_init(&eo);
        eo.sender_id = (uint16_t)w->id;
        eo.on_message = w_msg;
        eo.arg = w;
        eo.max_message = pr->max_message;
        eo.log = srv->log;
        eo.name = "worker";
        rc = sw__ipc_endpoint_create(&w->wep[r], pr->ch[w->id * pr->nr + r], 1, w->loop, &eo);
    }
    if (rc == 0) {
        /* Replies to this worker's requests, read while it waits (no loop). */
        sw_ipc_endpoint_options_t eo;
        sw__ipc_endpoint_options_init(&eo);
        eo.sender_id = (uint16_t)w->id;
        eo.on_message = sw__query_on_reply;
        eo.arg = w;
        eo.max_message = pr->max_message;
        eo.log = srv->log;
        eo.name = "worker reply";
        rc = sw__ipc_endpoint_create(&w->rep, pr->rch[w->id], 1, NULL, &eo);
    }
    sw__server_set_worker(srv, w);
    if (publish) {
        publish(parg, w);
    }
    if (rc == 0) {
        sw__worker_shm_t *ws = &srv->shm_workers[w->id];
        atomic_store(&ws->pid, (int32_t)w->pid);
        atomic_store(&ws->busy, 0);
        /* Per-worker attachments (other modules' hooks) go here, before on_worker_start. */
        if (sw__task_worker_attach(srv, w) < 0) {
            sw__proc_worker_stop(srv, w, "task/message endpoints failed");
        }
        if (srv->h.on_worker_start) {
            srv->h.on_worker_start(srv, w->id, srv->arg);
        }
        if (!w->stopping) {
            int lr = sw_loop_run(w->loop, SW_RUN_DEFAULT);
            if (lr < 0) {
                SW_LOG_ERROR(srv->log, "worker %d: loop failed: %s", w->id, sw_strerror(lr));
                rc = lr;
            }
        }
        drain(srv, w);
        if (srv->h.on_worker_stop) {
            srv->h.on_worker_stop(srv, w->id, srv->arg);
        }
        /* ... and their detachments here, after on_worker_stop. */
        sw__task_worker_detach(srv, w);
    } else {
        SW_LOG_ERROR(srv->log, "worker %d: cannot start: %s", w->id, sw_strerror(rc));
    }
    /* Run what other threads posted, then make sure every reply has left. */
    for (int i = 0; i < 4; i++) {
        (void)sw_loop_run(w->loop, SW_RUN_NOWAIT);
    }
    for (int r = 0; r < pr->nr; r++) {
        if (w->wep[r]) {
            (void)sw__ipc_flush(w->wep[r], (int)(srv->o.max_wait_time * 1000));
            (void)sw__ipc_endpoint_destroy(w->wep[r]);
            w->wep[r] = NULL;
        }
    }
    if (w->rep) {
        (void)sw__ipc_endpoint_destroy(w->rep);
        w->rep = NULL;
    }
    for (int i = 0; i < w->nsigs; i++) {
        sw_signal_stop(&w->sigs[i]);
    }
    if (publish) {
        publish(parg, NULL);
    }
    sw__server_close_loop(srv, w->loop);
    sw__server_set_worker(srv, NULL);
    return rc;
}

int sw__proc_worker_run(sw_server_t *srv, int worker_id, void (*publish)(void *, sw__worker_t *),
                        void *arg)
{
    sw__proc_t *pr = srv->proc;
    sw__worker_t *w = sw__calloc(1, sizeof(*w));
    sw_ipc_endpoint_t **wep = sw__calloc((size_t)pr->nr, sizeof(*wep));
    if (!w || !wep) {
        sw__free(w);
        sw__free(wep);
        SW_LOG_ERROR(srv->log, "worker %d: cannot start: %s", worker_id, sw_strerror(SW_ENOMEM));
        return SW_ENOMEM;
    }
    w->srv = srv;
    w->wep = wep;
    w->id = worker_id;
    w->pid = getpid();
    w->max_request = srv->o.max_request;
    /* Request ids start from the clock, so that a reply meant for the previous worker with
     * this id (still in the reply channel) never matches. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    w->next_req = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) << 8;
    w->thread = pthread_self();
    sw_loop_options_t lo;
    sw_loop_options_init(&lo);
    lo.log = srv->log;
    int rc = sw_loop_create(&w->loop, &lo);
    if (rc < 0) {
        SW_LOG_ERROR(srv->log, "worker %d: loop: %s", worker_id, sw_strerror(rc));
    } else {
        rc = worker_body(srv, w, publish, arg);
    }
    sw__free(wep);
    sw__free(w);
    return rc;
}

int sw__process_worker_main(sw_server_t *srv, int worker_id)
{
    sw__proc_t *pr = srv->proc;
    if (sw__server_worker_settings(srv, worker_id) < 0) {
        return 1;
    }
    /* Only this worker's channels, and only their worker side, stay open here. */
    for (int i = 0; i < pr->nw * pr->nr; i++) {
        if (i / pr->nr != worker_id) {
            (void)sw__ipc_channel_destroy(pr->ch[i]);
            pr->ch[i] = NULL;
        } else {
            (void)sw__ipc_channel_close_side(pr->ch[i], 0);
        }
    }
    for (int i = 0; i < pr->nw; i++) {
        if (i != worker_id) {
            (void)sw__ipc_channel_destroy(pr->rch[i]);
            pr->rch[i] = NULL;
        } else {
            (void)sw__ipc_channel_close_side(pr->rch[i], 0);
        }
    }
    /* Wait until the previous worker with this id (an async reload) has finished with the
     * channels: reading them at the same time would split messages between the two, and
     * replies written at once under one sender id would interleave. It clears `reader` when
     * done, the manager when it died; past max_wait_time + 1 s it is taken anyway. */
    sw__worker_shm_t *ws = &srv->shm_workers[worker_id];
    int32_t me = (int32_t)getpid();
    uint64_t deadline = mono_ms() + (uint64_t)(srv->o.max_wait_time * 1000) + 1000;
    for (;;) {
        int32_t cur = 0;
        if (atomic_compare_exchange_strong(&ws->reader, &cur, me) || cur == me) {
            break;
        }
        if (mono_ms() >= deadline) {
            SW_LOG_WARNING(srv->log,
                           "worker %d: the previous worker (pid %d) still holds the "
                           "channels: taken over",
                           worker_id, (int)cur);
            atomic_store(&ws->reader, me);
            break;
        }
        usleep(1000);
    }
    int rc = sw__proc_worker_run(srv, worker_id, NULL, NULL);
    int32_t mine = me;
    atomic_compare_exchange_strong(&ws->reader, &mine, 0);
    return rc < 0 ? 1 : 0;
}

/* ---- forward: a worker's request to the reactor thread owning the session -------------- */

typedef struct {
    sw__worker_t *w;
    int owner;
    uint64_t sid;
    int op;
    size_t len;
    char data[];
} fwd_t;

static int fwd_send(sw__worker_t *w, int owner, uint64_t sid, int op, const void *data, size_t len)
{
    sw_ipc_header_t h = {
        .session = sid, .reactor_id = (uint16_t)owner, .worker_id = (uint16_t)w->id};
    switch (op) {
    case SW__OP_SEND:
        h.type = SW_IPC_SEND;
        break;
    case SW__OP_SENDFILE:
        h.type = SW_IPC_SENDFILE;
        break;
    case SW__OP_CLOSE:
    case SW__OP_RESET:
        h.type = SW_IPC_CLOSE;
        h.ext = op == SW__OP_RESET;
        break;
    case SW__OP_PAUSE:
        h.type = SW_IPC_PAUSE_RECV;
        break;
    case SW__OP_RESUME:
        h.type = SW_IPC_RESUME_RECV;
        break;
    case SW__OP_BIND:
        h.type = SW__IPC_BIND;
        break;
    case SW__OP_FRAMING:
        h.type = SW__IPC_FRAMING;
        break;
    default:
        return SW_EINVAL;
    }
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    return sw__proc_to_reactor(w, owner, &h, &iov, len ? 1 : 0, false);
}

typedef struct {
    sw__rthread_t *rt;
    sw_ipc_header_t h;
    size_t len;
    char data[];
} tpost_t;

static void tpost_cb(sw_loop_t *loop, void *arg)
{
    (void)loop;
    tpost_t *p = arg;
    sw__proc_reactor_post(p->rt, &p->h, p->len ? p->data : NULL, p->len);
    sw__free(p);
}

int sw__proc_to_reactor(sw__worker_t *w, int r, const sw_ipc_header_t *h, const struct iovec *iov,
                        int iovcnt, bool flush_now)
{
    sw__proc_t *pr = w->srv->proc;
    if (pr->threads) {
        size_t len = 0;
        for (int i = 0; i < iovcnt; i++) {
            len += iov[i].iov_len;
        }
        tpost_t *p = sw__malloc(sizeof(*p) + len);
        if (!p) {
            return SW_ENOMEM;
        }
        p->rt = &pr->rt[r];
        p->h = *h;
        p->h.length = (uint32_t)len;
        p->len = 0;
        for (int i = 0; i < iovcnt; i++) {
            if (iov[i].iov_len) {
                memcpy(p->data + p->len, iov[i].iov_base, iov[i].iov_len);
                p->len += iov[i].iov_len;
            }
        }
        int rc = sw_loop_post(p->rt->loop, tpost_cb, p);
        if (rc < 0) {
            sw__free(p);
        }
        return rc;
    }
    if (!w->wep[r]) {
        return SW_ESERVER_STATE; /* the worker is being torn down */
    }
    int rc = sw__ipc_sendv(w->wep[r], h, iov, iovcnt);
    if (rc == 0 && flush_now) {
        rc = sw__ipc_flush(w->wep[r], (int)(w->srv->o.max_wait_time * 1000));
    }
    return rc == SW_EAGAIN ? SW_EOVERFLOW_OUTPUT : rc;
}

static void fwd_cb(sw_loop_t *loop, void *arg)
{
    (void)loop;
    fwd_t *f = arg;
    int rc = fwd_send(f->w, f->owner, f->sid, f->op, f->data, f->len);
    if (rc < 0) {
        SW_LOG_NOTICE(f->w->srv->log, "session %llu: request from another thread dropped: %s",
                      (unsigned long long)f->sid, sw_strerror(rc));
    }
    sw__free(f);
}

int sw__proc_forward(sw_server_t *srv, int owner, uint64_t sid, int op, const void *data,
                     size_t len)
{
    sw__proc_t *pr = srv->proc;
    sw__worker_t *w = sw__server_worker(srv);
    if (!pr || !w || owner < 0 || owner >= pr->nr) {
        return SW_ENOT_WORKER;
    }
    if (sw__session_flags(srv, sid) & SW__DIR_GONE) {
        return SW_ESESSION; /* on_close has run; the socket only waits for its output */
    }
    if (!pr->threads && !w->wep) {
        /* A PROCESS task worker or user process has no channel to the reactor threads: an
         * event worker relays the request (base_fwd.c; per session always the same one). */
        return sw__base_forward(srv, (int)(sid % (uint64_t)pr->nw), sid, op, data, len);
    }
    if (pthread_equal(w->thread, pthread_self())) {
        return fwd_send(w, owner, sid, op, data, len);
    }
    /* PROCESS: another thread of the worker process; its loop sends it, in posting order. */
    fwd_t *f = sw__malloc(sizeof(*f) + len);
    if (!f) {
        return SW_ENOMEM;
    }
    f->w = w;
    f->owner = owner;
    f->sid = sid;
    f->op = op;
    f->len = len;
    if (len) {
        memcpy(f->data, data, len);
    }
    int rc = sw_loop_post(w->loop, fwd_cb, f);
    if (rc < 0) {
        sw__free(f);
    }
    return rc;
}
