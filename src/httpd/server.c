/*
 * The HTTP server object: options, the callbacks it installs on the sw_server_t, the table of
 * HTTP connections each worker keeps, the once-a-second timer (Date cache is refreshed on use;
 * the timer enforces http_header_timeout and forgets connections the worker was not told
 * about), and the dispatch of one framed request.
 *
 * Connection table: a chained hash keyed by session, grown at load 1. Entries are created at
 * on_connect (or at the first request when the server does not deliver connect events to
 * workers: PROCESS mode with dispatch_mode 1 or 3) and dropped at on_close (or by the timer
 * once sw_server_exists says the session is gone).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "httpd/httpd_int.h"
#include "server/framing.h"
#include "swoole/error.h"

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Per request the loop's cached clock is used (no system call): it is updated once per loop
 * iteration, which is all the precision header_timeout and Date need. */
uint64_t sw__httpd_now_ms(const sw__hworker_t *w)
{
    uint64_t t = w->loop ? sw_loop_now(w->loop) : 0;
    return t ? t : (uint64_t)clock_ms(CLOCK_MONOTONIC);
}

/* "Server: <value>\r\n" built once per option change, so that a head copies one line. */
static int set_server_line(sw_http_server_t *hs)
{
    size_t n = strlen(hs->server_software);
    char *line = NULL;
    if (n) {
        line = sw__malloc(n + 11);
        if (!line) {
            return SW_ENOMEM;
        }
        memcpy(line, "Server: ", 8);
        memcpy(line + 8, hs->server_software, n);
        memcpy(line + 8 + n, "\r\n", 3);
    }
    sw__free(hs->server_line);
    hs->server_line = line;
    hs->server_line_len = n ? n + 10 : 0;
    return 0;
}

int sw_http_server_create(sw_http_server_t **out, sw_server_t *srv)
{
    if (!out || !srv) {
        return SW_EINVAL;
    }
    sw_http_server_t *hs = sw__calloc(1, sizeof(*hs));
    if (!hs) {
        return SW_ENOMEM;
    }
    hs->srv = srv;
    hs->upload_tmp_dir = sw__strdup("/tmp");
    hs->server_software = sw__strdup("libswoole");
    if (!hs->upload_tmp_dir || !hs->server_software) {
        sw__free(hs->upload_tmp_dir);
        sw__free(hs->server_software);
        sw__free(hs);
        return SW_ENOMEM;
    }
#ifdef SW_HAVE_ZLIB
    hs->compression_level = 1;
#endif
    hs->compression_min_length = 20;
    hs->header_timeout = 30;
    hs->parse_cookie = hs->parse_post = hs->parse_files = true;
    if (set_server_line(hs) < 0 || pthread_mutex_init(&hs->lock, NULL) != 0) {
        sw__free(hs->server_line);
        sw__free(hs->upload_tmp_dir);
        sw__free(hs->server_software);
        sw__free(hs);
        return SW_ENOMEM;
    }
    *out = hs;
    return 0;
}

/* Frees a worker's state: its connections (their responses orphaned, then freed), the
 * table, the root. NULL is fine. */
static void worker_free(sw__hworker_t *w)
{
    if (!w) {
        return;
    }
    for (size_t i = 0; i < w->table_cap; i++) {
        while (w->table[i]) {
            sw__hconn_t *c = w->table[i];
            w->table[i] = c->next;
            sw__wsd_conn_gone(w->hs, c, false);
            sw__httpd_stream_drop(c);
            sw__httpd_conn_gone(w, c);
            sw__free(c);
        }
    }
    sw__httpd_free_orphans(w);
    sw__httpd_free_pool(w);
    sw_buffer_close(&w->scratch);
    sw_buffer_close(&w->msg);
    sw__free(w->req);
    sw__free(w->table);
    sw__free(w->root_real);
    sw__free(w);
}

