/*
 * Helpers shared by the HTTP tests: a guard-page arena that places bytes right before a
 * PROT_NONE page (picohttpparser's test.c does the same), so a parser that reads one byte
 * past its input crashes instead of passing by luck; and the path of the vector files.
 */
#ifndef SW_TEST_HTTP_UTIL_H
#define SW_TEST_HTTP_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sw_test.h"

typedef struct {
    char *map;   /* whole mapping */
    size_t size; /* bytes before the guard page */
    char *guard; /* first byte of the PROT_NONE page */
} guard_arena_t;

static inline void guard_open(guard_arena_t *g, size_t need)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    g->size = (need + page - 1) / page * page + page;
    g->map = mmap(NULL, g->size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_TRUE(g->map != MAP_FAILED);
    g->guard = g->map + g->size;
    ASSERT_EQ(mprotect(g->guard, page, PROT_NONE), 0);
}

static inline void guard_close(guard_arena_t *g)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    munmap(g->map, g->size + page);
    g->map = g->guard = NULL;
}

/* Copies `len` bytes so that they end right before the guard page; returns their start. */
static inline char *guard_place(guard_arena_t *g, const void *data, size_t len)
{
    ASSERT_ULE(len, g->size);
    char *dst = g->guard - len;
    if (len > 0) {
        memmove(dst, data, len);
    }
    return dst;
}

/* Path of a file in tests/data/http, found from this source file's location. */
static inline void http_data_path(char *out, size_t cap, const char *name)
{
    const char *here = __FILE__;
    const char *slash = strrchr(here, '/');
    int dir = slash ? (int)(slash - here) : 1;
    snprintf(out, cap, "%.*s/data/http/%s", dir, slash ? here : ".", name);
}

/* Reads a whole file into a malloc'd NUL-terminated buffer. */
static inline char *http_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sw_test_fail(__FILE__, __LINE__, "cannot open %s", path);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ASSERT_NOT_NULL(buf);
    ASSERT_EQ(fread(buf, 1, (size_t)n, f), n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* ------------------------------------------------------------------------------------------ */
/* A growable string. */

typedef struct {
    char *s;
    size_t len, cap;
} sb_t;

static inline void sb_add(sb_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        ASSERT_NOT_NULL(b->s);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static inline void sb_printf(sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void sb_printf(sb_t *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    ASSERT_LT(n, (int)sizeof(tmp));
    sb_add(b, tmp, (size_t)n);
}

/* Appends `s` quoted, with C escapes for anything that is not printable ASCII. */
static inline void sb_quote(sb_t *b, const char *s, size_t n)
{
    sb_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r') {
            sb_add(b, "\\r", 2);
        } else if (c == '\n') {
            sb_add(b, "\\n", 2);
        } else if (c == '\t') {
            sb_add(b, "\\t", 2);
        } else if (c == '"' || c == '\\') {
            sb_add(b, "\\", 1);
            sb_add(b, (const char *)&c, 1);
        } else if (c < 0x20 || c >= 0x7f) {
            sb_printf(b, "\\x%02x", c);
        } else {
            sb_add(b, (const char *)&c, 1);
        }
    }
    sb_add(b, "\"", 1);
}

/* Decodes one "< " line's escapes into `out`. */
static inline void decode_input(const char *s, size_t n, sb_t *out, const char *file, int line)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '{' && i + 1 < n && s[i + 1] == '{') {
            char *end;
            long count = strtol(s + i + 2, &end, 10);
            if (*end != ':' || count < 0) {
                sw_test_fail(file, line, "bad {{N:c}}");
            }
            sb_t one = {0};
            const char *close = strstr(end, "}}");
            if (!close) {
                sw_test_fail(file, line, "unterminated {{");
            }
            decode_input(end + 1, (size_t)(close - end - 1), &one, file, line);
            for (long k = 0; k < count; k++) {
                sb_add(out, one.s ? one.s : "", one.len);
            }
            free(one.s);
            i = (size_t)(close - s) + 1;
            continue;
        }
        if (c != '\\') {
            sb_add(out, &c, 1);
            continue;
        }
        if (++i >= n) {
            sw_test_fail(file, line, "trailing backslash");
        }
        switch (s[i]) {
        case 'r':
            sb_add(out, "\r", 1);
            break;
        case 'n':
            sb_add(out, "\n", 1);
            break;
        case 't':
            sb_add(out, "\t", 1);
            break;
        case '0':
            sb_add(out, "", 1);
            break;
        case '\\':
            sb_add(out, "\\", 1);
            break;
        case '{':
            sb_add(out, "{", 1);
            break;
        case 'x': {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            char v = (char)strtol(hex, NULL, 16);
            sb_add(out, &v, 1);
            i += 2;
            break;
        }
        default:
            sw_test_fail(file, line, "unknown escape \\%c", s[i]);
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* A generic reader of the vector files: "=== name" starts a case, "< " lines are input (with
 * the escapes of decode_input), "> " lines the expected log, "#" lines comments, any other
 * line a directive the caller interprets. */

typedef struct {
    char name[160];
    int line;
    char directive[16][160];
    int ndirectives;
    sb_t input;
    sb_t expect;
} hvec_t;

typedef void (*hvec_fn)(const hvec_t *v, const char *path);

static inline void hvec_clear(hvec_t *v)
{
    free(v->input.s);
    free(v->expect.s);
    memset(v, 0, sizeof(*v));
}

/* Calls `fn` for each case of tests/data/http/<name>; returns the number of cases. */
static inline int hvec_run_file(const char *name, hvec_fn fn)
{
    char path[1024];
    size_t len;
    http_data_path(path, sizeof(path), name);
    char *text = http_read_file(path, &len);
    hvec_t v;
    memset(&v, 0, sizeof(v));
    int cases = 0, in_case = 0, lineno = 0;
    char *line = text;
    while (line) {
        char *nl = strchr(line, '\n');
        if (nl) {
            *nl = '\0';
        }
        lineno++;
        if (strncmp(line, "=== ", 4) == 0) {
            if (in_case) {
                fn(&v, path);
                cases++;
            }
            hvec_clear(&v);
            snprintf(v.name, sizeof(v.name), "%s", line + 4);
            v.line = lineno;
            in_case = 1;
        } else if (in_case && line[0] != '#' && line[0] != '\0') {
            if (strncmp(line, "< ", 2) == 0 || strcmp(line, "<") == 0) {
                const char *in = line[1] ? line + 2 : line + 1;
                decode_input(in, strlen(in), &v.input, path, lineno);
            } else if (strncmp(line, "> ", 2) == 0) {
                sb_add(&v.expect, line + 2, strlen(line + 2));
                sb_add(&v.expect, "\n", 1);
            } else {
                if (v.ndirectives >= 16) {
                    sw_test_fail(path, lineno, "too many directives");
                }
                snprintf(v.directive[v.ndirectives++], sizeof(v.directive[0]), "%s", line);
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    if (in_case) {
        fn(&v, path);
        cases++;
    }
    hvec_clear(&v);
    free(text);
    ASSERT_GT(cases, 0);
    return cases;
}

#endif
