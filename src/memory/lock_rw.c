/*
 * SW_LOCK_RWLOCK: a writer-preferring readers-writer lock on atomics and a futex, robust
 * against dead holders.
 *
 * State: `writer` holds the identity of the writer (with the PENDING flag while it waits for
 * readers to leave), and each read holder owns one slot of `readers` holding its identity.
 * Recording every reader (rather than counting them) is what makes dead readers recoverable:
 * a writer that waits on a slot for SW__LOCK_CHECK_MS checks that slot's thread and clears it
 * if the thread is dead. The price is a bound: at most SW_LOCK_RWLOCK_READERS readers at once;
 * the next reader waits for a slot.
 *
 * Exclusion is the store-then-load handshake of Dekker's algorithm, with sequentially
 * consistent operations on both sides: a reader publishes its slot, then loads `writer`; a
 * writer publishes `writer`, then loads the slots. At least one of them sees the other, so a
 * reader never proceeds while a writer owns the lock. A reader that sees a writer withdraws
 * its slot and waits. Because a pending writer already blocks new readers, writers are not
 * starved; a thread that already holds a read lock may take another one even with a writer
 * pending (otherwise recursive reads would deadlock against it).
 *
 * Waiting: a thread that has to wait counts itself in `waiters` for as long as it waits, then
 * reads `seq`, re-checks its condition and sleeps on `seq` with FUTEX_WAIT, at most
 * SW__LOCK_CHECK_MS at a time. A release bumps `seq` and wakes the sleepers only when `waiters`
 * is non-zero, so the uncontended paths make no system call and touch no clock. (A waiter
 * killed while waiting leaves `waiters` raised: releases then always bump and wake, which
 * costs a system call but stays correct.)
 */
#include "memory/lock_int.h"
#include "swoole/error.h"

static int is_shared(const lock_rw_t *l)
{
    return (l->h.flags & SW_LOCK_SHARED) != 0;
}

/* Called after a release store (sequentially consistent). Waiters register in `waiters` before
 * they first read `seq` and check the lock, so either they see the release or we see them. */
static void bump(lock_rw_t *l)
{
    if (atomic_load(&l->waiters) > 0) {
        atomic_fetch_add(&l->seq, 1);
        sw__futex_wake(&l->seq, 0x7fffffff, is_shared(l));
    }
}

/* Sleeps on `seq` (last read as `s`) until a release, the next liveness check or the
 * deadline. Returns SW_ETIMEDOUT once the deadline has passed, else 0. */
/* next_check before the first wait: the clock is only read once waiting begins. */
#define NC_UNSET UINT64_MAX

static int wait_seq(lock_rw_t *l, uint32_t s, uint64_t deadline, uint64_t *next_check)
{
    uint64_t now = sw__now_ns();
    if (*next_check == NC_UNSET) {
        *next_check = now + SW__LOCK_CHECK_MS * 1000000ull;
    }
    if (deadline && now >= deadline) {
        return SW_ETIMEDOUT;
    }
    int64_t slice = *next_check > now ? (int64_t)(*next_check - now) : 0;
    if (deadline && (int64_t)(deadline - now) < slice) {
        slice = (int64_t)(deadline - now);
    }
    if (slice > 0) {
        sw__futex_wait(&l->seq, s, is_shared(l), slice);
    }
    return 0;
}

/* True when it is time for the next liveness check (and schedules the one after). */
static int check_due(uint64_t *next_check)
{
    uint64_t now = sw__now_ns();
    if (*next_check == NC_UNSET) {
        *next_check = now + SW__LOCK_CHECK_MS * 1000000ull;
        return 0;
    }
    if (now < *next_check) {
        return 0;
    }
    *next_check = now + SW__LOCK_CHECK_MS * 1000000ull;
    return 1;
}

static int holds_read(lock_rw_t *l, uint64_t self)
{
    for (int i = 0; i < SW_LOCK_RWLOCK_READERS; i++) {
        if (atomic_load_explicit(&l->readers[i], memory_order_relaxed) == self) {
            return 1;
        }
    }
    return 0;
}

