/*
 * chat_server: a WebSocket chat room on libswoole's HTTP and WebSocket servers.
 *
 *   chat_server [--host 127.0.0.1] [--port 9502] [--mode base|process|thread] [--workers N]
 *               [--max-users N]
 *
 * Routes:
 *   GET /           an HTML page whose script joins the room and shows what is said
 *   GET /users      the users in the room as JSON:
 *                   {"users":[{"session":S,"name":"NAME","joined":UNIX_TIME,"worker":W},...],
 *                    "count":N}   (W: the worker that holds the connection)
 *   /chat?name=N    the WebSocket endpoint (other paths refuse the handshake with 404)
 *
 * Protocol (text frames, UTF-8):
 *   - on joining, everyone in the room (the new user included) gets "* NAME joined";
 *   - every text message a user sends reaches every user (the sender included) as
 *     "NAME: TEXT"; binary messages are ignored; a message over 64 KiB closes the sender's
 *     connection with 1009;
 *   - when a user leaves (close frame or a dropped connection), the others get "* NAME left".
 *   NAME is the `name` query argument cut to 32 bytes, every byte other than ASCII letters,
 *   digits, '-', '_' and '.' replaced by '_' (so names never need escaping in JSON or the
 *   protocol); without one it is "userSESSION".
 *
 * Users live in a shared table (swoole/table.h): key = the session id in decimal, columns
 * name, joined and worker. It is made before the server starts, so every worker (process or thread)
 * sees the same rows: /users can be answered by any worker, and a message names its sender
 * wherever it is handled. Broadcasts walk sw_websocket_connections() and push to each
 * session with sw_websocket_push(), which reaches connections of any worker: in PROCESS and
 * THREAD mode through the reactor threads, in BASE mode with several workers by forwarding
 * the push to the worker process that owns the connection.
 *
 * Prints "listening on http://HOST:PORT" once the port is bound (port 0 picks a free one), and
 * stops on SIGTERM or SIGINT.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "swoole/error.h"
#include "swoole/http_server.h"
#include "swoole/table.h"
#include "swoole/websocket.h"
#include "swoole/websocket_server.h"

#define NAME_MAX_LEN  32
#define MESSAGE_LIMIT "65536" /* websocket_max_message_size */
#define ROW_BUF       256     /* bytes of a row buffer on the stack */

enum { COL_NAME, COL_JOINED, COL_WORKER };

typedef struct chat_s {
    sw_server_t *srv;
    sw_table_t *users;
    char addr[128];
} chat_t;

