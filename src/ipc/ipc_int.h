/*
 * The message bus's internals, shared by channel.c (channels, the memory queues), endpoint.c
 * (endpoints, watchers, lifetime), send.c (queue, packing, chunking, fallback) and recv.c
 * (batches, validation, reassembly, delivery).
 */
#ifndef SW_IPC_IPC_INT_H
#define SW_IPC_IPC_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "core/log_int.h"
#include "ipc/ipc.h"

_Static_assert(sizeof(sw_ipc_header_t) == SW_IPC_HEADER_SIZE, "header layout");
_Static_assert(offsetof(sw_ipc_header_t, length) == 16, "header layout");
_Static_assert(offsetof(sw_ipc_header_t, type) == 24, "header layout");
_Static_assert(offsetof(sw_ipc_header_t, sender) == 26, "header layout");
_Static_assert(offsetof(sw_ipc_header_t, ext) == 32, "header layout");
_Static_assert(offsetof(sw_ipc_header_t, magic) == 36, "header layout");

#define SW_IPC_FLAGS_WHOLE (SW_IPC_FLAG_BEGIN | SW_IPC_FLAG_END)

/* Datagrams per sendmmsg call, and records (iovecs) per datagram. */
#define SW_IPC_SEND_BATCH 32
#define SW_IPC_DGRAM_IOV  64
/* A corked endpoint writes early once this many bytes wait. */
#define SW_IPC_CORK_FLUSH ((size_t)256 << 10)
/* Datagrams sent at a reduced chunk size before it is doubled again. */
#define SW_IPC_REGROW_AFTER 256
/* Retry delay when ENOBUFS persists at the smallest chunk size. */
#define SW_IPC_NOBUFS_RETRY_MS 1

/* Records are appended into blocks of this size (a larger record gets a block of its own). */
#define SW_IPC_BLOCK     ((size_t)32 << 10)
#define SW_IPC_SPARE_MAX 4

/*
 * A block of queued records (header + payload, back to back, unaligned: headers are read with
 * memcpy). The send queue is a list of blocks; records are appended into the tail block while
 * they fit, so a small message costs a copy and no allocation. `pos` is where the first
 * record not completely sent starts, `sent` how much of that record's payload already left
 * in chunk records. The memory kind hands whole blocks to the peer's queue, where `pos` is
 * the receiver's place.
 */
typedef struct sw_ipc_block_s {
    struct sw_ipc_block_s *next;
    uint32_t cap, used, pos, sent;
    uint32_t nrec, payload; /* records and payload bytes appended */
    unsigned char data[];
} sw_ipc_block_t;

/* Memory kind: the queue received by one side. All fields under `lock`. */
typedef struct sw_ipc_mq_s {
    pthread_mutex_t lock;
    sw_ipc_block_t *head, *tail;
    size_t bytes;    /* record bytes of the queued blocks */
    size_t capacity; /* a push that would pass it waits, unless the queue is empty */
    int data_fd;     /* eventfd: readable while the queue is not empty */
    int space_fd;    /* eventfd: readable while bytes < capacity */
    bool data_set, space_set;
} sw_ipc_mq_t;

struct sw_ipc_channel_s {
    sw_ipc_kind_t kind;
    int fd[2]; /* socket kind: each side's end; -1 when closed */
    size_t sndbuf[2], rcvbuf[2];
    size_t max_datagram;
    /* Endpoints made on each side in this process (threads make theirs concurrently). */
    _Atomic int endpoints[2];
    _Atomic int receivers[2];
    sw_ipc_mq_t mq[2]; /* memory kind: mq[s] holds what side s receives */
};

/* A message in reassembly: at most one per sender. */
typedef struct sw_ipc_partial_s {
    sw_ipc_header_t hdr; /* of the BEGIN record */
    uint32_t got;        /* payload bytes received */
    unsigned char *buf;  /* hdr.length bytes */
} sw_ipc_partial_t;

struct sw_ipc_endpoint_s {
    sw_ipc_channel_t *ch;
    int side;
    sw_loop_t *loop; /* NULL: blocking endpoint */
    void *data;

