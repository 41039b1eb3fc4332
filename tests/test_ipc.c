/*
 * The IPC message bus in one process: arguments, header fields, ordering, packing and
 * chunking, corking, the send queue with its watermarks and hard cap, stopping and
 * destroying from callbacks, and the blocking endpoints.
 */
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/fault.h"
#include "test_ipc_util.h"

static sw_loop_t *new_loop(void)
{
    sw_loop_t *loop = NULL;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    return loop;
}

SW_TEST(ipc_bad_args)
{
    sw_ipc_channel_t *ch = NULL;
    sw_ipc_channel_options_t co;
    sw__ipc_channel_options_init(&co);
    sw__ipc_channel_options_init(NULL);
    sw__ipc_endpoint_options_init(NULL);
    ASSERT_ERR(sw__ipc_channel_create(NULL, NULL), SW_EINVAL);
    co.kind = (sw_ipc_kind_t)5;
    ASSERT_ERR(sw__ipc_channel_create(&ch, &co), SW_EINVAL);
    sw__ipc_channel_options_init(&co);
    co.max_datagram = SW_IPC_DATAGRAM_MIN - 1;
    ASSERT_ERR(sw__ipc_channel_create(&ch, &co), SW_EINVAL);
    co.max_datagram = SW_IPC_DATAGRAM_MAX + 1;
    ASSERT_ERR(sw__ipc_channel_create(&ch, &co), SW_EINVAL);
    ASSERT_NULL(ch);
    ASSERT_ERR(sw__ipc_channel_destroy(NULL), SW_EINVAL);
    ASSERT_ERR(sw__ipc_channel_info(NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw__ipc_channel_close_side(NULL, 0), SW_EINVAL);

    ASSERT_OK(sw__ipc_channel_create(&ch, NULL));
    sw_ipc_channel_info_t info;
    ASSERT_ERR(sw__ipc_channel_info(ch, NULL), SW_EINVAL);
    ASSERT_OK(sw__ipc_channel_info(ch, &info));
    ASSERT_EQ(info.kind, SW_IPC_SOCKET);
    ASSERT_GE(info.fd[0], 0);
    ASSERT_GE(info.fd[1], 0);
    ASSERT_UEQ(info.max_datagram, SW_IPC_DATAGRAM_DEFAULT);
    ASSERT_UGT(info.sndbuf[0], 0);
    ASSERT_ERR(sw__ipc_channel_close_side(ch, 2), SW_EINVAL);

    sw_ipc_endpoint_t *ep = NULL;
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    ASSERT_ERR(sw__ipc_endpoint_create(NULL, ch, 0, NULL, &o), SW_EINVAL);
    ASSERT_ERR(sw__ipc_endpoint_create(&ep, NULL, 0, NULL, &o), SW_EINVAL);
    ASSERT_ERR(sw__ipc_endpoint_create(&ep, ch, 2, NULL, &o), SW_EINVAL);
    ASSERT_ERR(sw__ipc_endpoint_create(&ep, ch, -1, NULL, &o), SW_EINVAL);
    o.high_watermark = 100;
    o.low_watermark = 100;
    ASSERT_ERR(sw__ipc_endpoint_create(&ep, ch, 0, NULL, &o), SW_EINVAL);
    o.queue_max = 50;
    o.low_watermark = 10;
    ASSERT_ERR(sw__ipc_endpoint_create(&ep, ch, 0, NULL, &o), SW_EINVAL); /* high > cap */
    sw__ipc_endpoint_options_init(&o);
    o.recv_batch = 65;
    ASSERT_ERR(sw__ipc_endpoint_create(&ep, ch, 0, NULL, &o), SW_EINVAL);
    sw__ipc_endpoint_options_init(&o);
    o.timeout_ms = -2;
    ASSERT_ERR(sw__ipc_endpoint_create(&ep, ch, 0, NULL, &o), SW_EINVAL);
    sw__ipc_endpoint_options_init(&o);
    o.max_message = SW_IPC_MESSAGE_MAX + (size_t)1;
    ASSERT_ERR(sw__ipc_endpoint_create(&ep, ch, 0, NULL, &o), SW_EINVAL);
    ASSERT_NULL(ep);

    /* A send-only blocking endpoint. */
    sw__ipc_endpoint_options_init(&o);
    o.max_message = 1000;
    ASSERT_OK(sw__ipc_endpoint_create(&ep, ch, 0, NULL, &o));
    ASSERT_ERR(sw__ipc_channel_destroy(ch), SW_EBUSY);
    ASSERT_ERR(sw__ipc_channel_close_side(ch, 0), SW_EBUSY);
    sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, 1);
    char buf[2000] = {0};
    ASSERT_ERR(sw__ipc_send(NULL, &h, "x", 1), SW_EINVAL);
    ASSERT_ERR(sw__ipc_send(ep, NULL, "x", 1), SW_EINVAL);
    ASSERT_ERR(sw__ipc_send(ep, &h, NULL, 1), SW_EINVAL);
    ASSERT_ERR(sw__ipc_sendv(ep, &h, NULL, 1), SW_EINVAL);
    ASSERT_ERR(sw__ipc_sendv(ep, &h, NULL, -1), SW_EINVAL);
    struct iovec bad = {.iov_base = NULL, .iov_len = 3};
    ASSERT_ERR(sw__ipc_sendv(ep, &h, &bad, 1), SW_EINVAL);
    ASSERT_ERR(sw__ipc_send(ep, &h, buf, 1001), SW_EMSGSIZE);
    struct iovec two[2] = {{buf, 600}, {buf, 401}};
    ASSERT_ERR(sw__ipc_sendv(ep, &h, two, 2), SW_EMSGSIZE);
    h.type = 0;
    ASSERT_ERR(sw__ipc_send(ep, &h, buf, 1), SW_EINVAL);
    ASSERT_ERR(sw__ipc_recv_stop(ep), SW_EINVAL); /* no loop, no on_message */
    ASSERT_ERR(sw__ipc_recv_start(ep), SW_EINVAL);
    ASSERT_ERR(sw__ipc_recv_wait(ep, 0), SW_EINVAL); /* no on_message */
    ASSERT_ERR(sw__ipc_recv_wait(NULL, 0), SW_EINVAL);
    ASSERT_ERR(sw__ipc_flush(NULL, 0), SW_EINVAL);
    ASSERT_ERR(sw__ipc_flush(ep, -2), SW_EINVAL);
    ASSERT_OK(sw__ipc_flush(ep, 0));
    ASSERT_ERR(sw__ipc_uncork(NULL), SW_EINVAL);
    sw__ipc_cork(NULL);
    ASSERT_ERR(sw__ipc_discard(NULL, 0), SW_EINVAL);
    ASSERT_EQ(sw__ipc_discard(ep, 7), 0);
    ASSERT_ERR(sw__ipc_stats(ep, NULL), SW_EINVAL);
    ASSERT_ERR(sw__ipc_stats(NULL, NULL), SW_EINVAL);
    ASSERT_EQ(sw__ipc_fd(NULL), -1);
    ASSERT_EQ(sw__ipc_fd(ep), info.fd[0]);
    ASSERT_UEQ(sw__ipc_queued(NULL), 0);
    ASSERT_NULL(sw__ipc_get_data(NULL));
    sw__ipc_set_data(NULL, buf);
    sw__ipc_set_data(ep, buf);
    ASSERT_PTR_EQ(sw__ipc_get_data(ep), buf);
    ASSERT_ERR(sw__ipc_endpoint_destroy(NULL), SW_EINVAL);
    ASSERT_EQ(sw__ipc_endpoint_destroy(ep), 0);

    /* A closed side takes no endpoint; one loop watches an fd once. */
    ASSERT_OK(sw__ipc_channel_close_side(ch, 1));
    ASSERT_ERR(sw__ipc_endpoint_create(&ep, ch, 1, NULL, &o), SW_EINVAL);
    sw_loop_t *loop = new_loop();
    ipct_rx_t rx = {0};
    o.on_message = ipct_rx_cb;
    o.arg = &rx;
    sw_ipc_endpoint_t *a, *b;
    ASSERT_OK(sw__ipc_endpoint_create(&a, ch, 0, loop, &o));
    ASSERT_ERR(sw__ipc_endpoint_create(&b, ch, 0, loop, &o), SW_EEXIST);
    ASSERT_EQ(sw__ipc_endpoint_destroy(a), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));

    /* Memory kind: one receiver per side; no fds to close. */
    co.kind = SW_IPC_MEMORY;
    co.max_datagram = 0;
    ASSERT_OK(sw__ipc_channel_create(&ch, &co));
    ASSERT_OK(sw__ipc_channel_info(ch, &info));
    ASSERT_EQ(info.fd[0], -1);
    ASSERT_ERR(sw__ipc_channel_close_side(ch, 0), SW_EINVAL);
    ASSERT_OK(sw__ipc_endpoint_create(&a, ch, 1, NULL, &o));
    ASSERT_ERR(sw__ipc_endpoint_create(&b, ch, 1, NULL, &o), SW_EBUSY);
    ASSERT_EQ(sw__ipc_endpoint_destroy(a), 0);
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

