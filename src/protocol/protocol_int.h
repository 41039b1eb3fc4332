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

/* The framing fields of a complete request head data[0..h) (leading empty lines included, as
 * the framer finds it), http_scan.c. sw__http_scan_head returns 1 with the SW_HTTP_F_* bits
 * and Content-Length only when the strict parser (default options, max_head h) would complete
 * the head with exactly those framing bits (UPGRADE, EXPECT_CONTINUE, TE_CODINGS, CHUNKED,
 * CONTENT_LENGTH) and that length; else 0 (not certain: ask the parser). *content_length is 0
 * without SW_HTTP_F_CONTENT_LENGTH. sw__http_head_framing tries it, then the strict parser:
 * 0 with the parser's flags and Content-Length, or the parser's negative error code. */
int sw__http_scan_head(const char *data, size_t h, uint32_t *flags, uint64_t *content_length);
int sw__http_head_framing(const char *data, size_t h, uint32_t *flags, uint64_t *content_length);

/* Decodes the length field of `type` at `field` (sw_protocol_length_size(type) readable
 * bytes) into a signed 64-bit value; returns 0 or SW_EOPTION_VALUE for an unknown type. */
int sw__protocol_decode_length(char type, const unsigned char *field, int64_t *value);

#endif
