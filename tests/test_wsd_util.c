/*
 * The WebSocket server tests' server (forked) and client; see test_wsd_util.h.
 */
#include "test_wsd_util.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sw_test.h"
#include "test_server_util.h"

/* ---- the server (in the forked child) ------------------------------------------------------ */

static void on_request(sw_http_server_t *hs, sw_http_request_t *req, sw_http_response_t *resp,
                       void *arg)
{
    (void)hs;
    (void)arg;
    size_t n;
    const char *path = sw_http_request_path(req, &n);
    if (strcmp(path, "/hello") == 0) {
        sw_http_response_end(resp, "hello\n", 6);
    } else if (strcmp(path, "/echo") == 0) {
        const char *b = sw_http_request_body(req, &n);
        sw_http_response_end(resp, b, n);
    } else if (strcmp(path, "/whoami") == 0) {
        char s[32];
        int k = snprintf(s, sizeof(s), "%" PRIu64, sw_http_request_session(req));
        sw_http_response_end(resp, s, (size_t)k);
    } else {
        sw_http_response_status(resp, 404, NULL);
        sw_http_response_end(resp, NULL, 0);
    }
}

static int on_handshake(sw_websocket_server_t *ws, sw_http_request_t *req, sw_http_response_t *resp,
                        void *arg)
{
    (void)ws;
    (void)arg;
    size_t n;
    if (strcmp(sw_http_request_path(req, &n), "/refuse") == 0) {
        return 403;
    }
    sw_http_response_header(resp, "X-Handshake", "yes");
    return 0;
}

static void on_open(sw_websocket_server_t *ws, sw_http_request_t *req, void *arg)
{
    (void)arg;
    size_t n;
    if (strcmp(sw_http_request_path(req, &n), "/greet") == 0) {
        sw_websocket_push(sw_websocket_server_server(ws), sw_http_request_session(req), "welcome",
                          7, SW_WS_OP_TEXT, SW_WEBSOCKET_FLAG_FIN);
    }
}

static void reply(sw_server_t *srv, uint64_t s, const char *fmt, long long v)
{
    char out[64];
    int k = snprintf(out, sizeof(out), fmt, v);
    sw_websocket_push(srv, s, out, (size_t)k, SW_WS_OP_TEXT, SW_WEBSOCKET_FLAG_FIN);
}

static void on_message(sw_websocket_server_t *ws, const sw_websocket_frame_t *f, void *arg)
{
    (void)arg;
    sw_server_t *srv = sw_websocket_server_server(ws);
    char cmd[256];
    if (f->opcode == SW_WS_OP_TEXT && f->len > 4 && f->len < sizeof(cmd) &&
        memcmp(f->data, "cmd:", 4) == 0) {
        memcpy(cmd, f->data, f->len);
        cmd[f->len] = '\0';
        if (strcmp(cmd, "cmd:whoami") == 0) {
            reply(srv, f->session, "%lld", (long long)f->session);
        } else if (strncmp(cmd, "cmd:push:", 9) == 0) {
            uint64_t sid = strtoull(cmd + 9, NULL, 10);
            reply(srv, f->session, "rc=%lld",
                  sw_websocket_push(srv, sid, "x", 1, SW_WS_OP_TEXT, SW_WEBSOCKET_FLAG_FIN));
        } else if (strncmp(cmd, "cmd:est:", 8) == 0) {
            uint64_t sid = strtoull(cmd + 8, NULL, 10);
            reply(srv, f->session, "est=%lld", sw_websocket_is_established(srv, sid));
        } else if (strncmp(cmd, "cmd:bcast:", 10) == 0) {
            const char *text = cmd + 10;
            uint64_t cursor = 0, ids[8];
            long long sent = 0;
            int k;
            while ((k = sw_websocket_connections(srv, &cursor, ids, 8)) > 0) {
                for (int i = 0; i < k; i++) {
                    if (sw_websocket_push(srv, ids[i], text, strlen(text), SW_WS_OP_TEXT,
                                          SW_WEBSOCKET_FLAG_FIN) == 0) {
                        sent++;
                    }
                }
            }
            reply(srv, f->session, "sent=%lld", sent);
        } else if (strncmp(cmd, "cmd:frag:", 9) == 0) {
            /* The text in two frames: a fragment, then its continuation. */
            size_t n = strlen(cmd + 9), h = n / 2;
            sw_websocket_push(srv, f->session, cmd + 9, h, SW_WS_OP_TEXT, 0);
            sw_websocket_push(srv, f->session, cmd + 9 + h, n - h, SW_WS_OP_CONTINUATION,
                              SW_WEBSOCKET_FLAG_FIN);
        } else if (strncmp(cmd, "cmd:close:", 10) == 0) {
            sw_websocket_disconnect(srv, f->session, (unsigned)atoi(cmd + 10), "bye", 3);
        }
        return;
    }
    sw_websocket_push(srv, f->session, f->data, f->len, f->opcode, SW_WEBSOCKET_FLAG_FIN);
}

