/*
 * Table operations: hashing, lookup, insert, delete, update, incr/decr, and the repair of a
 * bucket left behind by a dead holder. Layout and invariants: table_int.h.
 *
 * Every operation hashes the key and walks the key's chain comparing the stored hash tag, the
 * length and then the bytes of each key. Reads (get, get_*, exists) first try without the
 * lock: they read the bucket's sequence counter, walk and copy with atomic loads, and keep the
 * result if the counter has not moved (a seqlock; Hans Boehm, "Can Seqlocks Get Along With
 * Programming Language Memory Models?", MSPC 2012, gives the fences used here). After a few
 * failed tries, or when a writer is active, they take the lock like writers do. A read thus
 * writes nothing to shared memory: readers in different processes never bounce cache lines,
 * and a reader's cache misses overlap with the next operation's, as no atomic
 * read-modify-write (a full barrier on x86) separates them.
 *
 * Writers take the bucket lock, make the counter odd, change the bucket, make it even and
 * unlock. Order of writes (each step is recoverable; see sw__table_recover_bucket()):
 *   insert  journal = INS r; claim r (CAS state 0 -> b+1); set bitmap bit; fill the row;
 *           link it at the chain head; journal = 0
 *   delete  journal = DEL r; unlink; clear bitmap bit; state = 0; journal = 0
 *   update  row flags |= WRITING; write the bytes; flags &= ~(WRITING | DIRTY) (only for
 *           writes of more than one aligned word: whole rows and strings; a single integer or
 *           float is one atomic store and needs no marking)
 * A holder killed between any two of these steps leaves state the next holder can read: the
 * journal names the row, and whether the row is in the chain and whether its state says
 * "claimed by this bucket" tells how far the holder got. (The stores of a killed process are
 * all visible once it is dead: the kernel has finished them before its /proc entry changes,
 * so the takeover needs no ordering from the dead holder.)
 */
#include <string.h>

#include "memory/table_int.h"
#include "swoole/error.h"

/* ---- hashing ------------------------------------------------------------------------------- */

static inline uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* The 64-bit finaliser of MurmurHash3 (Austin Appleby, public domain): every input bit
 * affects every output bit, so the low bits that pick the bucket are well mixed. */
static inline uint64_t fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/*
 * A seeded multiply-rotate hash over 8-byte words, then fmix64. It is fast for the short keys
 * tables hold and spreads them evenly; it is not a cryptographic hash, so keys chosen by an
 * attacker who knows the seed can share a bucket. That makes their chain long (operations on
 * it O(chain)) but never costs other keys their place: capacity is exact whatever the hashes.
 */
static inline uint64_t key_hash(uint64_t seed, const unsigned char *p, size_t n)
{
    const uint64_t m1 = 0x9e3779b97f4a7c15ull, m2 = 0xc2b2ae3d27d4eb4full;
    uint64_t h = seed ^ ((uint64_t)n * m1);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = rotl64(h ^ (w * m2), 31) * m1;
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        for (size_t i = 0; i < n; i++) {
            w |= (uint64_t)p[i] << (8 * i);
        }
        h = rotl64(h ^ (w * m2), 31) * m1;
    }
    return fmix64(h);
}

/* ---- atomic access to fields that lock-free readers read ------------------------------------ */

#define LD(p)    __atomic_load_n((p), __ATOMIC_RELAXED)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

static inline uint64_t ld64(const unsigned char *p)
{
    return __atomic_load_n((const uint64_t *)(const void *)p, __ATOMIC_RELAXED);
}

static inline void st64(unsigned char *p, uint64_t v)
{
    __atomic_store_n((uint64_t *)(void *)p, v, __ATOMIC_RELAXED);
}

/* Copies `n` bytes (a multiple of 8) out of / into shared memory, a word at a time. */
static inline void words_out(void *dst, const unsigned char *src, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w = ld64(src + i);
        memcpy((unsigned char *)dst + i, &w, 8);
    }
}

static inline void words_in(unsigned char *dst, const void *src, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w;
        memcpy(&w, (const unsigned char *)src + i, 8);
        st64(dst + i, w);
    }
}

/* The same for arbitrary byte ranges (string values). */
static inline void bytes_out(void *dst, const unsigned char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ((unsigned char *)dst)[i] = __atomic_load_n(src + i, __ATOMIC_RELAXED);
    }
}

