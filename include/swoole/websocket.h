/*
 * WebSocket protocol layer (RFC 6455, RFC 7692): pure functions over caller buffers, no sockets.
 *
 * - Handshake: sw_ws_headers_t collects the few header fields the handshake needs (the HTTP
 *   layer feeds every header line it parsed to sw_ws_headers_add); sw_ws_handshake_accept
 *   validates a client's upgrade request, computes Sec-WebSocket-Accept, picks a subprotocol
 *   and negotiates permessage-deflate; sw_ws_handshake_response writes the 101 answer and
 *   sw_ws_handshake_reject the 400 / 426 one. The client side: sw_ws_client_key,
 *   sw_ws_client_request and sw_ws_client_verify.
 * - Frames: sw_ws_decoder_t is an incremental decoder that is fed bytes as they arrive and
 *   returns one event at a time: whole messages (fragments reassembled, decompressed, text
 *   checked for UTF-8, size-limited) and control frames, or, in frame mode, frame headers and
 *   payload pieces. Every protocol violation stops it with an SW_EWS_* code, the close code RFC
 *   6455 asks the endpoint to send, and a detail (sw_ws_detail_t) saying exactly what was wrong.
 * - Encoding: sw_ws_frame_header writes a frame header into a small caller buffer so that the
 *   payload can follow with writev() without a copy; sw_ws_frame_encode writes a whole frame.
 * - sw_ws_mask (un)masks in place, word-wide or with SSE2/AVX2/AVX-512 chosen at run time.
 * - sw_ws_utf8_* is the incremental UTF-8 validator the decoder uses (RFC 3629).
 * - sw_ws_compressor_t compresses outgoing messages for permessage-deflate; it needs zlib
 *   (the library is built with it when zlib is found) and returns SW_ENOTSUP otherwise.
 *
 * Thread-safety: the functions without an object are thread-safe. A decoder or compressor is
 * used by one thread at a time; different objects on different threads are fine.
 * Nothing here prints, aborts or keeps process-global state.
 */
#ifndef SWOOLE_WEBSOCKET_H
#define SWOOLE_WEBSOCKET_H

#include <stdbool.h>

#include "swoole/buffer.h"
#include "swoole/common.h"
#include "swoole/error.h"

SW_EXTERN_C_BEGIN

/* ---- constants ----------------------------------------------------------------------------- */

/** Frame opcodes (RFC 6455 §5.2). 3-7 and 0xB-0xF are reserved. */
#define SW_WS_OP_CONTINUATION 0x0
#define SW_WS_OP_TEXT         0x1
#define SW_WS_OP_BINARY       0x2
#define SW_WS_OP_CLOSE        0x8
#define SW_WS_OP_PING         0x9
#define SW_WS_OP_PONG         0xA

/** Flags of the first header byte, as on the wire. */
#define SW_WS_FIN  0x80
#define SW_WS_RSV1 0x40 /* "compressed" under permessage-deflate */
#define SW_WS_RSV2 0x20
#define SW_WS_RSV3 0x10

/** Close codes (RFC 6455 §7.4.1 and the IANA registry). */
#define SW_WS_CLOSE_NORMAL           1000
#define SW_WS_CLOSE_GOING_AWAY       1001
#define SW_WS_CLOSE_PROTOCOL_ERROR   1002
#define SW_WS_CLOSE_UNSUPPORTED_DATA 1003
#define SW_WS_CLOSE_NO_STATUS        1005 /* reported, never sent: the close frame had no code */
#define SW_WS_CLOSE_ABNORMAL         1006 /* never sent: the connection dropped without close */
#define SW_WS_CLOSE_INVALID_PAYLOAD  1007
#define SW_WS_CLOSE_POLICY_VIOLATION 1008
#define SW_WS_CLOSE_MESSAGE_TOO_BIG  1009
#define SW_WS_CLOSE_MANDATORY_EXT    1010
#define SW_WS_CLOSE_INTERNAL_ERROR   1011
#define SW_WS_CLOSE_SERVICE_RESTART  1012
#define SW_WS_CLOSE_TRY_AGAIN_LATER  1013
#define SW_WS_CLOSE_BAD_GATEWAY      1014
#define SW_WS_CLOSE_TLS_HANDSHAKE    1015 /* never sent */

/** Limits fixed by the protocol. */
#define SW_WS_MAX_CONTROL_PAYLOAD 125 /* payload of ping, pong and close frames */
#define SW_WS_MAX_CLOSE_REASON    123 /* a close frame's reason after its 2-byte code */
#define SW_WS_MAX_FRAME_HEADER    14  /* 2 + 8 (64-bit length) + 4 (mask key) */
#define SW_WS_KEY_LEN             24  /* Sec-WebSocket-Key: base64 of 16 bytes */
#define SW_WS_ACCEPT_LEN          28  /* Sec-WebSocket-Accept: base64 of a 20-byte SHA-1 */

