/*
 * Responses: the head, bodies (whole, chunked, until close, from a file), gzip, and the order
 * of responses on one connection.
 *
 * gzip. A body given whole to end() is compressed in one deflate call (with Content-Length,
 * when it is at least http_compression_min_length bytes). A streamed body (write() then end())
 * gets one deflate stream per response, made at the first write(): each write() compresses its
 * bytes and flushes with Z_SYNC_FLUSH, so everything written so far reaches the client and
 * decodes (a few bytes more per write; what a browser waits for is never held inside zlib),
 * and end() finishes the stream (Z_FINISH: the rest and the gzip trailer). The stream state
 * (about 256 KiB at windowBits 15, memLevel 8) is freed when the response ends, when its
 * connection goes (orphaned response) and when a write fails. A failed compressed write leaves
 * a stream the client cannot continue: the response is then cut short (no last chunk) and the
 * connection closed after it.
 *
 * Order. Each request gets a sequence number; conn->live lists the connection's responses
 * that are not finished, in that order. Only the first may write to the connection; what the
 * others produce (bytes, and a file to send) is held in the response until every earlier one
 * has ended, then sent (promote). A response that asked to close the connection (no
 * keep-alive) closes it once it is sent; later requests were already dropped.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef SW_HAVE_ZLIB
#include <zlib.h>
#endif

#include "core/alloc.h"
#include "httpd/httpd_int.h"
#include "server/framing.h"
#include "swoole/error.h"

#ifdef SW_HAVE_ZLIB
/* The deflate stream of a streamed gzip body (see the top of the file). */
struct sw__gz_s {
    z_stream zs;
    int err; /* 0 while the stream is usable; else the code of the write that broke it (the
                stream was ended then) */
};

/* zlib allocates through the library's allocator, so the "alloc" fault point covers it.
 * Unzeroed, as zlib's own default allocator does it: the deflate state is about 256 KiB, and
 * zlib initialises what it reads. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    if (size != 0 && items > SIZE_MAX / size) {
        return Z_NULL;
    }
    return sw__malloc((size_t)items * size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    sw__free(p);
}

/* A gzip deflate stream at `level`: 0, or SW_ENOMEM. */
static int z_init(z_stream *zs, int level)
{
    memset(zs, 0, sizeof(*zs));
    zs->zalloc = z_alloc;
    zs->zfree = z_free;
    /* windowBits 15 + 16 selects the gzip wrapper (zlib manual, deflateInit2). */
    return deflateInit2(zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK ? 0
                                                                                       : SW_ENOMEM;
}
#endif

/* Frees the response's deflate stream, if any. */
static void gz_free(sw_http_response_t *r)
{
#ifdef SW_HAVE_ZLIB
    if (r->gz) {
        if (!r->gz->err) {
            (void)deflateEnd(&r->gz->zs);
        }
        sw__free(r->gz);
        r->gz = NULL;
    }
#else
    (void)r;
#endif
}

/* Whether the weight ";q=..." starting at `p` (after the coding) is zero. Parameters other
 * than q are skipped. */
static bool weight_is_zero(const char *p, const char *end)
{
    while (p < end && *p != ',') {
        if (*p == ';') {
            p++;
            while (p < end && (*p == ' ' || *p == '\t')) {
                p++;
            }
            if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
                /* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ): zero when
                 * it starts with 0 and every decimal is 0 (RFC 9110 §12.4.2). */
                p += 2;
                if (p >= end || *p != '0') {
                    return false;
                }
                for (p++; p < end && (*p == '.' || *p == '0'); p++) {
                }
                return p >= end || !(*p >= '1' && *p <= '9');
            }
            continue;
        }
        p++;
    }
    return false;
}

/* Whether the request's Accept-Encoding accepts gzip (RFC 9110 §12.5.3): "gzip" or its alias
 * "x-gzip" with a weight above zero, or else "*" with a weight above zero. Looked up only when
 * a body could be compressed: in end() or the first write() while on_request runs, or by
 * dispatch for a response that outlives it (sw__httpd_response_detach). */
