/*
 * The framing fields of a complete HTTP/1.x request head, for the framer (http.c).
 *
 * The framer needs only a few facts about a head: whether the strict parser accepts it, and
 * then its Content-Length, chunked, other transfer codings, "Expect: 100-continue" and
 * Upgrade. Running the strict parser (swoole/http.h) for these costs about 1,300 instructions
 * for a 75-byte head, most of it work the framer throws away (field offsets, method and
 * target classification, the parser's set-up), and the HTTP layer parses the same head again
 * anyway. sw__http_scan_head() is a single forward pass that answers for the heads real
 * clients send, and gives up (returns 0) on everything else, which then takes the strict
 * parser as before.
 *
 * The contract that makes this safe: it returns 1 only for a head the strict parser
 * (sw_http_parser_init with default options and max_head = h) completes with
 * SW_HTTP_HEAD_DONE, setting exactly the framing bits and Content-Length it reports. It does
 * so by accepting a subset of the parser's grammar in which every rule the parser applies is
 * either checked the same way or excluded:
 *
 *   - leading empty lines: CRLF pairs only (RFC 9112 §2.2; the parser refuses bare LF and a
 *     CR without LF);
 *   - method: 1+ tchar, not "CONNECT" (whose target form and body rules differ);
 *   - request-target: origin-form only, "/" then VCHARs (the parser's target scan stops at
 *     the first non-VCHAR and wants SP there; "*" and absolute-form fall back);
 *   - "HTTP/1.1" or "HTTP/1.0", CRLF, the start line at most 8192 bytes (max_start_line);
 *   - field lines: 1+ tchar, ':', OWS, value bytes of the parser's field-value class (HTAB,
 *     SP, VCHAR, obs-text), CRLF; at most 100 lines (max_headers and the framer's array); no
 *     obs-fold, bare LF or stray CR (all refused by the parser);
 *   - the fields the parser interprets (fields.c), named case-insensitively as it names them:
 *       Host               counted; a second one falls back, none falls back in HTTP/1.1;
 *                          the value must pass the parser's own fast path (reg-name bytes
 *                          without '%', then optionally ':' and up to 5 digits <= 65535) or
 *                          be empty, else fall back (IP literals, escapes);
 *       Content-Length     one line of 1..18 decimal digits (no overflow possible), else
 *                          fall back (lists, duplicates, signs, long values);
 *       Expect             "100-continue" sets EXPECT_CONTINUE in HTTP/1.1, as the parser
 *                          does; other expectations set nothing the framer reads;
 *       Connection         a single "close" or "keep-alive" token, else fall back (an
 *                          "upgrade" option could combine with Upgrade);
 *       Upgrade, Transfer-Encoding   always fall back.
 *   - the head ends at the first empty line, which must be the last two bytes of data[0..h).
 *
 * So on the fast path the only framing bits are CONTENT_LENGTH and EXPECT_CONTINUE; UPGRADE,
 * CHUNKED and TE_CODINGS always come from the strict parser. fuzz/fuzz_http_scan.c checks the
 * contract differentially; tests/test_http_scan.c has one case per fallback reason.
 */
#include <string.h>

#include "http/http_int.h"
#include "protocol/protocol_int.h"

/* The parser's default limits (sw_http_parser_options_init) and the framer's array. */
#define SCAN_MAX_START_LINE 8192
#define SCAN_MAX_FIELDS     100

static inline int is_class(unsigned char c, int cls)
{
    return (sw__http_cclass[c] & cls) != 0;
}

/* Name comparison exactly as fields.c does it (sw__http_name_eq): `c | 0x20` against a
 * lowercase name of letters and '-'. */
static inline int name_is(const unsigned char *s, const char *lower, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((s[i] | 0x20) != (unsigned char)lower[i]) {
            return 0;
        }
    }
    return 1;
}

/* ASCII case-insensitive equality of n bytes with a lowercase constant (sw__http_casecmp's
 * rule: only A-Z are folded). */
static inline int value_is(const unsigned char *s, const char *lower, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }
        if (c != (unsigned char)lower[i]) {
            return 0;
        }
    }
    return 1;
}

