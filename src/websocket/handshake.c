/*
 * The opening handshake (RFC 6455 §4): collecting the header fields it needs, validating a
 * client's request and answering it (server side), building a request and validating the
 * answer (client side).
 *
 * The HTTP layer owns parsing; this file only looks at values it is handed, so it works with
 * any HTTP parser. Token lists (Connection, Upgrade, Sec-WebSocket-Protocol) may span several
 * header lines and contain empty elements; names compare case-insensitively, subprotocol
 * names exactly (they are opaque strings, RFC 6455 §11.5).
 */
#include <string.h>

#include "websocket/ws_int.h"

/* RFC 6455 §1.3: the GUID appended to the key before hashing. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* ---- headers --------------------------------------------------------------------------------- */

void sw_ws_headers_init(sw_ws_headers_t *h)
{
    if (h) {
        memset(h, 0, sizeof(*h));
    }
}

static void trim(const char **v, size_t *n)
{
    while (*n && ((*v)[0] == ' ' || (*v)[0] == '\t')) {
        (*v)++;
        (*n)--;
    }
    while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t')) {
        (*n)--;
    }
}

static int set_single(sw_ws_headers_t *h, sw_ws_slice_t *f, const char *v, size_t n)
{
    if (f->ptr) {
        h->duplicate = true;
        return SW_EWS_HANDSHAKE;
    }
    f->ptr = v;
    f->len = n;
    return 0;
}

static int add_line(sw_ws_headers_t *h, sw_ws_slice_t *lines, uint8_t *count, const char *v,
                    size_t n)
{
    if (*count == SW_WS_MAX_FIELD_LINES) {
        h->too_many_lines = true;
        return SW_EWS_HANDSHAKE;
    }
    lines[*count] = (sw_ws_slice_t){v, n};
    (*count)++;
    return 0;
}

int sw_ws_headers_add(sw_ws_headers_t *h, const char *name, size_t name_len, const char *value,
                      size_t value_len)
{
    static const char empty_value[1] = "";
    if (!h || !name || (!value && value_len)) {
        return SW_EINVAL;
    }
    if (!value) {
        value = empty_value; /* present but empty is not "absent" */
    }
    trim(&value, &value_len);
    if (sw__ws_slice_ieq(name, name_len, "host")) {
        return set_single(h, &h->host, value, value_len);
    }
    if (sw__ws_slice_ieq(name, name_len, "origin")) {
        return set_single(h, &h->origin, value, value_len);
    }
    if (sw__ws_slice_ieq(name, name_len, "sec-websocket-key")) {
        return set_single(h, &h->key, value, value_len);
    }
    if (sw__ws_slice_ieq(name, name_len, "sec-websocket-version")) {
        return set_single(h, &h->version, value, value_len);
    }
    if (sw__ws_slice_ieq(name, name_len, "sec-websocket-accept")) {
        return set_single(h, &h->accept, value, value_len);
    }
    if (sw__ws_slice_ieq(name, name_len, "connection")) {
        return add_line(h, h->connection, &h->n_connection, value, value_len);
    }
    if (sw__ws_slice_ieq(name, name_len, "upgrade")) {
        return add_line(h, h->upgrade, &h->n_upgrade, value, value_len);
    }
    if (sw__ws_slice_ieq(name, name_len, "sec-websocket-protocol")) {
        return add_line(h, h->protocol, &h->n_protocol, value, value_len);
    }
    if (sw__ws_slice_ieq(name, name_len, "sec-websocket-extensions")) {
        return add_line(h, h->extensions, &h->n_extensions, value, value_len);
    }
    return 0;
}

/* ---- token lists ----------------------------------------------------------------------------- */

/* Walks the comma-separated elements of a list field: returns true with the next non-empty
 * element (OWS trimmed) in *out. */
typedef struct {
    const sw_ws_slice_t *lines;
    size_t nlines, line, pos;
} list_iter_t;