bool sw__httpd_accepts_gzip(const sw_http_request_t *req)
{
    size_t n;
    const char *ae = sw_http_request_header(req, "accept-encoding", &n);
    if (!ae) {
        return false;
    }
    const char *p = ae, *end = ae + n;
    int gzip = -1, star = -1; /* -1 not named, 0 refused (q=0), 1 accepted */
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }
        const char *tok = p;
        while (p < end && *p != ',' && *p != ';' && *p != ' ' && *p != '\t') {
            p++;
        }
        size_t tl = (size_t)(p - tok);
        if (tl == 0) {
            if (p < end) {
                p++; /* a stray ';' */
            }
            continue;
        }
        int ok = weight_is_zero(p, end) ? 0 : 1;
        if ((tl == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
            (tl == 6 && strncasecmp(tok, "x-gzip", 6) == 0)) {
            gzip = gzip == 1 ? 1 : ok;
        } else if (tl == 1 && tok[0] == '*') {
            star = star == 1 ? 1 : ok;
        }
        while (p < end && *p != ',') {
            p++;
        }
    }
    return gzip >= 0 ? gzip == 1 : star == 1;
}

void sw__httpd_response_detach(sw_http_response_t *r)
{
    if (r->req) {
        r->accept_gzip = sw__httpd_accepts_gzip(r->req);
        r->req->resp = NULL;
        r->req = NULL;
    }
}

sw_http_response_t *sw__httpd_response_new(sw_http_server_t *hs, sw__hconn_t *c,
                                           sw_http_request_t *req)
{
    sw__hworker_t *w = c->w;
    sw_http_response_t *r = w->resp_pool;
    if (r) {
        /* A pooled response: zeroed, but its (emptied) buffers keep their room. */
        w->resp_pool = r->next;
        w->resp_pool_n--;
        sw_buffer_t head = r->head, held = r->held;
        memset(r, 0, sizeof(*r));
        r->head = head;
        r->held = held;
    } else if (!(r = sw__calloc(1, sizeof(*r)))) {
        return NULL;
    }
    r->hs = hs;
    r->w = c->w;
    r->conn = c;
    r->session = c->session;
    r->seq = c->next_seq++;
    r->status = 200;
    if (req) {
        r->keep_alive = (req->p.flags & SW_HTTP_F_KEEP_ALIVE) != 0;
        r->http10 = req->p.version_minor == 0;
        r->no_body = req->p.method == SW_HTTP_METHOD_HEAD;
        r->req = req; /* for the Accept-Encoding lookup, only while on_request runs */
        req->resp = r;
        r->gzip_level = hs->compression_level;
    }
    if (!r->keep_alive) {
        c->dead = true; /* the connection ends with this response */
    }
    sw_http_response_t **pp = &c->live;
    while (*pp) {
        pp = &(*pp)->next;
    }
    *pp = r;
    if (++c->nlive >= SW__HTTPD_MAX_LIVE && !c->paused) {
        c->paused = sw_server_pause(hs->srv, c->session) == 0;
    }
    return r;
}

static void resp_destroy(sw_http_response_t *r)
{
    sw_buffer_close(&r->head);
    sw_buffer_close(&r->held);
    sw__free(r);
}

/* Retires a response: into the worker's pool (buffers emptied, small ones kept) or freed. */
static void resp_free(sw_http_response_t *r)
{
    if (r->req) {
        r->req->resp = NULL; /* ended while on_request runs: nothing left to look up */
    }
    gz_free(r);
    if (r->file && r->file_given) {
        (void)unlink(r->file); /* a request's temporary file that was never sent */
    }
    r->file_given = false;
    sw__free(r->file);
    r->file = NULL;
    sw__free(r->reason);
    r->reason = NULL;
    sw__hworker_t *w = r->w;
    if (w->resp_pool_n >= SW__HTTPD_RESP_POOL) {
        resp_destroy(r);
        return;
    }
    if (r->head.size > SW__HTTPD_KEEP_BUF) {
        sw_buffer_close(&r->head);
    }
    if (r->held.size > SW__HTTPD_KEEP_BUF) {
        sw_buffer_close(&r->held);
    }
    sw_buffer_clear(&r->head);
    sw_buffer_clear(&r->held);
    r->next = w->resp_pool;
    w->resp_pool = r;
    w->resp_pool_n++;
}

void sw__httpd_free_pool(sw__hworker_t *w)
{
    while (w->resp_pool) {
        sw_http_response_t *r = w->resp_pool;
        w->resp_pool = r->next;
        resp_destroy(r);
    }
    w->resp_pool_n = 0;
}

