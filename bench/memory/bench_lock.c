/*
 * Lock benchmark: lock + unlock pairs per kind, uncontended (one process) and contended (two
 * processes hammering one lock in shared memory), side by side with the plain POSIX anchors
 * (non-robust process-shared pthread mutex, pthread spinlock, pthread rwlock, POSIX semaphore).
 *
 *   bench_lock [--iters N] [--rounds R]
 *
 * Prints the median ns per lock+unlock pair over R rounds. In the contended case each of the
 * two processes does N pairs and the time is the wall time of both divided by 2N, so it is the
 * throughput cost of one pair while the lock bounces between the processes.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "swoole/lock.h"
#include "swoole/shm.h"

#define MAX_ROUNDS 31

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef enum { A_PTHREAD_MUTEX = 100, A_PTHREAD_SPIN, A_PTHREAD_RWLOCK, A_POSIX_SEM } anchor_t;

typedef struct {
    sw_lock_t lock;
    sw_spin_t spin;
    pthread_mutex_t mutex;
    pthread_spinlock_t pspin;
    pthread_rwlock_t rw;
    sem_t sem;
    volatile uint64_t counter;
    volatile int go;
} shared_t;

typedef struct {
    const char *name;
    int kind; /* sw_lock_kind_t, 0 for sw_spin_t, or an anchor_t */
    int read;
} target_t;

static const target_t targets[] = {
    {"sw MUTEX", SW_LOCK_MUTEX, 0},
    {"sw RWLOCK (write)", SW_LOCK_RWLOCK, 0},
    {"sw RWLOCK (read)", SW_LOCK_RWLOCK, 1},
    {"sw SPINLOCK", SW_LOCK_SPINLOCK, 0},
    {"sw_spin_t", 0, 0},
    {"sw SEM", SW_LOCK_SEM, 0},
    {"sw FILE", SW_LOCK_FILE, 0},
    {"pthread_mutex (pshared)", A_PTHREAD_MUTEX, 0},
    {"pthread_spinlock (pshared)", A_PTHREAD_SPIN, 0},
    {"pthread_rwlock wr (pshared)", A_PTHREAD_RWLOCK, 0},
    {"pthread_rwlock rd (pshared)", A_PTHREAD_RWLOCK, 1},
    {"sem_t (pshared)", A_POSIX_SEM, 0},
};

static void setup(shared_t *s, const target_t *t)
{
    if (t->kind >= SW_LOCK_MUTEX && t->kind <= SW_LOCK_FILE) {
        if (sw_lock_init(&s->lock, (sw_lock_kind_t)t->kind, SW_LOCK_SHARED) != 0) {
            fprintf(stderr, "sw_lock_init failed\n");
            exit(1);
        }
    } else if (t->kind == 0) {
        sw_spin_init(&s->spin);
    } else if (t->kind == A_PTHREAD_MUTEX) {
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        pthread_mutex_init(&s->mutex, &a);
        pthread_mutexattr_destroy(&a);
    } else if (t->kind == A_PTHREAD_SPIN) {
        pthread_spin_init(&s->pspin, PTHREAD_PROCESS_SHARED);
    } else if (t->kind == A_PTHREAD_RWLOCK) {
        pthread_rwlockattr_t a;
        pthread_rwlockattr_init(&a);
        pthread_rwlockattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        pthread_rwlock_init(&s->rw, &a);
        pthread_rwlockattr_destroy(&a);
    } else {
        sem_init(&s->sem, 1, 1);
    }
}

static void teardown(shared_t *s, const target_t *t)
{
    if (t->kind >= SW_LOCK_MUTEX && t->kind <= SW_LOCK_FILE) {
        sw_lock_close(&s->lock);
    } else if (t->kind == A_PTHREAD_MUTEX) {
        pthread_mutex_destroy(&s->mutex);
    } else if (t->kind == A_PTHREAD_SPIN) {
        pthread_spin_destroy(&s->pspin);
    } else if (t->kind == A_PTHREAD_RWLOCK) {
        pthread_rwlock_destroy(&s->rw);
    } else if (t->kind == A_POSIX_SEM) {
        sem_destroy(&s->sem);
    }
}