/* The end of a field value: the first byte outside the parser's field-value class (HTAB, SP,
 * VCHAR, obs-text). Eight bytes at a time with the "has a byte less than n" word test (Sean
 * Eron Anderson, "Bit Twiddling Hacks"), as the parser's own inline value scan does: a word
 * holding no CTL or DEL is skipped whole; the lowest flagged byte is exact (borrows only run
 * upwards), and a HTAB there is valid, so the scan goes on after it. Needs a byte outside the
 * class at or before end - 1 (the head's final '\n'). */
static inline const unsigned char *value_end(const unsigned char *s, const unsigned char *end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (end - s >= 8) {
        uint64_t x;
        memcpy(&x, s, sizeof(x));
        uint64_t y = x ^ (ones * 0x7f);
        uint64_t m = ((x - ones * 0x20) & ~x & highs) | ((y - ones) & ~y & highs);
        if (m == 0) {
            s += 8;
            continue;
        }
        s += __builtin_ctzll(m) >> 3;
        if (*s != '\t') {
            return s;
        }
        s++;
    }
#endif
    while (is_class(*s, SW_HTTP_C_FIELD)) {
        s++;
    }
    return s;
}

/* The value of a Host line, checked in place of the generic value scan: the parser's own fast
 * path for Host (fields.c host()), which takes an empty value or reg-name bytes other than
 * '%' optionally followed by ':' and a port. The port is limited here to 5 digits and 65535
 * (the parser also takes longer zero-padded ports: those fall back, as do IP literals and
 * escapes). Returns the byte after the value (the OWS or CR that must follow), or NULL. The
 * loops need no bound: the head's final '\n' is in neither class. */
static inline const unsigned char *host_value_end(const unsigned char *v)
{
    const unsigned char *q = v;
    while (is_class(*q, SW_HTTP_C_REGNAME) && *q != '%') {
        q++;
    }
    if (*q != ':') {
        return q;
    }
    if (q == v) {
        return NULL; /* ":port" alone: the parser's full authority parse decides */
    }
    const unsigned char *d = ++q;
    while ((unsigned)(*q - '0') <= 9) {
        q++;
    }
    size_t n = (size_t)(q - d);
    if (n < 5) {
        return q;
    }
    uint32_t port = (uint32_t)(d[0] - '0') * 10000 + (uint32_t)(d[1] - '0') * 1000 +
                    (uint32_t)(d[2] - '0') * 100 + (uint32_t)(d[3] - '0') * 10 +
                    (uint32_t)(d[4] - '0');
    return n == 5 && port <= 65535 ? q : NULL;
}

/* The scan itself; see the file comment for what it accepts. data[h - 1] == '\n' is checked
 * first, so every class loop below (none of whose classes holds '\n') stops inside the head. */
