/*
 * Helpers for the memory suite's tests: helper processes and threads, bounded waits, and the
 * iteration scale.
 *
 * Scale: the counts (100k per worker) are the default, also under sanitizers (every case
 * stays under ~2 s there on 2 shared cores). The environment variable
 * SW_TEST_MEMORY_SCALE=<percent> scales them (e.g. 1000 for a 10x soak run, 10 for a quick one).
 */
#ifndef SW_MEMORY_TEST_UTIL_H
#define SW_MEMORY_TEST_UTIL_H

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sw_test.h"

/* `n` scaled as described above (at least 1). */
static inline long mt_scaled(long n)
{
    const char *env = getenv("SW_TEST_MEMORY_SCALE");
    long pct = 100;
    if (env && *env) {
        pct = strtol(env, NULL, 10);
    }
    long r = n * pct / 100;
    return r > 0 ? r : 1;
}

static inline void mt_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Waits (bounded by `limit_ms`) until *flag >= want; fails the case on timeout. */
#define MT_WAIT_FLAG(flag, want, limit_ms)                                                        \
    do {                                                                                          \
        uint64_t mt_end_ = sw_test_now_ms() + (limit_ms);                                         \
        while (atomic_load(flag) < (want)) {                                                      \
            if (sw_test_now_ms() > mt_end_) {                                                     \
                sw_test_fail(__FILE__, __LINE__, "timed out waiting for %s >= %s", #flag, #want); \
            }                                                                                     \
            sched_yield();                                                                        \
        }                                                                                         \
    } while (0)

typedef void (*mt_child_fn)(int index, void *arg);

/* Forks `n` children running fn(i, arg), each ending with _exit(0). Stores pids in `pids`. */
static inline void mt_spawn(pid_t *pids, int n, mt_child_fn fn, void *arg)
{
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
            fn(i, arg);
            _exit(0);
        }
        pids[i] = pid;
    }
}

/* Reaps `n` children; fails the case unless each exited with status 0. */
static inline void mt_reap(const pid_t *pids, int n)
{
    for (int i = 0; i < n; i++) {
        int st = 0;
        ASSERT_EQ(waitpid(pids[i], &st, 0), pids[i]);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            sw_test_fail(__FILE__, __LINE__, "child %d: status 0x%x", i, st);
        }
    }
}

/* Kills and reaps a helper. */
static inline void mt_kill(pid_t pid)
{
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
}

typedef struct {
    pthread_t tid;
    mt_child_fn fn;
    int index;
    void *arg;
} mt_thread_t;

static inline void *mt_thread_main(void *p)
{
    mt_thread_t *t = (mt_thread_t *)p;
    t->fn(t->index, t->arg);
    return NULL;
}

static inline void mt_threads_run(mt_thread_t *ts, int n, mt_child_fn fn, void *arg)
{
    for (int i = 0; i < n; i++) {
        ts[i].fn = fn;
        ts[i].index = i;
        ts[i].arg = arg;
        ASSERT_EQ(pthread_create(&ts[i].tid, NULL, mt_thread_main, &ts[i]), 0);
    }
    for (int i = 0; i < n; i++) {
        ASSERT_EQ(pthread_join(ts[i].tid, NULL), 0);
    }
}

#endif
