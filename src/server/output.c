/*
 * Per-connection output: a queue of items, each a chain of bytes (sw_chain_t), a span of the
 * reactor's cork buffer, or a range of an open file, written in order.
 *
 * Corking. sw__out_send only appends and marks the connection dirty; the reactor writes every
 * dirty connection when the outermost dispatch returns (sw__reactor_leave) or, for sends made
 * outside a dispatch (a timer, a user fd, a posted call), at the end of the loop iteration (a
 * deferred pump). So all the sends one callback makes to one connection leave in one sendmsg
 * with up to 64 iovecs. A connection with 64 KiB corked is written at once.
 *
 * The cork buffer. Most sends go to a connection with nothing queued, and the socket takes
 * all of it at the flush. Those bytes are copied into the reactor's cork buffer (64 KiB, bump
 * allocated) instead of a chain of heap chunks: the connection's queue gets its state block's
 * own item (file_fd SW__OUT_CORK) naming the span, further sends extend the span while it is
 * the last one in the buffer, and the flush writes it with send(2) (sendmsg when chain items
 * follow). Only when the socket does not take everything is the rest copied into a chain of
 * the connection's own ("spilled"), so a busy loop allocates nothing per message. The span is
 * always the head of its queue (it is only made for an empty queue), so every later send,
 * chain or file, is written after it: ordering is that of the calls. Bytes that do not fit
 * the buffer, and sends to a connection that already has a queue, take the chain path. The
 * buffer is reused from its start once no span is left in it; a span whose spill failed for
 * want of memory stays until written (the buffer then fills up behind it and sends take the
 * chain path meanwhile). A send of SW__CORK_FLUSH_BYTES or more to an empty queue is written
 * at once from the caller's memory (it would force a flush anyway) and only the rest queued.
 *
 * Limits and watermarks. Bytes in memory (cork spans included) count against
 * socket_buffer_size (a send that would pass it fails and queues nothing); file ranges do not
 * (they cost an open file, not memory). Crossing the high watermark owes on_buffer_full once
 * and sets SW__DIR_FULL in the session directory, where other threads see it; falling back to
 * the low watermark owes on_buffer_empty and clears it.
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
#define SEND_FLAGS   (MSG_NOSIGNAL | MSG_DONTWAIT)

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

/* The cork span of `e` is written, spilled or dropped: the buffer is reused once none is left. */
static void cork_release(sw__ext_t *e)
{
    sw__reactor_t *r = e->cork_r;
    e->cork.file_fd = -1;
    e->cork.file_left = 0;
    if (--r->cork_live == 0) {
        r->cork_used = 0;
    }
}

/* Frees an item taken off the queue of `e` (the cork item is part of `e`). */
static void item_free(sw__ext_t *e, sw__out_t *it)
{
    if (it == &e->cork) {
        cork_release(e);
    } else if (it->file_fd >= 0) {
        close(it->file_fd);
        sw__free(it);
    } else {
        sw_chain_close(&it->chain);
        sw__free(it);
    }
}

