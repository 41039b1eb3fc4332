/*
 * permessage-deflate tests: the compressor against the decoder (context takeover or not,
 * window sizes, empty and large messages, fragments), the 8-bit-window fallback, the
 * decompressed-size limit, and allocation failures. Without zlib every call must say
 * SW_ENOTSUP, and the rest is skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "core/fault.h"
#include "sw_test.h"
#include "swoole/websocket.h"
#include "websocket/ws_int.h"

static sw_ws_deflate_params_t params(bool snct, bool cnct, int sbits, int cbits)
{
    return (sw_ws_deflate_params_t){.server_no_context_takeover = snct,
                                    .client_no_context_takeover = cnct,
                                    .server_max_window_bits = (uint8_t)sbits,
                                    .client_max_window_bits = (uint8_t)cbits};
}

#define NEED_ZLIB()                             \
    do {                                        \
        if (!sw_ws_deflate_supported()) {       \
            SW_TEST_SKIP("built without zlib"); \
        }                                       \
    } while (0)

SW_TEST(deflate_without_zlib_is_enotsup)
{
    if (sw_ws_deflate_supported()) {
        SW_TEST_SKIP("built with zlib: covered by the other cases");
    }
    sw_ws_deflate_params_t p = params(false, false, 15, 15);
    sw_ws_compressor_t *c = NULL;
    ASSERT_ERR(sw_ws_compressor_create(&c, SW_WS_ROLE_SERVER, &p, NULL), SW_ENOTSUP);
    ASSERT_ERR(sw_ws_compressor_compress(NULL, "a", 1, NULL), SW_ENOTSUP);
    sw_ws_compressor_destroy(NULL);
    sw_ws_decoder_t *d;
    ASSERT_OK(sw_ws_decoder_create(&d, NULL));
    ASSERT_ERR(sw_ws_decoder_set_deflate(d, &p), SW_ENOTSUP);
    sw_ws_decoder_destroy(d);
    sw_ws_deflate_options_t o;
    sw_ws_deflate_options_init(&o);
    char buf[SW_WS_EXTENSIONS_MAX];
    ASSERT_ERR(sw_ws_deflate_offer(&o, buf, sizeof(buf)), SW_ENOTSUP);
}

/* Compresses each message with `c`, frames it (masked when the sender is a client, split
 * into `frag` fragments), and checks that the decoder gives the messages back. */
static void round_trip(sw_ws_role_t sender, sw_ws_compressor_t *c, sw_ws_decoder_t *d,
                       const uint8_t *msg, size_t len, unsigned opcode, int frag,
                       size_t *compressed_len)
{
    sw_buffer_t z = {0};
    int rc = sw_ws_compressor_compress(c, msg, len, &z);
    ASSERT_GE(rc, 0);
    bool compressed = rc == 1;
    const uint8_t *payload = compressed ? (const uint8_t *)z.str : msg;
    size_t plen = compressed ? z.length : len;
    if (compressed_len) {
        *compressed_len = compressed ? plen : (size_t)-1;
    }
    const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
    const uint8_t *k = sender == SW_WS_ROLE_CLIENT ? key : NULL;
    size_t cap = plen + 14 * (size_t)(frag + 1);
    uint8_t *wire = malloc(cap);
    ASSERT_NOT_NULL(wire);
    size_t w = 0, at = 0;
    for (int i = 0; i < frag; i++) {
        size_t piece = i == frag - 1 ? plen - at : plen / (size_t)frag;
        unsigned flags = (i == frag - 1 ? SW_WS_FIN : 0) | (i == 0 && compressed ? SW_WS_RSV1 : 0);
        int n = sw_ws_frame_encode(wire + w, cap - w, i == 0 ? opcode : SW_WS_OP_CONTINUATION,
                                   flags, payload + at, piece, k);
        ASSERT_GT(n, 0);
        w += (size_t)n;
        at += piece;
    }
    sw_ws_event_t ev;
    size_t used;
    /* Feed in two halves so that the buffered path is taken. */
    size_t half = w / 2;
    rc = sw_ws_decoder_execute(d, wire, half, &used, &ev);
    if (rc == SW_WS_EVENT_NONE) {
        rc = sw_ws_decoder_execute(d, wire + half, w - half, &used, &ev);
        ASSERT_UEQ(used, w - half);
    }
    ASSERT_EQ(rc, SW_WS_EVENT_MESSAGE);
    ASSERT_EQ(ev.opcode, opcode);
    ASSERT_EQ(ev.compressed, compressed);
    ASSERT_UEQ(ev.len, len);
    ASSERT_MEM_EQ(ev.data, msg, len);
    free(wire);
    sw_buffer_close(&z);
}

