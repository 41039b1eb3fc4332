/*
 * Locks: argument checks, exclusion under contention (processes and threads) for every kind,
 * trylock, timed locks, unlock by a non-holder, readers-writer behaviour, fault points.
 * Dead holders are in test_lock_robust.c.
 */
#include <errno.h>
#include <string.h>

#include "core/fault.h"
#include "memory_test_util.h"
#include "swoole/lock.h"
#include "swoole/shm.h"

typedef struct {
    sw_lock_t lock;
    uint64_t counter; /* plain: only the lock protects it */
    long iters;
    _Atomic long busy;
    _Atomic long ok;
    _Atomic int stage;
    sw_lock_kind_t kind;
} shared_t;

static shared_t *shared_new(sw_lock_kind_t kind, int flags)
{
    void *mem = NULL;
    ASSERT_OK(sw_shm_create(sizeof(shared_t), &mem));
    shared_t *s = mem;
    ASSERT_OK(sw_lock_init(&s->lock, kind, flags));
    s->kind = kind;
    return s;
}

static void shared_free(shared_t *s)
{
    ASSERT_OK(sw_lock_close(&s->lock));
    ASSERT_OK(sw_shm_destroy(s, sizeof(shared_t)));
}

/* ---- arguments ---------------------------------------------------------------------------- */

SW_TEST(lock_bad_args)
{
    sw_lock_t l;
    memset(&l, 0, sizeof(l));
    ASSERT_EQ(sizeof(sw_lock_t), SW_LOCK_SIZE);
    ASSERT_ERR(sw_lock_init(NULL, SW_LOCK_MUTEX, 0), SW_EINVAL);
    ASSERT_ERR(sw_lock_init(&l, (sw_lock_kind_t)0, 0), SW_EINVAL);
    ASSERT_ERR(sw_lock_init(&l, (sw_lock_kind_t)6, 0), SW_EINVAL);
    ASSERT_ERR(sw_lock_init(&l, SW_LOCK_MUTEX, 0x100), SW_EINVAL);
    /* Never initialised (zero) or NULL. */
    ASSERT_ERR(sw_lock_lock(&l), SW_EINVAL);
    ASSERT_ERR(sw_lock_trylock(&l), SW_EINVAL);
    ASSERT_ERR(sw_lock_unlock(&l), SW_EINVAL);
    ASSERT_ERR(sw_lock_close(&l), SW_EINVAL);
    ASSERT_ERR(sw_lock_lock(NULL), SW_EINVAL);
    ASSERT_ERR(sw_lock_lock_read(NULL), SW_EINVAL);
    ASSERT_ERR(sw_lock_trylock_read(NULL), SW_EINVAL);
    ASSERT_ERR(sw_lock_timedlock(NULL, 1), SW_EINVAL);
    ASSERT_ERR(sw_lock_timedlock_read(NULL, 1), SW_EINVAL);
    ASSERT_ERR(sw_lock_unlock(NULL), SW_EINVAL);
    ASSERT_ERR(sw_lock_close(NULL), SW_EINVAL);
    ASSERT_EQ(sw_lock_kind(NULL), 0);
    ASSERT_EQ(sw_lock_kind(&l), 0);

    for (int k = SW_LOCK_MUTEX; k <= SW_LOCK_FILE; k++) {
        for (int flags = 0; flags <= SW_LOCK_SHARED; flags++) {
            ASSERT_OK(sw_lock_init(&l, (sw_lock_kind_t)k, flags));
            ASSERT_EQ(sw_lock_kind(&l), k);
            ASSERT_ERR(sw_lock_timedlock(&l, -1), SW_EINVAL);
            ASSERT_ERR(sw_lock_timedlock_read(&l, -5), SW_EINVAL);
            ASSERT_ERR(sw_lock_unlock(&l), SW_ELOCK_NOTOWNER);
            ASSERT_OK(sw_lock_lock(&l));
            ASSERT_ERR(sw_lock_lock(&l), SW_EDEADLK);
            ASSERT_ERR(sw_lock_trylock(&l), SW_EDEADLK);
            ASSERT_ERR(sw_lock_close(&l), SW_EBUSY);
            ASSERT_OK(sw_lock_unlock(&l));
            ASSERT_ERR(sw_lock_unlock(&l), SW_ELOCK_NOTOWNER);
            /* Read locks: shared kinds count them; the others lock exclusively. */
            ASSERT_OK(sw_lock_lock_read(&l));
            if (k == SW_LOCK_RWLOCK || k == SW_LOCK_FILE) {
                ASSERT_OK(sw_lock_trylock_read(&l));
                ASSERT_ERR(sw_lock_lock(&l), SW_EDEADLK); /* no upgrade */
                ASSERT_OK(sw_lock_unlock(&l));
            }
            ASSERT_ERR(sw_lock_close(&l), SW_EBUSY);
            ASSERT_OK(sw_lock_unlock(&l));
            ASSERT_ERR(sw_lock_unlock(&l), SW_ELOCK_NOTOWNER);
            ASSERT_OK(sw_lock_timedlock(&l, 0));
            ASSERT_OK(sw_lock_unlock(&l));
            ASSERT_OK(sw_lock_timedlock_read(&l, 10));
            ASSERT_OK(sw_lock_unlock(&l));
            ASSERT_OK(sw_lock_close(&l));
            ASSERT_ERR(sw_lock_lock(&l), SW_EINVAL);
            ASSERT_ERR(sw_lock_close(&l), SW_EINVAL);
        }
    }
}

