/*
 * Table: a fixed-capacity hash table in shared memory, shared by the processes forked after
 * it is created and by their threads (Swoole's swoole_table, with its known faults fixed).
 *
 * Shape. A table has typed columns (signed integers of 1, 2, 4 or 8 bytes, doubles, and
 * strings of a fixed maximum size) and a fixed number of rows, chosen at creation. Everything
 * lives in one shared mapping made by sw_table_create(), whose exact size
 * sw_table_memory_size() tells beforehand. The mapping holds plain data only (chains and free
 * rows are indexes, never pointers); the sw_table_t handle is per process, inherited by
 * fork().
 *
 *     sw_table_column_t cols[] = {{"hits", SW_TABLE_INT, 8}, {"name", SW_TABLE_STRING, 32}};
 *     sw_table_options_t opts;
 *     sw_table_options_init(&opts);
 *     opts.rows = 10000;
 *     sw_table_t *t;
 *     int rc = sw_table_create(&t, &opts, cols, 2);   // before fork()
 *     ...
 *     sw_table_incr_int(t, "alice", 5, 0, 1, NULL);    // in any process or thread
 *
 * Keys are byte strings of 0 to key_max bytes (63 by default, up to SW_TABLE_KEY_MAX_LIMIT),
 * stored whole and compared whole: NUL bytes are ordinary bytes and two keys are the same key
 * only when their bytes are. The hash only picks the bucket. A longer key is rejected with
 * SW_ETABLE_KEY_TOO_LONG, never truncated.
 *
 * Capacity is exact: a table made for N rows holds N keys whatever their hashes, and an insert
 * when N keys are present returns SW_ETABLE_FULL and changes nothing. (Rows come from a pool
 * of exactly N; buckets only hold chain heads.)
 *
 * Values. Reads copy out (into a row buffer or a caller variable); no call returns a pointer
 * into the shared memory. A row buffer is sw_table_row_size() bytes of caller memory in the
 * table's row layout, filled and read with the sw_table_row_* accessors. Values are never
 * silently changed: an integer that does not fit its column is SW_ERANGE, a string longer
 * than its column is SW_EOVERFLOW, a call naming a column of another type is SW_ETABLE_COLUMN.
 *
 * Locking and consistency. Each bucket has an 8-byte lock and a sequence counter in the
 * mapping. Every write (set, set_*, incr/decr, del) takes the lock of its key's bucket for the
 * whole operation, so incr/decr are atomic read-modify-writes and writes to one key are
 * totally ordered. Reads (get, get_*, exists) do not lock: they copy the row and keep the copy
 * only if the bucket's counter did not move meanwhile (otherwise they retry, and after a few
 * tries lock), so a read never returns half of a write, and reads never slow each other down
 * or write to shared memory. Iteration copies each row under its lock. No call holds a lock
 * when it returns and no user code runs under a lock, so a caller cannot deadlock the table
 * (Swoole's lock-then-set deadlock, #786, cannot happen).
 *
 * Dead holders. When a process (or thread) dies while holding a bucket lock, the next thread
 * that needs the bucket notices within a few milliseconds (the holder's thread id is gone, a
 * zombie, or recycled: the lock word records the id and the thread's start time), takes the
 * lock over and repairs the bucket from a small journal kept beside the lock: a half-done
 * insert or delete is rolled back or completed so that chains, the row pool and the count stay
 * exact and no other key is touched. A row whose multi-byte write (sw_table_set() of a whole
 * row, or a string column) was cut short may hold a mix of old and new bytes: it is marked,
 * and reads of it return SW_ELOCK_OWNERDEAD (the copy is still made) until a whole-row
 * sw_table_set() or a delete. Single integer and float writes, incr and decr are one aligned
 * store and are never torn. Recoveries are counted in sw_table_stats().
 *
 * Processes must share one pid namespace, and must be made with fork() (or posix_spawn);
 * a child of a raw clone() system call is not supported.
 *
 * Thread-safety: every call on a created table may be made concurrently from any thread of any
 * process that shares it, except sw_table_destroy(), after which the handle is gone in the
 * calling process. Calls are not async-signal-safe: a write (or a read that had to lock) from
 * a signal handler that interrupted a write on the same bucket returns SW_EDEADLK.
 */
#ifndef SWOOLE_TABLE_H
#define SWOOLE_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "swoole/common.h"

SW_EXTERN_C_BEGIN

/** A table: the calling process's handle to the shared mapping. */
typedef struct sw_table_s sw_table_t;

/** Column types. */
typedef enum {
    SW_TABLE_INT = 1,    /* signed integer of size 1, 2, 4 or 8 bytes (size 0 means 8) */
    SW_TABLE_FLOAT = 2,  /* double; size 0 or 8 */
    SW_TABLE_STRING = 3, /* 0 to `size` bytes, binary-safe, length kept; size 1..65535 */
} sw_table_type_t;

