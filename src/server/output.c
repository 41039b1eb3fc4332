/*
 * Per-connection output: a queue of items, each a chain of bytes (sw_chain_t) or a range of an
 * open file, written in order.
 *
 * Corking. sw__out_send only appends and marks the connection dirty; the reactor writes every
 * dirty connection when the outermost dispatch returns (sw__reactor_leave) or, for sends made
 * outside a dispatch (a timer, a user fd, a posted call), at the end of the loop iteration (a
 * deferred pump). So all the sends one callback makes to one connection leave in one sendmsg
 * with up to 64 iovecs. A connection with 64 KiB corked is written at once.
 *
 * Limits and watermarks. Bytes in memory count against socket_buffer_size (a send that would
 * pass it fails and queues nothing); file ranges do not (they cost an open file, not memory).
 * Crossing the high watermark owes on_buffer_full once and sets SW__DIR_FULL in the session
 * directory, where other threads see it; falling back to the low watermark owes
 * on_buffer_empty and clears it.
 *
 * Files. A file range is written with sendfile(2) from the fd opened by sw_server_sendfile,
 * which the queue owns and closes when the range is done or the connection goes.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "core/log_int.h"
#include "server/server_int.h"
#include "swoole/error.h"

#define SENDFILE_MAX ((size_t)1 << 30)

static sw__out_t *item_new(int file_fd)
{
    sw__out_t *it = sw__calloc(1, sizeof(*it));
    if (!it) {
        return NULL;
    }
    it->file_fd = file_fd;
    if (file_fd < 0) {
        (void)sw_chain_init(&it->chain, SW__OUT_CHUNK, 0);
    }
    return it;
}

static void item_free(sw__out_t *it)
{
    if (it->file_fd >= 0) {
        close(it->file_fd);
    } else {
        sw_chain_close(&it->chain);
    }
    sw__free(it);
}

void sw__out_free(sw__ext_t *e)
{
    sw__out_t *it = e->out_head;
    while (it) {
        sw__out_t *next = it->next;
        item_free(it);
        it = next;
    }
    e->out_head = e->out_tail = NULL;
    e->out_bytes = 0;
}

static void push_item(sw__ext_t *e, sw__out_t *it)
{
    if (e->out_tail) {
        e->out_tail->next = it;
    } else {
        e->out_head = it;
    }
    e->out_tail = it;
}

void sw__out_mark_dirty(sw__reactor_t *r, sw__conn_t *c)
{
    if (c->flags & (SW__C_DIRTY | SW__C_WRITING)) {
        /* Already queued for a flush, or waiting for the socket (WRITE interest writes it). */
        return;
    }
    if (r->ndirty == r->dirty_cap) {
        size_t cap = r->dirty_cap ? r->dirty_cap * 2 : 64;
        sw__conn_t **d = sw__realloc(r->dirty, cap * sizeof(*d));
        if (!d) {
            /* No room to remember it: write now instead. */
            (void)sw__out_flush(r, c);
            return;
        }
        r->dirty = d;
        r->dirty_cap = cap;
    }
    c->flags |= SW__C_DIRTY;
    r->dirty[r->ndirty++] = c;
    sw__reactor_schedule(r);
}

static void watermarks(sw__reactor_t *r, sw__conn_t *c, const sw__ext_t *e)
{
    const sw_port_t *p = sw__conn_port(r, c);
    if (!(c->flags & SW__C_FULL) && e->out_bytes >= p->high_watermark) {
        c->flags |= SW__C_FULL;
        if (c->flags & SW__C_ACTIVE) {
            sw__session_set_flags(r->srv, c->session, SW__DIR_FULL, 0);
            sw__reactor_note(r, c->session, r->id, SW__N_FULL);
        }
    } else if ((c->flags & SW__C_FULL) && e->out_bytes <= p->low_watermark) {
        c->flags &= (uint16_t)~SW__C_FULL;
        if (c->flags & SW__C_ACTIVE) {
            sw__session_set_flags(r->srv, c->session, 0, SW__DIR_FULL);
            sw__reactor_note(r, c->session, r->id, SW__N_EMPTY);
        }
    }
}

int sw__out_send(sw__reactor_t *r, sw__conn_t *c, const void *data, size_t len)
{
    if (len == 0) {
        return 0;
    }
    const sw_port_t *p = sw__conn_port(r, c);
    size_t queued = sw__out_pending(c);
    if (len > p->eff.socket_buffer_size || queued > p->eff.socket_buffer_size - len) {
        return SW_EOVERFLOW_OUTPUT;
    }
    sw__ext_t *e = sw__ext_get(r, c);
    if (!e) {
        return SW_ENOMEM;
    }
    sw__out_t *it = e->out_tail;
    bool fresh = false;
    if (!it || it->file_fd >= 0) {
        it = item_new(-1);
        if (!it) {
            sw__ext_maybe_put(r, c);
            return SW_ENOMEM;
        }
        fresh = true;
    }
    int rc = sw_chain_append(&it->chain, data, len);
    if (rc < 0) {
        if (fresh) {
            item_free(it);
            sw__ext_maybe_put(r, c);
        }
        return rc;
    }
    if (fresh) {
        push_item(e, it);
    }
    e->out_bytes += len;
    atomic_fetch_add(&r->srv->shm->response_count, 1);
    watermarks(r, c, e);
    if (e->out_bytes >= SW__CORK_FLUSH_BYTES && !(c->flags & SW__C_WRITING)) {
        /* Enough corked: write now. A connection already in the dirty list stays there;
         * flushing it again at the end finds little or nothing to do. */
        (void)sw__out_flush(r, c);
        return 0;
    }
    sw__out_mark_dirty(r, c);
    return 0;
}

