/*
 * Requests that arrive in pieces (http_piece_size; swoole/protocol.h "HTTP framing: pieces",
 * server/framing.h SW__MSG_*): the worker parses the head from the first piece, then decodes
 * the body as each piece arrives (sw_http_parser_body: chunked bodies too, cut anywhere) and
 * hands it on at once, so that no process holds the request whole:
 *   - multipart/form-data (with http_parse_post): the streaming multipart parser, fields
 *     into the form, files into their temporary files (as for a whole request);
 *   - anything else: a temporary file under upload_tmp_dir ("swoole.body.XXXXXX"), mapped
 *     read-only when the request is complete (sw_http_request_body) and named by
 *     sw_http_request_body_file; an urlencoded body is then parsed from the mapping.
 * When the last piece has completed the request, it is run like a whole one (static files,
 * on_request) and freed with its files. The answers are those of a whole request: a body
 * that is still incomplete at the last piece was cut at package_max_length (413), a parser
 * error its status, a file that cannot be written 500. After an error answer the connection
 * is dead (server.c drops its later pieces) and closes.
 *
 * The request object is allocated per connection (several connections may be in the middle
 * of one at once); its `buf` holds the head only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "httpd/httpd_int.h"
#include "server/framing.h"
#include "swoole/error.h"

void sw__httpd_stream_drop(sw__hconn_t *c)
{
    sw_http_request_t *req = c->partial;
    c->partial = NULL;
    if (req) {
        sw_server_t *srv = req->hs->srv;
        sw__httpd_request_clear(req);
        sw__free(req);
        sw__server_hold(srv, -1);
    }
}

static void fail(sw_http_server_t *hs, sw__hconn_t *c, int status)
{
    sw__httpd_stream_drop(c);
    sw__httpd_answer_error(hs, c, status > 0 ? status : (status == SW_ENOMEM ? 503 : 500));
}

/* The body file: created at the first body byte that is not multipart, without a name where
 * the system allows it (named when complete: a worker killed mid-request leaves nothing). */
static int body_open(sw_http_request_t *req)
{
    const char *dir = req->hs->upload_tmp_dir;
    size_t n = strlen(dir) + 32;
    req->body_path = sw__malloc(n);
    if (!req->body_path) {
        return SW_ENOMEM;
    }
    int f = SW_FAULT("httpd_body_open", SW_EACCES);
    int fd = f < 0 ? f : sw__httpd_tmp_open(dir, "body", req->body_path, n);
    if (fd < 0) {
        sw__free(req->body_path);
        req->body_path = NULL;
        return 500;
    }
    if (fd == 0) {
        /* body_fd 0 means "none" in the zeroed request: keep the file on another number. */
        int d = dup(fd);
        close(fd);
        if (d < 0) {
            if (req->body_path[0]) {
                (void)unlink(req->body_path);
            }
            sw__free(req->body_path);
            req->body_path = NULL;
            return 500;
        }
        fd = d;
    }
    req->body_fd = fd;
    return 0;
}

static int body_write(sw_http_request_t *req, const char *data, size_t len)
{
    if (!req->body_path) {
        int st = body_open(req);
        if (st != 0) {
            return st;
        }
    }
    while (len > 0) {
        int f = SW_FAULT("httpd_body_write", SW_ENOSPC);
        ssize_t n = f < 0 ? (errno = -f, -1) : write(req->body_fd, data, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return 500;
        }
        data += n;
        len -= (size_t)n;
        req->body_size += (uint64_t)n;
    }
    return 0;
}

/* Bytes the body parser may leave unconsumed between pieces (a chunk-size line or a trailer
 * line cut by a piece's end): the parser's chunk line limit and a head's worth of trailers. */
#define CARRY_MAX (65536u + 1024u)

/* Decodes body bytes of the current piece and hands them on. Sets *done when the request's
 * last byte was in them. Bytes the parser cannot use yet (a line cut in two) are kept in
 * req->carry and fed again in front of the next piece. Returns 0 or the status to answer. */
static int feed(sw_http_request_t *req, const char *data, size_t len, bool *done)
{
    bool carried = req->carry.length > req->carry.offset;
    if (carried) {
        if (sw_buffer_append(&req->carry, data, len) < 0) {
            return SW_ENOMEM;
        }
        data = req->carry.str + req->carry.offset;
        len = req->carry.length - req->carry.offset;
    }
    size_t used = 0;
    int st = 0;
    while (used < len) {
        sw_http_piece_t pc;
        int r = sw_http_parser_body(&req->p, data + used, len - used, &pc);
        if (r < 0) {
            return sw__httpd_status_of(r);
        }
        if (pc.data_len > 0) {
            const char *d = data + used + pc.data_off;
            st = req->mp ? sw__httpd_mp_feed(req->mp, d, pc.data_len)
                         : body_write(req, d, pc.data_len);
            if (st != 0) {
                return st;
            }
        }
        used += pc.consumed;
        if (r == SW_HTTP_MESSAGE_DONE) {
            /* The framer ends a request exactly where the parser does. */
            *done = true;
            return used == len ? 0 : 400;
        }
        if (pc.consumed == 0 && pc.data_len == 0) {
            break; /* a line cut by the piece's end: wait for the next piece */
        }
    }
    if (carried) {
        (void)sw_buffer_consume(&req->carry, used);
        sw_buffer_recycle(&req->carry);
    } else if (used < len && sw_buffer_append(&req->carry, data + used, len - used) < 0) {
        return SW_ENOMEM;
    }
    return req->carry.length - req->carry.offset > CARRY_MAX ? 400 : 0;
}

