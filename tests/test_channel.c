/*
 * Channel: arguments, FIFO and wrap-around, full/empty, timeouts, the notification fd (also
 * driving an sw_loop_t), many producers x many consumers in processes and threads, blocking
 * hand-offs, and recovery from a holder that died.
 */
#include <poll.h>
#include <string.h>

#include "core/fault.h"
#include "memory/channel_int.h"
#include "memory_test_util.h"
#include "swoole/channel.h"
#include "swoole/loop.h"
#include "swoole/shm.h"
#include "swoole/timer.h"

static int readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, 0);
    return n == 1 && (p.revents & POLLIN);
}

SW_TEST(channel_bad_args)
{
    sw_channel_t *ch = NULL;
    char buf[16];
    ASSERT_ERR(sw_channel_create(NULL, 64, 0), SW_EINVAL);
    ASSERT_ERR(sw_channel_create(&ch, 7, 0), SW_EINVAL);
    ASSERT_ERR(sw_channel_create(&ch, ((size_t)1 << 30) + 1, 0), SW_EINVAL);
    ASSERT_ERR(sw_channel_create(&ch, 64, 0x10), SW_EINVAL);
    ASSERT_NULL(ch);
    ASSERT_ERR(sw_channel_push(NULL, "x", 1, 0), SW_EINVAL);
    ASSERT_ERR(sw_channel_pop(NULL, buf, sizeof(buf), 0), SW_EINVAL);
    ASSERT_ERR(sw_channel_fd(NULL), SW_EINVAL);
    ASSERT_EQ(sw_channel_max_message(NULL), 0);
    ASSERT_ERR(sw_channel_stats(NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw_channel_destroy(NULL), SW_EINVAL);

    ASSERT_OK(sw_channel_create(&ch, 8, SW_CHANNEL_NO_FD));
    ASSERT_ERR(sw_channel_fd(ch), SW_ENOTSUP);
    ASSERT_EQ(sw_channel_max_message(ch), 4);
    ASSERT_ERR(sw_channel_push(ch, NULL, 1, 0), SW_EINVAL);
    ASSERT_ERR(sw_channel_pop(ch, NULL, 1, 0), SW_EINVAL);
    ASSERT_ERR(sw_channel_stats(ch, NULL), SW_EINVAL);
    ASSERT_ERR(sw_channel_push(ch, "12345", 5, 0), SW_ECHANNEL_MSG_TOO_BIG);
    ASSERT_ERR(sw_channel_push(ch, "12345", 5, -1), SW_ECHANNEL_MSG_TOO_BIG);
    ASSERT_OK(sw_channel_push(ch, "1234", 4, 0));
    ASSERT_ERR(sw_channel_push(ch, NULL, 0, 0), SW_EAGAIN); /* even empty needs 4 bytes */
    ASSERT_ERR(sw_channel_pop(ch, buf, 3, 0), SW_EMSGSIZE);
    ASSERT_EQ(sw_channel_pop(ch, buf, 4, 0), 4);
    ASSERT_MEM_EQ(buf, "1234", 4);
    ASSERT_OK(sw_channel_push(ch, NULL, 0, 0));
    ASSERT_EQ(sw_channel_pop(ch, NULL, 0, 0), 0);
    ASSERT_OK(sw_channel_destroy(ch));
}

SW_TEST(channel_fifo_wrap_full_empty)
{
    sw_channel_t *ch;
    ASSERT_OK(sw_channel_create(&ch, 100, 0));
    char buf[128], msg[128];
    /* Fill with sizes that make messages straddle the end of the ring again and again. */
    uint32_t seq_in = 0, seq_out = 0;
    for (int round = 0; round < 500; round++) {
        int pushed = 0;
        for (;;) {
            size_t len = 4 + (seq_in * 7) % 29;
            memset(msg, 0, sizeof(msg));
            memcpy(msg, &seq_in, 4);
            for (size_t i = 4; i < len; i++) {
                msg[i] = (char)(seq_in + i);
            }
            int rc = sw_channel_push(ch, msg, len, 0);
            if (rc == SW_EAGAIN) {
                break;
            }
            ASSERT_OK(rc);
            seq_in++;
            pushed++;
        }
        /* Drain some, not all, so that positions drift. */
        int drain = round % 3 == 0 ? pushed + 1 : pushed / 2 + 1;
        for (int k = 0; k < drain; k++) {
            int n = sw_channel_pop(ch, buf, sizeof(buf), 0);
            if (n == SW_EAGAIN) {
                break;
            }
            ASSERT_GE(n, 4);
            uint32_t got;
            memcpy(&got, buf, 4);
            ASSERT_EQ(got, seq_out);
            ASSERT_EQ((size_t)n, 4 + (seq_out * 7) % 29);
            for (int i = 4; i < n; i++) {
                ASSERT_EQ(buf[i], (char)(seq_out + i));
            }
            seq_out++;
        }
    }
    sw_channel_stats_t st;
    ASSERT_OK(sw_channel_stats(ch, &st));
    ASSERT_EQ(st.capacity, 100);
    ASSERT_EQ(st.max_message, 96);
    ASSERT_EQ(st.pushes, seq_in);
    ASSERT_EQ(st.pops, seq_out);
    ASSERT_EQ(st.messages, seq_in - seq_out);
    ASSERT_EQ(st.full, 500);
    ASSERT_EQ(st.recoveries, 0);
    ASSERT_LE(st.used, 100);
    ASSERT_EQ(st.used, st.bytes + 4 * st.messages);
    while (sw_channel_pop(ch, buf, sizeof(buf), 0) >= 0) {
        seq_out++;
    }
    ASSERT_EQ(seq_out, seq_in);
    ASSERT_ERR(sw_channel_pop(ch, buf, sizeof(buf), 0), SW_EAGAIN);

    /* Timeouts on empty and on full. */
    uint64_t t0 = sw_test_now_ms();
    ASSERT_ERR(sw_channel_pop(ch, buf, sizeof(buf), 30), SW_ETIMEDOUT);
    ASSERT_OK(sw_channel_push(ch, msg, 96, 0)); /* exactly full */
    ASSERT_ERR(sw_channel_push(ch, NULL, 0, 30), SW_ETIMEDOUT);
    ASSERT_GE(sw_test_now_ms() - t0, 59);
    ASSERT_EQ(sw_channel_pop(ch, buf, sizeof(buf), -1), 96);
    ASSERT_OK(sw_channel_destroy(ch));
}

SW_TEST(channel_fd_level)
{
    sw_channel_t *ch;
    ASSERT_OK(sw_channel_create(&ch, 64, 0));
    int fd = sw_channel_fd(ch);
    ASSERT_GE(fd, 0);
    char buf[64];
    ASSERT_FALSE(readable(fd));
    for (int round = 0; round < 3; round++) {
        ASSERT_OK(sw_channel_push(ch, "a", 1, 0));
        ASSERT_TRUE(readable(fd));
        ASSERT_OK(sw_channel_push(ch, "bb", 2, 0));
        ASSERT_TRUE(readable(fd));
        ASSERT_EQ(sw_channel_pop(ch, buf, sizeof(buf), 0), 1);
        ASSERT_TRUE(readable(fd)); /* one message left */
        ASSERT_ERR(sw_channel_pop(ch, buf, 1, 0), SW_EMSGSIZE);
        ASSERT_TRUE(readable(fd)); /* the refused pop left it queued */
        ASSERT_EQ(sw_channel_pop(ch, buf, sizeof(buf), 0), 2);
        ASSERT_FALSE(readable(fd));
        ASSERT_ERR(sw_channel_pop(ch, buf, sizeof(buf), 0), SW_EAGAIN);
        ASSERT_FALSE(readable(fd));
    }
    ASSERT_OK(sw_channel_destroy(ch));
}

SW_TEST(channel_fault_eventfd)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    sw_channel_t *ch = NULL;
    int fds = sw_test_count_fds();
    ASSERT_OK(sw__fault_set("eventfd", 0, 1));
    ASSERT_ERR(sw_channel_create(&ch, 64, 0), SW_EMFILE);
    ASSERT_OK(sw__fault_set("alloc", 0, 1));
    ASSERT_ERR(sw_channel_create(&ch, 64, 0), SW_ENOMEM);
    ASSERT_OK(sw__fault_set("mmap", 0, 1));
    ASSERT_ERR(sw_channel_create(&ch, 64, 0), SW_ENOMEM);
    ASSERT_NULL(ch);
    sw__fault_reset();
    ASSERT_EQ(sw_test_count_fds(), fds);
}

