/*
 * WebSocket module internals: SHA-1, base64, the unmasking kernels, the inflater used by the
 * decoder and the header-list parsers shared by the handshake and the deflate negotiation.
 */
#ifndef SW_WEBSOCKET_WS_INT_H
#define SW_WEBSOCKET_WS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "swoole/buffer.h"
#include "swoole/error.h"
#include "swoole/websocket.h"

/* ---- SHA-1 (sha1.c) -------------------------------------------------------------------------- */

#define SW__WS_SHA1_LEN 20

typedef struct {
    uint32_t h[5];
    uint64_t total; /* bytes hashed so far */
    uint8_t block[64];
    size_t used; /* bytes waiting in block */
} sw__ws_sha1_t;

void sw__ws_sha1_init(sw__ws_sha1_t *s);
void sw__ws_sha1_update(sw__ws_sha1_t *s, const void *data, size_t len);
void sw__ws_sha1_final(sw__ws_sha1_t *s, uint8_t out[SW__WS_SHA1_LEN]);
void sw__ws_sha1(const void *data, size_t len, uint8_t out[SW__WS_SHA1_LEN]);

/* ---- base64 (base64.c), RFC 4648 §4 alphabet with '=' padding -------------------------------- */

/* Bytes needed to encode n bytes, without the NUL. */
#define SW__WS_BASE64_LEN(n) ((((n) + 2) / 3) * 4)

/* Encodes n bytes into out (SW__WS_BASE64_LEN(n) + 1 bytes, NUL-terminated); returns the
 * length written without the NUL. */
size_t sw__ws_base64_encode(const uint8_t *in, size_t n, char *out);

/* Strict decoding: the length must be a multiple of 4, padding only at the end, and the bits
 * that padding leaves unused must be zero (RFC 4648 §3.5, canonical form). Returns the decoded
 * length, or -1 when the input is not canonical base64 or does not fit in `cap`. */
long sw__ws_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap);

/* ---- unmasking kernels (unmask*.c) ------------------------------------------------------------ */

typedef void (*sw__ws_unmask_fn)(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset);

enum {
    SW__WS_UNMASK_BEST = 0, /* the fastest this CPU supports */
    SW__WS_UNMASK_BYTE,     /* one byte at a time: the reference */
    SW__WS_UNMASK_SCALAR,   /* 64-bit words */
    SW__WS_UNMASK_SSE2,
    SW__WS_UNMASK_AVX2,
    SW__WS_UNMASK_AVX512,
    SW__WS_UNMASK_COUNT_
};

/* The kernel `which`, or NULL when this build or CPU lacks it. The test hook: tests and
 * benchmarks call each kernel directly and force a decoder onto one. */
sw__ws_unmask_fn sw__ws_unmask_impl(int which);
const char *sw__ws_unmask_name(int which);

void sw__ws_unmask_byte(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset);
void sw__ws_unmask_scalar(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset);
#if defined(SW_WS_X86_KERNELS)
void sw__ws_unmask_sse2(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset);
void sw__ws_unmask_avx2(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset);
void sw__ws_unmask_avx512(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset);
#endif

/* The 8 mask bytes that apply from payload position `offset` on, in memory order, as a 64-bit
 * word: the 4-byte key rotated to the phase offset % 4, twice. Any position that is a multiple
 * of 4 later keeps the same pattern. */
static inline uint64_t sw__ws_mask_pattern(const uint8_t key[4], uint64_t offset)
{
    uint32_t k;
    memcpy(&k, key, 4);
    unsigned s = (unsigned)(offset & 3) * 8;
    if (s) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        k = k << s | k >> (32 - s);
#else
        k = k >> s | k << (32 - s);
#endif
    }
    return (uint64_t)k << 32 | k;
}

/* XORs n bytes at p with the pattern `w` (phase 0 at p): words, then bytes. */
static inline void sw__ws_xor_words(uint8_t *p, size_t n, uint64_t w)
{
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        v ^= w;
        memcpy(p, &v, 8);
    }
    uint8_t b[8];
    memcpy(b, &w, 8);
    for (size_t j = 0; j < n; j++) {
        p[j] ^= b[j];
    }
}

/*
 * XORs a payload of fewer than 16 bytes. From 8 bytes on it uses two overlapping words, the
 * first and the last 8 bytes, both loaded before either is stored: the overlap is written twice
 * with the same value (original ^ mask), which is how the vector kernels also finish their
 * tails without a byte loop.
 */
static inline void sw__ws_xor_small(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset)
{
    if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
        a ^= sw__ws_mask_pattern(key, offset);
        b ^= sw__ws_mask_pattern(key, offset + n - 8);
        memcpy(p, &a, 8);
        memcpy(p + n - 8, &b, 8);
        return;
    }
    sw__ws_xor_words(p, n, sw__ws_mask_pattern(key, offset));
}

