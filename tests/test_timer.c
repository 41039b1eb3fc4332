/* Timers: order, ties, ticks without bursts, clearing from callbacks, ids, errors, faults. */
#include <stdlib.h>
#include <unistd.h>

#include "core/fault.h"
#include "sw_test.h"
#include "swoole/loop.h"
#include "swoole/timer.h"

static sw_loop_t *new_loop(void)
{
    sw_loop_t *loop = NULL;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    ASSERT_NOT_NULL(loop);
    return loop;
}

/* ---- 10,000 timers fire in deadline order ----------------------------------------------- */

typedef struct order_state_s order_state_t;

typedef struct {
    order_state_t *s;
    uint64_t deadline;
    int index; /* creation order */
} order_rec_t;

struct order_state_s {
    uint64_t last_deadline;
    int last_index;
    int fired;
    int out_of_order;
    int early;
};

static void order_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)id;
    order_rec_t *r = arg;
    order_state_t *s = r->s;
    if (r->deadline < s->last_deadline ||
        (r->deadline == s->last_deadline && r->index < s->last_index)) {
        s->out_of_order++;
    }
    if (sw_loop_now(loop) < r->deadline) {
        s->early++;
    }
    s->last_deadline = r->deadline;
    s->last_index = r->index;
    s->fired++;
}

SW_TEST(timer_10k_deadline_order)
{
    sw_loop_t *loop = new_loop();
    enum { N = 10000 };
    order_state_t s = {.last_index = -1};
    order_rec_t *recs = calloc(N, sizeof(order_rec_t));
    ASSERT_NOT_NULL(recs);
    srand(7);
    uint64_t now = sw_loop_now(loop);
    for (int i = 0; i < N; i++) {
        uint64_t ms = (uint64_t)(rand() % 300);
        recs[i] = (order_rec_t){&s, now + ms, i};
        ASSERT_OK(sw_timer_after(loop, ms, order_cb, &recs[i], NULL));
    }
    ASSERT_UEQ(sw_timer_count(loop), N);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(s.fired, N);
    ASSERT_EQ(s.out_of_order, 0);
    ASSERT_EQ(s.early, 0);
    ASSERT_UEQ(sw_timer_count(loop), 0);
    free(recs);
    ASSERT_OK(sw_loop_destroy(loop));
}

/* ---- ties fire in creation order --------------------------------------------------------- */

typedef struct {
    uint64_t seen[200];
    int n;
} seq_state_t;

static void seq_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    seq_state_t *s = arg;
    s->seen[s->n++] = id;
}

SW_TEST(timer_ties_in_creation_order)
{
    sw_loop_t *loop = new_loop();
    seq_state_t s = {0};
    uint64_t ids[200];
    for (int i = 0; i < 200; i++) {
        ASSERT_OK(sw_timer_after(loop, 5, seq_cb, &s, &ids[i]));
    }
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(s.n, 200);
    for (int i = 0; i < 200; i++) {
        ASSERT_UEQ(s.seen[i], ids[i]);
    }
    ASSERT_OK(sw_loop_destroy(loop));
}

/* ---- a tick that misses its deadlines fires once, then keeps its period ------------------ */

typedef struct {
    uint64_t at[64];
    int n;
    int stall_at;
    uint64_t id;
} tick_state_t;

static void tick_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    tick_state_t *s = arg;
    s->at[s->n++] = sw_loop_now(loop);
    if (s->n == s->stall_at) {
        usleep(500 * 1000); /* block the loop for ten periods */
    }
    if (s->n == 12) {
        ASSERT_OK(sw_timer_clear(loop, id));
        ASSERT_EQ(sw_timer_exists(loop, id), 0);
    }
}

SW_TEST(timer_tick_missed_no_burst)
{
    sw_loop_t *loop = new_loop();
    tick_state_t s = {.stall_at = 3};
    ASSERT_OK(sw_timer_tick(loop, 50, tick_cb, &s, &s.id));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(s.n, 12);
    /* Never twice in one pass over the timers (a burst would repeat the same cached time). */
    for (int i = 1; i < s.n; i++) {
        ASSERT_GT(s.at[i], s.at[i - 1]);
    }
    /* The stall is visible: the firing after it is late... */
    ASSERT_GE(s.at[s.stall_at] - s.at[s.stall_at - 1], 500);
    /* ...it happens once, and the period restarts from it instead of catching up. */
    ASSERT_GE(s.at[s.stall_at + 1] - s.at[s.stall_at], 50);
    ASSERT_FALSE(sw_timer_exists(loop, s.id));
    ASSERT_OK(sw_loop_destroy(loop));
}

