/*
 * Body of the WebSocket frame decoder fuzz targets (fuzz_ws_frame_server.c and
 * fuzz_ws_frame_client.c include it with FUZZ_WS_ROLE set).
 *
 * Input: byte 0 chooses options (bit 0 frame mode, bit 1 permessage-deflate, bit 2
 * no-context-takeover, bit 3 reject text, bits 4-5 the size limit), byte 1 seeds the piece
 * sizes; the rest is the byte stream. The stream is decoded twice, whole and in pieces, each
 * piece copied into a buffer of exactly its size (so ASan sees any overread), and the two runs
 * must give the same events and the same error at the same offset.
 */
#ifndef FUZZ_WS_FRAME_H
#define FUZZ_WS_FRAME_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swoole/websocket.h"

/* A running digest of the events: type, fields and payload bytes. DATA pieces go into a
 * pending digest that is folded in at the end of their frame, so that neither piece boundaries
 * nor the pieces of a frame that an error cuts short make a difference. */
typedef struct {
    uint64_t h, pending;
    long error_at;
    int error, detail, close;
} trace_t;

static void mix(uint64_t *h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        *h = (*h ^ b[i]) * 0x100000001b3ull;
    }
}

static void trace_event(trace_t *t, const sw_ws_event_t *ev)
{
    if (ev->type == SW_WS_EVENT_DATA) {
        if (ev->len) {
            mix(&t->pending, ev->data, ev->len);
        }
        if (ev->frame_end) {
            uint64_t f[2] = {t->pending, ev->fin};
            mix(&t->h, f, sizeof(f));
            t->pending = 0;
        }
        return;
    }
    uint32_t f[4] = {ev->type, ev->opcode,
                     (uint32_t)(ev->continuation | ev->fin << 1 | ev->compressed << 2),
                     ev->close_code};
    mix(&t->h, f, sizeof(f));
    mix(&t->h, &ev->frame_length, sizeof(ev->frame_length));
    if (ev->len) {
        mix(&t->h, ev->data, ev->len);
    }
}

static sw_ws_decoder_t *make_decoder(uint8_t flags)
{
    sw_ws_decoder_options_t o;
    sw_ws_decoder_options_init(&o);
    o.role = FUZZ_WS_ROLE;
    o.frame_mode = flags & 1;
    o.reject_text = (flags & 8) != 0;
    static const uint64_t limits[4] = {0, 64, 4096, 100000};
    o.max_message_size = limits[(flags >> 4) & 3];
    sw_ws_decoder_t *d = NULL;
    if (sw_ws_decoder_create(&d, &o) < 0) {
        abort();
    }
    if ((flags & 2) && !o.frame_mode) {
        sw_ws_deflate_params_t p = {.server_no_context_takeover = (flags & 4) != 0,
                                    .client_no_context_takeover = (flags & 4) != 0,
                                    .server_max_window_bits = 15,
                                    .client_max_window_bits = (flags & 4) ? 9 : 15};
        int rc = sw_ws_decoder_set_deflate(d, &p);
        if (rc < 0 && rc != SW_ENOTSUP) {
            abort();
        }
    }
    return d;
}

/* Decodes data in pieces whose sizes come from `seed` (0: one piece). */
static void run(uint8_t flags, uint8_t seed, const uint8_t *data, size_t size, trace_t *t)
{
    sw_ws_decoder_t *d = make_decoder(flags);
    memset(t, 0, sizeof(*t));
    t->h = 0xcbf29ce484222325ull;
    t->error_at = -1;
    uint32_t x = seed | 0x100u;
    size_t at = 0;
    long total = 0;
    for (;;) {
        size_t piece = size - at;
        if (seed) {
            x = x * 1103515245u + 12345u;
            size_t want = (x >> 16) % 64;
            if (want < piece) {
                piece = want;
            }
        }
        uint8_t *buf = malloc(piece ? piece : 1);
        if (!buf) {
            abort();
        }
        memcpy(buf, data + at, piece);
        uint8_t *p = buf;
        size_t left = piece;
        int rc;
        for (;;) {
            size_t used = 0;
            sw_ws_event_t ev;
            rc = sw_ws_decoder_execute(d, p, left, &used, &ev);
            if (used > left) {
                abort();
            }
            total += (long)used;
            p += used;
            left -= used;
            if (rc < 0) {
                t->error = rc;
                t->detail = sw_ws_decoder_detail(d);
                t->close = sw_ws_decoder_close_code(d);
                t->error_at = total;
                if (t->close == 0 || rc != sw_ws_decoder_error(d)) {
                    abort();
                }
                break;
            }
            if (rc == SW_WS_EVENT_NONE) {
                if (left) {
                    abort();
                }
                break;
            }
            trace_event(t, &ev);
        }
        free(buf);
        at += piece;
        if (rc < 0 || at == size) {
            break;
        }
    }
    sw_ws_decoder_destroy(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    uint8_t flags = data[0], seed = data[1];
    data += 2;
    size -= 2;
    trace_t whole, split;
    run(flags, 0, data, size, &whole);
    run(flags, seed | 1, data, size, &split);
    /* Errors found inside compressed data are reported at the end of the piece being
     * inflated, so only their code is compared. */
    bool inflate_err = whole.error == SW_EWS_DEFLATE ||
                       whole.detail == SW_WS_DETAIL_INFLATED_TOO_BIG ||
                       (whole.error == SW_EWS_UTF8 && (flags & 2));
    if (whole.h != split.h || whole.error != split.error || whole.detail != split.detail ||
        (!inflate_err && whole.error_at != split.error_at)) {
        fprintf(stderr, "whole and split decoding differ: %s/%s at %ld vs %s/%s at %ld\n",
                sw_err_name(whole.error), sw_ws_detail_name(whole.detail), whole.error_at,
                sw_err_name(split.error), sw_ws_detail_name(split.detail), split.error_at);
        abort();
    }
    return 0;
}

#endif
