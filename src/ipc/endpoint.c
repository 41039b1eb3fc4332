/*
 * Endpoints: options, watchers, the deferred callback, lifetime, and the small accessors.
 *
 * Lifetime: an endpoint may be destroyed from inside its own callbacks. Every entry that can
 * run a callback brackets it with enter()/leave(); destroy inside that bracket (or while a
 * sw_loop_defer callback is pending, which cannot be cancelled) tears everything down at once
 * (watchers, timer, queue, buffers, the channel's count) and leaves only the struct, freed
 * by the outermost leave() or by the deferred callback.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "ipc/ipc_int.h"
#include "swoole/timer.h"

void sw__ipc_endpoint_options_init(sw_ipc_endpoint_options_t *opts)
{
    if (opts) {
        memset(opts, 0, sizeof(*opts));
        opts->auto_cork = -1;
    }
}

bool sw__ipc_abnormal_log_due(uint64_t count)
{
    /* The first 16, then at powers of two: a flood cannot flood the log. */
    return count <= 16 || (count & (count - 1)) == 0;
}

static void io_cb(sw_io_t *io, int events, void *arg);
static void wio_cb(sw_io_t *io, int events, void *arg);

static int resolve(sw_ipc_endpoint_t *ep, const sw_ipc_endpoint_options_t *o)
{
    ep->sender_id = o->sender_id;
    ep->on_message = o->on_message;
    ep->on_full = o->on_full;
    ep->on_drained = o->on_drained;
    ep->on_batch = o->on_batch;
    ep->arg = o->arg;
    ep->max_message = o->max_message ? o->max_message : SW_IPC_MESSAGE_DEFAULT;
    if (ep->max_message > SW_IPC_MESSAGE_MAX) {
        return SW_EINVAL;
    }
    ep->max_reassembly = o->max_reassembly;
    if (ep->max_reassembly == 0) {
        ep->max_reassembly = ep->max_message > SIZE_MAX / 4 ? SIZE_MAX : ep->max_message * 4;
    }
    ep->queue_max = o->queue_max ? o->queue_max : SW_IPC_QUEUE_DEFAULT;
    ep->high = o->high_watermark ? o->high_watermark : ep->queue_max / 2;
    ep->low = o->low_watermark ? o->low_watermark : ep->high / 4;
    if (ep->high > ep->queue_max || ep->low >= ep->high) {
        return SW_EINVAL;
    }
    ep->recv_batch = o->recv_batch ? o->recv_batch : 16;
    if (ep->recv_batch > 64) {
        return SW_EINVAL;
    }
    ep->recv_max = o->recv_max ? o->recv_max : 256;
    ep->auto_cork = o->auto_cork != 0;
    ep->timeout_ms = o->timeout_ms ? o->timeout_ms : 5000;
    if (ep->timeout_ms < -1) {
        return SW_EINVAL;
    }
    ep->log = o->log;
    snprintf(ep->name, sizeof(ep->name), "%s", o->name ? o->name : "ipc");
    return 0;
}

