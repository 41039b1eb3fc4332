/*
 * The IPC bus between threads: two sender threads interleaving large messages over one
 * socketpair, and the memory kind (THREAD mode) carrying small and 16 MiB messages to a
 * worker thread with its own loop and back. Run under TSan.
 */
#include <pthread.h>

#include "test_ipc_util.h"

/* ---- two sender threads, one socketpair --------------------------------------------------- */

#define PER_THREAD 20

static size_t tsize(int sender, int i)
{
    return 1 + ((size_t)(sender * 31 + i * 7877) * 2654435761u) % (1 << 20);
}

typedef struct {
    sw_ipc_channel_t *ch;
    int sender;
    int rc;
} sender_arg_t;

static void *sender_main(void *p)
{
    sender_arg_t *a = p;
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.sender_id = (uint16_t)a->sender;
    o.max_message = 1 << 20;
    o.timeout_ms = 30000;
    sw_ipc_endpoint_t *ep;
    a->rc = sw__ipc_endpoint_create(&ep, a->ch, 0, NULL, &o);
    for (int i = 0; a->rc == 0 && i < PER_THREAD; i++) {
        size_t n = tsize(a->sender, i);
        void *b = ipct_pattern(n, (uint64_t)a->sender * 100 + (uint64_t)i);
        sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, (uint64_t)i);
        a->rc = sw__ipc_send(ep, &h, b, n);
        free(b);
    }
    if (ep) {
        sw__ipc_endpoint_destroy(ep);
    }
    return NULL;
}

typedef struct {
    int next[3];
    int count, errors;
} trx_t;

static void trx_cb(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *hdr, const void *data, size_t len,
                   void *arg)
{
    (void)ep;
    trx_t *t = arg;
    t->count++;
    int s = hdr->sender;
    if (s < 1 || s > 2 || (int)hdr->session != t->next[s]) {
        t->errors++;
        return;
    }
    int i = t->next[s]++;
    size_t n = tsize(s, i);
    void *want = ipct_pattern(n, (uint64_t)s * 100 + (uint64_t)i);
    if (len != n || memcmp(data, want, n) != 0) {
        t->errors++;
    }
    free(want);
}

SW_TEST_TIMEOUT(ipc_two_sender_threads, 120)
{
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, NULL));
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    trx_t t = {.count = 0};
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.max_message = 1 << 20;
    o.on_message = trx_cb;
    o.arg = &t;
    sw_ipc_endpoint_t *rxe;
    ASSERT_OK(sw__ipc_endpoint_create(&rxe, ch, 1, loop, &o));
    /* Each sender thread makes its own blocking endpoint on side 0. */
    sender_arg_t args[2] = {{ch, 1, 0}, {ch, 2, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(pthread_create(&th[i], NULL, sender_main, &args[i]));
    }
    IPCT_RUN_UNTIL(loop, t.count == 2 * PER_THREAD, 60000);
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(pthread_join(th[i], NULL));
        ASSERT_OK(args[i].rc);
    }
    ASSERT_EQ(t.count, 2 * PER_THREAD);
    ASSERT_EQ(t.errors, 0);
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(rxe, &st));
    ASSERT_UEQ(st.abnormal, 0);
    ASSERT_EQ(sw__ipc_endpoint_destroy(rxe), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}

/* ---- memory kind: a worker thread echoes everything --------------------------------------- */

#define MEM_SMALL 100000
#define MEM_BIG   ((size_t)16 << 20)

typedef struct {
    sw_ipc_endpoint_t *ep; /* made by the main thread, used only by the worker */
    sw_loop_t *loop;
    int echoed;
    int rc;
} worker_t;

static void worker_cb(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *hdr, const void *data,
                      size_t len, void *arg)
{
    worker_t *w = arg;
    if (hdr->type == SW_IPC_SHUTDOWN) {
        sw__ipc_flush(ep, 10000);
        sw__ipc_endpoint_destroy(ep); /* the loop has nothing left and ends */
        w->ep = NULL;
        return;
    }
    sw_ipc_header_t h = *hdr;
    h.type = SW_IPC_SEND;
    int rc;
    while ((rc = sw__ipc_send(ep, &h, data, len)) == SW_EAGAIN) {
        sw__ipc_flush(ep, 10000);
    }
    if (rc && !w->rc) {
        w->rc = rc;
    }
    w->echoed++;
}