int sw_http_server_destroy(sw_http_server_t *hs)
{
    if (!hs) {
        return SW_EINVAL;
    }
    for (int i = 0; i < hs->nworkers; i++) {
        worker_free(hs->workers[i]);
    }
    sw__free(hs->workers);
    pthread_mutex_destroy(&hs->lock);
    sw__free(hs->upload_tmp_dir);
    sw__free(hs->document_root);
    sw__free(hs->server_software);
    sw__free(hs->server_line);
    sw__free(hs);
    return 0;
}

sw_server_t *sw_http_server_server(const sw_http_server_t *hs)
{
    return hs ? hs->srv : NULL;
}

int sw_http_server_enable_port(sw_http_server_t *hs, sw_port_t *port)
{
    if (!hs || !port) {
        return SW_EINVAL;
    }
    int type = sw_port_type(port);
    if (type != SW_SOCK_TCP && type != SW_SOCK_TCP6 && type != SW_SOCK_UNIX_STREAM) {
        return SW_EINVAL;
    }
    for (int i = 0; i < hs->nports; i++) {
        if (hs->ports[i] == port) {
            return 0;
        }
    }
    if (hs->nports == SW__HTTPD_MAX_PORTS) {
        return SW_EOVERFLOW;
    }
    static const char *const off[] = {"open_eof_split", "open_eof_check", "open_length_check"};
    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
        int r = sw_port_set_option(port, off[i], "0");
        if (r < 0) {
            return r;
        }
    }
    int r = sw_port_set_option(port, "open_http_protocol", "1");
    if (r < 0) {
        return r;
    }
    /* Requests longer than this reach the worker in pieces (stream.c), unless the port
     * already says otherwise. */
    sw_port_options_t po;
    if (sw_port_get_options(port, &po) == 0 && po.protocol.http_piece_size == 0) {
        char v[32];
        snprintf(v, sizeof(v), "%zu", (size_t)SW_HTTP_SERVER_PIECE_SIZE);
        if ((r = sw_port_set_option(port, "http_piece_size", v)) < 0) {
            return r;
        }
    }
    hs->ports[hs->nports++] = port;
    return 0;
}

static int parse_bool(const char *v, bool *out)
{
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0) {
        *out = true;
    } else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0) {
        *out = false;
    } else {
        return SW_EOPTION_VALUE;
    }
    return 0;
}

static int parse_num(const char *v, double lo, double hi, double *out)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !(d >= lo && d <= hi)) {
        return SW_EOPTION_VALUE;
    }
    *out = d;
    return 0;
}

static int set_str(char **slot, const char *v)
{
    char *s = sw__strdup(v);
    if (!s) {
        return SW_ENOMEM;
    }
    sw__free(*slot);
    *slot = s;
    return 0;
}