int sw__ipc_endpoint_create(sw_ipc_endpoint_t **out, sw_ipc_channel_t *ch, int side,
                            sw_loop_t *loop, const sw_ipc_endpoint_options_t *opts)
{
    if (!out || !ch || (side != 0 && side != 1)) {
        return SW_EINVAL;
    }
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    if (opts) {
        o = *opts;
    }
    if (ch->kind == SW_IPC_SOCKET && ch->fd[side] < 0) {
        return SW_EINVAL;
    }
    sw_ipc_endpoint_t *ep = sw__calloc(1, sizeof(*ep));
    if (!ep) {
        return SW_ENOMEM;
    }
    int rc = resolve(ep, &o);
    if (rc) {
        sw__free(ep);
        return rc;
    }
    /* Memory kind: one receiver per side (the queue has one consumer). */
    if (o.on_message && atomic_fetch_add(&ch->receivers[side], 1) > 0 &&
        ch->kind == SW_IPC_MEMORY) {
        ch->receivers[side]--;
        sw__free(ep);
        return SW_EBUSY;
    }
    ep->ch = ch;
    ep->side = side;
    ep->loop = loop;
    if (ch->kind == SW_IPC_SOCKET) {
        ep->rfd = ep->wfd = ch->fd[side];
        /* The kernel refuses a datagram above sk_sndbuf - 32 (EMSGSIZE); stay well under. */
        size_t cap = ch->max_datagram;
        if (ch->sndbuf[side] && ch->sndbuf[side] / 2 < cap) {
            cap = ch->sndbuf[side] / 2;
        }
        ep->chunk_max = cap < SW_IPC_DATAGRAM_MIN ? SW_IPC_DATAGRAM_MIN : cap;
    } else {
        ep->rfd = ch->mq[side].data_fd;
        ep->wfd = ch->mq[1 - side].space_fd;
        ep->chunk_max = ch->max_datagram;
    }
    ep->chunk = ep->chunk_max;
    ep->stats.chunk = ep->chunk;
    ep->recv_on = ep->on_message != NULL;
    if (loop) {
        rc = sw_io_init(loop, &ep->io, ep->rfd, io_cb, ep);
        if (rc == 0 && ch->kind == SW_IPC_MEMORY) {
            rc = sw_io_init(loop, &ep->wio, ep->wfd, wio_cb, ep);
        }
        if (rc == 0 && ep->recv_on) {
            rc = sw_io_start(&ep->io, SW_EVENT_READ);
            ep->io_events = SW_EVENT_READ;
        }
        if (rc) {
            if (o.on_message) {
                ch->receivers[side]--;
            }
            sw__free(ep);
            return rc;
        }
    } else {
        ep->auto_cork = false;
    }
    ch->endpoints[side]++;
    *out = ep;
    return 0;
}

/* Tears down everything but the struct itself. Returns the whole messages dropped. */
static int teardown(sw_ipc_endpoint_t *ep)
{
    if (ep->loop) {
        sw_io_stop(&ep->io);
        if (ep->ch->kind == SW_IPC_MEMORY) {
            sw_io_stop(&ep->wio);
        }
        if (ep->nobufs_wait) {
            sw_timer_clear(ep->loop, ep->nobufs_timer);
            ep->nobufs_wait = false;
        }
    }
    int dropped = (int)sw__ipc_queue_drop(ep);
    sw__ipc_recv_free(ep);
    ep->ch->endpoints[ep->side]--;
    if (ep->on_message) {
        ep->ch->receivers[ep->side]--;
    }
    ep->dead = true;
    return dropped;
}

int sw__ipc_endpoint_destroy(sw_ipc_endpoint_t *ep)
{
    if (!ep || ep->dead) {
        return SW_EINVAL;
    }
    int dropped = teardown(ep);
    if (ep->dispatching == 0 && !ep->deferred) {
        sw__free(ep);
    }
    return dropped;
}

/* Brackets code that may run callbacks; leave() returns true when the endpoint is gone. */
static void enter(sw_ipc_endpoint_t *ep)
{
    ep->dispatching++;
}

static bool leave(sw_ipc_endpoint_t *ep)
{
    if (--ep->dispatching == 0 && ep->dead) {
        if (!ep->deferred) {
            sw__free(ep);
        }
        return true;
    }
    return ep->dead;
}

