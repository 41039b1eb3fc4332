/*
 * Data-driven WebSocket tests: the vector files in tests/data/websocket/ (written for this
 * project from RFC 6455, RFC 7692, RFC 3629 and the published descriptions of the Autobahn
 * test suite's cases). Every frame vector runs
 *   - whole, once with each unmasking kernel the CPU has,
 *   - split in two at every byte position (sampled for inputs over 2 KiB),
 *   - one byte per call, and in pseudo-random pieces,
 * with each piece copied right before a PROT_NONE page, so that reading (or writing) past the
 * input faults. All runs must give the same events and the same error at the same offset.
 *
 * Frame file syntax (one directive per line, '#' comments):
 *     case <name>                       starts a case
 *     role server|client                default server
 *     mode message|frame                default message
 *     max <bytes>                       max_message_size (default 1 MiB here)
 *     reject text|binary
 *     deflate [k[=v] ...]               enable permessage-deflate with these parameters
 *     in <bytes>                        input (lines are concatenated)
 *     text|binary <bytes>               expected MESSAGE; ztext/zbinary: arrived compressed
 *     ping|pong <bytes>                 expected control events
 *     close <code> [<bytes>]            expected CLOSE
 *     frame text|binary [cont] [fin] <len>   expected FRAME (frame mode)
 *     data <bytes>                      expected payload of one frame (DATA events joined)
 *     error <ERR> <close> <DETAIL> [at <offset>]   expected error, last
 *
 * UTF-8 files: "valid <bytes>", "invalid <bytes> at <n>", "truncated <bytes>".
 * Handshake files: see handshake.txt.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sw_test.h"
#include "swoole/websocket.h"
#include "websocket/ws_int.h"
#include "test_websocket_util.h"

#define MAX_EXP 96

enum { EXP_ERROR = 100 };

typedef struct {
    int type; /* SW_WS_EVENT_* or EXP_ERROR */
    unsigned opcode;
    bool compressed, cont, fin;
    uint64_t frame_len;
    unsigned close_code;
    ws_bytes_t payload;
    int err, close, detail;
    long at; /* -1: not checked */
} exp_t;

typedef struct {
    char name[160];
    int line;
    sw_ws_decoder_options_t opts;
    bool deflate;
    sw_ws_deflate_params_t dp;
    ws_bytes_t input;
    exp_t exp[MAX_EXP];
    size_t nexp;
} fcase_t;

static void case_free(fcase_t *c)
{
    ws_bytes_free(&c->input);
    for (size_t i = 0; i < c->nexp; i++) {
        ws_bytes_free(&c->exp[i].payload);
    }
    c->nexp = 0;
}

/* ---- recording what the decoder does --------------------------------------------------------- */

typedef struct {
    exp_t ev[MAX_EXP + 1];
    size_t n;
    bool open_data; /* last recorded DATA has not reached frame_end */
    long total;     /* bytes consumed so far */
    bool failed;
} rec_t;

static void rec_free(rec_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        ws_bytes_free(&r->ev[i].payload);
    }
    memset(r, 0, sizeof(*r));
}

static exp_t *rec_new(rec_t *r, const fcase_t *c, const char *how)
{
    if (r->n == MAX_EXP + 1) {
        sw_test_fail(__FILE__, __LINE__, "case '%s' (line %d, %s): too many events", c->name,
                     c->line, how);
    }
    exp_t *e = &r->ev[r->n++];
    memset(e, 0, sizeof(*e));
    return e;
}

static void record(rec_t *r, const fcase_t *c, const char *how, const sw_ws_event_t *ev)
{
    if (ev->type == SW_WS_EVENT_DATA && r->open_data) {
        exp_t *e = &r->ev[r->n - 1];
        ws_bytes_put(&e->payload, ev->data, ev->len);
        r->open_data = !ev->frame_end;
        return;
    }
    exp_t *e = rec_new(r, c, how);
    e->type = ev->type;
    e->opcode = ev->opcode;
    e->compressed = ev->compressed;
    e->cont = ev->continuation;
    e->fin = ev->fin;
    e->frame_len = ev->frame_length;
    e->close_code = ev->close_code;
    ws_bytes_put(&e->payload, ev->data, ev->len);
    if (ev->type == SW_WS_EVENT_DATA) {
        r->open_data = !ev->frame_end;
    }
}