/** Default limit of a reassembled (and decompressed) message: 2 MiB, Swoole's
 * package_max_length default. */
#define SW_WS_DEFAULT_MAX_MESSAGE ((uint64_t)2 << 20)

/** Header field lines of one list-valued field (Connection, Upgrade, Sec-WebSocket-Protocol,
 * Sec-WebSocket-Extensions) kept by sw_ws_headers_t; more lines fail the handshake. */
#define SW_WS_MAX_FIELD_LINES 8

/** Subprotocols of one request considered by the selection callback; more fail the handshake. */
#define SW_WS_MAX_PROTOCOLS 32

/** Room for the Sec-WebSocket-Extensions value the server answers with. */
#define SW_WS_EXTENSIONS_MAX 160

/* ---- error details ------------------------------------------------------------------------- */

/**
 * What exactly was wrong. The SW_EWS_* error codes name the class of violation; the detail
 * names the rule, and sw_ws_detail_close_code() gives the close code to send for it.
 */
typedef enum {
    SW_WS_DETAIL_NONE = 0,
    /* Handshake (SW_EWS_HANDSHAKE unless noted). */
    SW_WS_DETAIL_METHOD,              /* request method is not GET */
    SW_WS_DETAIL_HTTP_VERSION,        /* HTTP version below 1.1 */
    SW_WS_DETAIL_HOST,                /* Host missing or empty */
    SW_WS_DETAIL_UPGRADE,             /* Upgrade missing or without the "websocket" token */
    SW_WS_DETAIL_CONNECTION,          /* Connection missing or without the "upgrade" token */
    SW_WS_DETAIL_KEY,                 /* Sec-WebSocket-Key missing or not base64 of 16 bytes */
    SW_WS_DETAIL_VERSION,             /* Sec-WebSocket-Version not 13 (SW_EWS_VERSION, 426) */
    SW_WS_DETAIL_DUPLICATE_FIELD,     /* a single-valued field appears twice */
    SW_WS_DETAIL_TOO_MANY_LINES,      /* more than SW_WS_MAX_FIELD_LINES lines of a field */
    SW_WS_DETAIL_PROTOCOL_SYNTAX,     /* Sec-WebSocket-Protocol is not a token list */
    SW_WS_DETAIL_EXTENSION_SYNTAX,    /* Sec-WebSocket-Extensions does not parse */
    SW_WS_DETAIL_STATUS,              /* client: the response status is not 101 */
    SW_WS_DETAIL_ACCEPT,              /* client: Sec-WebSocket-Accept missing or wrong */
    SW_WS_DETAIL_PROTOCOL_UNOFFERED,  /* client: server chose a subprotocol not offered */
    SW_WS_DETAIL_EXTENSION_UNOFFERED, /* client: server answered with an extension not offered */
    SW_WS_DETAIL_DEFLATE_PARAMS,      /* client: bad permessage-deflate response parameters */
    /* Frames. */
    SW_WS_DETAIL_RSV,                   /* RSV bit set without an extension that defines it */
    SW_WS_DETAIL_RSV1_CONTROL,          /* RSV1 (compressed) on a control frame */
    SW_WS_DETAIL_RSV1_CONTINUATION,     /* RSV1 on a continuation frame */
    SW_WS_DETAIL_OPCODE,                /* reserved opcode */
    SW_WS_DETAIL_CONTROL_FRAGMENTED,    /* control frame with FIN = 0 */
    SW_WS_DETAIL_CONTROL_TOO_LONG,      /* control frame payload over 125 bytes */
    SW_WS_DETAIL_CONTINUATION_UNOPENED, /* continuation frame with no message open */
    SW_WS_DETAIL_MESSAGE_INTERRUPTED,   /* text/binary frame while a message is open */
    SW_WS_DETAIL_UNMASKED,              /* server: a client frame is not masked */
    SW_WS_DETAIL_MASKED,                /* client: a server frame is masked */
    SW_WS_DETAIL_LENGTH_NOT_MINIMAL,    /* payload length not in its shortest form */
    SW_WS_DETAIL_LENGTH_MSB,            /* 64-bit payload length with the top bit set */
    SW_WS_DETAIL_TOO_BIG,               /* message over the size limit (1009) */
    SW_WS_DETAIL_INFLATED_TOO_BIG,      /* decompressed message over the size limit (1009) */
    SW_WS_DETAIL_CLOSE_ONE_BYTE,        /* close payload of exactly one byte */
    SW_WS_DETAIL_CLOSE_CODE,            /* close code not allowed on the wire */
    SW_WS_DETAIL_CLOSE_REASON_UTF8,     /* close reason is not UTF-8 (1007) */
    SW_WS_DETAIL_TEXT_UTF8,             /* text message is not UTF-8 (1007) */
    SW_WS_DETAIL_INFLATE,               /* compressed payload is corrupt (1007) */
    SW_WS_DETAIL_UNSUPPORTED_DATA,      /* a message type the decoder was told to reject (1003) */
    SW_WS_DETAIL_NO_MEMORY,             /* allocation failed (SW_ENOMEM, 1011) */
    SW_WS_DETAIL_COUNT_                 /* number of details; not a detail */
} sw_ws_detail_t;