static const char page[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>libswoole chat</title>\n"
    "<style>#log{height:20em;overflow-y:scroll;border:1px solid #888;padding:4px}</style>\n"
    "</head>\n<body><h1>Chat</h1>\n"
    "<p><input id=\"name\" placeholder=\"your name\"> <button id=\"join\">join</button> "
    "<span id=\"state\">not connected</span></p>\n"
    "<pre id=\"log\"></pre>\n"
    "<form id=\"form\"><input id=\"text\" size=\"60\" autocomplete=\"off\"> "
    "<button>send</button></form>\n"
    "<script>\n"
    "let ws = null;\n"
    "const $ = (id) => document.getElementById(id);\n"
    "const log = (s) => { $('log').textContent += s + '\\n'; $('log').scrollTop = 1e9; };\n"
    "$('join').onclick = () => {\n"
    "  if (ws) ws.close();\n"
    "  const proto = location.protocol === 'https:' ? 'wss://' : 'ws://';\n"
    "  ws = new WebSocket(proto + location.host + '/chat?name=' +\n"
    "                     encodeURIComponent($('name').value));\n"
    "  ws.onopen = () => { $('state').textContent = 'connected'; };\n"
    "  ws.onmessage = (e) => log(e.data);\n"
    "  ws.onclose = (e) => { $('state').textContent = 'closed ' + e.code; };\n"
    "};\n"
    "$('form').onsubmit = (e) => {\n"
    "  e.preventDefault();\n"
    "  if (ws && ws.readyState === 1 && $('text').value) ws.send($('text').value);\n"
    "  $('text').value = '';\n"
    "};\n"
    "</script></body></html>\n";

static size_t session_key(uint64_t session, char key[24])
{
    return (size_t)snprintf(key, 24, "%" PRIu64, session);
}

/* The user's name (NUL-terminated, at most NAME_MAX_LEN bytes) from the table; a made-up one
 * when the row is gone. */
static void user_name(chat_t *chat, uint64_t session, char name[NAME_MAX_LEN + 1])
{
    char key[24];
    size_t klen = session_key(session, key);
    size_t n = 0;
    if (sw_table_get_string(chat->users, key, klen, COL_NAME, name, NAME_MAX_LEN, &n) < 0) {
        n = (size_t)snprintf(name, NAME_MAX_LEN + 1, "user%" PRIu64, session);
    }
    name[n] = '\0';
}

/* Sends `text` to every established WebSocket connection except `skip` (0: none). Connections
 * that closed meanwhile (SW_ESESSION) or whose handshake another worker has not finished yet
 * (SW_EPROTOTYPE) are passed over. */
static void broadcast(chat_t *chat, const char *text, size_t len, uint64_t skip)
{
    uint64_t cursor = 0, ids[256];
    int n;
    while ((n = sw_websocket_connections(chat->srv, &cursor, ids, 256)) > 0) {
        for (int i = 0; i < n; i++) {
            if (ids[i] == skip) {
                continue;
            }
            int r = sw_websocket_push(chat->srv, ids[i], text, len, SW_WS_OP_TEXT,
                                      SW_WEBSOCKET_FLAG_FIN);
            if (r < 0 && r != SW_ESESSION && r != SW_EPROTOTYPE) {
                fprintf(stderr, "chat_server: push to %" PRIu64 ": %s\n", ids[i], sw_strerror(r));
            }
        }
    }
}

static void send_users(chat_t *chat, sw_http_response_t *resp)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    unsigned char *row = malloc(sw_table_row_size(chat->users));
    char key[64]; /* key_max 63: at least sw_table_key_max() bytes */
    size_t klen;
    int count = 0;
    if (!buf || !row) {
        free(buf);
        free(row);
        sw_http_response_status(resp, 503, NULL);
        sw_http_response_end(resp, "out of memory\n", 14);
        return;
    }
    len = (size_t)snprintf(buf, cap, "{\"users\":[");
    sw_table_iter_t it;
    sw_table_iter_init(&it, chat->users);
    int r;
    while ((r = sw_table_iter_next(&it, key, &klen, row)) != 0) {
        if (r < 0) {
            continue; /* a torn row (its writer died): skip it */
        }
        const void *name;
        size_t nlen;
        int64_t joined = 0, wid = 0;
        if (sw_table_row_get_string(chat->users, row, COL_NAME, &name, &nlen) < 0 ||
            sw_table_row_get_int(chat->users, row, COL_JOINED, &joined) < 0 ||
            sw_table_row_get_int(chat->users, row, COL_WORKER, &wid) < 0) {
            continue;
        }
        /* One entry is at most ~140 bytes: names are sanitized (no escaping needed). */
        if (cap - len < 256) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                break;
            }
            buf = nb;
            cap *= 2;
        }
        len += (size_t)snprintf(
            buf + len, cap - len,
            "%s{\"session\":%.*s,\"name\":\"%.*s\",\"joined\":%" PRId64 ",\"worker\":%" PRId64 "}",
            count ? "," : "", (int)klen, key, (int)nlen, (const char *)name, joined, wid);
        count++;
    }
    len += (size_t)snprintf(buf + len, cap - len, "],\"count\":%d}\n", count);
    sw_http_response_header(resp, "Content-Type", "application/json");
    sw_http_response_header(resp, "Cache-Control", "no-store");
    sw_http_response_end(resp, buf, len);
    free(buf);
    free(row);
}

static void on_request(sw_http_server_t *hs, sw_http_request_t *req, sw_http_response_t *resp,
                       void *arg)
{
    (void)hs;
    chat_t *chat = arg;
    const char *path = sw_http_request_path(req, NULL);
    int m = sw_http_request_method(req);
    bool get = m == SW_HTTP_METHOD_GET || m == SW_HTTP_METHOD_HEAD;
    if (get && strcmp(path, "/") == 0) {
        sw_http_response_header(resp, "Content-Type", "text/html; charset=utf-8");
        sw_http_response_end(resp, page, sizeof(page) - 1);
    } else if (get && strcmp(path, "/users") == 0) {
        send_users(chat, resp);
    } else {
        sw_http_response_status(resp, 404, NULL);
        sw_http_response_header(resp, "Content-Type", "text/plain");
        sw_http_response_end(resp, "Not Found\n", 10);
    }
}

