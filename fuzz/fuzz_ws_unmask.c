/*
 * libFuzzer target: every masking kernel (64-bit scalar, SSE2, AVX2 when the CPU has them)
 * against the byte-at-a-time reference, on the input at every start alignment 0..31, with the
 * key and the mask phase taken from the first bytes, and then in two pieces.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "websocket/ws_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6) {
        return 0;
    }
    uint8_t key[4];
    memcpy(key, data, 4);
    uint64_t phase = data[4];
    size_t cut = data[5];
    data += 6;
    size -= 6;
    uint8_t *ref = malloc(size + 32), *got = malloc(size + 32);
    if (!ref || !got) {
        abort();
    }
    for (int k = SW__WS_UNMASK_SCALAR; k < SW__WS_UNMASK_COUNT_; k++) {
        sw__ws_unmask_fn fn = sw__ws_unmask_impl(k);
        if (!fn) {
            continue;
        }
        for (size_t align = 0; align<32; align += size> 4096 ? 7 : 1) {
            memcpy(ref + align, data, size);
            memcpy(got + align, data, size);
            sw__ws_unmask_byte(ref + align, size, key, phase);
            fn(got + align, size, key, phase);
            if (memcmp(ref + align, got + align, size) != 0) {
                abort();
            }
            size_t c = cut < size ? cut : size;
            memcpy(got + align, data, size);
            fn(got + align, c, key, phase);
            fn(got + align + c, size - c, key, phase + c);
            if (memcmp(ref + align, got + align, size) != 0) {
                abort();
            }
        }
    }
    free(ref);
    free(got);
    return 0;
}
