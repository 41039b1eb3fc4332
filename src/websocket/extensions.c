/*
 * Sec-WebSocket-Extensions parsing (RFC 6455 §9.1) and permessage-deflate negotiation (RFC 7692
 * §5 and §7.1). Pure text work: it needs no zlib, but the public entry points refuse with
 * SW_ENOTSUP when the library cannot compress, so that nothing is agreed that cannot be kept.
 *
 * Grammar accepted (OWS allowed around ',', ';' and '='; empty list elements skipped, as RFC
 * 9110 §5.6.1 asks of recipients):
 *     extension-list = 1#extension
 *     extension      = token *( ";" param )
 *     param          = token [ "=" ( token / quoted-string ) ]
 * and a quoted value must be a token once unescaped.
 */
#include <string.h>

#include "websocket/ws_int.h"

bool sw__ws_is_tchar(unsigned char c)
{
    /* RFC 9110 §5.6.2: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" /
     * "`" / "|" / "~" / DIGIT / ALPHA */
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        return true;
    }
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool sw__ws_slice_ieq(const char *p, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n && lit[i]; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 'A' && c <= 'Z') {
            c = (unsigned char)(c + ('a' - 'A'));
        }
        if (c != (unsigned char)lit[i]) {
            return false;
        }
    }
    return i == n && lit[i] == '\0';
}

/* ---- the extension list ---------------------------------------------------------------------- */

void sw__ws_ext_iter_init(sw__ws_ext_iter_t *it, const sw_ws_slice_t *lines, size_t nlines)
{
    *it = (sw__ws_ext_iter_t){.lines = lines, .nlines = nlines};
}

static void skip_ows(const char *s, size_t n, size_t *pos)
{
    while (*pos < n && (s[*pos] == ' ' || s[*pos] == '\t')) {
        (*pos)++;
    }
}

/* Reads a token at *pos into *out; false if there is none. */
static bool read_token(const char *s, size_t n, size_t *pos, sw_ws_slice_t *out)
{
    size_t start = *pos;
    while (*pos < n && sw__ws_is_tchar((unsigned char)s[*pos])) {
        (*pos)++;
    }
    out->ptr = s + start;
    out->len = *pos - start;
    return out->len > 0;
}

/* Reads a quoted-string whose unescaped content is a token; *out is the content between the
 * quotes, escapes included. */
static bool read_quoted(const char *s, size_t n, size_t *pos, sw_ws_slice_t *out)
{
    size_t i = *pos + 1; /* after the opening quote */
    size_t start = i, chars = 0;
    while (i < n && s[i] != '"') {
        if (s[i] == '\\') {
            i++;
            if (i == n) {
                return false;
            }
        }
        if (!sw__ws_is_tchar((unsigned char)s[i])) {
            return false;
        }
        chars++;
        i++;
    }
    if (i == n || chars == 0) {
        return false;
    }
    out->ptr = s + start;
    out->len = i - start;
    *pos = i + 1;
    return true;
}

int sw__ws_ext_next(sw__ws_ext_iter_t *it, sw__ws_ext_t *ext)
{
    for (; it->line < it->nlines; it->line++, it->pos = 0) {
        const char *s = it->lines[it->line].ptr;
        size_t n = s ? it->lines[it->line].len : 0;
        /* Skip empty list elements. */
        while (it->pos < n && (s[it->pos] == ',' || s[it->pos] == ' ' || s[it->pos] == '\t')) {
            it->pos++;
        }
        if (it->pos == n) {
            continue;
        }
        ext->nparams = 0;
        if (!read_token(s, n, &it->pos, &ext->name)) {
            return -1;
        }
        skip_ows(s, n, &it->pos);
        while (it->pos < n && s[it->pos] == ';') {
            it->pos++;
            skip_ows(s, n, &it->pos);
            if (ext->nparams == SW__WS_MAX_EXT_PARAMS) {
                return -1;
            }
            sw__ws_ext_param_t *p = &ext->params[ext->nparams++];
            *p = (sw__ws_ext_param_t){0};
            if (!read_token(s, n, &it->pos, &p->name)) {
                return -1;
            }
            skip_ows(s, n, &it->pos);
            if (it->pos < n && s[it->pos] == '=') {
                it->pos++;
                skip_ows(s, n, &it->pos);
                if (it->pos < n && s[it->pos] == '"') {
                    p->quoted = true;
                    if (!read_quoted(s, n, &it->pos, &p->value)) {
                        return -1;
                    }
                } else if (!read_token(s, n, &it->pos, &p->value)) {
                    return -1;
                }
                skip_ows(s, n, &it->pos);
            }
        }
        if (it->pos < n) {
            if (s[it->pos] != ',') {
                return -1;
            }
            it->pos++;
        }
        return 1;
    }
    return 0;
}

/* ---- permessage-deflate parameters ----------------------------------------------------------- */

/* The window size of a parameter value: exactly "8".."15" (RFC 7692 §7.1.2.1: no leading
 * zeros), quoted or not. Returns 0 when invalid. */
