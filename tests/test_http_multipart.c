/*
 * Streaming multipart/form-data tests: the vectors in tests/data/http/multipart.txt (each fed
 * whole, split at every byte, and byte by byte, every piece against a guard page), boundary
 * extraction, limits, callbacks that stop the parser, allocation failure, and a 1 GiB file
 * part streamed through a small window.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fault.h"
#include "swoole/http.h"
#include "sw_test.h"
#include "test_http_util.h"

typedef struct {
    sb_t log;
    int in_data;
    int stop_at; /* callback number that returns an error (0: never) */
    int calls;
} mp_log_t;

static int stop(mp_log_t *c)
{
    return ++c->calls == c->stop_at ? SW_ECANCELED : 0;
}

static void quote_or_dash(sb_t *b, const char *s, size_t n)
{
    if (s) {
        sb_quote(b, s, n);
    } else {
        sb_add(b, "-", 1);
    }
}

static int on_begin(sw_http_multipart_t *mp, const sw_http_part_t *part, void *arg)
{
    (void)mp;
    mp_log_t *c = arg;
    c->in_data = 0;
    sb_add(&c->log, "part ", 5);
    quote_or_dash(&c->log, part->name, part->name_len);
    sb_add(&c->log, " ", 1);
    quote_or_dash(&c->log, part->filename, part->filename_len);
    sb_add(&c->log, " ", 1);
    quote_or_dash(&c->log, part->content_type, part->content_type_len);
    sb_add(&c->log, "\n", 1);
    for (size_t i = 0; i < part->num_headers; i++) {
        sb_add(&c->log, "header ", 7);
        sb_quote(&c->log, part->head + part->headers[i].name.off, part->headers[i].name.len);
        sb_add(&c->log, " ", 1);
        sb_quote(&c->log, part->head + part->headers[i].value.off, part->headers[i].value.len);
        sb_add(&c->log, "\n", 1);
    }
    return stop(c);
}

/* Content arrives in pieces whose split depends on the input's split; the log merges them. */
static int on_data(sw_http_multipart_t *mp, const char *d, size_t n, void *arg)
{
    (void)mp;
    mp_log_t *c = arg;
    ASSERT_GT(n, 0);
    if (c->in_data) {
        c->log.len -= 2; /* reopen the quoted string: drop "\"\n" */
    } else {
        sb_add(&c->log, "data \"", 6);
    }
    sb_t q = {0};
    sb_quote(&q, d, n);
    sb_add(&c->log, q.s + 1, q.len - 2);
    sb_add(&c->log, "\"\n", 2);
    free(q.s);
    c->in_data = 1;
    return stop(c);
}

static int on_end(sw_http_multipart_t *mp, void *arg)
{
    (void)mp;
    mp_log_t *c = arg;
    c->in_data = 0;
    sb_add(&c->log, "end\n", 4);
    return stop(c);
}

static const sw_http_multipart_callbacks_t callbacks = {on_begin, on_data, on_end};

typedef struct {
    char boundary[80];
    sw_http_multipart_options_t opts;
    int stop_at;
} mp_case_t;

/* Feeds `in` up to each cut; each piece is copied against the guard page. */
static void mp_run(const mp_case_t *mc, const char *in, const size_t *cuts, size_t nc,
                   guard_arena_t *g, sb_t *out)
{
    sw_http_multipart_t mp;
    mp_log_t c;
    memset(&c, 0, sizeof(c));
    c.stop_at = mc->stop_at;
    ASSERT_OK(
        sw_http_multipart_init(&mp, mc->boundary, strlen(mc->boundary), &mc->opts, &callbacks, &c));
    size_t from = 0;
    int r = SW_HTTP_PARTIAL;
    for (size_t i = 0; i < nc && r == SW_HTTP_PARTIAL; i++) {
        const char *piece = guard_place(g, in + from, cuts[i] - from);
        r = sw_http_multipart_execute(&mp, piece, cuts[i] - from);
        from = cuts[i];
    }
    if (r == SW_HTTP_PARTIAL) {
        r = sw_http_multipart_finish(&mp);
    }
    ASSERT_EQ(sw_http_multipart_finish(&mp), r < 0 ? r : SW_HTTP_MESSAGE_DONE);
    if (r < 0) {
        sb_printf(&c.log, "error %s\n", sw_err_name(r));
    } else {
        sb_add(&c.log, "done\n", 5);
    }
    sw_http_multipart_close(&mp);
    sw_http_multipart_close(&mp);
    *out = c.log;
}