/* Forces decoder `d` onto kernel `which`. Returns 0, or SW_ENOTSUP when it is unavailable. */
int sw__ws_decoder_force_unmask(sw_ws_decoder_t *d, int which);

/* ---- inflater (deflate.c) -------------------------------------------------------------------- */

typedef struct sw__ws_inflater_s sw__ws_inflater_t;

/* A raw-inflate stream for the peer's messages with a window of `window_bits` (8..15; the
 * decoder always asks for 15, see sw_ws_decoder_set_deflate); `reset_each` when the peer has
 * no context takeover. Returns 0, SW_ENOTSUP (no zlib), SW_EINVAL or SW_ENOMEM. */
int sw__ws_inflater_create(sw__ws_inflater_t **out, int window_bits, bool reset_each);
void sw__ws_inflater_destroy(sw__ws_inflater_t *inf);

/* Inflates n bytes of one message's compressed payload, appending to `out`, which must not
 * grow past `limit` bytes. Returns 0, SW_EWS_TOO_BIG (limit), SW_EWS_DEFLATE (corrupt data)
 * or SW_ENOMEM. */
int sw__ws_inflater_feed(sw__ws_inflater_t *inf, const uint8_t *in, size_t n, sw_buffer_t *out,
                         uint64_t limit);

/* Ends the message: feeds the 0x00 0x00 0xff 0xff tail (RFC 7692 §7.2.2) and resets the
 * stream when the peer has no context takeover. Same returns as feed. */
int sw__ws_inflater_finish(sw__ws_inflater_t *inf, sw_buffer_t *out, uint64_t limit);

/* ---- header lists (extensions.c) ------------------------------------------------------------- */

#define SW__WS_MAX_EXT_PARAMS 16

typedef struct {
    sw_ws_slice_t name;
    sw_ws_slice_t value; /* ptr NULL: no value; quoted values without their quotes */
    bool quoted;         /* value had quotes: backslash escapes still in place */
} sw__ws_ext_param_t;

typedef struct {
    sw_ws_slice_t name;
    sw__ws_ext_param_t params[SW__WS_MAX_EXT_PARAMS];
    size_t nparams;
} sw__ws_ext_t;

/* Walks the extensions of a Sec-WebSocket-Extensions field made of `nlines` lines. */
typedef struct {
    const sw_ws_slice_t *lines;
    size_t nlines;
    size_t line; /* current line */
    size_t pos;  /* position in it */
} sw__ws_ext_iter_t;

void sw__ws_ext_iter_init(sw__ws_ext_iter_t *it, const sw_ws_slice_t *lines, size_t nlines);

/* Returns 1 with the next extension in *ext, 0 at the end, or -1 when the field does not
 * follow RFC 6455 §9.1 (extension tokens, ';' parameters, token or quoted-string values
 * whose unescaped form is a token, ',' between extensions, empty list elements allowed),
 * or an extension has more than SW__WS_MAX_EXT_PARAMS parameters. */
int sw__ws_ext_next(sw__ws_ext_iter_t *it, sw__ws_ext_t *ext);

/* Parses one permessage-deflate extension of an offer (is_offer) or a response into p.
 * `has_client_bits` reports that client_max_window_bits appeared (offer: with or without a
 * value; its value, or 15, lands in p). Returns 0 or -1 when a parameter is unknown,
 * repeated or has an invalid value for that side (RFC 7692 §7.1). */
int sw__ws_deflate_parse(const sw__ws_ext_t *ext, bool is_offer, sw_ws_deflate_params_t *p,
                         bool *has_client_bits, bool *has_server_bits);

/* Server: picks the first acceptable permessage-deflate offer among `nlines` extension lines
 * and writes the response value into hs->extensions. Returns 1 accepted, 0 none acceptable,
 * -1 syntax error in the field. */
int sw__ws_deflate_accept(const sw_ws_slice_t *lines, size_t nlines,
                          const sw_ws_deflate_options_t *opts, sw_ws_handshake_t *hs);

/* Client: checks the response's extensions against the offer made with `offer` (NULL: none
 * made). Returns 0 with hs->deflate(_params) set, or a detail (> 0) on failure. */
int sw__ws_deflate_check_response(const sw_ws_slice_t *lines, size_t nlines,
                                  const sw_ws_deflate_options_t *offer, sw_ws_handshake_t *hs);

/* True for RFC 9110 tchar. */
bool sw__ws_is_tchar(unsigned char c);

/* Case-insensitive ASCII comparison of a slice with a NUL-terminated lower-case literal. */
bool sw__ws_slice_ieq(const char *p, size_t n, const char *lit);

#endif
