/*
 * Table internals: the layout of the shared mapping, the per-process handle, the bucket lock
 * and the pieces table.c, table_ops.c and table_lock.c share.
 *
 * The mapping (all offsets from its start; plain data, no pointers):
 *
 *   [0, 64)            table_hdr_t: geometry, hash seed, recovery counter
 *   [64, +16*B)        bucket_t[B]: lock word, chain head, sequence counter
 *   then               uint32_t journal[B], padded to 8 bytes: operation in flight
 *   then               uint64_t bitmap[W]: bit r set = row r claimed (W = ceil(rows/64);
 *                      the bits past the last row are set once at creation)
 *   then, 64-aligned   rows[rows]: row_hdr_t, key (round8(key_max)), data (round8(data))
 *
 * Invariants (between operations, once dead holders have been recovered):
 *   - row r is in chain b  <=>  rows[r].state == b + 1; its bitmap bit is then set
 *   - a row with state 0 has its bitmap bit clear.
 * Inside an operation the order of writes keeps the two "transient" states one-sided: a row
 * may be claimed (state b+1) with its bit still clear, never the reverse, so a bit that is
 * clear is only a hint ("maybe free") and a bit that is set always means "not free". Claims
 * are a compare-and-swap on state, so two inserters never get the same row.
 *
 * Every change to a chain or to a row's ownership is made under the bucket lock, after the
 * bucket's journal names the row and the operation. A thread that takes the lock over from a
 * dead holder replays the journal (table_ops.c, sw__table_recover_bucket()).
 *
 * Readers do not lock: every change in a bucket (chain or row contents) happens between two
 * increments of the bucket's sequence counter, which is odd meanwhile, so a reader that sees
 * the same even value before and after its reads has a consistent copy (a seqlock). Because
 * readers race with writers, every field a reader reads without the lock is read and written
 * with (relaxed) atomic accesses: the header fields, and the key and data as 8-byte words
 * (string bytes as single bytes).
 */
#ifndef SW_MEMORY_TABLE_INT_H
#define SW_MEMORY_TABLE_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include "memory/lock_int.h"
#include "swoole/table.h"

#define TABLE_MAGIC          0x53575442u /* "SWTB" */
#define TABLE_LAYOUT_VERSION 1u
#define TABLE_HDR_SIZE       64u

typedef struct {
    uint32_t magic;
    uint32_t version;
    uint32_t rows;
    uint32_t buckets;
    uint32_t key_max;
    uint32_t row_size;
    uint32_t data_size;
    uint32_t bitmap_words;
    uint64_t seed;
    _Atomic uint64_t lock_recoveries;
} table_hdr_t;

_Static_assert(sizeof(table_hdr_t) <= TABLE_HDR_SIZE, "table header too big");

/* Bucket lock word: the holder's identity (sw__lock_self(): thread id in bits 0..29, start
 * time in bits 32..63) plus TABLE_LOCK_WAITERS when a thread may sleep on it. */
#define TABLE_LOCK_WAITERS 0x80000000u

/* Journal word: operation in bits 30..31, row index + 1 in bits 0..29 (0: idle). Updates are
 * journaled in the row instead (ROW_WRITING), so the common update touches no other line. */
#define JOURNAL_INS      1u /* inserting row: claimed or about to be; linked last */
#define JOURNAL_DEL      2u /* deleting row: unlinked first, then released */
#define JOURNAL_ROW_MASK 0x3fffffffu

typedef struct {
    _Atomic uint64_t lock;
    uint32_t head; /* first row of the chain, index + 1; 0: empty (atomic accesses) */
    uint32_t seq;  /* odd while the bucket changes (atomic accesses) */
} bucket_t;

_Static_assert(sizeof(bucket_t) == 16, "bucket must be 16 bytes");

#define ROW_DIRTY   0x1u /* a multi-byte write of this row was cut short by a dead holder */
#define ROW_WRITING 0x2u /* a multi-byte write of this row is in progress */

typedef struct {
    _Atomic uint32_t state; /* 0: free; b + 1: claimed by or linked in bucket b */
    uint32_t next;          /* next row of the chain, index + 1; 0: end */
    uint32_t hash;          /* high 32 bits of the key's hash: compared before the key */
    uint16_t key_len;
    uint16_t flags; /* ROW_DIRTY, ROW_WRITING */
} row_hdr_t;        /* next, hash, key_len and flags: atomic accesses */

_Static_assert(sizeof(row_hdr_t) == 16, "row header must be 16 bytes");

/* A column as the handle keeps it. */
typedef struct {
    char *name;
    uint32_t type;   /* sw_table_type_t */
    uint32_t size;   /* INT: 1/2/4/8; FLOAT: 8; STRING: max bytes */
    uint32_t offset; /* in the row data */
    int64_t min;     /* INT range */
    int64_t max;
} table_col_t;

/* Test hooks: places where a test build can make the process die (or stop) on purpose. */
enum {
    TABLE_CRASH_NONE = 0,
    TABLE_CRASH_LOCKED,       /* any operation, right after taking the bucket lock */
    TABLE_CRASH_INS_CLAIMED,  /* row claimed, bitmap bit not yet set */
    TABLE_CRASH_INS_MARKED,   /* bit set, row filled, not yet linked */
    TABLE_CRASH_INS_LINKED,   /* linked, journal not yet cleared */
    TABLE_CRASH_DEL_JOURNAL,  /* journal written, not yet unlinked */
    TABLE_CRASH_DEL_UNLINKED, /* unlinked, bit not yet cleared */
    TABLE_CRASH_DEL_UNMARKED, /* bit cleared, row not yet released */
    TABLE_CRASH_DEL_RELEASED, /* released, journal not yet cleared */
    TABLE_CRASH_UPD_HALF,     /* whole-row write, half of the data written */
    TABLE_CRASH_UPD_DONE,     /* whole-row write done, row not yet marked finished */
    TABLE_CRASH_MAX
};