int sw__out_sendfile(sw__reactor_t *r, sw__conn_t *c, int file_fd, uint64_t off, uint64_t len)
{
    sw__ext_t *e = sw__ext_get(r, c);
    if (!e) {
        return SW_ENOMEM;
    }
    sw__out_t *it = item_new(file_fd);
    if (!it) {
        sw__ext_maybe_put(r, c);
        return SW_ENOMEM;
    }
    it->file_off = off;
    it->file_left = len;
    push_item(e, it);
    atomic_fetch_add(&r->srv->shm->response_count, 1);
    sw__out_mark_dirty(r, c);
    return 0;
}

/* Writes one bytes item as far as the socket takes it. Returns 1 when the item is done, 0 when
 * the socket is full, or a negative code. */
static int write_bytes(sw__reactor_t *r, sw__conn_t *c, sw__ext_t *e, sw__out_t *it)
{
    for (;;) {
        struct iovec iov[64];
        int n = sw_chain_peek(&it->chain, iov, 64);
        if (n <= 0) {
            return 1;
        }
        size_t total = 0;
        for (int i = 0; i < n; i++) {
            total += iov[i].iov_len;
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = SW_FAULT("write", SW_EPIPE);
        if (w == 0) {
            w = sendmsg(c->io.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w < 0) {
                w = -errno;
            }
        }
        if (w == SW_EINTR) {
            continue;
        }
        if (w == SW_EAGAIN || w == -EWOULDBLOCK) {
            return 0;
        }
        if (w < 0) {
            return (int)w;
        }
        (void)sw_chain_consume(&it->chain, (size_t)w);
        e->out_bytes -= (size_t)w;
        atomic_fetch_add(&r->srv->shm->send_bytes, (uint64_t)w);
        if ((size_t)w < total) {
            return 0;
        }
    }
}

static int write_file(sw__reactor_t *r, sw__conn_t *c, sw__out_t *it)
{
    while (it->file_left > 0) {
        off_t off = (off_t)it->file_off;
        size_t n = it->file_left > SENDFILE_MAX ? SENDFILE_MAX : (size_t)it->file_left;
        ssize_t w = sendfile(c->io.fd, it->file_fd, &off, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return 0;
            }
            return -errno;
        }
        if (w == 0) {
            /* The file shrank under us: what was promised cannot be sent. */
            return SW_EIO;
        }
        it->file_off += (uint64_t)w;
        it->file_left -= (uint64_t)w;
        atomic_fetch_add(&r->srv->shm->send_bytes, (uint64_t)w);
    }
    return 1;
}

int sw__out_flush(sw__reactor_t *r, sw__conn_t *c)
{
    sw__ext_t *e = c->io.data;
    c->flags &= (uint16_t)~SW__C_DIRTY;
    if (!e) {
        return 0;
    }
    int rc = 1;
    while (e->out_head) {
        sw__out_t *it = e->out_head;
        rc = it->file_fd >= 0 ? write_file(r, c, it) : write_bytes(r, c, e, it);
        if (rc <= 0) {
            break;
        }
        e->out_head = it->next;
        if (!e->out_head) {
            e->out_tail = NULL;
        }
        item_free(it);
    }
    if (rc < 0) {
        /* The peer is gone: what is queued can never arrive. */
        if (c->flags & SW__C_CLOSING) {
            sw__conn_free(r, c, true);
        } else {
            if (rc != SW_EPIPE && rc != SW_ECONNRESET) {
                SW_LOG_INFO(r->srv->log, "session %llu: write: %s", (unsigned long long)c->session,
                            sw_strerror(rc));
            }
            sw__conn_close(r, c, true, r->id);
        }
        return rc;
    }
    bool pending = e->out_head != NULL;
    if (pending != !!(c->flags & SW__C_WRITING)) {
        if (pending) {
            c->flags |= SW__C_WRITING;
        } else {
            c->flags &= (uint16_t)~SW__C_WRITING;
        }
        sw__conn_update_events(r, c);
    }
    watermarks(r, c, e);
    if (!pending) {
        if (c->flags & SW__C_CLOSING) {
            sw__conn_free(r, c, false);
            return 0;
        }
        sw__ext_maybe_put(r, c);
    }
    return 0;
}

void sw__out_flush_dirty(sw__reactor_t *r)
{
    /* Flushing never adds to the list (a connection left with output gets WRITE interest). */
    for (size_t i = 0; i < r->ndirty; i++) {
        sw__conn_t *c = r->dirty[i];
        if ((c->flags & SW__C_DIRTY) && (c->flags & SW__C_OPEN)) {
            (void)sw__out_flush(r, c);
        }
    }
    r->ndirty = 0;
}

int sw__out_sendwait(sw__reactor_t *r, sw__conn_t *c, const void *data, size_t len, int timeout_ms)
{
    uint64_t sid = c->session;
    int rc = sw__out_send(r, c, data, len);
    if (rc < 0) {
        return rc;
    }
    sw_loop_update_time(r->loop);
    uint64_t deadline = sw_loop_now(r->loop) + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
    for (;;) {
        rc = sw__out_flush(r, c);
        if (rc < 0 || c->session != sid || !(c->flags & SW__C_ACTIVE)) {
            return rc < 0 ? rc : SW_ESESSION;
        }
        if (sw__out_empty(c)) {
            return 0;
        }
        int wait = -1;
        if (timeout_ms >= 0) {
            sw_loop_update_time(r->loop);
            uint64_t now = sw_loop_now(r->loop);
            if (now >= deadline) {
                return SW_ETIMEDOUT;
            }
            wait = (int)(deadline - now);
        }
        struct pollfd pfd = {.fd = c->io.fd, .events = POLLOUT};
        int n = poll(&pfd, 1, wait);
        if (n < 0 && errno != EINTR) {
            return -errno;
        }
    }
}
