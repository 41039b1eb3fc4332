/*
 * The IPC bus between processes over one inherited socketpair: 16 MiB each way, two senders
 * interleaving large messages, 100k small messages echoed in order, a sender killed in the
 * middle of a message and replaced, and blocking sends that time out.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_ipc_util.h"

#define BIG ((size_t)16 << 20)

static void wait_child(pid_t pid, int want_code)
{
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), want_code);
}

/* ---- 16 MiB each way ---------------------------------------------------------------------- */

typedef struct {
    sw_ipc_endpoint_t *ep;
    int done;
    int ok;
} echo_big_t;

static void child_big_cb(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *hdr, const void *data,
                         size_t len, void *arg)
{
    echo_big_t *e = arg;
    void *want = ipct_pattern(BIG, 1);
    e->ok = len == BIG && hdr->session == 1 && memcmp(data, want, BIG) == 0;
    free(want);
    void *reply = ipct_pattern(BIG, 2);
    sw_ipc_header_t h = ipct_hdr(SW_IPC_SEND, 2);
    h.ext = (uint32_t)e->ok;
    ASSERT_OK(sw__ipc_send(ep, &h, reply, BIG));
    free(reply);
    e->done = 1;
}

static void big_child(sw_ipc_channel_t *ch)
{
    ASSERT_OK(sw__ipc_channel_close_side(ch, 0));
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    echo_big_t e = {0};
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.sender_id = 1;
    o.max_message = BIG;
    o.on_message = child_big_cb;
    o.arg = &e;
    ASSERT_OK(sw__ipc_endpoint_create(&e.ep, ch, 1, loop, &o));
    IPCT_RUN_UNTIL(loop, e.done, 30000);
    ASSERT_TRUE(e.done);
    ASSERT_OK(sw__ipc_flush(e.ep, 30000));
    ASSERT_EQ(sw__ipc_endpoint_destroy(e.ep), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
    _exit(e.ok ? 0 : 3);
}

SW_TEST_TIMEOUT(ipc_16mib_each_way, 120)
{
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, NULL));
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        big_child(ch);
    }
    ASSERT_OK(sw__ipc_channel_close_side(ch, 1));
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    ipct_rx_t rx = {0};
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.max_message = BIG;
    o.on_message = ipct_rx_cb;
    o.arg = &rx;
    sw_ipc_endpoint_t *ep;
    ASSERT_OK(sw__ipc_endpoint_create(&ep, ch, 0, loop, &o));
    void *b = ipct_pattern(BIG, 1);
    sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, 1);
    ASSERT_OK(sw__ipc_send(ep, &h, b, BIG));
    free(b);
    IPCT_RUN_UNTIL(loop, rx.count == 1, 60000);
    ASSERT_EQ(rx.count, 1);
    ASSERT_UEQ(rx.last_hdr.ext, 1); /* the child got ours intact */
    ASSERT_UEQ(rx.last_len, BIG);
    b = ipct_pattern(BIG, 2);
    ASSERT_UEQ(rx.last_fnv, ipct_fnv(b, BIG));
    ASSERT_MEM_EQ(rx.last, b, BIG);
    free(b);
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(ep, &st));
    ASSERT_UEQ(st.abnormal, 0);
    ASSERT_UGE(st.recv_datagrams, BIG / SW_IPC_DATAGRAM_DEFAULT);
    ipct_rx_close(&rx);
    wait_child(pid, 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(ep), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

/* ---- two senders interleaving ------------------------------------------------------------- */

#define NSENDERS   2
#define PER_SENDER 30

static size_t msg_size(int sender, int i)
{
    /* From 1 byte to 1.5 MiB, different for each sender. */
    return 1 + ((size_t)(sender * 7919 + i * 104729) * 2654435761u) % (1536 << 10);
}

static void sender_child(sw_ipc_channel_t *ch, int sender)
{
    ASSERT_OK(sw__ipc_channel_close_side(ch, 1));
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.sender_id = (uint16_t)sender;
    o.max_message = 2 << 20;
    o.timeout_ms = 30000;
    sw_ipc_endpoint_t *ep;
    ASSERT_OK(sw__ipc_endpoint_create(&ep, ch, 0, NULL, &o));
    for (int i = 0; i < PER_SENDER; i++) {
        size_t n = msg_size(sender, i);
        void *b = ipct_pattern(n, (uint64_t)sender * 1000 + (uint64_t)i);
        sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, (uint64_t)i);
        ASSERT_OK(sw__ipc_send(ep, &h, b, n));
        free(b);
    }
    ASSERT_EQ(sw__ipc_endpoint_destroy(ep), 0);
    ASSERT_OK(sw__ipc_channel_destroy(ch));
    _exit(0);
}

