/*
 * One framed message to a sw_http_request_t, and the request accessors.
 *
 * The message is copied (the server's bytes are read-only, and chunked bodies are decoded in
 * place) and parsed with the strict parser. The framer delivers either one whole request or
 * a request it could not frame (swoole/protocol.h, "HTTP framing"); the parse tells which,
 * and how to answer: an incomplete head was too large (431), an incomplete body was over
 * package_max_length (413), a parser error maps to its status (status_of).
 *
 * Forms: the query string and urlencoded bodies are decoded from copies (the raw body stays
 * as received); multipart bodies are parsed with the streaming parser, fields into `form`,
 * files straight into temporary files (mkstemp under upload_tmp_dir) that
 * sw__httpd_request_clear removes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "httpd/httpd_int.h"
#include "swoole/error.h"

int sw__httpd_status_of(int err)
{
    switch (err) {
    case SW_EHTTP_HEAD_TOO_LARGE:
    case SW_EHTTP_TOO_MANY_HEADERS:
        return 431;
    case SW_EHTTP_LINE_TOO_LONG:
        return 414;
    case SW_EHTTP_TRANSFER_ENCODING:
        return 501;
    case SW_EHTTP_VERSION:
        return 505;
    case SW_EHTTP_BODY_TOO_LARGE:
        return 413;
    case SW_ENOMEM:
        return SW_ENOMEM;
    default:
        return 400;
    }
}

static const char *header(const sw_http_request_t *req, const char *name, size_t *len, size_t start,
                          size_t count)
{
    int i = sw_http_header_find(req->buf, req->fields, count, name, strlen(name), start);
    if (i < 0) {
        return NULL;
    }
    if (len) {
        *len = req->fields[i].value.len;
    }
    return req->buf + req->fields[i].value.off;
}

static int add_field(sw_http_request_t *req, const char *k, size_t klen)
{
    if (req->npost == SW__HTTPD_MAX_ARGS) {
        return SW_EHTTP_LIMIT;
    }
    if (req->npost == req->post_cap) {
        int cap = req->post_cap ? req->post_cap * 2 : 16;
        sw__hfield_t *f = sw__realloc(req->post, (size_t)cap * sizeof(*f));
        if (!f) {
            return SW_ENOMEM;
        }
        req->post = f;
        req->post_cap = cap;
    }
    sw__hfield_t *f = &req->post[req->npost++];
    f->koff = req->form.length;
    f->klen = klen;
    if (sw_buffer_append(&req->form, k, klen) < 0) {
        return SW_ENOMEM;
    }
    f->voff = req->form.length;
    f->vlen = 0;
    return 0;
}

static int parse_urlencoded(sw_http_request_t *req, const char *body, size_t len)
{
    char *copy = sw__malloc(len + 1);
    sw_http_kv_t *kv = sw__malloc(SW__HTTPD_MAX_ARGS * sizeof(*kv));
    int rc = 0;
    if (!copy || !kv) {
        rc = SW_ENOMEM;
        goto out;
    }
    memcpy(copy, body, len);
    int n = sw_http_form_parse(copy, len, kv, SW__HTTPD_MAX_ARGS);
    if (n < 0) {
        rc = n;
        goto out;
    }
    for (int i = 0; i < n && rc == 0; i++) {
        rc = add_field(req, copy + kv[i].key.off, kv[i].key.len);
        if (rc == 0) {
            req->post[req->npost - 1].vlen = kv[i].value.len;
            rc = sw_buffer_append(&req->form, copy + kv[i].value.off, kv[i].value.len) < 0
                     ? SW_ENOMEM
                     : 0;
        }
    }
out:
    sw__free(copy);
    sw__free(kv);
    return rc;
}

/* ---- multipart ---------------------------------------------------------------------------- */

static char *dupn(const char *s, size_t n)
{
    char *d = sw__malloc(n + 1);
    if (d) {
        memcpy(d, s ? s : "", s ? n : 0);
        d[s ? n : 0] = '\0';
    }
    return d;
}

