/*
 * The header fields the parser interprets, and the framing decision once the head is
 * complete (RFC 9112 §6.1-§6.3 message body length, §9.3 persistence; RFC 9110 §7.2 Host,
 * §7.6.1 Connection, §7.8 Upgrade, §8.6 Content-Length, §10.1.1 Expect).
 *
 * Decisions where the RFCs leave a choice, all on the side that leaves no room for two
 * parties to frame a message differently (request smuggling):
 *   - Content-Length: one field line, one value, digits only. A second line or a list, even
 *     of identical values ("5, 5"), is rejected (§8.6 allows either rejecting or collapsing).
 *   - Transfer-Encoding: a list of known codings (chunked, gzip, x-gzip, deflate, compress,
 *     x-compress), chunked at most once, no parameters, no empty list elements (§5.6.1 asks
 *     recipients to skip them; we refuse them because another parser might not). In a request
 *     chunked must be the final coding (400 otherwise, §6.3); in a response without chunked
 *     last the body runs until close. Transfer-Encoding in an HTTP/1.0 message is rejected
 *     (§6.1: the framing is faulty), and so is Transfer-Encoding with Content-Length.
 *   - Host: an HTTP/1.1 request needs exactly one, with a valid value (RFC 9112 §3.2).
 */
#include "http/http_int.h"

enum {
    FIELD_NONE = 0,
    FIELD_HOST,
    FIELD_EXPECT,
    FIELD_UPGRADE,
    FIELD_CONNECTION,
    FIELD_CONTENT_LENGTH,
    FIELD_TRANSFER_ENCODING
};

static int content_length(sw_http_parser_t *p, const char *v, const sw_http_header_t *h)
{
    if (p->flags & SW_HTTP_F_CONTENT_LENGTH) {
        return sw__http_fail(p, SW_EHTTP_DUP_CONTENT_LENGTH, h->name.off,
                             "more than one Content-Length field");
    }
    if (h->value.len == 0) {
        return sw__http_fail(p, SW_EHTTP_CONTENT_LENGTH, h->value.off, "empty Content-Length");
    }
    uint64_t n = 0;
    for (uint32_t i = 0; i < h->value.len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == ',') {
            return sw__http_fail(p, SW_EHTTP_DUP_CONTENT_LENGTH, h->value.off + i,
                                 "list of Content-Length values");
        }
        if (c < '0' || c > '9') {
            return sw__http_fail(p, SW_EHTTP_CONTENT_LENGTH, h->value.off + i,
                                 "Content-Length is not a decimal number");
        }
        if (n > (UINT64_MAX - (c - '0')) / 10) {
            return sw__http_fail(p, SW_EHTTP_CONTENT_LENGTH, h->value.off + i,
                                 "Content-Length overflows 64 bits");
        }
        n = n * 10 + (c - '0');
    }
    p->content_length = n;
    p->flags |= SW_HTTP_F_CONTENT_LENGTH;
    return 0;
}

