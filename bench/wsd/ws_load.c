/*
 * Load generator for the WebSocket echo benchmark (issue 8, item 10; bench/wsd/run.sh).
 *
 *   ws_load --port P [--host 127.0.0.1] [--path /ws] [--conns 100] [--size 512]
 *           [--seconds 5] [--warmup 1] [--binary] [--timeout 10] [--server-pid PID]
 *
 * Opens `conns` connections, each with a real HTTP/1.1 upgrade handshake (the 101 status and
 * Sec-WebSocket-Accept are checked by sw_ws_client_verify of the library's codec). Each
 * connection then keeps exactly one message in flight: it sends a masked frame (text, or
 * binary with --binary) of `size` bytes with a fresh mask key, waits for the whole echoed
 * frame, checks it (unmasked, FIN, same opcode, same length, and the bytes at the start, the
 * middle and the end: the start carries the connection's index and message number) and sends
 * the next one. After `warmup` seconds (connections set up before), the messages completed
 * during `seconds` are counted, with the client's own CPU time (getrusage) over that window.
 * With --server-pid, the server's CPU time over the same window is read from /proc: utime +
 * stime of the process and every process descending from it (all their threads), and the
 * scheduler's run time of every live thread (see bench/echo/proc_cpu.h).
 *
 * Output: one line of key=value pairs for the run script. Every failure (refused
 * connection, refused or short handshake, wrong Sec-WebSocket-Accept, a wrong echo, a close
 * frame, an echo slower than --timeout seconds) prints one line to stderr and exits with 1;
 * bad options exit with 2. Everything is bounded: connections, message size, durations, the
 * handshake response (8 KiB), and the time to wait for any handshake or echo.
 */
/* memmem, getrandom: _GNU_SOURCE comes from the build (CMakeLists.txt). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../echo/proc_cpu.h"
#include "swoole/websocket.h"

#define MAX_CONNS     50000
#define MAX_SIZE      ((size_t)64 << 20) /* 64 MiB */
#define HANDSHAKE_MAX 8192               /* bytes of the 101 response head */
#define CONNECT_BATCH 64                 /* handshakes in progress at once */
#define TAG_LEN       16                 /* "%08x%08x": connection index, message number */
#define EVENTS        256

enum { ST_IDLE, ST_CONNECTING, ST_HANDSHAKE, ST_OPEN };

typedef struct {
    int fd;
    int state;
    bool pollout;   /* EPOLLOUT is registered */
    bool awaiting;  /* a message is in flight */
    uint32_t index; /* position in the connection array */
    uint64_t seq;   /* messages completed on this connection */
    double since;   /* when the handshake or the message in flight started */
    uint8_t *out;   /* bytes to write: the request, then frames */
    size_t out_len, out_off;
    uint8_t *in; /* bytes read and not yet consumed */
    size_t in_len;
    char key[SW_WS_KEY_LEN + 1];
    char tag[TAG_LEN]; /* the start of the payload in flight */
} conn_t;

typedef struct {
    const char *host, *path;
    int port, nconns, server_pid;
    size_t size;
    double seconds, warmup, timeout;
    unsigned opcode;
    struct sockaddr_storage sa;
    socklen_t salen;
    char hosthdr[300];
    int ep;
    conn_t *c;
    size_t in_cap, out_cap;
    uint8_t *base; /* the payload pattern (printable ASCII: valid text) */
    uint64_t rng;
    uint64_t msgs; /* completed messages, all phases */
    int opened, connecting, open_count;
} load_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_self(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *fmt, const conn_t *c, const char *what)
{
    fprintf(stderr, "ws_load: ");
    if (c) {
        fprintf(stderr, "connection %u: ", c->index);
    }
    fprintf(stderr, fmt, what ? what : "");
    fputc('\n', stderr);
    exit(1);
}

/* xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators"):
 * mask keys need to differ per frame, not to be secret, for a load generator. */
