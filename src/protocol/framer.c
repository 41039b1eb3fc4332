/*
 * sw_protocol_next: argument and spec checks, then the mode's framing function. The raw mode
 * (no framing) lives here because it is one line: whatever has arrived is the message, cut at
 * package_max_length so that a message never passes the limit the reader sized its buffer by.
 */
#include "protocol/protocol_int.h"

void sw_framer_init(sw_framer_t *st)
{
    if (st) {
        *st = (sw_framer_t){0};
    }
}

int sw_protocol_next(const sw_protocol_t *p, sw_framer_t *st, const char *data, size_t len,
                     size_t *out)
{
    if (!p || !st || !out || (!data && len)) {
        return SW_EINVAL;
    }
    /* A handful of comparisons: cheaper than trusting a spec that a caller changed after
     * checking it, which could make the framer read past `data`. */
    int rc = sw_protocol_check(p);
    if (rc < 0) {
        return rc;
    }
    switch (sw_protocol_mode(p)) {
    case SW_FRAMING_EOF_SPLIT:
        return sw__protocol_next_eof_split(p, st, data, len, out);
    case SW_FRAMING_EOF_CHECK:
        return sw__protocol_next_eof_check(p, st, data, len, out);
    case SW_FRAMING_LENGTH:
        return sw__protocol_next_length(p, st, data, len, out);
    case SW_FRAMING_HTTP:
        return sw__protocol_next_http(p, st, data, len, out);
    case SW_FRAMING_NONE:
    default:
        break;
    }
    if (len == 0) {
        *out = 1;
        return 0;
    }
    *out = len < p->package_max_length ? len : p->package_max_length;
    return 1;
}
