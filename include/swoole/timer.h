/*
 * Timers on a loop.
 *
 * Millisecond timers on the monotonic clock, kept in a min-heap per loop. A timer is named
 * by a 64-bit id that is never reused within a loop (ids start at 1), so clearing a timer
 * that already fired can never clear another. Timers due at the same millisecond fire in the
 * order they were created. A tick that missed one or more periods (the loop was blocked)
 * fires once and is rescheduled from the current time, so it never fires in a burst.
 *
 * Threads: every call must be made on the loop's thread (use sw_loop_post from others).
 * Active timers keep the loop alive; sw_loop_run returns when the last one is gone.
 */
#ifndef SWOOLE_TIMER_H
#define SWOOLE_TIMER_H

#include <stdint.h>

#include "swoole/common.h"
#include "swoole/loop.h"

SW_EXTERN_C_BEGIN

/** Longest accepted interval: 2^40 ms (about 34 years). */
#define SW_TIMER_MAX_MS ((uint64_t)1 << 40)

/**
 * Called on the loop's thread when the timer fires. Clearing this timer from inside its own
 * callback is allowed (a tick then stops; for a one-shot timer it returns SW_ENOENT since the
 * timer is already gone); so is creating or clearing any other timer.
 */
typedef void (*sw_timer_cb)(sw_loop_t *loop, uint64_t id, void *arg);

/**
 * Calls `cb` once, `ms` milliseconds from the loop's current time (0: at the next iteration).
 * Stores the id in `*id` when `id` is not NULL. Returns 0, SW_EINVAL (NULL loop/cb,
 * ms > SW_TIMER_MAX_MS) or SW_ENOMEM.
 */
SW_API int sw_timer_after(sw_loop_t *loop, uint64_t ms, sw_timer_cb cb, void *arg, uint64_t *id);

/**
 * Calls `cb` every `ms` milliseconds (ms >= 1) until cleared. Returns 0, SW_EINVAL (NULL
 * loop/cb, ms 0, ms > SW_TIMER_MAX_MS) or SW_ENOMEM.
 */
SW_API int sw_timer_tick(sw_loop_t *loop, uint64_t ms, sw_timer_cb cb, void *arg, uint64_t *id);

/** Cancels a timer. Returns 0, SW_EINVAL (NULL loop) or SW_ENOENT (no such timer: never
 * created, already fired, or already cleared). */
SW_API int sw_timer_clear(sw_loop_t *loop, uint64_t id);

/** 1 if the timer exists (pending, or a tick that is running), else 0. */
SW_API int sw_timer_exists(const sw_loop_t *loop, uint64_t id);

/** Number of timers on the loop. */
SW_API size_t sw_timer_count(const sw_loop_t *loop);

SW_EXTERN_C_END

#endif