/** Most rows of one table. */
#define SW_TABLE_MAX_ROWS ((uint32_t)1 << 28)
/** Most buckets of one table. */
#define SW_TABLE_MAX_BUCKETS ((uint32_t)1 << 30)
/** Largest key_max. */
#define SW_TABLE_KEY_MAX_LIMIT 65535u
/** Default key_max: Swoole's limit. */
#define SW_TABLE_KEY_MAX_DEFAULT 63u
/** Most columns of one table. */
#define SW_TABLE_MAX_COLUMNS 256u
/** Longest column name, in bytes. */
#define SW_TABLE_COLUMN_NAME_MAX 63u
/** Largest string column. */
#define SW_TABLE_STRING_MAX 65535u
/** Largest row buffer (all columns together), in bytes. */
#define SW_TABLE_ROW_MAX ((size_t)1 << 20)

/** A column declaration. `name` is copied by sw_table_create(). */
typedef struct sw_table_column_s {
    const char *name;     /* 1..SW_TABLE_COLUMN_NAME_MAX bytes, unique in the table */
    sw_table_type_t type; /* SW_TABLE_INT, SW_TABLE_FLOAT or SW_TABLE_STRING */
    uint32_t size;        /* INT: 1, 2, 4 or 8 (0: 8); FLOAT: 0 or 8; STRING: max bytes */
} sw_table_column_t;

/** Creation options; fill with sw_table_options_init() and change what you need. */
typedef struct sw_table_options_s {
    uint32_t rows;      /* exact capacity, 1..SW_TABLE_MAX_ROWS; default 1024 */
    uint32_t buckets;   /* power of two, 1..SW_TABLE_MAX_BUCKETS; 0 (default): the smallest
                           power of two >= rows. Fewer buckets save 16 bytes each and make
                           longer chains; 1 puts every key in one chain. */
    uint32_t key_max;   /* longest key in bytes, 1..SW_TABLE_KEY_MAX_LIMIT; default 63 */
    uint32_t reserved_; /* must be 0 */
    uint64_t hash_seed; /* seed of the bucket hash; 0 (default): random per table */
} sw_table_options_t;

/** Statistics. */
typedef struct sw_table_stats_s {
    uint32_t rows;            /* keys present */
    uint32_t capacity;        /* rows the table was created for */
    uint32_t buckets;         /* bucket count */
    uint32_t buckets_used;    /* buckets holding at least one key */
    uint32_t collisions;      /* keys that share a bucket with an earlier key (rows -
                               buckets_used) */
    uint32_t max_chain;       /* keys in the longest chain */
    uint32_t dirty_rows;      /* rows marked torn by a dead writer (see above) */
    uint32_t key_max;         /* longest key accepted */
    size_t row_size;          /* bytes of a row buffer (sw_table_row_size()) */
    size_t memory_size;       /* bytes of shared memory mapped (sw_table_memory_size()) */
    uint64_t lock_recoveries; /* bucket locks taken over from dead holders, since creation */
} sw_table_stats_t;

/** An iteration cursor: caller-allocated, set up by sw_table_iter_init(). */
typedef struct sw_table_iter_s {
    sw_table_t *table;
    uint32_t next_row; /* private */
    uint32_t reserved_;
} sw_table_iter_t;

/** Fills `opts` with the defaults (rows 1024, buckets auto, key_max 63, random seed). */
SW_API void sw_table_options_init(sw_table_options_t *opts);

/**
 * Bytes of shared memory a table with these options and columns maps (page-rounded), so a
 * program can check its budget before creating it. The formula (docs/api/table.md):
 *   data     = the columns laid out in order, each aligned to its own alignment (INT: its
 *              size; FLOAT: 8 bytes aligned 8; STRING: 2 + size bytes aligned 2), rounded up
 *              to a multiple of 8 (this is sw_table_row_size())
 *   row      = 16 + round8(key_max) + data
 *   bytes    = round_page(round64(64 + 16 * buckets + round8(4 * buckets)
 *                                 + 8 * ceil(rows / 64)) + rows * row)
 * Stores the size in `*out` and returns 0, or returns the error sw_table_create() would
 * return for these arguments (SW_EINVAL, SW_ETABLE_COLUMN) with `*out` untouched.
 * `opts` NULL means the defaults.
 */
SW_API int sw_table_memory_size(const sw_table_options_t *opts, const sw_table_column_t *cols,
                                size_t ncols, size_t *out);

