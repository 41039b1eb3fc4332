/*
 * Body framing: Content-Length, read-until-close, and the chunked transfer coding with chunk
 * extensions and trailer fields (RFC 9112 §7.1).
 *
 * sw__http_body_step() works on a window of raw bytes that follows what the message consumed
 * so far; it never looks back before the window, so it is the same code for the streaming
 * call (windows the caller may throw away) and for in-place decoding of a whole message. It
 * stops after one piece of data, at the end of the message, or at the end of the window.
 *
 * Chunked rules (no leniency of any kind here: every deviation has been used to smuggle):
 *   chunk-size  1*16 HEXDIG (more digits are rejected as overflow, whatever their value);
 *               no sign, no "0x", no leading or inner whitespace
 *   extensions  *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ), checked, the
 *               whole chunk-size line bounded by max_chunk_line
 *   line ends   CRLF only, after the size line and after the data
 *   trailers    field lines with the same rules as header fields, bounded by max_head and
 *               max_headers, recorded after the headers
 */
#include "http/http_int.h"

#define FAIL_AT(code, i, why) return sw__http_fail(p, (code), base + (i), (why))

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static int trailer_done(sw_http_parser_t *p, uint64_t at)
{
    uint32_t n = p->num_headers + p->num_trailers;
    p->flags |= SW_HTTP_F_TRAILERS;
    if (n >= p->max_headers_) {
        return sw__http_fail(p, SW_EHTTP_TOO_MANY_HEADERS, at, "too many trailer fields");
    }
    /* Spans are 32-bit: a trailer that starts past 4 GiB is checked but not recorded. */
    if (p->tvend_ > UINT32_MAX) {
        return 0;
    }
    sw_http_header_t *h = &p->headers[n];
    h->name.off = (uint32_t)p->tmark_;
    h->name.len = p->aux_;
    h->value.off = (uint32_t)p->remaining_;
    h->value.len = (uint32_t)(p->tvend_ - p->remaining_);
    p->num_trailers++;
    return 0;
}