static bool list_next(list_iter_t *it, sw_ws_slice_t *out)
{
    for (; it->line < it->nlines; it->line++, it->pos = 0) {
        const char *s = it->lines[it->line].ptr;
        size_t n = s ? it->lines[it->line].len : 0;
        while (it->pos < n) {
            size_t start = it->pos;
            while (it->pos < n && s[it->pos] != ',') {
                it->pos++;
            }
            const char *e = s + start;
            size_t len = it->pos - start;
            if (it->pos < n) {
                it->pos++; /* the comma */
            }
            trim(&e, &len);
            if (len) {
                out->ptr = e;
                out->len = len;
                return true;
            }
        }
    }
    return false;
}

static bool list_has(const sw_ws_slice_t *lines, size_t nlines, const char *lower)
{
    list_iter_t it = {lines, nlines, 0, 0};
    sw_ws_slice_t e;
    while (list_next(&it, &e)) {
        if (sw__ws_slice_ieq(e.ptr, e.len, lower)) {
            return true;
        }
    }
    return false;
}

static bool is_token(const char *p, size_t n)
{
    if (!n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!sw__ws_is_tchar((unsigned char)p[i])) {
            return false;
        }
    }
    return true;
}

/* Splits a protocol list into offers; -1 when an element is not a token or there are more
 * than `cap`. */
static long protocol_list(const sw_ws_slice_t *lines, size_t nlines, sw_ws_slice_t *offers,
                          size_t cap)
{
    list_iter_t it = {lines, nlines, 0, 0};
    sw_ws_slice_t e;
    size_t n = 0;
    while (list_next(&it, &e)) {
        if (!is_token(e.ptr, e.len) || n == cap) {
            return -1;
        }
        offers[n++] = e;
    }
    return (long)n;
}

static bool slice_eq(sw_ws_slice_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.ptr && s.len == n && memcmp(s.ptr, lit, n) == 0;
}

/* ---- keys ------------------------------------------------------------------------------------ */

int sw_ws_accept_key(const char *key, size_t key_len, char out[SW_WS_ACCEPT_LEN + 1])
{
    if (!out || (!key && key_len)) {
        return SW_EINVAL;
    }
    sw__ws_sha1_t s;
    uint8_t digest[SW__WS_SHA1_LEN];
    sw__ws_sha1_init(&s);
    if (key_len) {
        sw__ws_sha1_update(&s, key, key_len);
    }
    sw__ws_sha1_update(&s, ws_guid, sizeof(ws_guid) - 1);
    sw__ws_sha1_final(&s, digest);
    sw__ws_base64_encode(digest, sizeof(digest), out);
    return 0;
}

static bool key_valid(const char *key, size_t n)
{
    uint8_t raw[18];
    return n == SW_WS_KEY_LEN && sw__ws_base64_decode(key, n, raw, sizeof(raw)) == 16;
}

int sw_ws_client_key(const uint8_t nonce[16], char key[SW_WS_KEY_LEN + 1])
{
    if (!nonce || !key) {
        return SW_EINVAL;
    }
    sw__ws_base64_encode(nonce, 16, key);
    return 0;
}

/* ---- server ---------------------------------------------------------------------------------- */

void sw_ws_server_options_init(sw_ws_server_options_t *o)
{
    if (o) {
        memset(o, 0, sizeof(*o));
        sw_ws_deflate_options_init(&o->deflate_options);
    }
}

static int reject(sw_ws_handshake_t *hs, int detail)
{
    sw_ws_handshake_t keep = {.detail = detail};
    *hs = keep;
    return detail == SW_WS_DETAIL_VERSION ? SW_EWS_VERSION : SW_EWS_HANDSHAKE;
}