/**
 * Creates a table: validates the columns, maps its shared memory (zero-filled) and makes the
 * handle. Create it before forking the processes that share it. `opts` NULL means the
 * defaults. Returns 0 and stores the handle in `*out`, or:
 *   SW_EINVAL        out NULL, cols NULL with ncols > 0, rows 0 or above the maximum, buckets
 *                    not a power of two or too many, key_max 0 or too big, reserved_ not 0,
 *                    ncols above SW_TABLE_MAX_COLUMNS, or the row above SW_TABLE_ROW_MAX
 *   SW_ETABLE_COLUMN a column with no name, a name too long or used twice, an unknown type,
 *                    or a size its type does not allow
 *   SW_ENOMEM        no memory for the handle or the mapping (or a negated mmap errno)
 * A table with no columns is allowed (a set of keys). Nothing is left allocated on error.
 */
SW_API int sw_table_create(sw_table_t **out, const sw_table_options_t *opts,
                           const sw_table_column_t *cols, size_t ncols);

/**
 * Unmaps the table in the calling process and frees the handle. Each process that shares the
 * table may call it (or simply exit); the memory is released when the last one has. Other
 * threads must not be using the handle. Returns 0 or SW_EINVAL (NULL).
 */
SW_API int sw_table_destroy(sw_table_t *t);

/* ---- columns and row buffers -------------------------------------------------------------- */

/** Number of columns, or SW_EINVAL (NULL). */
SW_API int sw_table_column_count(const sw_table_t *t);

/** The index of the column called `name`, or SW_ETABLE_COLUMN (no such column), SW_EINVAL. */
SW_API int sw_table_column_index(const sw_table_t *t, const char *name);

/**
 * Describes column `col`: fills `*out` (name valid while the handle lives; size normalised:
 * INT and FLOAT give their byte size). Returns 0, SW_ETABLE_COLUMN or SW_EINVAL.
 */
SW_API int sw_table_column_info(const sw_table_t *t, int col, sw_table_column_t *out);

/** Bytes of a row buffer (0 for NULL or a table without columns). */
SW_API size_t sw_table_row_size(const sw_table_t *t);

/** Longest key the table accepts (0 for NULL). */
SW_API size_t sw_table_key_max(const sw_table_t *t);

/** Sets every column of the row buffer to 0 / 0.0 / "". Returns 0 or SW_EINVAL. */
SW_API int sw_table_row_clear(const sw_table_t *t, void *row);

/* The row accessors work on caller memory only; they take no lock. Each returns 0,
 * SW_EINVAL (NULL argument), SW_ETABLE_COLUMN (no such column or another type), and:
 * set_int SW_ERANGE when `v` does not fit the column; set_string SW_EOVERFLOW when `len`
 * exceeds the column size (the buffer is unchanged on error). get_string points `*s` into
 * `row` itself. */
SW_API int sw_table_row_set_int(const sw_table_t *t, void *row, int col, int64_t v);
SW_API int sw_table_row_set_float(const sw_table_t *t, void *row, int col, double v);
SW_API int sw_table_row_set_string(const sw_table_t *t, void *row, int col, const void *s,
                                   size_t len);
SW_API int sw_table_row_get_int(const sw_table_t *t, const void *row, int col, int64_t *out);
SW_API int sw_table_row_get_float(const sw_table_t *t, const void *row, int col, double *out);
SW_API int sw_table_row_get_string(const sw_table_t *t, const void *row, int col, const void **s,
                                   size_t *len);

/* ---- operations -----------------------------------------------------------------------------
 * Every operation below returns SW_EINVAL for a NULL table or output pointer, or a NULL key
 * with key_len > 0; SW_ETABLE_KEY_TOO_LONG for key_len > key_max; SW_EDEADLK as described at
 * the top. */

/**
 * Inserts or replaces the row of `key` with the row buffer `row` (every column). Returns 0,
 * SW_ETABLE_FULL (new key, no free row; nothing changed), SW_EOVERFLOW (a string length in
 * `row` above its column size: the buffer is corrupt; nothing changed). Clears the torn mark.
 */
SW_API int sw_table_set(sw_table_t *t, const void *key, size_t key_len, const void *row);

/**
 * Copies the row of `key` into the row buffer `row`. Returns 0, SW_ETABLE_NOT_FOUND, or
 * SW_ELOCK_OWNERDEAD (copied, but the row was torn by a dead writer). On an error other than
 * SW_ELOCK_OWNERDEAD the contents of `row` are unspecified (a read that raced with a delete
 * may have copied part of the old row before it retried).
 */
SW_API int sw_table_get(sw_table_t *t, const void *key, size_t key_len, void *row);

/** 1 if `key` is present, 0 if not (or a negative code). */
SW_API int sw_table_exists(sw_table_t *t, const void *key, size_t key_len);

