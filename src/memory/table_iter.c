/*
 * Table: count, statistics and iteration.
 *
 * Iteration walks the row pool in index order, not the chains: rows never move (an update
 * writes in place, a delete frees the row where it is), so a cursor that is a row index sees
 * every row that stays in the table exactly once, whatever other processes do meanwhile. For
 * each row whose bitmap bit is set, the iterator reads which bucket owns it, takes that
 * bucket's lock, checks that the row still belongs to it (under the lock, "owned by bucket b"
 * means "linked in chain b": an insert in flight holds the same lock) and copies it out. This
 * is what Swoole's iterator got wrong: it walked buckets whose roots moved when a chained root
 * was deleted (#2263), and could copy a row between its allocation and its fill (#737).
 */
#include <string.h>

#include "memory/table_int.h"
#include "swoole/error.h"

int sw_table_count(sw_table_t *t)
{
    if (!t) {
        return SW_EINVAL;
    }
    uint64_t n = 0;
    for (uint32_t w = 0; w < t->nwords; w++) {
        n += (uint64_t)__builtin_popcountll(
            atomic_load_explicit(&t->bitmap[w], memory_order_relaxed));
    }
    return (int)(n - t->pad_bits);
}

int sw_table_stats(sw_table_t *t, sw_table_stats_t *out)
{
    if (!t || !out) {
        return SW_EINVAL;
    }
    sw_table_stats_t s = {
        .capacity = t->nrows,
        .buckets = t->mask + 1,
        .key_max = t->key_max,
        .row_size = t->data_size,
        .memory_size = t->map_size,
    };
    for (uint32_t b = 0; b <= t->mask; b++) {
        int rc = table_lock_bucket(t, b);
        if (rc) {
            return rc;
        }
        uint32_t len = 0, cur = t->buckets[b].head;
        while (cur && len < t->nrows) {
            row_hdr_t *h = table_row(t, cur - 1);
            if (h->flags & ROW_DIRTY) {
                s.dirty_rows++;
            }
            len++;
            cur = h->next;
        }
        table_unlock_word(&t->buckets[b].lock);
        if (len) {
            s.rows += len;
            s.buckets_used++;
            s.collisions += len - 1;
            if (len > s.max_chain) {
                s.max_chain = len;
            }
        }
    }
    s.lock_recoveries = atomic_load_explicit(&t->hdr->lock_recoveries, memory_order_relaxed);
    *out = s;
    return 0;
}

int sw_table_iter_init(sw_table_iter_t *it, sw_table_t *t)
{
    if (!it || !t) {
        return SW_EINVAL;
    }
    *it = (sw_table_iter_t){.table = t, .next_row = 0};
    return 0;
}

/* Copies row r if it is in a chain. Returns 1 (copied), SW_ELOCK_OWNERDEAD (copied, torn),
 * 0 (not in a chain now) or SW_EDEADLK. */
static int copy_row(sw_table_t *t, uint32_t r, void *key, size_t *key_len, void *row)
{
    row_hdr_t *h = table_row(t, r);
    /* A row can be freed and claimed by another bucket between our read of its owner and our
     * lock; follow it a few times, then give up on it (it was inserted during the iteration,
     * which the contract allows us to miss). */
    for (int tries = 0; tries < 4; tries++) {
        uint32_t st = atomic_load_explicit(&h->state, memory_order_acquire);
        if (st == 0 || st - 1 > t->mask) {
            return 0;
        }
        int rc = table_lock_bucket(t, st - 1);
        if (rc) {
            return rc;
        }
        if (atomic_load_explicit(&h->state, memory_order_relaxed) == st) {
            if (key && h->key_len) {
                memcpy(key, row_key(h), h->key_len);
            }
            if (key_len) {
                *key_len = h->key_len;
            }
            if (row && t->data_size) {
                memcpy(row, row_data(t, h), t->data_size);
            }
            rc = (h->flags & ROW_DIRTY) ? SW_ELOCK_OWNERDEAD : 1;
            table_unlock_word(&t->buckets[st - 1].lock);
            return rc;
        }
        table_unlock_word(&t->buckets[st - 1].lock);
    }
    return 0;
}

int sw_table_iter_next(sw_table_iter_t *it, void *key, size_t *key_len, void *row)
{
    if (!it || !it->table) {
        return SW_EINVAL;
    }
    sw_table_t *t = it->table;
    uint32_t r = it->next_row;
    while (r < t->nrows) {
        uint32_t w = r >> 6;
        uint64_t bits =
            atomic_load_explicit(&t->bitmap[w], memory_order_relaxed) & (~UINT64_C(0) << (r & 63));
        if (!bits) {
            r = (w + 1) << 6;
            continue;
        }
        r = w * 64 + (uint32_t)__builtin_ctzll(bits);
        if (r >= t->nrows) {
            break; /* the padding bits of the last word */
        }
        int rc = copy_row(t, r, key, key_len, row);
        r++;
        if (rc != 0) {
            it->next_row = r;
            return rc;
        }
    }
    it->next_row = t->nrows;
    return 0;
}
