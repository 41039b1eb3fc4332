/*
 * Stream framing: cutting a byte stream into messages, as Swoole's ports do with
 * open_eof_check, open_eof_split and open_length_check.
 *
 * A sw_protocol_t is the framing spec of one port (or client): plain options with Swoole's
 * setting names as fields, filled with defaults by sw_protocol_init and settable by name from
 * strings with sw_protocol_set_option. A sw_framer_t is the per-connection state. The framer
 * is a pure function over the caller's bytes: it never reads a socket, never allocates and
 * never copies. It looks at the unread bytes of the connection's input buffer and says whether
 * a whole message sits at their front, how long it is, or how many bytes are still needed.
 *
 * Framing modes (sw_protocol_mode):
 *
 *   none         raw stream: whatever has arrived is one message (Swoole without framing).
 *   EOF check    open_eof_check: a message is delivered when the buffered bytes END with
 *                package_eof; several messages that arrived together are delivered as one
 *                (Swoole's semantics: cheap, and boundaries depend on how the bytes arrived).
 *   EOF split    open_eof_split: every occurrence of package_eof ends one message; the
 *                boundaries do not depend on how the bytes arrived.
 *   length       open_length_check: a length field at package_length_offset, decoded with
 *                package_length_type, gives the message's total length
 *                package_body_offset + value; or a user function returns the total length.
 *
 * Every message is limited by package_max_length. A message over it is SW_EPKGTOOBIG,
 * reported as soon as it is known: when the length field is decoded (length framing, before
 * any of the body arrives), or when package_max_length bytes are buffered without a complete
 * message (EOF framing and user length functions). A length field that is negative or makes
 * a message shorter than its own header is SW_EPKGMALFORMED. The framer never needs more than
 * package_max_length bytes to decide, so an input buffer capped at package_max_length is
 * always enough; after an error the caller closes the connection (the server logs the code).
 *
 * The server's read path, per readable connection (`in` is the connection's sw_buffer_t,
 * created with max_size = package_max_length):
 *
 *     size_t want = framer_hint;                    (from the last call; 1 at first)
 *     read min(room, max(want - unread, chunk)) bytes into `in`  (sw_buffer_reserve/commit)
 *     for (;;) {
 *         size_t n;
 *         int r = sw_protocol_next(&port->proto, &conn->framer,
 *                                  in->str + in->offset, in->length - in->offset, &n);
 *         if (r < 0)  { log sw_err_name(r); close the connection; break; }
 *         if (r == 0) { framer_hint = n; break; }
 *         deliver(in->str + in->offset, n);
 *         sw_buffer_consume(in, n);
 *     }
 *     sw_buffer_recycle(in);          (or sw_buffer_clear when nothing is left unread)
 *
 * HTTP framing (open_http_protocol, SW_FRAMING_HTTP): a message is one whole HTTP/1.x request:
 * leading empty lines, the head up to its empty line, then the body framed by Content-Length
 * or the chunked coding (chunk sizes, data and trailers walked incrementally; nothing is
 * decoded or copied). The head is checked with the HTTP parser of swoole/http.h when its
 * empty line arrives, and its framing fields decide the body. Unlike the other modes, HTTP
 * framing does not fail on bad input: a request that cannot be framed is delivered as far as
 * it got so that the server can answer it with a status code before closing, and the server's
 * own parse of the message finds the fault again:
 *   - no empty line within http_max_header_size bytes: those bytes (an incomplete head: 431);
 *   - a head the parser rejects: the head (the parser's error: 400, 501, 505...);
 *   - a Content-Length body that would pass package_max_length: the head alone (a body that
 *     is short: 413), at once, before any of the body is read;
 *   - a chunked body that passes package_max_length: what arrived, up to the limit (413);
 *   - a chunk line that is not valid: up to and including the bad byte (the parser's error).
 * The bytes after such a message are not a request; the server closes the connection after
 * answering. An Upgrade or CONNECT request is delivered like any other message with its
 * body, and the framer goes on with HTTP; with open_websocket_protocol, an upgrade request is
 * flagged SW_FRAMER_UPGRADE so that its server can stop framing until it has decided (the
 * WebSocket switch is the server's: a framing mode kept per connection, after which it frames
 * with sw_protocol_next_websocket). A head with "Expect: 100-continue" whose body has not
 * started sets SW_FRAMER_CONTINUE (see sw_framer_t.flags).
 *
 * HTTP framing: pieces. With http_piece_size > 0, a request that is longer than
 * max(http_piece_size, its head + 1) bytes -- a Content-Length body that makes it so, or a
 * chunked body that has not ended by then -- is returned in pieces, each flagged
 * SW_FRAMER_PIECE, all but the last also SW_FRAMER_MORE: the first is the head and the body
 * bytes after it up to that length (returned only once that many bytes are there, so a head
 * with Expect: 100-continue still gets SW_FRAMER_CONTINUE first), the next ones
 * http_piece_size bytes each, the last what is left. Cuts fall anywhere in the raw bytes (in
 * chunk data, a chunk-size line or the trailers): a reader decodes the body incrementally
 * (sw_http_parser_body). The rules for requests that cannot be framed stay the same, applied
 * to the whole request: its last piece ends where the whole request would have ended (a
 * chunked body that passes package_max_length: the last piece ends at that limit, and the
 * body decoded from all pieces is incomplete). Upgrade requests flagged SW_FRAMER_UPGRADE
 * are never cut. The input a framed connection needs is then at most max(http_piece_size,
 * head + 1) bytes, whatever package_max_length allows.
 *
 * Thread-safety: every function here is reentrant. A sw_protocol_t may be read by any number
 * of threads at once (sw_protocol_next takes it const) as long as nobody changes it; a
 * sw_framer_t belongs to one connection and is used by one thread at a time.
 */
