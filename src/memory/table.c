/*
 * Table: options, layout, creation and destruction, columns and row buffers. The operations
 * are in table_ops.c, iteration and statistics in table_iter.c, the bucket lock in
 * table_lock.c; the layout is described in table_int.h.
 */
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/alloc.h"
#include "memory/table_int.h"
#include "swoole/error.h"
#include "swoole/shm.h"

#define ROUND_UP(x, a) (((x) + ((a)-1)) / (a) * (a))

void sw_table_options_init(sw_table_options_t *opts)
{
    if (opts) {
        *opts = (sw_table_options_t){
            .rows = 1024,
            .buckets = 0,
            .key_max = SW_TABLE_KEY_MAX_DEFAULT,
            .hash_seed = 0,
        };
    }
}

static uint32_t next_pow2(uint32_t v)
{
    uint32_t p = 1;
    while (p < v) {
        p <<= 1;
    }
    return p;
}

/* Checks one column and computes its storage: byte size, alignment, range. */
static int column_shape(const sw_table_column_t *c, table_col_t *out, uint32_t *width,
                        uint32_t *align)
{
    if (!c->name) {
        return SW_ETABLE_COLUMN;
    }
    size_t name_len = strnlen(c->name, SW_TABLE_COLUMN_NAME_MAX + 1);
    if (name_len == 0 || name_len > SW_TABLE_COLUMN_NAME_MAX) {
        return SW_ETABLE_COLUMN;
    }
    out->type = (uint32_t)c->type;
    switch (c->type) {
    case SW_TABLE_INT: {
        uint32_t s = c->size ? c->size : 8;
        if (s != 1 && s != 2 && s != 4 && s != 8) {
            return SW_ETABLE_COLUMN;
        }
        out->size = s;
        out->max = s == 8 ? INT64_MAX : (int64_t)((UINT64_C(1) << (8 * s - 1)) - 1);
        out->min = -out->max - 1;
        *width = s;
        *align = s;
        return 0;
    }
    case SW_TABLE_FLOAT:
        if (c->size != 0 && c->size != 8) {
            return SW_ETABLE_COLUMN;
        }
        out->size = 8;
        *width = 8;
        *align = 8;
        return 0;
    case SW_TABLE_STRING:
        if (c->size == 0 || c->size > SW_TABLE_STRING_MAX) {
            return SW_ETABLE_COLUMN;
        }
        out->size = c->size;
        *width = 2 + c->size; /* a uint16 length, then the bytes */
        *align = 2;
        return 0;
    }
    return SW_ETABLE_COLUMN;
}

void sw__table_free_cols(sw_table_t *t)
{
    if (t->cols) {
        for (uint32_t i = 0; i < t->ncols; i++) {
            sw__free(t->cols[i].name);
        }
        sw__free(t->cols);
        t->cols = NULL;
    }
    t->ncols = 0;
}

int sw__table_layout(const sw_table_options_t *opts, const sw_table_column_t *cols, size_t ncols,
                     sw_table_t *t, size_t *map_size)
{
    sw_table_options_t o;
    if (opts) {
        o = *opts;
    } else {
        sw_table_options_init(&o);
    }
    if (o.rows == 0 || o.rows > SW_TABLE_MAX_ROWS || o.key_max == 0 ||
        o.key_max > SW_TABLE_KEY_MAX_LIMIT || o.reserved_ != 0 ||
        o.buckets > SW_TABLE_MAX_BUCKETS || (o.buckets & (o.buckets - 1)) != 0 ||
        (ncols > 0 && !cols) || ncols > SW_TABLE_MAX_COLUMNS) {
        return SW_EINVAL;
    }

    table_col_t *tc = NULL;
    if (t && ncols > 0) {
        tc = sw__calloc(ncols, sizeof(*tc));
        if (!tc) {
            return SW_ENOMEM;
        }
    }
    size_t off = 0;
    int rc = 0;
    for (size_t i = 0; i < ncols && rc == 0; i++) {
        table_col_t shape = {0};
        uint32_t width, align;
        rc = column_shape(&cols[i], &shape, &width, &align);
        for (size_t k = 0; k < i && rc == 0; k++) {
            if (strcmp(cols[k].name, cols[i].name) == 0) {
                rc = SW_ETABLE_COLUMN;
            }
        }
        if (rc) {
            break;
        }
        off = ROUND_UP(off, align);
        shape.offset = (uint32_t)off;
        off += width;
        if (off > SW_TABLE_ROW_MAX) {
            rc = SW_EINVAL;
            break;
        }
        if (tc) {
            shape.name = sw__strdup(cols[i].name);
            if (!shape.name) {
                rc = SW_ENOMEM;
                break;
            }
            tc[i] = shape;
        }
    }
    if (rc) {
        if (tc) {
            for (size_t i = 0; i < ncols; i++) {
                sw__free(tc[i].name);
            }
            sw__free(tc);
        }
        return rc;
    }

    uint32_t data_size = (uint32_t)ROUND_UP(off, 8);
    uint32_t key_room = (uint32_t)ROUND_UP(o.key_max, 8);
    uint32_t row_size = (uint32_t)sizeof(row_hdr_t) + key_room + data_size;
    uint32_t buckets = o.buckets ? o.buckets : next_pow2(o.rows);
    uint32_t nwords = (o.rows + 63) / 64;
    size_t rows_off = ROUND_UP(TABLE_HDR_SIZE + (size_t)buckets * sizeof(bucket_t) +
                                   ROUND_UP((size_t)buckets * sizeof(uint32_t), 8) +
                                   (size_t)nwords * sizeof(uint64_t),
                               64);
    size_t total = rows_off + (size_t)o.rows * row_size;
    size_t page = sw_shm_page_size();
    *map_size = ROUND_UP(total, page);

    if (t) {
        t->nrows = o.rows;
        t->mask = buckets - 1;
        t->nwords = nwords;
        t->key_max = o.key_max;
        t->key_room = key_room;
        t->row_size = row_size;
        t->data_size = data_size;
        t->pad_bits = nwords * 64 - o.rows;
        t->seed = o.hash_seed;
        t->ncols = (uint32_t)ncols;
        t->cols = tc;
        t->map_size = *map_size;
        t->rows_off = rows_off;
    }
    return 0;
}