void sw__ipc_update_watchers(sw_ipc_endpoint_t *ep)
{
    if (!ep->loop || ep->dead) {
        return;
    }
    bool memory = ep->ch->kind == SW_IPC_MEMORY;
    int want = ep->recv_on ? SW_EVENT_READ : 0;
    if (!memory && ep->want_write && !ep->nobufs_wait) {
        want |= SW_EVENT_WRITE;
    }
    if (want != ep->io_events) {
        int rc = want ? sw_io_start(&ep->io, want) : sw_io_stop(&ep->io);
        if (rc == 0) {
            ep->io_events = want;
        } else {
            SW_LOG_ERROR(ep->log, "%s: cannot watch the IPC fd %d: %s", ep->name, ep->rfd,
                         sw_strerror(rc));
        }
    }
    if (memory) {
        bool w = ep->want_write;
        if (w != ep->wio_on) {
            int rc = w ? sw_io_start(&ep->wio, SW_EVENT_READ) : sw_io_stop(&ep->wio);
            if (rc == 0) {
                ep->wio_on = w;
            } else {
                SW_LOG_ERROR(ep->log, "%s: cannot watch the IPC fd %d: %s", ep->name, ep->wfd,
                             sw_strerror(rc));
            }
        }
    }
}

static void deferred_cb(sw_loop_t *loop, void *arg)
{
    (void)loop;
    sw_ipc_endpoint_t *ep = arg;
    ep->deferred = false;
    if (ep->dead) {
        if (ep->dispatching == 0) {
            sw__free(ep);
        }
        return;
    }
    enter(ep);
    if (ep->defer_flush) {
        ep->defer_flush = false;
        sw__ipc_uncork(ep);
    }
    if (!ep->dead && ep->defer_recv) {
        ep->defer_recv = false;
        sw__ipc_recv_some(ep, ep->recv_max);
        if (!ep->dead && ep->recv_on && sw__ipc_recv_pending(ep)) {
            ep->defer_recv = true; /* more than recv_max were waiting: next iteration */
            sw__ipc_schedule(ep);
        }
    }
    leave(ep);
}

void sw__ipc_schedule(sw_ipc_endpoint_t *ep)
{
    if (ep->deferred || !ep->loop) {
        return;
    }
    if (sw_loop_defer(ep->loop, deferred_cb, ep) == 0) {
        ep->deferred = true;
        return;
    }
    /* Out of memory for the defer: do the work now instead. */
    if (ep->defer_flush) {
        ep->defer_flush = false;
        sw__ipc_uncork(ep);
    }
    if (ep->defer_recv) {
        ep->defer_recv = false;
        sw__ipc_recv_some(ep, ep->recv_max);
    }
}

static void io_cb(sw_io_t *io, int events, void *arg)
{
    (void)io;
    sw_ipc_endpoint_t *ep = arg;
    enter(ep);
    if ((events & (SW_EVENT_READ | SW_EVENT_ERROR | SW_EVENT_HUP)) && ep->recv_on) {
        int rc = sw__ipc_recv_some(ep, ep->recv_max);
        if (rc < 0 && !ep->dead) {
            /* A socketpair has no transient read errors besides EAGAIN and EINTR: stop
             * watching instead of spinning on a descriptor that keeps failing. */
            SW_LOG_ERROR(ep->log, "%s: IPC receive failed, receiving stopped: %s", ep->name,
                         sw_strerror(rc));
            ep->recv_on = false;
            sw__ipc_update_watchers(ep);
        }
        if (!ep->dead && ep->recv_on && sw__ipc_recv_pending(ep)) {
            /* recv_max ended the turn inside a batch already read: the socket may be empty
             * now, so no event would come for the rest; finish it after this iteration. */
            ep->defer_recv = true;
            sw__ipc_schedule(ep);
        }
    }
    if (!ep->dead && (events & SW_EVENT_WRITE)) {
        sw__ipc_on_writable(ep);
    }
    leave(ep);
}

static void wio_cb(sw_io_t *io, int events, void *arg)
{
    (void)io;
    (void)events;
    sw_ipc_endpoint_t *ep = arg;
    enter(ep);
    sw__ipc_on_writable(ep);
    leave(ep);
}

/* ---- public entries that wrap send.c / recv.c with the lifetime bracket ------------------ */

int sw__ipc_recv_stop(sw_ipc_endpoint_t *ep)
{
    if (!ep || ep->dead || !ep->on_message || !ep->loop) {
        return SW_EINVAL;
    }
    ep->recv_on = false;
    sw__ipc_update_watchers(ep);
    return 0;
}

