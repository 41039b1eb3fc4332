/*
 * Fuzz target: random sequences of table operations on a small table, each checked against a
 * private reference map (an array indexed by key number) that predicts every return code and
 * value, the count after every step, and the whole content at iterations.
 *
 * Input layout: byte 0 picks the geometry (rows 1..16, buckets 1..8: chains are common and a
 * full table is reached quickly); then each operation is an opcode byte, a key byte and the
 * argument bytes it reads. Missing bytes read as 0, so every input is a valid program.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swoole/error.h"
#include "swoole/table.h"

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "fuzz_table: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

typedef struct {
    const uint8_t *p;
    size_t n;
} input_t;

static uint8_t next_byte(input_t *in)
{
    if (in->n == 0) {
        return 0;
    }
    in->n--;
    return *in->p++;
}

static int16_t next_i16(input_t *in)
{
    uint16_t lo = next_byte(in), hi = next_byte(in);
    return (int16_t)(uint16_t)(lo | (hi << 8));
}

enum { C_I8, C_I16, C_F, C_S, NCOLS };
#define SMAX    4
#define KEY_MAX 6
#define IDS     24

static const sw_table_column_t cols[NCOLS] = {
    {"i8", SW_TABLE_INT, 1},
    {"i16", SW_TABLE_INT, 2},
    {"f", SW_TABLE_FLOAT, 0},
    {"s", SW_TABLE_STRING, SMAX},
};

typedef struct {
    int present;
    int64_t i8, i16;
    double f;
    size_t slen;
    uint8_t s[SMAX];
} ref_t;

/* Key `id`: id 0 is the empty key; others start with the byte id and are padded with NULs
 * up to 1 + id % KEY_MAX bytes, so different ids are different keys. */
static size_t key_of(int id, uint8_t *k)
{
    if (id == 0) {
        return 0;
    }
    size_t len = 1 + (size_t)(id % KEY_MAX);
    memset(k, 0, KEY_MAX);
    k[0] = (uint8_t)id;
    return len;
}

static int64_t *ref_int(ref_t *r, int col)
{
    return col == C_I8 ? &r->i8 : &r->i16;
}

