/*
 * A reactor: one loop's connections. Accepting, reading and framing, closing, pausing, and
 * the dispatch brackets that cork output and defer owed callbacks.
 *
 * Connection table. Connections are indexed by fd in pages of SW__PAGE slots, allocated the
 * first time an fd of their range is used and kept until the reactor goes (a slot never moves,
 * so its sw_io_t can stay registered with the loop). The page array is sized once from
 * RLIMIT_NOFILE, which bounds fd numbers. A slot is 80 bytes; an idle connection owns nothing
 * else in this process (see sw__conn_t).
 *
 * Reading. A connection without buffered input reads into the reactor's one read buffer
 * (64 KiB) and frames in place: whole messages are delivered straight from it (no copy); only
 * an incomplete tail is copied into the connection's own input buffer (its sw__ext_t, taken
 * from a per-reactor pool). A connection with buffered input reads into that buffer, sized by
 * the framer's hint, so a large length-framed message is read in place. The input a connection
 * can hold is bounded by package_max_length plus one read buffer (messages held back while it
 * is paused).
 *
 * Re-entrancy. User callbacks run inside sw__reactor_enter/leave. They may send (corked:
 * flushed at the outermost leave), close (the session is released at once, on_close is owed
 * and runs at the outermost leave), pause, resume. After every callback the read path checks
 * that the connection is still the same session and active before touching it again.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "core/log_int.h"
#include "server/framing.h"
#include "server/server_int.h"
#include "swoole/error.h"
#include "swoole/timer.h"

#define container_of(p, T, m) ((T *)((char *)(p)-offsetof(T, m)))

uint64_t sw__reactor_now(const sw__reactor_t *r)
{
    return sw_loop_now(r->loop);
}

uint32_t sw__reactor_clock(const sw__reactor_t *r)
{
    return (uint32_t)(sw_loop_now(r->loop) - r->epoch_ms);
}

static sw__conn_t *slot(sw__reactor_t *r, int fd, bool create)
{
    if (fd < 0 || (size_t)fd >= r->npages * SW__PAGE) {
        return NULL;
    }
    sw__conn_t *page = r->pages[fd >> SW__PAGE_SHIFT];
    if (!page) {
        if (!create) {
            return NULL;
        }
        page = sw__calloc(SW__PAGE, sizeof(sw__conn_t));
        if (!page) {
            return NULL;
        }
        r->pages[fd >> SW__PAGE_SHIFT] = page;
    }
    return &page[fd & (SW__PAGE - 1)];
}

sw__conn_t *sw__reactor_conn(sw__reactor_t *r, int fd, uint64_t sid)
{
    sw__conn_t *c = slot(r, fd, false);
    if (!c || c->session != sid || !(c->flags & SW__C_ACTIVE)) {
        return NULL;
    }
    return c;
}

void sw__reactor_foreach(sw__reactor_t *r, void (*f)(sw__reactor_t *, sw__conn_t *, void *),
                         void *arg)
{
    for (int fd = 0; fd <= r->max_fd_seen; fd++) {
        sw__conn_t *c = slot(r, fd, false);
        if (c && (c->flags & SW__C_OPEN)) {
            f(r, c, arg);
        }
    }
}

/* ---- connection state blocks -------------------------------------------------------------- */

sw__ext_t *sw__ext_get(sw__reactor_t *r, sw__conn_t *c)
{
    sw__ext_t *e = c->io.data;
    if (e) {
        return e;
    }
    if (r->ext_free) {
        e = r->ext_free;
        r->ext_free = e->next_free;
        r->ext_free_n--;
    } else {
        e = sw__calloc(1, sizeof(*e));
        if (!e) {
            return NULL;
        }
    }
    e->next_free = NULL;
    sw_framer_init(&e->framer);
    e->want = 0;
    e->out_head = e->out_tail = NULL;
    e->out_bytes = 0;
    e->close_deadline = 0;
    e->piece_worker = -1;
    c->io.data = e;
    return e;
}

static void ext_release(sw__reactor_t *r, sw__conn_t *c)
{
    sw__ext_t *e = c->io.data;
    if (!e) {
        return;
    }
    c->io.data = NULL;
    sw__out_free(e);
    if (r->ext_free_n >= SW__EXT_POOL_MAX) {
        sw_buffer_close(&e->in);
        sw__free(e);
        return;
    }
    if (e->in.size > SW__EXT_KEEP_BUFFER) {
        sw_buffer_close(&e->in);
    } else {
        sw_buffer_clear(&e->in);
    }
    e->next_free = r->ext_free;
    r->ext_free = e;
    r->ext_free_n++;
}

