/*
 * libFuzzer target: the framer's fast head scan (src/protocol/http_scan.c), differential
 * against the strict parser.
 *
 * The contract checked: whenever sw__http_scan_head() returns 1 for data[0..h), the strict
 * parser with default options and max_head = h (what the framer's head_done ran before the
 * scan existed) completes the head with SW_HTTP_HEAD_DONE, with the same framing bits
 * (UPGRADE, EXPECT_CONTINUE, TE_CODINGS, CHUNKED, CONTENT_LENGTH) and the same Content-Length.
 * Also: sw__http_head_framing() (scan, else parser) agrees with the parser alone on every
 * input, and the scan returns only 0 or 1 and never reads outside data[0..h) (each input is
 * copied to a buffer of exactly h bytes, so ASan catches a read past the end).
 *
 * Each input is checked twice: whole (h = size), and cut where the framer cuts a head (after
 * leading CR/LF bytes, the first line that is empty or a lone CR), which is the h head_done
 * receives. Seeds: fuzz/seeds/http_scan/ (heads of real clients, one per fallback reason);
 * dictionary: fuzz/http_scan.dict.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/protocol_int.h"
#include "swoole/http.h"

#define MAX_HEAD 16384
#define FRAMING_BITS                                                                            \
    (SW_HTTP_F_UPGRADE | SW_HTTP_F_EXPECT_CONTINUE | SW_HTTP_F_TE_CODINGS | SW_HTTP_F_CHUNKED | \
     SW_HTTP_F_CONTENT_LENGTH)

/* The strict parser as head_done ran it: its result, flags and Content-Length. */
static int parse(const char *data, size_t h, uint32_t *flags, uint64_t *clen)
{
    static char copy[MAX_HEAD];
    sw_http_header_t fields[100];
    sw_http_parser_options_t o;
    sw_http_parser_options_init(&o);
    o.max_head = (uint32_t)h;
    sw_http_parser_t p;
    if (sw_http_parser_init(&p, SW_HTTP_REQUEST, &o, fields, 100) < 0) {
        abort();
    }
    memcpy(copy, data, h);
    int r = sw_http_parser_execute(&p, copy, h);
    *flags = p.flags;
    *clen = p.content_length;
    return r;
}

static void check(const uint8_t *in, size_t h)
{
    if (h == 0) {
        return; /* the framer never has an empty head: find_head needs a '\n' */
    }
    char *data = malloc(h);
    if (!data) {
        abort();
    }
    memcpy(data, in, h);
    uint32_t sf = 0xffffffffu, pf = 0, ff = 0xffffffffu;
    uint64_t sl = 0xdeadbeef, pl = 0, fl = 0xdeadbeef;
    int s = sw__http_scan_head(data, h, &sf, &sl);
    int pr = parse(data, h, &pf, &pl);
    if (s != 0 && s != 1) {
        abort();
    }
    if (s == 1) {
        if (pr != SW_HTTP_HEAD_DONE) {
            abort(); /* the scan took a head the parser refuses */
        }
        if ((sf & ~FRAMING_BITS) != 0 || sf != (pf & FRAMING_BITS)) {
            abort(); /* different framing bits */
        }
        if ((sf & SW_HTTP_F_CONTENT_LENGTH) ? sl != pl : sl != 0) {
            abort(); /* different Content-Length */
        }
    }
    int f = sw__http_head_framing(data, h, &ff, &fl);
    if (pr == SW_HTTP_HEAD_DONE) {
        if (f != 0 || (ff & FRAMING_BITS) != (pf & FRAMING_BITS)) {
            abort();
        }
        if ((pf & SW_HTTP_F_CONTENT_LENGTH) && fl != pl) {
            abort();
        }
    } else if (f >= 0) {
        abort(); /* a head the parser refuses must be refused */
    }
    free(data);
}

/* Where the framer's find_head ends the head of data[0..n), or 0 if it does not end there. */
static size_t framer_cut(const uint8_t *d, size_t n)
{
    size_t i = 0;
    while (i < n && (d[i] == '\r' || d[i] == '\n')) {
        i++;
    }
    size_t line = i;
    for (; i < n; i++) {
        if (d[i] != '\n') {
            continue;
        }
        size_t ll = i - line;
        if (ll == 0 || (ll == 1 && d[line] == '\r')) {
            return i + 1;
        }
        line = i + 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_HEAD) {
        return 0;
    }
    check(data, size);
    size_t h = framer_cut(data, size);
    if (h > 0 && h < size) {
        check(data, h);
    }
    return 0;
}