/* Feeds data[0..n) (already placed in its final memory) until the decoder wants more. */
static void feed(sw_ws_decoder_t *d, uint8_t *data, size_t n, rec_t *r, const fcase_t *c,
                 const char *how)
{
    int guard = 0;
    uint8_t none = 0;
    if (!data) {
        data = &none; /* no arithmetic on NULL */
    }
    while (!r->failed) {
        size_t used = 0;
        sw_ws_event_t ev;
        int rc = sw_ws_decoder_execute(d, data, n, &used, &ev);
        if (used > n) {
            sw_test_fail(__FILE__, __LINE__, "case '%s': consumed %zu of %zu", c->name, used, n);
        }
        r->total += (long)used;
        data += used;
        n -= used;
        if (rc < 0) {
            /* Pieces of a frame that the error cut short are not compared. */
            if (r->open_data) {
                ws_bytes_free(&r->ev[--r->n].payload);
                r->open_data = false;
            }
            exp_t *e = rec_new(r, c, how);
            e->type = EXP_ERROR;
            e->err = rc;
            e->close = sw_ws_decoder_close_code(d);
            e->detail = sw_ws_decoder_detail(d);
            e->at = r->total;
            r->failed = true;
            /* Sticky: a second call fails the same way and consumes nothing. */
            ASSERT_EQ(sw_ws_decoder_execute(d, data, n, &used, &ev), rc);
            ASSERT_UEQ(used, 0);
            ASSERT_EQ(sw_ws_decoder_error(d), rc);
            return;
        }
        if (rc == SW_WS_EVENT_NONE) {
            if (n != 0) {
                sw_test_fail(__FILE__, __LINE__, "case '%s' (%s): NONE with %zu bytes left",
                             c->name, how, n);
            }
            return;
        }
        record(r, c, how, &ev);
        if (++guard > 100000) {
            sw_test_fail(__FILE__, __LINE__, "case '%s': no progress", c->name);
        }
    }
}

static const char *type_name(int t)
{
    switch (t) {
    case SW_WS_EVENT_MESSAGE:
        return "MESSAGE";
    case SW_WS_EVENT_PING:
        return "PING";
    case SW_WS_EVENT_PONG:
        return "PONG";
    case SW_WS_EVENT_CLOSE:
        return "CLOSE";
    case SW_WS_EVENT_FRAME:
        return "FRAME";
    case SW_WS_EVENT_DATA:
        return "DATA";
    case EXP_ERROR:
        return "ERROR";
    default:
        return "?";
    }
}

