/*
 * comet_server: HTTP long polling ("comet") on libswoole's HTTP server.
 *
 *   comet_server [--host 127.0.0.1] [--port 9503] [--mode base|process|thread] [--workers N]
 *                [--timeout SECONDS]
 *
 * Routes:
 *   POST /publish       the body (UTF-8 text, 1..4096 bytes) becomes the next message:
 *                       200 {"id":N}; 400 empty or not UTF-8, 413 too long
 *   GET /poll?since=N   the messages with an id above N (since absent: 0), oldest first:
 *                       200 {"messages":[{"id":I,"text":"..."},...],"last_id":L}
 *                       where L is the id to pass as `since` next time. When there is none
 *                       yet, the response is held (not ended in on_request) until a message
 *                       is published or --timeout seconds (default 25) pass; the timeout is
 *                       answered with an empty list and last_id = N. At most 100 messages
 *                       (and about 1 MiB) per answer: poll again with last_id for the rest.
 *   GET /               an HTML page that long-polls and publishes
 *   Every answer carries "X-Worker: ID", the worker that answered it.
 *
 * Ids start at 1 and grow by one per message. The server keeps the last 1000 messages: a
 * client further behind gets the oldest one kept next (it sees the gap in the ids).
 *
 * Several workers. Every worker must agree on the ids and the messages, and a publish
 * handled by one worker must answer the polls waiting in every worker. So:
 *   - messages live in a shared table (swoole/table.h) made before the server starts: a
 *     counter row "last" (incremented atomically: it hands out the ids) and a ring of 1000
 *     rows keyed by id % 1000, each holding its id and text. A publisher takes an id, then
 *     writes the slot; a reader walks the ids after `since` and stops at the first slot that
 *     does not hold its id yet (a publish still being written: its wake-up comes after the
 *     write), and skips ids whose slot already holds a newer message (overwritten);
 *   - each worker has an eventfd, made before the start (so inherited by worker processes
 *     and shared by worker threads); a publisher answers its own worker's waiting polls
 *     directly and writes 1 to every other worker's eventfd; each worker watches its own
 *     eventfd on its loop and, when woken, answers the polls that now have messages.
 *   (sw_server_send_message to each worker would do the same, but sw_http_server_set_handlers
 *   does not install the program's on_pipe_message on the server, so the messages would not
 *   reach it.)
 *
 * Held polls. Each worker keeps its waiting polls in a list, each with a one-shot timer for
 * the timeout. A client that disconnects while it waits: on_close finds its polls and ends
 * them (sw_http_response_end on a closed connection frees the response and returns
 * SW_ESESSION). At shutdown each worker's on_worker_stop answers what is still held with 503
 * (in BASE mode the connections are already closed by then and nothing is held) and frees it.
 *
 * Prints "listening on http://HOST:PORT" once the port is bound (port 0 picks a free one), and
 * stops on SIGTERM or SIGINT.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "swoole/error.h"
#include "swoole/http_server.h"
#include "swoole/loop.h"
#include "swoole/table.h"

#define RING         1000u      /* messages kept */
#define TEXT_MAX     4096u      /* bytes of one message */
#define BATCH_MAX    100        /* messages in one answer */
#define ANSWER_BYTES (1u << 20) /* no message is added to an answer past this size */
#define POLLS_MAX    10000u     /* waiting polls per worker; more are answered 503 */

enum { COL_ID, COL_TEXT };

typedef struct comet_s comet_t;
typedef struct wstate_s wstate_t;

/* A poll whose response is held. */
typedef struct poll_s {
    struct poll_s *prev, *next;
    wstate_t *w;
    sw_http_response_t *resp;
    uint64_t session;
    int64_t since;
    uint64_t timer;
} poll_t;

/* One worker's state (an array indexed by worker id: processes use their own copy, threads
 * their own element). */
