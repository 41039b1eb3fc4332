/*
 * HTTP/1.1 protocol layer: pure functions over caller buffers, no sockets.
 *
 * The parser (sw_http_parser_t) reads requests or responses incrementally and without copying:
 * every result is a span (offset + length) into the caller's buffer, counted from the first
 * byte of the message. Offsets rather than pointers let the caller grow (realloc) or move its
 * buffer between calls, and let a reactor thread hand the head bytes plus the span array to a
 * worker, which reads the same spans from its own copy.
 *
 * Feeding bytes: the caller keeps the message contiguous from its first byte and calls
 * sw_http_parser_execute(p, buf, len) each time more bytes arrive, with the same prefix and a
 * larger `len`. The parser keeps its scan position, so no byte is examined twice, and it may
 * stop and resume at any byte. "Need more bytes" is the normal result SW_HTTP_PARTIAL.
 *
 * Bodies: after SW_HTTP_HEAD_DONE the caller picks one of two ways to read the body:
 *   - whole message: keep calling sw_http_parser_execute() on the same buffer. Chunked bodies
 *     are decoded in place: chunk data is moved down so that, when SW_HTTP_MESSAGE_DONE is
 *     returned, the body is the contiguous span [head_len, head_len + body_len) and the next
 *     pipelined message starts at buf + consumed.
 *   - streaming: call sw_http_parser_body() on any window of the bytes that follow what was
 *     consumed so far; each call returns at most one piece of body data inside that window and
 *     never writes to it, so the caller may drop bytes as soon as a piece was handled (a 1 GB
 *     upload never needs to sit in memory).
 * Do not mix the two ways for one message.
 *
 * Strictness (RFC 9110 / RFC 9112), on by default; every rejection is a sticky error with a
 * distinct SW_EHTTP_* code, the byte offset where it was found and a static reason string.
 * The options' `lenient` bits relax only bare-LF line endings in the head and obs-fold in
 * fields the parser does not interpret; nothing that changes message framing is ever relaxed.
 * docs/api/http.md lists every rule.
 *
 * Helpers: URL split, percent-decoding, query/urlencoded forms, Cookie parsing, Set-Cookie
 * building, a streaming multipart/form-data parser, header lookup, HTTP dates and status
 * reason phrases.
 *
 * Thread-safety: no function keeps global state; an object (parser, multipart parser) is used
 * by one thread at a time, and different objects may be used from different threads freely.
 */
#ifndef SWOOLE_HTTP_H
#define SWOOLE_HTTP_H

#include <stdint.h>

#include "swoole/common.h"

SW_EXTERN_C_BEGIN

/* ------------------------------------------------------------------------------------------- */
/* Spans and headers                                                                           */

/** A byte range of a caller's buffer: buf[off .. off + len). */
typedef struct {
    uint32_t off;
    uint32_t len;
} sw_http_span_t;

/** One header (or trailer) field line: its name and its value without surrounding OWS. */
typedef struct {
    sw_http_span_t name;
    sw_http_span_t value;
} sw_http_header_t;

/**
 * Finds the first header at index >= `start` whose name equals `name` (`name_len` bytes,
 * ASCII case-insensitive). `buf` is the buffer the spans refer to. Returns the index, or
 * SW_ENOENT when there is none, or SW_EINVAL (buf, headers or name NULL). Pass index + 1 as
 * `start` to find the next field line with the same name.
 */
SW_API int sw_http_header_find(const char *buf, const sw_http_header_t *headers, size_t count,
                               const char *name, size_t name_len, size_t start);

/* ------------------------------------------------------------------------------------------- */
/* Parser                                                                                      */

/** What a parser reads. */
typedef enum { SW_HTTP_REQUEST = 1, SW_HTTP_RESPONSE = 2 } sw_http_type_t;

/** Request methods the parser recognises (case-sensitive, RFC 9110 §9.1); any other valid
 * token is SW_HTTP_METHOD_OTHER and is still accepted. */