/** The detail's name without prefix, e.g. "CONTROL_TOO_LONG"; "UNKNOWN" for bad values. Static
 * storage, thread-safe. */
SW_API const char *sw_ws_detail_name(int detail);

/** A sentence describing the detail, e.g. "control frame payload over 125 bytes". */
SW_API const char *sw_ws_detail_str(int detail);

/** The close code an endpoint sends after the violation `detail`: 1002 for protocol errors,
 * 1007 for bad UTF-8 or corrupt compressed data, 1009 for size limits, 1003 for rejected
 * message types, 1011 for SW_WS_DETAIL_NO_MEMORY; 0 for SW_WS_DETAIL_NONE and handshake
 * details (a failed handshake is answered with HTTP, not with a close frame). */
SW_API int sw_ws_detail_close_code(int detail);

/** The close code for an error code returned by a decoder call, when its detail is not at
 * hand: SW_EWS_UTF8 and SW_EWS_DEFLATE 1007, SW_EWS_TOO_BIG 1009, SW_ENOMEM 1011, every
 * other SW_EWS_* 1002, anything else 1011. 0 for 0. */
SW_API int sw_ws_error_close_code(int err);

/* ---- close codes and payloads --------------------------------------------------------------- */

/** True when `code` may appear in a close frame: 1000-1003, 1007-1014 and 3000-4999. 1004,
 * 1005, 1006, 1015, 1016-2999, codes below 1000 and from 5000 up may not (RFC 6455 §7.4). */
SW_API bool sw_ws_close_code_valid(unsigned code);

/**
 * Writes a close frame's payload: the 2-byte code then `reason`. Returns its length
 * (2 + reason_len), or SW_EINVAL (out NULL, or reason NULL with reason_len > 0),
 * SW_EWS_CLOSE_CODE (code not valid on the wire), SW_EMSGSIZE (reason_len > 123) or
 * SW_EWS_UTF8 (reason not UTF-8). To send a close frame without a code, send an empty payload.
 */
SW_API int sw_ws_close_payload(uint8_t out[SW_WS_MAX_CONTROL_PAYLOAD], unsigned code,
                               const char *reason, size_t reason_len);

/* ---- masking ------------------------------------------------------------------------------- */

/**
 * XORs `len` bytes at `data` with the 4-byte mask `key`, in place: masking and unmasking are
 * the same operation. `offset` is the position of data[0] within the payload, so a payload
 * can be processed in pieces of any size: call with offset 0, then with the running total.
 * Any alignment; uses AVX-512, AVX2 or SSE2 when the CPU has them, 64-bit words otherwise.
 * data may be NULL when len is 0.
 */
SW_API void sw_ws_mask(void *data, size_t len, const uint8_t key[4], uint64_t offset);

/* ---- UTF-8 --------------------------------------------------------------------------------- */

/** Incremental UTF-8 validator state. Zero-initialised (or sw_ws_utf8_init) = at a character
 * boundary, nothing seen. A small value type; the caller owns it. */
typedef struct sw_ws_utf8_s {
    uint32_t state;
} sw_ws_utf8_t;

/** Resets `u` to the start of a text. */
SW_API void sw_ws_utf8_init(sw_ws_utf8_t *u);

/**
 * Checks the next `len` bytes of a text (RFC 3629: no overlong forms, no surrogates
 * U+D800-U+DFFF, nothing above U+10FFFF). A character may be split across calls. Fails fast:
 * returns SW_EWS_UTF8 at the first byte that cannot continue any valid text and stores its
 * index in `*bad` (when bad is not NULL); after that every call fails. Returns 0 when all
 * bytes are valid so far (a character may still be open: see sw_ws_utf8_finish), SW_EINVAL
 * when u is NULL or data NULL with len > 0.
 */
SW_API int sw_ws_utf8_update(sw_ws_utf8_t *u, const void *data, size_t len, size_t *bad);

/** Returns 0 when the text seen so far ends at a character boundary, SW_EWS_UTF8 when it
 * ends inside a character (truncated) or an error was seen, SW_EINVAL when u is NULL. */
SW_API int sw_ws_utf8_finish(const sw_ws_utf8_t *u);

/** Checks a whole text at once: sw_ws_utf8_update then sw_ws_utf8_finish. */
SW_API int sw_ws_utf8_validate(const void *data, size_t len, size_t *bad);

/* ---- encoding ------------------------------------------------------------------------------ */

