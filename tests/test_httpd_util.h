/*
 * Helpers of the HTTP server tests: an HTTP server with the tests' routes run in a forked
 * child (BASE or PROCESS mode), and a blocking client that reads whole responses with the
 * response parser of swoole/http.h.
 *
 * Routes of the test server (on_request):
 *   /hello            200 "hello\n"
 *   /echo             the body echoed; header X-Trailer = the request's X-T trailer
 *   /info             "method path a=<arg a> c=<cookie c> f=<post f> h=<X-Case header>"
 *   /files            one line per upload: "field name size content-md5-free-sum tmp_name"
 *   /sum, /size       "size=N file=0|1 sum=S f=F files=K": the body's size, 1 when it is in a
 *                     file (a request in pieces), its checksum (/sum only: s = s * 31 + byte),
 *                     the form field f, the number of uploads
 *   /echofile         the body echoed; a body in a file (in pieces) with sendfile
 *   /chunked          written as three chunks
 *   /gzip             1000 x 'a' with gzip level 6
 *   /defer            ended 50 ms later by a timer (ordering of pipelined responses)
 *   /cookie           Set-Cookie with every attribute
 *   /redirect         302 to /hello
 *   /status           599 with reason "Custom Reason"
 *   /task             the body through a task worker (taskwait; task_worker_num >= 1):
 *                     "task:" + the body
 *   anything else     404
 */
#ifndef SW_TEST_HTTPD_UTIL_H
#define SW_TEST_HTTPD_UTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "swoole/http_server.h"

typedef struct {
    pid_t pid;
    int port;
    int raw_port; /* with option "raw_port" (any value): a plain TCP port whose messages go to
                     the user's on_receive, which echoes them */
} hsrv_t;

/* Server options (pairs, NULL-terminated): names the HTTP server knows go to it, the others
 * to the server; "port:" prefixed names to the port; "fault:NAME" arms that fault point
 * (value: hits to let pass, then one failure); "raw_port" adds a non-HTTP port. */
void hsrv_start(hsrv_t *s, sw_server_mode_t mode, int workers, const char *const *opts);
void hsrv_stop(hsrv_t *s);

typedef struct {
    int status;
    char head[8192]; /* the raw head, NUL-terminated */
    size_t head_len;
    char *body; /* malloc'd, NUL-terminated */
    size_t body_len;
    int keep_alive;
} hresp_t;

/* Reads one response from fd (HEAD responses: pass is_head). Returns 0, or -1 when the
 * connection ended before a response started. Fails the test on a parse error. */
int hresp_read(int fd, hresp_t *r, int is_head);
void hresp_free(hresp_t *r);
/* The value of a header of the response (case-insensitive), copied into out; 0 or -1. */
int hresp_header(const hresp_t *r, const char *name, char *out, size_t cap);

#endif
