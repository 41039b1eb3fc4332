/*
 * The WebSocket server (swoole/websocket_server.h): the handshake on an HTTP request, the
 * per-connection decoder each worker keeps, and the calls that send frames.
 *
 * The handshake. The reactor holds a connection after an upgrade request on a WebSocket port
 * (server/framing.h); the worker always answers the hold: with the switch to WebSocket framing
 * carrying the 101 response (sent by the reactor before anything framed the new way), or with
 * a release to HTTP framing after its refusal or for a request that is not a WebSocket
 * handshake (Upgrade: h2c...), which then goes to on_request as any request.
 *
 * Frames. The reactor hands the worker whole frames; the worker copies each into its scratch
 * buffer (the decoder unmasks in place, and the server's message buffer is the caller's) and
 * feeds the connection's decoder (swoole/websocket.h) in message mode: fragments reassembled,
 * permessage-deflate inflated, text checked for UTF-8, limits applied. Pings are answered,
 * close frames echoed, violations answered with their close code; then the connection closes
 * once the close frame is written. Outgoing messages are never compressed (RFC 7692 lets a
 * sender compress any subset of its messages, none included), so sending needs no
 * per-connection state and works from any worker.
 */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "httpd/httpd_int.h"
#include "server/framing.h"
#include "swoole/error.h"
#include "swoole/websocket.h"
#include "swoole/websocket_server.h"

struct sw_websocket_server_s {
    sw_http_server_t *hs;
    sw_websocket_handlers_t h;
    void *arg;
    sw_port_t *ports[SW__HTTPD_MAX_PORTS];
    int nports;
    uint64_t max_message;
    bool compression;
    char *subprotocol;
};

struct sw__wsconn_s {
    sw_ws_decoder_t *dec;
    unsigned close_code; /* reported to on_close: 0 until a close frame was seen or sent */
    bool closing;        /* a close frame was sent: input is ignored */
};

/* ---- the object ----------------------------------------------------------------------------- */

int sw_websocket_server_create(sw_websocket_server_t **out, sw_http_server_t *hs)
{
    if (!out || !hs) {
        return SW_EINVAL;
    }
    if (hs->ws) {
        return SW_EEXIST;
    }
    sw_websocket_server_t *ws = sw__calloc(1, sizeof(*ws));
    if (!ws) {
        return SW_ENOMEM;
    }
    ws->hs = hs;
    ws->max_message = SW_WS_DEFAULT_MAX_MESSAGE;
    hs->ws = ws;
    *out = ws;
    return 0;
}

int sw_websocket_server_destroy(sw_websocket_server_t *ws)
{
    if (!ws) {
        return SW_EINVAL;
    }
    if (ws->hs->ws == ws) {
        ws->hs->ws = NULL;
    }
    sw__free(ws->subprotocol);
    sw__free(ws);
    return 0;
}

sw_server_t *sw_websocket_server_server(const sw_websocket_server_t *ws)
{
    return ws ? ws->hs->srv : NULL;
}

int sw_websocket_server_enable_port(sw_websocket_server_t *ws, sw_port_t *port)
{
    if (!ws || !port) {
        return SW_EINVAL;
    }
    for (int i = 0; i < ws->nports; i++) {
        if (ws->ports[i] == port) {
            return 0;
        }
    }
    if (ws->nports == SW__HTTPD_MAX_PORTS) {
        return SW_EOVERFLOW;
    }
    int rc = sw_http_server_enable_port(ws->hs, port);
    if (rc == 0) {
        rc = sw_port_set_option(port, "open_websocket_protocol", "1");
    }
    if (rc < 0) {
        return rc;
    }
    ws->ports[ws->nports++] = port;
    return 0;
}

static bool is_token(const char *s)
{
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", c)) {
            return false;
        }
    }
    return true;
}

int sw_websocket_server_set_option(sw_websocket_server_t *ws, const char *name, const char *value)
{
    if (!ws || !name || !value) {
        return SW_EINVAL;
    }
    if (sw_server_master_pid(ws->hs->srv) != 0) {
        return SW_ESERVER_STATE;
    }
    if (strcmp(name, "websocket_max_message_size") == 0) {
        char *end;
        unsigned long long v = strtoull(value, &end, 10);
        if (value[0] < '0' || value[0] > '9' || *end || v == 0 || v > ((uint64_t)1 << 30)) {
            return SW_EOPTION_VALUE;
        }
        ws->max_message = v;
        return 0;
    }
    if (strcmp(name, "websocket_compression") == 0) {
        bool b;
        if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0) {
            b = true;
        } else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0) {
            b = false;
        } else {
            return SW_EOPTION_VALUE;
        }
        if (b && !sw_ws_deflate_supported()) {
            return SW_EOPTION_VALUE;
        }
        ws->compression = b;
        return 0;
    }
    if (strcmp(name, "websocket_subprotocol") == 0) {
        if (!is_token(value)) {
            return SW_EOPTION_VALUE;
        }
        char *s = sw__strdup(value);
        if (!s) {
            return SW_ENOMEM;
        }
        sw__free(ws->subprotocol);
        ws->subprotocol = s;
        return 0;
    }
    return SW_EOPTION_UNKNOWN;
}

