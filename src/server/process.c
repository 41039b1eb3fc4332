/*
 * PROCESS mode: the master process does all socket IO, worker processes run the user's
 * callbacks; they talk over the ipc bus (src/ipc/ipc.h). This file is the master side, shared
 * with THREAD mode (thread.c: worker threads instead of the manager and its processes; memory
 * channels instead of socketpairs); the worker side is proc_worker.c (proc_int.h).
 *
 *   master (the process that called sw_server_start)
 *     main thread      master loop: accepts on every port, hands each new socket to reactor
 *                      thread fd % reactor_num (sw_loop_post), signals (TERM/INT: shutdown,
 *                      USR1: reload, forwarded to the manager), shutdown sequencing
 *     reactor thread r loop + reactor (reactor.c: read, framing, output, heartbeat) whose sink
 *                      sends CONNECT/DATA/CLOSE/BUFFER_* to the worker chosen by dispatch_mode
 *                      and which runs SEND/CLOSE/PAUSE/RESUME/SENDFILE coming back
 *   manager (forked by the master before any thread exists)
 *     manager.c on the supervisor: forks, reaps, respawns, reloads worker_num workers
 *   worker w (forked by the manager)
 *     its own loop; one endpoint per reactor thread; runs on_connect/on_receive/on_close...
 *
 * Channels: one SOCK_DGRAM channel per (worker, reactor thread) pair, index w * R + r, made
 * before the manager is forked, so that every respawned worker inherits the same channels:
 * side 0 is reactor thread r's (the only reader of that side), side 1 is worker w's. A reply
 * goes back on the channel of (this worker, the session's owner in the directory).
 *
 * Dispatch: 1 round-robin per message, 2 fd modulo worker_num (default), 3 the first worker not
 * inside a callback (shared busy flag), else round-robin, 4 client IP hash. Modes 2 and 4 fix
 * the worker at connect: connect, every message and close reach that one worker in order
 * (one channel keeps a sender's order). Modes 1 and 3 send connect/close only with
 * enable_unsafe_event (to any worker: no order with the data). Mode 5: as mode 2 until the
 * connection is bound (sw_server_bind in a worker is forwarded to the reactor thread, in
 * order with that worker's other requests), then uid modulo worker_num; close goes to the
 * worker of the connection's last dispatch. A user dispatch function (o.dispatch_func) is
 * asked first about every connect, message and close (user_pick); its choice at connect
 * becomes the connection's worker. Datagram ports: proc_dgram.c.
 *
 * Replies to a worker's requests that need one (connection_info, heartbeat, sendwait:
 * proc_query.c) go on a reply channel per worker (rch[w]), written by every reactor thread.
 *
 * Backpressure: when a reactor thread's queue towards a worker reaches its high watermark,
 * the reactor pauses reading every connection feeding that worker (all of its connections in
 * modes 1/3); they resume when the queue drains to the low watermark. A reactor thread never
 * blocks; a message refused at the hard cap closes its connection (logged).
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "core/log_int.h"
#include "ipc/ipc.h"
#include "process/process_int.h"
#include "server/framing.h"
#include "server/proc_int.h"
#include "server/task_int.h"
#include "swoole/error.h"
#include "swoole/timer.h"

typedef sw__rthread_t rthread_t;

typedef struct {
    rthread_t *rt;
    int w;
} epctx_t;

static size_t max_message(const sw_server_t *srv)
{
    size_t m = SW_IPC_MESSAGE_DEFAULT;
    for (int i = 0; i < srv->nports; i++) {
        const sw_protocol_t *pr = &srv->ports[i]->eff.protocol;
        size_t p = pr->package_max_length;
        if (sw_protocol_mode(pr) == SW_FRAMING_HTTP && pr->http_piece_size > 0) {
            /* Requests in pieces: no message is longer than a first piece (so the queues
             * toward a worker stay bounded however large a request may be). */
            size_t first = pr->http_piece_size > pr->http_max_header_size
                               ? pr->http_piece_size
                               : (size_t)pr->http_max_header_size + 1;
            p = first < p ? first : p;
            if (pr->open_websocket_protocol) {
                /* WebSocket frames are whole messages up to their own limit. */
                size_t f = pr->websocket_max_frame_size ? (size_t)pr->websocket_max_frame_size + 14
                                                        : pr->package_max_length;
                f = f < pr->package_max_length ? f : pr->package_max_length;
                p = f > p ? f : p;
            }
        }
        if (p + 64 > m) {
            m = p + 64;
        }
    }
    return m;
}

/* ---- master: reactor-thread side -------------------------------------------------------- */

static int pick_worker(rthread_t *rt)
{
    sw_server_t *srv = rt->srv;
    int nw = rt->pr->nw;
    if (srv->o.dispatch_mode == 3) {
        for (int i = 0; i < nw; i++) {
            int w = (int)((rt->rr + (unsigned)i) % (unsigned)nw);
            if (!atomic_load(&srv->shm_workers[w].busy)) {
                rt->rr = (unsigned)w + 1;
                return w;
            }
        }
    }
    return (int)(rt->rr++ % (unsigned)nw);
}

static int ip_hash(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    uint32_t h = 2166136261u; /* FNV-1a over the address bytes */
    const unsigned char *b = NULL;
    size_t n = 0;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            b = (const unsigned char *)&((struct sockaddr_in *)&ss)->sin_addr;
            n = 4;
        } else if (ss.ss_family == AF_INET6) {
            b = (const unsigned char *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
            n = 16;
        }
    }
    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 16777619u;
    }
    return (int)(h & 0x7fffffff);
}

