/*
 * Server test helpers (see test_server_util.h).
 */
#include "test_server_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sw_test.h"

/* The server child's state (a test program's globals: the library itself has none). */
static int g_ev_wfd = -1;
static const srv_spec_t *g_spec;

int scaled_ms(int ms)
{
    const char *m = getenv("SW_TEST_TIMEOUT_MULTIPLIER");
    int k = m ? atoi(m) : 1;
    return ms * (k > 0 ? k : 1);
}

void ev_emit(int type, int worker, int a, int64_t b, uint64_t s)
{
    ev_t e = {.type = type, .worker = worker, .pid = (int)getpid(), .a = a, .b = b, .s = s};
    ssize_t n;
    do {
        n = write(g_ev_wfd, &e, sizeof(e));
    } while (n < 0 && errno == EINTR);
}

/* ---- default handlers ------------------------------------------------------------------------ */

static void d_start(sw_server_t *srv, void *arg)
{
    (void)srv;
    (void)arg;
    ev_emit(EV_START, -1, 0, 0, 0);
}

static void d_shutdown(sw_server_t *srv, void *arg)
{
    (void)srv;
    (void)arg;
    ev_emit(EV_SHUTDOWN, -1, 0, 0, 0);
}

static void d_mstart(sw_server_t *srv, void *arg)
{
    (void)srv;
    (void)arg;
    ev_emit(EV_MSTART, -1, 0, 0, 0);
}

static void d_mstop(sw_server_t *srv, void *arg)
{
    (void)srv;
    (void)arg;
    ev_emit(EV_MSTOP, -1, 0, 0, 0);
}

static void d_wstart(sw_server_t *srv, int id, void *arg)
{
    (void)srv;
    (void)arg;
    ev_emit(EV_WSTART, id, 0, 0, 0);
}

static void d_wstop(sw_server_t *srv, int id, void *arg)
{
    (void)srv;
    (void)arg;
    ev_emit(EV_WSTOP, id, 0, 0, 0);
}

static void d_werror(sw_server_t *srv, int id, pid_t pid, int code, int signo, void *arg)
{
    (void)srv;
    (void)arg;
    ev_t e = {.type = EV_WERROR, .worker = id, .pid = (int)pid, .a = code, .b = signo};
    (void)!write(g_ev_wfd, &e, sizeof(e));
}

static void d_connect(sw_server_t *srv, uint64_t session, int reactor_id, void *arg)
{
    (void)reactor_id;
    (void)arg;
    sw_connection_info_t info;
    int port = 0;
    if (sw_server_connection_info(srv, session, &info) == 0) {
        port = info.remote_port;
    }
    ev_emit(EV_CONNECT, sw_server_worker_id(srv), 0, port, session);
}

static void d_close(sw_server_t *srv, uint64_t session, int reactor_id, void *arg)
{
    (void)arg;
    ev_emit(EV_CLOSE, sw_server_worker_id(srv), reactor_id, 0, session);
}

static void d_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                      size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    if (!g_spec->no_echo) {
        int r = sw_server_send(srv, session, data, len);
        if (r < 0) {
            ev_emit(EV_RESULT, sw_server_worker_id(srv), r, 0, session);
        }
    }
    if (g_spec->report_recv) {
        ev_emit(EV_RECV, sw_server_worker_id(srv), (int)len, 0, session);
    }
}

static void d_full(sw_server_t *srv, uint64_t session, int reactor_id, void *arg)
{
    (void)reactor_id;
    (void)arg;
    ev_emit(EV_FULL, sw_server_worker_id(srv), 0, 0, session);
}

static void d_empty(sw_server_t *srv, uint64_t session, int reactor_id, void *arg)
{
    (void)reactor_id;
    (void)arg;
    ev_emit(EV_EMPTY, sw_server_worker_id(srv), 0, 0, session);
}

static void d_packet(sw_server_t *srv, const sw_packet_t *pkt, void *arg)
{
    (void)arg;
    (void)sw_server_sendto(srv, pkt->port, pkt->addr, pkt->addrlen, pkt->data, pkt->len);
}

#define PICK(f, d) (spec->h.f ? spec->h.f : (d))