int sw_websocket_server_set_handlers(sw_websocket_server_t *ws, const sw_websocket_handlers_t *h,
                                     void *arg)
{
    if (!ws || !h) {
        return SW_EINVAL;
    }
    if (sw_server_master_pid(ws->hs->srv) != 0) {
        return SW_ESERVER_STATE;
    }
    ws->h = *h;
    ws->arg = arg;
    return 0;
}

/* ---- sending ------------------------------------------------------------------------------ */

/* Sends one server frame (unmasked) as one sw_server_send, so that frames sent from several
 * threads never interleave. */
static int send_frame(sw_server_t *srv, uint64_t session, unsigned opcode, unsigned wire_flags,
                      const void *data, size_t len)
{
    uint8_t hdr[SW_WS_MAX_FRAME_HEADER];
    int hl = sw_ws_frame_header(hdr, opcode, wire_flags, len, NULL);
    if (hl < 0) {
        return hl == SW_EMSGSIZE ? SW_EINVAL : hl;
    }
    if (len > SIZE_MAX - (size_t)hl) {
        return SW_EINVAL;
    }
    /* Header and payload as one send, without joining them where the connection lives. */
    return sw__server_send2(srv, session, hdr, (size_t)hl, data, len);
}

int sw_websocket_push(sw_server_t *srv, uint64_t session, const void *data, size_t len,
                      unsigned opcode, unsigned flags)
{
    if (!srv || (!data && len) || (flags & ~(SW_WEBSOCKET_FLAG_FIN | SW_WEBSOCKET_FLAG_COMPRESS))) {
        return SW_EINVAL;
    }
    bool control = opcode == SW_WS_OP_PING || opcode == SW_WS_OP_PONG;
    if (!control && opcode != SW_WS_OP_TEXT && opcode != SW_WS_OP_BINARY &&
        opcode != SW_WS_OP_CONTINUATION) {
        return SW_EINVAL;
    }
    if (control && len > SW_WS_MAX_CONTROL_PAYLOAD) {
        return SW_EINVAL;
    }
    int rc = sw__server_ws_state(srv, session, true);
    if (rc < 0) {
        return rc;
    }
    unsigned fin = control || (flags & SW_WEBSOCKET_FLAG_FIN) ? SW_WS_FIN : 0;
    return send_frame(srv, session, opcode, fin, data, len);
}

int sw_websocket_disconnect(sw_server_t *srv, uint64_t session, unsigned code, const char *reason,
                            size_t reason_len)
{
    if (!srv || (!reason && reason_len)) {
        return SW_EINVAL;
    }
    uint8_t payload[SW_WS_MAX_CONTROL_PAYLOAD];
    int n = sw_ws_close_payload(payload, code, reason, reason_len);
    if (n < 0) {
        return SW_EINVAL;
    }
    int rc = sw__server_ws_state(srv, session, true);
    if (rc < 0) {
        return rc;
    }
    rc = send_frame(srv, session, SW_WS_OP_CLOSE, SW_WS_FIN, payload, (size_t)n);
    if (rc == 0) {
        rc = sw_server_close(srv, session, 0);
    }
    return rc;
}

int sw_websocket_is_established(sw_server_t *srv, uint64_t session)
{
    return sw__server_is_ws(srv, session, false) ? 1 : 0;
}

int sw_websocket_connections(sw_server_t *srv, uint64_t *cursor, uint64_t *out, size_t max)
{
    if (!srv || !cursor || !out || max == 0) {
        return SW_EINVAL;
    }
    return sw__server_ws_list(srv, cursor, out, max);
}

/* ---- the handshake ------------------------------------------------------------------------ */

static bool ws_port(const sw_websocket_server_t *ws, const sw_port_t *p)
{
    for (int i = 0; i < ws->nports; i++) {
        if (ws->ports[i] == p) {
            return true;
        }
    }
    return false;
}

