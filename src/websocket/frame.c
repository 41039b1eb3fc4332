/*
 * Frame encoding (RFC 6455 §5.2), close codes and payloads (§5.5.1, §7.4), and the table of
 * violation details with the close code each one calls for.
 */
#include <limits.h>
#include <string.h>

#include "websocket/ws_int.h"

/* ---- details --------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *text;
    int close_code;
} detail_info_t;

static const detail_info_t details[SW_WS_DETAIL_COUNT_] = {
    [SW_WS_DETAIL_NONE] = {"NONE", "no error", 0},
    [SW_WS_DETAIL_METHOD] = {"METHOD", "request method is not GET", 0},
    [SW_WS_DETAIL_HTTP_VERSION] = {"HTTP_VERSION", "HTTP version below 1.1", 0},
    [SW_WS_DETAIL_HOST] = {"HOST", "Host header missing or empty", 0},
    [SW_WS_DETAIL_UPGRADE] = {"UPGRADE", "Upgrade header without the websocket token", 0},
    [SW_WS_DETAIL_CONNECTION] = {"CONNECTION", "Connection header without the upgrade token", 0},
    [SW_WS_DETAIL_KEY] = {"KEY", "Sec-WebSocket-Key missing or not base64 of 16 bytes", 0},
    [SW_WS_DETAIL_VERSION] = {"VERSION", "Sec-WebSocket-Version missing or not 13", 0},
    [SW_WS_DETAIL_DUPLICATE_FIELD] = {"DUPLICATE_FIELD", "single-valued header field repeated", 0},
    [SW_WS_DETAIL_TOO_MANY_LINES] = {"TOO_MANY_LINES", "too many lines of one header field", 0},
    [SW_WS_DETAIL_PROTOCOL_SYNTAX] = {"PROTOCOL_SYNTAX",
                                      "Sec-WebSocket-Protocol is not a list of tokens", 0},
    [SW_WS_DETAIL_EXTENSION_SYNTAX] = {"EXTENSION_SYNTAX", "Sec-WebSocket-Extensions is malformed",
                                       0},
    [SW_WS_DETAIL_STATUS] = {"STATUS", "response status is not 101", 0},
    [SW_WS_DETAIL_ACCEPT] = {"ACCEPT", "Sec-WebSocket-Accept missing or wrong", 0},
    [SW_WS_DETAIL_PROTOCOL_UNOFFERED] = {"PROTOCOL_UNOFFERED",
                                         "server selected a subprotocol that was not offered", 0},
    [SW_WS_DETAIL_EXTENSION_UNOFFERED] = {"EXTENSION_UNOFFERED",
                                          "server accepted an extension that was not offered", 0},
    [SW_WS_DETAIL_DEFLATE_PARAMS] = {"DEFLATE_PARAMS",
                                     "permessage-deflate response parameters not acceptable", 0},
    [SW_WS_DETAIL_RSV] = {"RSV", "reserved bit set without an extension that defines it", 1002},
    [SW_WS_DETAIL_RSV1_CONTROL] = {"RSV1_CONTROL", "RSV1 set on a control frame", 1002},
    [SW_WS_DETAIL_RSV1_CONTINUATION] = {"RSV1_CONTINUATION", "RSV1 set on a continuation frame",
                                        1002},
    [SW_WS_DETAIL_OPCODE] = {"OPCODE", "reserved opcode", 1002},
    [SW_WS_DETAIL_CONTROL_FRAGMENTED] = {"CONTROL_FRAGMENTED", "control frame without FIN", 1002},
    [SW_WS_DETAIL_CONTROL_TOO_LONG] = {"CONTROL_TOO_LONG", "control frame payload over 125 bytes",
                                       1002},
    [SW_WS_DETAIL_CONTINUATION_UNOPENED] = {"CONTINUATION_UNOPENED",
                                            "continuation frame without a message to continue",
                                            1002},
    [SW_WS_DETAIL_MESSAGE_INTERRUPTED] = {"MESSAGE_INTERRUPTED",
                                          "new data frame before the open message ended", 1002},
    [SW_WS_DETAIL_UNMASKED] = {"UNMASKED", "client frame is not masked", 1002},
    [SW_WS_DETAIL_MASKED] = {"MASKED", "server frame is masked", 1002},
    [SW_WS_DETAIL_LENGTH_NOT_MINIMAL] = {"LENGTH_NOT_MINIMAL",
                                         "payload length not in its shortest form", 1002},
    [SW_WS_DETAIL_LENGTH_MSB] = {"LENGTH_MSB", "64-bit payload length with the top bit set", 1002},
    [SW_WS_DETAIL_TOO_BIG] = {"TOO_BIG", "message over the size limit", 1009},
    [SW_WS_DETAIL_INFLATED_TOO_BIG] = {"INFLATED_TOO_BIG",
                                       "decompressed message over the size limit", 1009},
    [SW_WS_DETAIL_CLOSE_ONE_BYTE] = {"CLOSE_ONE_BYTE", "close frame payload of one byte", 1002},
    [SW_WS_DETAIL_CLOSE_CODE] = {"CLOSE_CODE", "close code not allowed on the wire", 1002},
    [SW_WS_DETAIL_CLOSE_REASON_UTF8] = {"CLOSE_REASON_UTF8", "close reason is not UTF-8", 1007},
    [SW_WS_DETAIL_TEXT_UTF8] = {"TEXT_UTF8", "text message is not UTF-8", 1007},
    [SW_WS_DETAIL_INFLATE] = {"INFLATE", "compressed payload is corrupt", 1007},
    [SW_WS_DETAIL_UNSUPPORTED_DATA] = {"UNSUPPORTED_DATA", "message type not accepted", 1003},
    [SW_WS_DETAIL_NO_MEMORY] = {"NO_MEMORY", "out of memory", 1011},
};

const char *sw_ws_detail_name(int detail)
{
    return detail >= 0 && detail < SW_WS_DETAIL_COUNT_ ? details[detail].name : "UNKNOWN";
}

const char *sw_ws_detail_str(int detail)
{
    return detail >= 0 && detail < SW_WS_DETAIL_COUNT_ ? details[detail].text : "unknown detail";
}

int sw_ws_detail_close_code(int detail)
{
    return detail >= 0 && detail < SW_WS_DETAIL_COUNT_ ? details[detail].close_code : 0;
}

int sw_ws_error_close_code(int err)
{
    switch (err) {
    case 0:
        return 0;
    case SW_EWS_UTF8:
    case SW_EWS_DEFLATE:
        return SW_WS_CLOSE_INVALID_PAYLOAD;
    case SW_EWS_TOO_BIG:
        return SW_WS_CLOSE_MESSAGE_TOO_BIG;
    case SW_EWS_HANDSHAKE:
    case SW_EWS_VERSION:
    case SW_EWS_OPCODE:
    case SW_EWS_RSV:
    case SW_EWS_CONTROL:
    case SW_EWS_MASK:
    case SW_EWS_CLOSE_CODE:
    case SW_EWS_CONTINUATION:
    case SW_EWS_LENGTH:
        return SW_WS_CLOSE_PROTOCOL_ERROR;
    default:
        return SW_WS_CLOSE_INTERNAL_ERROR;
    }
}

/* ---- close codes ----------------------------------------------------------------------------- */

