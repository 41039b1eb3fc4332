/*
 * The incremental frame decoder (RFC 6455 §5) and message reassembly.
 *
 * The decoder is a state machine fed arbitrary slices of the byte stream. A frame header (2 to
 * 14 bytes) is collected into a small array one byte at a time, and every rule is checked on the
 * byte that carries it, so that a violation is reported at its offset however the input was
 * split: RSV bits, opcode, FIN of control frames and the continuation state on the first byte;
 * the mask bit and the control-frame length on the second; the minimal-encoding and size rules
 * on the last length byte. Payload bytes are unmasked in place and then:
 *   - control frames (at most 125 bytes) are copied into the decoder and delivered whole;
 *   - in frame mode, data payload is handed out piece by piece, zero-copy;
 *   - in message mode, a message that is one uncompressed frame lying whole in the input is
 *     handed out in place (zero-copy); anything else is appended to (or inflated into) a
 *     message buffer that is limited to max_message_size.
 * Text is checked for UTF-8 as it arrives (before buffering, after inflating), so a bad byte
 * stops the connection at once instead of after the whole message (Autobahn 6.4 "fail fast").
 *
 * Error offsets: for a rule carried by one byte, the bytes before it are reported consumed; for
 * a rule only the whole frame can break (close payload, text ending inside a character) the
 * frame is consumed; inflate errors are reported at the end of the piece being inflated.
 */
#include <limits.h>
#include <string.h>

#include "core/alloc.h"
#include "websocket/ws_int.h"

/* A message buffer larger than this is freed before the next message instead of kept. */
#define KEEP_BUFFER ((size_t)64 * 1024)

enum { ST_HEADER, ST_PAYLOAD, ST_CLOSED, ST_FAILED };

struct sw_ws_decoder_s {
    void *data; /* the user's */
    sw__ws_unmask_fn unmask;
    uint64_t max_message;
    sw_ws_role_t role;
    bool frame_mode, reject_text, reject_binary;
    bool deflate; /* permessage-deflate enabled */
    bool fed;     /* some input was seen */
    uint8_t state;

    /* The frame header being read. */
    uint8_t hdr[SW_WS_MAX_FRAME_HEADER];
    uint8_t hdr_len, hdr_need, ext_len;

    /* The current frame. */
    uint8_t opcode; /* as on the wire */
    bool fin, rsv1, masked;
    uint8_t key[4];
    uint64_t frame_len, frame_done;

    /* The current data message. */
    bool msg_open;
    uint8_t msg_opcode;
    bool msg_compressed;
    uint64_t msg_wire; /* payload bytes of the message on the wire so far */
    sw_ws_utf8_t utf8;
    sw_buffer_t msg;

    uint8_t ctl[SW_WS_MAX_CONTROL_PAYLOAD];
    sw__ws_inflater_t *inflater;

    int err, detail;
};

/* Non-NULL pointer for empty payloads. */
static const uint8_t empty[1];

/* ---- errors ---------------------------------------------------------------------------------- */

static int detail_error(int detail)
{
    switch (detail) {
    case SW_WS_DETAIL_RSV:
    case SW_WS_DETAIL_RSV1_CONTROL:
    case SW_WS_DETAIL_RSV1_CONTINUATION:
        return SW_EWS_RSV;
    case SW_WS_DETAIL_OPCODE:
    case SW_WS_DETAIL_UNSUPPORTED_DATA: /* no code of its own: the close code (1003) tells */
        return SW_EWS_OPCODE;
    case SW_WS_DETAIL_CONTROL_FRAGMENTED:
    case SW_WS_DETAIL_CONTROL_TOO_LONG:
        return SW_EWS_CONTROL;
    case SW_WS_DETAIL_CONTINUATION_UNOPENED:
    case SW_WS_DETAIL_MESSAGE_INTERRUPTED:
        return SW_EWS_CONTINUATION;
    case SW_WS_DETAIL_UNMASKED:
    case SW_WS_DETAIL_MASKED:
        return SW_EWS_MASK;
    case SW_WS_DETAIL_LENGTH_NOT_MINIMAL:
    case SW_WS_DETAIL_LENGTH_MSB:
        return SW_EWS_LENGTH;
    case SW_WS_DETAIL_TOO_BIG:
    case SW_WS_DETAIL_INFLATED_TOO_BIG:
        return SW_EWS_TOO_BIG;
    case SW_WS_DETAIL_CLOSE_ONE_BYTE:
    case SW_WS_DETAIL_CLOSE_CODE:
        return SW_EWS_CLOSE_CODE;
    case SW_WS_DETAIL_CLOSE_REASON_UTF8:
    case SW_WS_DETAIL_TEXT_UTF8:
        return SW_EWS_UTF8;
    case SW_WS_DETAIL_INFLATE:
        return SW_EWS_DEFLATE;
    default:
        return SW_ENOMEM;
    }
}

