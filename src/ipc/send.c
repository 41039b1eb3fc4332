/*
 * Sending: the direct path, the queue, packing and chunking, the EMSGSIZE/ENOBUFS fallback,
 * watermarks, corking, blocking sends.
 *
 * A message is accepted whole or refused whole. Accepted, it either leaves at once (one
 * sendmsg of its header and the caller's iovecs, when nothing waits before it and it fits in
 * one datagram) or is copied into the queue, which leaves in batches of up to
 * SW_IPC_SEND_BATCH datagrams per sendmmsg: consecutive whole messages packed into one
 * datagram up to the chunk size, larger ones cut into chunk records. The chunk size starts at
 * the largest datagram the socket takes (ep->chunk_max) and halves on EMSGSIZE or ENOBUFS
 * (the kernel's high-order allocation for a large datagram failed: Swoole #2889, #3287, #4870)
 * down to SW_IPC_DATAGRAM_MIN; after SW_IPC_REGROW_AFTER datagrams it doubles again. ENOBUFS
 * at the floor is waited out (a 1 ms timer, or a 1 ms sleep when blocking), never reported.
 */
#include <poll.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "ipc/ipc_int.h"
#include "swoole/timer.h"

/* Internal results of transmit(), never returned to the owner. */
#define RC_REBUILD (-100000) /* the chunk size was lowered: build the datagrams again */
#define RC_NOBUFS  (-100001) /* ENOBUFS at the smallest chunk: wait and retry */

#define IOV_BUDGET 256

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Writes `n` prepared datagrams. Returns how many the channel took (> 0), SW_EAGAIN,
 * RC_REBUILD, RC_NOBUFS or the negated errno of a failure. */
