/*
 * Internals of the HTTP server (src/httpd): the server object, per-connection state kept by
 * each worker, requests and responses.
 *
 * Layers: server.c glues onto sw_server_t (callbacks, connection table, timer, dispatch);
 * request.c turns one framed message into a sw_http_request_t; response.c builds and sends
 * responses in request order; static.c serves document_root.
 */
#ifndef SW_HTTPD_INT_H
#define SW_HTTPD_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "swoole/buffer.h"
#include "swoole/http.h"
#include "swoole/http_server.h"
#include "swoole/loop.h"
#include "swoole/server.h"

#define SW__HTTPD_MAX_PORTS  16
#define SW__HTTPD_FIELDS     128 /* header + trailer field lines per request */
#define SW__HTTPD_MAX_ARGS   1024
#define SW__HTTPD_MAX_COOKIE 128
/* Largest urlencoded body of a request in pieces that is parsed into form fields (a larger
 * one is kept as its file only). */
#define SW__HTTPD_FORM_MAX ((uint64_t)8 << 20)
/* Responses a connection may have unfinished before the server stops reading from it (a
 * client pipelining behind a slow response cannot make the worker hold unbounded output). */
#define SW__HTTPD_MAX_LIVE 32
/* Responses a worker keeps for reuse, and the buffer sizes kept with them and in the worker. */
#define SW__HTTPD_RESP_POOL 256
#define SW__HTTPD_KEEP_BUF  (64u * 1024u)

typedef struct sw__hconn_s sw__hconn_t;
typedef struct sw__wsconn_s sw__wsconn_t;

/* What one worker keeps (a process in BASE/PROCESS mode, a thread in THREAD mode): only its
 * loop thread touches it. */
typedef struct sw__hworker_s {
    sw_http_server_t *hs;
    int id;
    sw__hconn_t **table; /* connections by session (chained hash) */
    size_t table_cap, table_len;
    uint64_t timer_id;
    sw_loop_t *loop;     /* the worker's loop: its cached clock is the per-request time */
    int64_t wall_off_ms; /* CLOCK_REALTIME - CLOCK_MONOTONIC in ms, re-read by the timer */
    int64_t date_time;   /* the second date_line shows */
    char date_line[SW_HTTP_DATE_SIZE + 8]; /* "Date: <IMF-fixdate>\r\n" */
    size_t date_line_len;
    /* The head (and a small body) of a response is built here and sent with one
     * sw_server_send; `scratch_busy` guards against reentrant use from inside that send. */
    sw_buffer_t scratch;
    bool scratch_busy;
    /* The request object reused for every request (allocated at the first one), and the
     * copy of the message it parses; `req_busy` while dispatch uses them (a nested dispatch
     * allocates its own). */
    sw_http_request_t *req;
    sw_buffer_t msg;
    bool req_busy;
    /* Ended responses kept for reuse (with their header-line buffers), at most
     * SW__HTTPD_RESP_POOL. */
    sw_http_response_t *resp_pool;
    unsigned resp_pool_n;
    sw_http_response_t *orphans; /* responses whose connection closed before they ended */
    char *root_real;             /* realpath of document_root */
} sw__hworker_t;

struct sw_http_server_s {
    sw_server_t *srv;
    sw_http_handlers_t h;
    void *arg;
    sw_port_t *ports[SW__HTTPD_MAX_PORTS];
    int nports;
    /* options */
    char *upload_tmp_dir;
    uint64_t upload_max_filesize; /* 0: package_max_length */
    char *document_root;
    bool enable_static_handler;
    int compression_level; /* 0: off */
    size_t compression_min_length;
    char *server_software;
    char *server_line; /* "Server: <server_software>\r\n", or NULL when the option is "" */
    size_t server_line_len;
    double header_timeout;
    bool parse_cookie, parse_post, parse_files;
    /* Per-worker state, indexed by worker id; the array is made by the first worker that
     * starts in this process, under `lock` (worker threads start at once in THREAD mode). */
    pthread_mutex_t lock;
    sw__hworker_t **workers;
    int nworkers;
    struct sw_websocket_server_s *ws; /* websocket.c, or NULL */
};

