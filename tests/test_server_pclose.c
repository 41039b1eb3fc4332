/*
 * PROCESS and THREAD mode: the end of a connection while the worker still answers, and output
 * that does not fit.
 *
 *  - Half-close: a client that sends and then shuts its side (shutdown(SHUT_WR), `nc -N`,
 *    HTTP/1.0) gets every reply the worker sends before its on_close has run, then the end of
 *    the stream (the reactor keeps the socket until the worker acknowledges the close).
 *  - A worker killed before it acknowledged: the connection still ends (bounded).
 *  - Dispatch mode 1 (no close event): the connection closes at once, as before.
 *  - A forwarded send past socket_buffer_size resets the connection (logged, on_close
 *    delivered): the client sees a prefix of the stream and then its end, never a hole.
 *  - A client that floods without reading is held by the reactor's own pause at the output's
 *    high watermark: nothing is lost, every byte comes back.
 *  - The bus's on_batch hook, on which the reactor threads' one-bracket-per-batch rests.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "sw_test.h"
#include "test_server_util.h"

/* ---- half-close ------------------------------------------------------------------------- */

/* A slow worker: the echo leaves 300 ms after the message came, long after the end of the
 * stream has reached the reactor. */
static void slow_echo(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                      size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    usleep(300000);
    int rc = sw_server_send(srv, session, data, len);
    ev_emit(EV_RESULT, sw_server_worker_id(srv), rc, (int64_t)len, session);
}

static void half_close_slow(sw_server_mode_t mode)
{
    srv_spec_t spec = {
        .mode = mode, .workers = 2, .opts = {{"reactor_num", "2"}}, .h = {.on_receive = slow_echo}};
    srv_t s;
    srv_start(&s, &spec, 2);
    for (int round = 0; round < 3; round++) {
        int fd = cli_tcp(s.port);
        cli_timeout(fd, scaled_ms(10000));
        char msg[64];
        int n = snprintf(msg, sizeof(msg), "reply expected after half-close #%d", round);
        cli_send(fd, msg, (size_t)n);
        ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
        char got[64];
        cli_recv(fd, got, (size_t)n);
        ASSERT_MEM_EQ(got, msg, (size_t)n);
        ASSERT_EQ(cli_wait_close(fd), 0);
        close(fd);
        const ev_t *e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(e->a, 0);
        ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000)));
    }
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_CLOSE), 3);
}

SW_TEST_TIMEOUT(process_half_close_slow_reply, 60)
{
    half_close_slow(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(thread_half_close_slow_reply, 60)
{
    half_close_slow(SW_MODE_THREAD);
}

/* The worker may send until it has handled the close: what on_close sends still arrives. */
static void quiet_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                          size_t len, void *arg)
{
    (void)srv;
    (void)session;
    (void)reactor_id;
    (void)data;
    (void)len;
    (void)arg;
}

static void goodbye_close(sw_server_t *srv, uint64_t session, int reactor_id, void *arg)
{
    (void)arg;
    int rc = sw_server_send(srv, session, "goodbye", 7);
    ev_emit(EV_CLOSE, sw_server_worker_id(srv), reactor_id, rc, session);
}

static void send_in_on_close(sw_server_mode_t mode)
{
    srv_spec_t spec = {
        .mode = mode, .workers = 1, .h = {.on_receive = quiet_receive, .on_close = goodbye_close}};
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_tcp(s.port);
    cli_timeout(fd, scaled_ms(10000));
    cli_send(fd, "hi", 2);
    ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
    char got[8];
    cli_recv(fd, got, 7);
    ASSERT_MEM_EQ(got, "goodbye", 7);
    ASSERT_EQ(cli_wait_close(fd), 0);
    close(fd);
    const ev_t *e = srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->b, 0); /* the send in on_close was accepted */
    ASSERT_GE(e->a, 0); /* closed by the peer: a reactor id */
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

SW_TEST_TIMEOUT(process_send_in_on_close_after_half_close, 60)
{
    send_in_on_close(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(thread_send_in_on_close_after_half_close, 60)
{
    send_in_on_close(SW_MODE_THREAD);
}

/* A bigger exchange: 768 KiB sent, then the half-close; all of it comes back, then the end. */
SW_TEST_TIMEOUT(process_half_close_768k, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS, .workers = 2};
    srv_t s;
    srv_start(&s, &spec, 2);
    enum { LEN = 768 << 10 };
    static char out[LEN], in[LEN];
    for (int i = 0; i < LEN; i++) {
        out[i] = (char)(i * 7 % 251);
    }
    int fd = cli_tcp(s.port);
    cli_timeout(fd, scaled_ms(10000));
    cli_send(fd, out, LEN);
    ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
    cli_recv(fd, in, LEN);
    ASSERT_MEM_EQ(in, out, LEN);
    ASSERT_EQ(cli_wait_close(fd), 0);
    close(fd);
    ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000)));
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