/** Deletes `key`. Returns 0 or SW_ETABLE_NOT_FOUND. Other keys of its chain are untouched. */
SW_API int sw_table_del(sw_table_t *t, const void *key, size_t key_len);

/**
 * Sets one column of `key`; a missing key is inserted with every other column zero.
 * Returns 0, SW_ETABLE_COLUMN, SW_ERANGE (int does not fit), SW_EOVERFLOW (string longer than
 * the column), SW_ETABLE_FULL (missing key, no free row). Nothing changes on error.
 */
SW_API int sw_table_set_int(sw_table_t *t, const void *key, size_t key_len, int col, int64_t v);
SW_API int sw_table_set_float(sw_table_t *t, const void *key, size_t key_len, int col, double v);
SW_API int sw_table_set_string(sw_table_t *t, const void *key, size_t key_len, int col,
                               const void *s, size_t len);

/** Reads one column of `key`. Returns 0, SW_ETABLE_NOT_FOUND, SW_ETABLE_COLUMN or
 * SW_ELOCK_OWNERDEAD (value read from a torn row); `*out` is unspecified on other errors. */
SW_API int sw_table_get_int(sw_table_t *t, const void *key, size_t key_len, int col, int64_t *out);
SW_API int sw_table_get_float(sw_table_t *t, const void *key, size_t key_len, int col, double *out);

/**
 * Copies the string column `col` of `key` into `buf` (`cap` bytes; no NUL is added) and its
 * length into `*len`. Returns as sw_table_get_int(), plus SW_ENOBUFS when `cap` is smaller
 * than the value: `*len` holds the length needed and nothing more is copied. `buf` may be
 * NULL when `cap` is 0. The contents of `buf` are unspecified on error.
 */
SW_API int sw_table_get_string(sw_table_t *t, const void *key, size_t key_len, int col, void *buf,
                               size_t cap, size_t *len);

/**
 * Adds `delta` to the integer column `col` of `key` atomically and stores the new value in
 * `*out` (may be NULL). A missing key is inserted with zeros first (as Swoole does). Returns
 * 0, SW_ETABLE_COLUMN, SW_ETABLE_FULL, or SW_ERANGE when the result does not fit the column
 * (nothing changes). decr subtracts.
 */
SW_API int sw_table_incr_int(sw_table_t *t, const void *key, size_t key_len, int col, int64_t delta,
                             int64_t *out);
SW_API int sw_table_decr_int(sw_table_t *t, const void *key, size_t key_len, int col, int64_t delta,
                             int64_t *out);

/** As incr_int/decr_int for a FLOAT column (IEEE arithmetic; no range error). */
SW_API int sw_table_incr_float(sw_table_t *t, const void *key, size_t key_len, int col,
                               double delta, double *out);
SW_API int sw_table_decr_float(sw_table_t *t, const void *key, size_t key_len, int col,
                               double delta, double *out);

/**
 * Number of keys present, or SW_EINVAL. It counts the table's allocation bitmap: O(capacity /
 * 64) word reads (1M rows: 16k words, a few microseconds), exact when no write is in flight.
 * A row being inserted by a thread that died is counted until its bucket is next locked
 * (sw_table_stats() locks every bucket).
 */
SW_API int sw_table_count(sw_table_t *t);

/**
 * Statistics (see sw_table_stats_t). Walks every bucket under its lock: O(buckets + rows); it
 * also repairs any bucket left by a dead holder. Returns 0 or SW_EINVAL.
 */
SW_API int sw_table_stats(sw_table_t *t, sw_table_stats_t *out);

/* ---- iteration ---------------------------------------------------------------------------- */

/** Starts an iteration over `t` (no lock is held between calls). Returns 0 or SW_EINVAL. */
SW_API int sw_table_iter_init(sw_table_iter_t *it, sw_table_t *t);

/**
 * Copies the next row: its key into `key` (room for sw_table_key_max() bytes; may be NULL),
 * the key length into `*key_len` (may be NULL) and the columns into the row buffer `row` (may
 * be NULL). Returns 1 (a row), 0 (end), SW_ELOCK_OWNERDEAD (a row, torn by a dead writer; the
 * iteration continues), SW_EINVAL (it NULL or not initialised).
 *
 * Guarantees while other threads and processes insert, update and delete: each row returned is
 * a consistent copy taken under its bucket lock (never empty, never half-written by a live
 * writer); a key present and not deleted during the whole iteration is returned exactly once
 * (rows never move: an update writes in place); a key inserted or deleted during the iteration
 * may or may not be returned; a key deleted and inserted again may be returned twice (its old
 * and its new row) or not at all. Rows come in pool order, not key order.
 */
SW_API int sw_table_iter_next(sw_table_iter_t *it, void *key, size_t *key_len, void *row);

SW_EXTERN_C_END

#endif
