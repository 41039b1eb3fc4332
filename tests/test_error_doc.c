/*
 * docs/api/error.md must list every code of include/swoole/error.h, with its value and
 * message, exactly as tools/gen-error-table.sh prints it. The expected rows are made from the
 * same X-macro list that makes the enum, so a code added to error.h without regenerating the
 * page fails here.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sw_test.h"

/* The source tree's root, from this file's path as the build passed it (absolute with CMake). */
static void source_root(char *out, size_t cap)
{
    const char *self = __FILE__;
    const char *tail = strstr(self, "tests/test_error_doc.c");
    ASSERT_NOT_NULL(tail);
    size_t n = (size_t)(tail - self);
    ASSERT_LT(n + 1, cap);
    memcpy(out, self, n);
    out[n] = '\0';
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sw_test_fail(__FILE__, __LINE__, "cannot open %s", path);
    }
    size_t cap = 1 << 16, n = 0, r;
    char *buf = malloc(cap + 1);
    ASSERT_NOT_NULL(buf);
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            ASSERT_NOT_NULL(buf);
        }
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

SW_TEST(error_doc_lists_every_code)
{
    char root[4096], path[4200];
    source_root(root, sizeof(root));
    snprintf(path, sizeof(path), "%sdocs/api/error.md", root);
    size_t len = 0;
    char *doc = read_all(path, &len);

    static const char *const rows[] = {
#define SW_DOC_ROW_(name, value, msg) "| `SW_" #name "` | " #value " | " msg " |\n",
        SW_ERRNO_MAP(SW_DOC_ROW_)
#undef SW_DOC_ROW_
    };
    size_t want = sizeof(rows) / sizeof(rows[0]);
    for (size_t i = 0; i < want; i++) {
        if (!strstr(doc, rows[i])) {
            sw_test_fail(__FILE__, __LINE__,
                         "docs/api/error.md lacks the row %s(run tools/gen-error-table.sh)",
                         rows[i]);
        }
    }
    /* And nothing more: a code removed from error.h must leave the page too. */
    size_t found = 0;
    for (const char *p = doc; (p = strstr(p, "\n| `SW_")) != NULL; p++) {
        found++;
    }
    ASSERT_UEQ(found, want);
    free(doc);
}
