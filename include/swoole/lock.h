/*
 * Locks that work across threads and across fork(), and survive a holder that dies.
 *
 * Shape. sw_lock_t is a caller-allocated value of a fixed, public size (128 bytes, 8-byte
 * aligned) whose contents are private. A lock has to be placed inside shared memory to be
 * shared by processes (in a mapping from sw_shm_create(), in a table row, in a channel
 * header), so the caller must be able to reserve room for it anywhere, which an opaque
 * heap-allocated handle would not allow. One size for every kind keeps embedding simple;
 * the size is set by the rwlock's table of reader slots. sw_spin_t below is an 8-byte lock for
 * large arrays of locks (one per table bucket).
 *
 * Kinds.
 *   SW_LOCK_MUTEX    pthread mutex, PTHREAD_MUTEX_ROBUST + ERRORCHECK; sleeps in the kernel.
 *   SW_LOCK_RWLOCK   readers-writer lock on atomics + futex, writer-preferring; up to
 *                    SW_LOCK_RWLOCK_READERS simultaneous readers (more wait for a slot).
 *   SW_LOCK_SPINLOCK compare-and-swap on an owner word; spins, then yields the CPU.
 *   SW_LOCK_SEM      binary semaphore on a futex (value 1: one holder); sleeps in the kernel.
 *   SW_LOCK_FILE     fcntl open-file-description lock (F_OFD_SETLK[W]) on an anonymous file
 *                    (memfd) made by sw_lock_init(); supports shared read locks (up to
 *                    SW_LOCK_FILE_READERS at once).
 * Kinds other than RWLOCK and FILE have no shared mode: their *_read calls lock exclusively.
 *
 * Sharing. SW_LOCK_SHARED makes a lock usable by every process that shares its memory
 * (forked after sw_lock_init(), the lock inside a MAP_SHARED mapping). Without it a lock
 * serves the threads of one process (futexes are then process-private, slightly cheaper).
 * A FILE lock must be initialised before the fork: each process uses the inherited
 * descriptor of its anonymous file.
 *
 * Owners. Every kind records which thread holds it (thread id plus that thread's start time,
 * so that a recycled thread id is not taken for the old holder). Unlocking a lock the calling
 * thread does not hold returns SW_ELOCK_NOTOWNER and changes nothing; locking a lock the
 * calling thread already holds exclusively returns SW_EDEADLK (no recursion).
 *
 * Dead holders. When the holder of an exclusive lock dies (its process is killed, or the
 * thread exits) the next thread that locks gets the lock and SW_ELOCK_OWNERDEAD: the lock is
 * held by the caller, and the data it protects may be half-written. Check or repair it, then
 * unlock as usual. How each kind notices:
 *   MUTEX    the kernel's robust-futex list (EOWNERDEAD); the library makes it consistent.
 *   SPINLOCK, SEM, RWLOCK writer
 *            a waiter checks the recorded owner every few milliseconds of waiting (and
 *            trylock checks at once): the owner is dead when /proc/<tid>/stat is gone, shows a
 *            zombie, or shows another start time (without /proc: kill(tid, 0) == ESRCH).
 *   FILE     the kernel drops the lock when the holder's descriptor closes at death; the
 *            owner record it leaves behind tells the next holder.
 * A reader of an RWLOCK or FILE lock that dies does not report OWNERDEAD (readers write
 * nothing): its reader slot is recognised as dead by the same check and cleared, so writers
 * are never blocked by it for more than a few milliseconds.
 * Liveness checks use thread ids of the caller's pid namespace: processes sharing a lock must
 * live in one pid namespace.
 *
 * Timed calls take milliseconds on the monotonic clock (the MUTEX kind waits on the realtime
 * clock, as pthread_mutex_timedlock does, so a wall-clock jump can shorten or lengthen its
 * wait) and return SW_ETIMEDOUT when the time passes; 0 means "try once".
 *
 * Thread-safety: all calls except init and close may race freely on one lock.
 */
#ifndef SWOOLE_LOCK_H
#define SWOOLE_LOCK_H

#include <stdint.h>

#include "swoole/common.h"

SW_EXTERN_C_BEGIN

typedef enum {
    SW_LOCK_MUTEX = 1,
    SW_LOCK_RWLOCK = 2,
    SW_LOCK_SPINLOCK = 3,
    SW_LOCK_SEM = 4,
    SW_LOCK_FILE = 5
} sw_lock_kind_t;

/** Flag for sw_lock_init(): the lock is shared by processes (it must live in shared memory). */
#define SW_LOCK_SHARED 0x1

/** Simultaneous read holders of an RWLOCK; further readers wait for a slot. */
#define SW_LOCK_RWLOCK_READERS 12
/** Simultaneous read holders of a FILE lock; further readers wait for a slot. */
#define SW_LOCK_FILE_READERS 8

/** Bytes of an sw_lock_t. */
#define SW_LOCK_SIZE 128