static int to_worker(rthread_t *rt, int w, int type, uint64_t sid, uint32_t ext, const void *data,
                     size_t len)
{
    sw_ipc_header_t h = {.session = sid,
                         .type = (uint8_t)type,
                         .reactor_id = (uint16_t)rt->id,
                         .worker_id = (uint16_t)w,
                         .ext = ext};
    int rc = sw__ipc_send(rt->ep[w], &h, data, len);
    if (rc < 0) {
        SW_LOG_WARNING(rt->srv->log, "reactor %d: message for worker %d (session %llu) lost: %s",
                       rt->id, w, (unsigned long long)sid, sw_strerror(rc));
    }
    return rc;
}

/* The user dispatch function's choice for an event (c NULL for CLOSE), or -1. */
static int user_pick(rthread_t *rt, sw__conn_t *c, sw_dispatch_event_t ev, uint64_t sid,
                     const char *data, size_t len)
{
    sw_server_t *srv = rt->srv;
    if (!srv->o.dispatch_func) {
        return -1;
    }
    struct sockaddr_storage ss;
    sw_dispatch_info_t info = {.event = ev,
                               .session = sid,
                               .fd = -1,
                               .reactor_id = rt->id,
                               .worker_num = rt->pr->nw,
                               .data = data,
                               .len = len};
    if (c) {
        socklen_t sl = sizeof(ss);
        info.fd = c->io.fd;
        info.port = sw__conn_port(rt->r, c);
        if (getpeername(c->io.fd, (struct sockaddr *)&ss, &sl) == 0) {
            info.addr = (const struct sockaddr *)&ss;
            info.addrlen = sl;
        }
    }
    int w = srv->o.dispatch_func(srv, &info, srv->o.dispatch_arg);
    if (w >= rt->pr->nw) {
        SW_LOG_NOTICE(srv->log, "reactor %d: dispatch_func returned worker %d of %d: ignored",
                      rt->id, w, rt->pr->nw);
        return -1;
    }
    return w < 0 ? -1 : w;
}

static void p_connect(sw__reactor_t *r, sw__conn_t *c)
{
    rthread_t *rt = r->sink_arg;
    sw_server_t *srv = r->srv;
    int nw = rt->pr->nw;
    int u = user_pick(rt, c, SW_DISPATCH_CONNECT, c->session, NULL, 0);
    switch (srv->o.dispatch_mode) {
    case 4:
        c->worker = (int16_t)(ip_hash(c->io.fd) % nw);
        break;
    case 1:
    case 3:
        c->worker = -1;
        if (srv->o.enable_unsafe_event) {
            (void)to_worker(rt, u >= 0 ? u : pick_worker(rt), SW_IPC_CONNECT, c->session, 0, NULL,
                            0);
        }
        return;
    default:
        c->worker = (int16_t)(c->io.fd % nw);
        break;
    }
    if (u >= 0) {
        c->worker = (int16_t)u;
    }
    sw__stats_conn_worker(srv, c->worker, 1);
    (void)to_worker(rt, c->worker, SW_IPC_CONNECT, c->session, 0, NULL, 0);
}

static void p_message(sw__reactor_t *r, sw__conn_t *c, const char *data, size_t len, unsigned piece)
{
    rthread_t *rt = r->sink_arg;
    int w = -1;
    sw__ext_t *e = c->io.data;
    if ((piece & SW__MSG_CONT) && e) {
        /* The rest of a request in pieces: to the worker that has its start (the ext is kept
         * while SW__C_PIECES is set). */
        w = e->piece_worker;
    }
    if (w < 0) {
        w = user_pick(rt, c, SW_DISPATCH_DATA, c->session, data, len);
        if (w < 0) {
            w = c->worker >= 0 ? c->worker : pick_worker(rt);
        }
    }
    if (piece & SW__MSG_MORE) {
        if (!(e = sw__ext_get(r, c))) {
            SW_LOG_ERROR(r->srv->log, "session %llu: out of memory for input",
                         (unsigned long long)c->session);
            sw__conn_close(r, c, true, r->id);
            return;
        }
        e->piece_worker = (int16_t)w;
    }
    if (to_worker(rt, w, SW_IPC_DATA, c->session, piece, data, len) < 0) {
        /* Refused at the hard cap (or the channel failed): the message cannot be delivered
         * in order any more, so the connection ends. */
        sw__conn_close(r, c, true, r->id);
    }
}

static void p_close(sw__reactor_t *r, uint64_t session, int reactor_id, int worker)
{
    rthread_t *rt = r->sink_arg;
    sw__stats_conn_worker(r->srv, worker, -1);
    if (r->stopping) {
        /* Shutdown: the workers have stopped before the reactors close what is left. */
        return;
    }
    if (worker < 0 && !r->srv->o.enable_unsafe_event) {
        return;
    }
    int u = user_pick(rt, NULL, SW_DISPATCH_CLOSE, session, NULL, 0);
    if (u >= 0) {
        worker = u;
    } else if (worker < 0) {
        worker = pick_worker(rt);
    }
    /* ext bit 0: closed by the server (on_close gets reactor_id -1); bit 1: the peer ended
     * its stream and the socket waits for the worker's acknowledgement (SW__C_EOF). */
    uint32_t ext = reactor_id < 0 ? 1u : 0u;
    int owner = -1, fd = -1;
    if (sw__session_find(r->srv, session, &owner, &fd) == 0) {
        sw__conn_t *c = sw__reactor_conn(r, fd, session);
        if (c && (c->flags & SW__C_EOF)) {
            ext |= 2u;
        }
    }
    if (to_worker(rt, worker, SW_IPC_CLOSE, session, ext, NULL, 0) < 0 && (ext & 2u)) {
        /* No acknowledgement can come: close now. */
        sw__conn_t *c = sw__reactor_conn(r, fd, session);
        if (c) {
            sw__conn_eof_ack(r, c);
        }
    }
}

