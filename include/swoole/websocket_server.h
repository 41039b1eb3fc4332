/*
 * The WebSocket server: Swoole's swoole_websocket_server for C, on top of the HTTP server
 * (swoole/http_server.h) of a sw_server_t.
 *
 *     sw_http_server_create(&hs, srv);
 *     sw_http_server_enable_port(hs, port);
 *     sw_websocket_server_create(&ws, hs);
 *     sw_websocket_server_enable_port(ws, port);       (open_websocket_protocol on the port)
 *     sw_websocket_handlers_t h = {.on_message = on_message};
 *     sw_websocket_server_set_handlers(ws, &h, NULL);
 *     sw_http_server_set_handlers(hs, &hh, NULL);      (HTTP requests still reach on_request)
 *     sw_server_start(srv);
 *     sw_websocket_server_destroy(ws);                  (before sw_http_server_destroy)
 *
 *     static void on_message(sw_websocket_server_t *ws, const sw_websocket_frame_t *f, void *a)
 *     {
 *         sw_websocket_push(sw_websocket_server_server(ws), f->session, f->data, f->len,
 *                           f->opcode, SW_WEBSOCKET_FLAG_FIN);
 *     }
 *
 * How it works. On a WebSocket port, a request asking to upgrade stops the framing of its
 * connection where the connection lives (the worker in BASE mode, a reactor thread in PROCESS
 * and THREAD modes) until the worker has answered it. The worker validates the handshake
 * (RFC 6455 §4.2.1), asks on_handshake when set, and either answers 101 and switches the
 * connection to WebSocket framing, or answers 400/426 (or the status on_handshake returned)
 * and goes on with HTTP. Once switched, the server cuts whole frames (each at most
 * websocket_max_frame_size and package_max_length: 1009 past it) and the worker decodes them:
 * fragments are reassembled, compressed messages inflated, text checked for UTF-8, and every
 * whole message goes to on_message. Pings are answered with pongs, a close frame with a close
 * frame carrying the same code (then the connection closes), and every protocol violation
 * with the close code RFC 6455 gives for it (1002 protocol error, 1007 invalid UTF-8 or
 * compressed data, 1009 too big), after which the connection closes.
 *
 * Requirements: every frame of a connection must reach the same worker, so PROCESS/THREAD
 * servers need a dispatch_mode that keeps a connection on one worker (2, 4 or 5; with 1 or 3
 * a frame that reaches another worker closes the connection with 1011). sw_websocket_push to
 * a connection owned by another worker process is not available in BASE mode with several
 * workers (SW_ENOTSUP, as sw_server_send).
 *
 * Threads: the handlers run on the worker's loop thread. sw_websocket_push, _disconnect,
 * _is_established and _connections may be called wherever sw_server_send may.
 */
#ifndef SWOOLE_WEBSOCKET_SERVER_H
#define SWOOLE_WEBSOCKET_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swoole/common.h"
#include "swoole/http_server.h"
#include "swoole/server.h"
#include "swoole/websocket.h"

SW_EXTERN_C_BEGIN

typedef struct sw_websocket_server_s sw_websocket_server_t;

/** Flags of sw_websocket_push. */
#define SW_WEBSOCKET_FLAG_FIN      0x1u /* the last frame of its message */
#define SW_WEBSOCKET_FLAG_COMPRESS 0x2u /* a hint: messages are always sent uncompressed */

/** One whole message received (fragments reassembled). Valid while on_message runs. */
typedef struct sw_websocket_frame_s {
    uint64_t session;
    unsigned opcode;  /* SW_WS_OP_TEXT or SW_WS_OP_BINARY */
    const char *data; /* the payload (decompressed); text is valid UTF-8; not NUL-terminated */
    size_t len;
    bool fin;        /* always true: messages are whole */
    bool compressed; /* it arrived compressed (permessage-deflate) */
} sw_websocket_frame_t;

/**
 * Asked after a valid opening handshake, before it is answered. May add headers and cookies
 * to `resp` (sw_http_response_header/_cookie: they go into the 101 answer) but must not end,
 * write or send it. Return 0 to accept, or an HTTP status 400..599 to refuse: the server
 * answers it (empty body) and the connection goes on as HTTP.
 */
typedef int (*sw_websocket_handshake_cb)(sw_websocket_server_t *ws, sw_http_request_t *req,
                                         sw_http_response_t *resp, void *arg);
/** The connection is a WebSocket connection now (the 101 is on its way); `req` is the upgrade
 * request, valid during the call. Pushing to the session from here is fine. */
typedef void (*sw_websocket_open_cb)(sw_websocket_server_t *ws, sw_http_request_t *req, void *arg);
typedef void (*sw_websocket_message_cb)(sw_websocket_server_t *ws,
                                        const sw_websocket_frame_t *frame, void *arg);
/** A WebSocket connection closed. `code`: the close code the peer sent (1005 when its close
 * frame had none), the code the worker closed with after a violation, or 1006 when the
 * connection ended without a close frame from the peer (also after sw_websocket_disconnect,
 * and after a frame over the size limit, answered 1009 where the connection lives before the
 * worker sees it). Called on the worker that had the connection, before the HTTP server's
 * on_close. */
