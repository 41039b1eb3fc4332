/*
 * HTTP helper tests: URL split and percent-decoding (data-driven, tests/data/http/url.txt),
 * forms, cookies, Set-Cookie, dates and status phrases.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "swoole/http.h"
#include "sw_test.h"
#include "test_http_util.h"

/* ------------------------------------------------------------------------------------------ */
/* URL vectors: directives "form authority" (default: any) or "decode [plus] [nul]". */

static void log_part(sb_t *log, const char *what, const char *s, sw_http_span_t sp)
{
    sb_printf(log, "%s ", what);
    sb_quote(log, s + sp.off, sp.len);
    sb_add(log, "\n", 1);
}

static void url_case(const hvec_t *v, const char *path)
{
    int form = SW_HTTP_URL_ANY, decode = 0;
    unsigned flags = 0;
    for (int i = 0; i < v->ndirectives; i++) {
        const char *d = v->directive[i];
        if (strcmp(d, "form authority") == 0) {
            form = SW_HTTP_URL_AUTHORITY;
        } else if (strncmp(d, "decode", 6) == 0) {
            decode = 1;
            flags |= strstr(d, "plus") ? SW_HTTP_DECODE_PLUS : 0;
            flags |= strstr(d, "nul") ? SW_HTTP_DECODE_REJECT_NUL : 0;
        } else {
            sw_test_fail(path, v->line, "unknown directive %s", d);
        }
    }
    size_t n = v->input.len;
    guard_arena_t g;
    guard_open(&g, n + 1);
    const char *s = guard_place(&g, v->input.s ? v->input.s : "", n);
    sb_t log = {0};
    int r;
    if (decode) {
        char *out = malloc(n + 1);
        ASSERT_NOT_NULL(out);
        r = sw_http_url_decode(s, n, out, n, flags);
        if (r < 0) {
            sb_printf(&log, "error %s\n", sw_err_name(r));
        } else {
            sb_add(&log, "decoded ", 8);
            sb_quote(&log, out, (size_t)r);
            sb_add(&log, "\n", 1);
            /* In place gives the same bytes; a buffer one byte short gives ENOBUFS. */
            char *inplace = guard_place(&g, v->input.s ? v->input.s : "", n);
            ASSERT_EQ(sw_http_url_decode(inplace, n, inplace, n, flags), r);
            ASSERT_MEM_EQ(inplace, out, (size_t)r);
            if (r > 0) {
                ASSERT_ERR(sw_http_url_decode(v->input.s, n, out, (size_t)r - 1, flags),
                           SW_ENOBUFS);
            }
        }
        free(out);
    } else {
        sw_http_url_t u;
        r = sw_http_url_parse(s, n, form, &u);
        if (r < 0) {
            sb_printf(&log, "error %s\n", sw_err_name(r));
        } else {
            if (u.scheme.len) {
                log_part(&log, "scheme", s, u.scheme);
            }
            if (u.has_authority) {
                sb_add(&log, "authority\n", 10);
            }
            if (u.userinfo.len) {
                log_part(&log, "userinfo", s, u.userinfo);
            }
            if (u.host.len) {
                log_part(&log, "host", s, u.host);
            }
            if (u.port.len) {
                log_part(&log, "port", s, u.port);
                sb_printf(&log, "port_num %u\n", u.port_num);
            }
            log_part(&log, "path", s, u.path);
            if (u.has_query) {
                log_part(&log, "query", s, u.query);
            }
            if (u.has_fragment) {
                log_part(&log, "fragment", s, u.fragment);
            }
        }
    }
    const char *want = v->expect.s ? v->expect.s : "";
    const char *pm = getenv("SW_HTTP_VECTORS_PRINT");
    if (pm && *pm == '1') {
        printf("=== %s (%s:%d)\n%s", v->name, path, v->line, log.s ? log.s : "");
    } else if (strcmp(log.s ? log.s : "", want) != 0) {
        sw_test_fail(path, v->line, "case \"%s\":\n--- want\n%s--- got\n%s", v->name, want,
                     log.s ? log.s : "");
    }
    free(log.s);
    guard_close(&g);
}