static void p_buffer(sw__reactor_t *r, uint64_t session, bool full)
{
    rthread_t *rt = r->sink_arg;
    int owner = -1, fd = -1;
    if (sw__session_find(r->srv, session, &owner, &fd) < 0) {
        return;
    }
    sw__conn_t *c = sw__reactor_conn(r, fd, session);
    /* Reading stops while the output is over its high watermark (resumed at the low one):
     * what a worker answers to messages already on their way is then all that can still
     * come, so socket_buffer_size is not passed by a client that does not read (a forwarded
     * send past it resets the connection: r_msg). The user's own pause wins (r_msg). */
    if (c && full && !(c->flags & SW__C_PAUSED)) {
        c->flags |= SW__C_OUTWAIT;
        (void)sw__conn_pause(r, c);
    } else if (c && !full && (c->flags & SW__C_OUTWAIT)) {
        c->flags &= (uint16_t)~SW__C_OUTWAIT;
        (void)sw__conn_resume(r, c);
    }
    int w = c && c->worker >= 0 ? c->worker : pick_worker(rt);
    (void)to_worker(rt, w, full ? SW_IPC_BUFFER_FULL : SW_IPC_BUFFER_EMPTY, session, 0, NULL, 0);
}

static void p_drained(sw__reactor_t *r)
{
    sw_loop_stop(r->loop);
}

static const sw__sink_t process_sink = {
    .on_connect = p_connect,
    .on_message = p_message,
    .on_close = p_close,
    .on_buffer = p_buffer,
    .on_packet = NULL,
    .on_drained = p_drained,
};

typedef struct {
    int w;
    bool pause;
} bp_t;

static void bp_one(sw__reactor_t *r, sw__conn_t *c, void *arg)
{
    const bp_t *bp = arg;
    /* With a user dispatch function any connection may feed any worker. */
    if (!(c->flags & SW__C_ACTIVE) ||
        (c->worker >= 0 && c->worker != bp->w && !r->srv->o.dispatch_func)) {
        return;
    }
    if (bp->pause && !(c->flags & SW__C_PAUSED)) {
        c->flags |= SW__C_IPCWAIT;
        (void)sw__conn_pause(r, c);
    } else if (!bp->pause && (c->flags & SW__C_IPCWAIT)) {
        c->flags &= (uint16_t)~SW__C_IPCWAIT;
        (void)sw__conn_resume(r, c);
    }
}

static void ep_full(sw_ipc_endpoint_t *ep, size_t queued, void *arg)
{
    (void)queued;
    epctx_t *x = sw__ipc_get_data(ep);
    (void)arg;
    bp_t bp = {.w = x->w, .pause = true};
    SW_LOG_DEBUG(x->rt->srv->log, "reactor %d: worker %d's queue is full: pausing its reads",
                 x->rt->id, x->w);
    sw__reactor_foreach(x->rt->r, bp_one, &bp);
}

static void ep_drained(sw_ipc_endpoint_t *ep, size_t queued, void *arg)
{
    (void)queued;
    (void)arg;
    epctx_t *x = sw__ipc_get_data(ep);
    bp_t bp = {.w = x->w, .pause = false};
    sw__reactor_enter(x->rt->r);
    sw__reactor_foreach(x->rt->r, bp_one, &bp);
    sw__reactor_leave(x->rt->r);
}

/* One dispatch bracket per batch of worker requests (not per request): the sends of a whole
 * batch are corked together and leave in one write per connection when the batch ends
 * (r_batch for a channel's batch, batch_leave_cb for posted requests in THREAD mode). */
static void batch_enter(rthread_t *rt)
{
    if (!rt->in_batch) {
        rt->in_batch = true;
        sw__reactor_enter(rt->r);
    }
}

static void batch_leave(rthread_t *rt)
{
    if (rt->in_batch) {
        rt->in_batch = false;
        sw__reactor_leave(rt->r);
    }
}

static void r_batch(sw_ipc_endpoint_t *ep, unsigned n, void *arg)
{
    (void)ep;
    (void)n;
    batch_leave(arg);
}

static void batch_leave_cb(sw_loop_t *loop, void *arg)
{
    (void)loop;
    rthread_t *rt = arg;
    rt->leave_deferred = false;
    batch_leave(rt);
}

/* A request the worker was told had left (its call returned 0) failed here: the bytes (or the
 * file) will never be written, so the stream would have a hole. The connection is reset
 * instead: the client sees the stream end, never one with bytes missing. */
static void request_lost(rthread_t *rt, const sw_ipc_header_t *h, int rc)
{
    SW_LOG_WARNING(rt->srv->log,
                   "reactor %d: %s of worker %d for session %llu failed (%s: %s): connection "
                   "reset",
                   rt->id, h->type == SW_IPC_SEND ? "send" : "sendfile", h->worker_id,
                   (unsigned long long)h->session, sw_err_name(rc), sw_strerror(rc));
    (void)sw_server_close(rt->srv, h->session, 1);
}

/* A worker's send that does not fit socket_buffer_size. The connection stops being read now
 * (if the user has not paused it already; resumed at the output's low watermark, p_buffer),
 * so what the worker can still be answering is input already on its way to it, bounded by
 * the channel (its watermark, one message, the kernel buffer: rt->slack). The send is queued
 * past the cap up to that much more; anything beyond still fails (and resets). */
static int send_paused(rthread_t *rt, const sw_ipc_header_t *h, const void *data, size_t len)
{
    int owner = -1, fd = -1;
    sw__conn_t *c = NULL;
    if (sw__session_find(rt->srv, h->session, &owner, &fd) == 0) {
        c = sw__reactor_conn(rt->r, fd, h->session);
    }
    if (!c) {
        return SW_EOVERFLOW_OUTPUT;
    }
    if (!(c->flags & SW__C_PAUSED)) {
        c->flags |= SW__C_OUTWAIT;
        (void)sw__conn_pause(rt->r, c);
    }
    rt->r->out_slack = rt->slack;
    int rc = sw__out_send(rt->r, c, data, len);
    rt->r->out_slack = 0;
    return rc;
}

/* A request from a worker, inside a dispatch bracket: act through the public calls, which
 * find this thread's reactor from the directory and run directly on the connection. */
