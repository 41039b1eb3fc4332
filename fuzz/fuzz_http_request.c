/*
 * Fuzz target: the request parser. The first two bytes choose the options (lenient bits,
 * small or default limits, scalar or best scanner) and a split position; the rest is the
 * request stream. The stream is parsed whole, split in two, byte by byte and with streaming
 * bodies, and every run must report exactly the same (see fuzz_http_common.h).
 */
#include "fuzz_http_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
        o.max_chunk_line = 16;
        o.max_body = 100;
    }
    fz_all_schedules(SW_HTTP_REQUEST, &o, SW_HTTP_METHOD_GET, (const char *)data + 2, size - 2,
                     data[1], (f & 16u) != 0);
    return 0;
}
