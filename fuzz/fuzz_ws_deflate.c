/*
 * libFuzzer target: permessage-deflate. Byte 0 chooses the agreement (no context takeover,
 * window bits 8..15, level); the rest is cut into up to four messages (cut points from byte
 * 1) that are compressed by sw_ws_compressor_t, framed and decoded by sw_ws_decoder_t, which
 * must give them back unchanged. Then the input itself is fed to a decoder as a compressed
 * message payload: corrupt data must fail cleanly with 1007 or 1009, never crash. Without zlib
 * the target checks that everything says SW_ENOTSUP.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swoole/websocket.h"

static void decode_one(sw_ws_decoder_t *d, uint8_t *wire, size_t n, const uint8_t *want,
                       size_t want_len, int want_rc)
{
    sw_ws_event_t ev;
    size_t used;
    int rc = sw_ws_decoder_execute(d, wire, n, &used, &ev);
    if (want_rc < 0) { /* the raw-payload check: any clean outcome */
        if (rc < 0) {
            int cc = sw_ws_decoder_close_code(d);
            if (cc != 1007 && cc != 1009 && cc != 1011) {
                abort();
            }
        } else if (rc != SW_WS_EVENT_MESSAGE && rc != SW_WS_EVENT_NONE) {
            abort();
        }
        return;
    }
    if (rc != want_rc || used != n || ev.len != want_len || memcmp(ev.data, want, want_len)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    uint8_t flags = data[0], cuts = data[1];
    data += 2;
    size -= 2;
    sw_ws_deflate_params_t p = {.server_no_context_takeover = flags & 1,
                                .client_no_context_takeover = (flags & 2) != 0,
                                .server_max_window_bits = (uint8_t)(8 + ((flags >> 2) & 7)),
                                .client_max_window_bits = 15};
    sw_ws_deflate_options_t o;
    sw_ws_deflate_options_init(&o);
    o.level = (flags >> 5) % 10;
    sw_ws_compressor_t *c = NULL;
    int rc = sw_ws_compressor_create(&c, SW_WS_ROLE_SERVER, &p, &o);
    if (!sw_ws_deflate_supported()) {
        if (rc != SW_ENOTSUP) {
            abort();
        }
        return 0;
    }
    if (rc < 0) {
        abort();
    }
    sw_ws_decoder_options_t dopt;
    sw_ws_decoder_options_init(&dopt);
    dopt.role = SW_WS_ROLE_CLIENT;
    dopt.max_message_size = 1 << 20;
    sw_ws_decoder_t *d;
    if (sw_ws_decoder_create(&d, &dopt) < 0 || sw_ws_decoder_set_deflate(d, &p) < 0) {
        abort();
    }
    size_t at = 0;
    for (int m = 0; m < 4 && at <= size; m++) {
        size_t len = m == 3 ? size - at : (size - at) * ((cuts >> (2 * m)) & 3) / 4;
        sw_buffer_t z = {0};
        rc = sw_ws_compressor_compress(c, data + at, len, &z);
        if (rc < 0) {
            abort();
        }
        const uint8_t *payload = rc ? (const uint8_t *)z.str : data + at;
        size_t plen = rc ? z.length : len;
        uint8_t *wire = malloc(plen + 14);
        if (!wire) {
            abort();
        }
        int w = sw_ws_frame_encode(wire, plen + 14, SW_WS_OP_BINARY,
                                   SW_WS_FIN | (rc ? SW_WS_RSV1 : 0), payload, plen, NULL);
        if (w < 0) {
            abort();
        }
        decode_one(d, wire, (size_t)w, data + at, len, SW_WS_EVENT_MESSAGE);
        free(wire);
        sw_buffer_close(&z);
        at += len;
        if (m == 3) {
            break;
        }
    }
    sw_ws_decoder_destroy(d);
    sw_ws_compressor_destroy(c);

    /* The input as a compressed payload. */
    if (sw_ws_decoder_create(&d, &dopt) < 0 || sw_ws_decoder_set_deflate(d, &p) < 0) {
        abort();
    }
    uint8_t *wire = malloc(size + 14);
    if (!wire) {
        abort();
    }
    int w = sw_ws_frame_encode(wire, size + 14, SW_WS_OP_TEXT, SW_WS_FIN | SW_WS_RSV1, data, size,
                               NULL);
    if (w < 0) {
        abort();
    }
    decode_one(d, wire, (size_t)w, NULL, 0, -1);
    free(wire);
    sw_ws_decoder_destroy(d);
    return 0;
}