static inline void bytes_in(unsigned char *dst, const void *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        __atomic_store_n(dst + i, ((const unsigned char *)src)[i], __ATOMIC_RELAXED);
    }
}

/* Keys are stored zero-padded to whole words and compared a word at a time. */
static inline void key_in(row_hdr_t *h, const unsigned char *key, uint32_t klen)
{
    unsigned char *k = row_key(h);
    for (uint32_t i = 0; i < klen; i += 8) {
        uint64_t w = 0;
        memcpy(&w, key + i, klen - i < 8 ? klen - i : 8);
        st64(k + i, w);
    }
}

static inline int key_equal(row_hdr_t *h, const unsigned char *key, uint32_t klen)
{
    const unsigned char *k = row_key(h);
    uint32_t i = 0;
    for (; i + 8 <= klen; i += 8) {
        uint64_t w;
        memcpy(&w, key + i, 8);
        if (ld64(k + i) != w) {
            return 0;
        }
    }
    if (i < klen) {
        uint64_t w = 0;
        memcpy(&w, key + i, klen - i);
        return ld64(k + i) == w;
    }
    return 1;
}

/* ---- one operation's context --------------------------------------------------------------- */

typedef struct {
    sw_table_t *t;
    bucket_t *bk;
    const unsigned char *key;
    uint32_t klen;
    uint32_t b;
    uint32_t tag;
} op_t;

static inline int op_init(op_t *op, sw_table_t *t, const void *key, size_t klen)
{
    if (!t) {
        return SW_EINVAL;
    }
    if (!key) {
        if (klen) {
            return SW_EINVAL;
        }
        key = "";
    }
    if (klen > t->key_max) {
        return SW_ETABLE_KEY_TOO_LONG;
    }
    uint64_t h = key_hash(t->seed, key, klen);
    op->t = t;
    op->key = key;
    op->klen = (uint32_t)klen;
    op->b = (uint32_t)h & t->mask;
    op->tag = (uint32_t)(h >> 32);
    op->bk = &t->buckets[op->b];
    return 0;
}

static inline int op_lock(op_t *op)
{
    /* Start fetching the chain's first row before the lock's compare-and-swap, which (like
     * every x86 atomic read-modify-write) waits for earlier loads but not for prefetches: the
     * row's cache miss then overlaps the lock's. The head is only a hint here. */
    uint32_t head = LD(&op->bk->head);
    if (head && head <= op->t->nrows) {
        const char *row = (const char *)table_row(op->t, head - 1);
        __builtin_prefetch(row, 1);
        __builtin_prefetch(row + op->t->row_size - 1, 1);
    }
    return table_lock_bucket(op->t, op->b);
}

static inline void op_unlock(op_t *op)
{
    table_unlock_word(&op->bk->lock);
}

/* Writer side of the bucket's seqlock (the lock is held). */
static inline void write_begin(op_t *op)
{
    ST(&op->bk->seq, LD(&op->bk->seq) + 1);
    atomic_thread_fence(memory_order_release);
}

static inline void write_end(op_t *op)
{
    __atomic_store_n(&op->bk->seq, LD(&op->bk->seq) + 1, __ATOMIC_RELEASE);
}

/* Reader side: a read is kept when read_end() sees the value read_begin() saw. */
#define READ_TRIES 4

static inline int read_begin(const op_t *op, uint32_t *seq)
{
    *seq = __atomic_load_n(&op->bk->seq, __ATOMIC_ACQUIRE);
    return (*seq & 1) == 0;
}

static inline int read_end(const op_t *op, uint32_t seq)
{
    atomic_thread_fence(memory_order_acquire);
    return LD(&op->bk->seq) == seq;
}

/* The row of the key (index + 1), or 0. `*prev` gets the row before it in the chain (index +
 * 1, 0 for the head). Safe without the lock (then the result counts only if the read is
 * validated): the walk is bounded by the row count and stops at an index out of range. */
