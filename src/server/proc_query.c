/*
 * Requests with a reply between a PROCESS/THREAD worker and the reactor threads:
 * sw_server_connection_info, sw_server_heartbeat and sw_server_sendwait called in a worker,
 * where the connections live in the reactor threads.
 *
 * The request goes on the worker's normal channel to the reactor thread (type QUERY, so it is
 * ordered after the worker's earlier sends: a sendwait's data follows what was sent before
 * it), flushed at once. The reply comes back on a reply channel of its own per worker
 * (proc->rch[w]): side 0 is written by every reactor thread (sender id = reactor id), side 1
 * is read by the worker through an endpoint without a loop, so the worker waits for it with
 * sw__ipc_recv_wait inside its callback, without running its loop (its other messages wait in
 * their channels). Every request carries a request id; a reply that does not match the
 * request being waited for (a late reply to one that timed out, or to the previous worker
 * with this id) is dropped.
 *
 *   request payload  [u64 request id][kind-specific arguments]       ext = kind
 *   reply payload    [u64 request id][i32 result][kind-specific body] ext = kind
 *
 *   INFO       -> result 0 + sw_connection_info_t (pointers in it are valid in every server
 *                 process: ports exist before any fork), or SW_ESESSION
 *   HEARTBEAT  [u8 close][u64 max] -> result = idle connections of this reactor thread whose
 *                 worker is the caller (every connection in dispatch modes 1/3), body = up to
 *                 max session ids. The worker asks every reactor thread and adds them up.
 *   SENDWAIT   [i32 timeout_ms][data] -> queued like a send and flushed; replied 0 when the
 *                 connection's output queue is empty, SW_ETIMEDOUT at the deadline (the rest
 *                 stays queued), SW_ESESSION when it closed. Pending ones are checked on a
 *                 2 ms tick of the reactor thread while any is pending.
 */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/log_int.h"
#include "server/proc_int.h"
#include "swoole/error.h"
#include "swoole/timer.h"

#define Q_INFO      1
#define Q_HEARTBEAT 2
#define Q_SENDWAIT  3

#define WAIT_TICK_MS 2

struct sw__waiter_s {
    struct sw__waiter_s *next;
    uint64_t sid;
    uint64_t req;
    uint64_t deadline; /* loop ms; UINT64_MAX: none */
    int fd;
    int worker;
};

/* ---- reactor thread side ----------------------------------------------------------------- */

static void reply(sw__rthread_t *rt, int w, uint64_t sid, uint32_t kind, uint64_t req, int rc,
                  const void *body, size_t blen)
{
    char head[12];
    int32_t r32 = rc;
    memcpy(head, &req, 8);
    memcpy(head + 8, &r32, 4);
    sw_ipc_header_t h = {.session = sid,
                         .type = SW__IPC_REPLY,
                         .reactor_id = (uint16_t)rt->id,
                         .worker_id = (uint16_t)w,
                         .ext = kind};
    struct iovec iov[2] = {{.iov_base = head, .iov_len = sizeof(head)},
                           {.iov_base = (void *)body, .iov_len = blen}};
    int e = sw__ipc_sendv(rt->rep[w], &h, iov, blen ? 2 : 1);
    if (e < 0) {
        SW_LOG_WARNING(rt->srv->log, "reactor %d: reply to worker %d lost: %s", rt->id, w,
                       sw_strerror(e));
    }
}

static sw__conn_t *find_conn(sw__rthread_t *rt, uint64_t sid)
{
    int owner = -1, fd = -1;
    if (sw__session_find(rt->srv, sid, &owner, &fd) < 0 || owner != rt->id) {
        return NULL;
    }
    return sw__reactor_conn(rt->r, fd, sid);
}

typedef struct {
    int worker;
    uint32_t now;
    bool close_them;
    uint64_t *out;
    size_t max;
    int found;
} hb_t;