/* ---- many producers x many consumers ---------------------------------------------------------- */

#define MP_PRODUCERS 4
#define MP_CONSUMERS 4

typedef struct {
    uint32_t producer;
    uint32_t seq;
    uint32_t len;
    uint32_t sum;
} mp_head_t;

typedef struct {
    sw_channel_t *ch;
    long per_producer;
    _Atomic long received;
    _Atomic long violations;
    _Atomic uint64_t seen[]; /* one bit per (producer, seq) */
} mp_shared_t;

static uint32_t mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

/* Payload bytes derived from (producer, seq), and a checksum over them (FNV-1a). */
static size_t make_msg(unsigned char *m, uint32_t producer, uint32_t seq)
{
    uint32_t r = mix(producer * 0x9e3779b9U + seq);
    size_t payload = r % 240;
    mp_head_t h = {.producer = producer, .seq = seq, .len = (uint32_t)payload};
    uint32_t sum = 2166136261u;
    for (size_t i = 0; i < payload; i++) {
        m[sizeof(h) + i] = (unsigned char)mix(r + (uint32_t)i);
        sum = (sum ^ m[sizeof(h) + i]) * 16777619u;
    }
    h.sum = sum;
    memcpy(m, &h, sizeof(h));
    return sizeof(h) + payload;
}