static inline uint32_t find(const op_t *op, uint32_t *prev)
{
    const sw_table_t *t = op->t;
    uint32_t before = 0, cur = LD(&op->bk->head);
    for (uint32_t steps = 0; cur && cur <= t->nrows && steps < t->nrows; steps++) {
        row_hdr_t *h = table_row(t, cur - 1);
        if (LD(&h->hash) == op->tag && LD(&h->key_len) == op->klen &&
            key_equal(h, op->key, op->klen)) {
            if (prev) {
                *prev = before;
            }
            return cur;
        }
        before = cur;
        cur = LD(&h->next);
    }
    return 0;
}

static inline uint32_t journal_word(uint32_t op, uint32_t r)
{
    return (op << 30) | (r + 1);
}

/* ---- row allocation ------------------------------------------------------------------------ */

static inline void bit_set(sw_table_t *t, uint32_t r)
{
    atomic_fetch_or_explicit(&t->bitmap[r >> 6], UINT64_C(1) << (r & 63), memory_order_relaxed);
}

static inline void bit_clear(sw_table_t *t, uint32_t r)
{
    atomic_fetch_and_explicit(&t->bitmap[r >> 6], ~(UINT64_C(1) << (r & 63)), memory_order_relaxed);
}

/*
 * One pass over the bitmap from this process's cursor: for each clear bit, journals the row
 * and tries to claim it. Returns 0 with the row in `*out`, or SW_ETABLE_FULL; `*suspects`
 * counts clear bits whose row was not free (claimed by an insert in flight, or left by a dead
 * holder).
 */
static int claim_pass(op_t *op, uint32_t *out, uint32_t *suspects)
{
    sw_table_t *t = op->t;
    uint32_t nw = t->nwords;
    uint32_t w = atomic_load_explicit(&t->cursor, memory_order_relaxed);
    if (w >= nw) {
        w = 0;
    }
    for (uint32_t i = 0; i < nw; i++) {
        uint64_t bits = atomic_load_explicit(&t->bitmap[w], memory_order_relaxed);
        while (bits != ~UINT64_C(0)) {
            unsigned bit = (unsigned)__builtin_ctzll(~bits);
            bits |= UINT64_C(1) << bit;
            uint32_t r = w * 64 + bit;
            t->journal[op->b] = journal_word(JOURNAL_INS, r);
            uint32_t expected = 0;
            if (atomic_compare_exchange_strong_explicit(&table_row(t, r)->state, &expected,
                                                        op->b + 1, memory_order_acquire,
                                                        memory_order_relaxed)) {
                atomic_store_explicit(&t->cursor, w, memory_order_relaxed);
                *out = r;
                return 0;
            }
            (*suspects)++;
        }
        if (++w == nw) {
            w = 0;
        }
    }
    return SW_ETABLE_FULL;
}

/*
 * Rows that look free in the bitmap but are claimed may belong to a dead holder's bucket that
 * nobody has locked since. Before saying "full", visit those buckets with a try-lock (never a
 * wait: we hold our own bucket) so that a dead holder's row comes back to the pool.
 */
static void sweep_dead(op_t *op)
{
    sw_table_t *t = op->t;
    uint64_t self = sw__lock_self();
    for (uint32_t w = 0; w < t->nwords; w++) {
        uint64_t clear = ~atomic_load_explicit(&t->bitmap[w], memory_order_relaxed);
        while (clear) {
            unsigned bit = (unsigned)__builtin_ctzll(clear);
            clear &= clear - 1;
            uint32_t r = w * 64 + bit;
            uint32_t st = atomic_load_explicit(&table_row(t, r)->state, memory_order_relaxed);
            if (st == 0 || st - 1 == op->b || st - 1 > t->mask) {
                continue;
            }
            int rc = sw__table_lock_try(&t->buckets[st - 1].lock, self);
            if (rc == 1) {
                sw__table_recover_bucket(t, st - 1);
            }
            if (rc == 0 || rc == 1) {
                table_unlock_word(&t->buckets[st - 1].lock);
            }
        }
    }
}

static int claim_row(op_t *op, uint32_t *out)
{
    uint32_t suspects = 0;
    int rc = claim_pass(op, out, &suspects);
    if (rc == SW_ETABLE_FULL && suspects) {
        sweep_dead(op);
        suspects = 0;
        rc = claim_pass(op, out, &suspects);
    }
    if (rc) {
        op->t->journal[op->b] = 0;
    }
    return rc;
}

/* Claims a row for the key and fills it (key, and `data` or zeros), without linking it: the
 * caller may write columns, then calls link_row(). */
