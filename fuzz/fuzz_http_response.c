/*
 * Fuzz target: the response parser. The first two bytes choose the options, the method of
 * the request answered (GET, HEAD or CONNECT), whether the peer closes at the end, and a
 * split position; the rest is the response stream, checked as in fuzz_http_request.c.
 */
#include "fuzz_http_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int methods[4] = {SW_HTTP_METHOD_GET, SW_HTTP_METHOD_HEAD, SW_HTTP_METHOD_CONNECT,
                                   SW_HTTP_METHOD_POST};
    if (size < 2) {
        return 0;
    }
    sw_http_parser_options_t o;
    sw_http_parser_options_init(&o);
    uint8_t f = data[0];
    o.lenient = f & 3u;
    o.simd = (f & 4u) ? SW_HTTP_SIMD_SCALAR : SW_HTTP_SIMD_AUTO;
    if (f & 8u) {
        o.max_start_line = 64;
        o.max_head = 256;
        o.max_headers = 4;
        o.max_body = 100;
    }
    fz_all_schedules(SW_HTTP_RESPONSE, &o, methods[(f >> 5) & 3u], (const char *)data + 2, size - 2,
                     data[1], (f & 16u) != 0);
    return 0;
}
