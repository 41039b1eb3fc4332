/*
 * Dead holders: for every kind, a holder SIGKILLed (or a thread that exits) while holding the
 * lock hands it to the next locker with SW_ELOCK_OWNERDEAD; dead readers and dead waiting
 * writers release their claim without that code; thread identity survives id reuse checks.
 */
#include <string.h>

#include "memory/lock_int.h"
#include "memory_test_util.h"
#include "swoole/lock.h"
#include "swoole/shm.h"

typedef struct {
    sw_lock_t lock;
    sw_spin_t spin;
    _Atomic int stage;
    int read_mode;
} dead_shared_t;

static dead_shared_t *dead_new(sw_lock_kind_t kind)
{
    void *mem;
    ASSERT_OK(sw_shm_create(sizeof(dead_shared_t), &mem));
    dead_shared_t *s = mem;
    if (kind) {
        ASSERT_OK(sw_lock_init(&s->lock, kind, SW_LOCK_SHARED));
    }
    return s;
}

static void dead_free(dead_shared_t *s, int close_lock)
{
    if (close_lock) {
        ASSERT_OK(sw_lock_close(&s->lock));
    }
    ASSERT_OK(sw_shm_destroy(s, sizeof(dead_shared_t)));
}

/* Takes the lock, says so, and waits to be killed. */
static void doomed_holder(int idx, void *arg)
{
    (void)idx;
    dead_shared_t *s = arg;
    ASSERT_OK(s->read_mode ? sw_lock_lock_read(&s->lock) : sw_lock_lock(&s->lock));
    atomic_store(&s->stage, 1);
    for (;;) {
        pause();
    }
}

static void killed_holder(sw_lock_kind_t kind)
{
    dead_shared_t *s = dead_new(kind);
    pid_t pid;
    mt_spawn(&pid, 1, doomed_holder, s);
    MT_WAIT_FLAG(&s->stage, 1, 10000);
    ASSERT_ERR(sw_lock_trylock(&s->lock), SW_EBUSY);
    kill(pid, SIGKILL);
    /* Not reaped yet: the holder is a zombie, which must count as dead too. */
    ASSERT_ERR(sw_lock_timedlock(&s->lock, 20000), SW_ELOCK_OWNERDEAD);
    /* The caller holds it now, normally. */
    ASSERT_ERR(sw_lock_trylock(&s->lock), SW_EDEADLK);
    ASSERT_OK(sw_lock_unlock(&s->lock));
    int st;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(st));
    ASSERT_OK(sw_lock_lock(&s->lock));
    ASSERT_OK(sw_lock_unlock(&s->lock));
    dead_free(s, 1);
}

SW_TEST(lock_dead_holder_mutex)
{
    killed_holder(SW_LOCK_MUTEX);
}

SW_TEST(lock_dead_holder_rwlock)
{
    killed_holder(SW_LOCK_RWLOCK);
}

SW_TEST(lock_dead_holder_spinlock)
{
    killed_holder(SW_LOCK_SPINLOCK);
}

SW_TEST(lock_dead_holder_sem)
{
    killed_holder(SW_LOCK_SEM);
}

SW_TEST(lock_dead_holder_file)
{
    killed_holder(SW_LOCK_FILE);
}

/* The other entry points recover as well: trylock and the read lock, after the holder was
 * reaped. */
static void killed_holder_variants(sw_lock_kind_t kind)
{
    for (int variant = 0; variant < 2; variant++) {
        dead_shared_t *s = dead_new(kind);
        pid_t pid;
        mt_spawn(&pid, 1, doomed_holder, s);
        MT_WAIT_FLAG(&s->stage, 1, 10000);
        mt_kill(pid);
        if (variant == 0) {
            ASSERT_ERR(sw_lock_trylock(&s->lock), SW_ELOCK_OWNERDEAD);
        } else {
            ASSERT_ERR(sw_lock_timedlock_read(&s->lock, 20000), SW_ELOCK_OWNERDEAD);
        }
        ASSERT_OK(sw_lock_unlock(&s->lock));
        ASSERT_OK(sw_lock_trylock(&s->lock));
        ASSERT_OK(sw_lock_unlock(&s->lock));
        dead_free(s, 1);
    }
}

SW_TEST(lock_dead_holder_variants)
{
    for (int k = SW_LOCK_MUTEX; k <= SW_LOCK_FILE; k++) {
        killed_holder_variants((sw_lock_kind_t)k);
    }
}

/* A waiter asleep in lock() when the holder is killed. */
typedef struct {
    dead_shared_t *s;
    _Atomic int rc;
    _Atomic int done;
} waiter_arg_t;

static void *waiter_thread(void *p)
{
    waiter_arg_t *w = p;
    atomic_store(&w->rc, sw_lock_lock(&w->s->lock));
    atomic_store(&w->done, 1);
    if (atomic_load(&w->rc) == SW_ELOCK_OWNERDEAD) {
        sw_lock_unlock(&w->s->lock);
    }
    return NULL;
}