/* ---- clearing inside callbacks ----------------------------------------------------------- */

typedef struct {
    int calls;
    int clear_rc;
    uint64_t other;
    int other_calls;
} clear_state_t;

static void other_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    clear_state_t *s = arg;
    s->other_calls++;
}

static void once_clears_self(sw_loop_t *loop, uint64_t id, void *arg)
{
    clear_state_t *s = arg;
    s->calls++;
    s->clear_rc = sw_timer_clear(loop, id);
    /* Clearing another pending timer from a callback works too. */
    ASSERT_OK(sw_timer_clear(loop, s->other));
}

static void tick_clears_self(sw_loop_t *loop, uint64_t id, void *arg)
{
    clear_state_t *s = arg;
    s->calls++;
    if (s->calls == 3) {
        s->clear_rc = sw_timer_clear(loop, id);
        /* Clearing twice is an error, not a double free. */
        ASSERT_ERR(sw_timer_clear(loop, id), SW_ENOENT);
    }
}

SW_TEST(timer_clear_inside_callback)
{
    sw_loop_t *loop = new_loop();
    clear_state_t a = {0};
    ASSERT_OK(sw_timer_after(loop, 20, other_cb, &a, &a.other));
    ASSERT_OK(sw_timer_after(loop, 1, once_clears_self, &a, NULL));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(a.calls, 1);
    ASSERT_ERR(a.clear_rc, SW_ENOENT); /* a one-shot is gone once it fires */
    ASSERT_EQ(a.other_calls, 0);

    clear_state_t b = {0};
    ASSERT_OK(sw_timer_tick(loop, 2, tick_clears_self, &b, NULL));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(b.calls, 3);
    ASSERT_OK(b.clear_rc);
    ASSERT_UEQ(sw_timer_count(loop), 0);
    ASSERT_OK(sw_loop_destroy(loop));
}

/* ---- ids are never reused; clear and exists on stale ids ---------------------------------- */

static void noop_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    (void)arg;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* 5,000 timers created and cleared in rounds of 100, so that pool slots are reused many times:
 * no id is 0, none repeats, and a stale id names nothing. */
SW_TEST(timer_ids_never_reused)
{
    sw_loop_t *loop = new_loop();
    enum { ROUNDS = 50, PER = 100 };
    uint64_t *all = calloc(ROUNDS * PER, sizeof(uint64_t));
    ASSERT_NOT_NULL(all);
    for (int round = 0; round < ROUNDS; round++) {
        uint64_t *ids = all + round * PER;
        for (int i = 0; i < PER; i++) {
            ASSERT_OK(sw_timer_after(loop, 1000, noop_cb, NULL, &ids[i]));
            ASSERT_UGT(ids[i], 0);
        }
        for (int i = 0; i < PER; i++) {
            ASSERT_TRUE(sw_timer_exists(loop, ids[i]));
            ASSERT_OK(sw_timer_clear(loop, ids[i]));
            ASSERT_FALSE(sw_timer_exists(loop, ids[i]));
            ASSERT_ERR(sw_timer_clear(loop, ids[i]), SW_ENOENT);
        }
        /* Ids of the previous round stay dead although their slots are in use again. */
        if (round > 0) {
            uint64_t again;
            ASSERT_OK(sw_timer_after(loop, 1000, noop_cb, NULL, &again));
            ASSERT_TRUE(sw_timer_exists(loop, again));
            for (int i = 0; i < PER; i++) {
                ASSERT_FALSE(sw_timer_exists(loop, all[(round - 1) * PER + i]));
                ASSERT_UEQ(again == all[(round - 1) * PER + i], 0);
            }
            ASSERT_OK(sw_timer_clear(loop, again));
        }
    }
    qsort(all, ROUNDS * PER, sizeof(uint64_t), cmp_u64);
    for (int i = 1; i < ROUNDS * PER; i++) {
        ASSERT_UGT(all[i], all[i - 1]);
    }
    ASSERT_ERR(sw_timer_clear(loop, 0), SW_ENOENT);
    ASSERT_ERR(sw_timer_clear(loop, UINT64_MAX), SW_ENOENT);
    free(all);
    ASSERT_UEQ(sw_timer_count(loop), 0);
    ASSERT_OK(sw_loop_destroy(loop));
}