int sw_http_server_set_option(sw_http_server_t *hs, const char *name, const char *value)
{
    if (!hs || !name || !value) {
        return SW_EINVAL;
    }
    if (sw_server_master_pid(hs->srv) != 0) {
        return SW_ESERVER_STATE;
    }
    double d;
    bool b;
    int r;
    if (strcmp(name, "upload_tmp_dir") == 0) {
        return value[0] ? set_str(&hs->upload_tmp_dir, value) : SW_EOPTION_VALUE;
    }
    if (strcmp(name, "document_root") == 0) {
        return value[0] ? set_str(&hs->document_root, value) : SW_EOPTION_VALUE;
    }
    if (strcmp(name, "http_server_software") == 0) {
        for (const char *s = value; *s; s++) {
            if ((unsigned char)*s < 0x20 || *s == 0x7f) {
                return SW_EOPTION_VALUE;
            }
        }
        char *prev = hs->server_software;
        hs->server_software = NULL;
        if ((r = set_str(&hs->server_software, value)) < 0 || (r = set_server_line(hs)) < 0) {
            sw__free(hs->server_software); /* set_server_line left the old line in place */
            hs->server_software = prev;
            return r;
        }
        sw__free(prev);
        return 0;
    }
    if (strcmp(name, "upload_max_filesize") == 0) {
        if ((r = parse_num(value, 1, 1e18, &d)) < 0) {
            return r;
        }
        hs->upload_max_filesize = (uint64_t)d;
        return 0;
    }
    if (strcmp(name, "http_compression_level") == 0) {
        if ((r = parse_num(value, 1, 9, &d)) < 0 || d != (int)d) {
            return SW_EOPTION_VALUE;
        }
#ifdef SW_HAVE_ZLIB
        if (hs->compression_level) {
            hs->compression_level = (int)d;
        }
#endif
        return 0;
    }
    if (strcmp(name, "http_compression_min_length") == 0) {
        if ((r = parse_num(value, 0, 1e12, &d)) < 0) {
            return r;
        }
        hs->compression_min_length = (size_t)d;
        return 0;
    }
    if (strcmp(name, "http_header_timeout") == 0) {
        if ((r = parse_num(value, 0, 86400, &d)) < 0) {
            return r;
        }
        hs->header_timeout = d;
        return 0;
    }
    bool *flag = NULL;
    if (strcmp(name, "enable_static_handler") == 0) {
        flag = &hs->enable_static_handler;
    } else if (strcmp(name, "http_parse_cookie") == 0) {
        flag = &hs->parse_cookie;
    } else if (strcmp(name, "http_parse_post") == 0) {
        flag = &hs->parse_post;
    } else if (strcmp(name, "http_parse_files") == 0) {
        flag = &hs->parse_files;
    } else if (strcmp(name, "http_compression") == 0) {
        if ((r = parse_bool(value, &b)) < 0) {
            return r;
        }
#ifdef SW_HAVE_ZLIB
        hs->compression_level = b ? (hs->compression_level ? hs->compression_level : 1) : 0;
        return 0;
#else
        return b ? SW_EOPTION_VALUE : 0;
#endif
    } else {
        return SW_EOPTION_UNKNOWN;
    }
    if ((r = parse_bool(value, &b)) < 0) {
        return r;
    }
    *flag = b;
    return 0;
}

/* ---- connection table ------------------------------------------------------------------ */

static size_t bucket(const sw__hworker_t *w, uint64_t s)
{
    s ^= s >> 33;
    s *= 0xff51afd7ed558ccdULL; /* the first multiplier of MurmurHash3's fmix64 */
    s ^= s >> 33;
    return (size_t)(s & (w->table_cap - 1));
}

static int grow(sw__hworker_t *w)
{
    size_t cap = w->table_cap ? w->table_cap * 2 : 64;
    sw__hconn_t **t = sw__calloc(cap, sizeof(*t));
    if (!t) {
        return SW_ENOMEM;
    }
    sw__hconn_t **old = w->table;
    size_t old_cap = w->table_cap;
    w->table = t;
    w->table_cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        while (old[i]) {
            sw__hconn_t *c = old[i];
            old[i] = c->next;
            size_t b = bucket(w, c->session);
            c->next = t[b];
            t[b] = c;
        }
    }
    sw__free(old);
    return 0;
}

/* Looks the connection up once (sw_server_connection_info: local in BASE mode, a query to
 * the reactor thread in PROCESS/THREAD modes): its port, to tell HTTP ports from the others,
 * and the peer's address. On failure the connection counts as HTTP with no address. */
void sw__httpd_identify(const sw_http_server_t *hs, sw__hconn_t *c)
{
    if (c->identified) {
        return;
    }
    c->identified = true;
    sw_connection_info_t info;
    if (sw_server_connection_info(hs->srv, c->session, &info) < 0) {
        return;
    }
    c->is_http = false;
    c->port = info.port;
    for (int i = 0; i < hs->nports; i++) {
        if (hs->ports[i] == info.port) {
            c->is_http = true;
        }
    }
    snprintf(c->remote_ip, sizeof(c->remote_ip), "%s", info.remote_ip);
    c->remote_port = info.remote_port;
}

