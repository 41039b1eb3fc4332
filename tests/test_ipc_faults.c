/*
 * The IPC bus against bad input and failing system calls: abnormal datagrams written raw into
 * the socket are dropped and counted (and the next good message still arrives), the chunk
 * size falls back on ENOBUFS/EMSGSIZE (fault points and a shrunk SO_SNDBUF), and creation and
 * receive errors are reported.
 */
#include <sys/socket.h>
#include <unistd.h>

#include "core/fault.h"
#include "test_ipc_util.h"

typedef struct {
    sw_ipc_channel_t *ch;
    sw_ipc_endpoint_t *rxe;
    ipct_rx_t rx;
    int fd; /* side 0's fd: raw datagrams go from here to the receiver on side 1 */
} bench_t;

static void rig_open(bench_t *b, size_t max_message, size_t max_reassembly)
{
    memset(b, 0, sizeof(*b));
    ASSERT_OK(sw__ipc_channel_create(&b->ch, NULL));
    sw_ipc_channel_info_t info;
    ASSERT_OK(sw__ipc_channel_info(b->ch, &info));
    b->fd = info.fd[0];
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.on_message = ipct_rx_cb;
    o.arg = &b->rx;
    o.max_message = max_message;
    o.max_reassembly = max_reassembly;
    ASSERT_OK(sw__ipc_endpoint_create(&b->rxe, b->ch, 1, NULL, &o));
}

static void rig_close(bench_t *b)
{
    ipct_rx_close(&b->rx);
    ASSERT_EQ(sw__ipc_endpoint_destroy(b->rxe), 0);
    ASSERT_OK(sw__ipc_channel_destroy(b->ch));
}

static sw_ipc_header_t rec(uint16_t sender, uint64_t msg_id, uint32_t length, uint32_t offset,
                           uint8_t flags)
{
    sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, 42);
    h.sender = sender;
    h.msg_id = msg_id;
    h.length = length;
    h.offset = offset;
    h.flags = flags;
    h.magic = SW_IPC_MAGIC;
    return h;
}

/* Writes one datagram: the header and `n` payload bytes of value `fill`. */
static void raw(bench_t *b, sw_ipc_header_t h, size_t n, int fill)
{
    static unsigned char buf[200000];
    ASSERT_LE(n + SW_IPC_HEADER_SIZE, sizeof(buf));
    memcpy(buf, &h, SW_IPC_HEADER_SIZE);
    memset(buf + SW_IPC_HEADER_SIZE, fill, n);
    ASSERT_EQ(send(b->fd, buf, n + SW_IPC_HEADER_SIZE, 0), (ssize_t)(n + SW_IPC_HEADER_SIZE));
}

static void raw_bytes(bench_t *b, const void *p, size_t n)
{
    ASSERT_EQ(send(b->fd, p, n, 0), (ssize_t)n);
}

/* Reads whatever is there; returns the messages delivered (0 when nothing came). */
static int drain(bench_t *b)
{
    int total = 0;
    for (;;) {
        int rc = sw__ipc_recv_wait(b->rxe, 50);
        if (rc == SW_ETIMEDOUT) {
            return total;
        }
        ASSERT_GT(rc, 0);
        total += rc;
    }
}

static uint64_t abnormal(bench_t *b)
{
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(b->rxe, &st));
    return st.abnormal;
}

/* A good message gets through after whatever came before. */
static void good(bench_t *b, uint16_t sender)
{
    int before = b->rx.count;
    raw(b, rec(sender, 1000, 3, 0, SW_IPC_FLAG_BEGIN | SW_IPC_FLAG_END), 3, 'g');
    ASSERT_EQ(drain(b), 1);
    ASSERT_EQ(b->rx.count, before + 1);
    ASSERT_EQ(b->rx.last_len, 3);
    ASSERT_MEM_EQ(b->rx.last, "ggg", 3);
}