static int transfer_encoding(sw_http_parser_t *p, const char *v, const sw_http_header_t *h)
{
    uint32_t n = h->value.len, i = 0;
    p->te_state_ |= SW_HTTP_TE_PRESENT;
    for (;;) {
        while (i < n && (v[i] == ' ' || v[i] == '\t')) {
            i++;
        }
        uint32_t start = i;
        while (i < n && sw__http_is((unsigned char)v[i], SW_HTTP_C_TCHAR)) {
            i++;
        }
        uint32_t tlen = i - start;
        while (i < n && (v[i] == ' ' || v[i] == '\t')) {
            i++;
        }
        if (tlen == 0) {
            return sw__http_fail(p, SW_EHTTP_TRANSFER_ENCODING, h->value.off + i,
                                 i < n && v[i] != ',' ? "invalid byte in Transfer-Encoding"
                                                      : "empty Transfer-Encoding element");
        }
        if (i < n && v[i] != ',') {
            return sw__http_fail(p, SW_EHTTP_TRANSFER_ENCODING, h->value.off + i,
                                 v[i] == ';' ? "transfer-coding parameters are not supported"
                                             : "invalid byte in Transfer-Encoding");
        }
        const char *t = v + start;
        if (tlen == 7 && sw__http_casecmp(t, "chunked", 7) == 0) {
            if (p->te_state_ & SW_HTTP_TE_CHUNKED_SEEN) {
                return sw__http_fail(p, SW_EHTTP_TRANSFER_ENCODING, h->value.off + start,
                                     "chunked applied more than once");
            }
            p->te_state_ |= SW_HTTP_TE_CHUNKED_SEEN | SW_HTTP_TE_CHUNKED_LAST;
        } else if ((tlen == 4 && sw__http_casecmp(t, "gzip", 4) == 0) ||
                   (tlen == 6 && sw__http_casecmp(t, "x-gzip", 6) == 0) ||
                   (tlen == 7 && sw__http_casecmp(t, "deflate", 7) == 0) ||
                   (tlen == 8 && sw__http_casecmp(t, "compress", 8) == 0) ||
                   (tlen == 10 && sw__http_casecmp(t, "x-compress", 10) == 0)) {
            p->te_state_ = (p->te_state_ & ~SW_HTTP_TE_CHUNKED_LAST) | SW_HTTP_TE_OTHER;
        } else {
            return sw__http_fail(p, SW_EHTTP_TRANSFER_ENCODING, h->value.off + start,
                                 "unknown transfer coding");
        }
        if (i >= n) {
            return 0;
        }
        i++; /* ',' */
    }
}

/* Connection = #connection-option; empty elements are allowed (RFC 9110 §5.6.1). */
static int connection(sw_http_parser_t *p, const char *v, const sw_http_header_t *h)
{
    uint32_t n = h->value.len, i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) {
            i++;
        }
        uint32_t start = i;
        while (i < n && sw__http_is((unsigned char)v[i], SW_HTTP_C_TCHAR)) {
            i++;
        }
        uint32_t tlen = i - start;
        while (i < n && (v[i] == ' ' || v[i] == '\t')) {
            i++;
        }
        if (i < n && v[i] != ',') {
            return sw__http_fail(p, SW_EHTTP_HEADER_VALUE, h->value.off + i,
                                 "invalid byte in Connection");
        }
        const char *t = v + start;
        if (tlen == 5 && sw__http_casecmp(t, "close", 5) == 0) {
            p->flags |= SW_HTTP_F_CONN_CLOSE;
        } else if (tlen == 10 && sw__http_casecmp(t, "keep-alive", 10) == 0) {
            p->flags |= SW_HTTP_F_CONN_KEEP_ALIVE;
        } else if (tlen == 7 && sw__http_casecmp(t, "upgrade", 7) == 0) {
            p->flags |= SW_HTTP_F_CONN_UPGRADE;
        }
    }
    return 0;
}

/* Host = uri-host [ ":" port ] (RFC 9110 §7.2): reg-name characters (unreserved,
 * pct-encoded, sub-delims), or an IP-literal in brackets, then an optional port. */
static int host(sw_http_parser_t *p, const char *v, const sw_http_header_t *h)
{
    if (p->type != SW_HTTP_REQUEST) {
        return 0;
    }
    if (++p->hosts_ > 1) {
        return sw__http_fail(p, SW_EHTTP_HEADER_VALUE, h->name.off, "more than one Host field");
    }
    if (h->value.len == 0) {
        return 0;
    }
    /* Fast path for the usual reg-name[:port]; IP literals and escapes take the full parse. */
    uint32_t n = h->value.len, i = 0;
    while (i < n && sw__http_is((unsigned char)v[i], SW_HTTP_C_REGNAME) && v[i] != '%') {
        i++;
    }
    if (i > 0 && i < n && v[i] == ':') {
        uint32_t port = 0;
        for (i++; i < n && v[i] >= '0' && v[i] <= '9' && port <= 65535; i++) {
            port = port * 10 + (uint32_t)(v[i] - '0');
        }
        if (i == n && port <= 65535) {
            return 0;
        }
    } else if (i == n) {
        return 0;
    }
    sw_http_url_t u;
    if (sw_http_url_parse(v, n, SW_HTTP_URL_AUTHORITY, &u) < 0 || u.userinfo.len) {
        return sw__http_fail(p, SW_EHTTP_HEADER_VALUE, h->value.off, "invalid Host");
    }
    return 0;
}

