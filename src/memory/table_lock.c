/*
 * The table's bucket lock, and the test hooks that kill a process at chosen points.
 *
 * Why not sw_lock_t or sw_spin_t: a table has one lock per bucket (128k buckets for 100k
 * rows), so the lock must be small, and the uncontended path must be inlined into every
 * operation. sw_lock_t is 128 bytes. sw_spin_t is 8 bytes and has the same owner word, but it
 * spins and yields instead of sleeping, which burns the CPU a preempted holder needs when
 * processes outnumber cores (8 workers on 2 cores is the normal case for a table). So the
 * bucket lock is one 64-bit word in the bucket:
 *
 *   0                       free
 *   identity | WAITERS      held by the thread `identity` (sw__lock_self(): thread id in bits
 *                           0..29, low 32 bits of its start time in bits 32..63); WAITERS (bit
 *                           31) says that a thread may be sleeping on the word.
 *
 * Taking it is one compare-and-swap from 0 (inlined, table_int.h); releasing is one exchange
 * to 0 and, only when WAITERS was set, a FUTEX_WAKE. A waiter spins briefly, then sets WAITERS
 * and sleeps with FUTEX_WAIT on the word's low half (thread id + WAITERS), waking at least
 * every SW__LOCK_CHECK_MS to check that the holder still lives (sw__lock_alive(): /proc/<tid>
 * gone, a zombie, or another start time — the start time guards against a recycled pid). A
 * dead holder's word is swapped for the waiter's own identity with a compare-and-swap, so
 * exactly one waiter takes over; it then repairs the bucket from its journal (table_ops.c).
 * This is the scheme of the sleeping "mutex with a contended state" in Ulrich Drepper's
 * "Futexes Are Tricky" (2011), with the holder's identity in place of the value 1.
 *
 * Identity, liveness and the futex calls are the memory module's (lock_owner.c).
 */
#include <signal.h>
#include <unistd.h>

#include "memory/table_int.h"
#include "swoole/error.h"

/* Pause-spins before sleeping: a bucket is normally held for well under a microsecond. */
#define SPINS_BEFORE_SLEEP 100

static inline int held_by(uint64_t word, uint64_t self)
{
    return (word & ~(uint64_t)TABLE_LOCK_WAITERS) == self;
}

int sw__table_lock_slow(_Atomic uint64_t *word, uint64_t self)
{
    for (int i = 0; i < SPINS_BEFORE_SLEEP; i++) {
        uint64_t cur = atomic_load_explicit(word, memory_order_relaxed);
        if (cur == 0) {
            if (atomic_compare_exchange_weak_explicit(word, &cur, self, memory_order_acquire,
                                                      memory_order_relaxed)) {
                return 0;
            }
            continue;
        }
        if (held_by(cur, self)) {
            return SW_EDEADLK;
        }
        sw__cpu_relax();
    }

    uint64_t next_check = sw__now_ns() + SW__LOCK_CHECK_MS * 1000000ull;
    for (;;) {
        uint64_t cur = atomic_load_explicit(word, memory_order_relaxed);
        if (cur == 0) {
            /* Others may sleep too: keep WAITERS so our unlock wakes one of them. */
            if (atomic_compare_exchange_weak_explicit(word, &cur, self | TABLE_LOCK_WAITERS,
                                                      memory_order_acquire, memory_order_relaxed)) {
                return 0;
            }
            continue;
        }
        if (held_by(cur, self)) {
            return SW_EDEADLK;
        }
        if (!(cur & TABLE_LOCK_WAITERS)) {
            if (!atomic_compare_exchange_weak_explicit(word, &cur, cur | TABLE_LOCK_WAITERS,
                                                       memory_order_relaxed,
                                                       memory_order_relaxed)) {
                continue;
            }
            cur |= TABLE_LOCK_WAITERS;
        }
        uint64_t now = sw__now_ns();
        if (now >= next_check) {
            if (!sw__lock_alive(cur)) {
                uint64_t seen = cur;
                if (atomic_compare_exchange_strong_explicit(word, &seen, self | TABLE_LOCK_WAITERS,
                                                            memory_order_acquire,
                                                            memory_order_relaxed)) {
                    return 1;
                }
                continue;
            }
            next_check = now + SW__LOCK_CHECK_MS * 1000000ull;
        }
        /* Sleeps while the low half still shows this holder with WAITERS; any unlock, handover
         * or takeover changes it. The timeout brings us back for the liveness check. */
        sw__futex_wait(sw__low_half(word), (uint32_t)cur, 1, (int64_t)(next_check - now));
    }
}

int sw__table_lock_try(_Atomic uint64_t *word, uint64_t self)
{
    uint64_t cur = 0;
    if (atomic_compare_exchange_strong_explicit(word, &cur, self, memory_order_acquire,
                                                memory_order_relaxed)) {
        return 0;
    }
    if (held_by(cur, self)) {
        return SW_EDEADLK;
    }
    if (!sw__lock_alive(cur) &&
        atomic_compare_exchange_strong_explicit(word, &cur, self | (cur & TABLE_LOCK_WAITERS),
                                                memory_order_acquire, memory_order_relaxed)) {
        return 1;
    }
    return SW_EBUSY;
}

void sw__table_lock_wake(_Atomic uint64_t *word)
{
    sw__futex_wake(sw__low_half(word), 1, 1);
}

/* ---- test hooks ---------------------------------------------------------------------------- */

void sw__table_test_crash(sw_table_t *t, int point, int fd)
{
#ifdef SWOOLE_FAULT_INJECTION
    t->crash_at = point;
    t->crash_fd = fd;
#else
    (void)t;
    (void)point;
    (void)fd;
#endif
}

#ifdef SWOOLE_FAULT_INJECTION
void sw__table_crash_now(sw_table_t *t)
{
    if (t->crash_fd >= 0) {
        char c = 'x';
        ssize_t n = write(t->crash_fd, &c, 1);
        (void)n;
        for (;;) {
            pause();
        }
    }
    kill(getpid(), SIGKILL);
    for (;;) {
        pause();
    }
}
#endif