typedef struct {
    int next[NSENDERS + 1];
    int count;
    int errors;
} multi_rx_t;

static void multi_cb(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *hdr, const void *data,
                     size_t len, void *arg)
{
    (void)ep;
    multi_rx_t *m = arg;
    m->count++;
    int s = hdr->sender;
    if (s < 1 || s > NSENDERS || (int)hdr->session != m->next[s]) {
        m->errors++;
        return;
    }
    int i = m->next[s]++;
    size_t n = msg_size(s, i);
    void *want = ipct_pattern(n, (uint64_t)s * 1000 + (uint64_t)i);
    if (len != n || memcmp(data, want, n) != 0) {
        m->errors++;
    }
    free(want);
}

SW_TEST_TIMEOUT(ipc_two_senders_processes, 120)
{
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, NULL));
    pid_t pids[NSENDERS];
    for (int s = 1; s <= NSENDERS; s++) {
        pids[s - 1] = fork();
        ASSERT_GE(pids[s - 1], 0);
        if (pids[s - 1] == 0) {
            sender_child(ch, s);
        }
    }
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    multi_rx_t m = {.count = 0};
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.max_message = 2 << 20;
    o.on_message = multi_cb;
    o.arg = &m;
    sw_ipc_endpoint_t *ep;
    ASSERT_OK(sw__ipc_endpoint_create(&ep, ch, 1, loop, &o));
    IPCT_RUN_UNTIL(loop, m.count == NSENDERS * PER_SENDER, 60000);
    ASSERT_EQ(m.count, NSENDERS * PER_SENDER);
    ASSERT_EQ(m.errors, 0);
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(ep, &st));
    ASSERT_UEQ(st.abnormal, 0);
    for (int s = 0; s < NSENDERS; s++) {
        wait_child(pids[s], 0);
    }
    ASSERT_EQ(sw__ipc_endpoint_destroy(ep), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

/* ---- 100k small messages echoed ----------------------------------------------------------- */

#define SMALL_N 100000

typedef struct {
    sw_ipc_endpoint_t *ep;
    uint64_t sent;
    ipct_rx_t rx;
} pinger_t;

static void ping_some(pinger_t *p)
{
    unsigned char buf[64];
    while (p->sent < SMALL_N) {
        memset(buf, (int)p->sent, sizeof(buf));
        memcpy(buf, &p->sent, 8);
        sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, p->sent);
        int rc = sw__ipc_send(p->ep, &h, buf, sizeof(buf));
        if (rc == SW_EAGAIN) {
            return; /* on_drained resumes */
        }
        ASSERT_OK(rc);
        p->sent++;
    }
}

static void ping_drained(sw_ipc_endpoint_t *ep, size_t queued, void *arg)
{
    (void)queued;
    (void)arg; /* the receiver's; the pinger hangs off the endpoint's data slot */
    ping_some(sw__ipc_get_data(ep));
}

static void echo_cb(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *hdr, const void *data, size_t len,
                    void *arg)
{
    int *count = arg;
    sw_ipc_header_t h = *hdr;
    h.type = SW_IPC_SEND;
    /* Replies made in the callback are corked until the batch ends, then leave packed. */
    int rc;
    while ((rc = sw__ipc_send(ep, &h, data, len)) == SW_EAGAIN) {
        ASSERT_OK(sw__ipc_flush(ep, 10000));
    }
    ASSERT_OK(rc);
    (*count)++;
}

