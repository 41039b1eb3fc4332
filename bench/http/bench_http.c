/*
 * HTTP request-head parsing benchmark: libswoole's parser (scalar, SSE4.2, AVX2 scanners)
 * against picohttpparser (Debian libh2o-evloop, which exports phr_parse_request) and llhttp
 * (Debian node-llhttp's C sources, compiled into this binary), in the same process and run.
 *
 *   bench_http [--requests N] [--runs R]       timed runs; prints medians and ratios
 *   bench_http --only NAME [--requests N]      one parser only (for callgrind, see run.sh)
 *
 * The stream is a fixed, deterministic mix of browser and API requests without bodies
 * (navigation, assets, XHR, JSON APIs with tokens, curl, a WebSocket upgrade), about 400
 * bytes on average. Each parser is given each request on its own, as a server would after
 * reading it: libswoole's parser is reset and runs to SW_HTTP_HEAD_DONE, phr_parse_request
 * fills its header array, llhttp runs its callbacks (recording spans, as the others do) to
 * on_headers_complete. Every parser must accept every request and report the same header
 * count; the strict one also checks Host, Content-Length, Transfer-Encoding and Connection.
 * Each run times all parsers in turn, rotating the order; results are medians over runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llhttp.h"
#include "swoole/http.h"

/* picohttpparser's interface (h2o/picohttpparser picohttpparser.h); Debian ships the
 * library in libh2o-evloop but not the header. */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len,
                      const char **path, size_t *path_len, int *minor_version,
                      struct phr_header *headers, size_t *num_headers, size_t last_len);

/* ------------------------------------------------------------------------------------------ */
/* The request stream. */

static const char *const templates[] = {
    /* Browser navigation with cookies. */
    "GET /products/%d/reviews?page=2&sort=recent HTTP/1.1\r\n"
    "Host: shop.example.com\r\n"
    "Connection: keep-alive\r\n"
    "sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "*/*;q=0.8\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-User: ?1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Referer: https://shop.example.com/products/%d\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n"
    "Cookie: session=8f2a9c1e4b7d6a3f%d; cart=3; theme=dark\r\n"
    "\r\n",
    /* Browser asset. */
    "GET /static/js/app.%d.js HTTP/1.1\r\n"
    "Host: shop.example.com\r\n"
    "Connection: keep-alive\r\n"
    "User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Safari/605.1.15\r\n"
    "Accept: */*\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: no-cors\r\n"
    "Sec-Fetch-Dest: script\r\n"
    "Referer: https://shop.example.com/\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-GB,en;q=0.9\r\n"
    "If-None-Match: \"5f%d-1a2b\"\r\n"
    "\r\n",
    /* JSON API with a bearer token. */
    "GET /api/v2/users/%d/orders?limit=20&offset=40 HTTP/1.1\r\n"
    "Host: api.example.com\r\n"
    "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZ"
    "SI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.%d\r\n"
    "Accept: application/json\r\n"
    "User-Agent: okhttp/4.12.0\r\n"
    "X-Request-Id: 7d1f3c2a-%d-4e5b-9c8d-0a1b2c3d4e5f\r\n"
    "Accept-Encoding: gzip\r\n"
    "\r\n",
    /* XHR from a page. */
    "DELETE /api/cart/items/%d HTTP/1.1\r\n"
    "Host: shop.example.com\r\n"
    "Origin: https://shop.example.com\r\n"
    "X-Requested-With: XMLHttpRequest\r\n"
    "X-CSRF-Token: a1b2c3d4e5f6%d\r\n"
    "Accept: application/json, text/plain, */*\r\n"
    "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 "
    "Firefox/125.0\r\n"
    "Cookie: session=8f2a9c1e4b7d6a3f%d\r\n"
    "\r\n",
    /* curl. */
    "GET /health HTTP/1.1\r\n"
    "Host: 10.0.0.%d:8080\r\n"
    "User-Agent: curl/8.5.0\r\n"
    "Accept: */*\r\n"
    "\r\n",
    /* Service to service. */
    "HEAD /objects/bucket-%d/key HTTP/1.1\r\n"
    "Host: storage.internal\r\n"
    "X-Amz-Date: 20240501T120000Z\r\n"
    "X-Amz-Content-Sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/us-east-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=%d\r\n"
    "\r\n",
    /* WebSocket upgrade. */
    "GET /ws/feed?channel=%d HTTP/1.1\r\n"
    "Host: live.example.com\r\n"
    "Connection: Upgrade\r\n"
    "Upgrade: websocket\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "Origin: https://live.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\r\n"
    "\r\n",
    /* Mobile app. */
    "GET /v1/feed?since=%d HTTP/1.1\r\n"
    "Host: m.example.com\r\n"
    "Accept: application/json\r\n"
    "Accept-Language: fr-FR\r\n"
    "X-App-Version: 5.12.%d\r\n"
    "X-Device: iPhone15,2; iOS 17.4\r\n"
    "Accept-Encoding: gzip, deflate\r\n"
    "\r\n",
};
#define NTEMPLATES (sizeof(templates) / sizeof(templates[0]))