static uint32_t rnd32(load_t *l)
{
    l->rng ^= l->rng >> 12;
    l->rng ^= l->rng << 25;
    l->rng ^= l->rng >> 27;
    return (uint32_t)((l->rng * 0x2545F4914F6CDD1DULL) >> 32);
}

static void set_events(load_t *l, conn_t *c, bool out)
{
    if (c->pollout == out) {
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.u32 = c->index};
    if (epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        die("epoll_ctl: %s", c, strerror(errno));
    }
    c->pollout = out;
}

/* A send failed: if the server's last words are in the socket (a close frame, e.g. 1009 for a
 * message over its limit), they say more than EPIPE does. */
static void send_failed(const load_t *l, conn_t *c, int err)
{
    if (c->state == ST_OPEN) {
        for (;;) {
            ssize_t r = recv(c->fd, c->in + c->in_len, l->in_cap - c->in_len, MSG_DONTWAIT);
            if (r <= 0) {
                break;
            }
            c->in_len += (size_t)r;
        }
        /* Frames before a close frame can only be pings or pongs here (a message is in
         * flight): walk the short ones. */
        size_t off = 0;
        while (c->in_len - off >= 2 && (c->in[off + 1] & 0x7f) < 126) {
            const uint8_t *f = c->in + off;
            size_t n = f[1] & 0x7f;
            if ((f[0] & 0x0f) == SW_WS_OP_CLOSE && c->in_len - off >= 2 + n) {
                unsigned code = n >= 2 ? (unsigned)f[2] << 8 | f[3] : 1005;
                fprintf(stderr, "ws_load: connection %u: the server closed with code %u %.*s\n",
                        c->index, code, n > 2 ? (int)n - 2 : 0, (const char *)f + 4);
                exit(1);
            }
            off += 2 + n;
        }
    }
    die("send: %s", c, strerror(err));
}

/* Writes what is pending; registers EPOLLOUT while some is left. */
static void flush_out(load_t *l, conn_t *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w > 0) {
            c->out_off += (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            send_failed(l, c, w < 0 ? errno : EIO);
        }
    }
    set_events(l, c, c->out_off < c->out_len);
}

/* Builds and starts the next message: header, payload copied from the pattern with the tag
 * in front, masked with a fresh key. */
static void send_message(load_t *l, conn_t *c, double t)
{
    uint32_t k = rnd32(l);
    uint8_t key[4] = {(uint8_t)k, (uint8_t)(k >> 8), (uint8_t)(k >> 16), (uint8_t)(k >> 24)};
    int hl = sw_ws_frame_header(c->out, l->opcode, SW_WS_FIN, l->size, key);
    if (hl < 0) {
        die("frame header: error %s", c, sw_strerror(hl));
    }
    uint8_t *p = c->out + hl;
    memcpy(p, l->base, l->size);
    char tag[TAG_LEN + 1];
    snprintf(tag, sizeof(tag), "%08x%08x", c->index, (unsigned)c->seq);
    memcpy(c->tag, tag, TAG_LEN);
    memcpy(p, tag, l->size < TAG_LEN ? l->size : TAG_LEN);
    sw_ws_mask(p, l->size, key, 0);
    c->out_len = (size_t)hl + l->size;
    c->out_off = 0;
    c->awaiting = true;
    c->since = t;
    flush_out(l, c);
}

static void open_next(load_t *l, double t)
{
    conn_t *c = &l->c[l->opened];
    c->fd = socket(l->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        die("socket: %s", c, strerror(errno));
    }
    int one = 1;
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&l->sa, l->salen) < 0 && errno != EINPROGRESS) {
        fprintf(stderr, "ws_load: connect to %s:%d: %s\n", l->host, l->port, strerror(errno));
        exit(1);
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = c->index};
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        die("epoll_ctl: %s", c, strerror(errno));
    }
    c->pollout = true;
    c->state = ST_CONNECTING;
    c->since = t;
    l->opened++;
    l->connecting++;
}

