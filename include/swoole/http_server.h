/*
 * The HTTP server: Swoole's swoole_http_server on top of a sw_server_t.
 *
 *     sw_server_t *srv;
 *     sw_http_server_t *hs;
 *     sw_port_t *port;
 *     sw_server_create(&srv, SW_MODE_BASE);
 *     sw_server_listen(srv, "127.0.0.1", 9501, SW_SOCK_TCP, &port);
 *     sw_http_server_create(&hs, srv);
 *     sw_http_server_enable_port(hs, port);            (HTTP framing on this port)
 *     sw_http_handlers_t h = {.on_request = on_request};
 *     sw_http_server_set_handlers(hs, &h, NULL);       (installs the server's callbacks)
 *     sw_server_start(srv);
 *     sw_http_server_destroy(hs);
 *     sw_server_destroy(srv);
 *
 *     static void on_request(sw_http_server_t *hs, sw_http_request_t *req,
 *                            sw_http_response_t *resp, void *arg)
 *     {
 *         sw_http_response_header(resp, "Content-Type", "text/plain");
 *         sw_http_response_end(resp, "hello\n", 6);
 *     }
 *
 * How it works. A port enabled for HTTP frames its input with open_http_protocol
 * (swoole/protocol.h): wherever the connection lives (the worker in BASE mode, a reactor
 * thread of the master in PROCESS and THREAD modes) whole requests are cut from the stream, and the
 * worker gets each request as one message. The HTTP server installs its own on_receive,
 * on_connect, on_close and on_worker_start/stop on the server and calls the user's for
 * them (on_receive only for connections of ports not enabled for HTTP); it parses each
 * request (swoole/http.h), serves static files when configured, and calls on_request.
 *
 * Requests on one connection (pipelining) are handed to on_request in order, and their
 * responses are sent strictly in that order: a response ended before an earlier one is held
 * back until the earlier one has ended. A request is valid only while on_request runs; a
 * response stays valid until it is ended (end, sendfile, redirect) or, if it never is, until
 * its connection closes and the worker stops.
 *
 * Errors answered by the server itself, after which the connection is closed: a head larger
 * than http_max_header_size or with too many fields 431, a body larger than
 * package_max_length 413 (a Content-Length over it is refused at once, before the body is
 * read), a malformed request 400, an unsupported Transfer-Encoding 501, another HTTP version
 * (HTTP/2's preface included) 505, an expectation other than 100-continue 417.
 *
 * Large requests: a request longer than the port option "http_piece_size" (head and body as
 * sent; sw_http_server_enable_port sets SW_HTTP_SERVER_PIECE_SIZE when the port has none)
 * travels to the worker in pieces of that size (swoole/protocol.h, "HTTP framing: pieces";
 * every piece of a request goes to the same worker, whatever the dispatch mode), and no
 * process holds it whole: the worker decodes the body as it arrives, multipart files go
 * straight to their temporary files and any other body to a temporary file under
 * upload_tmp_dir (sw_http_request_body_file; sw_http_request_body maps it; an urlencoded body
 * is parsed into form fields only up to 8 MiB). With
 * package_max_length raised to 1 GiB, a 1 GB upload costs one piece of memory per process.
 * on_request still runs once, with the whole request. Setting http_piece_size to
 * package_max_length keeps every request whole. A worker that dies in the middle of such a
 * request loses it: the rest is answered 500 by the worker that replaces it, and the
 * connection closes.
 *
 * Threads: every function here runs on the worker's loop thread (where on_request runs); each
 * worker (process or thread) keeps its own connections and responses.
 * Strings handed out are not NUL-terminated unless said otherwise.
 */
#ifndef SWOOLE_HTTP_SERVER_H
#define SWOOLE_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "swoole/common.h"
#include "swoole/http.h"
#include "swoole/server.h"

SW_EXTERN_C_BEGIN

typedef struct sw_http_server_s sw_http_server_t;

/** The http_piece_size an HTTP port gets by default: 2 MiB (the default package_max_length,
 * so that with default limits every request arrives whole). */
#define SW_HTTP_SERVER_PIECE_SIZE ((size_t)2 << 20)
typedef struct sw_http_request_s sw_http_request_t;
typedef struct sw_http_response_s sw_http_response_t;

/** A request handler: runs in the worker, on its loop thread. */
typedef void (*sw_http_request_cb)(sw_http_server_t *hs, sw_http_request_t *req,
                                   sw_http_response_t *resp, void *arg);

/** The HTTP server's callbacks: on_request, and the server's own callbacks, which are called
 * as sw_server_set_handlers documents (on_receive only for ports not enabled for HTTP). */
typedef struct sw_http_handlers_s {
    sw_http_request_cb on_request;
    sw_server_handlers_t server;
} sw_http_handlers_t;

/**
 * Creates an HTTP server over `srv` (not owned; it must outlive the HTTP server). Before
 * sw_server_start only. Returns 0 and stores it in `*out`, SW_EINVAL (NULL) or SW_ENOMEM.
 */
SW_API int sw_http_server_create(sw_http_server_t **out, sw_server_t *srv);

