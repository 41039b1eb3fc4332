/*
 * Buffered writes (Swoole's swoole_event_write): write now as far as the fd takes, queue the
 * rest in a chain, and drain the chain with writev() when the fd becomes writable.
 *
 * The fast path, an empty queue and an fd that takes everything, is one write() and no other
 * system call: the fd is registered for WRITE only while bytes are queued.
 */
#include <errno.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "core/log_int.h"
#include "loop/loop_int.h"
#include "swoole/error.h"

/* Queues `len` bytes for an fd that has no queue yet and registers it for WRITE. */
static int queue_new(sw_loop_t *loop, int fd, const char *data, size_t len)
{
    int r = sw__loop_fd_reserve(loop, fd);
    if (r < 0) {
        return r;
    }
    sw__wq_t *wq = sw__malloc(sizeof(*wq));
    if (!wq) {
        return SW_ENOMEM;
    }
    wq->error = 0;
    sw_chain_init(&wq->chain, 0, loop->write_queue_max);
    r = sw_chain_append(&wq->chain, data, len);
    if (r == 0) {
        loop->fds[fd].wq = wq;
        loop->nwrite_pending++;
        r = sw__loop_fd_sync(loop, fd);
        if (r < 0) {
            loop->fds[fd].wq = NULL;
            loop->nwrite_pending--;
        }
    }
    if (r < 0) {
        sw_chain_close(&wq->chain);
        sw__free(wq);
    }
    return r;
}

int sw_loop_write(sw_loop_t *loop, int fd, const void *data, size_t len)
{
    if (!loop || fd < 0 || (!data && len > 0)) {
        return SW_EINVAL;
    }
    sw__wq_t *wq = (uint32_t)fd < loop->nfds ? loop->fds[fd].wq : NULL;
    if (wq) {
        if (wq->error) {
            return wq->error;
        }
        if (len > loop->write_queue_max - sw_chain_length(&wq->chain)) {
            return SW_EOVERFLOW_OUTPUT;
        }
        return len ? sw_chain_append(&wq->chain, data, len) : 0;
    }
    if (len > loop->write_queue_max) {
        return SW_EOVERFLOW_OUTPUT;
    }
    if (len == 0) {
        return 0;
    }
    int f = SW_FAULT("write", SW_EPIPE);
    if (f) {
        return f;
    }
    ssize_t n;
    do {
        n = write(fd, data, len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return -errno;
        }
        n = 0;
    }
    if ((size_t)n == len) {
        return 0;
    }
    return queue_new(loop, fd, (const char *)data + n, len - (size_t)n);
}

int sw__write_drain(sw_loop_t *loop, int fd)
{
    sw__wq_t *wq = loop->fds[fd].wq;
    ssize_t r = SW_FAULT("write", SW_EPIPE);
    if (r == 0) {
        r = sw_chain_write(&wq->chain, fd);
    }
    if (r == SW_EAGAIN) {
        return 0;
    }
    if (r >= 0 && sw_chain_length(&wq->chain) > 0) {
        return 0;
    }
    loop->nwrite_pending--;
    if (r < 0) {
        SW_LOG_NOTICE(loop->log, "loop: background write to fd %d failed, %zu bytes dropped: %s",
                      fd, sw_chain_length(&wq->chain), sw_strerror((int)r));
        wq->error = (int)r;
        sw_chain_close(&wq->chain);
    } else {
        sw_chain_close(&wq->chain);
        sw__free(wq);
        loop->fds[fd].wq = NULL;
    }
    if (sw__loop_fd_sync(loop, fd) < 0) {
        /* WRITE could not be taken out of the interest (the fd was closed under us). Leave
         * the fd registered: the watcher, if any, sees the error and stops it. */
        SW_LOG_NOTICE(loop->log, "loop: fd %d: cannot update its events after a write", fd);
    }
    return r < 0;
}

size_t sw_loop_write_pending(const sw_loop_t *loop, int fd)
{
    if (!loop || fd < 0 || (uint32_t)fd >= loop->nfds) {
        return 0;
    }
    const sw__wq_t *wq = loop->fds[fd].wq;
    return wq && wq->error == 0 ? sw_chain_length(&wq->chain) : 0;
}

int sw_loop_write_error(const sw_loop_t *loop, int fd)
{
    if (!loop || fd < 0) {
        return SW_EINVAL;
    }
    if ((uint32_t)fd >= loop->nfds || !loop->fds[fd].wq) {
        return 0;
    }
    return loop->fds[fd].wq->error;
}

size_t sw_loop_write_cancel(sw_loop_t *loop, int fd)
{
    if (!loop || fd < 0 || (uint32_t)fd >= loop->nfds || !loop->fds[fd].wq) {
        return 0;
    }
    sw__wq_t *wq = loop->fds[fd].wq;
    size_t dropped = 0;
    if (wq->error == 0) {
        dropped = sw_chain_length(&wq->chain);
        loop->nwrite_pending--;
    }
    sw_chain_close(&wq->chain);
    sw__free(wq);
    loop->fds[fd].wq = NULL;
    if (sw__loop_fd_sync(loop, fd) < 0) {
        /* A watcher is still started and the mod dropping WRITE failed: the fd is closed.
         * The loop keeps WRITE in the interest; the watcher sees the error and stops. */
        SW_LOG_NOTICE(loop->log, "loop: fd %d: cannot update its events after a cancel", fd);
    }
    return dropped;
}

void sw__write_free_all(sw_loop_t *loop)
{
    for (uint32_t fd = 0; fd < loop->nfds; fd++) {
        sw__wq_t *wq = loop->fds[fd].wq;
        if (wq) {
            sw_chain_close(&wq->chain);
            sw__free(wq);
            loop->fds[fd].wq = NULL;
        }
    }
}
