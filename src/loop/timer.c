/*
 * Timers: a 4-ary min-heap of runs, a run being a FIFO list of timers due at the same
 * millisecond, over a pool of timer nodes.
 *
 * Runs. Timers due at the same millisecond must fire in creation order. Keeping one heap
 * entry per timer and breaking ties by a sequence number does that, but then every pop sifts
 * the whole depth of the heap even when thousands of timers share a deadline. Instead, a new
 * timer joins the newest run of its deadline when that run is still waiting (found through
 * `recent`, a small table indexed by the deadline's low bits), and only otherwise opens a new
 * run with one heap entry. A run stops taking members once a newer run of the same deadline
 * exists, so all members of an older run were created before any member of a newer one, and
 * ordering runs by (deadline, creation sequence) keeps creation order overall.
 *
 * Lone timers. Most timers have a deadline of their own. Such a timer is a run of one that
 * needs no run record: its heap entry names the node itself (REF_NODE), and the node keeps
 * its heap position in `prev`, which only run members use for a link. The record is made when
 * a second timer joins. So a timer with a distinct deadline costs a 40-byte node and a 16-byte
 * heap entry, and nothing else is touched when it starts or stops.
 *
 * Ids. A timer's id is (generation << 32 | slot): the slot is the node's index in the pool,
 * the generation a per-slot counter that moves on every time the slot is freed. Looking up an
 * id is one array access and one compare, with no hash table to miss the cache on. Ids are
 * never reused: a slot whose generation has gone through all 2^32 - 1 values is retired for
 * good instead of wrapping. Generations start at 1, so no id is 0.
 *
 * Heap. Entries hold the deadline inline (16 bytes: deadline, run, sequence), so sifting
 * touches only the heap array (libev keeps the deadline in its heap for the same reason); a
 * 4-ary heap halves the depth of a binary one. The sequence is 32 bits and compared modulo
 * 2^32: runs of one deadline are ordered exactly when they were opened fewer than 2^31 runs
 * apart. Nodes and runs are named by index, never by pointer, because callbacks may create
 * timers and so move the arrays.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "loop/loop_int.h"
#include "loop/timer_int.h"
#include "swoole/error.h"
#include "swoole/timer.h"

#define NO_INDEX    UINT32_MAX
#define HEAP_D      4           /* children per heap node */
#define RECENT_BITS 6           /* 64 deadlines remembered for joining runs */
#define REF_NODE    0x80000000u /* in a heap entry or `recent`: a lone node, not a run */

enum {
    NODE_USED = 1,    /* node holds a timer */
    NODE_RUNNING = 2, /* a tick whose callback is running (in no run) */
    NODE_CLEARED = 4, /* a running tick cleared by its callback: free it afterwards */
    NODE_LONE = 8     /* in the heap by itself, without a run record */
};

/* 40 bytes. The interval needs 41 bits (SW_TIMER_MAX_MS). */
typedef struct {
    sw_timer_cb cb;
    void *arg;
    uint64_t interval : 56; /* 0: one-shot */
    uint64_t flags : 8;
    uint32_t gen;  /* generation of the timer in this slot (of the next one when free) */
    uint32_t run;  /* the run holding it; NO_INDEX when lone, running or free */
    uint32_t prev; /* previous in the run; the heap position when lone */
    uint32_t next; /* next in the run; next free node when free */
} timer_node_t;

typedef struct {
    uint64_t deadline;
    uint32_t head, tail; /* FIFO of nodes; head is next free run when free */
    uint32_t heap_pos;   /* NO_INDEX once popped for firing (detached) */
} timer_run_t;

typedef struct {
    uint64_t deadline;
    uint32_t ref; /* a run, or a lone node | REF_NODE */
    uint32_t seq;
} heap_entry_t;

struct sw__timers_s {
    heap_entry_t *heap;
    uint32_t heap_len;
    uint32_t heap_cap;

    timer_node_t *nodes;
    uint32_t nodes_cap;
    uint32_t free_node;

