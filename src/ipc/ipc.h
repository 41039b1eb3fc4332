/*
 * The server's internal message bus (internal; not installed).
 *
 * A channel joins two sides, 0 and 1 (by convention 0 is the master's reactor side and 1 the
 * worker's side). Messages sent from an endpoint on one side arrive at the receiving endpoint
 * of the other side, whole, in the order each sender sent them. Two kinds of channel:
 *
 *   SW_IPC_SOCKET  one socketpair(AF_UNIX, SOCK_DGRAM), made before fork so that the children
 *                  (and respawned children) inherit it. PROCESS mode.
 *   SW_IPC_MEMORY  two in-memory queues (one per direction), each with two eventfds: "has
 *                  messages" (the receiver's READ watcher) and "has room" (a sender's
 *                  writability), for endpoints that live in threads of one process. Messages
 *                  move whole, without chunking or copies on the receiving side. THREAD mode.
 *
 * An endpoint is one user of one side of a channel on one thread: it sends, and it may
 * receive. Endpoints made with a loop never block: datagrams that the channel does not take
 * now wait in the endpoint's bounded queue and leave when the fd becomes writable; a
 * high/low watermark pair reports "full" and "drained" so that the owner can stop and
 * resume reading from the connections that feed it. Endpoints made without a loop (loop NULL)
 * block, with a timeout, for the manager and for task workers waiting in taskwait.
 *
 * Wire format. A record is a header (sw_ipc_header_t, 40 bytes in the host's byte order: both
 * ends run on one host) followed by payload bytes. A datagram (at most max_datagram bytes)
 * holds either ONE chunk record, a piece of a message too large for one datagram (flags BEGIN,
 * 0 or END; its payload is the rest of the datagram), or ONE OR MORE whole-message records
 * (flags BEGIN|END, `length` payload bytes each) packed back to back without padding: the
 * sender packs the messages waiting in its queue (corked, or queued while the channel was
 * full) into as few datagrams as the chunk size allows, which cuts the system calls per small
 * message by an order of magnitude. The memory kind moves whole-message records only.
 *
 *   offset size field       meaning
 *   0      8    session     connection session id (0: none); the owner's
 *   8      8    msg_id      message number of the sender, from 1, set by sw__ipc_send
 *   16     4    length      payload bytes of the whole message
 *   20     4    offset      where this datagram's payload starts in the message
 *   24     1    type        SW_IPC_* event type below; the owner's, not interpreted here
 *   25     1    flags       SW_IPC_FLAG_BEGIN on the first datagram of a message,
 *                           SW_IPC_FLAG_END on the last (both on a one-datagram message)
 *   26     2    sender      sender id of the writing endpoint: the reassembly key
 *   28     2    reactor_id  the owner's (reactor thread of the connection)
 *   30     2    worker_id   the owner's (worker id, or port id)
 *   32     4    ext         the owner's (type-specific: opcode, task flags, ...)
 *   36     2    magic       SW_IPC_MAGIC
 *   38     2    reserved    0
 *
 * A message larger than one datagram is cut into chunk records with the same msg_id and
 * consecutive offsets, one per datagram. The receiver keeps at most one message in reassembly per sender id
 * (a sender sends its messages one after the other, and a channel keeps each sender's
 * datagrams in order), so two senders (two reactor threads) may interleave large messages to
 * one receiver. Data that does not fit this protocol is dropped and counted, never delivered
 * half and never a crash ("abnormal IPC data", logged at WARNING with the reason; the rest of
 * the datagram is dropped with it): a record shorter than its header or payload, or with a
 * bad magic, flags, type 0 or a length over max_message; a chunk record that is not alone in
 * its datagram; a truncated datagram; a datagram without BEGIN when no message of its sender is open; a
 * datagram whose msg_id or offset does not continue the open message of its sender (the
 * open message is dropped too); a BEGIN while the sender still has a message open (the old
 * one is dropped: its sender died or gave up mid-message); a message that does not fit in
 * the reassembly budget.
 *
 * Sender ids: every endpoint that writes to the same side of a channel must use its own sender
 * id (the server uses the reactor id for reactor threads, and the worker id for workers). A
 * respawned worker reuses its predecessor's id: its first message (a BEGIN) discards what the
 * dead one left half-sent. sw__ipc_discard() does the same at once.
 *
 * Threads: an endpoint is used by one thread at a time (its loop's thread). Endpoints of
 * different threads may share a channel side (each with its own sender id). Only one endpoint
 * per side may receive (SW_IPC_MEMORY enforces it; on sockets two readers would split the
 * datagrams between them). Endpoints may be made and destroyed on any thread; channel
 * create/destroy must not race with endpoint use.
 *
 * Errors: functions return 0 or a positive count, or a negative SW_E* code.
 */
