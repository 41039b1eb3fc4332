/*
 * Shared harness of the HTTP fuzz targets: runs the parser over an input with a given feeding
 * schedule and body mode, and writes everything it reports into a byte log, so that two runs
 * (whole vs split, in place vs streaming, scalar vs SIMD) can be compared byte for byte.
 * Every buffer handed to the parser is a heap block of exactly the bytes it may read, so
 * AddressSanitizer catches any read past them; between calls the bytes move to a new block.
 */
#ifndef SW_FUZZ_HTTP_COMMON_H
#define SW_FUZZ_HTTP_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swoole/error.h"
#include "swoole/http.h"

typedef struct {
    uint8_t *p;
    size_t len, cap;
} fz_log_t;

static inline void fz_put(fz_log_t *l, const void *d, size_t n)
{
    if (l->len + n > l->cap) {
        size_t cap = (l->len + n) * 2 + 64;
        uint8_t *np = realloc(l->p, cap);
        if (!np) {
            abort();
        }
        l->p = np;
        l->cap = cap;
    }
    if (n) {
        memcpy(l->p + l->len, d, n);
    }
    l->len += n;
}

static inline void fz_u64(fz_log_t *l, uint64_t v)
{
    fz_put(l, &v, sizeof(v));
}

static inline void fz_bytes(fz_log_t *l, const char *d, size_t n)
{
    fz_u64(l, n);
    fz_put(l, d, n);
}

static inline void fz_check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz invariant failed: %s\n", what);
        abort();
    }
}

static inline void fz_head(fz_log_t *l, const sw_http_parser_t *p, const char *buf, size_t len)
{
    fz_u64(l, 0x4845414400000000ull);
    fz_check(p->head_len <= len && p->consumed == p->head_len, "head length");
    if (p->type == SW_HTTP_REQUEST) {
        fz_check((uint64_t)p->target.off + p->target.len <= p->head_len, "target span");
        fz_bytes(l, buf + p->method_str.off, p->method_str.len);
        fz_bytes(l, buf + p->target.off, p->target.len);
        fz_u64(l, p->method);
    } else {
        fz_check((uint64_t)p->reason.off + p->reason.len <= p->head_len, "reason span");
        fz_u64(l, p->status);
        fz_bytes(l, buf + p->reason.off, p->reason.len);
    }
    fz_u64(l, p->version_minor);
    fz_u64(l, p->flags);
    fz_u64(l, p->content_length);
    for (uint32_t i = 0; i < p->num_headers; i++) {
        const sw_http_header_t *h = &p->headers[i];
        fz_check((uint64_t)h->name.off + h->name.len <= p->head_len, "name span");
        fz_check((uint64_t)h->value.off + h->value.len <= p->head_len, "value span");
        fz_bytes(l, buf + h->name.off, h->name.len);
        fz_bytes(l, buf + h->value.off, h->value.len);
    }
}

static inline void fz_done(fz_log_t *l, const sw_http_parser_t *p, const char *tbuf, size_t tlen,
                           const char *body, size_t body_len)
{
    fz_u64(l, 0x444f4e4500000000ull);
    fz_check(p->body_len == body_len, "body length");
    fz_check(p->consumed <= tlen, "consumed");
    for (uint32_t i = 0; i < p->num_trailers; i++) {
        const sw_http_header_t *h = &p->headers[p->num_headers + i];
        fz_check((uint64_t)h->value.off + h->value.len <= p->consumed, "trailer span");
        fz_bytes(l, tbuf + h->name.off, h->name.len);
        fz_bytes(l, tbuf + h->value.off, h->value.len);
    }
    fz_bytes(l, body, body_len);
    fz_u64(l, p->consumed);
}

static inline void fz_error(fz_log_t *l, const sw_http_parser_t *p, int r)
{
    fz_check(r == p->error && p->error_reason != NULL, "sticky error");
    fz_u64(l, 0x4552520000000000ull);
    fz_u64(l, (uint64_t)(int64_t)r);
    fz_u64(l, p->error_offset);
}

/* A heap copy of exactly `n` bytes (never a zero-size allocation). */
static inline char *fz_block(const char *d, size_t n)
{
    char *b = malloc(n ? n : 1);
    if (!b) {
        abort();
    }
    if (n && d) {
        memcpy(b, d, n);
    }
    return b;
}

/*
 * Parses `in` (n bytes) as a stream of messages, fed up to each cut in turn (the last cut is
 * n). streaming: bodies through sw_http_parser_body(). finish: the peer closes at the end.
 */
