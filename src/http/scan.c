/*
 * Character classes and the portable scanners, plus the run-time choice of the SIMD ones.
 *
 * The portable scanners look at eight bytes at a time with the "has a byte less than n" word
 * trick (Sean Eron Anderson, "Bit Twiddling Hacks", hasless/hasmore): a word without any
 * suspicious byte is skipped whole; a flagged word is re-checked byte by byte, so the trick's
 * false positives (a HTAB, a carry) only cost time.
 */
#include <string.h>

#include "http/http_int.h"

/* Generated once from the RFC grammars (see the SW_HTTP_C_* comments in http_int.h). */
const uint8_t sw__http_cclass[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x42, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x00 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x10 */
    0x42, 0xd7, 0x06, 0x57, 0xd7, 0xd7, 0xd7, 0xf7,
    0xf6, 0xf6, 0xd7, 0xf7, 0xe6, 0xf7, 0xf7, 0x76, /* 0x20 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0x76, 0xc6, 0x56, 0xf6, 0x56, 0x76, /* 0x30 */
    0x56, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf7,
    0xf7, 0xf7, 0xf7, 0xf7, 0xf7, 0xf7, 0xf7, 0xf7, /* 0x40 */
    0xf7, 0xf7, 0xf7, 0xf7, 0xf7, 0xf7, 0xf7, 0xf7,
    0xf7, 0xf7, 0xf7, 0x56, 0x06, 0x56, 0x57, 0xf7, /* 0x50 */
    0x57, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf7,
    0xf7, 0xf7, 0xf7, 0xf7, 0xf7, 0xf7, 0xf7, 0xf7, /* 0x60 */
    0xf7, 0xf7, 0xf7, 0xf7, 0xf7, 0xf7, 0xf7, 0xf7,
    0xf7, 0xf7, 0xf7, 0x56, 0x57, 0x56, 0xd7, 0x00, /* 0x70 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* 0x80 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* 0x90 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* 0xa0 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* 0xb0 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* 0xc0 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* 0xd0 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* 0xe0 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* 0xf0 */
};

#define SW_ONES  0x0101010101010101ull
#define SW_HIGHS 0x8080808080808080ull

static inline uint64_t load64(const char *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof(x));
    return x;
}

const char *sw__http_scan_value_scalar(const char *p, const char *end)
{
    while (end - p >= 8) {
        uint64_t x = load64(p);
        uint64_t ctl = (x - SW_ONES * 0x20) & ~x & SW_HIGHS;
        uint64_t y = x ^ (SW_ONES * 0x7f);
        uint64_t del = (y - SW_ONES) & ~y & SW_HIGHS;
        if ((ctl | del) != 0) {
            for (int i = 0; i < 8; i++) {
                if (!sw__http_is((unsigned char)p[i], SW_HTTP_C_FIELD)) {
                    return p + i;
                }
            }
        }
        p += 8;
    }
    while (p < end && sw__http_is((unsigned char)*p, SW_HTTP_C_FIELD)) {
        p++;
    }
    return p;
}

const char *sw__http_scan_vchar_scalar(const char *p, const char *end)
{
    while (end - p >= 8) {
        uint64_t x = load64(p);
        uint64_t low = (x - SW_ONES * 0x21) & ~x & SW_HIGHS;
        uint64_t high = ((x + SW_ONES * 0x01) | x) & SW_HIGHS;
        if ((low | high) != 0) {
            for (int i = 0; i < 8; i++) {
                if (!sw__http_is((unsigned char)p[i], SW_HTTP_C_VCHAR)) {
                    return p + i;
                }
            }
        }
        p += 8;
    }
    while (p < end && sw__http_is((unsigned char)*p, SW_HTTP_C_VCHAR)) {
        p++;
    }
    return p;
}

static const sw__http_scanners_t scalar_scanners = {
    sw__http_scan_value_scalar,
    sw__http_scan_vchar_scalar,
};
#ifdef SW_HTTP_X86
static const sw__http_scanners_t sse42_scanners = {
    sw__http_scan_value_sse42,
    sw__http_scan_vchar_sse42,
};
static const sw__http_scanners_t avx2_scanners = {
    sw__http_scan_value_avx2,
    sw__http_scan_vchar_avx2,
};
#endif

const sw__http_scanners_t *sw__http_scanners(int level)
{
    switch (level) {
    case SW_HTTP_SIMD_SCALAR:
        return &scalar_scanners;
#ifdef SW_HTTP_X86
    case SW_HTTP_SIMD_SSE42:
        return &sse42_scanners;
    case SW_HTTP_SIMD_AVX2:
        return &avx2_scanners;
#endif
    default:
        return NULL;
    }
}

/* The CPU's features are read through the compiler's cpu-model runtime, which fills them in
 * before main() runs; nothing here caches state of its own. */
static int cpu_has(int level)
{
#ifdef SW_HTTP_X86
    switch (level) {
    case SW_HTTP_SIMD_SSE42:
        return __builtin_cpu_supports("sse4.2");
    case SW_HTTP_SIMD_AVX2:
        return __builtin_cpu_supports("avx2");
    default:
        break;
    }
#endif
    return level == SW_HTTP_SIMD_SCALAR;
}

int sw_http_simd_best(void)
{
    if (cpu_has(SW_HTTP_SIMD_AVX2)) {
        return SW_HTTP_SIMD_AVX2;
    }
    if (cpu_has(SW_HTTP_SIMD_SSE42)) {
        return SW_HTTP_SIMD_SSE42;
    }
    return SW_HTTP_SIMD_SCALAR;
}

int sw__http_simd_resolve(int level)
{
    if (level == SW_HTTP_SIMD_AUTO) {
        return sw_http_simd_best();
    }
    if (level < SW_HTTP_SIMD_SCALAR || level > SW_HTTP_SIMD_AVX2) {
        return SW_EINVAL;
    }
    return cpu_has(level) ? level : SW_ENOTSUP;
}