static uint8_t *text_of(size_t n, uint64_t seed)
{
    static const char words[][8] = {"swoole ", "loop ", "frame ", "mask ", "deflate ", "ws "};
    uint8_t *t = malloc(n + 1);
    ASSERT_NOT_NULL(t);
    size_t i = 0;
    while (i < n) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        const char *w = words[seed % 6];
        for (size_t k = 0; w[k] && i < n; k++) {
            t[i++] = (uint8_t)w[k];
        }
    }
    return t;
}

static void pair(sw_ws_role_t sender, const sw_ws_deflate_params_t *p, sw_ws_compressor_t **c,
                 sw_ws_decoder_t **d)
{
    ASSERT_OK(sw_ws_compressor_create(c, sender, p, NULL));
    sw_ws_decoder_options_t o;
    sw_ws_decoder_options_init(&o);
    o.role = sender == SW_WS_ROLE_CLIENT ? SW_WS_ROLE_SERVER : SW_WS_ROLE_CLIENT;
    o.max_message_size = 4 << 20;
    ASSERT_OK(sw_ws_decoder_create(d, &o));
    ASSERT_OK(sw_ws_decoder_set_deflate(*d, p));
}

SW_TEST(deflate_round_trips)
{
    NEED_ZLIB();
    static const size_t sizes[] = {0, 1, 5, 100, 4096, 65536, 300000};
    for (int role = 0; role < 2; role++) {
        for (int variant = 0; variant < 6; variant++) {
            bool nct = variant & 1;
            int bits = variant < 2 ? 15 : variant < 4 ? 9 : 12;
            sw_ws_deflate_params_t p = params(nct, nct, bits, bits);
            sw_ws_compressor_t *c;
            sw_ws_decoder_t *d;
            pair((sw_ws_role_t)role, &p, &c, &d);
            for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                uint8_t *t = text_of(sizes[i], 7 + i);
                round_trip((sw_ws_role_t)role, c, d, t, sizes[i], SW_WS_OP_TEXT, 1, NULL);
                round_trip((sw_ws_role_t)role, c, d, t, sizes[i], SW_WS_OP_BINARY, 3, NULL);
                free(t);
            }
            sw_ws_compressor_destroy(c);
            sw_ws_decoder_destroy(d);
        }
    }
}

SW_TEST(deflate_context_takeover_helps)
{
    NEED_ZLIB();
    uint8_t *t = text_of(2000, 99);
    size_t first, second;
    sw_ws_deflate_params_t p = params(false, false, 15, 15);
    sw_ws_compressor_t *c;
    sw_ws_decoder_t *d;
    pair(SW_WS_ROLE_SERVER, &p, &c, &d);
    round_trip(SW_WS_ROLE_SERVER, c, d, t, 2000, SW_WS_OP_TEXT, 1, &first);
    round_trip(SW_WS_ROLE_SERVER, c, d, t, 2000, SW_WS_OP_TEXT, 1, &second);
    ASSERT_ULT(second, first / 4); /* the repeat is a back-reference into the last message */
    sw_ws_compressor_destroy(c);
    sw_ws_decoder_destroy(d);

    p = params(true, false, 15, 15); /* the server forgets between messages */
    pair(SW_WS_ROLE_SERVER, &p, &c, &d);
    round_trip(SW_WS_ROLE_SERVER, c, d, t, 2000, SW_WS_OP_TEXT, 1, &first);
    round_trip(SW_WS_ROLE_SERVER, c, d, t, 2000, SW_WS_OP_TEXT, 1, &second);
    ASSERT_UEQ(second, first);
    sw_ws_compressor_destroy(c);
    sw_ws_decoder_destroy(d);
    free(t);
}

SW_TEST(deflate_window_8_sends_uncompressed)
{
    NEED_ZLIB();
    sw_ws_deflate_params_t p = params(false, false, 8, 15);
    sw_ws_compressor_t *c;
    sw_ws_decoder_t *d;
    pair(SW_WS_ROLE_SERVER, &p, &c, &d);
    sw_buffer_t z = {0};
    ASSERT_EQ(sw_ws_compressor_compress(c, "hello", 5, &z), 0);
    ASSERT_UEQ(z.length, 0);
    size_t clen;
    round_trip(SW_WS_ROLE_SERVER, c, d, (const uint8_t *)"hello hello", 11, SW_WS_OP_TEXT, 2,
               &clen);
    ASSERT_UEQ(clen, (size_t)-1);
    sw_ws_compressor_destroy(c);
    sw_ws_decoder_destroy(d);
    /* The client side of the same agreement compresses (its window is 15). */
    pair(SW_WS_ROLE_CLIENT, &p, &c, &d);
    round_trip(SW_WS_ROLE_CLIENT, c, d, (const uint8_t *)"hello hello", 11, SW_WS_OP_TEXT, 1,
               &clen);
    ASSERT_NE(clen, (size_t)-1);
    sw_ws_compressor_destroy(c);
    sw_ws_decoder_destroy(d);
    sw_buffer_close(&z);
}

