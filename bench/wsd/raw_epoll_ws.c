/*
 * raw_epoll_ws: the floor of bench/wsd/run.sh, the least a WebSocket echo server can do on
 * this machine. One thread, level-triggered epoll, one recv(2) per readable connection into
 * the connection's buffer; every whole frame in it is unmasked in place (sw_ws_mask, the
 * library's SIMD unmasking), the server's frame header is written over the end of the
 * client's (always longer: it carries the 4-byte mask key) and header and payload leave in
 * one send(2). Nothing else: no UTF-8 check of text, no fragment reassembly (each frame is
 * echoed as it came, opcode and FIN bit kept), no limits beyond the buffer's 16 MiB, pings
 * answered, a close frame echoed and the connection closed. The handshake (not measured)
 * uses the library's sw_ws_accept_key; the request is not validated beyond finding the
 * Sec-WebSocket-Key line.
 *
 *   raw_epoll_ws [--host 127.0.0.1] [--port 0]
 *
 * Prints "listening on ws://HOST:PORT" and runs until SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "swoole/websocket.h"

#define MAX_FDS 65536
#define BUF_MIN ((size_t)64 << 10)
#define BUF_MAX ((size_t)16 << 20)

typedef struct {
    bool open;    /* handshake done */
    bool closing; /* a close frame was echoed: close once the output is gone */
    char *in;     /* input not yet consumed */
    size_t in_len, in_cap;
    char *out; /* output the socket did not take */
    size_t out_len, out_off;
} conn_t;

static volatile sig_atomic_t stop;
static conn_t *conns[MAX_FDS];

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void drop(int ep, int fd)
{
    conn_t *c = conns[fd];
    (void)epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    if (c) {
        free(c->in);
        free(c->out);
        free(c);
        conns[fd] = NULL;
    }
}

/* Sends what is pending in c->out, then `p`; keeps what the socket does not take and waits
 * for EPOLLOUT (reading stops meanwhile). Returns -1 when the connection failed. */
static int emit(int ep, int fd, conn_t *c, const char *p, size_t n)
{
    if (c->out_len == c->out_off) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN) {
            return -1;
        }
        size_t done = w > 0 ? (size_t)w : 0;
        p += done;
        n -= done;
        if (n == 0) {
            return 0;
        }
        c->out_len = c->out_off = 0;
    }
    char *o = realloc(c->out, c->out_len + n);
    if (!o) {
        return -1;
    }
    memcpy(o + c->out_len, p, n);
    c->out = o;
    c->out_len += n;
    struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/* Answers the upgrade request in c->in once its head is complete. */
static int handshake(int ep, int fd, conn_t *c)
{
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end) {
        return c->in_len > 8192 ? -1 : 0;
    }
    const char *key = NULL;
    size_t key_len = 0;
    for (char *line = memchr(c->in, '\n', (size_t)(end - c->in)); line && line < end;
         line = memchr(line, '\n', (size_t)(end + 2 - line))) {
        line++;
        if ((size_t)(end - line) > 18 && strncasecmp(line, "Sec-WebSocket-Key:", 18) == 0) {
            key = line + 18;
            while (*key == ' ') {
                key++;
            }
            const char *e = memchr(key, '\r', (size_t)(end + 2 - key));
            key_len = (size_t)(e - key);
            while (key_len && key[key_len - 1] == ' ') {
                key_len--;
            }
        }
    }
    char accept[SW_WS_ACCEPT_LEN + 1], resp[256];
    if (!key || sw_ws_accept_key(key, key_len, accept) < 0) {
        return -1;
    }
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    size_t used = (size_t)(end + 4 - c->in);
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    c->open = true;
    return emit(ep, fd, c, resp, (size_t)n);
}

