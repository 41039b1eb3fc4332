/*
 * Timers: a 4-ary min-heap of (deadline, sequence) per loop over a pool of timer nodes.
 *
 * Ids. A timer's id is (generation << 32 | slot): the slot is the node's index in the pool,
 * the generation a per-slot counter that moves on every time the slot is freed. Looking up an
 * id is one array access and one compare, with no hash table to miss the cache on (a hashed
 * id map cost 3x on a million timers). Ids are never reused: a slot whose generation has gone
 * through all 2^32 - 1 values is retired for good instead of wrapping, which costs one node
 * per four billion timers that went through that slot. Generations start at 1, so no id is 0.
 *
 * Heap. Entries hold the deadline inline (16 bytes: deadline, node, sequence), so sifting
 * touches only the heap array (libev keeps the deadline in its heap for the same reason); a
 * 4-ary heap halves the depth of a binary one. Nodes are named by index, never by pointer,
 * because callbacks may create timers and so move the arrays.
 *
 * Ordering. The sequence number is taken at each insertion, so timers due at the same
 * millisecond fire in the order they were created or rescheduled (libuv's start_id). It is
 * 32 bits and compared modulo 2^32: ties are ordered exactly between timers inserted fewer
 * than 2^31 insertions apart, which any two timers due at the same millisecond are in practice.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "loop/loop_int.h"
#include "loop/timer_int.h"
#include "swoole/error.h"
#include "swoole/timer.h"

#define NO_INDEX UINT32_MAX
#define HEAP_D   4 /* children per heap node */

enum {
    NODE_USED = 1,    /* node holds a timer */
    NODE_RUNNING = 2, /* a tick whose callback is running (not in the heap) */
    NODE_CLEARED = 4  /* a running tick cleared by its callback: free it afterwards */
};

/* 32 bytes: two nodes per cache line. The interval needs 41 bits (SW_TIMER_MAX_MS). */
typedef struct {
    sw_timer_cb cb;
    void *arg;
    uint64_t interval : 56; /* 0: one-shot */
    uint64_t flags : 8;
    uint32_t heap_pos; /* index in the heap, NO_INDEX when not in it; next free when free */
    uint32_t gen;      /* generation of the timer in this slot (of the next one when free) */
} timer_node_t;

typedef struct {
    uint64_t deadline;
    uint32_t node;
    uint32_t seq;
} heap_entry_t;

struct sw__timers_s {
    heap_entry_t *heap;
    uint32_t heap_len;
    uint32_t heap_cap;