    timer_run_t *runs;
    uint32_t runs_cap;
    uint32_t free_run;

    uint32_t count; /* live timers (a cleared running tick no longer counts) */
    uint32_t seq;
    uint32_t recent[1u << RECENT_BITS]; /* newest waiting run (ref) per deadline & mask */
};

static inline uint64_t make_id(uint32_t slot, uint32_t gen)
{
    return ((uint64_t)gen << 32) | slot;
}

/* The node an id names, or NO_INDEX. */
static inline uint32_t find_node(const sw__timers_t *t, uint64_t id)
{
    uint32_t slot = (uint32_t)id;
    if (slot >= t->nodes_cap) {
        return NO_INDEX;
    }
    const timer_node_t *n = &t->nodes[slot];
    if ((n->flags & (NODE_USED | NODE_CLEARED)) != NODE_USED || n->gen != (uint32_t)(id >> 32)) {
        return NO_INDEX;
    }
    return slot;
}

static inline uint32_t *recent_slot(sw__timers_t *t, uint64_t deadline)
{
    return &t->recent[deadline & ((1u << RECENT_BITS) - 1)];
}

/* ---- heap ---------------------------------------------------------------------------------- */

/* Equal deadlines are rare in the heap (timers due at the same millisecond share one run
 * entry), so the sequence decides almost never and the branch on it is well predicted. */
static inline bool entry_less(const heap_entry_t *a, const heap_entry_t *b)
{
    if (a->deadline != b->deadline) {
        return a->deadline < b->deadline;
    }
    return (int32_t)(a->seq - b->seq) < 0;
}

/* The smallest of the children first .. first+3 (those below n). */
static inline uint32_t min_child(const sw__timers_t *t, uint32_t first, uint32_t n)
{
    const heap_entry_t *h = t->heap;
    if (first + HEAP_D <= n) {
        /* Full group, the common case: a tournament the compiler turns into conditional moves. */
        uint32_t a = entry_less(&h[first + 1], &h[first]) ? first + 1 : first;
        uint32_t b = entry_less(&h[first + 3], &h[first + 2]) ? first + 3 : first + 2;
        return entry_less(&h[b], &h[a]) ? b : a;
    }
    uint32_t best = first;
    for (uint32_t c = first + 1; c < n; c++) {
        best = entry_less(&h[c], &h[best]) ? c : best;
    }
    return best;
}

/* Records where the run or lone node `ref` sits in the heap. */
static inline void set_pos(sw__timers_t *t, uint32_t ref, uint32_t pos)
{
    if (ref & REF_NODE) {
        t->nodes[ref & ~REF_NODE].prev = pos;
    } else {
        t->runs[ref].heap_pos = pos;
    }
}

static inline void heap_set(sw__timers_t *t, uint32_t pos, heap_entry_t e)
{
    t->heap[pos] = e;
    set_pos(t, e.ref, pos);
}

static void sift_up(sw__timers_t *t, uint32_t pos)
{
    heap_entry_t e = t->heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / HEAP_D;
        if (!entry_less(&e, &t->heap[parent])) {
            break;
        }
        heap_set(t, pos, t->heap[parent]);
        pos = parent;
    }
    heap_set(t, pos, e);
}

static void sift_down(sw__timers_t *t, uint32_t pos)
{
    heap_entry_t e = t->heap[pos];
    uint32_t n = t->heap_len;
    for (;;) {
        uint32_t first = pos * HEAP_D + 1;
        if (first >= n) {
            break;
        }
        uint32_t best = min_child(t, first, n);
        if (!entry_less(&t->heap[best], &e)) {
            break;
        }
        heap_set(t, pos, t->heap[best]);
        pos = best;
    }
    heap_set(t, pos, e);
}

static void heap_push(sw__timers_t *t, uint32_t ref, uint64_t deadline)
{
    /* Room was reserved by reserve(). */
    uint32_t pos = t->heap_len++;
    t->heap[pos] = (heap_entry_t){deadline, ref, t->seq++};
    sift_up(t, pos);
}

