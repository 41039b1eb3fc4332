/*
 * BASE mode: every worker process runs one loop with one reactor that accepts on the ports
 * itself and runs the user's callbacks for its connections (the reactor's sink calls them
 * directly: no IPC).
 *
 * Layout. worker_num 1, no task workers and max_request 0: the process that called
 * sw_server_start is the only one; it runs the worker here, on its own thread. Otherwise it is
 * the master and the manager at once (manager.c) and forks the workers, which run
 * sw__base_worker_main and exit with its result.
 *
 * Accepting. By default every worker watches the one listening socket made by
 * sw_server_listen (inherited across fork): the kernel hands each connection to one accept(),
 * the others get EAGAIN. With enable_reuse_port each worker listens on its own SO_REUSEPORT
 * socket (see port.c). Connections belong to the worker that accepted them and end with it.
 *
 * Stopping (SIGTERM from the manager, shutdown, max_request). The worker stops accepting,
 * closes every connection (on_close with reactor_id -1) once its queued output is written,
 * resets what is still queued at 90% of max_wait_time (the manager's SIGKILL comes at 100%),
 * then leaves its loop whatever user timers or fds are still on it, runs on_worker_stop, and
 * frees everything.
 */
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log_int.h"
#include "process/supervisor.h"
#include "server/framing.h"
#include "server/server_int.h"
#include "server/task_int.h"
#include "swoole/error.h"
#include "swoole/timer.h"

static void worker_begin_stop(sw_server_t *srv, sw__worker_t *w, const char *why)
{
    if (w->stopping) {
        return;
    }
    w->stopping = true;
    SW_LOG_DEBUG(srv->log, "worker %d: stopping (%s)", w->id, why);
    sw_loop_update_time(w->loop);
    uint64_t wait = (uint64_t)(srv->o.max_wait_time * 900);
    sw__reactor_stop(w->reactor, sw_loop_now(w->loop) + wait);
}

void sw__server_begin_shutdown(sw_server_t *srv)
{
    if (srv->shutdown_requested) {
        return;
    }
    srv->shutdown_requested = 1;
    atomic_store(&srv->state, SW__S_STOPPING);
    if (srv->shm) {
        atomic_store(&srv->shm->running, 0);
    }
    if (srv->proc && srv->is_master) {
        sw__process_begin_shutdown(srv);
    } else if (srv->sup) {
        (void)sw__sup_shutdown(srv->sup);
    } else if (srv->worker && srv->worker->reactor) {
        worker_begin_stop(srv, srv->worker, "shutdown");
    }
}

/* ---- the sink: reactor events to user callbacks ---------------------------------------- */

static void count_request(sw_server_t *srv, sw__worker_t *w)
{
    atomic_fetch_add(&srv->shm->request_count, 1);
    atomic_fetch_add(&srv->shm_workers[w->id].request_count, 1);
}

static void after_request(sw_server_t *srv, sw__worker_t *w)
{
    w->requests++;
    if (w->max_request && w->requests >= w->max_request && !w->stopping && w->holds == 0) {
        worker_begin_stop(srv, w, "max_request");
    }
}

void sw__base_max_request(sw_server_t *srv, sw__worker_t *w)
{
    if (!w->stopping) {
        worker_begin_stop(srv, w, "max_request");
    }
}

static void b_connect(sw__reactor_t *r, sw__conn_t *c)
{
    sw_server_t *srv = r->srv;
    if (srv->h.on_connect) {
        srv->h.on_connect(srv, c->session, r->id, srv->arg);
    }
}

static void b_message(sw__reactor_t *r, sw__conn_t *c, const char *data, size_t len, unsigned piece)
{
    sw_server_t *srv = r->srv;
    sw__worker_t *w = srv->worker;
    /* A request in pieces counts once, with its last piece (max_request never stops a
     * worker in the middle of one). */
    bool last = !(piece & SW__MSG_MORE);
    if (last) {
        count_request(srv, w);
    }
    sw__server_set_msg_piece(piece);
    if (srv->h.on_receive) {
        srv->h.on_receive(srv, c->session, r->id, data, len, srv->arg);
    }
    if (last) {
        after_request(srv, w);
    }
}

static void b_close(sw__reactor_t *r, uint64_t session, int reactor_id, int worker)
{
    (void)worker;
    sw_server_t *srv = r->srv;
    if (srv->h.on_close) {
        srv->h.on_close(srv, session, reactor_id, srv->arg);
    }
}

