/*
 * Per-connection framing mode (server/framing.h): the switch to WebSocket framing after a
 * handshake, the hold of a connection whose upgrade request is with its worker, the close
 * frame the reactor sends when it cannot frame a WebSocket connection, and the interim
 * "100 Continue" of HTTP framing.
 *
 * "100 Continue" is sent by the reactor where it frames: HTTP framing sets SW_FRAMER_CONTINUE
 * when a head with "Expect: 100-continue" is complete and none of its body has arrived, and
 * the reactor answers at once (the worker only sees whole requests, so it could not answer
 * before the body). Caveat: a client that pipelines such a request behind another one may get
 * the interim answer before the earlier request's response in PROCESS/THREAD mode (the
 * reactor does not know what the worker still owes); clients send Expect on requests they
 * do not pipeline, and Swoole behaves the same way.
 */
#include <stdatomic.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log_int.h"
#include "server/framing.h"
#include "server/proc_int.h"
#include "server/server_int.h"
#include "swoole/error.h"

_Static_assert(sizeof(sw__conn_t) <= 80, "a connection slot stays within 80 bytes");

int sw__conn_framing(sw__reactor_t *r, sw__conn_t *c, const void *data, size_t len)
{
    if (len < 1) {
        return SW_EINVAL;
    }
    unsigned mode = ((const unsigned char *)data)[0];
    if (mode != SW__FRAMING_PORT && mode != SW__FRAMING_WS) {
        return SW_EINVAL;
    }
    if (len > 1) {
        int rc = sw__out_send(r, c, (const char *)data + 1, len - 1);
        if (rc < 0) {
            return rc;
        }
    }
    sw__ext_t *e = c->io.data;
    if (c->framing != mode) {
        /* At a message boundary (the upgrade request was the last message framed): the
         * framer holds nothing but its flags. */
        c->framing = (uint8_t)mode;
        if (e) {
            sw_framer_init(&e->framer);
            e->want = 0;
        }
    }
    if (mode == SW__FRAMING_WS) {
        /* Set here, by the owner, after the 101 was queued: a push by anyone who saw the bit
         * reaches this reactor after it, so it goes out after the 101. */
        sw__session_set_flags(r->srv, c->session, SW__DIR_WS, SW__DIR_WSP);
    }
    if (c->flags & SW__C_HOLD) {
        c->flags &= (uint16_t)~SW__C_HOLD;
        sw__conn_update_events(r, c);
        if (e && e->in.length > e->in.offset && !(c->flags & (SW__C_RESUME | SW__C_PAUSED))) {
            /* What arrived after the upgrade request: framed in the new mode once the
             * running callback has returned. */
            c->flags |= SW__C_RESUME;
            sw__reactor_note(r, c->session, c->io.fd, SW__N_INPUT);
        }
    }
    return 0;
}

void sw__conn_ws_fail(sw__reactor_t *r, sw__conn_t *c, int rc)
{
    /* RFC 6455 §7.4.1: 1009 for a frame over the limit, 1002 for a length that cannot be. */
    unsigned code = rc == SW_EPKGTOOBIG ? 1009 : 1002;
    unsigned char frame[4] = {0x88, 0x02, (unsigned char)(code >> 8), (unsigned char)code};
    SW_LOG_NOTICE(r->srv->log, "session %llu: WebSocket frame: %s: closed with %u",
                  (unsigned long long)c->session, sw_strerror(rc), code);
    (void)sw__out_send(r, c, frame, sizeof(frame));
    sw__conn_close(r, c, false, r->id);
}

void sw__conn_continue(sw__reactor_t *r, sw__conn_t *c)
{
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    int rc = sw__out_send(r, c, msg, sizeof(msg) - 1);
    if (rc < 0) {
        SW_LOG_NOTICE(r->srv->log, "session %llu: 100 Continue: %s", (unsigned long long)c->session,
                      sw_strerror(rc));
    }
}

/* ---- the worker's side ------------------------------------------------------------------- */

/* Per thread: the workers of THREAD mode are threads of one process, and each delivers its
 * own messages. */
#if defined(__GNUC__) && defined(__ELF__)
/* initial-exec: a plain %fs-relative access instead of a __tls_get_addr call per message
 * from the shared library (one word of static TLS). */