SW_TEST(deflate_compressor_api)
{
    NEED_ZLIB();
    sw_ws_deflate_params_t p = params(false, false, 15, 15);
    sw_ws_compressor_t *c = NULL;
    sw_ws_deflate_options_t o;
    sw_ws_deflate_options_init(&o);
    sw_ws_deflate_options_init(NULL);
    ASSERT_EQ(o.level, -1);
    ASSERT_EQ(o.mem_level, 8);
    ASSERT_ERR(sw_ws_compressor_create(NULL, SW_WS_ROLE_SERVER, &p, &o), SW_EINVAL);
    ASSERT_ERR(sw_ws_compressor_create(&c, SW_WS_ROLE_SERVER, NULL, &o), SW_EINVAL);
    ASSERT_ERR(sw_ws_compressor_create(&c, (sw_ws_role_t)3, &p, &o), SW_EINVAL);
    o.level = 10;
    ASSERT_ERR(sw_ws_compressor_create(&c, SW_WS_ROLE_SERVER, &p, &o), SW_EINVAL);
    o.level = 1;
    o.mem_level = 0;
    ASSERT_ERR(sw_ws_compressor_create(&c, SW_WS_ROLE_SERVER, &p, &o), SW_EINVAL);
    o.mem_level = 9;
    sw_ws_deflate_params_t bad = params(false, false, 16, 15);
    ASSERT_ERR(sw_ws_compressor_create(&c, SW_WS_ROLE_SERVER, &bad, &o), SW_EINVAL);
    bad = params(false, false, 15, 7);
    ASSERT_ERR(sw_ws_compressor_create(&c, SW_WS_ROLE_SERVER, &bad, &o), SW_EINVAL);
    ASSERT_NULL(c);
    ASSERT_OK(sw_ws_compressor_create(&c, SW_WS_ROLE_SERVER, &p, &o));
    sw_buffer_t z = {0};
    ASSERT_ERR(sw_ws_compressor_compress(NULL, "a", 1, &z), SW_EINVAL);
    ASSERT_ERR(sw_ws_compressor_compress(c, "a", 1, NULL), SW_EINVAL);
    ASSERT_ERR(sw_ws_compressor_compress(c, NULL, 1, &z), SW_EINVAL);
    /* RFC 7692 §7.2.3.6: an empty message compresses to the single byte 0x00. */
    ASSERT_EQ(sw_ws_compressor_compress(c, NULL, 0, &z), 1);
    ASSERT_UEQ(z.length, 1);
    ASSERT_EQ(z.str[0], 0);
    /* Output is appended; a full buffer gives SW_EOVERFLOW and leaves it as it was. */
    sw_buffer_t small;
    ASSERT_OK(sw_buffer_init(&small, 0, 8));
    ASSERT_OK(sw_buffer_append(&small, "xy", 2));
    uint8_t *noise = malloc(5000);
    ASSERT_NOT_NULL(noise);
    for (int i = 0; i < 5000; i++) {
        noise[i] = (uint8_t)(i * 2654435761u >> 13);
    }
    ASSERT_ERR(sw_ws_compressor_compress(c, noise, 5000, &small), SW_EOVERFLOW);
    ASSERT_UEQ(small.length, 2);
    /* After the failure the compressor was reset: the next message stands alone. */
    sw_ws_decoder_options_t dopt;
    sw_ws_decoder_options_init(&dopt);
    dopt.role = SW_WS_ROLE_CLIENT;
    sw_ws_decoder_t *d;
    ASSERT_OK(sw_ws_decoder_create(&d, &dopt));
    sw_ws_deflate_params_t fresh = params(true, false, 15, 15);
    ASSERT_OK(sw_ws_decoder_set_deflate(d, &fresh));
    round_trip(SW_WS_ROLE_SERVER, c, d, (const uint8_t *)"after", 5, SW_WS_OP_TEXT, 1, NULL);
    sw_ws_decoder_destroy(d);
    free(noise);
    sw_buffer_close(&small);
    sw_buffer_close(&z);
    sw_ws_compressor_destroy(c);
    sw_ws_compressor_destroy(NULL);
}

