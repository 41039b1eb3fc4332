/*
 * URL split (RFC 3986 §3 generic syntax, RFC 9112 §3.2 request-target forms) and
 * percent-decoding (RFC 3986 §2.1).
 *
 * The split is structural: it finds the parts and checks what can be checked without
 * guessing the application's rules: visible ASCII only, well-formed percent escapes, a scheme
 * made of scheme characters, a reg-name or bracketed IP literal as host, a numeric port up to
 * 65535, at most one '#'. It does not reject characters such as '|' or '{' that RFC 3986
 * reserves but browsers send unencoded in paths and queries (the WHATWG URL standard's
 * percent-encode sets leave them alone).
 */
#include <string.h>

#include "http/http_int.h"

static int is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* unreserved / sub-delims (RFC 3986 §2.2, §2.3), the reg-name alphabet without '%'. */
static int is_regname(unsigned char c)
{
    return sw__http_is(c, SW_HTTP_C_REGNAME) && c != '%';
}

static void set(sw_http_span_t *sp, size_t off, size_t len)
{
    sp->off = (uint32_t)off;
    sp->len = (uint32_t)len;
}

/* Checks the percent escapes in s[from, to). */
static int check_escapes(const char *s, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        if (s[i] == '%') {
            if (i + 2 >= to) {
                return SW_EHTTP_URL;
            }
            if (sw__http_hexval((unsigned char)s[i + 1]) < 0 ||
                sw__http_hexval((unsigned char)s[i + 2]) < 0) {
                return SW_EHTTP_URL;
            }
            i += 2;
        }
    }
    return 0;
}

/* host [ ":" port ] in s[from, to); for authority-form no userinfo is allowed. */
static int parse_host_port(const char *s, size_t from, size_t to, sw_http_url_t *u)
{
    size_t i = from;
    if (i < to && s[i] == '[') {
        size_t colons = 0;
        i++;
        while (i < to && s[i] != ']') {
            unsigned char c = (unsigned char)s[i];
            if (c == ':') {
                colons++;
            } else if (sw__http_hexval(c) < 0 && c != '.') {
                return SW_EHTTP_URL;
            }
            i++;
        }
        if (i >= to || colons < 2) {
            return SW_EHTTP_URL;
        }
        i++; /* ']' */
        set(&u->host, from, i - from);
    } else {
        while (i < to && s[i] != ':') {
            unsigned char c = (unsigned char)s[i];
            if (!is_regname(c) && c != '%') {
                return SW_EHTTP_URL;
            }
            i++;
        }
        if (check_escapes(s, from, i) < 0) {
            return SW_EHTTP_URL;
        }
        set(&u->host, from, i - from);
    }
    if (i < to) {
        if (s[i] != ':') {
            return SW_EHTTP_URL;
        }
        i++;
        size_t ps = i;
        uint32_t port = 0;
        while (i < to) {
            if (!is_digit((unsigned char)s[i])) {
                return SW_EHTTP_URL;
            }
            port = port * 10 + (uint32_t)(s[i] - '0');
            if (port > 65535) {
                return SW_EHTTP_URL;
            }
            i++;
        }
        set(&u->port, ps, i - ps);
        u->port_num = (uint16_t)port;
    }
    return 0;
}