static void compare(const fcase_t *c, const rec_t *r, const char *how)
{
#define MISMATCH(fmt, ...)                                                                         \
    sw_test_fail(__FILE__, __LINE__, "case '%s' (line %d, %s), event %zu: " fmt, c->name, c->line, \
                 how, i, __VA_ARGS__)
    size_t i = 0;
    for (; i < c->nexp && i < r->n; i++) {
        const exp_t *e = &c->exp[i], *g = &r->ev[i];
        if (e->type != g->type) {
            if (g->type == EXP_ERROR) {
                MISMATCH("want %s, got error %s close %d detail %s at %ld", type_name(e->type),
                         sw_err_name(g->err), g->close, sw_ws_detail_name(g->detail), g->at);
            }
            MISMATCH("want %s, got %s", type_name(e->type), type_name(g->type));
        }
        if (e->type == EXP_ERROR) {
            if (e->err != g->err || e->close != g->close || e->detail != g->detail) {
                MISMATCH("want error %s/%d/%s, got %s/%d/%s", sw_err_name(e->err), e->close,
                         sw_ws_detail_name(e->detail), sw_err_name(g->err), g->close,
                         sw_ws_detail_name(g->detail));
            }
            if (e->at >= 0 && e->at != g->at) {
                MISMATCH("error at %ld, want %ld", g->at, e->at);
            }
            continue;
        }
        if (e->opcode != g->opcode) {
            MISMATCH("opcode %u, want %u", g->opcode, e->opcode);
        }
        if (e->type == SW_WS_EVENT_MESSAGE && e->compressed != g->compressed) {
            MISMATCH("compressed %d, want %d", g->compressed, e->compressed);
        }
        if (e->type == SW_WS_EVENT_FRAME &&
            (e->cont != g->cont || e->fin != g->fin || e->frame_len != g->frame_len)) {
            MISMATCH("frame cont=%d fin=%d len=%llu, want cont=%d fin=%d len=%llu", g->cont, g->fin,
                     (unsigned long long)g->frame_len, e->cont, e->fin,
                     (unsigned long long)e->frame_len);
        }
        if (e->type == SW_WS_EVENT_CLOSE && e->close_code != g->close_code) {
            MISMATCH("close code %u, want %u", g->close_code, e->close_code);
        }
        if (e->type != SW_WS_EVENT_FRAME) {
            if (e->payload.n != g->payload.n) {
                MISMATCH("payload of %zu bytes, want %zu", g->payload.n, e->payload.n);
            }
            for (size_t k = 0; k < e->payload.n; k++) {
                if (e->payload.p[k] != g->payload.p[k]) {
                    MISMATCH("payload differs at byte %zu: %02x, want %02x", k, g->payload.p[k],
                             e->payload.p[k]);
                }
            }
        }
    }
    if (i < c->nexp) {
        MISMATCH("missing %s event (got %zu events)", type_name(c->exp[i].type), r->n);
    }
    if (i < r->n) {
        const exp_t *g = &r->ev[i];
        if (g->type == EXP_ERROR) {
            MISMATCH("unexpected error %s close %d detail %s at %ld", sw_err_name(g->err), g->close,
                     sw_ws_detail_name(g->detail), g->at);
        }
        MISMATCH("unexpected %s event", type_name(g->type));
    }
#undef MISMATCH
}

