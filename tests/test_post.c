/* Posted callbacks: from several threads at once, each delivered exactly once and in order per
 * thread; waking a blocked loop; posting from the loop's own thread. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "sw_test.h"
#include "swoole/loop.h"

#define THREADS    4
#define PER_THREAD 10000

typedef struct {
    sw_loop_t *loop;
    int next[THREADS]; /* the sequence number expected next from each thread */
    unsigned char seen[THREADS][PER_THREAD];
    int total;
    int out_of_order;
    int duplicates;
} post_state_t;

static post_state_t *g_ps;

typedef struct {
    sw_loop_t *loop;
    int id;
    int failures;
} poster_t;

static void post_cb(sw_loop_t *loop, void *arg)
{
    post_state_t *s = g_ps;
    ASSERT_PTR_EQ(loop, s->loop);
    uintptr_t v = (uintptr_t)arg;
    int t = (int)(v >> 20), seq = (int)(v & 0xfffff);
    ASSERT_LT(t, THREADS);
    ASSERT_LT(seq, PER_THREAD);
    if (s->seen[t][seq]) {
        s->duplicates++;
    }
    s->seen[t][seq] = 1;
    if (seq != s->next[t]) {
        s->out_of_order++;
    }
    s->next[t] = seq + 1;
    if (++s->total == THREADS * PER_THREAD) {
        sw_loop_unref(loop); /* the last one: let the loop end */
    }
}

static void *poster_main(void *arg)
{
    poster_t *p = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        uintptr_t v = ((uintptr_t)p->id << 20) | (uintptr_t)i;
        if (sw_loop_post(p->loop, post_cb, (void *)v) != 0) {
            p->failures++;
        }
        if ((i & 1023) == 0) {
            sched_yield(); /* let the loop take batches while others post */
        }
    }
    return NULL;
}

SW_TEST_TIMEOUT(post_four_threads_exactly_once, 60)
{
    static post_state_t s;
    memset(&s, 0, sizeof(s));
    g_ps = &s;
    ASSERT_OK(sw_loop_create(&s.loop, NULL));
    sw_loop_ref(s.loop); /* alive while the threads post */
    pthread_t th[THREADS];
    poster_t p[THREADS];
    for (int i = 0; i < THREADS; i++) {
        p[i] = (poster_t){.loop = s.loop, .id = i};
        ASSERT_OK(pthread_create(&th[i], NULL, poster_main, &p[i]));
    }
    ASSERT_EQ(sw_loop_run(s.loop, SW_RUN_DEFAULT), 0);
    for (int i = 0; i < THREADS; i++) {
        ASSERT_OK(pthread_join(th[i], NULL));
        ASSERT_EQ(p[i].failures, 0);
    }
    ASSERT_EQ(s.total, THREADS * PER_THREAD);
    ASSERT_EQ(s.duplicates, 0);
    ASSERT_EQ(s.out_of_order, 0);
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < PER_THREAD; i++) {
            ASSERT_EQ(s.seen[t][i], 1);
        }
    }
    ASSERT_EQ(sw_loop_alive(s.loop), 0);
    ASSERT_OK(sw_loop_destroy(s.loop));
}

static void stop_cb(sw_loop_t *loop, void *arg)
{
    *(int *)arg = 1;
    sw_loop_stop(loop);
}

typedef struct {
    sw_loop_t *loop;
    int *flag;
} waker_t;

static void *waker_main(void *arg)
{
    waker_t *w = arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    ASSERT_OK(sw_loop_post(w->loop, stop_cb, w->flag));
    return NULL;
}

SW_TEST(post_wakes_blocked_loop)
{
    /* The loop has only a reference: it blocks in its wait without a timeout until the post
     * from another thread wakes it. */
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    sw_loop_ref(loop);
    ASSERT_EQ(sw_loop_timeout(loop), -1);
    int flag = 0;
    waker_t w = {loop, &flag};
    pthread_t th;
    ASSERT_OK(pthread_create(&th, NULL, waker_main, &w));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 1); /* stopped, the reference is still held */
    ASSERT_OK(pthread_join(th, NULL));
    ASSERT_EQ(flag, 1);
    sw_loop_unref(loop);
    ASSERT_OK(sw_loop_destroy(loop));
}

static int g_order[8];
static int g_n;

static void rec_cb(sw_loop_t *loop, void *arg)
{
    int id = (int)(intptr_t)arg;
    g_order[g_n++] = id;
    if (id == 1) {
        /* Posted from a posted callback: the next iteration. */
        ASSERT_OK(sw_loop_post(loop, rec_cb, (void *)(intptr_t)3));
    }
}

SW_TEST(post_from_loop_thread)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    g_n = 0;
    ASSERT_OK(sw_loop_post(loop, rec_cb, (void *)(intptr_t)1));
    ASSERT_OK(sw_loop_post(loop, rec_cb, (void *)(intptr_t)2));
    ASSERT_EQ(sw_loop_alive(loop), 1); /* queued posts keep it alive */
    ASSERT_EQ(sw_loop_timeout(loop), 0);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_ONCE), 1);
    ASSERT_EQ(g_n, 2);
    ASSERT_EQ(g_order[0], 1);
    ASSERT_EQ(g_order[1], 2);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(g_n, 3);
    ASSERT_EQ(g_order[2], 3);
    ASSERT_OK(sw_loop_destroy(loop));
}

static int g_burst;

static void burst_count(sw_loop_t *loop, void *arg)
{
    (void)loop;
    (void)arg;
    g_burst++;
}

static void *burst_main(void *arg)
{
    sw_loop_t *loop = arg;
    for (int i = 0; i < 1000; i++) {
        ASSERT_OK(sw_loop_post(loop, burst_count, NULL));
    }
    return NULL;
}

SW_TEST(post_before_run_from_thread)
{
    /* Posts made while the loop is not running wait for the next run; the loop does not
     * need a reference for them. */
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    pthread_t th;
    g_burst = 0;
    ASSERT_OK(pthread_create(&th, NULL, burst_main, loop));
    ASSERT_OK(pthread_join(th, NULL));
    ASSERT_OK(sw_loop_post(loop, burst_count, NULL));
    ASSERT_EQ(sw_loop_alive(loop), 1);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(g_burst, 1001);
    ASSERT_OK(sw_loop_destroy(loop));
}