static int run_server(const srv_spec_t *spec)
{
    sw_server_t *srv = NULL;
    int r = sw_server_create(&srv, spec->mode ? spec->mode : SW_MODE_BASE);
    if (r < 0) {
        return r;
    }
    char num[16];
    snprintf(num, sizeof(num), "%d", spec->workers > 0 ? spec->workers : 1);
    r = sw_server_set_option(srv, "worker_num", num);
    for (int i = 0; r == 0 && i < 24 && spec->opts[i][0]; i++) {
        r = sw_server_set_option(srv, spec->opts[i][0], spec->opts[i][1]);
    }
    /* For debugging a test: SW_TEST_SERVER_LOG=debug shows the server's log on stderr. */
    const char *lv = getenv("SW_TEST_SERVER_LOG");
    if (r == 0 && lv) {
        r = sw_server_set_option(srv, "log_level", lv);
    }
    sw_port_t *port = NULL;
    sw_sock_type_t type = spec->type ? spec->type : SW_SOCK_TCP;
    const char *host = spec->host;
    if (!host) {
        host = (type == SW_SOCK_TCP6 || type == SW_SOCK_UDP6) ? "::1" : "127.0.0.1";
    }
    if (r == 0) {
        r = sw_server_listen(srv, host, 0, type, &port);
    }
    for (int i = 0; r == 0 && i < 16 && spec->port_opts[i][0]; i++) {
        r = sw_port_set_option(port, spec->port_opts[i][0], spec->port_opts[i][1]);
    }
    if (r == 0 && spec->setup) {
        r = spec->setup(srv, port);
    }
    if (r == 0 && spec->fault.name) {
        sw__fault_set(spec->fault.name, spec->fault.skip, spec->fault.count);
    }
    if (r < 0) {
        ev_emit(EV_START_FAILED, -1, r, 0, 0);
        sw_server_destroy(srv);
        return r;
    }
    sw_server_handlers_t h = {
        .on_start = PICK(on_start, d_start),
        .on_shutdown = PICK(on_shutdown, d_shutdown),
        .on_manager_start = PICK(on_manager_start, d_mstart),
        .on_manager_stop = PICK(on_manager_stop, d_mstop),
        .on_worker_start = PICK(on_worker_start, d_wstart),
        .on_worker_stop = PICK(on_worker_stop, d_wstop),
        .on_worker_error = PICK(on_worker_error, d_werror),
        .on_connect = PICK(on_connect, d_connect),
        .on_receive = PICK(on_receive, d_receive),
        .on_packet = PICK(on_packet, d_packet),
        .on_close = PICK(on_close, d_close),
        .on_buffer_full = PICK(on_buffer_full, d_full),
        .on_buffer_empty = PICK(on_buffer_empty, d_empty),
        .on_task = spec->h.on_task,
        .on_finish = spec->h.on_finish,
        .on_pipe_message = spec->h.on_pipe_message,
    };
    sw_server_set_handlers(srv, &h, NULL);
    ev_emit(EV_PORT, -1, sw_port_number(port), 0, 0);
    r = sw_server_start(srv);
    if (r < 0) {
        ev_emit(EV_START_FAILED, -1, r, 0, 0);
    }
    sw_server_destroy(srv);
    return r;
}

