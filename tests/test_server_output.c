/*
 * BASE mode, the output path (src/server/output.c): sends corked in the reactor's cork buffer,
 * interleaved between connections, spilled into the connection's own chain when the socket
 * is full, big sends written straight from the caller's memory, ordering against sendfile,
 * close after output, the socket_buffer_size cap and the queued-bytes figure.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/fault.h"
#include "sw_test.h"
#include "test_server_util.h"

/* The byte at offset i of message k: distinct per message and position. */
static char pat(int k, size_t i)
{
    return (char)('A' + (k * 7 + (int)(i % 251)) % 61);
}

static void fill(char *p, int k, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = pat(k, i);
    }
}

/* Receives `len` bytes and checks them against message k. */
static int check_msg(int fd, int k, size_t len)
{
    char *buf = malloc(len);
    if (!buf) {
        return -1;
    }
    cli_recv(fd, buf, len);
    int bad = 0;
    for (size_t i = 0; i < len && !bad; i++) {
        bad = buf[i] != pat(k, i);
    }
    free(buf);
    return bad ? -1 : 0;
}

/* A client with a small receive buffer, so that the server's socket fills up at once. */
static int cli_small(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    cli_timeout(fd, scaled_ms(10000));
    return fd;
}

static uint64_t other;  /* the session of the client that said "peer" */
static uint64_t pinned; /* the session of the client that said "pin" */

/* Out of memory lifted: one more send, which must arrive after the pinned bytes. */
static void unpin(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    sw_server_t *srv = arg;
    int64_t hits = sw__fault_hits("alloc");
    sw__fault_set("alloc", 0, 0);
    char b[1000];
    fill(b, 60, sizeof(b));
    int r = sw_server_send(srv, pinned, b, sizeof(b));
    ev_emit(EV_RESULT, 0, r, hits, pinned);
}

static void out_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                        size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    static char m[4][300000];
    if (len == 4 && !memcmp(data, "peer", 4)) {
        other = session;
        sw_server_send(srv, session, "ok", 2);
    } else if (len == 5 && !memcmp(data, "inter", 5)) {
        /* Alternate between two connections: only the first span of each is contiguous in
         * the cork buffer; the rest go to chains behind it. Then a big one and a small one. */
        int r = 0;
        fill(m[0], 0, 100);
        fill(m[1], 1, 200);
        fill(m[2], 2, 300000);
        fill(m[3], 3, 50);
        r |= sw_server_send(srv, session, m[0], 100);
        r |= sw_server_send(srv, other, m[1], 200);
        r |= sw_server_send(srv, session, m[1], 200);
        r |= sw_server_send(srv, other, m[0], 100);
        r |= sw_server_send(srv, session, m[2], 300000);
        r |= sw_server_send(srv, session, m[3], 50);
        r |= sw_server_send(srv, other, m[3], 50);
        sw_connection_info_t info;
        r |= sw_server_connection_info(srv, other, &info);
        ev_emit(EV_RESULT, 0, r, (int64_t)info.send_queued_bytes, session);
    } else if (len == 5 && !memcmp(data, "spill", 5)) {
        /* Many small sends to a socket that takes little: the cork span reaches the flush
         * threshold, is written in part and the rest spilled; later sends queue behind it. */
        int r = 0;
        for (int k = 0; k < 200 && r == 0; k++) {
            char b[1000];
            fill(b, k, sizeof(b));
            r = sw_server_send(srv, session, b, sizeof(b));
        }
        ev_emit(EV_RESULT, 0, r, 0, session);
    } else if (len == 3 && !memcmp(data, "big", 3)) {
        /* A big send to an empty queue (written from here, the rest queued), then a small. */
        fill(m[2], 5, 300000);
        fill(m[3], 6, 10);
        int r = sw_server_send(srv, session, m[2], 300000);
        r |= sw_server_send(srv, session, m[3], 10);
        ev_emit(EV_RESULT, 0, r, 0, session);
    } else if (len == 5 && !memcmp(data, "close", 5)) {
        /* Corked bytes, then a graceful close: everything arrives, then the end. */
        int r = 0;
        for (int k = 0; k < 30; k++) {
            char b[3000];
            fill(b, k, sizeof(b));
            r |= sw_server_send(srv, session, b, sizeof(b));
        }
        r |= sw_server_close(srv, session, 0);
        ev_emit(EV_RESULT, 0, r, 0, session);
    } else if (len == 3 && !memcmp(data, "pin", 3)) {
        /* 60,000 bytes corked, then no memory: the flush finds the socket full and cannot
         * spill the rest into a chain, so the span stays in the cork buffer until written. */
        uint64_t id;
        pinned = session;
        sw_server_after(srv, 100, unpin, srv, &id);
        int r = 0;
        for (int k = 0; k < 60 && r == 0; k++) {
            char b[1000];
            fill(b, k, sizeof(b));
            r = sw_server_send(srv, session, b, sizeof(b));
        }
        sw__fault_set("alloc", 0, -1);
        if (r < 0) {
            ev_emit(EV_RESULT, 0, r, 0, session);
        }
    } else if (len == 3 && !memcmp(data, "cap", 3)) {
        /* socket_buffer_size is 16384 for this test: corked bytes count against it. */
        fill(m[0], 8, 10000);
        int r1 = sw_server_send(srv, session, m[0], 10000);
        int r2 = sw_server_send(srv, session, m[0], 10000);
        sw_connection_info_t info;
        sw_server_connection_info(srv, session, &info);
        ev_emit(EV_RESULT, 0, r1, r2, info.send_queued_bytes);
    }
}