typedef enum {
    SW_HTTP_METHOD_OTHER = 0,
    SW_HTTP_METHOD_GET,
    SW_HTTP_METHOD_HEAD,
    SW_HTTP_METHOD_POST,
    SW_HTTP_METHOD_PUT,
    SW_HTTP_METHOD_DELETE,
    SW_HTTP_METHOD_CONNECT,
    SW_HTTP_METHOD_OPTIONS,
    SW_HTTP_METHOD_TRACE,
    SW_HTTP_METHOD_PATCH
} sw_http_method_t;

/** Results of sw_http_parser_execute() / _body() / _finish() (errors are negative). */
#define SW_HTTP_PARTIAL      0 /* all bytes used; call again with more */
#define SW_HTTP_HEAD_DONE    1 /* the head is complete (returned once per message) */
#define SW_HTTP_MESSAGE_DONE 2 /* the message is complete */

/** Lenient bits for sw_http_parser_options_t.lenient. */
#define SW_HTTP_LENIENT_BARE_LF  0x1u /* accept LF without CR as the end of a head line */
#define SW_HTTP_LENIENT_OBS_FOLD 0x2u /* unfold obs-fold (in place) in uninterpreted fields */

/** Scanner selection for sw_http_parser_options_t.simd. */
#define SW_HTTP_SIMD_AUTO   0 /* the best the CPU supports */
#define SW_HTTP_SIMD_SCALAR 1 /* portable code only */
#define SW_HTTP_SIMD_SSE42  2 /* SSE4.2 (PCMPESTRI) */
#define SW_HTTP_SIMD_AVX2   3 /* AVX2 */

/**
 * The best scanner this CPU supports: SW_HTTP_SIMD_AVX2, _SSE42 or _SCALAR. Thread-safe.
 */
SW_API int sw_http_simd_best(void);

/**
 * Message flags (sw_http_parser_t.flags), final once SW_HTTP_HEAD_DONE was returned.
 *   KEEP_ALIVE      the connection persists after this message (RFC 9112 §9.3)
 *   CONTENT_LENGTH  framed by Content-Length (content_length is set)
 *   CHUNKED         framed by the chunked transfer coding
 *   UNTIL_CLOSE     a response body that ends when the connection closes
 *   UPGRADE         a request asking to upgrade (Upgrade + "Connection: upgrade", HTTP/1.1),
 *                   or a 101 response: the bytes after this message may be another protocol
 *   CONNECT         a CONNECT request, or a 2xx response to CONNECT: a tunnel follows
 *   EXPECT_CONTINUE "Expect: 100-continue" in an HTTP/1.1 request
 *   EXPECT_OTHER    another expectation (answer 417)
 *   TE_CODINGS      transfer codings other than chunked (gzip, deflate, compress)
 *   TRAILERS        the chunked body carried trailer fields
 *   CONN_CLOSE, CONN_KEEP_ALIVE, CONN_UPGRADE   the Connection options seen
 *   HAS_UPGRADE     an Upgrade field is present
 *   NO_BODY         no body by rule (HEAD response, 1xx, 204, 304, CONNECT and tunnels)
 */
#define SW_HTTP_F_KEEP_ALIVE      0x0001u
#define SW_HTTP_F_CONTENT_LENGTH  0x0002u
#define SW_HTTP_F_CHUNKED         0x0004u
#define SW_HTTP_F_UNTIL_CLOSE     0x0008u
#define SW_HTTP_F_UPGRADE         0x0010u
#define SW_HTTP_F_CONNECT         0x0020u
#define SW_HTTP_F_EXPECT_CONTINUE 0x0040u
#define SW_HTTP_F_EXPECT_OTHER    0x0080u
#define SW_HTTP_F_TE_CODINGS      0x0100u
#define SW_HTTP_F_TRAILERS        0x0200u
#define SW_HTTP_F_CONN_CLOSE      0x0400u
#define SW_HTTP_F_CONN_KEEP_ALIVE 0x0800u
#define SW_HTTP_F_CONN_UPGRADE    0x1000u
#define SW_HTTP_F_HAS_UPGRADE     0x2000u
#define SW_HTTP_F_NO_BODY         0x4000u

