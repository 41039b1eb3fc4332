/*
 * SHA-1 (FIPS 180-4 §6.1, also RFC 3174), used only to compute Sec-WebSocket-Accept. SHA-1 is
 * broken for collision resistance, which does not matter here: RFC 6455 uses it as a fixed
 * transform that proves the server read the key, not as a security measure.
 *
 * Written from the FIPS text: five 32-bit state words, 80 rounds over a message schedule
 * expanded from each 64-byte block, padding with 0x80, zeros and the 64-bit big-endian bit
 * length.
 */
#include <string.h>

#include "websocket/ws_int.h"

static uint32_t rol(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* One 64-byte block. The schedule is kept as a 16-word ring (FIPS 180-4 §6.1.3 describes this
 * alternative) so that the state fits in registers and a little stack. */
static void compress(uint32_t h[5], const uint8_t *block)
{
    uint32_t w[16];
    for (int i = 0; i < 16; i++) {
        w[i] = load_be32(block + 4 * i);
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int t = 0; t < 80; t++) {
        uint32_t wt;
        if (t < 16) {
            wt = w[t];
        } else {
            wt = rol(w[(t - 3) & 15] ^ w[(t - 8) & 15] ^ w[(t - 14) & 15] ^ w[t & 15], 1);
            w[t & 15] = wt;
        }
        uint32_t f, k;
        if (t < 20) {
            f = (b & c) | (~b & d); /* Ch */
            k = 0x5a827999u;
        } else if (t < 40) {
            f = b ^ c ^ d; /* Parity */
            k = 0x6ed9eba1u;
        } else if (t < 60) {
            f = (b & c) | (b & d) | (c & d); /* Maj */
            k = 0x8f1bbcdcu;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6u;
        }
        uint32_t tmp = rol(a, 5) + f + e + k + wt;
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = tmp;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void sw__ws_sha1_init(sw__ws_sha1_t *s)
{
    s->h[0] = 0x67452301u;
    s->h[1] = 0xefcdab89u;
    s->h[2] = 0x98badcfeu;
    s->h[3] = 0x10325476u;
    s->h[4] = 0xc3d2e1f0u;
    s->total = 0;
    s->used = 0;
}

void sw__ws_sha1_update(sw__ws_sha1_t *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    s->total += len;
    if (s->used) {
        size_t take = 64 - s->used < len ? 64 - s->used : len;
        memcpy(s->block + s->used, p, take);
        s->used += take;
        p += take;
        len -= take;
        if (s->used < 64) {
            return;
        }
        compress(s->h, s->block);
        s->used = 0;
    }
    for (; len >= 64; p += 64, len -= 64) {
        compress(s->h, p);
    }
    if (len) {
        memcpy(s->block, p, len);
        s->used = len;
    }
}

void sw__ws_sha1_final(sw__ws_sha1_t *s, uint8_t out[SW__WS_SHA1_LEN])
{
    uint64_t bits = s->total * 8;
    s->block[s->used++] = 0x80;
    if (s->used > 56) {
        memset(s->block + s->used, 0, 64 - s->used);
        compress(s->h, s->block);
        s->used = 0;
    }
    memset(s->block + s->used, 0, 56 - s->used);
    store_be32(s->block + 56, (uint32_t)(bits >> 32));
    store_be32(s->block + 60, (uint32_t)bits);
    compress(s->h, s->block);
    for (int i = 0; i < 5; i++) {
        store_be32(out + 4 * i, s->h[i]);
    }
    memset(s, 0, sizeof(*s));
}

void sw__ws_sha1(const void *data, size_t len, uint8_t out[SW__WS_SHA1_LEN])
{
    sw__ws_sha1_t s;
    sw__ws_sha1_init(&s);
    sw__ws_sha1_update(&s, data, len);
    sw__ws_sha1_final(&s, out);
}