/* What a worker keeps per HTTP connection. */
struct sw__hconn_s {
    sw__hworker_t *w;
    uint64_t session;
    sw__hconn_t *next;        /* hash chain */
    uint64_t next_seq;        /* sequence number of the next request */
    uint64_t send_seq;        /* the response allowed to write now */
    sw_http_response_t *live; /* responses not ended yet, or held back */
    unsigned nlive;           /* how many; reading is paused at SW__HTTPD_MAX_LIVE */
    uint64_t last_ms;         /* connect or last complete request */
    bool is_http;
    bool identified; /* sw__httpd_identify ran */
    bool paused;     /* reading paused by the SW__HTTPD_MAX_LIVE bound */
    bool dead;       /* answered an error or a close: later requests are dropped */
    char remote_ip[46];
    int remote_port;
    sw_port_t *port;            /* from sw__httpd_identify (NULL when unknown) */
    sw__wsconn_t *ws;           /* a WebSocket connection (websocket.c) */
    sw_http_request_t *partial; /* a request arriving in pieces (stream.c), or NULL */
};

struct sw_http_response_s {
    sw_http_server_t *hs;
    sw_http_request_t *req; /* its request while on_request runs (see response_detach) */
    sw__hworker_t *w;
    sw__hconn_t *conn; /* NULL once the connection is gone */
    uint64_t session;
    uint64_t seq;
    sw_http_response_t *next; /* in conn->live, or in hs->orphans */
    int status;
    char *reason;
    sw_buffer_t head; /* header lines the user added */
    sw_buffer_t held; /* output held back behind an earlier response */
    char *file;       /* a held sendfile, sent after `held` */
    uint64_t file_off, file_len;
    bool file_given; /* `file` is a request's temporary file, removed when sent or dropped */
    bool head_sent, chunked, until_close, ended, keep_alive, no_body, http10, accept_gzip;
    bool has_server;
    int gzip_level;
    struct sw__gz_s *gz; /* response.c: the deflate stream of a streamed gzip body, or NULL */
};

/* One form field or query argument: offsets into a buffer. */
typedef struct {
    size_t koff, klen, voff, vlen;
} sw__hfield_t;

typedef struct {
    char *field, *name, *type, *tmp_name;
    uint64_t size;
    int fd;
    bool given; /* handed to a sendfile (sw__httpd_request_give_file): not removed here */
} sw__hupload_t;

/* Inline room for the decoded path: longer paths are allocated. */
#define SW__HTTPD_PATH_INLINE 256

/*
 * One request. Each worker reuses one of these (sw__hworker_t.req): everything before
 * `fields` is the per-request state, zeroed for each request (a few hundred bytes); the
 * arrays after it are written before they are read (the parser fills `fields` up to
 * p.num_headers, cookies up to ncookies, the path buffer up to path_len) and need no zeroing.
 */
struct sw_http_request_s {
    sw_http_server_t *hs;
    sw__hconn_t *conn;
    char *buf; /* the message (chunked bodies decoded in place) */
    size_t len;
    bool buf_owned; /* buf was allocated for this request (else the worker's msg buffer) */
    sw_http_parser_t p;
    sw_http_url_t url;
    char *path; /* decoded, NUL-terminated: path_inline, or allocated when longer */
    size_t path_len;
    char *qbuf; /* decoded query */
    sw_http_kv_t *args;
    int nargs;
    int ncookies;
    sw_buffer_t form; /* form field bytes */
    sw__hfield_t *post;
    int npost, post_cap;
    sw__hupload_t *files;
    int nfiles, files_cap;
    int error_status;         /* set while parsing multipart: the answer to give */
    sw_http_response_t *resp; /* its response until that ends or dispatch returns */
    /* A request delivered in pieces (stream.c): `buf` holds its head only; the body went to
     * `mp` (multipart, while it arrives) or to the file `body_path` (written through
     * body_fd, then mapped at body_map). */
    bool streamed;
    struct sw__hmp_s *mp;
    char *body_path;
    int body_fd; /* > 0 while open (the struct is zeroed: 0 means none) */
    void *body_map;
    uint64_t body_size;
    bool body_given;   /* body_path handed to a sendfile: not removed here */
    sw_buffer_t carry; /* body bytes the parser has not used yet (a line cut by a piece) */
    /* ---- not zeroed per request (see above) ---- */
    sw_http_header_t fields[SW__HTTPD_FIELDS];
    sw_http_kv_t cookies[SW__HTTPD_MAX_COOKIE];
    const char *cookie_base[SW__HTTPD_MAX_COOKIE];
    char path_inline[SW__HTTPD_PATH_INLINE];
};