static void hb_one(sw__reactor_t *r, sw__conn_t *c, void *arg)
{
    hb_t *s = arg;
    if (!(c->flags & SW__C_ACTIVE) || (c->worker >= 0 && c->worker != s->worker)) {
        return;
    }
    if ((uint32_t)(s->now - c->last_recv) < r->idle_ms) {
        return;
    }
    if ((size_t)s->found < s->max) {
        s->out[s->found] = c->session;
    }
    s->found++;
    if (s->close_them) {
        sw__conn_close(r, c, false, r->id);
    }
}

static void waiters_check(sw_loop_t *loop, uint64_t id, void *arg);

static void waiter_add(sw__rthread_t *rt, struct sw__waiter_s *wt)
{
    wt->next = rt->waiters;
    rt->waiters = wt;
    if (!rt->wait_timer) {
        (void)sw_timer_tick(rt->loop, WAIT_TICK_MS, waiters_check, rt, &rt->wait_timer);
    }
}

static void waiters_check(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)id;
    sw__rthread_t *rt = arg;
    sw_loop_update_time(loop);
    uint64_t now = sw_loop_now(loop);
    struct sw__waiter_s **pp = &rt->waiters;
    while (*pp) {
        struct sw__waiter_s *wt = *pp;
        sw__conn_t *c = sw__reactor_conn(rt->r, wt->fd, wt->sid);
        int rc = 1;
        if (!c) {
            rc = SW_ESESSION;
        } else if (sw__out_empty(c)) {
            rc = 0;
        } else if (now >= wt->deadline) {
            rc = SW_ETIMEDOUT;
        }
        if (rc <= 0) {
            reply(rt, wt->worker, wt->sid, Q_SENDWAIT, wt->req, rc, NULL, 0);
            *pp = wt->next;
            sw__free(wt);
        } else {
            pp = &wt->next;
        }
    }
    if (!rt->waiters && rt->wait_timer) {
        (void)sw_timer_clear(loop, rt->wait_timer);
        rt->wait_timer = 0;
    }
}

void sw__query_reactor_free(sw__rthread_t *rt)
{
    while (rt->waiters) {
        struct sw__waiter_s *wt = rt->waiters;
        rt->waiters = wt->next;
        sw__free(wt);
    }
    if (rt->wait_timer && rt->loop) {
        (void)sw_timer_clear(rt->loop, rt->wait_timer);
    }
    rt->wait_timer = 0;
}

