/*
 * Timer heap (internal): the contract between the loop (loop.c) and the timers (timer.c).
 *
 * The loop owns one sw__timers_t, created with the loop and destroyed with it. The loop asks
 * for the next deadline to compute its wait timeout and, after waking, runs the due timers.
 * The public sw_timer_* calls (timer.c) find the heap with sw__loop_timers() and the cached
 * time with sw_loop_now(); both are provided by loop.c.
 */
#ifndef SW_LOOP_TIMER_INT_H
#define SW_LOOP_TIMER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "swoole/loop.h"

typedef struct sw__timers_s sw__timers_t;

/* Returns 0 or SW_ENOMEM. */
int sw__timers_create(sw__timers_t **out);

/* Frees the heap and every timer left in it (callbacks are not called). */
void sw__timers_destroy(sw__timers_t *t);

/* Number of timers (each one keeps the loop alive). */
size_t sw__timers_count(const sw__timers_t *t);

/* The earliest deadline in ms on the loop's clock, or -1 when there is no timer. */
int64_t sw__timers_next_deadline(const sw__timers_t *t);

/* Runs every timer whose deadline is <= now_ms, in (deadline, creation) order; ticks are
 * rescheduled from now_ms. Timers created by these callbacks with a deadline <= now_ms do not
 * run in this call (they wait for the next iteration), so a callback that keeps adding
 * after(0) timers cannot hold the loop. */
void sw__timers_run(sw_loop_t *loop, sw__timers_t *t, uint64_t now_ms);

/* Calls `cb` for each timer, for sw_loop_walk and the destroy report. Returns the count. */
int sw__timers_walk(sw_loop_t *loop, const sw__timers_t *t, sw_walk_cb cb, void *arg);

/* Provided by loop.c. */
sw__timers_t *sw__loop_timers(const sw_loop_t *loop);

#endif