/* The socket became writable while connecting: check the result, send the upgrade request. */
static void connected(load_t *l, conn_t *c)
{
    int err = 0;
    socklen_t el = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) {
        err = errno;
    }
    if (err) {
        fprintf(stderr, "ws_load: connect to %s:%d: %s\n", l->host, l->port, strerror(err));
        exit(1);
    }
    uint8_t nonce[16];
    if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce)) {
        die("getrandom: %s", c, strerror(errno));
    }
    (void)sw_ws_client_key(nonce, c->key);
    sw_ws_client_options_t o = {.host = l->hosthdr, .path = l->path, .key = c->key};
    int n = sw_ws_client_request(&o, (char *)c->out, l->out_cap);
    if (n < 0) {
        die("cannot write the upgrade request: %s", c, sw_strerror(n));
    }
    c->out_len = (size_t)n;
    c->out_off = 0;
    c->state = ST_HANDSHAKE;
    flush_out(l, c);
}

/* The response head is in c->in[0..end): checks it, keeps what follows it. */
static void handshake_done(load_t *l, conn_t *c, size_t end, double t)
{
    char *head = (char *)c->in;
    char *eol = memchr(head, '\r', end);
    int status = 0;
    int line_len = (int)(eol - head);
    if (sscanf(head, "HTTP/1.%*1[01] %3d", &status) != 1) {
        fprintf(stderr, "ws_load: connection %u: not an HTTP response: %.*s\n", c->index,
                line_len > 200 ? 200 : line_len, head);
        exit(1);
    }
    if (status != 101) {
        fprintf(stderr, "ws_load: connection %u: handshake refused: %.*s\n", c->index,
                line_len > 200 ? 200 : line_len, head);
        exit(1);
    }
    sw_ws_headers_t h;
    sw_ws_headers_init(&h);
    h.status = status;
    h.http_version = 11;
    char *p = eol + 2, *stop = head + end - 2; /* stop: the final empty line's CRLF */
    while (p < stop) {
        char *le = memmem(p, (size_t)(stop - p) + 2, "\r\n", 2);
        char *colon = memchr(p, ':', (size_t)(le - p));
        if (!colon) {
            die("malformed header line in the 101 response", c, NULL);
        }
        char *v = colon + 1;
        (void)sw_ws_headers_add(&h, p, (size_t)(colon - p), v, (size_t)(le - v));
        p = le + 2;
    }
    sw_ws_handshake_t hs;
    int rc = sw_ws_client_verify(&h, c->key, NULL, NULL, &hs);
    if (rc < 0) {
        die("bad 101 response: %s", c, sw_ws_detail_str(hs.detail));
    }
    memmove(c->in, c->in + end, c->in_len - end);
    c->in_len -= end;
    c->state = ST_OPEN;
    l->connecting--;
    l->open_count++;
    send_message(l, c, t);
}