/* ---- exclusion: N workers x iters increments ------------------------------------------------ */

static void sum_worker(int idx, void *arg)
{
    shared_t *s = arg;
    for (long i = 0; i < s->iters; i++) {
        int rc;
        switch ((i + idx) % 4) {
        case 0:
            rc = sw_lock_lock(&s->lock);
            break;
        case 1:
            rc = sw_lock_timedlock(&s->lock, 20000);
            break;
        case 2:
            while ((rc = sw_lock_trylock(&s->lock)) == SW_EBUSY) {
                atomic_fetch_add_explicit(&s->busy, 1, memory_order_relaxed);
                sched_yield();
            }
            break;
        default:
            /* The exclusive path of every kind, also for RWLOCK/FILE through the write side. */
            rc = sw_lock_lock(&s->lock);
            break;
        }
        ASSERT_OK(rc);
        s->counter++;
        ASSERT_OK(sw_lock_unlock(&s->lock));
    }
}

static long sum_iters(void)
{
    return mt_scaled(100000);
}

static void sum_processes(sw_lock_kind_t kind)
{
    shared_t *s = shared_new(kind, SW_LOCK_SHARED);
    s->iters = sum_iters();
    pid_t pids[4];
    mt_spawn(pids, 4, sum_worker, s);
    mt_reap(pids, 4);
    ASSERT_EQ(s->counter, 4 * s->iters);
    shared_free(s);
}

static void sum_threads(sw_lock_kind_t kind, int flags)
{
    shared_t *s = shared_new(kind, flags);
    s->iters = sum_iters();
    mt_thread_t ts[4];
    mt_threads_run(ts, 4, sum_worker, s);
    ASSERT_EQ(s->counter, 4 * s->iters);
    shared_free(s);
}

SW_TEST_TIMEOUT(lock_sum_processes_mutex, 60)
{
    sum_processes(SW_LOCK_MUTEX);
}

SW_TEST_TIMEOUT(lock_sum_processes_rwlock, 60)
{
    sum_processes(SW_LOCK_RWLOCK);
}

SW_TEST_TIMEOUT(lock_sum_processes_spinlock, 60)
{
    sum_processes(SW_LOCK_SPINLOCK);
}

SW_TEST_TIMEOUT(lock_sum_processes_sem, 60)
{
    sum_processes(SW_LOCK_SEM);
}

SW_TEST_TIMEOUT(lock_sum_processes_file, 60)
{
    sum_processes(SW_LOCK_FILE);
}

SW_TEST_TIMEOUT(lock_sum_threads_mutex, 60)
{
    sum_threads(SW_LOCK_MUTEX, 0);
}

SW_TEST_TIMEOUT(lock_sum_threads_rwlock, 60)
{
    sum_threads(SW_LOCK_RWLOCK, 0);
}

SW_TEST_TIMEOUT(lock_sum_threads_spinlock, 60)
{
    sum_threads(SW_LOCK_SPINLOCK, 0);
}

