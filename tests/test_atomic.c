/* Atomic counters: arithmetic, wrap-around, cross-process sums, wait/wakeup. */
#include <limits.h>
#include <string.h>

#include "memory_test_util.h"
#include "swoole/atomic.h"
#include "swoole/shm.h"

SW_TEST(atomic_basics)
{
    sw_atomic_t a;
    sw_atomic64_t b;
    ASSERT_ERR(sw_atomic_init(NULL, 0, 0), SW_EINVAL);
    ASSERT_ERR(sw_atomic_init(&a, 0, 4), SW_EINVAL);
    ASSERT_ERR(sw_atomic64_init(NULL, 0, 0), SW_EINVAL);
    ASSERT_ERR(sw_atomic64_init(&b, 0, 4), SW_EINVAL);
    ASSERT_EQ(sw_atomic_get(NULL), 0);
    ASSERT_EQ(sw_atomic_add(NULL, 1), 0);
    ASSERT_EQ(sw_atomic_sub(NULL, 1), 0);
    ASSERT_EQ(sw_atomic_cmpset(NULL, 0, 1), 0);
    sw_atomic_set(NULL, 1);
    ASSERT_ERR(sw_atomic_wait(NULL, 0, 0), SW_EINVAL);
    ASSERT_ERR(sw_atomic_wakeup(NULL, 1), SW_EINVAL);
    ASSERT_EQ(sw_atomic64_get(NULL), 0);
    ASSERT_EQ(sw_atomic64_add(NULL, 1), 0);
    ASSERT_EQ(sw_atomic64_sub(NULL, 1), 0);
    ASSERT_EQ(sw_atomic64_cmpset(NULL, 0, 1), 0);
    sw_atomic64_set(NULL, 1);
    ASSERT_ERR(sw_atomic64_wait(NULL, 0, 0), SW_EINVAL);
    ASSERT_ERR(sw_atomic64_wakeup(NULL, 1), SW_EINVAL);

    ASSERT_OK(sw_atomic_init(&a, 5, 0));
    ASSERT_ERR(sw_atomic_wakeup(&a, 0), SW_EINVAL);
    ASSERT_EQ(sw_atomic_get(&a), 5);
    ASSERT_EQ(sw_atomic_add(&a, 3), 8);
    ASSERT_EQ(sw_atomic_sub(&a, 10), UINT32_MAX - 1); /* wraps */
    ASSERT_EQ(sw_atomic_add(&a, 2), 0);
    ASSERT_EQ(sw_atomic_cmpset(&a, 1, 7), 0);
    ASSERT_EQ(sw_atomic_get(&a), 0);
    ASSERT_EQ(sw_atomic_cmpset(&a, 0, 7), 1);
    sw_atomic_set(&a, 42);
    ASSERT_EQ(sw_atomic_get(&a), 42);
    ASSERT_OK(sw_atomic_wait(&a, 41, 0)); /* differs: returns at once */
    ASSERT_OK(sw_atomic_wait(&a, 41, -1));
    ASSERT_ERR(sw_atomic_wait(&a, 42, 0), SW_ETIMEDOUT);
    uint64_t t0 = sw_test_now_ms();
    ASSERT_ERR(sw_atomic_wait(&a, 42, 30), SW_ETIMEDOUT);
    ASSERT_GE(sw_test_now_ms() - t0, 29);
    ASSERT_EQ(sw_atomic_wakeup(&a, 1), 0); /* nobody waits */

    ASSERT_OK(sw_atomic64_init(&b, INT64_MAX, SW_ATOMIC_PRIVATE));
    ASSERT_EQ(sw_atomic64_add(&b, 1), INT64_MIN); /* wraps, no UB */
    ASSERT_EQ(sw_atomic64_sub(&b, 1), INT64_MAX);
    ASSERT_EQ(sw_atomic64_sub(&b, INT64_MIN), -1);
    ASSERT_EQ(sw_atomic64_add(&b, (int64_t)1 << 40), ((int64_t)1 << 40) - 1);
    ASSERT_EQ(sw_atomic64_cmpset(&b, 0, 1), 0);
    ASSERT_EQ(sw_atomic64_cmpset(&b, ((int64_t)1 << 40) - 1, -7), 1);
    ASSERT_EQ(sw_atomic64_get(&b), -7);
    sw_atomic64_set(&b, 9);
    ASSERT_OK(sw_atomic64_wait(&b, 8, 0));
    ASSERT_ERR(sw_atomic64_wait(&b, 9, 0), SW_ETIMEDOUT);
    ASSERT_ERR(sw_atomic64_wait(&b, 9, 20), SW_ETIMEDOUT);
    ASSERT_EQ(sw_atomic64_wakeup(&b, INT_MAX), 0);

    /* Zero bytes are a valid shared counter of value 0. */
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    ASSERT_EQ(sw_atomic_add(&a, 1), 1);
    ASSERT_EQ(sw_atomic64_add(&b, -1), -1);
}

typedef struct {
    sw_atomic_t a;
    sw_atomic64_t b;
    long iters;
    _Atomic int ready;
    _Atomic int rc[8];
} sum_t;

static void add_worker(int idx, void *arg)
{
    sum_t *s = arg;
    for (long i = 0; i < s->iters; i++) {
        sw_atomic_add(&s->a, 3);
        sw_atomic_sub(&s->a, 1);
        sw_atomic64_add(&s->b, (int64_t)1 << 33);
        if (idx % 2) {
            uint32_t v;
            do {
                v = sw_atomic_get(&s->a);
            } while (!sw_atomic_cmpset(&s->a, v, v + 1));
        } else {
            int64_t v;
            do {
                v = sw_atomic64_get(&s->b);
            } while (!sw_atomic64_cmpset(&s->b, v, v + 1));
        }
    }
}