/** Limits and behaviour; fill with sw_http_parser_options_init() first. */
typedef struct {
    uint32_t max_start_line; /* request or status line without CRLF; default 8192 */
    uint32_t max_head;       /* start line + field lines + empty line, also the bound of the
                                trailer section; default 65536, at most 0x7fffffff */
    uint32_t max_headers;    /* field lines (trailers included); default 100 */
    uint32_t max_chunk_line; /* a chunk-size line with its extensions; default 1024 */
    uint64_t max_body;       /* decoded body bytes; default UINT64_MAX (no limit) */
    unsigned lenient;        /* SW_HTTP_LENIENT_* bits; default 0 (strict) */
    int simd;                /* SW_HTTP_SIMD_*; default SW_HTTP_SIMD_AUTO */
} sw_http_parser_options_t;

/** Fills `opts` with the defaults above. NULL is ignored. */
SW_API void sw_http_parser_options_init(sw_http_parser_options_t *opts);

/**
 * The parser. The caller allocates it (it may be embedded in a connection struct) and must
 * not write to any field but `data`. The fields in the "results" block are valid as documented
 * there; every span is relative to the first byte of the message (the `buf` argument of
 * sw_http_parser_execute()).
 */
typedef struct sw_http_parser_s {
    void *data; /* the user's; never touched by the library */

    /* results */
    uint8_t type;              /* SW_HTTP_REQUEST or SW_HTTP_RESPONSE */
    uint8_t method;            /* sw_http_method_t of a request */
    uint8_t version_minor;     /* 0 or 1 (HTTP/1.0, HTTP/1.1) */
    uint16_t status;           /* status code of a response, 100..599 */
    uint32_t flags;            /* SW_HTTP_F_* */
    sw_http_span_t method_str; /* method token (requests) */
    sw_http_span_t target;     /* request-target (requests) */
    sw_http_span_t reason;     /* reason phrase (responses; may be empty) */
    sw_http_header_t *headers; /* the caller's array given to sw_http_parser_init() */
    uint32_t num_headers;      /* header field lines in headers[0 .. num_headers) */
    uint32_t num_trailers;     /* trailer lines in headers[num_headers .. + num_trailers) */
    uint32_t head_len;         /* bytes of the head, empty line included; set at HEAD_DONE */
    uint64_t content_length;   /* with SW_HTTP_F_CONTENT_LENGTH */
    uint64_t body_len;         /* decoded body bytes so far */
    uint64_t consumed;         /* raw bytes of this message consumed so far */
    int error;                 /* 0, or the sticky SW_E* code */
    uint64_t error_offset;     /* byte offset in the message where the error was found */
    const char *error_reason;  /* static text saying what exactly was wrong; NULL if none */

    /* private: parser state */
    uint8_t state_;
    uint8_t body_state_;
    uint8_t simd_;
    uint8_t req_method_; /* responses: method of the request being answered */
    uint32_t lenient_;
    uint32_t pos_;  /* head: next byte to scan */
    uint32_t mark_; /* head: start of the current element */
    uint32_t line_; /* head: start of the current line */
    uint32_t aux_;  /* head and trailers: length of the current field name */
    uint32_t cap_;  /* headers array capacity */
    uint32_t max_start_line_;
    uint32_t max_head_;
    uint32_t max_headers_;
    uint32_t max_chunk_line_;
    uint32_t hosts_;      /* Host field lines seen */
    uint32_t te_state_;   /* Transfer-Encoding summary bits */
    uint32_t special_;    /* kind of the last recorded field (obs-fold guard) */
    uint32_t chunk_line_; /* bytes of the current chunk-size line */
    uint32_t chunk_digits_;
    uint64_t max_body_;
    uint64_t remaining_; /* body bytes left (length / chunk data) */
    uint64_t tmark_;     /* trailers: start of name / value (absolute) */
    uint64_t tvend_;     /* trailers: end of value without trailing OWS */
    uint64_t tsize_;     /* trailers: bytes of the trailer section so far */
} sw_http_parser_t;