SW_TEST_TIMEOUT(lock_sum_threads_sem, 60)
{
    sum_threads(SW_LOCK_SEM, SW_LOCK_SHARED);
}

SW_TEST_TIMEOUT(lock_sum_threads_file, 60)
{
    sum_threads(SW_LOCK_FILE, 0);
}

/* ---- trylock under contention ----------------------------------------------------------------- */

/* Workers only ever trylock; each counts its successes; the shared counter must equal their
 * sum. */
static void try_worker(int idx, void *arg)
{
    (void)idx;
    shared_t *s = arg;
    long mine = 0;
    uint64_t end = sw_test_now_ms() + 20000;
    while (mine < s->iters && sw_test_now_ms() < end) {
        int rc = sw_lock_trylock(&s->lock);
        if (rc == SW_EBUSY) {
            atomic_fetch_add_explicit(&s->busy, 1, memory_order_relaxed);
            continue;
        }
        ASSERT_OK(rc);
        s->counter++;
        ASSERT_OK(sw_lock_unlock(&s->lock));
        mine++;
    }
    atomic_fetch_add(&s->ok, mine);
}

SW_TEST_TIMEOUT(lock_trylock_contention, 120)
{
    for (int k = SW_LOCK_MUTEX; k <= SW_LOCK_FILE; k++) {
        shared_t *s = shared_new((sw_lock_kind_t)k, SW_LOCK_SHARED);
        s->iters = mt_scaled(20000);
        pid_t pids[4];
        mt_spawn(pids, 4, try_worker, s);
        mt_reap(pids, 4);
        ASSERT_EQ(s->counter, atomic_load(&s->ok));
        ASSERT_GT(s->counter, 0);
        shared_free(s);
    }
}

/* ---- a held lock seen from another process: busy, timed out, not the owner ------------------- */

static void hold_worker(int idx, void *arg)
{
    (void)idx;
    shared_t *s = arg;
    ASSERT_OK(sw_lock_lock(&s->lock));
    atomic_store(&s->stage, 1);
    MT_WAIT_FLAG(&s->stage, 2, 20000);
    ASSERT_OK(sw_lock_unlock(&s->lock));
}

static void contended_errors(sw_lock_kind_t kind)
{
    shared_t *s = shared_new(kind, SW_LOCK_SHARED);
    pid_t pid;
    mt_spawn(&pid, 1, hold_worker, s);
    MT_WAIT_FLAG(&s->stage, 1, 10000);
    ASSERT_ERR(sw_lock_trylock(&s->lock), SW_EBUSY);
    ASSERT_ERR(sw_lock_trylock_read(&s->lock), SW_EBUSY);
    ASSERT_ERR(sw_lock_timedlock(&s->lock, 0), SW_EBUSY);
    uint64_t t0 = sw_test_now_ms();
    ASSERT_ERR(sw_lock_timedlock(&s->lock, 30), SW_ETIMEDOUT);
    ASSERT_ERR(sw_lock_timedlock_read(&s->lock, 30), SW_ETIMEDOUT);
    /* Not a speed check: a timed lock must not return before its time. */
    ASSERT_GE(sw_test_now_ms() - t0, 59);
    ASSERT_ERR(sw_lock_unlock(&s->lock), SW_ELOCK_NOTOWNER);
    ASSERT_ERR(sw_lock_close(&s->lock), SW_EBUSY);
    /* The failed unlock changed nothing: still held. */
    ASSERT_ERR(sw_lock_trylock(&s->lock), SW_EBUSY);
    atomic_store(&s->stage, 2);
    ASSERT_OK(sw_lock_timedlock(&s->lock, 20000));
    ASSERT_OK(sw_lock_unlock(&s->lock));
    mt_reap(&pid, 1);
    shared_free(s);
}

SW_TEST(lock_contended_errors_mutex)
{
    contended_errors(SW_LOCK_MUTEX);
}

SW_TEST(lock_contended_errors_rwlock)
{
    contended_errors(SW_LOCK_RWLOCK);
}

SW_TEST(lock_contended_errors_spinlock)
{
    contended_errors(SW_LOCK_SPINLOCK);
}

SW_TEST(lock_contended_errors_sem)
{
    contended_errors(SW_LOCK_SEM);
}