/* Runs the case with the input cut at cuts[0..ncuts) (increasing), on kernel `kernel`. */
static void run_cuts(const fcase_t *c, const size_t *cuts, size_t ncuts, int kernel, ws_guard_t *g,
                     const char *how)
{
    sw_ws_decoder_t *d = NULL;
    ASSERT_OK(sw_ws_decoder_create(&d, &c->opts));
    if (c->deflate) {
        ASSERT_OK(sw_ws_decoder_set_deflate(d, &c->dp));
    }
    ASSERT_OK(sw__ws_decoder_force_unmask(d, kernel));
    rec_t r = {0};
    size_t start = 0;
    for (size_t k = 0; k <= ncuts && !r.failed; k++) {
        size_t end = k < ncuts ? cuts[k] : c->input.n;
        uint8_t *p = ws_guard_place(g, c->input.p + start, end - start);
        feed(d, p, end - start, &r, c, how);
        start = end;
    }
    if (!r.failed) {
        feed(d, NULL, 0, &r, c, how); /* nothing may be pending */
    }
    compare(c, &r, how);
    rec_free(&r);
    sw_ws_decoder_destroy(d);
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void run_case(const fcase_t *c, size_t *runs)
{
    size_t n = c->input.n;
    ws_guard_t g = {0};
    ws_guard_init(&g, n + 1);
    char how[96];
    /* Whole, on every kernel. */
    for (int k = SW__WS_UNMASK_BYTE; k < SW__WS_UNMASK_COUNT_; k++) {
        if (!sw__ws_unmask_impl(k)) {
            continue;
        }
        snprintf(how, sizeof(how), "whole, %s", sw__ws_unmask_name(k));
        run_cuts(c, NULL, 0, k, &g, how);
        (*runs)++;
    }
    /* Split in two at every position (sampled when long). */
    size_t step = n <= 2048 ? 1 : n / 257 + 1;
    for (size_t cut = 0; cut <= n; cut++) {
        if (step > 1 && cut > 300 && cut + 300 < n && cut % step) {
            continue;
        }
        snprintf(how, sizeof(how), "split at %zu", cut);
        run_cuts(c, &cut, 1, SW__WS_UNMASK_BEST, &g, how);
        (*runs)++;
    }
    /* One byte per call. */
    if (n <= 200000) {
        size_t *cuts = malloc((n + 1) * sizeof(*cuts));
        ASSERT_NOT_NULL(cuts);
        for (size_t i = 0; i < n; i++) {
            cuts[i] = i + 1;
        }
        run_cuts(c, cuts, n ? n - 1 : 0, SW__WS_UNMASK_SCALAR, &g, "byte by byte");
        (*runs)++;
        free(cuts);
    }
    /* Pseudo-random pieces. */
    uint64_t seed = 0x9e3779b97f4a7c15ull ^ n;
    for (int round = 0; round < 8; round++) {
        size_t cuts[16], m = 0, at = 0;
        while (m < 16 && n) {
            at += 1 + (size_t)(rng_next(&seed) % (n / 4 + 2));
            if (at >= n) {
                break;
            }
            cuts[m++] = at;
        }
        snprintf(how, sizeof(how), "random pieces, round %d", round);
        run_cuts(c, cuts, m, SW__WS_UNMASK_BEST, &g, how);
        (*runs)++;
    }
    ws_guard_free(&g);
}

/* ---- parsing frame files --------------------------------------------------------------------- */

static void parse_fail(const char *file, int line, const char *msg)
{
    sw_test_fail(__FILE__, __LINE__, "%s:%d: %s", file, line, msg);
}

static exp_t *add_exp(fcase_t *c, const char *file, int line)
{
    if (c->nexp == MAX_EXP) {
        parse_fail(file, line, "too many expectations");
    }
    exp_t *e = &c->exp[c->nexp++];
    memset(e, 0, sizeof(*e));
    e->at = -1;
    return e;
}

static void parse_deflate(fcase_t *c, const char *args, const char *file, int line)
{
    c->deflate = true;
    c->dp = (sw_ws_deflate_params_t){.server_max_window_bits = 15, .client_max_window_bits = 15};
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", args);
    for (char *save, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (strcmp(t, "on") == 0) {
            continue;
        } else if (strcmp(t, "server_no_context_takeover") == 0) {
            c->dp.server_no_context_takeover = true;
        } else if (strcmp(t, "client_no_context_takeover") == 0) {
            c->dp.client_no_context_takeover = true;
        } else if (strncmp(t, "server_max_window_bits=", 23) == 0) {
            c->dp.server_max_window_bits = (uint8_t)atoi(t + 23);
        } else if (strncmp(t, "client_max_window_bits=", 23) == 0) {
            c->dp.client_max_window_bits = (uint8_t)atoi(t + 23);
        } else {
            parse_fail(file, line, "bad deflate parameter");
        }
    }
}

static void parse_frame_line(fcase_t *c, const char *kw, const char *rest, const char *file,
                             int line)
{
    const char *err = NULL;
    if (strcmp(kw, "role") == 0) {
        c->opts.role = strcmp(rest, "client") == 0 ? SW_WS_ROLE_CLIENT : SW_WS_ROLE_SERVER;
    } else if (strcmp(kw, "mode") == 0) {
        c->opts.frame_mode = strcmp(rest, "frame") == 0;
    } else if (strcmp(kw, "max") == 0) {
        c->opts.max_message_size = strtoull(rest, NULL, 10);
    } else if (strcmp(kw, "reject") == 0) {
        if (strcmp(rest, "text") == 0) {
            c->opts.reject_text = true;
        } else {
            c->opts.reject_binary = true;
        }
    } else if (strcmp(kw, "deflate") == 0) {
        parse_deflate(c, rest, file, line);
    } else if (strcmp(kw, "in") == 0) {
        err = ws_parse_bytes(rest, &c->input, true);
    } else if (!strcmp(kw, "text") || !strcmp(kw, "binary") || !strcmp(kw, "ztext") ||
               !strcmp(kw, "zbinary")) {
        exp_t *e = add_exp(c, file, line);
        e->type = SW_WS_EVENT_MESSAGE;
        e->compressed = kw[0] == 'z';
        e->opcode = strstr(kw, "text") ? SW_WS_OP_TEXT : SW_WS_OP_BINARY;
        err = ws_parse_bytes(rest, &e->payload, false);
    } else if (!strcmp(kw, "ping") || !strcmp(kw, "pong")) {
        exp_t *e = add_exp(c, file, line);
        e->type = kw[1] == 'i' ? SW_WS_EVENT_PING : SW_WS_EVENT_PONG;
        e->opcode = kw[1] == 'i' ? SW_WS_OP_PING : SW_WS_OP_PONG;
        err = ws_parse_bytes(rest, &e->payload, false);
    } else if (!strcmp(kw, "close")) {
        exp_t *e = add_exp(c, file, line);
        e->type = SW_WS_EVENT_CLOSE;
        e->opcode = SW_WS_OP_CLOSE;
        char *endp;
        e->close_code = (unsigned)strtoul(rest, &endp, 10);
        err = ws_parse_bytes(endp, &e->payload, false);
    } else if (!strcmp(kw, "frame")) {
        exp_t *e = add_exp(c, file, line);
        e->type = SW_WS_EVENT_FRAME;
        char buf[128];
        snprintf(buf, sizeof(buf), "%s", rest);
        for (char *save, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
            if (!strcmp(t, "text")) {
                e->opcode = SW_WS_OP_TEXT;
            } else if (!strcmp(t, "binary")) {
                e->opcode = SW_WS_OP_BINARY;
            } else if (!strcmp(t, "cont")) {
                e->cont = true;
            } else if (!strcmp(t, "fin")) {
                e->fin = true;
            } else {
                e->frame_len = strtoull(t, NULL, 10);
            }
        }
    } else if (!strcmp(kw, "data")) {
        exp_t *e = add_exp(c, file, line);
        e->type = SW_WS_EVENT_DATA;
        exp_t *f = c->nexp >= 2 ? &c->exp[c->nexp - 2] : NULL;
        if (!f || f->type != SW_WS_EVENT_FRAME) {
            parse_fail(file, line, "data must follow frame");
        }
        e->opcode = f->opcode;
        err = ws_parse_bytes(rest, &e->payload, false);
    } else if (!strcmp(kw, "error")) {
        exp_t *e = add_exp(c, file, line);
        e->type = EXP_ERROR;
        char name[64], detail[64];
        int close = 0, n = 0;
        long at = -1;
        if (sscanf(rest, "%63s %d %63s%n", name, &close, detail, &n) != 3) {
            parse_fail(file, line, "error <ERR> <close> <DETAIL> [at <n>]");
        }
        if (sscanf(rest + n, " at %ld", &at) != 1) {
            at = -1;
        }
        e->err = ws_err_by_name(name);
        e->close = close;
        e->detail = ws_detail_by_name(detail);
        e->at = at;
        if (e->err > 0 || e->detail < 0) {
            parse_fail(file, line, "unknown error or detail name");
        }
    } else {
        parse_fail(file, line, "unknown directive");
    }
    if (err) {
        parse_fail(file, line, err);
    }
}

/* The next line of a NUL-terminated text (newline removed), or NULL at the end. */
static char *next_line(char **cur)
{
    char *s = *cur;
    if (!s) {
        return NULL;
    }
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        *cur = nl + 1;
    } else {
        *cur = NULL;
        if (!*s) {
            return NULL;
        }
    }
    return s;
}

