/*
 * sw_lock_t: validation, dispatch by kind, and the MUTEX kind (a robust, error-checking
 * pthread mutex). See swoole/lock.h for the contract and lock_int.h for the layouts.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "memory/lock_int.h"
#include "swoole/error.h"

#if defined(__SANITIZE_THREAD__)
#define SW_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SW_TSAN 1
#endif
#endif

_Static_assert(_Alignof(_Atomic uint64_t) <= _Alignof(sw_spin_t), "sw_spin_t misaligned");
_Static_assert(sizeof(sw_lock_t) == SW_LOCK_SIZE, "sw_lock_t size");

static lock_hdr_t *hdr(const sw_lock_t *lock)
{
    return (lock_hdr_t *)lock;
}

static int valid(const sw_lock_t *lock)
{
    return lock && atomic_load_explicit(&hdr(lock)->magic, memory_order_acquire) == SW__LOCK_MAGIC;
}

static int shared_of(const sw_lock_t *lock)
{
    return (hdr(lock)->flags & SW_LOCK_SHARED) != 0;
}

/* ---- MUTEX -------------------------------------------------------------------------------- */

int sw__lock_mutex_init(lock_mutex_t *l, int flags)
{
    pthread_mutexattr_t attr;
    int rc = pthread_mutexattr_init(&attr);
    if (rc != 0) {
        return sw_translate_sys_error(rc);
    }
    rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    if (rc == 0) {
        rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    }
    if (rc == 0 && (flags & SW_LOCK_SHARED)) {
        rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    }
    if (rc == 0) {
        rc = pthread_mutex_init(&l->m, &attr);
    }
    pthread_mutexattr_destroy(&attr);
    if (rc == ENOTSUP || rc == EINVAL) {
        return SW_ENOTSUP;
    }
    return rc ? sw_translate_sys_error(rc) : 0;
}

static int mutex_result(lock_mutex_t *l, int rc, uint64_t self)
{
    switch (rc) {
    case 0:
        atomic_store_explicit(&l->owner, self, memory_order_relaxed);
        return 0;
    case EOWNERDEAD:
        /* We hold the lock; mark it usable again and let the caller repair the data. */
        pthread_mutex_consistent(&l->m);
        atomic_store_explicit(&l->owner, self, memory_order_relaxed);
        return SW_ELOCK_OWNERDEAD;
    case EBUSY:
        return SW_EBUSY;
    case ETIMEDOUT:
        return SW_ETIMEDOUT;
    case EDEADLK:
        return SW_EDEADLK;
    case ENOTRECOVERABLE:
        return SW_ELOCK_NOTRECOVERABLE;
    default:
        return sw_translate_sys_error(rc);
    }
}

int sw__lock_mutex_acquire(lock_mutex_t *l, int timeout_ms)
{
    uint64_t self = sw__lock_self();
    /* Only this thread can have stored its own identity, so a relaxed load suffices. */
    if (atomic_load_explicit(&l->owner, memory_order_relaxed) == self) {
        return SW_EDEADLK;
    }
    if (timeout_ms < 0) {
        return mutex_result(l, pthread_mutex_lock(&l->m), self);
    }
    if (timeout_ms == 0) {
        return mutex_result(l, pthread_mutex_trylock(&l->m), self);
    }
#ifdef SW_TSAN
    /* ThreadSanitizer's pthread_mutex_timedlock interceptor treats an EOWNERDEAD result as a
     * failure (its trylock and lock interceptors do not), so TSan builds poll with trylock. */
    uint64_t deadline = sw__deadline(timeout_ms);
    for (;;) {
        int rc = pthread_mutex_trylock(&l->m);
        if (rc != EBUSY || sw__now_ns() >= deadline) {
            return mutex_result(l, rc == EBUSY ? ETIMEDOUT : rc, self);
        }
        struct timespec pause_ts = {.tv_sec = 0, .tv_nsec = 200000};
        nanosleep(&pause_ts, NULL);
    }
#else
    /* pthread_mutex_timedlock measures on CLOCK_REALTIME (pthread_mutex_clocklock would take
     * the monotonic clock, but sanitizers do not intercept it). */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return mutex_result(l, pthread_mutex_timedlock(&l->m, &ts), self);
#endif
}

int sw__lock_mutex_release(lock_mutex_t *l)
{
    if (atomic_load_explicit(&l->owner, memory_order_relaxed) != sw__lock_self()) {
        return SW_ELOCK_NOTOWNER;
    }
    atomic_store_explicit(&l->owner, 0, memory_order_relaxed);
    int rc = pthread_mutex_unlock(&l->m);
    if (rc == EPERM) {
        return SW_ELOCK_NOTOWNER;
    }
    return rc ? sw_translate_sys_error(rc) : 0;
}