struct wstate_s {
    comet_t *app;
    poll_t polls; /* list head */
    size_t npolls;
    sw_io_t io; /* the eventfd watcher */
    bool started;
};

struct comet_s {
    sw_server_t *srv;
    sw_table_t *msgs;
    uint64_t timeout_ms;
    int nworkers;
    int *efd;       /* one eventfd per worker */
    wstate_t *work; /* nworkers */
    char addr[128];
};

static const char page[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>libswoole comet</title>"
    "</head>\n<body><h1>Long polling</h1>\n"
    "<form id=\"form\"><input id=\"text\" size=\"60\" autocomplete=\"off\"> "
    "<button>publish</button></form>\n<pre id=\"log\"></pre>\n"
    "<script>\n"
    "const $ = (id) => document.getElementById(id);\n"
    "let since = 0;\n"
    "async function poll() {\n"
    "  for (;;) {\n"
    "    try {\n"
    "      const r = await fetch('/poll?since=' + since);\n"
    "      if (r.status !== 200) { await new Promise((f) => setTimeout(f, 1000)); continue; }\n"
    "      const j = await r.json();\n"
    "      for (const m of j.messages) $('log').textContent += m.id + ': ' + m.text + '\\n';\n"
    "      since = j.last_id;\n"
    "    } catch (e) { await new Promise((f) => setTimeout(f, 1000)); }\n"
    "  }\n"
    "}\n"
    "$('form').onsubmit = (e) => {\n"
    "  e.preventDefault();\n"
    "  if ($('text').value) fetch('/publish', {method: 'POST', body: $('text').value});\n"
    "  $('text').value = '';\n"
    "};\n"
    "poll();\n"
    "</script></body></html>\n";

/* ---- a growable output buffer --------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    bool oom;
} buf_t;

static void buf_add(buf_t *b, const void *data, size_t len)
{
    if (b->oom) {
        return;
    }
    if (b->cap - b->len < len) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap - b->len < len) {
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
}

static void buf_str(buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* Appends `s` as the inside of a JSON string (RFC 8259 §7): quote, backslash and control
 * characters escaped; the rest (UTF-8, checked at publish) as it is. */
static void buf_json(buf_t *b, const char *s, size_t len)
{
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        buf_add(b, s + run, i - run);
        run = i + 1;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            buf_add(b, esc, 2);
        } else if (c == '\n') {
            buf_add(b, "\\n", 2);
        } else {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            buf_add(b, esc, 6);
        }
    }
    buf_add(b, s + run, len - run);
}

/* Well-formed UTF-8 as RFC 3629 §4 defines it (no overlongs, no surrogates, up to U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            return false;
        }
        if (len - i <= n) {
            return false;
        }
        if (s[i + 1] < lo || s[i + 1] > hi) {
            return false;
        }
        for (size_t k = 2; k <= n; k++) {
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) {
                return false;
            }
        }
        i += n + 1;
    }
    return true;
}

/* ---- the message store ---------------------------------------------------------------------- */

static size_t slot_key(uint64_t id, char key[16])
{
    return (size_t)snprintf(key, 16, "%u", (unsigned)(id % RING));
}

static int64_t last_id(comet_t *app)
{
    int64_t v = 0;
    if (sw_table_get_int(app->msgs, "last", 4, COL_ID, &v) < 0) {
        return 0;
    }
    return v;
}

/* Builds the answer for `since` in `out` and returns how many messages it holds (0: none
 * yet), or -1 when out of memory. */