/* Consumes whole frames from c->in. */
static void frames(load_t *l, conn_t *c, double t)
{
    size_t off = 0;
    while (c->in_len - off >= 2) {
        const uint8_t *f = c->in + off;
        size_t avail = c->in_len - off;
        if (f[1] & 0x80) {
            die("the server sent a masked frame", c, NULL);
        }
        size_t hl = 2;
        uint64_t plen = f[1] & 0x7f;
        if (plen == 126) {
            hl = 4;
        } else if (plen == 127) {
            hl = 10;
        }
        if (avail < hl) {
            break;
        }
        if (hl == 4) {
            plen = (uint64_t)f[2] << 8 | f[3];
        } else if (hl == 10) {
            plen = 0;
            for (int i = 2; i < 10; i++) {
                plen = plen << 8 | f[i];
            }
        }
        if (plen > l->in_cap - hl) {
            fprintf(stderr, "ws_load: connection %u: frame of %llu bytes, expected %zu\n", c->index,
                    (unsigned long long)plen, l->size);
            exit(1);
        }
        if (avail < hl + plen) {
            break;
        }
        unsigned op = f[0] & 0x0f;
        const uint8_t *pl = f + hl;
        if (op == SW_WS_OP_CLOSE) {
            unsigned code = plen >= 2 ? (unsigned)pl[0] << 8 | pl[1] : 1005;
            fprintf(stderr, "ws_load: connection %u: the server closed with code %u %.*s\n",
                    c->index, code, plen > 2 ? (int)plen - 2 : 0, (const char *)pl + 2);
            exit(1);
        }
        if (op != SW_WS_OP_PING && op != SW_WS_OP_PONG) {
            /* A data frame: the echo of the message in flight. */
            if (!c->awaiting) {
                die("a message arrived with none in flight", c, NULL);
            }
            if (op != l->opcode || !(f[0] & SW_WS_FIN) || (f[0] & 0x70)) {
                fprintf(stderr,
                        "ws_load: connection %u: echo frame 0x%02x (expected a final %s "
                        "frame without RSV bits)\n",
                        c->index, f[0], l->opcode == SW_WS_OP_TEXT ? "text" : "binary");
                exit(1);
            }
            /* The tag (first bytes), then the pattern at the middle and at the end. */
            size_t tl = l->size < TAG_LEN ? l->size : TAG_LEN, mid = l->size / 2;
            if (plen != l->size || memcmp(pl, c->tag, tl) != 0 ||
                (mid >= TAG_LEN && pl[mid] != l->base[mid]) ||
                (l->size > TAG_LEN && pl[l->size - 1] != l->base[l->size - 1])) {
                fprintf(stderr,
                        "ws_load: connection %u: wrong echo of message %llu: %llu bytes "
                        "(sent %zu) starting \"%.*s\"\n",
                        c->index, (unsigned long long)c->seq, (unsigned long long)plen, l->size,
                        (int)(plen < TAG_LEN ? plen : TAG_LEN), (const char *)pl);
                exit(1);
            }
            c->awaiting = false;
            c->seq++;
            l->msgs++;
        }
        off += hl + plen;
    }
    if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    if (!c->awaiting && c->out_off == c->out_len) {
        send_message(l, c, t);
    }
}

static void readable(load_t *l, conn_t *c, double t)
{
    if (c->in_len == l->in_cap) {
        die("receive buffer full", c, NULL);
    }
    ssize_t r = recv(c->fd, c->in + c->in_len, l->in_cap - c->in_len, 0);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return;
    }
    if (r <= 0) {
        fprintf(
            stderr, "ws_load: connection %u: %s%s after %zu bytes of %s\n", c->index,
            r == 0 ? "the server closed the connection" : "recv: ", r == 0 ? "" : strerror(errno),
            c->in_len, c->state == ST_HANDSHAKE ? "the handshake response" : "a frame");
        exit(1);
    }
    c->in_len += (size_t)r;
    if (c->state == ST_HANDSHAKE) {
        uint8_t *e = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (e) {
            handshake_done(l, c, (size_t)(e - c->in) + 4, t);
        } else if (c->in_len >= HANDSHAKE_MAX) {
            die("handshake response head over 8 KiB", c, NULL);
        }
        if (c->state != ST_OPEN) {
            return;
        }
    }
    frames(l, c, t);
}

static void usage(void)
{
    fprintf(stderr, "usage: ws_load --port P [--host H] [--path /ws] [--conns N] [--size BYTES]\n"
                    "               [--seconds S] [--warmup S] [--binary] [--timeout S]\n"
                    "               [--server-pid PID]\n");
    exit(2);
}

static double num(const char *v, double lo, double hi, const char *name)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !(d >= lo && d <= hi)) {
        fprintf(stderr, "ws_load: %s must be a number in [%g, %g]\n", name, lo, hi);
        exit(2);
    }
    return d;
}