static int chunked(sw_http_parser_t *p, const char *buf, size_t len, sw_http_piece_t *out)
{
    const uint64_t base = p->consumed;
    size_t i = 0;
    unsigned st = p->body_state_;
    int r;

    while (i < len) {
        unsigned char c = (unsigned char)buf[i];
        if (st < SW_BS_CHUNK_SIZE_LF && ++p->chunk_line_ > p->max_chunk_line_) {
            FAIL_AT(SW_EHTTP_LIMIT, i, "chunk-size line longer than the limit");
        }
        if (st >= SW_BS_TRAILER_START && ++p->tsize_ > p->max_head_) {
            FAIL_AT(SW_EHTTP_HEAD_TOO_LARGE, i, "trailer section larger than the limit");
        }
        switch (st) {
        case SW_BS_CHUNK_SIZE: {
            int hv = sw__http_hexval(c);
            if (hv >= 0) {
                if (p->chunk_digits_ == 16) {
                    FAIL_AT(SW_EHTTP_CHUNK_OVERFLOW, i, "chunk size has more than 16 hex digits");
                }
                p->chunk_digits_++;
                p->remaining_ = (p->remaining_ << 4) | (uint64_t)hv;
                i++;
                continue;
            }
            if (p->chunk_digits_ == 0) {
                FAIL_AT(SW_EHTTP_CHUNK_SIZE, i, "chunk size does not start with a hex digit");
            }
            if (c == ';') {
                st = SW_BS_EXT_NAME_START;
            } else if (is_ws(c)) {
                st = SW_BS_CHUNK_SIZE_WS;
            } else if (c == '\r') {
                st = SW_BS_CHUNK_SIZE_LF;
            } else {
                FAIL_AT(SW_EHTTP_CHUNK_SIZE, i, "invalid byte after chunk size");
            }
            i++;
            continue;
        }
        case SW_BS_CHUNK_SIZE_WS:
            /* BWS is only allowed before a chunk extension. */
            if (c == ';') {
                st = SW_BS_EXT_NAME_START;
            } else if (!is_ws(c)) {
                FAIL_AT(SW_EHTTP_CHUNK_SIZE, i, "whitespace after chunk size");
            }
            i++;
            continue;
        case SW_BS_EXT_NAME_START:
            if (sw__http_is(c, SW_HTTP_C_TCHAR)) {
                st = SW_BS_EXT_NAME;
            } else if (!is_ws(c)) {
                FAIL_AT(SW_EHTTP_CHUNK_SIZE, i, "invalid chunk extension name");
            }
            i++;
            continue;
        case SW_BS_EXT_NAME:
        case SW_BS_EXT_NAME_WS:
            if (st == SW_BS_EXT_NAME && sw__http_is(c, SW_HTTP_C_TCHAR)) {
                i++;
                continue;
            }
            if (is_ws(c)) {
                st = SW_BS_EXT_NAME_WS;
            } else if (c == '=') {
                st = SW_BS_EXT_VALUE_START;
            } else if (c == ';') {
                st = SW_BS_EXT_NAME_START;
            } else if (c == '\r') {
                st = SW_BS_CHUNK_SIZE_LF;
            } else {
                FAIL_AT(SW_EHTTP_CHUNK_SIZE, i, "invalid byte in chunk extension");
            }
            i++;
            continue;
        case SW_BS_EXT_VALUE_START:
            if (c == '"') {
                st = SW_BS_EXT_QUOTED;
            } else if (sw__http_is(c, SW_HTTP_C_TCHAR)) {
                st = SW_BS_EXT_TOKEN;
            } else if (!is_ws(c)) {
                FAIL_AT(SW_EHTTP_CHUNK_SIZE, i, "invalid chunk extension value");
            }
            i++;
            continue;
        case SW_BS_EXT_TOKEN:
        case SW_BS_EXT_VALUE_WS:
            if (st == SW_BS_EXT_TOKEN && sw__http_is(c, SW_HTTP_C_TCHAR)) {
                i++;
                continue;
            }
            if (is_ws(c)) {
                st = SW_BS_EXT_VALUE_WS;
            } else if (c == ';') {
                st = SW_BS_EXT_NAME_START;
            } else if (c == '\r') {
                st = SW_BS_CHUNK_SIZE_LF;
            } else {
                FAIL_AT(SW_EHTTP_CHUNK_SIZE, i, "invalid byte in chunk extension");
            }
            i++;
            continue;
        case SW_BS_EXT_QUOTED:
            if (c == '"') {
                st = SW_BS_EXT_VALUE_WS;
            } else if (c == '\\') {
                st = SW_BS_EXT_QUOTED_ESC;
            } else if (!sw__http_is(c, SW_HTTP_C_QDTEXT)) {
                FAIL_AT(SW_EHTTP_CHUNK_SIZE, i, "invalid byte in quoted chunk extension");
            }
            i++;
            continue;
        case SW_BS_EXT_QUOTED_ESC:
            if (!sw__http_is(c, SW_HTTP_C_FIELD)) {
                FAIL_AT(SW_EHTTP_CHUNK_SIZE, i, "invalid quoted-pair in chunk extension");
            }
            st = SW_BS_EXT_QUOTED;
            i++;
            continue;
        case SW_BS_CHUNK_SIZE_LF:
            if (c != '\n') {
                FAIL_AT(SW_EHTTP_CHUNK_SIZE, i, "CR not followed by LF after chunk size");
            }
            i++;
            p->chunk_line_ = 0;
            p->chunk_digits_ = 0;
            if (p->remaining_ == 0) {
                st = SW_BS_TRAILER_START;
                p->tsize_ = 0;
                continue;
            }
            if (p->remaining_ > p->max_body_ - p->body_len) {
                FAIL_AT(SW_EHTTP_BODY_TOO_LARGE, i - 1, "chunked body above the limit");
            }
            st = SW_BS_CHUNK_DATA;
            continue;
        case SW_BS_CHUNK_DATA: {
            size_t n = len - i;
            if ((uint64_t)n > p->remaining_) {
                n = (size_t)p->remaining_;
            }
            out->data_off = i;
            out->data_len = n;
            i += n;
            p->remaining_ -= n;
            p->body_len += n;
            if (p->remaining_ == 0) {
                st = SW_BS_CHUNK_DATA_CR;
            }
            p->body_state_ = (uint8_t)st;
            out->consumed = i;
            p->consumed += i;
            return SW_HTTP_PARTIAL;
        }
        case SW_BS_CHUNK_DATA_CR:
            if (c != '\r') {
                FAIL_AT(SW_EHTTP_CHUNK_DATA, i, "chunk data not followed by CRLF");
            }
            st = SW_BS_CHUNK_DATA_LF;
            i++;
            continue;
        case SW_BS_CHUNK_DATA_LF:
            if (c != '\n') {
                FAIL_AT(SW_EHTTP_CHUNK_DATA, i, "chunk data not followed by CRLF");
            }
            st = SW_BS_CHUNK_SIZE;
            p->remaining_ = 0;
            i++;
            continue;
        case SW_BS_TRAILER_START:
            if (c == '\r') {
                st = SW_BS_END_LF;
            } else if (sw__http_is(c, SW_HTTP_C_TCHAR)) {
                p->tmark_ = base + i;
                st = SW_BS_TRAILER_NAME;
            } else if (is_ws(c)) {
                FAIL_AT(SW_EHTTP_OBS_FOLD, i, "obsolete line folding in trailers");
            } else if (c == '\n') {
                FAIL_AT(SW_EHTTP_LF, i, "bare LF");
            } else {
                FAIL_AT(SW_EHTTP_HEADER_NAME, i, "invalid byte in trailer name");
            }
            i++;
            continue;
        case SW_BS_TRAILER_NAME:
            if (sw__http_is(c, SW_HTTP_C_TCHAR)) {
                i++;
                continue;
            }
            if (c != ':') {
                if (is_ws(c)) {
                    FAIL_AT(SW_EHTTP_HEADER_SPACE, i, "whitespace between name and colon");
                }
                FAIL_AT(SW_EHTTP_HEADER_NAME, i, "invalid byte in trailer name");
            }
            p->aux_ = (uint32_t)(base + i - p->tmark_);
            st = SW_BS_TRAILER_OWS;
            i++;
            continue;
        case SW_BS_TRAILER_OWS:
            if (is_ws(c)) {
                i++;
                continue;
            }
            p->remaining_ = p->tvend_ = base + i;
            st = SW_BS_TRAILER_VALUE;
            p->tsize_--; /* the same byte again, as value: count it once */
            continue;
        case SW_BS_TRAILER_VALUE:
            if (c == '\r') {
                st = SW_BS_TRAILER_LF;
            } else if (c == '\n') {
                FAIL_AT(SW_EHTTP_LF, i, "bare LF");
            } else if (!sw__http_is(c, SW_HTTP_C_FIELD)) {
                FAIL_AT(SW_EHTTP_HEADER_VALUE, i, "invalid byte in trailer value");
            } else if (!is_ws(c)) {
                p->tvend_ = base + i + 1;
            }
            i++;
            continue;
        case SW_BS_TRAILER_LF:
            if (c != '\n') {
                FAIL_AT(SW_EHTTP_CR, i, "CR not followed by LF");
            }
            if ((r = trailer_done(p, p->tmark_)) < 0) {
                return r;
            }
            st = SW_BS_TRAILER_START;
            i++;
            continue;
        case SW_BS_END_LF:
            if (c != '\n') {
                FAIL_AT(SW_EHTTP_CR, i, "CR not followed by LF");
            }
            i++;
            p->body_state_ = SW_BS_DONE;
            out->consumed = i;
            p->consumed += i;
            return SW_HTTP_MESSAGE_DONE;
        default:
            FAIL_AT(SW_EINVAL, i, "bad body state");
        }
    }
    p->body_state_ = (uint8_t)st;
    out->consumed = i;
    p->consumed += i;
    return SW_HTTP_PARTIAL;
}