#ifndef SW_IPC_IPC_H
#define SW_IPC_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "swoole/error.h"
#include "swoole/log.h"
#include "swoole/loop.h"

/* ---- the message header ------------------------------------------------------------------ */

#define SW_IPC_HEADER_SIZE 40
#define SW_IPC_MAGIC       0x5357 /* "SW" */

/* Framing flags (set by sw__ipc_send; the receiver's callback sees BEGIN|END). */
#define SW_IPC_FLAG_BEGIN 0x01
#define SW_IPC_FLAG_END   0x02

/*
 * Event types. The bus does not interpret them except that 0 is invalid. The set is open:
 * the server may use any value from SW_IPC_TYPE_USER up to 255 for its own messages, and
 * new common types are added below SW_IPC_TYPE_USER.
 */
enum {
    SW_IPC_DATA = 1,          /* reactor -> worker: data received on a connection */
    SW_IPC_DGRAM = 2,         /* reactor -> worker: one UDP/unix-dgram packet (with address) */
    SW_IPC_CONNECT = 3,       /* reactor -> worker: connection accepted */
    SW_IPC_CLOSE = 4,         /* both ways: connection closed / close it */
    SW_IPC_CONFIRM = 5,       /* worker -> reactor: confirm a connection (enable_delay_receive) */
    SW_IPC_PAUSE_RECV = 6,    /* worker -> reactor: stop reading a connection */
    SW_IPC_RESUME_RECV = 7,   /* worker -> reactor: read it again */
    SW_IPC_BUFFER_FULL = 8,   /* reactor -> worker: output buffer over its high watermark */
    SW_IPC_BUFFER_EMPTY = 9,  /* reactor -> worker: output buffer under its low watermark */
    SW_IPC_SEND = 10,         /* worker -> reactor: data to send on a connection */
    SW_IPC_SENDFILE = 11,     /* worker -> reactor: file to send on a connection */
    SW_IPC_TASK = 12,         /* worker -> task worker */
    SW_IPC_FINISH = 13,       /* task worker -> worker: a task's result */
    SW_IPC_PIPE_MESSAGE = 14, /* worker <-> worker: sw_server_send_message */
    SW_IPC_SHUTDOWN = 15,     /* master -> worker: stop */
    SW_IPC_CLOSE_FORCE = 16,  /* heartbeat -> reactor: close an idle connection */
    SW_IPC_COMMAND = 17,      /* control requests and replies between processes */
    SW_IPC_TYPE_USER = 64     /* first type free for the owner's own messages */
};

typedef struct sw_ipc_header_s {
    uint64_t session;
    uint64_t msg_id;
    uint32_t length;
    uint32_t offset;
    uint8_t type;
    uint8_t flags;
    uint16_t sender;
    uint16_t reactor_id;
    uint16_t worker_id;
    uint32_t ext;
    uint16_t magic;
    uint16_t reserved;
} sw_ipc_header_t;

/* ---- limits and defaults ----------------------------------------------------------------- */

/* Kernel buffer asked for on each socket (SO_SNDBUF and SO_RCVBUF; SO_*BUFFORCE is tried
 * first, then the plain options, which the kernel caps at net.core.[wr]mem_max). */
#define SW_IPC_SOCKBUF_DEFAULT ((size_t)8 << 20)
/* Largest datagram, header included; the chunk size starts here (or lower when the socket's
 * send buffer is smaller) and falls back, halving, to SW_IPC_DATAGRAM_MIN on EMSGSIZE or
 * ENOBUFS. Upper limit SW_IPC_DATAGRAM_MAX. */
#define SW_IPC_DATAGRAM_DEFAULT (((size_t)64 << 10) + 64) /* a 64 KiB payload in one */
#define SW_IPC_DATAGRAM_MIN     ((size_t)2 << 10)
#define SW_IPC_DATAGRAM_MAX     ((size_t)4 << 20)
/* Largest message payload (bytes) an endpoint sends or accepts, when not set. */
#define SW_IPC_MESSAGE_DEFAULT ((size_t)8 << 20)
/* Upper limit of max_message (the length field is 32 bits). */
#define SW_IPC_MESSAGE_MAX ((size_t)UINT32_MAX)
/* Hard cap of an endpoint's send queue, when not set. */
#define SW_IPC_QUEUE_DEFAULT ((size_t)64 << 20)

/* ---- channel ----------------------------------------------------------------------------- */

typedef enum { SW_IPC_SOCKET = 0, SW_IPC_MEMORY = 1 } sw_ipc_kind_t;