SW_TEST(lock_contended_errors_file)
{
    contended_errors(SW_LOCK_FILE);
}

/* The same between threads: another thread of the same process is not the owner. */
static void *hold_thread(void *arg)
{
    hold_worker(0, arg);
    return NULL;
}

SW_TEST(lock_not_owner_threads)
{
    for (int k = SW_LOCK_MUTEX; k <= SW_LOCK_FILE; k++) {
        shared_t *s = shared_new((sw_lock_kind_t)k, 0);
        pthread_t t;
        ASSERT_EQ(pthread_create(&t, NULL, hold_thread, s), 0);
        MT_WAIT_FLAG(&s->stage, 1, 10000);
        ASSERT_ERR(sw_lock_unlock(&s->lock), SW_ELOCK_NOTOWNER);
        ASSERT_ERR(sw_lock_trylock(&s->lock), SW_EBUSY);
        ASSERT_ERR(sw_lock_timedlock(&s->lock, 20), SW_ETIMEDOUT);
        atomic_store(&s->stage, 2);
        ASSERT_EQ(pthread_join(t, NULL), 0);
        ASSERT_OK(sw_lock_trylock(&s->lock));
        ASSERT_OK(sw_lock_unlock(&s->lock));
        shared_free(s);
    }
}

/* ---- readers-writer ---------------------------------------------------------------------- */

typedef struct {
    sw_lock_t lock;
    _Atomic int inside; /* readers inside now */
    _Atomic int max_in; /* most readers seen inside at once */
    _Atomic int writer_in;
    _Atomic int stage;
    _Atomic int violations;
    uint64_t a, b; /* written by writers, a == b under any lock */
    long iters;
} rw_shared_t;

static void reader_together(int idx, void *arg)
{
    (void)idx;
    rw_shared_t *s = arg;
    ASSERT_OK(sw_lock_lock_read(&s->lock));
    int now = atomic_fetch_add(&s->inside, 1) + 1;
    int m = atomic_load(&s->max_in);
    while (now > m && !atomic_compare_exchange_weak(&s->max_in, &m, now)) {
    }
    /* Stay until all three readers are inside at once: only possible if reads are shared. */
    MT_WAIT_FLAG(&s->max_in, 3, 20000);
    MT_WAIT_FLAG(&s->stage, 1, 20000);
    atomic_fetch_sub(&s->inside, 1);
    ASSERT_OK(sw_lock_unlock(&s->lock));
}

static void writer_after_readers(int idx, void *arg)
{
    (void)idx;
    rw_shared_t *s = arg;
    ASSERT_OK(sw_lock_timedlock(&s->lock, 20000));
    if (atomic_load(&s->inside) != 0) {
        atomic_fetch_add(&s->violations, 1);
    }
    ASSERT_OK(sw_lock_unlock(&s->lock));
}

static void rw_parallel(sw_lock_kind_t kind)
{
    void *mem;
    ASSERT_OK(sw_shm_create(sizeof(rw_shared_t), &mem));
    rw_shared_t *s = mem;
    ASSERT_OK(sw_lock_init(&s->lock, kind, SW_LOCK_SHARED));
    pid_t readers[3], writer;
    mt_spawn(readers, 3, reader_together, s);
    MT_WAIT_FLAG(&s->max_in, 3, 20000);
    /* Readers hold it: writers are refused, more readers are not. */
    ASSERT_ERR(sw_lock_trylock(&s->lock), SW_EBUSY);
    ASSERT_ERR(sw_lock_timedlock(&s->lock, 20), SW_ETIMEDOUT);
    ASSERT_OK(sw_lock_trylock_read(&s->lock));
    ASSERT_OK(sw_lock_unlock(&s->lock));
    mt_spawn(&writer, 1, writer_after_readers, s);
    mt_sleep_ms(20);
    atomic_store(&s->stage, 1);
    mt_reap(readers, 3);
    mt_reap(&writer, 1);
    ASSERT_EQ(atomic_load(&s->violations), 0);
    ASSERT_OK(sw_lock_close(&s->lock));
    ASSERT_OK(sw_shm_destroy(mem, sizeof(rw_shared_t)));
}

SW_TEST(lock_rw_readers_parallel_rwlock)
{
    rw_parallel(SW_LOCK_RWLOCK);
}