/**
 * Writes a frame header for a payload of `payload_len` bytes into `out` and returns its
 * length (2 to 14). `flags` is SW_WS_FIN and/or SW_WS_RSV1..3. With a non-NULL `mask_key`
 * the header says "masked" and carries the key: the caller masks the payload with
 * sw_ws_mask(payload, len, mask_key, 0) (clients must mask every frame with a fresh random
 * key; servers must not mask). The shortest length form is always used.
 * Errors: SW_EINVAL (out NULL; opcode reserved or above 15; flags outside FIN|RSV1..3; a
 * control frame without FIN or with RSV1; payload_len >= 2^63), SW_EMSGSIZE (control frame
 * payload over 125 bytes).
 */
SW_API int sw_ws_frame_header(uint8_t out[SW_WS_MAX_FRAME_HEADER], unsigned opcode, unsigned flags,
                              uint64_t payload_len, const uint8_t *mask_key);

/**
 * Writes a whole frame, header then payload (masked with mask_key when not NULL), into
 * out[0..cap). Returns the frame's length, SW_ENOBUFS when it does not fit in `cap` (nothing
 * useful is written), SW_EOVERFLOW when it would be over INT_MAX bytes, SW_EINVAL (out NULL,
 * payload NULL with len > 0, or what sw_ws_frame_header rejects) or SW_EMSGSIZE. `payload`
 * must not overlap `out`.
 */
SW_API int sw_ws_frame_encode(uint8_t *out, size_t cap, unsigned opcode, unsigned flags,
                              const void *payload, size_t len, const uint8_t *mask_key);

/* ---- decoding ------------------------------------------------------------------------------ */

typedef enum {
    SW_WS_ROLE_SERVER = 0, /* decodes a client's frames: every frame must be masked */
    SW_WS_ROLE_CLIENT = 1, /* decodes a server's frames: no frame may be masked */
} sw_ws_role_t;

/** permessage-deflate parameters agreed in the handshake (RFC 7692 §7.1). A value type. */
typedef struct sw_ws_deflate_params_s {
    bool server_no_context_takeover; /* the server resets its compressor after each message */
    bool client_no_context_takeover; /* the client resets its compressor after each message */
    uint8_t server_max_window_bits;  /* 8..15: LZ77 window of the server's compressor */
    uint8_t client_max_window_bits;  /* 8..15: LZ77 window of the client's compressor */
} sw_ws_deflate_params_t;

typedef struct sw_ws_decoder_options_s {
    sw_ws_role_t role;         /* default SW_WS_ROLE_SERVER */
    uint64_t max_message_size; /* payload bytes of one message after reassembly and
                                  decompression; 0: SW_WS_DEFAULT_MAX_MESSAGE */
    bool frame_mode;           /* deliver frames and payload pieces, do not reassemble */
    bool reject_text;          /* text messages fail with 1003 (UNSUPPORTED_DATA) */
    bool reject_binary;        /* binary messages fail with 1003 (UNSUPPORTED_DATA) */
} sw_ws_decoder_options_t;

/** Fills `o` with the defaults: server role, message mode, 2 MiB limit. NULL is ignored. */
SW_API void sw_ws_decoder_options_init(sw_ws_decoder_options_t *o);

typedef enum {
    SW_WS_EVENT_NONE = 0, /* every input byte was consumed; nothing pending: feed more */
    SW_WS_EVENT_MESSAGE,  /* message mode: a whole text or binary message */
    SW_WS_EVENT_PING,     /* a ping frame (answer it with a pong carrying the same payload) */
    SW_WS_EVENT_PONG,     /* a pong frame */
    SW_WS_EVENT_CLOSE,    /* a close frame: code and reason; the decoder ignores input after it */
    SW_WS_EVENT_FRAME,    /* frame mode: the header of a data frame */
    SW_WS_EVENT_DATA,     /* frame mode: a piece of a data frame's payload */
} sw_ws_event_type_t;

typedef struct sw_ws_event_s {
    sw_ws_event_type_t type;
    /* MESSAGE: SW_WS_OP_TEXT or SW_WS_OP_BINARY. FRAME/DATA: the opcode of the message the
     * frame belongs to (TEXT or BINARY, also for continuation frames). PING/PONG/CLOSE: the
     * frame's opcode. */
    unsigned opcode;
    /* FRAME/DATA: the frame is a continuation frame (its wire opcode is 0). */
    bool continuation;
    /* FRAME/DATA: the frame's FIN bit: this frame ends its message. */
    bool fin;
    /* DATA: this piece ends its frame (possibly with len 0). A message ends at the DATA event
     * with both fin and frame_end. */
    bool frame_end;
    /* MESSAGE: the message arrived compressed (permessage-deflate); data is decompressed. */
    bool compressed;
    /* FRAME: the frame's payload length. */
    uint64_t frame_length;
    /* MESSAGE, DATA, PING, PONG: the payload (unmasked; decompressed for MESSAGE). CLOSE: the
     * reason (UTF-8, not NUL-terminated). Points into the caller's input or into the decoder,
     * and is valid until the next call on the decoder (and as long as the input is). */
    const uint8_t *data;
    size_t len;
    /* CLOSE: the close code, or 1005 (SW_WS_CLOSE_NO_STATUS) when the frame had none. */
    unsigned close_code;
} sw_ws_event_t;