sw__hconn_t *sw__httpd_conn(sw__hworker_t *w, uint64_t session, bool create)
{
    if (w->table_cap) {
        for (sw__hconn_t *c = w->table[bucket(w, session)]; c; c = c->next) {
            if (c->session == session) {
                return c;
            }
        }
    }
    if (!create) {
        return NULL;
    }
    if (w->table_len >= w->table_cap && grow(w) < 0) {
        return NULL;
    }
    sw__hconn_t *c = sw__calloc(1, sizeof(*c));
    if (!c) {
        return NULL;
    }
    c->w = w;
    c->session = session;
    c->last_ms = sw__httpd_now_ms(w);
    c->is_http = true;
    /* Which port only matters when the user handles other ports' messages: without their
     * on_receive every connection is HTTP, and the address is looked up when asked for. */
    if (w->hs->h.server.on_receive) {
        sw__httpd_identify(w->hs, c);
    }
    size_t b = bucket(w, session);
    c->next = w->table[b];
    w->table[b] = c;
    w->table_len++;
    return c;
}

void sw__httpd_conn_free(sw__hworker_t *w, uint64_t session)
{
    if (!w->table_cap) {
        return;
    }
    for (sw__hconn_t **pp = &w->table[bucket(w, session)]; *pp; pp = &(*pp)->next) {
        sw__hconn_t *c = *pp;
        if (c->session == session) {
            *pp = c->next;
            w->table_len--;
            sw__wsd_conn_gone(w->hs, c, true);
            sw__httpd_stream_drop(c);
            sw__httpd_conn_gone(w, c);
            sw__free(c);
            return;
        }
    }
}

const char *sw__httpd_date_line(sw__hworker_t *w, size_t *len)
{
    int64_t t;
    if (w->loop) {
        t = ((int64_t)sw__httpd_now_ms(w) + w->wall_off_ms) / 1000;
    } else {
        t = (int64_t)time(NULL);
    }
    if (t != w->date_time || !w->date_line_len) {
        memcpy(w->date_line, "Date: ", 6);
        if (sw_http_date_format(t, w->date_line + 6) < 0) {
            w->date_line_len = 0; /* no Date line rather than a wrong one */
        } else {
            size_t n = 6 + strlen(w->date_line + 6);
            memcpy(w->date_line + n, "\r\n", 3);
            w->date_line_len = n + 2;
        }
        w->date_time = t;
    }
    *len = w->date_line_len;
    return w->date_line;
}

/* ---- callbacks installed on the server ---------------------------------------------------- */

/* The calling worker's state (NULL outside a started worker). */
static sw__hworker_t *worker(sw_http_server_t *hs)
{
    int id = sw_server_worker_id(hs->srv);
    return id >= 0 && id < hs->nworkers ? hs->workers[id] : NULL;
}

/* Makes the calling worker's state (on_worker_start, on its loop thread). */
static sw__hworker_t *worker_start(sw_http_server_t *hs, int id)
{
    sw__hworker_t *w = NULL;
    pthread_mutex_lock(&hs->lock);
    if (!hs->workers) {
        sw_server_options_t o;
        int n = sw_server_get_options(hs->srv, &o) == 0 ? o.worker_num : 0;
        n = n > id ? n : id + 1;
        hs->workers = sw__calloc((size_t)n, sizeof(*hs->workers));
        hs->nworkers = hs->workers ? n : 0;
    }
    if (id < hs->nworkers) {
        worker_free(hs->workers[id]); /* a previous run of this worker id (THREAD reload) */
        hs->workers[id] = w = sw__calloc(1, sizeof(*w));
        if (w) {
            w->hs = hs;
            w->id = id;
            w->loop = sw_server_loop(hs->srv);
            w->wall_off_ms = clock_ms(CLOCK_REALTIME) - clock_ms(CLOCK_MONOTONIC);
        }
    }
    pthread_mutex_unlock(&hs->lock);
    return w;
}