/* Header fields arrive as sent, msg ids count up, flags are BEGIN|END, empty messages work. */
static void header_fields(sw_ipc_kind_t kind)
{
    sw_ipc_channel_options_t co;
    sw__ipc_channel_options_init(&co);
    co.kind = kind;
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, &co));
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.sender_id = 77;
    sw_ipc_endpoint_t *tx, *rxe;
    ASSERT_OK(sw__ipc_endpoint_create(&tx, ch, 0, NULL, &o));
    ipct_rx_t rx = {0};
    o.on_message = ipct_rx_cb;
    o.arg = &rx;
    o.sender_id = 1;
    ASSERT_OK(sw__ipc_endpoint_create(&rxe, ch, 1, NULL, &o));

    sw_ipc_header_t h = ipct_hdr(SW_IPC_SEND, 0x1122334455667788ull);
    h.reactor_id = 3;
    h.worker_id = 65535;
    h.ext = 0xdeadbeef;
    h.msg_id = 999; /* ignored: the bus numbers messages */
    h.flags = 0x80;
    ASSERT_OK(sw__ipc_send(tx, &h, "hello", 5));
    ASSERT_EQ(sw__ipc_recv_wait(rxe, 1000), 1);
    ASSERT_EQ(rx.count, 1);
    ASSERT_UEQ(rx.last_hdr.session, 0x1122334455667788ull);
    ASSERT_UEQ(rx.last_hdr.msg_id, 1);
    ASSERT_EQ(rx.last_hdr.length, 5);
    ASSERT_EQ(rx.last_hdr.offset, 0);
    ASSERT_EQ(rx.last_hdr.type, SW_IPC_SEND);
    ASSERT_EQ(rx.last_hdr.flags, SW_IPC_FLAG_BEGIN | SW_IPC_FLAG_END);
    ASSERT_EQ(rx.last_hdr.sender, 77);
    ASSERT_EQ(rx.last_hdr.reactor_id, 3);
    ASSERT_EQ(rx.last_hdr.worker_id, 65535);
    ASSERT_UEQ(rx.last_hdr.ext, 0xdeadbeef);
    ASSERT_EQ(rx.last_hdr.magic, SW_IPC_MAGIC);
    ASSERT_EQ(rx.last_len, 5);
    ASSERT_MEM_EQ(rx.last, "hello", 5);

    h.type = SW_IPC_TYPE_USER + 10;
    ASSERT_OK(sw__ipc_send(tx, &h, NULL, 0));
    ASSERT_EQ(sw__ipc_recv_wait(rxe, 1000), 1);
    ASSERT_UEQ(rx.last_hdr.msg_id, 2);
    ASSERT_EQ(rx.last_len, 0);
    ASSERT_EQ(rx.last_hdr.type, SW_IPC_TYPE_USER + 10);

    /* Nothing more: a zero timeout reports SW_ETIMEDOUT at once. */
    ASSERT_ERR(sw__ipc_recv_wait(rxe, 0), SW_ETIMEDOUT);
    ASSERT_ERR(sw__ipc_recv_wait(rxe, 20), SW_ETIMEDOUT);

    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(tx, &st));
    ASSERT_UEQ(st.sent_messages, 2);
    ASSERT_UEQ(st.sent_bytes, 5);
    ASSERT_OK(sw__ipc_stats(rxe, &st));
    ASSERT_UEQ(st.recv_messages, 2);
    ASSERT_UEQ(st.recv_bytes, 5);
    ASSERT_UEQ(st.abnormal, 0);
    ipct_rx_close(&rx);
    ASSERT_EQ(sw__ipc_endpoint_destroy(tx), 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(rxe), 0);
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

