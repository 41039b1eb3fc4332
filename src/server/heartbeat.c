/*
 * Time-driven connection checks of a reactor: the heartbeat (close connections idle for
 * heartbeat_idle_time, checked every heartbeat_check_interval), and the deadline of lingering
 * closes (a connection closed by the server whose output did not drain in max_wait_time is
 * reset).
 *
 * Both scan the reactor's connection slots, O(highest fd) per run; a scan of 100,000 slots
 * takes well under a millisecond, and runs at most once per interval. The linger check runs
 * every LINGER_CHECK_MS while some connection lingers, and not at all otherwise.
 *
 * Idle time is measured from the last byte received (Swoole's last_recv_time): a connection
 * that only receives data from the server counts as idle.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>

#include "core/log_int.h"
#include "server/server_int.h"
#include "swoole/error.h"
#include "swoole/timer.h"

#define LINGER_CHECK_MS 100

typedef struct {
    uint32_t now;
    uint32_t idle_ms;
    bool close_them;
    uint64_t *out;
    size_t max;
    int found;
} scan_t;

static void scan_one(sw__reactor_t *r, sw__conn_t *c, void *arg)
{
    scan_t *s = arg;
    if (!(c->flags & SW__C_ACTIVE)) {
        return;
    }
    /* Modulo 2^32: right for idle times below 49 days. */
    if ((uint32_t)(s->now - c->last_recv) < s->idle_ms) {
        return;
    }
    if ((size_t)s->found < s->max && s->out) {
        s->out[s->found] = c->session;
    }
    s->found++;
    if (s->close_them) {
        SW_LOG_INFO(r->srv->log, "heartbeat: session %llu idle for %u ms: closed",
                    (unsigned long long)c->session, (unsigned)(s->now - c->last_recv));
        sw__conn_close(r, c, false, r->id);
    }
}

int sw__heartbeat_scan(sw__reactor_t *r, bool close_them, uint64_t *out, size_t max)
{
    if (r->idle_ms == 0) {
        return SW_EINVAL;
    }
    sw_loop_update_time(r->loop);
    scan_t s = {.now = sw__reactor_clock(r),
                .idle_ms = r->idle_ms,
                .close_them = close_them,
                .out = out,
                .max = max};
    sw__reactor_enter(r);
    sw__reactor_foreach(r, scan_one, &s);
    sw__reactor_leave(r);
    return s.found;
}

static void heartbeat_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    sw__reactor_t *r = arg;
    if (!r->stopping) {
        (void)sw__heartbeat_scan(r, true, NULL, 0);
    }
}

int sw__heartbeat_start(sw__reactor_t *r)
{
    const sw_server_options_t *o = &r->srv->o;
    if (o->heartbeat_idle_time <= 0) {
        return 0;
    }
    double idle = o->heartbeat_idle_time * 1000;
    r->idle_ms = idle >= 4e9 ? 4000000000u : (uint32_t)(idle < 1 ? 1 : idle);
    uint64_t every = (uint64_t)(o->heartbeat_check_interval * 1000);
    if (every == 0) {
        every = 1;
    }
    return sw_timer_tick(r->loop, every, heartbeat_cb, r, &r->heartbeat_timer);
}

/* ---- lingering closes ----------------------------------------------------------------------- */

/* A connection waiting for its worker's acknowledgement of the peer's end of stream
 * (SW__C_EOF): a worker that is alive acknowledges once it has run on_close, however long
 * that takes (as in Swoole). A worker that died may have taken the CLOSE with it; its
 * replacement gets it only if it was still in the channel. So once the worker is seen gone
 * (its pid replaced in the worker table, or no longer a process), the connection waits
 * max_wait_time more and then closes (no further on_close: the CLOSE was sent). */
static void eof_check(sw__reactor_t *r, sw__conn_t *c, sw__ext_t *e, uint64_t now)
{
    if (!e->close_deadline) {
        int32_t pid = c->worker >= 0 ? atomic_load(&r->srv->shm_workers[c->worker].pid) : 0;
        if (pid != e->eof_pid || (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH)) {
            e->close_deadline = now + (uint64_t)(r->srv->o.max_wait_time * 1000);
        }
        return;
    }
    if (e->close_deadline <= now) {
        SW_LOG_INFO(r->srv->log,
                    "session %llu: its worker ended before acknowledging the close: "
                    "closed",
                    (unsigned long long)c->session);
        sw__conn_eof_ack(r, c);
    }
}

static void linger_one(sw__reactor_t *r, sw__conn_t *c, void *arg)
{
    uint64_t now = *(uint64_t *)arg;
    sw__ext_t *e = c->io.data;
    if ((c->flags & SW__C_EOF) && e) {
        eof_check(r, c, e, now);
        return;
    }
    if ((c->flags & SW__C_CLOSING) && e && e->close_deadline <= now) {
        SW_LOG_INFO(r->srv->log, "session %llu: output not written %.3f s after close: reset",
                    (unsigned long long)c->session, r->srv->o.max_wait_time);
        sw__conn_free(r, c, true);
    }
}

static void linger_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)id;
    sw__reactor_t *r = arg;
    sw_loop_update_time(loop);
    uint64_t now = sw_loop_now(loop);
    sw__reactor_enter(r);
    sw__reactor_foreach(r, linger_one, &now);
    if (r->nlinger == 0 && r->neof == 0 && r->linger_timer) {
        (void)sw_timer_clear(loop, r->linger_timer);
        r->linger_timer = 0;
    }
    sw__reactor_leave(r);
}

void sw__linger_add(sw__reactor_t *r, sw__conn_t *c)
{
    (void)c;
    if (r->linger_timer) {
        return;
    }
    int rc = sw_timer_tick(r->loop, LINGER_CHECK_MS, linger_cb, r, &r->linger_timer);
    if (rc < 0) {
        SW_LOG_ERROR(r->srv->log, "reactor %d: cannot arm the close timer: %s", r->id,
                     sw_strerror(rc));
    }
}