static void handle(rthread_t *rt, const sw_ipc_header_t *h, const void *data, size_t len)
{
    sw_server_t *srv = rt->srv;
    int rc = 0;
    switch (h->type) {
    case SW_IPC_SEND:
        rc = sw_server_send(srv, h->session, data, len);
        if (rc == SW_EOVERFLOW_OUTPUT) {
            rc = send_paused(rt, h, data, len);
        }
        if (rc < 0 && rc != SW_ESESSION) {
            request_lost(rt, h, rc);
            rc = 0;
        }
        break;
    case SW__IPC_CLOSE_ACK: {
        int owner = -1, fd = -1;
        sw__conn_t *c = NULL;
        if (sw__session_find(srv, h->session, &owner, &fd) == 0) {
            c = sw__reactor_conn(rt->r, fd, h->session);
        }
        if (c) {
            sw__conn_eof_ack(rt->r, c);
        }
        break;
    }
    case SW_IPC_CLOSE:
        rc = sw_server_close(srv, h->session, h->ext != 0);
        break;
    case SW_IPC_PAUSE_RECV:
    case SW_IPC_RESUME_RECV: {
        /* A connection held back for its worker's full queue (IPCWAIT): the user's pause
         * makes the pause the user's (drained will not resume it); the user's resume is
         * deferred to drained (reading now would only fill the full queue further). */
        int owner = -1, fd = -1;
        sw__conn_t *c = NULL;
        if (sw__session_find(srv, h->session, &owner, &fd) == 0) {
            c = sw__reactor_conn(rt->r, fd, h->session);
        }
        if (c && (c->flags & (SW__C_IPCWAIT | SW__C_OUTWAIT))) {
            if (h->type == SW_IPC_PAUSE_RECV) {
                c->flags &= (uint16_t) ~(SW__C_IPCWAIT | SW__C_OUTWAIT);
            }
            break;
        }
        rc = h->type == SW_IPC_PAUSE_RECV ? sw_server_pause(srv, h->session)
                                          : sw_server_resume(srv, h->session);
        break;
    }
    case SW__IPC_QUERY:
        sw__query_serve(rt, h, data, len);
        break;
    case SW__IPC_FRAMING: /* framing.c: the worker answered an upgrade request */
        rc = sw__session_op(srv, h->session, SW__OP_FRAMING, data, len);
        break;
    case SW__IPC_BIND: {
        int owner = -1, fd = -1;
        sw__conn_t *c = NULL;
        uint64_t uid = 0;
        if (len == sizeof(uid) && sw__session_find(srv, h->session, &owner, &fd) == 0) {
            memcpy(&uid, data, sizeof(uid));
            c = sw__reactor_conn(rt->r, fd, h->session);
        }
        if (!c || uid == 0) {
            rc = c ? SW_EINVAL : SW_ESESSION;
        } else if (c->flags & SW__C_BOUND) {
            rc = SW_EEXIST;
        } else {
            c->uid = uid;
            c->flags |= SW__C_BOUND;
            if (srv->o.dispatch_mode == 5) {
                /* From now on this connection's events go to the uid's worker. */
                sw__stats_conn_worker(srv, c->worker, -1);
                c->worker = (int16_t)(uid % (uint64_t)rt->pr->nw);
                sw__stats_conn_worker(srv, c->worker, 1);
            }
        }
        break;
    }
    case SW_IPC_SENDFILE: {
        uint64_t off, flen;
        char path[4096];
        if (len < 16 || len - 16 >= sizeof(path)) {
            rc = SW_EINVAL;
            break;
        }
        memcpy(&off, data, 8);
        memcpy(&flen, (const char *)data + 8, 8);
        memcpy(path, (const char *)data + 16, len - 16);
        path[len - 16] = '\0';
        rc = sw__server_sendfile(srv, h->session, path, off, flen & ~SW__SENDFILE_UNLINK,
                                 (flen & SW__SENDFILE_UNLINK) != 0);
        if (rc < 0 && rc != SW_ESESSION) {
            request_lost(rt, h, rc);
            rc = 0;
        }
        break;
    }
    default:
        SW_LOG_WARNING(srv->log, "reactor %d: unexpected message type %d from worker %d", rt->id,
                       h->type, h->worker_id);
        break;
    }
    if (rc < 0 && rc != SW_ESESSION) {
        SW_LOG_NOTICE(srv->log, "reactor %d: request %d of worker %d for session %llu: %s", rt->id,
                      h->type, h->worker_id, (unsigned long long)h->session, sw_strerror(rc));
    }
}

static void r_msg(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *h, const void *data, size_t len,
                  void *arg)
{
    (void)ep;
    rthread_t *rt = arg;
    batch_enter(rt); /* left by r_batch when the batch ends */
    handle(rt, h, data, len);
}

void sw__proc_reactor_msg(sw__rthread_t *rt, const sw_ipc_header_t *h, const void *data, size_t len)
{
    sw__reactor_enter(rt->r);
    handle(rt, h, data, len);
    sw__reactor_leave(rt->r);
}

void sw__proc_reactor_post(sw__rthread_t *rt, const sw_ipc_header_t *h, const void *data,
                           size_t len)
{
    /* THREAD: requests posted in one loop iteration share one bracket, closed by a deferred
     * callback (deferred callbacks run after the posted ones). */
    if (!rt->leave_deferred && sw_loop_defer(rt->loop, batch_leave_cb, rt) == 0) {
        rt->leave_deferred = true;
    }
    if (rt->leave_deferred) {
        batch_enter(rt);
        handle(rt, h, data, len);
    } else {
        sw__proc_reactor_msg(rt, h, data, len);
    }
}