SW_TEST(http_url_vectors)
{
    ASSERT_GE(hvec_run_file("url.txt", url_case), 30);
}

SW_TEST(http_url_arguments)
{
    sw_http_url_t u;
    char out[4];
    ASSERT_ERR(sw_http_url_parse(NULL, 1, SW_HTTP_URL_ANY, &u), SW_EINVAL);
    ASSERT_ERR(sw_http_url_parse("/", 1, SW_HTTP_URL_ANY, NULL), SW_EINVAL);
    ASSERT_ERR(sw_http_url_parse("/", 1, 5, &u), SW_EINVAL);
    ASSERT_ERR(sw_http_url_parse("/", 0, SW_HTTP_URL_ANY, &u), SW_EHTTP_URL);
    ASSERT_ERR(sw_http_url_decode(NULL, 1, out, 4, 0), SW_EINVAL);
    ASSERT_ERR(sw_http_url_decode("a", 1, NULL, 4, 0), SW_EINVAL);
    ASSERT_EQ(sw_http_url_decode(NULL, 0, NULL, 0, 0), 0);
}

/* ------------------------------------------------------------------------------------------ */

static void expect_kv(const char *buf, const sw_http_kv_t *kv, const char *k, const char *v)
{
    ASSERT_EQ(kv->key.len, strlen(k));
    ASSERT_MEM_EQ(buf + kv->key.off, k, kv->key.len);
    ASSERT_EQ(kv->value.len, strlen(v));
    ASSERT_MEM_EQ(buf + kv->value.off, v, kv->value.len);
}

SW_TEST(http_form_parse)
{
    sw_http_kv_t kv[8];
    char q[] = "a=1&b=x+y%21&&c&=e&%7e=%E2%82%AC&";
    int n = sw_http_form_parse(q, strlen(q), kv, 8);
    ASSERT_EQ(n, 5);
    expect_kv(q, &kv[0], "a", "1");
    expect_kv(q, &kv[1], "b", "x y!");
    expect_kv(q, &kv[2], "c", "");
    expect_kv(q, &kv[3], "", "e");
    expect_kv(q, &kv[4], "~", "\xe2\x82\xac");

    char lim[] = "a=1&b=2&c=3";
    ASSERT_ERR(sw_http_form_parse(lim, strlen(lim), kv, 2), SW_EHTTP_LIMIT);
    char bad[] = "a=%zz";
    ASSERT_ERR(sw_http_form_parse(bad, strlen(bad), kv, 8), SW_EHTTP_URL);
    char trunc[] = "a=%4";
    ASSERT_ERR(sw_http_form_parse(trunc, strlen(trunc), kv, 8), SW_EHTTP_URL);
    ASSERT_EQ(sw_http_form_parse(NULL, 0, kv, 8), 0);
    ASSERT_ERR(sw_http_form_parse(NULL, 3, kv, 8), SW_EINVAL);
    ASSERT_ERR(sw_http_form_parse(lim, 3, NULL, 8), SW_EINVAL);
    ASSERT_ERR(sw_http_form_parse(lim, 3, NULL, 0), SW_EHTTP_LIMIT);

    /* Against a guard page: the last byte sits before PROT_NONE. */
    guard_arena_t g;
    guard_open(&g, 16);
    char *s = guard_place(&g, "k=v%41", 6);
    ASSERT_EQ(sw_http_form_parse(s, 6, kv, 8), 1);
    expect_kv(s, &kv[0], "k", "vA");
    s = guard_place(&g, "k=v%4", 5);
    ASSERT_ERR(sw_http_form_parse(s, 5, kv, 8), SW_EHTTP_URL);
    guard_close(&g);
}