void sw__query_serve(sw__rthread_t *rt, const sw_ipc_header_t *h, const void *data, size_t len)
{
    int w = h->worker_id;
    uint64_t req;
    if (w >= rt->pr->nw || len < 8) {
        SW_LOG_WARNING(rt->srv->log, "reactor %d: malformed request from worker %d", rt->id, w);
        return;
    }
    memcpy(&req, data, 8);
    const char *args = (const char *)data + 8;
    size_t alen = len - 8;
    switch (h->ext) {
    case Q_INFO: {
        sw__conn_t *c = find_conn(rt, h->session);
        if (!c) {
            reply(rt, w, h->session, Q_INFO, req, SW_ESESSION, NULL, 0);
            break;
        }
        sw_connection_info_t info;
        sw__conn_fill_info(rt->r, c, &info);
        info.worker_id = c->worker >= 0 ? c->worker : w;
        reply(rt, w, h->session, Q_INFO, req, 0, &info, sizeof(info));
        break;
    }
    case Q_HEARTBEAT: {
        uint8_t close_them;
        uint64_t max;
        if (alen < 9) {
            break;
        }
        memcpy(&close_them, args, 1);
        memcpy(&max, args + 1, 8);
        if (rt->r->idle_ms == 0) {
            reply(rt, w, 0, Q_HEARTBEAT, req, SW_EINVAL, NULL, 0);
            break;
        }
        size_t cap = max < 4096 ? (size_t)max : 4096;
        hb_t s = {.worker = w, .close_them = close_them != 0, .max = cap};
        s.out = cap ? sw__calloc(cap, sizeof(uint64_t)) : NULL;
        if (cap && !s.out) {
            reply(rt, w, 0, Q_HEARTBEAT, req, SW_ENOMEM, NULL, 0);
            break;
        }
        sw_loop_update_time(rt->loop);
        s.now = sw__reactor_clock(rt->r);
        sw__reactor_foreach(rt->r, hb_one, &s);
        size_t n = (size_t)s.found < cap ? (size_t)s.found : cap;
        reply(rt, w, 0, Q_HEARTBEAT, req, s.found, s.out, n * sizeof(uint64_t));
        sw__free(s.out);
        break;
    }
    case Q_SENDWAIT: {
        int32_t timeout;
        if (alen < 4) {
            break;
        }
        memcpy(&timeout, args, 4);
        sw__conn_t *c = find_conn(rt, h->session);
        int rc = c ? sw__out_send(rt->r, c, args + 4, alen - 4) : SW_ESESSION;
        if (rc == 0) {
            rc = sw__out_flush(rt->r, c);
        }
        if (rc == 0 && (c = find_conn(rt, h->session)) != NULL && !sw__out_empty(c)) {
            struct sw__waiter_s *wt = sw__calloc(1, sizeof(*wt));
            if (wt) {
                sw_loop_update_time(rt->loop);
                wt->sid = h->session;
                wt->req = req;
                wt->fd = c->io.fd;
                wt->worker = w;
                wt->deadline = timeout < 0 ? UINT64_MAX : sw_loop_now(rt->loop) + (uint64_t)timeout;
                waiter_add(rt, wt);
                break;
            }
            rc = SW_ENOMEM;
        }
        reply(rt, w, h->session, Q_SENDWAIT, req, rc, NULL, 0);
        break;
    }
    default:
        SW_LOG_WARNING(rt->srv->log, "reactor %d: unknown request %u from worker %d", rt->id,
                       (unsigned)h->ext, w);
        break;
    }
}

/* ---- worker side ------------------------------------------------------------------------- */

typedef struct {
    uint64_t req;
    uint32_t kind;
    int replies; /* replies still expected */
    int rc;      /* INFO/SENDWAIT: the result; HEARTBEAT: the sum */
    void *out;   /* INFO: the info; HEARTBEAT: the ids */
    size_t max;  /* HEARTBEAT: ids `out` holds */
    size_t n;    /* HEARTBEAT: ids stored */
} pending_t;