typedef struct sw_ws_decoder_s sw_ws_decoder_t;

/**
 * Creates a decoder with options `opts` (NULL: defaults). Returns 0 and sets *out, or
 * SW_EINVAL (out NULL, role not server/client, or both reject flags set) or SW_ENOMEM; on
 * error *out is unchanged. Free with sw_ws_decoder_destroy. A decoder holds about 300 bytes;
 * a message that needs reassembling or decompression borrows a buffer that grows up to the
 * size limit, kept for the next message while it is no more than 64 KiB.
 */
SW_API int sw_ws_decoder_create(sw_ws_decoder_t **out, const sw_ws_decoder_options_t *opts);

/** Frees the decoder and its buffers. NULL is allowed. */
SW_API void sw_ws_decoder_destroy(sw_ws_decoder_t *d);

/**
 * Enables permessage-deflate with the parameters agreed in the handshake (the decoder reads
 * the peer's side of `params`: a server decoder resets its inflater after each message when
 * client_no_context_takeover was agreed). The inflater always keeps a 32 KiB window, whatever
 * window the peer agreed to, so that the result never depends on how input is split: about
 * 7 KiB at once and 32 KiB more from the first compressed message on. Call it before the first
 * byte is fed. Afterwards RSV1 on the first frame of a message means "compressed" and
 * MESSAGE events carry the decompressed bytes, limited by max_message_size (a zip bomb fails
 * with SW_EWS_TOO_BIG and close code 1009). Returns 0, SW_EINVAL (d or params NULL, window
 * bits outside 8..15, frame mode, or bytes already fed), SW_ENOTSUP (built without zlib) or
 * SW_ENOMEM.
 */
SW_API int sw_ws_decoder_set_deflate(sw_ws_decoder_t *d, const sw_ws_deflate_params_t *params);

/**
 * Decodes from data[0..len) and returns at the first event.
 *
 * Returns the event type (> 0) with *ev filled, SW_WS_EVENT_NONE (0) when every byte was
 * consumed and no event is pending, or a negative error. *consumed is always set to the
 * number of bytes used; the caller passes the rest (data + *consumed) in the next call. An
 * event may be returned with bytes still unused, or with none used at all, so call again
 * until SW_WS_EVENT_NONE, also when the remaining length is 0:
 *
 *     for (;;) {
 *         int r = sw_ws_decoder_execute(d, p, n, &used, &ev);
 *         p += used, n -= used;
 *         if (r == SW_WS_EVENT_NONE) break;                 // need more input
 *         if (r < 0) { send close sw_ws_decoder_close_code(d); drop the connection; break; }
 *         handle(&ev);
 *     }
 *
 * Any split of the input gives the same events. The decoder unmasks payload bytes in place:
 * `data` must be writable and its payload bytes are changed. It keeps no pointer into the
 * input between calls, except that ev->data may point into it until the next call. Events
 * in message mode: MESSAGE, PING, PONG, CLOSE (control frames may arrive between the
 * fragments of a message); in frame mode: FRAME, then one or more DATA (the last with
 * frame_end), for each data frame, and PING, PONG, CLOSE. After CLOSE every later input is
 * consumed and ignored (SW_WS_EVENT_NONE).
 *
 * Errors (sticky: every later call returns the same code; see sw_ws_decoder_detail and
 * sw_ws_decoder_close_code): SW_EINVAL (d, consumed or ev NULL, or data NULL with len > 0),
 * SW_EWS_RSV, SW_EWS_OPCODE, SW_EWS_CONTROL, SW_EWS_CONTINUATION, SW_EWS_MASK, SW_EWS_LENGTH,
 * SW_EWS_CLOSE_CODE (all close code 1002), SW_EWS_UTF8 (text or close reason not UTF-8: 1007),
 * SW_EWS_DEFLATE (corrupt compressed data: 1007), SW_EWS_TOO_BIG (limit: 1009), SW_EWS_OPCODE
 * with detail UNSUPPORTED_DATA (a rejected message type: 1003), SW_ENOMEM (1011). On error
 * *consumed is the offset of the byte at which the violation was found, when it is known,
 * else len. At most INT_MAX bytes are used per call.
 */
SW_API int sw_ws_decoder_execute(sw_ws_decoder_t *d, uint8_t *data, size_t len, size_t *consumed,
                                 sw_ws_event_t *ev);

/** The error the decoder stopped with, 0 while it is fine (or d NULL). */
SW_API int sw_ws_decoder_error(const sw_ws_decoder_t *d);