int sw_http_url_parse(const char *s, size_t len, int form, sw_http_url_t *u)
{
    if (!s || !u || len > UINT32_MAX ||
        (form != SW_HTTP_URL_ANY && form != SW_HTTP_URL_AUTHORITY)) {
        return SW_EINVAL;
    }
    memset(u, 0, sizeof(*u));
    if (len == 0) {
        return SW_EHTTP_URL;
    }
    for (size_t i = 0; i < len; i++) {
        if (!sw__http_is((unsigned char)s[i], SW_HTTP_C_VCHAR)) {
            return SW_EHTTP_URL;
        }
    }
    if (form == SW_HTTP_URL_AUTHORITY) {
        /* RFC 9112 §3.2.3: uri-host ":" port; the port may be empty only in a Host value,
         * which callers check themselves. */
        u->has_authority = 1;
        if (parse_host_port(s, 0, len, u) < 0 || u->host.len == 0) {
            return SW_EHTTP_URL;
        }
        return 0;
    }
    size_t i = 0;
    if (len == 1 && s[0] == '*') {
        set(&u->path, 0, 1);
        return 0;
    }
    if (s[0] != '/') {
        /* scheme ":" */
        if (!is_alpha((unsigned char)s[0])) {
            return SW_EHTTP_URL;
        }
        while (i < len && (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) ||
                           s[i] == '+' || s[i] == '-' || s[i] == '.')) {
            i++;
        }
        if (i >= len || s[i] != ':') {
            return SW_EHTTP_URL;
        }
        set(&u->scheme, 0, i);
        i++;
        if (i + 1 < len && s[i] == '/' && s[i + 1] == '/') {
            i += 2;
            size_t as = i;
            while (i < len && s[i] != '/' && s[i] != '?' && s[i] != '#') {
                i++;
            }
            size_t ae = i;
            u->has_authority = 1;
            const char *at = memchr(s + as, '@', ae - as);
            size_t hs = as;
            if (at) {
                size_t ue = (size_t)(at - s);
                for (size_t k = as; k < ue; k++) {
                    unsigned char c = (unsigned char)s[k];
                    if (!is_regname(c) && c != ':' && c != '%') {
                        return SW_EHTTP_URL;
                    }
                }
                if (check_escapes(s, as, ue) < 0) {
                    return SW_EHTTP_URL;
                }
                set(&u->userinfo, as, ue - as);
                hs = ue + 1;
            }
            if (parse_host_port(s, hs, ae, u) < 0) {
                return SW_EHTTP_URL;
            }
            /* RFC 9110 §4.2.1/§4.2.2: http(s) URIs need a host. */
            if (u->host.len == 0 && (u->scheme.len == 4 || u->scheme.len == 5) &&
                sw__http_casecmp(s, "https", u->scheme.len) == 0) {
                return SW_EHTTP_URL;
            }
        }
    }
    size_t ps = i;
    while (i < len && s[i] != '?' && s[i] != '#') {
        i++;
    }
    set(&u->path, ps, i - ps);
    if (i < len && s[i] == '?') {
        i++;
        size_t qs = i;
        while (i < len && s[i] != '#') {
            i++;
        }
        set(&u->query, qs, i - qs);
        u->has_query = 1;
    }
    if (i < len) {
        i++;
        if (memchr(s + i, '#', len - i)) {
            return SW_EHTTP_URL;
        }
        set(&u->fragment, i, len - i);
        u->has_fragment = 1;
    }
    if (check_escapes(s, ps, len) < 0) {
        return SW_EHTTP_URL;
    }
    return 0;
}

int sw_http_url_decode(const char *in, size_t len, char *out, size_t cap, unsigned flags)
{
    if ((!in || !out) && len > 0) {
        return SW_EINVAL;
    }
    if (len > INT32_MAX) {
        return SW_EINVAL;
    }
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            if (len - i < 3) {
                return SW_EHTTP_URL;
            }
            int hi = sw__http_hexval((unsigned char)in[i + 1]);
            int lo = sw__http_hexval((unsigned char)in[i + 2]);
            if (hi < 0 || lo < 0) {
                return SW_EHTTP_URL;
            }
            c = (unsigned char)(hi << 4 | lo);
            if (c == 0 && (flags & SW_HTTP_DECODE_REJECT_NUL)) {
                return SW_EHTTP_URL;
            }
            i += 2;
        } else if (c == '+' && (flags & SW_HTTP_DECODE_PLUS)) {
            c = ' ';
        }
        if (o >= cap) {
            return SW_ENOBUFS;
        }
        out[o++] = (char)c;
    }
    return (int)o;
}