#ifndef SWOOLE_PROTOCOL_H
#define SWOOLE_PROTOCOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "swoole/common.h"

SW_EXTERN_C_BEGIN

/** Longest package_eof, in bytes (Swoole's limit). */
#define SW_PROTOCOL_EOF_MAX 8
/** Default package_max_length: 2 MiB, as Swoole. */
#define SW_PROTOCOL_DEFAULT_MAX_LENGTH ((size_t)2 << 20)
/** Largest package_max_length accepted: 1 GiB (also sw_buffer_t's default growth limit). */
#define SW_PROTOCOL_MAX_LENGTH_LIMIT ((size_t)1 << 30)
/** Largest package_length_offset and package_body_offset (Swoole stores them in 16 bits). */
#define SW_PROTOCOL_OFFSET_MAX 65535u

/**
 * A user length function (Swoole's package_length_func). It is called with the unread bytes
 * of the connection (`data`, `len` > 0; valid only during the call) and the spec's
 * package_length_arg, and returns:
 *   > 0  the total length of the message at the front of `data`, header included (it may be
 *        larger than `len`: the framer waits for the rest and does not call again for this
 *        message);
 *   0    not enough bytes to know yet (called again when more have arrived);
 *   < 0  malformed input: sw_protocol_next returns SW_EPKGMALFORMED.
 * It must not keep `data` and must not change the spec. It may be called from any thread that
 * frames a connection of the port.
 */
typedef ssize_t (*sw_protocol_length_cb)(const char *data, size_t len, void *arg);

/** The framing mode a spec selects; see the header comment. */
typedef enum {
    SW_FRAMING_NONE = 0,
    SW_FRAMING_EOF_CHECK = 1,
    SW_FRAMING_EOF_SPLIT = 2,
    SW_FRAMING_LENGTH = 3,
    SW_FRAMING_HTTP = 4
} sw_framing_t;

/**
 * A framing spec. Fields carry Swoole's setting names; set them directly from C (then call
 * sw_protocol_check) or by name with sw_protocol_set_option. The caller owns the struct; it
 * holds no resources and needs no close.
 */