static int prepare_row(op_t *op, const void *data, uint32_t *out)
{
    sw_table_t *t = op->t;
    uint32_t r;
    int rc = claim_row(op, &r);
    if (rc) {
        return rc;
    }
    TABLE_CRASH_POINT(t, TABLE_CRASH_INS_CLAIMED);
    bit_set(t, r);
    row_hdr_t *h = table_row(t, r);
    ST(&h->next, 0u);
    ST(&h->hash, op->tag);
    ST(&h->key_len, (uint16_t)op->klen);
    ST(&h->flags, (uint16_t)0);
    key_in(h, op->key, op->klen);
    unsigned char *d = row_data(t, h);
    if (data) {
        words_in(d, data, t->data_size);
    } else {
        for (uint32_t i = 0; i < t->data_size; i += 8) {
            st64(d + i, 0);
        }
    }
    *out = r;
    return 0;
}

static void link_row(op_t *op, uint32_t r)
{
    TABLE_CRASH_POINT(op->t, TABLE_CRASH_INS_MARKED);
    ST(&table_row(op->t, r)->next, LD(&op->bk->head));
    ST(&op->bk->head, r + 1);
    TABLE_CRASH_POINT(op->t, TABLE_CRASH_INS_LINKED);
    op->t->journal[op->b] = 0;
}

/* The key's row (index), inserting a zero row when it is missing (`*fresh` = 1: not linked
 * yet; the caller writes its column and calls link_row()). */
static int find_or_prepare(op_t *op, uint32_t *r, int *fresh)
{
    uint32_t cur = find(op, NULL);
    if (cur) {
        *r = cur - 1;
        *fresh = 0;
        return 0;
    }
    *fresh = 1;
    return prepare_row(op, NULL, r);
}

/* Multi-word writes of a linked row are bracketed by these: a holder that dies in between
 * leaves ROW_WRITING, which recovery turns into ROW_DIRTY. */
static inline void row_write_begin(row_hdr_t *h)
{
    ST(&h->flags, (uint16_t)(LD(&h->flags) | ROW_WRITING));
}

static inline void row_write_end(row_hdr_t *h, int whole)
{
    uint16_t f = LD(&h->flags) & (uint16_t)~ROW_WRITING;
    if (whole) {
        f &= (uint16_t)~ROW_DIRTY;
    }
    ST(&h->flags, f);
}

/* ---- dead holders -------------------------------------------------------------------------- */

static int in_chain(const sw_table_t *t, const bucket_t *bk, uint32_t r)
{
    uint32_t cur = LD(&bk->head);
    for (uint32_t steps = 0; cur && cur <= t->nrows && steps < t->nrows; steps++) {
        if (cur == r + 1) {
            return 1;
        }
        cur = LD(&table_row(t, cur - 1)->next);
    }
    return 0;
}

/*
 * Called by the thread that took bucket b's lock over from a dead holder, before it does
 * anything else with the bucket. Replays the journal:
 *   INS/DEL, row in the chain: the insert finished linking (its bit was set before), or the
 *            delete had not unlinked yet; either way the chain is right as it is.
 *   INS/DEL, row not in the chain but claimed by this bucket: a claimed row that was never
 *            linked, or an unlinked row not yet released: release it (bit first, then state).
 *   INS/DEL, otherwise: the claim never happened, or the release finished: nothing to do.
 * then marks torn every row of the chain left with ROW_WRITING, and makes the sequence counter
 * even again.
 */
void sw__table_recover_bucket(sw_table_t *t, uint32_t b)
{
    atomic_fetch_add_explicit(&t->hdr->lock_recoveries, 1, memory_order_relaxed);
    bucket_t *bk = &t->buckets[b];
    uint32_t j = t->journal[b];
    uint32_t r1 = j & JOURNAL_ROW_MASK;
    if (j != 0 && r1 != 0 && r1 <= t->nrows) {
        uint32_t r = r1 - 1;
        row_hdr_t *h = table_row(t, r);
        if (!in_chain(t, bk, r) && atomic_load_explicit(&h->state, memory_order_relaxed) == b + 1) {
            bit_clear(t, r);
            atomic_store_explicit(&h->state, 0, memory_order_release);
        }
    }
    t->journal[b] = 0;
    uint32_t cur = LD(&bk->head);
    for (uint32_t steps = 0; cur && cur <= t->nrows && steps < t->nrows; steps++) {
        row_hdr_t *h = table_row(t, cur - 1);
        uint16_t f = LD(&h->flags);
        if (f & ROW_WRITING) {
            ST(&h->flags, (uint16_t)((f & ~ROW_WRITING) | ROW_DIRTY));
        }
        cur = LD(&h->next);
    }
    uint32_t seq = LD(&bk->seq);
    if (seq & 1) {
        __atomic_store_n(&bk->seq, seq + 1, __ATOMIC_RELEASE);
    }
}