static int transmit(sw_ipc_endpoint_t *ep, struct mmsghdr *mm, unsigned n)
{
    for (;;) {
        int k;
        int f = SW_FAULT("ipc_send", SW_ENOBUFS);
        if (f == 0) {
            f = SW_FAULT("ipc_send_msgsize", SW_EMSGSIZE);
        }
        if (f) {
            errno = -f;
            k = -1;
        } else {
            k = sendmmsg(ep->wfd, mm, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        }
        if (k > 0) {
            if (ep->chunk < ep->chunk_max) {
                ep->regrow += (unsigned)k;
                if (ep->regrow >= SW_IPC_REGROW_AFTER) {
                    ep->chunk = ep->chunk * 2 > ep->chunk_max ? ep->chunk_max : ep->chunk * 2;
                    ep->regrow = 0;
                }
            }
            ep->stats.sent_datagrams += (uint64_t)k;
            return k;
        }
        int e = k == 0 ? EAGAIN : errno;
        if (e == EINTR) {
            continue;
        }
        if (e == EAGAIN || e == EWOULDBLOCK) {
            return SW_EAGAIN;
        }
        if (e == EMSGSIZE || e == ENOBUFS) {
            if (ep->chunk > SW_IPC_DATAGRAM_MIN) {
                size_t c = ep->chunk / 2;
                ep->chunk = c < SW_IPC_DATAGRAM_MIN ? SW_IPC_DATAGRAM_MIN : c;
                ep->regrow = 0;
                ep->stats.fallbacks++;
                SW_LOG_NOTICE(ep->log, "%s: IPC send: %s, datagrams now %zu bytes", ep->name,
                              e == ENOBUFS ? "ENOBUFS" : "EMSGSIZE", ep->chunk);
                return RC_REBUILD;
            }
            if (e == ENOBUFS) {
                return RC_NOBUFS;
            }
        }
        return -e;
    }
}

static void pop_head(sw_ipc_endpoint_t *ep)
{
    sw_ipc_block_t *b = ep->qhead;
    ep->qhead = b->next;
    if (!ep->qhead) {
        ep->qtail = NULL;
    }
    if (b->cap == SW_IPC_BLOCK && ep->nspare < SW_IPC_SPARE_MAX) {
        b->next = ep->spare;
        ep->spare = b;
        ep->nspare++;
        return;
    }
    sw__free(b);
}

size_t sw__ipc_queue_drop(sw_ipc_endpoint_t *ep)
{
    size_t n = ep->qmsgs;
    while (ep->qhead) {
        pop_head(ep);
    }
    while (ep->spare) {
        sw_ipc_block_t *b = ep->spare;
        ep->spare = b->next;
        sw__free(b);
    }
    ep->nspare = 0;
    ep->queued = 0;
    ep->qmsgs = 0;
    return n;
}

static void rec_header(const sw_ipc_block_t *b, uint32_t pos, sw_ipc_header_t *h)
{
    memcpy(h, b->data + pos, SW_IPC_HEADER_SIZE);
}

/* Where the queue stands after a datagram: the first unsent byte, and what it advanced. */
typedef struct {
    sw_ipc_block_t *blk;
    uint32_t pos, sent;
    uint32_t adv;      /* queued bytes the datagram takes off */
    uint32_t payload;  /* payload bytes in it */
    uint32_t finished; /* messages it completes */
} dgram_map_t;

/* Applies the first `k` datagrams of a batch to the queue. */
static void apply(sw_ipc_endpoint_t *ep, const dgram_map_t *map, int k)
{
    for (int i = 0; i < k; i++) {
        while (ep->qhead != map[i].blk) {
            pop_head(ep);
        }
        sw_ipc_block_t *b = ep->qhead;
        if (b) {
            b->pos = map[i].pos;
            b->sent = map[i].sent;
            if (b->pos == b->used && b != ep->qtail) {
                pop_head(ep);
            }
        }
        ep->queued -= map[i].adv;
        ep->qmsgs -= map[i].finished;
        ep->stats.sent_bytes += map[i].payload;
    }
    /* A fully sent tail block stays for appends; empty it. */
    if (ep->qhead && ep->qhead == ep->qtail && ep->qhead->pos == ep->qhead->used) {
        pop_head(ep);
    }
}

/* Socket kind: writes the queue until it is empty (0) or the channel stops taking it. */
static int flush_socket(sw_ipc_endpoint_t *ep)
{
    struct mmsghdr mm[SW_IPC_SEND_BATCH];
    struct iovec iov[IOV_BUDGET];
    dgram_map_t map[SW_IPC_SEND_BATCH];
    while (ep->qhead) {
        unsigned nd = 0, ni = 0;
        sw_ipc_block_t *b = ep->qhead;
        uint32_t pos = b->pos, sent = b->sent;
        while (b && nd < SW_IPC_SEND_BATCH && ni + 2 <= IOV_BUDGET) {
            if (pos == b->used) { /* a drained block (the tail): move on */
                b = b->next;
                pos = b ? b->pos : 0;
                sent = b ? b->sent : 0;
                continue;
            }
            sw_ipc_header_t h;
            rec_header(b, pos, &h);
            size_t rec = SW_IPC_HEADER_SIZE + (size_t)h.length;
            dgram_map_t *d = &map[nd];
            memset(d, 0, sizeof(*d));
            memset(&mm[nd], 0, sizeof(mm[nd]));
            unsigned first = ni;
            if (sent == 0 && rec <= ep->chunk) {
                /* Whole records, packed while they fit: one iovec per run in a block. */
                size_t dsize = 0;
                while (b && ni < IOV_BUDGET && ni - first < SW_IPC_DGRAM_IOV) {
                    uint32_t run = pos;
                    while (pos < b->used) {
                        rec_header(b, pos, &h);
                        rec = SW_IPC_HEADER_SIZE + (size_t)h.length;
                        if (dsize + rec > ep->chunk) {
                            break;
                        }
                        dsize += rec;
                        pos += (uint32_t)rec;
                        d->payload += h.length;
                        d->finished++;
                    }
                    if (pos > run) {
                        iov[ni].iov_base = b->data + run;
                        iov[ni].iov_len = pos - run;
                        ni++;
                    }
                    if (pos < b->used || !b->next || b->next->sent != 0) {
                        break;
                    }
                    b = b->next;
                    pos = b->pos;
                    sent = 0;
                }
                d->adv = (uint32_t)dsize;
            } else {
                /* One chunk record of a message too large for a datagram. */
                uint32_t len = h.length;
                uint32_t room = (uint32_t)(ep->chunk - SW_IPC_HEADER_SIZE);
                uint32_t n = len - sent > room ? room : len - sent;
                sw_ipc_header_t *ch = &ep->scratch[nd];
                *ch = h;
                ch->offset = sent;
                ch->flags = (uint8_t)((sent == 0 ? SW_IPC_FLAG_BEGIN : 0) |
                                      (sent + n == len ? SW_IPC_FLAG_END : 0));
                iov[ni].iov_base = ch;
                iov[ni].iov_len = SW_IPC_HEADER_SIZE;
                iov[ni + 1].iov_base = b->data + pos + SW_IPC_HEADER_SIZE + sent;
                iov[ni + 1].iov_len = n;
                ni += 2;
                d->payload = n;
                d->adv = n;
                sent += n;
                if (sent == len) {
                    d->adv += SW_IPC_HEADER_SIZE;
                    d->finished = 1;
                    pos += (uint32_t)rec;
                    sent = 0;
                }
            }
            d->blk = b;
            d->pos = pos;
            d->sent = sent;
            mm[nd].msg_hdr.msg_iov = &iov[first];
            mm[nd].msg_hdr.msg_iovlen = ni - first;
            nd++;
        }
        if (nd == 0) {
            break;
        }
        int k = transmit(ep, mm, nd);
        if (k == RC_REBUILD) {
            continue;
        }
        if (k < 0) {
            return k;
        }
        apply(ep, map, k);
    }
    if (ep->qhead && ep->qhead == ep->qtail && ep->qhead->pos == ep->qhead->used) {
        pop_head(ep);
    }
    return 0;
}

/* Memory kind: hands whole blocks to the peer's queue. */
static int flush_memory(sw_ipc_endpoint_t *ep)
{
    sw_ipc_mq_t *q = &ep->ch->mq[1 - ep->side];
    while (ep->qhead) {
        sw_ipc_block_t *b = ep->qhead;
        size_t used = b->used;
        uint32_t nrec = b->nrec, payload = b->payload;
        sw_ipc_block_t *next = b->next;
        if (sw__ipc_mq_push(q, b) != 0) {
            return SW_EAGAIN;
        }
        /* The peer's queue owns b now (another thread may already have freed it). */
        ep->qhead = next;
        if (!next) {
            ep->qtail = NULL;
        }
        ep->queued -= used;
        ep->qmsgs -= nrec;
        ep->stats.sent_datagrams++;
        ep->stats.sent_bytes += payload;
    }
    return 0;
}

static int flush_any(sw_ipc_endpoint_t *ep)
{
    return ep->ch->kind == SW_IPC_SOCKET ? flush_socket(ep) : flush_memory(ep);
}

static void check_drained(sw_ipc_endpoint_t *ep)
{
    if (ep->full && ep->queued <= ep->low && !ep->dead) {
        ep->full = false;
        if (ep->on_drained) {
            ep->on_drained(ep, ep->queued, ep->arg);
        }
    }
}

static void nobufs_cb(sw_loop_t *loop, uint64_t id, void *arg);

/* The channel failed for good: keep the error, drop the queue, let the owner resume. */
static void fail(sw_ipc_endpoint_t *ep, int rc)
{
    SW_LOG_ERROR(ep->log, "%s: IPC send failed, %zu queued bytes dropped: %s", ep->name, ep->queued,
                 sw_strerror(rc));
    ep->error = rc;
    sw__ipc_queue_drop(ep);
    ep->want_write = false;
}

/* Writes what the channel takes now and watches for the rest. Returns 0 or a failure. */
static int kick(sw_ipc_endpoint_t *ep)
{
    int rc = flush_any(ep);
    int result = 0;
    ep->want_write = false;
    if (rc == SW_EAGAIN) {
        ep->want_write = true;
    } else if (rc == RC_NOBUFS) {
        if (!ep->nobufs_wait && sw_timer_after(ep->loop, SW_IPC_NOBUFS_RETRY_MS, nobufs_cb, ep,
                                               &ep->nobufs_timer) == 0) {
            ep->nobufs_wait = true;
        } else if (!ep->nobufs_wait) {
            ep->want_write = true; /* no timer: fall back to writability */
        }
    } else if (rc < 0) {
        fail(ep, rc);
        result = rc;
    }
    sw__ipc_update_watchers(ep);
    check_drained(ep);
    return result;
}

static void nobufs_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    sw_ipc_endpoint_t *ep = arg;
    ep->nobufs_wait = false;
    sw__ipc_enter(ep);
    kick(ep);
    sw__ipc_leave(ep);
}

