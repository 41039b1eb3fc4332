/*
 * Data-driven tests of the HTTP parser: the vector files in tests/data/http/.
 *
 * File format (one file per area; written for this project from RFC 9110/9112 and from the
 * behaviour that llhttp, http-parser and picohttpparser document in their tests):
 *
 *     # a comment
 *     === name of the case
 *     type request | response         (default request)
 *     lenient lf | fold | lf,fold     (SW_HTTP_LENIENT_* bits)
 *     method HEAD                     (responses: the method of the request answered)
 *     max_head N / max_start_line N / max_headers N / max_body N / max_chunk_line N
 *     finish                          (after the input, the peer closes: sw_http_parser_finish)
 *     < input bytes with escapes \r \n \t \0 \\ \xHH and {{N:c}} for c repeated N times;
 *     < the lines are concatenated without any separator
 *     > expected event log, one line each (see log_* below)
 *
 * Every case runs, for every scanner the CPU has (scalar, SSE4.2, AVX2), in two body modes
 * (whole message decoded in place; streaming windows) and three feeding schedules: all at
 * once, split in two at every byte position, and one byte at a time. Between calls the bytes
 * are moved to a new address, and the bytes given to the parser always end right before a
 * PROT_NONE page. Every run must produce exactly the expected log.
 *
 * SW_HTTP_VECTORS_PRINT=1 prints the logs of the whole-input runs instead of comparing them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swoole/http.h"
#include "sw_test.h"
#include "test_http_util.h"

/* ------------------------------------------------------------------------------------------ */
/* Vectors. */

typedef struct {
    char name[160];
    int line;
    int type;
    sw_http_parser_options_t opts;
    int req_method;
    int finish;
    sb_t input;
    sb_t expect;
} vec_t;

static void vec_reset(vec_t *v)
{
    free(v->input.s);
    free(v->expect.s);
    memset(v, 0, sizeof(*v));
    v->type = SW_HTTP_REQUEST;
    v->req_method = SW_HTTP_METHOD_GET;
    sw_http_parser_options_init(&v->opts);
}

static unsigned long long number(const char *s, const char *file, int line)
{
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    if (end == s) {
        sw_test_fail(file, line, "expected a number: %s", s);
    }
    return n;
}