SW_TEST(http_cookie_parse)
{
    sw_http_kv_t kv[8];
    const char *c = " a=1;b = \"two\" ;;c=;d=x=y; flag ; e=\"\"";
    int n = sw_http_cookie_parse(c, strlen(c), kv, 8);
    ASSERT_EQ(n, 6);
    expect_kv(c, &kv[0], "a", "1");
    expect_kv(c, &kv[1], "b", "two");
    expect_kv(c, &kv[2], "c", "");
    expect_kv(c, &kv[3], "d", "x=y");
    expect_kv(c, &kv[4], "", "flag");
    expect_kv(c, &kv[5], "e", "");
    ASSERT_ERR(sw_http_cookie_parse(c, strlen(c), kv, 3), SW_EHTTP_LIMIT);
    ASSERT_ERR(sw_http_cookie_parse("a=\x01", 3, kv, 8), SW_EHTTP_HEADER_VALUE);
    ASSERT_EQ(sw_http_cookie_parse("", 0, kv, 8), 0);
    ASSERT_EQ(sw_http_cookie_parse(" ; ;", 4, kv, 8), 0);
    ASSERT_ERR(sw_http_cookie_parse(NULL, 1, kv, 8), SW_EINVAL);
    ASSERT_ERR(sw_http_cookie_parse("a", 1, NULL, 8), SW_EINVAL);
}

SW_TEST(http_set_cookie_build)
{
    char out[256];
    sw_http_cookie_t c;
    memset(&c, 0, sizeof(c));
    c.name = "sid";
    c.name_len = 3;
    c.value = "abc123";
    c.value_len = 6;
    ASSERT_EQ(sw_http_set_cookie_build(&c, out, sizeof(out)), 10);
    ASSERT_STR_EQ(out, "sid=abc123");
    c.has_expires = 1;
    c.expires = 784111777;
    c.has_max_age = 1;
    c.max_age = 3600;
    c.domain = "example.com";
    c.domain_len = 11;
    c.path = "/app";
    c.path_len = 4;
    c.secure = 1;
    c.http_only = 1;
    c.same_site = SW_HTTP_SAMESITE_LAX;
    const char *want = "sid=abc123; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Max-Age=3600; "
                       "Domain=example.com; Path=/app; Secure; HttpOnly; SameSite=Lax";
    ASSERT_EQ(sw_http_set_cookie_build(&c, out, sizeof(out)), (int)strlen(want));
    ASSERT_STR_EQ(out, want);
    /* Exactly enough room, and one byte less. */
    ASSERT_EQ(sw_http_set_cookie_build(&c, out, strlen(want) + 1), (int)strlen(want));
    ASSERT_ERR(sw_http_set_cookie_build(&c, out, strlen(want)), SW_ENOBUFS);
    c.max_age = -5;
    ASSERT_GT(sw_http_set_cookie_build(&c, out, sizeof(out)), 0);
    ASSERT_NOT_NULL(strstr(out, "; Max-Age=0;"));
    /* SameSite=None needs Secure. */
    c.same_site = SW_HTTP_SAMESITE_NONE;
    c.secure = 0;
    ASSERT_ERR(sw_http_set_cookie_build(&c, out, sizeof(out)), SW_EINVAL);
    c.secure = 1;
    ASSERT_GT(sw_http_set_cookie_build(&c, out, sizeof(out)), 0);
    ASSERT_NOT_NULL(strstr(out, "; Secure; HttpOnly; SameSite=None"));
    /* Quoted values are allowed; the characters inside are still checked. */
    c.value = "\"q v\"";
    c.value_len = 5;
    ASSERT_ERR(sw_http_set_cookie_build(&c, out, sizeof(out)), SW_EINVAL);
    c.value = "\"qv\"";
    c.value_len = 4;
    ASSERT_GT(sw_http_set_cookie_build(&c, out, sizeof(out)), 0);
    static const char *const bad_values[] = {"a;b", "a,b", "a b", "a\\b", "a\"b", "\x7f"};
    for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
        c.value = bad_values[i];
        c.value_len = strlen(bad_values[i]);
        ASSERT_ERR(sw_http_set_cookie_build(&c, out, sizeof(out)), SW_EINVAL);
    }
    c.value = "ok";
    c.value_len = 2;
    c.name = "a=b";
    c.name_len = 3;
    ASSERT_ERR(sw_http_set_cookie_build(&c, out, sizeof(out)), SW_EINVAL);
    c.name = "";
    c.name_len = 0;
    ASSERT_ERR(sw_http_set_cookie_build(&c, out, sizeof(out)), SW_EINVAL);
    c.name = "n";
    c.name_len = 1;
    c.path = "/a;b";
    ASSERT_ERR(sw_http_set_cookie_build(&c, out, sizeof(out)), SW_EINVAL);
    c.path = "/ok";
    c.domain = "a\r\nb";
    c.domain_len = 4;
    ASSERT_ERR(sw_http_set_cookie_build(&c, out, sizeof(out)), SW_EINVAL);
    c.domain_len = 0;
    c.same_site = 9;
    ASSERT_ERR(sw_http_set_cookie_build(&c, out, sizeof(out)), SW_EINVAL);
    c.same_site = SW_HTTP_SAMESITE_STRICT;
    c.expires = (int64_t)1 << 60;
    ASSERT_ERR(sw_http_set_cookie_build(&c, out, sizeof(out)), SW_EINVAL);
    ASSERT_ERR(sw_http_set_cookie_build(NULL, out, sizeof(out)), SW_EINVAL);
    ASSERT_ERR(sw_http_set_cookie_build(&c, NULL, 10), SW_EINVAL);
    ASSERT_ERR(sw_http_set_cookie_build(&c, out, 0), SW_EINVAL);
}

