/*
 * HTTP module internals: character classes, the scanners (scalar, SSE4.2, AVX2) and the
 * functions the parser files share.
 */
#ifndef SW_HTTP_INT_H
#define SW_HTTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "swoole/error.h"
#include "swoole/http.h"

/* Everything declared here is internal: hidden, so calls and table loads need no PLT/GOT. */
#pragma GCC visibility push(hidden)

/* Character classes, one bit each in sw__http_cclass[]. */
#define SW_HTTP_C_TCHAR  0x01 /* token character (RFC 9110 §5.6.2) */
#define SW_HTTP_C_FIELD  0x02 /* field-value byte: HTAB, SP, VCHAR, obs-text */
#define SW_HTTP_C_VCHAR  0x04 /* 0x21..0x7e */
#define SW_HTTP_C_HEX    0x08 /* hex digit */
#define SW_HTTP_C_COOKIE 0x10 /* cookie-octet (RFC 6265 §4.1.1) */
#define SW_HTTP_C_BCHAR  0x20 /* boundary character without space (RFC 2046 §5.1.1) */
#define SW_HTTP_C_QDTEXT \
    0x40 /* qdtext of a quoted-string: HTAB, SP, VCHAR but '"' '\\', obs-text */
#define SW_HTTP_C_REGNAME 0x80 /* reg-name byte: unreserved / sub-delims (RFC 3986), and '%' */

extern const uint8_t sw__http_cclass[256];

static inline int sw__http_is(unsigned char c, int cls)
{
    return (sw__http_cclass[c] & cls) != 0;
}

static inline int sw__http_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* ASCII case-insensitive comparison of `n` bytes of `s` with `lower`, which must hold only
 * lowercase letters, digits and '-' (so `c | 0x20` is exact for every token byte). */
static inline int sw__http_name_eq(const char *s, const char *lower, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)s[i] | 0x20) != (unsigned char)lower[i]) {
            return 0;
        }
    }
    return 1;
}

/* General ASCII case-insensitive comparison of two byte strings of length n: 0 if equal,
 * else negative or positive like memcmp. */
static inline int sw__http_casecmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        x = (unsigned char)(x >= 'A' && x <= 'Z' ? x | 0x20 : x);
        y = (unsigned char)(y >= 'A' && y <= 'Z' ? y | 0x20 : y);
        if (x != y) {
            return x < y ? -1 : 1;
        }
    }
    return 0;
}

/*
 * Scanners. Each returns the first byte in [p, end) that does not belong to its class, or
 * `end`. They never read outside [p, end): vector loads happen only while a whole vector
 * fits.
 *   value:  the class SW_HTTP_C_FIELD (stops at CTLs but HTAB, at DEL; obs-text passes)
 *   vchar:  the class SW_HTTP_C_VCHAR (stops at SP, CTLs, DEL and obs-text)
 */
typedef const char *(*sw__http_scan_fn)(const char *p, const char *end);

typedef struct {
    sw__http_scan_fn value;
    sw__http_scan_fn vchar;
} sw__http_scanners_t;

const char *sw__http_scan_value_scalar(const char *p, const char *end);
const char *sw__http_scan_vchar_scalar(const char *p, const char *end);
#ifdef SW_HTTP_X86
const char *sw__http_scan_value_sse42(const char *p, const char *end);
const char *sw__http_scan_vchar_sse42(const char *p, const char *end);
const char *sw__http_scan_value_avx2(const char *p, const char *end);
const char *sw__http_scan_vchar_avx2(const char *p, const char *end);
/* sw_http_date_parse() with the current year given (tests of the two-digit year rule). */
int sw__http_date_parse_at(const char *s, size_t len, int64_t now_year, int64_t *t);

#endif

/* The scanners of a SW_HTTP_SIMD_* level (never AUTO); NULL when the level is not built. */
const sw__http_scanners_t *sw__http_scanners(int level);

