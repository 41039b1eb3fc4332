/*
 * libFuzzer target: WebSocket framing (sw_protocol_next_websocket), differential against the
 * frame decoder of swoole/websocket.h.
 *
 * Input: a 3-byte header, then the stream.
 *   [0..1] package_max_length - 16 (mod 4096, little-endian)
 *   [2]    websocket_max_frame_size: 0 (none) or the byte's value
 * The stream is framed as a server frames a connection (unread bytes capped at
 * package_max_length), whole and one byte at a time: both must cut the same frames. Every
 * frame must fit the limits, and a frame's length must agree with the decoder's idea of it:
 * fed exactly one cut frame, a frame-mode decoder (in the role for which the frame's mask bit
 * is right) ends the frame exactly where the framer did, unless it stops with a protocol
 * error. Unread input up to 64 bytes is copied to a buffer of exactly that size first, so that
 * a framer reading past `len` is caught by ASan.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swoole/error.h"
#include "swoole/protocol.h"
#include "swoole/websocket.h"

#include "fuzz_reader.h"

#define HEADER     3
#define MAX_STREAM 4096
#define COPY_MAX   64 /* unread input up to this is copied to an exact-size buffer */

static void check_frame(const unsigned char *f, size_t n)
{
    uint8_t *copy = malloc(n);
    if (!copy) {
        abort();
    }
    memcpy(copy, f, n);
    sw_ws_decoder_options_t o;
    sw_ws_decoder_options_init(&o);
    o.role = (f[1] & 0x80) ? SW_WS_ROLE_SERVER : SW_WS_ROLE_CLIENT; /* masking is no rule here */
    o.frame_mode = true;
    sw_ws_decoder_t *d;
    if (sw_ws_decoder_create(&d, &o) < 0) {
        abort();
    }
    size_t pos = 0;
    int ends = 0, failed = 0;
    for (int guard = 0; guard < 1000; guard++) {
        size_t used = 0;
        sw_ws_event_t ev;
        int r = sw_ws_decoder_execute(d, copy + pos, n - pos, &used, &ev);
        pos += used;
        if (r < 0) {
            failed = 1;
            break;
        }
        if (r == SW_WS_EVENT_NONE) {
            break;
        }
        if ((r == SW_WS_EVENT_DATA && ev.frame_end) || r == SW_WS_EVENT_PING ||
            r == SW_WS_EVENT_PONG || r == SW_WS_EVENT_CLOSE) {
            ends++;
            if (pos != n) {
                abort(); /* the decoder ended the frame elsewhere than the framer */
            }
        }
    }
    if (!failed && ends != 1) {
        abort();
    }
    sw_ws_decoder_destroy(d);
    free(copy);
}

/* Each cut frame fits websocket_max_frame_size (plus the longest header, 14 bytes) and agrees
 * with the decoder. */
static void on_frame(const unsigned char *s, size_t start, size_t end, void *arg)
{
    const sw_protocol_t *p = arg;
    if (p->websocket_max_frame_size && end - start > p->websocket_max_frame_size + 14) {
        abort();
    }
    check_frame(s + start, end - start);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER || size > HEADER + MAX_STREAM) {
        return 0;
    }
    sw_protocol_t p;
    sw_protocol_init(&p);
    p.package_max_length = 16 + (size_t)((data[0] | data[1] << 8) % 4096);
    p.websocket_max_frame_size = data[2];
    static size_t a[MAX_STREAM], b[MAX_STREAM];
    fuzz_cuts_t whole = {.ends = a, .cap = MAX_STREAM}, bytes = {.ends = b, .cap = MAX_STREAM};
    fuzz_reader_t rd = {.p = &p,
                        .next = sw_protocol_next_websocket,
                        .copy_max = COPY_MAX,
                        .on_message = on_frame,
                        .arg = &p};
    fuzz_read_ways(&rd, data + HEADER, size - HEADER, &whole, &bytes, NULL);
    fuzz_cuts_same(&whole, &bytes);
    return 0;
}