/* Removes the earliest run. Bottom-up (Floyd): the hole at the root moves down to a leaf
 * along the smaller children, then the last entry rises from there. The last entry almost
 * always belongs near the bottom, so this saves the compare against it at every level that a
 * plain sift-down makes. */
static void heap_pop(sw__timers_t *t)
{
    uint32_t n = --t->heap_len;
    set_pos(t, t->heap[0].ref, NO_INDEX);
    if (n == 0) {
        return;
    }
    heap_entry_t e = t->heap[n];
    uint32_t pos = 0;
    for (;;) {
        uint32_t first = pos * HEAP_D + 1;
        if (first >= n) {
            break;
        }
        uint32_t best = min_child(t, first, n);
        heap_set(t, pos, t->heap[best]);
        pos = best;
    }
    while (pos > 0) {
        uint32_t parent = (pos - 1) / HEAP_D;
        if (!entry_less(&e, &t->heap[parent])) {
            break;
        }
        heap_set(t, pos, t->heap[parent]);
        pos = parent;
    }
    heap_set(t, pos, e);
}

static void heap_remove(sw__timers_t *t, uint32_t pos)
{
    uint32_t last = --t->heap_len;
    set_pos(t, t->heap[pos].ref, NO_INDEX);
    if (pos == last) {
        return;
    }
    heap_set(t, pos, t->heap[last]);
    if (pos > 0 && entry_less(&t->heap[pos], &t->heap[(pos - 1) / HEAP_D])) {
        sift_up(t, pos);
    } else {
        sift_down(t, pos);
    }
}

/* ---- pools --------------------------------------------------------------------------------- */

static int grow(void **array, uint32_t *cap, size_t elem, uint32_t need)
{
    if (need <= *cap) {
        return 0;
    }
    if (need > ((uint32_t)1 << 30)) { /* indexes must stay below REF_NODE */
        return SW_ENOMEM;
    }
    uint32_t n = *cap ? *cap : 64;
    while (n < need) {
        n *= 2;
    }
    void *p = sw__big_realloc(*array, (size_t)*cap * elem, (size_t)n * elem);
    if (!p) {
        return SW_ENOMEM;
    }
    *array = p;
    *cap = n;
    return 0;
}

/* Adds run records to the free list. Best effort: without a free record, schedule() keeps a
 * new timer lone (its own heap entry after the run it would have joined), which orders it
 * exactly the same, so running out of records never fails a timer. */
static void grow_runs(sw__timers_t *t)
{
    uint32_t old = t->runs_cap;
    if (grow((void **)&t->runs, &t->runs_cap, sizeof(timer_run_t), old + 1) < 0) {
        return;
    }
    for (uint32_t i = t->runs_cap; i-- > old;) {
        t->runs[i] = (timer_run_t){.head = t->free_run, .tail = NO_INDEX, .heap_pos = NO_INDEX};
        t->free_run = i;
    }
}

/* Makes room for one more timer, so that the insertion that follows cannot fail half-way. The
 * heap gets room for every live timer plus two (each live timer has at most one entry; one run
 * may be detached for firing), so rescheduling a tick from inside the firing loop never needs
 * to allocate. */
static int reserve(sw__timers_t *t)
{
    if (t->free_node == NO_INDEX) {
        uint32_t old = t->nodes_cap;
        int rc = grow((void **)&t->nodes, &t->nodes_cap, sizeof(timer_node_t), old + 1);
        if (rc < 0) {
            return rc;
        }
        /* Chain the new nodes so that allocation walks memory forwards. */
        for (uint32_t i = t->nodes_cap; i-- > old;) {
            t->nodes[i] = (timer_node_t){.gen = 1, .run = NO_INDEX, .next = t->free_node};
            t->free_node = i;
        }
    }
    uint32_t need = t->count + 2;
    if (need > t->heap_cap) {
        return grow((void **)&t->heap, &t->heap_cap, sizeof(heap_entry_t), need);
    }
    return 0;
}