/* Multipart form-data parsing into a request (request.c): fields into its form, file parts
 * into temporary files; used whole (one feed) or as the body arrives in pieces. */
typedef struct sw__hmp_s {
    sw_http_multipart_t mp;
    sw_http_request_t *req;
    sw__hupload_t *file; /* the file part being written, or NULL for a field */
    uint64_t max_file;
    bool field; /* the current part is a form field */
    bool open;  /* mp initialised */
} sw__hmp_t;
/* Each returns 0 or the HTTP status to answer (or SW_ENOMEM). open takes the Content-Type. */
int sw__httpd_mp_open(sw__hmp_t *m, sw_http_request_t *req, const char *ctype, size_t clen);
int sw__httpd_mp_feed(sw__hmp_t *m, const char *data, size_t len);
/* The body ended: a truncated body is 400. Closes `m`. */
int sw__httpd_mp_finish(sw__hmp_t *m);
/* Frees the parser and closes the file being written (the request still lists it). */
void sw__httpd_mp_close(sw__hmp_t *m);

/* server.c */
sw__hconn_t *sw__httpd_conn(sw__hworker_t *w, uint64_t session, bool create);
void sw__httpd_conn_free(sw__hworker_t *w, uint64_t session);
/* The whole "Date: ...\r\n" line for the loop's current second (rebuilt once a second). */
const char *sw__httpd_date_line(sw__hworker_t *w, size_t *len);
/* The worker's loop clock (monotonic ms, cached once per loop iteration). */
uint64_t sw__httpd_now_ms(const sw__hworker_t *w);
/* Port and peer address of the connection, looked up once. */
void sw__httpd_identify(const sw_http_server_t *hs, sw__hconn_t *c);

/* request.c: parses `data` into `req` (its fields before `fields` zeroed by the caller),
 * copying the message into `store` (or an allocation when `store` is NULL or cannot take it).
 * Returns 0, or the HTTP status to answer (the connection is closed after it), or SW_ENOMEM. */
int sw__httpd_request_parse(sw_http_request_t *req, sw_buffer_t *store, const char *data,
                            size_t len);
void sw__httpd_request_clear(sw_http_request_t *req);
/* When `path` is one of the request's temporary files (its body file, an upload) that is
 * still its own: it is no longer removed with the request (the caller now removes it: a
 * sendfile with unlink_after). Returns true then. */
bool sw__httpd_request_give_file(sw_http_request_t *req, const char *path);
/* Temporary files (uploads, bodies in pieces) under `dir`: opened without a name where the
 * system allows (O_TMPFILE), so that a worker that dies while writing one leaves nothing
 * behind, and named "<dir>/swoole.<kind>.XXXXXX" by sw__httpd_tmp_name once complete; else
 * named at once (mkostemp). `name` (cap bytes) receives the name ("" while there is none).
 * tmp_open returns the fd (O_CLOEXEC, read-write) or a negative code; tmp_name 0 or a
 * negative code. */
int sw__httpd_tmp_open(const char *dir, const char *kind, char *name, size_t cap);
int sw__httpd_tmp_name(int fd, const char *dir, const char *kind, char *name, size_t cap);
/* The answer to a parser error code. */
int sw__httpd_status_of(int err);
/* The checks and decoding that follow a parsed head (417, 405, the target, cookies).
 * Returns 0 or the HTTP status. */
