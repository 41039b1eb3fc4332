/*
 * The framing pieces under the WebSocket server: sw_protocol_next_websocket (frame lengths,
 * limits, every split), the framer flags of HTTP framing (SW_FRAMER_UPGRADE,
 * SW_FRAMER_CONTINUE) and the new options; plus the public calls' argument checks.
 */
#include <stdio.h>
#include <string.h>

#include "sw_test.h"
#include "swoole/protocol.h"
#include "swoole/websocket_server.h"

static int next_ws(const sw_protocol_t *p, const void *d, size_t len, size_t *out)
{
    sw_framer_t st;
    sw_framer_init(&st);
    return sw_protocol_next_websocket(p, &st, d, len, out);
}

SW_TEST(ws_frame_lengths)
{
    sw_protocol_t p;
    sw_protocol_init(&p);
    size_t n = 0;
    /* 7-bit length, masked: 2 + 4 + 5. */
    const uint8_t f1[] = {0x81, 0x85, 1, 2, 3, 4, 'a', 'b', 'c', 'd', 'e', 0x81};
    for (size_t len = 0; len < 11; len++) {
        ASSERT_EQ(next_ws(&p, f1, len, &n), 0);
        ASSERT_GT(n, len);
        ASSERT_LE(n, 11u);
    }
    ASSERT_EQ(next_ws(&p, f1, 11, &n), 1);
    ASSERT_EQ(n, 11u);
    ASSERT_EQ(next_ws(&p, f1, sizeof(f1), &n), 1);
    ASSERT_EQ(n, 11u);
    /* 16-bit length, unmasked (the decoder rejects it, the framer only cuts). */
    uint8_t f2[4 + 300] = {0x82, 126, 0x01, 0x2c};
    ASSERT_EQ(next_ws(&p, f2, 3, &n), 0);
    ASSERT_EQ(n, 4u);
    ASSERT_EQ(next_ws(&p, f2, 4, &n), 0);
    ASSERT_EQ(n, 304u);
    ASSERT_EQ(next_ws(&p, f2, sizeof(f2), &n), 1);
    ASSERT_EQ(n, 304u);
    /* 64-bit length: over package_max_length at once; top bit set: malformed. */
    uint8_t f3[14] = {0x82, 0xff, 0, 0, 0, 0, 0, 0x40, 0, 0, 1, 2, 3, 4};
    ASSERT_EQ(next_ws(&p, f3, 9, &n), 0);
    ASSERT_EQ(n, 14u);
    ASSERT_EQ(next_ws(&p, f3, 14, &n), SW_EPKGTOOBIG);
    f3[2] = 0x80;
    ASSERT_EQ(next_ws(&p, f3, 14, &n), SW_EPKGMALFORMED);
    /* websocket_max_frame_size limits the payload. */
    ASSERT_OK(sw_protocol_set_option(&p, "websocket_max_frame_size", "299"));
    ASSERT_EQ(next_ws(&p, f2, 4, &n), SW_EPKGTOOBIG);
    ASSERT_OK(sw_protocol_set_option(&p, "websocket_max_frame_size", "300"));
    ASSERT_EQ(next_ws(&p, f2, sizeof(f2), &n), 1);
    /* package_max_length limits the whole frame. */
    ASSERT_OK(sw_protocol_set_option(&p, "package_max_length", "303"));
    ASSERT_EQ(next_ws(&p, f2, 4, &n), SW_EPKGTOOBIG);
    ASSERT_OK(sw_protocol_set_option(&p, "package_max_length", "304"));
    ASSERT_EQ(next_ws(&p, f2, sizeof(f2), &n), 1);
    /* Bad arguments. */
    sw_framer_t st;
    sw_framer_init(&st);
    ASSERT_ERR(sw_protocol_next_websocket(NULL, &st, (const char *)f1, 11, &n), SW_EINVAL);
    ASSERT_ERR(sw_protocol_next_websocket(&p, NULL, (const char *)f1, 11, &n), SW_EINVAL);
    ASSERT_ERR(sw_protocol_next_websocket(&p, &st, (const char *)f1, 11, NULL), SW_EINVAL);
    ASSERT_ERR(sw_protocol_next_websocket(&p, &st, NULL, 1, &n), SW_EINVAL);
    p.package_max_length = 0;
    ASSERT_ERR(sw_protocol_next_websocket(&p, &st, (const char *)f1, 11, &n), SW_EOPTION_VALUE);
}