int sw__lock_mutex_close(lock_mutex_t *l)
{
    /* glibc does not refuse to destroy a held robust mutex, so check first. */
    if (atomic_load(&l->owner) == sw__lock_self()) {
        return SW_EBUSY;
    }
    int rc = pthread_mutex_trylock(&l->m);
    if (rc == EOWNERDEAD) {
        pthread_mutex_consistent(&l->m);
        rc = 0;
    }
    if (rc != 0) {
        return SW_EBUSY;
    }
    pthread_mutex_unlock(&l->m);
    pthread_mutex_destroy(&l->m);
    return 0;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

int sw_lock_init(sw_lock_t *lock, sw_lock_kind_t kind, int flags)
{
    if (!lock || (flags & ~SW_LOCK_SHARED) != 0 || kind < SW_LOCK_MUTEX || kind > SW_LOCK_FILE) {
        return SW_EINVAL;
    }
    memset(lock, 0, sizeof(*lock));
    lock_hdr_t *h = hdr(lock);
    h->kind = (uint8_t)kind;
    h->flags = (uint8_t)flags;
    int rc = 0;
    switch (kind) {
    case SW_LOCK_MUTEX:
        rc = sw__lock_mutex_init((lock_mutex_t *)lock, flags);
        break;
    case SW_LOCK_FILE:
        rc = sw__lock_file_init((lock_file_t *)lock);
        break;
    default:
        break; /* zero is the unlocked state of the others */
    }
    if (rc < 0) {
        return rc;
    }
    atomic_store_explicit(&h->magic, SW__LOCK_MAGIC, memory_order_release);
    return 0;
}

int sw_lock_close(sw_lock_t *lock)
{
    if (!valid(lock)) {
        return SW_EINVAL;
    }
    int rc;
    switch (hdr(lock)->kind) {
    case SW_LOCK_MUTEX:
        rc = sw__lock_mutex_close((lock_mutex_t *)lock);
        break;
    case SW_LOCK_RWLOCK:
        rc = sw__lock_rw_busy((lock_rw_t *)lock) ? SW_EBUSY : 0;
        break;
    case SW_LOCK_FILE:
        rc = sw__lock_file_close((lock_file_t *)lock);
        break;
    default:
        rc = atomic_load(&((lock_excl_t *)lock)->owner) ? SW_EBUSY : 0;
        break;
    }
    if (rc == 0) {
        atomic_store(&hdr(lock)->magic, 0);
    }
    return rc;
}

sw_lock_kind_t sw_lock_kind(const sw_lock_t *lock)
{
    return valid(lock) ? (sw_lock_kind_t)hdr(lock)->kind : (sw_lock_kind_t)0;
}

static int acquire(sw_lock_t *lock, int shared_mode, int timeout_ms)
{
    if (!valid(lock)) {
        return SW_EINVAL;
    }
    switch (hdr(lock)->kind) {
    case SW_LOCK_MUTEX:
        return sw__lock_mutex_acquire((lock_mutex_t *)lock, timeout_ms);
    case SW_LOCK_RWLOCK:
        return sw__lock_rw_acquire((lock_rw_t *)lock, shared_mode, timeout_ms);
    case SW_LOCK_FILE:
        return sw__lock_file_acquire((lock_file_t *)lock, shared_mode, timeout_ms);
    case SW_LOCK_SPINLOCK: {
        lock_excl_t *l = (lock_excl_t *)lock;
        return sw__excl_acquire(&l->owner, NULL, shared_of(lock), timeout_ms);
    }
    case SW_LOCK_SEM: {
        lock_excl_t *l = (lock_excl_t *)lock;
        return sw__excl_acquire(&l->owner, &l->waiters, shared_of(lock), timeout_ms);
    }
    default:
        return SW_EINVAL;
    }
}

int sw_lock_lock(sw_lock_t *lock)
{
    return acquire(lock, 0, -1);
}

int sw_lock_trylock(sw_lock_t *lock)
{
    return acquire(lock, 0, 0);
}

int sw_lock_timedlock(sw_lock_t *lock, int timeout_ms)
{
    return timeout_ms < 0 ? SW_EINVAL : acquire(lock, 0, timeout_ms);
}

int sw_lock_lock_read(sw_lock_t *lock)
{
    return acquire(lock, 1, -1);
}

int sw_lock_trylock_read(sw_lock_t *lock)
{
    return acquire(lock, 1, 0);
}

int sw_lock_timedlock_read(sw_lock_t *lock, int timeout_ms)
{
    return timeout_ms < 0 ? SW_EINVAL : acquire(lock, 1, timeout_ms);
}

int sw_lock_unlock(sw_lock_t *lock)
{
    if (!valid(lock)) {
        return SW_EINVAL;
    }
    switch (hdr(lock)->kind) {
    case SW_LOCK_MUTEX:
        return sw__lock_mutex_release((lock_mutex_t *)lock);
    case SW_LOCK_RWLOCK:
        return sw__lock_rw_release((lock_rw_t *)lock);
    case SW_LOCK_FILE:
        return sw__lock_file_release((lock_file_t *)lock);
    case SW_LOCK_SPINLOCK: {
        lock_excl_t *l = (lock_excl_t *)lock;
        return sw__excl_release(&l->owner, NULL, shared_of(lock));
    }
    case SW_LOCK_SEM: {
        lock_excl_t *l = (lock_excl_t *)lock;
        return sw__excl_release(&l->owner, &l->waiters, shared_of(lock));
    }
    default:
        return SW_EINVAL;
    }
}