void srv_start(srv_t *s, const srv_spec_t *spec, int wait_workers)
{
    memset(s, 0, sizeof(*s));
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        /* The server dies with the test, whatever happens to the test. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(p[0]);
        g_ev_wfd = p[1];
        g_spec = spec;
        int r = run_server(spec);
        _exit(r < 0 ? 1 : 0);
    }
    close(p[1]);
    s->pid = pid;
    s->ev_fd = p[0];
    const ev_t *e = srv_wait(s, EV_PORT, -1, scaled_ms(10000));
    if (!e) {
        srv_poll(s);
        for (int i = 0; i < s->nevs; i++) {
            if (s->evs[i].type == EV_START_FAILED) {
                sw_test_fail(__FILE__, __LINE__, "server start failed: %s",
                             sw_err_name(s->evs[i].a));
            }
        }
        sw_test_fail(__FILE__, __LINE__, "no port from the server");
    }
    s->port = e->a;
    for (int i = 0; i < wait_workers; i++) {
        if (!srv_wait(s, EV_WSTART, -1, scaled_ms(10000))) {
            sw_test_fail(__FILE__, __LINE__, "worker %d of %d did not start", i, wait_workers);
        }
    }
}

static int read_events(srv_t *s, int ms)
{
    struct pollfd pfd = {.fd = s->ev_fd, .events = POLLIN};
    int n = poll(&pfd, 1, ms);
    if (n <= 0) {
        return 0;
    }
    int got = 0;
    while (s->nevs < 4096) {
        ev_t e;
        ssize_t r = read(s->ev_fd, &e, sizeof(e));
        if (r != (ssize_t)sizeof(e)) {
            break;
        }
        s->evs[s->nevs++] = e;
        got++;
        pfd.revents = 0;
        if (poll(&pfd, 1, 0) <= 0) {
            break;
        }
    }
    return got;
}

void srv_poll(srv_t *s)
{
    while (read_events(s, 0) > 0) {
    }
}

const ev_t *srv_wait(srv_t *s, int type, int worker, int ms)
{
    uint64_t deadline = sw_test_now_ms() + (uint64_t)ms;
    int from = 0;
    for (;;) {
        for (int i = from; i < s->nevs; i++) {
            if (!s->taken[i] && s->evs[i].type == type &&
                (worker < 0 || s->evs[i].worker == worker)) {
                s->taken[i] = 1;
                return &s->evs[i];
            }
        }
        from = 0;
        uint64_t now = sw_test_now_ms();
        if (now >= deadline) {
            return NULL;
        }
        if (read_events(s, (int)(deadline - now)) == 0 && sw_test_now_ms() >= deadline) {
            return NULL;
        }
    }
}

int srv_count(srv_t *s, int type)
{
    srv_poll(s);
    int n = 0;
    for (int i = 0; i < s->nevs; i++) {
        n += s->evs[i].type == type;
    }
    return n;
}

int srv_stop(srv_t *s, int limit_s)
{
    int status = 0;
    if (s->pid > 0) {
        /* Once the server reported on_shutdown or a failed start it is on its way out (its
         * signal watchers are gone, so a SIGTERM now would kill it instead): only wait. */
        if (srv_count(s, EV_SHUTDOWN) == 0 && srv_count(s, EV_START_FAILED) == 0) {
            kill(s->pid, SIGTERM);
        }
        uint64_t deadline = sw_test_now_ms() + (uint64_t)scaled_ms(limit_s * 1000);
        pid_t r;
        while ((r = waitpid(s->pid, &status, WNOHANG)) == 0 && sw_test_now_ms() < deadline) {
            usleep(10000);
        }
        if (r == 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            s->pid = 0;
            close(s->ev_fd);
            sw_test_fail(__FILE__, __LINE__, "server did not stop within %d s", limit_s);
        }
        s->pid = 0;
    }
    srv_poll(s);
    close(s->ev_fd);
    s->ev_fd = -1;
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}

/* ---- clients --------------------------------------------------------------------------------- */

void cli_timeout(int fd, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static int cli_setup(int fd)
{
    int ms = scaled_ms(5000);
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

int cli_tcp(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;
        close(fd);
        sw_test_fail(__FILE__, __LINE__, "connect 127.0.0.1:%d: %s", port, strerror(e));
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return cli_setup(fd);
}

int cli_tcp6(int port)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    a.sin6_addr = in6addr_loopback;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;
        close(fd);
        sw_test_fail(__FILE__, __LINE__, "connect [::1]:%d: %s", port, strerror(e));
    }
    return cli_setup(fd);
}

int cli_unix(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;
        close(fd);
        sw_test_fail(__FILE__, __LINE__, "connect %s: %s", path, strerror(e));
    }
    return cli_setup(fd);
}

int cli_udp(int port, bool v6)
{
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    int r;
    if (v6) {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
        a.sin6_addr = in6addr_loopback;
        r = connect(fd, (struct sockaddr *)&a, sizeof(a));
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        r = connect(fd, (struct sockaddr *)&a, sizeof(a));
    }
    ASSERT_EQ(r, 0);
    return cli_setup(fd);
}

void cli_send(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            sw_test_fail(__FILE__, __LINE__, "send: %s", n < 0 ? strerror(errno) : "0");
        }
        p += n;
        len -= (size_t)n;
    }
}