SW_TEST(ipc_abnormal_headers)
{
    bench_t b;
    rig_open(&b, 1000, 0);
    sw_ipc_header_t h = rec(1, 1, 10, 0, SW_IPC_FLAG_BEGIN | SW_IPC_FLAG_END);

    raw_bytes(&b, "short", 5);
    raw_bytes(&b, "", 0);
    ASSERT_EQ(drain(&b), 0);
    ASSERT_UEQ(abnormal(&b), 2);

    sw_ipc_header_t bad = h;
    bad.magic = 0x1234;
    raw(&b, bad, 10, 'x');
    bad = h;
    bad.reserved = 1;
    raw(&b, bad, 10, 'x');
    bad = h;
    bad.flags = 0x04 | SW_IPC_FLAG_BEGIN;
    raw(&b, bad, 10, 'x');
    bad = h;
    bad.type = 0;
    raw(&b, bad, 10, 'x');
    ASSERT_EQ(drain(&b), 0);
    ASSERT_UEQ(abnormal(&b), 6);

    /* Over max_message, whole or chunked. */
    raw(&b, rec(1, 2, 2000, 0, SW_IPC_FLAG_BEGIN | SW_IPC_FLAG_END), 2000, 'x');
    raw(&b, rec(1, 3, 5000, 0, SW_IPC_FLAG_BEGIN), 100, 'x');
    ASSERT_EQ(drain(&b), 0);
    ASSERT_UEQ(abnormal(&b), 8);

    /* A whole record claiming more payload than its datagram holds; one with an offset. */
    raw(&b, rec(1, 4, 100, 0, SW_IPC_FLAG_BEGIN | SW_IPC_FLAG_END), 50, 'x');
    raw(&b, rec(1, 5, 10, 3, SW_IPC_FLAG_BEGIN | SW_IPC_FLAG_END), 10, 'x');
    ASSERT_EQ(drain(&b), 0);
    ASSERT_UEQ(abnormal(&b), 10);

    /* A truncated datagram: larger than any datagram the receiver takes. */
    raw(&b, rec(1, 6, 70000, 0, SW_IPC_FLAG_BEGIN | SW_IPC_FLAG_END), 70000, 'x');
    ASSERT_EQ(drain(&b), 0);
    ASSERT_UEQ(abnormal(&b), 11);

    good(&b, 1);
    ASSERT_UEQ(abnormal(&b), 11);
    rig_close(&b);
}