static void check_row(sw_table_t *t, const ref_t *r, const uint8_t *row)
{
    int64_t v;
    double f;
    const void *s;
    size_t sl;
    CHECK(sw_table_row_get_int(t, row, C_I8, &v) == 0 && v == r->i8);
    CHECK(sw_table_row_get_int(t, row, C_I16, &v) == 0 && v == r->i16);
    CHECK(sw_table_row_get_float(t, row, C_F, &f) == 0 && memcmp(&f, &r->f, sizeof(f)) == 0);
    CHECK(sw_table_row_get_string(t, row, C_S, &s, &sl) == 0 && sl == r->slen);
    CHECK(memcmp(s, r->s, sl) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input_t in = {data, size};
    uint8_t g = next_byte(&in);
    sw_table_options_t o;
    sw_table_options_init(&o);
    o.rows = 1 + (g & 15);
    o.buckets = 1u << ((g >> 4) & 3);
    o.key_max = KEY_MAX;
    o.hash_seed = 1 + (g >> 6);
    sw_table_t *t;
    CHECK(sw_table_create(&t, &o, cols, NCOLS) == 0);
    ref_t ref[IDS];
    memset(ref, 0, sizeof(ref));
    int count = 0;
    const int cap = (int)o.rows;
    uint8_t row[64], k[KEY_MAX + 1];

    while (in.n > 0) {
        uint8_t op = next_byte(&in);
        int id = next_byte(&in) % IDS;
        size_t kl = key_of(id, k);
        ref_t *r = &ref[id];
        int full = !r->present && count == cap;
        int rc;
        switch (op % 13) {
        case 0: { /* whole-row set */
            ref_t n = {.present = 1, .i8 = (int8_t)next_byte(&in), .i16 = next_i16(&in)};
            n.f = (double)(int8_t)next_byte(&in) / 4.0;
            n.slen = next_byte(&in) % (SMAX + 1);
            for (size_t i = 0; i < n.slen; i++) {
                n.s[i] = next_byte(&in);
            }
            CHECK(sw_table_row_clear(t, row) == 0);
            CHECK(sw_table_row_set_int(t, row, C_I8, n.i8) == 0);
            CHECK(sw_table_row_set_int(t, row, C_I16, n.i16) == 0);
            CHECK(sw_table_row_set_float(t, row, C_F, n.f) == 0);
            CHECK(sw_table_row_set_string(t, row, C_S, n.s, n.slen) == 0);
            rc = sw_table_set(t, k, kl, row);
            CHECK(rc == (full ? SW_ETABLE_FULL : 0));
            if (rc == 0) {
                count += !r->present;
                *r = n;
            }
            break;
        }
        case 1:
            rc = sw_table_get(t, k, kl, row);
            CHECK(rc == (r->present ? 0 : SW_ETABLE_NOT_FOUND));
            if (rc == 0) {
                check_row(t, r, row);
            }
            break;
        case 2: { /* set_int: int16 values, out of range for i8 half the time */
            int col = next_byte(&in) & 1 ? C_I16 : C_I8;
            int64_t v = next_i16(&in);
            int range = col == C_I8 && (v < INT8_MIN || v > INT8_MAX);
            rc = sw_table_set_int(t, k, kl, col, v);
            CHECK(rc == (range ? SW_ERANGE : full ? SW_ETABLE_FULL : 0));
            if (rc == 0) {
                if (!r->present) {
                    memset(r, 0, sizeof(*r));
                    r->present = 1;
                    count++;
                }
                *ref_int(r, col) = v;
            }
            break;
        }
        case 3: {
            int col = next_byte(&in) & 1 ? C_I16 : C_I8;
            int64_t v;
            rc = sw_table_get_int(t, k, kl, col, &v);
            CHECK(rc == (r->present ? 0 : SW_ETABLE_NOT_FOUND));
            CHECK(rc != 0 || v == *ref_int(r, col));
            break;
        }
        case 4: { /* incr / decr */
            uint8_t b = next_byte(&in);
            int col = b & 1 ? C_I16 : C_I8;
            int64_t d = next_i16(&in), old = r->present ? *ref_int(r, col) : 0;
            int64_t nv = b & 2 ? old - d : old + d;
            int64_t lo = col == C_I8 ? INT8_MIN : INT16_MIN,
                    hi = col == C_I8 ? INT8_MAX : INT16_MAX;
            int64_t got = 7777;
            rc = b & 2 ? sw_table_decr_int(t, k, kl, col, d, &got)
                       : sw_table_incr_int(t, k, kl, col, d, &got);
            CHECK(rc == ((nv < lo || nv > hi) ? SW_ERANGE : full ? SW_ETABLE_FULL : 0));
            if (rc == 0) {
                CHECK(got == nv);
                if (!r->present) {
                    memset(r, 0, sizeof(*r));
                    r->present = 1;
                    count++;
                }
                *ref_int(r, col) = nv;
            } else {
                CHECK(got == 7777);
            }
            break;
        }
        case 5: { /* set_float or incr_float */
            uint8_t b = next_byte(&in);
            double v = (double)(int8_t)next_byte(&in) / 4.0, got = 0;
            rc = b & 1 ? sw_table_incr_float(t, k, kl, C_F, v, &got)
                       : sw_table_set_float(t, k, kl, C_F, v);
            CHECK(rc == (full ? SW_ETABLE_FULL : 0));
            if (rc == 0) {
                if (!r->present) {
                    memset(r, 0, sizeof(*r));
                    r->present = 1;
                    count++;
                }
                r->f = b & 1 ? r->f + v : v;
                CHECK(!(b & 1) || memcmp(&got, &r->f, sizeof(got)) == 0);
            }
            break;
        }
        case 6: { /* set_string, too long sometimes */
            uint8_t s[SMAX + 1];
            size_t len = next_byte(&in) % (SMAX + 2);
            for (size_t i = 0; i < len; i++) {
                s[i] = next_byte(&in);
            }
            rc = sw_table_set_string(t, k, kl, C_S, s, len);
            CHECK(rc == (len > SMAX ? SW_EOVERFLOW : full ? SW_ETABLE_FULL : 0));
            if (rc == 0) {
                if (!r->present) {
                    memset(r, 0, sizeof(*r));
                    r->present = 1;
                    count++;
                }
                memcpy(r->s, s, len);
                r->slen = len;
            }
            break;
        }
        case 7: { /* get_string */
            uint8_t s[SMAX];
            size_t capb = next_byte(&in) % (SMAX + 1), len = 99;
            rc = sw_table_get_string(t, k, kl, C_S, capb ? s : NULL, capb, &len);
            if (!r->present) {
                CHECK(rc == SW_ETABLE_NOT_FOUND);
            } else if (capb < r->slen) {
                CHECK(rc == SW_ENOBUFS && len == r->slen);
            } else {
                CHECK(rc == 0 && len == r->slen && memcmp(s, r->s, len) == 0);
            }
            break;
        }
        case 8:
        case 9:
            rc = sw_table_del(t, k, kl);
            CHECK(rc == (r->present ? 0 : SW_ETABLE_NOT_FOUND));
            if (rc == 0) {
                r->present = 0;
                count--;
            }
            break;
        case 10:
            CHECK(sw_table_exists(t, k, kl) == r->present);
            CHECK(sw_table_exists(t, k, KEY_MAX + 1) == SW_ETABLE_KEY_TOO_LONG);
            break;
        case 11: { /* full iteration */
            int seen[IDS] = {0}, n = 0;
            sw_table_iter_t it;
            CHECK(sw_table_iter_init(&it, t) == 0);
            uint8_t key[KEY_MAX];
            size_t l;
            while ((rc = sw_table_iter_next(&it, key, &l, row)) == 1) {
                int kid = l == 0 ? 0 : key[0];
                uint8_t want[KEY_MAX];
                CHECK(kid < IDS && l == key_of(kid, want) && memcmp(key, want, l) == 0);
                CHECK(ref[kid].present && !seen[kid]);
                seen[kid] = 1;
                check_row(t, &ref[kid], row);
                n++;
            }
            CHECK(rc == 0 && n == count);
            break;
        }
        default: {
            sw_table_stats_t st;
            CHECK(sw_table_stats(t, &st) == 0);
            CHECK((int)st.rows == count && st.capacity == (uint32_t)cap);
            CHECK(st.collisions == st.rows - st.buckets_used && st.max_chain <= st.rows);
            CHECK(st.dirty_rows == 0 && st.lock_recoveries == 0);
            break;
        }
        }
        CHECK(sw_table_count(t) == count);
    }
    CHECK(sw_table_destroy(t) == 0);
    return 0;
}