/** The sw_ws_detail_t of that error, SW_WS_DETAIL_NONE while it is fine. */
SW_API int sw_ws_decoder_detail(const sw_ws_decoder_t *d);

/** The close code to send for that error (1002, 1003, 1007, 1009, 1011), 0 while it is fine. */
SW_API int sw_ws_decoder_close_code(const sw_ws_decoder_t *d);

/** True between the first and the last frame of a fragmented message. */
SW_API bool sw_ws_decoder_in_message(const sw_ws_decoder_t *d);

/** The user's slot: set and read freely, never touched by the library. */
SW_API void sw_ws_decoder_set_data(sw_ws_decoder_t *d, void *data);
SW_API void *sw_ws_decoder_get_data(const sw_ws_decoder_t *d);

/* ---- permessage-deflate: compression of outgoing messages --------------------------------- */

/** What an endpoint asks for and accepts in permessage-deflate negotiation, and how it
 * compresses. Fill with sw_ws_deflate_options_init, then change fields. */
typedef struct sw_ws_deflate_options_s {
    /* Server: always answer server_no_context_takeover (its compressor forgets between
     * messages: less memory kept, worse ratio). Client: ask the server for it. */
    bool server_no_context_takeover;
    /* Server: always answer client_no_context_takeover. Client: offer it. */
    bool client_no_context_takeover;
    /* Largest LZ77 window (8..15) of the server's compressor: a server answers with at most
     * this; a client offers it when below 15. Default 15. */
    uint8_t server_max_window_bits;
    /* Largest window (8..15) of the client's compressor: a server answers with it when the
     * client offered client_max_window_bits; a client offers it (always, without value when
     * 15). Default 15. */
    uint8_t client_max_window_bits;
    int level;     /* zlib compression level 0..9, or -1 (default) for zlib's default (6) */
    int mem_level; /* zlib memLevel 1..9; default 8 */
} sw_ws_deflate_options_t;

/** Fills `o` with the defaults (no flags, windows 15, level -1, mem_level 8). NULL ignored. */
SW_API void sw_ws_deflate_options_init(sw_ws_deflate_options_t *o);

/** True when the library was built with zlib, so that permessage-deflate works. */
SW_API bool sw_ws_deflate_supported(void);

/**
 * Writes a client's permessage-deflate offer, e.g. "permessage-deflate;
 * client_max_window_bits", for the Sec-WebSocket-Extensions header, NUL-terminated. Returns
 * its length, SW_EINVAL (NULL arguments or window bits outside 8..15), SW_ENOBUFS (cap too
 * small; SW_WS_EXTENSIONS_MAX is always enough) or SW_ENOTSUP (built without zlib).
 */
SW_API int sw_ws_deflate_offer(const sw_ws_deflate_options_t *opts, char *buf, size_t cap);

typedef struct sw_ws_compressor_s sw_ws_compressor_t;

/**
 * Creates a compressor for the messages this endpoint sends (`role`: the sending side) with
 * the agreed `params` and the level and mem_level of `opts` (NULL: defaults). Returns 0,
 * SW_EINVAL (out or params NULL, bad role, window bits outside 8..15, bad level/mem_level),
 * SW_ENOTSUP (no zlib) or SW_ENOMEM. When the agreed window is 8 bits (which zlib cannot
 * produce), the compressor sends every message uncompressed: see sw_ws_compressor_compress.
 */
SW_API int sw_ws_compressor_create(sw_ws_compressor_t **out, sw_ws_role_t role,
                                   const sw_ws_deflate_params_t *params,
                                   const sw_ws_deflate_options_t *opts);

/** Frees the compressor. NULL is allowed. */
SW_API void sw_ws_compressor_destroy(sw_ws_compressor_t *c);

/**
 * Compresses one whole message and appends the payload to `out` (the final 0x00 0x00 0xff
 * 0xff of the flush removed, RFC 7692 §7.2.1). Returns 1 when `out` got the compressed
 * payload (send it with SW_WS_RSV1 on the first frame), 0 when the compressor cannot
 * compress for this connection (window 8) and appended nothing (send the message
 * uncompressed, without RSV1), or SW_EINVAL (c or out NULL, data NULL with len > 0),
 * SW_EOVERFLOW (out's max_size reached), SW_ENOMEM, SW_EWS_DEFLATE (zlib failed). On error
 * out->length is restored and the compressor is reset (the peer must not see a message that
 * depended on lost context: with context takeover, close the connection).
 */
SW_API int sw_ws_compressor_compress(sw_ws_compressor_t *c, const void *data, size_t len,
                                     sw_buffer_t *out);

/* ---- handshake ----------------------------------------------------------------------------- */

/** A slice of the caller's bytes: ptr NULL means "absent". */
typedef struct sw_ws_slice_s {
    const char *ptr;
    size_t len;
} sw_ws_slice_t;

