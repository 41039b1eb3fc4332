/*
 * AVX2 scanners (this file alone is compiled with -mavx2; the parser calls it only when the
 * CPU has AVX2). Each 32-byte block is classified with unsigned min/max compares, the result
 * turned into a bit mask, and the first set bit is the first byte that ends the run. The tail
 * shorter than 32 bytes goes to the portable scanner, so no load ever passes `end`.
 */
#include <immintrin.h>

#include "http/http_int.h"

const char *sw__http_scan_value_avx2(const char *p, const char *end)
{
    const __m256i c1f = _mm256_set1_epi8(0x1f);
    const __m256i tab = _mm256_set1_epi8(0x09);
    const __m256i del = _mm256_set1_epi8(0x7f);
    while (end - p >= 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)p);
        /* v <= 0x1f (unsigned) and not HTAB, or v == DEL. */
        __m256i ctl = _mm256_cmpeq_epi8(_mm256_min_epu8(v, c1f), v);
        ctl = _mm256_andnot_si256(_mm256_cmpeq_epi8(v, tab), ctl);
        __m256i bad = _mm256_or_si256(ctl, _mm256_cmpeq_epi8(v, del));
        unsigned mask = (unsigned)_mm256_movemask_epi8(bad);
        if (mask != 0) {
            return p + __builtin_ctz(mask);
        }
        p += 32;
    }
    return sw__http_scan_value_scalar(p, end);
}

const char *sw__http_scan_vchar_avx2(const char *p, const char *end)
{
    const __m256i c20 = _mm256_set1_epi8(0x20);
    const __m256i c7f = _mm256_set1_epi8(0x7f);
    while (end - p >= 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)p);
        /* v <= 0x20 or v >= 0x7f (unsigned). */
        __m256i low = _mm256_cmpeq_epi8(_mm256_min_epu8(v, c20), v);
        __m256i high = _mm256_cmpeq_epi8(_mm256_max_epu8(v, c7f), v);
        unsigned mask = (unsigned)_mm256_movemask_epi8(_mm256_or_si256(low, high));
        if (mask != 0) {
            return p + __builtin_ctz(mask);
        }
        p += 32;
    }
    return sw__http_scan_vchar_scalar(p, end);
}
