/*
 * Query strings and application/x-www-form-urlencoded bodies (WHATWG URL standard,
 * "application/x-www-form-urlencoded parsing"), decoded in place. Unlike the WHATWG
 * algorithm, a malformed percent escape is an error rather than literal text: a server should
 * not guess what a client meant.
 */
#include <string.h>

#include "http/http_int.h"

/* Decodes buf[from, to) in place to buf[from, from + n) and stores the span. */
static int decode_part(char *buf, size_t from, size_t to, sw_http_span_t *sp)
{
    int n = sw_http_url_decode(buf + from, to - from, buf + from, to - from, SW_HTTP_DECODE_PLUS);
    if (n < 0) {
        return n;
    }
    sp->off = (uint32_t)from;
    sp->len = (uint32_t)n;
    return 0;
}

int sw_http_form_parse(char *buf, size_t len, sw_http_kv_t *out, size_t cap)
{
    if ((!buf && len > 0) || (!out && cap > 0) || len > UINT32_MAX) {
        return SW_EINVAL;
    }
    size_t count = 0, i = 0;
    while (i < len) {
        size_t start = i;
        const char *amp = memchr(buf + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - buf) : len;
        i = end + 1;
        if (end == start) {
            continue;
        }
        if (count >= cap || count >= INT32_MAX) {
            return SW_EHTTP_LIMIT;
        }
        const char *eq = memchr(buf + start, '=', end - start);
        size_t kend = eq ? (size_t)(eq - buf) : end;
        sw_http_kv_t *kv = &out[count];
        int r = decode_part(buf, start, kend, &kv->key);
        if (r < 0) {
            return r;
        }
        if (eq) {
            r = decode_part(buf, kend + 1, end, &kv->value);
            if (r < 0) {
                return r;
            }
        } else {
            kv->value.off = (uint32_t)end;
            kv->value.len = 0;
        }
        count++;
    }
    return (int)count;
}