/* The request is complete: close what was written, map the body, parse an urlencoded form,
 * and run it. */
static void complete(sw_http_server_t *hs, sw__hconn_t *c)
{
    sw_http_request_t *req = c->partial;
    int st = 0;
    if (req->mp) {
        st = sw__httpd_mp_finish(req->mp);
        sw__free(req->mp);
        req->mp = NULL;
    } else if (req->body_path) {
        /* The whole body is there: the file gets its name now. */
        size_t n = strlen(hs->upload_tmp_dir) + 32;
        if (sw__httpd_tmp_name(req->body_fd, hs->upload_tmp_dir, "body", req->body_path, n) < 0) {
            st = 500;
        }
        if (st == 0 && req->body_size > 0) {
            int f = SW_FAULT("httpd_body_mmap", SW_ENOMEM);
            void *m =
                f < 0 ? MAP_FAILED
                      : mmap(NULL, (size_t)req->body_size, PROT_READ, MAP_SHARED, req->body_fd, 0);
            if (m == MAP_FAILED) {
                st = 500;
            } else {
                req->body_map = m;
            }
        }
        close(req->body_fd);
        req->body_fd = 0;
        /* A form is decoded into memory: only up to SW__HTTPD_FORM_MAX (curl labels every
         * --data-binary upload as a form; a 1 GB file is not parsed as one). */
        if (st == 0 && req->body_map && hs->parse_post && req->body_size <= SW__HTTPD_FORM_MAX &&
            sw__httpd_body_kind(req) == SW__HBODY_URLENCODED) {
            st = sw__httpd_request_urlencoded(req, req->body_map, (size_t)req->body_size);
        }
    }
    if (st != 0) {
        fail(hs, c, st);
        return;
    }
    c->partial = NULL;
    sw__httpd_run(hs, c, req);
    sw__server_hold(hs->srv, -1); /* after the request ran: max_request may stop us now */
}

void sw__httpd_stream_begin(sw_http_server_t *hs, sw__hconn_t *c, const char *data, size_t len)
{
    sw__httpd_stream_drop(c); /* cannot be set: a first piece follows a complete request */
    sw_http_request_t *req = sw__calloc(1, sizeof(*req));
    if (!req) {
        sw__httpd_answer_error(hs, c, 503);
        return;
    }
    c->partial = req;
    sw__server_hold(hs->srv, 1);
    req->hs = hs;
    req->conn = c;
    req->streamed = true;
    req->buf = sw__malloc(len ? len : 1);
    if (!req->buf) {
        fail(hs, c, SW_ENOMEM);
        return;
    }
    req->buf_owned = true;
    memcpy(req->buf, data, len);
    sw_http_parser_options_t o;
    sw_http_parser_options_init(&o);
    o.max_head = 0x7fffffff; /* the framer enforced http_max_header_size */
    if (sw_http_parser_init(&req->p, SW_HTTP_REQUEST, &o, req->fields, SW__HTTPD_FIELDS) < 0) {
        fail(hs, c, 500);
        return;
    }
    int r = sw_http_parser_execute(&req->p, req->buf, len);
    if (r != SW_HTTP_HEAD_DONE) {
        /* The framer cuts pieces only after a head the parser accepted. */
        fail(hs, c, r < 0 ? sw__httpd_status_of(r) : 400);
        return;
    }
    size_t h = req->p.head_len;
    req->len = h;
    int st = sw__httpd_request_head(req);
    if (st == 0 && hs->parse_post && sw__httpd_body_kind(req) == SW__HBODY_MULTIPART) {
        req->mp = sw__calloc(1, sizeof(*req->mp));
        st = req->mp ? sw__httpd_request_multipart_open(req, req->mp) : SW_ENOMEM;
    }
    bool done = false;
    if (st == 0) {
        /* The body bytes of the first piece: the parser reads them where they are (it never
         * writes in streaming mode), then the copy is cut back to the head. */
        st = feed(req, req->buf + h, len - h, &done);
    }
    if (st == 0 && done) {
        st = 400; /* a first piece never ends its request */
    }
    if (st != 0) {
        fail(hs, c, st);
        return;
    }
    char *head = sw__realloc(req->buf, h ? h : 1);
    if (head) {
        req->buf = head;
    }
}

void sw__httpd_stream_feed(sw_http_server_t *hs, sw__hconn_t *c, const char *data, size_t len,
                           bool last)
{
    sw_http_request_t *req = c->partial;
    bool done = false;
    int st = feed(req, data, len, &done);
    if (st == 0 && done != last) {
        /* The last piece did not complete the body: it was cut at package_max_length. A body
         * complete before the last piece cannot happen (the framer ends it there). */
        st = last ? 413 : 400;
    }
    if (st != 0) {
        fail(hs, c, st);
        return;
    }
    if (done) {
        complete(hs, c);
    }
}