/* Resolves AUTO and checks a level against the CPU: the level, or SW_ENOTSUP / SW_EINVAL. */
int sw__http_simd_resolve(int level);

/* Parser internals shared by parser.c, fields.c and body.c. */

/* Head states (sw_http_parser_t.state_). */
enum {
    SW_HS_START = 0,
    SW_HS_METHOD,
    SW_HS_TARGET_START,
    SW_HS_TARGET,
    SW_HS_VERSION,
    SW_HS_RL_LF,
    SW_HS_STATUS_VERSION,
    SW_HS_STATUS_CODE,
    SW_HS_REASON,
    SW_HS_FIELD_START,
    SW_HS_NAME,
    SW_HS_OWS,
    SW_HS_VALUE,
    SW_HS_VALUE_LF,
    SW_HS_END_LF,
    SW_HS_HEAD_DONE, /* head returned; body next */
    SW_HS_BODY,
    SW_HS_DONE,
    SW_HS_ERROR
};

/* Records a sticky error and returns its code. */
int sw__http_fail(sw_http_parser_t *p, int code, uint64_t offset, const char *reason);

/* Interprets a completed header field line (Content-Length, Transfer-Encoding, Connection,
 * Upgrade, Expect, Host). Returns 0 or a sticky error. `special` receives the kind of field
 * (0: not interpreted). */
int sw__http_field(sw_http_parser_t *p, const char *buf, const sw_http_header_t *h,
                   uint32_t *special);

/* Decides framing and keep-alive once the head is complete. Returns 0 or a sticky error. */
int sw__http_head_complete(sw_http_parser_t *p);

/* One step of body decoding over a window (see sw_http_parser_body). */
int sw__http_body_step(sw_http_parser_t *p, const char *buf, size_t len, sw_http_piece_t *out);

/* Transfer-Encoding summary bits (te_state_). */
#define SW_HTTP_TE_PRESENT      0x1u
#define SW_HTTP_TE_CHUNKED_LAST 0x2u
#define SW_HTTP_TE_CHUNKED_SEEN 0x4u
#define SW_HTTP_TE_OTHER        0x8u

/* Body states (body_state_). */
enum {
    SW_BS_NONE = 0,
    SW_BS_LENGTH,
    SW_BS_EOF,
    SW_BS_CHUNK_SIZE,     /* hex digits */
    SW_BS_CHUNK_SIZE_WS,  /* BWS after the size */
    SW_BS_EXT_NAME_START, /* after ';' */
    SW_BS_EXT_NAME,
    SW_BS_EXT_NAME_WS,
    SW_BS_EXT_VALUE_START, /* after '=' */
    SW_BS_EXT_TOKEN,
    SW_BS_EXT_QUOTED,
    SW_BS_EXT_QUOTED_ESC,
    SW_BS_EXT_VALUE_WS,
    SW_BS_CHUNK_SIZE_LF,
    SW_BS_CHUNK_DATA,
    SW_BS_CHUNK_DATA_CR,
    SW_BS_CHUNK_DATA_LF,
    SW_BS_TRAILER_START,
    SW_BS_TRAILER_NAME,
    SW_BS_TRAILER_OWS,
    SW_BS_TRAILER_VALUE,
    SW_BS_TRAILER_LF,
    SW_BS_END_LF,
    SW_BS_DONE
};

/* Header-field parameter lookup shared by multipart.c: finds `;name=value` (name
 * case-insensitive) after the first ';' of `v`. On success stores the value's bounds (inside
 * the quotes for a quoted-string) and whether it was quoted; returns 1 found, 0 not found,
 * SW_EINVAL malformed parameter list. */
int sw__http_param(const char *v, size_t len, const char *name, size_t name_len, size_t *off,
                   size_t *vlen, int *quoted);

/* sw_http_date_parse() with the current year given (tests of the two-digit year rule). */
int sw__http_date_parse_at(const char *s, size_t len, int64_t now_year, int64_t *t);

#pragma GCC visibility pop

#endif
