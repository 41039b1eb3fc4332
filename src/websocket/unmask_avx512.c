/*
 * AVX-512 masking kernel: 64 bytes per instruction, eight registers (512 bytes) per loop turn.
 * Compiled with -mavx512f (CMake, this file only) and chosen only on CPUs with AVX512F and
 * AVX512-VBMI2 (see unmask.c). One 64-byte store per cycle is what lets the in-place XOR keep
 * up with memcpy on L1-resident payloads (4 KiB), where 32-byte stores top out near 0.7x on
 * the same cores. Payloads of 1 KiB and more run the loop over their 64-byte-aligned middle,
 * so that every store fills one whole cache line.
 *
 * Head and tail as in the AVX2 kernel: the first and the last 64 bytes are loaded before
 * anything is stored and written back after the loop (shared bytes get the same value twice).
 * Payloads under 64 bytes use the same trick with 32, 16 or 8 bytes.
 */
#include <immintrin.h>

#include "websocket/ws_int.h"

#define STEP(k)                                     \
    _mm512_storeu_si512((void *)(p + i + 64 * (k)), \
                        _mm512_xor_si512(_mm512_loadu_si512((const void *)(p + i + 64 * (k))), m))

static __m512i pattern512(const uint8_t key[4], uint64_t offset)
{
    return _mm512_set1_epi64((long long)sw__ws_mask_pattern(key, offset));
}

static void small(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset)
{
    if (n >= 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)p);
        __m256i b = _mm256_loadu_si256((const __m256i *)(p + n - 32));
        __m256i ma = _mm512_castsi512_si256(pattern512(key, offset));
        __m256i mb = _mm512_castsi512_si256(pattern512(key, offset + n - 32));
        _mm256_storeu_si256((__m256i *)p, _mm256_xor_si256(a, ma));
        _mm256_storeu_si256((__m256i *)(p + n - 32), _mm256_xor_si256(b, mb));
    } else if (n >= 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)p);
        __m128i b = _mm_loadu_si128((const __m128i *)(p + n - 16));
        __m128i ma = _mm512_castsi512_si128(pattern512(key, offset));
        __m128i mb = _mm512_castsi512_si128(pattern512(key, offset + n - 16));
        _mm_storeu_si128((__m128i *)p, _mm_xor_si128(a, ma));
        _mm_storeu_si128((__m128i *)(p + n - 16), _mm_xor_si128(b, mb));
    } else {
        sw__ws_xor_small(p, n, key, offset);
    }
}

void sw__ws_unmask_avx512(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset)
{
    if (n < 64) {
        small(p, n, key, offset);
        return;
    }
    __m512i head = _mm512_loadu_si512((const void *)p);
    __m512i tail = _mm512_loadu_si512((const void *)(p + n - 64));
    __m512i mh = pattern512(key, offset);
    __m512i mt = pattern512(key, offset + n - 64);
    size_t i = n >= 1024 ? (size_t)(-(uintptr_t)p & 63) : 0;
    __m512i m = i ? pattern512(key, offset + i) : mh;
    for (; n - i >= 512; i += 512) {
        STEP(0);
        STEP(1);
        STEP(2);
        STEP(3);
        STEP(4);
        STEP(5);
        STEP(6);
        STEP(7);
    }
    for (; n - i >= 64; i += 64) {
        STEP(0);
    }
    _mm512_storeu_si512((void *)p, _mm512_xor_si512(head, mh));
    _mm512_storeu_si512((void *)(p + n - 64), _mm512_xor_si512(tail, mt));
}