SW_TEST_TIMEOUT(ipc_100k_small_echo_processes, 120)
{
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, NULL));
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        sw_loop_t *loop;
        ASSERT_OK(sw_loop_create(&loop, NULL));
        int count = 0;
        sw_ipc_endpoint_options_t o;
        sw__ipc_endpoint_options_init(&o);
        o.on_message = echo_cb;
        o.arg = &count;
        o.queue_max = 1 << 20;
        sw_ipc_endpoint_t *ep;
        ASSERT_OK(sw__ipc_endpoint_create(&ep, ch, 1, loop, &o));
        IPCT_RUN_UNTIL(loop, count == SMALL_N, 60000);
        ASSERT_EQ(count, SMALL_N);
        ASSERT_OK(sw__ipc_flush(ep, 10000));
        ASSERT_EQ(sw__ipc_endpoint_destroy(ep), 0);
        ASSERT_OK(sw_loop_destroy(loop));
        ASSERT_OK(sw__ipc_channel_destroy(ch));
        _exit(0);
    }
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    pinger_t p = {.rx = {.check_seq = true}};
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.on_message = ipct_rx_cb;
    o.on_drained = ping_drained;
    o.arg = &p.rx;
    o.queue_max = 1 << 20;
    ASSERT_OK(sw__ipc_endpoint_create(&p.ep, ch, 0, loop, &o));
    sw__ipc_set_data(p.ep, &p);
    ping_some(&p); /* until the hard cap; on_drained goes on */
    IPCT_RUN_UNTIL(loop, p.rx.count == SMALL_N, 60000);
    ASSERT_UEQ(p.sent, SMALL_N);
    ASSERT_EQ(p.rx.count, SMALL_N);
    ASSERT_EQ(p.rx.seq_errors, 0);
    ASSERT_UEQ(p.rx.bytes, (uint64_t)SMALL_N * 64);
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(p.ep, &st));
    ASSERT_UEQ(st.abnormal, 0);
    ASSERT_ULT(st.recv_datagrams, SMALL_N / 4); /* the echoes came packed */
    wait_child(pid, 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(p.ep), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

/* ---- a sender killed in the middle of a message ------------------------------------------- */

SW_TEST_TIMEOUT(ipc_sender_killed_mid_message, 60)
{
    sw_ipc_channel_options_t co;
    sw__ipc_channel_options_init(&co);
    co.sockbuf = 256 << 10;
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, &co));
    pid_t a = fork();
    ASSERT_GE(a, 0);
    if (a == 0) {
        sw_ipc_endpoint_options_t o;
        sw__ipc_endpoint_options_init(&o);
        o.sender_id = 5;
        o.max_message = BIG;
        o.timeout_ms = -1;
        sw_ipc_endpoint_t *ep;
        ASSERT_OK(sw__ipc_endpoint_create(&ep, ch, 0, NULL, &o));
        void *b = ipct_pattern(BIG, 9);
        sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, 1);
        sw__ipc_send(ep, &h, b, BIG); /* killed while blocked in here */
        _exit(4);
    }
    ipct_rx_t rx = {0};
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.max_message = BIG;
    o.on_message = ipct_rx_cb;
    o.arg = &rx;
    o.recv_max = 8;
    sw_ipc_endpoint_t *rxe;
    ASSERT_OK(sw__ipc_endpoint_create(&rxe, ch, 1, NULL, &o));
    /* Read part of the message, then kill its sender. */
    sw_ipc_stats_t st = {0};
    uint64_t end = sw_test_now_ms() + 20000;
    while (st.recv_datagrams < 40 && sw_test_now_ms() < end) {
        /* A zero timeout reads at most recv_max (8) datagrams: the message stays open. */
        ASSERT_ERR(sw__ipc_recv_wait(rxe, 0), SW_ETIMEDOUT);
        ASSERT_OK(sw__ipc_stats(rxe, &st));
        usleep(1000);
    }
    ASSERT_UGE(st.recv_datagrams, 40);
    ASSERT_OK(kill(a, SIGKILL));
    int status;
    ASSERT_EQ(waitpid(a, &status, 0), a);
    ASSERT_TRUE(WIFSIGNALED(status));
    /* What it left in the socket: still nothing delivered. */
    ASSERT_ERR(sw__ipc_recv_wait(rxe, 100), SW_ETIMEDOUT);
    ASSERT_EQ(rx.count, 0);
    ASSERT_OK(sw__ipc_stats(rxe, &st));
    ASSERT_UGT(st.reassembly, 0);
    ASSERT_UEQ(st.abnormal, 0);

    /* Its replacement, with the same sender id. */
    pid_t b = fork();
    ASSERT_GE(b, 0);
    if (b == 0) {
        sw_ipc_endpoint_options_t bo;
        sw__ipc_endpoint_options_init(&bo);
        bo.sender_id = 5;
        sw_ipc_endpoint_t *ep;
        ASSERT_OK(sw__ipc_endpoint_create(&ep, ch, 0, NULL, &bo));
        sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, 2);
        ASSERT_OK(sw__ipc_send(ep, &h, "hello", 5));
        _exit(0);
    }
    ASSERT_EQ(sw__ipc_recv_wait(rxe, 10000), 1);
    wait_child(b, 0);
    ASSERT_EQ(rx.count, 1);
    ASSERT_EQ(rx.last_len, 5);
    ASSERT_MEM_EQ(rx.last, "hello", 5);
    ASSERT_UEQ(rx.last_hdr.session, 2);
    ASSERT_OK(sw__ipc_stats(rxe, &st));
    ASSERT_UEQ(st.abnormal, 1); /* the cut message */
    ASSERT_UEQ(st.reassembly, 0);
    ipct_rx_close(&rx);
    ASSERT_EQ(sw__ipc_endpoint_destroy(rxe), 0);
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