static void node_free(sw__timers_t *t, uint32_t idx)
{
    timer_node_t *n = &t->nodes[idx];
    n->flags = 0;
    n->cb = NULL;
    n->arg = NULL;
    n->run = NO_INDEX;
    if (++n->gen == 0) {
        /* Every generation of this slot has named a timer: retire it so no id comes back. */
        n->next = NO_INDEX;
        return;
    }
    n->next = t->free_node;
    t->free_node = idx;
}

static void run_free(sw__timers_t *t, uint32_t r)
{
    uint32_t *slot = recent_slot(t, t->runs[r].deadline);
    if (*slot == r) {
        *slot = NO_INDEX;
    }
    t->runs[r].heap_pos = NO_INDEX;
    t->runs[r].tail = NO_INDEX;
    t->runs[r].head = t->free_run;
    t->free_run = r;
}

/* Queues node `idx` to fire at `deadline`: at the end of the newest waiting run of that
 * deadline (making the run record when the run was a lone timer), or alone in the heap. Cannot
 * fail: reserve() made room. */
static void schedule(sw__timers_t *t, uint32_t idx, uint64_t deadline)
{
    timer_node_t *n = &t->nodes[idx];
    uint32_t *slot = recent_slot(t, deadline);
    uint32_t ref = *slot;
    n->next = NO_INDEX;
    if (ref != NO_INDEX && (ref & REF_NODE)) {
        uint32_t j = ref & ~REF_NODE;
        timer_node_t *m = &t->nodes[j];
        uint32_t pos = m->prev;
        if (t->heap[pos].deadline == deadline && t->free_run != NO_INDEX) {
            /* A second timer for a lone timer's millisecond: give them a run record that
             * takes over the lone timer's heap entry (and so its place in the order). */
            uint32_t r = t->free_run;
            timer_run_t *run = &t->runs[r];
            t->free_run = run->head;
            *run = (timer_run_t){.deadline = deadline, .head = j, .tail = idx, .heap_pos = pos};
            t->heap[pos].ref = r;
            m->flags &= ~(unsigned)NODE_LONE;
            m->run = r;
            m->prev = NO_INDEX;
            m->next = idx;
            n->run = r;
            n->prev = j;
            *slot = r;
            return;
        }
    } else if (ref != NO_INDEX && t->runs[ref].deadline == deadline) {
        timer_run_t *run = &t->runs[ref];
        n->prev = run->tail;
        n->run = ref;
        t->nodes[run->tail].next = idx;
        run->tail = idx;
        return;
    }
    n->flags |= NODE_LONE;
    n->run = NO_INDEX;
    *slot = idx | REF_NODE;
    heap_push(t, idx | REF_NODE, deadline);
}

/* Takes node `idx` out of its run; frees the run when it empties, unless the run is being
 * fired (detached), which the firing loop frees itself. */
static void unlink_node(sw__timers_t *t, uint32_t idx)
{
    timer_node_t *n = &t->nodes[idx];
    if (n->flags & NODE_LONE) {
        uint64_t deadline = t->heap[n->prev].deadline;
        heap_remove(t, n->prev);
        uint32_t *slot = recent_slot(t, deadline);
        if (*slot == (idx | REF_NODE)) {
            *slot = NO_INDEX;
        }
        n->flags &= ~(unsigned)NODE_LONE;
        return;
    }
    timer_run_t *run = &t->runs[n->run];
    if (n->prev != NO_INDEX) {
        t->nodes[n->prev].next = n->next;
    } else {
        run->head = n->next;
    }
    if (n->next != NO_INDEX) {
        t->nodes[n->next].prev = n->prev;
    } else {
        run->tail = n->prev;
    }
    if (run->head == NO_INDEX && run->heap_pos != NO_INDEX) {
        heap_remove(t, run->heap_pos);
        run_free(t, n->run);
    }
    n->run = NO_INDEX;
}