int sw_ws_handshake_accept(const sw_ws_headers_t *req, const sw_ws_server_options_t *opts,
                           sw_ws_handshake_t *hs)
{
    if (!req || !hs) {
        return SW_EINVAL;
    }
    sw_ws_server_options_t defaults;
    if (!opts) {
        sw_ws_server_options_init(&defaults);
        opts = &defaults;
    }
    memset(hs, 0, sizeof(*hs));
    if (!slice_eq(req->method, "GET")) { /* methods are case-sensitive (RFC 9110 §9.1) */
        return reject(hs, SW_WS_DETAIL_METHOD);
    }
    if (req->http_version < 11) {
        return reject(hs, SW_WS_DETAIL_HTTP_VERSION);
    }
    if (req->duplicate) {
        return reject(hs, SW_WS_DETAIL_DUPLICATE_FIELD);
    }
    if (req->too_many_lines || req->n_connection > SW_WS_MAX_FIELD_LINES ||
        req->n_upgrade > SW_WS_MAX_FIELD_LINES || req->n_protocol > SW_WS_MAX_FIELD_LINES ||
        req->n_extensions > SW_WS_MAX_FIELD_LINES) {
        return reject(hs, SW_WS_DETAIL_TOO_MANY_LINES);
    }
    if (!req->host.ptr || req->host.len == 0) {
        return reject(hs, SW_WS_DETAIL_HOST);
    }
    if (!list_has(req->upgrade, req->n_upgrade, "websocket")) {
        return reject(hs, SW_WS_DETAIL_UPGRADE);
    }
    if (!list_has(req->connection, req->n_connection, "upgrade")) {
        return reject(hs, SW_WS_DETAIL_CONNECTION);
    }
    /* Checked before the key: a client of an older draft (no version, other key headers)
     * learns from the 426 which version to speak (RFC 6455 §4.2.2). */
    if (!slice_eq(req->version, "13")) {
        return reject(hs, SW_WS_DETAIL_VERSION);
    }
    if (!req->key.ptr || !key_valid(req->key.ptr, req->key.len)) {
        return reject(hs, SW_WS_DETAIL_KEY);
    }
    sw_ws_slice_t offers[SW_WS_MAX_PROTOCOLS];
    long noffers = protocol_list(req->protocol, req->n_protocol, offers, SW_WS_MAX_PROTOCOLS);
    if (noffers < 0) {
        return reject(hs, SW_WS_DETAIL_PROTOCOL_SYNTAX);
    }
    int rc = 0;
    if (opts->deflate && sw_ws_deflate_supported()) {
        const sw_ws_deflate_options_t *d = &opts->deflate_options;
        if (d->server_max_window_bits < 8 || d->server_max_window_bits > 15 ||
            d->client_max_window_bits < 8 || d->client_max_window_bits > 15) {
            return SW_EINVAL;
        }
        rc = sw__ws_deflate_accept(req->extensions, req->n_extensions, d, hs);
    } else {
        /* Not negotiating, but a malformed field is still a bad request. */
        sw__ws_ext_iter_t it;
        sw__ws_ext_t ext;
        sw__ws_ext_iter_init(&it, req->extensions, req->n_extensions);
        while ((rc = sw__ws_ext_next(&it, &ext)) > 0) {
        }
    }
    if (rc < 0) {
        return reject(hs, SW_WS_DETAIL_EXTENSION_SYNTAX);
    }
    if (opts->select_protocol && noffers > 0) {
        int idx = opts->select_protocol(opts->select_arg, offers, (size_t)noffers);
        if (idx >= noffers || idx < -1) {
            memset(hs, 0, sizeof(*hs));
            return SW_EINVAL;
        }
        if (idx >= 0) {
            hs->protocol = offers[idx];
        }
    }
    sw_ws_accept_key(req->key.ptr, req->key.len, hs->accept);
    return 0;
}

/* ---- writing responses and requests ---------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t cap, len;
    bool overflow;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    if (o->overflow || o->cap - o->len <= n) {
        o->overflow = true;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void puts_(out_t *o, const char *s)
{
    put(o, s, strlen(s));
}

static int finish(out_t *o)
{
    if (o->overflow) {
        if (o->cap) {
            o->buf[0] = '\0';
        }
        return SW_ENOBUFS;
    }
    return (int)o->len;
}

/* `extra` is empty, or non-empty lines each ending in CRLF, with no NUL, no bare CR or LF, no
 * line starting with whitespace (obs-fold) and a colon after a non-empty name. */
