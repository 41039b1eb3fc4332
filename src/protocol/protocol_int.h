/*
 * Internal interface of the protocol module: one framing function per mode, each called by
 * sw_protocol_next after the spec and arguments were checked (so `data` is non-NULL when
 * len > 0, the mode's fields are valid and `st` is the connection's state).
 */
#ifndef SW_PROTOCOL_INT_H
#define SW_PROTOCOL_INT_H

#include <stdint.h>

#include "swoole/error.h"
#include "swoole/protocol.h"

/* EOF check: the whole buffer when it ends with package_eof (eof.c). */
int sw__protocol_next_eof_check(const sw_protocol_t *p, sw_framer_t *st, const char *data,
                                size_t len, size_t *out);

/* EOF split: up to and including the first package_eof (eof.c). */
int sw__protocol_next_eof_split(const sw_protocol_t *p, sw_framer_t *st, const char *data,
                                size_t len, size_t *out);

/* Length framing, by length field or user function (length.c). */
int sw__protocol_next_length(const sw_protocol_t *p, sw_framer_t *st, const char *data, size_t len,
                             size_t *out);

/* HTTP/1.x requests (http.c). */
int sw__protocol_next_http(const sw_protocol_t *p, sw_framer_t *st, const char *data, size_t len,
                           size_t *out);

/* Decodes the length field of `type` at `field` (sw_protocol_length_size(type) readable
 * bytes) into a signed 64-bit value; returns 0 or SW_EOPTION_VALUE for an unknown type. */
int sw__protocol_decode_length(char type, const unsigned char *field, int64_t *value);

#endif