static int collect(comet_t *app, int64_t since, buf_t *out)
{
    int64_t last = last_id(app);
    int64_t from = since + 1;
    if (last > (int64_t)RING && from < last - (int64_t)RING + 1) {
        from = last - (int64_t)RING + 1; /* older ones are overwritten */
    }
    int count = 0;
    int64_t upto = since;
    unsigned char *row = NULL;
    buf_str(out, "{\"messages\":[");
    if (from <= last) {
        row = malloc(sw_table_row_size(app->msgs));
        if (!row) {
            return -1;
        }
    }
    for (int64_t id = from; id <= last && count < BATCH_MAX && out->len < ANSWER_BYTES; id++) {
        char key[16];
        size_t klen = slot_key((uint64_t)id, key);
        int64_t sid = 0;
        const void *text;
        size_t tlen;
        if (sw_table_get(app->msgs, key, klen, row) < 0 ||
            sw_table_row_get_int(app->msgs, row, COL_ID, &sid) < 0 || sid < id) {
            break; /* not written yet: its publisher wakes us once it is */
        }
        if (sid > id) {
            upto = id; /* overwritten meanwhile: skipped */
            continue;
        }
        if (sw_table_row_get_string(app->msgs, row, COL_TEXT, &text, &tlen) < 0) {
            break;
        }
        char head[48];
        snprintf(head, sizeof(head), "%s{\"id\":%" PRId64 ",\"text\":\"", count ? "," : "", id);
        buf_str(out, head);
        buf_json(out, text, tlen);
        buf_str(out, "\"}");
        upto = id;
        count++;
    }
    free(row);
    char tail[48];
    snprintf(tail, sizeof(tail), "],\"last_id\":%" PRId64 "}\n", count ? upto : since);
    buf_str(out, tail);
    return out->oom ? -1 : count;
}

/* ---- held polls ----------------------------------------------------------------------------- */

static void poll_unlink(poll_t *p)
{
    p->prev->next = p->next;
    p->next->prev = p->prev;
    p->w->npolls--;
    if (p->timer) {
        (void)sw_server_clear_timer(p->w->app->srv, p->timer);
    }
}

static void answer(sw_http_response_t *resp, int status, const char *body, size_t len)
{
    if (status != 200) {
        sw_http_response_status(resp, status, NULL);
    }
    sw_http_response_header(resp, "Content-Type",
                            status == 200 ? "application/json" : "text/plain");
    sw_http_response_header(resp, "Cache-Control", "no-store");
    sw_http_response_end(resp, body, len);
}

/* Answers the polls of this worker that have messages now. */
static void wake_polls(wstate_t *w)
{
    poll_t *p = w->polls.next;
    while (p != &w->polls) {
        poll_t *next = p->next;
        buf_t b = {0};
        int n = collect(w->app, p->since, &b);
        if (n != 0) {
            poll_unlink(p);
            if (n > 0) {
                answer(p->resp, 200, b.p, b.len);
            } else {
                answer(p->resp, 503, "out of memory\n", 14);
            }
            free(p);
        }
        free(b.p);
        p = next;
    }
}

static void on_poll_timeout(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    poll_t *p = arg;
    p->timer = 0; /* a one-shot timer is gone once it fired */
    poll_unlink(p);
    char body[64];
    int n = snprintf(body, sizeof(body), "{\"messages\":[],\"last_id\":%" PRId64 "}\n", p->since);
    answer(p->resp, 200, body, (size_t)n);
    free(p);
}

static void on_notify(sw_io_t *io, int events, void *arg)
{
    (void)events;
    wstate_t *w = arg;
    uint64_t v;
    if (read(io->fd, &v, sizeof(v)) < 0) {
        /* EAGAIN: another read emptied it; nothing else can fail on an eventfd */
    }
    wake_polls(w);
}

/* A message was stored: wake the polls of every worker. */
static void notify_all(comet_t *app, int self)
{
    wake_polls(&app->work[self]);
    uint64_t one = 1;
    for (int i = 0; i < app->nworkers; i++) {
        if (i != self && write(app->efd[i], &one, sizeof(one)) < 0) {
            /* EAGAIN only when the counter would overflow: that worker has a wake-up pending */
        }
    }
}

/* ---- requests ------------------------------------------------------------------------------- */

