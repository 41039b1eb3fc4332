/*
 * Anonymous shared mappings and the lock-free fixed-size block pool (see swoole/shm.h).
 *
 * Pool layout, all inside the managed memory, all positions as offsets from the header:
 *
 *     [ header: 128 bytes ][ next[blocks]: uint32, padded to 16 ][ block 0 ][ block 1 ] ...
 *
 * next[i] is the free-list link of block i: the index + 1 of the next free block (0 ends the
 * list), or POOL_ALLOCATED while the block is handed out. Keeping the links outside the blocks
 * means a user writing into a block can never corrupt the list, and lets free() refuse a block
 * that is not allocated. The head packs a 32-bit tag (bumped by every successful push and pop)
 * above the index + 1 of the first free block, so a compare-and-swap on a head that was popped
 * and pushed back in between fails (the Treiber stack's ABA guard, as described in R. K.
 * Treiber, "Systems Programming: Coping with Parallelism", IBM RJ 5118, 1986, with the
 * version-tag refinement widely used since).
 */
#include "swoole/shm.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/fault.h"
#include "swoole/error.h"

#define POOL_MAGIC       0x5357504cu /* "SWPL" */
#define POOL_HEADER_SIZE 128
#define POOL_ALLOCATED   0xffffffffu
#define POOL_FREEING     0xfffffffeu

struct sw_shm_pool_s {
    _Atomic uint32_t magic;
    uint32_t blocks;
    uint64_t block_size;  /* rounded to SW_SHM_POOL_ALIGN */
    uint64_t next_off;    /* offset of next[] from the header */
    uint64_t data_off;    /* offset of block 0 from the header */
    uint64_t memory_size; /* bytes the pool occupies */
    uint64_t mapped;      /* 1 when sw_shm_pool_create() mapped the memory */
    _Atomic uint64_t head;
    _Atomic uint64_t allocs;
    _Atomic uint64_t frees;
    _Atomic uint64_t exhausted;
    _Atomic uint32_t in_use;
    _Atomic uint32_t peak;
};

_Static_assert(sizeof(struct sw_shm_pool_s) <= POOL_HEADER_SIZE, "pool header too big");

size_t sw_shm_page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    return ps > 0 ? (size_t)ps : 4096;
}

int sw_shm_create(size_t size, void **out)
{
    if (!out || size == 0) {
        return SW_EINVAL;
    }
    size_t ps = sw_shm_page_size();
    if (size > SIZE_MAX - ps) {
        return SW_ENOMEM;
    }
    size_t len = (size + ps - 1) / ps * ps;
    int rc = SW_FAULT("mmap", SW_ENOMEM);
    if (rc) {
        return rc;
    }
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return sw_translate_sys_error(errno);
    }
    *out = p;
    return 0;
}

int sw_shm_destroy(void *ptr, size_t size)
{
    size_t ps = sw_shm_page_size();
    if (!ptr || size == 0 || ((uintptr_t)ptr % ps) != 0) {
        return SW_EINVAL;
    }
    size_t len = size > SIZE_MAX - ps ? size : (size + ps - 1) / ps * ps;
    if (munmap(ptr, len) != 0) {
        return sw_translate_sys_error(errno);
    }
    return 0;
}

/* ---- pool --------------------------------------------------------------------------------- */

static size_t round16(size_t n)
{
    return (n + SW_SHM_POOL_ALIGN - 1) & ~(size_t)(SW_SHM_POOL_ALIGN - 1);
}

/* The layout for `blocks` blocks of rounded size `bs`; 0 on overflow. */
static size_t layout(size_t bs, uint32_t blocks, size_t *next_off, size_t *data_off)
{
    size_t links = round16((size_t)blocks * 4);
    if (bs != 0 && blocks > (SIZE_MAX - POOL_HEADER_SIZE - links) / bs) {
        return 0;
    }
    if (next_off) {
        *next_off = POOL_HEADER_SIZE;
        *data_off = POOL_HEADER_SIZE + links;
    }
    return POOL_HEADER_SIZE + links + (size_t)blocks * bs;
}

size_t sw_shm_pool_memory_size(size_t block_size, uint32_t blocks)
{
    if (block_size == 0 || blocks == 0 || blocks > SW_SHM_POOL_MAX_BLOCKS ||
        block_size > SIZE_MAX - SW_SHM_POOL_ALIGN) {
        return 0;
    }
    return layout(round16(block_size), blocks, NULL, NULL);
}