SW_TEST(ws_options)
{
    sw_protocol_t p;
    sw_protocol_init(&p);
    ASSERT_FALSE(p.open_websocket_protocol);
    ASSERT_EQ(p.websocket_max_frame_size, 0u);
    ASSERT_OK(sw_protocol_set_option(&p, "open_websocket_protocol", "true"));
    ASSERT_TRUE(p.open_websocket_protocol);
    ASSERT_TRUE(p.open_http_protocol);
    ASSERT_EQ(sw_protocol_mode(&p), SW_FRAMING_HTTP);
    ASSERT_OK(sw_protocol_set_option(&p, "open_websocket_protocol", "0"));
    ASSERT_FALSE(p.open_websocket_protocol);
    ASSERT_TRUE(p.open_http_protocol);
    ASSERT_ERR(sw_protocol_set_option(&p, "open_websocket_protocol", "yes"), SW_EOPTION_VALUE);
    ASSERT_ERR(sw_protocol_set_option(&p, "websocket_max_frame_size", "0"), SW_EOPTION_VALUE);
    ASSERT_ERR(sw_protocol_set_option(&p, "websocket_max_frame_size", "1073741825"),
               SW_EOPTION_VALUE);
    ASSERT_OK(sw_protocol_set_option(&p, "websocket_max_frame_size", "1073741824"));
    p.websocket_max_frame_size = ((uint64_t)1 << 30) + 1;
    ASSERT_ERR(sw_protocol_check(&p), SW_EOPTION_VALUE);
}

/* Feeds `s` to HTTP framing in one call and returns the result. */
static int next_http(const sw_protocol_t *p, sw_framer_t *st, const char *s, size_t *n)
{
    return sw_protocol_next(p, st, s, strlen(s), n);
}

SW_TEST(http_framer_flags)
{
    sw_protocol_t p;
    sw_protocol_init(&p);
    ASSERT_OK(sw_protocol_set_option(&p, "open_http_protocol", "1"));
    sw_framer_t st;
    sw_framer_init(&st);
    size_t n;
    const char *up = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\n\r\n";
    /* Without open_websocket_protocol, an upgrade request is not flagged. */
    ASSERT_EQ(next_http(&p, &st, up, &n), 1);
    ASSERT_EQ(n, strlen(up));
    ASSERT_EQ(st.flags & SW_FRAMER_UPGRADE, 0u);
    p.open_websocket_protocol = true;
    sw_framer_init(&st);
    ASSERT_EQ(next_http(&p, &st, up, &n), 1);
    ASSERT_NE(st.flags & SW_FRAMER_UPGRADE, 0u);
    /* The flag goes with the next message. */
    ASSERT_EQ(next_http(&p, &st, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &n), 1);
    ASSERT_EQ(st.flags & SW_FRAMER_UPGRADE, 0u);
    /* Expect: 100-continue with no body yet: flagged once the head is complete. */
    sw_framer_init(&st);
    const char *head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                       "Expect: 100-continue\r\n\r\n";
    char msg[256];
    snprintf(msg, sizeof(msg), "%sabc", head);
    ASSERT_EQ(sw_protocol_next(&p, &st, msg, strlen(head) - 1, &n), 0);
    ASSERT_EQ(st.flags & SW_FRAMER_CONTINUE, 0u);
    ASSERT_EQ(sw_protocol_next(&p, &st, msg, strlen(head), &n), 0);
    ASSERT_NE(st.flags & SW_FRAMER_CONTINUE, 0u);
    st.flags &= (uint8_t)~SW_FRAMER_CONTINUE; /* answered */
    ASSERT_EQ(sw_protocol_next(&p, &st, msg, strlen(head) + 1, &n), 0);
    ASSERT_EQ(st.flags & SW_FRAMER_CONTINUE, 0u);
    ASSERT_EQ(sw_protocol_next(&p, &st, msg, strlen(msg), &n), 1);
    ASSERT_EQ(n, strlen(msg));
    ASSERT_EQ(st.flags, 0u);
    /* Part of the body already there: no interim answer. */
    sw_framer_init(&st);
    ASSERT_EQ(sw_protocol_next(&p, &st, msg, strlen(head) + 1, &n), 0);
    ASSERT_EQ(st.flags & SW_FRAMER_CONTINUE, 0u);
    /* A body over package_max_length is refused at once: no interim answer either. */
    ASSERT_OK(sw_protocol_set_option(&p, "package_max_length", "100"));
    sw_framer_init(&st);
    const char *huge = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                       "Expect: 100-continue\r\n\r\n";
    ASSERT_EQ(next_http(&p, &st, huge, &n), 1);
    ASSERT_EQ(st.flags & SW_FRAMER_CONTINUE, 0u);
}

