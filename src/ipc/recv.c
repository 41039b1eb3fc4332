/*
 * Receiving: batches of datagrams (recvmmsg), record validation, reassembly per sender, and
 * delivery. See ipc.h for the format and for what counts as abnormal.
 *
 * Position: the batch read last (rbuf, rcount datagrams) and the place reached in it (datagram
 * rpos, byte roff) live in the endpoint, so that a callback that stops receiving leaves the
 * rest exactly where it was; it is delivered after sw__ipc_recv_start.
 */
#include <inttypes.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "ipc/ipc_int.h"

static void abnormal(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *h, const char *why)
{
    uint64_t n = ++ep->stats.abnormal;
    if (sw__ipc_abnormal_log_due(n)) {
        if (h) {
            SW_LOG_WARNING(ep->log,
                           "%s: abnormal IPC data dropped: %s (sender %u, msg %" PRIu64
                           ", type %u, length %" PRIu32 "; %" PRIu64 " dropped so far)",
                           ep->name, why, (unsigned)h->sender, h->msg_id, (unsigned)h->type,
                           h->length, n);
        } else {
            SW_LOG_WARNING(ep->log, "%s: abnormal IPC data dropped: %s (%" PRIu64 " so far)",
                           ep->name, why, n);
        }
    }
}

static ssize_t find_partial(const sw_ipc_endpoint_t *ep, uint16_t sender)
{
    for (size_t i = 0; i < ep->npartials; i++) {
        if (ep->partials[i].hdr.sender == sender) {
            return (ssize_t)i;
        }
    }
    return -1;
}

static void drop_partial(sw_ipc_endpoint_t *ep, size_t i)
{
    ep->reassembly -= ep->partials[i].hdr.length;
    sw__free(ep->partials[i].buf);
    ep->partials[i] = ep->partials[--ep->npartials];
}

/* Any BEGIN of a sender ends what that sender left open: it died or gave up mid-message. */
static void cut_open(sw_ipc_endpoint_t *ep, uint16_t sender)
{
    ssize_t i = find_partial(ep, sender);
    if (i >= 0) {
        abnormal(ep, &ep->partials[i].hdr, "message cut off by the next one of its sender");
        drop_partial(ep, (size_t)i);
    }
}

static void deliver(sw_ipc_endpoint_t *ep, sw_ipc_header_t *h, const void *data, size_t len)
{
    h->flags = SW_IPC_FLAGS_WHOLE;
    h->offset = 0;
    ep->stats.recv_messages++;
    ep->stats.recv_bytes += len;
    ep->on_message(ep, h, len ? data : NULL, len, ep->arg);
}

static void on_chunk(sw_ipc_endpoint_t *ep, sw_ipc_header_t *h, const unsigned char *data, size_t n)
{
    if (h->flags & SW_IPC_FLAG_BEGIN) {
        cut_open(ep, h->sender);
        if (h->offset != 0 || n >= h->length) {
            abnormal(ep, h, "bad chunk bounds");
            return;
        }
        if (h->length > ep->max_reassembly - ep->reassembly) {
            abnormal(ep, h, "reassembly budget exhausted");
            return;
        }
        if (ep->npartials == ep->cap_partials) {
            size_t cap = ep->cap_partials ? ep->cap_partials * 2 : 4;
            sw_ipc_partial_t *p = sw__realloc(ep->partials, cap * sizeof(*p));
            if (!p) {
                abnormal(ep, h, "no memory for reassembly");
                return;
            }
            ep->partials = p;
            ep->cap_partials = cap;
        }
        unsigned char *buf = sw__malloc(h->length);
        if (!buf) {
            abnormal(ep, h, "no memory for reassembly");
            return;
        }
        memcpy(buf, data, n);
        sw_ipc_partial_t *p = &ep->partials[ep->npartials++];
        p->hdr = *h;
        p->got = (uint32_t)n;
        p->buf = buf;
        ep->reassembly += h->length;
        return;
    }
    ssize_t i = find_partial(ep, h->sender);
    if (i < 0) {
        abnormal(ep, h, "chunk without BEGIN");
        return;
    }
    sw_ipc_partial_t *p = &ep->partials[i];
    if (h->msg_id != p->hdr.msg_id || h->offset != p->got || h->length != p->hdr.length) {
        abnormal(ep, h, "chunk out of sequence");
        drop_partial(ep, (size_t)i);
        return;
    }
    bool end = (h->flags & SW_IPC_FLAG_END) != 0;
    size_t reach = (size_t)h->offset + n;
    if (end ? reach != h->length : reach >= h->length) {
        abnormal(ep, h, "bad chunk bounds");
        drop_partial(ep, (size_t)i);
        return;
    }
    memcpy(p->buf + p->got, data, n);
    p->got += (uint32_t)n;
    if (!end) {
        return;
    }
    /* Out of the table before the callback, which may destroy the endpoint. */
    sw_ipc_header_t whole = p->hdr;
    unsigned char *buf = p->buf;
    ep->partials[i] = ep->partials[--ep->npartials];
    deliver(ep, &whole, buf, whole.length);
    if (!ep->dead) {
        ep->reassembly -= whole.length;
    }
    sw__free(buf);
}