static void mp_case(const hvec_t *v, const char *path)
{
    mp_case_t mc;
    memset(&mc, 0, sizeof(mc));
    snprintf(mc.boundary, sizeof(mc.boundary), "xyz");
    sw_http_multipart_options_init(&mc.opts);
    for (int i = 0; i < v->ndirectives; i++) {
        const char *d = v->directive[i];
        if (strncmp(d, "boundary ", 9) == 0) {
            snprintf(mc.boundary, sizeof(mc.boundary), "%s", d + 9);
        } else if (strncmp(d, "max_part_head ", 14) == 0) {
            mc.opts.max_part_head = (uint32_t)atoi(d + 14);
        } else if (strncmp(d, "max_part_headers ", 17) == 0) {
            mc.opts.max_part_headers = (uint32_t)atoi(d + 17);
        } else if (strncmp(d, "max_parts ", 10) == 0) {
            mc.opts.max_parts = (uint32_t)atoi(d + 10);
        } else if (strncmp(d, "stop_at ", 8) == 0) {
            mc.stop_at = atoi(d + 8);
        } else {
            sw_test_fail(path, v->line, "unknown directive %s", d);
        }
    }
    const char *in = v->input.s ? v->input.s : "";
    size_t n = v->input.len;
    const char *want = v->expect.s ? v->expect.s : "";
    guard_arena_t g;
    guard_open(&g, n + 1);
    size_t *cuts = malloc((n + 2) * sizeof(size_t));
    ASSERT_NOT_NULL(cuts);
    const char *pm = getenv("SW_HTTP_VECTORS_PRINT");
    for (int sched = 0; sched < 3; sched++) {
        size_t reps = sched == 1 ? n + 1 : 1;
        for (size_t k = 0; k < reps; k++) {
            size_t nc = 0;
            if (sched == 0) {
                cuts[nc++] = n;
            } else if (sched == 1) {
                cuts[nc++] = k;
                cuts[nc++] = n;
            } else {
                for (size_t c = 1; c <= n; c++) {
                    cuts[nc++] = c;
                }
            }
            sb_t got;
            mp_run(&mc, in, cuts, nc, &g, &got);
            if (pm && *pm == '1') {
                printf("=== %s (%s:%d)\n%s", v->name, path, v->line, got.s);
                free(got.s);
                goto out;
            }
            if (strcmp(got.s, want) != 0) {
                sw_test_fail(path, v->line,
                             "case \"%s\" (schedule %d, split %zu):\n--- want\n%s--- got\n%s",
                             v->name, sched, k, want, got.s);
            }
            free(got.s);
        }
    }
out:
    free(cuts);
    guard_close(&g);
}

SW_TEST_TIMEOUT(http_multipart_vectors, 120)
{
    ASSERT_GE(hvec_run_file("multipart.txt", mp_case), 20);
}

SW_TEST(http_multipart_boundary)
{
    const char *b;
    size_t n;
    const char *ct = "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW";
    ASSERT_OK(sw_http_multipart_boundary(ct, strlen(ct), &b, &n));
    ASSERT_EQ(n, 37);
    ASSERT_MEM_EQ(b, "----WebKitFormBoundary7MA4YWxkTrZu0gW", n);
    ct = "Multipart/Mixed ; charset=utf-8; BOUNDARY=\"a b'()+_,-./:=?\"";
    ASSERT_OK(sw_http_multipart_boundary(ct, strlen(ct), &b, &n));
    ASSERT_EQ(n, 15);
    ASSERT_MEM_EQ(b, "a b'()+_,-./:=?", n);
    static const char *const bad[] = {
        "text/plain; boundary=x",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=\"ends with space \"",
        "multipart/form-data; boundary=\"quoted\\\"pair\"",
        "multipart/form-data; boundary=a@b",
        "multipart/form-data; boundary=\"unterminated",
        "multipart/form-data; boundary=x; junk",
        ("multipart/form-data; boundary=12345678901234567890123456789012345678901234567890"
         "123456789012345678901"),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = sw_http_multipart_boundary(bad[i], strlen(bad[i]), &b, &n);
        if (r != SW_EHTTP_MULTIPART) {
            sw_test_fail(__FILE__, __LINE__, "\"%s\" gave %d", bad[i], r);
        }
    }
    ASSERT_ERR(sw_http_multipart_boundary(NULL, 1, &b, &n), SW_EINVAL);
    ASSERT_ERR(sw_http_multipart_boundary(ct, 1, NULL, &n), SW_EINVAL);
    ASSERT_ERR(sw_http_multipart_boundary(ct, 1, &b, NULL), SW_EINVAL);
}