/* The worker dies inside on_receive, before it could acknowledge the close that follows:
 * the connection still ends, within max_wait_time of the death being seen. */
static void dying_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                          size_t len, void *arg)
{
    (void)session;
    (void)reactor_id;
    (void)data;
    (void)len;
    (void)arg;
    ev_emit(EV_RESULT, sw_server_worker_id(srv), 1, 0, session);
    usleep(400000); /* the end of stream reaches the reactor meanwhile */
    raise(SIGKILL);
}

SW_TEST_TIMEOUT(process_worker_killed_before_close_ack, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS,
                       .workers = 1,
                       .opts = {{"max_wait_time", "1"}},
                       .h = {.on_receive = dying_receive}};
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_tcp(s.port);
    cli_timeout(fd, scaled_ms(15000));
    cli_send(fd, "x", 1);
    ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
    ASSERT_NOT_NULL(srv_wait(&s, EV_RESULT, -1, scaled_ms(5000)));
    int r = cli_wait_close(fd);
    ASSERT_TRUE(r == 0 || r == SW_ECONNRESET);
    close(fd);
    /* The replacement serves. */
    ASSERT_NOT_NULL(srv_wait(&s, EV_WSTART, 0, scaled_ms(10000)));
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

/* Dispatch mode 1 sends no close event to the workers: the end of stream closes at once (a
 * reply still on its way is dropped, as documented), and nothing waits for an
 * acknowledgement. */
SW_TEST_TIMEOUT(process_mode1_half_close_closes_at_once, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS,
                       .workers = 2,
                       .opts = {{"dispatch_mode", "1"}},
                       .h = {.on_receive = quiet_receive}};
    srv_t s;
    srv_start(&s, &spec, 2);
    for (int i = 0; i < 4; i++) {
        int fd = cli_tcp(s.port);
        cli_timeout(fd, scaled_ms(5000));
        cli_send(fd, "abc", 3);
        ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
        ASSERT_EQ(cli_wait_close(fd), 0);
        close(fd);
    }
    ASSERT_EQ(srv_stop(&s, 15), 0);
    ASSERT_EQ(srv_count(&s, EV_CLOSE), 0);
}

/* ---- output overflow ------------------------------------------------------------------------ */

enum { BIG_SENDS = 128, BIG_CHUNK = 256 << 10 };

static unsigned char pattern_at(uint64_t i)
{
    return (unsigned char)(i * 13 % 241);
}

/* One message makes the worker answer 32 MiB at once to a client that reads nothing yet. */
static void big_answer(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                       size_t len, void *arg)
{
    (void)reactor_id;
    (void)data;
    (void)len;
    (void)arg;
    static unsigned char chunk[BIG_CHUNK];
    int ok = 0, failed = 0;
    for (int k = 0; k < BIG_SENDS; k++) {
        for (size_t i = 0; i < BIG_CHUNK; i++) {
            chunk[i] = pattern_at((uint64_t)k * BIG_CHUNK + i);
        }
        if (sw_server_send(srv, session, chunk, BIG_CHUNK) == 0) {
            ok++;
        } else {
            failed++;
            break; /* a refused send ends the answer: what follows would leave a hole */
        }
    }
    ev_emit(EV_RESULT, sw_server_worker_id(srv), ok, failed, session);
}

