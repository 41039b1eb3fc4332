/*
 * SSE2 masking kernel: 16 bytes per instruction, four registers per loop turn. Compiled with
 * -msse2 (CMake, this file only) and called only when the CPU reports SSE2.
 *
 * The payload's last 16 bytes are loaded before anything is stored and written back last: the
 * part they share with the loop's final block gets the same value twice (original ^ mask), so
 * no byte loop is needed for the tail. Loads and stores are unaligned, which costs nothing on
 * current x86 cores unless a cache line is crossed.
 */
#include <emmintrin.h>

#include "websocket/ws_int.h"

static __m128i pattern128(const uint8_t key[4], uint64_t offset)
{
    return _mm_set1_epi64x((long long)sw__ws_mask_pattern(key, offset));
}

void sw__ws_unmask_sse2(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset)
{
    if (n < 16) {
        sw__ws_xor_small(p, n, key, offset);
        return;
    }
    __m128i tail = _mm_loadu_si128((const __m128i *)(p + n - 16));
    __m128i mt = pattern128(key, offset + n - 16);
    __m128i m = pattern128(key, offset);
    size_t i = 0;
    for (; n - i >= 64; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(p + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(p + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(p + i + 48));
        _mm_storeu_si128((__m128i *)(p + i), _mm_xor_si128(a, m));
        _mm_storeu_si128((__m128i *)(p + i + 16), _mm_xor_si128(b, m));
        _mm_storeu_si128((__m128i *)(p + i + 32), _mm_xor_si128(c, m));
        _mm_storeu_si128((__m128i *)(p + i + 48), _mm_xor_si128(d, m));
    }
    for (; n - i >= 16; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(p + i));
        _mm_storeu_si128((__m128i *)(p + i), _mm_xor_si128(a, m));
    }
    _mm_storeu_si128((__m128i *)(p + n - 16), _mm_xor_si128(tail, mt));
}