SW_TEST(lock_rw_readers_parallel_file)
{
    rw_parallel(SW_LOCK_FILE);
}

/* Two writers keep a == b at every unlock, while yielding between the two writes; readers
 * check that they never see the halfway state. */
static void rw_mixed_worker(int idx, void *arg)
{
    rw_shared_t *s = arg;
    for (long i = 0; i < s->iters; i++) {
        if (idx % 2 == 0) {
            ASSERT_OK(sw_lock_lock(&s->lock));
            if (atomic_fetch_add(&s->writer_in, 1) != 0 || atomic_load(&s->inside) != 0) {
                atomic_fetch_add(&s->violations, 1);
            }
            s->a++;
            if (i % 64 == 0) {
                sched_yield();
            }
            s->b++;
            atomic_fetch_sub(&s->writer_in, 1);
            ASSERT_OK(sw_lock_unlock(&s->lock));
        } else {
            ASSERT_OK(i % 2 ? sw_lock_lock_read(&s->lock)
                            : sw_lock_timedlock_read(&s->lock, 20000));
            atomic_fetch_add(&s->inside, 1);
            if (s->a != s->b || atomic_load(&s->writer_in) != 0) {
                atomic_fetch_add(&s->violations, 1);
            }
            atomic_fetch_sub(&s->inside, 1);
            ASSERT_OK(sw_lock_unlock(&s->lock));
        }
    }
}

static void rw_mixed(sw_lock_kind_t kind, int threads)
{
    void *mem;
    ASSERT_OK(sw_shm_create(sizeof(rw_shared_t), &mem));
    rw_shared_t *s = mem;
    ASSERT_OK(sw_lock_init(&s->lock, kind, threads ? 0 : SW_LOCK_SHARED));
    s->iters = mt_scaled(30000);
    if (threads) {
        mt_thread_t ts[4];
        mt_threads_run(ts, 4, rw_mixed_worker, s);
    } else {
        pid_t pids[4];
        mt_spawn(pids, 4, rw_mixed_worker, s);
        mt_reap(pids, 4);
    }
    ASSERT_EQ(atomic_load(&s->violations), 0);
    ASSERT_EQ(s->a, 2 * s->iters);
    ASSERT_EQ(s->b, 2 * s->iters);
    ASSERT_OK(sw_lock_close(&s->lock));
    ASSERT_OK(sw_shm_destroy(mem, sizeof(rw_shared_t)));
}

SW_TEST_TIMEOUT(lock_rw_mixed_processes, 60)
{
    rw_mixed(SW_LOCK_RWLOCK, 0);
    rw_mixed(SW_LOCK_FILE, 0);
}

SW_TEST_TIMEOUT(lock_rw_mixed_threads, 60)
{
    rw_mixed(SW_LOCK_RWLOCK, 1);
    rw_mixed(SW_LOCK_FILE, 1);
}

/* More readers than slots: the extra ones wait for a slot and then get in. */
static void many_reader(int idx, void *arg)
{
    (void)idx;
    rw_shared_t *s = arg;
    ASSERT_OK(sw_lock_timedlock_read(&s->lock, 20000));
    atomic_fetch_add(&s->inside, 1);
    mt_sleep_ms(2);
    atomic_fetch_sub(&s->inside, 1);
    ASSERT_OK(sw_lock_unlock(&s->lock));
}

SW_TEST(lock_rw_more_readers_than_slots)
{
    void *mem;
    ASSERT_OK(sw_shm_create(sizeof(rw_shared_t), &mem));
    rw_shared_t *s = mem;
    ASSERT_OK(sw_lock_init(&s->lock, SW_LOCK_RWLOCK, 0));
    mt_thread_t ts[SW_LOCK_RWLOCK_READERS + 4];
    mt_threads_run(ts, SW_LOCK_RWLOCK_READERS + 4, many_reader, s);
    ASSERT_OK(sw_lock_close(&s->lock));
    ASSERT_OK(sw_lock_init(&s->lock, SW_LOCK_FILE, 0));
    mt_threads_run(ts, SW_LOCK_FILE_READERS + 4, many_reader, s);
    ASSERT_OK(sw_lock_close(&s->lock));
    ASSERT_OK(sw_shm_destroy(mem, sizeof(rw_shared_t)));
}