void sw__httpd_conn_gone(sw__hworker_t *w, sw__hconn_t *c)
{
    c->nlive = 0;
    while (c->live) {
        sw_http_response_t *r = c->live;
        c->live = r->next;
        if (r->ended) {
            resp_free(r);
        } else {
            gz_free(r); /* nothing more can be sent: the stream state goes now */
            r->conn = NULL;
            r->next = w->orphans;
            w->orphans = r;
        }
    }
}

void sw__httpd_free_orphans(sw__hworker_t *w)
{
    while (w->orphans) {
        sw_http_response_t *r = w->orphans;
        w->orphans = r->next;
        resp_free(r);
    }
}

/* Sends the held output of the first responses and retires those that ended. */
static void promote(sw_http_server_t *hs, sw__hconn_t *c)
{
    while (c->live) {
        sw_http_response_t *r = c->live;
        if (r->held.length > 0) {
            (void)sw_server_send(hs->srv, r->session, r->held.str, r->held.length);
            sw_buffer_clear(&r->held);
        }
        if (r->file) {
            (void)sw__server_sendfile(hs->srv, r->session, r->file, r->file_off, r->file_len,
                                      r->file_given);
            r->file_given = false;
            sw__free(r->file);
            r->file = NULL;
        }
        if (!r->ended) {
            return;
        }
        c->live = r->next;
        c->nlive--;
        c->send_seq++;
        bool close_it = !r->keep_alive;
        resp_free(r);
        if (close_it) {
            (void)sw_server_close(hs->srv, c->session, 0);
            return;
        }
    }
    if (c->paused && c->nlive < SW__HTTPD_MAX_LIVE / 2) {
        c->paused = false;
        (void)sw_server_resume(hs->srv, c->session);
    }
}

static int emit(sw_http_response_t *r, const void *data, size_t len)
{
    if (!r->conn) {
        return SW_ESESSION;
    }
    if (len == 0) {
        return 0;
    }
    if (r->conn->live == r) {
        return sw_server_send(r->hs->srv, r->session, data, len);
    }
    return sw_buffer_append(&r->held, data, len) < 0 ? SW_ENOMEM : 0;
}

/* The response is complete: retire it (now if it is first, else when its turn comes). */
static void finish(sw_http_response_t *r)
{
    r->ended = true;
    sw__hconn_t *c = r->conn;
    if (!c) {
        for (sw_http_response_t **pp = &r->w->orphans; *pp; pp = &(*pp)->next) {
            if (*pp == r) {
                *pp = r->next;
                break;
            }
        }
        resp_free(r);
        return;
    }
    if (c->live == r) {
        promote(r->hs, c);
    }
}

static bool body_allowed(int status)
{
    return !(status < 200 || status == 204 || status == 304);
}

/* Decimal digits of `v` at `p`; returns the end. */
static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) {
        *p++ = tmp[--n];
    }
    return p;
}

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

/*
 * Appends the head to `b`. `clen` is the body length, or -1 for chunked / until close. No
 * stdio: the status line is copied (a ready line for 200 OK), the Server and Date lines are
 * whole lines cached by the server and the worker, Content-Length is written by put_u64. The
 * room is reserved once, so the buffer grows at most once.
 */
