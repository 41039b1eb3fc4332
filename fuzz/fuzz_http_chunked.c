/*
 * Fuzz target: the chunked decoder. The input follows a fixed chunked request head, so almost
 * every byte lands in chunk sizes, extensions, data and trailers. The body is decoded in place
 * and streamed, whole, split and byte by byte; all runs must agree (fuzz_http_common.h).
 */
#include "fuzz_http_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char head[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    if (size < 1) {
        return 0;
    }
    size_t hl = sizeof(head) - 1, n = hl + size - 1;
    char *in = malloc(n);
    if (!in) {
        abort();
    }
    memcpy(in, head, hl);
    memcpy(in + hl, data + 1, size - 1);
    sw_http_parser_options_t o;
    sw_http_parser_options_init(&o);
    if (data[0] & 1u) {
        o.max_chunk_line = 12;
        o.max_body = 64;
        o.max_headers = 3;
        o.max_head = 128;
    }
    fz_all_schedules(SW_HTTP_REQUEST, &o, SW_HTTP_METHOD_GET, in, n, hl + (data[0] >> 1),
                     (data[0] & 2u) != 0);
    free(in);
    return 0;
}