/* ---- contract with the loop (timer_int.h) -------------------------------------------------- */

int sw__timers_create(sw__timers_t **out)
{
    sw__timers_t *t = sw__calloc(1, sizeof(*t));
    if (!t) {
        return SW_ENOMEM;
    }
    t->free_node = NO_INDEX;
    t->free_run = NO_INDEX;
    for (size_t i = 0; i < (1u << RECENT_BITS); i++) {
        t->recent[i] = NO_INDEX;
    }
    *out = t;
    return 0;
}

void sw__timers_destroy(sw__timers_t *t)
{
    if (!t) {
        return;
    }
    sw__big_free(t->heap, (size_t)t->heap_cap * sizeof(heap_entry_t));
    sw__big_free(t->nodes, (size_t)t->nodes_cap * sizeof(timer_node_t));
    sw__big_free(t->runs, (size_t)t->runs_cap * sizeof(timer_run_t));
    sw__free(t);
}

size_t sw__timers_count(const sw__timers_t *t)
{
    return t ? t->count : 0;
}

int64_t sw__timers_next_deadline(const sw__timers_t *t)
{
    if (!t || t->heap_len == 0) {
        return -1;
    }
    return (int64_t)t->heap[0].deadline;
}

/* Fires node `idx`, already taken out of the heap or its run, that was due at `deadline`. */
static void fire(sw_loop_t *loop, sw__timers_t *t, uint32_t idx, uint64_t deadline, uint64_t now_ms)
{
    timer_node_t *n = &t->nodes[idx];
    uint64_t id = make_id(idx, n->gen);
    sw_timer_cb cb = n->cb;
    void *arg = n->arg;
    n->run = NO_INDEX;
    if (n->interval == 0) {
        /* One-shot: gone before its callback, so clearing it there reports SW_ENOENT and its
         * id can never name anything again. */
        t->count--;
        node_free(t, idx);
        cb(loop, id, arg);
        return;
    }
    n->flags |= NODE_RUNNING;
    cb(loop, id, arg);
    n = &t->nodes[idx]; /* the callback may have grown the array */
    if (n->flags & NODE_CLEARED) {
        node_free(t, idx);
        return;
    }
    n->flags &= ~(unsigned)NODE_RUNNING;
    /* Keep the cadence when on time; after a stall of a period or more, fire once and
     * restart the period from now instead of catching up in a burst. */
    uint64_t next = deadline + n->interval;
    if (next <= now_ms) {
        next = now_ms + n->interval;
    }
    schedule(t, idx, next);
}

void sw__timers_run(sw_loop_t *loop, sw__timers_t *t, uint64_t now_ms)
{
    /* Runs opened from here on carry seq >= limit; they wait for the next call. Timers added
     * by the callbacks never join a run being fired: it is detached from `recent` first. */
    uint32_t limit = t->seq;
    while (t->heap_len > 0) {
        heap_entry_t top = t->heap[0];
        if (top.deadline > now_ms || (int32_t)(top.seq - limit) >= 0) {
            break;
        }
        heap_pop(t);
        uint32_t *slot = recent_slot(t, top.deadline);
        if (*slot == top.ref) {
            *slot = NO_INDEX;
        }
        if (top.ref & REF_NODE) {
            uint32_t idx = top.ref & ~REF_NODE;
            t->nodes[idx].flags &= ~(unsigned)NODE_LONE;
            fire(loop, t, idx, top.deadline, now_ms);
            continue;
        }
        /* Callbacks may clear members of this run (unlink_node) and grow the arrays: take
         * the head afresh each time and hold no pointer across a callback. */
        uint32_t r = top.ref, idx;
        while ((idx = t->runs[r].head) != NO_INDEX) {
            timer_node_t *n = &t->nodes[idx];
            t->runs[r].head = n->next;
            if (n->next != NO_INDEX) {
                t->nodes[n->next].prev = NO_INDEX;
            } else {
                t->runs[r].tail = NO_INDEX;
            }
            fire(loop, t, idx, top.deadline, now_ms);
        }
        run_free(t, r);
    }
}