/* Clears the slots of dead readers. Returns the number of live readers left. */
static int reap_readers(lock_rw_t *l, int check)
{
    int live = 0;
    for (int i = 0; i < SW_LOCK_RWLOCK_READERS; i++) {
        uint64_t r = atomic_load(&l->readers[i]);
        if (r == 0) {
            continue;
        }
        if (check && !sw__lock_alive(r)) {
            if (atomic_compare_exchange_strong(&l->readers[i], &r, 0)) {
                continue;
            }
        }
        live++;
    }
    return live;
}

/* Takes `writer` from a dead holder. Returns 1 if we cleared or took it, and sets *dead when
 * the dead thread held the lock (not merely waited for it). */
static int clear_dead_writer(lock_rw_t *l, uint64_t w, uint64_t replacement, int *dead)
{
    if (sw__lock_alive(w)) {
        return 0;
    }
    if (!atomic_compare_exchange_strong(&l->writer, &w, replacement)) {
        return 0;
    }
    if (!((uint32_t)w & SW__ID_FLAG_PENDING)) {
        *dead = 1;
    }
    bump(l);
    return 1;
}

/* The waiting part of a write lock; the caller is registered in `waiters`. `have_pending`:
 * the caller already holds `writer` as pending. */
static int write_slow(lock_rw_t *l, uint64_t self, int have_pending, int timeout_ms)
{
    uint64_t pending = self | SW__ID_FLAG_PENDING;
    uint64_t w;
    uint64_t deadline = sw__deadline(timeout_ms);
    uint64_t next_check = timeout_ms == 0 ? 0 : NC_UNSET;
    int dead = 0;

    /* Phase 1: become the (pending) writer. */
    while (!have_pending) {
        uint32_t s = atomic_load(&l->seq);
        w = 0;
        if (atomic_compare_exchange_strong(&l->writer, &w, pending)) {
            break;
        }
        if (check_due(&next_check) && clear_dead_writer(l, w, pending, &dead)) {
            break;
        }
        if (timeout_ms == 0) {
            return SW_EBUSY;
        }
        if (wait_seq(l, s, deadline, &next_check) < 0) {
            return SW_ETIMEDOUT;
        }
    }

    /* Phase 2: wait for the readers to leave; new ones see us and stay out. */
    for (;;) {
        uint32_t s = atomic_load(&l->seq);
        int live = reap_readers(l, 0);
        if (live && (timeout_ms == 0 || check_due(&next_check))) {
            live = reap_readers(l, 1);
        }
        if (!live) {
            break;
        }
        int rc = timeout_ms == 0 ? SW_EBUSY : wait_seq(l, s, deadline, &next_check);
        if (rc < 0) {
            atomic_store(&l->writer, 0);
            bump(l);
            return rc;
        }
    }
    atomic_store(&l->writer, self);
    return dead ? SW_ELOCK_OWNERDEAD : 0;
}

/* The waiting part of a read lock; the caller is registered in `waiters`. */
static int read_slow(lock_rw_t *l, uint64_t self, int timeout_ms)
{
    uint64_t w;
    uint64_t deadline = sw__deadline(timeout_ms);
    uint64_t next_check = timeout_ms == 0 ? 0 : NC_UNSET;
    int dead = 0;
    unsigned start = (unsigned)(self & SW__ID_TID_MASK) % SW_LOCK_RWLOCK_READERS;

    for (;;) {
        uint32_t s = atomic_load(&l->seq);
        int recursive = holds_read(l, self);
        int slot = -1;
        for (unsigned k = 0; k < SW_LOCK_RWLOCK_READERS; k++) {
            unsigned i = (start + k) % SW_LOCK_RWLOCK_READERS;
            uint64_t zero = 0;
            if (atomic_compare_exchange_strong(&l->readers[i], &zero, self)) {
                slot = (int)i;
                break;
            }
        }
        if (slot < 0) {
            /* Every slot is taken: free the ones of dead readers, or wait. */
            int due = check_due(&next_check);
            if (reap_readers(l, due) < SW_LOCK_RWLOCK_READERS) {
                continue;
            }
            if (timeout_ms == 0) {
                return SW_EBUSY;
            }
            if (wait_seq(l, s, deadline, &next_check) < 0) {
                return SW_ETIMEDOUT;
            }
            continue;
        }
        w = atomic_load(&l->writer);
        if (w == 0 || recursive) {
            return dead ? SW_ELOCK_OWNERDEAD : 0;
        }
        /* A writer holds the lock or waits for readers: step back. */
        atomic_store(&l->readers[slot], 0);
        bump(l);
        if (check_due(&next_check) && clear_dead_writer(l, w, 0, &dead)) {
            continue;
        }
        if (timeout_ms == 0) {
            return SW_EBUSY;
        }
        if (wait_seq(l, s, deadline, &next_check) < 0) {
            return SW_ETIMEDOUT;
        }
    }
}