SW_TEST(lock_dead_holder_sleeping_waiter)
{
    for (int k = SW_LOCK_MUTEX; k <= SW_LOCK_FILE; k++) {
        dead_shared_t *s = dead_new((sw_lock_kind_t)k);
        pid_t pid;
        mt_spawn(&pid, 1, doomed_holder, s);
        MT_WAIT_FLAG(&s->stage, 1, 10000);
        waiter_arg_t w = {.s = s};
        pthread_t t;
        ASSERT_EQ(pthread_create(&t, NULL, waiter_thread, &w), 0);
        mt_sleep_ms(30); /* most likely asleep in lock() by now; either way must recover */
        ASSERT_EQ(atomic_load(&w.done), 0);
        mt_kill(pid);
        ASSERT_EQ(pthread_join(t, NULL), 0);
        ASSERT_ERR(atomic_load(&w.rc), SW_ELOCK_OWNERDEAD);
        dead_free(s, 1);
    }
}

/* A dead reader never reports OWNERDEAD and does not block writers. */
SW_TEST(lock_dead_reader)
{
    sw_lock_kind_t kinds[] = {SW_LOCK_RWLOCK, SW_LOCK_FILE};
    for (int i = 0; i < 2; i++) {
        dead_shared_t *s = dead_new(kinds[i]);
        s->read_mode = 1;
        pid_t pid;
        mt_spawn(&pid, 1, doomed_holder, s);
        MT_WAIT_FLAG(&s->stage, 1, 10000);
        ASSERT_ERR(sw_lock_trylock(&s->lock), SW_EBUSY);
        ASSERT_OK(sw_lock_trylock_read(&s->lock));
        ASSERT_OK(sw_lock_unlock(&s->lock));
        kill(pid, SIGKILL);
        ASSERT_OK(sw_lock_timedlock(&s->lock, 20000));
        ASSERT_OK(sw_lock_unlock(&s->lock));
        int st;
        waitpid(pid, &st, 0);
        dead_free(s, 1);
    }
}

/* Every reader slot held by a reader that then died: new readers and writers get in. */
static void doomed_reader(int idx, void *arg)
{
    (void)idx;
    dead_shared_t *s = arg;
    ASSERT_OK(sw_lock_lock_read(&s->lock));
    atomic_fetch_add(&s->stage, 1);
    for (;;) {
        pause();
    }
}

SW_TEST(lock_dead_readers_fill_slots)
{
    sw_lock_kind_t kinds[] = {SW_LOCK_RWLOCK, SW_LOCK_FILE};
    int slots[] = {SW_LOCK_RWLOCK_READERS, SW_LOCK_FILE_READERS};
    for (int i = 0; i < 2; i++) {
        dead_shared_t *s = dead_new(kinds[i]);
        pid_t pids[SW_LOCK_RWLOCK_READERS];
        mt_spawn(pids, slots[i], doomed_reader, s);
        MT_WAIT_FLAG(&s->stage, slots[i], 10000);
        ASSERT_ERR(sw_lock_trylock_read(&s->lock), SW_EBUSY); /* all slots live */
        for (int j = 0; j < slots[i]; j++) {
            mt_kill(pids[j]);
        }
        ASSERT_OK(sw_lock_timedlock_read(&s->lock, 20000));
        ASSERT_OK(sw_lock_unlock(&s->lock));
        ASSERT_OK(sw_lock_timedlock(&s->lock, 20000));
        ASSERT_OK(sw_lock_unlock(&s->lock));
        dead_free(s, 1);
    }
}

/* A writer that dies while waiting for readers to leave held nothing: no OWNERDEAD. */
static void doomed_pending_writer(int idx, void *arg)
{
    (void)idx;
    dead_shared_t *s = arg;
    atomic_store(&s->stage, 1);
    sw_lock_lock(&s->lock); /* blocks behind the parent's read lock until killed */
    _exit(3);
}

/* trylock_read from a thread that holds nothing (the main thread's recursive reads are let
 * past a pending writer). */
static void *try_read_thread(void *p)
{
    dead_shared_t *s = p;
    intptr_t rc = sw_lock_trylock_read(&s->lock);
    if (rc == 0) {
        sw_lock_unlock(&s->lock);
    }
    return (void *)rc;
}

static int try_read_elsewhere(dead_shared_t *s)
{
    pthread_t t;
    void *ret = NULL;
    ASSERT_EQ(pthread_create(&t, NULL, try_read_thread, s), 0);
    ASSERT_EQ(pthread_join(t, &ret), 0);
    return (int)(intptr_t)ret;
}

SW_TEST(lock_dead_pending_writer)
{
    dead_shared_t *s = dead_new(SW_LOCK_RWLOCK);
    ASSERT_OK(sw_lock_lock_read(&s->lock));
    pid_t pid;
    mt_spawn(&pid, 1, doomed_pending_writer, s);
    MT_WAIT_FLAG(&s->stage, 1, 10000);
    /* Wait until it is the pending writer: new readers are then refused. */
    uint64_t end = sw_test_now_ms() + 10000;
    int rc;
    while ((rc = try_read_elsewhere(s)) == 0) {
        ASSERT_TRUE(sw_test_now_ms() < end);
        sched_yield();
    }
    ASSERT_ERR(rc, SW_EBUSY);
    ASSERT_OK(sw_lock_trylock_read(&s->lock)); /* recursive read passes a pending writer */
    ASSERT_OK(sw_lock_unlock(&s->lock));
    mt_kill(pid);
    ASSERT_OK(sw_lock_unlock(&s->lock));
    ASSERT_OK(sw_lock_timedlock(&s->lock, 20000));
    ASSERT_OK(sw_lock_unlock(&s->lock));
    dead_free(s, 1);
}

