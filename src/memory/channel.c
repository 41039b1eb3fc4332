/*
 * Channel: a ring of length-prefixed messages in one shared mapping (see swoole/channel.h).
 *
 * Shared state (all plain data, positions are byte counts that only grow; the ring index of a
 * position is pos % capacity):
 *   head  position of the oldest message's length field
 *   tail  position one past the newest message
 * so used bytes = tail - head. Every field but the futex words and waiter counts is written
 * under `lock`, an sw_spin_t (robust: a dead holder is detected by the waiters); head and tail
 * are also peeked at without the lock by waiters deciding whether to keep spinning.
 *
 * The lock is a spinlock, not a mutex, because it is held only for a copy and a few stores:
 * sleeping in the kernel for such a short hold costs more than the hold. Together with the
 * brief lock-free spin before a waiter sleeps (spin_until), this took 64-byte messages between
 * two processes from about 2.4M/s (robust mutex, sleeping at once) to about 16M/s on the
 * development machine (docs/bench/memory.md).
 *
 * Publication is one store: a push writes the length and payload past `tail`, then moves
 * `tail`; a pop copies out, then moves `head`. A holder that dies before its final store leaves
 * the ring as it was; one that dies after it leaves the message counters and the notification
 * fd possibly stale, so recovery (the next locker gets SW_ELOCK_OWNERDEAD) recounts the
 * messages by walking the length fields from head to tail, and resets the eventfd.
 *
 * Sleeping: consumers sleep on `data_seq`, producers on `space_seq` (FUTEX_WAIT with the value
 * read before checking the ring, so a change in between makes the wait return at once). Each
 * push bumps `data_seq` and wakes one sleeping consumer; each pop bumps `space_seq` and wakes
 * all sleeping producers (a freed slot may fit a small message but not a big one, so every
 * producer re-checks). A consumer that gives up on a timeout passes its possible wake-up on.
 */
#include "swoole/channel.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "memory/channel_int.h"
#include "memory/lock_int.h"
#include "swoole/error.h"
#include "swoole/lock.h"
#include "swoole/shm.h"

/* ---- ring copies ---------------------------------------------------------------------------- */

static void ring_put(const sw_channel_t *ch, uint64_t pos, const void *src, size_t n)
{
    uint64_t cap = ch->shm->capacity;
    size_t at = (size_t)(pos % cap);
    size_t first = n < cap - at ? n : (size_t)(cap - at);
    memcpy(ch->ring + at, src, first);
    if (n > first) {
        memcpy(ch->ring, (const unsigned char *)src + first, n - first);
    }
}

static void ring_get(const sw_channel_t *ch, uint64_t pos, void *dst, size_t n)
{
    uint64_t cap = ch->shm->capacity;
    size_t at = (size_t)(pos % cap);
    size_t first = n < cap - at ? n : (size_t)(cap - at);
    memcpy(dst, ch->ring + at, first);
    if (n > first) {
        memcpy((unsigned char *)dst + first, ch->ring, n - first);
    }
}

static uint32_t len_at(const sw_channel_t *ch, uint64_t pos)
{
    uint32_t len;
    ring_get(ch, pos, &len, LEN_SIZE);
    return len;
}

/* ---- notification fd ------------------------------------------------------------------------ */

static void efd_signal(const sw_channel_t *ch)
{
    if (ch->efd >= 0) {
        uint64_t one = 1;
        /* Cannot fail with EAGAIN: the counter is 0 or 1, far below its limit. */
        ssize_t n = write(ch->efd, &one, sizeof(one));
        (void)n;
    }
}

static void efd_clear(const sw_channel_t *ch)
{
    if (ch->efd >= 0) {
        uint64_t v;
        ssize_t n = read(ch->efd, &v, sizeof(v)); /* EAGAIN when already 0: fine */
        (void)n;
    }
}

/* ---- locking and recovery ------------------------------------------------------------------- */

/* Rebuilds the counters and the fd after a holder died. */
static void recover(sw_channel_t *ch)
{
    chan_shm_t *s = ch->shm;
    uint64_t pos = atomic_load_explicit(&s->head, memory_order_relaxed), n = 0, bytes = 0;
    uint64_t tail = atomic_load_explicit(&s->tail, memory_order_relaxed);
    while (pos < tail) {
        uint32_t len = len_at(ch, pos);
        if (len > s->capacity - LEN_SIZE || tail - pos < LEN_SIZE + (uint64_t)len) {
            /* Cannot happen with the publication order above; if it does, drop the rest
             * rather than hand out garbage. */
            atomic_store_explicit(&s->tail, pos, memory_order_relaxed);
            break;
        }
        pos += LEN_SIZE + len;
        n++;
        bytes += len;
    }
    s->messages = n;
    s->bytes = bytes;
    s->recoveries++;
    efd_clear(ch);
    if (n > 0) {
        efd_signal(ch);
    }
    /* The dead holder may have published without waking anyone: wake every sleeper. */
    atomic_fetch_add(&s->data_seq, 1);
    atomic_fetch_add(&s->space_seq, 1);
    sw__futex_wake(&s->data_seq, 0x7fffffff, 1);
    sw__futex_wake(&s->space_seq, 0x7fffffff, 1);
}

