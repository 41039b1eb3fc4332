/*
 * WebSocket frame tests: the encoder, close codes and payloads, the masking kernels (each one
 * forced, every length 0..300 at odd offsets and every mask phase), the UTF-8 validator's API,
 * and decoder behaviour the vector files do not show (API errors, zero-copy, buffer reuse,
 * allocation failures, encoder/decoder round trips).
 */
#include <stdlib.h>
#include <string.h>

#include "core/fault.h"
#include "sw_test.h"
#include "swoole/websocket.h"
#include "websocket/ws_int.h"
#include "test_websocket_util.h"
#include "utf8_reference.h"

/* ---- encoder --------------------------------------------------------------------------------- */

SW_TEST(frame_header_forms)
{
    uint8_t h[SW_WS_MAX_FRAME_HEADER];
    ASSERT_EQ(sw_ws_frame_header(h, SW_WS_OP_TEXT, SW_WS_FIN, 5, NULL), 2);
    ASSERT_MEM_EQ(h, "\x81\x05", 2);
    ASSERT_EQ(sw_ws_frame_header(h, SW_WS_OP_BINARY, SW_WS_FIN, 125, NULL), 2);
    ASSERT_MEM_EQ(h, "\x82\x7d", 2);
    ASSERT_EQ(sw_ws_frame_header(h, SW_WS_OP_BINARY, SW_WS_FIN, 126, NULL), 4);
    ASSERT_MEM_EQ(h, "\x82\x7e\x00\x7e", 4);
    ASSERT_EQ(sw_ws_frame_header(h, SW_WS_OP_BINARY, 0, 65535, NULL), 4);
    ASSERT_MEM_EQ(h, "\x02\x7e\xff\xff", 4);
    ASSERT_EQ(sw_ws_frame_header(h, SW_WS_OP_CONTINUATION, SW_WS_FIN, 65536, NULL), 10);
    ASSERT_MEM_EQ(h, "\x80\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    ASSERT_EQ(sw_ws_frame_header(h, SW_WS_OP_BINARY, SW_WS_FIN, (1ull << 63) - 1, NULL), 10);
    ASSERT_MEM_EQ(h, "\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff", 10);
    const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    ASSERT_EQ(sw_ws_frame_header(h, SW_WS_OP_TEXT, SW_WS_FIN | SW_WS_RSV1, 5, key), 6);
    ASSERT_MEM_EQ(h, "\xc1\x85\x37\xfa\x21\x3d", 6);
    ASSERT_EQ(sw_ws_frame_header(h, SW_WS_OP_BINARY, SW_WS_FIN, 70000, key), 14);
    ASSERT_MEM_EQ(h, "\x82\xff\x00\x00\x00\x00\x00\x01\x11\x70\x37\xfa\x21\x3d", 14);
    ASSERT_EQ(sw_ws_frame_header(h, SW_WS_OP_PING, SW_WS_FIN, 125, NULL), 2);
    ASSERT_EQ(sw_ws_frame_header(h, SW_WS_OP_CLOSE, SW_WS_FIN, 0, key), 6);

    /* Bad arguments. */
    ASSERT_ERR(sw_ws_frame_header(NULL, SW_WS_OP_TEXT, SW_WS_FIN, 1, NULL), SW_EINVAL);
    for (unsigned op = 3; op <= 7; op++) {
        ASSERT_ERR(sw_ws_frame_header(h, op, SW_WS_FIN, 1, NULL), SW_EINVAL);
    }
    for (unsigned op = 0xb; op <= 0x10; op++) {
        ASSERT_ERR(sw_ws_frame_header(h, op, SW_WS_FIN, 1, NULL), SW_EINVAL);
    }
    ASSERT_ERR(sw_ws_frame_header(h, SW_WS_OP_TEXT, 0x100, 1, NULL), SW_EINVAL);
    ASSERT_ERR(sw_ws_frame_header(h, SW_WS_OP_TEXT, 0x01, 1, NULL), SW_EINVAL);
    ASSERT_ERR(sw_ws_frame_header(h, SW_WS_OP_TEXT, SW_WS_FIN, 1ull << 63, NULL), SW_EINVAL);
    ASSERT_ERR(sw_ws_frame_header(h, SW_WS_OP_PING, 0, 1, NULL), SW_EINVAL);
    ASSERT_ERR(sw_ws_frame_header(h, SW_WS_OP_PING, SW_WS_FIN | SW_WS_RSV1, 1, NULL), SW_EINVAL);
    ASSERT_ERR(sw_ws_frame_header(h, SW_WS_OP_PONG, SW_WS_FIN, 126, NULL), SW_EMSGSIZE);
}

SW_TEST(frame_encode)
{
    uint8_t out[64];
    const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    /* RFC 6455 §5.7: a masked "Hello". */
    ASSERT_EQ(sw_ws_frame_encode(out, sizeof(out), SW_WS_OP_TEXT, SW_WS_FIN, "Hello", 5, key), 11);
    ASSERT_MEM_EQ(out, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
    ASSERT_EQ(sw_ws_frame_encode(out, sizeof(out), SW_WS_OP_PING, SW_WS_FIN, "Hello", 5, NULL), 7);
    ASSERT_MEM_EQ(out, "\x89\x05Hello", 7);
    ASSERT_EQ(sw_ws_frame_encode(out, 2, SW_WS_OP_CLOSE, SW_WS_FIN, NULL, 0, NULL), 2);
    ASSERT_ERR(sw_ws_frame_encode(out, 10, SW_WS_OP_TEXT, SW_WS_FIN, "Hello", 5, key), SW_ENOBUFS);
    ASSERT_ERR(sw_ws_frame_encode(NULL, 10, SW_WS_OP_TEXT, SW_WS_FIN, "x", 1, NULL), SW_EINVAL);
    ASSERT_ERR(sw_ws_frame_encode(out, 10, SW_WS_OP_TEXT, SW_WS_FIN, NULL, 1, NULL), SW_EINVAL);
    ASSERT_ERR(sw_ws_frame_encode(out, 10, 3, SW_WS_FIN, "x", 1, NULL), SW_EINVAL);
    ASSERT_ERR(sw_ws_frame_encode(out, 10, SW_WS_OP_PING, SW_WS_FIN, "x", 126, NULL), SW_EMSGSIZE);
    ASSERT_ERR(sw_ws_frame_encode(out, 10, SW_WS_OP_TEXT, SW_WS_FIN, "x", (size_t)1 << 40, NULL),
               SW_EOVERFLOW);
}

SW_TEST(close_codes_and_payloads)
{
    for (unsigned code = 0; code < 70000; code++) {
        bool want = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                    (code >= 3000 && code <= 4999);
        ASSERT_EQ(sw_ws_close_code_valid(code), want);
    }
    uint8_t p[SW_WS_MAX_CONTROL_PAYLOAD];
    ASSERT_EQ(sw_ws_close_payload(p, 1000, NULL, 0), 2);
    ASSERT_MEM_EQ(p, "\x03\xe8", 2);
    ASSERT_EQ(sw_ws_close_payload(p, 4999, "bye", 3), 5);
    ASSERT_MEM_EQ(p,
                  "\x13\x87"
                  "bye",
                  5);
    char reason[124];
    memset(reason, 'r', sizeof(reason));
    ASSERT_EQ(sw_ws_close_payload(p, 1001, reason, 123), 125);
    ASSERT_ERR(sw_ws_close_payload(p, 1001, reason, 124), SW_EMSGSIZE);
    ASSERT_ERR(sw_ws_close_payload(p, 1005, NULL, 0), SW_EWS_CLOSE_CODE);
    ASSERT_ERR(sw_ws_close_payload(p, 999, NULL, 0), SW_EWS_CLOSE_CODE);
    ASSERT_ERR(sw_ws_close_payload(p, 1000, "\xc3", 1), SW_EWS_UTF8);
    ASSERT_ERR(sw_ws_close_payload(NULL, 1000, NULL, 0), SW_EINVAL);
    ASSERT_ERR(sw_ws_close_payload(p, 1000, NULL, 1), SW_EINVAL);
}

SW_TEST(details_and_close_codes)
{
    for (int d = 0; d < SW_WS_DETAIL_COUNT_; d++) {
        ASSERT_NOT_NULL(sw_ws_detail_name(d));
        ASSERT_TRUE(strcmp(sw_ws_detail_name(d), "UNKNOWN") != 0);
        ASSERT_TRUE(strcmp(sw_ws_detail_str(d), "unknown detail") != 0);
        int cc = sw_ws_detail_close_code(d);
        bool frame_detail = d >= SW_WS_DETAIL_RSV;
        ASSERT_EQ(cc != 0, frame_detail);
        if (cc) {
            ASSERT_TRUE(cc == 1002 || cc == 1003 || cc == 1007 || cc == 1009 || cc == 1011);
        }
    }
    ASSERT_STR_EQ(sw_ws_detail_name(-1), "UNKNOWN");
    ASSERT_STR_EQ(sw_ws_detail_name(SW_WS_DETAIL_COUNT_), "UNKNOWN");
    ASSERT_STR_EQ(sw_ws_detail_str(1000), "unknown detail");
    ASSERT_EQ(sw_ws_detail_close_code(-5), 0);
    ASSERT_EQ(sw_ws_detail_close_code(SW_WS_DETAIL_TEXT_UTF8), 1007);
    ASSERT_EQ(sw_ws_detail_close_code(SW_WS_DETAIL_TOO_BIG), 1009);
    ASSERT_EQ(sw_ws_detail_close_code(SW_WS_DETAIL_UNSUPPORTED_DATA), 1003);
    ASSERT_EQ(sw_ws_error_close_code(0), 0);
    ASSERT_EQ(sw_ws_error_close_code(SW_EWS_UTF8), 1007);
    ASSERT_EQ(sw_ws_error_close_code(SW_EWS_DEFLATE), 1007);
    ASSERT_EQ(sw_ws_error_close_code(SW_EWS_TOO_BIG), 1009);
    ASSERT_EQ(sw_ws_error_close_code(SW_EWS_LENGTH), 1002);
    ASSERT_EQ(sw_ws_error_close_code(SW_EWS_CONTINUATION), 1002);
    ASSERT_EQ(sw_ws_error_close_code(SW_ENOMEM), 1011);
    /* Every SW_EWS_* code has a name and a message. */
    for (int code = SW_EWS_LENGTH; code <= SW_EWS_HANDSHAKE; code++) {
        ASSERT_TRUE(strncmp(sw_err_name(code), "EWS_", 4) == 0);
    }
}

/* ---- masking --------------------------------------------------------------------------------- */

SW_TEST(unmask_kernels_exhaustive)
{
    /* Every kernel the CPU has, against the byte-wise reference: every length 0..300, start
     * offsets 0..40 in a buffer (so every alignment), every mask phase, canaries around. */
    enum { MAXLEN = 300, PAD = 64 };
    uint8_t *ref = malloc(MAXLEN + 2 * PAD), *got = malloc(MAXLEN + 2 * PAD);
    ASSERT_NOT_NULL(ref);
    ASSERT_NOT_NULL(got);
    const uint8_t key[4] = {0x9d, 0x01, 0xe7, 0x5a};
    int kernels = 0;
    for (int k = SW__WS_UNMASK_SCALAR; k < SW__WS_UNMASK_COUNT_; k++) {
        sw__ws_unmask_fn fn = sw__ws_unmask_impl(k);
        if (!fn) {
            continue;
        }
        kernels++;
        for (size_t len = 0; len <= MAXLEN; len++) {
            for (size_t off = 0; off < 41; off += (len > 64 ? 3 : 1)) {
                for (uint64_t phase = 0; phase < 4; phase++) {
                    for (size_t i = 0; i < MAXLEN + 2 * PAD; i++) {
                        ref[i] = got[i] = (uint8_t)(i * 31 + len);
                    }
                    sw__ws_unmask_byte(ref + PAD / 2 + off, len, key, phase);
                    fn(got + PAD / 2 + off, len, key, phase);
                    if (memcmp(ref, got, MAXLEN + 2 * PAD) != 0) {
                        sw_test_fail(__FILE__, __LINE__, "%s: len %zu off %zu phase %llu",
                                     sw__ws_unmask_name(k), len, off, (unsigned long long)phase);
                    }
                }
            }
        }
    }
    ASSERT_GE(kernels, 1);
    free(ref);
    free(got);
}

SW_TEST(unmask_in_pieces)
{
    /* Masking a payload in pieces of any sizes gives the one-shot result, on every kernel. */
    enum { N = 5000 };
    uint8_t *a = malloc(N), *b = malloc(N);
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(b);
    const uint8_t key[4] = {1, 2, 4, 8};
    uint64_t seed = 88172645463325252ull;
    for (int k = SW__WS_UNMASK_BYTE; k < SW__WS_UNMASK_COUNT_; k++) {
        sw__ws_unmask_fn fn = sw__ws_unmask_impl(k);
        if (!fn) {
            continue;
        }
        for (int round = 0; round < 50; round++) {
            for (size_t i = 0; i < N; i++) {
                a[i] = b[i] = (uint8_t)i;
            }
            sw__ws_unmask_byte(a, N, key, 0);
            size_t at = 0;
            while (at < N) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                size_t piece = 1 + (size_t)(seed % 700);
                if (piece > N - at) {
                    piece = N - at;
                }
                fn(b + at, piece, key, at);
                at += piece;
            }
            ASSERT_MEM_EQ(a, b, N);
        }
    }
    /* The public call, with a large phase value. */
    for (size_t i = 0; i < N; i++) {
        a[i] = b[i] = (uint8_t)(i >> 3);
    }
    sw__ws_unmask_byte(a + 1, N - 1, key, (1ull << 40) + 3);
    sw_ws_mask(b + 1, N - 1, key, (1ull << 40) + 3);
    ASSERT_MEM_EQ(a, b, N);
    sw_ws_mask(NULL, 0, key, 0); /* nothing to do */
    free(a);
    free(b);
}

SW_TEST(unmask_impl_lookup)
{
    ASSERT_NOT_NULL(sw__ws_unmask_impl(SW__WS_UNMASK_BEST));
    ASSERT_NOT_NULL(sw__ws_unmask_impl(SW__WS_UNMASK_BYTE));
    ASSERT_NOT_NULL(sw__ws_unmask_impl(SW__WS_UNMASK_SCALAR));
    ASSERT_NULL(sw__ws_unmask_impl(-1));
    ASSERT_NULL(sw__ws_unmask_impl(SW__WS_UNMASK_COUNT_));
    ASSERT_STR_EQ(sw__ws_unmask_name(SW__WS_UNMASK_AVX2), "avx2");
    ASSERT_STR_EQ(sw__ws_unmask_name(99), "unknown");
#if defined(__x86_64__)
    ASSERT_NOT_NULL(sw__ws_unmask_impl(SW__WS_UNMASK_SSE2)); /* baseline on x86-64 */
#endif
    sw_ws_decoder_t *d;
    ASSERT_OK(sw_ws_decoder_create(&d, NULL));
    ASSERT_OK(sw__ws_decoder_force_unmask(d, SW__WS_UNMASK_SCALAR));
    ASSERT_ERR(sw__ws_decoder_force_unmask(d, 77), SW_ENOTSUP);
    ASSERT_ERR(sw__ws_decoder_force_unmask(NULL, SW__WS_UNMASK_SCALAR), SW_ENOTSUP);
    sw_ws_decoder_destroy(d);
}

/* ---- UTF-8 API ------------------------------------------------------------------------------- */

SW_TEST(utf8_api)
{
    sw_ws_utf8_t u;
    sw_ws_utf8_init(&u);
    sw_ws_utf8_init(NULL);
    size_t bad = 99;
    ASSERT_ERR(sw_ws_utf8_update(NULL, "a", 1, &bad), SW_EINVAL);
    ASSERT_ERR(sw_ws_utf8_update(&u, NULL, 1, &bad), SW_EINVAL);
    ASSERT_OK(sw_ws_utf8_update(&u, NULL, 0, &bad));
    ASSERT_ERR(sw_ws_utf8_finish(NULL), SW_EINVAL);
    ASSERT_OK(sw_ws_utf8_update(&u, "\xe2\x82", 2, NULL));
    ASSERT_ERR(sw_ws_utf8_finish(&u), SW_EWS_UTF8);
    ASSERT_OK(sw_ws_utf8_update(&u, "\xac", 1, NULL));
    ASSERT_OK(sw_ws_utf8_finish(&u));
    ASSERT_ERR(sw_ws_utf8_update(&u, "ab\xff", 3, &bad), SW_EWS_UTF8);
    ASSERT_UEQ(bad, 2);
    /* Sticky: later input fails at once, with offset 0. */
    ASSERT_ERR(sw_ws_utf8_update(&u, "ok", 2, &bad), SW_EWS_UTF8);
    ASSERT_UEQ(bad, 0);
    ASSERT_ERR(sw_ws_utf8_finish(&u), SW_EWS_UTF8);
    ASSERT_OK(sw_ws_utf8_validate("", 0, NULL));
    ASSERT_ERR(sw_ws_utf8_validate(NULL, 1, NULL), SW_EINVAL);
    /* A zero-initialised state is a valid start. */
    sw_ws_utf8_t z = {0};
    ASSERT_OK(sw_ws_utf8_update(&z, "\xf0\x9f\x98\x80", 4, NULL));
    ASSERT_OK(sw_ws_utf8_finish(&z));
}

SW_TEST_TIMEOUT(utf8_every_string_up_to_three_bytes, 120)
{
    /* Every string of 1, 2 and 3 bytes (16.8 million), and the 4-byte strings that start
     * with F0..F4 followed by two continuation bytes and any last byte. */
    for (size_t n = 1; n <= 3; n++) {
        for (uint32_t v = 0; v < (1u << (8 * n)); v++) {
            uint8_t s[3];
            for (size_t i = 0; i < n; i++) {
                s[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
            }
            if ((sw_ws_utf8_validate(s, n, NULL) == 0) != utf8_reference_valid(s, n)) {
                sw_test_fail(__FILE__, __LINE__, "%zu bytes, value %06x", n, v);
            }
        }
    }
    for (uint32_t a = 0xf0; a <= 0xf4; a++) {
        for (uint32_t b = 0x80; b <= 0xbf; b++) {
            for (uint32_t c = 0x80; c <= 0xbf; c += 7) {
                for (uint32_t e = 0; e <= 0xff; e++) {
                    uint8_t s[4] = {(uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)e};
                    if ((sw_ws_utf8_validate(s, 4, NULL) == 0) != utf8_reference_valid(s, 4)) {
                        sw_test_fail(__FILE__, __LINE__, "%02x %02x %02x %02x", a, b, c, e);
                    }
                }
            }
        }
    }
}

/* ---- decoder --------------------------------------------------------------------------------- */

SW_TEST(decoder_api_errors)
{
    sw_ws_decoder_t *d = NULL;
    sw_ws_decoder_options_t o;
    sw_ws_decoder_options_init(&o);
    sw_ws_decoder_options_init(NULL);
    ASSERT_EQ(o.role, SW_WS_ROLE_SERVER);
    ASSERT_UEQ(o.max_message_size, SW_WS_DEFAULT_MAX_MESSAGE);
    ASSERT_ERR(sw_ws_decoder_create(NULL, &o), SW_EINVAL);
    o.role = (sw_ws_role_t)7;
    ASSERT_ERR(sw_ws_decoder_create(&d, &o), SW_EINVAL);
    ASSERT_NULL(d);
    sw_ws_decoder_options_init(&o);
    o.reject_text = o.reject_binary = true;
    ASSERT_ERR(sw_ws_decoder_create(&d, &o), SW_EINVAL);
    sw_ws_decoder_destroy(NULL);

    ASSERT_OK(sw_ws_decoder_create(&d, NULL));
    uint8_t buf[16] = {0};
    size_t used = 5;
    sw_ws_event_t ev;
    ASSERT_ERR(sw_ws_decoder_execute(NULL, buf, 1, &used, &ev), SW_EINVAL);
    ASSERT_UEQ(used, 0);
    ASSERT_ERR(sw_ws_decoder_execute(d, buf, 1, NULL, &ev), SW_EINVAL);
    ASSERT_ERR(sw_ws_decoder_execute(d, buf, 1, &used, NULL), SW_EINVAL);
    ASSERT_ERR(sw_ws_decoder_execute(d, NULL, 1, &used, &ev), SW_EINVAL);
    ASSERT_EQ(sw_ws_decoder_execute(d, NULL, 0, &used, &ev), SW_WS_EVENT_NONE);
    ASSERT_EQ(sw_ws_decoder_error(d), 0);
    ASSERT_EQ(sw_ws_decoder_close_code(d), 0);
    ASSERT_EQ(sw_ws_decoder_detail(d), 0);
    ASSERT_FALSE(sw_ws_decoder_in_message(d));
    ASSERT_EQ(sw_ws_decoder_error(NULL), 0);
    ASSERT_EQ(sw_ws_decoder_detail(NULL), 0);
    ASSERT_EQ(sw_ws_decoder_close_code(NULL), 0);
    ASSERT_FALSE(sw_ws_decoder_in_message(NULL));
    int x;
    sw_ws_decoder_set_data(d, &x);
    ASSERT_PTR_EQ(sw_ws_decoder_get_data(d), &x);
    sw_ws_decoder_set_data(NULL, &x);
    ASSERT_NULL(sw_ws_decoder_get_data(NULL));

    sw_ws_deflate_params_t p = {.server_max_window_bits = 15, .client_max_window_bits = 15};
    ASSERT_ERR(sw_ws_decoder_set_deflate(NULL, &p), SW_EINVAL);
    ASSERT_ERR(sw_ws_decoder_set_deflate(d, NULL), SW_EINVAL);
    p.client_max_window_bits = 7;
    ASSERT_ERR(sw_ws_decoder_set_deflate(d, &p), SW_EINVAL);
    p.client_max_window_bits = 15;
    p.server_max_window_bits = 16;
    ASSERT_ERR(sw_ws_decoder_set_deflate(d, &p), SW_EINVAL);
    p.server_max_window_bits = 15;
    /* After input, too late. */
    uint8_t ping[] = {0x89, 0x80, 0, 0, 0, 0};
    ASSERT_EQ(sw_ws_decoder_execute(d, ping, sizeof(ping), &used, &ev), SW_WS_EVENT_PING);
    ASSERT_ERR(sw_ws_decoder_set_deflate(d, &p), SW_EINVAL);
    sw_ws_decoder_destroy(d);

    sw_ws_decoder_options_init(&o);
    o.frame_mode = true;
    ASSERT_OK(sw_ws_decoder_create(&d, &o));
    ASSERT_ERR(sw_ws_decoder_set_deflate(d, &p), SW_EINVAL); /* frame mode */
    sw_ws_decoder_destroy(d);

    ASSERT_OK(sw_ws_decoder_create(&d, NULL));
    if (sw_ws_deflate_supported()) {
        ASSERT_OK(sw_ws_decoder_set_deflate(d, &p));
        ASSERT_ERR(sw_ws_decoder_set_deflate(d, &p), SW_EINVAL); /* twice */
    } else {
        ASSERT_ERR(sw_ws_decoder_set_deflate(d, &p), SW_ENOTSUP);
    }
    sw_ws_decoder_destroy(d);
}

/* Feeds all of data and returns the first event (must be one). */
static int one_event(sw_ws_decoder_t *d, uint8_t *data, size_t n, sw_ws_event_t *ev, size_t *used)
{
    return sw_ws_decoder_execute(d, data, n, used, ev);
}

SW_TEST(decoder_zero_copy_and_buffered)
{
    sw_ws_decoder_t *d;
    ASSERT_OK(sw_ws_decoder_create(&d, NULL));
    uint8_t msg[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    sw_ws_event_t ev;
    size_t used;
    /* Whole in the input: the payload is unmasked in place and handed out from there. */
    ASSERT_EQ(one_event(d, msg, sizeof(msg), &ev, &used), SW_WS_EVENT_MESSAGE);
    ASSERT_UEQ(used, sizeof(msg));
    ASSERT_PTR_EQ(ev.data, msg + 6);
    ASSERT_MEM_EQ(msg + 6, "Hello", 5);
    ASSERT_FALSE(ev.compressed);
    /* Split: the message is assembled in the decoder. */
    uint8_t msg2[] = {0x82, 0x83, 1, 2, 3, 4, 1 ^ 'a', 2 ^ 'b', 3 ^ 'c'};
    ASSERT_EQ(one_event(d, msg2, 7, &ev, &used), SW_WS_EVENT_NONE);
    ASSERT_UEQ(used, 7);
    ASSERT_TRUE(sw_ws_decoder_in_message(d));
    ASSERT_EQ(one_event(d, msg2 + 7, 2, &ev, &used), SW_WS_EVENT_MESSAGE);
    ASSERT_FALSE(sw_ws_decoder_in_message(d));
    ASSERT_EQ(ev.opcode, SW_WS_OP_BINARY);
    ASSERT_UEQ(ev.len, 3);
    ASSERT_MEM_EQ(ev.data, "abc", 3);
    ASSERT_TRUE(ev.data < msg2 || ev.data >= msg2 + sizeof(msg2));
    /* An event with bytes left over: the rest is fed by the next call. */
    uint8_t two[] = {0x89, 0x80, 0, 0, 0, 0, 0x8a, 0x80, 0, 0, 0, 0};
    ASSERT_EQ(one_event(d, two, sizeof(two), &ev, &used), SW_WS_EVENT_PING);
    ASSERT_UEQ(used, 6);
    ASSERT_UEQ(ev.len, 0);
    ASSERT_NOT_NULL(ev.data);
    ASSERT_EQ(one_event(d, two + 6, 6, &ev, &used), SW_WS_EVENT_PONG);
    ASSERT_EQ(one_event(d, two + 12, 0, &ev, &used), SW_WS_EVENT_NONE);
    sw_ws_decoder_destroy(d);
}

SW_TEST(decoder_large_buffer_released)
{
    /* A 200 KiB message grows the buffer; the next message starts from a fresh one, and
     * everything is freed at destroy (ASan checks leaks). */
    sw_ws_decoder_t *d;
    ASSERT_OK(sw_ws_decoder_create(&d, NULL));
    size_t n = 200 * 1024;
    uint8_t *f = malloc(n + 14);
    ASSERT_NOT_NULL(f);
    const uint8_t key[4] = {9, 8, 7, 6};
    int h = sw_ws_frame_header(f, SW_WS_OP_BINARY, SW_WS_FIN, n, key);
    memset(f + h, 0x5a, n);
    sw_ws_mask(f + h, n, key, 0);
    sw_ws_event_t ev;
    size_t used, off = 0;
    int rc = SW_WS_EVENT_NONE;
    while (off < (size_t)h + n) { /* 1000-byte reads: never zero-copy */
        size_t piece = (size_t)h + n - off < 1000 ? (size_t)h + n - off : 1000;
        rc = sw_ws_decoder_execute(d, f + off, piece, &used, &ev);
        ASSERT_UEQ(used, piece);
        off += piece;
    }
    ASSERT_EQ(rc, SW_WS_EVENT_MESSAGE);
    ASSERT_UEQ(ev.len, n);
    ASSERT_EQ(ev.data[n - 1], 0x5a);
    uint8_t small[] = {0x81, 0x81, 0, 0, 0, 0, 'z'};
    ASSERT_EQ(sw_ws_decoder_execute(d, small, 4, &used, &ev), SW_WS_EVENT_NONE);
    ASSERT_EQ(sw_ws_decoder_execute(d, small + 4, 3, &used, &ev), SW_WS_EVENT_MESSAGE);
    ASSERT_MEM_EQ(ev.data, "z", 1);
    free(f);
    sw_ws_decoder_destroy(d);
}

SW_TEST(decoder_alloc_failure)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    sw_ws_decoder_t *d = NULL;
    ASSERT_OK(sw__fault_set("alloc", 0, 1));
    ASSERT_ERR(sw_ws_decoder_create(&d, NULL), SW_ENOMEM);
    ASSERT_NULL(d);
    sw__fault_reset();
    ASSERT_OK(sw_ws_decoder_create(&d, NULL));
    /* A fragmented message needs the buffer: its allocation fails → 1011. */
    uint8_t frag[] = {0x01, 0x81, 0, 0, 0, 0, 'a'};
    sw_ws_event_t ev;
    size_t used;
    ASSERT_OK(sw__fault_set("alloc", 0, -1));
    ASSERT_ERR(sw_ws_decoder_execute(d, frag, sizeof(frag), &used, &ev), SW_ENOMEM);
    sw__fault_reset();
    ASSERT_EQ(sw_ws_decoder_detail(d), SW_WS_DETAIL_NO_MEMORY);
    ASSERT_EQ(sw_ws_decoder_close_code(d), 1011);
    ASSERT_UEQ(used, 6);
    ASSERT_EQ(ev.type, SW_WS_EVENT_NONE);
    sw_ws_decoder_destroy(d);
}

/* Encodes a random sequence of messages and control frames, fragmented at random, masked or
 * not per role, then decodes it in random pieces and checks every event. */
SW_TEST(encoder_decoder_round_trip)
{
    uint64_t seed = 0x2545f4914f6cdd1dull;
#define RND() (seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17, seed)
    for (int round = 0; round < 60; round++) {
        sw_ws_role_t role = round & 1 ? SW_WS_ROLE_CLIENT : SW_WS_ROLE_SERVER;
        ws_bytes_t wire = {0};
        ws_bytes_t want[40];
        unsigned want_op[40];
        int nwant = 0;
        for (int m = 0; m < 30; m++) {
            size_t len = RND() % 3 ? RND() % 200 : RND() % 70000;
            bool ctl = RND() % 4 == 0;
            unsigned op = ctl ? SW_WS_OP_PING : RND() % 2 ? SW_WS_OP_TEXT : SW_WS_OP_BINARY;
            if (ctl) {
                len %= 126;
            }
            uint8_t *payload = malloc(len + 1);
            ASSERT_NOT_NULL(payload);
            for (size_t i = 0; i < len; i++) {
                payload[i] = op == SW_WS_OP_TEXT ? (uint8_t)('a' + RND() % 26) : (uint8_t)RND();
            }
            want[nwant] = (ws_bytes_t){0};
            ws_bytes_put(&want[nwant], payload, len);
            want_op[nwant++] = op;
            size_t at = 0;
            bool first = true;
            int frags = 0;
            do {
                size_t piece = ctl || ++frags > 8 ? len - at
                               : RND() % 3        ? len - at
                                                  : RND() % (len - at + 1);
                bool fin = at + piece == len;
                uint8_t key[4];
                for (int i = 0; i < 4; i++) {
                    key[i] = (uint8_t)RND();
                }
                const uint8_t *k = role == SW_WS_ROLE_SERVER ? key : NULL;
                uint8_t h[SW_WS_MAX_FRAME_HEADER];
                int hn = sw_ws_frame_header(h, first ? op : SW_WS_OP_CONTINUATION,
                                            fin ? SW_WS_FIN : 0, piece, k);
                ASSERT_GT(hn, 0);
                ws_bytes_put(&wire, h, (size_t)hn);
                size_t start = wire.n;
                ws_bytes_put(&wire, payload + at, piece);
                if (k) {
                    sw_ws_mask(wire.p + start, piece, k, 0);
                }
                at += piece;
                first = false;
            } while (at < len);
            free(payload);
            if (nwant == 40) {
                break;
            }
        }
        sw_ws_decoder_options_t o;
        sw_ws_decoder_options_init(&o);
        o.role = role;
        sw_ws_decoder_t *d;
        ASSERT_OK(sw_ws_decoder_create(&d, &o));
        int got = 0;
        size_t off = 0;
        while (off <= wire.n) {
            size_t piece = RND() % 5 ? RND() % 3000 : RND() % 100000;
            if (piece > wire.n - off) {
                piece = wire.n - off;
            }
            uint8_t *p = wire.p + off;
            size_t left = piece;
            for (;;) {
                sw_ws_event_t ev;
                size_t used;
                int rc = sw_ws_decoder_execute(d, p, left, &used, &ev);
                ASSERT_GE(rc, 0);
                p += used;
                left -= used;
                if (rc == SW_WS_EVENT_NONE) {
                    break;
                }
                ASSERT_LT(got, nwant);
                unsigned op = want_op[got];
                ASSERT_EQ(rc, op == SW_WS_OP_PING ? SW_WS_EVENT_PING : SW_WS_EVENT_MESSAGE);
                ASSERT_EQ(ev.opcode, op);
                ASSERT_UEQ(ev.len, want[got].n);
                ASSERT_MEM_EQ(ev.data, want[got].p, ev.len);
                got++;
            }
            off += piece;
            if (piece == 0 && off == wire.n) {
                break;
            }
        }
        ASSERT_EQ(got, nwant);
        sw_ws_decoder_destroy(d);
        for (int i = 0; i < nwant; i++) {
            ws_bytes_free(&want[i]);
        }
        ws_bytes_free(&wire);
    }
#undef RND
}
