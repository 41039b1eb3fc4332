/*
 * Cookie header parsing (RFC 6265 §5.4 as user agents send it, §4.2.1 grammar) and
 * Set-Cookie building (RFC 6265 §4.1.1, SameSite from RFC 6265bis).
 */
#include <stdio.h>
#include <string.h>

#include "http/http_int.h"

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static int is_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

static void trim(const char *s, size_t *from, size_t *to)
{
    while (*from < *to && is_ws((unsigned char)s[*from])) {
        (*from)++;
    }
    while (*to > *from && is_ws((unsigned char)s[*to - 1])) {
        (*to)--;
    }
}

int sw_http_cookie_parse(const char *s, size_t len, sw_http_kv_t *out, size_t cap)
{
    if ((!s && len > 0) || (!out && cap > 0) || len > UINT32_MAX) {
        return SW_EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        if (is_ctl((unsigned char)s[i])) {
            return SW_EHTTP_HEADER_VALUE;
        }
    }
    size_t count = 0, i = 0;
    while (i < len) {
        size_t start = i;
        const char *semi = memchr(s + i, ';', len - i);
        size_t end = semi ? (size_t)(semi - s) : len;
        i = end + 1;
        trim(s, &start, &end);
        if (start == end) {
            continue;
        }
        if (count >= cap || count >= INT32_MAX) {
            return SW_EHTTP_LIMIT;
        }
        sw_http_kv_t *kv = &out[count++];
        const char *eq = memchr(s + start, '=', end - start);
        if (!eq) {
            kv->key.off = (uint32_t)start;
            kv->key.len = 0;
            kv->value.off = (uint32_t)start;
            kv->value.len = (uint32_t)(end - start);
            continue;
        }
        size_t ks = start, ke = (size_t)(eq - s), vs = ke + 1, ve = end;
        trim(s, &ks, &ke);
        trim(s, &vs, &ve);
        if (ve - vs >= 2 && s[vs] == '"' && s[ve - 1] == '"') {
            vs++;
            ve--;
        }
        kv->key.off = (uint32_t)ks;
        kv->key.len = (uint32_t)(ke - ks);
        kv->value.off = (uint32_t)vs;
        kv->value.len = (uint32_t)(ve - vs);
    }
    return (int)count;
}

/* cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE ) */
static int valid_value(const char *v, size_t n)
{
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    for (size_t i = 0; i < n; i++) {
        if (!sw__http_is((unsigned char)v[i], SW_HTTP_C_COOKIE)) {
            return 0;
        }
    }
    return 1;
}

/* av-octet: any CHAR except CTLs or ';' (RFC 6265 §4.1.1). */
static int valid_av(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c >= 0x7f || c == ';') {
            return 0;
        }
    }
    return 1;
}

typedef struct {
    char *out;
    size_t cap;
    size_t len;
} writer_t;

static void put(writer_t *w, const char *s, size_t n)
{
    if (n == 0) {
        return;
    }
    if (w->len + n < w->cap) {
        memcpy(w->out + w->len, s, n);
    }
    w->len += n;
}

static void puts_(writer_t *w, const char *s)
{
    put(w, s, strlen(s));
}

int sw_http_set_cookie_build(const sw_http_cookie_t *c, char *out, size_t cap)
{
    if (!c || !out || cap == 0) {
        return SW_EINVAL;
    }
    if (!c->name || c->name_len == 0 || (!c->value && c->value_len) ||
        (!c->domain && c->domain_len) || (!c->path && c->path_len) ||
        c->same_site > SW_HTTP_SAMESITE_NONE) {
        return SW_EINVAL;
    }
    for (size_t i = 0; i < c->name_len; i++) {
        if (!sw__http_is((unsigned char)c->name[i], SW_HTTP_C_TCHAR)) {
            return SW_EINVAL;
        }
    }
    if (!valid_value(c->value, c->value_len) || !valid_av(c->domain, c->domain_len) ||
        !valid_av(c->path, c->path_len)) {
        return SW_EINVAL;
    }
    if (c->same_site == SW_HTTP_SAMESITE_NONE && !c->secure) {
        return SW_EINVAL;
    }
    writer_t w = {out, cap, 0};
    put(&w, c->name, c->name_len);
    put(&w, "=", 1);
    put(&w, c->value, c->value_len);
    if (c->has_expires) {
        char date[SW_HTTP_DATE_SIZE];
        if (sw_http_date_format(c->expires, date) < 0) {
            return SW_EINVAL;
        }
        puts_(&w, "; Expires=");
        puts_(&w, date);
    }
    if (c->has_max_age) {
        char num[24];
        snprintf(num, sizeof(num), "%lld", c->max_age > 0 ? (long long)c->max_age : 0LL);
        puts_(&w, "; Max-Age=");
        puts_(&w, num);
    }
    if (c->domain_len) {
        puts_(&w, "; Domain=");
        put(&w, c->domain, c->domain_len);
    }
    if (c->path_len) {
        puts_(&w, "; Path=");
        put(&w, c->path, c->path_len);
    }
    if (c->secure) {
        puts_(&w, "; Secure");
    }
    if (c->http_only) {
        puts_(&w, "; HttpOnly");
    }
    static const char *const samesite[] = {NULL, "Strict", "Lax", "None"};
    if (c->same_site != SW_HTTP_SAMESITE_UNSET) {
        puts_(&w, "; SameSite=");
        puts_(&w, samesite[c->same_site]);
    }
    if (w.len >= cap || w.len > INT32_MAX) {
        return SW_ENOBUFS;
    }
    out[w.len] = '\0';
    return (int)w.len;
}