SW_TEST(ipc_abnormal_chunks)
{
    bench_t b;
    rig_open(&b, 1000, 150);

    /* A chunk without BEGIN (middle and END). */
    raw(&b, rec(1, 1, 100, 40, 0), 30, 'x');
    raw(&b, rec(1, 1, 100, 70, SW_IPC_FLAG_END), 30, 'x');
    ASSERT_EQ(drain(&b), 0);
    ASSERT_UEQ(abnormal(&b), 2);

    /* Out of sequence: another msg id, then a wrong offset. Each drops the open message. */
    raw(&b, rec(1, 5, 100, 0, SW_IPC_FLAG_BEGIN), 40, 'a');
    raw(&b, rec(1, 6, 100, 40, SW_IPC_FLAG_END), 60, 'a');
    raw(&b, rec(1, 7, 100, 0, SW_IPC_FLAG_BEGIN), 40, 'a');
    raw(&b, rec(1, 7, 100, 41, SW_IPC_FLAG_END), 59, 'a');
    raw(&b, rec(1, 8, 100, 0, SW_IPC_FLAG_BEGIN), 40, 'a');
    raw(&b, rec(1, 8, 120, 40, SW_IPC_FLAG_END), 60, 'a');
    ASSERT_EQ(drain(&b), 0);
    ASSERT_UEQ(abnormal(&b), 5);

    /* Bounds: BEGIN holding the whole length, END that stops short, middle reaching the end. */
    raw(&b, rec(1, 9, 10, 0, SW_IPC_FLAG_BEGIN), 10, 'a');
    raw(&b, rec(1, 10, 100, 0, SW_IPC_FLAG_BEGIN), 40, 'a');
    raw(&b, rec(1, 10, 100, 40, SW_IPC_FLAG_END), 50, 'a');
    raw(&b, rec(1, 11, 100, 0, SW_IPC_FLAG_BEGIN), 40, 'a');
    raw(&b, rec(1, 11, 100, 40, 0), 60, 'a');
    ASSERT_EQ(drain(&b), 0);
    ASSERT_UEQ(abnormal(&b), 8);

    /* A sender that gave up mid-message: its next BEGIN (whole or chunked) cuts it off. */
    raw(&b, rec(9, 1, 100, 0, SW_IPC_FLAG_BEGIN), 50, 'a');
    raw(&b, rec(9, 2, 3, 0, SW_IPC_FLAG_BEGIN | SW_IPC_FLAG_END), 3, 'n');
    ASSERT_EQ(drain(&b), 1);
    ASSERT_MEM_EQ(b.rx.last, "nnn", 3);
    ASSERT_UEQ(abnormal(&b), 9);
    raw(&b, rec(9, 3, 100, 0, SW_IPC_FLAG_BEGIN), 50, 'a');
    raw(&b, rec(9, 4, 100, 0, SW_IPC_FLAG_BEGIN), 50, 'b');
    raw(&b, rec(9, 4, 100, 50, SW_IPC_FLAG_END), 50, 'b');
    ASSERT_EQ(drain(&b), 1);
    ASSERT_EQ(b.rx.last_len, 100);
    ASSERT_UEQ(b.rx.last_hdr.msg_id, 4);
    for (int i = 0; i < 100; i++) {
        ASSERT_EQ(b.rx.last[i], 'b');
    }
    ASSERT_UEQ(abnormal(&b), 10);

    /* The reassembly budget (150 bytes): a second open message of 100 does not fit. */
    raw(&b, rec(1, 20, 100, 0, SW_IPC_FLAG_BEGIN), 50, 'a');
    raw(&b, rec(2, 20, 100, 0, SW_IPC_FLAG_BEGIN), 50, 'a');
    raw(&b, rec(2, 20, 100, 50, SW_IPC_FLAG_END), 50, 'a');
    ASSERT_EQ(drain(&b), 0);
    ASSERT_UEQ(abnormal(&b), 12); /* budget, then the END without its BEGIN */
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(b.rxe, &st));
    ASSERT_UEQ(st.reassembly, 100);

    /* sw__ipc_discard drops it, not counted as abnormal; its END then has no BEGIN. */
    ASSERT_EQ(sw__ipc_discard(b.rxe, 1), 1);
    ASSERT_EQ(sw__ipc_discard(b.rxe, 1), 0);
    ASSERT_OK(sw__ipc_stats(b.rxe, &st));
    ASSERT_UEQ(st.discarded, 1);
    ASSERT_UEQ(st.reassembly, 0);
    raw(&b, rec(1, 20, 100, 50, SW_IPC_FLAG_END), 50, 'a');
    ASSERT_EQ(drain(&b), 0);
    ASSERT_UEQ(abnormal(&b), 13);

    /* Two senders interleaving chunks: both whole. */
    raw(&b, rec(3, 1, 60, 0, SW_IPC_FLAG_BEGIN), 30, 'c');
    raw(&b, rec(4, 1, 60, 0, SW_IPC_FLAG_BEGIN), 30, 'd');
    raw(&b, rec(3, 1, 60, 30, SW_IPC_FLAG_END), 30, 'c');
    raw(&b, rec(4, 1, 60, 30, SW_IPC_FLAG_END), 30, 'd');
    ASSERT_EQ(drain(&b), 2);
    ASSERT_EQ(b.rx.last_hdr.sender, 4);
    ASSERT_EQ(b.rx.last[59], 'd');
    ASSERT_UEQ(abnormal(&b), 13);

    good(&b, 1);
    rig_close(&b);
}

