/*
 * End-to-end check of examples/loop_echo, run by the ctest entries examples.loop_echo*.
 *
 *     echo_check LOOP_ECHO [--host H] [--signal TERM|INT] [--arg X]... [--half-close no]
 *                [--flood no] [--udp]
 *
 * Starts LOOP_ECHO --host H --port 0 (then every --arg X, in order: examples/echo_server
 * --arg --mode --arg process), reads its "listening on H:P" line, then as a client:
 * echoes messages from 1 byte to 64 KiB over several connections at once; pushes 128 MiB without
 * reading until the server stops taking bytes (its back-pressure), then reads it all back;
 * half-closes after 768 KiB and expects every byte and then end of file; resets a connection
 * with data in flight. Every echo is compared byte for byte. With two connections still open
 * (one idle, one with bytes queued) it sends the signal and expects exit status 0 within
 * EXIT_BOUND_MS, end of file on the open connections, and nothing more on the server's stdout.
 *
 * Exit status: 0 passed, 1 failed (the reason on stderr), 77 skipped (H is an IPv6 address
 * and this machine has no IPv6 loopback). Every wait is bounded; nothing here measures speed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STEP_BOUND_MS  30000 /* any single exchange */
#define START_BOUND_MS 20000
#define EXIT_BOUND_MS  10000
#define STUCK_MS       300 /* a socket that takes nothing for this long counts as full */

static pid_t server_pid = -1;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static _Noreturn void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("echo_check: FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (server_pid > 0) {
        kill(server_pid, SIGKILL);
        waitpid(server_pid, NULL, 0);
    }
    exit(1);
}

/* Stream `seed` is a 65521-byte table (a prime period, so no chunk size lines up with it)
 * read from a seed-dependent start: a dropped, repeated or reordered block shows up, and
 * making and checking the bytes costs a memcpy/memcmp. */
#define PERIOD 65521
static unsigned char table[2 * PERIOD];

static void table_init(void)
{
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < PERIOD; i++) {
        x ^= x << 13; /* xorshift32 (Marsaglia, "Xorshift RNGs", 2003) */
        x ^= x >> 17;
        x ^= x << 5;
        table[i] = table[i + PERIOD] = (unsigned char)x;
    }
}

/* Up to PERIOD bytes of stream `seed` from position `pos`. */
static const unsigned char *pattern_at(uint32_t seed, size_t pos, size_t *avail)
{
    size_t start = (pos + (size_t)seed * 7919u) % PERIOD;
    *avail = PERIOD;
    return table + start;
}

static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        die("getaddrinfo %s: %s", host, gai_strerror(rc));
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
            close(fd);
            fd = -1;
            continue;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t len = sizeof(err);
        if (poll(&pfd, 1, STEP_BOUND_MS) != 1 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        die("cannot connect to %s:%s", host, port);
    }
    return fd;
}

/* One connection's exchange: `len` bytes of stream `seed` go out, the same come back. */
typedef struct {
    int fd;
    uint32_t seed;
    size_t len;
    size_t sent;
    size_t got;
} xfer_t;

typedef enum {
    PUMP_BOTH,      /* send and receive until every transfer is complete */
    PUMP_SEND,      /* only send, until everything is sent */
    PUMP_SEND_STUCK /* only send, until everything is sent or nothing went out for STUCK_MS */
} pump_mode_t;

