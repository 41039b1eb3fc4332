/* Helpers shared by the process and pool tests (header-only, static functions). */
#ifndef SW_TEST_PROCESS_UTIL_H
#define SW_TEST_PROCESS_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sw_test.h"
#include "swoole/loop.h"
#include "swoole/timer.h"

static inline void pt_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Reads a whole small file into buf (NUL-terminated); returns the byte count or -1. */
static inline ssize_t pt_read_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    size_t off = 0;
    while (off + 1 < size) {
        ssize_t n = read(fd, buf + off, size - 1 - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        off += (size_t)n;
    }
    close(fd);
    buf[off] = '\0';
    return (ssize_t)off;
}

/* 1 while `pid` exists and is not a zombie. */
static inline int pt_alive(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (pt_read_file(path, buf, sizeof(buf)) <= 0) {
        return 0;
    }
    char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

/* Children of the calling process that still exist (running or zombie). */
static inline int pt_count_children(void)
{
    DIR *d = opendir("/proc");
    if (!d) {
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') {
            continue;
        }
        char path[300], buf[512];
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        if (pt_read_file(path, buf, sizeof(buf)) <= 0) {
            continue;
        }
        char *rp = strrchr(buf, ')');
        char state;
        int ppid;
        if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == (int)getpid()) {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* ---- running a loop with a watchdog -------------------------------------------------------- */

typedef int (*pt_pred_fn)(void *arg);

typedef struct {
    pt_pred_fn pred;
    void *arg;
    uint64_t deadline;
    int timed_out;
} pt_watch_t;

/* Every 5 ms: stop the loop when the condition holds or the time is up. (A test-only check:
 * the condition changes in callbacks of any kind, and one of them may run in the timer phase
 * of an iteration that then blocks in its wait.) */
static inline void pt_watch_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)id;
    pt_watch_t *w = arg;
    if (w->pred(w->arg)) {
        sw_loop_stop(loop);
    } else if (sw_test_now_ms() >= w->deadline) {
        w->timed_out = 1;
        sw_loop_stop(loop);
    }
}

/* Runs `loop` until pred(arg) holds or `ms` pass; the latter fails the test with `what`. */
static inline void pt_run_while_not(sw_loop_t *loop, pt_pred_fn pred, void *arg, uint64_t ms,
                                    const char *what)
{
    pt_watch_t w = {pred, arg, sw_test_now_ms() + ms, 0};
    uint64_t id = 0;
    ASSERT_OK(sw_timer_tick(loop, 5, pt_watch_cb, &w, &id));
    while (!pred(arg) && !w.timed_out) {
        int r = sw_loop_run(loop, SW_RUN_DEFAULT);
        ASSERT_GE(r, 0);
    }
    sw_timer_clear(loop, id);
    if (!pred(arg)) {
        sw_test_fail(__FILE__, __LINE__, "timed out after %llu ms waiting for %s",
                     (unsigned long long)ms, what);
    }
}

static inline int pt_flag_set(void *arg)
{
    return *(volatile int *)arg != 0;
}

/* Runs `loop` until `*done` becomes non-zero or `ms` pass. */
static inline void pt_run_until(sw_loop_t *loop, volatile int *done, uint64_t ms, const char *what)
{
    pt_run_while_not(loop, pt_flag_set, (void *)done, ms, what);
}

/* ---- System V queues that are removed on every path ----------------------------------------- */

/* Makes a queue with a fresh key (for shared-mode tests) and returns its key; *id gets the
 * msqid. */
static inline int pt_fresh_queue_key(int *id)
{
    unsigned seed = (unsigned)getpid() * 2654435761u ^ (unsigned)sw_test_now_ms();
    for (int attempt = 0; attempt < 1000; attempt++) {
        int key = (int)(0x53570000u | ((seed + (unsigned)attempt * 7919u) & 0xffffu));
        int q = msgget((key_t)key, IPC_CREAT | IPC_EXCL | 0600);
        if (q >= 0) {
            *id = q;
            return key;
        }
        if (errno != EEXIST) {
            break;
        }
    }
    sw_test_fail(__FILE__, __LINE__, "cannot make a message queue: %s", strerror(errno));
}

/* The fd on which an isolated body reports the queues it makes (pt_report_queue). */
static int pt_queue_report_fd = -1;

/* In an isolated body: records a queue id so that the test removes it whatever happens. */
static inline void pt_report_queue(int id)
{
    if (pt_queue_report_fd >= 0) {
        ssize_t w = write(pt_queue_report_fd, &id, sizeof(id));
        (void)w;
    }
}

/* Runs body(arg) in a forked child (its assertions end only the child) and returns its wait
 * status. Afterwards every queue the body reported with pt_report_queue is removed; `*leaked`
 * (may be NULL) gets how many of them still existed (the body should have removed the owned
 * ones itself). The child's own children must be gone when body returns; the child checks. */
static inline int pt_run_isolated(void (*body)(void *), void *arg, int *leaked)
{
    int rp[2];
    if (pipe2(rp, O_CLOEXEC | O_NONBLOCK) != 0) {
        sw_test_fail(__FILE__, __LINE__, "pipe2: %s", strerror(errno));
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        sw_test_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(rp[0]);
        pt_queue_report_fd = rp[1];
        body(arg);
        int left = pt_count_children();
        if (left != 0) {
            fprintf(stderr, "LEAK: %d child process(es) of the isolated body left\n", left);
            _exit(3);
        }
        fflush(NULL);
        _exit(0);
    }
    close(rp[1]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int n = 0, id;
    while (read(rp[0], &id, sizeof(id)) == (ssize_t)sizeof(id)) {
        if (msgctl(id, IPC_RMID, NULL) == 0) {
            n++;
        }
    }
    close(rp[0]);
    if (leaked) {
        *leaked = n;
    }
    return status;
}

#define ASSERT_ISOLATED_OK(status)                                                         \
    do {                                                                                   \
        int sw_st_ = (status);                                                             \
        if (!(WIFEXITED(sw_st_) && WEXITSTATUS(sw_st_) == 0)) {                            \
            sw_test_fail(__FILE__, __LINE__, "isolated body failed: status 0x%x", sw_st_); \
        }                                                                                  \
    } while (0)

#endif