static void parse(load_t *l, int argc, char **argv)
{
    l->host = "127.0.0.1";
    l->path = "/ws";
    l->nconns = 100;
    l->size = 512;
    l->seconds = 5;
    l->warmup = 1;
    l->timeout = 10;
    l->opcode = SW_WS_OP_TEXT;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        if (!strcmp(k, "--binary")) {
            l->opcode = SW_WS_OP_BINARY;
            continue;
        }
        if (i + 1 >= argc) {
            usage();
        }
        const char *v = argv[++i];
        if (!strcmp(k, "--host")) {
            l->host = v;
        } else if (!strcmp(k, "--path")) {
            l->path = v;
        } else if (!strcmp(k, "--port")) {
            l->port = (int)num(v, 1, 65535, k);
        } else if (!strcmp(k, "--conns")) {
            l->nconns = (int)num(v, 1, MAX_CONNS, k);
        } else if (!strcmp(k, "--size")) {
            l->size = (size_t)num(v, 1, (double)MAX_SIZE, k);
        } else if (!strcmp(k, "--seconds")) {
            l->seconds = num(v, 0.1, 3600, k);
        } else if (!strcmp(k, "--warmup")) {
            l->warmup = num(v, 0, 600, k);
        } else if (!strcmp(k, "--timeout")) {
            l->timeout = num(v, 0.1, 600, k);
        } else if (!strcmp(k, "--server-pid")) {
            l->server_pid = (int)num(v, 1, 1 << 30, k);
        } else {
            fprintf(stderr, "ws_load: unknown option %s\n", k);
            usage();
        }
    }
    if (!l->port || l->path[0] != '/') {
        usage();
    }
}

static void resolve(load_t *l)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    char port[16];
    snprintf(port, sizeof(port), "%d", l->port);
    int rc = getaddrinfo(l->host, port, &hints, &ai);
    if (rc) {
        fprintf(stderr, "ws_load: %s: %s\n", l->host, gai_strerror(rc));
        exit(2);
    }
    memcpy(&l->sa, ai->ai_addr, ai->ai_addrlen);
    l->salen = ai->ai_addrlen;
    bool v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    snprintf(l->hosthdr, sizeof(l->hosthdr), v6 ? "[%.256s]:%d" : "%.256s:%d", l->host, l->port);
}

/* Fails when a handshake or an echo has waited longer than the timeout. */
static void check_stalls(const load_t *l, double t)
{
    for (int i = 0; i < l->opened; i++) {
        const conn_t *c = &l->c[i];
        bool waiting = c->state != ST_OPEN || c->awaiting;
        if (waiting && t - c->since > l->timeout) {
            fprintf(stderr, "ws_load: connection %u: no %s in %g s\n", c->index,
                    c->state == ST_CONNECTING  ? "connection"
                    : c->state == ST_HANDSHAKE ? "handshake response"
                                               : "echo",
                    l->timeout);
            exit(1);
        }
    }
}