/* Handles the records of datagram rpos from roff. Returns true when the datagram is done,
 * false when receiving stopped (or the endpoint died) in the middle of it. */
static bool handle_dgram(sw_ipc_endpoint_t *ep)
{
    const unsigned char *p = ep->rbuf + (size_t)ep->rpos * ep->ch->max_datagram;
    struct mmsghdr *mm = &ep->rmsg[ep->rpos];
    size_t n = mm->msg_len;
    sw_ipc_header_t h;
    if (ep->roff == 0 && (mm->msg_hdr.msg_flags & MSG_TRUNC)) {
        if (n >= SW_IPC_HEADER_SIZE) {
            memcpy(&h, p, SW_IPC_HEADER_SIZE);
            ssize_t i = find_partial(ep, h.sender);
            if (i >= 0) {
                drop_partial(ep, (size_t)i);
            }
            abnormal(ep, &h, "truncated datagram");
        } else {
            abnormal(ep, NULL, "truncated datagram");
        }
        return true;
    }
    if (n < SW_IPC_HEADER_SIZE) {
        abnormal(ep, NULL, "short datagram");
        return true;
    }
    while (ep->roff < n) {
        if (ep->dead || !ep->recv_on) {
            return false;
        }
        size_t pos = ep->roff, left = n - pos;
        if (left < SW_IPC_HEADER_SIZE) {
            abnormal(ep, NULL, "short record after packed records");
            return true;
        }
        memcpy(&h, p + pos, SW_IPC_HEADER_SIZE);
        if (h.magic != SW_IPC_MAGIC || h.reserved != 0 || (h.flags & ~SW_IPC_FLAGS_WHOLE) ||
            h.type == 0) {
            abnormal(ep, NULL, "bad header");
            return true;
        }
        if (h.length > ep->max_message) {
            ssize_t i = find_partial(ep, h.sender);
            if (i >= 0) {
                drop_partial(ep, (size_t)i);
            }
            abnormal(ep, &h, "message over max_message");
            return true;
        }
        if (h.flags == SW_IPC_FLAGS_WHOLE) {
            if (h.offset != 0 || left - SW_IPC_HEADER_SIZE < h.length) {
                abnormal(ep, &h, "record longer than its datagram");
                return true;
            }
            cut_open(ep, h.sender);
            ep->roff = pos + SW_IPC_HEADER_SIZE + h.length;
            deliver(ep, &h, p + pos + SW_IPC_HEADER_SIZE, h.length);
            continue;
        }
        if (pos != 0) {
            abnormal(ep, &h, "chunk record packed with others");
            return true;
        }
        ep->roff = n;
        on_chunk(ep, &h, p + SW_IPC_HEADER_SIZE, n - SW_IPC_HEADER_SIZE);
    }
    return true;
}

/* Memory kind: delivers the records of the first taken block from its pos. Returns true
 * when the block is done. The records come from this process's own senders; they are
 * checked all the same. */
static bool handle_block(sw_ipc_endpoint_t *ep)
{
    sw_ipc_block_t *b = ep->mhead;
    if (b->pos == 0) {
        ep->stats.recv_datagrams++;
    }
    while (b->pos < b->used) {
        if (ep->dead || !ep->recv_on) {
            return false;
        }
        sw_ipc_header_t h;
        size_t left = b->used - b->pos;
        if (left < SW_IPC_HEADER_SIZE) {
            abnormal(ep, NULL, "short record");
            return true;
        }
        memcpy(&h, b->data + b->pos, SW_IPC_HEADER_SIZE);
        if (h.flags != SW_IPC_FLAGS_WHOLE || left - SW_IPC_HEADER_SIZE < h.length) {
            abnormal(ep, &h, "bad record");
            return true;
        }
        const unsigned char *data = b->data + b->pos + SW_IPC_HEADER_SIZE;
        b->pos += SW_IPC_HEADER_SIZE + h.length;
        if (h.length > ep->max_message) {
            abnormal(ep, &h, "message over max_message");
            continue;
        }
        deliver(ep, &h, data, h.length);
        if (ep->dead) {
            return false; /* destroyed inside: the block is freed */
        }
    }
    return true;
}

