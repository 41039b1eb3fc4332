/*
 * Helpers shared by the ipc test files: payload patterns and checksums, a collecting receiver,
 * and a bounded way to run a loop until a condition holds.
 */
#ifndef SW_TEST_IPC_UTIL_H
#define SW_TEST_IPC_UTIL_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "ipc/ipc.h"
#include "sw_test.h"
#include "swoole/loop.h"
#include "swoole/timer.h"

/* A deterministic byte pattern (xorshift64*), different for each seed. */
static inline void ipct_fill(void *buf, size_t n, uint64_t seed)
{
    unsigned char *b = buf;
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    size_t i = 0;
    while (i < n) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        uint64_t v = x * 0x2545F4914F6CDD1Dull;
        for (int k = 0; k < 8 && i < n; k++, i++) {
            b[i] = (unsigned char)(v >> (k * 8));
        }
    }
}

/* FNV-1a, 64 bits (the published offset basis and prime). */
static inline uint64_t ipct_fnv(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static inline void *ipct_pattern(size_t n, uint64_t seed)
{
    void *b = malloc(n ? n : 1);
    ASSERT_NOT_NULL(b);
    ipct_fill(b, n, seed);
    return b;
}

static inline sw_ipc_header_t ipct_hdr(uint8_t type, uint64_t session)
{
    sw_ipc_header_t h;
    memset(&h, 0, sizeof(h));
    h.type = type;
    h.session = session;
    return h;
}

/* A receiver that keeps the last message and counts everything. */
typedef struct {
    int count;
    uint64_t bytes;
    sw_ipc_header_t last_hdr;
    unsigned char *last;
    size_t last_len;
    uint64_t last_fnv;
    int stop_after;    /* > 0: sw__ipc_recv_stop after this many messages */
    int destroy_after; /* > 0: sw__ipc_endpoint_destroy after this many messages */
    sw_ipc_endpoint_t **self;
    uint64_t next_seq; /* in-order check on 8-byte sequence prefixes when check_seq */
    bool check_seq;
    int seq_errors;
} ipct_rx_t;

static inline void ipct_rx_cb(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *hdr, const void *data,
                              size_t len, void *arg)
{
    ipct_rx_t *rx = arg;
    rx->count++;
    rx->bytes += len;
    rx->last_hdr = *hdr;
    if (rx->check_seq) {
        uint64_t seq = 0;
        if (len >= 8) {
            memcpy(&seq, data, 8);
        }
        if (seq != rx->next_seq) {
            rx->seq_errors++;
        }
        rx->next_seq = seq + 1;
    } else {
        free(rx->last);
        rx->last = malloc(len ? len : 1);
        if (len) {
            memcpy(rx->last, data, len);
        }
        rx->last_len = len;
        rx->last_fnv = ipct_fnv(data, len);
    }
    if (rx->stop_after && rx->count == rx->stop_after) {
        sw__ipc_recv_stop(ep);
    }
    if (rx->destroy_after && rx->count == rx->destroy_after) {
        sw__ipc_endpoint_destroy(ep);
        if (rx->self) {
            *rx->self = NULL;
        }
    }
}

static inline void ipct_rx_close(ipct_rx_t *rx)
{
    free(rx->last);
    rx->last = NULL;
}

static void ipct_tick(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    (void)arg;
}

/* Runs `loop` until *flag becomes true or `ms` pass (the 5 ms tick keeps each iteration
 * bounded). Returns *flag. */
#define IPCT_RUN_UNTIL(loop, cond, ms)                                    \
    do {                                                                  \
        uint64_t ipct_tid_;                                               \
        ASSERT_OK(sw_timer_tick((loop), 5, ipct_tick, NULL, &ipct_tid_)); \
        uint64_t ipct_end_ = sw_test_now_ms() + (ms);                     \
        while (!(cond) && sw_test_now_ms() < ipct_end_) {                 \
            sw_loop_run((loop), SW_RUN_ONCE);                             \
        }                                                                 \
        ASSERT_OK(sw_timer_clear((loop), ipct_tid_));                     \
    } while (0)

#endif
