/*
 * Timer benchmark: 1M timers started, stopped and fired, on libswoole, libev and libuv in the
 * same process and the same run (issue 3, item 16).
 *
 *   bench_timer [--timers N] [--rounds R]
 *
 * Each round runs, for each library and in turn, on a new loop:
 *   start (cold): N one-shot timers with pseudo-random timeouts of 1..1,000,000 ms (the same
 *          sequence for every library), timed from the first start to the last; this includes
 *          growing the library's arrays (and, for libswoole, its node pool) from empty;
 *   stop:  the same N timers stopped in creation order;
 *   start (warm): the same N timers started again on the same loop, whose arrays have grown:
 *          the steady state of a long-running program (then stopped again, not timed);
 *   fire:  N timers with timeouts of 1..10 ms; the process sleeps 20 ms (not timed), then one
 *          non-blocking loop iteration fires all of them (timed).
 * libev and libuv timers are caller-allocated handles, libswoole's are allocated by the
 * library. So that "start (cold)" measures the same thing for all three (a program starting
 * N timers from nothing), it includes allocating and initialising the handle arrays of libev
 * and libuv, as it includes libswoole's own pool growth. "start (warm)" reuses everything.
 * Prints the median ns per timer of each operation and the ratios.
 */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "swoole/loop.h"
#include "swoole/timer.h"

#define MAX_ROUNDS 31

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t n_timers = 1000000;
static uint64_t *timeouts;      /* 1..1e6 ms */
static uint64_t *fire_timeouts; /* 1..10 ms */
static size_t fired;

static void make_timeouts(void)
{
    timeouts = malloc(n_timers * sizeof(*timeouts));
    fire_timeouts = malloc(n_timers * sizeof(*fire_timeouts));
    uint64_t x = 88172645463325252ull; /* xorshift64, fixed seed: same sequence for all */
    for (size_t i = 0; i < n_timers; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        timeouts[i] = 1 + x % 1000000;
        fire_timeouts[i] = 1 + (x >> 20) % 10;
    }
}

typedef struct {
    double start, stop, warm, fire; /* ns per timer */
} result_t;

/* ---- libswoole ----------------------------------------------------------------------------- */

static void sw_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    (void)arg;
    fired++;
}

static result_t run_swoole(void)
{
    result_t r;
    sw_loop_t *loop;
    if (sw_loop_create(&loop, NULL) < 0) {
        fprintf(stderr, "sw_loop_create failed\n");
        exit(1);
    }
    uint64_t *ids = malloc(n_timers * sizeof(*ids));
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n_timers; i++) {
        sw_timer_after(loop, timeouts[i], sw_cb, NULL, &ids[i]);
    }
    uint64_t t1 = now_ns();
    for (size_t i = 0; i < n_timers; i++) {
        sw_timer_clear(loop, ids[i]);
    }
    uint64_t t2 = now_ns();
    for (size_t i = 0; i < n_timers; i++) {
        sw_timer_after(loop, timeouts[i], sw_cb, NULL, &ids[i]);
    }
    uint64_t t2w = now_ns();
    for (size_t i = 0; i < n_timers; i++) {
        sw_timer_clear(loop, ids[i]);
    }
    for (size_t i = 0; i < n_timers; i++) {
        sw_timer_after(loop, fire_timeouts[i], sw_cb, NULL, NULL);
    }
    usleep(20000);
    fired = 0;
    uint64_t t3 = now_ns();
    sw_loop_run(loop, SW_RUN_NOWAIT);
    uint64_t t4 = now_ns();
    if (fired != n_timers) {
        fprintf(stderr, "libswoole fired %zu of %zu\n", fired, n_timers);
        exit(1);
    }
    r.start = (double)(t1 - t0) / n_timers;
    r.stop = (double)(t2 - t1) / n_timers;
    r.warm = (double)(t2w - t2) / n_timers;
    r.fire = (double)(t4 - t3) / n_timers;
    free(ids);
    sw_loop_destroy(loop);
    return r;
}

/* ---- libev --------------------------------------------------------------------------------- */

static void libev_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    fired++;
}

static result_t run_libev(void)
{
    result_t r;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    uint64_t t0 = now_ns();
    ev_timer *w = malloc(n_timers * sizeof(*w));
    for (size_t i = 0; i < n_timers; i++) {
        ev_timer_init(&w[i], libev_cb, (double)timeouts[i] / 1000.0, 0.);
        ev_timer_start(loop, &w[i]);
    }
    uint64_t t1 = now_ns();
    for (size_t i = 0; i < n_timers; i++) {
        ev_timer_stop(loop, &w[i]);
    }
    uint64_t t2 = now_ns();
    for (size_t i = 0; i < n_timers; i++) {
        ev_timer_start(loop, &w[i]);
    }
    uint64_t t2w = now_ns();
    for (size_t i = 0; i < n_timers; i++) {
        ev_timer_stop(loop, &w[i]);
    }
    for (size_t i = 0; i < n_timers; i++) {
        ev_timer_set(&w[i], (double)fire_timeouts[i] / 1000.0, 0.);
        ev_timer_start(loop, &w[i]);
    }
    usleep(20000);
    fired = 0;
    uint64_t t3 = now_ns();
    ev_run(loop, EVRUN_NOWAIT);
    uint64_t t4 = now_ns();
    if (fired != n_timers) {
        fprintf(stderr, "libev fired %zu of %zu\n", fired, n_timers);
        exit(1);
    }
    r.start = (double)(t1 - t0) / n_timers;
    r.stop = (double)(t2 - t1) / n_timers;
    r.warm = (double)(t2w - t2) / n_timers;
    r.fire = (double)(t4 - t3) / n_timers;
    free(w);
    ev_loop_destroy(loop);
    return r;
}