typedef struct sw_protocol_s {
    /* EOF framing. open_eof_split implies open_eof_check (as in Swoole): split wins when both
     * are set. Default: both false. */
    bool open_eof_check;
    bool open_eof_split;
    /* Length framing. Default false. Exclusive with the EOF modes (sw_protocol_check). */
    bool open_length_check;
    /* package_eof: 1..SW_PROTOCOL_EOF_MAX bytes, any byte values (NUL included); only the
     * first package_eof_len bytes count. Default "\r\n". */
    uint8_t package_eof_len;
    char package_eof[SW_PROTOCOL_EOF_MAX];
    /* PHP pack() code of the length field: 'c' int8, 'C' uint8, 's' int16 host order, 'S'
     * uint16 host order, 'n' uint16 big-endian, 'v' uint16 little-endian, 'l' int32 host
     * order, 'L' uint32 host order, 'N' uint32 big-endian, 'V' uint32 little-endian.
     * Default 'N'. Ignored when package_length_func is set. */
    char package_length_type;
    /* Offset of the length field from the start of the message: 0..SW_PROTOCOL_OFFSET_MAX.
     * Default 0. */
    uint32_t package_length_offset;
    /* Swoole's package_body_offset (alias package_body_start): the message's total length is
     * package_body_offset + the decoded value. 0..SW_PROTOCOL_OFFSET_MAX. Default 4 (a 4-byte
     * length field that counts only the body, as Swoole's server ports). Use 0 when the
     * length counts the whole message, header included. */
    uint32_t package_body_offset;
    /* Largest message, in bytes: 1..SW_PROTOCOL_MAX_LENGTH_LIMIT, and at least the length
     * field's end (length framing) or package_eof_len (EOF framing). Default
     * SW_PROTOCOL_DEFAULT_MAX_LENGTH. Unlike Swoole (documented minimum 64 KiB), small
     * limits are kept as given: they are the memory bound of each connection's input. */
    size_t package_max_length;
    /* Optional user length function, used instead of the length field when open_length_check
     * is on; package_length_arg is handed to it. Default NULL. */
    sw_protocol_length_cb package_length_func;
    void *package_length_arg;
    /* HTTP/1.x request framing (open_http_protocol): one message per request, head and body
     * (Content-Length or chunked); see "HTTP framing" below. Exclusive with the EOF and
     * length modes. Default false. */
    bool open_http_protocol;
    /* Largest request head (request line, fields, empty line) in HTTP framing:
     * 64..0x7fffffff (checked when HTTP framing is on); package_max_length caps it when
     * smaller. Default 65536. */
    uint32_t http_max_header_size;
    /* Swoole's open_websocket_protocol: in HTTP framing, a request that asks to upgrade
     * (SW_HTTP_F_UPGRADE: Upgrade with "Connection: upgrade", HTTP/1.1) is flagged
     * SW_FRAMER_UPGRADE when returned, so that a server stops framing the connection until
     * its worker has answered (the bytes after it may be WebSocket frames). Setting it by name
     * also turns open_http_protocol on. Default false. */
    bool open_websocket_protocol;
    /* HTTP framing: a request longer than this many bytes (head and body as sent) is
     * delivered in pieces instead of whole (see "HTTP framing: pieces" below), so that a
     * request far larger than any buffer (a 1 GB upload) never has to sit in memory: the
     * first piece is the head and the body bytes that follow it up to max(http_piece_size,
     * head + 1) bytes, every later piece at most http_piece_size bytes. 0 (default): whole
     * requests only. 0 or 1..SW_PROTOCOL_MAX_LENGTH_LIMIT. An HTTP server port sets it
     * (swoole/http_server.h). */
    size_t http_piece_size;
    /* Largest WebSocket frame payload for sw_protocol_next_websocket, in bytes:
     * 1..SW_PROTOCOL_MAX_LENGTH_LIMIT, or 0 (default) for whatever package_max_length leaves
     * after the frame header (a frame is always limited by package_max_length as a whole). */
    uint64_t websocket_max_frame_size;
} sw_protocol_t;

/** sw_framer_t.flags: the message just returned (1) is an HTTP request asking to upgrade
 * (only with open_websocket_protocol). Cleared when the next message starts. */
#define SW_FRAMER_UPGRADE 0x01u
/** sw_framer_t.flags: HTTP framing returned 0 inside a request whose head carried
 * "Expect: 100-continue" and whose body is not complete. Set once per request: the caller that
 * answers "100 Continue" clears it. */
#define SW_FRAMER_CONTINUE 0x02u
/** sw_framer_t.flags: the message just returned is a piece of an HTTP request delivered in
 * pieces (http_piece_size), not a whole request. */