int main(int argc, char **argv)
{
    load_t l = {0};
    parse(&l, argc, argv);
    resolve(&l);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)l.nconns + 64) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)l.nconns + 64 ? rl.rlim_max : (rlim_t)l.nconns + 64;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrandom(&l.rng, sizeof(l.rng), 0) != (ssize_t)sizeof(l.rng) || !l.rng) {
        l.rng = 0x9E3779B97F4A7C15ULL;
    }
    l.out_cap = l.size + SW_WS_MAX_FRAME_HEADER < 2048 ? 2048 : l.size + SW_WS_MAX_FRAME_HEADER;
    /* Room for the echo, a control frame behind it, or the handshake response head. */
    l.in_cap = l.size + SW_WS_MAX_FRAME_HEADER + 2 + SW_WS_MAX_CONTROL_PAYLOAD;
    if (l.in_cap < HANDSHAKE_MAX) {
        l.in_cap = HANDSHAKE_MAX;
    }
    l.base = malloc(l.size);
    l.c = calloc((size_t)l.nconns, sizeof(conn_t));
    l.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!l.base || !l.c || l.ep < 0) {
        die("out of memory or epoll_create1 failed%s", NULL, "");
    }
    for (size_t i = 0; i < l.size; i++) {
        l.base[i] = (uint8_t)('a' + (i * 7) % 26);
    }
    for (int i = 0; i < l.nconns; i++) {
        l.c[i].index = (uint32_t)i;
        l.c[i].fd = -1;
        l.c[i].out = malloc(l.out_cap);
        l.c[i].in = malloc(l.in_cap);
        if (!l.c[i].out || !l.c[i].in) {
            die("out of memory%s", NULL, "");
        }
    }

    /* Phases: setup (handshakes), warm-up, measured window. */
    double t = now_s(), t_setup = t, t_warm = 0, t0 = 0, t_end = 0, last_check = t;
    double cpu0 = 0, sched0 = 0, self0 = 0;
    uint64_t msgs0 = 0;
    int nprocs = 0;
    int phase = 0;
    struct epoll_event ev[EVENTS];
    for (;;) {
        while (phase == 0 && l.opened < l.nconns && l.connecting < CONNECT_BATCH) {
            open_next(&l, t);
        }
        if (phase == 0 && l.open_count == l.nconns) {
            phase = 1;
            t_warm = t;
            t_setup = t - t_setup;
        }
        if (phase == 1 && t >= t_warm + l.warmup) {
            phase = 2;
            if (l.server_pid && read_cpu(l.server_pid, &cpu0, &sched0, &nprocs) < 0) {
                fprintf(stderr, "ws_load: cannot read the CPU time of process %d\n", l.server_pid);
                return 1;
            }
            self0 = cpu_self();
            msgs0 = l.msgs;
            t0 = now_s();
            t_end = t0 + l.seconds;
        }
        if (phase == 2 && t >= t_end) {
            break;
        }
        int n = epoll_wait(l.ep, ev, EVENTS, 50);
        if (n < 0 && errno != EINTR) {
            die("epoll_wait: %s", NULL, strerror(errno));
        }
        t = now_s();
        for (int e = 0; e < n; e++) {
            conn_t *c = &l.c[ev[e].data.u32];
            uint32_t what = ev[e].events;
            if (c->state == ST_CONNECTING) {
                if (what & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
                    connected(&l, c);
                }
                continue;
            }
            if ((what & EPOLLOUT) && c->out_off < c->out_len) {
                flush_out(&l, c);
                if (!c->awaiting && c->out_off == c->out_len && c->state == ST_OPEN) {
                    send_message(&l, c, t);
                }
            }
            if (what & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                readable(&l, c, t);
            }
        }
        if (t - last_check >= 0.25) {
            check_stalls(&l, t);
            last_check = t;
        }
    }
    double t1 = now_s(), self1 = cpu_self(), cpu1 = 0, sched1 = 0;
    if (l.server_pid && read_cpu(l.server_pid, &cpu1, &sched1, &nprocs) < 0) {
        fprintf(stderr, "ws_load: cannot read the CPU time of process %d\n", l.server_pid);
        return 1;
    }
    uint64_t m = l.msgs - msgs0;
    double el = t1 - t0;
    if (!m) {
        die("no message completed in the measured window%s", NULL, "");
    }
    printf("conns=%d size=%zu type=%s setup_s=%.3f messages=%llu seconds=%.3f msgs_per_s=%.0f "
           "client_cpu_s=%.3f client_us_per_msg=%.4f",
           l.nconns, l.size, l.opcode == SW_WS_OP_TEXT ? "text" : "binary", t_setup,
           (unsigned long long)m, el, (double)m / el, self1 - self0, (self1 - self0) * 1e6 / m);
    if (l.server_pid) {
        printf(" cpu_s=%.3f cpu_us_per_msg=%.4f sched_s=%.4f sched_us_per_msg=%.4f procs=%d",
               cpu1 - cpu0, (cpu1 - cpu0) * 1e6 / m, sched1 - sched0, (sched1 - sched0) * 1e6 / m,
               nprocs);
    }
    printf("\n");
    for (int i = 0; i < l.nconns; i++) {
        if (l.c[i].fd >= 0) {
            close(l.c[i].fd);
        }
        free(l.c[i].out);
        free(l.c[i].in);
    }
    free(l.c);
    free(l.base);
    close(l.ep);
    return 0;
}