static void publish(comet_t *app, int self, sw_http_request_t *req, sw_http_response_t *resp)
{
    size_t len = 0;
    const char *body = sw_http_request_body(req, &len);
    if (len == 0 || !body) {
        answer(resp, 400, "empty message\n", 14);
        return;
    }
    if (len > TEXT_MAX) {
        answer(resp, 413, "message over 4096 bytes\n", 24);
        return;
    }
    if (!utf8_valid((const unsigned char *)body, len)) {
        answer(resp, 400, "message is not UTF-8\n", 21);
        return;
    }
    unsigned char *row = malloc(sw_table_row_size(app->msgs));
    int64_t id = 0;
    int r = row ? sw_table_incr_int(app->msgs, "last", 4, COL_ID, 1, &id) : SW_ENOMEM;
    if (r == 0) {
        char key[16];
        size_t klen = slot_key((uint64_t)id, key);
        sw_table_row_clear(app->msgs, row);
        sw_table_row_set_int(app->msgs, row, COL_ID, id);
        sw_table_row_set_string(app->msgs, row, COL_TEXT, body, len);
        r = sw_table_set(app->msgs, key, klen, row);
    }
    free(row);
    if (r < 0) {
        char msg[96];
        int n = snprintf(msg, sizeof(msg), "cannot store: %s\n", sw_strerror(r));
        answer(resp, 503, msg, (size_t)n);
        return;
    }
    char out[48];
    int n = snprintf(out, sizeof(out), "{\"id\":%" PRId64 "}\n", id);
    answer(resp, 200, out, (size_t)n);
    notify_all(app, self);
}

static void start_poll(comet_t *app, wstate_t *w, sw_http_request_t *req, sw_http_response_t *resp)
{
    size_t slen = 0;
    const char *s = sw_http_request_get(req, "since", &slen);
    int64_t since = 0;
    if (s) {
        if (slen == 0 || slen > 18) {
            answer(resp, 400, "since: a decimal id\n", 20);
            return;
        }
        for (size_t i = 0; i < slen; i++) {
            if (s[i] < '0' || s[i] > '9') {
                answer(resp, 400, "since: a decimal id\n", 20);
                return;
            }
            since = since * 10 + (s[i] - '0');
        }
    }
    buf_t b = {0};
    int n = collect(app, since, &b);
    if (n != 0) {
        if (n > 0) {
            answer(resp, 200, b.p, b.len);
        } else {
            answer(resp, 503, "out of memory\n", 14);
        }
        free(b.p);
        return;
    }
    free(b.p);
    poll_t *p = w->npolls < POLLS_MAX ? calloc(1, sizeof(*p)) : NULL;
    if (!p || sw_server_after(app->srv, app->timeout_ms, on_poll_timeout, p, &p->timer) < 0) {
        free(p);
        answer(resp, 503, "too many waiting polls\n", 23);
        return;
    }
    p->w = w;
    p->resp = resp; /* held: ended by a publish, the timeout, a close or the worker's stop */
    p->session = sw_http_request_session(req);
    p->since = since;
    p->prev = w->polls.prev;
    p->next = &w->polls;
    p->prev->next = p;
    w->polls.prev = p;
    w->npolls++;
}