static void *rthread_main(void *arg)
{
    rthread_t *rt = arg;
    sw__proc_t *pr = rt->pr;
    sw_server_t *srv = rt->srv;
    epctx_t *ctx = NULL;
    sw_loop_options_t lo;
    sw_loop_options_init(&lo);
    lo.log = srv->log;
    int rc = sw_loop_create(&rt->loop, &lo);
    if (rc == 0) {
        /* worker_id -1: per-worker connection_num is counted by the sink (stats.c). */
        rc = sw__reactor_create(&rt->r, srv, rt->loop, rt->id, -1, &process_sink, rt);
    }
    if (rc == 0) {
        /* End of stream waits for the worker's acknowledgement (connections with a fixed
         * worker only: modes 1/3 close at once). */
        rt->r->eof_ack = true;
    }
    if (rc == 0) {
        rc = sw__heartbeat_start(rt->r);
    }
    if (rc == 0) {
        rt->ep = sw__calloc((size_t)pr->nw, sizeof(*rt->ep));
        rt->rep = sw__calloc((size_t)pr->nw, sizeof(*rt->rep));
        ctx = sw__calloc((size_t)pr->nw, sizeof(*ctx));
        rc = rt->ep && rt->rep && ctx ? 0 : SW_ENOMEM;
    }
    for (int w = 0; rc == 0 && w < pr->nw; w++) {
        /* Replies to worker w's requests (proc_query.c): send only. */
        sw_ipc_endpoint_options_t eo;
        sw__ipc_endpoint_options_init(&eo);
        eo.sender_id = (uint16_t)rt->id;
        eo.max_message = pr->max_message;
        eo.log = srv->log;
        eo.name = "reactor reply";
        rc = sw__ipc_endpoint_create(&rt->rep[w], pr->rch[w], 0, rt->loop, &eo);
    }
    for (int w = 0; rc == 0 && w < pr->nw; w++) {
        sw_ipc_endpoint_options_t eo;
        sw__ipc_endpoint_options_init(&eo);
        eo.sender_id = (uint16_t)rt->id;
        eo.on_message = r_msg;
        eo.on_batch = r_batch;
        eo.on_full = ep_full;
        eo.on_drained = ep_drained;
        eo.arg = rt;
        eo.max_message = pr->max_message;
        /* max_queued_bytes: bytes waiting for one worker (per reactor thread) before the
         * reactor stops reading the connections that feed it. */
        eo.high_watermark = srv->o.max_queued_bytes;
        if (!eo.high_watermark) {
            /* Half the default queue, whatever the largest message: a port that allows huge
             * messages (a WebSocket frame up to package_max_length) must not let ordinary
             * traffic queue that much before the connections feeding a slow worker pause. */
            eo.high_watermark = SW_IPC_QUEUE_DEFAULT / 2;
        }
        eo.queue_max = SW_IPC_QUEUE_DEFAULT;
        if (eo.high_watermark && eo.queue_max < eo.high_watermark + 2 * pr->max_message) {
            eo.queue_max = eo.high_watermark + 2 * pr->max_message;
        }
        if (!eo.high_watermark && eo.queue_max < 4 * pr->max_message) {
            eo.queue_max = 4 * pr->max_message;
        }
        eo.log = srv->log;
        eo.name = "reactor";
        /* What can be on its way to a worker when a connection stops being read: the queue
         * up to its watermark, one message, the kernel buffer (memory channels: the same
         * default capacity). */
        rt->slack = (eo.high_watermark ? eo.high_watermark : eo.queue_max / 2) + pr->max_message +
                    SW_IPC_SOCKBUF_DEFAULT;
        rc = sw__ipc_endpoint_create(&rt->ep[w], pr->ch[w * pr->nr + rt->id], 0, rt->loop, &eo);
        if (rc == 0) {
            ctx[w].rt = rt;
            ctx[w].w = w;
            sw__ipc_set_data(rt->ep[w], &ctx[w]);
        }
    }
    if (rc == 0) {
        rc = sw__dgram_reactor_start(rt);
    }
    pthread_mutex_lock(&pr->mu);
    rt->rc = rc;
    pr->nready++;
    pthread_cond_broadcast(&pr->cv);
    pthread_mutex_unlock(&pr->mu);
    if (rc == 0) {
        int lr = sw_loop_run(rt->loop, SW_RUN_DEFAULT);
        if (lr < 0) {
            SW_LOG_ERROR(srv->log, "reactor %d: loop failed: %s", rt->id, sw_strerror(lr));
        }
    } else {
        SW_LOG_ERROR(srv->log, "reactor %d: cannot start: %s", rt->id, sw_strerror(rc));
    }
    /* Sockets handed over before the stop request still run (and are refused: stopping). */
    for (int i = 0; rt->loop && i < 4; i++) {
        (void)sw_loop_run(rt->loop, SW_RUN_NOWAIT);
    }
    sw__query_reactor_free(rt);
    sw__dgram_reactor_free(rt);
    for (int w = 0; rt->ep && w < pr->nw; w++) {
        if (rt->ep[w]) {
            (void)sw__ipc_flush(rt->ep[w], 100);
            (void)sw__ipc_endpoint_destroy(rt->ep[w]);
        }
    }
    for (int w = 0; rt->rep && w < pr->nw; w++) {
        if (rt->rep[w]) {
            (void)sw__ipc_flush(rt->rep[w], 100);
            (void)sw__ipc_endpoint_destroy(rt->rep[w]);
        }
    }
    if (rt->r) {
        sw__reactor_destroy(rt->r);
        rt->r = NULL;
    }
    if (rt->loop) {
        sw__server_close_loop(srv, rt->loop);
    }
    sw__free(rt->ep);
    rt->ep = NULL;
    sw__free(rt->rep);
    rt->rep = NULL;
    sw__free(ctx);
    atomic_fetch_add(&pr->nfinished, 1);
    return NULL;
}

sw__reactor_t *sw__process_reactor(const sw_server_t *srv, int owner)
{
    const sw__proc_t *pr = srv->proc;
    if (!pr || !pr->rt || owner < 0 || owner >= pr->nr) {
        return NULL;
    }
    return pr->rt[owner].r;
}