static int chan_lock(sw_channel_t *ch)
{
    int rc = sw_spin_lock(&ch->shm->lock);
    if (rc == SW_ELOCK_OWNERDEAD) {
        recover(ch);
        return 0;
    }
    return rc;
}

static void chan_unlock(sw_channel_t *ch)
{
    sw_spin_unlock(&ch->shm->lock);
}

/* Sleeps on `word` (last read as `seen`) until woken, the deadline, or SLEEP_SLICE_NS: the
 * slice bounds the delay when a process died between publishing a change and waking the
 * sleepers (nobody else would wake them). SW_ETIMEDOUT when the deadline has passed. */
#define SLEEP_SLICE_NS 100000000ll

static int sleep_on(_Atomic uint32_t *word, _Atomic uint32_t *waiters, uint32_t seen,
                    int timeout_ms, uint64_t deadline)
{
    int64_t left = SLEEP_SLICE_NS;
    if (timeout_ms > 0) {
        uint64_t now = sw__now_ns();
        if (now >= deadline) {
            return SW_ETIMEDOUT;
        }
        if ((int64_t)(deadline - now) < left) {
            left = (int64_t)(deadline - now);
        }
    }
    atomic_fetch_add(waiters, 1);
    sw__futex_wait(word, seen, 1, left);
    atomic_fetch_sub(waiters, 1);
    return 0;
}

/*
 * Before sleeping, watch the ring for a moment without the lock: a producer and a consumer
 * running on two CPUs then hand messages over without any system call. `need` 0 waits for a
 * message, otherwise for `need` free bytes. Returns 1 when it is worth trying again.
 */
#define SPIN_PAUSES 256
#define SPIN_YIELDS 4

static int spin_until(chan_shm_t *s, uint64_t need)
{
    for (int i = 0; i < SPIN_PAUSES + SPIN_YIELDS; i++) {
        uint64_t head = atomic_load_explicit(&s->head, memory_order_relaxed);
        uint64_t tail = atomic_load_explicit(&s->tail, memory_order_relaxed);
        if (need == 0 ? tail != head : s->capacity - (tail - head) >= need) {
            return 1;
        }
        if (i < SPIN_PAUSES) {
            sw__cpu_relax();
        } else {
            sched_yield();
        }
    }
    return 0;
}

/* ---- API ---------------------------------------------------------------------------------- */

int sw_channel_create(sw_channel_t **out, size_t capacity, int flags)
{
    if (!out || capacity < CHAN_MIN || capacity > CHAN_MAX || (flags & ~SW_CHANNEL_NO_FD)) {
        return SW_EINVAL;
    }
    sw_channel_t *ch = sw__calloc(1, sizeof(*ch));
    if (!ch) {
        return SW_ENOMEM;
    }
    ch->efd = -1;
    ch->map_size = SW_CHANNEL_HEADER_SIZE + capacity;
    void *mem = NULL;
    int rc = sw_shm_create(ch->map_size, &mem);
    if (rc < 0) {
        sw__free(ch);
        return rc;
    }
    chan_shm_t *s = mem;
    s->capacity = capacity;
    s->flags = (uint32_t)flags;
    sw_spin_init(&s->lock);
    if (!(flags & SW_CHANNEL_NO_FD)) {
        rc = SW_FAULT("eventfd", SW_EMFILE);
        if (rc == 0) {
            ch->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
            if (ch->efd < 0) {
                rc = sw_translate_sys_error(errno);
            }
        }
    }
    if (rc < 0) {
        sw_shm_destroy(mem, ch->map_size);
        sw__free(ch);
        return rc;
    }
    s->magic = CHAN_MAGIC;
    ch->shm = s;
    ch->ring = (unsigned char *)mem + SW_CHANNEL_HEADER_SIZE;
    *out = ch;
    return 0;
}

int sw_channel_destroy(sw_channel_t *ch)
{
    if (!ch) {
        return SW_EINVAL;
    }
    if (ch->efd >= 0) {
        close(ch->efd);
    }
    sw_shm_destroy(ch->shm, ch->map_size);
    sw__free(ch);
    return 0;
}

static int usable(const sw_channel_t *ch)
{
    return ch && ch->shm && ch->shm->magic == CHAN_MAGIC;
}