/* Weights: how often each template appears in 32 requests. */
static const int weights[NTEMPLATES] = {6, 8, 6, 3, 2, 2, 1, 4};

typedef struct {
    char *buf;
    size_t *off, *len;
    size_t count, bytes;
} stream_t;

static void make_stream(stream_t *s, size_t count)
{
    s->count = count;
    s->off = malloc(count * sizeof(size_t));
    s->len = malloc(count * sizeof(size_t));
    s->buf = malloc(count * 1024);
    if (!s->off || !s->len || !s->buf) {
        exit(1);
    }
    int order[32], n = 0;
    for (size_t t = 0; t < NTEMPLATES; t++) {
        for (int k = 0; k < weights[t]; k++) {
            order[n++] = (int)t;
        }
    }
    uint64_t x = 0x9e3779b97f4a7c15ull;
    s->bytes = 0;
    for (size_t i = 0; i < count; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const char *t = templates[order[x % 32]];
        int v = (int)(x >> 40 & 0xffff);
        s->off[i] = s->bytes;
        int w = snprintf(s->buf + s->bytes, 1024, t, v, v, v);
        s->len[i] = (size_t)w;
        s->bytes += (size_t)w;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The parsers. Each function parses every request once and returns a checksum of the header
 * counts, so that no work can be optimised away. */

static sw_http_header_t sw_headers[100];

static uint64_t run_swoole(const stream_t *s, int simd)
{
    sw_http_parser_t p;
    sw_http_parser_options_t o;
    sw_http_parser_options_init(&o);
    o.simd = simd;
    if (sw_http_parser_init(&p, SW_HTTP_REQUEST, &o, sw_headers, 100) != 0) {
        exit(2);
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < s->count; i++) {
        sw_http_parser_reset(&p);
        if (sw_http_parser_execute(&p, s->buf + s->off[i], s->len[i]) != SW_HTTP_HEAD_DONE) {
            fprintf(stderr, "libswoole rejected request %zu: %s\n", i, p.error_reason);
            exit(3);
        }
        sum += p.num_headers;
    }
    return sum;
}

static uint64_t run_swoole_scalar(const stream_t *s)
{
    return run_swoole(s, SW_HTTP_SIMD_SCALAR);
}
static uint64_t run_swoole_sse42(const stream_t *s)
{
    return run_swoole(s, SW_HTTP_SIMD_SSE42);
}
static uint64_t run_swoole_avx2(const stream_t *s)
{
    return run_swoole(s, SW_HTTP_SIMD_AVX2);
}

static uint64_t run_pico(const stream_t *s)
{
    struct phr_header h[100];
    uint64_t sum = 0;
    for (size_t i = 0; i < s->count; i++) {
        const char *m, *path;
        size_t ml, pl, nh = 100;
        int minor;
        int r = phr_parse_request(s->buf + s->off[i], s->len[i], &m, &ml, &path, &pl, &minor, h,
                                  &nh, 0);
        if (r <= 0) {
            fprintf(stderr, "picohttpparser rejected request %zu\n", i);
            exit(3);
        }
        sum += nh;
    }
    return sum;
}

/* llhttp: the callbacks record spans like the other two parsers do. */
typedef struct {
    const char *url;
    size_t url_len;
    struct phr_header h[100];
    size_t nh;
    int done;
} ll_ctx_t;

static int ll_url(llhttp_t *p, const char *at, size_t n)
{
    ll_ctx_t *c = p->data;
    c->url = at;
    c->url_len = n;
    return 0;
}
static int ll_field(llhttp_t *p, const char *at, size_t n)
{
    ll_ctx_t *c = p->data;
    c->h[c->nh].name = at;
    c->h[c->nh].name_len = n;
    return 0;
}
static int ll_value(llhttp_t *p, const char *at, size_t n)
{
    ll_ctx_t *c = p->data;
    c->h[c->nh].value = at;
    c->h[c->nh].value_len = n;
    c->nh++;
    return 0;
}
static int ll_headers_complete(llhttp_t *p)
{
    ((ll_ctx_t *)p->data)->done = 1;
    return 0;
}

static uint64_t run_llhttp(const stream_t *s)
{
    llhttp_settings_t st;
    llhttp_settings_init(&st);
    st.on_url = ll_url;
    st.on_header_field = ll_field;
    st.on_header_value = ll_value;
    st.on_headers_complete = ll_headers_complete;
    llhttp_t p;
    ll_ctx_t c;
    llhttp_init(&p, HTTP_REQUEST, &st);
    p.data = &c;
    uint64_t sum = 0;
    for (size_t i = 0; i < s->count; i++) {
        c.nh = 0;
        c.done = 0;
        llhttp_reset(&p);
        llhttp_errno_t e = llhttp_execute(&p, s->buf + s->off[i], s->len[i]);
        if ((e != HPE_OK && e != HPE_PAUSED_UPGRADE) || !c.done) {
            fprintf(stderr, "llhttp rejected request %zu: %s\n", i, llhttp_errno_name(e));
            exit(3);
        }
        sum += c.nh;
    }
    return sum;
}

typedef struct {
    const char *name;
    uint64_t (*fn)(const stream_t *s);
    int simd; /* libswoole scanner needed, 0 if none */
} parser_t;

static const parser_t parsers[] = {
    {"libswoole-scalar", run_swoole_scalar, SW_HTTP_SIMD_SCALAR},
    {"libswoole-sse42", run_swoole_sse42, SW_HTTP_SIMD_SSE42},
    {"libswoole-avx2", run_swoole_avx2, SW_HTTP_SIMD_AVX2},
    {"picohttpparser", run_pico, 0},
    {"llhttp", run_llhttp, 0},
};
#define NPARSERS (sizeof(parsers) / sizeof(parsers[0]))

static int available(const parser_t *p)
{
    if (!p->simd) {
        return 1;
    }
    sw_http_parser_t t;
    sw_http_parser_options_t o;
    sw_http_parser_options_init(&o);
    o.simd = p->simd;
    return sw_http_parser_init(&t, SW_HTTP_REQUEST, &o, NULL, 0) == 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t requests = 20000;
    int runs = 7, passes = 25;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc) {
            requests = (size_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc) {
            passes = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--requests N] [--runs R] [--passes P] [--only NAME]\n",
                    argv[0]);
            return 1;
        }
    }
    if (runs < 1 || runs > 101 || passes < 1) {
        return 1;
    }
    stream_t s;
    make_stream(&s, requests);

    if (only) {
        for (size_t k = 0; k < NPARSERS; k++) {
            if (strcmp(parsers[k].name, only) == 0 && available(&parsers[k])) {
                printf("%s: checksum %llu over %zu requests\n", only,
                       (unsigned long long)parsers[k].fn(&s), s.count);
                return 0;
            }
        }
        fprintf(stderr, "unknown or unavailable parser %s\n", only);
        return 1;
    }

    /* Every parser must see the same requests the same way. */
    uint64_t ref = run_pico(&s);
    for (size_t k = 0; k < NPARSERS; k++) {
        if (available(&parsers[k]) && parsers[k].fn(&s) != ref) {
            fprintf(stderr, "%s disagrees on the header count\n", parsers[k].name);
            return 4;
        }
    }
    printf("stream: %zu requests, %zu bytes, %.1f bytes per request; %d runs x %d passes\n",
           s.count, s.bytes, (double)s.bytes / (double)s.count, runs, passes);

    double ns[NPARSERS][101];
    for (int r = 0; r < runs; r++) {
        for (size_t j = 0; j < NPARSERS; j++) {
            size_t k = (j + (size_t)r) % NPARSERS; /* rotate the order */
            if (!available(&parsers[k])) {
                continue;
            }
            uint64_t t0 = now_ns();
            for (int pass = 0; pass < passes; pass++) {
                parsers[k].fn(&s);
            }
            ns[k][r] = (double)(now_ns() - t0) / ((double)s.count * passes);
        }
    }
    double med[NPARSERS];
    printf("%-18s %10s %10s %10s %10s %12s\n", "parser", "median", "min", "max", "MB/s", "vs pico");
    size_t pico = 3;
    for (size_t k = 0; k < NPARSERS; k++) {
        if (!available(&parsers[k])) {
            med[k] = 0;
            continue;
        }
        qsort(ns[k], (size_t)runs, sizeof(double), cmp_double);
        med[k] = ns[k][runs / 2];
    }
    for (size_t k = 0; k < NPARSERS; k++) {
        if (!available(&parsers[k])) {
            printf("%-18s (not supported by this CPU)\n", parsers[k].name);
            continue;
        }
        printf("%-18s %8.1fns %8.1fns %8.1fns %10.0f %11.2fx\n", parsers[k].name, med[k], ns[k][0],
               ns[k][runs - 1], (double)s.bytes / (double)s.count / med[k] * 1e3,
               med[k] / med[pico]);
    }
    printf("llhttp / best libswoole: %.2fx\n", med[4] / (med[2]   ? med[2]
                                                         : med[1] ? med[1]
                                                                  : med[0]));
    free(s.buf);
    free(s.off);
    free(s.len);
    return 0;
}