static int select_protocol(void *arg, const sw_ws_slice_t *offers, size_t n)
{
    const char *want = arg;
    size_t wl = strlen(want);
    for (size_t i = 0; i < n; i++) {
        if (offers[i].len == wl && memcmp(offers[i].ptr, want, wl) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Answers a refused handshake (keep-alive as the request allows) and releases the hold. */
static void refuse(sw_http_server_t *hs, sw__hconn_t *c, sw_http_response_t *resp, int status)
{
    (void)sw_http_response_status(resp, status, NULL);
    if (status == 426) {
        (void)sw_http_response_header(resp, "Sec-WebSocket-Version", "13");
    }
    (void)sw_http_response_end(resp, NULL, 0);
    (void)sw__server_framing(hs->srv, c->session, SW__FRAMING_PORT, NULL, 0);
}

static void ws_state_free(sw__wsconn_t *wc)
{
    sw_ws_decoder_destroy(wc->dec);
    sw__free(wc);
}

static sw__wsconn_t *ws_state_new(const sw_websocket_server_t *ws, const sw_ws_handshake_t *hk)
{
    sw__wsconn_t *wc = sw__calloc(1, sizeof(*wc));
    if (!wc) {
        return NULL;
    }
    sw_ws_decoder_options_t o;
    sw_ws_decoder_options_init(&o);
    o.role = SW_WS_ROLE_SERVER;
    o.max_message_size = ws->max_message;
    if (sw_ws_decoder_create(&wc->dec, &o) < 0 ||
        (hk->deflate && sw_ws_decoder_set_deflate(wc->dec, &hk->deflate_params) < 0)) {
        ws_state_free(wc);
        return NULL;
    }
    return wc;
}

int sw__wsd_request(sw_http_server_t *hs, sw__hconn_t *c, sw_http_request_t *req,
                    sw_http_response_t *resp)
{
    sw_websocket_server_t *ws = hs->ws;
    sw_server_t *srv = hs->srv;
    sw__httpd_identify(hs, c);
    if (!c->port || !ws_port(ws, c->port)) {
        /* Another HTTP port (held only if the user set open_websocket_protocol on it), or the
         * port is unknown: release; a release of a connection that is not held is a no-op. */
        (void)sw__server_framing(srv, c->session, SW__FRAMING_PORT, NULL, 0);
        return 0;
    }
    sw_ws_headers_t h;
    sw_ws_headers_init(&h);
    size_t n;
    h.method.ptr = sw_http_request_method_name(req, &n);
    h.method.len = n;
    h.http_version = sw_http_request_version(req);
    size_t count = sw_http_request_header_count(req);
    for (size_t i = 0; i < count; i++) {
        const char *name, *value;
        size_t nl, vl;
        if (sw_http_request_header_at(req, i, &name, &nl, &value, &vl) == 0) {
            (void)sw_ws_headers_add(&h, name, nl, value, vl);
        }
    }
    sw_ws_server_options_t so;
    sw_ws_server_options_init(&so);
    so.deflate = ws->compression;
    if (ws->subprotocol) {
        so.select_protocol = select_protocol;
        so.select_arg = ws->subprotocol;
    }
    sw_ws_handshake_t hk;
    int rc = sw_ws_handshake_accept(&h, &so, &hk);
    if (rc < 0 && hk.detail == SW_WS_DETAIL_UPGRADE) {
        /* Upgrade to something else: an ordinary request (RFC 9110 §7.8 lets a server
         * ignore Upgrade). */
        (void)sw__server_framing(srv, c->session, SW__FRAMING_PORT, NULL, 0);
        return 0;
    }
    if (rc < 0) {
        refuse(hs, c, resp, sw_ws_handshake_status(rc));
        return 1;
    }
    if (c->live != resp) {
        /* An upgrade pipelined behind unfinished responses: the 101 could not wait its turn
         * in the response queue while the connection's framing is switched. */
        refuse(hs, c, resp, 503);
        return 1;
    }
    if (ws->h.on_handshake) {
        int st = ws->h.on_handshake(ws, req, resp, ws->arg);
        if (st != 0) {
            refuse(hs, c, resp, st >= 400 && st <= 599 ? st : 403);
            return 1;
        }
    }
    /* The 101: the negotiated fields, then the header lines on_handshake added. */
    char *extra = NULL;
    if (resp->head.length) {
        extra = sw__malloc(resp->head.length + 1);
        if (extra) {
            memcpy(extra, resp->head.str, resp->head.length);
            extra[resp->head.length] = '\0';
        }
    }
    size_t cap = 512 + resp->head.length;
    char *buf = sw__malloc(cap);
    sw__wsconn_t *wc = ws_state_new(ws, &hk);
    int len = buf && wc && (extra || !resp->head.length)
                  ? sw_ws_handshake_response(&hk, extra, buf, cap)
                  : SW_ENOMEM;
    sw__free(extra);
    if (len < 0) {
        sw__free(buf);
        if (wc) {
            ws_state_free(wc);
        }
        refuse(hs, c, resp, len == SW_EINVAL ? 500 : 503);
        return 1;
    }
    sw__httpd_response_drop(resp);
    rc = sw__server_framing(srv, c->session, SW__FRAMING_WS, buf, (size_t)len);
    sw__free(buf);
    if (rc == 0) {
        rc = sw__server_ws_mark(srv, c->session);
    }
    if (rc < 0) {
        ws_state_free(wc);
        (void)sw_server_close(srv, c->session, 1);
        return 1;
    }
    c->ws = wc;
    c->dead = false;
    if (ws->h.on_open) {
        ws->h.on_open(ws, req, ws->arg);
    }
    return 1;
}

/* ---- frames ------------------------------------------------------------------------------- */

/* Ends the connection with a close frame carrying `code` (0: no code). */
static void close_with(sw_http_server_t *hs, sw__hconn_t *c, unsigned code)
{
    sw__wsconn_t *wc = c->ws;
    uint8_t payload[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    wc->closing = true;
    if (!wc->close_code) {
        wc->close_code = code ? code : SW_WS_CLOSE_NO_STATUS;
    }
    (void)send_frame(hs->srv, c->session, SW_WS_OP_CLOSE, SW_WS_FIN, payload, code ? 2 : 0);
    (void)sw_server_close(hs->srv, c->session, 0);
}

void sw__wsd_frame(sw_http_server_t *hs, sw__hconn_t *c, const char *data, size_t len)
{
    sw__wsconn_t *wc = c->ws;
    sw_websocket_server_t *ws = hs->ws;
    if (wc->closing) {
        return;
    }
    if (!ws) {
        close_with(hs, c, SW_WS_CLOSE_INTERNAL_ERROR);
        return;
    }
    /* The frame is unmasked in place: the received bytes are ours to change during the call
     * (server/framing.h). */
    uint8_t *p = (uint8_t *)(uintptr_t)data;
    size_t left = len;
    for (;;) {
        size_t used = 0;
        sw_ws_event_t ev;
        int r = sw_ws_decoder_execute(wc->dec, p, left, &used, &ev);
        p += used;
        left -= used;
        if (r == SW_WS_EVENT_NONE) {
            break;
        }
        if (r < 0) {
            close_with(hs, c, (unsigned)sw_ws_decoder_close_code(wc->dec));
            break;
        }
        if (r == SW_WS_EVENT_MESSAGE) {
            if (ws->h.on_message) {
                sw_websocket_frame_t f = {.session = c->session,
                                          .opcode = ev.opcode,
                                          .data = (const char *)ev.data,
                                          .len = ev.len,
                                          .fin = true,
                                          .compressed = ev.compressed};
                ws->h.on_message(ws, &f, ws->arg);
            }
        } else if (r == SW_WS_EVENT_PING) {
            (void)send_frame(hs->srv, c->session, SW_WS_OP_PONG, SW_WS_FIN, ev.data, ev.len);
        } else if (r == SW_WS_EVENT_CLOSE) {
            /* RFC 6455 §5.5.1: answer with a close frame, echoing the code. */
            wc->close_code = ev.close_code;
            close_with(hs, c, ev.close_code == SW_WS_CLOSE_NO_STATUS ? 0 : ev.close_code);
            break;
        }
        if (wc->closing) {
            break;
        }
    }
}

int sw__wsd_foreign(sw_http_server_t *hs, sw__hconn_t *c)
{
    if (!sw__server_is_ws(hs->srv, c->session, true)) {
        return 0;
    }
    /* Another worker accepted this connection's handshake (a dispatch mode that moves
     * connections between workers): this one has no decoder for it. */
    uint8_t payload[2] = {SW_WS_CLOSE_INTERNAL_ERROR >> 8, SW_WS_CLOSE_INTERNAL_ERROR & 0xff};
    c->dead = true;
    (void)send_frame(hs->srv, c->session, SW_WS_OP_CLOSE, SW_WS_FIN, payload, 2);
    (void)sw_server_close(hs->srv, c->session, 0);
    return 1;
}

void sw__wsd_conn_gone(sw_http_server_t *hs, sw__hconn_t *c, bool notify)
{
    sw__wsconn_t *wc = c->ws;
    if (!wc) {
        return;
    }
    c->ws = NULL;
    sw_websocket_server_t *ws = hs->ws;
    if (notify && ws && ws->h.on_close) {
        ws->h.on_close(ws, c->session, wc->close_code ? wc->close_code : SW_WS_CLOSE_ABNORMAL,
                       ws->arg);
    }
    ws_state_free(wc);
}