typedef struct sw_ipc_channel_options_s {
    sw_ipc_kind_t kind;  /* SW_IPC_SOCKET (default) or SW_IPC_MEMORY */
    size_t sockbuf;      /* socket kind: kernel buffer to ask for; 0: SW_IPC_SOCKBUF_DEFAULT */
    size_t max_datagram; /* 0: SW_IPC_DATAGRAM_DEFAULT; SW_IPC_DATAGRAM_MIN..MAX */
    size_t capacity;     /* memory kind: bytes in flight per direction; 0: same as sockbuf */
} sw_ipc_channel_options_t;

typedef struct sw_ipc_channel_s sw_ipc_channel_t;

/** Fills the defaults (kind SW_IPC_SOCKET, the rest 0). */
void sw__ipc_channel_options_init(sw_ipc_channel_options_t *opts);

/**
 * Creates a channel. Socket kind: socketpair(AF_UNIX, SOCK_DGRAM), both ends non-blocking and
 * close-on-exec, buffers raised to `sockbuf` (or what the system allows; see
 * sw__ipc_channel_info). `opts` may be NULL. Returns 0, SW_EINVAL (out NULL, unknown kind,
 * max_datagram outside its range), SW_ENOMEM, or the negated errno of socketpair/eventfd
 * (SW_EMFILE...; fault point "socketpair", and "eventfd" for the memory kind). Holds two fds
 * (socket kind: the pair) or four eventfds (memory kind). Make a socket channel before fork:
 * both processes then hold both fds. A memory channel is for one process.
 */
int sw__ipc_channel_create(sw_ipc_channel_t **out, const sw_ipc_channel_options_t *opts);

/**
 * Closes the channel's fds and frees it. Every endpoint on it must be destroyed first (in this
 * process); SW_EBUSY otherwise (nothing is freed). SW_EINVAL for NULL. After fork, each
 * process destroys its own copy.
 */
int sw__ipc_channel_destroy(sw_ipc_channel_t *ch);

typedef struct sw_ipc_channel_info_s {
    sw_ipc_kind_t kind;
    int fd[2];           /* socket kind: the fd each side reads and writes; memory: -1 */
    size_t sndbuf[2];    /* socket kind: SO_SNDBUF as the kernel reports it, per side */
    size_t rcvbuf[2];    /* socket kind: SO_RCVBUF as reported */
    size_t max_datagram; /* the datagram limit in force (header included) */
} sw_ipc_channel_info_t;

/** Fills `out`. Returns 0 or SW_EINVAL (NULL). */
int sw__ipc_channel_info(const sw_ipc_channel_t *ch, sw_ipc_channel_info_t *out);

/**
 * Socket kind, in a child process: closes the fd of the side this process will not use (a
 * worker keeps only side 1). Endpoints can then be made only on the other side. Returns 0,
 * SW_EINVAL (NULL, side not 0/1, memory kind) or SW_EBUSY (an endpoint uses that side).
 */
int sw__ipc_channel_close_side(sw_ipc_channel_t *ch, int side);

/* ---- endpoint ---------------------------------------------------------------------------- */

typedef struct sw_ipc_endpoint_s sw_ipc_endpoint_t;

/**
 * A whole message arrived. `hdr` is the header of its first datagram with `length` the
 * payload size, offset 0 and flags BEGIN|END. `data` (NULL when len is 0) and `hdr` are valid
 * until the callback returns: a one-datagram message points into the receive buffer (no
 * copy), a reassembled one into the reassembly buffer. The callback may send on any
 * endpoint (sends to this endpoint are corked until the batch ends), stop receiving
 * (sw__ipc_recv_stop: the rest of the batch waits for sw__ipc_recv_start) and destroy the
 * endpoint (the destruction is finished after the callback returns; no further callback).
 */
typedef void (*sw_ipc_message_cb)(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *hdr,
                                  const void *data, size_t len, void *arg);

/** A batch of messages (one wake-up of sw__ipc_recv_some: at most recv_max datagrams) has
 * been delivered; `n` messages (> 0) went to on_message. Runs after the batch's last
 * on_message and before the sends corked during the batch leave, so that an owner can keep
 * its own bracket (e.g. output corking) open across the whole batch and close it here. Also
 * runs when an on_message of the batch destroyed the endpoint (the owner may have a bracket
 * to close); nothing else runs after that. */
typedef void (*sw_ipc_batch_cb)(sw_ipc_endpoint_t *ep, unsigned n, void *arg);

/** The send queue crossed a watermark; `queued` is the bytes queued now. */
typedef void (*sw_ipc_queue_cb)(sw_ipc_endpoint_t *ep, size_t queued, void *arg);