int sw__http_body_step(sw_http_parser_t *p, const char *buf, size_t len, sw_http_piece_t *out)
{
    out->consumed = out->data_off = out->data_len = 0;
    switch (p->body_state_) {
    case SW_BS_NONE:
    case SW_BS_DONE:
        p->body_state_ = SW_BS_DONE;
        return SW_HTTP_MESSAGE_DONE;
    case SW_BS_LENGTH: {
        size_t n = len;
        if ((uint64_t)n > p->remaining_) {
            n = (size_t)p->remaining_;
        }
        out->data_len = n;
        out->consumed = n;
        p->remaining_ -= n;
        p->body_len += n;
        p->consumed += n;
        if (p->remaining_ == 0) {
            p->body_state_ = SW_BS_DONE;
            return SW_HTTP_MESSAGE_DONE;
        }
        return SW_HTTP_PARTIAL;
    }
    case SW_BS_EOF:
        if ((uint64_t)len > p->max_body_ - p->body_len) {
            return sw__http_fail(p, SW_EHTTP_BODY_TOO_LARGE,
                                 p->consumed + (p->max_body_ - p->body_len),
                                 "body above the limit");
        }
        out->data_len = len;
        out->consumed = len;
        p->body_len += len;
        p->consumed += len;
        return SW_HTTP_PARTIAL;
    default:
        return chunked(p, buf, len, out);
    }
}