/**
 * Initialises a parser for one `type` with `opts` (NULL: defaults; the options are copied).
 * `headers` is the caller's array of `capacity` entries that receives the field lines (and
 * trailer lines) of each message; it must stay valid while the parser is used. At most
 * min(opts->max_headers, capacity) field lines are accepted per message.
 * Returns 0, SW_EINVAL (p NULL, bad type, headers NULL with capacity > 0, a zero limit,
 * max_head above 0x7fffffff, unknown simd value) or SW_ENOTSUP (the requested SIMD level is
 * not supported by this CPU). Nothing is allocated: no close call is needed.
 */
SW_API int sw_http_parser_init(sw_http_parser_t *p, sw_http_type_t type,
                               const sw_http_parser_options_t *opts, sw_http_header_t *headers,
                               size_t capacity);

/**
 * Prepares the parser for the next message on the same connection (options, headers array,
 * `data` and, for responses, nothing else are kept; the sticky error is cleared). The next
 * message starts at the old buf + consumed.
 */
SW_API void sw_http_parser_reset(sw_http_parser_t *p);

/**
 * For a response parser: the method of the request that this response answers, which decides
 * framing (a response to HEAD has no body; a 2xx response to CONNECT starts a tunnel). Call
 * before the first execute() of each response; reset() sets it back to GET.
 */
SW_API void sw_http_parser_set_request_method(sw_http_parser_t *p, sw_http_method_t method);

/**
 * Parses the message whose first byte is buf[0] and whose bytes received so far are
 * buf[0 .. len). Call again with the same prefix (it may have moved in memory) and a larger
 * `len` when more bytes arrive. Returns:
 *   SW_HTTP_PARTIAL       every byte up to len was used; more are needed
 *   SW_HTTP_HEAD_DONE     the head is complete: method, target/status, headers, flags,
 *                         head_len are set (returned once; call again for the body, even if
 *                         no new byte arrived: a message without body completes then)
 *   SW_HTTP_MESSAGE_DONE  the message is complete; the body is buf[head_len .. + body_len),
 *                         the message used `consumed` bytes of buf
 *   < 0                   SW_EHTTP_* (sticky; see error_offset/error_reason), or SW_EINVAL
 *                         (p or buf NULL, len smaller than what was already consumed; not
 *                         sticky)
 * Writes to `buf` only to decode a chunked body in place and, with SW_HTTP_LENIENT_OBS_FOLD,
 * to replace an obs-fold's CRLF by spaces. Bytes past the message are never read. A response
 * with SW_HTTP_F_UNTIL_CLOSE is completed by sw_http_parser_finish().
 */
SW_API int sw_http_parser_execute(sw_http_parser_t *p, char *buf, size_t len);

/** One piece of body data inside the window given to sw_http_parser_body(). */
typedef struct {
    size_t consumed; /* bytes of the window used by the call */
    size_t data_off; /* the piece is window[data_off .. data_off + data_len) */
    size_t data_len; /* 0 when the call produced no data */
} sw_http_piece_t;

/**
 * Streaming body: after SW_HTTP_HEAD_DONE, `buf` holds the next `len` raw bytes of the
 * connection (the first one follows the last byte consumed). Uses bytes up to the end of the
 * next piece of body data or the end of the message, and returns SW_HTTP_MESSAGE_DONE (the
 * message ended inside the window: the bytes after out->consumed belong to the next message),
 * SW_HTTP_PARTIAL (call again with the rest of the window, or with new bytes when
 * out->consumed == len) or a sticky SW_EHTTP_* code. `buf` is not written. Trailer spans are
 * offsets in the raw message (consumed counts them) and are only meaningful to a caller that
 * kept those bytes. Errors: as execute(), plus SW_EINVAL when called before HEAD_DONE.
 */
SW_API int sw_http_parser_body(sw_http_parser_t *p, const char *buf, size_t len,
                               sw_http_piece_t *out);

/**
 * The connection was closed by the peer. Returns SW_HTTP_MESSAGE_DONE when that completes
 * the current message (a response read until close, or a message already complete),
 * SW_HTTP_PARTIAL when no byte of a new message had arrived (a clean close between messages),
 * SW_EOF when the message was cut short (the error becomes sticky), SW_EINVAL (p NULL), or
 * the sticky error.
 */
SW_API int sw_http_parser_finish(sw_http_parser_t *p);