static int build_head(sw_http_response_t *r, long long clen, const char *extra, sw_buffer_t *b)
{
    sw_http_server_t *hs = r->hs;
    size_t date_len;
    const char *date = sw__httpd_date_line(r->w, &date_len);
    const char *reason = r->reason ? r->reason : sw_http_status_reason(r->status);
    if (!reason) {
        reason = "Unknown";
    }
    size_t rlen = strlen(reason);
    size_t slen = hs->server_line && !r->has_server ? hs->server_line_len : 0;
    size_t xlen = extra ? strlen(extra) : 0;
    /* status line + Server + Date + user lines + extra + the longest framing lines
     * ("Content-Length: " + 20 digits + CRLF, "Connection: keep-alive" + 2 CRLF) */
    size_t need = 16 + rlen + slen + date_len + r->head.length + xlen + 40 + 28;
    char *p;
    if (sw_buffer_reserve(b, need, &p) < 0) {
        return SW_ENOMEM;
    }
    char *start = p;
    if (r->status == 200 && !r->reason) {
        p = put(p, "HTTP/1.1 200 OK\r\n", 17);
    } else {
        int st = r->status; /* 100..999: three digits */
        p = put(p, "HTTP/1.1 ", 9);
        *p++ = (char)('0' + st / 100);
        *p++ = (char)('0' + st / 10 % 10);
        *p++ = (char)('0' + st % 10);
        *p++ = ' ';
        p = put(p, reason, rlen);
        p = put(p, "\r\n", 2);
    }
    p = put(p, hs->server_line ? hs->server_line : "", slen);
    p = put(p, date, date_len);
    if (r->head.length) {
        p = put(p, r->head.str, r->head.length);
    }
    if (xlen) {
        p = put(p, extra, xlen);
    }
    if (body_allowed(r->status)) {
        if (clen >= 0) {
            p = put(p, "Content-Length: ", 16);
            p = put_u64(p, (uint64_t)clen);
            p = put(p, "\r\n", 2);
        } else if (r->chunked) {
            p = put(p, "Transfer-Encoding: chunked\r\n", 28);
        }
    }
    if (!r->keep_alive) {
        p = put(p, "Connection: close\r\n\r\n", 21);
    } else if (r->http10) {
        p = put(p, "Connection: keep-alive\r\n\r\n", 26);
    } else {
        p = put(p, "\r\n", 2);
    }
    return sw_buffer_commit(b, (size_t)(p - start)) < 0 ? SW_ENOMEM : 0;
}

/* The worker's scratch buffer, emptied, or `local` while the scratch is in use (a send that
 * re-entered the HTTP layer). Give it back with scratch_put. */
static sw_buffer_t *scratch_get(sw__hworker_t *w, sw_buffer_t *local)
{
    if (w->scratch_busy) {
        *local = (sw_buffer_t){0};
        return local;
    }
    w->scratch_busy = true;
    sw_buffer_clear(&w->scratch);
    return &w->scratch;
}

/* Scratch space kept between responses; more than this (a huge head or body) is freed. */
#define SCRATCH_KEEP (64u * 1024u)

static void scratch_put(sw__hworker_t *w, sw_buffer_t *b)
{
    if (b != &w->scratch) {
        sw_buffer_close(b);
        return;
    }
    if (b->size > SCRATCH_KEEP) {
        sw_buffer_close(b);
    }
    w->scratch_busy = false;
}

/* Builds and emits the head alone (write, sendfile). */
static int send_head(sw_http_response_t *r, long long clen, const char *extra)
{
    sw_buffer_t local;
    sw_buffer_t *b = scratch_get(r->w, &local);
    int rc = build_head(r, clen, extra, b);
    r->head_sent = true;
    if (rc == 0) {
        rc = emit(r, b->str, b->length);
    }
    scratch_put(r->w, b);
    return rc;
}

int sw_http_response_status(sw_http_response_t *resp, int status, const char *reason)
{
    if (!resp || status < 100 || status > 999) {
        return SW_EINVAL;
    }
    if (resp->head_sent || resp->ended) {
        return SW_ESERVER_STATE;
    }
    if (reason) {
        for (const char *s = reason; *s; s++) {
            if (*s == '\r' || *s == '\n') {
                return SW_EINVAL;
            }
        }
        char *d = sw__strdup(reason);
        if (!d) {
            return SW_ENOMEM;
        }
        sw__free(resp->reason);
        resp->reason = d;
    }
    resp->status = status;
    return 0;
}

/* RFC 9110 §5.6.2 tchar: "!#$%&'*+-.^_`|~", digits and letters. */
static bool is_tchar(unsigned char c)
{
    static const uint32_t bits[8] = {
        0,          /* 0x00-0x1f */
        0x03ff6cfa, /* 0x20-0x3f: ! # $ % & ' * + - . 0-9 */
        0xc7fffffe, /* 0x40-0x5f: A-Z ^ _ */
        0x57ffffff, /* 0x60-0x7f: ` a-z | ~ */
    };
    return (bits[c >> 5] >> (c & 31)) & 1u;
}