#define SW_FRAMER_PIECE 0x04u
/** sw_framer_t.flags: with SW_FRAMER_PIECE, more pieces of the same request follow; a piece
 * without it is the request's last. The first piece is the one returned after a message
 * without SW_FRAMER_MORE (or after sw_framer_init). */
#define SW_FRAMER_MORE 0x08u

/**
 * Per-connection framer state. Caller-allocated, holds no resources; initialise with
 * sw_framer_init before the first sw_protocol_next and again to reuse it for another stream.
 * Fields are private except `examined`, which may be read.
 */
typedef struct sw_framer_s {
    size_t scan;        /* EOF split, HTTP: where the next search starts */
    size_t total;       /* length framing: total length of the front message, 0 if unknown;
                        * HTTP: the head's length once known */
    uint64_t remaining; /* HTTP: body or chunk-data bytes still to skip */
    size_t line;        /* HTTP: start of the current head line / chunk line */
    uint8_t state;      /* HTTP: where the walk is (head, length body, chunk states) */
    uint64_t examined;  /* bytes the EOF search has looked at since init (statistics; the
                        * tests use it to show that a slow stream is scanned in O(n)) */
    uint8_t flags;      /* SW_FRAMER_*: may be read, and SW_FRAMER_CONTINUE cleared */
    uint64_t delivered; /* HTTP pieces: bytes of the current request already returned */
    size_t piece_end;   /* HTTP pieces: where the current piece ends (0: not in pieces) */
} sw_framer_t;

/** Fills `p` with the defaults listed at each field (Swoole's server-port defaults: no
 * framing, package_eof "\r\n", 'N', length offset 0, body offset 4, 2 MiB). NULL is allowed
 * and does nothing. */
SW_API void sw_protocol_init(sw_protocol_t *p);

/**
 * Sets one option by Swoole's name from a string, for bindings that pass a settings
 * dictionary through. Names and accepted values:
 *   "open_eof_check", "open_eof_split", "open_length_check"
 *         "1", "true", "0" or "false" exactly. Turning open_eof_split on also turns
 *         open_eof_check on (Swoole); turning it off leaves open_eof_check as it is.
 *   "package_eof"
 *         1..8 bytes after unescaping. Escapes: \r \n \t \0 \\ and \xHH (exactly two hex
 *         digits, either case); a backslash before anything else is an error. Other bytes
 *         are taken as they are.
 *   "package_length_type"
 *         one character of c C s S n v l L N V.
 *   "package_length_offset", "package_body_offset", "package_body_start" (alias)
 *         decimal 0..65535.
 *   "package_max_length"
 *         decimal 1..1073741824 (SW_PROTOCOL_MAX_LENGTH_LIMIT).
 *   "open_http_protocol"
 *         a boolean as above.
 *   "http_max_header_size"
 *         decimal 64..2147483647.
 *   "open_websocket_protocol"
 *         a boolean as above; "1"/"true" also turns open_http_protocol on.
 *   "websocket_max_frame_size"
 *         decimal 1..1073741824.
 *   "http_piece_size"
 *         decimal 0..1073741824.
 * Decimal values are plain ASCII digits: no sign, no spaces, no suffix, no empty string.
 * Cross-field rules (e.g. EOF and length framing both on) are left to sw_protocol_check,
 * since options arrive in any order.
 * Returns 0, SW_EINVAL (p, name or value NULL), SW_EOPTION_UNKNOWN (not a framing option:
 * a server tries its other option tables next) or SW_EOPTION_VALUE (bad value); on error `p`
 * is unchanged.
 */
SW_API int sw_protocol_set_option(sw_protocol_t *p, const char *name, const char *value);

/**
 * Sets package_eof to `len` bytes of `eof` (any byte values). Returns 0, SW_EINVAL (p or eof
 * NULL) or SW_EOPTION_VALUE (len 0 or over SW_PROTOCOL_EOF_MAX); on error `p` is unchanged.
 */
SW_API int sw_protocol_set_eof(sw_protocol_t *p, const void *eof, size_t len);