int sw__http_field(sw_http_parser_t *p, const char *buf, const sw_http_header_t *h,
                   uint32_t *special)
{
    const char *name = buf + h->name.off;
    const char *v = buf + h->value.off;
    switch (h->name.len) {
    case 4:
        if (sw__http_name_eq(name, "host", 4)) {
            *special = FIELD_HOST;
            return host(p, v, h);
        }
        return 0;
    case 6:
        if (sw__http_name_eq(name, "expect", 6)) {
            *special = FIELD_EXPECT;
            if (h->value.len == 12 && sw__http_casecmp(v, "100-continue", 12) == 0) {
                p->flags |= SW_HTTP_F_EXPECT_CONTINUE;
            } else {
                p->flags |= SW_HTTP_F_EXPECT_OTHER;
            }
        }
        return 0;
    case 7:
        if (sw__http_name_eq(name, "upgrade", 7)) {
            *special = FIELD_UPGRADE;
            p->flags |= SW_HTTP_F_HAS_UPGRADE;
        }
        return 0;
    case 10:
        if (sw__http_name_eq(name, "connection", 10)) {
            *special = FIELD_CONNECTION;
            return connection(p, v, h);
        }
        return 0;
    case 14:
        if (sw__http_name_eq(name, "content-length", 14)) {
            *special = FIELD_CONTENT_LENGTH;
            return content_length(p, v, h);
        }
        return 0;
    case 17:
        if (sw__http_name_eq(name, "transfer-encoding", 17)) {
            *special = FIELD_TRANSFER_ENCODING;
            return transfer_encoding(p, v, h);
        }
        return 0;
    default:
        return 0;
    }
}

static int te_framing(sw_http_parser_t *p)
{
    uint64_t at = p->head_len;
    if (p->version_minor == 0) {
        return sw__http_fail(p, SW_EHTTP_TRANSFER_ENCODING, at,
                             "Transfer-Encoding in an HTTP/1.0 message");
    }
    if (p->flags & SW_HTTP_F_CONTENT_LENGTH) {
        return sw__http_fail(p, SW_EHTTP_TE_CL, at, "both Transfer-Encoding and Content-Length");
    }
    if (p->te_state_ & SW_HTTP_TE_OTHER) {
        p->flags |= SW_HTTP_F_TE_CODINGS;
    }
    return 0;
}

static void set_length_body(sw_http_parser_t *p)
{
    p->remaining_ = p->content_length;
    p->body_state_ = p->content_length ? SW_BS_LENGTH : SW_BS_NONE;
}