static int mp_begin(sw_http_multipart_t *mp, const sw_http_part_t *part, void *arg)
{
    (void)mp;
    sw__hmp_t *x = arg;
    sw_http_request_t *req = x->req;
    x->file = NULL;
    x->field = false;
    if (!part->name) {
        return 0; /* a part without a name is not a form field: skipped */
    }
    if (!part->filename) {
        x->field = true;
        return add_field(req, part->name, part->name_len);
    }
    if (!req->hs->parse_files) {
        return 0;
    }
    if (req->nfiles == req->files_cap) {
        int cap = req->files_cap ? req->files_cap * 2 : 4;
        sw__hupload_t *f = sw__realloc(req->files, (size_t)cap * sizeof(*f));
        if (!f) {
            return SW_ENOMEM;
        }
        req->files = f;
        req->files_cap = cap;
    }
    sw__hupload_t *u = &req->files[req->nfiles];
    memset(u, 0, sizeof(*u));
    u->fd = -1;
    size_t dl = strlen(req->hs->upload_tmp_dir);
    u->tmp_name = sw__malloc(dl + 32);
    u->field = dupn(part->name, part->name_len);
    u->name = dupn(part->filename, part->filename_len);
    u->type = dupn(part->content_type, part->content_type_len);
    req->nfiles++; /* counted now so that clear() frees what was allocated */
    if (!u->tmp_name || !u->field || !u->name || !u->type) {
        return SW_ENOMEM;
    }
    int f = SW_FAULT("open", SW_EACCES);
    u->fd = f < 0 ? f : sw__httpd_tmp_open(req->hs->upload_tmp_dir, "upfile", u->tmp_name, dl + 32);
    if (u->fd < 0) {
        int e = u->fd;
        u->fd = -1;
        u->tmp_name[0] = '\0';
        req->error_status = 500; /* the server's fault, not the request's */
        return e;
    }
    x->file = u;
    return 0;
}

static int mp_data(sw_http_multipart_t *mp, const char *data, size_t len, void *arg)
{
    (void)mp;
    sw__hmp_t *x = arg;
    sw_http_request_t *req = x->req;
    if (x->file) {
        sw__hupload_t *u = x->file;
        if (u->size + len > x->max_file) {
            req->error_status = 413;
            return SW_EHTTP_LIMIT;
        }
        while (len > 0) {
            ssize_t n = write(u->fd, data, len);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                req->error_status = 500;
                return -errno;
            }
            data += n;
            len -= (size_t)n;
            u->size += (uint64_t)n;
        }
        return 0;
    }
    if (!x->field) {
        return 0; /* data of a skipped part */
    }
    req->post[req->npost - 1].vlen += len;
    return sw_buffer_append(&req->form, data, len) < 0 ? SW_ENOMEM : 0;
}

static int mp_end(sw_http_multipart_t *mp, void *arg)
{
    (void)mp;
    sw__hmp_t *x = arg;
    int rc = 0;
    if (x->file && x->file->fd >= 0) {
        /* The whole file is there: it gets its name now (sw__httpd_tmp_open). */
        rc = sw__httpd_tmp_name(x->file->fd, x->req->hs->upload_tmp_dir, "upfile",
                                x->file->tmp_name, strlen(x->req->hs->upload_tmp_dir) + 32);
        close(x->file->fd);
        x->file->fd = -1;
        if (rc < 0) {
            x->req->error_status = 500;
        }
    }
    x->file = NULL;
    x->field = false;
    return rc;
}

/* ---- temporary files ---------------------------------------------------------------------- */

/* Whether O_TMPFILE files can be named later here: linkat through /proc/self/fd (absent in a
 * chroot without /proc). */
static bool can_link_later(void)
{
    return access("/proc/self/fd", X_OK) == 0;
}

int sw__httpd_tmp_open(const char *dir, const char *kind, char *name, size_t cap)
{
#ifdef O_TMPFILE
    if (can_link_later()) {
        int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0) {
            name[0] = '\0';
            return fd;
        }
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
            return -errno;
        }
        /* The file system has no O_TMPFILE: a named file from the start. */
    }
#endif
    if ((size_t)snprintf(name, cap, "%s/swoole.%s.XXXXXX", dir, kind) >= cap) {
        return SW_ENAMETOOLONG;
    }
    int fd = mkostemp(name, O_CLOEXEC);
    if (fd < 0) {
        name[0] = '\0';
        return -errno;
    }
    return fd;
}