int sw_channel_push(sw_channel_t *ch, const void *data, size_t len, int timeout_ms)
{
    if (!usable(ch) || (!data && len > 0)) {
        return SW_EINVAL;
    }
    chan_shm_t *s = ch->shm;
    if (len > s->capacity - LEN_SIZE) {
        return SW_ECHANNEL_MSG_TOO_BIG;
    }
    uint64_t need = LEN_SIZE + (uint64_t)len;
    uint64_t deadline = timeout_ms > 0 ? sw__deadline(timeout_ms) : 0;
    int counted_full = 0;
    for (;;) {
        uint32_t seen = atomic_load(&s->space_seq);
        int rc = chan_lock(ch);
        if (rc < 0) {
            return rc;
        }
        uint64_t head = atomic_load_explicit(&s->head, memory_order_relaxed);
        uint64_t tail = atomic_load_explicit(&s->tail, memory_order_relaxed);
        if (s->capacity - (tail - head) >= need) {
            uint32_t len32 = (uint32_t)len;
            ring_put(ch, tail, &len32, LEN_SIZE);
            if (len > 0) {
                ring_put(ch, tail + LEN_SIZE, data, len);
            }
            /* the publishing store */
            atomic_store_explicit(&s->tail, tail + need, memory_order_release);
            s->messages++;
            s->bytes += len;
            s->pushes++;
            if (s->messages == 1) {
                efd_signal(ch);
            }
            chan_unlock(ch);
            atomic_fetch_add(&s->data_seq, 1);
            if (atomic_load(&s->data_waiters) > 0) {
                sw__futex_wake(&s->data_seq, 1, 1);
            }
            return 0;
        }
        if (!counted_full) {
            s->full++;
            counted_full = 1;
        }
        chan_unlock(ch);
        if (timeout_ms == 0) {
            return SW_EAGAIN;
        }
        if (spin_until(s, need)) {
            continue;
        }
        if (sleep_on(&s->space_seq, &s->space_waiters, seen, timeout_ms, deadline) < 0) {
            return SW_ETIMEDOUT;
        }
    }
}

int sw_channel_pop(sw_channel_t *ch, void *buf, size_t size, int timeout_ms)
{
    if (!usable(ch) || (!buf && size > 0)) {
        return SW_EINVAL;
    }
    chan_shm_t *s = ch->shm;
    uint64_t deadline = timeout_ms > 0 ? sw__deadline(timeout_ms) : 0;
    for (;;) {
        uint32_t seen = atomic_load(&s->data_seq);
        int rc = chan_lock(ch);
        if (rc < 0) {
            return rc;
        }
        uint64_t head = atomic_load_explicit(&s->head, memory_order_relaxed);
        if (atomic_load_explicit(&s->tail, memory_order_relaxed) != head) {
            uint32_t len = len_at(ch, head);
            if (len > size) {
                chan_unlock(ch);
                return SW_EMSGSIZE;
            }
            if (len > 0) {
                ring_get(ch, head + LEN_SIZE, buf, len);
            }
            /* the publishing store */
            atomic_store_explicit(&s->head, head + LEN_SIZE + len, memory_order_release);
            s->messages--;
            s->bytes -= len;
            s->pops++;
            if (s->messages == 0) {
                efd_clear(ch);
            }
            chan_unlock(ch);
            atomic_fetch_add(&s->space_seq, 1);
            if (atomic_load(&s->space_waiters) > 0) {
                sw__futex_wake(&s->space_seq, 0x7fffffff, 1);
            }
            return (int)len;
        }
        chan_unlock(ch);
        if (timeout_ms == 0) {
            return SW_EAGAIN;
        }
        if (spin_until(s, 0)) {
            continue;
        }
        if (sleep_on(&s->data_seq, &s->data_waiters, seen, timeout_ms, deadline) < 0) {
            /* We may have been picked for a wake-up just as we gave up: pass it on. */
            if (atomic_load(&s->data_waiters) > 0) {
                sw__futex_wake(&s->data_seq, 1, 1);
            }
            return SW_ETIMEDOUT;
        }
    }
}

int sw_channel_fd(const sw_channel_t *ch)
{
    if (!ch) {
        return SW_EINVAL;
    }
    return ch->efd >= 0 ? ch->efd : SW_ENOTSUP;
}

size_t sw_channel_max_message(const sw_channel_t *ch)
{
    return usable(ch) ? (size_t)(ch->shm->capacity - LEN_SIZE) : 0;
}

int sw_channel_stats(sw_channel_t *ch, sw_channel_stats_t *st)
{
    if (!usable(ch) || !st) {
        return SW_EINVAL;
    }
    int rc = chan_lock(ch);
    if (rc < 0) {
        return rc;
    }
    chan_shm_t *s = ch->shm;
    st->capacity = s->capacity;
    st->max_message = s->capacity - LEN_SIZE;
    st->messages = s->messages;
    st->bytes = s->bytes;
    st->used = atomic_load_explicit(&s->tail, memory_order_relaxed) -
               atomic_load_explicit(&s->head, memory_order_relaxed);
    st->pushes = s->pushes;
    st->pops = s->pops;
    st->full = s->full;
    st->recoveries = s->recoveries;
    chan_unlock(ch);
    return 0;
}
