/*
 * PROCESS and THREAD mode, each feature in both modes: the user dispatch function, requests
 * with a reply from a worker (connection_info, heartbeat, sendwait), datagram ports, async
 * reload with messages larger than one IPC datagram, and THREAD error paths (fault
 * injection). src/server/process.c, proc_*.c, thread.c.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "core/fault.h"
#include "sw_test.h"
#include "test_server_util.h"

/* A user dispatch function: connections go to worker 3 at connect (so do the messages it leaves
 * to dispatch_mode 2, and the close); a message starting with a digit 0..3 goes to that
 * worker; "9..." asks for a worker out of range (ignored: dispatch_mode's choice). The info
 * it gets is checked in the server (EV_RESULT a = -1 reports a bad one). */
static int user_dispatch(sw_server_t *srv, const sw_dispatch_info_t *info, void *arg)
{
    (void)srv;
    bool ok = arg == (void *)&user_dispatch && info->session != 0 && info->worker_num == 4 &&
              info->reactor_id >= 0 && info->reactor_id < 2;
    switch (info->event) {
    case SW_DISPATCH_CONNECT:
        ok = ok && info->fd >= 0 && info->port && info->addr && info->addr->sa_family == AF_INET &&
             info->len == 0;
        if (!ok) {
            ev_emit(EV_RESULT, -1, -1, info->event, info->session);
        }
        return 3;
    case SW_DISPATCH_DATA:
        ok = ok && info->fd >= 0 && info->port && info->addr && info->data && info->len > 0;
        if (!ok) {
            ev_emit(EV_RESULT, -1, -1, info->event, info->session);
        }
        if (info->data[0] >= '0' && info->data[0] <= '3') {
            return info->data[0] - '0';
        }
        return info->data[0] == '9' ? 9 : -1;
    case SW_DISPATCH_CLOSE:
        ok = ok && info->fd == -1 && !info->data && !info->addr;
        ev_emit(EV_RESULT, -1, ok ? 100 : -1, info->event, info->session);
        return -1;
    }
    ev_emit(EV_RESULT, -1, -1, 0, info->session);
    return -1;
}

static int set_dispatch(sw_server_t *srv, sw_port_t *port)
{
    (void)port;
    sw_server_options_t o;
    int r = sw_server_get_options(srv, &o);
    if (r == 0) {
        o.dispatch_func = user_dispatch;
        o.dispatch_arg = (void *)&user_dispatch;
        r = sw_server_set_options(srv, &o);
    }
    return r;
}

static void dispatch_func_check(sw_server_mode_t mode)
{
    srv_spec_t spec = {.mode = mode,
                       .workers = 4,
                       .report_recv = true,
                       .setup = set_dispatch,
                       .opts = {{"reactor_num", "2"}, {"log_level", "none"}}};
    srv_t s;
    srv_start(&s, &spec, 4);
    for (int k = 0; k < 3; k++) {
        int fd = cli_tcp(s.port);
        static const char *msgs[] = {"2 to two", "plain", "0 to zero", "9 out of range", "3"};
        static const int want[] = {2, 3, 0, 3, 3};
        for (int i = 0; i < 5; i++) {
            cli_echo(fd, msgs[i]);
            const ev_t *e = srv_wait(&s, EV_RECV, -1, scaled_ms(5000));
            ASSERT_NOT_NULL(e);
            ASSERT_EQ(e->worker, want[i]);
        }
        const ev_t *c = srv_wait(&s, EV_CONNECT, -1, scaled_ms(5000));
        ASSERT_NOT_NULL(c);
        ASSERT_EQ(c->worker, 3);
        close(fd);
        ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, 3, scaled_ms(5000)));
        const ev_t *r = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
        ASSERT_NOT_NULL(r);
        ASSERT_EQ(r->a, 100);
    }
    ASSERT_EQ(srv_stop(&s, 15), 0);
    srv_poll(&s);
    for (int i = 0; i < s.nevs; i++) {
        if (s.evs[i].type == EV_RESULT) {
            ASSERT_NE(s.evs[i].a, -1);
        }
    }
}

