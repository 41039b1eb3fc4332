/*
 * libFuzzer target: the incremental UTF-8 validator, differential against a reference decoder
 * written from the Unicode definition (code point ranges, shortest forms, no surrogates), and
 * self-consistent across splits: validating in two pieces (split point from byte 0) must fail
 * at the same offset as validating whole, the prefix before that offset must pass, and the
 * prefix including it must fail.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swoole/websocket.h"
#include "../tests/utf8_reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t cut = data[0];
    data++;
    size--;
    if (cut > size) {
        cut = size;
    }
    size_t bad = 0;
    bool ok = sw_ws_utf8_validate(data, size, &bad) == 0;
    if (ok != utf8_reference_valid(data, size)) {
        abort();
    }
    /* Two pieces. */
    sw_ws_utf8_t u;
    sw_ws_utf8_init(&u);
    size_t b1 = 0, b2 = 0;
    long split_bad = -1;
    if (sw_ws_utf8_update(&u, data, cut, &b1) < 0) {
        split_bad = (long)b1;
    } else if (sw_ws_utf8_update(&u, data + cut, size - cut, &b2) < 0) {
        split_bad = (long)(cut + b2);
    } else if (sw_ws_utf8_finish(&u) < 0) {
        split_bad = (long)size;
    }
    if (ok != (split_bad < 0) || (!ok && (size_t)split_bad != bad)) {
        abort();
    }
    if (!ok && bad < size) {
        /* Fail-fast: everything before the bad byte could still become valid text... */
        sw_ws_utf8_t p;
        sw_ws_utf8_init(&p);
        if (sw_ws_utf8_update(&p, data, bad, NULL) < 0) {
            abort();
        }
        /* ...and the bad byte cannot. */
        if (sw_ws_utf8_update(&p, data + bad, 1, NULL) == 0) {
            abort();
        }
        /* The reference agrees that no text starting with data[0..bad] is valid: neither it
         * nor any completion of an open character with 1-3 continuation bytes (one from each
         * range the second byte of a sequence can be restricted to) is. Short inputs only, to
         * keep the target fast. */
        if (bad < 256) {
            static const uint8_t conts[4] = {0x80, 0x90, 0xa0, 0xbf};
            uint8_t q[256 + 4];
            memcpy(q, data, bad + 1);
            for (int extra = 0; extra <= 3; extra++) {
                int combos = 1 << (2 * extra);
                for (int k = 0; k < combos; k++) {
                    for (int j = 0; j < extra; j++) {
                        q[bad + 1 + (size_t)j] = conts[(k >> (2 * j)) & 3];
                    }
                    if (utf8_reference_valid(q, bad + 1 + (size_t)extra)) {
                        abort();
                    }
                }
            }
        }
    }
    return 0;
}