int sw__ipc_recv_start(sw_ipc_endpoint_t *ep)
{
    if (!ep || ep->dead || !ep->on_message || !ep->loop) {
        return SW_EINVAL;
    }
    if (!ep->recv_on) {
        ep->recv_on = true;
        sw__ipc_update_watchers(ep);
        if (sw__ipc_recv_pending(ep)) {
            ep->defer_recv = true;
            sw__ipc_schedule(ep);
        }
    }
    return 0;
}

int sw__ipc_recv_wait(sw_ipc_endpoint_t *ep, int timeout_ms)
{
    if (!ep || ep->dead || !ep->on_message || timeout_ms < -1) {
        return SW_EINVAL;
    }
    uint64_t start = 0;
    if (timeout_ms > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        start = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    }
    enter(ep);
    bool saved = ep->recv_on;
    ep->recv_on = true; /* a stopped loop endpoint may still be read here */
    int rc;
    for (;;) {
        rc = sw__ipc_recv_some(ep, ep->recv_max);
        if (rc != 0 || ep->dead) {
            break;
        }
        int wait = timeout_ms;
        if (timeout_ms > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
            wait = now - start >= (uint64_t)timeout_ms ? 0 : (int)(timeout_ms - (now - start));
        }
        if (wait == 0) {
            rc = SW_ETIMEDOUT; /* what is left of a batch waits for the next call */
            break;
        }
        if (sw__ipc_recv_pending(ep)) {
            continue; /* the rest of a batch already read: no need to wait for the fd */
        }
        struct pollfd p = {.fd = ep->rfd, .events = POLLIN};
        int n = poll(&p, 1, wait);
        if (n < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
        if (n == 0 && timeout_ms == 0) {
            rc = SW_ETIMEDOUT;
            break;
        }
    }
    if (!ep->dead) {
        ep->recv_on = saved;
    }
    leave(ep);
    return rc;
}

int sw__ipc_send(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *hdr, const void *data, size_t len)
{
    if (!data && len > 0) {
        return SW_EINVAL;
    }
    struct iovec v = {.iov_base = (void *)(uintptr_t)data, .iov_len = len};
    return sw__ipc_sendv(ep, hdr, &v, len ? 1 : 0);
}

size_t sw__ipc_queued(const sw_ipc_endpoint_t *ep)
{
    return ep && !ep->dead ? ep->queued : 0;
}

int sw__ipc_discard(sw_ipc_endpoint_t *ep, uint16_t sender)
{
    if (!ep || ep->dead) {
        return SW_EINVAL;
    }
    for (size_t i = 0; i < ep->npartials; i++) {
        if (ep->partials[i].hdr.sender == sender) {
            ep->reassembly -= ep->partials[i].hdr.length;
            sw__free(ep->partials[i].buf);
            ep->partials[i] = ep->partials[--ep->npartials];
            ep->stats.discarded++;
            return 1;
        }
    }
    return 0;
}

int sw__ipc_stats(const sw_ipc_endpoint_t *ep, sw_ipc_stats_t *out)
{
    if (!ep || !out || ep->dead) {
        return SW_EINVAL;
    }
    *out = ep->stats;
    out->queued = ep->queued;
    out->reassembly = ep->reassembly;
    out->chunk = ep->chunk;
    return 0;
}

int sw__ipc_fd(const sw_ipc_endpoint_t *ep)
{
    return ep && !ep->dead ? ep->rfd : -1;
}

void sw__ipc_set_data(sw_ipc_endpoint_t *ep, void *data)
{
    if (ep) {
        ep->data = data;
    }
}

void *sw__ipc_get_data(const sw_ipc_endpoint_t *ep)
{
    return ep ? ep->data : NULL;
}

void sw__ipc_enter(sw_ipc_endpoint_t *ep)
{
    enter(ep);
}

bool sw__ipc_leave(sw_ipc_endpoint_t *ep)
{
    return leave(ep);
}