/* ---- libuv --------------------------------------------------------------------------------- */

static void libuv_cb(uv_timer_t *h)
{
    (void)h;
    fired++;
}

static result_t run_libuv(void)
{
    result_t r;
    uv_loop_t loop;
    uv_loop_init(&loop);
    uint64_t t0 = now_ns();
    uv_timer_t *h = malloc(n_timers * sizeof(*h));
    for (size_t i = 0; i < n_timers; i++) {
        uv_timer_init(&loop, &h[i]);
        uv_timer_start(&h[i], libuv_cb, timeouts[i], 0);
    }
    uint64_t t1 = now_ns();
    for (size_t i = 0; i < n_timers; i++) {
        uv_timer_stop(&h[i]);
    }
    uint64_t t2 = now_ns();
    for (size_t i = 0; i < n_timers; i++) {
        uv_timer_start(&h[i], libuv_cb, timeouts[i], 0);
    }
    uint64_t t2w = now_ns();
    for (size_t i = 0; i < n_timers; i++) {
        uv_timer_stop(&h[i]);
    }
    for (size_t i = 0; i < n_timers; i++) {
        uv_timer_start(&h[i], libuv_cb, fire_timeouts[i], 0);
    }
    usleep(20000);
    fired = 0;
    uint64_t t3 = now_ns();
    uv_run(&loop, UV_RUN_NOWAIT);
    uint64_t t4 = now_ns();
    if (fired != n_timers) {
        fprintf(stderr, "libuv fired %zu of %zu\n", fired, n_timers);
        exit(1);
    }
    r.start = (double)(t1 - t0) / n_timers;
    r.stop = (double)(t2 - t1) / n_timers;
    r.warm = (double)(t2w - t2) / n_timers;
    r.fire = (double)(t4 - t3) / n_timers;
    for (size_t i = 0; i < n_timers; i++) {
        uv_close((uv_handle_t *)&h[i], NULL);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(h);
    return r;
}

/* ---- report -------------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void stats(double *v, int n, double *median, double *lo, double *hi)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    *median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    *lo = v[0];
    *hi = v[n - 1];
}

int main(int argc, char **argv)
{
    int rounds = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--timers") == 0 && i + 1 < argc) {
            n_timers = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--timers N] [--rounds R]\n", argv[0]);
            return 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || n_timers == 0) {
        fprintf(stderr, "rounds must be 1..%d and timers > 0\n", MAX_ROUNDS);
        return 2;
    }
    make_timeouts();
    static const char *libs[3] = {"libswoole", "libev", "libuv"};
    static const char *ops[4] = {"start (cold)", "stop", "start (warm)", "fire"};
    double v[3][4][MAX_ROUNDS]; /* lib, op, round */
    for (int r = 0; r < rounds; r++) {
        /* Rotate the order so no library always runs first (cold caches, page faults). */
        for (int k = 0; k < 3; k++) {
            int lib = (r + k) % 3;
            result_t res = lib == 0 ? run_swoole() : lib == 1 ? run_libev() : run_libuv();
            v[lib][0][r] = res.start;
            v[lib][1][r] = res.stop;
            v[lib][2][r] = res.warm;
            v[lib][3][r] = res.fire;
        }
    }
    printf("%zu timers, %d rounds; ns per timer: median (min..max)\n\n", n_timers, rounds);
    printf("| op | libswoole | libev | libuv | libev / libswoole | libuv / libswoole |\n");
    printf("|---|---|---|---|---|---|\n");
    for (int op = 0; op < 4; op++) {
        double med[3], lo[3], hi[3];
        for (int lib = 0; lib < 3; lib++) {
            stats(v[lib][op], rounds, &med[lib], &lo[lib], &hi[lib]);
        }
        printf("| %s |", ops[op]);
        for (int lib = 0; lib < 3; lib++) {
            printf(" %.1f (%.1f..%.1f) |", med[lib], lo[lib], hi[lib]);
        }
        printf(" %.2fx | %.2fx |\n", med[1] / med[0], med[2] / med[0]);
    }
    (void)libs;
    free(timeouts);
    free(fire_timeouts);
    return 0;
}