SW_TEST(ipc_abnormal_packing)
{
    bench_t b;
    rig_open(&b, 1000, 0);
    unsigned char d[400];
    memset(d, 0, sizeof(d));
    size_t n = 0;
    /* [whole][chunk]: the whole one is delivered, the chunk is abnormal. */
    sw_ipc_header_t h = rec(1, 1, 5, 0, SW_IPC_FLAG_BEGIN | SW_IPC_FLAG_END);
    memcpy(d, &h, SW_IPC_HEADER_SIZE);
    memcpy(d + SW_IPC_HEADER_SIZE, "first", 5);
    n = SW_IPC_HEADER_SIZE + 5;
    h = rec(1, 2, 100, 0, SW_IPC_FLAG_BEGIN);
    memcpy(d + n, &h, SW_IPC_HEADER_SIZE);
    n += SW_IPC_HEADER_SIZE + 20;
    raw_bytes(&b, d, n);
    ASSERT_EQ(drain(&b), 1);
    ASSERT_MEM_EQ(b.rx.last, "first", 5);
    ASSERT_UEQ(abnormal(&b), 1);

    /* [whole][10 bytes of garbage]: a short record. */
    n = SW_IPC_HEADER_SIZE + 5;
    memset(d + n, 0, 10);
    raw_bytes(&b, d, n + 10);
    ASSERT_EQ(drain(&b), 1);
    ASSERT_UEQ(abnormal(&b), 2);

    /* [whole][whole][whole]: three messages from one datagram. */
    n = 0;
    for (int i = 0; i < 3; i++) {
        h = rec(1, 10 + (uint64_t)i, 4, 0, SW_IPC_FLAG_BEGIN | SW_IPC_FLAG_END);
        memcpy(d + n, &h, SW_IPC_HEADER_SIZE);
        memcpy(d + n + SW_IPC_HEADER_SIZE, "abcd", 4);
        n += SW_IPC_HEADER_SIZE + 4;
    }
    raw_bytes(&b, d, n);
    ASSERT_EQ(drain(&b), 3);
    ASSERT_UEQ(b.rx.last_hdr.msg_id, 12);
    ASSERT_UEQ(abnormal(&b), 2);
    rig_close(&b);
}

/* Out of memory while reassembling: the message is dropped and counted; the next one works. */
SW_TEST(ipc_abnormal_no_memory)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    bench_t b;
    rig_open(&b, 100000, 0);
    good(&b, 1); /* the receive buffer is allocated now */
    sw__fault_set("alloc", 0, 1);
    raw(&b, rec(1, 1, 100, 0, SW_IPC_FLAG_BEGIN), 50, 'a');
    raw(&b, rec(1, 1, 100, 50, SW_IPC_FLAG_END), 50, 'a');
    ASSERT_EQ(drain(&b), 0);
    ASSERT_UEQ(abnormal(&b), 2); /* no memory, then an END without BEGIN */
    sw__fault_set("alloc", 1, 1);
    raw(&b, rec(1, 2, 100, 0, SW_IPC_FLAG_BEGIN), 50, 'a');
    ASSERT_EQ(drain(&b), 0);
    ASSERT_UEQ(abnormal(&b), 3);
    sw__fault_reset();
    raw(&b, rec(1, 3, 100, 0, SW_IPC_FLAG_BEGIN), 50, 'a');
    raw(&b, rec(1, 3, 100, 50, SW_IPC_FLAG_END), 50, 'a');
    ASSERT_EQ(drain(&b), 1);
    ASSERT_EQ(b.rx.last_len, 100);
    rig_close(&b);
}

/* ---- fallback ----------------------------------------------------------------------------- */