void sw__query_on_reply(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *h, const void *data,
                        size_t len, void *arg)
{
    (void)ep;
    sw__worker_t *w = arg;
    pending_t *p = w->pending;
    uint64_t req;
    int32_t rc;
    if (!p || len < 12 || h->ext != p->kind) {
        return;
    }
    memcpy(&req, data, 8);
    memcpy(&rc, (const char *)data + 8, 4);
    if (req != p->req || p->replies <= 0) {
        return; /* late: its request timed out */
    }
    const char *body = (const char *)data + 12;
    size_t blen = len - 12;
    p->replies--;
    switch (p->kind) {
    case Q_INFO:
        p->rc = rc;
        if (rc == 0 && blen == sizeof(sw_connection_info_t)) {
            memcpy(p->out, body, blen);
        } else if (rc == 0) {
            p->rc = SW_EIO;
        }
        break;
    case Q_HEARTBEAT:
        if (rc < 0) {
            p->rc = rc;
            break;
        }
        if (p->rc >= 0) {
            p->rc += rc;
        }
        for (size_t i = 0; i + 8 <= blen && p->n < p->max; i += 8) {
            memcpy((uint64_t *)p->out + p->n++, body + i, 8);
        }
        break;
    default:
        p->rc = rc;
        break;
    }
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sends the request to reactor threads [r0, r1) and waits for every reply (or the deadline,
 * -1: none; the wait also ends when the server shuts down). */
static int ask(sw_server_t *srv, sw__worker_t *w, pending_t *p, int r0, int r1, uint64_t sid,
               const struct iovec *args, int nargs, int timeout_ms)
{
    if (!w->rep) {
        return SW_ESERVER_STATE;
    }
    if (!pthread_equal(w->thread, pthread_self())) {
        return SW_ELOOP_THREAD;
    }
    if (w->pending) {
        return SW_EBUSY; /* a nested request from a callback run by the wait (never) */
    }
    p->req = ++w->next_req;
    struct iovec iov[4];
    iov[0].iov_base = &p->req;
    iov[0].iov_len = 8;
    for (int i = 0; i < nargs && i < 3; i++) {
        iov[i + 1] = args[i];
    }
    sw_ipc_header_t h = {
        .session = sid, .type = SW__IPC_QUERY, .worker_id = (uint16_t)w->id, .ext = p->kind};
    for (int r = r0; r < r1; r++) {
        h.reactor_id = (uint16_t)r;
        int rc = sw__proc_to_reactor(w, r, &h, iov, nargs + 1, true);
        if (rc < 0) {
            return rc;
        }
        p->replies++;
    }
    w->pending = p;
    uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : mono_ms() + (uint64_t)timeout_ms;
    int rc = 0;
    while (p->replies > 0) {
        uint64_t now = mono_ms();
        if (now >= deadline || !atomic_load(&srv->shm->running)) {
            rc = SW_ETIMEDOUT;
            break;
        }
        /* Slices of 100 ms so that a shutdown is noticed. */
        uint64_t left = deadline - now;
        int e = sw__ipc_recv_wait(w->rep, left > 100 ? 100 : (int)left);
        if (e < 0 && e != SW_ETIMEDOUT) {
            rc = e;
            break;
        }
    }
    w->pending = NULL;
    return rc < 0 ? rc : p->rc;
}

/* How long a worker waits for a reply that needs no IO. */
static int reply_wait_ms(const sw_server_t *srv)
{
    double ms = srv->o.max_wait_time * 1000;
    return ms < 1000 ? 1000 : ms > 60000 ? 60000 : (int)ms;
}

int sw__proc_query_info(sw_server_t *srv, int owner, uint64_t sid, sw_connection_info_t *info)
{
    sw__worker_t *w = sw__server_worker(srv);
    sw__proc_t *pr = srv->proc;
    if (!w || !pr || owner < 0 || owner >= pr->nr) {
        return SW_ENOT_WORKER;
    }
    pending_t p = {.kind = Q_INFO, .out = info};
    return ask(srv, w, &p, owner, owner + 1, sid, NULL, 0, reply_wait_ms(srv));
}

int sw__proc_query_heartbeat(sw_server_t *srv, bool close_them, uint64_t *out, size_t max)
{
    sw__worker_t *w = sw__server_worker(srv);
    sw__proc_t *pr = srv->proc;
    if (!w || !pr) {
        return SW_ENOT_WORKER;
    }
    uint8_t c = close_them ? 1 : 0;
    uint64_t m = max;
    struct iovec args[2] = {{.iov_base = &c, .iov_len = 1}, {.iov_base = &m, .iov_len = 8}};
    pending_t p = {.kind = Q_HEARTBEAT, .out = out, .max = out ? max : 0};
    return ask(srv, w, &p, 0, pr->nr, 0, args, 2, reply_wait_ms(srv));
}

int sw__proc_query_sendwait(sw_server_t *srv, int owner, uint64_t sid, const void *data, size_t len,
                            int timeout_ms)
{
    sw__worker_t *w = sw__server_worker(srv);
    sw__proc_t *pr = srv->proc;
    if (!w || !pr || owner < 0 || owner >= pr->nr) {
        return SW_ENOT_WORKER;
    }
    int32_t t = timeout_ms < 0 ? -1 : timeout_ms;
    struct iovec args[2] = {{.iov_base = &t, .iov_len = 4},
                            {.iov_base = (void *)data, .iov_len = len}};
    pending_t p = {.kind = Q_SENDWAIT};
    /* The reactor answers at its deadline; the worker waits a little longer for that. */
    int wait = timeout_ms < 0 ? -1 : timeout_ms + reply_wait_ms(srv);
    return ask(srv, w, &p, owner, owner + 1, sid, args, len ? 2 : 1, wait);
}
