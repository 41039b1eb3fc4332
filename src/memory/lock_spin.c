/*
 * The owner-word lock behind SW_LOCK_SPINLOCK, SW_LOCK_SEM and sw_spin_t.
 *
 * The lock is one 64-bit word: 0 when free, else the holder's identity (see lock_int.h),
 * taken with a compare-and-swap. A waiter that has waited SW__LOCK_CHECK_MS checks whether the
 * recorded holder still lives; if not, it swaps the dead identity for its own with a
 * compare-and-swap (so exactly one waiter wins) and reports SW_ELOCK_OWNERDEAD.
 *
 * The spinning variant spins with a CPU pause for a short while, then yields the CPU between
 * attempts, so that on an oversubscribed machine the holder gets to run. The sleeping variant
 * (SEM) sleeps with FUTEX_WAIT on the half of the word that holds the thread id, counting its
 * sleepers in `waiters` so that an unlock makes a wake-up call only when someone sleeps.
 */
#include <errno.h>
#include <sched.h>

#include "memory/lock_int.h"
#include "swoole/error.h"

#define SPIN_BEFORE_YIELD 64

/* One attempt at taking a free or dead lock. `o` is the last value seen. */
static int take_dead(_Atomic uint64_t *owner, uint64_t o, uint64_t self)
{
    if (o != 0 && !sw__lock_alive(o) &&
        atomic_compare_exchange_strong_explicit(owner, &o, self, memory_order_acq_rel,
                                                memory_order_relaxed)) {
        return SW_ELOCK_OWNERDEAD;
    }
    return 0;
}

int sw__excl_acquire(_Atomic uint64_t *owner, _Atomic uint32_t *waiters, int shared, int timeout_ms)
{
    uint64_t self = sw__lock_self();
    uint64_t o = 0;
    if (atomic_compare_exchange_strong_explicit(owner, &o, self, memory_order_acquire,
                                                memory_order_relaxed)) {
        return 0;
    }
    if (o == self) {
        return SW_EDEADLK;
    }
    if (timeout_ms == 0) {
        int rc = take_dead(owner, o, self);
        return rc ? rc : SW_EBUSY;
    }
    uint64_t deadline = sw__deadline(timeout_ms);
    uint64_t next_check = sw__now_ns() + SW__LOCK_CHECK_MS * 1000000ull;

    if (!waiters) {
        for (unsigned spins = 1;; spins++) {
            o = atomic_load_explicit(owner, memory_order_relaxed);
            if (o == 0) {
                if (atomic_compare_exchange_weak_explicit(owner, &o, self, memory_order_acquire,
                                                          memory_order_relaxed)) {
                    return 0;
                }
                continue;
            }
            if (spins < SPIN_BEFORE_YIELD) {
                sw__cpu_relax();
                continue;
            }
            sched_yield();
            if (spins % 16 != 0) {
                continue;
            }
            uint64_t now = sw__now_ns();
            if (now >= next_check) {
                int rc = take_dead(owner, o, self);
                if (rc) {
                    return rc;
                }
                next_check = now + SW__LOCK_CHECK_MS * 1000000ull;
            }
            if (deadline && now >= deadline) {
                return SW_ETIMEDOUT;
            }
        }
    }

    atomic_fetch_add(waiters, 1);
    int result;
    for (;;) {
        o = atomic_load(owner);
        if (o == 0) {
            if (atomic_compare_exchange_strong(owner, &o, self)) {
                result = 0;
                break;
            }
            continue;
        }
        uint64_t now = sw__now_ns();
        if (now >= next_check) {
            result = take_dead(owner, o, self);
            if (result) {
                break;
            }
            next_check = now + SW__LOCK_CHECK_MS * 1000000ull;
        }
        if (deadline && now >= deadline) {
            result = SW_ETIMEDOUT;
            break;
        }
        int64_t slice = (int64_t)(next_check - now);
        if (deadline && (int64_t)(deadline - now) < slice) {
            slice = (int64_t)(deadline - now);
        }
        sw__futex_wait(sw__low_half(owner), (uint32_t)o, shared, slice);
    }
    atomic_fetch_sub(waiters, 1);
    if (result == SW_ETIMEDOUT && atomic_load(owner) == 0 && atomic_load(waiters) > 0) {
        /* A wake-up meant for us may have arrived as we gave up: pass it on. */
        sw__futex_wake(sw__low_half(owner), 1, shared);
    }
    return result;
}

int sw__excl_release(_Atomic uint64_t *owner, _Atomic uint32_t *waiters, int shared)
{
    uint64_t self = sw__lock_self();
    /* Only the holder can have stored its own identity, and nobody takes a lock from a live
     * holder, so a plain check-then-store is exact. */
    if (atomic_load_explicit(owner, memory_order_relaxed) != self) {
        return SW_ELOCK_NOTOWNER;
    }
    if (!waiters) {
        atomic_store_explicit(owner, 0, memory_order_release);
        return 0;
    }
    /* Sequentially consistent store, then load: pairs with the sleeper's increment of
     * `waiters` before its final check, so either it sees the lock free or we see it. */
    atomic_store(owner, 0);
    if (atomic_load(waiters) > 0) {
        sw__futex_wake(sw__low_half(owner), 1, shared);
    }
    return 0;
}

/* ---- sw_spin_t ---------------------------------------------------------------------------- */

static _Atomic uint64_t *spin_word(sw_spin_t *s)
{
    return (_Atomic uint64_t *)&s->owner_;
}

void sw_spin_init(sw_spin_t *s)
{
    if (s) {
        atomic_store(spin_word(s), 0);
    }
}

int sw_spin_lock(sw_spin_t *s)
{
    return s ? sw__excl_acquire(spin_word(s), NULL, 1, -1) : SW_EINVAL;
}

int sw_spin_trylock(sw_spin_t *s)
{
    return s ? sw__excl_acquire(spin_word(s), NULL, 1, 0) : SW_EINVAL;
}

int sw_spin_timedlock(sw_spin_t *s, int timeout_ms)
{
    if (!s || timeout_ms < 0) {
        return SW_EINVAL;
    }
    return sw__excl_acquire(spin_word(s), NULL, 1, timeout_ms);
}

int sw_spin_unlock(sw_spin_t *s)
{
    return s ? sw__excl_release(spin_word(s), NULL, 1) : SW_EINVAL;
}

int sw_spin_is_locked(const sw_spin_t *s)
{
    return s && atomic_load_explicit(spin_word((sw_spin_t *)s), memory_order_relaxed) != 0;
}