int sw_table_memory_size(const sw_table_options_t *opts, const sw_table_column_t *cols,
                         size_t ncols, size_t *out)
{
    if (!out) {
        return SW_EINVAL;
    }
    size_t size;
    int rc = sw__table_layout(opts, cols, ncols, NULL, &size);
    if (rc == 0) {
        *out = size;
    }
    return rc;
}

/* A seed for the bucket hash: the kernel's random bytes, or (if it has none to give without
 * blocking) the clock mixed with an address. */
static uint64_t random_seed(const void *salt)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed) || seed == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
               ((uint64_t)(uintptr_t)salt * 0x9e3779b97f4a7c15ull);
        seed |= 1;
    }
    return seed;
}

int sw_table_create(sw_table_t **out, const sw_table_options_t *opts, const sw_table_column_t *cols,
                    size_t ncols)
{
    if (!out) {
        return SW_EINVAL;
    }
    sw_table_t *t = sw__calloc(1, sizeof(*t));
    if (!t) {
        return SW_ENOMEM;
    }
    size_t size;
    int rc = sw__table_layout(opts, cols, ncols, t, &size);
    if (rc) {
        sw__free(t);
        return rc;
    }
    void *mem;
    rc = sw_shm_create(size, &mem);
    if (rc) {
        sw__table_free_cols(t);
        sw__free(t);
        return rc;
    }
    t->base = mem;
    t->hdr = (table_hdr_t *)mem;
    size_t nb = (size_t)t->mask + 1;
    t->buckets = (bucket_t *)(t->base + TABLE_HDR_SIZE);
    t->journal = (uint32_t *)(t->base + TABLE_HDR_SIZE + nb * sizeof(bucket_t));
    t->bitmap =
        (_Atomic uint64_t *)((unsigned char *)t->journal + ROUND_UP(nb * sizeof(uint32_t), 8));
    t->rows = t->base + t->rows_off;
    if (t->seed == 0) {
        t->seed = random_seed(t);
    }
#ifdef SWOOLE_FAULT_INJECTION
    t->crash_at = TABLE_CRASH_NONE;
    t->crash_fd = -1;
#endif

    table_hdr_t *h = t->hdr;
    h->magic = TABLE_MAGIC;
    h->version = TABLE_LAYOUT_VERSION;
    h->rows = t->nrows;
    h->buckets = t->mask + 1;
    h->key_max = t->key_max;
    h->row_size = t->row_size;
    h->data_size = t->data_size;
    h->bitmap_words = t->nwords;
    h->seed = t->seed;
    atomic_init(&h->lock_recoveries, 0);
    /* The bits past the last row are "taken" forever, so searches never return them. */
    if (t->pad_bits) {
        atomic_store(&t->bitmap[t->nwords - 1], ~UINT64_C(0) << (64 - t->pad_bits));
    }
    *out = t;
    return 0;
}

int sw_table_destroy(sw_table_t *t)
{
    if (!t) {
        return SW_EINVAL;
    }
    sw_shm_destroy(t->base, t->map_size);
    sw__table_free_cols(t);
    sw__free(t);
    return 0;
}

/* ---- columns ------------------------------------------------------------------------------- */

int sw_table_column_count(const sw_table_t *t)
{
    return t ? (int)t->ncols : SW_EINVAL;
}

int sw_table_column_index(const sw_table_t *t, const char *name)
{
    if (!t || !name) {
        return SW_EINVAL;
    }
    for (uint32_t i = 0; i < t->ncols; i++) {
        if (strcmp(t->cols[i].name, name) == 0) {
            return (int)i;
        }
    }
    return SW_ETABLE_COLUMN;
}

