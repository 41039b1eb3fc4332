/*
 * Load generator of the IPC benchmark (issue 5, item 14): pushes M length-framed messages of S
 * bytes (a 4-byte big-endian length, then the body) through an echo server, pipelined: each of
 * C connections keeps up to W bytes in flight, written in large batches, and reads its echo
 * back, checked byte for byte. The client's work per message is a small share of a large
 * write and read, so the figure is the server's path per message: in PROCESS mode reactor ->
 * worker -> reactor over the IPC bus.
 *
 *   ipc_load --port P [--host H] [--conns 4] [--size 1024] [--messages 1000000]
 *            [--window 262144] [--server-pid PID]
 *
 * Prints one line of key=value pairs: msgs, seconds (first byte sent to last byte of echo
 * read), msgs_per_s, and with --server-pid the server's CPU time (all its processes and
 * threads, as bench/echo/echo_load) in total and per message.
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

#include "../echo/proc_cpu.h"

#define BATCH 64 /* messages per prebuilt send block */

typedef struct {
    int fd;
    uint64_t to_send; /* bytes this connection still has to send */
    uint64_t to_recv; /* bytes of echo still to read */
    uint64_t sent, got;
    int wout; /* EPOLLOUT is on */
} conn_t;

/* Asks for EPOLLOUT only while there is something to send and room in the window (a
 * level-triggered EPOLLOUT on a socket with nothing to send would spin). */
static void want_out(int ep, conn_t *cn, int i, size_t window)
{
    int want = cn->to_send > 0 && cn->sent - cn->got < window;
    if (want != cn->wout) {
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0),
                                 .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_MOD, cn->fd, &ev);
        cn->wout = want;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 0, nconns = 4, server_pid = 0;
    size_t size = 1024, window = 262144;
    unsigned long long messages = 1000000;
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
        } else if (!strcmp(k, "--messages")) {
            messages = strtoull(v, NULL, 10);
        } else if (!strcmp(k, "--window")) {
            window = strtoul(v, NULL, 10);
        } else if (!strcmp(k, "--server-pid")) {
            server_pid = atoi(v);
        } else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
    }
    if (port <= 0 || nconns <= 0 || size == 0 || size > (1u << 20) || messages == 0) {
        fprintf(stderr, "usage: ipc_load --port P [--conns C] [--size S] [--messages M]\n");
        return 2;
    }
    size_t mlen = 4 + size;
    char *block = malloc(mlen * BATCH);
    char *rbuf = malloc(1 << 20);
    if (!block || !rbuf) {
        return 1;
    }
    for (size_t m = 0; m < BATCH; m++) {
        uint32_t n = htonl((uint32_t)size);
        memcpy(block + m * mlen, &n, 4);
        for (size_t i = 0; i < size; i++) {
            block[m * mlen + 4 + i] = (char)('a' + (i * 7 + i / 251) % 26);
        }
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int ep = epoll_create1(0);
    conn_t *c = calloc((size_t)nconns, sizeof(conn_t));
    for (int i = 0; i < nconns; i++) {
        uint64_t share = messages / (uint64_t)nconns + ((uint64_t)i < messages % nconns ? 1 : 0);
        c[i].fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c[i].fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            perror("connect");
            return 1;
        }
        int one = 1;
        setsockopt(c[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
        c[i].to_send = c[i].to_recv = share * mlen;
        c[i].wout = 1;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
    }
    double cpu0 = 0, sched0 = 0, cpu1 = 0, sched1 = 0;
    int nprocs = 0;
    if (server_pid && read_cpu(server_pid, &cpu0, &sched0, &nprocs) < 0) {
        fprintf(stderr, "cannot read the CPU time of process %d\n", server_pid);
        return 1;
    }
    double t0 = now_s();
    int left = nconns;
    struct epoll_event events[64];
    while (left > 0) {
        int n = epoll_wait(ep, events, 64, 10000);
        if (n == 0) {
            fprintf(stderr, "ipc_load: no progress for 10 s\n");
            return 1;
        }
        for (int e = 0; e < n; e++) {
            conn_t *cn = &c[events[e].data.u32];
            if ((events[e].events & EPOLLOUT) && cn->to_send > 0) {
                /* Send while under the window, from the block at the stream position. */
                while (cn->to_send > 0 && cn->sent - cn->got < window) {
                    size_t off = (size_t)(cn->sent % (mlen * BATCH));
                    size_t k = mlen * BATCH - off;
                    if (k > cn->to_send) {
                        k = (size_t)cn->to_send;
                    }
                    if (k > window - (cn->sent - cn->got)) {
                        k = (size_t)(window - (cn->sent - cn->got));
                    }
                    ssize_t w = send(cn->fd, block + off, k, MSG_NOSIGNAL);
                    if (w <= 0) {
                        if (w < 0 && errno != EAGAIN) {
                            perror("send");
                            return 1;
                        }
                        break;
                    }
                    cn->sent += (uint64_t)w;
                    cn->to_send -= (uint64_t)w;
                }
                want_out(ep, cn, (int)events[e].data.u32, window);
            }
            if (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t r = recv(cn->fd, rbuf, 1 << 20, 0);
                if (r == 0 || (r < 0 && errno != EAGAIN)) {
                    fprintf(stderr, "ipc_load: the server closed a connection\n");
                    return 1;
                }
                for (ssize_t p = 0; p < r;) {
                    size_t off = (size_t)((cn->got + (uint64_t)p) % (mlen * BATCH));
                    size_t k = mlen * BATCH - off;
                    if (k > (size_t)(r - p)) {
                        k = (size_t)(r - p);
                    }
                    if (memcmp(rbuf + p, block + off, k) != 0) {
                        fprintf(stderr, "ipc_load: echo mismatch\n");
                        return 1;
                    }
                    p += (ssize_t)k;
                }
                if (r > 0) {
                    cn->got += (uint64_t)r;
                    cn->to_recv -= (uint64_t)r;
                    if (cn->to_recv == 0) {
                        epoll_ctl(ep, EPOLL_CTL_DEL, cn->fd, NULL);
                        left--;
                    } else {
                        want_out(ep, cn, (int)events[e].data.u32, window);
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
    printf("msgs=%llu seconds=%.3f msgs_per_s=%.0f", messages, t1 - t0, messages / (t1 - t0));
    if (server_pid) {
        printf(" cpu_s=%.3f cpu_us_per_msg=%.4f sched_s=%.4f sched_us_per_msg=%.4f procs=%d",
               cpu1 - cpu0, (cpu1 - cpu0) * 1e6 / messages, sched1 - sched0,
               (sched1 - sched0) * 1e6 / messages, nprocs);
    }
    printf("\n");
    for (int i = 0; i < nconns; i++) {
        close(c[i].fd);
    }
    free(c);
    free(block);
    free(rbuf);
    close(ep);
    return 0;
}