/* ---- master: accepting ------------------------------------------------------------------ */

typedef struct {
    rthread_t *rt;
    sw_port_t *port;
    int fd;
} handoff_t;

static void adopt_cb(sw_loop_t *loop, void *arg)
{
    (void)loop;
    handoff_t *h = arg;
    sw__reactor_enter(h->rt->r);
    sw__reactor_adopt(h->rt->r, h->port, h->fd);
    sw__reactor_leave(h->rt->r);
    sw__free(h);
}

static void unlisten(sw_server_t *srv);

static void accept_retry_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    sw_server_t *srv = arg;
    sw__proc_t *pr = srv->proc;
    pr->accept_retry_timer = 0;
    for (int i = 0; i < pr->nacc && !srv->shutdown_requested; i++) {
        if (!srv->ports[i]->stream) {
            continue;
        }
        (void)sw_io_start(&pr->acc[i], SW_EVENT_READ);
    }
}

static void accept_cb(sw_io_t *io, int events, void *arg)
{
    (void)events;
    sw_server_t *srv = arg;
    sw__proc_t *pr = srv->proc;
    sw_port_t *port = srv->ports[io - pr->acc];
    for (int i = 0; i < SW__ACCEPT_BATCH; i++) {
        int fd = SW_FAULT("accept", SW_EMFILE);
        if (fd == 0) {
            fd = accept4(port->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                fd = -errno;
            }
        }
        if (fd == SW_EINTR || fd == SW_ECONNABORTED || fd == -EPROTO) {
            continue;
        }
        if (fd < 0) {
            if (fd != SW_EAGAIN && fd != -EWOULDBLOCK) {
                SW_LOG_ERROR(srv->log, "master: accept: %s", sw_strerror(fd));
            }
            if ((fd == SW_EMFILE || fd == SW_ENFILE || fd == SW_ENOBUFS || fd == SW_ENOMEM) &&
                !pr->accept_retry_timer) {
                /* Out of descriptors: the pending connection would wake us again at once. */
                unlisten(srv);
                (void)sw_timer_after(srv->master_loop, 100, accept_retry_cb, srv,
                                     &pr->accept_retry_timer);
            }
            break;
        }
        handoff_t *h = sw__malloc(sizeof(*h));
        rthread_t *rt = &pr->rt[fd % pr->nr];
        if (h) {
            h->rt = rt;
            h->port = port;
            h->fd = fd;
        }
        if (!h || sw_loop_post(rt->loop, adopt_cb, h) < 0) {
            SW_LOG_ERROR(srv->log, "master: cannot hand a connection over: refused");
            atomic_fetch_add(&srv->shm->abort_count, 1);
            sw__free(h);
            close(fd);
        }
    }
}

static void unlisten(sw_server_t *srv)
{
    sw__proc_t *pr = srv->proc;
    for (int i = 0; i < pr->nacc; i++) {
        if (srv->ports[i]->stream) {
            (void)sw_io_stop(&pr->acc[i]);
        }
    }
}

/* ---- master: lifecycle ------------------------------------------------------------------ */

static void stop_reactor_cb(sw_loop_t *loop, void *arg)
{
    rthread_t *rt = arg;
    sw__dgram_reactor_stop(rt);
    sw_loop_update_time(loop);
    sw__reactor_stop(rt->r, sw_loop_now(loop) + (uint64_t)(rt->srv->o.max_wait_time * 900));
}

/* Shutdown, step by step on a 10 ms tick of the master loop: the manager stops the workers
 * (they finish their callbacks; replies still reach the reactors), then the reactor threads
 * close their connections once written, then the master loop stops. */
static void wait_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)id;
    sw_server_t *srv = arg;
    sw__proc_t *pr = srv->proc;
    if (!pr->manager_gone && pr->threads) {
        if (!sw__thread_workers_done(srv)) {
            sw_loop_update_time(loop);
            if (!pr->wait_warned && sw_loop_now(loop) > pr->wait_deadline) {
                /* A thread cannot be killed: the master waits for the callback to return. */
                SW_LOG_ERROR(srv->log, "master: a worker thread did not stop within "
                                       "max_wait_time; still waiting for it");
                pr->wait_warned = true;
            }
            return;
        }
        pr->manager_gone = true;
    }
    if (!pr->manager_gone) {
        sw_process_status_t st;
        pid_t r = sw__process_reap(pr->manager, &st);
        if (r == 0) {
            sw_loop_update_time(loop);
            if (sw_loop_now(loop) > pr->wait_deadline) {
                SW_LOG_ERROR(srv->log, "master: the manager did not stop: killed");
                (void)kill(pr->manager, SIGKILL);
                pr->wait_deadline = UINT64_MAX;
            }
            return;
        }
        pr->manager_gone = true;
    }
    if (!pr->reactors_stopping) {
        pr->reactors_stopping = true;
        for (int i = 0; i < pr->nstarted; i++) {
            if (sw_loop_post(pr->rt[i].loop, stop_reactor_cb, &pr->rt[i]) < 0) {
                sw_loop_stop(pr->rt[i].loop);
            }
        }
    }
    if (atomic_load(&pr->nfinished) == pr->nstarted) {
        (void)sw_timer_clear(loop, pr->wait_timer);
        pr->wait_timer = 0;
        sw_loop_stop(loop);
    }
}

/* The manager should live until the master asks it to stop; if it ends on its own (it could
 * not start the workers, or was killed), nothing would serve the connections: shut down. */
static void watch_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    sw_server_t *srv = arg;
    sw__proc_t *pr = srv->proc;
    if (srv->shutdown_requested || pr->manager_gone) {
        return;
    }
    sw_process_status_t st = {0};
    if (sw__process_reap(pr->manager, &st) != 0) {
        SW_LOG_ERROR(srv->log,
                     "master: the manager (pid %d) ended (code %d, signal %d): "
                     "shutting down",
                     (int)pr->manager, st.exit_code, st.signal);
        pr->manager_gone = true;
        pr->failed = SW_ECHILD;
        sw__server_begin_shutdown(srv);
    }
}