/* Splits "kw rest" (rest may be empty). */
static void split_line(char *s, char **kw, char **rest)
{
    while (*s == ' ') {
        s++;
    }
    *kw = s;
    while (*s && *s != ' ') {
        s++;
    }
    if (*s) {
        *s++ = '\0';
    }
    while (*s == ' ') {
        s++;
    }
    *rest = s;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\r')) {
        s[--n] = '\0';
    }
}

/* Runs every case of a frame file; returns the number of cases. */
static int run_frame_file(const char *name)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s%s", ws_data_dir(), name);
    char *text = ws_read_file(path, NULL);
    fcase_t *c = calloc(1, sizeof(*c));
    ASSERT_NOT_NULL(c);
    int ncases = 0, skipped = 0, lineno = 0;
    size_t runs = 0;
    bool have = false;
    char *cur = text;
    for (char *ln = next_line(&cur);; ln = next_line(&cur)) {
        lineno++;
        char *kw = NULL, *rest = NULL;
        if (ln) {
            split_line(ln, &kw, &rest);
            if (kw[0] == '#' || kw[0] == '\0') {
                continue;
            }
        }
        if (!ln || strcmp(kw, "case") == 0) {
            if (have) {
                if (c->deflate && !sw_ws_deflate_supported()) {
                    skipped++;
                } else {
                    run_case(c, &runs);
                }
                ncases++;
                case_free(c);
            }
            if (!ln) {
                break;
            }
            memset(c, 0, sizeof(*c));
            sw_ws_decoder_options_init(&c->opts);
            c->opts.max_message_size = 1 << 20;
            snprintf(c->name, sizeof(c->name), "%s", rest);
            c->line = lineno;
            have = true;
            continue;
        }
        if (!have) {
            parse_fail(name, lineno, "directive before the first case");
        }
        parse_frame_line(c, kw, rest, name, lineno);
    }
    printf("%s: %d cases (%d skipped without zlib), %zu runs\n", name, ncases, skipped, runs);
    free(c);
    free(text);
    ASSERT_GT(ncases, 0);
    return ncases;
}