/**
 * The pieces of an HTTP request or response the handshake looks at. The caller owns it and
 * the bytes the slices point to, which must stay valid while it is used. Fill it with
 * sw_ws_headers_init, the start line fields, and one sw_ws_headers_add call per header line
 * (other names are ignored), or set the fields directly.
 */
typedef struct sw_ws_headers_s {
    sw_ws_slice_t method; /* request: e.g. "GET" */
    int http_version;     /* 10 for HTTP/1.0, 11 for HTTP/1.1 */
    int status;           /* response: the status code */
    /* Single-valued fields (with OWS trimmed). */
    sw_ws_slice_t host, origin, key, version, accept;
    /* List-valued fields: one slice per header line. */
    sw_ws_slice_t connection[SW_WS_MAX_FIELD_LINES];
    sw_ws_slice_t upgrade[SW_WS_MAX_FIELD_LINES];
    sw_ws_slice_t protocol[SW_WS_MAX_FIELD_LINES];
    sw_ws_slice_t extensions[SW_WS_MAX_FIELD_LINES];
    uint8_t n_connection, n_upgrade, n_protocol, n_extensions;
    /* Set by sw_ws_headers_add: a single-valued field appeared twice, or a list field had more
     * than SW_WS_MAX_FIELD_LINES lines. Either fails the handshake. */
    bool duplicate, too_many_lines;
} sw_ws_headers_t;

/** Empties `h`. NULL is ignored. */
SW_API void sw_ws_headers_init(sw_ws_headers_t *h);

/**
 * Records one header line if its name (case-insensitive) is one the handshake uses: Host,
 * Origin, Connection, Upgrade, Sec-WebSocket-Key, -Version, -Accept, -Protocol, -Extensions.
 * Leading and trailing spaces and tabs of the value are dropped. Returns 0, SW_EINVAL (h or
 * name NULL, value NULL with value_len > 0), or SW_EWS_HANDSHAKE when a single-valued field
 * repeats or a list field has too many lines (also remembered in `h`, so that the handshake
 * fails even if this return is ignored).
 */
SW_API int sw_ws_headers_add(sw_ws_headers_t *h, const char *name, size_t name_len,
                             const char *value, size_t value_len);

/**
 * Chooses a subprotocol: `offers` are the client's, in its order of preference. Returns the
 * index of the chosen one, or -1 for none (the handshake then succeeds without
 * Sec-WebSocket-Protocol, as RFC 6455 §4.2.2 allows; a client that insists fails it itself).
 */
typedef int (*sw_ws_protocol_cb)(void *arg, const sw_ws_slice_t *offers, size_t n);

typedef struct sw_ws_server_options_s {
    sw_ws_protocol_cb select_protocol; /* NULL: never answer a subprotocol */
    void *select_arg;
    bool deflate; /* accept permessage-deflate (only when built with zlib) */
    sw_ws_deflate_options_t deflate_options;
} sw_ws_server_options_t;

/** Fills `o` with the defaults: no subprotocol, no deflate. NULL is ignored. */
SW_API void sw_ws_server_options_init(sw_ws_server_options_t *o);

/** What a handshake agreed. A value type filled by sw_ws_handshake_accept (server) or
 * sw_ws_client_verify (client). */
typedef struct sw_ws_handshake_s {
    char accept[SW_WS_ACCEPT_LEN + 1]; /* Sec-WebSocket-Accept, NUL-terminated */
    sw_ws_slice_t protocol;            /* chosen subprotocol (points into the headers' bytes) */
    bool deflate;                      /* permessage-deflate in use */
    sw_ws_deflate_params_t deflate_params;
    char extensions[SW_WS_EXTENSIONS_MAX]; /* server: Sec-WebSocket-Extensions answer, or "" */
    int detail;                            /* sw_ws_detail_t of a failure, else NONE */
} sw_ws_handshake_t;

/**
 * Computes Sec-WebSocket-Accept for `key` (base64(SHA-1(key + the RFC 6455 GUID))) into
 * out, NUL-terminated. The key is used as given (already trimmed). Returns 0, or SW_EINVAL
 * (out NULL, or key NULL with key_len > 0).
 */
SW_API int sw_ws_accept_key(const char *key, size_t key_len, char out[SW_WS_ACCEPT_LEN + 1]);