static int add_line_n(sw_http_response_t *resp, const char *name, size_t nl, const char *value,
                      size_t vl)
{
    if (resp->head_sent || resp->ended) {
        return SW_ESERVER_STATE;
    }
    char *p;
    if (sw_buffer_reserve(&resp->head, nl + vl + 4, &p) < 0) {
        return SW_ENOMEM;
    }
    memcpy(p, name, nl);
    p[nl] = ':';
    p[nl + 1] = ' ';
    memcpy(p + nl + 2, value, vl);
    p[nl + 2 + vl] = '\r';
    p[nl + 3 + vl] = '\n';
    return sw_buffer_commit(&resp->head, nl + vl + 4) < 0 ? SW_ENOMEM : 0;
}

static int add_line(sw_http_response_t *resp, const char *name, const char *value)
{
    return add_line_n(resp, name, strlen(name), value, strlen(value));
}

int sw_http_response_header(sw_http_response_t *resp, const char *name, const char *value)
{
    if (!resp || !name || !value || !name[0]) {
        return SW_EINVAL;
    }
    /* One pass over the name validates it and yields its length; the managed names are
     * compared only when the length matches. */
    size_t nl = 0;
    while (name[nl]) {
        if (!is_tchar((unsigned char)name[nl])) {
            return SW_EINVAL;
        }
        nl++;
    }
    size_t vl = 0;
    for (; value[vl]; vl++) {
        if (value[vl] == '\r' || value[vl] == '\n') {
            return SW_EINVAL;
        }
    }
    switch (nl) {
    case 4:
        if (strcasecmp(name, "date") == 0) {
            return SW_EINVAL;
        }
        break;
    case 6:
        if (strcasecmp(name, "server") == 0) {
            resp->has_server = true;
        }
        break;
    case 10:
        if (strcasecmp(name, "connection") == 0) {
            return SW_EINVAL;
        }
        break;
    case 14:
        if (strcasecmp(name, "content-length") == 0) {
            return SW_EINVAL;
        }
        break;
    case 16:
        if (strcasecmp(name, "content-encoding") == 0) {
            resp->gzip_level = 0; /* the user encodes the body */
        }
        break;
    case 17:
        if (strcasecmp(name, "transfer-encoding") == 0) {
            return SW_EINVAL;
        }
        break;
    default:
        break;
    }
    return add_line_n(resp, name, nl, value, vl);
}

int sw_http_response_cookie(sw_http_response_t *resp, const sw_http_cookie_t *c)
{
    if (!resp || !c) {
        return SW_EINVAL;
    }
    char stack[512];
    size_t need = c->name_len + c->value_len + c->domain_len + c->path_len + 160;
    char *buf = need <= sizeof(stack) ? stack : sw__malloc(need);
    if (!buf) {
        return SW_ENOMEM;
    }
    int n = sw_http_set_cookie_build(c, buf, need);
    int rc = n < 0 ? SW_EINVAL : add_line(resp, "Set-Cookie", buf);
    if (buf != stack) {
        sw__free(buf);
    }
    return rc;
}

int sw_http_response_gzip(sw_http_response_t *resp, int level)
{
    if (!resp || level < 0 || level > 9) {
        return SW_EINVAL;
    }
#ifdef SW_HAVE_ZLIB
    resp->gzip_level = level;
    return 0;
#else
    return level == 0 ? 0 : SW_ENOTSUP;
#endif
}

int sw_http_response_writable(const sw_http_response_t *resp)
{
    return resp && resp->conn && !resp->ended && sw_server_exists(resp->hs->srv, resp->session);
}

/* Header lines of a gzip-encoded response. */
#define GZ_LINES "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n"

/* Whether the body of `r` is to be gzip-encoded: compression on for it, a status with a body,
 * and a client that accepts gzip. (A HEAD response gets the same answer as GET.) */
static bool gz_wanted(const sw_http_response_t *r)
{
#ifdef SW_HAVE_ZLIB
    return r->gzip_level > 0 && body_allowed(r->status) &&
           (r->req ? sw__httpd_accepts_gzip(r->req) : r->accept_gzip);
#else
    (void)r;
    return false;
#endif
}

#ifdef SW_HAVE_ZLIB
/* Input goes to deflate in slices of at most this many bytes (avail_in is a uInt, and output
 * room is reserved per slice). */
#define GZ_SLICE ((size_t)256 * 1024)
/* Room for a chunk-size line: 16 hex digits and CRLF. */
#define CHUNK_LINE_MAX 18