typedef struct sw_ipc_endpoint_options_s {
    uint16_t sender_id;           /* see "Sender ids" above */
    sw_ipc_message_cb on_message; /* NULL: this endpoint only sends */
    sw_ipc_queue_cb on_full;      /* queued bytes reached high_watermark (from sw__ipc_send) */
    sw_ipc_queue_cb on_drained;   /* after on_full: queued bytes fell to low_watermark */
    sw_ipc_batch_cb on_batch;     /* optional: a batch of received messages is done */
    void *arg;                    /* passed to the callbacks */
    size_t max_message;    /* payload bytes per message, both ways; 0: SW_IPC_MESSAGE_DEFAULT */
    size_t max_reassembly; /* bytes in reassembly at once over all senders; 0: 4 x max_message */
    size_t queue_max;      /* hard cap of queued bytes; 0: SW_IPC_QUEUE_DEFAULT */
    size_t high_watermark; /* 0: queue_max / 2 */
    size_t low_watermark;  /* 0: high_watermark / 4; must be below high_watermark */
    unsigned recv_batch;   /* datagrams per recvmmsg (socket kind); 0: 16, at most 64 */
    unsigned recv_max;     /* datagrams handled per wake-up before yielding to the loop; 0: 256 */
    int auto_cork;         /* loop endpoints: 1 (default when -1): sends made during one loop
                              iteration leave together (sendmmsg) at its end; 0: at once */
    int timeout_ms;        /* endpoints without a loop: send timeout; 0: 5000; -1: none */
    sw_log_t *log;         /* where abnormal data and errors are logged; NULL: nowhere */
    const char *name;      /* in log lines, e.g. "worker 3"; copied; NULL: "ipc" */
} sw_ipc_endpoint_options_t;

/** Fills the defaults: all 0 / NULL, auto_cork -1. */
void sw__ipc_endpoint_options_init(sw_ipc_endpoint_options_t *opts);

/**
 * Makes an endpoint on `side` (0 or 1) of `ch`: it sends to the other side and, with
 * on_message, receives what the other side sends. With a loop, receiving starts at once (a
 * READ watcher on the side's fd: one watcher per fd per loop, so one endpoint per side per
 * loop) and sending never blocks. With loop NULL the endpoint blocks (sends wait up to
 * timeout_ms; receive with sw__ipc_recv_wait). The endpoint must be used on the loop's thread.
 *
 * Returns 0, SW_EINVAL (NULL out/ch, side not 0/1, side closed, low >= high watermark, high
 * > queue_max, max_message above SW_IPC_MESSAGE_MAX or smaller than 1, recv_batch > 64),
 * SW_EBUSY (memory kind: the side already has a receiving endpoint), SW_EEXIST (the loop
 * already watches the fd), SW_ENOMEM.
 */
int sw__ipc_endpoint_create(sw_ipc_endpoint_t **out, sw_ipc_channel_t *ch, int side,
                            sw_loop_t *loop, const sw_ipc_endpoint_options_t *opts);

/**
 * Stops the endpoint and frees it. Queued messages that have not left are dropped (the
 * receiver drops a message this cuts in half when the next message of this sender id
 * begins); use sw__ipc_flush first to push them out. Returns the number of messages dropped
 * that had not completely left (>= 0) or SW_EINVAL (NULL). Safe inside the endpoint's own
 * callbacks. A loop endpoint with a deferred callback pending (auto cork, or a restart with
 * undelivered data) keeps its memory until that callback runs at the loop's next iteration:
 * run the loop once more before sw_loop_destroy(), which otherwise reports SW_EBUSY.
 */
int sw__ipc_endpoint_destroy(sw_ipc_endpoint_t *ep);

/**
 * Sends one message: `hdr` gives session, type (not 0), reactor_id, worker_id and ext; the bus
 * sets msg_id, length, offset, flags, sender, magic and reserved (hdr is not changed: it is
 * copied). The payload is `iovcnt` pieces (sw__ipc_sendv) or `len` bytes (sw__ipc_send); it
 * is copied when it cannot leave at once, so the caller may reuse it on return.
 *
 * Loop endpoint: returns 0 when the message has left or is queued, whole; SW_EAGAIN when the
 * queue is not empty and queued + len would pass queue_max: NOTHING of the message was sent
 * or queued (an endpoint whose queue is empty always takes a message up to max_message, so
 * memory stays under queue_max + max_message). on_full runs inside this call when the queue
 * reaches high_watermark.
 *
 * Blocking endpoint: returns 0 when the whole message has left; SW_ETIMEDOUT when the channel
 * did not take it within timeout_ms (if part had left, the receiver drops that part when
 * this sender's next message begins).
 *
 * Both: SW_EINVAL (NULL ep/hdr, type 0, data NULL with len > 0, iovcnt < 0), SW_EMSGSIZE (len
 * > max_message), SW_ENOMEM (queueing), or the negated errno of the channel when it failed
 * (SW_EPIPE...; not EAGAIN, EMSGSIZE or ENOBUFS, which are handled: the chunk size falls
 * back, never below SW_IPC_DATAGRAM_MIN, and at the floor the datagram waits and is retried).
 * Fault point "ipc_send" (at each datagram write).
 */
