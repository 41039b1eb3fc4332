/*
 * HTTP/1.x request framing (open_http_protocol): where one whole request ends in a byte
 * stream, without decoding or copying anything.
 *
 * The walk, resumable at any byte (its position and state live in the sw_framer_t):
 *   1. leading empty lines are skipped (RFC 9112 §2.2);
 *   2. the head ends at the first empty line (CRLF CRLF, or a bare LF line that the parser
 *      will then reject); memchr finds each line end, so a head arriving one byte at a time
 *      costs O(n);
 *   3. the head's framing fields (RFC 9112 §6) decide the body: Content-Length, chunked, or
 *      none; they come from a one-pass scan of clean heads (http_scan.c), or from the strict
 *      parser of swoole/http.h when the scan cannot be sure, with the same answer either way
 *      (fuzz_http_scan checks it); a transfer coding other than chunked (gzip...) cannot be
 *      framed here and the head alone is delivered (answered 501);
 *   4. a chunked body is walked chunk by chunk: size line (1..16 hex digits, then anything up
 *      to CR as extensions, the line bounded as the parser bounds it), data, CRLF, and after
 *      the last chunk the trailer lines up to the empty line.
 * The chunk walk accepts a superset of what the parser accepts (it does not check extension
 * or trailer syntax), so a request the parser accepts is always cut exactly where the parser
 * ends it; anything the walk refuses the parser refuses too. A request that cannot be framed
 * is delivered as far as it got (see swoole/protocol.h, "HTTP framing"): the server's parse of
 * that message finds the fault and answers it, which an error return could not do since the
 * server closes the connection on one.
 *
 * Pieces (http_piece_size, swoole/protocol.h "HTTP framing: pieces"): a long request is
 * returned in pieces; the walk keeps its place across them (`delivered`, `piece_end`, and its
 * positions moved back by each piece's length: piece_out).
 *
 * Bounds: nothing past package_max_length is examined; the head is bounded by
 * min(http_max_header_size, package_max_length).
 */
#include <string.h>

#include "protocol/protocol_int.h"
#include "swoole/http.h"

/* Walk states (sw_framer_t.state). 0 must be the start: sw_framer_init zeroes the state. */
enum {
    ST_LEAD = 0, /* skipping empty lines before the request line */
    ST_HEAD,     /* inside the head; `line` is the start of the current line */
    ST_BODY,     /* Content-Length body: `total` is the message's end */
    ST_CSIZE,    /* chunk-size digits; `remaining` accumulates the size */
    ST_CEXT,     /* chunk extensions, up to CR */
    ST_CSIZE_LF, /* LF after the chunk-size line */
    ST_CDATA,    /* chunk data: `remaining` bytes to skip */
    ST_CDATA_CR, /* CR after chunk data */
    ST_CDATA_LF, /* LF after chunk data */
    ST_TSTART,   /* start of a trailer line or of the final empty line */
    ST_TLINE,    /* inside a trailer line */
    ST_TEND_LF   /* LF of the final empty line */
};

/* The parser's default chunk-size line limit (sw_http_parser_options_init). */
#define CHUNK_LINE_MAX 1024

/* Returns the message's end (a whole request, or the last piece of one in pieces). */
static int deliver(sw_framer_t *st, size_t n, size_t *out)
{
    uint64_t examined = st->examined;
    uint8_t flags = (uint8_t)(st->flags & SW_FRAMER_UPGRADE);
    if (st->delivered > 0) {
        flags |= SW_FRAMER_PIECE;
    }
    *st = (sw_framer_t){0};
    st->examined = examined;
    st->flags = flags; /* says what the returned message is; cleared when the next starts */
    *out = n;
    return 1;
}

/* Returns data[0..n) as a piece with more to come, and moves the walk's positions so that
 * they count from the byte after it (the caller consumes the piece: the next call's `data`
 * starts there). `line` may be a position inside the piece (a chunk line cut in two): its
 * offset wraps around, and `i - line` in the walk stays right in unsigned arithmetic. */