/* ---- column values in shared rows (aligned; single stores so a crash cannot tear them) ---- */

static inline const table_col_t *column(const sw_table_t *t, int col, uint32_t type)
{
    if (col < 0 || (uint32_t)col >= t->ncols || t->cols[col].type != type) {
        return NULL;
    }
    return &t->cols[col];
}

static inline unsigned char *col_ptr(const sw_table_t *t, uint32_t r, const table_col_t *c)
{
    return row_data(t, table_row(t, r)) + c->offset;
}

static inline void store_int(unsigned char *p, uint32_t size, int64_t v)
{
    switch (size) {
    case 1:
        __atomic_store_n((int8_t *)(void *)p, (int8_t)v, __ATOMIC_RELAXED);
        break;
    case 2:
        __atomic_store_n((int16_t *)(void *)p, (int16_t)v, __ATOMIC_RELAXED);
        break;
    case 4:
        __atomic_store_n((int32_t *)(void *)p, (int32_t)v, __ATOMIC_RELAXED);
        break;
    default:
        __atomic_store_n((int64_t *)(void *)p, v, __ATOMIC_RELAXED);
        break;
    }
}

static inline int64_t load_int(const unsigned char *p, uint32_t size)
{
    switch (size) {
    case 1:
        return __atomic_load_n((const int8_t *)(const void *)p, __ATOMIC_RELAXED);
    case 2:
        return __atomic_load_n((const int16_t *)(const void *)p, __ATOMIC_RELAXED);
    case 4:
        return __atomic_load_n((const int32_t *)(const void *)p, __ATOMIC_RELAXED);
    default:
        return __atomic_load_n((const int64_t *)(const void *)p, __ATOMIC_RELAXED);
    }
}

static inline void store_float(unsigned char *p, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    st64(p, u);
}

static inline double load_float(const unsigned char *p)
{
    uint64_t u = ld64(p);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

static inline int row_status(const sw_table_t *t, uint32_t r)
{
    return (LD(&table_row(t, r)->flags) & ROW_DIRTY) ? SW_ELOCK_OWNERDEAD : 0;
}

/* ---- reads --------------------------------------------------------------------------------- */

/* What a read copies out. */
typedef struct {
    const table_col_t *c; /* NULL: the whole row into `row` */
    void *row;
    int64_t *i;
    double *f;
    void *buf;
    size_t cap;
    size_t *len;
} read_req_t;

/* Reads row `cur` (index + 1; 0: missing) as `q` asks. Returns the operation's result. */
static inline int read_row(const sw_table_t *t, uint32_t cur, const read_req_t *q)
{
    if (!cur) {
        return SW_ETABLE_NOT_FOUND;
    }
    uint32_t r = cur - 1;
    const table_col_t *c = q->c;
    if (!c) {
        words_out(q->row, row_data(t, table_row(t, r)), t->data_size);
    } else if (c->type == SW_TABLE_INT) {
        *q->i = load_int(col_ptr(t, r, c), c->size);
    } else if (c->type == SW_TABLE_FLOAT) {
        *q->f = load_float(col_ptr(t, r, c));
    } else {
        const unsigned char *p = col_ptr(t, r, c);
        uint16_t l = __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED);
        if (l > c->size) {
            return SW_ETABLE_NOT_FOUND; /* torn by a racing writer: the read is retried */
        }
        *q->len = l;
        if (l > q->cap) {
            return SW_ENOBUFS;
        }
        bytes_out(q->buf, p + 2, l);
    }
    return row_status(t, r);
}

