/* Table, random differential test: a long run of random operations on a table and on a
 * private reference map (a plain array indexed by key number), comparing every result, the
 * count after every operation and, periodically, a full iteration and the statistics. */
#include <stdio.h>
#include <stdlib.h>

#include "sw_test.h"
#include "swoole/table.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* 1M operations normally; 200k under sanitizers. */
#define OPS (SANITIZED ? 200000 : 1000000)

enum { C_I8, C_I32, C_I64, C_F, C_S, NCOLS };
#define SMAX 8
static const sw_table_column_t cols[NCOLS] = {
    {"i8", SW_TABLE_INT, 1},  {"i32", SW_TABLE_INT, 4},     {"i64", SW_TABLE_INT, 8},
    {"f", SW_TABLE_FLOAT, 0}, {"s", SW_TABLE_STRING, SMAX},
};

#define CAP     512
#define IDS     800 /* more keys than rows: inserts hit SW_ETABLE_FULL */
#define KEY_MAX 12

typedef struct {
    int present;
    int64_t iv[3]; /* i8, i32, i64 */
    double f;
    size_t slen;
    unsigned char s[SMAX];
} ref_row_t;

typedef struct {
    ref_row_t rows[IDS];
    int count;
    uint64_t rng;
} model_t;

static const int64_t lo[3] = {INT8_MIN, INT32_MIN, INT64_MIN};
static const int64_t hi[3] = {INT8_MAX, INT32_MAX, INT64_MAX};
static const int icol[3] = {C_I8, C_I32, C_I64};