bool sw_ws_close_code_valid(unsigned code)
{
    /* RFC 6455 §7.4.1 defines 1000-1011 (1004 reserved, 1005/1006/1015 never on the wire); the
     * IANA registry added 1012-1014. 1016-2999 are unassigned, 3000-3999 registered for
     * libraries and frameworks, 4000-4999 private. */
    if (code >= 1000 && code <= 1003) {
        return true;
    }
    if (code >= 1007 && code <= 1014) {
        return true;
    }
    return code >= 3000 && code <= 4999;
}

int sw_ws_close_payload(uint8_t out[SW_WS_MAX_CONTROL_PAYLOAD], unsigned code, const char *reason,
                        size_t reason_len)
{
    if (!out || (!reason && reason_len)) {
        return SW_EINVAL;
    }
    if (!sw_ws_close_code_valid(code)) {
        return SW_EWS_CLOSE_CODE;
    }
    if (reason_len > SW_WS_MAX_CLOSE_REASON) {
        return SW_EMSGSIZE;
    }
    if (reason_len && sw_ws_utf8_validate(reason, reason_len, NULL) < 0) {
        return SW_EWS_UTF8;
    }
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    if (reason_len) {
        memcpy(out + 2, reason, reason_len);
    }
    return (int)(2 + reason_len);
}

/* ---- encoding -------------------------------------------------------------------------------- */

static bool opcode_defined(unsigned op)
{
    return op <= SW_WS_OP_BINARY || (op >= SW_WS_OP_CLOSE && op <= SW_WS_OP_PONG);
}

int sw_ws_frame_header(uint8_t out[SW_WS_MAX_FRAME_HEADER], unsigned opcode, unsigned flags,
                       uint64_t payload_len, const uint8_t *mask_key)
{
    if (!out || !opcode_defined(opcode) ||
        (flags & ~(unsigned)(SW_WS_FIN | SW_WS_RSV1 | SW_WS_RSV2 | SW_WS_RSV3)) ||
        payload_len >> 63) {
        return SW_EINVAL;
    }
    if (opcode >= SW_WS_OP_CLOSE) {
        if (!(flags & SW_WS_FIN) || (flags & SW_WS_RSV1)) {
            return SW_EINVAL;
        }
        if (payload_len > SW_WS_MAX_CONTROL_PAYLOAD) {
            return SW_EMSGSIZE;
        }
    }
    size_t n = 0;
    out[n++] = (uint8_t)(flags | opcode);
    uint8_t mask_bit = mask_key ? 0x80 : 0;
    if (payload_len < 126) {
        out[n++] = (uint8_t)(mask_bit | payload_len);
    } else if (payload_len <= 0xffff) {
        out[n++] = mask_bit | 126;
        out[n++] = (uint8_t)(payload_len >> 8);
        out[n++] = (uint8_t)payload_len;
    } else {
        out[n++] = mask_bit | 127;
        for (int shift = 56; shift >= 0; shift -= 8) {
            out[n++] = (uint8_t)(payload_len >> shift);
        }
    }
    if (mask_key) {
        memcpy(out + n, mask_key, 4);
        n += 4;
    }
    return (int)n;
}

int sw_ws_frame_encode(uint8_t *out, size_t cap, unsigned opcode, unsigned flags,
                       const void *payload, size_t len, const uint8_t *mask_key)
{
    if (!out || (!payload && len)) {
        return SW_EINVAL;
    }
    uint8_t hdr[SW_WS_MAX_FRAME_HEADER];
    int h = sw_ws_frame_header(hdr, opcode, flags, len, mask_key);
    if (h < 0) {
        return h;
    }
    if (len > (size_t)INT_MAX - (size_t)h) {
        return SW_EOVERFLOW;
    }
    if (cap < (size_t)h + len) {
        return SW_ENOBUFS;
    }
    memcpy(out, hdr, (size_t)h);
    if (len) {
        memcpy(out + h, payload, len);
        if (mask_key) {
            sw_ws_mask(out + h, len, mask_key, 0);
        }
    }
    return h + (int)len;
}