static void on_timer(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    sw__hworker_t *w = arg;
    /* Follow steps of the wall clock (NTP, settimeofday) once a second for Date. */
    w->wall_off_ms = clock_ms(CLOCK_REALTIME) - clock_ms(CLOCK_MONOTONIC);
    uint64_t now = sw__httpd_now_ms(w);
    uint64_t limit = (uint64_t)(w->hs->header_timeout * 1000.0);
    sw_server_t *srv = w->hs->srv;
    for (size_t i = 0; i < w->table_cap; i++) {
        sw__hconn_t *c = w->table[i];
        while (c) {
            sw__hconn_t *next = c->next;
            uint64_t s = c->session;
            if (!sw_server_exists(srv, s)) {
                sw__httpd_conn_free(w, s);
            } else if (limit && c->is_http && !c->ws && !c->live && now - c->last_ms > limit) {
                /* Nothing is being answered and no request completed for the timeout. BASE:
                 * only a connection holding part of a request is closed (a slow head);
                 * where the worker cannot see the input (PROCESS), any such connection. */
                sw_connection_info_t info;
                int r = sw_server_connection_info(srv, s, &info);
                if (r == SW_ENOTSUP || (r == 0 && info.recv_queued_bytes > 0)) {
                    (void)sw_server_close(srv, s, true);
                } else {
                    /* Idle between requests: look again one timeout later (in PROCESS and
                     * THREAD modes each look is a query to the reactor thread). */
                    c->last_ms = now;
                }
            }
            c = next;
        }
    }
}

static void on_worker_start(sw_server_t *srv, int worker_id, void *arg)
{
    sw_http_server_t *hs = arg;
    sw__hworker_t *w = worker_start(hs, worker_id);
    if (w && hs->document_root) {
        char *rp = realpath(hs->document_root, NULL);
        w->root_real = rp ? sw__strdup(rp) : NULL;
        free(rp);
    }
    if (w) {
        (void)sw_server_tick(srv, 1000, on_timer, w, &w->timer_id);
    }
    if (hs->h.server.on_worker_start) {
        hs->h.server.on_worker_start(srv, worker_id, hs->arg);
    }
}

static void on_worker_stop(sw_server_t *srv, int worker_id, void *arg)
{
    sw_http_server_t *hs = arg;
    sw__hworker_t *w = worker(hs);
    if (w && w->timer_id) {
        (void)sw_server_clear_timer(srv, w->timer_id);
        w->timer_id = 0;
    }
    if (hs->h.server.on_worker_stop) {
        hs->h.server.on_worker_stop(srv, worker_id, hs->arg);
    }
    if (w) {
        pthread_mutex_lock(&hs->lock);
        hs->workers[w->id] = NULL;
        pthread_mutex_unlock(&hs->lock);
        worker_free(w);
    }
}

static void on_connect(sw_server_t *srv, uint64_t session, int reactor_id, void *arg)
{
    sw_http_server_t *hs = arg;
    sw__hworker_t *w = worker(hs);
    if (w) {
        (void)sw__httpd_conn(w, session, true);
    }
    if (hs->h.server.on_connect) {
        hs->h.server.on_connect(srv, session, reactor_id, hs->arg);
    }
}

static void on_close(sw_server_t *srv, uint64_t session, int reactor_id, void *arg)
{
    sw_http_server_t *hs = arg;
    sw__hworker_t *w = worker(hs);
    if (w) {
        sw__httpd_conn_free(w, session);
    }
    if (hs->h.server.on_close) {
        hs->h.server.on_close(srv, session, reactor_id, hs->arg);
    }
}

/* The worker's request object, reset for a new request; or, when a dispatch is already
 * running on this worker (on_request re-entered the loop), a fresh one. */
static sw_http_request_t *req_get(sw__hworker_t *w)
{
    if (w->req_busy) {
        return sw__calloc(1, sizeof(sw_http_request_t));
    }
    if (!w->req && !(w->req = sw__malloc(sizeof(*w->req)))) {
        return NULL;
    }
    memset(w->req, 0, offsetof(sw_http_request_t, fields));
    w->req_busy = true;
    return w->req;
}