static inline int scan_head(const char *data, size_t h, uint32_t *flags, uint64_t *clen)
{
    if (h < 18 || h > 0x7fffffffu || data[h - 1] != '\n') {
        return 0; /* 18: "GET / HTTP/1.0\r\n\r\n", the shortest head taken here */
    }
    const unsigned char *s = (const unsigned char *)data, *end = s + h;
    while (*s == '\r') {
        if (s[1] != '\n') { /* s[1] exists: the last byte is '\n', not '\r' */
            return 0;
        }
        s += 2;
        if (end - s < 18) {
            return 0;
        }
    }
    const unsigned char *line = s;
    while (is_class(*s, SW_HTTP_C_TCHAR)) {
        s++;
    }
    if (s == line || *s != ' ') {
        return 0;
    }
    if (s - line == 7 && memcmp(line, "CONNECT", 7) == 0) {
        return 0;
    }
    s++;
    if (*s != '/') {
        return 0;
    }
    while (is_class(*s, SW_HTTP_C_VCHAR)) {
        s++;
    }
    if (*s != ' ') {
        return 0;
    }
    s++;
    /* "HTTP/1.x" CR LF, then at least the final CR LF. */
    if (end - s < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') ||
        s[8] != '\r' || s[9] != '\n') {
        return 0;
    }
    int minor = s[7] - '0';
    if (s + 8 - line > SCAN_MAX_START_LINE) {
        return 0;
    }
    s += 10;

    unsigned fields = 0, hosts = 0;
    int has_cl = 0, expect = 0;
    uint64_t cl = 0;
    for (;;) {
        if (*s == '\r') {
            /* The empty line: it must end the head exactly. */
            if (end - s != 2 || s[1] != '\n') {
                return 0;
            }
            break;
        }
        const unsigned char *name = s;
        while (is_class(*s, SW_HTTP_C_TCHAR)) {
            s++;
        }
        size_t nlen = (size_t)(s - name);
        if (nlen == 0 || *s != ':') {
            return 0;
        }
        s++;
        while (*s == ' ' || *s == '\t') {
            s++;
        }
        const unsigned char *v = s, *ve;
        if (nlen == 4 && name_is(name, "host", 4)) {
            if (++hosts > 1 || !(s = host_value_end(v))) {
                return 0;
            }
            ve = s;
            while (*s == ' ' || *s == '\t') {
                s++;
            }
        } else {
            s = value_end(s, end);
            ve = s;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
                ve--;
            }
        }
        /* s < end - 1 here: the loops stopped at or before the final '\n'. */
        if (*s != '\r' || s[1] != '\n') {
            return 0;
        }
        size_t vlen = (size_t)(ve - v);
        s += 2;
        if (++fields > SCAN_MAX_FIELDS || s >= end) {
            return 0;
        }
        switch (nlen) {
        case 6:
            if (name_is(name, "expect", 6) && vlen == 12 && value_is(v, "100-continue", 12)) {
                expect = 1;
            }
            break;
        case 7:
            if (name_is(name, "upgrade", 7)) {
                return 0;
            }
            break;
        case 10:
            if (name_is(name, "connection", 10) && !(vlen == 5 && value_is(v, "close", 5)) &&
                !(vlen == 10 && value_is(v, "keep-alive", 10))) {
                return 0;
            }
            break;
        case 14:
            if (name_is(name, "content-length", 14)) {
                if (has_cl || vlen == 0 || vlen > 18) {
                    return 0;
                }
                for (size_t i = 0; i < vlen; i++) {
                    if (v[i] < '0' || v[i] > '9') {
                        return 0;
                    }
                    cl = cl * 10 + (uint64_t)(v[i] - '0');
                }
                has_cl = 1;
            }
            break;
        case 17:
            if (name_is(name, "transfer-encoding", 17)) {
                return 0;
            }
            break;
        default:
            break;
        }
    }
    if (minor == 1 && hosts == 0) {
        return 0; /* refused by the parser: let it say so */
    }
    *flags = (has_cl ? SW_HTTP_F_CONTENT_LENGTH : 0) |
             (expect && minor == 1 ? SW_HTTP_F_EXPECT_CONTINUE : 0);
    *clen = cl;
    return 1;
}

int sw__http_scan_head(const char *data, size_t h, uint32_t *flags, uint64_t *content_length)
{
    return scan_head(data, h, flags, content_length);
}

int sw__http_head_framing(const char *data, size_t h, uint32_t *flags, uint64_t *content_length)
{
    if (scan_head(data, h, flags, content_length)) {
        return 0;
    }
    sw_http_parser_options_t o;
    sw_http_parser_options_init(&o);
    o.max_head = (uint32_t)(h < 0x7fffffffu ? h : 0x7fffffffu);
    sw_http_header_t fields[SCAN_MAX_FIELDS];
    sw_http_parser_t hp;
    if (sw_http_parser_init(&hp, SW_HTTP_REQUEST, &o, fields, SCAN_MAX_FIELDS) < 0) {
        return SW_EINVAL;
    }
    /* The strict parser writes to its buffer only to unfold obs-fold (a lenient option that
     * is off) and to decode chunked bodies (the body is not parsed here): the head is only
     * read, so dropping const is safe. */
    int r = sw_http_parser_execute(&hp, (char *)(uintptr_t)data, h);
    if (r != SW_HTTP_HEAD_DONE) {
        return r < 0 ? r : SW_EINVAL;
    }
    *flags = hp.flags;
    *content_length = hp.content_length;
    return 0;
}
