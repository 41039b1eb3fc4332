/*
 * WebSocket framing (a server's connection after the handshake): where one whole frame ends,
 * from the frame header of RFC 6455 §5.2:
 *
 *      byte 0: FIN RSV1-3 opcode           byte 1: MASK, payload length 0..125,
 *      126: a 16-bit length follows, 127: a 64-bit length follows (top bit 0),
 *      then the 4-byte masking key when MASK is set, then the payload.
 *
 * Only the lengths are interpreted: everything else (opcodes, reserved bits, the masking
 * rule, control frame limits) is checked by the decoder the worker runs over each frame
 * (swoole/websocket.h), which knows the close code of each violation. The limit is checked as
 * soon as the length field is complete, before any of the payload is read, so an oversized
 * frame costs at most its header.
 */
#include "protocol/protocol_int.h"

int sw_protocol_next_websocket(const sw_protocol_t *p, sw_framer_t *st, const char *data,
                               size_t len, size_t *out)
{
    if (!p || !st || !out || (!data && len)) {
        return SW_EINVAL;
    }
    int rc = sw_protocol_check(p);
    if (rc < 0) {
        return rc;
    }
    const unsigned char *b = (const unsigned char *)data;
    if (len < 2) {
        *out = 2;
        return 0;
    }
    unsigned len7 = b[1] & 0x7fu;
    size_t hlen = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((b[1] & 0x80u) ? 4 : 0);
    size_t max = p->package_max_length;
    if (hlen > max) {
        return SW_EPKGTOOBIG;
    }
    if (len < hlen) {
        *out = hlen;
        return 0;
    }
    uint64_t payload = len7;
    if (len7 == 126) {
        payload = (uint64_t)b[2] << 8 | b[3];
    } else if (len7 == 127) {
        payload = 0;
        for (int i = 0; i < 8; i++) {
            payload = payload << 8 | b[2 + i];
        }
        if (payload >> 63) {
            return SW_EPKGMALFORMED;
        }
    }
    if ((p->websocket_max_frame_size && payload > p->websocket_max_frame_size) ||
        payload > max - hlen) {
        return SW_EPKGTOOBIG;
    }
    size_t total = hlen + (size_t)payload;
    *out = total;
    return len >= total ? 1 : 0;
}
