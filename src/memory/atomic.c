/*
 * Atomic counters (see swoole/atomic.h).
 *
 * The 32-bit counter waits on its value word directly: FUTEX_WAIT(value, expected) sleeps only
 * while the value still equals `expected`, so a change made and woken before the sleep is
 * never missed. A 64-bit value does not fit a futex word, so the 64-bit counter has a separate
 * sequence word that every wake-up bumps before waking: a waiter reads the sequence, then
 * checks the value, then sleeps on the sequence it read, and a change + wake-up in between
 * alters the sequence and makes FUTEX_WAIT return at once.
 */
#include "swoole/atomic.h"

#include <stdatomic.h>

#include "memory/lock_int.h"
#include "swoole/error.h"

_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t), "atomic u32 layout");
_Static_assert(sizeof(_Atomic int64_t) == sizeof(int64_t), "atomic i64 layout");
_Static_assert(_Alignof(_Atomic int64_t) <= _Alignof(sw_atomic64_t), "atomic i64 alignment");

#define V32(a) ((_Atomic uint32_t *)&(a)->value_)
#define V64(a) ((_Atomic int64_t *)&(a)->value_)
#define SEQ(a) ((_Atomic uint32_t *)&(a)->seq_)

static int shared_of(uint32_t flags)
{
    return (flags & SW_ATOMIC_PRIVATE) == 0;
}

/* Sleeps on `word` while it holds `val`, within the deadline. Returns SW_ETIMEDOUT when the
 * deadline has passed, else 0 (the caller checks its condition again). */
static int sleep_on(_Atomic uint32_t *word, uint32_t val, int shared, uint64_t deadline,
                    int timeout_ms)
{
    int64_t left = -1;
    if (timeout_ms >= 0) {
        uint64_t now = sw__now_ns();
        if (now >= deadline) {
            return SW_ETIMEDOUT;
        }
        left = (int64_t)(deadline - now);
    }
    sw__futex_wait(word, val, shared, left);
    return 0;
}

/* ---- 32-bit ------------------------------------------------------------------------------- */

int sw_atomic_init(sw_atomic_t *a, uint32_t value, int flags)
{
    if (!a || (flags & ~SW_ATOMIC_PRIVATE) != 0) {
        return SW_EINVAL;
    }
    atomic_store(V32(a), value);
    a->flags_ = (uint32_t)flags;
    return 0;
}

uint32_t sw_atomic_get(const sw_atomic_t *a)
{
    return a ? atomic_load(V32((sw_atomic_t *)a)) : 0;
}

void sw_atomic_set(sw_atomic_t *a, uint32_t value)
{
    if (a) {
        atomic_store(V32(a), value);
    }
}

uint32_t sw_atomic_add(sw_atomic_t *a, uint32_t n)
{
    return a ? atomic_fetch_add(V32(a), n) + n : 0;
}

uint32_t sw_atomic_sub(sw_atomic_t *a, uint32_t n)
{
    return a ? atomic_fetch_sub(V32(a), n) - n : 0;
}

int sw_atomic_cmpset(sw_atomic_t *a, uint32_t expected, uint32_t desired)
{
    return a ? atomic_compare_exchange_strong(V32(a), &expected, desired) : 0;
}

int sw_atomic_wait(sw_atomic_t *a, uint32_t expected, int timeout_ms)
{
    if (!a) {
        return SW_EINVAL;
    }
    uint64_t deadline = sw__deadline(timeout_ms);
    for (;;) {
        if (atomic_load(V32(a)) != expected) {
            return 0;
        }
        if (timeout_ms == 0 ||
            sleep_on(V32(a), expected, shared_of(a->flags_), deadline, timeout_ms) < 0) {
            return SW_ETIMEDOUT;
        }
    }
}

int sw_atomic_wakeup(sw_atomic_t *a, int n)
{
    if (!a || n < 1) {
        return SW_EINVAL;
    }
    return sw__futex_wake(V32(a), n, shared_of(a->flags_));
}

/* ---- 64-bit ------------------------------------------------------------------------------- */

int sw_atomic64_init(sw_atomic64_t *a, int64_t value, int flags)
{
    if (!a || (flags & ~SW_ATOMIC_PRIVATE) != 0) {
        return SW_EINVAL;
    }
    atomic_store(V64(a), value);
    atomic_store(SEQ(a), 0);
    a->flags_ = (uint32_t)flags;
    return 0;
}

int64_t sw_atomic64_get(const sw_atomic64_t *a)
{
    return a ? atomic_load(V64((sw_atomic64_t *)a)) : 0;
}

void sw_atomic64_set(sw_atomic64_t *a, int64_t value)
{
    if (a) {
        atomic_store(V64(a), value);
    }
}

/* old + n with two's complement wrap-around, without signed overflow. */
static int64_t wrap_add(int64_t old, int64_t n)
{
    return (int64_t)((uint64_t)old + (uint64_t)n);
}

int64_t sw_atomic64_add(sw_atomic64_t *a, int64_t n)
{
    return a ? wrap_add(atomic_fetch_add(V64(a), n), n) : 0;
}

int64_t sw_atomic64_sub(sw_atomic64_t *a, int64_t n)
{
    return a ? wrap_add(atomic_fetch_sub(V64(a), n), (int64_t)(0 - (uint64_t)n)) : 0;
}

int sw_atomic64_cmpset(sw_atomic64_t *a, int64_t expected, int64_t desired)
{
    return a ? atomic_compare_exchange_strong(V64(a), &expected, desired) : 0;
}

int sw_atomic64_wait(sw_atomic64_t *a, int64_t expected, int timeout_ms)
{
    if (!a) {
        return SW_EINVAL;
    }
    uint64_t deadline = sw__deadline(timeout_ms);
    for (;;) {
        uint32_t s = atomic_load(SEQ(a));
        if (atomic_load(V64(a)) != expected) {
            return 0;
        }
        if (timeout_ms == 0 ||
            sleep_on(SEQ(a), s, shared_of(a->flags_), deadline, timeout_ms) < 0) {
            return SW_ETIMEDOUT;
        }
    }
}

int sw_atomic64_wakeup(sw_atomic64_t *a, int n)
{
    if (!a || n < 1) {
        return SW_EINVAL;
    }
    atomic_fetch_add(SEQ(a), 1);
    return sw__futex_wake(SEQ(a), n, shared_of(a->flags_));
}