static int run(sw_server_mode_t mode, int workers, const char *const *opts, int wfd)
{
    sw_server_t *srv;
    sw_port_t *port = NULL;
    sw_http_server_t *hs;
    sw_websocket_server_t *ws;
    int r = fork_server_create(&srv, &port, mode, workers, "WSD_TEST_LOG");
    if (!srv) {
        return 1;
    }
    if (mode != SW_MODE_BASE) {
        r |= sw_server_set_option(srv, "reactor_num", "2");
    }
    r |= sw_http_server_create(&hs, srv);
    r |= sw_websocket_server_create(&ws, hs);
    r |= sw_websocket_server_enable_port(ws, port);
    r |= sw_port_set_option(port, "websocket_max_frame_size", "1200000");
    r |= sw_websocket_server_set_option(ws, "websocket_max_message_size", "1300000");
    for (int i = 0; r == 0 && opts && opts[i]; i += 2) {
        if (strncmp(opts[i], "port:", 5) == 0) {
            r = sw_port_set_option(port, opts[i] + 5, opts[i + 1]);
        } else if (strncmp(opts[i], "ws:", 3) == 0) {
            r = sw_websocket_server_set_option(ws, opts[i] + 3, opts[i + 1]);
        } else {
            r = sw_server_set_option(srv, opts[i], opts[i + 1]);
        }
        if (r < 0) {
            fprintf(stderr, "option %s=%s: %s\n", opts[i], opts[i + 1], sw_strerror(r));
        }
    }
    sw_websocket_handlers_t wh = {
        .on_handshake = on_handshake, .on_open = on_open, .on_message = on_message};
    r |= sw_websocket_server_set_handlers(ws, &wh, NULL);
    sw_http_handlers_t h = {.on_request = on_request};
    r |= sw_http_server_set_handlers(hs, &h, NULL);
    int p = r == 0 ? sw_port_number(port) : -1;
    if (write(wfd, &p, sizeof(p)) != (ssize_t)sizeof(p) || r != 0) {
        return 1;
    }
    close(wfd);
    r = sw_server_start(srv);
    sw_websocket_server_destroy(ws);
    sw_http_server_destroy(hs);
    sw_server_destroy(srv);
    return r == 0 ? 0 : 1;
}

void wsrv_start(wsrv_t *s, sw_server_mode_t mode, int workers, const char *const *opts)
{
    s->pid = fork_server(run, mode, workers, opts, &s->port, sizeof(s->port), "WebSocket");
}

void wsrv_stop(wsrv_t *s)
{
    fork_server_stop(s->pid, "WebSocket");
}

/* ---- the client ------------------------------------------------------------------------------ */

static void room(wcli_t *c, size_t more)
{
    if (c->off > 0 && c->off == c->len) {
        c->off = c->len = 0;
    }
    if (c->len + more > c->cap) {
        size_t cap = c->cap ? c->cap : 65536;
        while (cap < c->len + more) {
            cap *= 2;
        }
        c->buf = realloc(c->buf, cap);
        ASSERT_NOT_NULL(c->buf);
        c->cap = cap;
    }
}

/* Reads what is there (blocking up to the socket's limit); returns bytes read, 0 on EOF. */
static ssize_t fill(wcli_t *c)
{
    room(c, 65536);
    ssize_t n;
    do {
        n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        sw_test_fail(__FILE__, __LINE__, "timed out waiting for the server");
    }
    if (n < 0 && errno == ECONNRESET) {
        return 0;
    }
    ASSERT_GE(n, 0);
    c->len += (size_t)n;
    return n;
}

int wcli_open(wcli_t *c, int port, const char *path, const char *extra, const void *trailing,
              size_t trailing_len)
{
    memset(c, 0, sizeof(*c));
    c->fd = cli_tcp(port);
    uint8_t nonce[16];
    for (int i = 0; i < 16; i++) {
        nonce[i] = (uint8_t)(rand() & 0xff);
    }
    char key[SW_WS_KEY_LEN + 1];
    ASSERT_OK(sw_ws_client_key(nonce, key));
    sw_ws_client_options_t o = {.host = "127.0.0.1", .path = path, .key = key, .extra = extra};
    char req[4096];
    int n = sw_ws_client_request(&o, req, sizeof(req));
    ASSERT_GT(n, 0);
    size_t total = (size_t)n + trailing_len;
    char *all = malloc(total);
    ASSERT_NOT_NULL(all);
    memcpy(all, req, (size_t)n);
    if (trailing_len) {
        memcpy(all + n, trailing, trailing_len);
    }
    cli_send(c->fd, all, total);
    free(all);
    /* The head: up to the empty line; what follows is frames. */
    for (;;) {
        char *end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t hl = (size_t)(end + 4 - (char *)c->buf);
            ASSERT_LT(hl, sizeof(c->head));
            memcpy(c->head, c->buf, hl);
            c->head[hl] = '\0';
            c->off = hl;
            break;
        }
        ASSERT_GT(fill(c), 0);
    }
    ASSERT_EQ(sscanf(c->head, "HTTP/1.1 %d", &c->status), 1);
    sw_ws_decoder_options_t d;
    sw_ws_decoder_options_init(&d);
    d.role = SW_WS_ROLE_CLIENT;
    d.max_message_size = (uint64_t)64 << 20;
    ASSERT_OK(sw_ws_decoder_create(&c->dec, &d));
    return c->status;
}