SW_TEST(ipc_header_fields)
{
    header_fields(SW_IPC_SOCKET);
    header_fields(SW_IPC_MEMORY);
}

/* Loop endpoints both ways in one loop: 100k small messages in order, with packing. */
typedef struct {
    sw_ipc_endpoint_t *ep;
    uint64_t seq;
    uint64_t total;
    int eagain;
} pump_t;

static void pump_some(pump_t *p, size_t len)
{
    unsigned char buf[256];
    ASSERT_LE(len, sizeof(buf));
    while (p->seq < p->total) {
        memset(buf, (int)(p->seq & 0xff), len);
        memcpy(buf, &p->seq, 8);
        sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, p->seq);
        int rc = sw__ipc_send(p->ep, &h, buf, len);
        if (rc == SW_EAGAIN) {
            p->eagain++;
            return;
        }
        ASSERT_OK(rc);
        p->seq++;
    }
}

static void pump_drained(sw_ipc_endpoint_t *ep, size_t queued, void *arg)
{
    (void)ep;
    (void)queued;
    pump_some(arg, 100);
}

static void small_in_order(sw_ipc_kind_t kind, int auto_cork)
{
    sw_ipc_channel_options_t co;
    sw__ipc_channel_options_init(&co);
    co.kind = kind;
    co.sockbuf = 256 << 10;
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, &co));
    sw_loop_t *loop = new_loop();
    pump_t p = {.total = 100000};
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.auto_cork = auto_cork;
    o.queue_max = 1 << 20;
    o.on_drained = pump_drained;
    o.arg = &p;
    ASSERT_OK(sw__ipc_endpoint_create(&p.ep, ch, 0, loop, &o));
    ipct_rx_t rx = {.check_seq = true};
    sw__ipc_endpoint_options_init(&o);
    o.on_message = ipct_rx_cb;
    o.arg = &rx;
    sw_ipc_endpoint_t *rxe;
    ASSERT_OK(sw__ipc_endpoint_create(&rxe, ch, 1, loop, &o));
    pump_some(&p, 100);
    IPCT_RUN_UNTIL(loop, rx.count == 100000, 20000);
    ASSERT_EQ(rx.count, 100000);
    ASSERT_EQ(rx.seq_errors, 0);
    ASSERT_UEQ(rx.bytes, 100000ull * 100);
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(p.ep, &st));
    ASSERT_UEQ(st.sent_messages, 100000);
    ASSERT_UEQ(st.queued, 0);
    if (auto_cork && kind == SW_IPC_SOCKET) {
        /* Packed: far fewer datagrams than messages. */
        ASSERT_ULT(st.sent_datagrams, 100000 / 4);
    }
    ASSERT_EQ(sw__ipc_endpoint_destroy(p.ep), 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(rxe), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

SW_TEST_TIMEOUT(ipc_100k_small_in_order, 60)
{
    small_in_order(SW_IPC_SOCKET, -1);
    small_in_order(SW_IPC_SOCKET, 0);
    small_in_order(SW_IPC_MEMORY, -1);
}

/* Large messages through loop endpoints, chunked and reassembled, several sizes. */
SW_TEST_TIMEOUT(ipc_large_messages_loop, 60)
{
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, NULL));
    sw_loop_t *loop = new_loop();
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.max_message = 16 << 20;
    sw_ipc_endpoint_t *tx, *rxe;
    ASSERT_OK(sw__ipc_endpoint_create(&tx, ch, 0, loop, &o));
    ipct_rx_t rx = {0};
    o.on_message = ipct_rx_cb;
    o.arg = &rx;
    ASSERT_OK(sw__ipc_endpoint_create(&rxe, ch, 1, loop, &o));
    /* Around the datagram size (a record fills it exactly, then one byte more), 64 KiB (one
     * datagram with the default size), then chunked sizes. */
    size_t sizes[] = {SW_IPC_DATAGRAM_DEFAULT - SW_IPC_HEADER_SIZE,
                      SW_IPC_DATAGRAM_DEFAULT - SW_IPC_HEADER_SIZE + 1,
                      65536,
                      200000,
                      1 << 20,
                      (16 << 20)};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        void *b = ipct_pattern(sizes[i], i);
        sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, i);
        ASSERT_OK(sw__ipc_send(tx, &h, b, sizes[i]));
        int want = (int)i + 1;
        IPCT_RUN_UNTIL(loop, rx.count == want, 20000);
        ASSERT_EQ(rx.count, want);
        ASSERT_UEQ(rx.last_len, sizes[i]);
        ASSERT_UEQ(rx.last_fnv, ipct_fnv(b, sizes[i]));
        ASSERT_UEQ(rx.last_hdr.session, i);
        free(b);
        if (i == 0 || i == 2) {
            sw_ipc_stats_t s;
            ASSERT_OK(sw__ipc_stats(rxe, &s));
            ASSERT_UEQ(s.recv_datagrams, i == 0 ? 1 : 4); /* one, two, then one again */
        }
    }
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(rxe, &st));
    ASSERT_UEQ(st.abnormal, 0);
    ASSERT_UEQ(st.reassembly, 0);
    ipct_rx_close(&rx);
    ASSERT_EQ(sw__ipc_endpoint_destroy(tx), 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(rxe), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

/* Explicit cork: messages wait, then leave packed in few datagrams. */
SW_TEST(ipc_cork_packs)
{
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, NULL));
    sw_loop_t *loop = new_loop();
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.auto_cork = 0;
    sw_ipc_endpoint_t *tx, *rxe;
    ASSERT_OK(sw__ipc_endpoint_create(&tx, ch, 0, loop, &o));
    ipct_rx_t rx = {.check_seq = true};
    o.on_message = ipct_rx_cb;
    o.arg = &rx;
    ASSERT_OK(sw__ipc_endpoint_create(&rxe, ch, 1, NULL, &o));
    sw__ipc_cork(tx);
    sw__ipc_cork(tx);
    for (uint64_t i = 0; i < 200; i++) { /* under SW_IPC_CORK_FLUSH: nothing leaves early */
        unsigned char b[1000];
        memset(b, 7, sizeof(b));
        memcpy(b, &i, 8);
        sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, i);
        ASSERT_OK(sw__ipc_send(tx, &h, b, sizeof(b)));
    }
    ASSERT_UEQ(sw__ipc_queued(tx), 200 * (1000 + SW_IPC_HEADER_SIZE));
    ASSERT_OK(sw__ipc_uncork(tx)); /* still corked once */
    ASSERT_UGT(sw__ipc_queued(tx), 0);
    ASSERT_OK(sw__ipc_uncork(tx));
    ASSERT_UEQ(sw__ipc_queued(tx), 0);
    ASSERT_OK(sw__ipc_uncork(tx)); /* not corked: no-op */
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(tx, &st));
    ASSERT_ULE(st.sent_datagrams, 200 * 1040 / (64 << 10) + 2);
    while (rx.count < 200) {
        ASSERT_GT(sw__ipc_recv_wait(rxe, 2000), 0);
    }
    ASSERT_EQ(rx.seq_errors, 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(tx), 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(rxe), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

/* A full socket: messages queue, on_full fires once at the high watermark, the hard cap
 * refuses whole messages with SW_EAGAIN, on_drained fires once at the low watermark, and
 * every accepted byte arrives intact and in order. */
typedef struct {
    int full, drained;
    int order[8];
    int norder;
    size_t full_at, drained_at;
} marks_t;

static void on_full(sw_ipc_endpoint_t *ep, size_t queued, void *arg)
{
    (void)ep;
    marks_t *m = arg;
    m->full++;
    m->full_at = queued;
    m->order[m->norder++ & 7] = 1;
}

static void on_drained(sw_ipc_endpoint_t *ep, size_t queued, void *arg)
{
    (void)ep;
    marks_t *m = arg;
    m->drained++;
    m->drained_at = queued;
    m->order[m->norder++ & 7] = 2;
}

static void full_queue(sw_ipc_kind_t kind)
{
    sw_ipc_channel_options_t co;
    sw__ipc_channel_options_init(&co);
    co.kind = kind;
    co.sockbuf = 64 << 10;
    co.capacity = 64 << 10;
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, &co));
    sw_loop_t *loop = new_loop();
    marks_t mk = {0};
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.queue_max = 512 << 10;
    o.high_watermark = 256 << 10;
    o.low_watermark = 64 << 10;
    o.on_full = on_full;
    o.on_drained = on_drained;
    o.arg = &mk;
    sw_ipc_endpoint_t *tx, *rxe;
    ASSERT_OK(sw__ipc_endpoint_create(&tx, ch, 0, loop, &o));
    ipct_rx_t rx = {.check_seq = true};
    sw__ipc_endpoint_options_init(&o);
    o.on_message = ipct_rx_cb;
    o.arg = &rx;
    ASSERT_OK(sw__ipc_endpoint_create(&rxe, ch, 1, NULL, &o));

    /* Nobody reads: fill until the hard cap refuses. */
    uint64_t seq = 0;
    unsigned char buf[3000];
    int rc = 0;
    while (seq < 100000) {
        memset(buf, (int)seq, sizeof(buf));
        memcpy(buf, &seq, 8);
        sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, seq);
        rc = sw__ipc_send(tx, &h, buf, sizeof(buf));
        if (rc) {
            break;
        }
        seq++;
        sw_loop_run(loop, SW_RUN_NOWAIT); /* auto cork: let it flush */
    }
    ASSERT_ERR(rc, SW_EAGAIN);
    ASSERT_EQ(mk.full, 1);
    ASSERT_EQ(mk.drained, 0);
    ASSERT_UGE(mk.full_at, 256 << 10);
    size_t q = sw__ipc_queued(tx);
    ASSERT_UGT(q + sizeof(buf) + SW_IPC_HEADER_SIZE, 512 << 10);
    ASSERT_ULE(q, 512 << 10);
    /* Refused again, nothing changed. */
    sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, seq);
    ASSERT_ERR(sw__ipc_send(tx, &h, buf, sizeof(buf)), SW_EAGAIN);
    ASSERT_UEQ(sw__ipc_queued(tx), q);
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(tx, &st));
    ASSERT_UEQ(st.eagain, 2);
    ASSERT_UEQ(st.sent_messages, seq);
    ASSERT_UEQ(st.full_events, 1);
    /* A small message still fits under the cap. */
    ASSERT_UGE(st.queued_peak, q);

    /* Read everything while the sender's loop drains its queue. */
    uint64_t end = sw_test_now_ms() + 20000;
    while (rx.count < (int)seq && sw_test_now_ms() < end) {
        rc = sw__ipc_recv_wait(rxe, 0);
        ASSERT_TRUE(rc > 0 || rc == SW_ETIMEDOUT);
        sw_loop_run(loop, SW_RUN_NOWAIT);
    }
    ASSERT_EQ(rx.count, (int)seq);
    ASSERT_EQ(rx.seq_errors, 0);
    ASSERT_EQ(mk.full, 1);
    ASSERT_EQ(mk.drained, 1);
    ASSERT_EQ(mk.order[0], 1);
    ASSERT_EQ(mk.order[1], 2);
    ASSERT_ULE(mk.drained_at, 64 << 10);
    ASSERT_UEQ(sw__ipc_queued(tx), 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(tx), 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(rxe), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

SW_TEST_TIMEOUT(ipc_full_queue_watermarks, 60)
{
    full_queue(SW_IPC_SOCKET);
    full_queue(SW_IPC_MEMORY);
}

/* The hard cap: an endpoint with an empty queue takes one message larger than the cap; with
 * something queued it refuses what would pass the cap, whole. Destroy drops the queue. */
SW_TEST(ipc_hard_cap)
{
    sw_ipc_channel_options_t co;
    sw__ipc_channel_options_init(&co);
    co.sockbuf = 16 << 10;
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, &co));
    sw_loop_t *loop = new_loop();
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.queue_max = 100 << 10;
    o.auto_cork = 0;
    sw_ipc_endpoint_t *tx;
    ASSERT_OK(sw__ipc_endpoint_create(&tx, ch, 0, loop, &o));
    void *big = ipct_pattern(300 << 10, 1);
    sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, 1);
    ASSERT_OK(sw__ipc_send(tx, &h, big, 300 << 10)); /* empty queue: taken */
    size_t q = sw__ipc_queued(tx);
    ASSERT_UGT(q, 100 << 10);
    ASSERT_ERR(sw__ipc_send(tx, &h, big, 1), SW_EAGAIN);
    ASSERT_UEQ(sw__ipc_queued(tx), q);
    ASSERT_EQ(sw__ipc_endpoint_destroy(tx), 1); /* one message dropped */
    free(big);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