/** Name of a method ("GET"...), or NULL for SW_HTTP_METHOD_OTHER / unknown values. */
SW_API const char *sw_http_method_name(sw_http_method_t method);

/* ------------------------------------------------------------------------------------------- */
/* URLs and forms                                                                              */

/** Parts of a URL or request-target; absent parts have len 0 and the `has_*` bit clear. */
typedef struct {
    sw_http_span_t scheme;   /* "http" (absolute-form) */
    sw_http_span_t userinfo; /* before '@' in the authority */
    sw_http_span_t host;     /* reg-name, IPv4, or IP-literal with its brackets */
    sw_http_span_t port;     /* digits */
    sw_http_span_t path;     /* "/a/b" (may be empty in absolute-form, "*" in asterisk-form) */
    sw_http_span_t query;    /* after '?', without it */
    sw_http_span_t fragment; /* after '#', without it */
    uint16_t port_num;       /* value of port, 0 if none */
    uint8_t has_query;       /* a '?' was present (query may still be empty) */
    uint8_t has_fragment;    /* a '#' was present */
    uint8_t has_authority;   /* the form has an authority ("//host", or authority-form) */
} sw_http_url_t;

/** URL forms for sw_http_url_parse(). */
#define SW_HTTP_URL_ANY       0 /* origin-, absolute- or asterisk-form, decided by the input */
#define SW_HTTP_URL_AUTHORITY 1 /* authority-form (CONNECT targets): host:port */

/**
 * Splits `s` (`len` bytes, len <= UINT32_MAX) into its parts; spans are relative to `s`.
 * Every byte must be a visible ASCII character (0x21..0x7e), percent escapes must be "%"
 * followed by two hex digits, the port (if any) at most 65535, an IP-literal well bracketed.
 * The path is not decoded or normalised. Returns 0, SW_EHTTP_URL, or SW_EINVAL (NULL s or u,
 * unknown form).
 */
SW_API int sw_http_url_parse(const char *s, size_t len, int form, sw_http_url_t *u);

/** Flags for sw_http_url_decode(). */
#define SW_HTTP_DECODE_PLUS       0x1u /* '+' means space (forms and query strings) */
#define SW_HTTP_DECODE_REJECT_NUL 0x2u /* "%00" is an error (paths, names) */

/**
 * Percent-decodes `len` bytes of `in` into `out` (`cap` bytes; out == in is allowed, decoding
 * in place). Returns the decoded length, SW_EHTTP_URL (a '%' not followed by two hex digits,
 * or %00 with SW_HTTP_DECODE_REJECT_NUL), SW_ENOBUFS (cap too small; out is then partly
 * written) or SW_EINVAL (NULL in/out with len > 0, len > INT32_MAX). No NUL is appended.
 */
SW_API int sw_http_url_decode(const char *in, size_t len, char *out, size_t cap, unsigned flags);

/** A key/value pair; spans into the buffer given to the parsing call. */
typedef struct {
    sw_http_span_t key;
    sw_http_span_t value;
} sw_http_kv_t;

/**
 * Parses a query string or an application/x-www-form-urlencoded body (`a=1&b=x+y&c`) in place:
 * keys and values are percent-decoded ('+' is a space) inside `buf`, and out[i] spans the
 * decoded bytes. Empty pairs ("&&") are skipped; a pair without '=' has an empty value.
 * Returns the number of pairs, SW_EHTTP_URL (bad percent escape), SW_EHTTP_LIMIT (more than
 * `cap` pairs) or SW_EINVAL (NULL arguments, len > UINT32_MAX). `buf` is modified even on
 * error.
 */
SW_API int sw_http_form_parse(char *buf, size_t len, sw_http_kv_t *out, size_t cap);

/* ------------------------------------------------------------------------------------------- */
/* Cookies                                                                                     */

/**
 * Parses a Cookie header value (`a=1; b="2"`, RFC 6265 §5.4 / §4.2.1) without copying: names
 * and values are spans into `s` (surrounding whitespace and a value's enclosing double quotes
 * removed; nothing is decoded). Empty elements are skipped; an element without '=' has an
 * empty name and the element as its value (as browsers send it). Returns the number of pairs,
 * SW_EHTTP_LIMIT (more than `cap` pairs), SW_EHTTP_HEADER_VALUE (a control character) or
 * SW_EINVAL (NULL arguments, len > UINT32_MAX).
 */
