/*
 * Channel: a bounded queue of variable-length messages in shared memory, for many producers
 * and many consumers, threads or processes.
 *
 * Create the channel before fork(); every process forked afterwards uses the same handle
 * pointer (its copy of the handle points at the same mapping and holds the same descriptor
 * number). The mapping holds plain data only: a header (a robust spinlock, byte positions,
 * counters) and a ring of `capacity` bytes. Each message takes 4 bytes of length
 * plus its payload, stored contiguously modulo the ring (a message may wrap around the end),
 * so the largest message is capacity - 4 bytes and the ring holds any mix of messages whose
 * sizes + 4 each sum to at most capacity. Messages are never overwritten or dropped: a push
 * that does not fit waits or fails.
 *
 * Order: messages leave in the order they were pushed (one FIFO under one lock), so messages
 * of one producer are popped in the order that producer pushed them.
 *
 * Notification fd (unless SW_CHANNEL_NO_FD): an eventfd, readable exactly while the channel
 * holds at least one message. The library keeps it so: under the channel lock, a push that
 * makes the channel non-empty writes 1 to it and a pop that empties it reads it back to 0.
 * Watch it for readability (level-triggered; with edge-triggered watching, pop until
 * SW_EAGAIN on each event) and pop with timeout 0 until SW_EAGAIN; several consumers may watch
 * it, and those that find the channel already emptied by another get SW_EAGAIN. Never read or
 * write the fd yourself. It is created before fork like the mapping and closed by
 * sw_channel_destroy() in each process.
 *
 * Dead holders: if a process dies while holding the channel lock, the next user recovers: a
 * push or pop publishes its change with one store at the end, so a half-done operation is
 * simply not there; the counters and the notification fd are rebuilt from the ring, and the
 * `recoveries` stat counts it. A sleeper that the dead process should have woken looks again
 * within 100 ms.
 *
 * Timeouts (push, pop): 0 does not wait (SW_EAGAIN when full / empty); a negative value waits
 * as long as needed; a positive one waits up to that many milliseconds, then SW_ETIMEDOUT.
 * A waiter spins briefly without the lock, then sleeps on a futex.
 *
 * Thread-safety: every call except create and destroy may be made concurrently from any
 * thread of any process sharing the channel.
 */
#ifndef SWOOLE_CHANNEL_H
#define SWOOLE_CHANNEL_H

#include <stdint.h>

#include "swoole/common.h"

SW_EXTERN_C_BEGIN

typedef struct sw_channel_s sw_channel_t;

/** Flag for sw_channel_create(): no notification fd (saves a system call at each empty /
 * non-empty transition); sw_channel_fd() then returns SW_ENOTSUP. */
#define SW_CHANNEL_NO_FD 0x1

/** Bytes of shared memory the header takes besides the ring. */
#define SW_CHANNEL_HEADER_SIZE 384

typedef struct sw_channel_stats_s {
    uint64_t capacity;    /* ring bytes */
    uint64_t max_message; /* capacity - 4 */
    uint64_t messages;    /* messages queued now */
    uint64_t bytes;       /* payload bytes queued now */
    uint64_t used;        /* ring bytes in use: bytes + 4 * messages */
    uint64_t pushes;      /* successful pushes */
    uint64_t pops;        /* successful pops */
    uint64_t full;        /* pushes that found too little room (each attempt counted once) */
    uint64_t recoveries;  /* times the lock was taken over from a dead holder */
} sw_channel_stats_t;

/**
 * Creates a channel with a ring of `capacity` bytes (at least 8, at most 2^30), in a new
 * shared mapping of SW_CHANNEL_HEADER_SIZE + capacity bytes (rounded up to pages), plus an
 * eventfd unless `flags` has SW_CHANNEL_NO_FD. Returns 0 and stores the handle, or SW_EINVAL
 * (out NULL, capacity out of range, unknown flag), SW_ENOMEM, or the negated errno of mmap,
 * eventfd (SW_EMFILE...) or of the lock's initialisation. Nothing is left behind on error.
 */
SW_API int sw_channel_create(sw_channel_t **out, size_t capacity, int flags);

/**
 * Releases the calling process's handle: closes its copy of the fd, unmaps its view and frees
 * the handle. The channel lives on in other processes; the memory is freed when the last one
 * unmaps or exits. Messages still queued are dropped with the last view. Must not race with
 * other calls on the same handle in this process. Returns 0 or SW_EINVAL (NULL).
 */
SW_API int sw_channel_destroy(sw_channel_t *ch);

/**
 * Appends one message of `len` bytes (0 allowed; `data` may be NULL when len is 0). Returns 0,
 * SW_EINVAL (ch NULL, data NULL with len > 0, closed handle), SW_ECHANNEL_MSG_TOO_BIG (len >
 * max message: could never fit), SW_EAGAIN (timeout 0 and not enough room) or SW_ETIMEDOUT.
 * All or nothing.
 */
SW_API int sw_channel_push(sw_channel_t *ch, const void *data, size_t len, int timeout_ms);

/**
 * Removes the oldest message and copies it into `buf` (`size` bytes). Returns its length (>= 0),
 * SW_EINVAL (ch NULL, buf NULL with size > 0), SW_EMSGSIZE (the oldest message is longer than
 * `size`: it stays queued; a buffer of sw_channel_max_message() bytes always suffices),
 * SW_EAGAIN (timeout 0 and empty) or SW_ETIMEDOUT.
 */
SW_API int sw_channel_pop(sw_channel_t *ch, void *buf, size_t size, int timeout_ms);

/** The notification fd (see above), SW_ENOTSUP (created with SW_CHANNEL_NO_FD) or SW_EINVAL. */
SW_API int sw_channel_fd(const sw_channel_t *ch);

/** The largest message the channel accepts (capacity - 4), or 0 for NULL. */
SW_API size_t sw_channel_max_message(const sw_channel_t *ch);

/** Fills `*stats` (a consistent snapshot taken under the lock). Returns 0 or SW_EINVAL. */
SW_API int sw_channel_stats(sw_channel_t *ch, sw_channel_stats_t *stats);

SW_EXTERN_C_END

#endif
