/*
 * The WebSocket server over loopback (test_wsd_util.h describes the server): handshakes, echo,
 * fragments, control frames, close codes, every frame-level violation's close code, pushes,
 * broadcast, and the interim "100 Continue" of HTTP ports; in BASE, PROCESS and THREAD mode.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sw_test.h"
#include "test_server_util.h"
#include "test_wsd_util.h"

#define FIN_TEXT   (SW_WS_FIN | SW_WS_OP_TEXT)
#define FIN_BINARY (SW_WS_FIN | SW_WS_OP_BINARY)

static int workers_for(sw_server_mode_t m)
{
    return m == SW_MODE_BASE ? 1 : 2;
}

static void start(wsrv_t *s, sw_server_mode_t m)
{
    wsrv_start(s, m, workers_for(m), NULL);
}

/* Reads one HTTP response (head, then Content-Length bytes) into buf; returns the status. */
static int http_response(int fd, char *buf, size_t cap, char **body, size_t *body_len)
{
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        ASSERT_LT(len, cap - 1);
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        ASSERT_GT(n, 0);
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    int status = 0;
    ASSERT_EQ(sscanf(buf, "HTTP/1.1 %d", &status), 1);
    size_t hl = (size_t)(end + 4 - buf);
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    size_t clen = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
    while (len < hl + clen) {
        ASSERT_LT(len, cap - 1);
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        ASSERT_GT(n, 0);
        len += (size_t)n;
    }
    buf[hl + clen] = '\0';
    if (body) {
        *body = buf + hl;
        *body_len = clen;
    }
    ASSERT_EQ(len, hl + clen); /* nothing more was sent */
    return status;
}

static uint64_t whoami(wcli_t *c)
{
    wcli_frame(c, FIN_TEXT, "cmd:whoami", 10, false);
    sw_ws_event_t ev;
    ASSERT_EQ(wcli_next(c, &ev), SW_WS_EVENT_MESSAGE);
    char s[32] = {0};
    ASSERT_LT(ev.len, sizeof(s));
    memcpy(s, ev.data, ev.len);
    return strtoull(s, NULL, 10);
}

/* Sends a command and returns the text answer (NUL-terminated, static). */
static const char *ask(wcli_t *c, const char *cmd)
{
    static char out[128];
    wcli_frame(c, FIN_TEXT, cmd, strlen(cmd), false);
    sw_ws_event_t ev;
    ASSERT_EQ(wcli_next(c, &ev), SW_WS_EVENT_MESSAGE);
    ASSERT_LT(ev.len, sizeof(out));
    memcpy(out, ev.data, ev.len);
    out[ev.len] = '\0';
    return out;
}

/* ---- cases, run per mode ------------------------------------------------------------------- */

