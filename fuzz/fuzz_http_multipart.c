/*
 * Fuzz target: the streaming multipart/form-data parser. The first byte picks the boundary
 * and the split position; the rest is the body. It is fed whole, split in two, and (when
 * small) byte by byte, each piece in its own heap block; the events (part headers, content
 * bytes, part ends, result) must be the same for every schedule.
 */
#include "fuzz_http_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    fz_log_t log;
    int in_data; /* content pieces are merged: their split is not an event */
} mp_ctx_t;

static int on_begin(sw_http_multipart_t *mp, const sw_http_part_t *part, void *arg)
{
    (void)mp;
    mp_ctx_t *c = arg;
    c->in_data = 0;
    fz_u64(&c->log, 1);
    fz_bytes(&c->log, part->name ? part->name : "", part->name ? part->name_len : 0);
    fz_u64(&c->log, part->filename != NULL);
    fz_bytes(&c->log, part->filename ? part->filename : "", part->filename_len);
    fz_bytes(&c->log, part->content_type ? part->content_type : "", part->content_type_len);
    for (size_t i = 0; i < part->num_headers; i++) {
        fz_bytes(&c->log, part->head + part->headers[i].name.off, part->headers[i].name.len);
        fz_bytes(&c->log, part->head + part->headers[i].value.off, part->headers[i].value.len);
    }
    return 0;
}

static int on_data(sw_http_multipart_t *mp, const char *d, size_t n, void *arg)
{
    (void)mp;
    mp_ctx_t *c = arg;
    fz_check(n > 0, "empty data piece");
    if (!c->in_data) {
        fz_u64(&c->log, 2);
        c->in_data = 1;
    }
    fz_put(&c->log, d, n);
    return 0;
}

static int on_end(sw_http_multipart_t *mp, void *arg)
{
    (void)mp;
    mp_ctx_t *c = arg;
    c->in_data = 0;
    fz_u64(&c->log, 3);
    return 0;
}

static void run(const char *b, const char *in, const size_t *cuts, size_t nc, fz_log_t *out)
{
    static const sw_http_multipart_callbacks_t cb = {on_begin, on_data, on_end};
    sw_http_multipart_options_t o;
    sw_http_multipart_options_init(&o);
    o.max_part_head = 256;
    o.max_parts = 8;
    sw_http_multipart_t mp;
    mp_ctx_t c = {{0}, 0};
    if (sw_http_multipart_init(&mp, b, strlen(b), &o, &cb, &c) != 0) {
        abort();
    }
    size_t from = 0;
    int r = 0;
    for (size_t i = 0; i < nc && r == SW_HTTP_PARTIAL; i++) {
        char *blk = fz_block(in + from, cuts[i] - from);
        r = sw_http_multipart_execute(&mp, blk, cuts[i] - from);
        free(blk);
        from = cuts[i];
    }
    if (r == SW_HTTP_PARTIAL) {
        r = sw_http_multipart_finish(&mp);
    }
    fz_u64(&c.log, 9);
    fz_u64(&c.log, (uint64_t)(int64_t)r);
    sw_http_multipart_close(&mp);
    *out = c.log;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const boundaries[4] = {"b", "xyz", "----WebKitFormBoundary7MA4YWxk",
                                              "a'()+_,-./:=? z"};
    if (size < 1) {
        return 0;
    }
    const char *b = boundaries[data[0] & 3u];
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    size_t *cuts = malloc((n + 2) * sizeof(size_t));
    if (!cuts) {
        abort();
    }
    fz_log_t ref, got;
    cuts[0] = n;
    run(b, in, cuts, 1, &ref);
    cuts[0] = (data[0] >> 2) % (n + 1);
    cuts[1] = n;
    run(b, in, cuts, 2, &got);
    fz_same(&ref, &got, "split and whole multipart logs");
    free(got.p);
    if (n <= 512) {
        for (size_t i = 0; i < n; i++) {
            cuts[i] = i + 1;
        }
        run(b, in, cuts, n, &got);
        fz_same(&ref, &got, "byte-by-byte and whole multipart logs");
        free(got.p);
    }
    free(ref.p);
    free(cuts);
    return 0;
}