    timer_node_t *nodes;
    uint32_t nodes_cap;
    uint32_t free_head; /* free list through heap_pos */
    uint32_t count;     /* live timers (a cleared running tick no longer counts) */
    uint32_t seq;
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

/* ---- heap ---------------------------------------------------------------------------------- */

/* Branch-free on purpose: with many timers due at the same millisecond the outcome depends on
 * the sequence numbers and is unpredictable, and a mispredicted branch per compare cost more
 * than the compare itself. */
static inline bool entry_less(const heap_entry_t *a, const heap_entry_t *b)
{
    return (a->deadline < b->deadline) |
           ((a->deadline == b->deadline) & ((int32_t)(a->seq - b->seq) < 0));
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

static inline void heap_set(sw__timers_t *t, uint32_t pos, heap_entry_t e)
{
    t->heap[pos] = e;
    t->nodes[e.node].heap_pos = pos;
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

static void heap_push(sw__timers_t *t, uint32_t node, uint64_t deadline)
{
    /* Room was reserved by reserve(). */
    uint32_t pos = t->heap_len++;
    t->heap[pos] = (heap_entry_t){deadline, node, t->seq++};
    sift_up(t, pos);
}

/* Removes the earliest timer. Bottom-up (Floyd): the hole at the root moves down to a leaf
 * along the smaller children, then the last entry rises from there. The last entry almost
 * always belongs near the bottom, so this saves the compare against it at every level that a
 * plain sift-down makes. */
static void heap_pop(sw__timers_t *t)
{
    uint32_t n = --t->heap_len;
    t->nodes[t->heap[0].node].heap_pos = NO_INDEX;
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
    t->nodes[t->heap[pos].node].heap_pos = NO_INDEX;
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

/* ---- nodes --------------------------------------------------------------------------------- */

/* Makes room for one more timer in the pool and the heap, so that the insertion that follows
 * cannot fail half-way. */
static int reserve(sw__timers_t *t)
{
    if (t->free_head == NO_INDEX) {
        if (t->nodes_cap >= NO_INDEX / 2) {
            return SW_ENOMEM;
        }
        uint32_t cap = t->nodes_cap ? t->nodes_cap * 2 : 64;
        timer_node_t *nodes = sw__realloc(t->nodes, (size_t)cap * sizeof(*nodes));
        if (!nodes) {
            return SW_ENOMEM;
        }
        t->nodes = nodes;
        /* Chain the new nodes so that allocation walks memory forwards. */
        for (uint32_t i = cap; i-- > t->nodes_cap;) {
            t->nodes[i] = (timer_node_t){.heap_pos = t->free_head, .gen = 1};
            t->free_head = i;
        }
        t->nodes_cap = cap;
    }
    /* The heap has room for every live timer, counting a running tick that is out of the
     * heap during its callback, so that rescheduling it afterwards never needs to allocate. */
    if (t->count + 1 > t->heap_cap) {
        uint32_t cap = t->heap_cap ? t->heap_cap * 2 : 64;
        heap_entry_t *heap = sw__realloc(t->heap, (size_t)cap * sizeof(*heap));
        if (!heap) {
            return SW_ENOMEM;
        }
        t->heap = heap;
        t->heap_cap = cap;
    }
    return 0;
}

static void node_free(sw__timers_t *t, uint32_t idx)
{
    timer_node_t *n = &t->nodes[idx];
    n->flags = 0;
    n->cb = NULL;
    n->arg = NULL;
    if (++n->gen == 0) {
        /* Every generation of this slot has named a timer: retire it so no id comes back. */
        n->heap_pos = NO_INDEX;
        return;
    }
    n->heap_pos = t->free_head;
    t->free_head = idx;
}

/* ---- contract with the loop (timer_int.h) -------------------------------------------------- */

int sw__timers_create(sw__timers_t **out)
{
    sw__timers_t *t = sw__calloc(1, sizeof(*t));
    if (!t) {
        return SW_ENOMEM;
    }
    t->free_head = NO_INDEX;
    *out = t;
    return 0;
}

void sw__timers_destroy(sw__timers_t *t)
{
    if (!t) {
        return;
    }
    sw__free(t->heap);
    sw__free(t->nodes);
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

void sw__timers_run(sw_loop_t *loop, sw__timers_t *t, uint64_t now_ms)
{
    /* Timers inserted from here on carry seq >= limit; they wait for the next call. */
    uint32_t limit = t->seq;
    while (t->heap_len > 0) {
        heap_entry_t top = t->heap[0];
        if (top.deadline > now_ms || (int32_t)(top.seq - limit) >= 0) {
            break;
        }
        heap_pop(t);
        timer_node_t *n = &t->nodes[top.node];
        uint64_t id = make_id(top.node, n->gen);
        sw_timer_cb cb = n->cb;
        void *arg = n->arg;
        if (n->interval == 0) {
            /* One-shot: gone before its callback, so clearing it there reports SW_ENOENT and
             * its id can never name anything again. */
            t->count--;
            node_free(t, top.node);
            cb(loop, id, arg);
            continue;
        }
        n->flags |= NODE_RUNNING;
        cb(loop, id, arg);
        n = &t->nodes[top.node]; /* the callback may have grown the node array */
        if (n->flags & NODE_CLEARED) {
            node_free(t, top.node);
            continue;
        }
        n->flags &= ~(unsigned)NODE_RUNNING;
        /* Keep the cadence when on time; after a stall of a period or more, fire once and
         * restart the period from now instead of catching up in a burst. */
        uint64_t next = top.deadline + n->interval;
        if (next <= now_ms) {
            next = now_ms + n->interval;
        }
        /* reserve() kept room for every live timer, this one included. */
        heap_push(t, top.node, next);
    }
}

int sw__timers_walk(sw_loop_t *loop, const sw__timers_t *t, sw_walk_cb cb, void *arg)
{
    int count = 0;
    if (!t) {
        return 0;
    }
    uint64_t now = sw_loop_now(loop);
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
        if (n->heap_pos != NO_INDEX) {
            uint64_t due = t->heap[n->heap_pos].deadline;
            snprintf(what, sizeof(what), "timer id=%llu %s due in %lld ms",
                     (unsigned long long)make_id(i, n->gen), n->interval ? "tick" : "after",
                     (long long)(due > now ? due - now : 0));
        } else {
            snprintf(what, sizeof(what), "timer id=%llu tick running",
                     (unsigned long long)make_id(i, n->gen));
        }
        sw_handle_info_t info = {SW_HANDLE_TIMER, (int64_t)make_id(i, n->gen), what};
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
    uint32_t idx = t->free_head;
    timer_node_t *n = &t->nodes[idx];
    t->free_head = n->heap_pos;
    n->cb = cb;
    n->arg = arg;
    n->interval = interval;
    n->heap_pos = NO_INDEX;
    n->flags = NODE_USED;
    t->count++;
    heap_push(t, idx, loop->now_ms + ms);
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
    heap_remove(t, n->heap_pos);
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