void sw__ipc_on_writable(sw_ipc_endpoint_t *ep)
{
    if (ep->nobufs_wait) {
        return; /* the timer retries */
    }
    if (ep->qhead) {
        kick(ep);
    } else {
        ep->want_write = false;
        sw__ipc_update_watchers(ep);
    }
}

static sw_ipc_block_t *new_block(size_t cap)
{
    sw_ipc_block_t *b = sw__malloc(sizeof(*b) + cap);
    if (b) {
        b->next = NULL;
        b->cap = (uint32_t)cap;
        b->used = b->pos = b->sent = b->nrec = b->payload = 0;
    }
    return b;
}

static void put_record(sw_ipc_block_t *b, const sw_ipc_header_t *h, const struct iovec *iov,
                       int iovcnt)
{
    unsigned char *p = b->data + b->used;
    memcpy(p, h, SW_IPC_HEADER_SIZE);
    p += SW_IPC_HEADER_SIZE;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len) {
            memcpy(p, iov[i].iov_base, iov[i].iov_len);
            p += iov[i].iov_len;
        }
    }
    b->used += SW_IPC_HEADER_SIZE + h->length;
    b->nrec++;
    b->payload += h->length;
}

/* Copies a message to the end of the queue: into the tail block when it fits, else into a
 * new block (SW_IPC_BLOCK bytes, or the record's size when larger). SW_ENOMEM leaves the
 * queue unchanged. */