static void b_buffer(sw__reactor_t *r, uint64_t session, bool full)
{
    sw_server_t *srv = r->srv;
    sw_server_session_cb cb = full ? srv->h.on_buffer_full : srv->h.on_buffer_empty;
    if (cb) {
        cb(srv, session, r->id, srv->arg);
    }
}

static void b_packet(sw__reactor_t *r, sw_port_t *p, const char *data, size_t len,
                     const struct sockaddr *addr, socklen_t addrlen)
{
    sw_server_t *srv = r->srv;
    sw__worker_t *w = srv->worker;
    count_request(srv, w);
    if (srv->h.on_packet) {
        sw_packet_t pkt = {.port = p,
                           .data = data,
                           .len = len,
                           .addr = addr,
                           .addrlen = addrlen,
                           .worker_id = w->id};
        srv->h.on_packet(srv, &pkt, srv->arg);
    }
    after_request(srv, w);
}

static void b_drained(sw__reactor_t *r)
{
    sw_loop_stop(r->loop);
}

static const sw__sink_t base_sink = {
    .on_connect = b_connect,
    .on_message = b_message,
    .on_close = b_close,
    .on_buffer = b_buffer,
    .on_packet = b_packet,
    .on_drained = b_drained,
};

/* ---- the worker process --------------------------------------------------------------------- */

static void worker_signal_cb(sw_signal_t *sig, int signum, void *arg)
{
    (void)sig;
    sw_server_t *srv = arg;
    sw__worker_t *w = srv->worker;
    bool single = srv->is_master;
    switch (signum) {
    case SIGTERM:
        if (single) {
            sw__server_begin_shutdown(srv);
        } else {
            worker_begin_stop(srv, w, "SIGTERM");
        }
        break;
    case SIGINT:
        /* A terminal's Ctrl+C reaches the whole process group: the master handles it, and
         * stops the workers itself. */
        if (single) {
            sw__server_begin_shutdown(srv);
        }
        break;
    case SIGUSR1:
        if (single) {
            SW_LOG_WARNING(srv->log, "server: SIGUSR1 ignored: reload needs a manager "
                                     "(worker_num > 1 or max_request > 0)");
        }
        break;
    default:
        break;
    }
}

typedef struct {
    uint64_t ids[64];
    int n;
    bool more;
} timers_t;

static void collect_timer(sw_loop_t *loop, const sw_handle_info_t *info, void *arg)
{
    (void)loop;
    timers_t *t = arg;
    if (info->type == SW_HANDLE_TIMER) {
        if (t->n < 64) {
            t->ids[t->n++] = (uint64_t)info->ident;
        } else {
            t->more = true;
        }
    }
}

void sw__server_clear_timers(sw_loop_t *loop)
{
    timers_t t;
    do {
        t.n = 0;
        t.more = false;
        (void)sw_loop_walk(loop, collect_timer, &t);
        for (int i = 0; i < t.n; i++) {
            (void)sw_timer_clear(loop, t.ids[i]);
        }
    } while (t.more);
}

void sw__server_close_loop(sw_server_t *srv, sw_loop_t *loop)
{
    for (int i = 0; i < 4; i++) {
        sw__server_clear_timers(loop);
        (void)sw_loop_run(loop, SW_RUN_NOWAIT);
    }
    sw__server_clear_timers(loop);
    int rc = sw_loop_destroy(loop);
    if (rc < 0) {
        SW_LOG_ERROR(srv->log,
                     "server: the loop still has user handles after on_worker_stop / "
                     "on_shutdown (%s): stop them there; the loop is leaked",
                     sw_strerror(rc));
    }
}