/* Makes the response's deflate stream. 0, or SW_ENOMEM (then the body goes uncompressed). */
static int gz_start(sw_http_response_t *r)
{
    struct sw__gz_s *g = sw__calloc(1, sizeof(*g));
    if (!g) {
        return SW_ENOMEM;
    }
    if (z_init(&g->zs, r->gzip_level) < 0) {
        sw__free(g);
        return SW_ENOMEM;
    }
    r->gz = g;
    return 0;
}

/* Compresses `len` bytes onto `b`, ending with `flush` (Z_SYNC_FLUSH: everything so far is
 * output; Z_FINISH: the stream is complete). 0, SW_ENOMEM or SW_EIO (zlib refused: a bug). */
static int gz_deflate(z_stream *zs, sw_buffer_t *b, const void *data, size_t len, int flush)
{
    const unsigned char *in = data;
    size_t left = len;
    for (;;) {
        size_t step = left < GZ_SLICE ? left : GZ_SLICE;
        bool last = step == left;
        int f = last ? flush : Z_NO_FLUSH;
        zs->next_in = (Bytef *)(uintptr_t)in;
        zs->avail_in = (uInt)step;
        for (;;) {
            /* Enough for incompressible input in stored blocks (5 bytes per block of at most
             * 64 KiB) plus a flush marker or the trailer; when not (output held from earlier
             * input), the loop goes round with more room. */
            size_t room = (size_t)zs->avail_in + zs->avail_in / 1024 + 64;
            char *p;
            if (sw_buffer_reserve(b, room, &p) < 0) {
                return SW_ENOMEM;
            }
            zs->next_out = (Bytef *)p;
            zs->avail_out = (uInt)room;
            int z = deflate(zs, f);
            (void)sw_buffer_commit(b, room - zs->avail_out);
            if (z == Z_STREAM_ERROR) {
                return SW_EIO;
            }
            if (f == Z_FINISH) {
                if (z == Z_STREAM_END) {
                    break;
                }
                if (zs->avail_out != 0) {
                    return SW_EIO; /* no progress with room to spare: cannot happen */
                }
                continue;
            }
            if (zs->avail_in == 0 && zs->avail_out != 0) {
                break; /* all input taken, and the flush (if any) fitted */
            }
        }
        in += step;
        left -= step;
        if (last) {
            return 0;
        }
    }
}

/* Appends the compressed `len` bytes to `b` framed for the response: one chunk (none when
 * deflate produced nothing), and after Z_FINISH the last chunk; raw bytes for a body ended by
 * closing the connection. */
static int gz_put(sw_http_response_t *r, sw_buffer_t *b, const void *data, size_t len, int flush)
{
    size_t at = b->length;
    size_t gap = r->chunked ? CHUNK_LINE_MAX : 0;
    char *p;
    if (gap && (sw_buffer_reserve(b, gap, &p) < 0 || sw_buffer_commit(b, gap) < 0)) {
        return SW_ENOMEM;
    }
    int rc = gz_deflate(&r->gz->zs, b, data, len, flush);
    if (rc < 0 || !gap) {
        return rc;
    }
    /* The size is known now: the line goes where the gap was (the data moves down). */
    size_t n = b->length - at - gap;
    char line[CHUNK_LINE_MAX + 1];
    int k = n ? snprintf(line, sizeof(line), "%zx\r\n", n) : 0;
    (void)sw_buffer_substr(b, at, gap - (size_t)k, NULL, true);
    if (n) {
        (void)sw_buffer_write(b, at, line, (size_t)k);
        if (sw_buffer_append(b, "\r\n", 2) < 0) {
            return SW_ENOMEM;
        }
    }
    if (flush == Z_FINISH && sw_buffer_append(b, "0\r\n\r\n", 5) < 0) {
        return SW_ENOMEM;
    }
    return 0;
}

/* The stream is broken (its output lost): free it, remember why, and have the connection
 * closed after this response, whose body the client cannot finish decoding. */
static void gz_break(sw_http_response_t *r, int rc)
{
    (void)deflateEnd(&r->gz->zs);
    r->gz->err = rc;
    r->keep_alive = false;
    if (r->conn) {
        r->conn->dead = true;
    }
}

/* A write() (or with `last`, the end()) of a gzip-encoded streamed body: the head first when
 * `with_head`, then the compressed bytes, in one emit. */