/* ---- random add/clear against a reference, then everything left fires once --------------- */

typedef struct {
    uint64_t id;
    int alive; /* per the reference */
    int fired;
    int *bad;
} ref_rec_t;

static void ref_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    ref_rec_t *r = arg;
    if (!r->alive || r->fired || r->id != id) {
        (*r->bad)++;
    }
    r->fired = 1;
    r->alive = 0;
}

SW_TEST(timer_random_against_reference)
{
    sw_loop_t *loop = new_loop();
    enum { OPS = 100000 };
    int bad = 0;
    ref_rec_t *recs = calloc(OPS, sizeof(ref_rec_t));
    size_t *live = calloc(OPS, sizeof(size_t)); /* indexes into recs of live timers */
    ASSERT_NOT_NULL(recs);
    ASSERT_NOT_NULL(live);
    size_t nlive = 0, nrecs = 0;
    srand(11);
    for (int i = 0; i < OPS; i++) {
        if (nlive > 0 && rand() % 3 == 0) {
            size_t k = (size_t)rand() % nlive;
            ref_rec_t *r = &recs[live[k]];
            ASSERT_OK(sw_timer_clear(loop, r->id));
            ASSERT_ERR(sw_timer_clear(loop, r->id), SW_ENOENT);
            r->alive = 0;
            live[k] = live[--nlive];
        } else {
            ref_rec_t *r = &recs[nrecs];
            *r = (ref_rec_t){.alive = 1, .bad = &bad};
            ASSERT_OK(sw_timer_after(loop, (uint64_t)(rand() % 50), ref_cb, r, &r->id));
            live[nlive++] = nrecs++;
        }
        ASSERT_UEQ(sw_timer_count(loop), nlive);
    }
    size_t expected = nlive;
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    size_t fired = 0;
    for (size_t i = 0; i < nrecs; i++) {
        fired += (size_t)recs[i].fired;
        ASSERT_EQ(recs[i].alive, 0);
    }
    ASSERT_UEQ(fired, expected);
    ASSERT_EQ(bad, 0);
    free(recs);
    free(live);
    ASSERT_OK(sw_loop_destroy(loop));
}

/* ---- after(0) from a callback waits for the next iteration -------------------------------- */

typedef struct {
    int n;
    int limit;
} chain_state_t;

static void chain_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)id;
    chain_state_t *s = arg;
    s->n++;
    if (s->n < s->limit) {
        ASSERT_OK(sw_timer_after(loop, 0, chain_cb, s, NULL));
    }
}

SW_TEST(timer_zero_delay_runs_next_iteration)
{
    sw_loop_t *loop = new_loop();
    chain_state_t s = {.limit = 6};
    ASSERT_OK(sw_timer_after(loop, 0, chain_cb, &s, NULL));
    /* A pass over the timers never runs a timer created during that pass, so one iteration
     * (which looks at the timers at most twice) runs one or two links of the chain. */
    int prev = 0, iterations = 0;
    while (s.n < s.limit) {
        ASSERT_LT(iterations++, 10);
        sw_loop_run(loop, SW_RUN_NOWAIT);
        ASSERT_GE(s.n - prev, 1);
        ASSERT_LE(s.n - prev, 2);
        prev = s.n;
    }
    ASSERT_EQ(sw_loop_alive(loop), 0);
    ASSERT_OK(sw_loop_destroy(loop));
}

/* ---- a live timer keeps the loop alive and blocks destroy ---------------------------------- */

typedef struct {
    int found;
    uint64_t id;
} walk_state_t;

static void walk_cb(sw_loop_t *loop, const sw_handle_info_t *info, void *arg)
{
    (void)loop;
    walk_state_t *w = arg;
    if (info->type == SW_HANDLE_TIMER && (uint64_t)info->ident == w->id) {
        ASSERT_NOT_NULL(strstr(info->what, "timer"));
        w->found++;
    }
}