typedef void (*sw_websocket_close_cb)(sw_websocket_server_t *ws, uint64_t session, unsigned code,
                                      void *arg);

typedef struct sw_websocket_handlers_s {
    sw_websocket_handshake_cb on_handshake; /* NULL: accept every valid handshake */
    sw_websocket_open_cb on_open;
    sw_websocket_message_cb on_message; /* NULL: messages are dropped */
    sw_websocket_close_cb on_close;
} sw_websocket_handlers_t;

/**
 * Creates the WebSocket server over the HTTP server `hs` (not owned; one per HTTP server).
 * Before sw_server_start. Returns 0 and stores it in *out, SW_EINVAL (NULL), SW_EEXIST (hs
 * already has one) or SW_ENOMEM.
 */
SW_API int sw_websocket_server_create(sw_websocket_server_t **out, sw_http_server_t *hs);

/** Frees it (after sw_server_start has returned, or if it never ran; before the HTTP
 * server). Returns 0 or SW_EINVAL. */
SW_API int sw_websocket_server_destroy(sw_websocket_server_t *ws);

/** The server below (NULL for NULL). */
SW_API sw_server_t *sw_websocket_server_server(const sw_websocket_server_t *ws);

/**
 * Accepts WebSocket handshakes on `port` (an HTTP port: sw_http_server_enable_port is called
 * when it is not one yet): sets its open_websocket_protocol. Before start. Returns 0,
 * SW_EINVAL, SW_EOVERFLOW (17th port) or the errors of sw_http_server_enable_port.
 */
SW_API int sw_websocket_server_enable_port(sw_websocket_server_t *ws, sw_port_t *port);

/**
 * Sets an option by name (before start). Names, values and defaults:
 *   "websocket_max_message_size"  largest message after reassembly and decompression, in
 *                                 bytes, 1..1073741824 (1009 past it) [2097152]
 *   "websocket_compression"       accept permessage-deflate ["false"; "true" needs zlib]
 *   "websocket_subprotocol"       answer this subprotocol when the client offers it [none]
 * The frame limit is the port option "websocket_max_frame_size" (sw_port_set_option) and
 * package_max_length. Returns 0, SW_EINVAL (NULL), SW_EOPTION_UNKNOWN, SW_EOPTION_VALUE
 * ("websocket_compression" "true" without zlib, bad numbers, a subprotocol that is not a
 * token), SW_ESERVER_STATE (started) or SW_ENOMEM.
 */
SW_API int sw_websocket_server_set_option(sw_websocket_server_t *ws, const char *name,
                                          const char *value);

/** Sets the handlers (copied). Before start. Returns 0, SW_EINVAL or SW_ESERVER_STATE. */
SW_API int sw_websocket_server_set_handlers(sw_websocket_server_t *ws,
                                            const sw_websocket_handlers_t *h, void *arg);

/**
 * Sends one frame to a WebSocket connection of `srv` (any worker's, any process of the
 * server, as sw_server_send): `opcode` SW_WS_OP_TEXT, _BINARY, _CONTINUATION, _PING or _PONG;
 * `flags` SW_WEBSOCKET_FLAG_FIN for the last (or only) frame of a message (control frames
 * always have it). Text is sent as given (not checked for UTF-8). Returns 0, SW_EINVAL (srv
 * NULL, data NULL with len > 0, a bad opcode or flags, a control frame over 125 bytes),
 * SW_ESESSION (closed or unknown), SW_EPROTOTYPE (not a WebSocket connection, or its
 * handshake is not done yet as seen from another worker) or the errors of sw_server_send.
 */
SW_API int sw_websocket_push(sw_server_t *srv, uint64_t session, const void *data, size_t len,
                             unsigned opcode, unsigned flags);

/**
 * Closes a WebSocket connection: a close frame with `code` (a code valid on the wire,
 * sw_ws_close_code_valid) and `reason` (UTF-8, at most 123 bytes; NULL for none), then the
 * connection closes once its output is written. Returns 0, SW_EINVAL (bad code or reason),
 * SW_ESESSION, SW_EPROTOTYPE or the errors of sw_server_send.
 */
SW_API int sw_websocket_disconnect(sw_server_t *srv, uint64_t session, unsigned code,
                                   const char *reason, size_t reason_len);

/** 1 when `session` is an open WebSocket connection whose switch is done, else 0. */
SW_API int sw_websocket_is_established(sw_server_t *srv, uint64_t session);

/**
 * Lists WebSocket connections (for broadcasts), from `*cursor` (0 to start), as
 * sw_server_connections: returns how many sessions were stored in out[0..max) (0 at the end)
 * and advances the cursor; SW_EINVAL or SW_ESERVER_STATE. A connection opened or closed
 * during the walk may or may not be listed.
 */
SW_API int sw_websocket_connections(sw_server_t *srv, uint64_t *cursor, uint64_t *out, size_t max);

SW_EXTERN_C_END

#endif