void sw__ext_maybe_put(sw__reactor_t *r, sw__conn_t *c)
{
    sw__ext_t *e = c->io.data;
    if (e && e->in.length == e->in.offset && !e->out_head &&
        !(c->flags & (SW__C_CLOSING | SW__C_EOF | SW__C_PIECES))) {
        ext_release(r, c);
    }
}

/* ---- dispatch brackets and owed callbacks ------------------------------------------------- */

static void check_drained(sw__reactor_t *r)
{
    if (r->stopping && r->nconns == 0 && r->nnotes == 0 && r->dispatch_depth == 0 &&
        r->sink->on_drained) {
        r->sink->on_drained(r);
    }
}

static void deliver_buffered(sw__reactor_t *r, sw__conn_t *c);

static void run_notes(sw__reactor_t *r)
{
    /* Take the batch: callbacks may queue more, which the caller's next round runs. */
    size_t n = r->nnotes;
    if (n == 0) {
        return;
    }
    sw__note_t local[16];
    sw__note_t *batch = n <= 16 ? local : sw__malloc(n * sizeof(*batch));
    if (!batch) {
        return; /* out of memory: left queued for the next round */
    }
    memcpy(batch, r->notes, n * sizeof(*batch));
    memmove(r->notes, r->notes + n, (r->nnotes - n) * sizeof(*batch));
    r->nnotes -= n;
    for (size_t i = 0; i < n; i++) {
        const sw__note_t *note = &batch[i];
        switch (note->type) {
        case SW__N_CLOSE:
            if (r->sink->on_close) {
                r->sink->on_close(r, note->session, note->reactor_id, note->worker);
            }
            break;
        case SW__N_FULL:
        case SW__N_EMPTY:
            if (r->sink->on_buffer) {
                r->sink->on_buffer(r, note->session, note->type == SW__N_FULL);
            }
            break;
        case SW__N_INPUT: {
            sw__conn_t *c = sw__reactor_conn(r, note->reactor_id, note->session);
            if (c) {
                c->flags &= (uint16_t)~SW__C_RESUME;
                deliver_buffered(r, c);
            }
            break;
        }
        }
    }
    if (batch != local) {
        sw__free(batch);
    }
}

void sw__reactor_enter(sw__reactor_t *r)
{
    r->dispatch_depth++;
}

void sw__reactor_leave(sw__reactor_t *r)
{
    if (r->dispatch_depth > 1) {
        r->dispatch_depth--;
        return;
    }
    /* Outermost: flush what the callbacks corked and run what they made us owe. Callbacks run
     * from here (on_close...) still count as a dispatch, so their own sends are corked into
     * the next round. The rounds are bounded; whatever is left goes to a deferred pump. */
    for (int round = 0; round < 16 && (r->ndirty || r->nnotes); round++) {
        sw__out_flush_dirty(r);
        run_notes(r);
    }
    sw__out_flush_dirty(r);
    r->dispatch_depth = 0;
    if (r->ndirty || r->nnotes) {
        sw__reactor_schedule(r);
    }
    check_drained(r);
}

static void pump_cb(sw_loop_t *loop, void *arg)
{
    (void)loop;
    sw__reactor_t *r = arg;
    r->pump_scheduled = false;
    sw__reactor_enter(r);
    sw__reactor_leave(r);
}

void sw__reactor_schedule(sw__reactor_t *r)
{
    if (r->dispatch_depth > 0 || r->pump_scheduled) {
        return;
    }
    if (sw_loop_defer(r->loop, pump_cb, r) == 0) {
        r->pump_scheduled = true;
    } else {
        /* Out of memory for the defer: work it off now rather than never. */
        sw__reactor_enter(r);
        sw__reactor_leave(r);
    }
}