void cli_recv(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = recv(fd, p + got, len - got, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            sw_test_fail(__FILE__, __LINE__, "recv after %zu of %zu bytes: %s", got, len,
                         n < 0 ? strerror(errno) : "EOF");
        }
        got += (size_t)n;
    }
}

int cli_wait_close(int fd)
{
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n > 0) {
            continue;
        }
        if (n == 0) {
            return 0;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == ECONNRESET) {
            return SW_ECONNRESET;
        }
        return SW_EAGAIN;
    }
}

int pid_alive(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

void cli_echo(int fd, const char *msg)
{
    char buf[256];
    size_t n = strlen(msg);
    ASSERT_LE(n, sizeof(buf));
    cli_send(fd, msg, n);
    cli_recv(fd, buf, n);
    ASSERT_MEM_EQ(buf, msg, n);
}

int64_t cli_send_until_held(int fd, int64_t cap)
{
    static char chunk[4096];
    memset(chunk, 'b', sizeof(chunk));
    int64_t sent = 0;
    int idle_ms = 0;
    while (sent < cap && idle_ms < scaled_ms(1000)) {
        ssize_t n = send(fd, chunk, sizeof(chunk), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            sent += n;
            idle_ms = 0;
        } else {
            ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
            usleep(10000);
            idle_ms += 10;
        }
    }
    return sent;
}

/* ---- server-wide helpers --------------------------------------------------------------------- */

int srv_start_failure(srv_t *s, const srv_spec_t *spec)
{
    srv_start(s, spec, 0);
    const ev_t *e = srv_wait(s, EV_START_FAILED, -1, scaled_ms(10000));
    ASSERT_NOT_NULL(e);
    int code = e->a;
    ASSERT_EQ(srv_stop(s, 10), 1);
    return code;
}

void srv_worker_pids(srv_t *s, pid_t *pids, int n)
{
    srv_poll(s);
    for (int i = 0; i < n; i++) {
        pids[i] = 0;
    }
    for (int i = 0; i < s->nevs; i++) {
        if (s->evs[i].type == EV_WSTART && s->evs[i].worker >= 0 && s->evs[i].worker < n) {
            pids[s->evs[i].worker] = s->evs[i].pid;
        }
    }
}

/* ---- servers of other test helpers (HTTP, WebSocket) ----------------------------------------- */

pid_t fork_server(fork_server_run_fn run, sw_server_mode_t mode, int workers,
                  const char *const *opts, int *report, size_t report_len, const char *what)
{
    int pfd[2];
    ASSERT_EQ(pipe(pfd), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(pfd[0]);
        _exit(run(mode, workers, opts, pfd[1]));
    }
    close(pfd[1]);
    report[0] = -1;
    ssize_t n = read(pfd[0], report, report_len);
    close(pfd[0]);
    if (n != (ssize_t)report_len || report[0] <= 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        sw_test_fail(__FILE__, __LINE__, "the %s server did not start", what);
    }
    return pid;
}

int fork_server_create(sw_server_t **srv, sw_port_t **port, sw_server_mode_t mode, int workers,
                       const char *log_env)
{
    *srv = NULL;
    int r = sw_server_create(srv, mode);
    if (r < 0) {
        *srv = NULL;
        return r;
    }
    char num[16];
    snprintf(num, sizeof(num), "%d", workers);
    r = sw_server_set_option(*srv, "worker_num", num);
    const char *lv = getenv(log_env);
    r |= sw_server_set_option(*srv, "log_level", lv ? lv : "error");
    r |= sw_server_listen(*srv, "127.0.0.1", 0, SW_SOCK_TCP, port);
    return r;
}

void fork_server_stop(pid_t pid, const char *what)
{
    kill(pid, SIGTERM);
    int status = 0;
    uint64_t end = sw_test_now_ms() + (uint64_t)scaled_ms(15000);
    pid_t r;
    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && sw_test_now_ms() < end) {
        usleep(10000);
    }
    if (r == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        sw_test_fail(__FILE__, __LINE__, "the %s server did not stop", what);
    }
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
}

int http_head_field(const char *head, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ') {
                v++;
            }
            const char *e = strstr(v, "\r\n");
            size_t vl = e ? (size_t)(e - v) : strlen(v);
            size_t n = vl < cap ? vl : cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return (int)vl;
        }
    }
    return -1;
}
