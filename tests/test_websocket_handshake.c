/*
 * WebSocket handshake tests: SHA-1 (FIPS 180-4 / RFC 3174 vectors), base64 (RFC 4648 §10),
 * Sec-WebSocket-Accept (RFC 6455 §1.3), the request/response builders, and the vectors of
 * tests/data/websocket/handshake.txt (syntax at the top of that file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sw_test.h"
#include "swoole/websocket.h"
#include "websocket/ws_int.h"
#include "test_websocket_util.h"

static void hex_of(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", p[i]);
    }
}

static void check_sha1(const void *data, size_t len, const char *want)
{
    uint8_t d[SW__WS_SHA1_LEN];
    char hex[41];
    sw__ws_sha1(data, len, d);
    hex_of(d, sizeof(d), hex);
    ASSERT_STR_EQ(hex, want);
}

SW_TEST(sha1_vectors)
{
    /* FIPS 180-2 appendix A and RFC 3174 §7.3 test cases. */
    check_sha1("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    check_sha1("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_sha1(two, strlen(two), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    char *million = malloc(1000000);
    ASSERT_NOT_NULL(million);
    memset(million, 'a', 1000000);
    check_sha1(million, 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(million);
    /* RFC 3174 TEST4: "01234567" x 8, repeated 10 times. */
    char four[640];
    for (int i = 0; i < 80; i++) {
        memcpy(four + 8 * i, "01234567", 8);
    }
    check_sha1(four, sizeof(four), "dea356a2cddd90c7a7ecedc5ebb563934f460452");
    /* Lengths around the padding boundary (55, 56, 64 bytes of 'a'); expected values from
     * the FIPS algorithm as computed by an independent implementation (Python hashlib). */
    char a[128];
    memset(a, 'a', sizeof(a));
    check_sha1(a, 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a");
    check_sha1(a, 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699");
    check_sha1(a, 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d");
}

SW_TEST(sha1_incremental)
{
    uint8_t data[300];
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 7 + 3);
    }
    uint8_t whole[SW__WS_SHA1_LEN];
    sw__ws_sha1(data, sizeof(data), whole);
    for (size_t cut = 0; cut <= sizeof(data); cut++) {
        for (size_t cut2 = cut; cut2 <= sizeof(data); cut2 += 61) {
            sw__ws_sha1_t s;
            uint8_t d[SW__WS_SHA1_LEN];
            sw__ws_sha1_init(&s);
            sw__ws_sha1_update(&s, data, cut);
            sw__ws_sha1_update(&s, data + cut, cut2 - cut);
            sw__ws_sha1_update(&s, data + cut2, sizeof(data) - cut2);
            sw__ws_sha1_final(&s, d);
            ASSERT_MEM_EQ(d, whole, sizeof(d));
        }
    }
}

SW_TEST(base64_vectors)
{
    /* RFC 4648 §10. */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char out[16];
        uint8_t back[16];
        size_t n = sw__ws_base64_encode((const uint8_t *)plain[i], strlen(plain[i]), out);
        ASSERT_UEQ(n, strlen(enc[i]));
        ASSERT_STR_EQ(out, enc[i]);
        ASSERT_EQ(sw__ws_base64_decode(enc[i], strlen(enc[i]), back, sizeof(back)),
                  (long)strlen(plain[i]));
        ASSERT_MEM_EQ(back, plain[i], strlen(plain[i]));
    }
    /* Every byte value survives a round trip through all three tail lengths. */
    uint8_t all[256], back[256];
    char out[SW__WS_BASE64_LEN(256) + 1];
    for (int i = 0; i < 256; i++) {
        all[i] = (uint8_t)i;
    }
    for (size_t n = 253; n <= 256; n++) {
        size_t e = sw__ws_base64_encode(all, n, out);
        ASSERT_UEQ(e, SW__WS_BASE64_LEN(n));
        ASSERT_EQ(sw__ws_base64_decode(out, e, back, sizeof(back)), (long)n);
        ASSERT_MEM_EQ(back, all, n);
    }
    /* Strictness. */
    uint8_t b[16];
    ASSERT_EQ(sw__ws_base64_decode("Zg=", 3, b, sizeof(b)), -1);      /* length */
    ASSERT_EQ(sw__ws_base64_decode("Zh==", 4, b, sizeof(b)), -1);     /* bits under padding */
    ASSERT_EQ(sw__ws_base64_decode("Zm9=", 4, b, sizeof(b)), -1);     /* bits under padding */
    ASSERT_EQ(sw__ws_base64_decode("Z===", 4, b, sizeof(b)), -1);     /* three pads */
    ASSERT_EQ(sw__ws_base64_decode("Zg==Zg==", 8, b, sizeof(b)), -1); /* padding inside */
    ASSERT_EQ(sw__ws_base64_decode("Zm 9", 4, b, sizeof(b)), -1);     /* space */
    ASSERT_EQ(sw__ws_base64_decode("Zm9v", 4, b, 2), -1);             /* does not fit */
    ASSERT_EQ(sw__ws_base64_decode("Zm-_", 4, b, sizeof(b)), -1);     /* url alphabet */
}

SW_TEST(accept_key_and_client_key)
{
    char out[SW_WS_ACCEPT_LEN + 1];
    /* RFC 6455 §1.3 prints this pair (and so does §4.2.2 in substance); the value is also
     * what base64(SHA-1(key + GUID)) gives with any other SHA-1 implementation. */
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    ASSERT_OK(sw_ws_accept_key(key, strlen(key), out));
    ASSERT_STR_EQ(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    ASSERT_ERR(sw_ws_accept_key(key, 3, NULL), SW_EINVAL);
    ASSERT_ERR(sw_ws_accept_key(NULL, 3, out), SW_EINVAL);
    ASSERT_OK(sw_ws_accept_key(NULL, 0, out)); /* hash of the GUID alone */
    ASSERT_UEQ(strlen(out), SW_WS_ACCEPT_LEN);

    /* RFC 6455 §4.1's example nonce is the 16 bytes "the sample nonce". */
    char k[SW_WS_KEY_LEN + 1];
    ASSERT_OK(sw_ws_client_key((const uint8_t *)"the sample nonce", k));
    ASSERT_STR_EQ(k, "dGhlIHNhbXBsZSBub25jZQ==");
    ASSERT_ERR(sw_ws_client_key(NULL, k), SW_EINVAL);
    ASSERT_ERR(sw_ws_client_key((const uint8_t *)"the sample nonce", NULL), SW_EINVAL);
}

static void fill_request(sw_ws_headers_t *h)
{
    sw_ws_headers_init(h);
    h->method = (sw_ws_slice_t){"GET", 3};
    h->http_version = 11;
    static const char *const lines[][2] = {
        {"Host", "example.com"},         {"Upgrade", "websocket"},
        {"Connection", "Upgrade"},       {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
        {"Sec-WebSocket-Version", "13"},
    };
    for (size_t i = 0; i < 5; i++) {
        ASSERT_OK(sw_ws_headers_add(h, lines[i][0], strlen(lines[i][0]), lines[i][1],
                                    strlen(lines[i][1])));
    }
}

SW_TEST(headers_add)
{
    sw_ws_headers_t h;
    sw_ws_headers_init(&h);
    sw_ws_headers_init(NULL);
    ASSERT_ERR(sw_ws_headers_add(NULL, "Host", 4, "x", 1), SW_EINVAL);
    ASSERT_ERR(sw_ws_headers_add(&h, NULL, 4, "x", 1), SW_EINVAL);
    ASSERT_ERR(sw_ws_headers_add(&h, "Host", 4, NULL, 1), SW_EINVAL);
    /* Unrelated names are ignored; a NULL value of length 0 is an empty value. */
    ASSERT_OK(sw_ws_headers_add(&h, "Accept", 6, "*/*", 3));
    ASSERT_OK(sw_ws_headers_add(&h, "Host", 4, NULL, 0));
    ASSERT_NOT_NULL(h.host.ptr);
    ASSERT_UEQ(h.host.len, 0);
    ASSERT_ERR(sw_ws_headers_add(&h, "host", 4, "a", 1), SW_EWS_HANDSHAKE);
    ASSERT_TRUE(h.duplicate);
    /* A prefix of a known name is not that name. */
    sw_ws_headers_init(&h);
    ASSERT_OK(sw_ws_headers_add(&h, "Hos", 3, "a", 1));
    ASSERT_OK(sw_ws_headers_add(&h, "Hostx", 5, "a", 1));
    ASSERT_NULL(h.host.ptr);
    /* List fields: up to SW_WS_MAX_FIELD_LINES lines. */
    for (int i = 0; i < SW_WS_MAX_FIELD_LINES; i++) {
        ASSERT_OK(sw_ws_headers_add(&h, "Connection", 10, " a ", 3));
    }
    ASSERT_UEQ(h.n_connection, SW_WS_MAX_FIELD_LINES);
    ASSERT_UEQ(h.connection[0].len, 1); /* trimmed */
    ASSERT_ERR(sw_ws_headers_add(&h, "Connection", 10, "b", 1), SW_EWS_HANDSHAKE);
    ASSERT_TRUE(h.too_many_lines);
    sw_ws_handshake_t hs;
    fill_request(&h);
    for (int i = 0; i < SW_WS_MAX_FIELD_LINES; i++) {
        sw_ws_headers_add(&h, "Sec-WebSocket-Protocol", 22, "p", 1);
    }
    ASSERT_ERR(sw_ws_headers_add(&h, "Sec-WebSocket-Protocol", 22, "p", 1), SW_EWS_HANDSHAKE);
    ASSERT_ERR(sw_ws_handshake_accept(&h, NULL, &hs), SW_EWS_HANDSHAKE);
    ASSERT_EQ(hs.detail, SW_WS_DETAIL_TOO_MANY_LINES);
}

static int pick_last(void *arg, const sw_ws_slice_t *offers, size_t n)
{
    *(size_t *)arg = n;
    ASSERT_GT(n, 0);
    ASSERT_NOT_NULL(offers[n - 1].ptr);
    return (int)n - 1;
}

SW_TEST(server_accept_and_response)
{
    sw_ws_headers_t h;
    sw_ws_handshake_t hs;
    char buf[512];
    fill_request(&h);
    ASSERT_OK(sw_ws_headers_add(&h, "Sec-WebSocket-Protocol", 22, "a, b,c", 6));
    ASSERT_ERR(sw_ws_handshake_accept(NULL, NULL, &hs), SW_EINVAL);
    ASSERT_ERR(sw_ws_handshake_accept(&h, NULL, NULL), SW_EINVAL);

    sw_ws_server_options_t o;
    sw_ws_server_options_init(NULL);
    sw_ws_server_options_init(&o);
    size_t seen = 0;
    o.select_protocol = pick_last;
    o.select_arg = &seen;
    ASSERT_OK(sw_ws_handshake_accept(&h, &o, &hs));
    ASSERT_UEQ(seen, 3);
    ASSERT_UEQ(hs.protocol.len, 1);
    ASSERT_EQ(hs.protocol.ptr[0], 'c');
    ASSERT_EQ(hs.detail, SW_WS_DETAIL_NONE);

    int n = sw_ws_handshake_response(&hs, "Set-Cookie: a=b\r\nX-A: 1\r\n", buf, sizeof(buf));
    const char *want = "HTTP/1.1 101 Switching Protocols\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                       "Sec-WebSocket-Protocol: c\r\n"
                       "Set-Cookie: a=b\r\nX-A: 1\r\n"
                       "\r\n";
    ASSERT_EQ(n, (int)strlen(want));
    ASSERT_STR_EQ(buf, want);
    /* Every shorter buffer is too small, and says so. */
    for (int cap = 0; cap <= n; cap++) {
        ASSERT_ERR(sw_ws_handshake_response(&hs, "Set-Cookie: a=b\r\nX-A: 1\r\n", buf, (size_t)cap),
                   SW_ENOBUFS);
    }
    /* Bad extra header blocks. */
    static const char *const bad[] = {"X: 1",      "X: 1\n",       "X: 1\r",  "X: 1\r\n\r\n",
                                      " X: 1\r\n", "\r\n",         "X 1\r\n", "X: a\rb\r\n",
                                      ": x\r\n",   "X: 1\r\nY\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_ERR(sw_ws_handshake_response(&hs, bad[i], buf, sizeof(buf)), SW_EINVAL);
    }
    ASSERT_ERR(sw_ws_handshake_response(NULL, NULL, buf, sizeof(buf)), SW_EINVAL);
    ASSERT_ERR(sw_ws_handshake_response(&hs, NULL, NULL, sizeof(buf)), SW_EINVAL);
    sw_ws_handshake_t empty = {0};
    ASSERT_ERR(sw_ws_handshake_response(&empty, NULL, buf, sizeof(buf)), SW_EINVAL);
    ASSERT_GT(sw_ws_handshake_response(&hs, "", buf, sizeof(buf)), 0);
}

SW_TEST(server_reject_responses)
{
    char buf[256];
    ASSERT_EQ(sw_ws_handshake_status(SW_EWS_VERSION), 426);
    ASSERT_EQ(sw_ws_handshake_status(SW_EWS_HANDSHAKE), 400);
    ASSERT_EQ(sw_ws_handshake_status(SW_EINVAL), 400);
    ASSERT_EQ(sw_ws_handshake_status(SW_ENOMEM), 500);
    int n = sw_ws_handshake_reject(SW_EWS_VERSION, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
                       "Content-Length: 0\r\nConnection: close\r\n\r\n");
    ASSERT_EQ(n, (int)strlen(buf));
    ASSERT_GT(sw_ws_handshake_reject(SW_EWS_HANDSHAKE, buf, sizeof(buf)), 0);
    ASSERT_TRUE(strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
    ASSERT_GT(sw_ws_handshake_reject(SW_ENOMEM, buf, sizeof(buf)), 0);
    ASSERT_TRUE(strncmp(buf, "HTTP/1.1 500 ", 13) == 0);
    ASSERT_ERR(sw_ws_handshake_reject(0, buf, sizeof(buf)), SW_EINVAL);
    ASSERT_ERR(sw_ws_handshake_reject(SW_EWS_VERSION, NULL, 10), SW_EINVAL);
    ASSERT_ERR(sw_ws_handshake_reject(SW_EWS_VERSION, buf, 20), SW_ENOBUFS);
    ASSERT_STR_EQ(buf, "");
}

SW_TEST(client_request_builder)
{
    char buf[512];
    sw_ws_client_options_t o = {.host = "example.com:8080",
                                .path = "/chat?x=1",
                                .key = "dGhlIHNhbXBsZSBub25jZQ==",
                                .origin = "http://example.com",
                                .protocols = "chat, superchat",
                                .extensions = "permessage-deflate; client_max_window_bits",
                                .extra = "Cookie: a=b\r\n"};
    int n = sw_ws_client_request(&o, buf, sizeof(buf));
    const char *want = "GET /chat?x=1 HTTP/1.1\r\n"
                       "Host: example.com:8080\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n"
                       "Origin: http://example.com\r\n"
                       "Sec-WebSocket-Protocol: chat, superchat\r\n"
                       "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                       "Cookie: a=b\r\n"
                       "\r\n";
    ASSERT_STR_EQ(buf, want);
    ASSERT_EQ(n, (int)strlen(want));
    ASSERT_ERR(sw_ws_client_request(&o, buf, 100), SW_ENOBUFS);

    sw_ws_client_options_t m = {.host = "h", .path = "/", .key = "dGhlIHNhbXBsZSBub25jZQ=="};
    ASSERT_GT(sw_ws_client_request(&m, buf, sizeof(buf)), 0);
    ASSERT_NULL(strstr(buf, "Origin"));
    ASSERT_ERR(sw_ws_client_request(NULL, buf, sizeof(buf)), SW_EINVAL);
    ASSERT_ERR(sw_ws_client_request(&m, NULL, sizeof(buf)), SW_EINVAL);
    sw_ws_client_options_t bad = m;
    bad.path = "chat";
    ASSERT_ERR(sw_ws_client_request(&bad, buf, sizeof(buf)), SW_EINVAL);
    bad = m;
    bad.path = "/a b";
    ASSERT_ERR(sw_ws_client_request(&bad, buf, sizeof(buf)), SW_EINVAL);
    bad = m;
    bad.host = "a\r\nX-Evil: 1";
    ASSERT_ERR(sw_ws_client_request(&bad, buf, sizeof(buf)), SW_EINVAL);
    bad = m;
    bad.host = "";
    ASSERT_ERR(sw_ws_client_request(&bad, buf, sizeof(buf)), SW_EINVAL);
    bad = m;
    bad.key = "short";
    ASSERT_ERR(sw_ws_client_request(&bad, buf, sizeof(buf)), SW_EINVAL);
    bad = m;
    bad.protocols = "a\nb";
    ASSERT_ERR(sw_ws_client_request(&bad, buf, sizeof(buf)), SW_EINVAL);
    bad = m;
    bad.extra = "X: 1";
    ASSERT_ERR(sw_ws_client_request(&bad, buf, sizeof(buf)), SW_EINVAL);
    bad = m;
    bad.key = NULL;
    ASSERT_ERR(sw_ws_client_request(&bad, buf, sizeof(buf)), SW_EINVAL);
}

SW_TEST(client_verify_api_errors)
{
    sw_ws_headers_t h;
    sw_ws_handshake_t hs;
    sw_ws_headers_init(&h);
    ASSERT_ERR(sw_ws_client_verify(NULL, "k", NULL, NULL, &hs), SW_EINVAL);
    ASSERT_ERR(sw_ws_client_verify(&h, NULL, NULL, NULL, &hs), SW_EINVAL);
    ASSERT_ERR(sw_ws_client_verify(&h, "k", NULL, NULL, NULL), SW_EINVAL);
    /* A whole exchange: build a request, answer it as a server would, verify the answer. */
    sw_ws_deflate_options_t d;
    sw_ws_deflate_options_init(&d);
    d.client_max_window_bits = 12;
    char offer[SW_WS_EXTENSIONS_MAX];
    int on = sw_ws_deflate_offer(&d, offer, sizeof(offer));
    if (!sw_ws_deflate_supported()) {
        ASSERT_ERR(on, SW_ENOTSUP);
        ASSERT_ERR(sw_ws_client_verify(&h, "k", NULL, &d, &hs), SW_ENOTSUP);
        return;
    }
    ASSERT_STR_EQ(offer, "permessage-deflate; client_max_window_bits=12");
    ASSERT_EQ(on, (int)strlen(offer));
    ASSERT_ERR(sw_ws_deflate_offer(&d, offer, 20), SW_ENOBUFS);
    ASSERT_ERR(sw_ws_deflate_offer(NULL, offer, sizeof(offer)), SW_EINVAL);
    sw_ws_deflate_options_t bad = d;
    bad.server_max_window_bits = 16;
    ASSERT_ERR(sw_ws_deflate_offer(&bad, offer, sizeof(offer)), SW_EINVAL);
    d.server_no_context_takeover = d.client_no_context_takeover = true;
    d.server_max_window_bits = 9;
    ASSERT_GT(sw_ws_deflate_offer(&d, offer, sizeof(offer)), 0);
    ASSERT_STR_EQ(offer, "permessage-deflate; server_no_context_takeover; "
                         "client_no_context_takeover; server_max_window_bits=9; "
                         "client_max_window_bits=12");

    sw_ws_headers_t req;
    fill_request(&req);
    ASSERT_OK(sw_ws_headers_add(&req, "Sec-WebSocket-Extensions", 24, offer, strlen(offer)));
    sw_ws_server_options_t so;
    sw_ws_server_options_init(&so);
    so.deflate = true;
    so.deflate_options.client_max_window_bits = 10;
    sw_ws_handshake_t server;
    ASSERT_OK(sw_ws_handshake_accept(&req, &so, &server));
    ASSERT_TRUE(server.deflate);
    ASSERT_STR_EQ(server.extensions, "permessage-deflate; server_no_context_takeover; "
                                     "client_no_context_takeover; server_max_window_bits=9; "
                                     "client_max_window_bits=10");
    char resp[512];
    ASSERT_GT(sw_ws_handshake_response(&server, NULL, resp, sizeof(resp)), 0);
    ASSERT_NOT_NULL(strstr(resp, "\r\nSec-WebSocket-Extensions: permessage-deflate; "));

    sw_ws_headers_init(&h);
    h.status = 101;
    sw_ws_headers_add(&h, "Upgrade", 7, "websocket", 9);
    sw_ws_headers_add(&h, "Connection", 10, "Upgrade", 7);
    sw_ws_headers_add(&h, "Sec-WebSocket-Accept", 20, server.accept, strlen(server.accept));
    sw_ws_headers_add(&h, "Sec-WebSocket-Extensions", 24, server.extensions,
                      strlen(server.extensions));
    ASSERT_OK(sw_ws_client_verify(&h, "dGhlIHNhbXBsZSBub25jZQ==", NULL, &d, &hs));
    ASSERT_TRUE(hs.deflate);
    ASSERT_TRUE(hs.deflate_params.server_no_context_takeover);
    ASSERT_TRUE(hs.deflate_params.client_no_context_takeover);
    ASSERT_EQ(hs.deflate_params.server_max_window_bits, 9);
    ASSERT_EQ(hs.deflate_params.client_max_window_bits, 10);
    ASSERT_STR_EQ(hs.accept, server.accept);
}

/* ---- handshake.txt --------------------------------------------------------------------------- */

#define MAX_LINES 24

typedef struct {
    char name[200];
    int line;
    bool server, have_deflate, have_offer_deflate;
    char method[16];
    int version, status;
    char names[MAX_LINES][64], values[MAX_LINES][256];
    int nlines;
    char select[64];
    sw_ws_deflate_options_t deflate, offer_deflate;
    char key[64], offer_protocols[128];
    int want_err, want_detail;
    char want_accept[64], want_protocol[64], want_extensions[SW_WS_EXTENSIONS_MAX];
    bool check_accept, check_protocol, check_extensions, check_deflate, want_deflate;
    int want_d[4];
} hcase_t;

static int select_by_name(void *arg, const sw_ws_slice_t *offers, size_t n)
{
    const char *want = arg;
    if (!strcmp(want, "first")) {
        return 0;
    }
    if (!strcmp(want, "bad")) {
        return (int)n;
    }
    for (size_t i = 0; i < n; i++) {
        if (offers[i].len == strlen(want) && !memcmp(offers[i].ptr, want, offers[i].len)) {
            return (int)i;
        }
    }
    return -1;
}

static void parse_deflate_opts(sw_ws_deflate_options_t *o, const char *s)
{
    sw_ws_deflate_options_init(o);
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *save, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (!strcmp(t, "server_no_context_takeover")) {
            o->server_no_context_takeover = true;
        } else if (!strcmp(t, "client_no_context_takeover")) {
            o->client_no_context_takeover = true;
        } else if (!strncmp(t, "server_max_window_bits=", 23)) {
            o->server_max_window_bits = (uint8_t)atoi(t + 23);
        } else if (!strncmp(t, "client_max_window_bits=", 23)) {
            o->client_max_window_bits = (uint8_t)atoi(t + 23);
        } else {
            sw_test_fail(__FILE__, __LINE__, "bad deflate option %s", t);
        }
    }
}

static void run_hcase(const hcase_t *c)
{
#define HFAIL(fmt, ...)                                                                       \
    sw_test_fail(__FILE__, __LINE__, "handshake case '%s' (line %d): " fmt, c->name, c->line, \
                 __VA_ARGS__)
    ws_guard_t guards[MAX_LINES + 1];
    memset(guards, 0, sizeof(guards));
    sw_ws_headers_t h;
    sw_ws_headers_init(&h);
    h.http_version = c->version;
    h.status = c->status;
    ws_guard_init(&guards[MAX_LINES], strlen(c->method) + 1);
    h.method.ptr = (const char *)ws_guard_place(&guards[MAX_LINES], c->method, strlen(c->method));
    h.method.len = strlen(c->method);
    for (int i = 0; i < c->nlines; i++) {
        size_t vn = strlen(c->values[i]);
        ws_guard_init(&guards[i], vn + 1);
        const char *v = (const char *)ws_guard_place(&guards[i], c->values[i], vn);
        sw_ws_headers_add(&h, c->names[i], strlen(c->names[i]), v, vn);
    }
    sw_ws_handshake_t hs;
    int rc;
    if (c->server) {
        sw_ws_server_options_t o;
        sw_ws_server_options_init(&o);
        if (c->select[0]) {
            o.select_protocol = select_by_name;
            o.select_arg = (void *)c->select;
        }
        if (c->have_deflate) {
            o.deflate = true;
            o.deflate_options = c->deflate;
        }
        rc = sw_ws_handshake_accept(&h, &o, &hs);
    } else {
        rc = sw_ws_client_verify(&h, c->key, c->offer_protocols[0] ? c->offer_protocols : NULL,
                                 c->have_offer_deflate ? &c->offer_deflate : NULL, &hs);
    }
    if (rc != c->want_err || hs.detail != c->want_detail) {
        HFAIL("got %s/%s, want %s/%s", sw_err_name(rc), sw_ws_detail_name(hs.detail),
              sw_err_name(c->want_err), sw_ws_detail_name(c->want_detail));
    }
    if (rc == 0) {
        if (c->check_accept && strcmp(hs.accept, c->want_accept) != 0) {
            HFAIL("accept %s, want %s", hs.accept, c->want_accept);
        }
        if (c->check_protocol) {
            char got[128];
            snprintf(got, sizeof(got), "%.*s", (int)hs.protocol.len,
                     hs.protocol.ptr ? hs.protocol.ptr : "");
            if (strcmp(got, c->want_protocol) != 0 || (!c->want_protocol[0] && hs.protocol.ptr)) {
                HFAIL("protocol '%s', want '%s'", got, c->want_protocol);
            }
        }
        if (c->check_extensions && strcmp(hs.extensions, c->want_extensions) != 0) {
            HFAIL("extensions '%s', want '%s'", hs.extensions, c->want_extensions);
        }
        if (c->check_deflate) {
            const sw_ws_deflate_params_t *p = &hs.deflate_params;
            if (hs.deflate != c->want_deflate ||
                (hs.deflate && (p->server_no_context_takeover != c->want_d[0] ||
                                p->client_no_context_takeover != c->want_d[1] ||
                                p->server_max_window_bits != c->want_d[2] ||
                                p->client_max_window_bits != c->want_d[3]))) {
                HFAIL("deflate %d %d %d %d %d", hs.deflate, p->server_no_context_takeover,
                      p->client_no_context_takeover, p->server_max_window_bits,
                      p->client_max_window_bits);
            }
        }
        if (c->server) {
            /* The 101 response carries what was agreed. */
            char resp[1024], line[256];
            ASSERT_GT(sw_ws_handshake_response(&hs, NULL, resp, sizeof(resp)), 0);
            snprintf(line, sizeof(line), "\r\nSec-WebSocket-Accept: %s\r\n", hs.accept);
            ASSERT_NOT_NULL(strstr(resp, line));
            ASSERT_EQ(strstr(resp, "Sec-WebSocket-Protocol") != NULL, hs.protocol.ptr != NULL);
            ASSERT_EQ(strstr(resp, "Sec-WebSocket-Extensions") != NULL, hs.deflate);
        }
    }
    for (int i = 0; i <= MAX_LINES; i++) {
        ws_guard_free(&guards[i]);
    }
#undef HFAIL
}

static int run_handshake_file(const char *name)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s%s", ws_data_dir(), name);
    char *text = ws_read_file(path, NULL);
    hcase_t *c = calloc(1, sizeof(*c));
    ASSERT_NOT_NULL(c);
    int ncases = 0, skipped = 0, lineno = 0;
    bool have = false;
    char *cur = text;
    for (;;) {
        char *ln = cur;
        if (ln) {
            char *nl = strchr(ln, '\n');
            if (nl) {
                *nl = '\0';
                cur = nl + 1;
            } else {
                cur = NULL;
            }
            lineno++;
        }
        if (ln && (ln[0] == '#' || ln[0] == '\0')) {
            continue;
        }
        if (!ln || !strncmp(ln, "case ", 5)) {
            if (have) {
                if ((c->have_deflate || c->have_offer_deflate ||
                     (c->check_deflate && c->want_deflate)) &&
                    !sw_ws_deflate_supported()) {
                    skipped++;
                } else {
                    run_hcase(c);
                }
                ncases++;
            }
            if (!ln) {
                break;
            }
            memset(c, 0, sizeof(*c));
            snprintf(c->name, sizeof(c->name), "%s", ln + 5);
            c->line = lineno;
            have = true;
            continue;
        }
        char kw[32] = "", rest[512] = "";
        sscanf(ln, "%31s", kw);
        const char *r = ln + strlen(kw);
        while (*r == ' ') {
            r++;
        }
        snprintf(rest, sizeof(rest), "%s", r);
        if (!strcmp(kw, "request")) {
            c->server = true;
            sscanf(rest, "%15s %d", c->method, &c->version);
        } else if (!strcmp(kw, "response")) {
            c->status = atoi(rest);
        } else if (!strcmp(kw, "h")) {
            char *colon = strchr(rest, ':');
            ASSERT_NOT_NULL(colon);
            ASSERT_LT(c->nlines, MAX_LINES);
            snprintf(c->names[c->nlines], sizeof(c->names[0]), "%.*s", (int)(colon - rest), rest);
            snprintf(c->values[c->nlines], sizeof(c->values[0]), "%s", colon + 1);
            c->nlines++;
        } else if (!strcmp(kw, "select")) {
            snprintf(c->select, sizeof(c->select), "%s", !strcmp(rest, "none") ? "-" : rest);
        } else if (!strcmp(kw, "deflate")) {
            c->have_deflate = true;
            parse_deflate_opts(&c->deflate, rest);
        } else if (!strcmp(kw, "key")) {
            snprintf(c->key, sizeof(c->key), "%s", rest);
        } else if (!strcmp(kw, "offer-protocols")) {
            snprintf(c->offer_protocols, sizeof(c->offer_protocols), "%s", rest);
        } else if (!strcmp(kw, "offer-deflate")) {
            c->have_offer_deflate = true;
            parse_deflate_opts(&c->offer_deflate, rest);
        } else if (!strcmp(kw, "expect")) {
            char e[64] = "", d[64] = "";
            sscanf(rest, "%63s %63s", e, d);
            if (!strcmp(e, "ok")) {
                c->want_err = 0;
                c->want_detail = 0;
            } else {
                c->want_err = ws_err_by_name(e);
                c->want_detail = ws_detail_by_name(d);
                if (c->want_err > 0 || c->want_detail < 0) {
                    sw_test_fail(__FILE__, __LINE__, "%s:%d: bad expect", name, lineno);
                }
            }
        } else if (!strcmp(kw, "expect-accept")) {
            c->check_accept = true;
            snprintf(c->want_accept, sizeof(c->want_accept), "%s", rest);
        } else if (!strcmp(kw, "expect-protocol")) {
            c->check_protocol = true;
            snprintf(c->want_protocol, sizeof(c->want_protocol), "%s",
                     !strcmp(rest, "none") ? "" : rest);
        } else if (!strcmp(kw, "expect-extensions")) {
            c->check_extensions = true;
            snprintf(c->want_extensions, sizeof(c->want_extensions), "%s",
                     !strcmp(rest, "none") ? "" : rest);
        } else if (!strcmp(kw, "expect-deflate")) {
            c->check_deflate = true;
            c->want_deflate = strcmp(rest, "off") != 0;
            if (c->want_deflate && sscanf(rest, "%d %d %d %d", &c->want_d[0], &c->want_d[1],
                                          &c->want_d[2], &c->want_d[3]) != 4) {
                sw_test_fail(__FILE__, __LINE__, "%s:%d: bad expect-deflate", name, lineno);
            }
        } else {
            sw_test_fail(__FILE__, __LINE__, "%s:%d: unknown directive %s", name, lineno, kw);
        }
    }
    printf("%s: %d cases (%d skipped without zlib)\n", name, ncases, skipped);
    free(c);
    free(text);
    ASSERT_GT(ncases, 0);
    return ncases;
}

SW_TEST(vectors_handshake)
{
    run_handshake_file("handshake.txt");
}