SW_TEST(http_multipart_arguments)
{
    sw_http_multipart_t mp;
    sw_http_multipart_options_t o;
    mp_log_t c;
    memset(&c, 0, sizeof(c));
    sw_http_multipart_options_init(NULL);
    sw_http_multipart_options_init(&o);
    ASSERT_EQ(o.max_part_head, 8192);
    ASSERT_EQ(o.max_part_headers, 16);
    ASSERT_EQ(o.max_parts, 1024);
    ASSERT_ERR(sw_http_multipart_init(NULL, "b", 1, NULL, &callbacks, &c), SW_EINVAL);
    ASSERT_ERR(sw_http_multipart_init(&mp, "b", 1, NULL, NULL, &c), SW_EINVAL);
    ASSERT_ERR(sw_http_multipart_init(&mp, NULL, 1, NULL, &callbacks, &c), SW_EINVAL);
    ASSERT_ERR(sw_http_multipart_init(&mp, "b", 0, NULL, &callbacks, &c), SW_EINVAL);
    ASSERT_ERR(sw_http_multipart_init(&mp, "a\rb", 3, NULL, &callbacks, &c), SW_EINVAL);
    char long_b[72];
    memset(long_b, 'b', sizeof(long_b));
    ASSERT_ERR(sw_http_multipart_init(&mp, long_b, 71, NULL, &callbacks, &c), SW_EINVAL);
    ASSERT_OK(sw_http_multipart_init(&mp, long_b, 70, NULL, &callbacks, &c));
    sw_http_multipart_close(&mp);
    o.max_parts = 0;
    ASSERT_ERR(sw_http_multipart_init(&mp, "b", 1, &o, &callbacks, &c), SW_EINVAL);
    ASSERT_ERR(sw_http_multipart_execute(NULL, "x", 1), SW_EINVAL);
    ASSERT_ERR(sw_http_multipart_finish(NULL), SW_EINVAL);
    sw_http_multipart_close(NULL);

    ASSERT_OK(sw_http_multipart_init(&mp, "b", 1, NULL, &callbacks, &c));
    ASSERT_ERR(sw_http_multipart_execute(&mp, NULL, 1), SW_EINVAL);
    ASSERT_EQ(sw_http_multipart_execute(&mp, NULL, 0), SW_HTTP_PARTIAL);
    sw_http_multipart_close(&mp);
    /* A closed parser refuses work instead of touching freed memory. */
    ASSERT_ERR(sw_http_multipart_execute(&mp, "x", 1), SW_EINVAL);
    free(c.log.s);
}

SW_TEST(http_multipart_alloc_failure)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    sw_http_multipart_t mp;
    mp_log_t c;
    memset(&c, 0, sizeof(c));
    for (int skip = 0; skip < 2; skip++) {
        ASSERT_OK(sw__fault_set("alloc", skip, 1));
        ASSERT_ERR(sw_http_multipart_init(&mp, "b", 1, NULL, &callbacks, &c), SW_ENOMEM);
        sw__fault_reset();
    }
    ASSERT_OK(sw_http_multipart_init(&mp, "b", 1, NULL, &callbacks, &c));
    sw_http_multipart_close(&mp);
}

typedef struct {
    uint64_t bytes;
    int parts, ends;
} count_t;

static int count_begin(sw_http_multipart_t *mp, const sw_http_part_t *part, void *arg)
{
    (void)mp;
    (void)part;
    ((count_t *)arg)->parts++;
    return 0;
}

static int count_data(sw_http_multipart_t *mp, const char *d, size_t n, void *arg)
{
    (void)mp;
    (void)d;
    ((count_t *)arg)->bytes += n;
    return 0;
}

static int count_end(sw_http_multipart_t *mp, void *arg)
{
    (void)mp;
    ((count_t *)arg)->ends++;
    return 0;
}

/* A 1 GiB file part goes through one 64 KiB window and is never accumulated. */
SW_TEST_TIMEOUT(http_multipart_stream_1gib, 120)
{
    static const sw_http_multipart_callbacks_t cb = {count_begin, count_data, count_end};
    const size_t win = 65536;
    const uint64_t total = (uint64_t)1 << 30;
    char *w = malloc(win);
    ASSERT_NOT_NULL(w);
    count_t cnt = {0, 0, 0};
    sw_http_multipart_t mp;
    ASSERT_OK(sw_http_multipart_init(&mp, "BOUNDARY", 8, NULL, &cb, &cnt));
    const char *head = "--BOUNDARY\r\nContent-Disposition: form-data; name=\"f\"; "
                       "filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n";
    ASSERT_EQ(sw_http_multipart_execute(&mp, head, strlen(head)), SW_HTTP_PARTIAL);
    /* Content with CRs and partial delimiters, never a whole one. */
    for (size_t i = 0; i < win; i++) {
        w[i] = (char)(i * 7);
    }
    memcpy(w + 1000, "\r\n--BOUNDAR", 11);
    memcpy(w + win - 9, "\r\n--BOUND", 9);
    for (uint64_t sent = 0; sent < total; sent += win) {
        ASSERT_EQ(sw_http_multipart_execute(&mp, w, win), SW_HTTP_PARTIAL);
    }
    const char *tail = "\r\n--BOUNDARY--\r\n";
    ASSERT_EQ(sw_http_multipart_execute(&mp, tail, strlen(tail)), SW_HTTP_MESSAGE_DONE);
    ASSERT_EQ(sw_http_multipart_finish(&mp), SW_HTTP_MESSAGE_DONE);
    ASSERT_TRUE(cnt.bytes == total);
    ASSERT_EQ(cnt.parts, 1);
    ASSERT_EQ(cnt.ends, 1);
    sw_http_multipart_close(&mp);
    free(w);
}