SW_TEST(timer_keeps_loop_alive_and_blocks_destroy)
{
    sw_loop_t *loop = new_loop();
    ASSERT_EQ(sw_loop_alive(loop), 0);
    walk_state_t w = {0};
    ASSERT_OK(sw_timer_after(loop, 100000, noop_cb, NULL, &w.id));
    ASSERT_EQ(sw_loop_alive(loop), 1);
    ASSERT_ERR(sw_loop_destroy(loop), SW_EBUSY);
    ASSERT_EQ(sw_loop_walk(loop, walk_cb, &w), 1);
    ASSERT_EQ(w.found, 1);
    ASSERT_EQ(sw_loop_timeout(loop) > 0, 1);
    ASSERT_OK(sw_timer_clear(loop, w.id));
    ASSERT_EQ(sw_loop_alive(loop), 0);
    ASSERT_EQ(sw_loop_timeout(loop), -1);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_OK(sw_loop_destroy(loop));
}

/* ---- bad arguments ------------------------------------------------------------------------- */

SW_TEST(timer_bad_arguments)
{
    sw_loop_t *loop = new_loop();
    uint64_t id = 77;
    ASSERT_ERR(sw_timer_after(NULL, 1, noop_cb, NULL, &id), SW_EINVAL);
    ASSERT_ERR(sw_timer_after(loop, 1, NULL, NULL, &id), SW_EINVAL);
    ASSERT_ERR(sw_timer_after(loop, SW_TIMER_MAX_MS + 1, noop_cb, NULL, &id), SW_EINVAL);
    ASSERT_ERR(sw_timer_tick(loop, 0, noop_cb, NULL, &id), SW_EINVAL);
    ASSERT_ERR(sw_timer_tick(loop, SW_TIMER_MAX_MS + 1, noop_cb, NULL, &id), SW_EINVAL);
    ASSERT_ERR(sw_timer_tick(NULL, 5, noop_cb, NULL, &id), SW_EINVAL);
    ASSERT_UEQ(id, 77); /* untouched on error */
    ASSERT_ERR(sw_timer_clear(NULL, 1), SW_EINVAL);
    ASSERT_EQ(sw_timer_exists(NULL, 1), 0);
    ASSERT_UEQ(sw_timer_count(NULL), 0);
    ASSERT_UEQ(sw_timer_count(loop), 0);
    /* The longest allowed interval is accepted. */
    ASSERT_OK(sw_timer_after(loop, SW_TIMER_MAX_MS, noop_cb, NULL, &id));
    ASSERT_OK(sw_timer_clear(loop, id));
    ASSERT_OK(sw_loop_destroy(loop));
}

/* ---- allocation failure leaves the timers as they were ------------------------------------- */

SW_TEST(timer_alloc_failure)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    sw_loop_t *loop = new_loop();
    uint64_t ids[64];
    /* Fill the initial node pool (64) so the next insert must grow it. */
    for (int i = 0; i < 64; i++) {
        ASSERT_OK(sw_timer_after(loop, 1000, noop_cb, NULL, &ids[i]));
    }
    ASSERT_OK(sw__fault_set("alloc", 0, 1));
    uint64_t id = 0;
    ASSERT_ERR(sw_timer_after(loop, 1, noop_cb, NULL, &id), SW_ENOMEM);
    ASSERT_UEQ(id, 0);
    ASSERT_UEQ(sw_timer_count(loop), 64);
    sw__fault_reset();
    ASSERT_OK(sw_timer_after(loop, 1, noop_cb, NULL, &id));
    ASSERT_UEQ(sw_timer_count(loop), 65);
    for (int i = 0; i < 64; i++) {
        ASSERT_OK(sw_timer_clear(loop, ids[i]));
    }
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_UEQ(sw_timer_count(loop), 0);
    ASSERT_OK(sw_loop_destroy(loop));
}

/* ---- runs of equal deadlines: creation order, clears inside a run, slot collisions -------- */

typedef struct {
    int order[400];
    int n;
    uint64_t ids[400];
    int clear_from_first; /* index the first callback clears */
} run_state_t;

typedef struct {
    run_state_t *s;
    int index;
} run_rec_t;