SW_TEST(deflate_zip_bomb_limit)
{
    NEED_ZLIB();
    sw_ws_deflate_params_t p = params(false, false, 15, 15);
    sw_ws_compressor_t *c;
    ASSERT_OK(sw_ws_compressor_create(&c, SW_WS_ROLE_CLIENT, &p, NULL));
    size_t n = 8 << 20;
    uint8_t *zeros = calloc(1, n);
    ASSERT_NOT_NULL(zeros);
    sw_buffer_t z = {0};
    ASSERT_EQ(sw_ws_compressor_compress(c, zeros, n, &z), 1);
    ASSERT_ULT(z.length, 16384); /* 8 MiB of zeros is a few KiB compressed */
    sw_ws_decoder_options_t o;
    sw_ws_decoder_options_init(&o);
    o.max_message_size = 1 << 20;
    sw_ws_decoder_t *d;
    ASSERT_OK(sw_ws_decoder_create(&d, &o));
    ASSERT_OK(sw_ws_decoder_set_deflate(d, &p));
    uint8_t *wire = malloc(z.length + 14);
    ASSERT_NOT_NULL(wire);
    const uint8_t key[4] = {1, 2, 3, 4};
    int w = sw_ws_frame_encode(wire, z.length + 14, SW_WS_OP_BINARY, SW_WS_FIN | SW_WS_RSV1, z.str,
                               z.length, key);
    ASSERT_GT(w, 0);
    sw_ws_event_t ev;
    size_t used;
    ASSERT_ERR(sw_ws_decoder_execute(d, wire, (size_t)w, &used, &ev), SW_EWS_TOO_BIG);
    ASSERT_EQ(sw_ws_decoder_detail(d), SW_WS_DETAIL_INFLATED_TOO_BIG);
    ASSERT_EQ(sw_ws_decoder_close_code(d), 1009);
    free(wire);
    free(zeros);
    sw_buffer_close(&z);
    sw_ws_decoder_destroy(d);
    sw_ws_compressor_destroy(c);
}

SW_TEST(deflate_alloc_failures)
{
    NEED_ZLIB();
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    sw_ws_deflate_params_t p = params(false, false, 15, 15);
    /* Each allocation of creating a compressor and a decoder with deflate fails in turn. */
    for (int skip = 0; skip < 8; skip++) {
        sw_ws_compressor_t *c = NULL;
        ASSERT_OK(sw__fault_set("alloc", skip, 1));
        int rc = sw_ws_compressor_create(&c, SW_WS_ROLE_SERVER, &p, NULL);
        sw__fault_reset();
        if (rc == 0) {
            sw_ws_compressor_destroy(c);
        } else {
            ASSERT_ERR(rc, SW_ENOMEM);
            ASSERT_NULL(c);
        }
        sw_ws_decoder_t *d = NULL;
        ASSERT_OK(sw_ws_decoder_create(&d, NULL));
        ASSERT_OK(sw__fault_set("alloc", skip, 1));
        rc = sw_ws_decoder_set_deflate(d, &p);
        sw__fault_reset();
        ASSERT_TRUE(rc == 0 || rc == SW_ENOMEM);
        sw_ws_decoder_destroy(d);
    }
    /* Inflating into the message buffer fails: 1011. */
    sw_ws_decoder_t *d;
    ASSERT_OK(sw_ws_decoder_create(&d, NULL));
    ASSERT_OK(sw_ws_decoder_set_deflate(d, &p));
    uint8_t hello[] = {0xc1, 0x87, 0, 0, 0, 0, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    sw_ws_event_t ev;
    size_t used;
    ASSERT_OK(sw__fault_set("alloc", 0, -1));
    ASSERT_ERR(sw_ws_decoder_execute(d, hello, sizeof(hello), &used, &ev), SW_ENOMEM);
    sw__fault_reset();
    ASSERT_EQ(sw_ws_decoder_close_code(d), 1011);
    sw_ws_decoder_destroy(d);
    /* Compressing into a buffer that cannot grow. */
    sw_ws_compressor_t *c;
    ASSERT_OK(sw_ws_compressor_create(&c, SW_WS_ROLE_SERVER, &p, NULL));
    sw_buffer_t z = {0};
    ASSERT_OK(sw__fault_set("alloc", 0, -1));
    ASSERT_ERR(sw_ws_compressor_compress(c, "hello", 5, &z), SW_ENOMEM);
    sw__fault_reset();
    ASSERT_UEQ(z.length, 0);
    ASSERT_EQ(sw_ws_compressor_compress(c, "hello", 5, &z), 1);
    sw_buffer_close(&z);
    sw_ws_compressor_destroy(c);
}