static void req_put(sw__hworker_t *w, sw_http_request_t *req)
{
    sw__httpd_request_clear(req);
    if (req != w->req) {
        sw__free(req);
        return;
    }
    w->req_busy = false;
    if (w->msg.size > SW__HTTPD_KEEP_BUF) {
        sw_buffer_close(&w->msg); /* a large message: do not keep its room */
    }
}

static void dispatch(sw_http_server_t *hs, sw__hconn_t *c, const char *data, size_t len)
{
    sw__hworker_t *w = c->w;
    sw_http_request_t *req = req_get(w);
    if (!req) {
        sw__httpd_answer_error(hs, c, 503);
        return;
    }
    req->hs = hs;
    req->conn = c;
    int st = sw__httpd_request_parse(req, req == w->req ? &w->msg : NULL, data, len);
    if (st != 0) {
        sw__httpd_answer_error(hs, c, st > 0 ? st : 503);
        req_put(w, req);
        return;
    }
    sw__httpd_run(hs, c, req);
}

void sw__httpd_run(sw_http_server_t *hs, sw__hconn_t *c, sw_http_request_t *req)
{
    sw__hworker_t *w = c->w;
    sw_http_response_t *resp = sw__httpd_response_new(hs, c, req);
    if (!resp) {
        sw__httpd_answer_error(hs, c, 503);
        req_put(w, req);
        return;
    }
    if (req->p.flags & SW_HTTP_F_UPGRADE) {
        /* On a port with open_websocket_protocol the connection is held after this request
         * until it is answered (server/framing.h): the WebSocket layer answers, or, without
         * one, a release lets HTTP framing go on. */
        if (hs->ws && sw__wsd_request(hs, c, req, resp)) {
            req_put(w, req);
            return;
        }
        if (!hs->ws) {
            (void)sw__server_framing(hs->srv, c->session, SW__FRAMING_PORT, NULL, 0);
        }
    }
    int served = 0;
    if (hs->enable_static_handler && w->root_real) {
        served = sw__httpd_static(w, req, resp);
    }
    if (served == 0) {
        if (hs->h.on_request) {
            hs->h.on_request(hs, req, resp, hs->arg);
        } else {
            (void)sw_http_response_status(resp, 404, NULL);
            (void)sw_http_response_end(resp, "Not Found\n", 10);
        }
    }
    req_put(w, req);
}

static void on_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                       size_t len, void *arg)
{
    unsigned piece = sw__server_msg_piece();
    sw_http_server_t *hs = arg;
    sw__hworker_t *w = worker(hs);
    sw__hconn_t *c = w ? sw__httpd_conn(w, session, true) : NULL;
    if (!c) {
        (void)sw_server_close(srv, session, true);
        return;
    }
    if (!c->is_http) {
        if (hs->h.server.on_receive) {
            hs->h.server.on_receive(srv, session, reactor_id, data, len, hs->arg);
        }
        return;
    }
    if (c->ws) {
        sw__wsd_frame(hs, c, data, len);
        return;
    }
    if (c->dead) {
        return; /* the bytes after an answered error or a "Connection: close" request */
    }
    if (piece & SW__MSG_CONT) {
        c->last_ms = sw__httpd_now_ms(w);
        if (!c->partial) {
            /* The start of the request went to a worker that is gone (killed, or restarted
             * by max_request in another process): it cannot be completed. */
            sw__httpd_answer_error(hs, c, 500);
            return;
        }
        sw__httpd_stream_feed(hs, c, data, len, !(piece & SW__MSG_MORE));
        return;
    }
    if (hs->ws && sw__wsd_foreign(hs, c)) {
        return;
    }
    c->last_ms = sw__httpd_now_ms(w);
    if (piece & SW__MSG_MORE) {
        sw__httpd_stream_begin(hs, c, data, len);
        return;
    }
    dispatch(hs, c, data, len);
}

/* The server calls every callback with the HTTP server as `arg`; these hand the user's. */
#define PASS_SRV(cbname)                                   \
    static void pass_##cbname(sw_server_t *srv, void *arg) \
    {                                                      \
        sw_http_server_t *hs = arg;                        \
        if (hs->h.server.cbname) {                         \
            hs->h.server.cbname(srv, hs->arg);             \
        }                                                  \
    }