/* A thread that exits while holding (a bug, but survivable): MUTEX, SPINLOCK, SEM, RWLOCK. The
 * FILE kind recovers only from a dead process (a thread's descriptor outlives it). */
static void *exit_holding(void *p)
{
    dead_shared_t *s = p;
    if (sw_lock_lock(&s->lock) != 0) {
        return (void *)1;
    }
    return NULL;
}

SW_TEST(lock_dead_thread)
{
    sw_lock_kind_t kinds[] = {SW_LOCK_MUTEX, SW_LOCK_SPINLOCK, SW_LOCK_SEM, SW_LOCK_RWLOCK};
    for (int i = 0; i < 4; i++) {
        void *mem;
        ASSERT_OK(sw_shm_create(sizeof(dead_shared_t), &mem));
        dead_shared_t *s = mem;
        ASSERT_OK(sw_lock_init(&s->lock, kinds[i], 0));
        pthread_t t;
        void *ret = (void *)2;
        ASSERT_EQ(pthread_create(&t, NULL, exit_holding, s), 0);
        ASSERT_EQ(pthread_join(t, &ret), 0);
        ASSERT_NULL(ret);
        ASSERT_ERR(sw_lock_timedlock(&s->lock, 20000), SW_ELOCK_OWNERDEAD);
        ASSERT_OK(sw_lock_unlock(&s->lock));
        dead_free(s, 1);
    }
}

/* sw_spin_t: the same recovery. */
static void doomed_spinner(int idx, void *arg)
{
    (void)idx;
    dead_shared_t *s = arg;
    ASSERT_OK(sw_spin_lock(&s->spin));
    atomic_store(&s->stage, 1);
    for (;;) {
        pause();
    }
}

SW_TEST(spin_dead_holder)
{
    dead_shared_t *s = dead_new((sw_lock_kind_t)0);
    pid_t pid;
    mt_spawn(&pid, 1, doomed_spinner, s);
    MT_WAIT_FLAG(&s->stage, 1, 10000);
    ASSERT_ERR(sw_spin_trylock(&s->spin), SW_EBUSY);
    ASSERT_ERR(sw_spin_timedlock(&s->spin, 20), SW_ETIMEDOUT);
    kill(pid, SIGKILL);
    ASSERT_ERR(sw_spin_timedlock(&s->spin, 20000), SW_ELOCK_OWNERDEAD);
    ASSERT_OK(sw_spin_unlock(&s->spin));
    int st;
    waitpid(pid, &st, 0);
    dead_free(s, 0);
}

/* Liveness: self alive; a recycled id (same tid, other start time) dead; an exited thread
 * dead; a zombie dead. */
static void *note_self(void *p)
{
    *(uint64_t *)p = sw__lock_self();
    return NULL;
}

static void idle_child(int idx, void *arg)
{
    (void)idx;
    (void)arg;
}

SW_TEST(lock_owner_liveness)
{
    uint64_t self = sw__lock_self();
    ASSERT_EQ(sw__lock_self(), self);
    ASSERT_EQ((pid_t)(self & SW__ID_TID_MASK), getpid());
    ASSERT_EQ(sw__lock_alive(self), 1);
    ASSERT_EQ(sw__lock_alive(self + ((uint64_t)1 << 32)), 0);
    ASSERT_EQ(sw__lock_alive(0), 0);

    uint64_t other = 0;
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, note_self, &other), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_NE(other, 0);
    ASSERT_NE(other, self);
    ASSERT_EQ(sw__lock_alive(other), 0);

    pid_t pid;
    mt_spawn(&pid, 1, idle_child, NULL);
    /* Give it time to exit; it stays a zombie until reaped. */
    uint64_t end = sw_test_now_ms() + 10000;
    uint64_t zid = (uint64_t)(uint32_t)pid; /* start time 0: only the id and state count */
    while (sw__lock_alive(zid) && sw_test_now_ms() < end) {
        mt_sleep_ms(1);
    }
    ASSERT_EQ(sw__lock_alive(zid), 0);
    mt_reap(&pid, 1);
    ASSERT_EQ(sw__lock_alive(zid), 0);

    /* A fork child gets its own identity (the cache is reset). */
    void *mem;
    ASSERT_OK(sw_shm_create(sizeof(uint64_t), &mem));
    pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        *(volatile uint64_t *)mem = sw__lock_self();
        _exit(0);
    }
    mt_reap(&pid, 1);
    ASSERT_EQ((pid_t)(*(uint64_t *)mem & SW__ID_TID_MASK), pid);
    ASSERT_OK(sw_shm_destroy(mem, sizeof(uint64_t)));
}