static void pair_blocking(sw_ipc_channel_t **ch, sw_ipc_endpoint_t **tx, sw_ipc_endpoint_t **rxe,
                          ipct_rx_t *rx, sw_loop_t *tx_loop)
{
    ASSERT_OK(sw__ipc_channel_create(ch, NULL));
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.max_message = 4 << 20;
    o.auto_cork = 0;
    ASSERT_OK(sw__ipc_endpoint_create(tx, *ch, 0, tx_loop, &o));
    o.on_message = ipct_rx_cb;
    o.arg = rx;
    ASSERT_OK(sw__ipc_endpoint_create(rxe, *ch, 1, NULL, &o));
}

static void fallback_by_fault(const char *point, int count, size_t want_chunk)
{
    sw_ipc_channel_t *ch;
    sw_ipc_endpoint_t *tx, *rxe;
    ipct_rx_t rx = {0};
    pair_blocking(&ch, &tx, &rxe, &rx, NULL);
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(tx, &st));
    ASSERT_UEQ(st.chunk, SW_IPC_DATAGRAM_DEFAULT);
    void *big = ipct_pattern(1 << 20, 5);
    sw__fault_set(point, 0, count);
    sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, 1);
    /* Nobody reads while a blocking endpoint sends: the socket buffer (8 MiB, or the 4 MiB
     * the kernel allows without CAP_NET_ADMIN) holds the whole message. */
    ASSERT_OK(sw__ipc_send(tx, &h, big, 1 << 20));
    sw__fault_reset();
    while (rx.count < 1) {
        ASSERT_GT(sw__ipc_recv_wait(rxe, 2000), 0);
    }
    ASSERT_UEQ(rx.last_len, 1 << 20);
    ASSERT_UEQ(rx.last_fnv, ipct_fnv(big, 1 << 20));
    ASSERT_OK(sw__ipc_stats(tx, &st));
    int floor_hits = 0;
    for (size_t c = SW_IPC_DATAGRAM_DEFAULT; c > SW_IPC_DATAGRAM_MIN; c /= 2) {
        floor_hits++;
    }
    ASSERT_UEQ(st.fallbacks, (uint64_t)(count < floor_hits ? count : floor_hits));
    ASSERT_UEQ(st.chunk, want_chunk);
    ASSERT_OK(sw__ipc_stats(rxe, &st));
    ASSERT_UEQ(st.abnormal, 0);
    free(big);
    ipct_rx_close(&rx);
    ASSERT_EQ(sw__ipc_endpoint_destroy(tx), 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(rxe), 0);
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

SW_TEST(ipc_fallback_fault_points)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    fallback_by_fault("ipc_send", 3, SW_IPC_DATAGRAM_DEFAULT / 8);
    fallback_by_fault("ipc_send_msgsize", 1, SW_IPC_DATAGRAM_DEFAULT / 2);
    /* Past the floor: ENOBUFS is waited out, never reported. 256 datagrams later the chunk
     * size doubles once (1 MiB is 256 datagrams of 2 KiB, then 132 more at 4 KiB). */
    fallback_by_fault("ipc_send", 9, 2 * SW_IPC_DATAGRAM_MIN);
}