PASS_SRV(on_start)
PASS_SRV(on_shutdown)
PASS_SRV(on_manager_start)
PASS_SRV(on_manager_stop)

#define PASS_SESSION(cbname)                                                           \
    static void pass_##cbname(sw_server_t *srv, uint64_t s, int reactor_id, void *arg) \
    {                                                                                  \
        sw_http_server_t *hs = arg;                                                    \
        if (hs->h.server.cbname) {                                                     \
            hs->h.server.cbname(srv, s, reactor_id, hs->arg);                          \
        }                                                                              \
    }
PASS_SESSION(on_buffer_full)
PASS_SESSION(on_buffer_empty)

static void pass_on_worker_error(sw_server_t *srv, int worker_id, pid_t pid, int exit_code,
                                 int signo, void *arg)
{
    sw_http_server_t *hs = arg;
    if (hs->h.server.on_worker_error) {
        hs->h.server.on_worker_error(srv, worker_id, pid, exit_code, signo, hs->arg);
    }
}

static void pass_on_packet(sw_server_t *srv, const sw_packet_t *pkt, void *arg)
{
    sw_http_server_t *hs = arg;
    if (hs->h.server.on_packet) {
        hs->h.server.on_packet(srv, pkt, hs->arg);
    }
}

static void pass_on_task(sw_server_t *srv, uint64_t task_id, int src_worker_id, const void *data,
                         size_t len, void *arg)
{
    sw_http_server_t *hs = arg;
    if (hs->h.server.on_task) {
        hs->h.server.on_task(srv, task_id, src_worker_id, data, len, hs->arg);
    }
}

static void pass_on_finish(sw_server_t *srv, uint64_t task_id, const void *data, size_t len,
                           void *arg)
{
    sw_http_server_t *hs = arg;
    if (hs->h.server.on_finish) {
        hs->h.server.on_finish(srv, task_id, data, len, hs->arg);
    }
}

static void pass_on_pipe_message(sw_server_t *srv, int src_worker_id, const void *data, size_t len,
                                 void *arg)
{
    sw_http_server_t *hs = arg;
    if (hs->h.server.on_pipe_message) {
        hs->h.server.on_pipe_message(srv, src_worker_id, data, len, hs->arg);
    }
}

int sw_http_server_set_handlers(sw_http_server_t *hs, const sw_http_handlers_t *h, void *arg)
{
    if (!hs || !h) {
        return SW_EINVAL;
    }
    if (sw_server_master_pid(hs->srv) != 0) {
        return SW_ESERVER_STATE;
    }
    hs->h = *h;
    hs->arg = arg;
    sw_server_handlers_t sh = {0};
    sh.on_start = h->server.on_start ? pass_on_start : NULL;
    sh.on_shutdown = h->server.on_shutdown ? pass_on_shutdown : NULL;
    sh.on_manager_start = h->server.on_manager_start ? pass_on_manager_start : NULL;
    sh.on_manager_stop = h->server.on_manager_stop ? pass_on_manager_stop : NULL;
    sh.on_worker_error = h->server.on_worker_error ? pass_on_worker_error : NULL;
    sh.on_packet = h->server.on_packet ? pass_on_packet : NULL;
    sh.on_buffer_full = h->server.on_buffer_full ? pass_on_buffer_full : NULL;
    sh.on_buffer_empty = h->server.on_buffer_empty ? pass_on_buffer_empty : NULL;
    sh.on_task = h->server.on_task ? pass_on_task : NULL;
    sh.on_finish = h->server.on_finish ? pass_on_finish : NULL;
    sh.on_pipe_message = h->server.on_pipe_message ? pass_on_pipe_message : NULL;
    sh.on_receive = on_receive;
    sh.on_connect = on_connect;
    sh.on_close = on_close;
    sh.on_worker_start = on_worker_start;
    sh.on_worker_stop = on_worker_stop;
    return sw_server_set_handlers(hs->srv, &sh, hs);
}