static void note_add(sw__reactor_t *r, uint64_t sid, int reactor_id, int type, int worker)
{
    if (r->nnotes == r->notes_cap) {
        size_t cap = r->notes_cap ? r->notes_cap * 2 : 16;
        sw__note_t *n = sw__realloc(r->notes, cap * sizeof(*n));
        if (!n) {
            SW_LOG_ERROR(r->srv->log,
                         "reactor %d: out of memory: callback for session %llu "
                         "lost",
                         r->id, (unsigned long long)sid);
            return;
        }
        r->notes = n;
        r->notes_cap = cap;
    }
    r->notes[r->nnotes++] =
        (sw__note_t){.session = sid, .reactor_id = reactor_id, .type = type, .worker = worker};
    sw__reactor_schedule(r);
}

void sw__reactor_note(sw__reactor_t *r, uint64_t sid, int reactor_id, int type)
{
    note_add(r, sid, reactor_id, type, -1);
}

/* ---- events, close, pause ------------------------------------------------------------------ */

void sw__conn_update_events(sw__reactor_t *r, sw__conn_t *c)
{
    (void)r;
    int ev = 0;
    if ((c->flags & SW__C_ACTIVE) && !(c->flags & (SW__C_PAUSED | SW__C_HOLD | SW__C_EOF))) {
        ev |= SW_EVENT_READ;
    }
    if (c->flags & SW__C_WRITING) {
        ev |= SW_EVENT_WRITE;
    }
    (void)sw_io_start(&c->io, ev);
}