/* The same through a loop endpoint, where ENOBUFS at the floor is retried by a timer. */
SW_TEST(ipc_fallback_loop_floor)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    sw_ipc_channel_t *ch;
    sw_ipc_endpoint_t *tx, *rxe;
    ipct_rx_t rx = {0};
    pair_blocking(&ch, &tx, &rxe, &rx, loop);
    void *big = ipct_pattern(300000, 6);
    sw__fault_set("ipc_send", 0, 12);
    sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, 1);
    ASSERT_OK(sw__ipc_send(tx, &h, big, 300000));
    ASSERT_UGT(sw__ipc_queued(tx), 0); /* waiting for the retry timer */
    IPCT_RUN_UNTIL(loop, sw__ipc_queued(tx) == 0, 5000);
    sw__fault_reset();
    ASSERT_UEQ(sw__ipc_queued(tx), 0);
    while (rx.count < 1) {
        ASSERT_GT(sw__ipc_recv_wait(rxe, 2000), 0);
    }
    ASSERT_UEQ(rx.last_fnv, ipct_fnv(big, 300000));
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(tx, &st));
    ASSERT_UEQ(st.fallbacks, 6); /* 65600 -> 32800 -> 16400 -> 8200 -> 4100 -> 2050 -> 2048 */
    ASSERT_UEQ(st.chunk, SW_IPC_DATAGRAM_MIN);
    /* After SW_IPC_REGROW_AFTER datagrams the chunk size doubles again. */
    for (int i = 0; i < 300; i++) {
        h.session = 100 + (uint64_t)i;
        ASSERT_OK(sw__ipc_send(tx, &h, big, 1000));
    }
    ASSERT_OK(sw__ipc_stats(tx, &st));
    ASSERT_UEQ(st.chunk, 2 * SW_IPC_DATAGRAM_MIN);
    free(big);
    ipct_rx_close(&rx);
    ASSERT_EQ(sw__ipc_endpoint_destroy(tx), 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(rxe), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

/* A real EMSGSIZE: SO_SNDBUF shrunk under an endpoint that started with 64 KiB datagrams. */
SW_TEST(ipc_fallback_small_sndbuf)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, NULL));
    sw_ipc_channel_info_t info;
    ASSERT_OK(sw__ipc_channel_info(ch, &info));
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.max_message = 4 << 20;
    sw_ipc_endpoint_t *tx, *rxe;
    ASSERT_OK(sw__ipc_endpoint_create(&tx, ch, 0, loop, &o));
    ipct_rx_t rx = {0};
    o.on_message = ipct_rx_cb;
    o.arg = &rx;
    ASSERT_OK(sw__ipc_endpoint_create(&rxe, ch, 1, loop, &o));
    int small = 8192; /* the kernel doubles it: datagrams above 16 KiB - 32 fail */
    ASSERT_OK(setsockopt(info.fd[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)));
    void *big = ipct_pattern(2 << 20, 7);
    sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, 1);
    ASSERT_OK(sw__ipc_send(tx, &h, big, 2 << 20));
    IPCT_RUN_UNTIL(loop, rx.count == 1, 20000);
    ASSERT_EQ(rx.count, 1);
    ASSERT_UEQ(rx.last_fnv, ipct_fnv(big, 2 << 20));
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(tx, &st));
    ASSERT_UGE(st.fallbacks, 2);
    ASSERT_ULE(st.chunk, SW_IPC_DATAGRAM_DEFAULT / 4); /* a regrow may have just doubled it */
    free(big);
    ipct_rx_close(&rx);
    ASSERT_EQ(sw__ipc_endpoint_destroy(tx), 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(rxe), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

/* ---- system call failures ----------------------------------------------------------------- */

SW_TEST(ipc_create_faults)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    int fds = sw_test_count_fds();
    sw_ipc_channel_t *ch = NULL;
    sw__fault_set("socketpair", 0, 1);
    ASSERT_ERR(sw__ipc_channel_create(&ch, NULL), SW_EMFILE);
    sw_ipc_channel_options_t co;
    sw__ipc_channel_options_init(&co);
    co.kind = SW_IPC_MEMORY;
    for (int skip = 0; skip < 4; skip++) {
        sw__fault_set("eventfd", skip, 1);
        ASSERT_ERR(sw__ipc_channel_create(&ch, &co), SW_EMFILE);
    }
    sw__fault_reset();
    sw__fault_set("alloc", 0, 1);
    ASSERT_ERR(sw__ipc_channel_create(&ch, NULL), SW_ENOMEM);
    ASSERT_NULL(ch);
    ASSERT_EQ(sw_test_count_fds(), fds);
    ASSERT_OK(sw__ipc_channel_create(&ch, NULL));
    sw_ipc_endpoint_t *ep = NULL;
    sw__fault_set("alloc", 0, 1);
    ASSERT_ERR(sw__ipc_endpoint_create(&ep, ch, 0, NULL, NULL), SW_ENOMEM);
    ASSERT_NULL(ep);
    /* A failed queue allocation refuses the message whole. */
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.auto_cork = 0;
    ASSERT_OK(sw__ipc_endpoint_create(&ep, ch, 0, loop, &o));
    sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, 1);
    sw__ipc_cork(ep); /* the message must be copied: make the copy fail */
    sw__fault_set("alloc", 0, 1);
    ASSERT_ERR(sw__ipc_send(ep, &h, "abc", 3), SW_ENOMEM);
    ASSERT_UEQ(sw__ipc_queued(ep), 0);
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(ep, &st));
    ASSERT_UEQ(st.sent_messages, 0);
    sw__fault_reset();
    ASSERT_EQ(sw__ipc_endpoint_destroy(ep), 0);
    sw_loop_run(loop, SW_RUN_NOWAIT);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