static int window_bits_value(const sw__ws_ext_param_t *p)
{
    char v[3];
    size_t n = 0;
    for (size_t i = 0; i < p->value.len; i++) {
        char c = p->value.ptr[i];
        if (p->quoted && c == '\\') {
            continue; /* read_quoted guarantees a character follows */
        }
        if (n == sizeof(v) - 1 || c < '0' || c > '9') {
            return 0;
        }
        v[n++] = c;
    }
    v[n] = '\0';
    if (n == 1 && (v[0] == '8' || v[0] == '9')) {
        return v[0] - '0';
    }
    if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') {
        return 10 + (v[1] - '0');
    }
    return 0;
}

int sw__ws_deflate_parse(const sw__ws_ext_t *ext, bool is_offer, sw_ws_deflate_params_t *p,
                         bool *has_client_bits, bool *has_server_bits)
{
    *p = (sw_ws_deflate_params_t){.server_max_window_bits = 15, .client_max_window_bits = 15};
    *has_client_bits = *has_server_bits = false;
    bool seen_snct = false, seen_cnct = false;
    for (size_t i = 0; i < ext->nparams; i++) {
        const sw__ws_ext_param_t *q = &ext->params[i];
        bool has_value = q->value.ptr != NULL;
        if (sw__ws_slice_ieq(q->name.ptr, q->name.len, "server_no_context_takeover")) {
            if (seen_snct || has_value) {
                return -1;
            }
            seen_snct = p->server_no_context_takeover = true;
        } else if (sw__ws_slice_ieq(q->name.ptr, q->name.len, "client_no_context_takeover")) {
            if (seen_cnct || has_value) {
                return -1;
            }
            seen_cnct = p->client_no_context_takeover = true;
        } else if (sw__ws_slice_ieq(q->name.ptr, q->name.len, "server_max_window_bits")) {
            int bits = has_value ? window_bits_value(q) : 0;
            if (*has_server_bits || !bits) { /* a value is required on both sides */
                return -1;
            }
            *has_server_bits = true;
            p->server_max_window_bits = (uint8_t)bits;
        } else if (sw__ws_slice_ieq(q->name.ptr, q->name.len, "client_max_window_bits")) {
            if (*has_client_bits) {
                return -1;
            }
            int bits = 15;
            if (has_value) {
                bits = window_bits_value(q);
            } else if (!is_offer) {
                bits = 0; /* a response must say how small the window is */
            }
            if (!bits) {
                return -1;
            }
            *has_client_bits = true;
            p->client_max_window_bits = (uint8_t)bits;
        } else {
            return -1; /* RFC 7692 §5.1: unknown parameters decline the offer */
        }
    }
    return 0;
}

static bool options_valid(const sw_ws_deflate_options_t *o)
{
    return o->server_max_window_bits >= 8 && o->server_max_window_bits <= 15 &&
           o->client_max_window_bits >= 8 && o->client_max_window_bits <= 15;
}

/* Appends `text` and, when bits > 0, "=<bits>" to buf[*len..cap), keeping it NUL-terminated;
 * false when it does not fit. */
static bool append(char *buf, size_t cap, size_t *len, const char *text, int bits)
{
    char num[4] = "";
    if (bits > 0) {
        num[0] = '=';
        num[1] = bits >= 10 ? '1' : (char)('0' + bits);
        num[2] = bits >= 10 ? (char)('0' + bits - 10) : '\0';
    }
    size_t t = strlen(text), m = strlen(num);
    if (cap - *len <= t + m) {
        return false;
    }
    memcpy(buf + *len, text, t);
    memcpy(buf + *len + t, num, m);
    *len += t + m;
    buf[*len] = '\0';
    return true;
}

/* Writes "permessage-deflate; ..." into buf: the flags, server_max_window_bits when
 * server_bits > 0, client_max_window_bits when write_client_bits (with "=client_bits" when
 * client_bits > 0). */
static int write_params(char *buf, size_t cap, bool snct, bool cnct, int server_bits,
                        int client_bits, bool write_client_bits)
{
    size_t len = 0;
    if (cap == 0) {
        return SW_ENOBUFS;
    }
    buf[0] = '\0';
    bool ok = append(buf, cap, &len, "permessage-deflate", 0);
    if (ok && snct) {
        ok = append(buf, cap, &len, "; server_no_context_takeover", 0);
    }
    if (ok && cnct) {
        ok = append(buf, cap, &len, "; client_no_context_takeover", 0);
    }
    if (ok && server_bits) {
        ok = append(buf, cap, &len, "; server_max_window_bits", server_bits);
    }
    if (ok && write_client_bits) {
        ok = append(buf, cap, &len, "; client_max_window_bits", client_bits);
    }
    return ok ? (int)len : SW_ENOBUFS;
}