static inline void fz_run(int type, const sw_http_parser_options_t *o, int req_method,
                          const char *in, size_t n, const size_t *cuts, size_t ncuts, int streaming,
                          int finish, fz_log_t *l)
{
    sw_http_header_t headers[64];
    sw_http_parser_t p;
    memset(&p, 0, sizeof(p));
    if (sw_http_parser_init(&p, (sw_http_type_t)type, o, headers, 64) != 0) {
        abort();
    }
    sw_http_parser_set_request_method(&p, (sw_http_method_t)req_method);
    size_t mstart = 0, avail = 0;
    char *buf = fz_block(NULL, 0);
    char *acc = NULL; /* streamed body */
    size_t acc_len = 0;
    int body_phase = 0, r;
    for (size_t ci = 0; ci < ncuts; ci++) {
        size_t cut = cuts[ci];
        if (!body_phase) {
            size_t na = cut - mstart;
            char *nb = fz_block(NULL, na);
            memcpy(nb, buf, avail);
            memcpy(nb + avail, in + mstart + avail, na - avail);
            free(buf);
            buf = nb;
            avail = na;
        }
        for (;;) {
            if (body_phase) {
                size_t from = mstart + (size_t)p.consumed;
                char *w = fz_block(in + from, cut - from);
                sw_http_piece_t pc;
                r = sw_http_parser_body(&p, w, cut - from, &pc);
                if (r < 0) {
                    free(w);
                    fz_error(l, &p, r);
                    goto out;
                }
                fz_check(pc.consumed <= cut - from && pc.data_off + pc.data_len <= pc.consumed,
                         "piece bounds");
                if (pc.data_len) {
                    char *na = realloc(acc, acc_len + pc.data_len);
                    if (!na) {
                        abort();
                    }
                    acc = na;
                    memcpy(acc + acc_len, w + pc.data_off, pc.data_len);
                    acc_len += pc.data_len;
                }
                free(w);
                if (r == SW_HTTP_PARTIAL) {
                    fz_check(pc.consumed > 0 || cut == from, "progress");
                    if (pc.consumed == cut - from) {
                        break;
                    }
                    continue;
                }
                fz_done(l, &p, in + mstart, n - mstart, acc, acc_len);
                acc_len = 0;
                if (p.flags & (SW_HTTP_F_UPGRADE | SW_HTTP_F_CONNECT)) {
                    goto out;
                }
                mstart += (size_t)p.consumed;
                body_phase = 0;
                sw_http_parser_reset(&p);
                sw_http_parser_set_request_method(&p, (sw_http_method_t)req_method);
                free(buf);
                avail = cut - mstart;
                buf = fz_block(in + mstart, avail);
                continue;
            }
            r = sw_http_parser_execute(&p, buf, avail);
            if (r < 0) {
                fz_error(l, &p, r);
                goto out;
            }
            if (r == SW_HTTP_PARTIAL) {
                break;
            }
            if (r == SW_HTTP_HEAD_DONE) {
                fz_head(l, &p, buf, avail);
                body_phase = streaming;
                continue;
            }
            fz_done(l, &p, buf, avail, buf + p.head_len, (size_t)p.body_len);
            if (p.flags & (SW_HTTP_F_UPGRADE | SW_HTTP_F_CONNECT)) {
                goto out;
            }
            mstart += (size_t)p.consumed;
            avail -= (size_t)p.consumed;
            char *nb = fz_block(buf + p.consumed, avail);
            free(buf);
            buf = nb;
            sw_http_parser_reset(&p);
            sw_http_parser_set_request_method(&p, (sw_http_method_t)req_method);
        }
    }
    if (finish) {
        r = sw_http_parser_finish(&p);
        if (r < 0) {
            fz_error(l, &p, r);
        } else if (r == SW_HTTP_MESSAGE_DONE) {
            if (body_phase) {
                fz_done(l, &p, in + mstart, n - mstart, acc, acc_len);
            } else {
                fz_done(l, &p, buf, avail, buf + p.head_len, (size_t)p.body_len);
            }
        }
    }
out:
    free(acc);
    free(buf);
}

/* Compares two logs and aborts with a message if they differ. */
static inline void fz_same(const fz_log_t *a, const fz_log_t *b, const char *what)
{
    if (a->len != b->len || (a->len && memcmp(a->p, b->p, a->len) != 0)) {
        fprintf(stderr, "fuzz: %s differ (%zu vs %zu bytes of log)\n", what, a->len, b->len);
        abort();
    }
}

/* Runs `in` whole, split at `split`, and (if small) byte by byte, in both body modes; every
 * log must equal the first. */
static inline void fz_all_schedules(int type, const sw_http_parser_options_t *o, int req_method,
                                    const char *in, size_t n, size_t split, int finish)
{
    size_t *cuts = malloc((n + 2) * sizeof(size_t));
    if (!cuts) {
        abort();
    }
    fz_log_t ref = {0};
    cuts[0] = n;
    fz_run(type, o, req_method, in, n, cuts, 1, 0, finish, &ref);
    for (int streaming = 0; streaming < 2; streaming++) {
        for (int sched = streaming ? 0 : 1; sched < 3; sched++) {
            size_t nc = 0;
            if (sched == 0) {
                cuts[nc++] = n;
            } else if (sched == 1) {
                cuts[nc++] = split % (n + 1);
                cuts[nc++] = n;
            } else {
                if (n > 512) {
                    continue;
                }
                for (size_t c = 1; c <= n; c++) {
                    cuts[nc++] = c;
                }
                if (n == 0) {
                    cuts[nc++] = 0;
                }
            }
            fz_log_t got = {0};
            fz_run(type, o, req_method, in, n, cuts, nc, streaming, finish, &got);
            fz_same(&ref, &got, streaming ? "streaming and whole logs" : "split and whole logs");
            free(got.p);
        }
    }
    free(ref.p);
    free(cuts);
}

#endif