int sw_table_column_info(const sw_table_t *t, int col, sw_table_column_t *out)
{
    if (!t || !out) {
        return SW_EINVAL;
    }
    if (col < 0 || (uint32_t)col >= t->ncols) {
        return SW_ETABLE_COLUMN;
    }
    const table_col_t *c = &t->cols[col];
    *out = (sw_table_column_t){.name = c->name, .type = (sw_table_type_t)c->type, .size = c->size};
    return 0;
}

size_t sw_table_row_size(const sw_table_t *t)
{
    return t ? t->data_size : 0;
}

size_t sw_table_key_max(const sw_table_t *t)
{
    return t ? t->key_max : 0;
}

/* ---- row buffers (caller memory, any alignment) -------------------------------------------- */

static const table_col_t *buffer_col(const sw_table_t *t, int col, uint32_t type)
{
    if (col < 0 || (uint32_t)col >= t->ncols || t->cols[col].type != type) {
        return NULL;
    }
    return &t->cols[col];
}

int sw_table_row_clear(const sw_table_t *t, void *row)
{
    if (!t || (!row && t->data_size)) {
        return SW_EINVAL;
    }
    if (t->data_size) {
        memset(row, 0, t->data_size);
    }
    return 0;
}

int sw_table_row_set_int(const sw_table_t *t, void *row, int col, int64_t v)
{
    if (!t || !row) {
        return SW_EINVAL;
    }
    const table_col_t *c = buffer_col(t, col, SW_TABLE_INT);
    if (!c) {
        return SW_ETABLE_COLUMN;
    }
    if (v < c->min || v > c->max) {
        return SW_ERANGE;
    }
    unsigned char *p = (unsigned char *)row + c->offset;
    switch (c->size) {
    case 1: {
        int8_t x = (int8_t)v;
        memcpy(p, &x, 1);
        break;
    }
    case 2: {
        int16_t x = (int16_t)v;
        memcpy(p, &x, 2);
        break;
    }
    case 4: {
        int32_t x = (int32_t)v;
        memcpy(p, &x, 4);
        break;
    }
    default:
        memcpy(p, &v, 8);
        break;
    }
    return 0;
}

int sw_table_row_get_int(const sw_table_t *t, const void *row, int col, int64_t *out)
{
    if (!t || !row || !out) {
        return SW_EINVAL;
    }
    const table_col_t *c = buffer_col(t, col, SW_TABLE_INT);
    if (!c) {
        return SW_ETABLE_COLUMN;
    }
    const unsigned char *p = (const unsigned char *)row + c->offset;
    switch (c->size) {
    case 1: {
        int8_t x;
        memcpy(&x, p, 1);
        *out = x;
        break;
    }
    case 2: {
        int16_t x;
        memcpy(&x, p, 2);
        *out = x;
        break;
    }
    case 4: {
        int32_t x;
        memcpy(&x, p, 4);
        *out = x;
        break;
    }
    default:
        memcpy(out, p, 8);
        break;
    }
    return 0;
}

int sw_table_row_set_float(const sw_table_t *t, void *row, int col, double v)
{
    if (!t || !row) {
        return SW_EINVAL;
    }
    const table_col_t *c = buffer_col(t, col, SW_TABLE_FLOAT);
    if (!c) {
        return SW_ETABLE_COLUMN;
    }
    memcpy((unsigned char *)row + c->offset, &v, 8);
    return 0;
}

int sw_table_row_get_float(const sw_table_t *t, const void *row, int col, double *out)
{
    if (!t || !row || !out) {
        return SW_EINVAL;
    }
    const table_col_t *c = buffer_col(t, col, SW_TABLE_FLOAT);
    if (!c) {
        return SW_ETABLE_COLUMN;
    }
    memcpy(out, (const unsigned char *)row + c->offset, 8);
    return 0;
}

int sw_table_row_set_string(const sw_table_t *t, void *row, int col, const void *s, size_t len)
{
    if (!t || !row || (!s && len)) {
        return SW_EINVAL;
    }
    const table_col_t *c = buffer_col(t, col, SW_TABLE_STRING);
    if (!c) {
        return SW_ETABLE_COLUMN;
    }
    if (len > c->size) {
        return SW_EOVERFLOW;
    }
    unsigned char *p = (unsigned char *)row + c->offset;
    uint16_t l = (uint16_t)len;
    memcpy(p, &l, 2);
    if (len) {
        memcpy(p + 2, s, len);
    }
    return 0;
}

int sw_table_row_get_string(const sw_table_t *t, const void *row, int col, const void **s,
                            size_t *len)
{
    if (!t || !row || !s || !len) {
        return SW_EINVAL;
    }
    const table_col_t *c = buffer_col(t, col, SW_TABLE_STRING);
    if (!c) {
        return SW_ETABLE_COLUMN;
    }
    const unsigned char *p = (const unsigned char *)row + c->offset;
    uint16_t l;
    memcpy(&l, p, 2);
    if (l > c->size) {
        return SW_EOVERFLOW; /* not a buffer the table produced */
    }
    *s = p + 2;
    *len = l;
    return 0;
}
