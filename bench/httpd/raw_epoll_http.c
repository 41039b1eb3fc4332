/*
 * raw_epoll_http: the floor of bench/httpd/run.sh, the least an HTTP/1.1 keep-alive server
 * can do for `GET /` on this machine. One thread, level-triggered epoll, one recv(2) per
 * readable connection into a 64 KiB buffer; every "\r\n\r\n" in what arrived counts as one
 * request (nothing is parsed: no method, path or header is looked at, bodies are not
 * supported) and all the answers to one read leave in one send(2). The answer is the same as
 * demo_server's (Server, Date, Content-Type, Content-Length, body "hello\n"), its Date
 * rewritten once a second. A request split over two reads is still counted once: the last
 * three bytes of each read are kept to find a terminator that straddles reads.
 *
 *   raw_epoll_http [--host 127.0.0.1] [--port 0]
 *
 * Prints "listening on http://HOST:PORT" and runs until SIGTERM or SIGINT.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS   65536
#define MAX_BATCH 512 /* answers written by one send */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* "HTTP/1.1 200 OK\r\nServer: raw\r\nDate: <29 bytes>\r\n..." with the date at DATE_OFF. */
static const char answer_fmt[] = "HTTP/1.1 200 OK\r\nServer: libswoole\r\n"
                                 "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
                                 "Content-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n";
#define ANSWER_LEN (sizeof(answer_fmt) - 1)
#define DATE_OFF   (sizeof("HTTP/1.1 200 OK\r\nServer: libswoole\r\nDate: ") - 1)

static char out[MAX_BATCH * ANSWER_LEN];
static time_t out_time = -1;
static unsigned char tail[MAX_FDS][3]; /* the last three bytes read on each connection */

static void refresh_date(void)
{
    time_t now = time(NULL);
    if (now == out_time) {
        return;
    }
    out_time = now;
    struct tm tm;
    char date[40];
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    for (int i = 0; i < MAX_BATCH; i++) {
        memcpy(out + (size_t)i * ANSWER_LEN, answer_fmt, ANSWER_LEN);
        memcpy(out + (size_t)i * ANSWER_LEN + DATE_OFF, date, 29);
    }
}

/* Requests ended in buf[0..n) (tail: the three bytes before it). */
static int count_requests(unsigned char *t, const char *buf, size_t n)
{
    int count = 0;
    uint32_t w = (uint32_t)t[0] << 16 | (uint32_t)t[1] << 8 | t[2];
    for (size_t i = 0; i < n; i++) {
        w = w << 8 | (unsigned char)buf[i];
        if (w == 0x0d0a0d0au) {
            count++;
        }
    }
    t[0] = (unsigned char)(w >> 16);
    t[1] = (unsigned char)(w >> 8);
    t[2] = (unsigned char)w;
    return count;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--host") == 0) {
            host = argv[i + 1];
        } else if (strcmp(argv[i], "--port") == 0) {
            port = atoi(argv[i + 1]);
        }
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t alen = sizeof(a);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1 || bind(ls, (struct sockaddr *)&a, alen) < 0 ||
        listen(ls, 4096) < 0 || getsockname(ls, (struct sockaddr *)&a, &alen) < 0) {
        perror("listen");
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    printf("listening on http://%s:%d\n", host, ntohs(a.sin_port));
    fflush(stdout);
    static char buf[65536];
    struct epoll_event evs[256];
    while (!stop) {
        int n = epoll_wait(ep, evs, 256, 1000);
        refresh_date();
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                int c;
                while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    if (c >= MAX_FDS) {
                        close(c);
                        continue;
                    }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    memset(tail[c], 0, 3);
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            ssize_t r = recv(fd, buf, sizeof(buf), 0);
            if (r <= 0) {
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                    continue;
                }
                close(fd); /* also leaves the epoll set */
                continue;
            }
            int k = count_requests(tail[fd], buf, (size_t)r);
            while (k > 0) {
                int m = k < MAX_BATCH ? k : MAX_BATCH;
                /* A loopback socket with an empty send queue takes this at once; a short
                 * write only happens to a client that stopped reading (not in the bench). */
                if (send(fd, out, (size_t)m * ANSWER_LEN, MSG_NOSIGNAL) < 0) {
                    break;
                }
                k -= m;
            }
        }
    }
    close(ep);
    close(ls);
    return 0;
}
