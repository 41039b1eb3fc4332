/*
 * The HTTP/1.1 head parser: start line and header field lines (RFC 9112 §2-§5), and the
 * entry points that drive the body decoder in body.c.
 *
 * The head is parsed by a state machine whose states are syntactic elements (method, target,
 * field name, field value ...), not single bytes: inside an element the bytes are skipped by
 * a scanner (table, word-at-a-time, SSE4.2 or AVX2), and the state plus the scan position are
 * saved only when the input runs out. A call therefore resumes exactly where the previous one
 * stopped (at most the one or two bytes of a CR LF pair are looked at again), and the whole
 * head is never rescanned, whatever the size of the pieces it arrives in. Every position is an
 * offset from the first byte of the message, so the caller may move its buffer between calls.
 *
 * Limits are applied by bounding the scan: the head is never scanned past max_head bytes and
 * the start line never past max_start_line + 2, so an oversize head is rejected as soon as the
 * limit is crossed, without reading further.
 */
#include <string.h>

#include "http/http_int.h"

void sw_http_parser_options_init(sw_http_parser_options_t *opts)
{
    if (!opts) {
        return;
    }
    memset(opts, 0, sizeof(*opts));
    opts->max_start_line = 8192;
    opts->max_head = 65536;
    opts->max_headers = 100;
    opts->max_chunk_line = 1024;
    opts->max_body = UINT64_MAX;
    opts->lenient = 0;
    opts->simd = SW_HTTP_SIMD_AUTO;
}

int sw_http_parser_init(sw_http_parser_t *p, sw_http_type_t type,
                        const sw_http_parser_options_t *opts, sw_http_header_t *headers,
                        size_t capacity)
{
    sw_http_parser_options_t def;
    if (!p || (type != SW_HTTP_REQUEST && type != SW_HTTP_RESPONSE) || (!headers && capacity > 0)) {
        return SW_EINVAL;
    }
    if (!opts) {
        sw_http_parser_options_init(&def);
        opts = &def;
    }
    if (opts->max_start_line == 0 || opts->max_head == 0 || opts->max_head > 0x7fffffffu ||
        opts->max_chunk_line == 0 ||
        (opts->lenient & ~(SW_HTTP_LENIENT_BARE_LF | SW_HTTP_LENIENT_OBS_FOLD)) != 0) {
        return SW_EINVAL;
    }
    int simd = sw__http_simd_resolve(opts->simd);
    if (simd < 0) {
        return simd;
    }
    void *data = p->data;
    memset(p, 0, sizeof(*p));
    p->data = data;
    p->type = (uint8_t)type;
    p->headers = headers;
    p->cap_ = capacity > UINT32_MAX ? UINT32_MAX : (uint32_t)capacity;
    p->max_start_line_ = opts->max_start_line;
    p->max_head_ = opts->max_head;
    p->max_headers_ = opts->max_headers < p->cap_ ? opts->max_headers : p->cap_;
    p->max_chunk_line_ = opts->max_chunk_line;
    p->max_body_ = opts->max_body;
    p->lenient_ = opts->lenient;
    p->simd_ = (uint8_t)simd;
    p->req_method_ = SW_HTTP_METHOD_GET;
    return 0;
}

void sw_http_parser_reset(sw_http_parser_t *p)
{
    if (!p) {
        return;
    }
    sw_http_parser_t keep = *p;
    memset(p, 0, sizeof(*p));
    p->data = keep.data;
    p->type = keep.type;
    p->headers = keep.headers;
    p->cap_ = keep.cap_;
    p->max_start_line_ = keep.max_start_line_;
    p->max_head_ = keep.max_head_;
    p->max_headers_ = keep.max_headers_;
    p->max_chunk_line_ = keep.max_chunk_line_;
    p->max_body_ = keep.max_body_;
    p->lenient_ = keep.lenient_;
    p->simd_ = keep.simd_;
    p->req_method_ = SW_HTTP_METHOD_GET;
}

void sw_http_parser_set_request_method(sw_http_parser_t *p, sw_http_method_t method)
{
    if (p) {
        p->req_method_ = (uint8_t)method;
    }
}