SW_TEST(ipc_recv_fault)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, NULL));
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    sw_ipc_endpoint_t *tx, *rxe;
    ASSERT_OK(sw__ipc_endpoint_create(&tx, ch, 0, NULL, &o));
    ipct_rx_t rx = {0};
    o.on_message = ipct_rx_cb;
    o.arg = &rx;
    ASSERT_OK(sw__ipc_endpoint_create(&rxe, ch, 1, loop, &o));
    sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, 1);
    ASSERT_OK(sw__ipc_send(tx, &h, "one", 3));
    sw__fault_set("ipc_recv", 0, 1);
    ASSERT_ERR(sw__ipc_recv_wait(rxe, 100), SW_EIO);
    ASSERT_EQ(sw__ipc_recv_wait(rxe, 100), 1);
    /* In the loop, a receive error stops the watcher (logged) instead of spinning. */
    ASSERT_OK(sw__ipc_send(tx, &h, "two", 3));
    sw__fault_set("ipc_recv", 0, 1);
    sw_loop_run(loop, SW_RUN_ONCE);
    ASSERT_EQ(rx.count, 1);
    ASSERT_EQ(sw_loop_alive(loop), 0);
    ASSERT_OK(sw__ipc_recv_start(rxe));
    IPCT_RUN_UNTIL(loop, rx.count == 2, 2000);
    ASSERT_EQ(rx.count, 2);
    ASSERT_MEM_EQ(rx.last, "two", 3);
    ipct_rx_close(&rx);
    ASSERT_EQ(sw__ipc_endpoint_destroy(tx), 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(rxe), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

/* A peer that is gone: sends fail with the socket's error, which sticks for loop endpoints. */
SW_TEST(ipc_peer_closed)
{
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, NULL));
    ASSERT_OK(sw__ipc_channel_close_side(ch, 1));
    sw_ipc_endpoint_t *tx;
    ASSERT_OK(sw__ipc_endpoint_create(&tx, ch, 0, NULL, NULL));
    sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, 1);
    int rc = sw__ipc_send(tx, &h, "x", 1);
    ASSERT_LT(rc, 0);
    ASSERT_NE(rc, SW_EAGAIN);
    ASSERT_EQ(sw__ipc_endpoint_destroy(tx), 0);

    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    ASSERT_OK(sw__ipc_endpoint_create(&tx, ch, 0, loop, &o));
    ASSERT_OK(sw__ipc_send(tx, &h, "x", 1)); /* corked: the failure comes at the flush */
    sw_loop_run(loop, SW_RUN_NOWAIT);
    ASSERT_UEQ(sw__ipc_queued(tx), 0);
    rc = sw__ipc_send(tx, &h, "x", 1);
    ASSERT_LT(rc, 0);
    ASSERT_NE(rc, SW_EAGAIN);
    ASSERT_EQ(sw__ipc_endpoint_destroy(tx), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}