static int piece_out(const sw_protocol_t *p, sw_framer_t *st, size_t n, size_t *out)
{
    st->delivered += n;
    st->scan -= n;
    st->line -= n;
    if (st->state == ST_BODY) {
        st->total -= n;
    }
    st->piece_end = p->http_piece_size;
    st->flags = (uint8_t)((st->flags & SW_FRAMER_CONTINUE) | SW_FRAMER_PIECE | SW_FRAMER_MORE);
    *out = n;
    return 1;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* The head is data[0..h): parse it and set up the body walk. Returns 1 (deliver *out), or 0
 * when the body continues past what is there (the state says where). */
static int head_done(const sw_protocol_t *p, sw_framer_t *st, const char *data, size_t len,
                     size_t h, size_t *out)
{
    /* The framing fields (http_scan.c): a one-pass scan for clean heads, else the strict
     * parser, with the same answer either way. */
    struct {
        uint32_t flags;
        uint64_t content_length;
    } hp;
    if (sw__http_head_framing(data, h, &hp.flags, &hp.content_length) < 0) {
        return deliver(st, h, out); /* the server's parse finds the same fault */
    }
    if (p->open_websocket_protocol && (hp.flags & SW_HTTP_F_UPGRADE)) {
        st->flags |= SW_FRAMER_UPGRADE;
    }
    /* Expect: 100-continue and none of the body here yet: the caller may answer "100
     * Continue" now (set once: head_done runs once per request). A body refused at once
     * (413) or already arriving needs no interim answer (RFC 9110 §10.1.1). */
    bool expect = (hp.flags & SW_HTTP_F_EXPECT_CONTINUE) != 0 && len == h;
    if (hp.flags & SW_HTTP_F_TE_CODINGS) {
        return deliver(st, h, out); /* a coding other than chunked: answered 501 at once */
    }
    /* Pieces (http_piece_size): the first one ends here, past the head by at least one body
     * byte. An upgrade request is never cut (its server holds the connection after it). */
    size_t first = 0;
    if (p->http_piece_size > 0 && !(st->flags & SW_FRAMER_UPGRADE)) {
        first = p->http_piece_size > h ? p->http_piece_size : h + 1;
    }
    if (hp.flags & SW_HTTP_F_CHUNKED) {
        st->state = ST_CSIZE;
        st->total = h;
        st->scan = h;
        st->line = h;
        st->remaining = 0;
        st->piece_end = first;
        if (expect) {
            st->flags |= SW_FRAMER_CONTINUE;
        }
        return 0;
    }
    if (!(hp.flags & SW_HTTP_F_CONTENT_LENGTH) || hp.content_length == 0) {
        return deliver(st, h, out);
    }
    if (hp.content_length > p->package_max_length - h) {
        return deliver(st, h, out); /* too large: the head alone, answered 413 */
    }
    size_t total = h + (size_t)hp.content_length;
    if (total <= len && (first == 0 || total <= first)) {
        return deliver(st, total, out);
    }
    st->state = ST_BODY;
    st->total = total;
    st->scan = h;
    st->piece_end = total > first ? first : 0;
    if (expect) {
        st->flags |= SW_FRAMER_CONTINUE;
    }
    return 0;
}

/* Steps 1 and 2: returns 1 with the head's length in *h, or 0 (need more / too large: the
 * caller looks at st->scan). */
static int find_head(sw_framer_t *st, const char *data, size_t lim, size_t *h)
{
    size_t i = st->scan;
    if (st->state == ST_LEAD) {
        while (i < lim && (data[i] == '\r' || data[i] == '\n')) {
            i++;
        }
        if (i < lim) {
            st->state = ST_HEAD;
            st->line = i;
        }
    }
    if (st->state == ST_HEAD) {
        while (i < lim) {
            const char *nl = memchr(data + i, '\n', lim - i);
            if (!nl) {
                i = lim;
                break;
            }
            size_t k = (size_t)(nl - data);
            size_t ll = k - st->line;
            if (ll == 0 || (ll == 1 && data[st->line] == '\r')) {
                st->examined += k + 1 - st->scan;
                *h = k + 1;
                return 1;
            }
            st->line = k + 1;
            i = k + 1;
        }
    }
    st->examined += i - st->scan;
    st->scan = i;
    return 0;
}

/* Step 4 over data[st->scan .. avail). Returns 1 (deliver *out), or 0 with st->scan == avail. */
static int walk_chunks(sw_framer_t *st, const char *data, size_t avail, size_t *out)
{
    size_t i = st->scan;
    while (i < avail) {
        unsigned char c = (unsigned char)data[i];
        switch (st->state) {
        case ST_CSIZE: {
            int v = hexval(c);
            size_t digits = i - st->line;
            if (v >= 0) {
                if (digits >= 16) {
                    return deliver(st, i + 1, out);
                }
                st->remaining = st->remaining << 4 | (uint64_t)v;
                i++;
                continue;
            }
            if (digits == 0 || (c != ';' && c != ' ' && c != '\t' && c != '\r')) {
                return deliver(st, i + 1, out);
            }
            st->state = c == '\r' ? ST_CSIZE_LF : ST_CEXT;
            break;
        }
        case ST_CEXT:
            if (c == '\n') {
                return deliver(st, i + 1, out);
            }
            if (c == '\r') {
                st->state = ST_CSIZE_LF;
            }
            break;
        case ST_CSIZE_LF:
            if (c != '\n') {
                return deliver(st, i + 1, out);
            }
            st->state = st->remaining ? ST_CDATA : ST_TSTART;
            break;
        case ST_CDATA: {
            uint64_t n = avail - i;
            if (n > st->remaining) {
                n = st->remaining;
            }
            i += (size_t)n;
            st->remaining -= n;
            if (st->remaining == 0) {
                st->state = ST_CDATA_CR;
            }
            continue;
        }
        case ST_CDATA_CR:
            if (c != '\r') {
                return deliver(st, i + 1, out);
            }
            st->state = ST_CDATA_LF;
            break;
        case ST_CDATA_LF:
            if (c != '\n') {
                return deliver(st, i + 1, out);
            }
            st->state = ST_CSIZE;
            st->line = i + 1;
            st->remaining = 0;
            break;
        case ST_TSTART:
            if (c == '\n') {
                return deliver(st, i + 1, out);
            }
            st->state = c == '\r' ? ST_TEND_LF : ST_TLINE;
            break;
        case ST_TLINE: {
            const char *nl = memchr(data + i, '\n', avail - i);
            if (!nl) {
                i = avail;
                continue;
            }
            i = (size_t)(nl - data);
            st->state = ST_TSTART;
            break;
        }
        case ST_TEND_LF:
            return deliver(st, i + 1, out);
        default:
            return deliver(st, i + 1, out);
        }
        i++;
        /* The chunk-size line is bounded as the parser bounds it. */
        if ((st->state == ST_CSIZE || st->state == ST_CEXT) && i - st->line > CHUNK_LINE_MAX) {
            return deliver(st, i, out);
        }
    }
    st->scan = i;
    return 0;
}

int sw__protocol_next_http(const sw_protocol_t *p, sw_framer_t *st, const char *data, size_t len,
                           size_t *out)
{
    size_t max = p->package_max_length;
    size_t avail = len < max ? len : max;
    if (st->state == ST_LEAD && st->scan == 0) {
        st->flags = 0; /* a new message: the last one's SW_FRAMER_UPGRADE no longer applies */
    }
    if (st->state <= ST_HEAD) {
        size_t hmax = p->http_max_header_size < max ? p->http_max_header_size : max;
        size_t lim = avail < hmax ? avail : hmax;
        size_t h;
        if (!find_head(st, data, lim, &h)) {
            if (st->scan >= hmax) {
                return deliver(st, hmax, out); /* no end of head in time: 431 */
            }
            *out = len + 1;
            return 0;
        }
        if (head_done(p, st, data, len, h, out)) {
            return 1;
        }
    }
    if (st->state == ST_BODY) {
        /* `total` is the request's end; in pieces, the current piece ends first. */
        size_t end = st->piece_end && st->piece_end < st->total ? st->piece_end : st->total;
        if (len < end) {
            *out = end;
            return 0;
        }
        return end == st->total ? deliver(st, end, out) : piece_out(p, st, end, out);
    }
    /* A chunked body: walked up to package_max_length of the whole request (`room` from
     * `data`, after the pieces already returned) and, in pieces, to the current piece's end. */
    size_t room = max - (size_t)st->delivered;
    size_t bound = len < room ? len : room;
    if (st->piece_end && st->piece_end < bound) {
        bound = st->piece_end;
    }
    if (walk_chunks(st, data, bound, out)) {
        return 1;
    }
    if (bound == room) {
        return deliver(st, room, out); /* a chunked body past the limit: 413 */
    }
    if (st->piece_end && bound == st->piece_end) {
        return piece_out(p, st, bound, out);
    }
    *out = st->piece_end ? st->piece_end : len + 1;
    return 0;
}