void sw__process_begin_shutdown(sw_server_t *srv)
{
    sw__proc_t *pr = srv->proc;
    unlisten(srv);
    if (pr->threads) {
        sw__thread_workers_stop(srv);
    } else if (pr->manager > 0) {
        (void)kill(pr->manager, SIGTERM);
    } else {
        pr->manager_gone = true;
    }
    sw_loop_update_time(srv->master_loop);
    pr->wait_deadline =
        sw_loop_now(srv->master_loop) + (uint64_t)(srv->o.max_wait_time * 1000) + 2000;
    if (!pr->wait_timer) {
        (void)sw_timer_tick(srv->master_loop, 10, wait_cb, srv, &pr->wait_timer);
    }
}

static void thread_reload_cb(sw_loop_t *loop, void *arg)
{
    (void)loop;
    sw_server_t *srv = arg;
    if (!srv->shutdown_requested) {
        (void)sw__thread_reload(srv);
    }
}

int sw__process_reload(sw_server_t *srv)
{
    sw__proc_t *pr = srv->proc;
    if (pr->threads) {
        /* Any thread (a worker thread too): the master's main thread does it. */
        if (atomic_load(&srv->state) != SW__S_RUNNING) {
            return SW_ESERVER_STATE;
        }
        return sw_loop_post(srv->master_loop, thread_reload_cb, srv);
    }
    if (srv->shutdown_requested) {
        return SW_ESERVER_STATE;
    }
    return pr->manager > 0 && kill(pr->manager, SIGUSR1) == 0 ? 0 : SW_ESERVER_STATE;
}

static void master_signal_cb(sw_signal_t *sig, int signum, void *arg)
{
    (void)sig;
    sw_server_t *srv = arg;
    if (signum == SIGUSR1) {
        (void)sw__process_reload(srv);
    } else if (signum == SIGTERM || signum == SIGINT) {
        sw__server_begin_shutdown(srv);
    } else if (signum == SIGUSR2) {
        sw__task_master_signal(srv, signum);
    }
}

static void channels_destroy(sw__proc_t *pr)
{
    for (int i = 0; pr->ch && i < pr->nw * pr->nr; i++) {
        if (pr->ch[i]) {
            (void)sw__ipc_channel_destroy(pr->ch[i]);
        }
    }
    sw__free(pr->ch);
    pr->ch = NULL;
    for (int i = 0; pr->rch && i < pr->nw; i++) {
        if (pr->rch[i]) {
            (void)sw__ipc_channel_destroy(pr->rch[i]);
        }
    }
    sw__free(pr->rch);
    pr->rch = NULL;
}

static void proc_free(sw_server_t *srv)
{
    sw__proc_t *pr = srv->proc;
    if (!pr) {
        return;
    }
    channels_destroy(pr);
    sw__free(pr->rt);
    sw__free(pr->acc);
    sw__thread_workers_free(srv);
    pthread_mutex_destroy(&pr->mu);
    pthread_cond_destroy(&pr->cv);
    sw__free(pr);
    srv->proc = NULL;
}