/**
 * Checks a whole spec. Returns 0, SW_EINVAL (p NULL) or SW_EOPTION_VALUE when: two of EOF
 * framing, length framing and HTTP framing are on; HTTP framing is on and
 * http_max_header_size is under 64 or over 0x7fffffff; package_eof_len is 0 or over 8 with EOF framing on;
 * package_length_type is not a known code with length framing on and no length function;
 * an offset is over SW_PROTOCOL_OFFSET_MAX; package_max_length is 0, over
 * SW_PROTOCOL_MAX_LENGTH_LIMIT, or smaller than package_length_offset + the field's size
 * (length framing) or package_eof_len (EOF framing). Fields of modes that are off are not
 * checked except package_max_length and the offsets. A server checks each port's spec when
 * it starts listening.
 */
SW_API int sw_protocol_check(const sw_protocol_t *p);

/** The mode `p` selects (no validation; NULL gives SW_FRAMING_NONE). */
SW_API sw_framing_t sw_protocol_mode(const sw_protocol_t *p);

/** Size in bytes of a package_length_type code: 1, 2 or 4; SW_EOPTION_VALUE for any other
 * character. */
SW_API int sw_protocol_length_size(char type);

/** Makes `st` ready for a new stream. NULL is allowed and does nothing. */
SW_API void sw_framer_init(sw_framer_t *st);

/**
 * Looks for one whole message at the front of `data` (`len` bytes: the connection's unread
 * input). Returns
 *   1   a message of `*out` bytes (1..package_max_length) starts at data[0]. The caller
 *       delivers it and drops exactly `*out` bytes from the front before the next call.
 *   0   no whole message yet; `*out` is how many bytes `data` must hold before the next call
 *       can return anything but 0 (always > len and <= package_max_length): for length
 *       framing the end of the length field, then the whole message; otherwise len + 1.
 *       Size the next read and the buffer with it.
 *   <0  SW_EPKGTOOBIG (the message would be over package_max_length), SW_EPKGMALFORMED
 *       (negative length, a total shorter than the length field's end, or the user length
 *       function returned < 0), SW_EOPTION_VALUE (the spec fails sw_protocol_check) or
 *       SW_EINVAL (p, st or out NULL, or data NULL with len > 0). The stream cannot be
 *       framed further: close the connection; sw_framer_init before reusing `st`.
 * Between calls, `data` must begin at the same stream byte and hold at least the bytes it
 * held before (more may have been appended; the buffer may have moved) — except right after
 * a message was returned, when it begins just after that message. The framer remembers how
 * far it searched, so a stream arriving one byte at a time costs O(total bytes), not O(n^2).
 * Per mode: none returns min(len, package_max_length) bytes when len > 0; EOF check returns
 * all `len` bytes when they end with package_eof; EOF split returns up to and including the
 * first package_eof; length framing returns the decoded total; HTTP framing returns one
 * request (or the part of a bad one described in the header comment) and never fails on
 * input.
 * `*out` is written on 0 and 1 only. `p` is read-only; the user length function is the only
 * callback, and it runs before this call returns.
 */
SW_API int sw_protocol_next(const sw_protocol_t *p, sw_framer_t *st, const char *data, size_t len,
                            size_t *out);

/**
 * WebSocket framing (RFC 6455 §5.2): whole frames, as a server frames a connection after a
 * WebSocket handshake. Only the header's length fields are looked at (the mask bit, 7-, 16-
 * or 64-bit payload length); opcodes, reserved bits and masking rules are the decoder's
 * business (swoole/websocket.h). `st` is not used (the function keeps no state: a frame's
 * header is re-read on each call, at most 14 bytes) but must not be NULL. Returns
 *   1   a frame of `*out` bytes (header and payload) starts at data[0];
 *   0   not enough bytes: `*out` is the length needed (the header's, then the frame's);
 *   <0  SW_EPKGTOOBIG (payload over websocket_max_frame_size, or the frame over
 *       package_max_length: RFC 6455 close code 1009), SW_EPKGMALFORMED (a 64-bit length
 *       with its top bit set: 1002), SW_EINVAL (NULL arguments, data NULL with len > 0) or
 *       SW_EOPTION_VALUE (the spec fails sw_protocol_check).
 */
SW_API int sw_protocol_next_websocket(const sw_protocol_t *p, sw_framer_t *st, const char *data,
                                      size_t len, size_t *out);

SW_EXTERN_C_END

#endif