static void t_handshake(sw_server_mode_t m)
{
    wsrv_t s;
    start(&s, m);
    wcli_t c;
    ASSERT_EQ(wcli_open(&c, s.port, "/ws", NULL, NULL, 0), 101);
    char v[64];
    ASSERT_OK(wcli_header(&c, "X-Handshake", v, sizeof(v)));
    ASSERT_STR_EQ(v, "yes");
    ASSERT_OK(wcli_header(&c, "Sec-WebSocket-Accept", v, sizeof(v)));
    ASSERT_EQ(strlen(v), SW_WS_ACCEPT_LEN);
    uint64_t sid = whoami(&c);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "cmd:est:%" PRIu64, sid);
    ASSERT_STR_EQ(ask(&c, cmd), "est=1");
    wcli_close(&c);

    /* Refused by on_handshake: 403, and the connection goes on as HTTP. */
    ASSERT_EQ(wcli_open(&c, s.port, "/refuse", NULL, NULL, 0), 403);
    const char get[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    cli_send(c.fd, get, sizeof(get) - 1);
    char buf[4096], *body;
    size_t bl;
    c.off = c.len; /* nothing of the 403 is left (empty body) */
    ASSERT_EQ(http_response(c.fd, buf, sizeof(buf), &body, &bl), 200);
    ASSERT_STR_EQ(body, "hello\n");
    wcli_close(&c);

    /* Refused, with an HTTP request pipelined behind it: framed as HTTP after the release. */
    const char both[] = "GET /refuse HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    int pfd = cli_tcp(s.port);
    cli_send(pfd, both, sizeof(both) - 1);
    char two[8192] = {0};
    size_t got = 0;
    while (!strstr(two, "hello\n")) {
        ASSERT_LT(got, sizeof(two) - 1);
        ssize_t k = recv(pfd, two + got, sizeof(two) - 1 - got, 0);
        ASSERT_GT(k, 0);
        got += (size_t)k;
        two[got] = '\0';
    }
    ASSERT_EQ(strncmp(two, "HTTP/1.1 403 ", 13), 0);
    ASSERT_NOT_NULL(strstr(two, "\r\n\r\nHTTP/1.1 200 "));
    close(pfd);

    /* A version the server does not speak: 426 with the version it does. */
    ASSERT_EQ(wcli_open(&c, s.port, "/ws", "Sec-WebSocket-Version: 8\r\n", NULL, 0), 400);
    wcli_close(&c);
    int fd = cli_tcp(s.port);
    const char v8[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n"
                      "\r\n";
    cli_send(fd, v8, sizeof(v8) - 1);
    ASSERT_EQ(http_response(fd, buf, sizeof(buf), NULL, NULL), 426);
    ASSERT_NOT_NULL(strcasestr(buf, "Sec-WebSocket-Version: 13\r\n"));
    /* Another protocol's upgrade is an ordinary request. */
    const char h2c[] =
        "GET /hello HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n";
    cli_send(fd, h2c, sizeof(h2c) - 1);
    ASSERT_EQ(http_response(fd, buf, sizeof(buf), &body, &bl), 200);
    ASSERT_STR_EQ(body, "hello\n");
    close(fd);

    /* HTTP requests on the same port still reach on_request. */
    fd = cli_tcp(s.port);
    cli_send(fd, get, sizeof(get) - 1);
    ASSERT_EQ(http_response(fd, buf, sizeof(buf), &body, &bl), 200);
    close(fd);
    wsrv_stop(&s);
}

static void t_echo(sw_server_mode_t m)
{
    wsrv_t s;
    start(&s, m);
    wcli_t c;
    ASSERT_EQ(wcli_open(&c, s.port, "/greet", NULL, NULL, 0), 101);
    wcli_expect(&c, SW_WS_OP_TEXT, "welcome", 7); /* pushed from on_open */
    wcli_frame(&c, FIN_TEXT, "hello", 5, false);
    wcli_expect(&c, SW_WS_OP_TEXT, "hello", 5);
    wcli_frame(&c, FIN_TEXT, "", 0, false);
    wcli_expect(&c, SW_WS_OP_TEXT, "", 0);
    size_t big = (size_t)1 << 20;
    uint8_t *b = malloc(big);
    ASSERT_NOT_NULL(b);
    for (size_t i = 0; i < big; i++) {
        b[i] = (uint8_t)(i * 7 + (i >> 9));
    }
    wcli_frame(&c, FIN_BINARY, b, 1000, false);
    wcli_expect(&c, SW_WS_OP_BINARY, b, 1000);
    wcli_frame(&c, FIN_BINARY, b, big, false);
    wcli_expect(&c, SW_WS_OP_BINARY, b, big);
    /* Fragments: one message; a ping between them is answered at once. */
    wcli_frame(&c, SW_WS_OP_BINARY, b, 100000, false);
    wcli_frame(&c, SW_WS_FIN | SW_WS_OP_PING, "p1", 2, false);
    wcli_frame(&c, SW_WS_OP_CONTINUATION, b + 100000, 1, false);
    wcli_frame(&c, SW_WS_FIN | SW_WS_OP_CONTINUATION, b + 100001, 99999, false);
    sw_ws_event_t ev;
    ASSERT_EQ(wcli_next(&c, &ev), SW_WS_EVENT_PONG);
    ASSERT_EQ(ev.len, 2u);
    ASSERT_MEM_EQ(ev.data, "p1", 2);
    wcli_expect(&c, SW_WS_OP_BINARY, b, 200000);
    /* Text fragments split inside a UTF-8 character ("é" is c3 a9). */
    wcli_frame(&c, SW_WS_OP_TEXT, "caf\xc3", 4, false);
    wcli_frame(&c, SW_WS_FIN | SW_WS_OP_CONTINUATION, "\xa9!", 2, false);
    wcli_expect(&c, SW_WS_OP_TEXT, "caf\xc3\xa9!", 6);
    free(b);
    /* Close handshake: the code is echoed, then the server closes. */
    uint8_t cp[5] = {0x03, 0xe8, 'b', 'y', 'e'};
    wcli_frame(&c, SW_WS_FIN | SW_WS_OP_CLOSE, cp, 5, false);
    wcli_expect_close(&c, 1000);
    wcli_close(&c);
    /* A close without a code is answered without one. */
    ASSERT_EQ(wcli_open(&c, s.port, "/ws", NULL, NULL, 0), 101);
    wcli_frame(&c, SW_WS_FIN | SW_WS_OP_CLOSE, NULL, 0, false);
    wcli_expect_close(&c, SW_WS_CLOSE_NO_STATUS);
    wcli_close(&c);
    /* A fragmented message pushed by the server, then the server's own close
     * (sw_websocket_disconnect). */
    ASSERT_EQ(wcli_open(&c, s.port, "/ws", NULL, NULL, 0), 101);
    wcli_frame(&c, FIN_TEXT, "cmd:frag:fragmented", 19, false);
    wcli_expect(&c, SW_WS_OP_TEXT, "fragmented", 10);
    wcli_frame(&c, FIN_TEXT, "cmd:close:4000", 14, false);
    wcli_expect_close(&c, 4000);
    wcli_close(&c);
    wsrv_stop(&s);
}

/* Frames sent with the upgrade request, before its answer (RFC 6455 §4.1 forbids it, but
 * bytes already there must be framed as WebSocket, never as HTTP). */
static void t_early(sw_server_mode_t m)
{
    wsrv_t s;
    start(&s, m);
    uint8_t f[2 + 4 + 5] = {FIN_TEXT, 0x85, 1, 2, 3, 4, 'e', 'a', 'r', 'l', 'y'};
    uint8_t key[4] = {1, 2, 3, 4};
    sw_ws_mask(f + 6, 5, key, 0);
    wcli_t c;
    ASSERT_EQ(wcli_open(&c, s.port, "/ws", NULL, f, sizeof(f)), 101);
    wcli_expect(&c, SW_WS_OP_TEXT, "early", 5);
    wcli_close(&c);
    wsrv_stop(&s);
}

/* One connection per violation; each must end with its RFC 6455 close code. */
static void violation(int port, unsigned first, const void *data, size_t len, bool unmasked,
                      unsigned code)
{
    wcli_t c;
    ASSERT_EQ(wcli_open(&c, port, "/ws", NULL, NULL, 0), 101);
    wcli_frame(&c, first, data, len, unmasked);
    wcli_expect_close(&c, code);
    wcli_close(&c);
}

static void t_violations(sw_server_mode_t m)
{
    wsrv_t s;
    start(&s, m);
    char big[200];
    memset(big, 'a', sizeof(big));
    violation(s.port, FIN_TEXT, "abc", 3, true, 1002);                   /* unmasked */
    violation(s.port, FIN_TEXT | SW_WS_RSV1, "abc", 3, false, 1002);     /* RSV1, no deflate */
    violation(s.port, FIN_TEXT | SW_WS_RSV2, "abc", 3, false, 1002);     /* RSV2 */
    violation(s.port, SW_WS_FIN | 0x3, "abc", 3, false, 1002);           /* reserved opcode */
    violation(s.port, SW_WS_FIN | SW_WS_OP_PING, big, 126, false, 1002); /* control > 125 */
    violation(s.port, SW_WS_OP_PING, "p", 1, false, 1002);               /* fragmented ping */
    violation(s.port, SW_WS_FIN | SW_WS_OP_CONTINUATION, "x", 1, false, 1002); /* no message */
    violation(s.port, FIN_TEXT, "\xff\xfe", 2, false, 1007);                   /* bad UTF-8 */
    violation(s.port, FIN_TEXT, "\xed\xa0\x80", 3, false, 1007);               /* a surrogate */
    uint8_t badcode[2] = {0x03, 0xed}; /* 1005 on the wire */
    violation(s.port, SW_WS_FIN | SW_WS_OP_CLOSE, badcode, 2, false, 1002);
    /* A text frame while a message is open. */
    wcli_t c;
    ASSERT_EQ(wcli_open(&c, s.port, "/ws", NULL, NULL, 0), 101);
    wcli_frame(&c, SW_WS_OP_TEXT, "a", 1, false);
    wcli_frame(&c, FIN_TEXT, "b", 1, false);
    wcli_expect_close(&c, 1002);
    wcli_close(&c);
    /* A frame over websocket_max_frame_size: refused from its header (1009). */
    ASSERT_EQ(wcli_open(&c, s.port, "/ws", NULL, NULL, 0), 101);
    wcli_frame_header_only(&c, FIN_BINARY, 1200001);
    wcli_expect_close(&c, 1009);
    wcli_close(&c);
    /* A 64-bit length with its top bit set. */
    ASSERT_EQ(wcli_open(&c, s.port, "/ws", NULL, NULL, 0), 101);
    wcli_frame_header_only(&c, FIN_BINARY, UINT64_C(1) << 63);
    wcli_expect_close(&c, 1002);
    wcli_close(&c);
    /* A message whose fragments pass websocket_max_message_size (1009). */
    char *half = calloc(1, 700000);
    ASSERT_NOT_NULL(half);
    ASSERT_EQ(wcli_open(&c, s.port, "/ws", NULL, NULL, 0), 101);
    wcli_frame(&c, SW_WS_OP_BINARY, half, 700000, false);
    wcli_frame(&c, SW_WS_FIN | SW_WS_OP_CONTINUATION, half, 700000, false);
    wcli_expect_close(&c, 1009);
    wcli_close(&c);
    free(half);
    wsrv_stop(&s);
}

static void t_push(sw_server_mode_t m)
{
    wsrv_t s;
    start(&s, m);
    wcli_t a, b;
    ASSERT_EQ(wcli_open(&a, s.port, "/ws", NULL, NULL, 0), 101);
    ASSERT_EQ(wcli_open(&b, s.port, "/ws", NULL, NULL, 0), 101);
    uint64_t sa = whoami(&a);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "cmd:push:%" PRIu64, sa);
    ASSERT_STR_EQ(ask(&b, cmd), "rc=0");
    wcli_expect(&a, SW_WS_OP_TEXT, "x", 1);
    wcli_close(&a);
    /* Once the server has seen the close, pushes fail with SW_ESESSION (bounded wait). */
    char want[32];
    snprintf(want, sizeof(want), "rc=%d", SW_ESESSION);
    const char *got = "";
    for (int i = 0; i < 200 && strcmp(got, want) != 0; i++) {
        got = ask(&b, cmd);
        if (strcmp(got, want) != 0) {
            ASSERT_STR_EQ(got, "rc=0");
            usleep(10000);
        }
    }
    ASSERT_STR_EQ(got, want);
    snprintf(cmd, sizeof(cmd), "cmd:est:%" PRIu64, sa);
    ASSERT_STR_EQ(ask(&b, cmd), "est=0");
    /* A plain HTTP connection is not a WebSocket one. */
    int fd = cli_tcp(s.port);
    const char who[] = "GET /whoami HTTP/1.1\r\nHost: x\r\n\r\n";
    cli_send(fd, who, sizeof(who) - 1);
    char buf[4096], *body;
    size_t bl;
    ASSERT_EQ(http_response(fd, buf, sizeof(buf), &body, &bl), 200);
    snprintf(cmd, sizeof(cmd), "cmd:push:%s", body);
    snprintf(want, sizeof(want), "rc=%d", SW_EPROTOTYPE);
    ASSERT_STR_EQ(ask(&b, cmd), want);
    close(fd);
    wcli_close(&b);
    wsrv_stop(&s);
}

