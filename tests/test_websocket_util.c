/* Helpers of the WebSocket tests: see test_websocket_util.h. */
#include "test_websocket_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sw_test.h"
#include "swoole/error.h"
#include "swoole/websocket.h"

void ws_bytes_put(ws_bytes_t *b, const void *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1) {
            cap *= 2;
        }
        uint8_t *q = realloc(b->p, cap);
        ASSERT_NOT_NULL(q);
        b->p = q;
        b->cap = cap;
    }
    if (n) {
        memcpy(b->p + b->n, p, n);
    }
    b->n += n;
    b->p[b->n] = 0; /* handy for strings */
}

void ws_bytes_free(ws_bytes_t *b)
{
    free(b->p);
    *b = (ws_bytes_t){0};
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Parses a quoted string at *s (pointing at the quote) into out; advances *s past it. */
static const char *parse_string(const char **s, ws_bytes_t *out)
{
    const char *p = *s + 1;
    for (; *p && *p != '"'; p++) {
        uint8_t c = (uint8_t)*p;
        if (c == '\\') {
            p++;
            switch (*p) {
            case '\\':
                c = '\\';
                break;
            case '"':
                c = '"';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'x': {
                int h = hexval(p[1]), l = h < 0 ? -1 : hexval(p[2]);
                if (l < 0) {
                    return "bad \\x escape";
                }
                c = (uint8_t)(h << 4 | l);
                p += 2;
                break;
            }
            default:
                return "bad escape";
            }
        }
        ws_bytes_put(out, &c, 1);
    }
    if (*p != '"') {
        return "unterminated string";
    }
    *s = p + 1;
    return NULL;
}

const char *ws_parse_bytes(const char *s, ws_bytes_t *out, bool allow_mask)
{
    uint8_t key[4];
    bool masking = false;
    size_t mask_from = 0;
    while (*s) {
        if (*s == ' ' || *s == '\t') {
            s++;
            continue;
        }
        if (*s == '@') {
            if (!allow_mask) {
                return "mask not allowed here";
            }
            for (int i = 0; i < 4; i++) {
                int h = hexval(s[1 + 2 * i]), l = h < 0 ? -1 : hexval(s[2 + 2 * i]);
                if (l < 0) {
                    return "bad mask key";
                }
                key[i] = (uint8_t)(h << 4 | l);
            }
            if (masking) {
                for (size_t i = mask_from; i < out->n; i++) {
                    out->p[i] ^= key[(i - mask_from) & 3];
                }
            }
            s += 9;
            ws_bytes_put(out, key, 4);
            masking = true;
            mask_from = out->n;
            continue;
        }
        if (*s == '/') { /* ends the masked part of the line */
            if (masking) {
                for (size_t i = mask_from; i < out->n; i++) {
                    out->p[i] ^= key[(i - mask_from) & 3];
                }
            }
            masking = false;
            s++;
            continue;
        }
        /* N*token */
        const char *star = NULL;
        long repeat = 1;
        if (*s >= '0' && *s <= '9') {
            char *endp;
            long r = strtol(s, &endp, 10);
            if (*endp == '*') {
                repeat = r;
                star = endp;
            }
        }
        if (star) {
            s = star + 1;
        }
        ws_bytes_t one = {0};
        if (*s == '"') {
            const char *err = parse_string(&s, &one);
            if (err) {
                ws_bytes_free(&one);
                return err;
            }
        } else {
            while (*s && *s != ' ' && *s != '\t') {
                int h = hexval(s[0]), l = h < 0 ? -1 : hexval(s[1]);
                if (l < 0) {
                    ws_bytes_free(&one);
                    return "bad hex";
                }
                uint8_t c = (uint8_t)(h << 4 | l);
                ws_bytes_put(&one, &c, 1);
                s += 2;
            }
        }
        for (long i = 0; i < repeat; i++) {
            ws_bytes_put(out, one.p, one.n);
        }
        ws_bytes_free(&one);
    }
    if (masking) {
        for (size_t i = mask_from; i < out->n; i++) {
            out->p[i] ^= key[(i - mask_from) & 3];
        }
    }
    return NULL;
}

void ws_guard_init(ws_guard_t *g, size_t need)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t size = (need + pg - 1) / pg * pg + pg;
    if (size < 2 * pg) {
        size = 2 * pg;
    }
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_TRUE(m != MAP_FAILED);
    ASSERT_EQ(mprotect((uint8_t *)m + size - pg, pg, PROT_NONE), 0);
    g->base = m;
    g->size = size;
    g->end = (uint8_t *)m + size - pg;
}

uint8_t *ws_guard_place(ws_guard_t *g, const void *src, size_t n)
{
    ASSERT_ULE(n, (size_t)(g->end - g->base));
    uint8_t *p = g->end - n;
    if (n) {
        memcpy(p, src, n);
    }
    return p;
}

void ws_guard_free(ws_guard_t *g)
{
    if (g->base) {
        munmap(g->base, g->size);
    }
    *g = (ws_guard_t){0};
}

int ws_err_by_name(const char *name)
{
    if (strcmp(name, "OK") == 0) {
        return 0;
    }
    for (int code = SW_ERRNO_LIBRARY_MIN; code < 0; code++) {
        if (strcmp(sw_err_name(code), name) == 0) {
            return code;
        }
    }
    return 1;
}

int ws_detail_by_name(const char *name)
{
    for (int d = 0; d < SW_WS_DETAIL_COUNT_; d++) {
        if (strcmp(sw_ws_detail_name(d), name) == 0) {
            return d;
        }
    }
    return -1;
}

const char *ws_data_dir(void)
{
    /* CMake compiles sources by absolute path, so __FILE__ names this directory. */
    static char dir[4096];
    if (!dir[0]) {
        const char *file = __FILE__;
        const char *slash = strrchr(file, '/');
        ASSERT_NOT_NULL(slash);
        snprintf(dir, sizeof(dir), "%.*sdata/websocket/", (int)(slash - file + 1), file);
    }
    return dir;
}

char *ws_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sw_test_fail(__FILE__, __LINE__, "cannot open %s", path);
    }
    ws_bytes_t b = {0};
    char chunk[4096];
    size_t r;
    while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        ws_bytes_put(&b, chunk, r);
    }
    fclose(f);
    ws_bytes_put(&b, "", 0);
    if (len) {
        *len = b.n;
    }
    return (char *)b.p;
}