/* A read: lock-free tries first, then under the lock. */
static int do_read(op_t *op, const read_req_t *q)
{
    for (int i = 0; i < READ_TRIES; i++) {
        uint32_t seq;
        if (!read_begin(op, &seq)) {
            break;
        }
        int rc = read_row(op->t, find(op, NULL), q);
        if (read_end(op, seq)) {
            return rc;
        }
    }
    int rc = op_lock(op);
    if (rc) {
        return rc;
    }
    rc = read_row(op->t, find(op, NULL), q);
    op_unlock(op);
    return rc;
}

int sw_table_get(sw_table_t *t, const void *key, size_t key_len, void *row)
{
    if (t && !row && t->data_size) {
        return SW_EINVAL;
    }
    op_t op;
    int rc = op_init(&op, t, key, key_len);
    if (rc) {
        return rc;
    }
    unsigned char dummy[8];
    read_req_t q = {.row = t->data_size ? row : dummy};
    return do_read(&op, &q);
}

int sw_table_exists(sw_table_t *t, const void *key, size_t key_len)
{
    op_t op;
    int rc = op_init(&op, t, key, key_len);
    if (rc) {
        return rc;
    }
    for (int i = 0; i < READ_TRIES; i++) {
        uint32_t seq;
        if (!read_begin(&op, &seq)) {
            break;
        }
        rc = find(&op, NULL) ? 1 : 0;
        if (read_end(&op, seq)) {
            return rc;
        }
    }
    if ((rc = op_lock(&op))) {
        return rc;
    }
    rc = find(&op, NULL) ? 1 : 0;
    op_unlock(&op);
    return rc;
}

int sw_table_get_int(sw_table_t *t, const void *key, size_t key_len, int col, int64_t *out)
{
    op_t op;
    int rc = op_init(&op, t, key, key_len);
    if (rc) {
        return rc;
    }
    if (!out) {
        return SW_EINVAL;
    }
    read_req_t q = {.c = column(t, col, SW_TABLE_INT), .i = out};
    return q.c ? do_read(&op, &q) : SW_ETABLE_COLUMN;
}

int sw_table_get_float(sw_table_t *t, const void *key, size_t key_len, int col, double *out)
{
    op_t op;
    int rc = op_init(&op, t, key, key_len);
    if (rc) {
        return rc;
    }
    if (!out) {
        return SW_EINVAL;
    }
    read_req_t q = {.c = column(t, col, SW_TABLE_FLOAT), .f = out};
    return q.c ? do_read(&op, &q) : SW_ETABLE_COLUMN;
}

int sw_table_get_string(sw_table_t *t, const void *key, size_t key_len, int col, void *buf,
                        size_t cap, size_t *len)
{
    op_t op;
    int rc = op_init(&op, t, key, key_len);
    if (rc) {
        return rc;
    }
    if (!len || (!buf && cap)) {
        return SW_EINVAL;
    }
    read_req_t q = {.c = column(t, col, SW_TABLE_STRING), .buf = buf, .cap = cap, .len = len};
    return q.c ? do_read(&op, &q) : SW_ETABLE_COLUMN;
}

/* ---- whole rows ---------------------------------------------------------------------------- */

/* Writes a whole row buffer over row r's data. The split lets a test kill the writer halfway. */
static void write_data(op_t *op, uint32_t r, const void *data)
{
    sw_table_t *t = op->t;
    unsigned char *dst = row_data(t, table_row(t, r));
#ifdef SWOOLE_FAULT_INJECTION
    if (t->crash_at == TABLE_CRASH_UPD_HALF) {
        words_in(dst, data, t->data_size / 16 * 8);
        sw__table_crash_now(t);
    }
#endif
    words_in(dst, data, t->data_size);
}

int sw_table_set(sw_table_t *t, const void *key, size_t key_len, const void *row)
{
    if (t && !row && t->data_size) {
        return SW_EINVAL;
    }
    op_t op;
    int rc = op_init(&op, t, key, key_len);
    if (rc) {
        return rc;
    }
    for (uint32_t i = 0; i < t->ncols; i++) {
        const table_col_t *c = &t->cols[i];
        if (c->type == SW_TABLE_STRING) {
            uint16_t l;
            memcpy(&l, (const unsigned char *)row + c->offset, 2);
            if (l > c->size) {
                return SW_EOVERFLOW;
            }
        }
    }
    if ((rc = op_lock(&op))) {
        return rc;
    }
    write_begin(&op);
    uint32_t cur = find(&op, NULL);
    if (cur) {
        uint32_t r = cur - 1;
        row_hdr_t *h = table_row(t, r);
        row_write_begin(h);
        write_data(&op, r, row);
        TABLE_CRASH_POINT(t, TABLE_CRASH_UPD_DONE);
        row_write_end(h, 1);
    } else {
        uint32_t r;
        rc = prepare_row(&op, row, &r);
        if (rc == 0) {
            link_row(&op, r);
        }
    }
    write_end(&op);
    op_unlock(&op);
    return rc;
}