static void mp_producer(int idx, void *arg)
{
    mp_shared_t *s = arg;
    unsigned char m[512];
    for (long i = 0; i < s->per_producer; i++) {
        size_t len = make_msg(m, (uint32_t)idx, (uint32_t)i);
        /* Mix the entry points: non-blocking with retry, timed, blocking. */
        int rc;
        if (i % 3 == 0) {
            while ((rc = sw_channel_push(s->ch, m, len, 0)) == SW_EAGAIN) {
                sched_yield();
            }
        } else {
            rc = sw_channel_push(s->ch, m, len, i % 3 == 1 ? 20000 : -1);
        }
        ASSERT_OK(rc);
    }
}

static void mp_consumer(int idx, void *arg)
{
    (void)idx;
    mp_shared_t *s = arg;
    const long total = MP_PRODUCERS * s->per_producer;
    long last[MP_PRODUCERS];
    for (int p = 0; p < MP_PRODUCERS; p++) {
        last[p] = -1;
    }
    unsigned char m[512];
    uint64_t end = sw_test_now_ms() + 50000;
    while (atomic_load(&s->received) < total) {
        ASSERT_TRUE(sw_test_now_ms() < end);
        int n = sw_channel_pop(s->ch, m, sizeof(m), 50);
        if (n == SW_ETIMEDOUT) {
            continue;
        }
        ASSERT_GE(n, (int)sizeof(mp_head_t));
        mp_head_t h;
        memcpy(&h, m, sizeof(h));
        uint32_t sum = 2166136261u;
        for (uint32_t i = 0; i < h.len; i++) {
            sum = (sum ^ m[sizeof(h) + i]) * 16777619u;
        }
        if (h.producer >= MP_PRODUCERS || h.seq >= s->per_producer ||
            (size_t)n != sizeof(h) + h.len || sum != h.sum || (long)h.seq <= last[h.producer]) {
            atomic_fetch_add(&s->violations, 1);
            continue;
        }
        last[h.producer] = h.seq;
        uint64_t bit = (uint64_t)h.producer * (uint64_t)s->per_producer + h.seq;
        uint64_t old = atomic_fetch_or(&s->seen[bit / 64], (uint64_t)1 << (bit % 64));
        if (old & ((uint64_t)1 << (bit % 64))) {
            atomic_fetch_add(&s->violations, 1); /* delivered twice */
        }
        atomic_fetch_add(&s->received, 1);
    }
}