/* Stops the decoder for good. */
static int fail(sw_ws_decoder_t *d, int detail)
{
    d->state = ST_FAILED;
    d->detail = detail;
    d->err = detail_error(detail);
    return d->err;
}

/* Maps an error of the inflater or the buffer to a detail and fails. */
static int fail_code(sw_ws_decoder_t *d, int code)
{
    switch (code) {
    case SW_EWS_TOO_BIG:
        return fail(d, SW_WS_DETAIL_INFLATED_TOO_BIG);
    case SW_EWS_DEFLATE:
        return fail(d, SW_WS_DETAIL_INFLATE);
    default:
        return fail(d, SW_WS_DETAIL_NO_MEMORY);
    }
}

/* ---- life cycle ------------------------------------------------------------------------------ */

void sw_ws_decoder_options_init(sw_ws_decoder_options_t *o)
{
    if (o) {
        *o = (sw_ws_decoder_options_t){.role = SW_WS_ROLE_SERVER,
                                       .max_message_size = SW_WS_DEFAULT_MAX_MESSAGE};
    }
}

int sw_ws_decoder_create(sw_ws_decoder_t **out, const sw_ws_decoder_options_t *opts)
{
    sw_ws_decoder_options_t defaults;
    if (!opts) {
        sw_ws_decoder_options_init(&defaults);
        opts = &defaults;
    }
    if (!out || (opts->role != SW_WS_ROLE_SERVER && opts->role != SW_WS_ROLE_CLIENT) ||
        (opts->reject_text && opts->reject_binary)) {
        return SW_EINVAL;
    }
    sw_ws_decoder_t *d = sw__calloc(1, sizeof(*d));
    if (!d) {
        return SW_ENOMEM;
    }
    d->unmask = sw__ws_unmask_impl(SW__WS_UNMASK_BEST);
    d->max_message = opts->max_message_size ? opts->max_message_size : SW_WS_DEFAULT_MAX_MESSAGE;
    d->role = opts->role;
    d->frame_mode = opts->frame_mode;
    d->reject_text = opts->reject_text;
    d->reject_binary = opts->reject_binary;
    d->state = ST_HEADER;
    d->hdr_need = 2;
    size_t cap = d->max_message > SIZE_MAX ? SIZE_MAX : (size_t)d->max_message;
    int rc = sw_buffer_init(&d->msg, 0, cap);
    if (rc < 0) {
        sw__free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void sw_ws_decoder_destroy(sw_ws_decoder_t *d)
{
    if (!d) {
        return;
    }
    sw__ws_inflater_destroy(d->inflater);
    sw_buffer_close(&d->msg);
    sw__free(d);
}

int sw_ws_decoder_set_deflate(sw_ws_decoder_t *d, const sw_ws_deflate_params_t *params)
{
    if (!d || !params || d->frame_mode || d->fed || d->deflate) {
        return SW_EINVAL;
    }
    /* The decoder inflates what the peer compressed: a server decoder reads the client's. */
    bool peer_client = d->role == SW_WS_ROLE_SERVER;
    bool reset =
        peer_client ? params->client_no_context_takeover : params->server_no_context_takeover;
    if (params->client_max_window_bits < 8 || params->client_max_window_bits > 15 ||
        params->server_max_window_bits < 8 || params->server_max_window_bits > 15) {
        return SW_EINVAL;
    }
    /* The inflater always uses the largest window (32 KiB), whatever the peer agreed to use.
     * zlib checks a back-reference against the window only across inflate() calls, not within
     * one, so a smaller window would make a peer's over-long reference fail or pass depending
     * on how the input happened to be split (found by fuzz_ws_frame_*). With 32 KiB, which is
     * the longest distance DEFLATE can express, the outcome depends on the bytes alone. The
     * agreed window limits what the peer must keep, not what we may accept. */
    int bits = 15;
    int rc = sw__ws_inflater_create(&d->inflater, bits, reset);
    if (rc < 0) {
        return rc;
    }
    d->deflate = true;
    return 0;
}

int sw__ws_decoder_force_unmask(sw_ws_decoder_t *d, int which)
{
    sw__ws_unmask_fn fn = sw__ws_unmask_impl(which);
    if (!d || !fn) {
        return SW_ENOTSUP;
    }
    d->unmask = fn;
    return 0;
}

int sw_ws_decoder_error(const sw_ws_decoder_t *d)
{
    return d ? d->err : 0;
}

int sw_ws_decoder_detail(const sw_ws_decoder_t *d)
{
    return d ? d->detail : 0;
}

int sw_ws_decoder_close_code(const sw_ws_decoder_t *d)
{
    return d && d->err ? sw_ws_detail_close_code(d->detail) : 0;
}

bool sw_ws_decoder_in_message(const sw_ws_decoder_t *d)
{
    return d && d->msg_open;
}

void sw_ws_decoder_set_data(sw_ws_decoder_t *d, void *data)
{
    if (d) {
        d->data = data;
    }
}

void *sw_ws_decoder_get_data(const sw_ws_decoder_t *d)
{
    return d ? d->data : NULL;
}

/* ---- header ---------------------------------------------------------------------------------- */

static bool is_control(uint8_t op)
{
    return op >= SW_WS_OP_CLOSE;
}

/* The largest number of wire bytes a message may have: the limit itself, or for compressed
 * messages a little more, since incompressible data grows by 5 bytes per 64 KiB stored block. */
static uint64_t wire_limit(const sw_ws_decoder_t *d, bool compressed)
{
    uint64_t max = d->max_message;
    if (compressed) {
        uint64_t slack = (max >> 10) + 64;
        max = max > UINT64_MAX - slack ? UINT64_MAX : max + slack;
    }
    return max;
}

static int check_byte0(sw_ws_decoder_t *d, uint8_t b)
{
    uint8_t op = b & 0x0f;
    bool fin = b & 0x80;
    if (b & (SW_WS_RSV2 | SW_WS_RSV3)) {
        return fail(d, SW_WS_DETAIL_RSV);
    }
    if (op > SW_WS_OP_PONG || (op > SW_WS_OP_BINARY && op < SW_WS_OP_CLOSE)) {
        return fail(d, SW_WS_DETAIL_OPCODE);
    }
    if (b & SW_WS_RSV1) {
        if (!d->deflate) {
            return fail(d, SW_WS_DETAIL_RSV);
        }
        if (is_control(op)) {
            return fail(d, SW_WS_DETAIL_RSV1_CONTROL);
        }
        if (op == SW_WS_OP_CONTINUATION) { /* RFC 7692 §6.1: RSV1 only on a first frame */
            return fail(d, SW_WS_DETAIL_RSV1_CONTINUATION);
        }
    }
    if (is_control(op)) {
        if (!fin) {
            return fail(d, SW_WS_DETAIL_CONTROL_FRAGMENTED);
        }
    } else if (op == SW_WS_OP_CONTINUATION) {
        if (!d->msg_open) {
            return fail(d, SW_WS_DETAIL_CONTINUATION_UNOPENED);
        }
    } else {
        if (d->msg_open) {
            return fail(d, SW_WS_DETAIL_MESSAGE_INTERRUPTED);
        }
        if ((op == SW_WS_OP_TEXT && d->reject_text) ||
            (op == SW_WS_OP_BINARY && d->reject_binary)) {
            return fail(d, SW_WS_DETAIL_UNSUPPORTED_DATA);
        }
    }
    d->opcode = op;
    d->fin = fin;
    d->rsv1 = b & SW_WS_RSV1;
    return 0;
}

/* The payload length is known: is it allowed? */
static int check_length(sw_ws_decoder_t *d, uint64_t len)
{
    d->frame_len = len;
    if (is_control(d->opcode)) {
        return 0;
    }
    bool compressed = d->opcode == SW_WS_OP_CONTINUATION ? d->msg_compressed : d->rsv1;
    uint64_t before = d->opcode == SW_WS_OP_CONTINUATION ? d->msg_wire : 0;
    uint64_t limit = wire_limit(d, compressed);
    if (len > limit - before) {
        return fail(d, SW_WS_DETAIL_TOO_BIG);
    }
    return 0;
}

static int check_byte1(sw_ws_decoder_t *d, uint8_t b)
{
    bool masked = b & 0x80;
    uint8_t len7 = b & 0x7f;
    if (d->role == SW_WS_ROLE_SERVER && !masked) {
        return fail(d, SW_WS_DETAIL_UNMASKED);
    }
    if (d->role == SW_WS_ROLE_CLIENT && masked) {
        return fail(d, SW_WS_DETAIL_MASKED);
    }
    if (is_control(d->opcode) && len7 > SW_WS_MAX_CONTROL_PAYLOAD) {
        return fail(d, SW_WS_DETAIL_CONTROL_TOO_LONG);
    }
    d->masked = masked;
    d->ext_len = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    d->hdr_need = (uint8_t)(2 + d->ext_len + (masked ? 4 : 0));
    return d->ext_len ? 0 : check_length(d, len7);
}

/* Checks header byte number `i` (0-based) just stored in d->hdr. */
static int check_header_byte(sw_ws_decoder_t *d, unsigned i)
{
    uint8_t b = d->hdr[i];
    if (i == 0) {
        return check_byte0(d, b);
    }
    if (i == 1) {
        return check_byte1(d, b);
    }
    if (i == 2 && d->ext_len == 8 && (b & 0x80)) {
        return fail(d, SW_WS_DETAIL_LENGTH_MSB);
    }
    if (i == 1u + d->ext_len) { /* the last length byte */
        uint64_t v = 0;
        for (unsigned k = 2; k < 2u + d->ext_len; k++) {
            v = v << 8 | d->hdr[k];
        }
        /* RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length". */
        if ((d->ext_len == 2 && v < 126) || (d->ext_len == 8 && v <= 0xffff)) {
            return fail(d, SW_WS_DETAIL_LENGTH_NOT_MINIMAL);
        }
        return check_length(d, v);
    }
    return 0;
}

/* Collects header bytes from data[*pos..len). Returns 1 when the header is complete, 0 when the
 * input ran out first, or an error with *pos at the offending byte. */
static int read_header(sw_ws_decoder_t *d, uint8_t *data, size_t len, size_t *pos)
{
    while (d->hdr_len < d->hdr_need) {
        if (*pos == len) {
            return 0;
        }
        d->hdr[d->hdr_len] = data[*pos];
        int rc = check_header_byte(d, d->hdr_len);
        if (rc < 0) {
            return rc;
        }
        d->hdr_len++;
        (*pos)++;
    }
    if (d->masked) {
        memcpy(d->key, d->hdr + d->hdr_len - 4, 4);
    }
    d->hdr_len = 0;
    d->hdr_need = 2;
    d->frame_done = 0;
    return 1;
}

/* ---- payload --------------------------------------------------------------------------------- */

static bool text_message(const sw_ws_decoder_t *d)
{
    return d->msg_opcode == SW_WS_OP_TEXT;
}

/* Opens a message at its first frame. */
static void open_message(sw_ws_decoder_t *d)
{
    d->msg_open = true;
    d->msg_opcode = d->opcode;
    d->msg_compressed = d->rsv1;
    d->msg_wire = 0;
    sw_ws_utf8_init(&d->utf8);
    if (d->msg.size > KEEP_BUFFER) {
        size_t max = d->msg.max_size;
        sw_buffer_close(&d->msg);
        d->msg.max_size = max;
    }
    sw_buffer_clear(&d->msg);
}

/* Validates text bytes; on failure the error offset is `base` plus the bad byte's index. */
static int check_text(sw_ws_decoder_t *d, const uint8_t *p, size_t n, size_t base, size_t *pos,
                      int detail)
{
    size_t bad = 0;
    if (sw_ws_utf8_update(&d->utf8, p, n, &bad) < 0) {
        if (pos) {
            *pos = base + bad;
        }
        return fail(d, detail);
    }
    return 0;
}

/* Validates the text inflated into the message buffer since `before`. */
static int check_inflated(sw_ws_decoder_t *d, size_t before)
{
    if (!text_message(d) || d->msg.length == before) {
        return 0;
    }
    return check_text(d, (const uint8_t *)d->msg.str + before, d->msg.length - before, 0, NULL,
                      SW_WS_DETAIL_TEXT_UTF8);
}

/* A control frame is complete in d->ctl. */
static int finish_control(sw_ws_decoder_t *d, sw_ws_event_t *ev)
{
    size_t n = (size_t)d->frame_len;
    d->state = ST_HEADER;
    ev->opcode = d->opcode;
    ev->data = n ? d->ctl : empty;
    ev->len = n;
    if (d->opcode == SW_WS_OP_PING) {
        ev->type = SW_WS_EVENT_PING;
        return ev->type;
    }
    if (d->opcode == SW_WS_OP_PONG) {
        ev->type = SW_WS_EVENT_PONG;
        return ev->type;
    }
    /* Close (RFC 6455 §5.5.1): nothing, or a 2-byte code and a UTF-8 reason. */
    if (n == 1) {
        return fail(d, SW_WS_DETAIL_CLOSE_ONE_BYTE);
    }
    unsigned code = SW_WS_CLOSE_NO_STATUS;
    if (n >= 2) {
        code = (unsigned)d->ctl[0] << 8 | d->ctl[1];
        if (!sw_ws_close_code_valid(code)) {
            return fail(d, SW_WS_DETAIL_CLOSE_CODE);
        }
        if (sw_ws_utf8_validate(d->ctl + 2, n - 2, NULL) < 0) {
            return fail(d, SW_WS_DETAIL_CLOSE_REASON_UTF8);
        }
    }
    ev->type = SW_WS_EVENT_CLOSE;
    ev->close_code = code;
    ev->data = n > 2 ? d->ctl + 2 : empty;
    ev->len = n > 2 ? n - 2 : 0;
    d->state = ST_CLOSED;
    return ev->type;
}

/* The last frame of a message (message mode) is in: finish and deliver it. */
static int finish_message(sw_ws_decoder_t *d, sw_ws_event_t *ev)
{
    if (d->msg_compressed) {
        size_t before = d->msg.length;
        int rc = sw__ws_inflater_finish(d->inflater, &d->msg, d->max_message);
        if (check_inflated(d, before) < 0) {
            return d->err;
        }
        if (rc < 0) {
            return fail_code(d, rc);
        }
    }
    if (text_message(d) && sw_ws_utf8_finish(&d->utf8) < 0) {
        return fail(d, SW_WS_DETAIL_TEXT_UTF8);
    }
    d->msg_open = false;
    ev->type = SW_WS_EVENT_MESSAGE;
    ev->opcode = d->msg_opcode;
    ev->compressed = d->msg_compressed;
    ev->data = d->msg.length ? (const uint8_t *)d->msg.str : empty;
    ev->len = d->msg.length;
    return ev->type;
}

/* Message mode: takes n payload bytes at p (already unmasked) into the message. `base` is p's
 * offset in the input, for error offsets. */
static int absorb(sw_ws_decoder_t *d, const uint8_t *p, size_t n, size_t base, size_t *pos)
{
    if (d->msg_compressed) {
        size_t before = d->msg.length;
        int rc = sw__ws_inflater_feed(d->inflater, p, n, &d->msg, d->max_message);
        /* The text inflated before a failure is checked first: bad UTF-8 there comes earlier
         * in the stream than the corrupt data or the limit, so the verdict does not depend on
         * how the input was split. */
        if (check_inflated(d, before) < 0) {
            *pos = base + n;
            return d->err;
        }
        if (rc < 0) {
            *pos = base + n;
            return fail_code(d, rc);
        }
        return 0;
    }
    if (text_message(d) && check_text(d, p, n, base, pos, SW_WS_DETAIL_TEXT_UTF8) < 0) {
        return d->err;
    }
    int rc = sw_buffer_append(&d->msg, p, n);
    if (rc < 0) {
        *pos = base;
        /* The length checks keep the buffer within max_size: only memory can fail here. */
        return fail(d, SW_WS_DETAIL_NO_MEMORY);
    }
    return 0;
}

/* A frame header has just been read; data[*pos..len) is what follows it. Returns an event, 0 to
 * go on reading payload, or an error. */
static int begin_frame(sw_ws_decoder_t *d, uint8_t *data, size_t len, size_t *pos,
                       sw_ws_event_t *ev)
{
    d->state = ST_PAYLOAD;
    if (is_control(d->opcode)) {
        return 0;
    }
    if (d->opcode != SW_WS_OP_CONTINUATION) {
        open_message(d);
    }
    d->msg_wire += d->frame_len;
    if (d->frame_mode) {
        ev->type = SW_WS_EVENT_FRAME;
        ev->opcode = d->msg_opcode;
        ev->continuation = d->opcode == SW_WS_OP_CONTINUATION;
        ev->fin = d->fin;
        ev->frame_length = d->frame_len;
        return ev->type;
    }
    /* Zero-copy: a whole uncompressed single-frame message already in the input. */
    if (d->fin && d->opcode != SW_WS_OP_CONTINUATION && !d->rsv1 && d->frame_len <= len - *pos) {
        size_t n = (size_t)d->frame_len;
        uint8_t *p = data + *pos;
        if (d->masked) {
            d->unmask(p, n, d->key, 0);
        }
        if (text_message(d) && (check_text(d, p, n, *pos, pos, SW_WS_DETAIL_TEXT_UTF8) < 0 ||
                                sw_ws_utf8_finish(&d->utf8) < 0)) {
            if (d->state != ST_FAILED) {
                *pos += n;
                return fail(d, SW_WS_DETAIL_TEXT_UTF8);
            }
            return d->err;
        }
        *pos += n;
        d->state = ST_HEADER;
        d->msg_open = false;
        ev->type = SW_WS_EVENT_MESSAGE;
        ev->opcode = d->msg_opcode;
        ev->data = n ? p : empty;
        ev->len = n;
        return ev->type;
    }
    return 0;
}

/* Reads payload from data[*pos..len). Returns an event, 0 when the input ran out (frame not
 * complete), or an error. In message mode a completed data frame that does not end its message
 * returns 0 with state back to ST_HEADER; the caller loops. */
static int read_payload(sw_ws_decoder_t *d, uint8_t *data, size_t len, size_t *pos,
                        sw_ws_event_t *ev)
{
    uint64_t left = d->frame_len - d->frame_done;
    size_t n = len - *pos < left ? len - *pos : (size_t)left;
    uint8_t *p = data + *pos;
    size_t base = *pos;
    if (d->masked && n) {
        d->unmask(p, n, d->key, d->frame_done);
    }
    if (is_control(d->opcode)) {
        memcpy(d->ctl + d->frame_done, p, n);
        d->frame_done += n;
        *pos += n;
        return d->frame_done == d->frame_len ? finish_control(d, ev) : 0;
    }
    if (d->frame_mode) {
        if (text_message(d) && check_text(d, p, n, base, pos, SW_WS_DETAIL_TEXT_UTF8) < 0) {
            return d->err;
        }
        d->frame_done += n;
        *pos += n;
        ev->type = SW_WS_EVENT_DATA;
        ev->opcode = d->msg_opcode;
        ev->continuation = d->opcode == SW_WS_OP_CONTINUATION;
        ev->fin = d->fin;
        ev->frame_end = d->frame_done == d->frame_len;
        ev->data = n ? p : empty;
        ev->len = n;
        if (ev->frame_end) {
            d->state = ST_HEADER;
            if (d->fin) {
                d->msg_open = false;
                if (text_message(d) && sw_ws_utf8_finish(&d->utf8) < 0) {
                    return fail(d, SW_WS_DETAIL_TEXT_UTF8);
                }
            }
        }
        return ev->type;
    }
    if (n && absorb(d, p, n, base, pos) < 0) {
        return d->err;
    }
    d->frame_done += n;
    *pos += n;
    if (d->frame_done < d->frame_len) {
        return 0;
    }
    d->state = ST_HEADER;
    return d->fin ? finish_message(d, ev) : 0;
}

int sw_ws_decoder_execute(sw_ws_decoder_t *d, uint8_t *data, size_t len, size_t *consumed,
                          sw_ws_event_t *ev)
{
    if (consumed) {
        *consumed = 0;
    }
    if (!d || !consumed || !ev || (!data && len)) {
        return SW_EINVAL;
    }
    memset(ev, 0, sizeof(*ev));
    if (d->state == ST_FAILED) {
        return d->err;
    }
    if (d->state == ST_CLOSED) {
        *consumed = len;
        return SW_WS_EVENT_NONE;
    }
    uint8_t dummy = 0;
    if (!data) {
        data = &dummy; /* no arithmetic on NULL below */
    }
    if (len > INT_MAX) {
        len = INT_MAX;
    }
    if (len) {
        d->fed = true;
    }
    size_t pos = 0;
    int rc = 0;
    while (rc == 0) {
        if (d->state == ST_HEADER) {
            rc = read_header(d, data, len, &pos);
            if (rc == 0) {
                break; /* input ran out */
            }
            if (rc > 0) {
                rc = begin_frame(d, data, len, &pos, ev);
            }
        } else {
            /* A frame may end without input left (empty payload): that is still progress. */
            if (pos == len && d->frame_done < d->frame_len) {
                break;
            }
            rc = read_payload(d, data, len, &pos, ev);
        }
    }
    *consumed = pos;
    if (rc < 0) {
        memset(ev, 0, sizeof(*ev));
    }
    return rc;
}