static _Atomic uint32_t *links_of(const sw_shm_pool_t *pool)
{
    return (_Atomic uint32_t *)((char *)pool + pool->next_off);
}

static void build(sw_shm_pool_t *pool, size_t bs, uint32_t blocks, int mapped)
{
    size_t next_off = 0, data_off = 0;
    size_t total = layout(bs, blocks, &next_off, &data_off);
    memset(pool, 0, POOL_HEADER_SIZE);
    pool->blocks = blocks;
    pool->block_size = bs;
    pool->next_off = next_off;
    pool->data_off = data_off;
    pool->memory_size = total;
    pool->mapped = mapped ? 1 : 0;
    _Atomic uint32_t *next = links_of(pool);
    for (uint32_t i = 0; i < blocks; i++) {
        atomic_init(&next[i], i + 1 < blocks ? i + 2 : 0);
    }
    atomic_init(&pool->head, 1); /* tag 0, block 0 first */
    atomic_init(&pool->allocs, 0);
    atomic_init(&pool->frees, 0);
    atomic_init(&pool->exhausted, 0);
    atomic_init(&pool->in_use, 0);
    atomic_init(&pool->peak, 0);
    /* The magic last, with release, so a racing reader never trusts a half-built header. */
    atomic_store_explicit(&pool->magic, POOL_MAGIC, memory_order_release);
}

int sw_shm_pool_init(void *mem, size_t mem_size, size_t block_size, sw_shm_pool_t **out)
{
    if (!mem || !out || block_size == 0 || block_size > SIZE_MAX - SW_SHM_POOL_ALIGN ||
        ((uintptr_t)mem % SW_SHM_POOL_ALIGN) != 0 || mem_size <= POOL_HEADER_SIZE) {
        return SW_EINVAL;
    }
    size_t bs = round16(block_size);
    size_t room = mem_size - POOL_HEADER_SIZE;
    size_t n = room / (bs + 4);
    if (n > SW_SHM_POOL_MAX_BLOCKS) {
        n = SW_SHM_POOL_MAX_BLOCKS;
    }
    /* The links are padded to 16 bytes, so the first estimate can be one or a few too many. */
    while (n > 0 && layout(bs, (uint32_t)n, NULL, NULL) > mem_size) {
        n--;
    }
    if (n == 0) {
        return SW_EINVAL;
    }
    sw_shm_pool_t *pool = mem;
    build(pool, bs, (uint32_t)n, 0);
    *out = pool;
    return 0;
}

int sw_shm_pool_create(sw_shm_pool_t **out, size_t block_size, uint32_t blocks)
{
    size_t total = sw_shm_pool_memory_size(block_size, blocks);
    if (!out || total == 0) {
        return total == 0 && out && block_size && blocks && blocks <= SW_SHM_POOL_MAX_BLOCKS
                   ? SW_ENOMEM
                   : SW_EINVAL;
    }
    void *mem;
    int rc = sw_shm_create(total, &mem);
    if (rc < 0) {
        return rc;
    }
    build(mem, round16(block_size), blocks, 1);
    *out = mem;
    return 0;
}

static int valid(const sw_shm_pool_t *pool)
{
    return pool && atomic_load_explicit(&((sw_shm_pool_t *)pool)->magic, memory_order_acquire) ==
                       POOL_MAGIC;
}

int sw_shm_pool_destroy(sw_shm_pool_t *pool)
{
    if (!valid(pool) || !pool->mapped) {
        return SW_EINVAL;
    }
    return sw_shm_destroy(pool, pool->memory_size);
}

