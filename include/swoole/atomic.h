/*
 * Atomic counters for shared memory: 32-bit unsigned (sw_atomic_t, like Swoole's Atomic) and
 * 64-bit signed (sw_atomic64_t, like Swoole's Atomic\Long), with get, set, add, sub, cmpset,
 * and wait/wakeup on a futex.
 *
 * Layout. The types are small public structs so that they can be placed anywhere, above all
 * inside shared memory; their fields are private (use the functions; they are not _Atomic in
 * the header so that it also compiles as C++). All-zero bytes are a valid counter of value 0
 * that works across processes, so memory from sw_shm_create() needs no initialisation.
 *
 * Ordering. Every operation is sequentially consistent. Arithmetic wraps (modulo 2^32 for
 * sw_atomic_t, two's complement for sw_atomic64_t; never undefined).
 *
 * Waiting. sw_atomic_wait(a, expected, ms) returns 0 as soon as it sees the value differ from
 * `expected`, and SW_ETIMEDOUT if it still equals `expected` after `ms` milliseconds (0: only
 * check; negative: no limit). A change alone does not wake sleepers: whoever changes the value
 * calls sw_atomic_wakeup() afterwards, and no wake-up is lost between a waiter's check and its
 * sleep. Spurious wake-ups are absorbed (the waiter checks again). Across processes, futexes
 * are "shared" (keyed by the physical page); SW_ATOMIC_PRIVATE makes them process-private,
 * which is slightly cheaper but must only be used when every waiter and waker is a thread of
 * one process.
 *
 * NULL counters are a programming error: value-returning functions then return 0 and do
 * nothing; int-returning ones return SW_EINVAL.
 */
#ifndef SWOOLE_ATOMIC_H
#define SWOOLE_ATOMIC_H

#include <stdint.h>

#include "swoole/common.h"

SW_EXTERN_C_BEGIN

/** Flag for sw_atomic_init()/sw_atomic64_init(): waits and wake-ups stay inside one process. */
#define SW_ATOMIC_PRIVATE 0x1

/** A 32-bit unsigned counter (8 bytes). */
typedef struct sw_atomic_s {
    uint32_t value_;
    uint32_t flags_;
} sw_atomic_t;

/** A 64-bit signed counter (16 bytes, 8-byte aligned). */
typedef struct sw_atomic64_s {
    int64_t value_;
    uint32_t seq_; /* futex word: bumped by every wake-up */
    uint32_t flags_;
} sw_atomic64_t;

/** Sets the value and flags (0 or SW_ATOMIC_PRIVATE). Not atomic with respect to other
 * operations: do it before sharing. Returns 0 or SW_EINVAL (NULL, unknown flag). */
SW_API int sw_atomic_init(sw_atomic_t *a, uint32_t value, int flags);
SW_API uint32_t sw_atomic_get(const sw_atomic_t *a);
SW_API void sw_atomic_set(sw_atomic_t *a, uint32_t value);
/** Adds `n`; returns the new value. */
SW_API uint32_t sw_atomic_add(sw_atomic_t *a, uint32_t n);
/** Subtracts `n`; returns the new value. */
SW_API uint32_t sw_atomic_sub(sw_atomic_t *a, uint32_t n);
/** Sets `desired` if the value is `expected`: returns 1 if it did, 0 if not. */
SW_API int sw_atomic_cmpset(sw_atomic_t *a, uint32_t expected, uint32_t desired);
/** Waits while the value equals `expected` (see above): 0, SW_ETIMEDOUT or SW_EINVAL. */
SW_API int sw_atomic_wait(sw_atomic_t *a, uint32_t expected, int timeout_ms);
/** Wakes up to `n` waiters (n >= 1); returns how many were woken, or SW_EINVAL. */
SW_API int sw_atomic_wakeup(sw_atomic_t *a, int n);

/** The same for sw_atomic64_t. */
SW_API int sw_atomic64_init(sw_atomic64_t *a, int64_t value, int flags);
SW_API int64_t sw_atomic64_get(const sw_atomic64_t *a);
SW_API void sw_atomic64_set(sw_atomic64_t *a, int64_t value);
SW_API int64_t sw_atomic64_add(sw_atomic64_t *a, int64_t n);
SW_API int64_t sw_atomic64_sub(sw_atomic64_t *a, int64_t n);
SW_API int sw_atomic64_cmpset(sw_atomic64_t *a, int64_t expected, int64_t desired);
SW_API int sw_atomic64_wait(sw_atomic64_t *a, int64_t expected, int timeout_ms);
SW_API int sw_atomic64_wakeup(sw_atomic64_t *a, int n);

SW_EXTERN_C_END

#endif
