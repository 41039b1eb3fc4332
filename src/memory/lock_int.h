/*
 * Internals shared by the lock kinds, the atomics and the channel: thread identity and
 * liveness, futex calls, the monotonic clock, and the private layouts of sw_lock_t.
 */
#ifndef SW_MEMORY_LOCK_INT_H
#define SW_MEMORY_LOCK_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "swoole/lock.h"

/*
 * A thread's identity, as stored in owner words: the kernel thread id in bits 0..29 and the
 * low 32 bits of the thread's start time (clock ticks since boot, field 22 of
 * /proc/<tid>/stat) in bits 32..63. Linux thread ids are below 2^22 (PID_MAX_LIMIT), so bits
 * 30 and 31 are free for flags. The start time tells a recycled thread id from the thread that
 * took the lock; it is 0 when /proc cannot be read, and then only the id is compared.
 */
#define SW__ID_TID_MASK     0x3fffffffu
#define SW__ID_FLAG_PENDING 0x80000000u

/* The calling thread's identity (cached per thread; the cache is reset in a fork child). */
uint64_t sw__lock_self(void);

/* 1 if the thread `id` (flags ignored) is alive, 0 if it is dead: /proc/<tid>/stat is gone,
 * shows a zombie or dead task, or another start time; without /proc, kill(tid, 0) fails with
 * ESRCH. */
int sw__lock_alive(uint64_t id);

/* Milliseconds between dead-owner checks while a lock is waited for. */
#define SW__LOCK_CHECK_MS 5

/* Monotonic clock in nanoseconds. */
uint64_t sw__now_ns(void);

/* A deadline in ns on the monotonic clock for `timeout_ms` (negative: none, returns 0). */
uint64_t sw__deadline(int timeout_ms);

/*
 * FUTEX_WAIT on a 32-bit word: sleeps while *addr == val, at most `timeout_ns` (negative:
 * no limit). `shared` 0 adds FUTEX_PRIVATE_FLAG. Returns 0 (woken, perhaps spuriously),
 * SW_EAGAIN (*addr != val), SW_ETIMEDOUT or SW_EINTR.
 */
int sw__futex_wait(void *addr, uint32_t val, int shared, int64_t timeout_ns);

/* FUTEX_WAKE: wakes up to `n` waiters; returns the number woken or a negative code. */
int sw__futex_wake(void *addr, int n, int shared);

/* The 32-bit half of a 64-bit owner word that holds the thread id, for futex waits. */
static inline void *sw__low_half(_Atomic uint64_t *word)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (char *)word + 4;
#else
    return (void *)word;
#endif
}

/* CPU hint for spin-wait loops. */
static inline void sw__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/*
 * The exclusive owner-word lock behind SW_LOCK_SPINLOCK, SW_LOCK_SEM and sw_spin_t. `sleep`
 * selects futex sleeping (SEM, needs `waiters`) instead of spinning. timeout_ms: negative
 * waits forever, 0 tries once.
 */
int sw__excl_acquire(_Atomic uint64_t *owner, _Atomic uint32_t *waiters, int shared,
                     int timeout_ms);
int sw__excl_release(_Atomic uint64_t *owner, _Atomic uint32_t *waiters, int shared);

/* ---- private layouts of sw_lock_t ---------------------------------------------------------- */

#define SW__LOCK_MAGIC 0x53574c4bu /* "SWLK" */

typedef struct {
    _Atomic uint32_t magic;
    uint8_t kind;
    uint8_t flags;
    uint16_t reserved;
} lock_hdr_t;

typedef struct {
    lock_hdr_t h;
    /* The holder's identity, kept beside the mutex so that a wrong unlock or a relock is
     * refused before it reaches pthread (for which it would be undefined or, under
     * sanitizers, reported). */
    _Atomic uint64_t owner;
    pthread_mutex_t m;
} lock_mutex_t;

/* SPINLOCK and SEM. */
typedef struct {
    lock_hdr_t h;
    _Atomic uint64_t owner;
    _Atomic uint32_t waiters;
} lock_excl_t;

typedef struct {
    lock_hdr_t h;
    _Atomic uint64_t writer; /* holder, or a writer waiting for readers (PENDING flag) */
    _Atomic uint32_t seq;    /* bumped at every release; the futex word waiters sleep on */
    _Atomic uint32_t waiters;
    _Atomic uint64_t readers[SW_LOCK_RWLOCK_READERS];
} lock_rw_t;

typedef struct {
    lock_hdr_t h;
    int32_t memfd;             /* same number in every process forked after init */
    _Atomic uint32_t seq;      /* bumped when a reader slot frees; futex word */
    _Atomic uint64_t writer;   /* owner record of the exclusive holder */
    _Atomic int32_t writer_fd; /* the holder's descriptor (meaningful in its process only) */
    _Atomic uint32_t waiters;
    _Atomic int32_t reader_fd[SW_LOCK_FILE_READERS];
    _Atomic uint64_t readers[SW_LOCK_FILE_READERS];
} lock_file_t;

_Static_assert(sizeof(lock_mutex_t) <= SW_LOCK_SIZE, "mutex does not fit sw_lock_t");
_Static_assert(sizeof(lock_excl_t) <= SW_LOCK_SIZE, "spinlock does not fit sw_lock_t");
_Static_assert(sizeof(lock_rw_t) <= SW_LOCK_SIZE, "rwlock does not fit sw_lock_t");
_Static_assert(sizeof(lock_file_t) <= SW_LOCK_SIZE, "file lock does not fit sw_lock_t");

/* Per-kind operations, called with a validated lock. `shared_mode` asks for a read lock. */
int sw__lock_mutex_init(lock_mutex_t *l, int flags);
int sw__lock_mutex_close(lock_mutex_t *l);
int sw__lock_mutex_acquire(lock_mutex_t *l, int timeout_ms);
int sw__lock_mutex_release(lock_mutex_t *l);

int sw__lock_rw_acquire(lock_rw_t *l, int shared_mode, int timeout_ms);
int sw__lock_rw_release(lock_rw_t *l);
int sw__lock_rw_busy(lock_rw_t *l);

int sw__lock_file_init(lock_file_t *l);
int sw__lock_file_close(lock_file_t *l);
int sw__lock_file_acquire(lock_file_t *l, int shared_mode, int timeout_ms);
int sw__lock_file_release(lock_file_t *l);
int sw__lock_file_busy(lock_file_t *l);

#endif