static int enqueue(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *h, const struct iovec *iov,
                   int iovcnt)
{
    size_t rec = SW_IPC_HEADER_SIZE + (size_t)h->length;
    sw_ipc_block_t *b = ep->qtail;
    if (!b || b->cap - b->used < rec) {
        if (rec <= SW_IPC_BLOCK && ep->spare) {
            b = ep->spare;
            ep->spare = b->next;
            ep->nspare--;
            b->next = NULL;
            b->used = b->pos = b->sent = b->nrec = b->payload = 0;
        } else {
            b = new_block(rec > SW_IPC_BLOCK ? rec : SW_IPC_BLOCK);
        }
        if (!b) {
            return SW_ENOMEM;
        }
        if (ep->qtail) {
            ep->qtail->next = b;
        } else {
            ep->qhead = b;
        }
        ep->qtail = b;
    }
    put_record(b, h, iov, iovcnt);
    ep->queued += rec;
    ep->qmsgs++;
    return 0;
}

static void check_full(sw_ipc_endpoint_t *ep)
{
    if (ep->queued > ep->stats.queued_peak) {
        ep->stats.queued_peak = ep->queued;
    }
    if (!ep->full && ep->queued >= ep->high && ep->loop) {
        ep->full = true;
        ep->stats.full_events++;
        if (ep->on_full) {
            ep->on_full(ep, ep->queued, ep->arg);
        }
    }
}