static void sums(int threads)
{
    void *mem;
    ASSERT_OK(sw_shm_create(sizeof(sum_t), &mem));
    sum_t *s = mem;
    s->iters = mt_scaled(100000);
    if (threads) {
        mt_thread_t ts[4];
        mt_threads_run(ts, 4, add_worker, s);
    } else {
        pid_t pids[4];
        mt_spawn(pids, 4, add_worker, s);
        mt_reap(pids, 4);
    }
    /* Each worker adds 2 per round to a, +1 more for odd workers; b gets 2^33 per round plus
     * 1 per round from even workers. */
    ASSERT_EQ(sw_atomic_get(&s->a), (uint32_t)(4 * 2 * s->iters + 2 * s->iters));
    ASSERT_EQ(sw_atomic64_get(&s->b), 4 * s->iters * ((int64_t)1 << 33) + 2 * s->iters);
    ASSERT_OK(sw_shm_destroy(mem, sizeof(sum_t)));
}

SW_TEST_TIMEOUT(atomic_sum_processes, 60)
{
    sums(0);
}

SW_TEST_TIMEOUT(atomic_sum_threads, 60)
{
    sums(1);
}

/* Ping-pong: worker 0 moves even values to odd, worker 1 odd to even, each waiting for its
 * turn with a 10 s limit, so a single lost wake-up fails the case. The 64-bit variant steps by
 * 2^32, changing only the high half of the value. */
static void pong32(int idx, void *arg)
{
    sum_t *s = arg;
    for (long i = 0; i < s->iters; i++) {
        uint32_t want = (uint32_t)(2 * i + idx);
        uint32_t v;
        while ((v = sw_atomic_get(&s->a)) != want) {
            int rc = sw_atomic_wait(&s->a, v, 10000);
            if (rc != 0) {
                atomic_store(&s->rc[idx], rc);
                return;
            }
        }
        sw_atomic_set(&s->a, want + 1);
        sw_atomic_wakeup(&s->a, 1);
    }
}

static void pong64(int idx, void *arg)
{
    sum_t *s = arg;
    const int64_t step = (int64_t)1 << 32;
    for (long i = 0; i < s->iters; i++) {
        int64_t want = (2 * i + idx) * step;
        int64_t v;
        while ((v = sw_atomic64_get(&s->b)) != want) {
            int rc = sw_atomic64_wait(&s->b, v, 10000);
            if (rc != 0) {
                atomic_store(&s->rc[idx], rc);
                return;
            }
        }
        sw_atomic64_set(&s->b, want + step);
        sw_atomic64_wakeup(&s->b, 1);
    }
}

static void ping_pong(int threads, mt_child_fn fn)
{
    void *mem;
    ASSERT_OK(sw_shm_create(sizeof(sum_t), &mem));
    sum_t *s = mem;
    s->iters = mt_scaled(10000);
    if (threads) {
        ASSERT_OK(sw_atomic_init(&s->a, 0, SW_ATOMIC_PRIVATE));
        ASSERT_OK(sw_atomic64_init(&s->b, 0, SW_ATOMIC_PRIVATE));
        mt_thread_t ts[2];
        mt_threads_run(ts, 2, fn, s);
    } else {
        pid_t pids[2];
        mt_spawn(pids, 2, fn, s);
        mt_reap(pids, 2);
    }
    ASSERT_OK(atomic_load(&s->rc[0]));
    ASSERT_OK(atomic_load(&s->rc[1]));
    if (fn == pong32) {
        ASSERT_EQ(sw_atomic_get(&s->a), (uint32_t)(2 * s->iters));
    } else {
        ASSERT_EQ(sw_atomic64_get(&s->b), 2 * s->iters * ((int64_t)1 << 32));
    }
    ASSERT_OK(sw_shm_destroy(mem, sizeof(sum_t)));
}

SW_TEST_TIMEOUT(atomic_wait_ping_pong_processes, 60)
{
    ping_pong(0, pong32);
    ping_pong(0, pong64);
}

SW_TEST_TIMEOUT(atomic_wait_ping_pong_threads, 60)
{
    ping_pong(1, pong32);
    ping_pong(1, pong64);
}

/* Several sleepers in other processes, released by one change and one wakeup of all. */
static void sleeper(int idx, void *arg)
{
    sum_t *s = arg;
    sw_atomic_add(&s->a, 1); /* counts sleepers about to wait on b */
    int rc = sw_atomic64_wait(&s->b, 0, 20000);
    atomic_store(&s->rc[idx], rc == 0 ? 1 : rc);
}

SW_TEST(atomic_wakeup_all_processes)
{
    void *mem;
    ASSERT_OK(sw_shm_create(sizeof(sum_t), &mem));
    sum_t *s = mem;
    pid_t pids[4];
    mt_spawn(pids, 4, sleeper, s);
    uint64_t end = sw_test_now_ms() + 10000;
    while (sw_atomic_get(&s->a) < 4) {
        ASSERT_TRUE(sw_test_now_ms() < end);
        mt_sleep_ms(1);
    }
    mt_sleep_ms(20); /* most likely asleep now; a waiter not yet asleep sees the change */
    sw_atomic64_set(&s->b, 1);
    int woken = sw_atomic64_wakeup(&s->b, INT_MAX);
    ASSERT_GE(woken, 0);
    ASSERT_LE(woken, 4);
    mt_reap(pids, 4);
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(atomic_load(&s->rc[i]), 1);
    }
    ASSERT_OK(sw_shm_destroy(mem, sizeof(sum_t)));
}