int sw__base_worker_main(sw_server_t *srv, int worker_id)
{
    bool single = srv->is_master;
    if (!single && sw__server_worker_settings(srv, worker_id) < 0) {
        return 1;
    }
    sw__worker_t *w = sw__calloc(1, sizeof(*w));
    if (!w) {
        return 1;
    }
    w->id = worker_id;
    w->pid = getpid();
    w->max_request = srv->o.max_request;
    sw_loop_options_t lo;
    sw_loop_options_init(&lo);
    lo.log = srv->log;
    int rc = sw_loop_create(&w->loop, &lo);
    if (rc < 0) {
        SW_LOG_ERROR(srv->log, "worker %d: loop: %s", worker_id, sw_strerror(rc));
        sw__free(w);
        return 1;
    }
    static const int sigs[4] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
    for (int i = 0; i < 4 && rc == 0; i++) {
        rc = sw_signal_init(w->loop, &w->sigs[i], worker_signal_cb, srv);
        if (rc == 0) {
            rc = sw_signal_start(&w->sigs[i], sigs[i]);
        }
        if (rc == 0) {
            w->nsigs = i + 1;
        }
    }
    if (rc == 0) {
        rc = sw__reactor_create(&w->reactor, srv, w->loop, worker_id, worker_id, &base_sink, NULL);
    }
    if (rc == 0) {
        rc = sw__heartbeat_start(w->reactor);
    }
    srv->worker = w;
    if (rc == 0) {
        rc = sw__task_worker_attach(srv, w);
    }
    if (rc == 0) {
        /* This process's incarnation of worker `worker_id` (see sw__worker_shm_t): recorded
         * before any session is opened, so the manager can always find what was ours. */
        sw__worker_shm_t *ws = &srv->shm_workers[worker_id];
        uint32_t gen = atomic_fetch_add(&ws->generation, 1) + 1;
        atomic_store(&ws->inc[gen & 3].pid, (int32_t)w->pid);
        atomic_store(&ws->inc[gen & 3].gen, gen);
        w->reactor->incarnation = gen & 0xff;
        atomic_store(&ws->pid, (int32_t)w->pid);
        atomic_store(&ws->request_count, 0);
        atomic_store(&ws->response_count, 0);
        if (single) {
            srv->started = true;
            if (srv->h.on_start) {
                srv->h.on_start(srv, srv->arg);
            }
        }
        if (srv->h.on_worker_start) {
            srv->h.on_worker_start(srv, worker_id, srv->arg);
        }
        if (!w->stopping && !srv->shutdown_requested) {
            rc = sw__reactor_listen(w->reactor);
        } else if (!w->stopping) {
            worker_begin_stop(srv, w, "shutdown");
        }
        if (rc < 0) {
            SW_LOG_ERROR(srv->log, "worker %d: cannot accept: %s", worker_id, sw_strerror(rc));
        } else {
            int lr = sw_loop_run(w->loop, SW_RUN_DEFAULT);
            if (lr < 0) {
                SW_LOG_ERROR(srv->log, "worker %d: loop failed: %s", worker_id, sw_strerror(lr));
                rc = lr;
            }
        }
        if (srv->h.on_worker_stop) {
            srv->h.on_worker_stop(srv, worker_id, srv->arg);
        }
    } else {
        SW_LOG_ERROR(srv->log, "worker %d: cannot start: %s", worker_id, sw_strerror(rc));
    }
    /* What other threads posted until on_worker_stop finds its session gone. */
    if (w->reactor) {
        for (int i = 0; i < 4; i++) {
            (void)sw_loop_run(w->loop, SW_RUN_NOWAIT);
        }
        sw__reactor_destroy(w->reactor);
        w->reactor = NULL;
    }
    sw__task_worker_detach(srv, w);
    for (int i = 0; i < w->nsigs; i++) {
        sw_signal_stop(&w->sigs[i]);
    }
    sw__server_close_loop(srv, w->loop);
    srv->worker = NULL;
    sw__free(w);
    return rc < 0 ? 1 : 0;
}

/* ---- mode ops ------------------------------------------------------------------------------- */

static int base_start(sw_server_t *srv)
{
    bool manager = srv->o.worker_num > 1 || srv->o.task_worker_num > 0 || srv->o.max_request > 0 ||
                   sw__task_need_manager(srv);
    int rc;
    if (manager) {
        rc = sw__manager_run(srv);
    } else {
        rc = sw__base_worker_main(srv, 0) == 0 ? 0 : SW_EIO;
        if (rc < 0) {
            SW_LOG_ERROR(srv->log, "server: the worker failed");
        }
    }
    if (srv->started && srv->h.on_shutdown) {
        srv->h.on_shutdown(srv, srv->arg);
    }
    return rc;
}

static int base_forward(sw_server_t *srv, int owner, uint64_t sid, int op, const void *data,
                        size_t len)
{
    /* Another worker process owns the connection: the request goes to its inbox
     * (base_fwd.c). */
    return sw__base_forward(srv, owner, sid, op, data, len);
}

const sw__mode_ops_t sw__mode_base = {
    .name = "base",
    .start = base_start,
    .forward = base_forward,
};