SW_API int sw_http_cookie_parse(const char *s, size_t len, sw_http_kv_t *out, size_t cap);

/** SameSite attribute values. */
typedef enum {
    SW_HTTP_SAMESITE_UNSET = 0,
    SW_HTTP_SAMESITE_STRICT,
    SW_HTTP_SAMESITE_LAX,
    SW_HTTP_SAMESITE_NONE
} sw_http_samesite_t;

/** A cookie to send. Strings are not NUL-terminated (NULL with len 0: absent). */
typedef struct {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
    const char *domain;
    size_t domain_len;
    const char *path;
    size_t path_len;
    int64_t expires; /* Unix time; used when has_expires */
    int64_t max_age; /* seconds (<= 0: expire now); used when has_max_age */
    uint8_t has_expires;
    uint8_t has_max_age;
    uint8_t secure;
    uint8_t http_only;
    uint8_t same_site; /* sw_http_samesite_t */
} sw_http_cookie_t;

/**
 * Writes the value of a Set-Cookie header for `c` (RFC 6265 §4.1) into `out` (`cap` bytes,
 * NUL-terminated). The name must be a non-empty token, the value cookie-octets (optionally
 * enclosed in double quotes), Domain and Path free of control characters and ';', and
 * SameSite=None needs Secure. Returns the length written (without the NUL), SW_ENOBUFS (cap
 * too small) or SW_EINVAL (NULL arguments, invalid name/value/attribute).
 */
SW_API int sw_http_set_cookie_build(const sw_http_cookie_t *c, char *out, size_t cap);

/* ------------------------------------------------------------------------------------------- */
/* Dates and status codes                                                                      */

/** Bytes needed for an IMF-fixdate and its NUL: "Sun, 06 Nov 1994 08:49:37 GMT". */
#define SW_HTTP_DATE_SIZE 30

/**
 * Formats Unix time `t` as an IMF-fixdate (RFC 9110 §5.6.7) into `out` (NUL-terminated).
 * Returns 29, or SW_EINVAL (out NULL, t before year 0 or after year 9999).
 */
SW_API int sw_http_date_format(int64_t t, char out[SW_HTTP_DATE_SIZE]);

/**
 * Parses an HTTP date in any of the three formats of RFC 9110 §5.6.7 (IMF-fixdate, the
 * obsolete RFC 850 form with a two-digit year, asctime) into Unix time. A two-digit year that
 * would be more than 50 years in the future is taken from the previous century, as §5.6.7
 * says (relative to the current clock). The day name must match the date. Returns 0,
 * SW_EHTTP_HEADER_VALUE (not a valid date) or SW_EINVAL (NULL arguments).
 */
SW_API int sw_http_date_parse(const char *s, size_t len, int64_t *t);

/** The reason phrase registered for `status` ("Not Found"), or NULL if it has none. */
SW_API const char *sw_http_status_reason(int status);

/* ------------------------------------------------------------------------------------------- */
/* Streaming multipart/form-data (RFC 7578, RFC 2046 §5.1)                                     */

/** Maximum boundary length (RFC 2046 §5.1.1). */
#define SW_HTTP_BOUNDARY_MAX 70

/**
 * Finds the boundary parameter of a Content-Type value (`multipart/form-data; boundary=xyz`,
 * quoted or not). The media type must be multipart/<any>. Stores a pointer into `ctype` and the
 * length (1..70, bchars only). Returns 0, SW_EHTTP_MULTIPART (not multipart, no or invalid
 * boundary) or SW_EINVAL (NULL arguments).
 */
SW_API int sw_http_multipart_boundary(const char *ctype, size_t len, const char **boundary,
                                      size_t *boundary_len);