static bool extra_valid(const char *extra)
{
    const char *p = extra;
    while (*p) {
        const char *colon = NULL;
        if (*p == ' ' || *p == '\t' || *p == ':') {
            return false;
        }
        for (; *p && *p != '\r' && *p != '\n'; p++) {
            if (*p == ':' && !colon) {
                colon = p;
            }
        }
        if (p[0] != '\r' || p[1] != '\n' || !colon) {
            return false;
        }
        p += 2;
    }
    return true;
}

int sw_ws_handshake_response(const sw_ws_handshake_t *hs, const char *extra, char *buf, size_t cap)
{
    if (!hs || !buf || (extra && !extra_valid(extra))) {
        return SW_EINVAL;
    }
    if (strlen(hs->accept) != SW_WS_ACCEPT_LEN) {
        return SW_EINVAL; /* not an accepted handshake */
    }
    out_t o = {buf, cap, 0, cap == 0};
    if (cap) {
        buf[0] = '\0';
    }
    puts_(&o, "HTTP/1.1 101 Switching Protocols\r\n"
              "Upgrade: websocket\r\n"
              "Connection: Upgrade\r\n"
              "Sec-WebSocket-Accept: ");
    puts_(&o, hs->accept);
    puts_(&o, "\r\n");
    if (hs->protocol.ptr && hs->protocol.len) {
        puts_(&o, "Sec-WebSocket-Protocol: ");
        put(&o, hs->protocol.ptr, hs->protocol.len);
        puts_(&o, "\r\n");
    }
    if (hs->deflate && hs->extensions[0]) {
        puts_(&o, "Sec-WebSocket-Extensions: ");
        puts_(&o, hs->extensions);
        puts_(&o, "\r\n");
    }
    if (extra) {
        puts_(&o, extra);
    }
    puts_(&o, "\r\n");
    return finish(&o);
}

int sw_ws_handshake_status(int err)
{
    if (err == SW_EWS_VERSION) {
        return 426;
    }
    if (err == SW_EWS_HANDSHAKE || err == SW_EINVAL) {
        return 400;
    }
    return 500;
}

int sw_ws_handshake_reject(int err, char *buf, size_t cap)
{
    if (!buf || err >= 0) {
        return SW_EINVAL;
    }
    out_t o = {buf, cap, 0, cap == 0};
    if (cap) {
        buf[0] = '\0';
    }
    switch (sw_ws_handshake_status(err)) {
    case 426:
        puts_(&o, "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n");
        break;
    case 400:
        puts_(&o, "HTTP/1.1 400 Bad Request\r\n");
        break;
    default:
        puts_(&o, "HTTP/1.1 500 Internal Server Error\r\n");
        break;
    }
    puts_(&o, "Content-Length: 0\r\nConnection: close\r\n\r\n");
    return finish(&o);
}

/* ---- client ---------------------------------------------------------------------------------- */

/* No control characters (a header value or request target must not break the message). */
static bool clean(const char *s, bool allow_space)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || (c == ' ' && !allow_space)) {
            return false;
        }
    }
    return true;
}

