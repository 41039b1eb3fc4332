/*
 * Helpers of the WebSocket server tests: a WebSocket + HTTP server with the tests' behaviour
 * run in a forked child (BASE, PROCESS or THREAD mode), and a blocking WebSocket client built
 * from swoole/websocket.h (handshake request, masked frames, a client-role decoder).
 *
 * The test server, on one port (open_websocket_protocol; websocket_max_frame_size 1200000;
 * websocket_max_message_size 1300000):
 *   HTTP  /hello -> "hello\n";  /echo -> the body;  /whoami -> the session id
 *   WS    handshake on any path except /refuse (on_handshake answers 403); the 101 carries
 *         "X-Handshake: yes"; path /greet pushes "welcome" from on_open.
 *         Messages are echoed with their opcode, except text commands:
 *           "cmd:whoami"          -> the session id (text)
 *           "cmd:push:<sid>"      -> push "x" to <sid>; answers "rc=<code>"
 *           "cmd:est:<sid>"       -> "est=<sw_websocket_is_established>"
 *           "cmd:bcast:<text>"    -> <text> pushed to every WebSocket connection, then
 *                                    "sent=<n>" to the sender
 *           "cmd:frag:<text>"     -> <text> sent back as a fragment and its continuation
 *           "cmd:close:<code>"    -> sw_websocket_disconnect(code, "bye")
 */
#ifndef SW_TEST_WSD_UTIL_H
#define SW_TEST_WSD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "swoole/websocket_server.h"

typedef struct {
    pid_t pid;
    int port;
} wsrv_t;

/* Options: pairs, NULL-terminated; "port:" prefixed names go to the port, "ws:" prefixed to
 * the WebSocket server, the others to the server. */
void wsrv_start(wsrv_t *s, sw_server_mode_t mode, int workers, const char *const *opts);
void wsrv_stop(wsrv_t *s);

typedef struct {
    int fd;
    sw_ws_decoder_t *dec;
    uint8_t *buf; /* received bytes not decoded yet: buf[off..len) */
    size_t len, off, cap;
    char head[4096]; /* the handshake response head, NUL-terminated */
    int status;
} wcli_t;

/* Connects and sends the opening handshake for `path` with `extra` header lines (CRLF
 * terminated, or NULL) and `trailing` bytes in the same write (frames sent before the answer,
 * or NULL); reads the response head. Returns its status (101 on success). */
int wcli_open(wcli_t *c, int port, const char *path, const char *extra, const void *trailing,
              size_t trailing_len);
/* The value of a header of the handshake response, into out; 0 or -1. */
int wcli_header(const wcli_t *c, const char *name, char *out, size_t cap);
/* Writes one frame: `first` is the first header byte (FIN, RSV, opcode), masked unless
 * `unmasked`. */
void wcli_frame(wcli_t *c, unsigned first, const void *data, size_t len, bool unmasked);
/* A frame with an arbitrary 64-bit length field and no payload (oversize tests). */
void wcli_frame_header_only(wcli_t *c, unsigned first, uint64_t len);
/* The next event (MESSAGE, PING, PONG, CLOSE); 0 when the connection ended first. The data
 * stays valid until the next call. Fails the test on a decoding error or a timeout. */
int wcli_next(wcli_t *c, sw_ws_event_t *ev);
/* Reads the next event and checks it is a message with this opcode and content. */
void wcli_expect(wcli_t *c, unsigned opcode, const void *data, size_t len);
/* The next event must be a close with this code; then the connection must end. */
void wcli_expect_close(wcli_t *c, unsigned code);
void wcli_close(wcli_t *c);

#endif
