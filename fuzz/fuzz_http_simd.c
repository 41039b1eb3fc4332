/*
 * Differential fuzz target: the SIMD scanners (SSE4.2, AVX2; whichever the CPU has) against
 * the portable ones. Each scanner runs on every suffix of the input, on a heap block of
 * exactly those bytes, and must stop at the same byte; then the input is parsed as a request
 * and as a response with each scanner and the logs must be equal.
 */
#include "fuzz_http_common.h"
#include "http/http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_log(int type, int simd, const char *in, size_t n, fz_log_t *l)
{
    sw_http_parser_options_t o;
    sw_http_parser_options_init(&o);
    o.simd = simd;
    o.lenient = SW_HTTP_LENIENT_BARE_LF;
    size_t cut = n;
    fz_run(type, &o, SW_HTTP_METHOD_GET, in, n, &cut, 1, 0, 1, l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int levels[2] = {SW_HTTP_SIMD_SSE42, SW_HTTP_SIMD_AVX2};
    const sw__http_scanners_t *ref = sw__http_scanners(SW_HTTP_SIMD_SCALAR);
    char *blk = fz_block((const char *)data, size);
    for (int li = 0; li < 2; li++) {
        if (sw__http_simd_resolve(levels[li]) != levels[li]) {
            continue;
        }
        const sw__http_scanners_t *sc = sw__http_scanners(levels[li]);
        for (size_t start = 0; start <= size; start++) {
            const char *b = blk + start, *e = blk + size;
            fz_check(sc->value(b, e) == ref->value(b, e), "value scanner differs");
            fz_check(sc->vchar(b, e) == ref->vchar(b, e), "vchar scanner differs");
        }
        for (int type = SW_HTTP_REQUEST; type <= SW_HTTP_RESPONSE; type++) {
            fz_log_t a = {0}, b = {0};
            parse_log(type, SW_HTTP_SIMD_SCALAR, (const char *)data, size, &a);
            parse_log(type, levels[li], (const char *)data, size, &b);
            fz_same(&a, &b, "scalar and SIMD parser logs");
            free(a.p);
            free(b.p);
        }
    }
    free(blk);
    return 0;
}