int sw__httpd_tmp_name(int fd, const char *dir, const char *kind, char *name, size_t cap)
{
    if (name[0]) {
        return 0; /* named when made (no O_TMPFILE) */
    }
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    /* A fresh name, as mkstemp makes them: six characters from a mixed counter, tried until
     * one is free (linkat never replaces a file). */
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static _Atomic uint64_t seq;
    for (int tries = 0; tries < 100; tries++) {
        uint64_t v = (atomic_fetch_add(&seq, 1) + 1) * 0x9e3779b97f4a7c15ull ^
                     (uint64_t)getpid() << 20 ^ (uint64_t)(uintptr_t)name;
        char suffix[7];
        for (int i = 0; i < 6; i++) {
            suffix[i] = set[v % 62];
            v /= 62;
        }
        suffix[6] = '\0';
        if ((size_t)snprintf(name, cap, "%s/swoole.%s.%s", dir, kind, suffix) >= cap) {
            name[0] = '\0';
            return SW_ENAMETOOLONG;
        }
        int f = SW_FAULT("httpd_tmp_link", SW_EACCES);
        if (f == 0 && linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0) {
            return 0;
        }
        int e = f < 0 ? f : -errno;
        if (e != SW_EEXIST) {
            name[0] = '\0';
            return e;
        }
    }
    name[0] = '\0';
    return SW_EEXIST;
}

int sw__httpd_mp_open(sw__hmp_t *m, sw_http_request_t *req, const char *ctype, size_t clen)
{
    const char *b;
    size_t blen;
    memset(m, 0, sizeof(*m));
    if (sw_http_multipart_boundary(ctype, clen, &b, &blen) < 0) {
        return 400;
    }
    m->req = req;
    m->max_file = req->hs->upload_max_filesize ? req->hs->upload_max_filesize : UINT64_MAX;
    sw_http_multipart_callbacks_t cb = {mp_begin, mp_data, mp_end};
    int r = sw_http_multipart_init(&m->mp, b, blen, NULL, &cb, m);
    if (r < 0) {
        return r == SW_ENOMEM ? SW_ENOMEM : 400;
    }
    m->open = true;
    return 0;
}

/* The answer to a multipart parser result r < 0. */
static int mp_status(const sw__hmp_t *m, int r)
{
    if (m->req->error_status) {
        return m->req->error_status;
    }
    return r == SW_ENOMEM ? SW_ENOMEM : (r == SW_EHTTP_LIMIT ? 413 : 400);
}

int sw__httpd_mp_feed(sw__hmp_t *m, const char *data, size_t len)
{
    int r = sw_http_multipart_execute(&m->mp, data, len);
    return r < 0 ? mp_status(m, r) : 0;
}

void sw__httpd_mp_close(sw__hmp_t *m)
{
    if (m->open) {
        sw_http_multipart_close(&m->mp);
        m->open = false;
    }
    if (m->file && m->file->fd >= 0) {
        close(m->file->fd);
        m->file->fd = -1;
    }
    m->file = NULL;
}

int sw__httpd_mp_finish(sw__hmp_t *m)
{
    int r = sw_http_multipart_finish(&m->mp);
    int st = r == SW_HTTP_MESSAGE_DONE ? 0 : mp_status(m, r < 0 ? r : SW_EHTTP_MULTIPART);
    sw__httpd_mp_close(m);
    return st;
}

static int parse_multipart(sw_http_request_t *req, const char *body, size_t len)
{
    sw__hmp_t m;
    int st = sw__httpd_request_multipart_open(req, &m);
    if (st == 0) {
        st = sw__httpd_mp_feed(&m, body, len);
    }
    if (st == 0) {
        return sw__httpd_mp_finish(&m);
    }
    sw__httpd_mp_close(&m);
    return st;
}

/* ---- parse -------------------------------------------------------------------------------- */

static int parse_target(sw_http_request_t *req)
{
    const char *t = req->buf + req->p.target.off;
    if (sw_http_url_parse(t, req->p.target.len, SW_HTTP_URL_ANY, &req->url) < 0) {
        return 400;
    }
    size_t plen = req->url.path.len;
    req->path = plen + 2 <= sizeof(req->path_inline) ? req->path_inline : sw__malloc(plen + 2);
    if (!req->path) {
        return SW_ENOMEM;
    }
    int n = sw_http_url_decode(t + req->url.path.off, plen, req->path, plen + 1,
                               SW_HTTP_DECODE_REJECT_NUL);
    if (n < 0) {
        return 400;
    }
    if (n == 0) {
        req->path[n++] = '/'; /* absolute-form without a path: "/" */
    }
    req->path[n] = '\0';
    req->path_len = (size_t)n;
    if (req->url.query.len > 0) {
        size_t qlen = req->url.query.len;
        req->qbuf = sw__malloc(qlen + 1);
        req->args = sw__malloc(SW__HTTPD_MAX_ARGS * sizeof(*req->args));
        if (!req->qbuf || !req->args) {
            return SW_ENOMEM;
        }
        memcpy(req->qbuf, t + req->url.query.off, qlen);
        int k = sw_http_form_parse(req->qbuf, qlen, req->args, SW__HTTPD_MAX_ARGS);
        if (k < 0) {
            return 400;
        }
        req->nargs = k;
    }
    return 0;
}