int wcli_header(const wcli_t *c, const char *name, char *out, size_t cap)
{
    /* A value that does not fit counts as missing. */
    int n = http_head_field(c->head, name, out, cap);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void put_frame(wcli_t *c, unsigned first, uint64_t len, const void *data, size_t dlen,
                      bool unmasked)
{
    uint8_t hdr[14];
    size_t h = 0;
    hdr[h++] = (uint8_t)first;
    uint8_t m = unmasked ? 0 : 0x80;
    if (len < 126) {
        hdr[h++] = (uint8_t)(m | len);
    } else if (len <= 0xffff) {
        hdr[h++] = m | 126;
        hdr[h++] = (uint8_t)(len >> 8);
        hdr[h++] = (uint8_t)len;
    } else {
        hdr[h++] = m | 127;
        for (int i = 7; i >= 0; i--) {
            hdr[h++] = (uint8_t)(len >> (8 * i));
        }
    }
    uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d}; /* RFC 6455 §5.7's example key */
    if (!unmasked) {
        memcpy(hdr + h, key, 4);
        h += 4;
    }
    uint8_t *f = malloc(h + dlen + 1);
    ASSERT_NOT_NULL(f);
    memcpy(f, hdr, h);
    if (dlen) {
        memcpy(f + h, data, dlen);
        if (!unmasked) {
            sw_ws_mask(f + h, dlen, key, 0);
        }
    }
    cli_send(c->fd, f, h + dlen);
    free(f);
}

void wcli_frame(wcli_t *c, unsigned first, const void *data, size_t len, bool unmasked)
{
    put_frame(c, first, len, data, len, unmasked);
}

void wcli_frame_header_only(wcli_t *c, unsigned first, uint64_t len)
{
    put_frame(c, first, len, NULL, 0, false);
}

int wcli_next(wcli_t *c, sw_ws_event_t *ev)
{
    for (;;) {
        size_t used = 0;
        int r = sw_ws_decoder_execute(c->dec, c->buf ? c->buf + c->off : NULL, c->len - c->off,
                                      &used, ev);
        c->off += used;
        if (r < 0) {
            sw_test_fail(__FILE__, __LINE__, "client decoder: %s (%s)", sw_err_name(r),
                         sw_ws_detail_str(sw_ws_decoder_detail(c->dec)));
        }
        if (r != SW_WS_EVENT_NONE) {
            return r;
        }
        if (fill(c) == 0) {
            return 0;
        }
    }
}

void wcli_expect(wcli_t *c, unsigned opcode, const void *data, size_t len)
{
    sw_ws_event_t ev;
    int r = wcli_next(c, &ev);
    if (r != SW_WS_EVENT_MESSAGE) {
        sw_test_fail(__FILE__, __LINE__, "expected a message, got event %d (close code %u)", r,
                     r == SW_WS_EVENT_CLOSE ? ev.close_code : 0);
    }
    ASSERT_EQ(ev.opcode, opcode);
    ASSERT_EQ(ev.len, len);
    ASSERT_MEM_EQ(ev.data, data, len);
}

void wcli_expect_close(wcli_t *c, unsigned code)
{
    sw_ws_event_t ev;
    int r;
    /* Messages the server sent before closing are skipped. */
    while ((r = wcli_next(c, &ev)) == SW_WS_EVENT_MESSAGE || r == SW_WS_EVENT_PONG) {
    }
    if (r != SW_WS_EVENT_CLOSE) {
        sw_test_fail(__FILE__, __LINE__, "expected a close frame %u, got event %d", code, r);
    }
    ASSERT_EQ(ev.close_code, code);
    /* Then the server closes the connection. */
    char b[256];
    ssize_t n;
    do {
        n = recv(c->fd, b, sizeof(b), 0);
    } while (n > 0 || (n < 0 && errno == EINTR));
    if (n < 0) {
        ASSERT_EQ(errno, ECONNRESET);
    }
}

void wcli_close(wcli_t *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
    sw_ws_decoder_destroy(c->dec);
    c->dec = NULL;
    free(c->buf);
    c->buf = NULL;
}
