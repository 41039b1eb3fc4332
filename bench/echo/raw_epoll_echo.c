/*
 * The raw-epoll anchor for the loop echo benchmark (issue 3, item 17): the least a TCP echo
 * server on Linux can do. Level-triggered epoll, one 64 KiB read buffer, echo with write();
 * only when the socket will not take everything is the rest kept in a per-connection buffer
 * and EPOLLOUT armed (reading stops until it drains).
 *
 *   raw_epoll_echo [--host H] [--port P]      prints "listening on H:P"; SIGINT/SIGTERM stop it
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536

typedef struct {
    char *pending; /* bytes not yet written back */
    size_t len, off;
} conn_t;

static volatile sig_atomic_t stop;
static conn_t *conns;
static int max_fd = 65536;

static void on_signal(int s)
{
    (void)s;
    stop = 1;
}

static void close_conn(int ep, int fd)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    free(conns[fd].pending);
    conns[fd] = (conn_t){0};
    close(fd);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 9502;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--host") == 0) {
            host = argv[i + 1];
        } else if (strcmp(argv[i], "--port") == 0) {
            port = atoi(argv[i + 1]);
        }
    }
    conns = calloc((size_t)max_fd, sizeof(conn_t));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "bad host %s\n", host);
        return 1;
    }
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 512) < 0) {
        perror("bind/listen");
        return 1;
    }
    socklen_t sl = sizeof(sa);
    getsockname(lfd, (struct sockaddr *)&sa, &sl);
    struct sigaction act = {.sa_handler = on_signal};
    sigaction(SIGINT, &act, NULL);
    sigaction(SIGTERM, &act, NULL);
    signal(SIGPIPE, SIG_IGN);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    printf("listening on %s:%d\n", host, ntohs(sa.sin_port));
    fflush(stdout);
    static char buf[BUF_SIZE];
    struct epoll_event events[512];
    while (!stop) {
        int n = epoll_wait(ep, events, 512, -1);
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == lfd) {
                for (;;) {
                    int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (c < 0) {
                        break;
                    }
                    if (c >= max_fd) {
                        close(c);
                        continue;
                    }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            conn_t *cn = &conns[fd];
            if (events[i].events & EPOLLOUT) {
                ssize_t w = write(fd, cn->pending + cn->off, cn->len - cn->off);
                if (w < 0 && errno != EAGAIN) {
                    close_conn(ep, fd);
                    continue;
                }
                if (w > 0) {
                    cn->off += (size_t)w;
                }
                if (cn->off == cn->len) {
                    free(cn->pending);
                    cn->pending = NULL;
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = fd};
                    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
                }
                continue;
            }
            ssize_t r = read(fd, buf, sizeof(buf));
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) {
                    continue;
                }
                close_conn(ep, fd);
                continue;
            }
            ssize_t w = write(fd, buf, (size_t)r);
            if (w < 0) {
                if (errno != EAGAIN) {
                    close_conn(ep, fd);
                    continue;
                }
                w = 0;
            }
            if (w < r) {
                cn->len = (size_t)(r - w);
                cn->off = 0;
                cn->pending = malloc(cn->len);
                memcpy(cn->pending, buf + w, cn->len);
                struct epoll_event cev = {.events = EPOLLOUT, .data.fd = fd};
                epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
            }
        }
    }
    close(ep);
    close(lfd);
    free(conns);
    return 0;
}