struct sw_table_s {
    /* Per-process view of the mapping. */
    unsigned char *base;
    size_t map_size;
    size_t rows_off;
    table_hdr_t *hdr;
    bucket_t *buckets;
    uint32_t *journal;
    _Atomic uint64_t *bitmap;
    unsigned char *rows;

    /* Geometry, copied from the header (read-only after create). */
    uint32_t nrows;
    uint32_t mask; /* buckets - 1 */
    uint32_t nwords;
    uint32_t key_max;
    uint32_t key_room; /* round8(key_max) */
    uint32_t row_size;
    uint32_t data_size;
    uint32_t pad_bits; /* bitmap bits past the last row, set at creation */
    uint64_t seed;

    uint32_t ncols;
    table_col_t *cols;

    /* Where this process starts looking for a free row (a hint; threads race on it). */
    _Atomic uint32_t cursor;

#ifdef SWOOLE_FAULT_INJECTION
    int crash_at;
    int crash_fd; /* stop mode: write one byte here, then sleep until killed */
#endif
};

/* ---- rows ---------------------------------------------------------------------------------- */

static inline row_hdr_t *table_row(const sw_table_t *t, uint32_t r)
{
    return (row_hdr_t *)(t->rows + (size_t)r * t->row_size);
}

static inline unsigned char *row_key(row_hdr_t *h)
{
    return (unsigned char *)(h + 1);
}

static inline unsigned char *row_data(const sw_table_t *t, row_hdr_t *h)
{
    return (unsigned char *)(h + 1) + t->key_room;
}

/* ---- bucket lock (table_lock.c) ------------------------------------------------------------ */

/* Slow path of table_lock(): waits, sleeping on a futex, checking the holder's liveness every
 * few ms. Returns 0, 1 (taken over from a dead holder: the caller must recover the bucket) or
 * SW_EDEADLK (the calling thread holds it). */
int sw__table_lock_slow(_Atomic uint64_t *word, uint64_t self);

/* Wakes one sleeper after an unlock that saw TABLE_LOCK_WAITERS. */
void sw__table_lock_wake(_Atomic uint64_t *word);

/* Tries once without waiting; takes the lock over if its holder is dead. Returns 0 (taken),
 * 1 (taken over from a dead holder) or SW_EBUSY. */
int sw__table_lock_try(_Atomic uint64_t *word, uint64_t self);

static inline int table_lock_word(_Atomic uint64_t *word, uint64_t self)
{
    uint64_t expected = 0;
    if (__builtin_expect(atomic_compare_exchange_strong_explicit(
                             word, &expected, self, memory_order_acquire, memory_order_relaxed),
                         1)) {
        return 0;
    }
    return sw__table_lock_slow(word, self);
}

static inline void table_unlock_word(_Atomic uint64_t *word)
{
    uint64_t old = atomic_exchange_explicit(word, 0, memory_order_release);
    if (__builtin_expect((old & TABLE_LOCK_WAITERS) != 0, 0)) {
        sw__table_lock_wake(word);
    }
}

/* ---- shared between table.c and table_ops.c ------------------------------------------------ */

/* Validates geometry and columns, and computes the layout. Fills the handle's geometry and
 * column fields when `t` is not NULL (columns allocated; free with sw__table_free_cols()). */
int sw__table_layout(const sw_table_options_t *opts, const sw_table_column_t *cols, size_t ncols,
                     sw_table_t *t, size_t *map_size);
void sw__table_free_cols(sw_table_t *t);

/* Repairs bucket `b` from its journal; called by the thread that took its lock over from a
 * dead holder, before anything else touches the bucket (table_ops.c). */
void sw__table_recover_bucket(sw_table_t *t, uint32_t b);

/* Test hooks (test builds only; no effect otherwise). sw__table_test_crash() makes the calling
 * process die with SIGKILL at `point` (fd < 0) or, with fd >= 0, write one byte to fd and sleep
 * until killed. */
void sw__table_test_crash(sw_table_t *t, int point, int fd);

/* The full 64-bit hash of a key (bucket = low bits, tag = high 32 bits). For tests. */
uint64_t sw__table_key_hash(const sw_table_t *t, const void *key, size_t key_len);

/* Takes (and leaves held) / releases the lock of a key's bucket. For tests that need a holder
 * to die while holding a lock. */
int sw__table_test_lock_key(sw_table_t *t, const void *key, size_t key_len);
void sw__table_test_unlock_key(sw_table_t *t, const void *key, size_t key_len);

#ifdef SWOOLE_FAULT_INJECTION
void sw__table_crash_now(sw_table_t *t);
#define TABLE_CRASH_POINT(t, point)                          \
    do {                                                     \
        if (__builtin_expect((t)->crash_at == (point), 0)) { \
            sw__table_crash_now(t);                          \
        }                                                    \
    } while (0)
#else
#define TABLE_CRASH_POINT(t, point) ((void)0)
#endif

/* Locks bucket `b`, repairing it first if its holder died. Returns 0 or SW_EDEADLK. */
static inline int table_lock_bucket(sw_table_t *t, uint32_t b)
{
    int rc = table_lock_word(&t->buckets[b].lock, sw__lock_self());
    if (__builtin_expect(rc == 1, 0)) {
        sw__table_recover_bucket(t, b);
        rc = 0;
    }
    if (rc == 0) {
        TABLE_CRASH_POINT(t, TABLE_CRASH_LOCKED);
    }
    return rc;
}

#endif