    /* options, resolved */
    uint16_t sender_id;
    sw_ipc_message_cb on_message;
    sw_ipc_queue_cb on_full, on_drained;
    sw_ipc_batch_cb on_batch;
    void *arg;
    size_t max_message, max_reassembly, queue_max, high, low;
    unsigned recv_batch, recv_max;
    bool auto_cork;
    int timeout_ms;
    sw_log_t *log;
    char name[32];

    /* watchers: socket kind uses `io` for READ and WRITE on the side's fd; memory kind uses
     * `io` for READ on the data eventfd and `wio` for READ on the peer queue's space eventfd */
    sw_io_t io, wio;
    int rfd, wfd;  /* the fds polled for receiving and for room to send */
    int io_events; /* events `io` watches now */
    bool wio_on;
    bool recv_on; /* receiving wanted (not stopped) */
    bool want_write;

    /* sending */
    uint64_t next_msg_id;
    size_t chunk, chunk_max; /* datagram size now and at most, header included */
    unsigned regrow;         /* datagrams sent since the last fallback */
    sw_ipc_block_t *qhead, *qtail;
    /* Socket kind: up to SW_IPC_SPARE_MAX sent blocks of SW_IPC_BLOCK bytes kept for reuse, so
     * that a busy endpoint does not malloc/free (and the heap grow/trim) per batch. */
    sw_ipc_block_t *spare;
    unsigned nspare;
    size_t queued; /* record bytes not sent yet (a record's header counts until it is out) */
    size_t qmsgs;  /* whole messages waiting in the queue, not started */
    unsigned cork;
    bool full;        /* on_full reported, on_drained not yet */
    bool nobufs_wait; /* ENOBUFS at the smallest chunk: a retry timer is armed */
    uint64_t nobufs_timer;
    int error;                                  /* sticky channel error that ended the queue */
    sw_ipc_header_t scratch[SW_IPC_SEND_BATCH]; /* headers of chunk records being sent */

    /* receiving: the last batch read (socket kind) and what was not delivered yet */
    unsigned char *rbuf;   /* recv_batch x max_datagram */
    struct mmsghdr *rmsg;  /* recv_batch */
    struct iovec *riov;    /* recv_batch */
    unsigned rcount, rpos; /* datagrams in the batch, next to handle */
    size_t roff;           /* next record in datagram rpos */
    sw_ipc_block_t *mhead; /* memory kind: blocks taken from the queue, not delivered yet */
    sw_ipc_partial_t *partials;
    size_t npartials, cap_partials;
    size_t reassembly;

    /* lifetime */
    int dispatching;  /* depth of on_message calls */
    bool deferred;    /* a sw_loop_defer callback is pending */
    bool defer_flush; /* ...to uncork the auto cork */
    bool defer_recv;  /* ...to deliver what a restart left pending */
    bool dead;        /* destroyed; freed when the pending callback runs */

    sw_ipc_stats_t stats;
};

/* channel.c */
int sw__ipc_mq_push(sw_ipc_mq_t *q, sw_ipc_block_t *b);
sw_ipc_block_t *sw__ipc_mq_take(sw_ipc_mq_t *q, unsigned max);

/* endpoint.c */
void sw__ipc_update_watchers(sw_ipc_endpoint_t *ep);
void sw__ipc_schedule(sw_ipc_endpoint_t *ep);
bool sw__ipc_abnormal_log_due(uint64_t count);
/* Bracket code that may run the owner's callbacks; leave returns true when the endpoint was
 * destroyed inside (it may be freed: do not touch it). */
void sw__ipc_enter(sw_ipc_endpoint_t *ep);
bool sw__ipc_leave(sw_ipc_endpoint_t *ep);

/* send.c */
int sw__ipc_flush_queue(sw_ipc_endpoint_t *ep);
/* Drops the queue; returns the whole messages dropped (not started). */
size_t sw__ipc_queue_drop(sw_ipc_endpoint_t *ep);
void sw__ipc_on_writable(sw_ipc_endpoint_t *ep);

/* recv.c */
int sw__ipc_recv_some(sw_ipc_endpoint_t *ep, unsigned max);
bool sw__ipc_recv_pending(const sw_ipc_endpoint_t *ep);
void sw__ipc_recv_free(sw_ipc_endpoint_t *ep);

#endif