static void run_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)id;
    run_rec_t *r = arg;
    run_state_t *s = r->s;
    if (s->n == 0 && s->clear_from_first >= 0) {
        /* A later member of the run being fired is cleared: it must not fire. */
        ASSERT_OK(sw_timer_clear(loop, s->ids[s->clear_from_first]));
    }
    s->order[s->n++] = r->index;
}

SW_TEST(timer_runs_keep_creation_order)
{
    sw_loop_t *loop = new_loop();
    run_state_t s = {.clear_from_first = 7};
    run_rec_t recs[400];
    /* Deadlines 20 and 84 share a slot of the recent-run table (64 entries), so creating them
     * alternately forces new runs for the same deadline; 20 ms timers must still fire in
     * creation order, then the 84 ms ones. Every 5th is cleared before the loop runs. */
    for (int i = 0; i < 400; i++) {
        recs[i] = (run_rec_t){&s, i};
        uint64_t ms = (i % 3 == 2) ? 84 : 20;
        ASSERT_OK(sw_timer_after(loop, ms, run_cb, &recs[i], &s.ids[i]));
    }
    int cleared = 0;
    for (int i = 4; i < 400; i += 5) {
        ASSERT_OK(sw_timer_clear(loop, s.ids[i]));
        cleared++;
    }
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    /* Index 7 (a 20 ms timer, not a multiple of 5 minus one) was cleared by the first call. */
    ASSERT_EQ(s.n, 400 - cleared - 1);
    int last20 = -1, last84 = -1, seen84 = 0;
    for (int k = 0; k < s.n; k++) {
        int i = s.order[k];
        ASSERT_NE(i, 7);
        ASSERT_NE(i % 5, 4);
        if (i % 3 == 2) {
            ASSERT_GT(i, last84);
            last84 = i;
            seen84 = 1;
        } else {
            ASSERT_FALSE(seen84); /* every 20 ms timer before any 84 ms one */
            ASSERT_GT(i, last20);
            last20 = i;
        }
    }
    ASSERT_UEQ(sw_timer_count(loop), 0);
    ASSERT_OK(sw_loop_destroy(loop));
}

static void count_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    ++*(int *)arg;
}

/* The last timer is already due when the loop starts: it fires in the first pass over the
 * timers and the loop returns instead of waiting for events that will never come. */
SW_TEST(timer_due_before_run_returns)
{
    sw_loop_t *loop = new_loop();
    int calls = 0;
    ASSERT_OK(sw_timer_after(loop, 1, count_cb, &calls, NULL));
    usleep(20 * 1000);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(calls, 1);
    ASSERT_OK(sw_loop_destroy(loop));
}

/* Without a free run record (allocation failing), a timer due at the same millisecond as
 * another stays a lone heap entry instead of joining a run: still accepted, still fired in
 * creation order. 100 pairs exhaust the 64 records the pool has; then 100 timers share one
 * millisecond. */
SW_TEST(timer_ties_without_run_records)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    sw_loop_t *loop = new_loop();
    /* Grow the node pool and the heap first; lone timers take no run record. */
    uint64_t warm[400];
    for (int i = 0; i < 400; i++) {
        ASSERT_OK(sw_timer_after(loop, 1000 + (uint64_t)i, noop_cb, NULL, &warm[i]));
    }
    for (int i = 0; i < 400; i++) {
        ASSERT_OK(sw_timer_clear(loop, warm[i]));
    }
    ASSERT_OK(sw__fault_set("alloc", 0, -1));
    enum { N = 300 };
    order_state_t s = {.last_index = -1};
    order_rec_t recs[N];
    uint64_t now = sw_loop_now(loop);
    for (int i = 0; i < N; i++) {
        uint64_t ms = i < 200 ? 10 + (uint64_t)(i / 2) : 150;
        recs[i] = (order_rec_t){&s, now + ms, i};
        ASSERT_OK(sw_timer_after(loop, ms, order_cb, &recs[i], NULL));
    }
    ASSERT_GT(sw__fault_hits("alloc"), 0); /* the pool did try to add records, and failed */
    sw__fault_reset();
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(s.fired, N);
    ASSERT_EQ(s.out_of_order, 0);
    ASSERT_EQ(s.early, 0);
    ASSERT_OK(sw_loop_destroy(loop));
}