void sw__conn_free(sw__reactor_t *r, sw__conn_t *c, bool reset)
{
    int fd = c->io.fd;
    if (c->flags & SW__C_ACTIVE) {
        /* Freed without a close (reactor teardown): the session goes too. */
        sw__session_release(r->srv, r->worker_id, c->session);
        atomic_fetch_add(&r->srv->shm->close_count, 1);
    }
    if (c->flags & SW__C_CLOSING) {
        r->nlinger--;
    }
    if (c->flags & SW__C_EOF) {
        r->neof--;
    }
    sw_io_stop(&c->io);
    if (reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    ext_release(r, c);
    close(fd);
    c->flags = 0;
    c->session = 0;
    c->uid = 0;
    r->nconns--;
}

void sw__conn_close(sw__reactor_t *r, sw__conn_t *c, bool reset, int reactor_id)
{
    if (!(c->flags & SW__C_ACTIVE)) {
        return;
    }
    uint64_t sid = c->session;
    /* After the peer's end of stream the CLOSE has gone to the worker already. */
    bool eof = (c->flags & SW__C_EOF) != 0;
    if (eof) {
        c->flags &= (uint16_t)~SW__C_EOF;
        r->neof--;
    }
    SW_LOG_DEBUG(r->srv->log, "reactor %d: session %llu closed%s by %s", r->id,
                 (unsigned long long)sid, reset ? " (reset)" : "",
                 reactor_id < 0 ? "the server" : "the peer or an error");
    c->flags &= (uint16_t) ~(SW__C_ACTIVE | SW__C_PAUSED | SW__C_RESUME);
    sw__session_release(r->srv, r->worker_id, sid);
    atomic_fetch_add(&r->srv->shm->close_count, 1);
    sw__ext_t *e = c->io.data;
    if (e) {
        sw_buffer_clear(&e->in);
    }
    if (reset || sw__out_empty(c)) {
        sw__conn_free(r, c, reset);
    } else {
        /* Lingering: the output drains, then the socket closes (sw__out_flush), or it is
         * reset at the deadline (heartbeat.c). */
        c->flags |= SW__C_CLOSING;
        uint64_t wait = (uint64_t)(r->srv->o.max_wait_time * 1000);
        e->close_deadline = sw__reactor_now(r) + wait;
        if (r->stopping && r->stop_deadline < e->close_deadline) {
            e->close_deadline = r->stop_deadline;
        }
        r->nlinger++;
        sw__conn_update_events(r, c);
        sw__linger_add(r, c);
    }
    if (!eof) {
        note_add(r, sid, reactor_id, SW__N_CLOSE, c->worker);
    }
}

void sw__conn_eof_ack(sw__reactor_t *r, sw__conn_t *c)
{
    if (c->flags & SW__C_EOF) {
        sw__conn_close(r, c, false, r->id);
    }
}

/* The peer ended its stream (PROCESS/THREAD, a connection with a fixed worker): instead of
 * closing, stop reading, drop the unframed rest of the input and owe the sink its on_close
 * (the CLOSE to the worker, asking for an acknowledgement); the session stays open, so the
 * worker's replies, and its sends until it has run on_close, are still written. The socket
 * closes on the acknowledgement (sw__conn_eof_ack), on any server-side close, or, when the
 * worker died, max_wait_time after that was seen (heartbeat.c). Returns false when the
 * connection must close at once instead. */
static bool eof_wait(sw__reactor_t *r, sw__conn_t *c)
{
    if (!r->eof_ack || c->worker < 0 || r->stopping || !r->srv->shm_workers) {
        return false;
    }
    sw__ext_t *e = sw__ext_get(r, c);
    if (!e) {
        return false;
    }
    sw_buffer_clear(&e->in);
    sw_framer_init(&e->framer);
    e->want = 0;
    e->close_deadline = 0;
    e->eof_pid = atomic_load(&r->srv->shm_workers[c->worker].pid);
    c->flags |= SW__C_EOF;
    c->flags &= (uint16_t)~SW__C_RESUME;
    r->neof++;
    sw__conn_update_events(r, c);
    sw__linger_add(r, c);
    note_add(r, c->session, r->id, SW__N_CLOSE, c->worker);
    return true;
}

int sw__conn_pause(sw__reactor_t *r, sw__conn_t *c)
{
    if (!(c->flags & SW__C_PAUSED)) {
        c->flags |= SW__C_PAUSED;
        sw__conn_update_events(r, c);
    }
    return 0;
}

int sw__conn_resume(sw__reactor_t *r, sw__conn_t *c)
{
    if (!(c->flags & SW__C_PAUSED)) {
        return 0;
    }
    c->flags &= (uint16_t)~SW__C_PAUSED;
    sw__conn_update_events(r, c);
    sw__ext_t *e = c->io.data;
    if (e && e->in.length > e->in.offset && !(c->flags & SW__C_RESUME)) {
        /* Messages read before the pause: delivered after the running callback returns. */
        c->flags |= SW__C_RESUME;
        sw__reactor_note(r, c->session, c->io.fd, SW__N_INPUT);
    }
    return 0;
}

/* ---- reading -------------------------------------------------------------------------------- */

static bool still(const sw__conn_t *c, uint64_t sid)
{
    return c->session == sid && (c->flags & SW__C_ACTIVE);
}

/* Frames and delivers messages from data[0..len). Returns the bytes consumed, or SIZE_MAX
 * when the connection was closed or is no longer this session (nothing more may be touched).
 * `*want` is the framer's hint when it stopped for lack of bytes (0 otherwise). The framing
 * mode (framing.c) is read before each message: a callback may switch it (a WebSocket
 * handshake accepted in BASE mode), and the bytes after the switch are framed the new way. */
static size_t deliver(sw__reactor_t *r, sw__conn_t *c, uint64_t sid, sw_framer_t *fr,
                      const char *data, size_t len, size_t *want)
{
    const sw_protocol_t *proto = &sw__conn_port(r, c)->eff.protocol;
    size_t pos = 0;
    *want = 0;
    while (pos < len && !(c->flags & (SW__C_PAUSED | SW__C_HOLD))) {
        size_t n = 0;
        uint8_t mode = c->framing;
        int rr = mode == SW__FRAMING_WS
                     ? sw_protocol_next_websocket(proto, fr, data + pos, len - pos, &n)
                     : sw_protocol_next(proto, fr, data + pos, len - pos, &n);
        if (rr < 0) {
            if (mode == SW__FRAMING_WS) {
                sw__conn_ws_fail(r, c, rr);
                return SIZE_MAX;
            }
            SW_LOG_WARNING(r->srv->log, "session %llu: %s (%s): connection closed",
                           (unsigned long long)sid, sw_err_name(rr), sw_strerror(rr));
            sw__conn_close(r, c, false, r->id);
            return SIZE_MAX;
        }
        if (rr == 0) {
            *want = n;
            if (fr->flags & SW_FRAMER_CONTINUE) {
                fr->flags &= (uint8_t)~SW_FRAMER_CONTINUE;
                sw__conn_continue(r, c);
            }
            break;
        }
        unsigned piece = 0;
        if (mode == SW__FRAMING_PORT && (fr->flags & SW_FRAMER_PIECE)) {
            piece = (fr->flags & SW_FRAMER_MORE) ? SW__MSG_MORE : 0;
            if (c->flags & SW__C_PIECES) {
                piece |= SW__MSG_CONT;
            }
            if (piece & SW__MSG_MORE) {
                c->flags |= SW__C_PIECES;
            } else {
                c->flags &= (uint16_t)~SW__C_PIECES;
            }
        }
        if (mode == SW__FRAMING_PORT && (fr->flags & SW_FRAMER_UPGRADE)) {
            /* An upgrade request on a WebSocket port: frame nothing after it until the worker
             * has answered (sw__conn_framing releases the hold). */
            c->flags |= SW__C_HOLD;
            sw__conn_update_events(r, c);
        }
        r->sink->on_message(r, c, data + pos, n, piece);
        if (!still(c, sid)) {
            return SIZE_MAX;
        }
        pos += n;
        if (c->framing != mode) {
            sw_framer_init(fr);
        }
    }
    return pos;
}

/* Delivers what sits in the connection's input buffer (after a read into it, or a resume). */
static void deliver_buffered(sw__reactor_t *r, sw__conn_t *c)
{
    sw__ext_t *e = c->io.data;
    if (!e || e->in.length == e->in.offset || (c->flags & (SW__C_PAUSED | SW__C_HOLD))) {
        return;
    }
    uint64_t sid = c->session;
    size_t want = 0;
    size_t used = deliver(r, c, sid, &e->framer, e->in.str + e->in.offset,
                          e->in.length - e->in.offset, &want);
    if (used == SIZE_MAX) {
        return;
    }
    (void)sw_buffer_consume(&e->in, used);
    if (e->in.offset == e->in.length) {
        sw_buffer_clear(&e->in);
        if (c->flags & SW__C_PIECES) {
            e->want = want; /* inside a request in pieces: the framer keeps its place */
        } else {
            sw_framer_init(&e->framer);
            e->want = 0;
            sw__ext_maybe_put(r, c);
        }
    } else {
        if (want) {
            e->want = want;
        }
        if (e->in.offset > 0) {
            sw_buffer_recycle(&e->in);
        }
    }
}

static void conn_gone(sw__reactor_t *r, sw__conn_t *c, int err)
{
    if (err && err != SW_ECONNRESET && err != SW_EPIPE) {
        SW_LOG_INFO(r->srv->log, "session %llu: %s: connection closed",
                    (unsigned long long)c->session, sw_strerror(err));
    }
    if (err == 0 && eof_wait(r, c)) {
        return;
    }
    /* The peer is gone or failed: nothing queued can arrive any more. */
    sw__conn_close(r, c, err != 0, r->id);
}

static ssize_t read_some(sw__reactor_t *r, sw__conn_t *c, char *buf, size_t size)
{
    ssize_t n;
    int f = SW_FAULT("read", SW_ECONNRESET);
    if (f < 0) {
        errno = -f;
        return -1;
    }
    do {
        n = recv(c->io.fd, buf, size, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        atomic_fetch_add(&r->srv->shm->recv_bytes, (uint64_t)n);
        c->last_recv = sw__reactor_clock(r);
    }
    return n;
}

static void conn_read(sw__reactor_t *r, sw__conn_t *c)
{
    uint64_t sid = c->session;
    sw__ext_t *e = c->io.data;
    const sw_port_t *p = sw__conn_port(r, c);
    size_t limit = p->eff.protocol.package_max_length + SW__READ_BUFFER_SIZE;
    if (!e || (e->in.length == e->in.offset && !(c->flags & SW__C_PIECES))) {
        ssize_t n = read_some(r, c, r->rbuf, SW__READ_BUFFER_SIZE);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                return;
            }
            conn_gone(r, c, n == 0 ? 0 : -errno);
            return;
        }
        sw_framer_t fr;
        sw_framer_init(&fr);
        size_t want = 0;
        size_t used = deliver(r, c, sid, &fr, r->rbuf, (size_t)n, &want);
        if (used == SIZE_MAX || (used == (size_t)n && !(c->flags & SW__C_PIECES))) {
            return;
        }
        e = sw__ext_get(r, c);
        if (!e || sw_buffer_append(&e->in, r->rbuf + used, (size_t)n - used) < 0) {
            SW_LOG_ERROR(r->srv->log, "session %llu: out of memory for input",
                         (unsigned long long)sid);
            sw__conn_close(r, c, true, r->id);
            return;
        }
        e->framer = fr;
        e->want = want;
        return;
    }
    /* Read into the connection's own buffer: as much as the framer says it needs, at least a
     * read buffer's worth, never past the limit. */
    size_t unread = e->in.length - e->in.offset;
    if (e->in.offset > 0) {
        sw_buffer_recycle(&e->in);
    }
    size_t need = e->want > unread ? e->want - unread : 0;
    size_t chunk = need > SW__READ_BUFFER_SIZE ? need : SW__READ_BUFFER_SIZE;
    if (e->in.length + chunk > limit) {
        chunk = limit > e->in.length ? limit - e->in.length : 0;
    }
    if (chunk == 0) {
        /* Only possible while paused with a full buffer: stop reading until resumed. */
        return;
    }
    char *dst = NULL;
    if (sw_buffer_reserve(&e->in, chunk, &dst) < 0) {
        SW_LOG_ERROR(r->srv->log, "session %llu: out of memory for input", (unsigned long long)sid);
        sw__conn_close(r, c, true, r->id);
        return;
    }
    ssize_t n = read_some(r, c, dst, chunk);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        conn_gone(r, c, n == 0 ? 0 : -errno);
        return;
    }
    (void)sw_buffer_commit(&e->in, (size_t)n);
    deliver_buffered(r, c);
}