static void overflow_resets(sw_server_mode_t mode)
{
    srv_spec_t spec = {.mode = mode,
                       .workers = 1,
                       .opts = {{"reactor_num", "1"},
                                {"socket_buffer_size", "524288"},
                                {"max_queued_bytes", "1048576"}},
                       .h = {.on_receive = big_answer}};
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_tcp(s.port);
    cli_send(fd, "go", 2);
    ASSERT_NOT_NULL(srv_wait(&s, EV_RESULT, -1, scaled_ms(20000)));
    /* The connection ends (reset, or the end of the stream) after a prefix of the stream:
     * every byte received is the byte at its offset. */
    cli_timeout(fd, scaled_ms(10000));
    static unsigned char buf[65536];
    uint64_t off = 0;
    int end = 1;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            end = n == 0 ? 0 : -errno;
            break;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != pattern_at(off + (uint64_t)i)) {
                sw_test_fail(__FILE__, __LINE__, "byte %llu differs: a hole in the stream",
                             (unsigned long long)(off + (uint64_t)i));
            }
        }
        off += (uint64_t)n;
    }
    close(fd);
    ASSERT_TRUE(end == 0 || end == -ECONNRESET);
    ASSERT_ULT(off, (uint64_t)BIG_SENDS * BIG_CHUNK);
    ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000)));
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

SW_TEST_TIMEOUT(process_send_overflow_resets, 90)
{
    overflow_resets(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(thread_send_overflow_resets, 90)
{
    overflow_resets(SW_MODE_THREAD);
}

/* A sendfile the master cannot open (the worker's call returned 0: the path is only opened
 * where the connection lives): the connection is reset after what was sent before it, never
 * continued past the missing file. */
static void missing_file(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                         size_t len, void *arg)
{
    (void)reactor_id;
    (void)data;
    (void)len;
    (void)arg;
    int a = sw_server_send(srv, session, "head", 4);
    int b = sw_server_sendfile(srv, session, "/nonexistent/sw_pclose_file", 0, 0);
    int c = sw_server_send(srv, session, "tail", 4);
    ev_emit(EV_RESULT, sw_server_worker_id(srv), a, b, (uint64_t)c);
}

SW_TEST_TIMEOUT(process_sendfile_failure_resets, 60)
{
    srv_spec_t spec = {.mode = SW_MODE_PROCESS, .workers = 1, .h = {.on_receive = missing_file}};
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_tcp(s.port);
    cli_timeout(fd, scaled_ms(10000));
    cli_send(fd, "go", 2);
    const ev_t *e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    ASSERT_EQ(e->b, 0);
    /* "head" may or may not arrive before the reset; "tail" never does. */
    char buf[16];
    size_t got = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + got, sizeof(buf) - got, 0);
        if (n <= 0) {
            ASSERT_TRUE(n == 0 || errno == ECONNRESET);
            break;
        }
        got += (size_t)n;
        ASSERT_LE(got, 4);
    }
    if (got > 0) {
        ASSERT_MEM_EQ(buf, "head", got);
    }
    close(fd);
    ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000)));
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

/* A client that sends without reading: the reactor stops reading it while its output is over
 * the high watermark (the default handlers do not pause), so the echo stays under
 * socket_buffer_size and every byte comes back once the client reads. */