SW_TEST(api_arguments)
{
    sw_websocket_server_t *ws = NULL;
    ASSERT_ERR(sw_websocket_server_create(NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw_websocket_server_create(&ws, NULL), SW_EINVAL);
    ASSERT_ERR(sw_websocket_server_destroy(NULL), SW_EINVAL);
    ASSERT_NULL(sw_websocket_server_server(NULL));
    ASSERT_ERR(sw_websocket_server_enable_port(NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw_websocket_server_set_option(NULL, "x", "y"), SW_EINVAL);
    ASSERT_ERR(sw_websocket_server_set_handlers(NULL, NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw_websocket_push(NULL, 1, "x", 1, SW_WS_OP_TEXT, 1), SW_EINVAL);
    ASSERT_ERR(sw_websocket_disconnect(NULL, 1, 1000, NULL, 0), SW_EINVAL);
    ASSERT_EQ(sw_websocket_is_established(NULL, 1), 0);
    uint64_t cur = 0, out[4];
    ASSERT_ERR(sw_websocket_connections(NULL, &cur, out, 4), SW_EINVAL);

    sw_server_t *srv;
    ASSERT_OK(sw_server_create(&srv, SW_MODE_BASE));
    sw_port_t *port;
    ASSERT_OK(sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP, &port));
    sw_http_server_t *hs;
    ASSERT_OK(sw_http_server_create(&hs, srv));
    ASSERT_OK(sw_websocket_server_create(&ws, hs));
    sw_websocket_server_t *ws2;
    ASSERT_ERR(sw_websocket_server_create(&ws2, hs), SW_EEXIST);
    ASSERT_EQ(sw_websocket_server_server(ws), srv);
    ASSERT_OK(sw_websocket_server_enable_port(ws, port));
    ASSERT_OK(sw_websocket_server_enable_port(ws, port)); /* again: nothing changes */
    sw_port_options_t po;
    ASSERT_OK(sw_port_get_options(port, &po));
    ASSERT_TRUE(po.protocol.open_websocket_protocol);
    ASSERT_TRUE(po.protocol.open_http_protocol);
    ASSERT_ERR(sw_websocket_server_set_option(ws, "nope", "1"), SW_EOPTION_UNKNOWN);
    ASSERT_ERR(sw_websocket_server_set_option(ws, "websocket_max_message_size", "0"),
               SW_EOPTION_VALUE);
    ASSERT_ERR(sw_websocket_server_set_option(ws, "websocket_max_message_size", "-1"),
               SW_EOPTION_VALUE);
    ASSERT_OK(sw_websocket_server_set_option(ws, "websocket_max_message_size", "1000"));
    ASSERT_ERR(sw_websocket_server_set_option(ws, "websocket_subprotocol", "a b"),
               SW_EOPTION_VALUE);
    ASSERT_OK(sw_websocket_server_set_option(ws, "websocket_subprotocol", "chat"));
    ASSERT_ERR(sw_websocket_server_set_option(ws, "websocket_compression", "maybe"),
               SW_EOPTION_VALUE);
    ASSERT_EQ(sw_websocket_server_set_option(ws, "websocket_compression", "true"),
              sw_ws_deflate_supported() ? 0 : SW_EOPTION_VALUE);
    sw_websocket_handlers_t h = {0};
    ASSERT_OK(sw_websocket_server_set_handlers(ws, &h, NULL));
    /* Not running: no session can be reached. */
    ASSERT_ERR(sw_websocket_push(srv, 1, "x", 1, SW_WS_OP_TEXT, SW_WEBSOCKET_FLAG_FIN),
               SW_ESERVER_STATE);
    ASSERT_ERR(sw_websocket_push(srv, 1, "x", 1, SW_WS_OP_CLOSE, SW_WEBSOCKET_FLAG_FIN), SW_EINVAL);
    ASSERT_ERR(sw_websocket_push(srv, 1, "x", 1, 3, SW_WEBSOCKET_FLAG_FIN), SW_EINVAL);
    ASSERT_ERR(sw_websocket_push(srv, 1, "x", 1, SW_WS_OP_TEXT, 0x8), SW_EINVAL);
    char big[126] = {0};
    ASSERT_ERR(sw_websocket_push(srv, 1, big, 126, SW_WS_OP_PING, 0), SW_EINVAL);
    ASSERT_ERR(sw_websocket_push(srv, 1, NULL, 1, SW_WS_OP_TEXT, 0), SW_EINVAL);
    ASSERT_ERR(sw_websocket_disconnect(srv, 1, 1005, NULL, 0), SW_EINVAL);
    ASSERT_ERR(sw_websocket_disconnect(srv, 1, 1000, "\xff", 1), SW_EINVAL);
    ASSERT_EQ(sw_websocket_is_established(srv, 1), 0);
    ASSERT_ERR(sw_websocket_connections(srv, &cur, out, 4), SW_ESERVER_STATE);
    ASSERT_OK(sw_websocket_server_destroy(ws));
    ASSERT_OK(sw_http_server_destroy(hs));
    sw_server_destroy(srv);
}