static void run_pairs(shared_t *s, const target_t *t, long n)
{
    switch (t->kind) {
    case 0:
        for (long i = 0; i < n; i++) {
            sw_spin_lock(&s->spin);
            s->counter++;
            sw_spin_unlock(&s->spin);
        }
        break;
    case A_PTHREAD_MUTEX:
        for (long i = 0; i < n; i++) {
            pthread_mutex_lock(&s->mutex);
            s->counter++;
            pthread_mutex_unlock(&s->mutex);
        }
        break;
    case A_PTHREAD_SPIN:
        for (long i = 0; i < n; i++) {
            pthread_spin_lock(&s->pspin);
            s->counter++;
            pthread_spin_unlock(&s->pspin);
        }
        break;
    case A_PTHREAD_RWLOCK:
        for (long i = 0; i < n; i++) {
            if (t->read) {
                pthread_rwlock_rdlock(&s->rw);
            } else {
                pthread_rwlock_wrlock(&s->rw);
                s->counter++;
            }
            pthread_rwlock_unlock(&s->rw);
        }
        break;
    case A_POSIX_SEM:
        for (long i = 0; i < n; i++) {
            sem_wait(&s->sem);
            s->counter++;
            sem_post(&s->sem);
        }
        break;
    default:
        for (long i = 0; i < n; i++) {
            if (t->read) {
                sw_lock_lock_read(&s->lock);
            } else {
                sw_lock_lock(&s->lock);
                s->counter++;
            }
            sw_lock_unlock(&s->lock);
        }
        break;
    }
}

static double measure(shared_t *s, const target_t *t, long n, int procs)
{
    setup(s, t);
    s->counter = 0;
    s->go = 0;
    pid_t pids[2];
    for (int p = 0; p < procs; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            while (!__atomic_load_n(&s->go, __ATOMIC_ACQUIRE)) {
            }
            run_pairs(s, t, n);
            _exit(0);
        }
    }
    uint64_t t0 = now_ns();
    __atomic_store_n(&s->go, 1, __ATOMIC_RELEASE);
    for (int p = 0; p < procs; p++) {
        int st;
        waitpid(pids[p], &st, 0);
    }
    uint64_t dt = now_ns() - t0;
    if (!t->read && s->counter != (uint64_t)(n * procs)) {
        fprintf(stderr, "%s: counter %llu != %ld: exclusion broken\n", t->name,
                (unsigned long long)s->counter, n * procs);
        exit(1);
    }
    teardown(s, t);
    return (double)dt / (double)(n * procs);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long iters = 1000000;
    int rounds = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
            iters = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_lock [--iters N] [--rounds R]\n");
            return 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || iters < 1) {
        fprintf(stderr, "rounds 1..%d, iters >= 1\n", MAX_ROUNDS);
        return 2;
    }
    void *mem;
    if (sw_shm_create(sizeof(shared_t), &mem) != 0) {
        return 1;
    }
    shared_t *s = mem;
    printf("lock+unlock pairs, %ld per process, median of %d rounds (ns per pair)\n", iters,
           rounds);
    printf("%-30s %14s %14s\n", "lock", "uncontended", "2 processes");
    for (size_t k = 0; k < sizeof(targets) / sizeof(targets[0]); k++) {
        const target_t *t = &targets[k];
        /* FILE opens a descriptor per acquisition: a tenth of the rounds keeps the run short. */
        long n = t->kind == SW_LOCK_FILE ? iters / 10 : iters;
        double one[MAX_ROUNDS], two[MAX_ROUNDS];
        for (int r = 0; r < rounds; r++) {
            one[r] = measure(s, t, n, 1);
            two[r] = measure(s, t, n, 2);
        }
        qsort(one, (size_t)rounds, sizeof(double), cmp_double);
        qsort(two, (size_t)rounds, sizeof(double), cmp_double);
        printf("%-30s %14.1f %14.1f\n", t->name, one[rounds / 2], two[rounds / 2]);
        fflush(stdout);
    }
    sw_shm_destroy(mem, sizeof(shared_t));
    return 0;
}