/* A callback that stops receiving in the middle of a packed datagram: the rest waits for
 * sw__ipc_recv_start and comes in order. */
SW_TEST(ipc_stop_restart_in_callback)
{
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, NULL));
    sw_loop_t *loop = new_loop();
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    sw_ipc_endpoint_t *tx, *rxe;
    o.auto_cork = 0;
    ASSERT_OK(sw__ipc_endpoint_create(&tx, ch, 0, loop, &o));
    o.auto_cork = -1;
    ipct_rx_t rx = {.check_seq = true, .stop_after = 3};
    o.on_message = ipct_rx_cb;
    o.arg = &rx;
    ASSERT_OK(sw__ipc_endpoint_create(&rxe, ch, 1, loop, &o));
    sw__ipc_cork(tx);
    for (uint64_t i = 0; i < 10; i++) {
        sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, i);
        ASSERT_OK(sw__ipc_send(tx, &h, &i, 8));
    }
    ASSERT_OK(sw__ipc_uncork(tx));
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(tx, &st));
    ASSERT_UEQ(st.sent_datagrams, 1);
    IPCT_RUN_UNTIL(loop, rx.count == 3, 2000);
    for (int i = 0; i < 5; i++) {
        sw_loop_run(loop, SW_RUN_NOWAIT);
    }
    ASSERT_EQ(rx.count, 3);
    ASSERT_OK(sw__ipc_recv_start(rxe));
    ASSERT_OK(sw__ipc_recv_start(rxe)); /* started: no-op */
    IPCT_RUN_UNTIL(loop, rx.count == 10, 2000);
    ASSERT_EQ(rx.count, 10);
    ASSERT_EQ(rx.seq_errors, 0);
    /* Stopped endpoints can still be read with recv_wait. */
    ASSERT_OK(sw__ipc_recv_stop(rxe));
    uint64_t i = 10;
    sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, i);
    ASSERT_OK(sw__ipc_send(tx, &h, &i, 8));
    ASSERT_OK(sw__ipc_flush(tx, 1000));
    ASSERT_EQ(sw__ipc_recv_wait(rxe, 1000), 1);
    ASSERT_EQ(rx.count, 11);
    ASSERT_EQ(sw__ipc_endpoint_destroy(tx), 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(rxe), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

/* Destroying the endpoint from its own callback ends delivery at once, safely. */
static void destroy_in_callback(sw_ipc_kind_t kind)
{
    sw_ipc_channel_options_t co;
    sw__ipc_channel_options_init(&co);
    co.kind = kind;
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, &co));
    sw_loop_t *loop = new_loop();
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    sw_ipc_endpoint_t *tx, *rxe;
    ASSERT_OK(sw__ipc_endpoint_create(&tx, ch, 0, loop, &o));
    ipct_rx_t rx = {.check_seq = true, .destroy_after = 2, .self = &rxe};
    o.on_message = ipct_rx_cb;
    o.arg = &rx;
    ASSERT_OK(sw__ipc_endpoint_create(&rxe, ch, 1, loop, &o));
    for (uint64_t i = 0; i < 10; i++) {
        sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, i);
        ASSERT_OK(sw__ipc_send(tx, &h, &i, 8));
    }
    void *big = ipct_pattern(1 << 20, 3);
    sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, 10);
    ASSERT_OK(sw__ipc_send(tx, &h, big, 1 << 20));
    free(big);
    IPCT_RUN_UNTIL(loop, rxe == NULL, 2000);
    ASSERT_NULL(rxe);
    ASSERT_EQ(rx.count, 2);
    ASSERT_OK(sw__ipc_flush(tx, 2000));
    ASSERT_EQ(sw__ipc_endpoint_destroy(tx), 0);
    for (int i = 0; i < 3; i++) {
        sw_loop_run(loop, SW_RUN_NOWAIT);
    }
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