int sw__ipc_send(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *hdr, const void *data, size_t len);
int sw__ipc_sendv(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *hdr, const struct iovec *iov,
                  int iovcnt);

/** Corks the endpoint: messages wait until the matching sw__ipc_uncork (nested; counted),
 * then leave in batches. Queue limits apply. NULL is ignored. */
void sw__ipc_cork(sw_ipc_endpoint_t *ep);
/** Uncorks; at the outermost level writes what the channel takes now. Returns 0 or an error
 * of the channel (as sw__ipc_send). */
int sw__ipc_uncork(sw_ipc_endpoint_t *ep);

/**
 * Writes the queue out, waiting (poll) up to `timeout_ms` (-1: no limit) for the channel to
 * take it: for a worker that must not leave replies behind when it exits. Returns 0 (queue
 * empty), SW_ETIMEDOUT, SW_EINVAL, or an error of the channel.
 */
int sw__ipc_flush(sw_ipc_endpoint_t *ep, int timeout_ms);

/** Bytes queued (header bytes included), 0 for NULL. */
size_t sw__ipc_queued(const sw_ipc_endpoint_t *ep);

/**
 * Receiving endpoints with a loop: stop / restart the READ watcher (a worker that stops taking
 * work). Datagrams already read stay in the endpoint and are delivered after restart. Returns
 * 0 or SW_EINVAL (NULL, no on_message, no loop).
 */
int sw__ipc_recv_stop(sw_ipc_endpoint_t *ep);
int sw__ipc_recv_start(sw_ipc_endpoint_t *ep);

/**
 * Receiving without a loop (or with the loop not running): reads and delivers messages until
 * at least one was delivered, then returns what is ready without waiting more. Waits up to
 * `timeout_ms` (-1: no limit; 0: do not wait). Returns the number delivered (> 0),
 * SW_ETIMEDOUT, SW_EINVAL (NULL, no on_message), or the negated errno of the channel.
 */
int sw__ipc_recv_wait(sw_ipc_endpoint_t *ep, int timeout_ms);

/** Drops the message in reassembly from `sender` (its writer died). Returns 1 if one was
 * dropped, 0 if none, SW_EINVAL (NULL). Not counted as abnormal. */
int sw__ipc_discard(sw_ipc_endpoint_t *ep, uint16_t sender);

typedef struct sw_ipc_stats_s {
    uint64_t sent_messages;  /* accepted by sw__ipc_send (sent or queued) */
    uint64_t sent_datagrams; /* datagrams the channel took */
    uint64_t sent_bytes;     /* payload bytes the channel took */
    uint64_t recv_messages;  /* messages delivered to on_message */
    uint64_t recv_datagrams; /* datagrams read */
    uint64_t recv_bytes;     /* payload bytes delivered */
    uint64_t abnormal;       /* datagrams or messages dropped as abnormal */
    uint64_t discarded;      /* partial messages dropped by sw__ipc_discard */
    uint64_t fallbacks;      /* chunk size reductions for EMSGSIZE/ENOBUFS */
    uint64_t eagain;         /* sends refused with SW_EAGAIN at the hard cap */
    uint64_t full_events;    /* on_full calls */
    size_t queued;           /* bytes queued now */
    size_t queued_peak;      /* highest queued */
    size_t reassembly;       /* bytes held in reassembly now */
    size_t chunk;            /* current datagram size (header included) */
} sw_ipc_stats_t;

/** Fills `out`. Returns 0 or SW_EINVAL (NULL). */
int sw__ipc_stats(const sw_ipc_endpoint_t *ep, sw_ipc_stats_t *out);

/** The fd the endpoint reads and writes (socket kind) or waits on (memory kind); -1 for
 * NULL. */
int sw__ipc_fd(const sw_ipc_endpoint_t *ep);

/** The owner's slot; the bus never touches it. */
void sw__ipc_set_data(sw_ipc_endpoint_t *ep, void *data);
void *sw__ipc_get_data(const sw_ipc_endpoint_t *ep);

#endif