/* ---- sw_spin_t ------------------------------------------------------------------------------ */

typedef struct {
    sw_spin_t spins[4];
    uint64_t counter;
    long iters;
} spin_shared_t;

static void spin_worker(int idx, void *arg)
{
    (void)idx;
    spin_shared_t *s = arg;
    for (long i = 0; i < s->iters; i++) {
        ASSERT_OK(i % 3 == 0 ? sw_spin_timedlock(&s->spins[2], 20000) : sw_spin_lock(&s->spins[2]));
        s->counter++;
        ASSERT_OK(sw_spin_unlock(&s->spins[2]));
    }
}

SW_TEST_TIMEOUT(spin_basic_and_sum, 60)
{
    void *mem;
    ASSERT_OK(sw_shm_create(sizeof(spin_shared_t), &mem));
    spin_shared_t *s = mem; /* zero memory is unlocked spinlocks */
    ASSERT_EQ(sizeof(sw_spin_t), 8);
    ASSERT_ERR(sw_spin_lock(NULL), SW_EINVAL);
    ASSERT_ERR(sw_spin_trylock(NULL), SW_EINVAL);
    ASSERT_ERR(sw_spin_timedlock(NULL, 1), SW_EINVAL);
    ASSERT_ERR(sw_spin_timedlock(&s->spins[0], -1), SW_EINVAL);
    ASSERT_ERR(sw_spin_unlock(NULL), SW_EINVAL);
    ASSERT_EQ(sw_spin_is_locked(NULL), 0);
    sw_spin_init(NULL);
    ASSERT_ERR(sw_spin_unlock(&s->spins[0]), SW_ELOCK_NOTOWNER);
    ASSERT_OK(sw_spin_lock(&s->spins[0]));
    ASSERT_EQ(sw_spin_is_locked(&s->spins[0]), 1);
    ASSERT_EQ(sw_spin_is_locked(&s->spins[1]), 0);
    ASSERT_ERR(sw_spin_lock(&s->spins[0]), SW_EDEADLK);
    ASSERT_ERR(sw_spin_trylock(&s->spins[0]), SW_EDEADLK);
    ASSERT_OK(sw_spin_trylock(&s->spins[1]));
    ASSERT_OK(sw_spin_unlock(&s->spins[1]));
    ASSERT_OK(sw_spin_unlock(&s->spins[0]));
    sw_spin_init(&s->spins[0]);
    ASSERT_EQ(sw_spin_is_locked(&s->spins[0]), 0);

    s->iters = mt_scaled(100000);
    pid_t pids[4];
    mt_spawn(pids, 4, spin_worker, s);
    mt_reap(pids, 4);
    ASSERT_EQ(s->counter, 4 * s->iters);
    s->counter = 0;
    mt_thread_t ts[4];
    mt_threads_run(ts, 4, spin_worker, s);
    ASSERT_EQ(s->counter, 4 * s->iters);
    ASSERT_OK(sw_shm_destroy(mem, sizeof(spin_shared_t)));
}

/* ---- fault points ------------------------------------------------------------------------- */

SW_TEST(lock_file_faults)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    sw_lock_t l;
    int fds = sw_test_count_fds();
    ASSERT_OK(sw__fault_set("memfd", 0, 1));
    ASSERT_ERR(sw_lock_init(&l, SW_LOCK_FILE, 0), SW_EMFILE);
    ASSERT_EQ(sw_lock_kind(&l), 0);
    ASSERT_OK(sw_lock_init(&l, SW_LOCK_FILE, SW_LOCK_SHARED));
    ASSERT_OK(sw__fault_set("open", 0, 1));
    ASSERT_ERR(sw_lock_lock(&l), SW_EMFILE);
    ASSERT_OK(sw__fault_set("open", 0, 1));
    ASSERT_ERR(sw_lock_lock_read(&l), SW_EMFILE);
    /* Nothing is left held or recorded by the failures. */
    ASSERT_OK(sw_lock_trylock(&l));
    ASSERT_OK(sw_lock_unlock(&l));
    ASSERT_OK(sw_lock_close(&l));
    sw__fault_reset();
    ASSERT_EQ(sw_test_count_fds(), fds);
}
