/*
 * AVX2 masking kernel: 32 bytes per instruction, eight registers (256 bytes) per loop turn.
 * Compiled with -mavx2 (CMake, this file only) and called only when the CPU reports AVX2.
 *
 * Head and tail without byte loops: the first and the last 32 bytes are loaded before anything
 * is stored and written back after the loop. The loop covers the 32-byte-aligned middle (for
 * payloads of 512 bytes and more, so that no store splits a cache line) or starts at byte 0;
 * the bytes the head or tail share with it are written twice with the same value (original ^
 * mask), which is correct because every value comes from the original bytes.
 */
#include <immintrin.h>

#include "websocket/ws_int.h"

#define STEP(k)                        \
    _mm256_storeu_si256(               \
        (__m256i *)(p + i + 32 * (k)), \
        _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + i + 32 * (k))), m))

static __m256i pattern256(const uint8_t key[4], uint64_t offset)
{
    return _mm256_set1_epi64x((long long)sw__ws_mask_pattern(key, offset));
}

void sw__ws_unmask_avx2(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset)
{
    if (n < 32) {
        if (n >= 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)p);
            __m128i b = _mm_loadu_si128((const __m128i *)(p + n - 16));
            __m128i ma = _mm256_castsi256_si128(pattern256(key, offset));
            __m128i mb = _mm256_castsi256_si128(pattern256(key, offset + n - 16));
            _mm_storeu_si128((__m128i *)p, _mm_xor_si128(a, ma));
            _mm_storeu_si128((__m128i *)(p + n - 16), _mm_xor_si128(b, mb));
        } else {
            sw__ws_xor_small(p, n, key, offset);
        }
        return;
    }
    __m256i head = _mm256_loadu_si256((const __m256i *)p);
    __m256i tail = _mm256_loadu_si256((const __m256i *)(p + n - 32));
    __m256i mh = pattern256(key, offset);
    __m256i mt = pattern256(key, offset + n - 32);
    size_t i = n >= 512 ? (size_t)(-(uintptr_t)p & 31) : 0;
    __m256i m = i ? pattern256(key, offset + i) : mh;
    for (; n - i >= 256; i += 256) {
        STEP(0);
        STEP(1);
        STEP(2);
        STEP(3);
        STEP(4);
        STEP(5);
        STEP(6);
        STEP(7);
    }
    for (; n - i >= 32; i += 32) {
        STEP(0);
    }
    _mm256_storeu_si256((__m256i *)p, _mm256_xor_si256(head, mh));
    _mm256_storeu_si256((__m256i *)(p + n - 32), _mm256_xor_si256(tail, mt));
}