static int on_handshake(sw_websocket_server_t *ws, sw_http_request_t *req, sw_http_response_t *resp,
                        void *arg)
{
    (void)ws;
    (void)resp;
    (void)arg;
    return strcmp(sw_http_request_path(req, NULL), "/chat") == 0 ? 0 : 404;
}

static void on_open(sw_websocket_server_t *ws, sw_http_request_t *req, void *arg)
{
    (void)ws;
    chat_t *chat = arg;
    uint64_t session = sw_http_request_session(req);
    char name[NAME_MAX_LEN + 1];
    size_t qlen = 0, n = 0;
    const char *q = sw_http_request_get(req, "name", &qlen);
    for (; q && n < qlen && n < NAME_MAX_LEN; n++) {
        char c = q[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        name[n] = ok ? c : '_';
    }
    if (n == 0) {
        n = (size_t)snprintf(name, sizeof(name), "user%" PRIu64, session);
    }
    name[n] = '\0';

    unsigned char row[ROW_BUF]; /* main() checked sw_table_row_size() against it */
    char key[24];
    size_t klen = session_key(session, key);
    sw_table_row_clear(chat->users, row);
    sw_table_row_set_string(chat->users, row, COL_NAME, name, n);
    sw_table_row_set_int(chat->users, row, COL_JOINED, (int64_t)time(NULL));
    sw_table_row_set_int(chat->users, row, COL_WORKER, sw_server_worker_id(chat->srv));
    int r = sw_table_set(chat->users, key, klen, row);
    if (r < 0) {
        /* SW_ETABLE_FULL: --max-users are in the room. */
        static const char why[] = "the room is full";
        sw_websocket_disconnect(chat->srv, session, SW_WS_CLOSE_TRY_AGAIN_LATER, why,
                                sizeof(why) - 1);
        return;
    }
    char notice[NAME_MAX_LEN + 16];
    int len = snprintf(notice, sizeof(notice), "* %s joined", name);
    /* Our own connection first (pushing to it from on_open is allowed), then everyone else:
     * whether the listing already shows this connection depends on the mode. */
    sw_websocket_push(chat->srv, session, notice, (size_t)len, SW_WS_OP_TEXT,
                      SW_WEBSOCKET_FLAG_FIN);
    broadcast(chat, notice, (size_t)len, session);
}

static void on_message(sw_websocket_server_t *ws, const sw_websocket_frame_t *f, void *arg)
{
    (void)ws;
    chat_t *chat = arg;
    if (f->opcode != SW_WS_OP_TEXT) {
        return;
    }
    char name[NAME_MAX_LEN + 1];
    user_name(chat, f->session, name);
    size_t nlen = strlen(name);
    char *line = malloc(nlen + 2 + f->len);
    if (!line) {
        return;
    }
    memcpy(line, name, nlen);
    memcpy(line + nlen, ": ", 2);
    if (f->len) {
        memcpy(line + nlen + 2, f->data, f->len);
    }
    broadcast(chat, line, nlen + 2 + f->len, 0);
    free(line);
}

static void on_close(sw_websocket_server_t *ws, uint64_t session, unsigned code, void *arg)
{
    (void)ws;
    (void)code;
    chat_t *chat = arg;
    char key[24];
    size_t klen = session_key(session, key);
    char name[NAME_MAX_LEN + 1];
    size_t n = 0;
    if (sw_table_get_string(chat->users, key, klen, COL_NAME, name, NAME_MAX_LEN, &n) < 0) {
        return; /* never joined (the room was full) */
    }
    sw_table_del(chat->users, key, klen);
    char notice[NAME_MAX_LEN + 16];
    int len = snprintf(notice, sizeof(notice), "* %.*s left", (int)n, name);
    broadcast(chat, notice, (size_t)len, session);
}

/* A worker (re)starts. After a BASE worker process died, its connections are gone but their
 * on_close never ran: drop the rows of sessions that no longer exist. (Connections opened
 * meanwhile have rows of live sessions; a row is only ever deleted for a dead session.) */
static void on_worker_start(sw_server_t *srv, int worker_id, void *arg)
{
    (void)worker_id;
    chat_t *chat = arg;
    char key[64];
    size_t klen;
    sw_table_iter_t it;
    sw_table_iter_init(&it, chat->users);
    while (sw_table_iter_next(&it, key, &klen, NULL) != 0) {
        key[klen < sizeof(key) ? klen : sizeof(key) - 1] = '\0';
        uint64_t session = strtoull(key, NULL, 10);
        if (session && !sw_server_exists(srv, session)) {
            sw_table_del(chat->users, key, klen);
        }
    }
}

static void on_start(sw_server_t *srv, void *arg)
{
    (void)srv;
    chat_t *chat = arg;
    printf("listening on %s\n", chat->addr);
    fflush(stdout);
}

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--host H] [--port P] [--mode base|process|thread] [--workers N] "
            "[--max-users N]\n",
            argv0);
    return 2;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *workers = "1";
    int port = 9502;
    long max_users = 1024;
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
            workers = v;
        } else if (strcmp(a, "--max-users") == 0) {
            max_users = strtol(v, NULL, 10);
            if (max_users < 1 || max_users > 1000000) {
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

    chat_t chat = {0};
    sw_table_column_t cols[] = {
        [COL_NAME] = {"name", SW_TABLE_STRING, NAME_MAX_LEN},
        [COL_JOINED] = {"joined", SW_TABLE_INT, 8},
        [COL_WORKER] = {"worker", SW_TABLE_INT, 4},
    };
    sw_table_options_t topts;
    sw_table_options_init(&topts);
    topts.rows = (uint32_t)max_users;
    int r = sw_table_create(&chat.users, &topts, cols, 3); /* before the workers exist */
    if (r < 0) {
        fprintf(stderr, "table: %s\n", sw_strerror(r));
        return 1;
    }
    if (sw_table_row_size(chat.users) > ROW_BUF) {
        fprintf(stderr, "table: rows of %zu bytes\n", sw_table_row_size(chat.users));
        sw_table_destroy(chat.users);
        return 1;
    }
    sw_port_t *lp;
    sw_http_server_t *hs = NULL;
    sw_websocket_server_t *ws = NULL;
    r = sw_server_create(&chat.srv, mode);
    if (r < 0) {
        fprintf(stderr, "server: %s\n", sw_strerror(r));
        sw_table_destroy(chat.users);
        return 1;
    }
    r = sw_server_set_option(chat.srv, "worker_num", workers);
    if (r == 0) {
        r = sw_server_listen(chat.srv, host, port, strchr(host, ':') ? SW_SOCK_TCP6 : SW_SOCK_TCP,
                             &lp);
    }
    if (r == 0) {
        r = sw_http_server_create(&hs, chat.srv);
    }
    if (r == 0) {
        r = sw_websocket_server_create(&ws, hs);
    }
    if (r == 0) {
        r = sw_websocket_server_enable_port(ws, lp); /* also an HTTP port */
    }
    if (r == 0) {
        r = sw_websocket_server_set_option(ws, "websocket_max_message_size", MESSAGE_LIMIT);
    }
    if (r == 0) {
        sw_websocket_handlers_t wh = {.on_handshake = on_handshake,
                                      .on_open = on_open,
                                      .on_message = on_message,
                                      .on_close = on_close};
        r = sw_websocket_server_set_handlers(ws, &wh, &chat);
    }
    if (r == 0) {
        snprintf(chat.addr, sizeof(chat.addr),
                 strchr(host, ':') ? "http://[%s]:%d" : "http://%s:%d", host, sw_port_number(lp));
        sw_http_handlers_t h = {
            .on_request = on_request,
            .server = {.on_start = on_start, .on_worker_start = on_worker_start}};
        r = sw_http_server_set_handlers(hs, &h, &chat);
    }
    if (r == 0) {
        r = sw_server_start(chat.srv);
    }
    if (r < 0) {
        fprintf(stderr, "chat_server: %s\n", sw_strerror(r));
    }
    if (ws) {
        sw_websocket_server_destroy(ws);
    }
    if (hs) {
        sw_http_server_destroy(hs);
    }
    sw_server_destroy(chat.srv);
    sw_table_destroy(chat.users);
    return r < 0 ? 1 : 0;
}
