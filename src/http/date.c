/*
 * HTTP dates (RFC 9110 §5.6.7): IMF-fixdate out; IMF-fixdate, the obsolete RFC 850 form and
 * asctime in. Calendar arithmetic is the proleptic Gregorian calendar with the day-count
 * algorithms of Howard Hinnant ("chrono-Compatible Low-Level Date Algorithms"), so no libc
 * time zone state (gmtime/timegm) is involved and any thread may call these.
 */
#include <string.h>
#include <time.h>

#include "http/http_int.h"

static const char days_short[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const days_long[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Days since 1970-01-01 of y-m-d (m 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int weekday(int64_t days)
{
    int64_t w = (days + 4) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

static int days_in_month(int64_t y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
        return 29;
    }
    return dm[m - 1];
}

static void put2(char *o, int v)
{
    o[0] = (char)('0' + v / 10);
    o[1] = (char)('0' + v % 10);
}

int sw_http_date_format(int64_t t, char out[SW_HTTP_DATE_SIZE])
{
    /* 0000-01-01 .. 9999-12-31 23:59:59 */
    if (!out || t < -62167219200LL || t > 253402300799LL) {
        return SW_EINVAL;
    }
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t secs = t - days * 86400;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    memcpy(out, days_short[weekday(days)], 3);
    out[3] = ',';
    out[4] = ' ';
    put2(out + 5, d);
    out[7] = ' ';
    memcpy(out + 8, months[m - 1], 3);
    out[11] = ' ';
    put2(out + 12, (int)(y / 100));
    put2(out + 14, (int)(y % 100));
    out[16] = ' ';
    put2(out + 17, (int)(secs / 3600));
    out[19] = ':';
    put2(out + 20, (int)(secs / 60 % 60));
    out[22] = ':';
    put2(out + 23, (int)(secs % 60));
    memcpy(out + 25, " GMT", 5);
    return 29;
}

/* Reads exactly `n` digits at s[*i]. */
static int digits(const char *s, size_t len, size_t *i, int n, int *v)
{
    int x = 0;
    for (int k = 0; k < n; k++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9') {
            return -1;
        }
        x = x * 10 + (s[*i] - '0');
        (*i)++;
    }
    *v = x;
    return 0;
}

static int lit(const char *s, size_t len, size_t *i, const char *l)
{
    size_t n = strlen(l);
    if (len - *i < n || memcmp(s + *i, l, n) != 0) {
        return -1;
    }
    *i += n;
    return 0;
}

static int month(const char *s, size_t len, size_t *i)
{
    if (len - *i < 3) {
        return -1;
    }
    for (int m = 0; m < 12; m++) {
        if (memcmp(s + *i, months[m], 3) == 0) {
            *i += 3;
            return m + 1;
        }
    }
    return -1;
}

/* "HH:MM:SS" */
static int time_of_day(const char *s, size_t len, size_t *i, int *secs)
{
    int h, mi, se;
    if (digits(s, len, i, 2, &h) < 0 || lit(s, len, i, ":") < 0 || digits(s, len, i, 2, &mi) < 0 ||
        lit(s, len, i, ":") < 0 || digits(s, len, i, 2, &se) < 0 || h > 23 || mi > 59 || se > 60) {
        return -1;
    }
    *secs = h * 3600 + mi * 60 + se;
    return 0;
}

/* The year a two-digit RFC 850 year means, seen from `now_year` (RFC 9110 §5.6.7): the
 * latest year ending in `yy` that is not more than 50 years in the future. */
static int64_t expand_year(int yy, int64_t now_year)
{
    int64_t y = (now_year / 100) * 100 + 100 + yy;
    while (y > now_year + 50) {
        y -= 100;
    }
    return y;
}

int sw__http_date_parse_at(const char *s, size_t len, int64_t now_year, int64_t *t)
{
    size_t i = 0;
    int wd = -1, d = 0, m = 0, secs = 0, yv = 0;
    int64_t y;
    if (!s || !t) {
        return SW_EINVAL;
    }
    for (int k = 0; k < 7 && wd < 0; k++) {
        size_t n = strlen(days_long[k]);
        if (len >= n + 1 && memcmp(s, days_long[k], n) == 0 && s[n] == ',') {
            /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
            wd = k;
            i = n;
            if (lit(s, len, &i, ", ") < 0 || digits(s, len, &i, 2, &d) < 0 ||
                lit(s, len, &i, "-") < 0 || (m = month(s, len, &i)) < 0 ||
                lit(s, len, &i, "-") < 0 || digits(s, len, &i, 2, &yv) < 0 ||
                lit(s, len, &i, " ") < 0 || time_of_day(s, len, &i, &secs) < 0 ||
                lit(s, len, &i, " GMT") < 0) {
                return SW_EHTTP_HEADER_VALUE;
            }
            y = expand_year(yv, now_year);
            goto check;
        }
    }
    if (len < 4) {
        return SW_EHTTP_HEADER_VALUE;
    }
    for (int k = 0; k < 7; k++) {
        if (memcmp(s, days_short[k], 3) == 0) {
            wd = k;
        }
    }
    if (wd < 0) {
        return SW_EHTTP_HEADER_VALUE;
    }
    i = 3;
    if (s[3] == ',') {
        /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        if (lit(s, len, &i, ", ") < 0 || digits(s, len, &i, 2, &d) < 0 ||
            lit(s, len, &i, " ") < 0 || (m = month(s, len, &i)) < 0 || lit(s, len, &i, " ") < 0 ||
            digits(s, len, &i, 4, &yv) < 0 || lit(s, len, &i, " ") < 0 ||
            time_of_day(s, len, &i, &secs) < 0 || lit(s, len, &i, " GMT") < 0) {
            return SW_EHTTP_HEADER_VALUE;
        }
    } else {
        /* asctime: Sun Nov  6 08:49:37 1994 */
        if (lit(s, len, &i, " ") < 0 || (m = month(s, len, &i)) < 0 || lit(s, len, &i, " ") < 0) {
            return SW_EHTTP_HEADER_VALUE;
        }
        if (i < len && s[i] == ' ') {
            i++;
            if (digits(s, len, &i, 1, &d) < 0) {
                return SW_EHTTP_HEADER_VALUE;
            }
        } else if (digits(s, len, &i, 2, &d) < 0) {
            return SW_EHTTP_HEADER_VALUE;
        }
        if (lit(s, len, &i, " ") < 0 || time_of_day(s, len, &i, &secs) < 0 ||
            lit(s, len, &i, " ") < 0 || digits(s, len, &i, 4, &yv) < 0) {
            return SW_EHTTP_HEADER_VALUE;
        }
    }
    y = yv;
check:
    if (i != len || d < 1 || d > days_in_month(y, m)) {
        return SW_EHTTP_HEADER_VALUE;
    }
    int64_t days = days_from_civil(y, m, d);
    if (weekday(days) != wd) {
        return SW_EHTTP_HEADER_VALUE;
    }
    *t = days * 86400 + secs;
    return 0;
}

int sw_http_date_parse(const char *s, size_t len, int64_t *t)
{
    if (!s || !t) {
        return SW_EINVAL;
    }
    int64_t days = (int64_t)time(NULL) / 86400, y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    return sw__http_date_parse_at(s, len, y, t);
}
