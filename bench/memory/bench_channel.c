/*
 * Channel benchmark: 64-byte messages from producer processes to consumer processes through an
 * sw_channel_t (with and without the notification fd), side by side with a pipe carrying the
 * same 64-byte records (the anchor: what a process-to-process byte stream costs).
 *
 *   bench_channel [--messages N] [--rounds R] [--capacity BYTES]
 *
 * Each round: 1 producer -> 1 consumer, then 2 producers -> 2 consumers, N messages in total,
 * blocking push and pop; the time runs from the start signal until every process has exited.
 * Prints the median messages per second over R rounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "swoole/channel.h"
#include "swoole/shm.h"

#define MAX_ROUNDS 31
#define MSG        64

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct {
    volatile int go;
    volatile long bad;
} ctl_t;

static void wait_go(ctl_t *c)
{
    while (!__atomic_load_n(&c->go, __ATOMIC_ACQUIRE)) {
    }
}

/* mode 0: channel, 1: channel without fd, 2: pipe */
static double run(ctl_t *c, int mode, long n, int pairs, size_t capacity)
{
    sw_channel_t *ch = NULL;
    int pfd[2] = {-1, -1};
    if (mode < 2) {
        if (sw_channel_create(&ch, capacity, mode == 1 ? SW_CHANNEL_NO_FD : 0) != 0) {
            fprintf(stderr, "sw_channel_create failed\n");
            exit(1);
        }
    } else if (pipe(pfd) != 0) {
        perror("pipe");
        exit(1);
    }
    c->go = 0;
    c->bad = 0;
    long per = n / pairs;
    pid_t pids[8];
    int np = 0;
    for (int p = 0; p < pairs; p++) {
        for (int role = 0; role < 2; role++) {
            pid_t pid = fork();
            if (pid == 0) {
                unsigned char m[MSG];
                memset(m, 'x', sizeof(m));
                wait_go(c);
                for (long i = 0; i < per; i++) {
                    if (role == 0) {
                        memcpy(m, &i, sizeof(i));
                        if (mode < 2) {
                            sw_channel_push(ch, m, MSG, -1);
                        } else if (write(pfd[1], m, MSG) != MSG) {
                            __atomic_fetch_add(&c->bad, 1, __ATOMIC_RELAXED);
                        }
                    } else {
                        long got;
                        if (mode < 2) {
                            got = sw_channel_pop(ch, m, sizeof(m), -1);
                        } else {
                            got = read(pfd[0], m, MSG);
                        }
                        if (got != MSG) {
                            __atomic_fetch_add(&c->bad, 1, __ATOMIC_RELAXED);
                        }
                    }
                }
                _exit(0);
            }
            pids[np++] = pid;
        }
    }
    uint64_t t0 = now_ns();
    __atomic_store_n(&c->go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < np; i++) {
        int st;
        waitpid(pids[i], &st, 0);
    }
    uint64_t dt = now_ns() - t0;
    if (c->bad) {
        fprintf(stderr, "mode %d: %ld bad transfers\n", mode, c->bad);
        exit(1);
    }
    if (ch) {
        sw_channel_destroy(ch);
    } else {
        close(pfd[0]);
        close(pfd[1]);
    }
    return (double)(per * pairs) / ((double)dt / 1e9);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long n = 2000000;
    int rounds = 5;
    size_t capacity = 1 << 20;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--messages") && i + 1 < argc) {
            n = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--capacity") && i + 1 < argc) {
            capacity = (size_t)atol(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_channel [--messages N] [--rounds R] [--capacity B]\n");
            return 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || n < 2) {
        fprintf(stderr, "rounds 1..%d, messages >= 2\n", MAX_ROUNDS);
        return 2;
    }
    void *mem;
    if (sw_shm_create(sizeof(ctl_t), &mem) != 0) {
        return 1;
    }
    ctl_t *c = mem;
    static const char *names[] = {"sw_channel (fd)", "sw_channel (no fd)", "pipe (anchor)"};
    printf("%ld messages of %d bytes, capacity %zu, median of %d rounds (messages/s)\n", n, MSG,
           capacity, rounds);
    printf("%-22s %14s %14s\n", "transport", "1 -> 1", "2 -> 2");
    for (int mode = 0; mode < 3; mode++) {
        double a[MAX_ROUNDS], b[MAX_ROUNDS];
        for (int r = 0; r < rounds; r++) {
            a[r] = run(c, mode, n, 1, capacity);
            b[r] = run(c, mode, n, 2, capacity);
        }
        qsort(a, (size_t)rounds, sizeof(double), cmp_double);
        qsort(b, (size_t)rounds, sizeof(double), cmp_double);
        printf("%-22s %14.0f %14.0f\n", names[mode], a[rounds / 2], b[rounds / 2]);
        fflush(stdout);
    }
    sw_shm_destroy(mem, sizeof(ctl_t));
    return 0;
}
