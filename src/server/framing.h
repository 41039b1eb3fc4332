/*
 * Per-connection framing mode: the one piece of protocol state a server keeps for a
 * connection beyond its input buffer, for the layers above the server (src/httpd).
 *
 * A connection starts framed by its port's spec (SW__FRAMING_PORT). On a port with
 * open_websocket_protocol, HTTP framing flags a request that asks to upgrade; the reactor
 * then holds the connection (SW__C_HOLD: nothing more is framed or read) after handing that
 * request over, until the worker answers with sw__server_framing:
 *   - handshake accepted: mode SW__FRAMING_WS with the 101 response as `first`: the reactor
 *     sends the 101, frames everything after it (bytes already buffered included) as
 *     WebSocket frames, and resumes reading;
 *   - anything else: mode SW__FRAMING_PORT (HTTP framing goes on), `first` empty.
 * The request goes through the same path as sends (direct on the owner's loop thread, posted
 * to another thread's loop, or forwarded over the worker's channel in PROCESS mode), so it is
 * ordered with the worker's sends to the session: the 101 leaves before any frame the worker
 * sends after it, and no byte the client sends after the upgrade request is framed as HTTP.
 */
#ifndef SW_SERVER_FRAMING_H
#define SW_SERVER_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swoole/server.h"

/* A message that is a piece of an HTTP request delivered in pieces (http_piece_size): more
 * pieces of the request follow (MORE), and it is not the first (CONT). In PROCESS/THREAD
 * mode they travel in the ext field of SW_IPC_DATA, and every piece of a request goes to the
 * worker that got the first. */
#define SW__MSG_MORE 0x1u
#define SW__MSG_CONT 0x2u

/* The SW__MSG_* bits of the message on_receive is running for, on the calling thread (0
 * for a whole message); read it at the start of on_receive. */
unsigned sw__server_msg_piece(void);
void sw__server_set_msg_piece(unsigned piece);

/* The calling worker keeps (+1) or let go (-1) of a request in pieces: while it keeps any,
 * max_request does not stop it (the rest of those requests is on its way to it). Worker
 * loop thread only; nothing outside a worker. */
void sw__server_hold(sw_server_t *srv, int delta);

/* sw_server_sendfile of a file the caller gives away: whoever opens it (the owner of the
 * session, maybe later, in another process) unlinks it right after, and it is unlinked too
 * when the call fails. For the temporary files of the HTTP server. */
int sw__server_sendfile(sw_server_t *srv, uint64_t session, const char *path, uint64_t offset,
                        uint64_t length, bool unlink_after);
/* sw_server_send of `a` then `b` as one send: on the session's own loop thread both go to
 * its output back to back without being joined (the WebSocket layer's frame header and
 * payload); elsewhere they are joined into one message. Returns what sw_server_send returns. */
int sw__server_send2(sw_server_t *srv, uint64_t session, const void *a, size_t alen, const void *b,
                     size_t blen);
/* The bytes handed to on_receive are the server's private copy for the duration of the call
 * (the connection's input in BASE mode, the IPC receive buffer in PROCESS/THREAD mode): the
 * layers above (the WebSocket server unmasks frames in place) may modify them, and only
 * them, until the callback returns. */

/* The flag's bit in the length field of a forwarded SENDFILE request. */
#define SW__SENDFILE_UNLINK (UINT64_C(1) << 63)

#define SW__FRAMING_PORT 0 /* the port's spec (sw_protocol_next) */
#define SW__FRAMING_WS   1 /* WebSocket frames (sw_protocol_next_websocket) */

/* Sets the framing mode of `session` after sending `first` (len bytes, may be 0) and
 * releases its hold. Any thread where sw_server_send is allowed. Returns 0, SW_EINVAL,
 * SW_ESESSION, or the errors of sw_server_send. */
int sw__server_framing(sw_server_t *srv, uint64_t session, unsigned mode, const void *first,
                       size_t len);

/* Marks `session` in the session directory as "handshake accepted, switch on its way"
 * (SW__DIR_WSP). The worker that accepted the handshake calls it after sw__server_framing and
 * before on_open, so that it may push from on_open: its pushes travel the same path as the
 * switch, after it. The reactor sets SW__DIR_WS when it switches. Returns 0 or SW_ESESSION. */
int sw__server_ws_mark(sw_server_t *srv, uint64_t session);
/* True for a WebSocket connection whose reactor has switched it; with `pending`, also for one
 * whose switch is on its way (sw__server_ws_mark). Any process or thread. */
bool sw__server_is_ws(const sw_server_t *srv, uint64_t session, bool pending);

/* 0 when sw__server_is_ws(srv, session, pending), else SW_EINVAL (srv NULL),
 * SW_ESERVER_STATE (not running), SW_EPROTOTYPE (open but not WebSocket) or SW_ESESSION. */
int sw__server_ws_state(const sw_server_t *srv, uint64_t session, bool pending);

/* Lists open WebSocket sessions from *cursor (0 to start) as sw_server_connections does.
 * Returns how many were stored (0: the end), or a negative code. */
int sw__server_ws_list(sw_server_t *srv, uint64_t *cursor, uint64_t *out, size_t max);

#endif