int sw__httpd_request_head(sw_http_request_t *req);
/* What the Content-Type says the body is. */
#define SW__HBODY_RAW        0
#define SW__HBODY_URLENCODED 1
#define SW__HBODY_MULTIPART  2
int sw__httpd_body_kind(const sw_http_request_t *req);
/* Opens `m` on the request's multipart boundary. Returns 0 or the HTTP status. */
int sw__httpd_request_multipart_open(sw_http_request_t *req, sw__hmp_t *m);
/* Form fields from an urlencoded body (a body that is not a valid form is kept raw, without
 * fields). Returns 0 or SW_ENOMEM. */
int sw__httpd_request_urlencoded(sw_http_request_t *req, const char *body, size_t blen);

/* stream.c: a request delivered in pieces (http_piece_size, server/framing.h SW__MSG_*).
 * begin takes the first piece (the head and the start of the body), feed every later one
 * (`last`: the request's last piece). When the request is complete it is dispatched like a
 * whole one (`run`); on an error the answer is given and the connection closes. */
void sw__httpd_stream_begin(sw_http_server_t *hs, sw__hconn_t *c, const char *data, size_t len);
void sw__httpd_stream_feed(sw_http_server_t *hs, sw__hconn_t *c, const char *data, size_t len,
                           bool last);
/* The connection is gone: frees its unfinished request and its files. */
void sw__httpd_stream_drop(sw__hconn_t *c);
/* server.c: runs a complete request (static files, on_request) and frees it. */
void sw__httpd_run(sw_http_server_t *hs, sw__hconn_t *c, sw_http_request_t *req);

/* response.c */
sw_http_response_t *sw__httpd_response_new(sw_http_server_t *hs, sw__hconn_t *c,
                                           sw_http_request_t *req);
bool sw__httpd_accepts_gzip(const sw_http_request_t *req);
/* dispatch is done with the request: a response still open looks up what it needs now. */
void sw__httpd_response_detach(sw_http_response_t *r);
/* Bodies up to this size are copied behind the head and sent with it in one send. */
#define SW__HTTPD_COALESCE_MAX (16u * 1024u)
/* An error answer with a one-line body; the connection closes after it. */
void sw__httpd_answer_error(sw_http_server_t *hs, sw__hconn_t *c, int status);
/* The connection closed: orphan its live responses. */
void sw__httpd_conn_gone(sw__hworker_t *w, sw__hconn_t *c);
void sw__httpd_free_orphans(sw__hworker_t *w);
/* Frees the worker's pool of responses (worker stop, after the orphans). */
void sw__httpd_free_pool(sw__hworker_t *w);

/* The request is over without output (its response slot retired, e.g. the upgrade request
 * answered 101 by the WebSocket layer). Frees `r`. */
void sw__httpd_response_drop(sw_http_response_t *r);

/* websocket.c */
/* A request on a connection of a WebSocket server's port that asks to upgrade (the reactor
 * holds the connection): 1 when it was answered here (accepted or refused; `resp` is then
 * used up), 0 when it is not a WebSocket handshake (the hold was released: go on as HTTP). */
int sw__wsd_request(sw_http_server_t *hs, sw__hconn_t *c, sw_http_request_t *req,
                    sw_http_response_t *resp);
/* One whole frame of a WebSocket connection. */
void sw__wsd_frame(sw_http_server_t *hs, sw__hconn_t *c, const char *data, size_t len);
/* 1 when the session is another worker's WebSocket connection (answered 1011 and closed). */
int sw__wsd_foreign(sw_http_server_t *hs, sw__hconn_t *c);
/* The connection is gone: on_close (when `notify`), then its state is freed. */
void sw__wsd_conn_gone(sw_http_server_t *hs, sw__hconn_t *c, bool notify);

/* static.c: 1 when the request was answered from document_root, 0 when not (go on to
 * on_request), or < 0 on an internal error (answered 500). */
int sw__httpd_static(sw__hworker_t *w, sw_http_request_t *req, sw_http_response_t *resp);
const char *sw__httpd_mime(const char *path);

#endif
