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
    SW_FRAMING_LENGTH = 3
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
} sw_protocol_t;

/**
 * Per-connection framer state. Caller-allocated, holds no resources; initialise with
 * sw_framer_init before the first sw_protocol_next and again to reuse it for another stream.
 * Fields are private except `examined`, which may be read.
 */
typedef struct sw_framer_s {
    size_t scan;       /* EOF split: where the next search for package_eof starts */
    size_t total;      /* length framing: total length of the front message, 0 if unknown */
    uint64_t examined; /* bytes the EOF search has looked at since init (statistics; the
                        * tests use it to show that a slow stream is scanned in O(n)) */
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
 * Checks a whole spec. Returns 0, SW_EINVAL (p NULL) or SW_EOPTION_VALUE when: EOF framing
 * and length framing are both on; package_eof_len is 0 or over 8 with EOF framing on;
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
 * first package_eof; length framing returns the decoded total.
 * `*out` is written on 0 and 1 only. `p` is read-only; the user length function is the only
 * callback, and it runs before this call returns.
 */
SW_API int sw_protocol_next(const sw_protocol_t *p, sw_framer_t *st, const char *data, size_t len,
                            size_t *out);

SW_EXTERN_C_END

#endif