/* Echoes every whole frame in c->in. */
static int frames(int ep, int fd, conn_t *c)
{
    size_t off = 0;
    while (c->in_len - off >= 2 && !c->closing && c->out_len == c->out_off) {
        unsigned char *f = (unsigned char *)c->in + off;
        size_t avail = c->in_len - off, hl = 2;
        uint64_t len = f[1] & 0x7f;
        bool masked = f[1] & 0x80;
        if (len == 126) {
            hl = 4;
        } else if (len == 127) {
            hl = 10;
        }
        size_t mhl = hl + (masked ? 4 : 0);
        if (avail < mhl) {
            break;
        }
        if (hl == 4) {
            len = (uint64_t)f[2] << 8 | f[3];
        } else if (hl == 10) {
            len = 0;
            for (int i = 2; i < 10; i++) {
                len = len << 8 | f[i];
            }
        }
        if (!masked || len > BUF_MAX - mhl) {
            return -1;
        }
        if (avail < mhl + len) {
            if (mhl + len > c->in_cap) {
                char *b = realloc(c->in, mhl + len);
                if (!b) {
                    return -1;
                }
                c->in = b;
                c->in_cap = mhl + len;
            }
            break;
        }
        unsigned char *payload = f + mhl;
        sw_ws_mask(payload, (size_t)len, f + hl, 0);
        unsigned op = f[0] & 0x0f;
        if (op == SW_WS_OP_PING) {
            op = SW_WS_OP_PONG;
        }
        /* The server's header is the client's without the mask key: it ends at the payload. */
        unsigned char *h = payload - hl;
        memmove(h + 2, f + 2, hl - 2);
        h[0] = (unsigned char)((f[0] & 0xf0) | op);
        h[1] = (unsigned char)(f[1] & 0x7f);
        if (op == SW_WS_OP_CLOSE) {
            c->closing = true;
        }
        if (emit(ep, fd, c, (char *)h, hl + (size_t)len) < 0) {
            return -1;
        }
        off += mhl + (size_t)len;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return 0;
}

static int readable(int ep, int fd, conn_t *c)
{
    if (c->in_len == c->in_cap) {
        return -1; /* a frame larger than the buffer was grown for: cannot happen */
    }
    ssize_t r = recv(fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
        return 0;
    }
    if (r <= 0) {
        return -1;
    }
    c->in_len += (size_t)r;
    if (!c->open && handshake(ep, fd, c) < 0) {
        return -1;
    }
    if (!c->open || frames(ep, fd, c) < 0) {
        return c->open ? -1 : 0;
    }
    return c->closing && c->out_len == c->out_off ? -1 : 0;
}

static int writable(int ep, int fd, conn_t *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN) {
            return 0;
        }
        if (w <= 0) {
            return -1;
        }
        c->out_off += (size_t)w;
    }
    c->out_len = c->out_off = 0;
    if (c->closing) {
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0) {
        return -1;
    }
    return frames(ep, fd, c); /* frames that waited behind the output */
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--host")) {
            host = argv[i + 1];
        } else if (!strcmp(argv[i], "--port")) {
            port = atoi(argv[i + 1]);
        } else {
            fprintf(stderr, "usage: raw_epoll_ws [--host H] [--port P]\n");
            return 2;
        }
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t al = sizeof(a);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ls < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
        bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 4096) < 0 ||
        getsockname(ls, (struct sockaddr *)&a, &al) < 0) {
        perror("raw_epoll_ws: listen");
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    printf("listening on ws://%s:%d\n", host, ntohs(a.sin_port));
    fflush(stdout);
    struct epoll_event evs[512];
    while (!stop) {
        int n = epoll_wait(ep, evs, 512, 200);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                int cfd;
                while ((cfd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    conn_t *c = calloc(1, sizeof(*c));
                    if (cfd >= MAX_FDS || !c || !(c->in = malloc(BUF_MIN))) {
                        free(c);
                        close(cfd);
                        continue;
                    }
                    c->in_cap = BUF_MIN;
                    conns[cfd] = c;
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = cfd};
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
                }
                continue;
            }
            conn_t *c = conns[fd];
            if (!c) {
                continue;
            }
            int rc = 0;
            if (evs[i].events & EPOLLOUT) {
                rc = writable(ep, fd, c);
            } else if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                rc = readable(ep, fd, c);
            }
            if (rc < 0) {
                drop(ep, fd);
            }
        }
    }
    for (int fd = 0; fd < MAX_FDS; fd++) {
        if (conns[fd]) {
            drop(ep, fd);
        }
    }
    close(ep);
    close(ls);
    return 0;
}