static void parse_cookies(sw_http_request_t *req)
{
    size_t start = 0;
    for (;;) {
        int i = sw_http_header_find(req->buf, req->fields, req->p.num_headers, "cookie", 6, start);
        if (i < 0 || req->ncookies == SW__HTTPD_MAX_COOKIE) {
            return;
        }
        const char *v = req->buf + req->fields[i].value.off;
        int n = sw_http_cookie_parse(v, req->fields[i].value.len, req->cookies + req->ncookies,
                                     (size_t)(SW__HTTPD_MAX_COOKIE - req->ncookies));
        for (int k = 0; k < n; k++) {
            req->cookie_base[req->ncookies + k] = v;
        }
        if (n > 0) {
            req->ncookies += n;
        }
        start = (size_t)i + 1;
    }
}

int sw__httpd_request_parse(sw_http_request_t *req, sw_buffer_t *store, const char *data,
                            size_t len)
{
    /* The message is copied: the parser decodes chunked bodies in place, and the server's
     * bytes may go away if on_request closes the connection while it still reads the
     * request. Into the worker's reused buffer this is a memcpy, no allocation. */
    char *dst = NULL;
    if (store) {
        sw_buffer_clear(store);
        if (sw_buffer_reserve(store, len + 1, &dst) < 0) {
            dst = NULL;
        }
    }
    if (!dst) {
        dst = sw__malloc(len ? len : 1);
        if (!dst) {
            return SW_ENOMEM;
        }
        req->buf_owned = true;
    }
    req->buf = dst;
    memcpy(req->buf, data, len);
    req->len = len;
    sw_http_parser_options_t o;
    sw_http_parser_options_init(&o);
    o.max_head = 0x7fffffff; /* the framer enforced http_max_header_size */
    if (sw_http_parser_init(&req->p, SW_HTTP_REQUEST, &o, req->fields, SW__HTTPD_FIELDS) < 0) {
        return 500;
    }
    int r = sw_http_parser_execute(&req->p, req->buf, len);
    if (r == SW_HTTP_PARTIAL) {
        return 431; /* the framer delivers an incomplete head only when it is too large */
    }
    if (r == SW_HTTP_HEAD_DONE) {
        if (req->p.flags & SW_HTTP_F_TE_CODINGS) {
            return 501; /* RFC 9112 §6.1: an unknown coding is answered 501 */
        }
        r = sw_http_parser_execute(&req->p, req->buf, len);
        if (r == SW_HTTP_PARTIAL) {
            return 413; /* an incomplete body: over package_max_length */
        }
    }
    if (r < 0) {
        return sw__httpd_status_of(r);
    }
    if (req->p.consumed != len) {
        return 400;
    }
    int rc = sw__httpd_request_head(req);
    if (rc != 0) {
        return rc;
    }
    if (req->p.body_len == 0 || !req->hs->parse_post) {
        return 0;
    }
    const char *body = req->buf + req->p.head_len;
    size_t blen = (size_t)req->p.body_len;
    switch (sw__httpd_body_kind(req)) {
    case SW__HBODY_URLENCODED:
        return sw__httpd_request_urlencoded(req, body, blen);
    case SW__HBODY_MULTIPART:
        return parse_multipart(req, body, blen);
    default:
        return 0;
    }
}

int sw__httpd_request_head(sw_http_request_t *req)
{
    if (req->p.flags & SW_HTTP_F_EXPECT_OTHER) {
        return 417;
    }
    if (req->p.method == SW_HTTP_METHOD_CONNECT) {
        return 405;
    }
    int rc = parse_target(req);
    if (rc != 0) {
        return rc;
    }
    if (req->hs->parse_cookie) {
        parse_cookies(req);
    }
    return 0;
}

int sw__httpd_body_kind(const sw_http_request_t *req)
{
    size_t clen;
    const char *ct = header(req, "content-type", &clen, 0, req->p.num_headers);
    if (!ct) {
        return SW__HBODY_RAW;
    }
    if (clen >= 33 && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) {
        return SW__HBODY_URLENCODED;
    }
    if (clen >= 19 && strncasecmp(ct, "multipart/form-data", 19) == 0) {
        return SW__HBODY_MULTIPART;
    }
    return SW__HBODY_RAW;
}