/* ------------------------------------------------------------------------------------------ */

SW_TEST(http_date_format)
{
    char out[SW_HTTP_DATE_SIZE];
    /* RFC 9110 §5.6.7's example. */
    ASSERT_EQ(sw_http_date_format(784111777, out), 29);
    ASSERT_STR_EQ(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    ASSERT_EQ(sw_http_date_format(0, out), 29);
    ASSERT_STR_EQ(out, "Thu, 01 Jan 1970 00:00:00 GMT");
    ASSERT_EQ(sw_http_date_format(-1, out), 29);
    ASSERT_STR_EQ(out, "Wed, 31 Dec 1969 23:59:59 GMT");
    ASSERT_EQ(sw_http_date_format(951782400, out), 29);
    ASSERT_STR_EQ(out, "Tue, 29 Feb 2000 00:00:00 GMT");
    ASSERT_EQ(sw_http_date_format(253402300799LL, out), 29);
    ASSERT_STR_EQ(out, "Fri, 31 Dec 9999 23:59:59 GMT");
    ASSERT_EQ(sw_http_date_format(-62167219200LL, out), 29);
    ASSERT_STR_EQ(out, "Sat, 01 Jan 0000 00:00:00 GMT");
    ASSERT_ERR(sw_http_date_format(253402300800LL, out), SW_EINVAL);
    ASSERT_ERR(sw_http_date_format(-62167219201LL, out), SW_EINVAL);
    ASSERT_ERR(sw_http_date_format(0, NULL), SW_EINVAL);
    /* Every day of four years round-trips through the parser. */
    for (int64_t t = 1577836800; t < 1577836800 + 4 * 366 * 86400LL; t += 86400 + 3661) {
        int64_t back = 0;
        ASSERT_EQ(sw_http_date_format(t, out), 29);
        ASSERT_OK(sw_http_date_parse(out, 29, &back));
        ASSERT_EQ(back, t);
    }
}

SW_TEST(http_date_parse)
{
    int64_t t = 0;
    /* The three forms of RFC 9110 §5.6.7, all the same instant. */
    ASSERT_OK(sw_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", 29, &t));
    ASSERT_EQ(t, 784111777);
    t = 0;
    ASSERT_OK(sw__http_date_parse_at("Sunday, 06-Nov-94 08:49:37 GMT", 30, 2026, &t));
    ASSERT_EQ(t, 784111777);
    t = 0;
    ASSERT_OK(sw_http_date_parse("Sun Nov  6 08:49:37 1994", 24, &t));
    ASSERT_EQ(t, 784111777);
    ASSERT_OK(sw_http_date_parse("Thu Jan 22 08:49:37 2026", 24, &t));
    /* The two-digit year rule: more than 50 years ahead means the previous century. */
    ASSERT_OK(sw__http_date_parse_at("Wednesday, 01-Jan-70 00:00:00 GMT", 33, 2026, &t));
    ASSERT_EQ(t, 3155760000LL); /* 2070 */
    ASSERT_OK(sw__http_date_parse_at("Wednesday, 01-Jan-76 00:00:00 GMT", 33, 2026, &t));
    ASSERT_EQ(t, 3345062400LL); /* 2076: exactly 50 years ahead is still the future */
    ASSERT_OK(sw__http_date_parse_at("Saturday, 01-Jan-77 00:00:00 GMT", 32, 2026, &t));
    ASSERT_EQ(t, 220924800); /* 1977 */
    ASSERT_OK(sw__http_date_parse_at("Saturday, 01-Jan-01 00:00:00 GMT", 32, 2099, &t));
    ASSERT_EQ(t, 4133980800LL); /* 2101, seen from 2099 */
    /* Leap day, leap second. */
    ASSERT_OK(sw_http_date_parse("Tue, 29 Feb 2000 00:00:00 GMT", 29, &t));
    ASSERT_EQ(t, 951782400);
    ASSERT_OK(sw_http_date_parse("Sat, 31 Dec 2016 23:59:60 GMT", 29, &t));
    ASSERT_EQ(t, 1483228800);
    static const char *const bad[] = {
        "Mon, 06 Nov 1994 08:49:37 GMT",  /* wrong day name */
        "Sun, 06 Nov 1994 08:49:37 UTC",  /* not GMT */
        "Sun, 6 Nov 1994 08:49:37 GMT",   /* one-digit day */
        "Sun, 06 nov 1994 08:49:37 GMT",  /* month is case-sensitive */
        "Sun, 06 Nov 1994 24:00:00 GMT",  /* hour */
        "Sun, 06 Nov 1994 08:60:00 GMT",  /* minute */
        "Sun, 06 Nov 1994 08:49:61 GMT",  /* second */
        "Tue, 29 Feb 1900 00:00:00 GMT",  /* 1900 is not a leap year */
        "Thu, 31 Apr 2026 00:00:00 GMT",  /* no 31 April */
        "Sun, 06 Nov 1994 08:49:37 GMT ", /* trailing byte */
        "Sun, 06 Nov 1994 08:49:37",      /* truncated */
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov 06 08:49:37 94",
        "",
        "Sun",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        guard_arena_t g;
        guard_open(&g, 64);
        const char *s = guard_place(&g, bad[i], strlen(bad[i]));
        int r = sw_http_date_parse(s, strlen(bad[i]), &t);
        guard_close(&g);
        if (r != SW_EHTTP_HEADER_VALUE) {
            sw_test_fail(__FILE__, __LINE__, "date \"%s\" gave %d", bad[i], r);
        }
    }
    ASSERT_ERR(sw_http_date_parse(NULL, 1, &t), SW_EINVAL);
    ASSERT_ERR(sw_http_date_parse("x", 1, NULL), SW_EINVAL);
}

SW_TEST(http_status_reason)
{
    ASSERT_STR_EQ(sw_http_status_reason(200), "OK");
    ASSERT_STR_EQ(sw_http_status_reason(404), "Not Found");
    ASSERT_STR_EQ(sw_http_status_reason(413), "Content Too Large");
    ASSERT_STR_EQ(sw_http_status_reason(431), "Request Header Fields Too Large");
    ASSERT_STR_EQ(sw_http_status_reason(101), "Switching Protocols");
    ASSERT_STR_EQ(sw_http_status_reason(511), "Network Authentication Required");
    ASSERT_NULL(sw_http_status_reason(0));
    ASSERT_NULL(sw_http_status_reason(299));
    ASSERT_NULL(sw_http_status_reason(600));
    ASSERT_NULL(sw_http_status_reason(-1));
    int known = 0;
    for (int s = 100; s < 600; s++) {
        const char *r = sw_http_status_reason(s);
        if (r) {
            known++;
            ASSERT_GT(strlen(r), 1);
        }
    }
    ASSERT_EQ(known, 61);
}