static int master_run(sw_server_t *srv)
{
    sw__proc_t *pr = srv->proc;
    sw_loop_options_t lo;
    sw_loop_options_init(&lo);
    lo.log = srv->log;
    int rc = sw_loop_create(&srv->master_loop, &lo);
    if (rc < 0) {
        return rc;
    }
    /* Signals first: the reactor threads inherit the blocked mask. */
    static const int sigs[4] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
    for (int i = 0; i < 4 && rc == 0; i++) {
        rc = sw_signal_init(srv->master_loop, &srv->master_sigs[i], master_signal_cb, srv);
        if (rc == 0) {
            rc = sw_signal_start(&srv->master_sigs[i], sigs[i]);
        }
        if (rc == 0) {
            srv->master_nsigs = i + 1;
        }
    }
    pr->rt = sw__calloc((size_t)pr->nr, sizeof(*pr->rt));
    pr->acc = sw__calloc((size_t)srv->nports, sizeof(*pr->acc));
    if (rc == 0 && (!pr->rt || !pr->acc)) {
        rc = SW_ENOMEM;
    }
    for (int i = 0; rc == 0 && i < pr->nr; i++) {
        rthread_t *rt = &pr->rt[i];
        rt->pr = pr;
        rt->srv = srv;
        rt->id = i;
        int e = -SW_FAULT("thread", SW_EAGAIN);
        if (e == 0) {
            e = pthread_create(&rt->th, NULL, rthread_main, rt);
        }
        if (e != 0) {
            rc = -e;
            break;
        }
        pr->nstarted = i + 1;
    }
    pthread_mutex_lock(&pr->mu);
    while (pr->nready < pr->nstarted) {
        pthread_cond_wait(&pr->cv, &pr->mu);
    }
    pthread_mutex_unlock(&pr->mu);
    for (int i = 0; rc == 0 && i < pr->nstarted; i++) {
        rc = pr->rt[i].rc;
    }
    if (rc == 0 && pr->threads) {
        /* THREAD: the workers start once the reactor threads (their peers) are ready. */
        rc = sw__thread_workers_start(srv);
    }
    for (int i = 0; rc == 0 && i < srv->nports; i++) {
        if (!srv->ports[i]->stream) {
            pr->nacc = i + 1; /* read by a reactor thread (proc_dgram.c) */
            continue;
        }
        rc = sw_io_init(srv->master_loop, &pr->acc[i], srv->ports[i]->fd, accept_cb, srv);
        if (rc == 0) {
            rc = sw_io_start(&pr->acc[i], SW_EVENT_READ);
        }
        pr->nacc = i + 1;
    }
    if (rc == 0 && !pr->threads) {
        rc = sw_timer_tick(srv->master_loop, 100, watch_cb, srv, &pr->watch_timer);
    }
    if (rc == 0) {
        srv->started = true;
        if (srv->h.on_start) {
            srv->h.on_start(srv, srv->arg);
        }
        if (srv->shutdown_requested == 0 && atomic_load(&srv->shm->running)) {
            int lr = sw_loop_run(srv->master_loop, SW_RUN_DEFAULT);
            if (lr < 0) {
                rc = lr;
            }
        }
    } else {
        SW_LOG_ERROR(srv->log, "master: cannot start: %s", sw_strerror(rc));
    }
    if (!pr->manager_gone || !pr->reactors_stopping) {
        /* Failed start (or the loop failed): end everything here. */
        unlisten(srv);
        if (pr->threads) {
            sw__thread_workers_join(srv);
            pr->manager_gone = true;
        }
        if (!pr->manager_gone && pr->manager > 0) {
            (void)kill(pr->manager, SIGKILL);
            (void)sw_process_wait(pr->manager, 1, NULL);
            pr->manager_gone = true;
        }
        for (int i = 0; i < pr->nstarted; i++) {
            /* Only threads that started their loop wait for a stop (the others have left). */
            if (pr->rt[i].rc == 0 &&
                sw_loop_post(pr->rt[i].loop, stop_reactor_cb, &pr->rt[i]) < 0) {
                sw_loop_stop(pr->rt[i].loop);
            }
        }
    }
    for (int i = 0; i < pr->nstarted; i++) {
        pthread_join(pr->rt[i].th, NULL);
    }
    if (pr->wait_timer) {
        (void)sw_timer_clear(srv->master_loop, pr->wait_timer);
        pr->wait_timer = 0;
    }
    if (pr->accept_retry_timer) {
        (void)sw_timer_clear(srv->master_loop, pr->accept_retry_timer);
        pr->accept_retry_timer = 0;
    }
    if (pr->watch_timer) {
        (void)sw_timer_clear(srv->master_loop, pr->watch_timer);
        pr->watch_timer = 0;
    }
    for (int i = 0; i < pr->nacc; i++) {
        if (srv->ports[i]->stream) {
            (void)sw_io_stop(&pr->acc[i]);
        }
    }
    for (int i = 0; i < srv->master_nsigs; i++) {
        sw_signal_stop(&srv->master_sigs[i]);
    }
    srv->master_nsigs = 0;
    sw__server_close_loop(srv, srv->master_loop);
    srv->master_loop = NULL;
    return rc < 0 ? rc : pr->failed;
}

int sw__proc_start(sw_server_t *srv)
{
    bool threads = srv->mode == SW_MODE_THREAD;
    sw__proc_t *pr = sw__calloc(1, sizeof(*pr));
    if (!pr) {
        return SW_ENOMEM;
    }
    pthread_mutex_init(&pr->mu, NULL);
    pthread_cond_init(&pr->cv, NULL);
    srv->proc = pr;
    pr->threads = threads;
    pr->reload_next = -1;
    pr->nw = srv->o.worker_num;
    pr->nr = srv->o.reactor_num > 0 ? srv->o.reactor_num : 1;
    pr->max_message = max_message(srv);
    int rc = 0;
    pr->ch = sw__calloc((size_t)(pr->nw * pr->nr), sizeof(*pr->ch));
    if (!pr->ch) {
        rc = SW_ENOMEM;
    }
    sw_ipc_channel_options_t co;
    sw__ipc_channel_options_init(&co);
    co.kind = threads ? SW_IPC_MEMORY : SW_IPC_SOCKET;
    for (int i = 0; rc == 0 && i < pr->nw * pr->nr; i++) {
        rc = sw__ipc_channel_create(&pr->ch[i], &co);
    }
    pr->rch = rc == 0 ? sw__calloc((size_t)pr->nw, sizeof(*pr->rch)) : NULL;
    if (rc == 0 && !pr->rch) {
        rc = SW_ENOMEM;
    }
    for (int i = 0; rc == 0 && i < pr->nw; i++) {
        rc = sw__ipc_channel_create(&pr->rch[i], &co);
    }
    if (rc < 0) {
        SW_LOG_ERROR(srv->log, "server: ipc channels: %s", sw_strerror(rc));
        proc_free(srv);
        return rc;
    }
    if (threads) {
        rc = master_run(srv);
        if (srv->started && srv->h.on_shutdown) {
            srv->h.on_shutdown(srv, srv->arg);
        }
        proc_free(srv);
        return rc;
    }
    /* The manager, forked before any thread of the master exists. */
    pid_t pid = sw__process_fork(SIGKILL);
    if (pid < 0) {
        SW_LOG_ERROR(srv->log, "server: cannot fork the manager: %s", sw_strerror((int)pid));
        proc_free(srv);
        return (int)pid;
    }
    if (pid == 0) {
        srv->is_master = false;
        int mr = sw__manager_run(srv);
        channels_destroy(pr);
        sw__process_child_exit(mr < 0 ? 1 : 0);
    }
    pr->manager = pid;
    for (int i = 0; i < pr->nw * pr->nr; i++) {
        (void)sw__ipc_channel_close_side(pr->ch[i], 1);
    }
    for (int i = 0; i < pr->nw; i++) {
        (void)sw__ipc_channel_close_side(pr->rch[i], 1);
    }
    rc = master_run(srv);
    if (srv->started && srv->h.on_shutdown) {
        srv->h.on_shutdown(srv, srv->arg);
    }
    proc_free(srv);
    return rc;
}

static int process_start(sw_server_t *srv)
{
    return sw__proc_start(srv);
}

const sw__mode_ops_t sw__mode_process = {
    .name = "process",
    .start = process_start,
    .forward = sw__proc_forward,
};