static void conn_io_cb(sw_io_t *io, int events, void *arg)
{
    sw__reactor_t *r = arg;
    sw__conn_t *c = container_of(io, sw__conn_t, io);
    sw__reactor_enter(r);
    if (c->flags & SW__C_CLOSING) {
        if (events & (SW_EVENT_ERROR | SW_EVENT_HUP)) {
            sw__conn_free(r, c, true);
        } else if (events & SW_EVENT_WRITE) {
            (void)sw__out_flush(r, c);
        }
        sw__reactor_leave(r);
        return;
    }
    uint64_t sid = c->session;
    if (events & SW_EVENT_WRITE) {
        (void)sw__out_flush(r, c);
    }
    if (still(c, sid) && (events & SW_EVENT_READ)) {
        conn_read(r, c);
    } else if (still(c, sid) && (events & (SW_EVENT_ERROR | SW_EVENT_HUP))) {
        int err = 0;
        socklen_t len = sizeof(err);
        (void)getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        conn_gone(r, c, err ? -err : SW_ECONNRESET);
    }
    sw__reactor_leave(r);
}

/* ---- accepting ------------------------------------------------------------------------------ */

void sw__reactor_adopt(sw__reactor_t *r, sw_port_t *p, int fd)
{
    sw_server_t *srv = r->srv;
    sw__conn_t *c = r->stopping ? NULL : slot(r, fd, true);
    if (!c) {
        if (!r->stopping) {
            SW_LOG_ERROR(srv->log, "reactor %d: cannot hold fd %d: connection refused", r->id, fd);
            atomic_fetch_add(&srv->shm->abort_count, 1);
        }
        close(fd);
        return;
    }
    uint64_t sid = 0;
    int rc = sw__session_alloc(srv, r->id, r->incarnation, r->worker_id, fd, &sid);
    if (rc < 0) {
        SW_LOG_WARNING(srv->log, "server: max_conn (%d) reached: connection refused",
                       srv->o.max_conn);
        atomic_fetch_add(&srv->shm->abort_count, 1);
        close(fd);
        return;
    }
    memset(c, 0, sizeof(*c));
    c->worker = -1;
    c->session = sid;
    c->port = (uint16_t)p->index;
    c->flags = SW__C_OPEN | SW__C_ACTIVE;
    c->connect_time = (uint32_t)time(NULL);
    c->last_recv = sw__reactor_clock(r);
    rc = sw_io_init(r->loop, &c->io, fd, conn_io_cb, r);
    if (rc == 0) {
        rc = sw_io_start(&c->io, SW_EVENT_READ);
    }
    if (rc < 0) {
        SW_LOG_ERROR(srv->log, "reactor %d: cannot watch fd %d: %s", r->id, fd, sw_strerror(rc));
        sw__session_release(srv, r->worker_id, sid);
        c->flags = 0;
        c->session = 0;
        atomic_fetch_add(&srv->shm->abort_count, 1);
        close(fd);
        return;
    }
    if (fd > r->max_fd_seen) {
        r->max_fd_seen = fd;
    }
    r->nconns++;
    atomic_fetch_add(&srv->shm->accept_count, 1);
    SW_LOG_DEBUG(srv->log, "reactor %d: session %llu accepted, fd %d, port %d", r->id,
                 (unsigned long long)sid, fd, p->index);
    sw__port_setup_conn(p, fd);
    if (r->sink->on_connect) {
        r->sink->on_connect(r, c);
    }
}