int sw_ws_deflate_offer(const sw_ws_deflate_options_t *opts, char *buf, size_t cap)
{
    if (!opts || !buf || !options_valid(opts)) {
        return SW_EINVAL;
    }
    if (!sw_ws_deflate_supported()) {
        return SW_ENOTSUP;
    }
    /* client_max_window_bits is always offered: it tells the server that this client can
     * honour a limit on its window (RFC 7692 §7.1.2.2). */
    int server_bits = opts->server_max_window_bits < 15 ? opts->server_max_window_bits : 0;
    int client_bits = opts->client_max_window_bits < 15 ? opts->client_max_window_bits : 0;
    return write_params(buf, cap, opts->server_no_context_takeover,
                        opts->client_no_context_takeover, server_bits, client_bits, true);
}

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

int sw__ws_deflate_accept(const sw_ws_slice_t *lines, size_t nlines,
                          const sw_ws_deflate_options_t *opts, sw_ws_handshake_t *hs)
{
    sw__ws_ext_iter_t it;
    sw__ws_ext_t ext;
    sw__ws_ext_iter_init(&it, lines, nlines);
    bool accepted = false;
    int rc;
    /* Walk the whole field even after accepting, so that a syntax error anywhere fails. */
    while ((rc = sw__ws_ext_next(&it, &ext)) > 0) {
        if (accepted || !sw__ws_slice_ieq(ext.name.ptr, ext.name.len, "permessage-deflate")) {
            continue;
        }
        sw_ws_deflate_params_t offer;
        bool client_bits, server_bits;
        if (sw__ws_deflate_parse(&ext, true, &offer, &client_bits, &server_bits) < 0) {
            continue; /* declined; a later offer may be acceptable */
        }
        sw_ws_deflate_params_t agreed = {
            .server_no_context_takeover =
                offer.server_no_context_takeover || opts->server_no_context_takeover,
            .client_no_context_takeover =
                offer.client_no_context_takeover || opts->client_no_context_takeover,
            .server_max_window_bits =
                (uint8_t)min_int(opts->server_max_window_bits, offer.server_max_window_bits),
            .client_max_window_bits = 15,
        };
        /* The client's window can only be limited when it said it can honour a limit. */
        if (client_bits) {
            agreed.client_max_window_bits =
                (uint8_t)min_int(opts->client_max_window_bits, offer.client_max_window_bits);
        }
        int sbits =
            server_bits || agreed.server_max_window_bits < 15 ? agreed.server_max_window_bits : 0;
        bool write_cbits = client_bits && agreed.client_max_window_bits < 15;
        if (write_params(hs->extensions, sizeof(hs->extensions), agreed.server_no_context_takeover,
                         agreed.client_no_context_takeover, sbits, agreed.client_max_window_bits,
                         write_cbits) < 0) {
            continue; /* cannot happen: the buffer fits the longest answer */
        }
        hs->deflate = true;
        hs->deflate_params = agreed;
        accepted = true;
    }
    if (rc < 0) {
        hs->deflate = false;
        hs->extensions[0] = '\0';
        return -1;
    }
    return accepted ? 1 : 0;
}

int sw__ws_deflate_check_response(const sw_ws_slice_t *lines, size_t nlines,
                                  const sw_ws_deflate_options_t *offer, sw_ws_handshake_t *hs)
{
    sw__ws_ext_iter_t it;
    sw__ws_ext_t ext;
    sw__ws_ext_iter_init(&it, lines, nlines);
    int rc;
    while ((rc = sw__ws_ext_next(&it, &ext)) > 0) {
        if (!offer || !sw__ws_slice_ieq(ext.name.ptr, ext.name.len, "permessage-deflate")) {
            return SW_WS_DETAIL_EXTENSION_UNOFFERED;
        }
        if (hs->deflate) { /* accepted twice */
            return SW_WS_DETAIL_DEFLATE_PARAMS;
        }
        sw_ws_deflate_params_t p;
        bool client_bits, server_bits;
        if (sw__ws_deflate_parse(&ext, false, &p, &client_bits, &server_bits) < 0) {
            return SW_WS_DETAIL_DEFLATE_PARAMS;
        }
        /* What was asked for must have been granted (RFC 7692 §7.1.1.1, §7.1.2.1). */
        if (offer->server_no_context_takeover && !p.server_no_context_takeover) {
            return SW_WS_DETAIL_DEFLATE_PARAMS;
        }
        if (offer->server_max_window_bits < 15 &&
            (!server_bits || p.server_max_window_bits > offer->server_max_window_bits)) {
            return SW_WS_DETAIL_DEFLATE_PARAMS;
        }
        /* Our offer always carried client_max_window_bits, with our limit when below 15. */
        if (client_bits) {
            if (p.client_max_window_bits > offer->client_max_window_bits) {
                return SW_WS_DETAIL_DEFLATE_PARAMS;
            }
        } else {
            p.client_max_window_bits = offer->client_max_window_bits;
        }
        p.client_no_context_takeover |= offer->client_no_context_takeover;
        hs->deflate = true;
        hs->deflate_params = p;
    }
    return rc < 0 ? SW_WS_DETAIL_EXTENSION_SYNTAX : 0;
}
