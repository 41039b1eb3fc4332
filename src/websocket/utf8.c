/*
 * Incremental UTF-8 validation (RFC 3629 §4 syntax, the table of well-formed byte sequences
 * in Unicode §3.9, D92). The state between calls is the number of continuation bytes still
 * owed and the range the next one must fall in; the range is narrower than 80..BF only right
 * after E0 (no overlongs), ED (no surrogates), F0 (no overlongs) and F4 (nothing above
 * U+10FFFF). Because every constraint is checked on the byte that breaks it, the validator
 * fails fast, at the first byte that cannot continue a valid text, which is what the Autobahn
 * test suite (section 6) expects of a WebSocket endpoint.
 *
 * Runs of ASCII are skipped eight bytes at a time.
 *
 * State layout: bits 0-1 continuation bytes owed, 8-15 lowest allowed next byte, 16-23
 * highest, bit 31 failed.
 */
#include <string.h>

#include "websocket/ws_int.h"

#define FAILED 0x80000000u

static uint32_t pack(unsigned need, unsigned lo, unsigned hi)
{
    return need | lo << 8 | hi << 16;
}

void sw_ws_utf8_init(sw_ws_utf8_t *u)
{
    if (u) {
        u->state = 0;
    }
}

int sw_ws_utf8_update(sw_ws_utf8_t *u, const void *data, size_t len, size_t *bad)
{
    if (!u || (!data && len)) {
        return SW_EINVAL;
    }
    if (u->state & FAILED) {
        if (bad) {
            *bad = 0;
        }
        return SW_EWS_UTF8;
    }
    const uint8_t *p = data;
    uint32_t st = u->state;
    size_t i = 0;
    while (i < len) {
        if (st == 0) {
            /* At a boundary: skip ASCII a word at a time. */
            while (len - i >= 8) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                if (w & 0x8080808080808080ull) {
                    break;
                }
                i += 8;
            }
            if (i == len) {
                break;
            }
            uint8_t c = p[i];
            if (c < 0x80) {
                i++;
                continue;
            }
            if (c < 0xc2) { /* stray continuation byte, or C0/C1: always overlong */
                goto fail;
            } else if (c < 0xe0) {
                st = pack(1, 0x80, 0xbf);
            } else if (c == 0xe0) {
                st = pack(2, 0xa0, 0xbf);
            } else if (c == 0xed) {
                st = pack(2, 0x80, 0x9f);
            } else if (c < 0xf0) {
                st = pack(2, 0x80, 0xbf);
            } else if (c == 0xf0) {
                st = pack(3, 0x90, 0xbf);
            } else if (c < 0xf4) {
                st = pack(3, 0x80, 0xbf);
            } else if (c == 0xf4) {
                st = pack(3, 0x80, 0x8f);
            } else { /* F5..FF: beyond U+10FFFF or never valid */
                goto fail;
            }
            i++;
            continue;
        }
        uint8_t c = p[i];
        unsigned lo = (st >> 8) & 0xff, hi = (st >> 16) & 0xff;
        if (c < lo || c > hi) {
            goto fail;
        }
        unsigned need = (st & 3) - 1;
        st = need ? pack(need, 0x80, 0xbf) : 0;
        i++;
    }
    u->state = st;
    return 0;

fail:
    u->state = FAILED;
    if (bad) {
        *bad = i;
    }
    return SW_EWS_UTF8;
}

int sw_ws_utf8_finish(const sw_ws_utf8_t *u)
{
    if (!u) {
        return SW_EINVAL;
    }
    return u->state == 0 ? 0 : SW_EWS_UTF8;
}

int sw_ws_utf8_validate(const void *data, size_t len, size_t *bad)
{
    sw_ws_utf8_t u = {0};
    int rc = sw_ws_utf8_update(&u, data, len, bad);
    if (rc < 0) {
        return rc;
    }
    if (u.state != 0) {
        if (bad) {
            *bad = len;
        }
        return SW_EWS_UTF8;
    }
    return 0;
}
