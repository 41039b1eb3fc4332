/*
 * Shared memory: anonymous shared mappings and a fixed-size block pool inside one.
 *
 * A mapping made with sw_shm_create() is MAP_SHARED | MAP_ANONYMOUS: a process forked after
 * the call sees the same bytes at the same address, and a write by one process is seen by all.
 * Processes forked before the call, and unrelated processes, cannot reach it.
 *
 * Shared memory holds plain data only. Nothing the library keeps in a mapping is a pointer:
 * the pool's free list, the channel's ring and the table's chains are offsets or indexes from
 * the start of their mapping, so that the data stays valid whatever address a process sees it
 * at. What is per process (a descriptor, a heap handle) lives outside the mapping.
 *
 * sw_shm_pool_t is a fixed-size block allocator whose header and free list live entirely in
 * the memory it manages, so every process that shares the memory can allocate and free. It is
 * lock-free (a Treiber stack of block indexes with a 32-bit ABA tag, next links kept in an
 * array beside the blocks, never inside them): a process that dies inside an allocation holds
 * no lock; at worst the one block it was taking is lost (counted as in use). The tag makes an
 * ABA failure need 2^32 other pool operations to run between one thread's read of the head and
 * its compare-and-swap.
 *
 * Thread-safety: every function here may be called from any thread of any process that shares
 * the memory, concurrently, except that create/init must happen before any other use and
 * destroy after the last.
 */
#ifndef SWOOLE_SHM_H
#define SWOOLE_SHM_H

#include <stdint.h>

#include "swoole/common.h"

SW_EXTERN_C_BEGIN

/**
 * Maps `size` bytes of zero-filled anonymous shared memory (rounded up to whole pages; the
 * rounding is usable). Make it before fork(). On success returns 0 and stores the address in
 * `*out`; returns SW_EINVAL (out NULL or size 0), SW_ENOMEM (mmap failed or size overflowed)
 * or the negated errno of mmap. `*out` is untouched on error.
 */
SW_API int sw_shm_create(size_t size, void **out);

/**
 * Unmaps a mapping from sw_shm_create() in the calling process; `size` is the size given to
 * create. Other processes keep their view until they unmap it or exit. Returns 0, SW_EINVAL
 * (ptr NULL, size 0, ptr not page-aligned) or the negated errno of munmap.
 */
SW_API int sw_shm_destroy(void *ptr, size_t size);

/** The page size used for rounding (sysconf(_SC_PAGESIZE)). */
SW_API size_t sw_shm_page_size(void);

/* ---- fixed-size block pool ---------------------------------------------------------------- */

/** A block pool. The handle is the address of the pool's header inside shared memory: it is
 * valid in every process that shares that memory and needs no per-process setup. */
typedef struct sw_shm_pool_s sw_shm_pool_t;

/** Largest number of blocks in one pool. */
#define SW_SHM_POOL_MAX_BLOCKS ((uint32_t)INT32_MAX)

/** Blocks are aligned to this many bytes, and their size is rounded up to a multiple of it. */
#define SW_SHM_POOL_ALIGN 16

typedef struct sw_shm_pool_stats_s {
    size_t block_size;    /* usable bytes per block (the requested size, rounded up to 16) */
    uint32_t blocks;      /* total blocks */
    uint32_t in_use;      /* blocks allocated now */
    uint32_t peak_in_use; /* most blocks ever allocated at once */
    uint64_t allocs;      /* successful allocations */
    uint64_t frees;       /* successful frees */
    uint64_t exhausted;   /* allocations that failed with SW_ESHM_EXHAUSTED */
    size_t memory_size;   /* bytes of shared memory the pool occupies */
} sw_shm_pool_stats_t;

/**
 * Bytes a pool of `blocks` blocks of `block_size` bytes needs, header included: exactly
 * 128 + round_up(blocks * 4, 16) + blocks * round_up(block_size, 16). Returns 0 when the
 * arguments are invalid (block_size or blocks 0, blocks > SW_SHM_POOL_MAX_BLOCKS) or the size
 * overflows size_t.
 */
SW_API size_t sw_shm_pool_memory_size(size_t block_size, uint32_t blocks);

/**
 * Builds a pool in caller memory `mem` of `mem_size` bytes (which should be shared memory if
 * other processes will use it; 16-byte aligned), with as many blocks of `block_size` bytes as
 * fit. The memory then belongs to the pool until the caller stops using the pool (there is no
 * close: the pool owns nothing outside `mem`). Returns 0 and stores the handle (== mem) in
 * `*out`, or SW_EINVAL (NULL arguments, block_size 0, mem misaligned, or not even one block
 * fits).
 */
SW_API int sw_shm_pool_init(void *mem, size_t mem_size, size_t block_size, sw_shm_pool_t **out);

/**
 * Maps a new shared mapping holding a pool of exactly `blocks` blocks of `block_size` bytes.
 * Returns 0 and stores the handle, SW_EINVAL (out NULL, block_size 0, blocks 0 or too many),
 * SW_ENOMEM or a negated mmap errno. Free with sw_shm_pool_destroy().
 */
SW_API int sw_shm_pool_create(sw_shm_pool_t **out, size_t block_size, uint32_t blocks);

/**
 * Unmaps a pool made by sw_shm_pool_create() in the calling process (each process that is
 * done with it may call this; the memory is freed when the last one unmaps or exits). Returns
 * 0, SW_EINVAL (NULL, or a pool made by sw_shm_pool_init()) or a negated munmap errno.
 */
SW_API int sw_shm_pool_destroy(sw_shm_pool_t *pool);

/**
 * Takes a free block. On success returns the block's index (0 .. blocks-1) and, when `block`
 * is not NULL, stores its address there. The contents are whatever the last user left (zero
 * for never-used blocks). Returns SW_EINVAL (pool NULL or not a pool) or SW_ESHM_EXHAUSTED
 * (no free block; `*block` untouched). Lock-free; never blocks.
 */
SW_API int sw_shm_pool_alloc(sw_shm_pool_t *pool, void **block);

/**
 * Returns a block to the pool. Returns 0, or SW_EINVAL: pool or block NULL, block not the
 * start of one of this pool's blocks, or the block is not allocated (double free is detected
 * and refused, never corrupts the free list).
 */
SW_API int sw_shm_pool_free(sw_shm_pool_t *pool, void *block);

/** Same as sw_shm_pool_free() by index. */
SW_API int sw_shm_pool_free_index(sw_shm_pool_t *pool, uint32_t index);

/** The address of block `index` in the calling process, or NULL when out of range. Use indexes,
 * not addresses, in data that other processes read. */
SW_API void *sw_shm_pool_block(const sw_shm_pool_t *pool, uint32_t index);

/** The index of the block starting at `block`, or SW_EINVAL if it is not one. */
SW_API int sw_shm_pool_index(const sw_shm_pool_t *pool, const void *block);

/** Fills `*stats` (a consistent-enough snapshot: counters are read one by one). Returns 0 or
 * SW_EINVAL. */
SW_API int sw_shm_pool_stats(const sw_shm_pool_t *pool, sw_shm_pool_stats_t *stats);

SW_EXTERN_C_END

#endif