static void mpmc(int threads)
{
    long per = mt_scaled(100000);
    size_t words = (size_t)(MP_PRODUCERS * per + 63) / 64;
    size_t size = sizeof(mp_shared_t) + words * sizeof(uint64_t);
    void *mem;
    ASSERT_OK(sw_shm_create(size, &mem));
    mp_shared_t *s = mem;
    s->per_producer = per;
    ASSERT_OK(sw_channel_create(&s->ch, 16384, 0));
    if (threads) {
        mt_thread_t ts[MP_PRODUCERS + MP_CONSUMERS];
        for (int i = 0; i < MP_PRODUCERS + MP_CONSUMERS; i++) {
            ts[i].fn = i < MP_PRODUCERS ? mp_producer : mp_consumer;
            ts[i].index = i < MP_PRODUCERS ? i : i - MP_PRODUCERS;
            ts[i].arg = s;
            ASSERT_EQ(pthread_create(&ts[i].tid, NULL, mt_thread_main, &ts[i]), 0);
        }
        for (int i = 0; i < MP_PRODUCERS + MP_CONSUMERS; i++) {
            ASSERT_EQ(pthread_join(ts[i].tid, NULL), 0);
        }
    } else {
        pid_t prod[MP_PRODUCERS], cons[MP_CONSUMERS];
        mt_spawn(cons, MP_CONSUMERS, mp_consumer, s);
        mt_spawn(prod, MP_PRODUCERS, mp_producer, s);
        mt_reap(prod, MP_PRODUCERS);
        mt_reap(cons, MP_CONSUMERS);
    }
    ASSERT_EQ(atomic_load(&s->violations), 0);
    ASSERT_EQ(atomic_load(&s->received), MP_PRODUCERS * per);
    for (long b = 0; b < MP_PRODUCERS * per; b++) {
        ASSERT_TRUE(atomic_load(&s->seen[b / 64]) & ((uint64_t)1 << (b % 64)));
    }
    sw_channel_stats_t st;
    ASSERT_OK(sw_channel_stats(s->ch, &st));
    ASSERT_EQ(st.pushes, MP_PRODUCERS * per);
    ASSERT_EQ(st.pops, MP_PRODUCERS * per);
    ASSERT_EQ(st.messages, 0);
    ASSERT_EQ(st.used, 0);
    ASSERT_FALSE(readable(sw_channel_fd(s->ch)));
    ASSERT_OK(sw_channel_destroy(s->ch));
    ASSERT_OK(sw_shm_destroy(mem, size));
}

SW_TEST_TIMEOUT(channel_mpmc_processes, 120)
{
    mpmc(0);
}

SW_TEST_TIMEOUT(channel_mpmc_threads, 120)
{
    mpmc(1);
}

/* ---- blocking hand-offs across processes -------------------------------------------------- */

static void late_pusher(int idx, void *arg)
{
    (void)idx;
    sw_channel_t *ch = arg;
    mt_sleep_ms(30);
    ASSERT_OK(sw_channel_push(ch, "late", 4, -1));
}