SW_TEST(cork_interleaved_connections)
{
    srv_spec_t spec = {.workers = 1};
    spec.h.on_receive = out_receive;
    srv_t s;
    srv_start(&s, &spec, 1);
    int a = cli_tcp(s.port);
    int b = cli_tcp(s.port);
    char ok[2];
    cli_send(b, "peer", 4);
    cli_recv(b, ok, 2);
    cli_send(a, "inter", 5);
    const ev_t *e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    ASSERT_EQ(e->b, 350); /* corked for the other connection, not written yet */
    ASSERT_EQ(check_msg(a, 0, 100), 0);
    ASSERT_EQ(check_msg(a, 1, 200), 0);
    ASSERT_EQ(check_msg(a, 2, 300000), 0);
    ASSERT_EQ(check_msg(a, 3, 50), 0);
    ASSERT_EQ(check_msg(b, 1, 200), 0);
    ASSERT_EQ(check_msg(b, 0, 100), 0);
    ASSERT_EQ(check_msg(b, 3, 50), 0);
    /* Both still work. */
    cli_send(b, "peer", 4);
    cli_recv(b, ok, 2);
    close(a);
    close(b);
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

SW_TEST(cork_spill_and_big_sends_keep_order)
{
    srv_spec_t spec = {.workers = 1, .port_opts = {{"kernel_socket_send_buffer_size", "4096"}}};
    spec.h.on_receive = out_receive;
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_small(s.port);
    ASSERT_GE(fd, 0);
    cli_send(fd, "spill", 5);
    const ev_t *e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    usleep(20000); /* let the server meet a full socket before anything is read */
    for (int k = 0; k < 200; k++) {
        ASSERT_EQ(check_msg(fd, k, 1000), 0);
    }
    cli_send(fd, "big", 3);
    e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    usleep(20000);
    ASSERT_EQ(check_msg(fd, 5, 300000), 0);
    ASSERT_EQ(check_msg(fd, 6, 10), 0);
    /* Again, now that the queue has drained: the fast path is back. */
    cli_send(fd, "spill", 5);
    ASSERT_NOT_NULL(srv_wait(&s, EV_RESULT, -1, scaled_ms(5000)));
    for (int k = 0; k < 200; k++) {
        ASSERT_EQ(check_msg(fd, k, 1000), 0);
    }
    close(fd);
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

SW_TEST(cork_close_after_output)
{
    srv_spec_t spec = {.workers = 1, .port_opts = {{"kernel_socket_send_buffer_size", "4096"}}};
    spec.h.on_receive = out_receive;
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_small(s.port);
    ASSERT_GE(fd, 0);
    cli_send(fd, "close", 5);
    const ev_t *e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    usleep(20000);
    for (int k = 0; k < 30; k++) {
        ASSERT_EQ(check_msg(fd, k, 3000), 0);
    }
    char c;
    ASSERT_EQ(recv(fd, &c, 1, 0), 0); /* then the end of the stream */
    close(fd);
    ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000)));
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

SW_TEST(cork_counts_against_the_cap)
{
    srv_spec_t spec = {.workers = 1, .port_opts = {{"socket_buffer_size", "16384"}}};
    spec.h.on_receive = out_receive;
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_tcp(s.port);
    cli_send(fd, "cap", 3);
    const ev_t *e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    ASSERT_EQ(e->b, SW_EOVERFLOW_OUTPUT);
    ASSERT_EQ(e->s, 10000);
    ASSERT_EQ(check_msg(fd, 8, 10000), 0);
    close(fd);
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

SW_TEST(cork_pinned_when_spill_fails)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("needs -DSWOOLE_FAULT_INJECTION=ON");
    }
    srv_spec_t spec = {.workers = 1, .port_opts = {{"kernel_socket_send_buffer_size", "4096"}}};
    spec.h.on_receive = out_receive;
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_small(s.port);
    ASSERT_GE(fd, 0);
    cli_send(fd, "pin", 3);
    /* Read nothing until the server has failed its allocations and sent once more. */
    const ev_t *e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    ASSERT_GT(e->b, 0); /* the spill did try to allocate, and failed */
    for (int k = 0; k <= 60; k++) {
        ASSERT_EQ(check_msg(fd, k, 1000), 0);
    }
    /* The connection and the buffer are fine afterwards. */
    cli_send(fd, "spill", 5);
    ASSERT_NOT_NULL(srv_wait(&s, EV_RESULT, -1, scaled_ms(5000)));
    for (int k = 0; k < 200; k++) {
        ASSERT_EQ(check_msg(fd, k, 1000), 0);
    }
    close(fd);
    ASSERT_EQ(srv_stop(&s, 10), 0);
}