void sw__out_free(sw__ext_t *e)
{
    sw__out_t *it = e->out_head;
    while (it) {
        sw__out_t *next = it->next;
        item_free(e, it);
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

static void pop_item(sw__ext_t *e)
{
    sw__out_t *it = e->out_head;
    e->out_head = it->next;
    if (!e->out_head) {
        e->out_tail = NULL;
    }
    item_free(e, it);
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

static void watermark_crossed(sw__reactor_t *r, sw__conn_t *c)
{
    if (!(c->flags & SW__C_FULL)) {
        c->flags |= SW__C_FULL;
        if (c->flags & SW__C_ACTIVE) {
            sw__session_set_flags(r->srv, c->session, SW__DIR_FULL, 0);
            sw__reactor_note(r, c->session, r->id, SW__N_FULL);
        }
    } else {
        c->flags &= (uint16_t)~SW__C_FULL;
        if (c->flags & SW__C_ACTIVE) {
            sw__session_set_flags(r->srv, c->session, 0, SW__DIR_FULL);
            sw__reactor_note(r, c->session, r->id, SW__N_EMPTY);
        }
    }
}

/* Crossing the high watermark upwards, or the low one downwards, owes a callback. */
static inline void watermarks(sw__reactor_t *r, sw__conn_t *c, const sw__ext_t *e)
{
    const sw_port_t *p = sw__conn_port(r, c);
    if (!(c->flags & SW__C_FULL) ? e->out_bytes >= p->high_watermark
                                 : e->out_bytes <= p->low_watermark) {
        watermark_crossed(r, c);
    }
}

/* The connection's socket failed with `rc`: what is queued can never arrive. */
static void write_failed(sw__reactor_t *r, sw__conn_t *c, int rc)
{
    if (c->flags & SW__C_CLOSING) {
        sw__conn_free(r, c, true);
        return;
    }
    if (rc != SW_EPIPE && rc != SW_ECONNRESET) {
        SW_LOG_INFO(r->srv->log, "session %llu: write: %s", (unsigned long long)c->session,
                    sw_strerror(rc));
    }
    sw__conn_close(r, c, true, r->id);
}

/* Copies `len` bytes into the cork buffer for `e`: a new span when its queue is empty, or the
 * end of its span when that is the last one in the buffer. Returns false when neither applies
 * or the buffer is too full (the chain path takes the bytes). */
static bool cork_append(sw__reactor_t *r, sw__ext_t *e, const void *data, size_t len)
{
    sw__out_t *k = &e->cork;
    if (e->out_tail == k) {
        if (k->file_off + k->file_left != r->cork_used || len > SW__CORK_BUFFER - r->cork_used) {
            return false;
        }
        k->file_left += len;
    } else {
        if (e->out_head || len > SW__CORK_BUFFER - r->cork_used) {
            return false;
        }
        k->next = NULL;
        k->file_fd = SW__OUT_CORK;
        k->file_off = r->cork_used;
        k->file_left = len;
        e->cork_r = r;
        e->out_head = e->out_tail = k;
        r->cork_live++;
    }
    memcpy(r->cork_buf + r->cork_used, data, len);
    r->cork_used += len;
    e->out_bytes += len;
    return true;
}

/* Appends `len` bytes to the chain at the tail of the queue (a new one if the tail is not a
 * chain). Returns 0 or SW_ENOMEM (nothing queued). */
static int chain_append(sw__ext_t *e, const void *data, size_t len)
{
    sw__out_t *it = e->out_tail;
    bool fresh = false;
    if (!it || it->file_fd != -1) {
        it = item_new(-1);
        if (!it) {
            return SW_ENOMEM;
        }
        fresh = true;
    }
    int rc = sw_chain_append(&it->chain, data, len);
    if (rc < 0) {
        if (fresh) {
            item_free(e, it);
        }
        return rc;
    }
    if (fresh) {
        push_item(e, it);
    }
    e->out_bytes += len;
    return 0;
}

/* A big send to an empty queue: written now from the caller's memory, the rest queued.
 * Returns 0, SW_ENOMEM (nothing queued, nothing written), or 1 when the socket failed (the
 * connection has been closed). */
static int send_direct(sw__reactor_t *r, sw__conn_t *c, sw__ext_t *e, const char *data, size_t len)
{
    ssize_t w = SW_FAULT("write", SW_EPIPE);
    if (w == 0) {
        do {
            w = send(c->io.fd, data, len, SEND_FLAGS);
        } while (w < 0 && errno == EINTR);
        if (w < 0) {
            w = errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
        }
    }
    if (w < 0) {
        write_failed(r, c, (int)w);
        return 1;
    }
    if (w > 0) {
        atomic_fetch_add(&r->srv->shm->send_bytes, (uint64_t)w);
    }
    if ((size_t)w == len) {
        return 0;
    }
    /* The socket is full: the rest waits in the queue. */
    int rc = chain_append(e, data + w, len - (size_t)w);
    if (rc < 0 && w > 0) {
        /* Part of the message is on the wire and the rest cannot be kept: the stream is
         * broken, so the connection goes, as for a failed write. */
        write_failed(r, c, rc);
        return 1;
    }
    return rc;
}

/* Whether `len` more bytes fit the connection's output limit. */
static bool out_fits(sw__reactor_t *r, sw__conn_t *c, size_t len)
{
    const sw_port_t *p = sw__conn_port(r, c);
    size_t queued = sw__out_pending(c);
    size_t cap = p->eff.socket_buffer_size + r->out_slack;
    return len <= cap && queued <= cap - len;
}

static int out_send(sw__reactor_t *r, sw__conn_t *c, const void *data, size_t len, bool count);

int sw__out_send(sw__reactor_t *r, sw__conn_t *c, const void *data, size_t len)
{
    if (len == 0) {
        return 0;
    }
    if (!out_fits(r, c, len)) {
        return SW_EOVERFLOW_OUTPUT;
    }
    return out_send(r, c, data, len, true);
}

int sw__out_send2(sw__reactor_t *r, sw__conn_t *c, const void *a, size_t alen, const void *b,
                  size_t blen)
{
    if (alen + blen == 0) {
        return 0;
    }
    if (alen > SIZE_MAX - blen || !out_fits(r, c, alen + blen)) {
        return SW_EOVERFLOW_OUTPUT;
    }
    uint64_t sid = c->session;
    int rc = alen ? out_send(r, c, a, alen, blen == 0) : 0;
    if (c->session != sid || !(c->flags & SW__C_ACTIVE)) {
        return 0; /* the write of the first piece failed and closed the connection */
    }
    if (rc == 0 && blen) {
        rc = out_send(r, c, b, blen, true);
        if (rc < 0 && alen) {
            /* Only the first piece went out (no memory for the second): the stream would
             * be corrupt, so the connection ends. */
            sw__conn_close(r, c, true, r->id);
        }
    }
    return rc;
}

static int out_send(sw__reactor_t *r, sw__conn_t *c, const void *data, size_t len, bool count)
{
    sw__ext_t *e = sw__ext_get(r, c);
    if (!e) {
        return SW_ENOMEM;
    }
    int rc = 0;
    if (!e->out_head && len >= SW__CORK_FLUSH_BYTES && !(c->flags & SW__C_WRITING)) {
        rc = send_direct(r, c, e, data, len);
        if (rc > 0) {
            return 0; /* the connection failed and is closed; the send itself was taken */
        }
    } else if (!cork_append(r, e, data, len)) {
        rc = chain_append(e, data, len);
    }
    if (rc < 0) {
        sw__ext_maybe_put(r, c);
        return rc;
    }
    if (count) {
        atomic_fetch_add(&r->srv->shm->response_count, 1);
    }
    watermarks(r, c, e);
    if (!e->out_head) {
        sw__ext_maybe_put(r, c); /* written whole */
        return 0;
    }
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

/* Takes `w` written bytes off the byte items at the head of the queue, dropping the items
 * that are done. */
static void consume(sw__ext_t *e, size_t w)
{
    e->out_bytes -= w;
    while (e->out_head && e->out_head->file_fd < 0) {
        sw__out_t *it = e->out_head;
        if (it->file_fd == SW__OUT_CORK) {
            size_t k = w < it->file_left ? w : (size_t)it->file_left;
            it->file_off += k;
            it->file_left -= k;
            w -= k;
            if (it->file_left > 0) {
                return;
            }
        } else {
            size_t have = sw_chain_length(&it->chain);
            size_t k = w < have ? w : have;
            (void)sw_chain_consume(&it->chain, k);
            w -= k;
            if (k < have) {
                return;
            }
        }
        pop_item(e);
    }
}

/* Writes the byte items at the head of the queue (cork span and chains, up to 64 iovecs a
 * call) as far as the socket takes them. Returns 1 when they are all written (the head is now
 * a file range or nothing), 0 when the socket is full, or a negative code. */
static int write_bytes(sw__reactor_t *r, sw__conn_t *c, sw__ext_t *e)
{
    sw__out_t *h = e->out_head;
    if (h->file_fd == SW__OUT_CORK && !h->next) {
        /* The common case, one cork span and nothing else: one send(2). */
        ssize_t w = SW_FAULT("write", SW_EPIPE);
        if (w == 0) {
            do {
                w = send(c->io.fd, r->cork_buf + h->file_off, (size_t)h->file_left, SEND_FLAGS);
            } while (w < 0 && errno == EINTR);
            if (w < 0) {
                w = errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
            }
        }
        if (w <= 0) {
            return (int)w;
        }
        atomic_fetch_add(&r->srv->shm->send_bytes, (uint64_t)w);
        if ((uint64_t)w < h->file_left) {
            consume(e, (size_t)w);
            return 0;
        }
        e->out_bytes -= (size_t)w;
        e->out_head = e->out_tail = NULL;
        cork_release(e);
        return 1;
    }
    for (;;) {
        struct iovec iov[64];
        int n = 0;
        size_t total = 0;
        for (sw__out_t *it = e->out_head; it && it->file_fd < 0 && n < 64; it = it->next) {
            if (it->file_fd == SW__OUT_CORK) {
                iov[n].iov_base = r->cork_buf + it->file_off;
                iov[n].iov_len = (size_t)it->file_left;
                total += iov[n++].iov_len;
            } else {
                int m = sw_chain_peek(&it->chain, iov + n, 64 - n);
                for (int i = 0; i < m; i++) {
                    total += iov[n + i].iov_len;
                }
                n += m > 0 ? m : 0;
            }
        }
        if (total == 0) {
            consume(e, 0); /* drops empty items, if any */
            return 1;
        }
        ssize_t w = SW_FAULT("write", SW_EPIPE);
        if (w == 0) {
            if (n == 1) {
                w = send(c->io.fd, iov[0].iov_base, iov[0].iov_len, SEND_FLAGS);
            } else {
                struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
                w = sendmsg(c->io.fd, &mh, SEND_FLAGS);
            }
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
        consume(e, (size_t)w);
        atomic_fetch_add(&r->srv->shm->send_bytes, (uint64_t)w);
        if ((size_t)w < total) {
            return 0;
        }
        if (!e->out_head || e->out_head->file_fd >= 0) {
            return 1;
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

/* The socket is full and the cork span still heads the queue: move its bytes into a chain of
 * the connection's own, so that the cork buffer can be reused. Out of memory, the span stays
 * (the buffer is not reused until it is written). */
static void cork_spill(sw__reactor_t *r, sw__ext_t *e)
{
    sw__out_t *k = &e->cork;
    if (e->out_head != k) {
        return;
    }
    sw__out_t *it = item_new(-1);
    if (!it) {
        return;
    }
    if (sw_chain_append(&it->chain, r->cork_buf + k->file_off, (size_t)k->file_left) < 0) {
        item_free(e, it);
        return;
    }
    it->next = k->next;
    e->out_head = it;
    if (e->out_tail == k) {
        e->out_tail = it;
    }
    cork_release(e);
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
        if (it->file_fd >= 0) {
            rc = write_file(r, c, it);
            if (rc <= 0) {
                break;
            }
            pop_item(e);
        } else {
            rc = write_bytes(r, c, e);
            if (rc <= 0) {
                break;
            }
        }
    }
    if (rc < 0) {
        write_failed(r, c, rc);
        return rc;
    }
    bool pending = e->out_head != NULL;
    if (pending) {
        cork_spill(r, e);
    }
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