static void accept_retry_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    sw__reactor_t *r = arg;
    r->accept_retry_timer = 0;
    if (!r->stopping) {
        for (int i = 0; i < r->nlisteners; i++) {
            (void)sw_io_start(&r->listeners[i].io, SW_EVENT_READ);
        }
    }
}

static void accept_cb(sw_io_t *io, int events, void *arg)
{
    (void)events;
    sw__reactor_t *r = arg;
    sw__listener_t *l = container_of(io, sw__listener_t, io);
    sw__reactor_enter(r);
    for (int i = 0; i < SW__ACCEPT_BATCH && !r->stopping; i++) {
        int fd = SW_FAULT("accept", SW_EMFILE);
        if (fd == 0) {
            fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                fd = -errno;
            }
        }
        if (fd >= 0) {
            sw__reactor_adopt(r, l->port, fd);
            continue;
        }
        if (fd == SW_EAGAIN || fd == -EWOULDBLOCK) {
            break;
        }
        if (fd == SW_EINTR || fd == SW_ECONNABORTED || fd == -EPROTO) {
            continue;
        }
        SW_LOG_ERROR(r->srv->log, "reactor %d: accept: %s", r->id, sw_strerror(fd));
        if (fd == SW_EMFILE || fd == SW_ENFILE || fd == SW_ENOBUFS || fd == SW_ENOMEM) {
            /* Out of descriptors: the pending connection would wake us again at once. */
            for (int k = 0; k < r->nlisteners; k++) {
                if (r->listeners[k].port->stream) {
                    (void)sw_io_stop(&r->listeners[k].io);
                }
            }
            if (!r->accept_retry_timer) {
                (void)sw_timer_after(r->loop, 100, accept_retry_cb, r, &r->accept_retry_timer);
            }
        }
        break;
    }
    sw__reactor_leave(r);
}

