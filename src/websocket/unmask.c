/*
 * Masking (RFC 6455 §5.3): payload byte i is XORed with key[i % 4]. The work is a pure
 * streaming XOR, so speed comes from doing it a register at a time: 8 bytes with plain 64-bit
 * words here, 16, 32 or 64 bytes with SSE2, AVX2 or AVX-512 in unmask_sse2.c, unmask_avx2.c and
 * unmask_avx512.c, each compiled with its own -m flags and called only when the CPU reports
 * the feature.
 *
 * Every kernel takes the payload position of its first byte (`offset`), so that a payload can
 * arrive in pieces of any length: the mask pattern is rotated to start at offset % 4. Because
 * 8, 16, 32 and 64 are multiples of 4, a pattern built once stays in phase for a whole call.
 *
 * Choice: AVX-512 only on CPUs that also have AVX512-VBMI2 (Ice Lake, Sapphire Rapids, Zen 4
 * and later): on the first AVX-512 generation (Skylake-SP) 512-bit instructions lower the
 * core's clock for everything else running on it, which a masking loop is not worth.
 */
#include <string.h>

#include "websocket/ws_int.h"

void sw__ws_unmask_byte(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset)
{
    for (size_t i = 0; i < n; i++) {
        p[i] ^= key[(offset + i) & 3];
    }
}

void sw__ws_unmask_scalar(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset)
{
    size_t i = 0;
    /* Bytes up to an 8-byte boundary, so that the word loop loads and stores aligned words
     * (memcpy keeps the code free of alignment and aliasing assumptions; compilers turn it into
     * one move). */
    size_t head = (size_t)(-(uintptr_t)p & 7);
    if (head > n) {
        head = n;
    }
    for (; i < head; i++) {
        p[i] ^= key[(offset + i) & 3];
    }
    uint64_t m = sw__ws_mask_pattern(key, offset + i);
    for (; n - i >= 32; i += 32) {
        uint64_t a, b, c, d;
        memcpy(&a, p + i, 8);
        memcpy(&b, p + i + 8, 8);
        memcpy(&c, p + i + 16, 8);
        memcpy(&d, p + i + 24, 8);
        a ^= m;
        b ^= m;
        c ^= m;
        d ^= m;
        memcpy(p + i, &a, 8);
        memcpy(p + i + 8, &b, 8);
        memcpy(p + i + 16, &c, 8);
        memcpy(p + i + 24, &d, 8);
    }
    sw__ws_xor_words(p + i, n - i, m);
}

static bool cpu_has(int which)
{
#if defined(SW_WS_X86_KERNELS)
    switch (which) {
    case SW__WS_UNMASK_SSE2:
        return __builtin_cpu_supports("sse2");
    case SW__WS_UNMASK_AVX2:
        return __builtin_cpu_supports("avx2");
    case SW__WS_UNMASK_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vbmi2");
    default:
        break;
    }
#endif
    return which == SW__WS_UNMASK_BYTE || which == SW__WS_UNMASK_SCALAR;
}

sw__ws_unmask_fn sw__ws_unmask_impl(int which)
{
    if (which == SW__WS_UNMASK_BEST) {
        which = cpu_has(SW__WS_UNMASK_AVX512) ? SW__WS_UNMASK_AVX512
                : cpu_has(SW__WS_UNMASK_AVX2) ? SW__WS_UNMASK_AVX2
                : cpu_has(SW__WS_UNMASK_SSE2) ? SW__WS_UNMASK_SSE2
                                              : SW__WS_UNMASK_SCALAR;
    }
    if (which <= SW__WS_UNMASK_BEST || which >= SW__WS_UNMASK_COUNT_ || !cpu_has(which)) {
        return NULL;
    }
    switch (which) {
    case SW__WS_UNMASK_BYTE:
        return sw__ws_unmask_byte;
    case SW__WS_UNMASK_SCALAR:
        return sw__ws_unmask_scalar;
#if defined(SW_WS_X86_KERNELS)
    case SW__WS_UNMASK_SSE2:
        return sw__ws_unmask_sse2;
    case SW__WS_UNMASK_AVX2:
        return sw__ws_unmask_avx2;
    case SW__WS_UNMASK_AVX512:
        return sw__ws_unmask_avx512;
#endif
    default:
        return NULL;
    }
}

const char *sw__ws_unmask_name(int which)
{
    static const char *const names[SW__WS_UNMASK_COUNT_] = {"best", "byte", "scalar",
                                                            "sse2", "avx2", "avx512"};
    return which >= 0 && which < SW__WS_UNMASK_COUNT_ ? names[which] : "unknown";
}

void sw_ws_mask(void *data, size_t len, const uint8_t key[4], uint64_t offset)
{
    if (!len || !data || !key) {
        return;
    }
    /* The CPU check is a load and a test of libgcc's feature word: cheaper than caching the
     * choice in a global, and it keeps the library free of mutable global state. */
    sw__ws_unmask_impl(SW__WS_UNMASK_BEST)(data, len, key, offset);
}
