/*
 * Length framing (Swoole's open_length_check and package_length_func).
 *
 * With a length field: once package_length_offset + size(type) bytes are there, the field is
 * decoded with PHP pack() semantics (the codes Swoole's swoole_unpack accepts for ports:
 * c C s S n v l L N V) and the message's total length is package_body_offset + value, as in
 * Swoole's Protocol::default_length_func. A negative value, or a total that ends before the
 * length field does (it could never be framed), is SW_EPKGMALFORMED; a total over
 * package_max_length is SW_EPKGTOOBIG at once, before any of the body is read, so a hostile
 * length costs no memory.
 *
 * With a user function: it is called with the unread bytes, at most package_max_length of
 * them (a message cannot be longer, and a function that still needs more when that many are
 * there means the message is too big), until it returns a total.
 *
 * The total is kept in the state, so the field is decoded (or the function called) once per
 * message however many reads the body takes.
 */
#include <string.h>

#include "protocol/protocol_int.h"

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

int sw__protocol_decode_length(char type, const unsigned char *f, int64_t *value)
{
    /* Host-order codes become the matching fixed-order one; memcpy avoids unaligned reads. */
    int le = host_is_little_endian();
    switch (type) {
    case 'c':
        *value = (int8_t)f[0];
        return 0;
    case 'C':
        *value = f[0];
        return 0;
    case 's': {
        int16_t v;
        memcpy(&v, f, sizeof v);
        *value = v;
        return 0;
    }
    case 'S':
        type = le ? 'v' : 'n';
        break;
    case 'l': {
        int32_t v;
        memcpy(&v, f, sizeof v);
        *value = v;
        return 0;
    }
    case 'L':
        type = le ? 'V' : 'N';
        break;
    default:
        break;
    }
    switch (type) {
    case 'n':
        *value = (int64_t)((uint32_t)f[0] << 8 | f[1]);
        return 0;
    case 'v':
        *value = (int64_t)((uint32_t)f[1] << 8 | f[0]);
        return 0;
    case 'N':
        *value =
            (int64_t)((uint32_t)f[0] << 24 | (uint32_t)f[1] << 16 | (uint32_t)f[2] << 8 | f[3]);
        return 0;
    case 'V':
        *value =
            (int64_t)((uint32_t)f[3] << 24 | (uint32_t)f[2] << 16 | (uint32_t)f[1] << 8 | f[0]);
        return 0;
    default:
        return SW_EOPTION_VALUE;
    }
}

/* The total length of the front message from the user function, or 0 / an error. */
static int total_from_func(const sw_protocol_t *p, const char *data, size_t len, size_t *total,
                           size_t *need)
{
    size_t max = p->package_max_length;
    size_t seen = len < max ? len : max;
    if (seen == 0) {
        *need = 1;
        return 0;
    }
    ssize_t r = p->package_length_func(data, seen, p->package_length_arg);
    if (r < 0) {
        return SW_EPKGMALFORMED;
    }
    if (r == 0) {
        if (seen >= max) {
            return SW_EPKGTOOBIG;
        }
        *need = seen + 1;
        return 0;
    }
    if ((size_t)r > max) {
        return SW_EPKGTOOBIG;
    }
    *total = (size_t)r;
    return 1;
}

/* The total length of the front message from its length field, or 0 / an error. */
static int total_from_field(const sw_protocol_t *p, const char *data, size_t len, size_t *total,
                            size_t *need)
{
    /* sw_protocol_check made sure the type is known and the field ends within the limit. */
    size_t field_end =
        (size_t)p->package_length_offset + (size_t)sw_protocol_length_size(p->package_length_type);
    if (len < field_end) {
        *need = field_end;
        return 0;
    }
    int64_t value;
    int rc = sw__protocol_decode_length(
        p->package_length_type, (const unsigned char *)data + p->package_length_offset, &value);
    if (rc < 0) {
        return rc;
    }
    if (value < 0) {
        return SW_EPKGMALFORMED;
    }
    /* value < 2^32 and the offset < 2^16: no overflow in 64 bits. */
    uint64_t t = (uint64_t)p->package_body_offset + (uint64_t)value;
    if (t > p->package_max_length) {
        return SW_EPKGTOOBIG;
    }
    if (t < field_end) {
        return SW_EPKGMALFORMED;
    }
    *total = (size_t)t;
    return 1;
}

int sw__protocol_next_length(const sw_protocol_t *p, sw_framer_t *st, const char *data, size_t len,
                             size_t *out)
{
    if (st->total == 0) {
        size_t total = 0, need = 0;
        int rc = p->package_length_func ? total_from_func(p, data, len, &total, &need)
                                        : total_from_field(p, data, len, &total, &need);
        if (rc < 0) {
            return rc;
        }
        if (rc == 0) {
            *out = need;
            return 0;
        }
        st->total = total;
    }
    if (len < st->total) {
        *out = st->total;
        return 0;
    }
    *out = st->total;
    st->total = 0;
    return 1;
}