int sw__http_fail(sw_http_parser_t *p, int code, uint64_t offset, const char *reason)
{
    p->error = code;
    p->error_offset = offset;
    p->error_reason = reason;
    p->state_ = SW_HS_ERROR;
    return code;
}

static const char *const method_names[] = {
    NULL, "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
};

const char *sw_http_method_name(sw_http_method_t method)
{
    if ((unsigned)method >= sizeof(method_names) / sizeof(method_names[0])) {
        return NULL;
    }
    return method_names[method];
}

static uint8_t classify_method(const char *m, size_t n)
{
    switch (n) {
    case 3:
        if (memcmp(m, "GET", 3) == 0) {
            return SW_HTTP_METHOD_GET;
        }
        if (memcmp(m, "PUT", 3) == 0) {
            return SW_HTTP_METHOD_PUT;
        }
        break;
    case 4:
        if (memcmp(m, "POST", 4) == 0) {
            return SW_HTTP_METHOD_POST;
        }
        if (memcmp(m, "HEAD", 4) == 0) {
            return SW_HTTP_METHOD_HEAD;
        }
        break;
    case 5:
        if (memcmp(m, "PATCH", 5) == 0) {
            return SW_HTTP_METHOD_PATCH;
        }
        if (memcmp(m, "TRACE", 5) == 0) {
            return SW_HTTP_METHOD_TRACE;
        }
        break;
    case 6:
        if (memcmp(m, "DELETE", 6) == 0) {
            return SW_HTTP_METHOD_DELETE;
        }
        break;
    case 7:
        if (memcmp(m, "OPTIONS", 7) == 0) {
            return SW_HTTP_METHOD_OPTIONS;
        }
        if (memcmp(m, "CONNECT", 7) == 0) {
            return SW_HTTP_METHOD_CONNECT;
        }
        break;
    default:
        break;
    }
    return SW_HTTP_METHOD_OTHER;
}

/* The request-target's form must suit the method (RFC 9112 §3.2): authority-form only and
 * always for CONNECT, asterisk-form only for OPTIONS, otherwise origin-form ("/...") or
 * absolute-form (scheme ":" ...). */