static void late_popper(int idx, void *arg)
{
    (void)idx;
    sw_channel_t *ch = arg;
    char buf[64];
    mt_sleep_ms(30);
    ASSERT_EQ(sw_channel_pop(ch, buf, sizeof(buf), -1), 60);
}

SW_TEST(channel_blocking_handoff)
{
    sw_channel_t *ch;
    ASSERT_OK(sw_channel_create(&ch, 64, 0));
    char buf[64] = {0};
    pid_t pid;
    /* Consumer asleep on empty, woken by another process's push. */
    mt_spawn(&pid, 1, late_pusher, ch);
    ASSERT_EQ(sw_channel_pop(ch, buf, sizeof(buf), -1), 4);
    ASSERT_MEM_EQ(buf, "late", 4);
    mt_reap(&pid, 1);
    /* Producer asleep on full, woken by another process's pop. */
    ASSERT_OK(sw_channel_push(ch, buf, 60, 0));
    mt_spawn(&pid, 1, late_popper, ch);
    ASSERT_OK(sw_channel_push(ch, "next", 4, 20000));
    mt_reap(&pid, 1);
    ASSERT_EQ(sw_channel_pop(ch, buf, sizeof(buf), 0), 4);
    ASSERT_OK(sw_channel_destroy(ch));
}

/* ---- the fd wakes a loop ------------------------------------------------------------------ */

typedef struct {
    sw_channel_t *ch;
    sw_io_t io;
    int got;
    int empties;
    int want;
} loop_ctx_t;

static void on_channel(sw_io_t *io, int events, void *arg)
{
    loop_ctx_t *c = arg;
    ASSERT_TRUE(events & SW_EVENT_READ);
    char buf[64];
    int n, popped = 0;
    while ((n = sw_channel_pop(c->ch, buf, sizeof(buf), 0)) >= 0) {
        ASSERT_EQ(n, 5);
        c->got++;
        popped++;
    }
    ASSERT_ERR(n, SW_EAGAIN);
    /* Level semantics: readable means there was data. */
    ASSERT_GT(popped, 0);
    if (c->got >= c->want) {
        sw_io_stop(io);
    }
}

static void on_guard(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    (void)arg;
    sw_test_fail(__FILE__, __LINE__, "the loop was not woken by the channel fd");
}

static void slow_pusher(int idx, void *arg)
{
    (void)idx;
    sw_channel_t *ch = arg;
    for (int i = 0; i < 20; i++) {
        mt_sleep_ms(i % 4 == 0 ? 5 : 0);
        ASSERT_OK(sw_channel_push(ch, "hello", 5, -1));
    }
}

SW_TEST(channel_fd_wakes_loop)
{
    loop_ctx_t c = {.want = 20};
    ASSERT_OK(sw_channel_create(&c.ch, 256, 0));
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    ASSERT_OK(sw_io_init(loop, &c.io, sw_channel_fd(c.ch), on_channel, &c));
    ASSERT_OK(sw_io_start(&c.io, SW_EVENT_READ));
    uint64_t guard;
    ASSERT_OK(sw_timer_after(loop, 20000, on_guard, NULL, &guard));
    pid_t pid;
    mt_spawn(&pid, 1, slow_pusher, c.ch);
    while (sw_io_is_active(&c.io)) {
        ASSERT_TRUE(sw_loop_run(loop, SW_RUN_ONCE) >= 0);
    }
    mt_reap(&pid, 1);
    ASSERT_EQ(c.got, 20);
    ASSERT_OK(sw_timer_clear(loop, guard));
    ASSERT_OK(sw_loop_destroy(loop));
    ASSERT_OK(sw_channel_destroy(c.ch));
}

/* ---- a holder that died ------------------------------------------------------------------- */

/* Takes the channel lock, leaves the counters and the fd stale (as a holder killed between
 * its publishing store and its bookkeeping would), and waits to be killed. */