SW_TEST(ipc_destroy_in_callback)
{
    destroy_in_callback(SW_IPC_SOCKET);
    destroy_in_callback(SW_IPC_MEMORY);
}

/* Destroy while an auto-cork flush is deferred: the deferred callback frees the endpoint. */
SW_TEST(ipc_destroy_with_deferred_flush)
{
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, NULL));
    sw_loop_t *loop = new_loop();
    sw_ipc_endpoint_t *tx;
    ASSERT_OK(sw__ipc_endpoint_create(&tx, ch, 0, loop, NULL));
    sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, 1);
    ASSERT_OK(sw__ipc_send(tx, &h, "abc", 3));
    ASSERT_UGT(sw__ipc_queued(tx), 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(tx), 1);
    ASSERT_ERR(sw_loop_destroy(loop), SW_EBUSY); /* the defer is still queued */
    sw_loop_run(loop, SW_RUN_NOWAIT);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

/* recv_max ends a turn inside a batch already read from the socket: the rest must still
 * come, although the socket is empty and no fd event will say so (regression). */
SW_TEST(ipc_recv_max_inside_batch)
{
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, NULL));
    sw_loop_t *loop = new_loop();
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.auto_cork = 0; /* one datagram per message */
    sw_ipc_endpoint_t *tx, *rxe;
    ASSERT_OK(sw__ipc_endpoint_create(&tx, ch, 0, NULL, &o));
    ipct_rx_t rx = {.check_seq = true};
    o.on_message = ipct_rx_cb;
    o.arg = &rx;
    o.recv_batch = 16;
    o.recv_max = 2;
    ASSERT_OK(sw__ipc_endpoint_create(&rxe, ch, 1, loop, &o));
    for (uint64_t i = 0; i < 10; i++) {
        sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, i);
        ASSERT_OK(sw__ipc_send(tx, &h, &i, 8));
    }
    IPCT_RUN_UNTIL(loop, rx.count == 10, 3000);
    ASSERT_EQ(rx.count, 10);
    ASSERT_EQ(rx.seq_errors, 0);
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(rxe, &st));
    ASSERT_UEQ(st.recv_datagrams, 10);
    /* The same through recv_wait. */
    for (uint64_t i = 10; i < 20; i++) {
        sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, i);
        ASSERT_OK(sw__ipc_send(tx, &h, &i, 8));
    }
    while (rx.count < 20) {
        ASSERT_GT(sw__ipc_recv_wait(rxe, 1000), 0);
    }
    ASSERT_EQ(rx.seq_errors, 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(tx), 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(rxe), 0);
    sw_loop_run(loop, SW_RUN_NOWAIT);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}
