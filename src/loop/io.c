/*
 * fd watchers and the fd table: registration with the backend, the stale-event guard and the
 * delivery of events to watchers and write queues.
 *
 * The interest registered for an fd is the union of its watcher's events and WRITE while its
 * write queue holds bytes. sw__loop_fd_sync() compares that with what the backend has and
 * issues one add, mod or del only when they differ, so starting a watcher with unchanged
 * events, or a write that finishes at once, costs no system call.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "core/alloc.h"
#include "loop/loop_int.h"
#include "swoole/error.h"

/* First size of the fd table; it doubles past it. */
#define SW_FD_TABLE_MIN 64u

int sw__loop_fd_reserve(sw_loop_t *loop, int fd)
{
    if ((uint32_t)fd < loop->nfds) {
        return 0;
    }
    /* Grow to the fd plus an eighth, in whole pages of entries: a server process holding n
     * connections keeps a table of about n entries rather than up to 2n, which matters for
     * idle-connection memory (24 bytes an entry). An eighth still makes the copying amortised
     * O(1), and tables from 1 MiB up grow by mremap without a copy at all. */
    size_t need = (size_t)fd + 1;
    size_t n = need + need / 8;
    size_t per_page = 4096 / sizeof(sw__fd_t);
    if (n < SW_FD_TABLE_MIN) {
        n = SW_FD_TABLE_MIN;
    }
    n = (n + per_page - 1) / per_page * per_page;
    sw__fd_t *fds = sw__big_realloc(loop->fds, (size_t)loop->nfds * sizeof(*fds), n * sizeof(*fds));
    if (!fds) {
        return SW_ENOMEM;
    }
    memset(fds + loop->nfds, 0, (n - loop->nfds) * sizeof(*fds));
    loop->fds = fds;
    loop->nfds = (uint32_t)n;
    return 0;
}

/* Removes `fd` from the backend whatever its state. The kernel may have forgotten it already
 * (the fd was closed), so errors are ignored. */
static void fd_unregister(sw_loop_t *loop, sw__fd_t *slot, int fd)
{
    if (slot->registered) {
        loop->ops->del(loop->backend, fd, slot->reg_events);
        slot->registered = 0;
        slot->reg_events = 0;
        slot->gen++;
    }
}

int sw__loop_fd_sync(sw_loop_t *loop, int fd)
{
    sw__fd_t *slot = &loop->fds[fd];
    int wq_pending = slot->wq != NULL && slot->wq->error == 0;
    if (!slot->io && !wq_pending) {
        fd_unregister(loop, slot, fd);
        return 0;
    }
    int want = (slot->io ? slot->io->events : 0) | (wq_pending ? SW_EVENT_WRITE : 0);
    if (!slot->registered) {
        uint32_t gen = slot->gen + 1;
        int r = loop->ops->add(loop->backend, fd, want, sw__loop_udata(fd, gen));
        if (r < 0) {
            return r;
        }
        slot->gen = gen;
        slot->registered = 1;
        slot->reg_events = (uint8_t)want;
        return 0;
    }
    if (want == slot->reg_events) {
        return 0;
    }
    int r =
        loop->ops->mod(loop->backend, fd, slot->reg_events, want, sw__loop_udata(fd, slot->gen));
    if (r < 0) {
        return r;
    }
    slot->reg_events = (uint8_t)want;
    return 0;
}

