/*
 * Load generator for the loop echo benchmark (issue 3, item 17).
 *
 *   echo_load --port P [--host H] [--conns 50] [--size 64] [--seconds 5] [--warmup 1]
 *             [--server-pid PID] [--messages N]
 *
 * Opens `conns` connections; each sends a `size`-byte message, reads the whole echo back,
 * checks it byte for byte, and sends the next (ping-pong). After the warm-up, counts the
 * round trips completed during `seconds`. With --server-pid, reads the server's CPU time at
 * the start and the end of the measured window, summed over the server process and every
 * process descending from it (manager, workers): utime+stime from /proc/PID/stat (clock
 * ticks; all threads) and the scheduler's run time of every thread from
 * /proc/PID/task/TID/schedstat (ns, finer), and prints both per message. With --messages,
 * stops after N round trips instead (for instruction counts under callgrind: use --warmup 0).
 * Output is one line of key=value pairs for the run script.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proc_cpu.h"

typedef struct {
    int fd;
    size_t sent, got;
    char *rbuf;
} conn_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 0, nconns = 50, server_pid = 0;
    size_t size = 64;
    double seconds = 5, warmup = 1;
    unsigned long long max_msgs = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--host")) {
            host = v;
        } else if (!strcmp(k, "--port")) {
            port = atoi(v);
        } else if (!strcmp(k, "--conns")) {
            nconns = atoi(v);
        } else if (!strcmp(k, "--size")) {
            size = strtoul(v, NULL, 10);
        } else if (!strcmp(k, "--seconds")) {
            seconds = atof(v);
        } else if (!strcmp(k, "--warmup")) {
            warmup = atof(v);
        } else if (!strcmp(k, "--server-pid")) {
            server_pid = atoi(v);
        } else if (!strcmp(k, "--messages")) {
            max_msgs = strtoull(v, NULL, 10);
        } else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
    }
    if (port <= 0 || nconns <= 0 || size == 0) {
        fprintf(stderr, "usage: echo_load --port P [--conns N] [--size S] [--seconds T]\n");
        return 2;
    }
    char *msg = malloc(size);
    for (size_t i = 0; i < size; i++) {
        msg[i] = (char)('a' + i % 23);
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int ep = epoll_create1(0);
    conn_t *c = calloc((size_t)nconns, sizeof(conn_t));
    int one = 1;
    for (int i = 0; i < nconns; i++) {
        c[i].fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c[i].fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            perror("connect");
            return 1;
        }
        setsockopt(c[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
        c[i].rbuf = malloc(size);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
    }
    double t_start = now_s(), t_measure = t_start + warmup, t_end = t_measure + seconds;
    int measuring = 0;
    unsigned long long msgs = 0;
    double cpu0 = 0, sched0 = 0, cpu1 = 0, sched1 = 0, t0 = 0;
    int nprocs = 0;
    struct epoll_event events[256];
    for (;;) {
        double t = now_s();
        if (!measuring && t >= t_measure) {
            measuring = 1;
            msgs = 0;
            t0 = t;
            if (server_pid && read_cpu(server_pid, &cpu0, &sched0, &nprocs) < 0) {
                fprintf(stderr, "cannot read the CPU time of process %d\n", server_pid);
                return 1;
            }
        }
        if ((!max_msgs && t >= t_end) || (max_msgs && measuring && msgs >= max_msgs)) {
            break;
        }
        int n = epoll_wait(ep, events, 256, 100);
        for (int e = 0; e < n; e++) {
            conn_t *cn = &c[events[e].data.u32];
            if ((events[e].events & EPOLLOUT) && cn->sent < size) {
                ssize_t w = write(cn->fd, msg + cn->sent, size - cn->sent);
                if (w > 0) {
                    cn->sent += (size_t)w;
                }
                if (cn->sent == size) {
                    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = events[e].data.u32};
                    epoll_ctl(ep, EPOLL_CTL_MOD, cn->fd, &ev);
                }
            }
            if (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t r = read(cn->fd, cn->rbuf + cn->got, size - cn->got);
                if (r == 0 || (r < 0 && errno != EAGAIN)) {
                    fprintf(stderr, "server closed a connection\n");
                    return 1;
                }
                if (r > 0) {
                    cn->got += (size_t)r;
                }
                if (cn->got == size) {
                    if (memcmp(cn->rbuf, msg, size) != 0) {
                        fprintf(stderr, "echo mismatch\n");
                        return 1;
                    }
                    msgs++;
                    cn->got = 0;
                    cn->sent = 0;
                    ssize_t w = write(cn->fd, msg, size);
                    if (w > 0) {
                        cn->sent = (size_t)w;
                    }
                    if (cn->sent < size) {
                        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT,
                                                 .data.u32 = events[e].data.u32};
                        epoll_ctl(ep, EPOLL_CTL_MOD, cn->fd, &ev);
                    }
                }
            }
        }
    }
    double t1 = now_s();
    if (server_pid && read_cpu(server_pid, &cpu1, &sched1, &nprocs) < 0) {
        fprintf(stderr, "cannot read the CPU time of process %d\n", server_pid);
        return 1;
    }
    double el = t1 - t0;
    printf("msgs=%llu seconds=%.3f msgs_per_s=%.0f", msgs, el, msgs / el);
    if (server_pid && msgs) {
        printf(" cpu_s=%.3f cpu_us_per_msg=%.4f sched_s=%.4f sched_us_per_msg=%.4f procs=%d",
               cpu1 - cpu0, (cpu1 - cpu0) * 1e6 / msgs, sched1 - sched0,
               (sched1 - sched0) * 1e6 / msgs, nprocs);
    }
    printf("\n");
    for (int i = 0; i < nconns; i++) {
        close(c[i].fd);
        free(c[i].rbuf);
    }
    free(c);
    free(msg);
    close(ep);
    return 0;
}