/**
 * Server side: validates a client's opening handshake (RFC 6455 §4.2.1): method GET, HTTP/1.1
 * or later, Host present, Upgrade with the token "websocket", Connection with the token
 * "upgrade" (both lists, case-insensitive), Sec-WebSocket-Key the base64 form of exactly 16
 * bytes (canonical, with "==" padding), Sec-WebSocket-Version 13, well-formed
 * Sec-WebSocket-Protocol and -Extensions lists. Then fills `hs`: the accept value, the
 * subprotocol chosen by opts->select_protocol (called at most once, only on success of the
 * checks above), and permessage-deflate when opts->deflate is set, zlib is present and one of
 * the client's offers is acceptable (offers with unknown, duplicate or invalid parameters are
 * declined, RFC 7692 §5.1).
 *
 * Returns 0, SW_EINVAL (req or hs NULL; the callback returned an index out of range),
 * SW_EWS_VERSION (answer 426 with Sec-WebSocket-Version: 13: see sw_ws_handshake_reject) or
 * SW_EWS_HANDSHAKE (answer 400); hs->detail says why. opts NULL means defaults.
 */
SW_API int sw_ws_handshake_accept(const sw_ws_headers_t *req, const sw_ws_server_options_t *opts,
                                  sw_ws_handshake_t *hs);

/**
 * Writes the 101 Switching Protocols response for an accepted handshake into buf[0..cap),
 * NUL-terminated: Upgrade, Connection, Sec-WebSocket-Accept, and Sec-WebSocket-Protocol /
 * -Extensions when agreed, then `extra` (more header lines, each ending in CRLF, e.g.
 * "Set-Cookie: a=b\r\n"; NULL or "" for none), then the empty line. Returns the length
 * (without the NUL), SW_ENOBUFS (cap too small) or SW_EINVAL (hs or buf NULL, or `extra` not
 * made of CRLF-terminated non-empty lines without NUL, bare CR or bare LF).
 */
SW_API int sw_ws_handshake_response(const sw_ws_handshake_t *hs, const char *extra, char *buf,
                                    size_t cap);

/** The HTTP status to answer a failed handshake with: 426 for SW_EWS_VERSION, 400 for
 * SW_EWS_HANDSHAKE and SW_EINVAL, 500 for anything else. */
SW_API int sw_ws_handshake_status(int err);

/**
 * Writes the response for a failed handshake into buf (NUL-terminated): "426 Upgrade
 * Required" with "Sec-WebSocket-Version: 13" for SW_EWS_VERSION, "400 Bad Request" for
 * SW_EWS_HANDSHAKE, "500 Internal Server Error" otherwise; each with Content-Length: 0 and
 * Connection: close. Returns the length, SW_ENOBUFS or SW_EINVAL (buf NULL or err >= 0).
 */
SW_API int sw_ws_handshake_reject(int err, char *buf, size_t cap);

/** Client side: writes the Sec-WebSocket-Key for 16 random bytes the caller provides
 * (e.g. from getrandom()) into key, NUL-terminated. Returns 0 or SW_EINVAL (NULL arguments). */
SW_API int sw_ws_client_key(const uint8_t nonce[16], char key[SW_WS_KEY_LEN + 1]);

typedef struct sw_ws_client_options_s {
    const char *host;       /* Host header value, e.g. "example.com:8080"; required */
    const char *path;       /* request target, e.g. "/chat?x=1"; required, starts with '/' */
    const char *key;        /* from sw_ws_client_key; required */
    const char *origin;     /* NULL: no Origin header */
    const char *protocols;  /* Sec-WebSocket-Protocol offer, e.g. "chat, superchat"; or NULL */
    const char *extensions; /* Sec-WebSocket-Extensions offer (sw_ws_deflate_offer); or NULL */
    const char *extra;      /* more CRLF-terminated header lines; or NULL */
} sw_ws_client_options_t;

/**
 * Writes a client's opening handshake request (GET, HTTP/1.1) into buf, NUL-terminated.
 * Returns its length, SW_ENOBUFS or SW_EINVAL (missing required fields; a key that is not
 * 24 base64 characters; host, path, origin, protocols or extensions containing control
 * characters, or path with a space or not starting with '/'; bad `extra` as in
 * sw_ws_handshake_response).
 */
SW_API int sw_ws_client_request(const sw_ws_client_options_t *opts, char *buf, size_t cap);

/**
 * Client side: validates the server's response (RFC 6455 §4.1): status 101, Upgrade
 * "websocket", Connection "upgrade", Sec-WebSocket-Accept equal to the value computed from
 * `key`, a subprotocol only if it is one of `protocols` (the offered list; NULL: none
 * offered), extensions only permessage-deflate and only if `deflate` (the options the offer
 * was made with; NULL: not offered), with parameters the offer allows (RFC 7692 §7.1).
 * Fills hs (accept, protocol, deflate, deflate_params). Returns 0, SW_EINVAL (NULL resp, key
 * or hs; window bits of `deflate` outside 8..15), SW_ENOTSUP (`deflate` given but the library
 * was built without zlib) or SW_EWS_HANDSHAKE with hs->detail set.
 */
SW_API int sw_ws_client_verify(const sw_ws_headers_t *resp, const char *key, const char *protocols,
                               const sw_ws_deflate_options_t *deflate, sw_ws_handshake_t *hs);

SW_EXTERN_C_END

#endif
