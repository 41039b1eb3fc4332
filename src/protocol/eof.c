/*
 * EOF framing (Swoole's open_eof_check and open_eof_split).
 *
 * EOF check looks only at the last package_eof_len bytes, as Swoole does after each read: a
 * message is everything buffered once it ends with package_eof, so messages that arrived
 * together are delivered together, and the cost per call is constant.
 *
 * EOF split searches for the first package_eof. The state keeps the first position where the
 * delimiter could still start (st->scan), so each byte is searched once however the stream is
 * cut: a call looks at the bytes that arrived since the last one plus at most
 * package_eof_len - 1 before them. The search runs memchr() for the delimiter's first byte and
 * compares the rest at each hit; with a delimiter of at most 8 bytes that is O(8n) in the
 * worst case (a stream made of the first byte), and memchr speed in the common one.
 *
 * Both modes look at no more than package_max_length bytes: a message ends by then or the
 * stream is SW_EPKGTOOBIG, so the reader never has to buffer more than the limit.
 */
#include <string.h>

#include "protocol/protocol_int.h"

int sw__protocol_next_eof_check(const sw_protocol_t *p, sw_framer_t *st, const char *data,
                                size_t len, size_t *out)
{
    size_t eof_len = p->package_eof_len;
    size_t max = p->package_max_length;
    if (len >= eof_len) {
        st->examined += eof_len;
        if (memcmp(data + len - eof_len, p->package_eof, eof_len) == 0) {
            if (len > max) {
                return SW_EPKGTOOBIG;
            }
            *out = len;
            return 1;
        }
    }
    if (len >= max) {
        return SW_EPKGTOOBIG;
    }
    *out = len + 1;
    return 0;
}

int sw__protocol_next_eof_split(const sw_protocol_t *p, sw_framer_t *st, const char *data,
                                size_t len, size_t *out)
{
    const char *eof = p->package_eof;
    size_t eof_len = p->package_eof_len;
    size_t max = p->package_max_length;
    size_t end = len < max ? len : max; /* the delimiter must end within the limit */
    size_t from = st->scan;
    if (from > end) {
        /* The caller handed fewer bytes than before (against the contract): search again
         * rather than skip bytes never seen. */
        from = 0;
    }
    if (end >= eof_len && from <= end - eof_len) {
        size_t last = end - eof_len; /* last position where the delimiter can start */
        size_t pos = from;
        while (pos <= last) {
            const char *hit = memchr(data + pos, (unsigned char)eof[0], last - pos + 1);
            if (!hit) {
                st->examined += last - pos + 1;
                break;
            }
            size_t at = (size_t)(hit - data);
            st->examined += at - pos + 1 + (eof_len - 1);
            if (memcmp(hit + 1, eof + 1, eof_len - 1) == 0) {
                st->scan = 0;
                *out = at + eof_len;
                return 1;
            }
            pos = at + 1;
        }
        from = last + 1;
    }
    st->scan = from;
    if (len >= max) {
        return SW_EPKGTOOBIG;
    }
    *out = len + 1;
    return 0;
}