static void flood_held(sw_server_mode_t mode)
{
    srv_spec_t spec = {.mode = mode, .workers = 1, .opts = {{"reactor_num", "1"}}};
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_tcp(s.port);
    int64_t sent = cli_send_until_held(fd, (int64_t)256 << 20);
    ASSERT_LT(sent, (int64_t)256 << 20);
    ASSERT_NOT_NULL(srv_wait(&s, EV_FULL, -1, scaled_ms(5000)));
    cli_timeout(fd, scaled_ms(10000));
    static char buf[65536];
    int64_t got = 0;
    while (got < sent) {
        size_t want = (size_t)(sent - got) < sizeof(buf) ? (size_t)(sent - got) : sizeof(buf);
        ssize_t n = recv(fd, buf, want, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        ASSERT_GT(n, 0);
        for (ssize_t i = 0; i < n; i++) {
            ASSERT_EQ(buf[i], 'b');
        }
        got += n;
    }
    /* Still served after the flood. */
    cli_echo(fd, "after the flood");
    close(fd);
    ASSERT_EQ(srv_stop(&s, 15), 0);
}

SW_TEST_TIMEOUT(process_flood_held_by_output_watermark, 120)
{
    flood_held(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(thread_flood_held_by_output_watermark, 120)
{
    flood_held(SW_MODE_THREAD);
}

/* ---- the bus's batch hook (src/ipc: on_batch, used by the reactor threads' brackets) ------- */

typedef struct {
    int messages;
    int batches;
    int in_batch; /* messages since the last on_batch */
    int summed;   /* sum of the n passed to on_batch */
    bool order_ok;
} batch_rx_t;

static void batch_msg(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *h, const void *data, size_t len,
                      void *arg)
{
    (void)ep;
    (void)data;
    (void)len;
    batch_rx_t *rx = arg;
    if (h->session != (uint64_t)rx->messages + 1) {
        rx->order_ok = false;
    }
    rx->messages++;
    rx->in_batch++;
}

static void batch_done(sw_ipc_endpoint_t *ep, unsigned n, void *arg)
{
    (void)ep;
    batch_rx_t *rx = arg;
    if ((int)n != rx->in_batch || n == 0) {
        rx->order_ok = false;
    }
    rx->summed += (int)n;
    rx->batches++;
    rx->in_batch = 0;
}

static void batch_hook(sw_ipc_kind_t kind)
{
    sw_loop_t *loop = NULL;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    sw_ipc_channel_t *ch = NULL;
    sw_ipc_channel_options_t co;
    sw__ipc_channel_options_init(&co);
    co.kind = kind;
    ASSERT_OK(sw__ipc_channel_create(&ch, &co));
    batch_rx_t rx = {.order_ok = true};
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.on_message = batch_msg;
    o.on_batch = batch_done;
    o.arg = &rx;
    sw_ipc_endpoint_t *rcv = NULL, *snd = NULL;
    ASSERT_OK(sw__ipc_endpoint_create(&rcv, ch, 0, loop, &o));
    sw__ipc_endpoint_options_init(&o);
    o.sender_id = 3;
    ASSERT_OK(sw__ipc_endpoint_create(&snd, ch, 1, NULL, &o));
    enum { N = 500 };
    char payload[100] = {0};
    for (int i = 0; i < N; i++) {
        sw_ipc_header_t h = {.session = (uint64_t)i + 1, .type = SW_IPC_DATA};
        ASSERT_OK(sw__ipc_send(snd, &h, payload, sizeof(payload)));
    }
    for (int i = 0; i < 200 && rx.messages < N; i++) {
        ASSERT_GE(sw_loop_run(loop, SW_RUN_ONCE), 0);
    }
    ASSERT_EQ(rx.messages, N);
    ASSERT_EQ(rx.summed, N);
    ASSERT_EQ(rx.in_batch, 0);
    ASSERT_TRUE(rx.order_ok);
    /* Batched: far fewer batches than messages (several records per datagram, many
     * datagrams per wake-up). */
    ASSERT_GE(rx.batches, 1);
    ASSERT_LT(rx.batches, N / 4);
    ASSERT_EQ(sw__ipc_endpoint_destroy(snd), 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(rcv), 0);
    (void)sw_loop_run(loop, SW_RUN_NOWAIT);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

SW_TEST_TIMEOUT(ipc_batch_hook_socket, 30)
{
    batch_hook(SW_IPC_SOCKET);
}

SW_TEST_TIMEOUT(ipc_batch_hook_memory, 30)
{
    batch_hook(SW_IPC_MEMORY);
}