/* ---- blocking sends that time out --------------------------------------------------------- */

SW_TEST(ipc_blocking_timeout)
{
    sw_ipc_channel_options_t co;
    sw__ipc_channel_options_init(&co);
    co.sockbuf = 64 << 10;
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, &co));
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.timeout_ms = 50;
    o.max_message = 1 << 20;
    sw_ipc_endpoint_t *tx, *rxe;
    ASSERT_OK(sw__ipc_endpoint_create(&tx, ch, 0, NULL, &o));
    ipct_rx_t rx = {.check_seq = true};
    o.on_message = ipct_rx_cb;
    o.arg = &rx;
    ASSERT_OK(sw__ipc_endpoint_create(&rxe, ch, 1, NULL, &o));

    /* Small messages until the socket is full: the refused one is not sent at all. */
    uint64_t seq = 0;
    int rc;
    unsigned char buf[1000];
    sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, 0);
    for (;;) {
        memcpy(buf, &seq, 8);
        rc = sw__ipc_send(tx, &h, buf, sizeof(buf));
        if (rc) {
            break;
        }
        seq++;
        ASSERT_LT(seq, 100000);
    }
    ASSERT_ERR(rc, SW_ETIMEDOUT);
    rx.check_seq = true;
    while (rx.count < (int)seq) {
        ASSERT_GT(sw__ipc_recv_wait(rxe, 1000), 0);
    }
    ASSERT_ERR(sw__ipc_recv_wait(rxe, 20), SW_ETIMEDOUT);
    ASSERT_EQ(rx.seq_errors, 0);
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(tx, &st));
    ASSERT_UEQ(st.sent_messages, seq);

    /* A large message cut by the timeout: the receiver drops it when the next one begins. */
    void *big = ipct_pattern(1 << 20, 1);
    ASSERT_ERR(sw__ipc_send(tx, &h, big, 1 << 20), SW_ETIMEDOUT);
    free(big);
    ASSERT_UEQ(sw__ipc_queued(tx), 0);
    ASSERT_ERR(sw__ipc_recv_wait(rxe, 20), SW_ETIMEDOUT);
    rx.check_seq = false;
    ASSERT_OK(sw__ipc_send(tx, &h, "next", 4));
    ASSERT_EQ(sw__ipc_recv_wait(rxe, 1000), 1);
    ASSERT_MEM_EQ(rx.last, "next", 4);
    ASSERT_OK(sw__ipc_stats(rxe, &st));
    ASSERT_UEQ(st.abnormal, 1);
    ipct_rx_close(&rx);
    ASSERT_EQ(sw__ipc_endpoint_destroy(tx), 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(rxe), 0);
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}