/* ---- UTF-8 files ----------------------------------------------------------------------------- */

static void utf8_expect(const uint8_t *p, size_t n, long want_bad, bool truncated, const char *file,
                        int line, const char *how, const uint8_t *orig, ws_guard_t *g,
                        const size_t *cuts, size_t ncuts)
{
    sw_ws_utf8_t u;
    sw_ws_utf8_init(&u);
    size_t start = 0;
    long bad_at = -1;
    (void)p;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n;
        uint8_t *q = ws_guard_place(g, orig + start, end - start);
        size_t bad = 0;
        if (sw_ws_utf8_update(&u, q, end - start, &bad) < 0) {
            bad_at = (long)(start + bad);
            break;
        }
        start = end;
    }
    bool fin_ok = bad_at < 0 && sw_ws_utf8_finish(&u) == 0;
    if (want_bad >= 0) {
        if (bad_at != want_bad) {
            sw_test_fail(__FILE__, __LINE__, "%s:%d (%s): invalid at %ld, want %ld", file, line,
                         how, bad_at, want_bad);
        }
    } else if (truncated) {
        if (bad_at >= 0 || fin_ok) {
            sw_test_fail(__FILE__, __LINE__, "%s:%d (%s): want truncated, got bad=%ld fin=%d", file,
                         line, how, bad_at, fin_ok);
        }
    } else if (!fin_ok) {
        sw_test_fail(__FILE__, __LINE__, "%s:%d (%s): want valid, got bad=%ld", file, line, how,
                     bad_at);
    }
}

static int run_utf8_file(const char *name)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s%s", ws_data_dir(), name);
    char *text = ws_read_file(path, NULL);
    int n = 0, lineno = 0;
    char *cur = text;
    for (char *ln = next_line(&cur); ln; ln = next_line(&cur)) {
        lineno++;
        char *kw, *rest;
        split_line(ln, &kw, &rest);
        if (kw[0] == '#' || kw[0] == '\0') {
            continue;
        }
        long want_bad = -1;
        bool truncated = false;
        char *at = strstr(rest, " at ");
        if (!strcmp(kw, "invalid")) {
            if (!at) {
                parse_fail(name, lineno, "invalid needs 'at <n>'");
            }
            want_bad = atol(at + 4);
            *at = '\0';
        } else if (!strcmp(kw, "truncated")) {
            truncated = true;
        } else if (strcmp(kw, "valid") != 0) {
            parse_fail(name, lineno, "unknown directive");
        }
        ws_bytes_t b = {0};
        const char *err = ws_parse_bytes(rest, &b, false);
        if (err) {
            parse_fail(name, lineno, err);
        }
        ws_guard_t g = {0};
        ws_guard_init(&g, b.n + 1);
        utf8_expect(b.p, b.n, want_bad, truncated, name, lineno, "whole", b.p, &g, NULL, 0);
        for (size_t cut = 0; cut <= b.n; cut++) {
            char how[64];
            snprintf(how, sizeof(how), "split at %zu", cut);
            utf8_expect(b.p, b.n, want_bad, truncated, name, lineno, how, b.p, &g, &cut, 1);
        }
        size_t cuts[512];
        size_t m = b.n > 1 ? (b.n - 1 < 512 ? b.n - 1 : 512) : 0;
        for (size_t i = 0; i < m; i++) {
            cuts[i] = i + 1;
        }
        utf8_expect(b.p, b.n, want_bad, truncated, name, lineno, "byte by byte", b.p, &g, cuts, m);
        /* sw_ws_utf8_validate agrees. */
        size_t bad = 0;
        int rc = sw_ws_utf8_validate(b.p, b.n, &bad);
        if (want_bad >= 0) {
            ASSERT_ERR(rc, SW_EWS_UTF8);
            ASSERT_UEQ(bad, (size_t)want_bad);
        } else if (truncated) {
            ASSERT_ERR(rc, SW_EWS_UTF8);
            ASSERT_UEQ(bad, b.n);
        } else {
            ASSERT_OK(rc);
        }
        ws_guard_free(&g);
        ws_bytes_free(&b);
        n++;
    }
    free(text);
    printf("%s: %d sequences\n", name, n);
    ASSERT_GT(n, 0);
    return n;
}