static void doomed_holder(int idx, void *arg)
{
    (void)idx;
    sw_channel_t *ch = arg;
    ASSERT_OK(sw_spin_lock(&ch->shm->lock));
    ch->shm->messages = 77;
    ch->shm->bytes = 12345;
    uint64_t v;
    ASSERT_EQ(read(ch->efd, &v, sizeof(v)), (ssize_t)sizeof(v));
    atomic_store(&ch->shm->data_seq, 1000);
    for (;;) {
        pause();
    }
}

SW_TEST(channel_dead_holder_recovered)
{
    sw_channel_t *ch;
    ASSERT_OK(sw_channel_create(&ch, 128, 0));
    ASSERT_OK(sw_channel_push(ch, "one", 3, 0));
    ASSERT_OK(sw_channel_push(ch, "three", 5, 0));
    pid_t pid;
    mt_spawn(&pid, 1, doomed_holder, ch);
    uint64_t end = sw_test_now_ms() + 10000;
    while (readable(ch->efd)) {
        ASSERT_TRUE(sw_test_now_ms() < end);
        mt_sleep_ms(1);
    }
    mt_kill(pid);
    sw_channel_stats_t st;
    ASSERT_OK(sw_channel_stats(ch, &st));
    ASSERT_EQ(st.recoveries, 1);
    ASSERT_EQ(st.messages, 2);
    ASSERT_EQ(st.bytes, 8);
    ASSERT_TRUE(readable(ch->efd));
    char buf[16];
    ASSERT_EQ(sw_channel_pop(ch, buf, sizeof(buf), 0), 3);
    ASSERT_EQ(sw_channel_pop(ch, buf, sizeof(buf), 0), 5);
    ASSERT_MEM_EQ(buf, "three", 5);
    ASSERT_FALSE(readable(ch->efd));
    ASSERT_OK(sw_channel_destroy(ch));
}

/* Producers killed at random points: whatever was published is whole and in order. */
static void endless_producer(int idx, void *arg)
{
    sw_channel_t *ch = arg;
    unsigned char m[512];
    for (uint32_t i = 0;; i++) {
        size_t len = make_msg(m, (uint32_t)idx, i);
        if (sw_channel_push(ch, m, len, 0) == SW_EAGAIN) {
            sched_yield();
            i--;
        }
    }
}

SW_TEST(channel_killed_producers)
{
    sw_channel_t *ch;
    ASSERT_OK(sw_channel_create(&ch, 4096, 0));
    long next[2] = {0, 0};
    unsigned char m[512];
    for (int round = 0; round < 10; round++) {
        pid_t pids[2];
        mt_spawn(pids, 2, endless_producer, ch);
        for (int k = 0; k < 200; k++) {
            int n = sw_channel_pop(ch, m, sizeof(m), 100);
            if (n < 0) {
                continue;
            }
            mp_head_t h;
            memcpy(&h, m, sizeof(h));
            ASSERT_EQ((size_t)n, sizeof(h) + h.len);
            ASSERT_LT(h.producer, 2);
            ASSERT_EQ(h.seq, next[h.producer]); /* consecutive: none lost, none twice */
            next[h.producer]++;
        }
        mt_kill(pids[0]);
        mt_kill(pids[1]);
        int n;
        while ((n = sw_channel_pop(ch, m, sizeof(m), 0)) >= 0) {
            mp_head_t h;
            memcpy(&h, m, sizeof(h));
            ASSERT_EQ((size_t)n, sizeof(h) + h.len);
        }
        ASSERT_ERR(n, SW_EAGAIN);
        next[0] = next[1] = 0;
        ASSERT_FALSE(readable(ch->efd));
    }
    sw_channel_stats_t st;
    ASSERT_OK(sw_channel_stats(ch, &st));
    ASSERT_EQ(st.messages, 0);
    ASSERT_EQ(st.used, 0);
    ASSERT_OK(sw_channel_destroy(ch));
}