static void on_request(sw_http_server_t *hs, sw_http_request_t *req, sw_http_response_t *resp,
                       void *arg)
{
    comet_t *app = arg;
    int self = sw_server_worker_id(sw_http_server_server(hs));
    if (self < 0 || self >= app->nworkers || !app->work[self].started) {
        answer(resp, 503, "not a worker\n", 13);
        return;
    }
    char wid[16];
    snprintf(wid, sizeof(wid), "%d", self);
    sw_http_response_header(resp, "X-Worker", wid); /* which worker answered (for tests) */
    const char *path = sw_http_request_path(req, NULL);
    int m = sw_http_request_method(req);
    if (strcmp(path, "/poll") == 0 && m == SW_HTTP_METHOD_GET) {
        start_poll(app, &app->work[self], req, resp);
    } else if (strcmp(path, "/publish") == 0 && m == SW_HTTP_METHOD_POST) {
        publish(app, self, req, resp);
    } else if (strcmp(path, "/publish") == 0 || strcmp(path, "/poll") == 0) {
        sw_http_response_header(resp, "Allow", strcmp(path, "/poll") == 0 ? "GET" : "POST");
        answer(resp, 405, "Method Not Allowed\n", 19);
    } else if (strcmp(path, "/") == 0 && (m == SW_HTTP_METHOD_GET || m == SW_HTTP_METHOD_HEAD)) {
        sw_http_response_header(resp, "Content-Type", "text/html; charset=utf-8");
        sw_http_response_end(resp, page, sizeof(page) - 1);
    } else {
        answer(resp, 404, "Not Found\n", 10);
    }
}

/* ---- worker life ---------------------------------------------------------------------------- */

static void on_worker_start(sw_server_t *srv, int worker_id, void *arg)
{
    comet_t *app = arg;
    if (worker_id < 0 || worker_id >= app->nworkers) {
        return;
    }
    wstate_t *w = &app->work[worker_id];
    w->app = app;
    w->polls.next = w->polls.prev = &w->polls;
    w->npolls = 0;
    int r = sw_io_init(sw_server_loop(srv), &w->io, app->efd[worker_id], on_notify, w);
    if (r == 0) {
        r = sw_io_start(&w->io, SW_EVENT_READ);
    }
    if (r < 0) {
        fprintf(stderr, "comet_server: worker %d cannot watch its eventfd: %s\n", worker_id,
                sw_strerror(r));
        return; /* its requests are answered 503 */
    }
    w->started = true;
}

/* A connection closed: drop its held polls (ending a response of a closed connection frees
 * it). */
static void on_close(sw_server_t *srv, uint64_t session, int reactor_id, void *arg)
{
    (void)reactor_id;
    comet_t *app = arg;
    int self = sw_server_worker_id(srv);
    if (self < 0 || self >= app->nworkers || !app->work[self].started) {
        return;
    }
    wstate_t *w = &app->work[self];
    poll_t *p = w->polls.next;
    while (p != &w->polls) {
        poll_t *next = p->next;
        if (p->session == session) {
            poll_unlink(p);
            (void)sw_http_response_end(p->resp, NULL, 0); /* SW_ESESSION; frees it */
            free(p);
        }
        p = next;
    }
}

static void on_worker_stop(sw_server_t *srv, int worker_id, void *arg)
{
    (void)srv;
    comet_t *app = arg;
    if (worker_id < 0 || worker_id >= app->nworkers || !app->work[worker_id].started) {
        return;
    }
    wstate_t *w = &app->work[worker_id];
    sw_io_stop(&w->io);
    while (w->polls.next != &w->polls) {
        poll_t *p = w->polls.next;
        poll_unlink(p);
        answer(p->resp, 503, "server stopping\n", 16);
        free(p);
    }
    w->started = false;
}

static void on_start(sw_server_t *srv, void *arg)
{
    (void)srv;
    comet_t *app = arg;
    printf("listening on %s\n", app->addr);
    fflush(stdout);
}