static void *worker_main(void *p)
{
    worker_t *w = p;
    sw_loop_run(w->loop, SW_RUN_DEFAULT);
    return NULL;
}

typedef struct {
    sw_ipc_endpoint_t *ep;
    uint64_t sent;
    uint64_t total;
} mpump_t;

static void mpump(mpump_t *p)
{
    unsigned char buf[100];
    while (p->sent < p->total) {
        memset(buf, (int)p->sent, sizeof(buf));
        memcpy(buf, &p->sent, 8);
        sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, p->sent);
        int rc = sw__ipc_send(p->ep, &h, buf, sizeof(buf));
        if (rc == SW_EAGAIN) {
            return;
        }
        ASSERT_OK(rc);
        p->sent++;
    }
}

static void mpump_drained(sw_ipc_endpoint_t *ep, size_t queued, void *arg)
{
    (void)queued;
    (void)arg;
    mpump(sw__ipc_get_data(ep));
}

SW_TEST_TIMEOUT(ipc_memory_worker_thread, 120)
{
    sw_ipc_channel_options_t co;
    sw__ipc_channel_options_init(&co);
    co.kind = SW_IPC_MEMORY;
    co.capacity = 1 << 20;
    sw_ipc_channel_t *ch;
    ASSERT_OK(sw__ipc_channel_create(&ch, &co));

    worker_t w = {0};
    ASSERT_OK(sw_loop_create(&w.loop, NULL));
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.sender_id = 1;
    o.max_message = MEM_BIG;
    o.queue_max = 4 << 20;
    o.on_message = worker_cb;
    o.arg = &w;
    ASSERT_OK(sw__ipc_endpoint_create(&w.ep, ch, 1, w.loop, &o));

    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    mpump_t p = {.total = MEM_SMALL};
    ipct_rx_t rx = {.check_seq = true};
    sw__ipc_endpoint_options_init(&o);
    o.max_message = MEM_BIG;
    o.queue_max = 1 << 20;
    o.on_message = ipct_rx_cb;
    o.on_drained = mpump_drained;
    o.arg = &rx;
    ASSERT_OK(sw__ipc_endpoint_create(&p.ep, ch, 0, loop, &o));
    sw__ipc_set_data(p.ep, &p);

    pthread_t th;
    ASSERT_OK(pthread_create(&th, NULL, worker_main, &w));
    mpump(&p);
    IPCT_RUN_UNTIL(loop, rx.count == MEM_SMALL, 60000);
    ASSERT_EQ(rx.count, MEM_SMALL);
    ASSERT_EQ(rx.seq_errors, 0);

    /* 16 MiB there and back, moved whole. */
    rx.check_seq = false;
    void *big = ipct_pattern(MEM_BIG, 11);
    sw_ipc_header_t h = ipct_hdr(SW_IPC_DATA, 7);
    ASSERT_OK(sw__ipc_send(p.ep, &h, big, MEM_BIG));
    IPCT_RUN_UNTIL(loop, rx.count == MEM_SMALL + 1, 30000);
    ASSERT_EQ(rx.count, MEM_SMALL + 1);
    ASSERT_UEQ(rx.last_len, MEM_BIG);
    ASSERT_UEQ(rx.last_fnv, ipct_fnv(big, MEM_BIG));
    free(big);

    h = ipct_hdr(SW_IPC_SHUTDOWN, 0);
    ASSERT_OK(sw__ipc_send(p.ep, &h, NULL, 0));
    ASSERT_OK(sw__ipc_flush(p.ep, 10000));
    ASSERT_OK(pthread_join(th, NULL));
    ASSERT_NULL(w.ep);
    ASSERT_OK(w.rc);
    ASSERT_EQ(w.echoed, MEM_SMALL + 1);
    sw_ipc_stats_t st;
    ASSERT_OK(sw__ipc_stats(p.ep, &st));
    ASSERT_UEQ(st.abnormal, 0);
    ASSERT_UEQ(st.recv_messages, MEM_SMALL + 1);
    ipct_rx_close(&rx);
    ASSERT_EQ(sw__ipc_endpoint_destroy(p.ep), 0);
    sw_loop_run(loop, SW_RUN_NOWAIT); /* the auto-cork defer frees the endpoint's memory */
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw_loop_destroy(w.loop));
    ASSERT_OK(sw__ipc_channel_destroy(ch));
}