static int read_batch(sw_ipc_endpoint_t *ep)
{
    size_t dg = ep->ch->max_datagram;
    if (!ep->rbuf) {
        ep->rbuf = sw__malloc(ep->recv_batch * dg);
        ep->rmsg = sw__calloc(ep->recv_batch, sizeof(*ep->rmsg));
        ep->riov = sw__calloc(ep->recv_batch, sizeof(*ep->riov));
        if (!ep->rbuf || !ep->rmsg || !ep->riov) {
            sw__free(ep->rbuf);
            sw__free(ep->rmsg);
            sw__free(ep->riov);
            ep->rbuf = NULL;
            ep->rmsg = NULL;
            ep->riov = NULL;
            return SW_ENOMEM;
        }
        for (unsigned i = 0; i < ep->recv_batch; i++) {
            ep->riov[i].iov_base = ep->rbuf + (size_t)i * dg;
            ep->riov[i].iov_len = dg;
            ep->rmsg[i].msg_hdr.msg_iov = &ep->riov[i];
            ep->rmsg[i].msg_hdr.msg_iovlen = 1;
        }
    }
    for (;;) {
        int n = SW_FAULT("ipc_recv", SW_EIO);
        if (n == 0) {
            n = recvmmsg(ep->rfd, ep->rmsg, ep->recv_batch, MSG_DONTWAIT, NULL);
            if (n < 0) {
                n = -errno;
            }
        }
        if (n == SW_EINTR) {
            continue;
        }
        if (n == SW_EAGAIN || n == -EWOULDBLOCK || n == 0) {
            return 0;
        }
        if (n < 0) {
            return n;
        }
        ep->rcount = (unsigned)n;
        ep->rpos = 0;
        ep->roff = 0;
        ep->stats.recv_datagrams += (uint64_t)n;
        return n;
    }
}

int sw__ipc_recv_some(sw_ipc_endpoint_t *ep, unsigned max)
{
    sw__ipc_enter(ep);
    uint64_t before = ep->stats.recv_messages;
    bool corked = ep->loop != NULL;
    if (corked) {
        ep->cork++; /* replies made by the callbacks leave together after the batch */
    }
    int err = 0;
    unsigned handled = 0;
    while (!ep->dead && ep->recv_on && handled < max) {
        if (ep->ch->kind == SW_IPC_MEMORY) {
            if (!ep->mhead) {
                ep->mhead = sw__ipc_mq_take(&ep->ch->mq[ep->side], 64);
                if (!ep->mhead) {
                    break;
                }
            }
            if (handle_block(ep)) {
                sw_ipc_block_t *b = ep->mhead;
                ep->mhead = b->next;
                sw__free(b);
                handled++;
            }
            continue;
        }
        if (ep->rpos >= ep->rcount) {
            int n = read_batch(ep);
            if (n <= 0) {
                err = n;
                break;
            }
        }
        if (handle_dgram(ep)) {
            ep->rpos++;
            ep->roff = 0;
            handled++;
        }
    }
    uint64_t delivered = ep->stats.recv_messages - before;
    int result = err ? err : (int)delivered;
    if (delivered > 0 && ep->on_batch) {
        ep->on_batch(ep, (unsigned)delivered, ep->arg);
    }
    if (corked && !ep->dead) {
        sw__ipc_uncork(ep);
    }
    sw__ipc_leave(ep);
    return result;
}

bool sw__ipc_recv_pending(const sw_ipc_endpoint_t *ep)
{
    return ep->rpos < ep->rcount || ep->mhead != NULL;
}

void sw__ipc_recv_free(sw_ipc_endpoint_t *ep)
{
    sw__free(ep->rbuf);
    sw__free(ep->rmsg);
    sw__free(ep->riov);
    ep->rbuf = NULL;
    ep->rmsg = NULL;
    ep->riov = NULL;
    ep->rcount = ep->rpos = 0;
    ep->roff = 0;
    while (ep->mhead) {
        sw_ipc_block_t *b = ep->mhead;
        ep->mhead = b->next;
        sw__free(b);
    }
    for (size_t i = 0; i < ep->npartials; i++) {
        sw__free(ep->partials[i].buf);
    }
    sw__free(ep->partials);
    ep->partials = NULL;
    ep->npartials = ep->cap_partials = 0;
    ep->reassembly = 0;
}