static int write_acquire(lock_rw_t *l, int timeout_ms)
{
    uint64_t self = sw__lock_self();
    uint64_t w = atomic_load(&l->writer);
    if ((w & ~(uint64_t)SW__ID_FLAG_PENDING) == self || holds_read(l, self)) {
        return SW_EDEADLK;
    }
    /* Fast path: free lock, no readers; no clock, no registration. */
    w = 0;
    int have_pending = atomic_compare_exchange_strong(&l->writer, &w, self | SW__ID_FLAG_PENDING);
    if (have_pending && reap_readers(l, 0) == 0) {
        atomic_store(&l->writer, self);
        return 0;
    }
    atomic_fetch_add(&l->waiters, 1);
    int rc = write_slow(l, self, have_pending, timeout_ms);
    atomic_fetch_sub(&l->waiters, 1);
    return rc;
}

static int read_acquire(lock_rw_t *l, int timeout_ms)
{
    uint64_t self = sw__lock_self();
    uint64_t w = atomic_load(&l->writer);
    if ((w & ~(uint64_t)SW__ID_FLAG_PENDING) == self) {
        return SW_EDEADLK;
    }
    /* Fast path: a free slot and no writer. */
    if (w == 0) {
        unsigned start = (unsigned)(self & SW__ID_TID_MASK) % SW_LOCK_RWLOCK_READERS;
        for (unsigned k = 0; k < SW_LOCK_RWLOCK_READERS; k++) {
            unsigned i = (start + k) % SW_LOCK_RWLOCK_READERS;
            uint64_t zero = 0;
            if (atomic_load_explicit(&l->readers[i], memory_order_relaxed) == 0 &&
                atomic_compare_exchange_strong(&l->readers[i], &zero, self)) {
                if (atomic_load(&l->writer) == 0) {
                    return 0;
                }
                atomic_store(&l->readers[i], 0);
                bump(l);
                break;
            }
        }
    }
    atomic_fetch_add(&l->waiters, 1);
    int rc = read_slow(l, self, timeout_ms);
    atomic_fetch_sub(&l->waiters, 1);
    return rc;
}

int sw__lock_rw_acquire(lock_rw_t *l, int shared_mode, int timeout_ms)
{
    return shared_mode ? read_acquire(l, timeout_ms) : write_acquire(l, timeout_ms);
}

int sw__lock_rw_release(lock_rw_t *l)
{
    uint64_t self = sw__lock_self();
    uint64_t w = self;
    if (atomic_compare_exchange_strong(&l->writer, &w, 0)) {
        bump(l);
        return 0;
    }
    for (int i = 0; i < SW_LOCK_RWLOCK_READERS; i++) {
        uint64_t r = self;
        if (atomic_load_explicit(&l->readers[i], memory_order_relaxed) == self &&
            atomic_compare_exchange_strong(&l->readers[i], &r, 0)) {
            bump(l);
            return 0;
        }
    }
    return SW_ELOCK_NOTOWNER;
}

int sw__lock_rw_busy(lock_rw_t *l)
{
    return atomic_load(&l->writer) != 0 || reap_readers(l, 0) != 0;
}