static int gz_send(sw_http_response_t *r, bool with_head, const void *data, size_t len, bool last)
{
    if (r->gz->err) {
        return r->gz->err;
    }
    if (!with_head && !last && len == 0) {
        return 0;
    }
    sw_buffer_t local;
    sw_buffer_t *b = scratch_get(r->w, &local);
    int rc = 0;
    if (with_head) {
        rc = build_head(r, -1, GZ_LINES, b);
        r->head_sent = true;
    }
    if (rc == 0 && (len > 0 || last)) {
        rc = gz_put(r, b, data, len, last ? Z_FINISH : Z_SYNC_FLUSH);
    }
    if (rc == 0) {
        rc = emit(r, b->str, b->length);
    }
    scratch_put(r->w, b);
    if (rc < 0) {
        gz_break(r, rc);
    }
    return rc;
}
#endif

int sw_http_response_write(sw_http_response_t *resp, const void *data, size_t len)
{
    if (!resp || (!data && len)) {
        return SW_EINVAL;
    }
    if (resp->ended) {
        return SW_ESERVER_STATE;
    }
    if (!resp->conn) {
        return SW_ESESSION;
    }
    int rc;
    if (!resp->head_sent) {
        if (resp->http10) {
            resp->until_close = true;
            resp->keep_alive = false;
            resp->conn->dead = true;
        } else {
            resp->chunked = true;
        }
        const char *extra = NULL;
        if (gz_wanted(resp)) {
            if (resp->no_body) {
                extra = GZ_LINES; /* HEAD: the head GET gets, no stream */
            }
#ifdef SW_HAVE_ZLIB
            else if (gz_start(resp) == 0) {
                return gz_send(resp, true, data, len, false);
            }
#endif
        }
        if ((rc = send_head(resp, -1, extra)) < 0) {
            return rc;
        }
    }
#ifdef SW_HAVE_ZLIB
    if (resp->gz) {
        return gz_send(resp, false, data, len, false);
    }
#endif
    if (len == 0 || resp->no_body || !body_allowed(resp->status)) {
        return 0;
    }
    if (resp->chunked) {
        char sz[24];
        int n = snprintf(sz, sizeof(sz), "%zx\r\n", len);
        if ((rc = emit(resp, sz, (size_t)n)) < 0 || (rc = emit(resp, data, len)) < 0) {
            return rc;
        }
        return emit(resp, "\r\n", 2);
    }
    return emit(resp, data, len);
}

#ifdef SW_HAVE_ZLIB
/* gzip (RFC 1952) of `len` bytes at `level`; *out is sw__malloc'd. */
static int gzip_body(const void *data, size_t len, int level, char **out, size_t *out_len)
{
    z_stream zs;
    if (z_init(&zs, level) < 0) {
        return SW_ENOMEM;
    }
    size_t cap = deflateBound(&zs, (uLong)len);
    char *buf = sw__malloc(cap);
    if (!buf) {
        deflateEnd(&zs);
        return SW_ENOMEM;
    }
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)buf;
    zs.avail_out = (uInt)cap;
    int z = deflate(&zs, Z_FINISH);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    if (z != Z_STREAM_END) {
        sw__free(buf);
        return SW_ENOMEM;
    }
    *out = buf;
    return 0;
}
#endif