/* Moves bytes as `mode` says, within STEP_BOUND_MS. Returns 1 when done, 0 when stuck. */
static int pump(xfer_t *x, int n, pump_mode_t mode)
{
    int recv_too = mode == PUMP_BOTH;
    static unsigned char in[65536];
    uint64_t deadline = now_ms() + STEP_BOUND_MS;
    for (;;) {
        struct pollfd pfd[16];
        int open = 0;
        for (int i = 0; i < n; i++) {
            pfd[i].fd = x[i].fd;
            pfd[i].events = 0;
            pfd[i].revents = 0;
            if (x[i].sent < x[i].len) {
                pfd[i].events |= POLLOUT;
            }
            if (x[i].got < x[i].len && recv_too) {
                pfd[i].events |= POLLIN;
            }
            if (x[i].sent < x[i].len || (recv_too && x[i].got < x[i].len)) {
                open++;
            }
        }
        if (open == 0) {
            return 1;
        }
        uint64_t t = now_ms();
        if (t >= deadline) {
            die("exchange did not finish within %d ms", STEP_BOUND_MS);
        }
        int wait = mode == PUMP_SEND_STUCK ? STUCK_MS : (int)(deadline - t);
        int rc = poll(pfd, (nfds_t)n, wait);
        if (rc < 0 && errno != EINTR) {
            die("poll: %s", strerror(errno));
        }
        if (rc == 0 && mode == PUMP_SEND_STUCK) {
            return 0;
        }
        for (int i = 0; i < n && rc > 0; i++) {
            xfer_t *c = &x[i];
            if ((pfd[i].revents & POLLOUT) && c->sent < c->len) {
                size_t k;
                const unsigned char *src = pattern_at(c->seed, c->sent, &k);
                if (k > c->len - c->sent) {
                    k = c->len - c->sent;
                }
                ssize_t w = send(c->fd, src, k, MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN && errno != EINTR) {
                    die("send after %zu of %zu bytes: %s", c->sent, c->len, strerror(errno));
                }
                c->sent += w > 0 ? (size_t)w : 0;
            }
            if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) && c->got < c->len) {
                ssize_t r = recv(c->fd, in, sizeof(in), 0);
                if (r == 0) {
                    die("server closed a connection after %zu of %zu bytes", c->got, c->len);
                }
                if (r < 0 && errno != EAGAIN && errno != EINTR) {
                    die("recv after %zu of %zu bytes: %s", c->got, c->len, strerror(errno));
                }
                if (r > 0 && c->got + (size_t)r > c->sent) {
                    die("received bytes that were never sent");
                }
                for (size_t j = 0; r > 0 && j < (size_t)r;) {
                    size_t k;
                    const unsigned char *want = pattern_at(c->seed, c->got + j, &k);
                    if (k > (size_t)r - j) {
                        k = (size_t)r - j;
                    }
                    if (memcmp(in + j, want, k) != 0) {
                        die("the echo differs within bytes %zu..%zu", c->got + j, c->got + j + k);
                    }
                    j += k;
                }
                c->got += r > 0 ? (size_t)r : 0;
            }
        }
    }
}

/* Waits until the peer closes `fd` (end of file or reset), draining what arrives. */
static void expect_eof(int fd, const char *what)
{
    uint64_t deadline = now_ms() + STEP_BOUND_MS;
    char buf[4096];
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        uint64_t t = now_ms();
        if (t >= deadline) {
            die("%s: no end of file within %d ms", what, STEP_BOUND_MS);
        }
        if (poll(&pfd, 1, (int)(deadline - t)) <= 0) {
            continue;
        }
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r == 0 || (r < 0 && errno == ECONNRESET)) {
            return;
        }
    }
}

/* Starts the server with its stdout on a pipe; returns the port it prints. */
static const char *extra_args[16];
static int nextra;
/* --half-close no skips step 3 (end of stream while replies are on their way), for a server
 * that does not keep the connection open after the peer's end of stream. Every echo_server
 * mode does (PROCESS/THREAD wait for the worker's close acknowledgement), so the tests use
 * it for none of them. */
static int half_close = 1;
/* --flood no skips step 2 (128 MiB sent while the echo is not read), for a server without
 * output backpressure; every echo_server mode has it, so the tests use it for none. */
static int flood = 1;
/* --udp: the server echoes datagrams (echo_server --udp, passed on by this option): datagrams
 * of 1 byte to 60,000 bytes, each answered whole, instead of the stream steps. */
static int udp;

