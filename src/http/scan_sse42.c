/*
 * SSE4.2 scanners (this file alone is compiled with -msse4.2; the parser calls it only when
 * the CPU has SSE4.2). PCMPESTRI in "ranges" mode finds the first byte of 16 that falls in
 * one of up to eight [lo, hi] ranges: here the ranges list the bytes that END a run, as
 * picohttpparser does for header values. The tail shorter than 16 bytes goes to the portable
 * scanner, so no load ever passes `end`.
 */
#include <nmmintrin.h>

#include "http/http_int.h"

#define SW_RANGE_MODE (_SIDD_UBYTE_OPS | _SIDD_CMP_RANGES | _SIDD_LEAST_SIGNIFICANT)

/* Bytes that end a field value: 0x00-0x08, 0x0a-0x1f, 0x7f (every CTL but HTAB, and DEL). */
static const char value_stops[16] = "\x00\x08\x0a\x1f\x7f\x7f";
/* Bytes that end a run of VCHAR: 0x00-0x20 and 0x7f-0xff. */
static const char vchar_stops[16] = "\x00\x20\x7f\xff";

const char *sw__http_scan_value_sse42(const char *p, const char *end)
{
    const __m128i ranges = _mm_loadu_si128((const __m128i *)value_stops);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        int i = _mm_cmpestri(ranges, 6, v, 16, SW_RANGE_MODE);
        if (i != 16) {
            return p + i;
        }
        p += 16;
    }
    return sw__http_scan_value_scalar(p, end);
}

const char *sw__http_scan_vchar_sse42(const char *p, const char *end)
{
    const __m128i ranges = _mm_loadu_si128((const __m128i *)vchar_stops);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        int i = _mm_cmpestri(ranges, 4, v, 16, SW_RANGE_MODE);
        if (i != 16) {
            return p + i;
        }
        p += 16;
    }
    return sw__http_scan_vchar_scalar(p, end);
}