/* ---- main ----------------------------------------------------------------------------------- */

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--host H] [--port P] [--mode base|process|thread] [--workers N] "
            "[--timeout SECONDS]\n",
            argv0);
    return 2;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 9503;
    long workers = 1;
    double timeout = 25;
    sw_server_mode_t mode = SW_MODE_BASE;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            return usage(argv[0]);
        }
        if (strcmp(a, "--host") == 0) {
            host = v;
        } else if (strcmp(a, "--port") == 0) {
            port = atoi(v);
        } else if (strcmp(a, "--workers") == 0) {
            workers = strtol(v, NULL, 10);
            if (workers < 1 || workers > 1024) {
                return usage(argv[0]);
            }
        } else if (strcmp(a, "--timeout") == 0) {
            timeout = strtod(v, NULL);
            if (!(timeout > 0 && timeout <= 3600)) {
                return usage(argv[0]);
            }
        } else if (strcmp(a, "--mode") == 0) {
            if (strcmp(v, "base") == 0) {
                mode = SW_MODE_BASE;
            } else if (strcmp(v, "process") == 0) {
                mode = SW_MODE_PROCESS;
            } else if (strcmp(v, "thread") == 0) {
                mode = SW_MODE_THREAD;
            } else {
                return usage(argv[0]);
            }
        } else {
            return usage(argv[0]);
        }
    }

    comet_t app = {.timeout_ms = (uint64_t)(timeout * 1000), .nworkers = (int)workers};
    int rc = 1, r;
    app.efd = calloc((size_t)workers, sizeof(int));
    app.work = calloc((size_t)workers, sizeof(wstate_t));
    if (!app.efd || !app.work) {
        fprintf(stderr, "comet_server: out of memory\n");
        free(app.efd);
        free(app.work);
        return 1;
    }
    for (int i = 0; i < app.nworkers; i++) {
        app.efd[i] = -1;
    }
    for (int i = 0; i < app.nworkers; i++) {
        app.efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (app.efd[i] < 0) {
            perror("eventfd");
            goto out;
        }
    }
    sw_table_column_t cols[] = {
        [COL_ID] = {"id", SW_TABLE_INT, 8},
        [COL_TEXT] = {"text", SW_TABLE_STRING, TEXT_MAX},
    };
    sw_table_options_t topts;
    sw_table_options_init(&topts);
    topts.rows = RING + 1;                           /* the ring and the counter */
    r = sw_table_create(&app.msgs, &topts, cols, 2); /* before the workers exist */
    if (r < 0) {
        fprintf(stderr, "table: %s\n", sw_strerror(r));
        goto out;
    }
    sw_port_t *lp;
    sw_http_server_t *hs = NULL;
    char num[24];
    snprintf(num, sizeof(num), "%ld", workers);
    r = sw_server_create(&app.srv, mode);
    if (r < 0) {
        fprintf(stderr, "server: %s\n", sw_strerror(r));
        goto out;
    }
    r = sw_server_set_option(app.srv, "worker_num", num);
    if (r == 0) {
        r = sw_server_listen(app.srv, host, port, strchr(host, ':') ? SW_SOCK_TCP6 : SW_SOCK_TCP,
                             &lp);
    }
    if (r == 0) {
        r = sw_http_server_create(&hs, app.srv);
    }
    if (r == 0) {
        r = sw_http_server_enable_port(hs, lp);
    }
    if (r == 0) {
        snprintf(app.addr, sizeof(app.addr), strchr(host, ':') ? "http://[%s]:%d" : "http://%s:%d",
                 host, sw_port_number(lp));
        sw_http_handlers_t h = {.on_request = on_request,
                                .server = {.on_start = on_start,
                                           .on_worker_start = on_worker_start,
                                           .on_worker_stop = on_worker_stop,
                                           .on_close = on_close}};
        r = sw_http_server_set_handlers(hs, &h, &app);
    }
    if (r == 0) {
        r = sw_server_start(app.srv);
    }
    if (r < 0) {
        fprintf(stderr, "comet_server: %s\n", sw_strerror(r));
    } else {
        rc = 0;
    }
    if (hs) {
        sw_http_server_destroy(hs);
    }
    sw_server_destroy(app.srv);
out:
    if (app.msgs) {
        sw_table_destroy(app.msgs);
    }
    for (int i = 0; i < app.nworkers; i++) {
        if (app.efd[i] >= 0) {
            close(app.efd[i]);
        }
    }
    free(app.efd);
    free(app.work);
    return rc;
}