int sw__timers_walk(sw_loop_t *loop, const sw__timers_t *t, sw_walk_cb cb, void *arg)
{
    int count = 0;
    if (!t) {
        return 0;
    }
    uint64_t now = loop->now_ms;
    for (uint32_t i = 0; i < t->nodes_cap; i++) {
        const timer_node_t *n = &t->nodes[i];
        if (!(n->flags & NODE_USED) || (n->flags & NODE_CLEARED)) {
            continue;
        }
        count++;
        if (!cb) {
            continue;
        }
        char what[128];
        uint64_t id = make_id(i, n->gen);
        if (n->run != NO_INDEX || (n->flags & NODE_LONE)) {
            uint64_t due =
                (n->flags & NODE_LONE) ? t->heap[n->prev].deadline : t->runs[n->run].deadline;
            snprintf(what, sizeof(what), "timer id=%llu %s due in %lld ms", (unsigned long long)id,
                     n->interval ? "tick" : "after", (long long)(due > now ? due - now : 0));
        } else {
            snprintf(what, sizeof(what), "timer id=%llu tick running", (unsigned long long)id);
        }
        sw_handle_info_t info = {SW_HANDLE_TIMER, (int64_t)id, what};
        cb(loop, &info, arg);
    }
    return count;
}

/* ---- public API ---------------------------------------------------------------------------- */

static int add_timer(sw_loop_t *loop, uint64_t ms, uint64_t interval, sw_timer_cb cb, void *arg,
                     uint64_t *id_out)
{
    if (!loop || !cb || ms > SW_TIMER_MAX_MS) {
        return SW_EINVAL;
    }
    sw__timers_t *t = loop->timers;
    int rc = reserve(t);
    if (rc < 0) {
        return rc;
    }
    uint32_t idx = t->free_node;
    timer_node_t *n = &t->nodes[idx];
    t->free_node = n->next;
    n->cb = cb;
    n->arg = arg;
    n->interval = interval;
    n->flags = NODE_USED;
    t->count++;
    if (t->free_run == NO_INDEX) {
        grow_runs(t);
    }
    schedule(t, idx, loop->now_ms + ms);
    if (id_out) {
        *id_out = make_id(idx, n->gen);
    }
    return 0;
}

int sw_timer_after(sw_loop_t *loop, uint64_t ms, sw_timer_cb cb, void *arg, uint64_t *id)
{
    return add_timer(loop, ms, 0, cb, arg, id);
}

int sw_timer_tick(sw_loop_t *loop, uint64_t ms, sw_timer_cb cb, void *arg, uint64_t *id)
{
    if (ms == 0) {
        return SW_EINVAL;
    }
    return add_timer(loop, ms, ms, cb, arg, id);
}

int sw_timer_clear(sw_loop_t *loop, uint64_t id)
{
    if (!loop) {
        return SW_EINVAL;
    }
    sw__timers_t *t = loop->timers;
    uint32_t idx = find_node(t, id);
    if (idx == NO_INDEX) {
        return SW_ENOENT;
    }
    t->count--;
    timer_node_t *n = &t->nodes[idx];
    if (n->flags & NODE_RUNNING) {
        /* The tick's callback is on the stack: sw__timers_run frees the node afterwards. */
        n->flags |= NODE_CLEARED;
        return 0;
    }
    unlink_node(t, idx);
    node_free(t, idx);
    return 0;
}

int sw_timer_exists(const sw_loop_t *loop, uint64_t id)
{
    if (!loop || id == 0) {
        return 0;
    }
    return find_node(loop->timers, id) != NO_INDEX;
}

size_t sw_timer_count(const sw_loop_t *loop)
{
    return loop ? sw__timers_count(loop->timers) : 0;
}
