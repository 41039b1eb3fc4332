/*
 * Static files from document_root (enable_static_handler): GET and HEAD, MIME types from the
 * extension, ETag and Last-Modified with 304 (If-None-Match wins over If-Modified-Since, RFC
 * 9110 §13.2.2), one byte range (RFC 9110 §14: 206, or 416 with "bytes *\/size"; several
 * ranges are answered with the whole file, which §14.2 allows), bodies sent with sendfile.
 *
 * Confinement: the decoded path may not contain a ".." segment (403; "%2e%2e" is decoded
 * before the check, and %00 was refused by the request parser); the file's realpath must lie
 * inside the realpath of document_root (a symlink leading out is answered 404, as if the file
 * did not exist). A path that names nothing, or no regular file, goes on to on_request.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "httpd/httpd_int.h"
#include "swoole/error.h"

static const char *const mime_table[][2] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css"},
    {"js", "text/javascript"},
    {"mjs", "text/javascript"},
    {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"wasm", "application/wasm"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
};

const char *sw__httpd_mime(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    if (dot && (!slash || dot > slash)) {
        for (size_t i = 0; i < sizeof(mime_table) / sizeof(mime_table[0]); i++) {
            if (strcasecmp(dot + 1, mime_table[i][0]) == 0) {
                return mime_table[i][1];
            }
        }
    }
    return "application/octet-stream";
}

static bool has_dotdot(const char *p)
{
    while (*p) {
        while (*p == '/') {
            p++;
        }
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            return true;
        }
        p += n;
    }
    return false;
}

static int answer(sw_http_response_t *resp, int status, const char *body)
{
    (void)sw_http_response_status(resp, status, NULL);
    (void)sw_http_response_header(resp, "Content-Type", "text/plain");
    (void)sw_http_response_end(resp, body, strlen(body));
    return 1;
}

static bool parse_u64(const char **s, uint64_t *v)
{
    const char *p = *s;
    uint64_t x = 0;
    if (*p < '0' || *p > '9') {
        return false;
    }
    while (*p >= '0' && *p <= '9') {
        if (x > (UINT64_MAX - 9) / 10) {
            return false;
        }
        x = x * 10 + (uint64_t)(*p++ - '0');
    }
    *s = p;
    *v = x;
    return true;
}

/* One "bytes=" range against `size`: 1 with [*from, *to] (inclusive), 0 when the header is to
 * be ignored (not bytes, several ranges, bad syntax), -1 when unsatisfiable. */
static int parse_range(const char *v, size_t n, uint64_t size, uint64_t *from, uint64_t *to)
{
    char buf[128];
    if (n < 6 || n >= sizeof(buf) || strncasecmp(v, "bytes=", 6) != 0) {
        return 0;
    }
    memcpy(buf, v, n);
    buf[n] = '\0';
    if (strchr(buf, ',')) {
        return 0;
    }
    const char *p = buf + 6;
    uint64_t a, b;
    if (*p == '-') {
        p++;
        if (!parse_u64(&p, &b) || *p) {
            return 0;
        }
        if (b == 0 || size == 0) {
            return -1;
        }
        *from = b >= size ? 0 : size - b;
        *to = size - 1;
        return 1;
    }
    if (!parse_u64(&p, &a) || *p++ != '-') {
        return 0;
    }
    if (*p == '\0') {
        b = UINT64_MAX;
    } else if (!parse_u64(&p, &b) || *p || b < a) {
        return 0;
    }
    if (a >= size) {
        return -1;
    }
    *from = a;
    *to = b >= size ? size - 1 : b;
    return 1;
}

int sw__httpd_static(sw__hworker_t *w, sw_http_request_t *req, sw_http_response_t *resp)
{
    int m = req->p.method;
    if (m != SW_HTTP_METHOD_GET && m != SW_HTTP_METHOD_HEAD) {
        return 0;
    }
    if (has_dotdot(req->path)) {
        return answer(resp, 403, "Forbidden\n");
    }
    size_t rl = strlen(w->root_real);
    char *full = sw__malloc(rl + req->path_len + 16);
    if (!full) {
        return answer(resp, 500, "Internal Server Error\n");
    }
    memcpy(full, w->root_real, rl);
    memcpy(full + rl, req->path, req->path_len + 1);
    if (req->path[req->path_len - 1] == '/') {
        strcat(full, "index.html");
    }
    char *real = realpath(full, NULL);
    sw__free(full);
    if (!real) {
        return 0;
    }
    int rc = 0;
    struct stat st;
    bool inside = strncmp(real, w->root_real, rl) == 0 && (real[rl] == '/' || real[rl] == '\0');
    if (!inside) {
        rc = answer(resp, 404, "Not Found\n");
        goto out;
    }
    if (stat(real, &st) < 0 || !S_ISREG(st.st_mode)) {
        goto out;
    }
    uint64_t size = (uint64_t)st.st_size;
    char etag[64], lm[SW_HTTP_DATE_SIZE];
    snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)st.st_mtime,
             (unsigned long long)size);
    if (sw_http_date_format((int64_t)st.st_mtime, lm) < 0) {
        lm[0] = '\0';
    }
    size_t n;
    const char *inm = sw_http_request_header(req, "if-none-match", &n);
    bool not_modified = false;
    if (inm) {
        not_modified = (n == 1 && inm[0] == '*') ||
                       (n >= strlen(etag) && memmem(inm, n, etag, strlen(etag)) != NULL);
    } else {
        const char *ims = sw_http_request_header(req, "if-modified-since", &n);
        int64_t t;
        if (ims && sw_http_date_parse(ims, n, &t) == 0 && (int64_t)st.st_mtime <= t) {
            not_modified = true;
        }
    }
    (void)sw_http_response_header(resp, "ETag", etag);
    if (lm[0]) {
        (void)sw_http_response_header(resp, "Last-Modified", lm);
    }
    if (not_modified) {
        (void)sw_http_response_status(resp, 304, NULL);
        (void)sw_http_response_end(resp, NULL, 0);
        rc = 1;
        goto out;
    }
    (void)sw_http_response_header(resp, "Content-Type", sw__httpd_mime(real));
    (void)sw_http_response_header(resp, "Accept-Ranges", "bytes");
    uint64_t from = 0, to = 0;
    const char *range = sw_http_request_header(req, "range", &n);
    int rr = range ? parse_range(range, n, size, &from, &to) : 0;
    char cr[96];
    if (rr < 0) {
        snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
        (void)sw_http_response_header(resp, "Content-Range", cr);
        rc = answer(resp, 416, "Range Not Satisfiable\n");
        goto out;
    }
    if (rr > 0) {
        snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)from,
                 (unsigned long long)to, (unsigned long long)size);
        (void)sw_http_response_header(resp, "Content-Range", cr);
        (void)sw_http_response_status(resp, 206, NULL);
        (void)sw_http_response_sendfile(resp, real, from, to - from + 1);
        rc = 1;
        goto out;
    }
    if (size == 0) {
        (void)sw_http_response_end(resp, NULL, 0);
    } else {
        (void)sw_http_response_sendfile(resp, real, 0, size);
    }
    rc = 1;
out:
    free(real);
    return rc;
}