static char *start_server(const char *exe, const char *host, int *out_fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        die("pipe: %s", strerror(errno));
    }
    server_pid = fork();
    if (server_pid < 0) {
        die("fork: %s", strerror(errno));
    }
    if (server_pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        const char *av[6 + 16] = {exe, "--host", host, "--port", "0"};
        for (int i = 0; i < nextra; i++) {
            av[5 + i] = extra_args[i];
        }
        av[5 + nextra] = NULL;
        execv(exe, (char *const *)av);
        fprintf(stderr, "echo_check: exec %s: %s\n", exe, strerror(errno));
        _exit(127);
    }
    close(p[1]);
    static char line[512];
    size_t len = 0;
    uint64_t deadline = now_ms() + START_BOUND_MS;
    while (len == 0 || line[len - 1] != '\n') {
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        uint64_t t = now_ms();
        if (t >= deadline) {
            die("no \"listening on\" line within %d ms", START_BOUND_MS);
        }
        if (poll(&pfd, 1, (int)(deadline - t)) <= 0) {
            continue;
        }
        ssize_t r = read(p[0], line + len, sizeof(line) - 1 - len);
        if (r <= 0) {
            die("the server exited before listening");
        }
        len += (size_t)r;
        if (len == sizeof(line) - 1) {
            die("first output line too long");
        }
    }
    line[len - 1] = '\0';
    char prefix[300];
    snprintf(prefix, sizeof(prefix), "listening on %s:", host);
    char *port = line + strlen(prefix);
    if (strncmp(line, prefix, strlen(prefix)) != 0 || strchr(line, '\n') ||
        strspn(port, "0123456789") != strlen(port) || *port == '\0' || atoi(port) == 0) {
        die("unexpected first line \"%s\" (want \"%sPORT\" alone)", line, prefix);
    }
    *out_fd = p[0];
    return port;
}

