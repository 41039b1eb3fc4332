/*
 * Channel internals: the shared header and the per-process handle (see channel.c). Exposed to
 * the tests, which simulate a holder dying halfway through an operation.
 */
#ifndef SW_MEMORY_CHANNEL_INT_H
#define SW_MEMORY_CHANNEL_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include "swoole/channel.h"
#include "swoole/lock.h"

#define CHAN_MAGIC 0x5357434eu /* "SWCN" */
#define CHAN_MIN   8
#define CHAN_MAX   ((size_t)1 << 30)
#define LEN_SIZE   4

typedef struct {
    uint32_t magic;
    uint32_t flags;
    uint64_t capacity;
    sw_spin_t lock;
    /* written under the lock; read outside it only to decide whether to keep spinning */
    _Atomic uint64_t head;
    _Atomic uint64_t tail;
    /* under the lock */
    uint64_t messages;
    uint64_t bytes;
    uint64_t pushes;
    uint64_t pops;
    uint64_t full;
    uint64_t recoveries;
    /* futex words and sleeper counts */
    _Atomic uint32_t data_seq;
    _Atomic uint32_t space_seq;
    _Atomic uint32_t data_waiters;
    _Atomic uint32_t space_waiters;
} chan_shm_t;

_Static_assert(sizeof(chan_shm_t) <= SW_CHANNEL_HEADER_SIZE, "channel header too big");

struct sw_channel_s {
    chan_shm_t *shm;
    unsigned char *ring;
    size_t map_size;
    int efd; /* -1 without notification */
};

#endif