/** Frees the HTTP server (after sw_server_start has returned, or if it never ran). Returns 0
 * or SW_EINVAL. */
SW_API int sw_http_server_destroy(sw_http_server_t *hs);

/** The server given to sw_http_server_create (NULL for NULL). */
SW_API sw_server_t *sw_http_server_server(const sw_http_server_t *hs);

/**
 * Makes `port` (a TCP or Unix stream port of the server) an HTTP port: its framing becomes
 * open_http_protocol (other framing options of the port are turned off). At most 16 ports.
 * Before start. Returns 0, SW_EINVAL (NULL, a datagram port), SW_EOVERFLOW (17th port) or
 * the errors of sw_port_set_option.
 */
SW_API int sw_http_server_enable_port(sw_http_server_t *hs, sw_port_t *port);

/**
 * Sets an option by name (before start). Names, values and defaults:
 *   "upload_tmp_dir"          directory for uploaded files ["/tmp"]
 *   "upload_max_filesize"     largest uploaded file in bytes (413 past it) [package_max_length]
 *   "document_root"           directory of static files [none]
 *   "enable_static_handler"   serve GET/HEAD from document_root ["false"]
 *   "http_compression"        gzip responses to clients that accept it ["true" with zlib]
 *   "http_compression_level"  1..9 [1]
 *   "http_compression_min_length"  smallest body compressed [20]
 *   "http_server_software"    Server header value; "" sends none ["libswoole"]
 *   "http_header_timeout"     seconds a connection may hold an incomplete request (see
 *                             docs/api/http_server.md) [30; 0: off]
 *   "http_parse_cookie", "http_parse_post", "http_parse_files"  ["true"]
 * Returns 0, SW_EINVAL (NULL), SW_EOPTION_UNKNOWN, SW_EOPTION_VALUE (bad value;
 * "http_compression" "true" without zlib), SW_ESERVER_STATE (started) or SW_ENOMEM.
 */
SW_API int sw_http_server_set_option(sw_http_server_t *hs, const char *name, const char *value);

/**
 * Sets the callbacks (copied) and installs the HTTP server's own on the server (replacing
 * whatever sw_server_set_handlers set before). Before start. Returns 0, SW_EINVAL (NULL) or
 * SW_ESERVER_STATE.
 */
SW_API int sw_http_server_set_handlers(sw_http_server_t *hs, const sw_http_handlers_t *h,
                                       void *arg);

/* ---- requests: valid while on_request runs ---------------------------------------------- */

/** The sw_http_method_t of the request (SW_HTTP_METHOD_OTHER for other tokens). */
SW_API int sw_http_request_method(const sw_http_request_t *req);
/** The method token. */
SW_API const char *sw_http_request_method_name(const sw_http_request_t *req, size_t *len);
/** The request-target as sent ("/a%20b?x=1"). */
SW_API const char *sw_http_request_uri(const sw_http_request_t *req, size_t *len);
/** The path, percent-decoded ("/a b"); NUL-terminated. */
SW_API const char *sw_http_request_path(const sw_http_request_t *req, size_t *len);
/** The query string as sent, without '?' ("" when none). */
SW_API const char *sw_http_request_query_string(const sw_http_request_t *req, size_t *len);
/** 10 for HTTP/1.0, 11 for HTTP/1.1. */
SW_API int sw_http_request_version(const sw_http_request_t *req);
/** The session of the connection. */
SW_API uint64_t sw_http_request_session(const sw_http_request_t *req);
/** The peer's printable address ("" when unknown: Unix ports, and PROCESS mode where the
 * worker cannot see the connection) and port (0 then). NUL-terminated. */
SW_API const char *sw_http_request_remote_addr(const sw_http_request_t *req, int *port);

/** The value of the first header named `name` (ASCII case-insensitive), or NULL. */
SW_API const char *sw_http_request_header(const sw_http_request_t *req, const char *name,
                                          size_t *len);
/** Number of header fields; header i's name and value (0 or SW_EINVAL out of range). */
SW_API size_t sw_http_request_header_count(const sw_http_request_t *req);
SW_API int sw_http_request_header_at(const sw_http_request_t *req, size_t i, const char **name,
                                     size_t *name_len, const char **value, size_t *value_len);
/** A trailer field of a chunked request, or NULL. */
SW_API const char *sw_http_request_trailer(const sw_http_request_t *req, const char *name,
                                           size_t *len);

/** The (decoded) value of query argument `key`, of urlencoded or multipart form field `key`,
 * of cookie `name`; NULL when absent. Exact, case-sensitive names. */
SW_API const char *sw_http_request_get(const sw_http_request_t *req, const char *key, size_t *len);
SW_API const char *sw_http_request_post(const sw_http_request_t *req, const char *key, size_t *len);
SW_API const char *sw_http_request_cookie(const sw_http_request_t *req, const char *name,
                                          size_t *len);

/** The raw body (dechunked); NULL with *len 0 when there is none. For multipart bodies this
 * is the body as received. A request that arrived in pieces (see "Large requests") has its
 * body in a file: this maps it read-only (valid while on_request runs); a multipart body in
 * pieces is not kept (its fields and files are), and this returns NULL. */