SW_TEST_TIMEOUT(thread_dispatch_func, 60)
{
    dispatch_func_check(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(process_dispatch_func, 60)
{
    dispatch_func_check(SW_MODE_PROCESS);
}

/* connection_info, heartbeat and sendwait from a worker: requests answered by the reactor
 * thread that owns the connection (src/server/proc_query.c). */
static void query_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                          size_t len, void *arg)
{
    (void)arg;
    int me = sw_server_worker_id(srv);
    if (len == 4 && !memcmp(data, "info", 4)) {
        sw_connection_info_t info;
        int r = sw_server_connection_info(srv, session, &info);
        bool ok = r == 0 && info.session == session && info.worker_id == me &&
                  info.reactor_id == reactor_id && info.fd >= 0 && info.port &&
                  info.remote_port > 0 && !strcmp(info.remote_ip, "127.0.0.1") &&
                  info.socket_type == SW_SOCK_TCP && info.connect_time > 0;
        ev_emit(EV_RESULT, me, r, ok ? info.remote_port : -1, session);
        (void)sw_server_send(srv, session, "info", 4);
    } else if (len > 5 && !memcmp(data, "info ", 5)) {
        char buf[32];
        size_t n = len - 5 < sizeof(buf) - 1 ? len - 5 : sizeof(buf) - 1;
        memcpy(buf, data + 5, n);
        buf[n] = '\0';
        sw_connection_info_t info;
        int r = sw_server_connection_info(srv, strtoull(buf, NULL, 10), &info);
        ev_emit(EV_RESULT, me, r, 0, session);
        (void)sw_server_send(srv, session, "info", 4);
    } else if (len >= 2 && !memcmp(data, "hb", 2)) {
        uint64_t ids[16];
        bool close_them = len == 7 && !memcmp(data, "hbclose", 7);
        int r = sw_server_heartbeat(srv, close_them, ids, 16);
        ev_emit(EV_RESULT, me, r, r > 0 ? (int64_t)ids[0] : 0, session);
        (void)sw_server_send(srv, session, "hb", 2);
    } else if (len == 4 && !memcmp(data, "wait", 4)) {
        static char big[256 << 10];
        memset(big, 'w', sizeof(big));
        int r = sw_server_sendwait(srv, session, big, sizeof(big), 10000);
        ev_emit(EV_RESULT, me, r, 0, session);
    } else if (len == 5 && !memcmp(data, "flood", 5)) {
        /* 16 MiB queued for a client that does not read, then a sendwait that cannot finish
         * in time. */
        static char chunk[1 << 20];
        int r = 0;
        for (int i = 0; i < 16 && r == 0; i++) {
            r = sw_server_send(srv, session, chunk, sizeof(chunk));
        }
        if (r == 0) {
            r = sw_server_sendwait(srv, session, "!", 1, 200);
        }
        ev_emit(EV_RESULT, me, r, 1, session);
    } else {
        (void)sw_server_send(srv, session, data, len);
    }
}

static void worker_queries(sw_server_mode_t mode)
{
    srv_spec_t spec = {.mode = mode,
                       .workers = 1,
                       .opts = {{"reactor_num", "2"},
                                {"heartbeat_check_interval", "600"},
                                {"heartbeat_idle_time", "0.3"},
                                {"socket_buffer_size", "67108864"}},
                       .h = {.on_receive = query_receive}};
    srv_t s;
    srv_start(&s, &spec, 1);
    /* connection_info, and the default on_connect's (its EV_CONNECT b is the client port). */
    int a = cli_tcp(s.port);
    char buf[8];
    cli_send(a, "info", 4);
    cli_recv(a, buf, 4);
    const ev_t *e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    ASSERT_GT(e->b, 0);
    uint64_t sa = e->s;
    const ev_t *c = srv_wait(&s, EV_CONNECT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(c->b, e->b);
    /* sendwait: returns once 256 KiB are written (the client reads them). */
    cli_send(a, "wait", 4);
    static char got[256 << 10];
    cli_recv(a, got, sizeof(got));
    ASSERT_EQ(got[0], 'w');
    ASSERT_EQ(got[sizeof(got) - 1], 'w');
    e = srv_wait(&s, EV_RESULT, -1, scaled_ms(10000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    /* heartbeat: a stays idle; b asks for the idle connections of its worker, then closes
     * them. */
    usleep(600 * 1000);
    int b = cli_tcp(s.port);
    cli_send(b, "hb", 2);
    cli_recv(b, buf, 2);
    e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 1);
    ASSERT_EQ((uint64_t)e->b, sa);
    cli_send(b, "hbclose", 7);
    cli_recv(b, buf, 2);
    e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 1);
    int r = cli_wait_close(a);
    ASSERT_TRUE(r == 0 || r == SW_ECONNRESET);
    close(a);
    /* connection_info of the closed session. */
    char m[64];
    snprintf(m, sizeof(m), "info %llu", (unsigned long long)sa);
    cli_send(b, m, strlen(m));
    cli_recv(b, buf, 4);
    e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, SW_ESESSION);
    /* sendwait times out behind 16 MiB the client does not read. */
    cli_send(b, "flood", 5);
    e = srv_wait(&s, EV_RESULT, -1, scaled_ms(10000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, SW_ETIMEDOUT);
    close(b);
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

SW_TEST_TIMEOUT(thread_worker_queries, 60)
{
    worker_queries(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(process_worker_queries, 60)
{
    worker_queries(SW_MODE_PROCESS);
}

/* Datagram ports: the reactor threads read them and hand each datagram with its sender's
 * address to a worker (one sender -> one worker in dispatch modes 2/4/5); on_packet answers
 * with sw_server_sendto on the shared socket. A second, TCP port runs alongside. */
static void packet_report(sw_server_t *srv, const sw_packet_t *pkt, void *arg)
{
    (void)arg;
    char buf[128];
    int n = snprintf(buf, sizeof(buf), "%d:", sw_server_worker_id(srv));
    size_t len = pkt->len < sizeof(buf) - (size_t)n ? pkt->len : sizeof(buf) - (size_t)n;
    memcpy(buf + n, pkt->data, len);
    bool ok = pkt->worker_id == sw_server_worker_id(srv) && pkt->addrlen > 0 && pkt->port;
    int r = sw_server_sendto(srv, pkt->port, pkt->addr, pkt->addrlen, buf, (size_t)n + len);
    if (r < 0 || !ok) {
        ev_emit(EV_RESULT, sw_server_worker_id(srv), r < 0 ? r : -1, 0, 0);
    }
}

static int add_tcp_port(sw_server_t *srv, sw_port_t *port)
{
    (void)port;
    sw_port_t *tcp = NULL;
    int r = sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP, &tcp);
    if (r == 0) {
        ev_emit(EV_RESULT, -1, sw_port_number(tcp), 1, 0);
    }
    return r;
}

static void udp_echo(sw_server_mode_t mode, bool v6)
{
    enum { NC = 6, NM = 20 };
    srv_spec_t spec = {.mode = mode,
                       .workers = 3,
                       .type = v6 ? SW_SOCK_UDP6 : SW_SOCK_UDP,
                       .setup = add_tcp_port,
                       .opts = {{"reactor_num", "2"}},
                       .h = {.on_packet = packet_report}};
    srv_t s;
    srv_start(&s, &spec, 3);
    const ev_t *tp = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(tp);
    int fds[NC];
    int worker[NC];
    for (int i = 0; i < NC; i++) {
        fds[i] = cli_udp(s.port, v6);
        worker[i] = -1;
    }
    for (int m = 0; m < NM; m++) {
        for (int i = 0; i < NC; i++) {
            char msg[32], got[64];
            int n = snprintf(msg, sizeof(msg), "c%d m%d", i, m);
            cli_send(fds[i], msg, (size_t)n);
            ssize_t r = recv(fds[i], got, sizeof(got) - 1, 0);
            ASSERT_GT(r, 2);
            got[r] = '\0';
            char *colon = strchr(got, ':');
            ASSERT_NOT_NULL(colon);
            ASSERT_STR_EQ(colon + 1, msg);
            int w = atoi(got);
            ASSERT_TRUE(w >= 0 && w < 3);
            if (worker[i] < 0) {
                worker[i] = w;
            }
            ASSERT_EQ(w, worker[i]); /* one sender, one worker */
        }
    }
    for (int i = 0; i < NC; i++) {
        close(fds[i]);
    }
    /* The TCP port works alongside. */
    int t = cli_tcp(tp->a);
    cli_echo(t, "tcp too");
    close(t);
    ASSERT_EQ(srv_stop(&s, 15), 0);
    srv_poll(&s);
    for (int i = 0; i < s.nevs; i++) {
        if (s.evs[i].type == EV_RESULT) {
            ASSERT_GE(s.evs[i].a, 0);
        }
    }
}

SW_TEST_TIMEOUT(thread_udp_echo, 60)
{
    udp_echo(SW_MODE_THREAD, false);
}

SW_TEST_TIMEOUT(thread_udp6_echo, 60)
{
    udp_echo(SW_MODE_THREAD, true);
}

SW_TEST_TIMEOUT(process_udp_echo, 60)
{
    udp_echo(SW_MODE_PROCESS, false);
}

/* Unix datagram port: the default on_packet echoes to the (bound) sender. */
static void unix_dgram_echo(sw_server_mode_t mode)
{
    char path[64], cpath[64];
    snprintf(path, sizeof(path), "/tmp/sw_tmode_ud_%d.sock", (int)getpid());
    snprintf(cpath, sizeof(cpath), "/tmp/sw_tmode_uc_%d.sock", (int)getpid());
    unlink(cpath);
    srv_spec_t spec = {.mode = mode,
                       .workers = 2,
                       .type = SW_SOCK_UNIX_DGRAM,
                       .host = path,
                       .opts = {{"reactor_num", "2"}}};
    srv_t s;
    srv_start(&s, &spec, 2);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    struct sockaddr_un ca = {.sun_family = AF_UNIX}, sa = {.sun_family = AF_UNIX};
    strcpy(ca.sun_path, cpath);
    strcpy(sa.sun_path, path);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&ca, sizeof(ca)), 0);
    ASSERT_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cli_timeout(fd, scaled_ms(5000));
    for (int m = 0; m < 10; m++) {
        char msg[32], got[64];
        int n = snprintf(msg, sizeof(msg), "unix %d", m);
        ASSERT_EQ(send(fd, msg, (size_t)n, 0), n);
        ASSERT_EQ(recv(fd, got, sizeof(got), 0), n);
        ASSERT_MEM_EQ(got, msg, (size_t)n);
    }
    close(fd);
    unlink(cpath);
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

SW_TEST_TIMEOUT(thread_unix_dgram_echo, 60)
{
    unix_dgram_echo(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(process_unix_dgram_echo, 60)
{
    unix_dgram_echo(SW_MODE_PROCESS);
}

/* Async reload with messages larger than one IPC datagram (150 KiB, sent in pieces) flowing:
 * the old worker completes the message it has begun and finishes before its replacement reads
 * or writes the channels, so no message is split between the two and every echo arrives,
 * byte-exact and in order. */
enum { BIG_N = 40, BIG_LEN = 150 * 1024 };

typedef struct {
    int fd;
    unsigned char *buf;
} big_sender_t;

static void big_fill(unsigned char *m, int k)
{
    uint32_t body = BIG_LEN - 4;
    m[0] = (unsigned char)(body >> 24);
    m[1] = (unsigned char)(body >> 16);
    m[2] = (unsigned char)(body >> 8);
    m[3] = (unsigned char)body;
    uint32_t seed = 1234u + (uint32_t)k;
    for (size_t i = 4; i < BIG_LEN; i++) {
        seed = seed * 1103515245u + 12345u;
        m[i] = (unsigned char)(seed >> 16);
    }
}

static void *big_send(void *p)
{
    big_sender_t *s = p;
    for (int k = 0; k < BIG_N; k++) {
        big_fill(s->buf, k);
        size_t off = 0;
        while (off < BIG_LEN) {
            ssize_t n = send(s->fd, s->buf + off, BIG_LEN - off, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                return NULL;
            }
            off += (size_t)n;
        }
    }
    return NULL;
}

static void big_reload(sw_server_mode_t mode)
{
    srv_spec_t spec = {.mode = mode,
                       .workers = 1,
                       .opts = {{"reactor_num", "1"}, {"reload_async", "true"}},
                       .port_opts = {{"open_length_check", "true"},
                                     {"package_length_type", "N"},
                                     {"package_length_offset", "0"},
                                     {"package_body_offset", "4"},
                                     {"package_max_length", "1048576"}}};
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_tcp(s.port);
    cli_timeout(fd, scaled_ms(20000));
    big_sender_t bs = {.fd = fd, .buf = malloc(BIG_LEN)};
    unsigned char *want = malloc(BIG_LEN), *got = malloc(BIG_LEN);
    ASSERT_NOT_NULL(bs.buf);
    ASSERT_NOT_NULL(want);
    ASSERT_NOT_NULL(got);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, big_send, &bs), 0);
    for (int k = 0; k < BIG_N; k++) {
        if (k == 5 || k == 20) {
            ASSERT_EQ(kill(s.pid, SIGUSR1), 0);
        }
        size_t off = 0;
        while (off < BIG_LEN) {
            ssize_t n = recv(fd, got + off, BIG_LEN - off, 0);
            if (n <= 0) {
                pthread_join(t, NULL);
                sw_test_fail(__FILE__, __LINE__, "echo %d: %s after %zu bytes", k,
                             n == 0 ? "EOF" : strerror(errno), off);
            }
            off += (size_t)n;
        }
        big_fill(want, k);
        if (memcmp(want, got, BIG_LEN) != 0) {
            pthread_join(t, NULL);
            sw_test_fail(__FILE__, __LINE__, "echo %d differs", k);
        }
    }
    pthread_join(t, NULL);
    close(fd);
    free(bs.buf);
    free(want);
    free(got);
    ASSERT_EQ(srv_stop(&s, 20), 0);
    ASSERT_GE(srv_count(&s, EV_WSTART), 2);
}

SW_TEST_TIMEOUT(process_reload_async_big_messages, 120)
{
    big_reload(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(thread_reload_async_big_messages, 120)
{
    big_reload(SW_MODE_THREAD);
}

/* Error paths (fault injection). A worker thread that cannot be created at start (the
 * reactor thread passes, the first worker fails): the start fails and nothing is left
 * running. */
SW_TEST_TIMEOUT(thread_fault_worker_thread_at_start, 60)
{
    SRV_NEED_FAULTS();
    srv_spec_t spec = {.mode = SW_MODE_THREAD,
                       .workers = 2,
                       .fault = {"thread", 1, 1},
                       .opts = {{"reactor_num", "1"}, {"log_level", "none"}}};
    srv_t s;
    ASSERT_EQ(srv_start_failure(&s, &spec), SW_EAGAIN);
    ASSERT_EQ(srv_count(&s, EV_START), 0);
}

/* The memory channels cannot be made (no eventfd): the start fails. */
SW_TEST_TIMEOUT(thread_fault_channels, 60)
{
    SRV_NEED_FAULTS();
    srv_spec_t spec = {.mode = SW_MODE_THREAD,
                       .workers = 2,
                       .fault = {"eventfd", 0, -1},
                       .opts = {{"reactor_num", "1"}, {"log_level", "none"}}};
    srv_t s;
    ASSERT_LT(srv_start_failure(&s, &spec), 0);
    ASSERT_EQ(srv_count(&s, EV_START), 0);
    ASSERT_EQ(srv_count(&s, EV_WSTART), 0);
}

/* max_request recycles the only worker thread, but its replacement cannot be created once
 * (the reactor and the first worker pass, the first respawn fails): the master retries a
 * second later and the client's next message is answered then. */
SW_TEST_TIMEOUT(thread_fault_respawn_retried, 60)
{
    SRV_NEED_FAULTS();
    srv_spec_t spec = {.mode = SW_MODE_THREAD,
                       .workers = 1,
                       .fault = {"thread", 2, 1},
                       .opts = {{"reactor_num", "1"}, {"max_request", "1"}, {"log_level", "none"}}};
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_tcp(s.port);
    cli_echo(fd, "first");
    /* The worker stopped after "first"; this one waits in its queue for the retry. */
    cli_echo(fd, "second");
    close(fd);
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_GE(srv_count(&s, EV_WSTART), 2); /* a third once "second" recycled it */
}

/* Calls on a THREAD server that is not running, and from threads that are not workers. */
SW_TEST(thread_calls_not_running)
{
    sw_server_t *srv;
    ASSERT_OK(sw_server_create(&srv, SW_MODE_THREAD));
    ASSERT_EQ(sw_server_mode(srv), SW_MODE_THREAD);
    ASSERT_ERR(sw_server_reload(srv), SW_ESERVER_STATE);
    ASSERT_ERR(sw_server_shutdown(srv), SW_ESERVER_STATE);
    ASSERT_EQ(sw_server_worker_id(srv), -1);
    ASSERT_EQ(sw_server_worker_pid(srv), 0);
    ASSERT_NULL(sw_server_loop(srv));
    ASSERT_ERR(sw_server_send(srv, 1, "x", 1), SW_ESERVER_STATE);
    ASSERT_ERR(sw_server_heartbeat(srv, false, NULL, 0), SW_ENOT_WORKER);
    sw_connection_info_t info;
    ASSERT_ERR(sw_server_connection_info(srv, 1, &info), SW_ESERVER_STATE);
    ASSERT_ERR(sw_server_sendwait(srv, 1, "x", 1, 10), SW_ESERVER_STATE);
    ASSERT_OK(sw_server_destroy(srv));
}