void sw__loop_dispatch(sw_loop_t *loop, uint64_t udata, int events)
{
    uint32_t fd = (uint32_t)udata;
    if (fd >= loop->nfds || loop->fds[fd].gen != (uint32_t)(udata >> 32)) {
        return; /* stale: the fd was stopped, closed or registered anew since the wait */
    }
    int failed = 0;
    sw__wq_t *wq = loop->fds[fd].wq;
    if (wq && wq->error == 0 && (events & (SW_EVENT_WRITE | SW_EVENT_ERROR | SW_EVENT_HUP)) != 0) {
        /* The queue drains before the watcher runs, so what the watcher writes itself comes
         * after the queued bytes. No user code runs in between: `loop->fds` stays put. */
        failed = sw__write_drain(loop, (int)fd);
    }
    const sw__fd_t *slot = &loop->fds[fd];
    sw_io_t *io = slot->io;
    if (!io) {
        return;
    }
    int ev = events & (io->events | SW_EVENT_ERROR | SW_EVENT_HUP);
    if (slot->wq && slot->wq->error == 0) {
        ev &= ~SW_EVENT_WRITE; /* bytes are still queued: the fd is not free for the watcher */
    }
    if (failed) {
        ev |= SW_EVENT_ERROR;
    }
    if (ev) {
        io->cb(io, ev, io->arg);
    }
}

int sw_io_init(sw_loop_t *loop, sw_io_t *io, int fd, sw_io_cb cb, void *arg)
{
    if (!loop || !io || !cb || fd < 0) {
        return SW_EINVAL;
    }
    if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
        return SW_EBADF;
    }
    io->loop = loop;
    io->cb = cb;
    io->arg = arg;
    io->fd = fd;
    io->events = 0;
    io->flags = 0;
    return 0;
}

int sw_io_start(sw_io_t *io, int events)
{
    if (!io || !io->loop || (events & ~(SW_EVENT_READ | SW_EVENT_WRITE)) != 0) {
        return SW_EINVAL;
    }
    sw_loop_t *loop = io->loop;
    int fd = io->fd;
    if (io->flags & SW_IO_ACTIVE) {
        if (events == io->events) {
            return 0;
        }
        int old = io->events;
        io->events = events;
        int r = sw__loop_fd_sync(loop, fd);
        if (r < 0) {
            io->events = old;
        }
        return r;
    }
    if (fd < 0) {
        return SW_EINVAL;
    }
    int r = sw__loop_fd_reserve(loop, fd);
    if (r < 0) {
        return r;
    }
    sw__fd_t *slot = &loop->fds[fd];
    if (slot->io) {
        return SW_EEXIST;
    }
    int old = io->events;
    slot->io = io;
    io->events = events;
    r = sw__loop_fd_sync(loop, fd);
    if (r < 0) {
        slot->io = NULL;
        io->events = old;
        return r;
    }
    io->flags |= SW_IO_ACTIVE;
    if (!(io->flags & SW_IO_INTERNAL)) {
        loop->nio_active++;
    }
    return 0;
}

int sw__io_start_internal(sw_loop_t *loop, sw_io_t *io, int fd, sw_io_cb cb, void *arg)
{
    int r = sw_io_init(loop, io, fd, cb, arg);
    if (r < 0) {
        return r;
    }
    io->flags = SW_IO_INTERNAL;
    return sw_io_start(io, SW_EVENT_READ);
}

int sw_io_stop(sw_io_t *io)
{
    if (!io || !io->loop) {
        return SW_EINVAL;
    }
    if (!(io->flags & SW_IO_ACTIVE)) {
        return 0;
    }
    sw_loop_t *loop = io->loop;
    int fd = io->fd;
    io->flags &= ~SW_IO_ACTIVE;
    if (!(io->flags & SW_IO_INTERNAL)) {
        loop->nio_active--;
    }
    sw__fd_t *slot = &loop->fds[fd];
    if (slot->io != io) {
        return 0;
    }
    slot->io = NULL;
    if (sw__loop_fd_sync(loop, fd) < 0) {
        /* Only a mod can fail here (a write queue keeps the fd registered): the fd is most
         * likely closed. Take it out of the backend so that it cannot spin the loop; the
         * queued bytes can never leave, so they end as a failed write. */
        fd_unregister(loop, slot, fd);
        if (slot->wq && slot->wq->error == 0) {
            slot->wq->error = SW_EBADF;
            sw_chain_close(&slot->wq->chain);
            loop->nwrite_pending--;
        }
    }
    return 0;
}

int sw_io_is_active(const sw_io_t *io)
{
    return io && (io->flags & SW_IO_ACTIVE) ? 1 : 0;
}
