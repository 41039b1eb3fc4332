/*
 * Thread identity and liveness for lock owners, futex calls and the monotonic clock.
 *
 * Identity is read from the kernel once per thread and cached in thread-local storage: this
 * is the one piece of state outside any object in the memory module, and it only caches a
 * fact about the calling thread. A fork child is a new thread with the parent's TLS, so a
 * pthread_atfork() child handler clears the cache (a child made by a raw clone() system call
 * bypasses that handler and is not supported).
 */
#include "memory/lock_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "swoole/error.h"

/* initial-exec: a direct TLS access instead of a __tls_get_addr call on every lock operation;
 * 8 bytes of static TLS, which glibc reserves even for libraries loaded with dlopen. */
static _Thread_local uint64_t self_cache __attribute__((tls_model("initial-exec")));
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_child(void)
{
    self_cache = 0;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

/*
 * Reads state (field 3) and starttime (field 22) of /proc/<tid>/stat. The comm field (2) is
 * in parentheses and may hold any byte, so fields are counted from the last ')'; see proc(5).
 * Returns 1 on success, 0 when the file does not exist, -1 when /proc cannot be used.
 */
static int read_stat(pid_t tid, char *state, uint64_t *start)
{
    char path[48];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT || errno == ESRCH ? 0 : -1;
    }
    char buf[1024];
    ssize_t n;
    do {
        n = read(fd, buf, sizeof(buf) - 1);
    } while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0) {
        /* A task that exits between open and read gives ESRCH or an empty read. */
        return n == 0 || errno == ESRCH ? 0 : -1;
    }
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ') {
        return -1;
    }
    p += 2;
    *state = *p;
    /* p is at field 3; step over 19 separators to field 22. */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p) {
            return -1;
        }
        p++;
    }
    *start = strtoull(p, NULL, 10);
    return 1;
}

uint64_t sw__lock_self(void)
{
    uint64_t id = self_cache;
    if (id) {
        return id;
    }
    pthread_once(&atfork_once, register_atfork);
    pid_t tid = (pid_t)syscall(SYS_gettid);
    char state;
    uint64_t start = 0;
    if (read_stat(tid, &state, &start) != 1) {
        start = 0;
    }
    id = ((uint64_t)(uint32_t)start << 32) | ((uint32_t)tid & SW__ID_TID_MASK);
    self_cache = id;
    return id;
}

int sw__lock_alive(uint64_t id)
{
    pid_t tid = (pid_t)((uint32_t)id & SW__ID_TID_MASK);
    uint32_t start = (uint32_t)(id >> 32);
    if (tid <= 0) {
        return 0;
    }
    char state = '?';
    uint64_t now_start = 0;
    int rc = read_stat(tid, &state, &now_start);
    if (rc == 1) {
        if (state == 'Z' || state == 'X' || state == 'x') {
            return 0;
        }
        if (start != 0 && (uint32_t)now_start != start) {
            return 0; /* the id was recycled by a newer thread */
        }
        return 1;
    }
    /* No /proc entry (it may be gone, or /proc may be missing): ask the kernel directly.
     * kill() accepts any thread id and targets its process; ESRCH means no such task. */
    if (kill(tid, 0) != 0 && errno == ESRCH) {
        return 0;
    }
    /* The task exists but /proc hides it (hidepid) or is unusable: alive, as far as we can
     * tell. Zombies are not recognised in this case. */
    return 1;
}

uint64_t sw__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t sw__deadline(int timeout_ms)
{
    if (timeout_ms < 0) {
        return 0;
    }
    return sw__now_ns() + (uint64_t)timeout_ms * 1000000u;
}

int sw__futex_wait(void *addr, uint32_t val, int shared, int64_t timeout_ns)
{
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tsp = &ts;
    }
    int op = FUTEX_WAIT | (shared ? 0 : FUTEX_PRIVATE_FLAG);
    /* FUTEX_WAIT's timeout is relative and measured on the monotonic clock; futex(2). */
    long rc = syscall(SYS_futex, addr, op, val, tsp, NULL, 0);
    if (rc == 0) {
        return 0;
    }
    switch (errno) {
    case EAGAIN:
        return SW_EAGAIN;
    case ETIMEDOUT:
        return SW_ETIMEDOUT;
    case EINTR:
        return SW_EINTR;
    default:
        return sw_translate_sys_error(errno);
    }
}

int sw__futex_wake(void *addr, int n, int shared)
{
    int op = FUTEX_WAKE | (shared ? 0 : FUTEX_PRIVATE_FLAG);
    long rc = syscall(SYS_futex, addr, op, n, NULL, NULL, 0);
    return rc < 0 ? sw_translate_sys_error(errno) : (int)rc;
}