/* ---- the suite ------------------------------------------------------------------------------- */

/* Every vector file, so that a new file cannot be forgotten (see vector_files_all_listed). */
static const char *const frame_files[] = {
    "frames_rfc.txt",         "frames_errors.txt",        "frames_mode.txt",
    "autobahn_1_framing.txt", "autobahn_2_pingpong.txt",  "autobahn_3_rsv.txt",
    "autobahn_4_opcodes.txt", "autobahn_5_fragments.txt", "autobahn_6_utf8.txt",
    "autobahn_7_close.txt",   "autobahn_9_limits.txt",    "autobahn_12_13_deflate.txt",
};

SW_TEST_TIMEOUT(vectors_frames_rfc, 120)
{
    run_frame_file("frames_rfc.txt");
}

SW_TEST_TIMEOUT(vectors_frames_errors, 120)
{
    run_frame_file("frames_errors.txt");
}

SW_TEST_TIMEOUT(vectors_frames_mode, 120)
{
    run_frame_file("frames_mode.txt");
}

SW_TEST_TIMEOUT(vectors_autobahn_1_framing, 240)
{
    run_frame_file("autobahn_1_framing.txt");
}

SW_TEST_TIMEOUT(vectors_autobahn_2_pingpong, 120)
{
    run_frame_file("autobahn_2_pingpong.txt");
}

SW_TEST_TIMEOUT(vectors_autobahn_3_rsv, 120)
{
    run_frame_file("autobahn_3_rsv.txt");
}

SW_TEST_TIMEOUT(vectors_autobahn_4_opcodes, 120)
{
    run_frame_file("autobahn_4_opcodes.txt");
}

SW_TEST_TIMEOUT(vectors_autobahn_5_fragments, 120)
{
    run_frame_file("autobahn_5_fragments.txt");
}

SW_TEST_TIMEOUT(vectors_autobahn_6_utf8, 120)
{
    run_frame_file("autobahn_6_utf8.txt");
}

SW_TEST_TIMEOUT(vectors_autobahn_7_close, 120)
{
    run_frame_file("autobahn_7_close.txt");
}

SW_TEST_TIMEOUT(vectors_autobahn_9_limits, 240)
{
    run_frame_file("autobahn_9_limits.txt");
}

SW_TEST_TIMEOUT(vectors_autobahn_12_13_deflate, 120)
{
    if (!sw_ws_deflate_supported()) {
        SW_TEST_SKIP("built without zlib");
    }
    run_frame_file("autobahn_12_13_deflate.txt");
}

SW_TEST_TIMEOUT(vectors_utf8, 120)
{
    run_utf8_file("utf8.txt");
}

SW_TEST(vector_files_all_listed)
{
    DIR *dir = opendir(ws_data_dir());
    ASSERT_NOT_NULL(dir);
    struct dirent *e;
    int seen = 0;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        bool known = !strcmp(e->d_name, "utf8.txt") || !strcmp(e->d_name, "handshake.txt") ||
                     !strcmp(e->d_name, "README.md");
        for (size_t i = 0; !known && i < sizeof(frame_files) / sizeof(frame_files[0]); i++) {
            known = strcmp(e->d_name, frame_files[i]) == 0;
        }
        if (!known) {
            closedir(dir);
            sw_test_fail(__FILE__, __LINE__, "vector file %s is not run by any test", e->d_name);
        }
        seen++;
    }
    closedir(dir);
    ASSERT_GE(seen, (int)(sizeof(frame_files) / sizeof(frame_files[0])) + 2);
}