int sw__http_head_complete(sw_http_parser_t *p)
{
    uint64_t at = p->head_len;
    int r;
    p->body_state_ = SW_BS_NONE;
    if (p->type == SW_HTTP_REQUEST) {
        if (p->version_minor == 1 && p->hosts_ == 0) {
            return sw__http_fail(p, SW_EHTTP_HEADER_VALUE, at, "HTTP/1.1 request without Host");
        }
        if (p->version_minor == 0) {
            /* RFC 9110 §10.1.1 and §7.8: ignored in HTTP/1.0 requests. */
            p->flags &= ~(SW_HTTP_F_EXPECT_CONTINUE | SW_HTTP_F_EXPECT_OTHER);
        } else if ((p->flags & (SW_HTTP_F_HAS_UPGRADE | SW_HTTP_F_CONN_UPGRADE)) ==
                   (SW_HTTP_F_HAS_UPGRADE | SW_HTTP_F_CONN_UPGRADE)) {
            p->flags |= SW_HTTP_F_UPGRADE;
        }
        if (p->te_state_ & SW_HTTP_TE_PRESENT) {
            if ((r = te_framing(p)) < 0) {
                return r;
            }
            if (!(p->te_state_ & SW_HTTP_TE_CHUNKED_LAST)) {
                return sw__http_fail(p, SW_EHTTP_TRANSFER_ENCODING, at,
                                     "chunked is not the final transfer coding");
            }
            p->flags |= SW_HTTP_F_CHUNKED;
            p->body_state_ = SW_BS_CHUNK_SIZE;
        } else if (p->flags & SW_HTTP_F_CONTENT_LENGTH) {
            set_length_body(p);
        }
        if (p->method == SW_HTTP_METHOD_CONNECT) {
            /* RFC 9110 §9.3.6: a CONNECT request has no content; after it, a tunnel. */
            if (p->body_state_ != SW_BS_NONE) {
                return sw__http_fail(p, SW_EHTTP_CONTENT_LENGTH, at, "CONNECT with content");
            }
            p->flags |= SW_HTTP_F_CONNECT | SW_HTTP_F_NO_BODY;
        }
    } else {
        int no_body = p->status < 200 || p->status == 204 || p->status == 304 ||
                      p->req_method_ == SW_HTTP_METHOD_HEAD;
        if (p->status == 101) {
            p->flags |= SW_HTTP_F_UPGRADE;
        }
        if (p->req_method_ == SW_HTTP_METHOD_CONNECT && p->status >= 200 && p->status < 300) {
            p->flags |= SW_HTTP_F_CONNECT;
            no_body = 1;
        }
        if (p->te_state_ & SW_HTTP_TE_PRESENT) {
            if ((r = te_framing(p)) < 0) {
                return r;
            }
            if (p->te_state_ & SW_HTTP_TE_CHUNKED_LAST) {
                p->flags |= SW_HTTP_F_CHUNKED;
                p->body_state_ = SW_BS_CHUNK_SIZE;
            } else {
                p->flags |= SW_HTTP_F_UNTIL_CLOSE;
                p->body_state_ = SW_BS_EOF;
            }
        } else if (p->flags & SW_HTTP_F_CONTENT_LENGTH) {
            set_length_body(p);
        } else {
            p->flags |= SW_HTTP_F_UNTIL_CLOSE;
            p->body_state_ = SW_BS_EOF;
        }
        if (no_body) {
            p->flags &= ~(SW_HTTP_F_UNTIL_CLOSE | SW_HTTP_F_CHUNKED);
            p->flags |= SW_HTTP_F_NO_BODY;
            p->body_state_ = SW_BS_NONE;
        }
    }
    if ((p->flags & SW_HTTP_F_CONTENT_LENGTH) && p->body_state_ == SW_BS_LENGTH &&
        p->content_length > p->max_body_) {
        return sw__http_fail(p, SW_EHTTP_BODY_TOO_LARGE, at, "Content-Length above the limit");
    }
    /* RFC 9112 §9.3: close wins; HTTP/1.1 persists by default; HTTP/1.0 only with
     * keep-alive. A body that ends at close ends the connection too. */
    int keep = 0;
    if (!(p->flags & SW_HTTP_F_CONN_CLOSE)) {
        keep = p->version_minor == 1 || (p->flags & SW_HTTP_F_CONN_KEEP_ALIVE) != 0;
    }
    if (p->flags & SW_HTTP_F_UNTIL_CLOSE) {
        keep = 0;
    }
    if (keep) {
        p->flags |= SW_HTTP_F_KEEP_ALIVE;
    }
    return 0;
}

int sw_http_header_find(const char *buf, const sw_http_header_t *headers, size_t count,
                        const char *name, size_t name_len, size_t start)
{
    if (!buf || !name || (!headers && count > 0)) {
        return SW_EINVAL;
    }
    for (size_t i = start; i < count; i++) {
        if (headers[i].name.len == name_len &&
            sw__http_casecmp(buf + headers[i].name.off, name, name_len) == 0) {
            return i > INT32_MAX ? SW_ENOENT : (int)i;
        }
    }
    return SW_ENOENT;
}