int sw_shm_pool_alloc(sw_shm_pool_t *pool, void **block)
{
    if (!valid(pool)) {
        return SW_EINVAL;
    }
    _Atomic uint32_t *next = links_of(pool);
    uint64_t old = atomic_load_explicit(&pool->head, memory_order_acquire);
    uint32_t i;
    for (;;) {
        uint32_t first = (uint32_t)old;
        if (first == 0) {
            atomic_fetch_add_explicit(&pool->exhausted, 1, memory_order_relaxed);
            return SW_ESHM_EXHAUSTED;
        }
        i = first - 1;
        uint32_t after = atomic_load_explicit(&next[i], memory_order_acquire);
        if (after >= POOL_FREEING) {
            /* Someone popped block i after we read the head: the head has moved on. */
            old = atomic_load_explicit(&pool->head, memory_order_acquire);
            continue;
        }
        uint64_t tag = (old >> 32) + 1;
        uint64_t want = (tag << 32) | after;
        if (atomic_compare_exchange_weak_explicit(&pool->head, &old, want, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            break;
        }
    }
    atomic_store_explicit(&next[i], POOL_ALLOCATED, memory_order_relaxed);
    atomic_fetch_add_explicit(&pool->allocs, 1, memory_order_relaxed);
    uint32_t now = atomic_fetch_add_explicit(&pool->in_use, 1, memory_order_relaxed) + 1;
    uint32_t peak = atomic_load_explicit(&pool->peak, memory_order_relaxed);
    while (now > peak && !atomic_compare_exchange_weak_explicit(
                             &pool->peak, &peak, now, memory_order_relaxed, memory_order_relaxed)) {
    }
    if (block) {
        *block = (char *)pool + pool->data_off + (size_t)i * pool->block_size;
    }
    return (int)i;
}

int sw_shm_pool_free_index(sw_shm_pool_t *pool, uint32_t index)
{
    if (!valid(pool) || index >= pool->blocks) {
        return SW_EINVAL;
    }
    _Atomic uint32_t *next = links_of(pool);
    uint32_t expect = POOL_ALLOCATED;
    /* Claiming the link first makes a double (or concurrent) free fail here, before the list
     * is touched. */
    if (!atomic_compare_exchange_strong_explicit(&next[index], &expect, POOL_FREEING,
                                                 memory_order_relaxed, memory_order_relaxed)) {
        return SW_EINVAL;
    }
    atomic_fetch_sub_explicit(&pool->in_use, 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&pool->head, memory_order_relaxed);
    for (;;) {
        atomic_store_explicit(&next[index], (uint32_t)old, memory_order_relaxed);
        uint64_t want = (((old >> 32) + 1) << 32) | (uint64_t)(index + 1);
        /* Release: the link above and the user's writes to the block reach the next taker. */
        if (atomic_compare_exchange_weak_explicit(&pool->head, &old, want, memory_order_release,
                                                  memory_order_relaxed)) {
            break;
        }
    }
    atomic_fetch_add_explicit(&pool->frees, 1, memory_order_relaxed);
    return 0;
}

int sw_shm_pool_index(const sw_shm_pool_t *pool, const void *block)
{
    if (!valid(pool) || !block) {
        return SW_EINVAL;
    }
    uintptr_t base = (uintptr_t)pool + pool->data_off;
    uintptr_t p = (uintptr_t)block;
    if (p < base) {
        return SW_EINVAL;
    }
    uintptr_t off = p - base;
    if (off % pool->block_size != 0 || off / pool->block_size >= pool->blocks) {
        return SW_EINVAL;
    }
    return (int)(off / pool->block_size);
}

int sw_shm_pool_free(sw_shm_pool_t *pool, void *block)
{
    int idx = sw_shm_pool_index(pool, block);
    if (idx < 0) {
        return idx;
    }
    return sw_shm_pool_free_index(pool, (uint32_t)idx);
}

void *sw_shm_pool_block(const sw_shm_pool_t *pool, uint32_t index)
{
    if (!valid(pool) || index >= pool->blocks) {
        return NULL;
    }
    return (char *)pool + pool->data_off + (size_t)index * pool->block_size;
}

int sw_shm_pool_stats(const sw_shm_pool_t *pool, sw_shm_pool_stats_t *st)
{
    if (!valid(pool) || !st) {
        return SW_EINVAL;
    }
    sw_shm_pool_t *p = (sw_shm_pool_t *)pool;
    st->block_size = (size_t)pool->block_size;
    st->blocks = pool->blocks;
    st->in_use = atomic_load_explicit(&p->in_use, memory_order_relaxed);
    st->peak_in_use = atomic_load_explicit(&p->peak, memory_order_relaxed);
    st->allocs = atomic_load_explicit(&p->allocs, memory_order_relaxed);
    st->frees = atomic_load_explicit(&p->frees, memory_order_relaxed);
    st->exhausted = atomic_load_explicit(&p->exhausted, memory_order_relaxed);
    st->memory_size = (size_t)pool->memory_size;
    return 0;
}