/* Applies a directive line of a case. */
static void directive(vec_t *v, const char *l, const char *file, int line)
{
    if (strncmp(l, "type ", 5) == 0) {
        v->type = strcmp(l + 5, "response") == 0 ? SW_HTTP_RESPONSE : SW_HTTP_REQUEST;
    } else if (strncmp(l, "lenient ", 8) == 0) {
        if (strstr(l + 8, "lf")) {
            v->opts.lenient |= SW_HTTP_LENIENT_BARE_LF;
        }
        if (strstr(l + 8, "fold")) {
            v->opts.lenient |= SW_HTTP_LENIENT_OBS_FOLD;
        }
    } else if (strncmp(l, "method ", 7) == 0) {
        v->req_method = SW_HTTP_METHOD_OTHER;
        for (int m = 1; m <= SW_HTTP_METHOD_PATCH; m++) {
            if (strcmp(sw_http_method_name((sw_http_method_t)m), l + 7) == 0) {
                v->req_method = m;
            }
        }
    } else if (strncmp(l, "max_head ", 9) == 0) {
        v->opts.max_head = (uint32_t)number(l + 9, file, line);
    } else if (strncmp(l, "max_start_line ", 15) == 0) {
        v->opts.max_start_line = (uint32_t)number(l + 15, file, line);
    } else if (strncmp(l, "max_headers ", 12) == 0) {
        v->opts.max_headers = (uint32_t)number(l + 12, file, line);
    } else if (strncmp(l, "max_body ", 9) == 0) {
        v->opts.max_body = number(l + 9, file, line);
    } else if (strncmp(l, "max_chunk_line ", 15) == 0) {
        v->opts.max_chunk_line = (uint32_t)number(l + 15, file, line);
    } else if (strcmp(l, "finish") == 0) {
        v->finish = 1;
    } else {
        sw_test_fail(file, line, "unknown directive: %s", l);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Running a case. */

static const char *const flag_names[] = {
    "keep-alive", "content-length",  "chunked",      "until-close", "upgrade",
    "connect",    "expect-continue", "expect-other", "te-codings",  "trailers",
    "conn-close", "conn-keep-alive", "conn-upgrade", "has-upgrade", "no-body",
};

static void log_head(sb_t *log, const sw_http_parser_t *p, const char *buf)
{
    if (p->type == SW_HTTP_REQUEST) {
        sb_add(log, "request ", 8);
        sb_add(log, buf + p->method_str.off, p->method_str.len);
        sb_add(log, " ", 1);
        sb_quote(log, buf + p->target.off, p->target.len);
    } else {
        sb_printf(log, "response %u ", p->status);
        sb_quote(log, buf + p->reason.off, p->reason.len);
    }
    sb_printf(log, " 1.%u\n", p->version_minor);
    for (uint32_t i = 0; i < p->num_headers; i++) {
        const sw_http_header_t *h = &p->headers[i];
        sb_add(log, "header ", 7);
        sb_quote(log, buf + h->name.off, h->name.len);
        sb_add(log, " ", 1);
        sb_quote(log, buf + h->value.off, h->value.len);
        sb_add(log, "\n", 1);
    }
    sb_add(log, "flags", 5);
    const char *sep = " ";
    for (size_t b = 0; b < sizeof(flag_names) / sizeof(flag_names[0]); b++) {
        if (p->flags & (1u << b)) {
            sb_printf(log, "%s%s", sep, flag_names[b]);
            sep = ",";
        }
    }
    sb_add(log, "\n", 1);
    if (p->flags & SW_HTTP_F_CONTENT_LENGTH) {
        sb_printf(log, "length %llu\n", (unsigned long long)p->content_length);
    }
}

/* `tbuf`: where trailer spans point (message start); `body`: the decoded body. */
static void log_done(sb_t *log, const sw_http_parser_t *p, const char *tbuf, const char *body,
                     size_t body_len)
{
    for (uint32_t i = 0; i < p->num_trailers; i++) {
        const sw_http_header_t *h = &p->headers[p->num_headers + i];
        sb_add(log, "trailer ", 8);
        sb_quote(log, tbuf + h->name.off, h->name.len);
        sb_add(log, " ", 1);
        sb_quote(log, tbuf + h->value.off, h->value.len);
        sb_add(log, "\n", 1);
    }
    ASSERT_UEQ(body_len, p->body_len);
    if (body_len > 0) {
        sb_add(log, "body ", 5);
        sb_quote(log, body, body_len);
        sb_add(log, "\n", 1);
    }
    sb_printf(log, "done %llu\n", (unsigned long long)p->consumed);
}

static void log_error(sb_t *log, const sw_http_parser_t *p, int r)
{
    ASSERT_EQ(r, p->error);
    ASSERT_NOT_NULL(p->error_reason);
    sb_printf(log, "error %s at %llu\n", sw_err_name(r), (unsigned long long)p->error_offset);
}

/*
 * Runs `v` feeding the input up to each of `cuts` in turn (the last cut is the input's
 * length). streaming: bodies through sw_http_parser_body() instead of in-place decoding.
 */
static void run(const vec_t *v, int simd, int streaming, const size_t *cuts, size_t ncuts,
                guard_arena_t *g, sb_t *log)
{
    const char *in = v->input.s ? v->input.s : "";
    const size_t n = v->input.len;
    sw_http_header_t headers[128];
    sw_http_parser_t p;
    sw_http_parser_options_t o = v->opts;
    o.simd = simd;
    memset(&p, 0, sizeof(p));
    ASSERT_OK(sw_http_parser_init(&p, (sw_http_type_t)v->type, &o, headers, 128));
    sw_http_parser_set_request_method(&p, (sw_http_method_t)v->req_method);

    size_t mstart = 0, avail = 0;
    char *buf = g->guard;
    int body_phase = 0; /* streaming and past the head */
    sb_t body = {0};
    int r;

    for (size_t ci = 0; ci < ncuts; ci++) {
        size_t cut = cuts[ci];
        if (!body_phase) {
            /* Move what the parser has seen (perhaps modified in place) and add new bytes. */
            size_t na = cut - mstart;
            char *nb = g->guard - na;
            memmove(nb, buf, avail);
            memcpy(nb + avail, in + mstart + avail, na - avail);
            buf = nb;
            avail = na;
        }
        for (;;) {
            if (body_phase) {
                size_t from = mstart + (size_t)p.consumed;
                size_t wlen = cut - from;
                char *w = guard_place(g, in + from, wlen);
                sw_http_piece_t pc;
                r = sw_http_parser_body(&p, w, wlen, &pc);
                if (r < 0) {
                    log_error(log, &p, r);
                    goto out;
                }
                ASSERT_ULE(pc.consumed, wlen);
                ASSERT_ULE(pc.data_off + pc.data_len, pc.consumed);
                sb_add(&body, w + pc.data_off, pc.data_len);
                if (r == SW_HTTP_PARTIAL) {
                    ASSERT_TRUE(pc.consumed > 0 || wlen == 0);
                    if (pc.consumed == wlen) {
                        break;
                    }
                    continue;
                }
                log_done(log, &p, in + mstart, body.s, body.len);
                body.len = 0;
                if (p.flags & (SW_HTTP_F_UPGRADE | SW_HTTP_F_CONNECT)) {
                    sb_printf(log, "tunnel %zu\n", n - mstart - (size_t)p.consumed);
                    goto out;
                }
                mstart += (size_t)p.consumed;
                body_phase = 0;
                sw_http_parser_reset(&p);
                sw_http_parser_set_request_method(&p, (sw_http_method_t)v->req_method);
                avail = cut - mstart;
                buf = guard_place(g, in + mstart, avail);
                continue;
            }
            r = sw_http_parser_execute(&p, buf, avail);
            if (r < 0) {
                log_error(log, &p, r);
                goto out;
            }
            if (r == SW_HTTP_PARTIAL) {
                break;
            }
            if (r == SW_HTTP_HEAD_DONE) {
                ASSERT_UEQ(p.consumed, p.head_len);
                log_head(log, &p, buf);
                if (streaming) {
                    body_phase = 1;
                }
                continue;
            }
            ASSERT_EQ(r, SW_HTTP_MESSAGE_DONE);
            log_done(log, &p, buf, buf + p.head_len, (size_t)p.body_len);
            if (p.flags & (SW_HTTP_F_UPGRADE | SW_HTTP_F_CONNECT)) {
                sb_printf(log, "tunnel %zu\n", n - mstart - (size_t)p.consumed);
                goto out;
            }
            /* The next message starts right after this one; its bytes were not touched. */
            mstart += (size_t)p.consumed;
            buf += p.consumed;
            avail -= (size_t)p.consumed;
            sw_http_parser_reset(&p);
            sw_http_parser_set_request_method(&p, (sw_http_method_t)v->req_method);
        }
    }
    if (v->finish) {
        r = sw_http_parser_finish(&p);
        if (r < 0) {
            log_error(log, &p, r);
        } else if (r == SW_HTTP_MESSAGE_DONE) {
            if (body_phase) {
                log_done(log, &p, in + mstart, body.s, body.len);
            } else {
                log_done(log, &p, buf, buf + p.head_len, (size_t)p.body_len);
            }
        } else {
            sb_add(log, "closed\n", 7);
        }
    } else if (body_phase || p.state_ != 0 || avail > 0) {
        sb_add(log, "partial\n", 8);
    }
out:
    free(body.s);
}

/* ------------------------------------------------------------------------------------------ */

static int print_mode(void)
{
    const char *e = getenv("SW_HTTP_VECTORS_PRINT");
    return e && *e == '1';
}

static void check_case(const vec_t *v, const char *file)
{
    static const int levels[] = {SW_HTTP_SIMD_SCALAR, SW_HTTP_SIMD_SSE42, SW_HTTP_SIMD_AVX2};
    const size_t n = v->input.len;
    const char *want = v->expect.s ? v->expect.s : "";
    guard_arena_t g;
    guard_open(&g, n + 1);
    size_t *cuts = malloc((n + 1) * sizeof(size_t));
    ASSERT_NOT_NULL(cuts);

    if (print_mode()) {
        sb_t log = {0};
        cuts[0] = n;
        run(v, SW_HTTP_SIMD_SCALAR, 0, cuts, 1, &g, &log);
        printf("=== %s (%s:%d)\n%s", v->name, file, v->line, log.s ? log.s : "");
        free(log.s);
    } else {
        for (size_t li = 0; li < sizeof(levels) / sizeof(levels[0]); li++) {
            sw_http_parser_t probe;
            sw_http_parser_options_t o;
            sw_http_parser_options_init(&o);
            o.simd = levels[li];
            if (sw_http_parser_init(&probe, SW_HTTP_REQUEST, &o, NULL, 0) == SW_ENOTSUP) {
                continue;
            }
            for (int streaming = 0; streaming < 2; streaming++) {
                /* schedule 0: whole; 1: split at k; 2: byte by byte */
                for (int sched = 0; sched < 3; sched++) {
                    size_t reps = sched == 1 ? n + 1 : 1;
                    for (size_t k = 0; k < reps; k++) {
                        size_t nc = 0;
                        if (sched == 0) {
                            cuts[nc++] = n;
                        } else if (sched == 1) {
                            cuts[nc++] = k;
                            if (k < n) {
                                cuts[nc++] = n;
                            }
                        } else {
                            for (size_t c = 1; c <= n; c++) {
                                cuts[nc++] = c;
                            }
                            if (n == 0) {
                                cuts[nc++] = 0;
                            }
                        }
                        sb_t log = {0};
                        run(v, levels[li], streaming, cuts, nc, &g, &log);
                        const char *got = log.s ? log.s : "";
                        if (strcmp(got, want) != 0) {
                            sw_test_fail(file, v->line,
                                         "case \"%s\" (simd %d, %s, schedule %d, split %zu):\n"
                                         "--- want\n%s--- got\n%s",
                                         v->name, levels[li], streaming ? "streaming" : "whole",
                                         sched, k, want, got);
                        }
                        free(log.s);
                    }
                }
            }
        }
    }
    free(cuts);
    guard_close(&g);
}

/* Converts a generic case into a parser case and checks it. */
static void parser_case(const hvec_t *h, const char *path)
{
    vec_t v;
    memset(&v, 0, sizeof(v));
    vec_reset(&v);
    snprintf(v.name, sizeof(v.name), "%s", h->name);
    v.line = h->line;
    for (int i = 0; i < h->ndirectives; i++) {
        directive(&v, h->directive[i], path, h->line);
    }
    v.input = h->input;
    v.expect = h->expect;
    check_case(&v, path);
}

static int run_file(const char *name)
{
    return hvec_run_file(name, parser_case);
}

SW_TEST_TIMEOUT(http_vectors_request, 120)
{
    run_file("request.txt");
}

SW_TEST_TIMEOUT(http_vectors_response, 120)
{
    run_file("response.txt");
}

SW_TEST_TIMEOUT(http_vectors_chunked, 120)
{
    run_file("chunked.txt");
}

SW_TEST_TIMEOUT(http_vectors_lenient, 120)
{
    run_file("lenient.txt");
}

SW_TEST_TIMEOUT(http_vectors_limits, 120)
{
    run_file("limits.txt");
}

/* The smuggling set: at least 40 requests, each rejected or parsed to one defined request. */
SW_TEST_TIMEOUT(http_vectors_smuggling, 120)
{
    ASSERT_GE(run_file("smuggling.txt"), 40);
}