/* Socket kind, nothing queued, the message fits one datagram: one sendmsg, no copy. */
static int send_now(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *h, const struct iovec *iov,
                    int iovcnt)
{
    struct iovec v[SW_IPC_DGRAM_IOV];
    v[0].iov_base = (void *)(uintptr_t)h;
    v[0].iov_len = SW_IPC_HEADER_SIZE;
    for (int i = 0; i < iovcnt; i++) {
        v[i + 1] = iov[i];
    }
    struct mmsghdr mm;
    memset(&mm, 0, sizeof(mm));
    mm.msg_hdr.msg_iov = v;
    mm.msg_hdr.msg_iovlen = (size_t)iovcnt + 1;
    int k = transmit(ep, &mm, 1);
    if (k == 1) {
        ep->stats.sent_bytes += h->length;
        return 0;
    }
    return k;
}

static int send_loop(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *h, const struct iovec *iov,
                     int iovcnt)
{
    size_t size = SW_IPC_HEADER_SIZE + (size_t)h->length;
    if (ep->auto_cork && size <= SW_IPC_CORK_FLUSH && !ep->defer_flush) {
        ep->cork++;
        ep->defer_flush = true;
        sw__ipc_schedule(ep);
    }
    bool blocked = ep->want_write || ep->nobufs_wait;
    if (ep->cork == 0 && !ep->qhead && ep->ch->kind == SW_IPC_SOCKET && size <= ep->chunk &&
        iovcnt < SW_IPC_DGRAM_IOV) {
        int rc = send_now(ep, h, iov, iovcnt);
        if (rc == 0) {
            return 0;
        }
        if (rc != SW_EAGAIN && rc != RC_REBUILD && rc != RC_NOBUFS) {
            return rc; /* nothing left: the message is refused whole */
        }
        blocked = rc == SW_EAGAIN;
    }
    int rc = enqueue(ep, h, iov, iovcnt);
    if (rc) {
        return rc;
    }
    if (!blocked && (ep->cork == 0 || ep->queued >= SW_IPC_CORK_FLUSH)) {
        rc = kick(ep);
    } else if (blocked && !ep->want_write && !ep->nobufs_wait) {
        ep->want_write = true;
        sw__ipc_update_watchers(ep);
    }
    if (rc == 0) {
        check_full(ep);
    }
    return rc;
}

/* Blocking endpoints: the message goes through the queue, which is written out here. */
static int drain_blocking(sw_ipc_endpoint_t *ep, int timeout_ms)
{
    uint64_t start = now_ms();
    for (;;) {
        int rc = flush_any(ep);
        if (rc == 0) {
            return 0;
        }
        if (rc != SW_EAGAIN && rc != RC_NOBUFS) {
            return rc;
        }
        int wait = -1;
        if (timeout_ms >= 0) {
            uint64_t spent = now_ms() - start;
            if (spent >= (uint64_t)timeout_ms) {
                return SW_ETIMEDOUT;
            }
            wait = timeout_ms - (int)spent;
        }
        if (rc == RC_NOBUFS) {
            poll(NULL, 0, SW_IPC_NOBUFS_RETRY_MS);
            continue;
        }
        short ev = ep->ch->kind == SW_IPC_SOCKET ? POLLOUT : POLLIN;
        struct pollfd p = {.fd = ep->wfd, .events = ev};
        if (poll(&p, 1, wait) < 0 && errno != EINTR) {
            return -errno;
        }
    }
}