static uint64_t rnd(model_t *m)
{
    /* splitmix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number generators") */
    uint64_t z = (m->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Key of id: id 0 is the empty key; others start with the id's two bytes (so distinct ids
 * give distinct keys) followed by filler that often contains NUL bytes. */
static size_t key_of(int id, unsigned char *k)
{
    if (id == 0) {
        return 0;
    }
    size_t len = 2 + (size_t)(id % (KEY_MAX - 1));
    k[0] = (unsigned char)(id & 0xff);
    k[1] = (unsigned char)(id >> 8);
    for (size_t i = 2; i < len; i++) {
        k[i] = (unsigned char)((id * 31 + (int)i) % 3 == 0 ? 0 : id * (int)i);
    }
    return len;
}

/* A random integer that sometimes falls out of the column's range. */
static int64_t rand_int(model_t *m, int c)
{
    switch (rnd(m) % 4) {
    case 0:
        return (int64_t)(rnd(m) % 21) - 10;
    case 1:
        return hi[c] - (int64_t)(rnd(m) % 3);
    case 2:
        return lo[c] + (int64_t)(rnd(m) % 3);
    default:
        return (int64_t)rnd(m);
    }
}

static double rand_float(model_t *m)
{
    return (double)((int64_t)(rnd(m) % 2001) - 1000) / 8.0;
}

static int fits(int c, int64_t v)
{
    return v >= lo[c] && v <= hi[c];
}

static void ref_to_row(sw_table_t *t, const ref_row_t *r, unsigned char *row)
{
    ASSERT_OK(sw_table_row_clear(t, row));
    for (int c = 0; c < 3; c++) {
        ASSERT_OK(sw_table_row_set_int(t, row, icol[c], r->iv[c]));
    }
    ASSERT_OK(sw_table_row_set_float(t, row, C_F, r->f));
    ASSERT_OK(sw_table_row_set_string(t, row, C_S, r->s, r->slen));
}

static void check_row(sw_table_t *t, const ref_row_t *r, const unsigned char *row)
{
    for (int c = 0; c < 3; c++) {
        int64_t v;
        ASSERT_OK(sw_table_row_get_int(t, row, icol[c], &v));
        ASSERT_EQ(v, r->iv[c]);
    }
    double f;
    ASSERT_OK(sw_table_row_get_float(t, row, C_F, &f));
    ASSERT_TRUE(memcmp(&f, &r->f, sizeof(f)) == 0);
    const void *s;
    size_t sl;
    ASSERT_OK(sw_table_row_get_string(t, row, C_S, &s, &sl));
    ASSERT_UEQ(sl, r->slen);
    ASSERT_MEM_EQ(s, r->s, sl);
}

/* Inserting into the model: the call must fail with FULL when the model is at capacity. */
static int model_insert(model_t *m, ref_row_t *r)
{
    if (m->count == CAP) {
        return SW_ETABLE_FULL;
    }
    memset(r, 0, sizeof(*r));
    r->present = 1;
    m->count++;
    return 0;
}

static void full_check(sw_table_t *t, model_t *m)
{
    static unsigned char seen[IDS];
    memset(seen, 0, sizeof(seen));
    sw_table_iter_t it;
    ASSERT_OK(sw_table_iter_init(&it, t));
    unsigned char key[KEY_MAX], row[64];
    size_t kl;
    int rc, n = 0;
    while ((rc = sw_table_iter_next(&it, key, &kl, row)) == 1) {
        int id = kl == 0 ? 0 : key[0] | (key[1] << 8);
        ASSERT_TRUE(id >= 0 && id < IDS);
        unsigned char want[KEY_MAX];
        ASSERT_UEQ(kl, key_of(id, want));
        ASSERT_MEM_EQ(key, want, kl);
        ASSERT_TRUE(m->rows[id].present);
        ASSERT_EQ(seen[id], 0);
        seen[id] = 1;
        check_row(t, &m->rows[id], row);
        n++;
    }
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(n, m->count);
    sw_table_stats_t st;
    ASSERT_OK(sw_table_stats(t, &st));
    ASSERT_EQ(st.rows, m->count);
    ASSERT_EQ(st.collisions, st.rows - st.buckets_used);
    ASSERT_EQ(st.dirty_rows, 0);
}

static void step(sw_table_t *t, model_t *m)
{
    int id = (int)(rnd(m) % IDS);
    unsigned char k[KEY_MAX], row[64];
    size_t kl = key_of(id, k);
    ref_row_t *r = &m->rows[id];
    int op = (int)(rnd(m) % 13);
    int rc, want;
    switch (op) {
    case 0: { /* whole-row set */
        ref_row_t n = {.present = 1};
        for (int c = 0; c < 3; c++) {
            do {
                n.iv[c] = rand_int(m, c);
            } while (!fits(c, n.iv[c]));
        }
        n.f = rand_float(m);
        n.slen = (size_t)(rnd(m) % (SMAX + 1));
        for (size_t i = 0; i < n.slen; i++) {
            n.s[i] = (unsigned char)rnd(m);
        }
        ref_to_row(t, &n, row);
        want = r->present ? 0 : (m->count == CAP ? SW_ETABLE_FULL : 0);
        ASSERT_ERR(sw_table_set(t, k, kl, row), want);
        if (want == 0) {
            if (!r->present) {
                m->count++;
            }
            *r = n;
        }
        break;
    }
    case 1: /* whole-row get */
        rc = sw_table_get(t, k, kl, row);
        ASSERT_ERR(rc, r->present ? 0 : SW_ETABLE_NOT_FOUND);
        if (r->present) {
            check_row(t, r, row);
        }
        break;
    case 2: { /* set_int */
        int c = (int)(rnd(m) % 3);
        int64_t v = rand_int(m, c);
        want = !fits(c, v) ? SW_ERANGE : (!r->present && m->count == CAP) ? SW_ETABLE_FULL : 0;
        ASSERT_ERR(sw_table_set_int(t, k, kl, icol[c], v), want);
        if (want == 0) {
            if (!r->present) {
                model_insert(m, r);
            }
            r->iv[c] = v;
        }
        break;
    }
    case 3: { /* get_int, sometimes of the wrong type */
        int c = (int)(rnd(m) % 4);
        int64_t v;
        if (c == 3) {
            ASSERT_ERR(sw_table_get_int(t, k, kl, C_F, &v), SW_ETABLE_COLUMN);
            break;
        }
        rc = sw_table_get_int(t, k, kl, icol[c], &v);
        ASSERT_ERR(rc, r->present ? 0 : SW_ETABLE_NOT_FOUND);
        if (r->present) {
            ASSERT_EQ(v, r->iv[c]);
        }
        break;
    }
    case 4: { /* incr / decr int, sometimes overflowing */
        int c = (int)(rnd(m) % 3);
        int sub = (int)(rnd(m) & 1);
        int64_t d = rnd(m) % 8 ? (int64_t)(rnd(m) % 200) - 100 : rand_int(m, 2);
        int64_t old = r->present ? r->iv[c] : 0, nv;
        int of = sub ? __builtin_sub_overflow(old, d, &nv) : __builtin_add_overflow(old, d, &nv);
        want = (of || !fits(c, nv))               ? SW_ERANGE
               : (!r->present && m->count == CAP) ? SW_ETABLE_FULL
                                                  : 0;
        int64_t got = 12345;
        rc = sub ? sw_table_decr_int(t, k, kl, icol[c], d, &got)
                 : sw_table_incr_int(t, k, kl, icol[c], d, &got);
        ASSERT_ERR(rc, want);
        if (want == 0) {
            if (!r->present) {
                model_insert(m, r);
            }
            r->iv[c] = nv;
            ASSERT_EQ(got, nv);
        } else {
            ASSERT_EQ(got, 12345);
        }
        break;
    }
    case 5: { /* incr / decr float */
        double d = rand_float(m), got = 0;
        int sub = (int)(rnd(m) & 1);
        want = (!r->present && m->count == CAP) ? SW_ETABLE_FULL : 0;
        rc = sub ? sw_table_decr_float(t, k, kl, C_F, d, &got)
                 : sw_table_incr_float(t, k, kl, C_F, d, &got);
        ASSERT_ERR(rc, want);
        if (want == 0) {
            if (!r->present) {
                model_insert(m, r);
            }
            r->f = sub ? r->f + -d : r->f + d;
            ASSERT_TRUE(memcmp(&got, &r->f, sizeof(got)) == 0);
        }
        break;
    }
    case 6: { /* set_float / get_float */
        double v = rand_float(m), got;
        if (rnd(m) & 1) {
            rc = sw_table_get_float(t, k, kl, C_F, &got);
            ASSERT_ERR(rc, r->present ? 0 : SW_ETABLE_NOT_FOUND);
            if (r->present) {
                ASSERT_TRUE(memcmp(&got, &r->f, sizeof(got)) == 0);
            }
            break;
        }
        want = (!r->present && m->count == CAP) ? SW_ETABLE_FULL : 0;
        ASSERT_ERR(sw_table_set_float(t, k, kl, C_F, v), want);
        if (want == 0) {
            if (!r->present) {
                model_insert(m, r);
            }
            r->f = v;
        }
        break;
    }
    case 7: { /* set_string, sometimes too long */
        unsigned char s[SMAX + 1];
        size_t len = (size_t)(rnd(m) % (SMAX + 2));
        for (size_t i = 0; i < len; i++) {
            s[i] = (unsigned char)rnd(m);
        }
        want = len > SMAX ? SW_EOVERFLOW : (!r->present && m->count == CAP) ? SW_ETABLE_FULL : 0;
        ASSERT_ERR(sw_table_set_string(t, k, kl, C_S, s, len), want);
        if (want == 0) {
            if (!r->present) {
                model_insert(m, r);
            }
            memcpy(r->s, s, len);
            r->slen = len;
        }
        break;
    }
    case 8: { /* get_string with a buffer that is sometimes too small */
        unsigned char s[SMAX];
        size_t cap = (size_t)(rnd(m) % (SMAX + 1)), len = 999;
        rc = sw_table_get_string(t, k, kl, C_S, cap ? s : NULL, cap, &len);
        if (!r->present) {
            ASSERT_ERR(rc, SW_ETABLE_NOT_FOUND);
        } else if (cap < r->slen) {
            ASSERT_ERR(rc, SW_ENOBUFS);
            ASSERT_UEQ(len, r->slen);
        } else {
            ASSERT_OK(rc);
            ASSERT_UEQ(len, r->slen);
            ASSERT_MEM_EQ(s, r->s, len);
        }
        break;
    }
    case 9:
    case 10: /* delete (twice as often, so the table keeps churning around full) */
        ASSERT_ERR(sw_table_del(t, k, kl), r->present ? 0 : SW_ETABLE_NOT_FOUND);
        if (r->present) {
            r->present = 0;
            m->count--;
        }
        break;
    case 11:
        ASSERT_EQ(sw_table_exists(t, k, kl), r->present);
        break;
    default: { /* a key that is too long */
        unsigned char longk[KEY_MAX + 1] = {0};
        ASSERT_ERR(sw_table_set_int(t, longk, KEY_MAX + 1, C_I64, 1), SW_ETABLE_KEY_TOO_LONG);
        break;
    }
    }
    ASSERT_EQ(sw_table_count(t), m->count);
}

static void run(uint32_t buckets, uint64_t seed, int ops)
{
    sw_table_options_t o;
    sw_table_options_init(&o);
    o.rows = CAP;
    o.buckets = buckets;
    o.key_max = KEY_MAX;
    sw_table_t *t;
    ASSERT_OK(sw_table_create(&t, &o, cols, NCOLS));
    model_t *m = calloc(1, sizeof(*m));
    ASSERT_NOT_NULL(m);
    m->rng = seed;
    for (int i = 0; i < ops; i++) {
        step(t, m);
        if (i % 20000 == 19999) {
            full_check(t, m);
        }
    }
    full_check(t, m);
    free(m);
    ASSERT_OK(sw_table_destroy(t));
}

SW_TEST_TIMEOUT(table_differential_1m, 300)
{
    /* Most operations on a normal geometry, the rest on chains of ~64 and one chain of all. */
    run(0, 1, OPS * 6 / 10);
    run(8, 2, OPS * 3 / 10);
    run(1, 3, OPS / 10);
}