/** A lock. Caller-allocated; the contents are private. Copying a lock gives garbage. */
typedef union sw_lock_u {
    unsigned char opaque_[SW_LOCK_SIZE];
    uint64_t align_;
} sw_lock_t;

/**
 * Initialises a lock of `kind` at `lock` (in shared memory if `flags` has SW_LOCK_SHARED).
 * Returns 0, SW_EINVAL (NULL, unknown kind or flag), SW_ENOTSUP (the system lacks what the
 * kind needs: robust process-shared mutexes, memfd or OFD locks), or the negated errno of the
 * pthread or memfd call (SW_ENOMEM, SW_EMFILE...). On error the lock is unusable and needs
 * no close.
 */
SW_API int sw_lock_init(sw_lock_t *lock, sw_lock_kind_t kind, int flags);

/**
 * Releases what the lock holds: the pthread mutex, or the FILE lock's descriptor in the
 * calling process (other processes' inherited descriptors close at their exit). Returns 0,
 * SW_EINVAL (NULL or not initialised) or SW_EBUSY (the lock is held or has readers; it stays
 * usable). After 0 the memory may be reused.
 */
SW_API int sw_lock_close(sw_lock_t *lock);

/** The kind of an initialised lock, or 0 for an uninitialised one or NULL. */
SW_API sw_lock_kind_t sw_lock_kind(const sw_lock_t *lock);

/**
 * Takes the lock exclusively, waiting as long as needed. Returns 0, SW_ELOCK_OWNERDEAD (taken
 * from a dead holder: the lock IS held), SW_EDEADLK (the caller holds it already, or holds a
 * read lock on it and asks for the write lock), SW_EINVAL (NULL or not initialised), or for
 * FILE the negated errno of reopening its file or of fcntl (SW_EMFILE, SW_ENOENT without
 * /proc...).
 */
SW_API int sw_lock_lock(sw_lock_t *lock);

/** As sw_lock_lock() without waiting: SW_EBUSY when another live thread holds the lock. */
SW_API int sw_lock_trylock(sw_lock_t *lock);

/** As sw_lock_lock(), giving up after `timeout_ms` milliseconds (0: try once; negative:
 * SW_EINVAL) with SW_ETIMEDOUT. */
SW_API int sw_lock_timedlock(sw_lock_t *lock, int timeout_ms);

/**
 * Takes a shared (read) lock: several readers hold an RWLOCK or FILE lock together, writers
 * are excluded. Other kinds lock exclusively. A thread may take a read lock it already holds
 * again (it counts twice and needs two unlocks). Returns what sw_lock_lock() returns;
 * SW_ELOCK_OWNERDEAD means a dead writer was replaced.
 */
SW_API int sw_lock_lock_read(sw_lock_t *lock);

/** As sw_lock_lock_read() without waiting: SW_EBUSY when a writer holds or waits for the lock
 * (or every reader slot is taken by a live reader). */
SW_API int sw_lock_trylock_read(sw_lock_t *lock);

/** As sw_lock_lock_read() with a time limit (see sw_lock_timedlock()). */
SW_API int sw_lock_timedlock_read(sw_lock_t *lock, int timeout_ms);

/**
 * Releases the exclusive lock, or one read lock, held by the calling thread. Returns 0,
 * SW_ELOCK_NOTOWNER (the calling thread holds neither; nothing changes) or SW_EINVAL.
 */
SW_API int sw_lock_unlock(sw_lock_t *lock);

/* ---- sw_spin_t: an 8-byte robust spinlock ------------------------------------------------ */

/**
 * A spinlock in 8 bytes, for big arrays of locks in shared memory (for example one per table
 * bucket). Zero bytes are an unlocked spinlock, so memory from sw_shm_create() needs no
 * initialisation. It is always usable across processes. Owner tracking, dead-owner recovery
 * and error codes are those of SW_LOCK_SPINLOCK. The field is private.
 */
typedef struct sw_spin_s {
    uint64_t owner_;
} sw_spin_t;

/** Sets `s` unlocked (the same as zeroing it). */
SW_API void sw_spin_init(sw_spin_t *s);

/** Takes the spinlock: 0, SW_ELOCK_OWNERDEAD, SW_EDEADLK or SW_EINVAL (NULL). */
SW_API int sw_spin_lock(sw_spin_t *s);

/** One attempt: 0, SW_EBUSY, SW_ELOCK_OWNERDEAD, SW_EDEADLK or SW_EINVAL. */
SW_API int sw_spin_trylock(sw_spin_t *s);

/** As sw_spin_lock() with a limit in ms (0: try once): adds SW_ETIMEDOUT. */
SW_API int sw_spin_timedlock(sw_spin_t *s, int timeout_ms);

/** Releases: 0, SW_ELOCK_NOTOWNER or SW_EINVAL. */
SW_API int sw_spin_unlock(sw_spin_t *s);

/** 1 if some thread (possibly dead) holds `s`, else 0. A hint: it may change at once. */
SW_API int sw_spin_is_locked(const sw_spin_t *s);

SW_EXTERN_C_END

#endif