static void dgram_cb(sw_io_t *io, int events, void *arg)
{
    (void)events;
    sw__reactor_t *r = arg;
    sw__listener_t *l = container_of(io, sw__listener_t, io);
    sw__reactor_enter(r);
    for (int i = 0; i < SW__DGRAM_BATCH && !r->stopping; i++) {
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof(from);
        ssize_t n = recvfrom(l->fd, r->dgram_buf, SW__DGRAM_MAX, MSG_DONTWAIT,
                             (struct sockaddr *)&from, &fromlen);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                SW_LOG_NOTICE(r->srv->log, "port %d: recvfrom: %s", l->port->index,
                              sw_strerror(-errno));
            }
            break;
        }
        atomic_fetch_add(&r->srv->shm->recv_bytes, (uint64_t)n);
        if (from.ss_family == AF_UNIX && fromlen <= sizeof(sa_family_t)) {
            fromlen = 0; /* an unbound Unix datagram sender: no address to answer to */
        }
        if (r->sink->on_packet) {
            r->sink->on_packet(r, l->port, r->dgram_buf, (size_t)n, (struct sockaddr *)&from,
                               fromlen);
        }
    }
    sw__reactor_leave(r);
}

int sw__reactor_listen(sw__reactor_t *r)
{
    SW_LOG_DEBUG(r->srv->log, "reactor %d: listening on %d ports", r->id, r->srv->nports);
    sw_server_t *srv = r->srv;
    r->listeners = sw__calloc((size_t)srv->nports, sizeof(*r->listeners));
    if (!r->listeners) {
        return SW_ENOMEM;
    }
    for (int i = 0; i < srv->nports; i++) {
        sw_port_t *p = srv->ports[i];
        sw__listener_t *l = &r->listeners[i];
        l->port = p;
        l->fd = p->fd;
        if (!p->stream && !r->dgram_buf) {
            r->dgram_buf = sw__malloc(SW__DGRAM_MAX);
            if (!r->dgram_buf) {
                return SW_ENOMEM;
            }
        }
        if (p->stream && p->family != AF_UNIX && srv->o.enable_reuse_port) {
            int fd = sw__port_open_reuseport(p);
            if (fd < 0) {
                SW_LOG_ERROR(srv->log, "reactor %d: port %d: SO_REUSEPORT socket: %s", r->id, i,
                             sw_strerror(fd));
                return fd;
            }
            l->fd = fd;
            l->own_fd = true;
        }
        int rc = sw_io_init(r->loop, &l->io, l->fd, p->stream ? accept_cb : dgram_cb, r);
        if (rc == 0) {
            rc = sw_io_start(&l->io, SW_EVENT_READ);
        }
        r->nlisteners = i + 1;
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

void sw__reactor_unlisten(sw__reactor_t *r)
{
    for (int i = 0; i < r->nlisteners; i++) {
        sw__listener_t *l = &r->listeners[i];
        (void)sw_io_stop(&l->io);
        if (l->own_fd) {
            close(l->fd);
            l->own_fd = false;
        }
    }
    r->nlisteners = 0;
    sw__free(r->listeners);
    r->listeners = NULL;
    if (r->accept_retry_timer) {
        (void)sw_timer_clear(r->loop, r->accept_retry_timer);
        r->accept_retry_timer = 0;
    }
}

/* ---- life --------------------------------------------------------------------------------- */

int sw__reactor_create(sw__reactor_t **out, sw_server_t *srv, sw_loop_t *loop, int id,
                       int worker_id, const sw__sink_t *sink, void *sink_arg)
{
    sw__reactor_t *r = sw__calloc(1, sizeof(*r));
    if (!r) {
        return SW_ENOMEM;
    }
    struct rlimit rl;
    size_t fds = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        fds = (size_t)rl.rlim_cur;
    }
    if (fds > ((size_t)1 << 24)) {
        fds = (size_t)1 << 24;
    }
    r->npages = (fds + SW__PAGE - 1) / SW__PAGE;
    r->pages = sw__calloc(r->npages, sizeof(*r->pages));
    r->rbuf = sw__malloc(SW__READ_BUFFER_SIZE);
    if (!r->pages || !r->rbuf) {
        sw__free(r->pages);
        sw__free(r->rbuf);
        sw__free(r);
        return SW_ENOMEM;
    }
    r->srv = srv;
    r->loop = loop;
    r->id = id;
    r->worker_id = worker_id;
    r->sink = sink;
    r->sink_arg = sink_arg;
    r->thread = pthread_self();
    r->max_fd_seen = -1;
    sw_loop_update_time(loop);
    r->epoch_ms = sw_loop_now(loop);
    *out = r;
    return 0;
}

static void stop_one(sw__reactor_t *r, sw__conn_t *c, void *arg)
{
    (void)arg;
    if (c->flags & SW__C_ACTIVE) {
        sw__conn_close(r, c, false, -1);
    }
}

void sw__reactor_stop(sw__reactor_t *r, uint64_t deadline_ms)
{
    if (r->stopping) {
        return;
    }
    sw__reactor_enter(r);
    r->stopping = true;
    r->stop_deadline = deadline_ms;
    sw__reactor_unlisten(r);
    sw__reactor_foreach(r, stop_one, NULL);
    sw__reactor_leave(r);
}

static void free_one(sw__reactor_t *r, sw__conn_t *c, void *arg)
{
    (void)arg;
    sw__conn_free(r, c, true);
}

void sw__reactor_destroy(sw__reactor_t *r)
{
    if (!r) {
        return;
    }
    sw__reactor_unlisten(r);
    sw__reactor_foreach(r, free_one, NULL);
    if (r->heartbeat_timer) {
        (void)sw_timer_clear(r->loop, r->heartbeat_timer);
    }
    if (r->linger_timer) {
        (void)sw_timer_clear(r->loop, r->linger_timer);
    }
    while (r->ext_free) {
        sw__ext_t *e = r->ext_free;
        r->ext_free = e->next_free;
        sw_buffer_close(&e->in);
        sw__free(e);
    }
    for (size_t i = 0; i < r->npages; i++) {
        sw__free(r->pages[i]);
    }
    sw__free(r->pages);
    sw__free(r->rbuf);
    sw__free(r->dgram_buf);
    sw__free(r->dirty);
    sw__free(r->notes);
    sw__free(r);
}