static _Thread_local unsigned msg_piece __attribute__((tls_model("initial-exec")));
#else
static _Thread_local unsigned msg_piece;
#endif

unsigned sw__server_msg_piece(void)
{
    return msg_piece;
}

_Static_assert(SW_SERVER_PIECE_MORE == SW__MSG_MORE && SW_SERVER_PIECE_CONT == SW__MSG_CONT,
               "the public piece bits are the internal ones");

unsigned sw_server_message_piece(const sw_server_t *srv)
{
    (void)srv; /* per thread: a worker delivers one server's messages at a time */
    return msg_piece;
}

void sw__server_set_msg_piece(unsigned piece)
{
    msg_piece = piece;
}

void sw__server_hold(sw_server_t *srv, int delta)
{
    sw__worker_t *w = srv ? sw__server_worker(srv) : NULL;
    if (!w || (delta < 0 && w->holds == 0)) {
        return;
    }
    w->holds = delta > 0 ? w->holds + 1 : w->holds - 1;
    if (w->holds == 0 && w->max_request && w->requests >= w->max_request) {
        if (srv->mode == SW_MODE_BASE) {
            sw__base_max_request(srv, w);
        } else {
            sw__proc_worker_stop(srv, w, "max_request");
        }
    }
}

int sw__server_framing(sw_server_t *srv, uint64_t session, unsigned mode, const void *first,
                       size_t len)
{
    if (!srv || mode > SW__FRAMING_WS || (!first && len) || len > SIZE_MAX - 1) {
        return SW_EINVAL;
    }
    char local[512];
    char *msg = len + 1 <= sizeof(local) ? local : sw__malloc(len + 1);
    if (!msg) {
        return SW_ENOMEM;
    }
    msg[0] = (char)mode;
    if (len) {
        memcpy(msg + 1, first, len);
    }
    int rc = sw__session_op(srv, session, SW__OP_FRAMING, msg, len + 1);
    if (msg != local) {
        sw__free(msg);
    }
    return rc;
}

int sw__server_ws_mark(sw_server_t *srv, uint64_t session)
{
    if (!srv || !srv->shm || session == 0) {
        return SW_EINVAL;
    }
    sw__dirent_t *e = &srv->shm_dir[session & srv->shm->dir_mask];
    if (atomic_load_explicit(&e->sid, memory_order_acquire) != session) {
        return SW_ESESSION;
    }
    atomic_fetch_or(&e->flags, (uint16_t)SW__DIR_WSP);
    if (atomic_load_explicit(&e->sid, memory_order_acquire) != session) {
        /* The session closed meanwhile and the entry may be another's (just accepted, so
         * not a WebSocket connection yet): take the bit back. */
        atomic_fetch_and(&e->flags, (uint16_t)~SW__DIR_WSP);
        return SW_ESESSION;
    }
    return 0;
}

bool sw__server_is_ws(const sw_server_t *srv, uint64_t session, bool pending)
{
    if (!srv || !srv->shm || session == 0 || session >= SW__SID_MAX) {
        return false;
    }
    uint16_t want = pending ? (SW__DIR_WS | SW__DIR_WSP) : SW__DIR_WS;
    return (sw__session_flags(srv, session) & want) != 0;
}

int sw__server_ws_state(const sw_server_t *srv, uint64_t session, bool pending)
{
    if (!srv) {
        return SW_EINVAL;
    }
    int st = atomic_load(&srv->state);
    if ((st != SW__S_RUNNING && st != SW__S_STOPPING) || !srv->shm) {
        return SW_ESERVER_STATE;
    }
    if (sw__server_is_ws(srv, session, pending)) {
        return 0;
    }
    return session != 0 && sw__session_find(srv, session, NULL, NULL) == 0 ? SW_EPROTOTYPE
                                                                           : SW_ESESSION;
}

int sw__server_ws_list(sw_server_t *srv, uint64_t *cursor, uint64_t *out, size_t max)
{
    for (;;) {
        int n = sw_server_connections(srv, cursor, out, max);
        if (n <= 0) {
            return n;
        }
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (sw__server_is_ws(srv, out[i], false)) {
                out[k++] = out[i];
            }
        }
        if (k > 0) {
            return k;
        }
    }
}