SW_API const char *sw_http_request_body(const sw_http_request_t *req, size_t *len);

/** The path (NUL-terminated) of the temporary file that holds the body of a request that
 * arrived in pieces, with its size in *size (may be NULL); NULL (and 0) when the body is in
 * memory, was multipart or empty. The file is removed after on_request returns: rename or
 * link it to keep it, or hand it to sw_http_response_sendfile, which takes it. */
SW_API const char *sw_http_request_body_file(const sw_http_request_t *req, uint64_t *size);

/** An uploaded file. The temporary file is removed after on_request returns (rename or
 * link it to keep it). Strings are NUL-terminated. */
typedef struct sw_http_upload_s {
    const char *field;    /* the form field name */
    const char *name;     /* the client's file name */
    const char *type;     /* the part's Content-Type ("" when none) */
    const char *tmp_name; /* path of the temporary file */
    uint64_t size;
} sw_http_upload_t;

/** Number of uploaded files; file i (0, or SW_EINVAL out of range / NULL). */
SW_API size_t sw_http_request_file_count(const sw_http_request_t *req);
SW_API int sw_http_request_file(const sw_http_request_t *req, size_t i, sw_http_upload_t *out);

/* ---- responses ------------------------------------------------------------------------- */

/**
 * Sets the status and, optionally, a reason phrase (NULL: the registered one, or "Unknown").
 * Before anything was written. Returns 0, SW_EINVAL (NULL resp, status outside 100..999, a
 * reason with CR/LF) or SW_ESERVER_STATE (headers already sent).
 */
SW_API int sw_http_response_status(sw_http_response_t *resp, int status, const char *reason);

/** Adds a header (copied; several with one name are kept). Content-Length, Transfer-Encoding,
 * Connection and Date are set by the server and refused (SW_EINVAL), as are names that are
 * not tokens and values with CR, LF or NUL. Returns 0, SW_EINVAL, SW_ESERVER_STATE (headers
 * already sent) or SW_ENOMEM. */
SW_API int sw_http_response_header(sw_http_response_t *resp, const char *name, const char *value);

/** Adds a Set-Cookie header built from `c` (every attribute of sw_http_cookie_t). Returns 0,
 * SW_EINVAL (invalid cookie), SW_ESERVER_STATE or SW_ENOMEM. */
SW_API int sw_http_response_cookie(sw_http_response_t *resp, const sw_http_cookie_t *c);

/** Compresses the body of this response with gzip at `level` (1..9; 0 turns it off), when
 * the client accepts gzip: a body given whole to end() (from http_compression_min_length
 * bytes), or a streamed one (call it before the first write(); each write() is flushed so
 * that the client can decode it at once; see docs/api/http_server.md). Returns 0, SW_EINVAL
 * or SW_ENOTSUP (no zlib in this build). */
SW_API int sw_http_response_gzip(sw_http_response_t *resp, int level);

/** Sends the head (once) with Transfer-Encoding: chunked (HTTP/1.1; an HTTP/1.0 client gets a
 * body delimited by closing the connection) and `len` bytes as one chunk (len 0 sends
 * nothing), gzip-compressed when the response is (see sw_http_response_gzip). Returns 0,
 * SW_EINVAL, SW_ESESSION (connection gone), SW_ESERVER_STATE (ended), SW_ENOMEM or the errors
 * of sw_server_send (after a failed compressed write, later calls return the same code). */
SW_API int sw_http_response_write(sw_http_response_t *resp, const void *data, size_t len);

/** Ends the response with `len` more bytes of body (after write(): a last chunk). The
 * response is freed: `resp` must not be used again, whatever the result. Returns 0,
 * SW_EINVAL, SW_ESESSION or the errors of sw_server_send. */
SW_API int sw_http_response_end(sw_http_response_t *resp, const void *data, size_t len);

/** Ends the response with `length` bytes of the file at `path` from `offset` (0: to the end)
 * as its body, sent with sendfile(2). Before anything was written. Frees `resp` as end() does
 * (also on error). Returns 0, SW_EINVAL (offset/length past the end), SW_ESERVER_STATE,
 * SW_ESESSION, the negated errno of open/fstat (SW_ENOENT, SW_EISDIR...) or the errors of
 * sw_server_sendfile. A temporary file of the request being answered (an upload's tmp_name,
 * sw_http_request_body_file) is taken by the send: removed once opened for sending (maybe
 * after on_request returned, by another thread or process), instead of when on_request
 * returns. */
SW_API int sw_http_response_sendfile(sw_http_response_t *resp, const char *path, uint64_t offset,
                                     uint64_t length);

/** Ends the response as a redirect to `location` with `status` (0: 302). Frees `resp`.
 * Returns the codes of end(), SW_EINVAL (status not 3xx, location with CR/LF). */
SW_API int sw_http_response_redirect(sw_http_response_t *resp, const char *location, int status);

/** 1 while the response's connection is open, else 0. */
SW_API int sw_http_response_writable(const sw_http_response_t *resp);

SW_EXTERN_C_END

#endif