#define NB 6
static void t_broadcast(sw_server_mode_t m)
{
    wsrv_t s;
    start(&s, m);
    wcli_t c[NB];
    for (int i = 0; i < NB; i++) {
        ASSERT_EQ(wcli_open(&c[i], s.port, "/ws", NULL, NULL, 0), 101);
        (void)whoami(&c[i]); /* the switch is done once a message came back */
    }
    /* A plain HTTP connection is not listed. */
    int fd = cli_tcp(s.port);
    const char get[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    cli_send(fd, get, sizeof(get) - 1);
    char buf[4096];
    ASSERT_EQ(http_response(fd, buf, sizeof(buf), NULL, NULL), 200);
    wcli_frame(&c[0], FIN_TEXT, "cmd:bcast:hi all", 16, false);
    for (int i = 0; i < NB; i++) {
        wcli_expect(&c[i], SW_WS_OP_TEXT, "hi all", 6);
    }
    char want[32];
    snprintf(want, sizeof(want), "sent=%d", NB);
    wcli_expect(&c[0], SW_WS_OP_TEXT, want, strlen(want));
    for (int i = 0; i < NB; i++) {
        wcli_close(&c[i]);
    }
    close(fd);
    wsrv_stop(&s);
}

/* Expect: 100-continue: the interim answer comes before the body is sent. */
static void t_continue(sw_server_mode_t m)
{
    wsrv_t s;
    start(&s, m);
    int fd = cli_tcp(s.port);
    const char head[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                        "Expect: 100-continue\r\n\r\n";
    cli_send(fd, head, sizeof(head) - 1);
    const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    char got[sizeof(cont)] = {0};
    cli_recv(fd, got, sizeof(cont) - 1); /* bounded by the client's receive limit */
    ASSERT_STR_EQ(got, cont);
    cli_send(fd, "hello", 5);
    char buf[4096], *body;
    size_t bl;
    ASSERT_EQ(http_response(fd, buf, sizeof(buf), &body, &bl), 200);
    ASSERT_STR_EQ(body, "hello");
    /* Chunked, same rule; a body sent with the head gets no interim answer. */
    const char chunked[] = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                           "Expect: 100-continue\r\n\r\n";
    cli_send(fd, chunked, sizeof(chunked) - 1);
    memset(got, 0, sizeof(got));
    cli_recv(fd, got, sizeof(cont) - 1);
    ASSERT_STR_EQ(got, cont);
    cli_send(fd, "3\r\nabc\r\n0\r\n\r\n", 13);
    ASSERT_EQ(http_response(fd, buf, sizeof(buf), &body, &bl), 200);
    ASSERT_STR_EQ(body, "abc");
    const char whole[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                         "Expect: 100-continue\r\n\r\nok";
    cli_send(fd, whole, sizeof(whole) - 1);
    ASSERT_EQ(http_response(fd, buf, sizeof(buf), &body, &bl), 200);
    ASSERT_STR_EQ(body, "ok");
    close(fd);
    wsrv_stop(&s);
}

/* permessage-deflate: negotiated when enabled; compressed messages are inflated; answers go
 * out uncompressed (allowed: RFC 7692 §6). */
static void t_deflate(sw_server_mode_t m)
{
    if (!sw_ws_deflate_supported()) {
        SW_TEST_SKIP("built without zlib");
    }
    const char *opts[] = {"ws:websocket_compression", "true", NULL};
    wsrv_t s;
    wsrv_start(&s, m, workers_for(m), opts);
    wcli_t c;
    ASSERT_EQ(
        wcli_open(&c, s.port, "/ws", "Sec-WebSocket-Extensions: permessage-deflate\r\n", NULL, 0),
        101);
    char v[SW_WS_EXTENSIONS_MAX];
    ASSERT_OK(wcli_header(&c, "Sec-WebSocket-Extensions", v, sizeof(v)));
    ASSERT_NOT_NULL(strstr(v, "permessage-deflate"));
    sw_ws_deflate_params_t params = {.server_max_window_bits = 15, .client_max_window_bits = 15};
    sw_ws_compressor_t *z;
    ASSERT_OK(sw_ws_compressor_create(&z, SW_WS_ROLE_CLIENT, &params, NULL));
    char text[3000];
    for (size_t i = 0; i < sizeof(text); i++) {
        text[i] = "abcdefgh"[i % 8];
    }
    for (int round = 0; round < 2; round++) { /* the second one uses the kept context */
        sw_buffer_t out = {0};
        ASSERT_EQ(sw_ws_compressor_compress(z, text, sizeof(text), &out), 1);
        ASSERT_LT(out.length, sizeof(text));
        wcli_frame(&c, FIN_TEXT | SW_WS_RSV1, out.str, out.length, false);
        wcli_expect(&c, SW_WS_OP_TEXT, text, sizeof(text));
        sw_buffer_close(&out);
    }
    /* Corrupt compressed data: 1007. */
    wcli_frame(&c, FIN_BINARY | SW_WS_RSV1, "\xff\xff\xff\xff", 4, false);
    wcli_expect_close(&c, 1007);
    sw_ws_compressor_destroy(z);
    wcli_close(&c);
    wsrv_stop(&s);
}

/* dispatch_mode 1 moves a connection's frames between workers: the worker without the
 * connection's decoder closes it with 1011 (never decodes a frame as HTTP). */
SW_TEST_TIMEOUT(foreign_worker_process, 60)
{
    const char *opts[] = {"dispatch_mode", "1", NULL};
    wsrv_t s;
    wsrv_start(&s, SW_MODE_PROCESS, 2, opts);
    wcli_t c;
    ASSERT_EQ(wcli_open(&c, s.port, "/ws", NULL, NULL, 0), 101);
    sw_ws_event_t ev;
    int r = 0;
    for (int i = 0; i < 8; i++) {
        wcli_frame(&c, FIN_TEXT, "hello", 5, false);
        r = wcli_next(&c, &ev);
        if (r != SW_WS_EVENT_MESSAGE) {
            break;
        }
    }
    ASSERT_EQ(r, SW_WS_EVENT_CLOSE);
    ASSERT_EQ(ev.close_code, 1011u);
    wcli_close(&c);
    wsrv_stop(&s);
}

/* websocket_subprotocol: chosen when offered, absent otherwise. */
SW_TEST(subprotocol_base)
{
    const char *opts[] = {"ws:websocket_subprotocol", "chat", NULL};
    wsrv_t s;
    wsrv_start(&s, SW_MODE_BASE, 1, opts);
    wcli_t c;
    ASSERT_EQ(wcli_open(&c, s.port, "/ws", "Sec-WebSocket-Protocol: x, chat\r\n", NULL, 0), 101);
    char v[64];
    ASSERT_OK(wcli_header(&c, "Sec-WebSocket-Protocol", v, sizeof(v)));
    ASSERT_STR_EQ(v, "chat");
    wcli_close(&c);
    ASSERT_EQ(wcli_open(&c, s.port, "/ws", "Sec-WebSocket-Protocol: x\r\n", NULL, 0), 101);
    ASSERT_EQ(wcli_header(&c, "Sec-WebSocket-Protocol", v, sizeof(v)), -1);
    wcli_close(&c);
    wsrv_stop(&s);
}

/* One case per mode (written out: the build registers cases by their SW_TEST lines). */
SW_TEST_TIMEOUT(handshake_base, 60)
{
    t_handshake(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(handshake_process, 60)
{
    t_handshake(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(handshake_thread, 60)
{
    t_handshake(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(echo_base, 60)
{
    t_echo(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(echo_process, 60)
{
    t_echo(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(echo_thread, 60)
{
    t_echo(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(early_base, 60)
{
    t_early(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(early_process, 60)
{
    t_early(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(early_thread, 60)
{
    t_early(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(violations_base, 90)
{
    t_violations(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(violations_process, 90)
{
    t_violations(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(violations_thread, 90)
{
    t_violations(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(push_base, 60)
{
    t_push(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(push_process, 60)
{
    t_push(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(push_thread, 60)
{
    t_push(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(broadcast_base, 60)
{
    t_broadcast(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(broadcast_process, 60)
{
    t_broadcast(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(broadcast_thread, 60)
{
    t_broadcast(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(continue_base, 60)
{
    t_continue(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(continue_process, 60)
{
    t_continue(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(continue_thread, 60)
{
    t_continue(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(deflate_base, 60)
{
    t_deflate(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(deflate_process, 60)
{
    t_deflate(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(deflate_thread, 60)
{
    t_deflate(SW_MODE_THREAD);
}