int sw_http_response_end(sw_http_response_t *resp, const void *data, size_t len)
{
    if (!resp || (!data && len)) {
        return SW_EINVAL;
    }
    if (resp->ended) {
        return SW_ESERVER_STATE;
    }
    if (!resp->conn) {
        finish(resp);
        return SW_ESESSION;
    }
    int rc = 0;
#ifdef SW_HAVE_ZLIB
    if (resp->gz) {
        rc = gz_send(resp, false, data, len, true);
        finish(resp);
        return rc;
    }
#endif
    if (resp->head_sent) {
        rc = sw_http_response_write(resp, data, len);
        if (rc == 0 && resp->chunked && !resp->no_body && body_allowed(resp->status)) {
            rc = emit(resp, "0\r\n\r\n", 5);
        }
        finish(resp);
        return rc;
    }
    bool allowed = body_allowed(resp->status);
    char *z = NULL;
    const char *extra = NULL;
#ifdef SW_HAVE_ZLIB
    size_t zlen = 0;
    if (len > 0 && len >= resp->hs->compression_min_length && gz_wanted(resp)) {
        rc = gzip_body(data, len, resp->gzip_level, &z, &zlen);
        if (rc == 0) {
            data = z;
            len = zlen;
            extra = GZ_LINES;
        }
    }
#endif
    /* Head and body leave in one sw_server_send (one IPC message in PROCESS and THREAD
     * modes) when the body is small enough to copy; a larger body is sent from the caller's
     * bytes after the head. */
    sw__hworker_t *w = resp->w;
    sw_buffer_t local;
    sw_buffer_t *b = scratch_get(w, &local);
    rc = build_head(resp, allowed ? (long long)len : -1, extra, b);
    resp->head_sent = true;
    bool body = allowed && !resp->no_body && len > 0;
    if (rc == 0 && body && len <= SW__HTTPD_COALESCE_MAX) {
        rc = sw_buffer_append(b, data, len) < 0 ? SW_ENOMEM : 0;
        body = false;
    }
    if (rc == 0) {
        rc = emit(resp, b->str, b->length);
    }
    scratch_put(w, b);
    if (rc == 0 && body) {
        rc = emit(resp, data, len);
    }
    sw__free(z);
    finish(resp);
    return rc;
}

int sw_http_response_sendfile(sw_http_response_t *resp, const char *path, uint64_t offset,
                              uint64_t length)
{
    if (!resp || !path) {
        return SW_EINVAL;
    }
    if (resp->ended) {
        return SW_ESERVER_STATE;
    }
    int rc = 0;
    if (resp->head_sent) {
        rc = SW_ESERVER_STATE;
        goto done;
    }
    if (!resp->conn) {
        rc = SW_ESESSION;
        goto done;
    }
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        rc = SW_ENOENT;
        if (fd >= 0) {
            close(fd);
        }
        goto done;
    }
    close(fd);
    if (S_ISDIR(st.st_mode)) {
        rc = SW_EISDIR;
        goto done;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (offset > size || (length && length > size - offset)) {
        rc = SW_EINVAL;
        goto done;
    }
    if (!length) {
        length = size - offset;
    }
    rc = send_head(resp, (long long)length, NULL);
    if (rc == 0 && length > 0 && !resp->no_body && body_allowed(resp->status)) {
        /* A temporary file of the request (an upload, a body in pieces) is given to the send:
         * removed once opened by whoever sends it, not when on_request returns (the send may
         * open it later, in another process). */
        bool give = resp->req && sw__httpd_request_give_file(resp->req, path);
        if (resp->conn->live == resp) {
            rc = sw__server_sendfile(resp->hs->srv, resp->session, path, offset, length, give);
        } else if (!(resp->file = sw__strdup(path))) {
            rc = SW_ENOMEM;
            if (give) {
                (void)unlink(path);
            }
        } else {
            resp->file_off = offset;
            resp->file_len = length;
            resp->file_given = give;
        }
    }
done:
    finish(resp);
    return rc;
}

int sw_http_response_redirect(sw_http_response_t *resp, const char *location, int status)
{
    if (!resp || !location) {
        return SW_EINVAL;
    }
    if (status == 0) {
        status = 302;
    }
    int rc;
    if (status < 300 || status > 399 || (rc = sw_http_response_status(resp, status, NULL)) < 0 ||
        (rc = sw_http_response_header(resp, "Location", location)) < 0) {
        finish(resp);
        return SW_EINVAL;
    }
    return sw_http_response_end(resp, NULL, 0);
}

void sw__httpd_response_drop(sw_http_response_t *r)
{
    if (r->ended) {
        return;
    }
    r->keep_alive = true; /* nothing is sent, so nothing closes the connection either */
    r->head_sent = true;
    finish(r);
}

void sw__httpd_answer_error(sw_http_server_t *hs, sw__hconn_t *c, int status)
{
    sw_http_response_t *r = sw__httpd_response_new(hs, c, NULL);
    c->dead = true;
    if (!r) {
        (void)sw_server_close(hs->srv, c->session, 1);
        return;
    }
    r->status = status;
    const char *reason = sw_http_status_reason(status);
    char body[96];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, reason ? reason : "Error");
    (void)add_line(r, "Content-Type", "text/plain");
    (void)sw_http_response_end(r, body, (size_t)n);
}