static int send_blocking(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *h, const struct iovec *iov,
                         int iovcnt)
{
    size_t size = SW_IPC_HEADER_SIZE + (size_t)h->length;
    if (ep->ch->kind == SW_IPC_SOCKET && size <= ep->chunk && iovcnt < SW_IPC_DGRAM_IOV) {
        int rc = send_now(ep, h, iov, iovcnt);
        if (rc == 0) {
            return 0;
        }
        if (rc != SW_EAGAIN && rc != RC_REBUILD && rc != RC_NOBUFS) {
            return rc;
        }
    }
    int rc = enqueue(ep, h, iov, iovcnt);
    if (rc) {
        return rc;
    }
    rc = drain_blocking(ep, ep->timeout_ms);
    if (rc) {
        sw__ipc_queue_drop(ep); /* refused, or cut: the receiver drops a cut message */
    }
    return rc;
}

int sw__ipc_sendv(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *hdr, const struct iovec *iov,
                  int iovcnt)
{
    if (!ep || ep->dead || !hdr || hdr->type == 0 || iovcnt < 0 || (iovcnt > 0 && !iov)) {
        return SW_EINVAL;
    }
    size_t len = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (!iov[i].iov_base && iov[i].iov_len) {
            return SW_EINVAL;
        }
        if (iov[i].iov_len > ep->max_message - len) {
            return SW_EMSGSIZE;
        }
        len += iov[i].iov_len;
    }
    if (ep->error) {
        return ep->error;
    }
    size_t size = SW_IPC_HEADER_SIZE + len;
    if (ep->loop && ep->qhead && ep->queued + size > ep->queue_max) {
        ep->stats.eagain++;
        return SW_EAGAIN;
    }
    sw_ipc_header_t h = *hdr;
    h.msg_id = ++ep->next_msg_id;
    h.length = (uint32_t)len;
    h.offset = 0;
    h.flags = SW_IPC_FLAGS_WHOLE;
    h.sender = ep->sender_id;
    h.magic = SW_IPC_MAGIC;
    h.reserved = 0;
    /* Counted up front: on_full may destroy the endpoint inside send_loop. */
    ep->stats.sent_messages++;
    int rc;
    if (!ep->loop) {
        rc = send_blocking(ep, &h, iov, iovcnt);
        if (rc) {
            ep->stats.sent_messages--;
        }
        return rc;
    }
    sw__ipc_enter(ep);
    rc = send_loop(ep, &h, iov, iovcnt);
    if (rc && !ep->dead) {
        ep->stats.sent_messages--;
    }
    sw__ipc_leave(ep);
    return rc;
}

void sw__ipc_cork(sw_ipc_endpoint_t *ep)
{
    if (ep && !ep->dead) {
        ep->cork++;
    }
}

int sw__ipc_uncork(sw_ipc_endpoint_t *ep)
{
    if (!ep || ep->dead) {
        return SW_EINVAL;
    }
    if (ep->cork == 0) {
        return 0;
    }
    if (--ep->cork > 0 || !ep->qhead || ep->want_write || ep->nobufs_wait) {
        return 0;
    }
    if (!ep->loop) {
        int rc = drain_blocking(ep, ep->timeout_ms);
        if (rc) {
            sw__ipc_queue_drop(ep);
        }
        return rc;
    }
    sw__ipc_enter(ep);
    int rc = kick(ep);
    sw__ipc_leave(ep);
    return rc;
}

int sw__ipc_flush(sw_ipc_endpoint_t *ep, int timeout_ms)
{
    if (!ep || ep->dead || timeout_ms < -1) {
        return SW_EINVAL;
    }
    if (!ep->qhead) {
        return ep->error;
    }
    if (ep->nobufs_wait) {
        sw_timer_clear(ep->loop, ep->nobufs_timer);
        ep->nobufs_wait = false;
    }
    int rc = drain_blocking(ep, timeout_ms);
    if (!ep->loop) {
        return rc;
    }
    sw__ipc_enter(ep);
    if (rc != 0 && rc != SW_ETIMEDOUT) {
        fail(ep, rc);
    }
    ep->want_write = ep->qhead != NULL;
    sw__ipc_update_watchers(ep);
    check_drained(ep);
    sw__ipc_leave(ep);
    return rc;
}