int sw__httpd_request_multipart_open(sw_http_request_t *req, sw__hmp_t *m)
{
    size_t clen = 0;
    const char *ct = header(req, "content-type", &clen, 0, req->p.num_headers);
    if (!ct) {
        memset(m, 0, sizeof(*m)); /* closable, as after a failed open */
        return 400;
    }
    return sw__httpd_mp_open(m, req, ct, clen);
}

int sw__httpd_request_urlencoded(sw_http_request_t *req, const char *body, size_t blen)
{
    /* A body labelled urlencoded that is not a valid form (binary data: curl's
     * --data-binary sends that label by default) is not an error: the request is handed
     * over with its raw body and without form fields, as Swoole and PHP do. */
    int rc = parse_urlencoded(req, body, blen);
    if (rc < 0 && rc != SW_ENOMEM) {
        req->npost = 0;
        sw_buffer_clear(&req->form);
        rc = 0;
    }
    return rc;
}

void sw__httpd_request_clear(sw_http_request_t *req)
{
    if (req->resp) {
        sw__httpd_response_detach(req->resp); /* the response outlives on_request */
    }
    if (req->mp) {
        sw__httpd_mp_close(req->mp);
        sw__free(req->mp);
    }
    sw_buffer_close(&req->carry);
    if (req->body_map) {
        (void)munmap(req->body_map, (size_t)req->body_size);
    }
    if (req->body_fd > 0) {
        close(req->body_fd);
    }
    if (req->body_path) {
        if (!req->body_given && req->body_path[0]) {
            (void)unlink(req->body_path);
        }
        sw__free(req->body_path);
    }
    for (int i = 0; i < req->nfiles; i++) {
        sw__hupload_t *u = &req->files[i];
        if (u->fd >= 0) {
            close(u->fd);
        }
        if (u->tmp_name && u->tmp_name[0] && !u->given) {
            (void)unlink(u->tmp_name);
        }
        sw__free(u->tmp_name);
        sw__free(u->field);
        sw__free(u->name);
        sw__free(u->type);
    }
    sw__free(req->files);
    sw__free(req->post);
    sw_buffer_close(&req->form);
    sw__free(req->args);
    sw__free(req->qbuf);
    if (req->path != req->path_inline) {
        sw__free(req->path);
    }
    if (req->buf_owned) {
        sw__free(req->buf);
    }
}

bool sw__httpd_request_give_file(sw_http_request_t *req, const char *path)
{
    if (req->body_path && req->body_path[0] && !req->body_given &&
        strcmp(path, req->body_path) == 0) {
        req->body_given = true;
        return true;
    }
    for (int i = 0; i < req->nfiles; i++) {
        sw__hupload_t *u = &req->files[i];
        if (u->tmp_name && u->tmp_name[0] && !u->given && u->fd < 0 &&
            strcmp(path, u->tmp_name) == 0) {
            u->given = true;
            return true;
        }
    }
    return false;
}

/* ---- accessors ---------------------------------------------------------------------------- */

#define OUT_LEN(n)      \
    do {                \
        if (len) {      \
            *len = (n); \
        }               \
    } while (0)

int sw_http_request_method(const sw_http_request_t *req)
{
    return req ? req->p.method : SW_EINVAL;
}

const char *sw_http_request_method_name(const sw_http_request_t *req, size_t *len)
{
    if (!req) {
        return NULL;
    }
    OUT_LEN(req->p.method_str.len);
    return req->buf + req->p.method_str.off;
}

const char *sw_http_request_uri(const sw_http_request_t *req, size_t *len)
{
    if (!req) {
        return NULL;
    }
    OUT_LEN(req->p.target.len);
    return req->buf + req->p.target.off;
}

const char *sw_http_request_path(const sw_http_request_t *req, size_t *len)
{
    if (!req) {
        return NULL;
    }
    OUT_LEN(req->path_len);
    return req->path;
}

const char *sw_http_request_query_string(const sw_http_request_t *req, size_t *len)
{
    if (!req) {
        return NULL;
    }
    OUT_LEN(req->url.query.len);
    return req->url.query.len ? req->buf + req->p.target.off + req->url.query.off : "";
}