int sw_ws_client_request(const sw_ws_client_options_t *opts, char *buf, size_t cap)
{
    if (!opts || !buf || !opts->host || !opts->path || !opts->key || !opts->host[0] ||
        opts->path[0] != '/' || !clean(opts->host, false) || !clean(opts->path, false) ||
        !key_valid(opts->key, strlen(opts->key)) || (opts->origin && !clean(opts->origin, true)) ||
        (opts->protocols && !clean(opts->protocols, true)) ||
        (opts->extensions && !clean(opts->extensions, true)) ||
        (opts->extra && !extra_valid(opts->extra))) {
        return SW_EINVAL;
    }
    out_t o = {buf, cap, 0, cap == 0};
    if (cap) {
        buf[0] = '\0';
    }
    puts_(&o, "GET ");
    puts_(&o, opts->path);
    puts_(&o, " HTTP/1.1\r\nHost: ");
    puts_(&o, opts->host);
    puts_(&o, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    puts_(&o, opts->key);
    puts_(&o, "\r\nSec-WebSocket-Version: 13\r\n");
    if (opts->origin) {
        puts_(&o, "Origin: ");
        puts_(&o, opts->origin);
        puts_(&o, "\r\n");
    }
    if (opts->protocols && opts->protocols[0]) {
        puts_(&o, "Sec-WebSocket-Protocol: ");
        puts_(&o, opts->protocols);
        puts_(&o, "\r\n");
    }
    if (opts->extensions && opts->extensions[0]) {
        puts_(&o, "Sec-WebSocket-Extensions: ");
        puts_(&o, opts->extensions);
        puts_(&o, "\r\n");
    }
    if (opts->extra) {
        puts_(&o, opts->extra);
    }
    puts_(&o, "\r\n");
    return finish(&o);
}

static int verify_fail(sw_ws_handshake_t *hs, int detail)
{
    memset(hs, 0, sizeof(*hs));
    hs->detail = detail;
    return SW_EWS_HANDSHAKE;
}

int sw_ws_client_verify(const sw_ws_headers_t *resp, const char *key, const char *protocols,
                        const sw_ws_deflate_options_t *deflate, sw_ws_handshake_t *hs)
{
    if (!resp || !key || !hs) {
        return SW_EINVAL;
    }
    memset(hs, 0, sizeof(*hs));
    if (deflate && !sw_ws_deflate_supported()) {
        return SW_ENOTSUP;
    }
    if (deflate && (deflate->server_max_window_bits < 8 || deflate->server_max_window_bits > 15 ||
                    deflate->client_max_window_bits < 8 || deflate->client_max_window_bits > 15)) {
        return SW_EINVAL;
    }
    if (resp->status != 101) {
        return verify_fail(hs, SW_WS_DETAIL_STATUS);
    }
    if (resp->duplicate) {
        return verify_fail(hs, SW_WS_DETAIL_DUPLICATE_FIELD);
    }
    if (resp->too_many_lines || resp->n_connection > SW_WS_MAX_FIELD_LINES ||
        resp->n_upgrade > SW_WS_MAX_FIELD_LINES || resp->n_protocol > SW_WS_MAX_FIELD_LINES ||
        resp->n_extensions > SW_WS_MAX_FIELD_LINES) {
        return verify_fail(hs, SW_WS_DETAIL_TOO_MANY_LINES);
    }
    if (!list_has(resp->upgrade, resp->n_upgrade, "websocket")) {
        return verify_fail(hs, SW_WS_DETAIL_UPGRADE);
    }
    if (!list_has(resp->connection, resp->n_connection, "upgrade")) {
        return verify_fail(hs, SW_WS_DETAIL_CONNECTION);
    }
    char expect[SW_WS_ACCEPT_LEN + 1];
    sw_ws_accept_key(key, strlen(key), expect);
    if (!slice_eq(resp->accept, expect)) {
        return verify_fail(hs, SW_WS_DETAIL_ACCEPT);
    }
    /* The server may pick at most one of the offered subprotocols. */
    sw_ws_slice_t chosen[2];
    long n = protocol_list(resp->protocol, resp->n_protocol, chosen, 2);
    if (n < 0 || n > 1) {
        return verify_fail(hs, SW_WS_DETAIL_PROTOCOL_SYNTAX);
    }
    if (n == 1) {
        sw_ws_slice_t line = {protocols, protocols ? strlen(protocols) : 0};
        list_iter_t it = {&line, 1, 0, 0};
        sw_ws_slice_t e;
        bool offered = false;
        while (!offered && list_next(&it, &e)) {
            offered = e.len == chosen[0].len && memcmp(e.ptr, chosen[0].ptr, e.len) == 0;
        }
        if (!offered) {
            return verify_fail(hs, SW_WS_DETAIL_PROTOCOL_UNOFFERED);
        }
        hs->protocol = chosen[0];
    }
    sw_ws_slice_t protocol = hs->protocol;
    int detail = sw__ws_deflate_check_response(resp->extensions, resp->n_extensions, deflate, hs);
    if (detail) {
        return verify_fail(hs, detail);
    }
    hs->protocol = protocol;
    memcpy(hs->accept, expect, sizeof(expect));
    return 0;
}