static int ipv6_loopback_available(const char *host)
{
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
    if (inet_pton(AF_INET6, host, &sa.sin6_addr) != 1) {
        return 1; /* not an IPv6 literal: nothing to check */
    }
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* Echoes datagrams of several sizes through the server, each checked byte for byte; a lost
 * datagram (the loopback does not lose them unless a buffer overflows) is sent again. */
static void udp_steps(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        die("getaddrinfo %s: %s", host, gai_strerror(rc));
    }
    int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
        die("udp socket: %s", strerror(errno));
    }
    freeaddrinfo(res);
    static const size_t sizes[] = {1, 100, 1472, 8000, 60000};
    static unsigned char back[65536];
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        const unsigned char *msg = table + s * 1000;
        int ok = 0;
        for (int attempt = 0; attempt < 5 && !ok; attempt++) {
            if (send(fd, msg, sizes[s], 0) != (ssize_t)sizes[s]) {
                die("udp send of %zu bytes: %s", sizes[s], strerror(errno));
            }
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            while (!ok && poll(&pfd, 1, 2000) == 1) {
                ssize_t r = recv(fd, back, sizeof(back), 0);
                if (r < 0) {
                    die("udp recv: %s", strerror(errno));
                }
                if ((size_t)r != sizes[s] || memcmp(back, msg, sizes[s]) != 0) {
                    continue; /* an echo of an earlier attempt */
                }
                ok = 1;
            }
        }
        if (!ok) {
            die("no echo of a %zu-byte datagram", sizes[s]);
        }
    }
    close(fd);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int sig = SIGTERM;
    if (argc < 2) {
        fprintf(stderr, "usage: echo_check LOOP_ECHO [--host H] [--signal TERM|INT]\n");
        return 2;
    }
    for (int i = 2; i < argc; i += 2) {
        if (strcmp(argv[i], "--udp") == 0) {
            udp = 1;
            i--; /* no value */
            continue;
        }
        if (i + 1 >= argc) {
            break;
        }
        if (strcmp(argv[i], "--host") == 0) {
            host = argv[i + 1];
        } else if (strcmp(argv[i], "--signal") == 0) {
            sig = strcmp(argv[i + 1], "INT") == 0 ? SIGINT : SIGTERM;
        } else if (strcmp(argv[i], "--flood") == 0) {
            flood = strcmp(argv[i + 1], "no") != 0;
        } else if (strcmp(argv[i], "--half-close") == 0) {
            half_close = strcmp(argv[i + 1], "no") != 0;
        } else if (strcmp(argv[i], "--arg") == 0 && nextra < 16) {
            extra_args[nextra++] = argv[i + 1];
        }
    }
    if (!ipv6_loopback_available(host)) {
        printf("echo_check: no IPv6 loopback here: skipped\n");
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    table_init();

    if (udp && nextra < 16) {
        extra_args[nextra++] = "--udp";
    }
    int out_fd;
    int idle = -1;
    xfer_t held = {.fd = -1};
    char *port = start_server(argv[1], host, &out_fd);
    if (udp) {
        udp_steps(host, port);
        goto stop;
    }

    /* 1. Four connections at once, message sizes from 1 byte to 64 KiB, one after another. */
    static const size_t sizes[] = {1, 7, 100, 1460, 4096, 65535, 65536, 200000};
    xfer_t x[4];
    for (int i = 0; i < 4; i++) {
        x[i].fd = connect_to(host, port);
    }
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        for (int i = 0; i < 4; i++) {
            x[i] = (xfer_t){.fd = x[i].fd, .seed = (uint32_t)(s * 4 + i), .len = sizes[s]};
        }
        pump(x, 4, PUMP_BOTH);
    }
    for (int i = 0; i < 4; i++) {
        close(x[i].fd);
    }

    /* 2. Back-pressure: 128 MiB sent without reading. A server that pushes back stops reading
     * once its queue passes its limit and we get stuck after at most that plus the socket
     * buffers on the way (tens of MiB at the most with Linux's default autotuning). A server
     * that does not push back queues until the loop's 64 MiB cap fails its write, and closes
     * the connection. Then the whole stream is read back. */
    if (flood) {
        xfer_t big = {.fd = connect_to(host, port), .seed = 99, .len = 128u << 20};
        pump(&big, 1, PUMP_SEND_STUCK);
        if (big.sent == big.len) {
            die("128 MiB went out without reading a byte back: the server does not push back");
        }
        pump(&big, 1, PUMP_BOTH);
        close(big.fd);
    }

    /* 3. Half-close: every byte still comes back, then end of file. 768 KiB stays under the
     * server's pause limit, so it all goes out before we read anything. */
    if (half_close) {
        xfer_t half = {.fd = connect_to(host, port), .seed = 7, .len = 768u << 10};
        pump(&half, 1, PUMP_SEND);
        shutdown(half.fd, SHUT_WR);
        pump(&half, 1, PUMP_BOTH);
        expect_eof(half.fd, "half-closed connection");
        close(half.fd);
    }

    /* 4. A connection reset with data in flight must not disturb the server. */
    int rst = connect_to(host, port);
    char junk[1000];
    memset(junk, 'x', sizeof(junk));
    if (send(rst, junk, sizeof(junk), MSG_NOSIGNAL) < 0) {
        die("send: %s", strerror(errno));
    }
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(rst, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(rst);

    /* 5. Still serving: one more echo. Then leave an idle connection and one with 2 MiB that
     * we do not read (the server holds a queue for it) open across the signal. */
    xfer_t again = {.fd = connect_to(host, port), .seed = 5, .len = 1000};
    pump(&again, 1, PUMP_BOTH);
    idle = again.fd;
    held = (xfer_t){.fd = connect_to(host, port), .seed = 6, .len = 2u << 20};
    pump(&held, 1, PUMP_SEND_STUCK);

stop:;
    uint64_t t0 = now_ms();
    if (kill(server_pid, sig) < 0) {
        die("kill: %s", strerror(errno));
    }
    int status = 0;
    for (;;) {
        pid_t r = waitpid(server_pid, &status, WNOHANG);
        if (r == server_pid) {
            break;
        }
        if (r < 0) {
            die("waitpid: %s", strerror(errno));
        }
        if (now_ms() - t0 > EXIT_BOUND_MS) {
            die("server still running %d ms after %s", EXIT_BOUND_MS,
                sig == SIGINT ? "SIGINT" : "SIGTERM");
        }
        usleep(10000);
    }
    server_pid = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        die("server ended with %s %d, want exit status 0",
            WIFEXITED(status) ? "exit status" : "signal",
            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
    if (!udp) {
        expect_eof(idle, "idle connection at shutdown");
        expect_eof(held.fd, "busy connection at shutdown");
        close(idle);
        close(held.fd);
    }
    char rest[64];
    ssize_t r = read(out_fd, rest, sizeof(rest));
    if (r != 0) {
        die("the server printed more than one line on stdout");
    }
    close(out_fd);
    printf("echo_check: %s on %s passed (stopped by %s in %llu ms)\n", argv[1], host,
           sig == SIGINT ? "SIGINT" : "SIGTERM", (unsigned long long)(now_ms() - t0));
    return 0;
}