int sw_http_request_version(const sw_http_request_t *req)
{
    return req ? 10 + req->p.version_minor : SW_EINVAL;
}

uint64_t sw_http_request_session(const sw_http_request_t *req)
{
    return req ? req->conn->session : 0;
}

const char *sw_http_request_remote_addr(const sw_http_request_t *req, int *port)
{
    if (!req) {
        return NULL;
    }
    sw__httpd_identify(req->hs, req->conn);
    if (port) {
        *port = req->conn->remote_port;
    }
    return req->conn->remote_ip;
}

const char *sw_http_request_header(const sw_http_request_t *req, const char *name, size_t *len)
{
    if (!req || !name) {
        return NULL;
    }
    return header(req, name, len, 0, req->p.num_headers);
}

size_t sw_http_request_header_count(const sw_http_request_t *req)
{
    return req ? req->p.num_headers : 0;
}

int sw_http_request_header_at(const sw_http_request_t *req, size_t i, const char **name,
                              size_t *name_len, const char **value, size_t *value_len)
{
    if (!req || i >= req->p.num_headers) {
        return SW_EINVAL;
    }
    const sw_http_header_t *h = &req->fields[i];
    if (name) {
        *name = req->buf + h->name.off;
    }
    if (name_len) {
        *name_len = h->name.len;
    }
    if (value) {
        *value = req->buf + h->value.off;
    }
    if (value_len) {
        *value_len = h->value.len;
    }
    return 0;
}

const char *sw_http_request_trailer(const sw_http_request_t *req, const char *name, size_t *len)
{
    if (!req || !name) {
        return NULL;
    }
    return header(req, name, len, req->p.num_headers, req->p.num_headers + req->p.num_trailers);
}

static bool key_is(const char *k, size_t klen, const char *key)
{
    return strlen(key) == klen && memcmp(k, key, klen) == 0;
}

const char *sw_http_request_get(const sw_http_request_t *req, const char *key, size_t *len)
{
    if (!req || !key) {
        return NULL;
    }
    for (int i = 0; i < req->nargs; i++) {
        const sw_http_kv_t *a = &req->args[i];
        if (key_is(req->qbuf + a->key.off, a->key.len, key)) {
            OUT_LEN(a->value.len);
            return req->qbuf + a->value.off;
        }
    }
    return NULL;
}

const char *sw_http_request_post(const sw_http_request_t *req, const char *key, size_t *len)
{
    if (!req || !key) {
        return NULL;
    }
    for (int i = 0; i < req->npost; i++) {
        const sw__hfield_t *f = &req->post[i];
        if (key_is(req->form.str + f->koff, f->klen, key)) {
            OUT_LEN(f->vlen);
            return req->form.str + f->voff;
        }
    }
    return NULL;
}

const char *sw_http_request_cookie(const sw_http_request_t *req, const char *name, size_t *len)
{
    if (!req || !name) {
        return NULL;
    }
    for (int i = 0; i < req->ncookies; i++) {
        const sw_http_kv_t *c = &req->cookies[i];
        if (key_is(req->cookie_base[i] + c->key.off, c->key.len, name)) {
            OUT_LEN(c->value.len);
            return req->cookie_base[i] + c->value.off;
        }
    }
    return NULL;
}

const char *sw_http_request_body(const sw_http_request_t *req, size_t *len)
{
    if (req && req->streamed) {
        /* In pieces: the body file mapped (empty or multipart: none). */
        OUT_LEN(req->body_map ? (size_t)req->body_size : 0);
        return req->body_map;
    }
    OUT_LEN(req ? (size_t)req->p.body_len : 0);
    if (!req || req->p.body_len == 0) {
        return NULL;
    }
    return req->buf + req->p.head_len;
}

const char *sw_http_request_body_file(const sw_http_request_t *req, uint64_t *size)
{
    if (size) {
        *size = req && req->body_path ? req->body_size : 0;
    }
    return req ? req->body_path : NULL;
}

size_t sw_http_request_file_count(const sw_http_request_t *req)
{
    return req ? (size_t)req->nfiles : 0;
}

int sw_http_request_file(const sw_http_request_t *req, size_t i, sw_http_upload_t *out)
{
    if (!req || !out || i >= (size_t)req->nfiles) {
        return SW_EINVAL;
    }
    const sw__hupload_t *u = &req->files[i];
    *out = (sw_http_upload_t){u->field, u->name, u->type, u->tmp_name, u->size};
    return 0;
}