/** What on_part_begin sees about a part. Pointers are valid until the callback returns. */
typedef struct {
    const char *head;                /* the part's header bytes: spans below refer to it */
    const sw_http_header_t *headers; /* the part's field lines */
    size_t num_headers;
    const char *name; /* Content-Disposition name (unquoted, unescaped), or NULL */
    size_t name_len;
    const char *filename; /* Content-Disposition filename, or NULL if not a file part */
    size_t filename_len;
    const char *content_type; /* the part's Content-Type value, or NULL */
    size_t content_type_len;
} sw_http_part_t;

typedef struct sw_http_multipart_s sw_http_multipart_t;

/** Callbacks; each returns 0 to go on or a negative SW_E* code to stop the parser (that code
 * becomes its sticky error). Any of them may be NULL. */
typedef struct {
    int (*on_part_begin)(sw_http_multipart_t *mp, const sw_http_part_t *part, void *arg);
    /* A piece of the current part's content, valid until the callback returns. */
    int (*on_part_data)(sw_http_multipart_t *mp, const char *data, size_t len, void *arg);
    int (*on_part_end)(sw_http_multipart_t *mp, void *arg);
} sw_http_multipart_callbacks_t;

/** Limits of the multipart parser; fill with sw_http_multipart_options_init() first. */
typedef struct {
    uint32_t max_part_head;    /* header bytes of one part; default 8192 */
    uint32_t max_part_headers; /* field lines of one part; default 16 */
    uint32_t max_parts;        /* parts in the body; default 1024 */
} sw_http_multipart_options_t;

/** Fills `opts` with the defaults above. NULL is ignored. */
SW_API void sw_http_multipart_options_init(sw_http_multipart_options_t *opts);

/**
 * The multipart parser; caller-allocated, fields private except `data`. Between
 * sw_http_multipart_init() and sw_http_multipart_close() it owns one allocation of
 * 2 x max_part_head bytes (the part's header block, and room for the unescaped name and
 * filename) plus the array of max_part_headers fields.
 */
struct sw_http_multipart_s {
    void *data; /* the user's */
    int error;  /* 0 or the sticky error */
    /* private */
    uint8_t state_;
    uint8_t delim_len_;
    uint8_t match_;
    char delim_[4 + SW_HTTP_BOUNDARY_MAX]; /* "\r\n--" boundary */
    sw_http_multipart_callbacks_t cb_;
    void *arg_;
    sw_http_multipart_options_t opts_;
    char *head_;
    uint32_t head_len_;
    uint32_t parts_;
    sw_http_header_t *hdrs_;
};

/**
 * Initialises `mp` for a body delimited by `boundary` (1..70 bchars; copied) with `opts`
 * (NULL: defaults) and callbacks `cb` (copied) receiving `arg`. Returns 0, SW_EINVAL (NULL mp
 * or cb, bad boundary, zero limits) or SW_ENOMEM. On error nothing needs closing.
 */
SW_API int sw_http_multipart_init(sw_http_multipart_t *mp, const char *boundary,
                                  size_t boundary_len, const sw_http_multipart_options_t *opts,
                                  const sw_http_multipart_callbacks_t *cb, void *arg);

/**
 * Feeds the next `len` bytes of the body (any split; the bytes need not stay valid after the
 * call). Callbacks run synchronously from this call. Returns SW_HTTP_PARTIAL (more body
 * expected), SW_HTTP_MESSAGE_DONE (the close delimiter was seen; later bytes are the epilogue
 * and ignored), or a sticky error: SW_EHTTP_MULTIPART (syntax), SW_EHTTP_LIMIT (a limit), a
 * callback's code, SW_EINVAL (NULL mp, or NULL buf with len > 0; not sticky).
 */
SW_API int sw_http_multipart_execute(sw_http_multipart_t *mp, const char *buf, size_t len);

/** The body ended: returns SW_HTTP_MESSAGE_DONE if the close delimiter was seen, otherwise
 * SW_EHTTP_MULTIPART (truncated; sticky), or the sticky error. */
SW_API int sw_http_multipart_finish(sw_http_multipart_t *mp);

/** Frees what init allocated. NULL or an already closed parser is fine. */
SW_API void sw_http_multipart_close(sw_http_multipart_t *mp);

SW_EXTERN_C_END

#endif