static int check_target(sw_http_parser_t *p, const char *buf)
{
    const char *t = buf + p->target.off;
    size_t n = p->target.len;
    if (p->method == SW_HTTP_METHOD_CONNECT) {
        sw_http_url_t u;
        if (sw_http_url_parse(t, n, SW_HTTP_URL_AUTHORITY, &u) < 0 || u.port.len == 0) {
            return sw__http_fail(p, SW_EHTTP_TARGET, p->target.off,
                                 "CONNECT needs an authority-form target (host:port)");
        }
        return 0;
    }
    if (t[0] == '/') {
        return 0;
    }
    if (n == 1 && t[0] == '*') {
        if (p->method != SW_HTTP_METHOD_OPTIONS) {
            return sw__http_fail(p, SW_EHTTP_TARGET, p->target.off,
                                 "asterisk-form target is only for OPTIONS");
        }
        return 0;
    }
    /* absolute-form: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
    size_t i = 0;
    if ((t[0] | 0x20) >= 'a' && (t[0] | 0x20) <= 'z') {
        for (i = 1; i < n; i++) {
            unsigned char c = (unsigned char)t[i];
            int alnum = ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9');
            if (!alnum && c != '+' && c != '-' && c != '.') {
                break;
            }
        }
    }
    if (i == 0 || i >= n || t[i] != ':') {
        return sw__http_fail(p, SW_EHTTP_TARGET, p->target.off,
                             "request-target is neither origin-form nor absolute-form");
    }
    return 0;
}

/* The part of "HTTP/1.x" that is fixed. */
static const char version_prefix[] = "HTTP/1.";

/* Out of input inside the head: either every byte was used (partial), or a limit stopped the
 * scan. `bound` is the end of the region the current element may use. */
static int out_of_input(sw_http_parser_t *p, const char *buf, const char *s, size_t len,
                        int start_line)
{
    size_t off = (size_t)(s - buf);
    if (off >= len) {
        return SW_HTTP_PARTIAL;
    }
    if (start_line && off >= (size_t)p->line_ + p->max_start_line_ + 2) {
        return sw__http_fail(p, SW_EHTTP_LINE_TOO_LONG, off, "start line longer than the limit");
    }
    return sw__http_fail(p, SW_EHTTP_HEAD_TOO_LARGE, off, "head larger than the limit");
}

/* The fields sw__http_field() interprets, by length and first letter: a cheap filter that
 * keeps the call off the path of all other fields. */
static inline int maybe_special(const char *name, uint32_t n)
{
    unsigned char c = (unsigned char)name[0] | 0x20;
    switch (n) {
    case 4:
        return c == 'h';
    case 6:
        return c == 'e';
    case 7:
        return c == 'u';
    case 10:
    case 14:
        return c == 'c';
    case 17:
        return c == 't';
    default:
        return 0;
    }
}

/* A field value scan that looks at the first 16 bytes inline, a word at a time, before it
 * calls the selected scanner: most values are short, and this spares them the call. The
 * lowest flagged byte of the word tests is exact (borrows only run upwards), so it is the
 * first CTL or DEL; a HTAB there is valid and the scanner takes over after it. */
static inline const char *scan_value(const sw__http_scanners_t *sc, const char *s, const char *end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    for (int k = 0; k < 2 && end - s >= 8; k++) {
        uint64_t x, y;
        memcpy(&x, s, sizeof(x));
        y = x ^ (ones * 0x7f);
        uint64_t m = ((x - ones * 0x20) & ~x & highs) | ((y - ones) & ~y & highs);
        if (m != 0) {
            const char *q = s + (__builtin_ctzll(m) >> 3);
            return *q != '\t' ? q : sc->value(q + 1, end);
        }
        s += 8;
    }
#endif
    return sc->value(s, end);
}

static inline int is_tchar(char c)
{
    return sw__http_is((unsigned char)c, SW_HTTP_C_TCHAR);
}

#define SAVE(st)                       \
    do {                               \
        p->state_ = (st);              \
        p->pos_ = (uint32_t)(s - buf); \
    } while (0)
/* In the field loop the parser's state lives in locals; saving writes them back. */
#define SAVE_F(st)             \
    do {                       \
        SAVE(st);              \
        p->num_headers = nh;   \
        p->line_ = line;       \
        p->aux_ = nlen;        \
        p->mark_ = vstart;     \
        p->special_ = special; \
    } while (0)
#define FAIL(code, at, why) return sw__http_fail(p, (code), (uint64_t)((at)-buf), (why))
#define FAIL_F(code, at, why) \
    do {                      \
        p->num_headers = nh;  \
        FAIL(code, at, why);  \
    } while (0)

static int parse_head(sw_http_parser_t *p, char *buf, size_t len)
{
    const sw__http_scanners_t *sc = sw__http_scanners(p->simd_);
    const char *end = buf + (len < p->max_head_ ? len : p->max_head_);
    const char *s = buf + p->pos_;
    const char *rl_end = NULL; /* bound of the start line */
    const int bare_lf = (p->lenient_ & SW_HTTP_LENIENT_BARE_LF) != 0;
    sw_http_header_t *const hdrs = p->headers;
    const uint32_t maxh = p->max_headers_;
    uint32_t nh = p->num_headers, line = p->line_, nlen = p->aux_, vstart = p->mark_;
    uint32_t special = p->special_, vend;
    unsigned char c;
    size_t i;
    int r;

#define START_LINE_BOUND()                                       \
    do {                                                         \
        size_t lim_ = (size_t)p->line_ + p->max_start_line_ + 2; \
        rl_end = (size_t)(end - buf) < lim_ ? end : buf + lim_;  \
    } while (0)

    switch (p->state_) {
    case SW_HS_START:
        goto st_start;
    case SW_HS_METHOD:
        START_LINE_BOUND();
        goto st_method;
    case SW_HS_TARGET_START:
    case SW_HS_TARGET:
        START_LINE_BOUND();
        goto st_target;
    case SW_HS_VERSION:
        START_LINE_BOUND();
        goto st_version;
    case SW_HS_RL_LF:
        START_LINE_BOUND();
        goto st_rl_lf;
    case SW_HS_STATUS_VERSION:
        START_LINE_BOUND();
        goto st_status_version;
    case SW_HS_STATUS_CODE:
        START_LINE_BOUND();
        goto st_status_code;
    case SW_HS_REASON:
        START_LINE_BOUND();
        goto st_reason;
    case SW_HS_FIELD_START:
        goto st_field_start;
    case SW_HS_NAME:
        goto st_name;
    case SW_HS_OWS:
        goto st_ows;
    case SW_HS_VALUE:
        goto st_value;
    case SW_HS_VALUE_LF:
        goto st_value_lf;
    case SW_HS_END_LF:
        goto st_end_lf;
    default:
        return SW_EINVAL;
    }

st_start:
    /* RFC 9112 §2.2: empty lines before the start line are ignored. */
    for (;;) {
        if (s >= end) {
            SAVE(SW_HS_START);
            return out_of_input(p, buf, s, len, 0);
        }
        if (*s == '\r') {
            if (s + 1 >= end) {
                SAVE(SW_HS_START);
                return out_of_input(p, buf, s + 1, len, 0);
            }
            if (s[1] != '\n') {
                FAIL(SW_EHTTP_CR, s + 1, "CR not followed by LF");
            }
            s += 2;
        } else if (*s == '\n') {
            if (!bare_lf) {
                FAIL(SW_EHTTP_LF, s, "bare LF");
            }
            s++;
        } else {
            break;
        }
    }
    p->line_ = p->mark_ = (uint32_t)(s - buf);
    START_LINE_BOUND();
    if (p->type == SW_HTTP_RESPONSE) {
        goto st_status_version;
    }

st_method:
    while (s < rl_end && sw__http_is((unsigned char)*s, SW_HTTP_C_TCHAR)) {
        s++;
    }
    if (s >= rl_end) {
        SAVE(SW_HS_METHOD);
        return out_of_input(p, buf, s, len, 1);
    }
    if (*s != ' ') {
        FAIL(SW_EHTTP_METHOD, s, "invalid byte in method");
    }
    if (s == buf + p->mark_) {
        FAIL(SW_EHTTP_METHOD, s, "empty method");
    }
    p->method_str.off = p->mark_;
    p->method_str.len = (uint32_t)(s - buf) - p->mark_;
    p->method = classify_method(buf + p->mark_, p->method_str.len);
    s++;
    p->mark_ = (uint32_t)(s - buf);

st_target:
    s = sc->vchar(s, rl_end);
    if (s >= rl_end) {
        SAVE(SW_HS_TARGET);
        return out_of_input(p, buf, s, len, 1);
    }
    if (*s != ' ') {
        if (*s == '\r' || *s == '\n') {
            FAIL(SW_EHTTP_VERSION, s, "no HTTP version (HTTP/0.9 request)");
        }
        FAIL(SW_EHTTP_TARGET, s, "invalid byte in request-target");
    }
    if (s == buf + p->mark_) {
        FAIL(SW_EHTTP_TARGET, s, "empty request-target");
    }
    p->target.off = p->mark_;
    p->target.len = (uint32_t)(s - buf) - p->mark_;
    s++;
    p->mark_ = (uint32_t)(s - buf);

st_version:
    /* "HTTP/1." then '0' or '1' (RFC 9112 §2.3: case-sensitive). */
    for (;;) {
        if (s >= rl_end) {
            SAVE(SW_HS_VERSION);
            return out_of_input(p, buf, s, len, 1);
        }
        i = (size_t)(s - buf) - p->mark_;
        c = (unsigned char)*s;
        if (i < 7) {
            if (c != (unsigned char)version_prefix[i]) {
                FAIL(SW_EHTTP_VERSION, s, "not HTTP/1.0 or HTTP/1.1");
            }
        } else if (i == 7) {
            if (c != '0' && c != '1') {
                FAIL(SW_EHTTP_VERSION, s, "not HTTP/1.0 or HTTP/1.1");
            }
            p->version_minor = (uint8_t)(c - '0');
        } else {
            break;
        }
        s++;
    }
    if (*s == '\r') {
        if ((size_t)(s - buf) - p->line_ > p->max_start_line_) {
            FAIL(SW_EHTTP_LINE_TOO_LONG, s, "start line longer than the limit");
        }
        s++;
        goto st_rl_lf;
    }
    if (*s == '\n' && bare_lf) {
        if ((size_t)(s - buf) - p->line_ > p->max_start_line_) {
            FAIL(SW_EHTTP_LINE_TOO_LONG, s, "start line longer than the limit");
        }
        s++;
        goto start_line_done;
    }
    if (*s == '\n') {
        FAIL(SW_EHTTP_LF, s, "bare LF");
    }
    FAIL(SW_EHTTP_VERSION, s, "not HTTP/1.0 or HTTP/1.1");

st_rl_lf:
    if (s >= rl_end) {
        SAVE(SW_HS_RL_LF);
        return out_of_input(p, buf, s, len, 1);
    }
    if (*s != '\n') {
        FAIL(SW_EHTTP_CR, s, "CR not followed by LF");
    }
    s++;

start_line_done:
    if (p->type == SW_HTTP_REQUEST && (r = check_target(p, buf)) < 0) {
        return r;
    }
    goto st_field_start;

st_status_version:
    for (;;) {
        if (s >= rl_end) {
            SAVE(SW_HS_STATUS_VERSION);
            return out_of_input(p, buf, s, len, 1);
        }
        i = (size_t)(s - buf) - p->mark_;
        c = (unsigned char)*s;
        if (i < 7) {
            if (c != (unsigned char)version_prefix[i]) {
                FAIL(SW_EHTTP_VERSION, s, "not HTTP/1.0 or HTTP/1.1");
            }
        } else if (i == 7) {
            if (c != '0' && c != '1') {
                FAIL(SW_EHTTP_VERSION, s, "not HTTP/1.0 or HTTP/1.1");
            }
            p->version_minor = (uint8_t)(c - '0');
        } else {
            if (c != ' ') {
                FAIL(SW_EHTTP_VERSION, s, "not HTTP/1.0 or HTTP/1.1");
            }
            s++;
            p->mark_ = (uint32_t)(s - buf);
            break;
        }
        s++;
    }

st_status_code:
    for (;;) {
        if (s >= rl_end) {
            SAVE(SW_HS_STATUS_CODE);
            return out_of_input(p, buf, s, len, 1);
        }
        i = (size_t)(s - buf) - p->mark_;
        c = (unsigned char)*s;
        if (i < 3) {
            if (c < '0' || c > '9') {
                FAIL(SW_EHTTP_STATUS, s, "status code is not three digits");
            }
            p->status = (uint16_t)(p->status * 10 + (c - '0'));
        } else {
            if (c != ' ') {
                FAIL(SW_EHTTP_STATUS, s, "no SP after the status code");
            }
            if (p->status < 100 || p->status > 599) {
                FAIL(SW_EHTTP_STATUS, s - 3, "status code outside 100..599");
            }
            s++;
            p->mark_ = (uint32_t)(s - buf);
            break;
        }
        s++;
    }

st_reason:
    s = sc->value(s, rl_end);
    if (s >= rl_end) {
        SAVE(SW_HS_REASON);
        return out_of_input(p, buf, s, len, 1);
    }
    if (*s != '\r' && (*s != '\n' || !bare_lf)) {
        if (*s == '\n') {
            FAIL(SW_EHTTP_LF, s, "bare LF");
        }
        FAIL(SW_EHTTP_STATUS, s, "invalid byte in reason phrase");
    }
    if ((size_t)(s - buf) - p->line_ > p->max_start_line_) {
        FAIL(SW_EHTTP_LINE_TOO_LONG, s, "start line longer than the limit");
    }
    p->reason.off = p->mark_;
    p->reason.len = (uint32_t)(s - buf) - p->mark_;
    if (*s == '\n') {
        s++;
        goto st_field_start;
    }
    s++;
    goto st_rl_lf;

st_field_start:
    for (;;) {
        if (s >= end) {
            SAVE_F(SW_HS_FIELD_START);
            return out_of_input(p, buf, s, len, 0);
        }
        if (!is_tchar(*s)) {
            break;
        }
        line = (uint32_t)(s - buf);
        s++;
    st_name:
        while (end - s >= 4) {
            if (!is_tchar(s[0])) {
                goto name_end;
            }
            if (!is_tchar(s[1])) {
                s += 1;
                goto name_end;
            }
            if (!is_tchar(s[2])) {
                s += 2;
                goto name_end;
            }
            if (!is_tchar(s[3])) {
                s += 3;
                goto name_end;
            }
            s += 4;
        }
        while (s < end && is_tchar(*s)) {
            s++;
        }
    name_end:
        if (s >= end) {
            SAVE_F(SW_HS_NAME);
            return out_of_input(p, buf, s, len, 0);
        }
        if (*s != ':') {
            if (*s == ' ' || *s == '\t') {
                FAIL_F(SW_EHTTP_HEADER_SPACE, s, "whitespace between header name and colon");
            }
            FAIL_F(SW_EHTTP_HEADER_NAME, s, "invalid byte in header name");
        }
        nlen = (uint32_t)(s - buf) - line;
        s++;
    st_ows:
        while (s < end && (*s == ' ' || *s == '\t')) {
            s++;
        }
        if (s >= end) {
            SAVE_F(SW_HS_OWS);
            return out_of_input(p, buf, s, len, 0);
        }
        vstart = (uint32_t)(s - buf);
    st_value:
        s = scan_value(sc, s, end);
        if (s >= end) {
            SAVE_F(SW_HS_VALUE);
            return out_of_input(p, buf, s, len, 0);
        }
        if (*s == '\r') {
            s++;
        st_value_lf:
            if (s >= end) {
                SAVE_F(SW_HS_VALUE_LF);
                return out_of_input(p, buf, s, len, 0);
            }
            if (*s != '\n') {
                FAIL_F(SW_EHTTP_CR, s, "CR not followed by LF");
            }
            vend = (uint32_t)(s - buf) - 1;
        } else if (*s == '\n') {
            if (!bare_lf) {
                FAIL_F(SW_EHTTP_LF, s, "bare LF");
            }
            vend = (uint32_t)(s - buf);
        } else if (*s == 0) {
            FAIL_F(SW_EHTTP_HEADER_VALUE, s, "NUL in header value");
        } else {
            FAIL_F(SW_EHTTP_HEADER_VALUE, s, "control character in header value");
        }
        s++;
        /* The field line is complete: record it without trailing OWS, and interpret it. */
        while (vend > vstart && (buf[vend - 1] == ' ' || buf[vend - 1] == '\t')) {
            vend--;
        }
        if (nh >= maxh) {
            FAIL_F(SW_EHTTP_TOO_MANY_HEADERS, buf + line, "too many header fields");
        }
        sw_http_header_t *h = &hdrs[nh++];
        h->name.off = line;
        h->name.len = nlen;
        h->value.off = vstart;
        h->value.len = vend - vstart;
        special = 0;
        if (maybe_special(buf + line, nlen) && (r = sw__http_field(p, buf, h, &special)) < 0) {
            p->num_headers = nh;
            return r;
        }
    }
    c = (unsigned char)*s;
    if (c == '\r') {
        s++;
        goto st_end_lf;
    }
    if (c == '\n') {
        if (!bare_lf) {
            FAIL_F(SW_EHTTP_LF, s, "bare LF");
        }
        s++;
        goto head_done;
    }
    if (c == ' ' || c == '\t') {
        /* obs-fold (RFC 9112 §5.2), or whitespace before the first field line (§2.2). */
        if (nh == 0) {
            FAIL_F(SW_EHTTP_OBS_FOLD, s, "whitespace before the first header field");
        }
        if (!(p->lenient_ & SW_HTTP_LENIENT_OBS_FOLD)) {
            FAIL_F(SW_EHTTP_OBS_FOLD, s, "obsolete line folding");
        }
        if (special) {
            FAIL_F(SW_EHTTP_OBS_FOLD, s, "line folding in a field the parser interprets");
        }
        /* Unfold in place: the previous line's terminator becomes spaces, and the previous
         * field is reopened to continue its value. */
        buf[s - buf - 1] = ' ';
        if (s - 2 >= buf && buf[s - buf - 2] == '\r') {
            buf[s - buf - 2] = ' ';
        }
        const sw_http_header_t *prev = &hdrs[--nh];
        line = prev->name.off;
        nlen = prev->name.len;
        if (prev->value.len == 0) {
            goto st_ows;
        }
        vstart = prev->value.off;
        goto st_value;
    }
    FAIL_F(SW_EHTTP_HEADER_NAME, s, "invalid byte in header name");

st_end_lf:
    if (s >= end) {
        SAVE_F(SW_HS_END_LF);
        return out_of_input(p, buf, s, len, 0);
    }
    if (*s != '\n') {
        FAIL_F(SW_EHTTP_CR, s, "CR not followed by LF");
    }
    s++;

head_done:
    p->num_headers = nh;
    p->head_len = (uint32_t)(s - buf);
    p->consumed = p->head_len;
    p->pos_ = p->head_len;
    if ((r = sw__http_head_complete(p)) < 0) {
        return r;
    }
    p->state_ = SW_HS_HEAD_DONE;
    return SW_HTTP_HEAD_DONE;
#undef START_LINE_BOUND
}

int sw_http_parser_execute(sw_http_parser_t *p, char *buf, size_t len)
{
    if (!p || (!buf && len > 0)) {
        return SW_EINVAL;
    }
    if (p->error) {
        return p->error;
    }
    if (p->state_ < SW_HS_HEAD_DONE) {
        if (len < p->pos_) {
            return SW_EINVAL;
        }
        if (!buf) {
            /* len == 0 and nothing seen yet: no pointer arithmetic on NULL. */
            return SW_HTTP_PARTIAL;
        }
        return parse_head(p, buf, len);
    }
    if (p->state_ == SW_HS_DONE) {
        return SW_HTTP_MESSAGE_DONE;
    }
    if (len < p->consumed) {
        return SW_EINVAL;
    }
    p->state_ = SW_HS_BODY;
    for (;;) {
        size_t off = (size_t)p->consumed;
        uint64_t before = p->body_len;
        sw_http_piece_t pc;
        int r = sw__http_body_step(p, buf + off, len - off, &pc);
        if (r < 0) {
            return r;
        }
        if (pc.data_len > 0) {
            /* In-place decoding: the data moves down to follow the body decoded so far. */
            char *dst = buf + p->head_len + before;
            const char *src = buf + off + pc.data_off;
            if (dst != src) {
                memmove(dst, src, pc.data_len);
            }
        }
        if (r == SW_HTTP_MESSAGE_DONE) {
            p->state_ = SW_HS_DONE;
            return r;
        }
        if (p->consumed >= len) {
            return SW_HTTP_PARTIAL;
        }
    }
}

int sw_http_parser_body(sw_http_parser_t *p, const char *buf, size_t len, sw_http_piece_t *out)
{
    if (!p || !out || (!buf && len > 0)) {
        return SW_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    if (p->error) {
        return p->error;
    }
    if (p->state_ < SW_HS_HEAD_DONE) {
        return SW_EINVAL;
    }
    if (p->state_ == SW_HS_DONE) {
        return SW_HTTP_MESSAGE_DONE;
    }
    p->state_ = SW_HS_BODY;
    int r = sw__http_body_step(p, buf, len, out);
    if (r == SW_HTTP_MESSAGE_DONE) {
        p->state_ = SW_HS_DONE;
    }
    return r;
}

int sw_http_parser_finish(sw_http_parser_t *p)
{
    if (!p) {
        return SW_EINVAL;
    }
    if (p->error) {
        return p->error;
    }
    switch (p->state_) {
    case SW_HS_DONE:
        return SW_HTTP_MESSAGE_DONE;
    case SW_HS_START:
        /* Nothing but (possibly) empty lines arrived: a clean close between messages. */
        return SW_HTTP_PARTIAL;
    case SW_HS_HEAD_DONE:
    case SW_HS_BODY:
        if (p->body_state_ == SW_BS_EOF) {
            p->state_ = SW_HS_DONE;
            return SW_HTTP_MESSAGE_DONE;
        }
        return sw__http_fail(p, SW_EOF, p->consumed, "connection closed inside the body");
    default:
        return sw__http_fail(p, SW_EOF, p->pos_, "connection closed inside the head");
    }
}