int sw_table_del(sw_table_t *t, const void *key, size_t key_len)
{
    op_t op;
    int rc = op_init(&op, t, key, key_len);
    if (rc || (rc = op_lock(&op))) {
        return rc;
    }
    uint32_t prev = 0;
    uint32_t cur = find(&op, &prev);
    if (!cur) {
        op_unlock(&op);
        return SW_ETABLE_NOT_FOUND;
    }
    write_begin(&op);
    uint32_t r = cur - 1;
    row_hdr_t *h = table_row(t, r);
    t->journal[op.b] = journal_word(JOURNAL_DEL, r);
    TABLE_CRASH_POINT(t, TABLE_CRASH_DEL_JOURNAL);
    if (prev) {
        ST(&table_row(t, prev - 1)->next, LD(&h->next));
    } else {
        ST(&op.bk->head, LD(&h->next));
    }
    TABLE_CRASH_POINT(t, TABLE_CRASH_DEL_UNLINKED);
    bit_clear(t, r);
    TABLE_CRASH_POINT(t, TABLE_CRASH_DEL_UNMARKED);
    atomic_store_explicit(&h->state, 0, memory_order_release);
    TABLE_CRASH_POINT(t, TABLE_CRASH_DEL_RELEASED);
    t->journal[op.b] = 0;
    write_end(&op);
    op_unlock(&op);
    return 0;
}

/* ---- single columns ------------------------------------------------------------------------ */

/* Sets one integer or float column (one atomic store), inserting the key if missing. */
static int set_word(sw_table_t *t, const void *key, size_t key_len, int col, uint32_t type,
                    int64_t iv, double fv)
{
    op_t op;
    int rc = op_init(&op, t, key, key_len);
    if (rc) {
        return rc;
    }
    const table_col_t *c = column(t, col, type);
    if (!c) {
        return SW_ETABLE_COLUMN;
    }
    if (type == SW_TABLE_INT && (iv < c->min || iv > c->max)) {
        return SW_ERANGE;
    }
    if ((rc = op_lock(&op))) {
        return rc;
    }
    write_begin(&op);
    uint32_t r;
    int fresh;
    rc = find_or_prepare(&op, &r, &fresh);
    if (rc == 0) {
        if (type == SW_TABLE_INT) {
            store_int(col_ptr(t, r, c), c->size, iv);
        } else {
            store_float(col_ptr(t, r, c), fv);
        }
        if (fresh) {
            link_row(&op, r);
        }
    }
    write_end(&op);
    op_unlock(&op);
    return rc;
}

int sw_table_set_int(sw_table_t *t, const void *key, size_t key_len, int col, int64_t v)
{
    return set_word(t, key, key_len, col, SW_TABLE_INT, v, 0);
}

int sw_table_set_float(sw_table_t *t, const void *key, size_t key_len, int col, double v)
{
    return set_word(t, key, key_len, col, SW_TABLE_FLOAT, 0, v);
}

int sw_table_set_string(sw_table_t *t, const void *key, size_t key_len, int col, const void *s,
                        size_t len)
{
    op_t op;
    int rc = op_init(&op, t, key, key_len);
    if (rc) {
        return rc;
    }
    if (!s && len) {
        return SW_EINVAL;
    }
    const table_col_t *c = column(t, col, SW_TABLE_STRING);
    if (!c) {
        return SW_ETABLE_COLUMN;
    }
    if (len > c->size) {
        return SW_EOVERFLOW;
    }
    if ((rc = op_lock(&op))) {
        return rc;
    }
    write_begin(&op);
    uint32_t r;
    int fresh;
    rc = find_or_prepare(&op, &r, &fresh);
    if (rc == 0) {
        row_hdr_t *h = table_row(t, r);
        unsigned char *p = col_ptr(t, r, c);
        if (!fresh) {
            row_write_begin(h);
        }
        __atomic_store_n((uint16_t *)(void *)p, (uint16_t)len, __ATOMIC_RELAXED);
        bytes_in(p + 2, s, len);
        if (fresh) {
            link_row(&op, r);
        } else {
            row_write_end(h, 0);
        }
    }
    write_end(&op);
    op_unlock(&op);
    return rc;
}

/* ---- incr / decr --------------------------------------------------------------------------- */

static int add_int(sw_table_t *t, const void *key, size_t key_len, int col, int64_t delta,
                   int subtract, int64_t *out)
{
    op_t op;
    int rc = op_init(&op, t, key, key_len);
    if (rc) {
        return rc;
    }
    const table_col_t *c = column(t, col, SW_TABLE_INT);
    if (!c) {
        return SW_ETABLE_COLUMN;
    }
    if ((rc = op_lock(&op))) {
        return rc;
    }
    uint32_t cur = find(&op, NULL);
    int64_t old = cur ? load_int(col_ptr(t, cur - 1, c), c->size) : 0, v;
    int overflow =
        subtract ? __builtin_sub_overflow(old, delta, &v) : __builtin_add_overflow(old, delta, &v);
    if (overflow || v < c->min || v > c->max) {
        rc = SW_ERANGE;
    } else {
        write_begin(&op);
        if (cur) {
            store_int(col_ptr(t, cur - 1, c), c->size, v);
        } else {
            uint32_t r;
            rc = prepare_row(&op, NULL, &r);
            if (rc == 0) {
                store_int(col_ptr(t, r, c), c->size, v);
                link_row(&op, r);
            }
        }
        write_end(&op);
    }
    op_unlock(&op);
    if (rc == 0 && out) {
        *out = v;
    }
    return rc;
}

int sw_table_incr_int(sw_table_t *t, const void *key, size_t key_len, int col, int64_t delta,
                      int64_t *out)
{
    return add_int(t, key, key_len, col, delta, 0, out);
}

int sw_table_decr_int(sw_table_t *t, const void *key, size_t key_len, int col, int64_t delta,
                      int64_t *out)
{
    return add_int(t, key, key_len, col, delta, 1, out);
}

static int add_float(sw_table_t *t, const void *key, size_t key_len, int col, double delta,
                     double *out)
{
    op_t op;
    int rc = op_init(&op, t, key, key_len);
    if (rc) {
        return rc;
    }
    const table_col_t *c = column(t, col, SW_TABLE_FLOAT);
    if (!c) {
        return SW_ETABLE_COLUMN;
    }
    if ((rc = op_lock(&op))) {
        return rc;
    }
    write_begin(&op);
    uint32_t r;
    int fresh;
    double v = 0;
    rc = find_or_prepare(&op, &r, &fresh);
    if (rc == 0) {
        unsigned char *p = col_ptr(t, r, c);
        v = (fresh ? 0.0 : load_float(p)) + delta;
        store_float(p, v);
        if (fresh) {
            link_row(&op, r);
        }
    }
    write_end(&op);
    op_unlock(&op);
    if (rc == 0 && out) {
        *out = v;
    }
    return rc;
}

int sw_table_incr_float(sw_table_t *t, const void *key, size_t key_len, int col, double delta,
                        double *out)
{
    return add_float(t, key, key_len, col, delta, out);
}

int sw_table_decr_float(sw_table_t *t, const void *key, size_t key_len, int col, double delta,
                        double *out)
{
    return add_float(t, key, key_len, col, -delta, out);
}

/* ---- test hooks ---------------------------------------------------------------------------- */

uint64_t sw__table_key_hash(const sw_table_t *t, const void *key, size_t key_len)
{
    return key_hash(t->seed, key ? key : "", key_len);
}

int sw__table_test_lock_key(sw_table_t *t, const void *key, size_t key_len)
{
    op_t op;
    int rc = op_init(&op, t, key, key_len);
    return rc ? rc : op_lock(&op);
}

void sw__table_test_unlock_key(sw_table_t *t, const void *key, size_t key_len)
{
    op_t op;
    if (op_init(&op, t, key, key_len) == 0) {
        op_unlock(&op);
    }
}
