/*
 * The server's internals, shared by the files of src/server.
 *
 * Layers (docs/notes/server-architecture.md has the picture):
 *
 *   server.c    the object: create, options, handlers, start/shutdown/reload entry points,
 *               getters. Start hands over to the mode's ops (sw__mode_ops_t).
 *   options.c   the option tables (Swoole names -> fields), parsing and whole-struct checks.
 *   port.c      listening sockets: address parsing, socket/bind/listen, per-port options.
 *   session.c   the session directory in shared memory: 64-bit ids, never reused; owner and
 *               fd of every open session, readable from any process and thread.
 *   shared.c    the shared-memory region: counters (stats), worker table, directory.
 *   reactor.c   one loop's connections: the fd-indexed connection table, accept, read and
 *               framing, close, pause/resume, the posted-operation path (cross-thread).
 *   output.c    per-connection output: the queue of byte chains and file ranges, corking,
 *               flushing, watermarks, sendwait.
 *   heartbeat.c idle-connection checks and the lingering-close deadlines of a reactor.
 *   send.c      the public connection calls: find the reactor that owns a session, run the
 *               call there directly (its own thread) or post it (another thread).
 *   base.c      BASE mode: the worker process (loop + reactor that accepts itself), the
 *               single-process server, the worker's graceful stop.
 *   manager.c   the manager on the supervisor (src/process/supervisor.h): worker slots,
 *               on_worker_error, counter repair, reload, shutdown.
 *   stats.c     sw_server_stats.
 *
 * A reactor (sw__reactor_t) is the part every mode shares: BASE has one per worker process;
 * PROCESS will have one per reactor thread in the master (its sink dispatching messages to
 * workers over the ipc module instead of calling on_receive); THREAD the same in one process.
 */
#ifndef SW_SERVER_SERVER_INT_H
#define SW_SERVER_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "swoole/buffer.h"
#include "swoole/loop.h"
#include "swoole/protocol.h"
#include "swoole/server.h"

/* ---- limits and defaults ------------------------------------------------------------------ */

#define SW__DEFAULT_BACKLOG       512
#define SW__DEFAULT_SOCKET_BUFFER ((size_t)2 << 20)
#define SW__DEFAULT_MAX_CONN      100000
#define SW__MAX_CONN_LIMIT        (1 << 22)
#define SW__READ_BUFFER_SIZE      ((size_t)64 << 10) /* per-reactor read buffer */
#define SW__CORK_FLUSH_BYTES      ((size_t)64 << 10) /* corked bytes that force a flush */
#define SW__OUT_CHUNK             ((size_t)8 << 10)  /* chunk size of output chains */
#define SW__CORK_BUFFER           ((size_t)64 << 10) /* per-reactor cork buffer (output.c) */
#define SW__ACCEPT_BATCH          64
#define SW__DGRAM_BATCH           64
#define SW__DGRAM_MAX             65536
#define SW__EXT_POOL_MAX          64 /* idle connection-state blocks kept per reactor */
#define SW__EXT_KEEP_BUFFER       ((size_t)64 << 10)

/* ---- shared memory ------------------------------------------------------------------------ */

/*
 * One entry of the session directory: the open session whose id modulo the directory size is
 * this index. sid 0: free; SW__SID_CLAIM: being filled by its owner. The owner publishes sid
 * last (release) and clears it first when the session closes, so a reader that loads sid
 * (acquire), reads the fields and loads sid again sees a consistent entry.
 */
typedef struct sw__dirent_s {
    _Atomic uint64_t sid;
    _Atomic int32_t fd;     /* the socket in the owner's process */
    _Atomic int16_t owner;  /* BASE: the worker id; PROCESS/THREAD: the reactor thread id */
    _Atomic uint16_t flags; /* low byte SW__DIR_*; high byte the owner's incarnation */
} sw__dirent_t;

#define SW__SID_CLAIM UINT64_MAX
#define SW__DIR_FULL  0x1 /* output above the high watermark (cross-thread sends fail) */
#define SW__DIR_WS    0x2 /* a WebSocket connection: its reactor switched it (framing.c) */
#define SW__DIR_WSP   0x4 /* its worker accepted the handshake; the switch is on its way */
/* PROCESS/THREAD: the worker ran on_close after the peer's end of stream; the socket waits
 * for its acknowledgement and the workers' calls fail with SW_ESESSION (proc_worker.c). */
#define SW__DIR_GONE 0x8

/* Per-worker state in shared memory. Several processes can be "worker i" at once (an async
 * reload overlaps the old and the new one): each takes an incarnation number at its start
 * (generation, counted from 1) and records it with its pid in `inc`, so that the manager can
 * tell, from a dead pid, which directory entries were that process's. Four entries: at most
 * two incarnations of a worker overlap, and a dead one is looked up at once. */
typedef struct sw__worker_shm_s {
    _Atomic int32_t pid;
    _Atomic uint32_t generation;
    struct {
        _Atomic int32_t pid;
        _Atomic uint32_t gen;
    } inc[4];
    _Atomic uint64_t request_count;
    _Atomic uint64_t response_count;
    _Atomic uint64_t connection_num;
    _Atomic int32_t busy; /* PROCESS: 1 while a callback of the worker runs (dispatch_mode 3) */
    /* PROCESS: the pid of the worker process using this worker's channels, 0 when none: a
     * replacement waits for 0 before it reads or writes them (proc_worker.c). */
    _Atomic int32_t reader;
} sw__worker_shm_t;

/* The server's shared region: this header, then workers[worker_num], then the directory. */
typedef struct sw__shared_s {
    _Atomic uint64_t session_round; /* the next session id to try */
    _Atomic uint64_t connection_num;
    _Atomic uint64_t accept_count;
    _Atomic uint64_t close_count;
    _Atomic uint64_t abort_count;
    _Atomic uint64_t request_count;
    _Atomic uint64_t response_count;
    _Atomic uint64_t recv_bytes;
    _Atomic uint64_t send_bytes;
    _Atomic int32_t master_pid;
    _Atomic int32_t manager_pid;
    _Atomic int32_t running; /* 1 from start until shutdown begins */
    int64_t start_time;
    uint64_t dir_mask; /* directory size - 1 (a power of two minus one) */
    int worker_num;
} sw__shared_t;

int sw__shared_create(sw_server_t *srv);
void sw__shared_destroy(sw_server_t *srv);

/* session.c. Ids below 2^63 are sessions; values from 2^63 up mark a slot being claimed
 * (SW__SID_CLAIM - (owner | incarnation << 16)), so that a worker that dies while claiming
 * leaves a slot that the manager can still give back. */
#define SW__SID_MAX (UINT64_C(1) << 63)
/* Allocates a session id for (owner, fd), tagged with the owner's incarnation (8 bits),
 * counts it against max_conn and publishes it. Returns 0 and the id, or SW_EMAX_CONN
 * (max_conn reached, or no directory slot free). */
int sw__session_alloc(sw_server_t *srv, int owner, unsigned inc, int worker_id, int fd,
                      uint64_t *sid);
/* Clears the entry of `sid` and uncounts it (the owner, when the session closes). */
void sw__session_release(sw_server_t *srv, int worker_id, uint64_t sid);
/* Looks `sid` up: returns 0 and fills owner/fd, or SW_ESESSION. Any thread or process. */
int sw__session_find(const sw_server_t *srv, uint64_t sid, int *owner, int *fd);
/* Sets or clears SW__DIR_* bits of an entry owned by the caller. */
void sw__session_set_flags(sw_server_t *srv, uint64_t sid, uint16_t set, uint16_t clear);
uint16_t sw__session_flags(const sw_server_t *srv, uint64_t sid);
/* Clears every entry of incarnation `inc` of `owner` (a dead worker process) and uncounts
 * them; returns how many. */
uint64_t sw__session_clear_owner(sw_server_t *srv, int owner, unsigned inc, int worker_id);
/* Iterates open sessions (sw_server_connections). */
int sw__session_list(const sw_server_t *srv, uint64_t *cursor, uint64_t *out, size_t max);

/* ---- ports -------------------------------------------------------------------------------- */

struct sw_port_s {
    sw_server_t *srv;
    int index;
    sw_sock_type_t type;
    int fd; /* listening (stream) or bound (datagram) socket, shared by the workers */
    int port;
    int family;
    bool stream;
    struct sockaddr_storage addr; /* the bound address */
    socklen_t addrlen;
    char *unix_path;       /* set when the server created this socket file */
    sw_port_options_t own; /* options set on the port */
    uint64_t own_mask;     /* which fields of `own` were set (bit per port option) */
    bool own_protocol;     /* the port's framing spec is its own */
    sw_port_options_t eff; /* effective options, computed at start */
    size_t high_watermark; /* effective watermarks */
    size_t low_watermark;
};

/* port.c */
int sw__port_create(sw_server_t *srv, const char *host, int port, sw_sock_type_t type,
                    sw_port_t **out);
void sw__port_destroy(sw_port_t *p);
/* Computes p->eff from the server's defaults and the port's own settings; checks them. */
int sw__port_resolve(sw_port_t *p);
/* At start: listen with the effective backlog, TCP_DEFER_ACCEPT; with `reuseport` (TCP),
 * replace the socket by a bound, non-listening SO_REUSEPORT one. */
int sw__port_prepare(sw_port_t *p, bool reuseport);
/* A new SO_REUSEPORT listening socket on the port's address (BASE enable_reuse_port). */
int sw__port_open_reuseport(const sw_port_t *p);
/* Socket options of an accepted connection (nodelay, keepalive, buffers). */
void sw__port_setup_conn(const sw_port_t *p, int fd);

/* options.c */
int sw__options_set(sw_server_t *srv, const char *name, const char *value);
int sw__port_options_set(sw_port_t *p, const char *name, const char *value);
int sw__options_check_port(const sw_port_options_t *o);
int sw__options_check(const sw_server_options_t *o);
/* Copies the string fields of `src` into srv-owned storage and points srv->o at them. */
int sw__options_copy_strings(sw_server_t *srv, const sw_server_options_t *src);
void sw__options_free_strings(sw_server_t *srv);
/* Every port option's bit in own_mask. */
uint64_t sw__port_options_all_mask(void);
/* dst = defaults, with the fields whose bit is set in own_mask taken from own (not the
 * framing spec: the caller picks it). */
void sw__port_options_merge(sw_port_options_t *dst, const sw_port_options_t *defaults,
                            const sw_port_options_t *own, uint64_t own_mask);
int sw__cpu_count(void);

/* ---- reactors and connections ------------------------------------------------------------- */

typedef struct sw__reactor_s sw__reactor_t;
typedef struct sw__conn_s sw__conn_t;
typedef struct sw__ext_s sw__ext_t;

/*
 * One connection: 80 bytes, kept in fd-indexed pages of the reactor (never moved, never freed
 * before the reactor), whatever its state. Everything a busy connection needs besides this
 * (input not yet framed, queued output) lives in an sw__ext_t that io.data points to, taken
 * from the reactor's pool when needed and given back when the connection is idle again.
 */
struct sw__conn_s {
    sw_io_t io;       /* io.data: the sw__ext_t, or NULL while idle */
    uint64_t session; /* 0 when the slot is free */
    uint64_t uid;
    uint32_t last_recv;    /* reactor ms clock (wraps after 49 days; compared modulo 2^32) */
    uint32_t connect_time; /* Unix seconds */
    uint16_t port;         /* port index */
    uint16_t flags;        /* SW__C_* */
    int16_t worker;        /* PROCESS: the worker that gets this connection's events, or -1 */
    uint8_t framing;       /* SW__FRAMING_*: how its input is cut (framing.c) */
};

#define SW__C_OPEN    0x001 /* the slot holds an open socket */
#define SW__C_ACTIVE  0x002 /* the session is valid (not closing) */
#define SW__C_PAUSED  0x004
#define SW__C_DIRTY   0x008 /* corked output waits for the reactor's flush */
#define SW__C_WRITING 0x010 /* WRITE interest is on */
#define SW__C_FULL    0x020 /* on_buffer_full delivered, on_buffer_empty not yet */
#define SW__C_CLOSING 0x040 /* closed by the server; output drains, then the socket closes */
#define SW__C_RESUME  0x080 /* a delivery of buffered input is scheduled */
#define SW__C_HOLD    0x100 /* framing stopped until the worker answers an upgrade request */
#define SW__C_BOUND   0x200 /* sw_server_bind was called */
#define SW__C_IPCWAIT 0x400 /* PROCESS: paused because its worker's channel is full */
#define SW__C_OUTWAIT 0x800 /* PROCESS/THREAD: paused because its output is over the high mark */
/* PROCESS/THREAD: the peer ended its stream; CLOSE went to the worker and the socket waits
 * for its acknowledgement (reactor.c, eof_wait). */
#define SW__C_EOF 0x1000
/* An HTTP request is being delivered in pieces (http_piece_size): its framer state lives in
 * the sw__ext_t, which is kept even while no byte is buffered. */
#define SW__C_PIECES 0x2000

/* One queued output item: bytes (file_fd -1), bytes in the reactor's cork buffer (file_fd
 * SW__OUT_CORK, the sw__ext_t's own item) or a range of an open file (file_fd >= 0). */
#define SW__OUT_CORK (-2)
typedef struct sw__out_s {
    struct sw__out_s *next;
    int file_fd;
    uint64_t file_off;
    uint64_t file_left;
    sw_chain_t chain;
} sw__out_t;

struct sw__ext_s {
    sw_buffer_t in; /* unread input (an incomplete message, or messages held by pause) */
    sw_framer_t framer;
    size_t want; /* the framer's last hint */
    sw__out_t *out_head;
    sw__out_t *out_tail;
    size_t out_bytes;        /* bytes queued in memory */
    uint64_t close_deadline; /* CLOSING: reactor ms when the socket is reset anyway */
    sw__ext_t *next_free;
    /* output.c: the item (always the queue's head when queued) whose bytes sit in the cork
     * buffer of reactor cork_r: file_fd SW__OUT_CORK, file_off/file_left the span. */
    sw__out_t cork;
    sw__reactor_t *cork_r;
    int32_t eof_pid;      /* SW__C_EOF: the pid of the connection's worker when the CLOSE left */
    int16_t piece_worker; /* PROCESS/THREAD: the worker that gets the rest of a request in
                           * pieces (SW__C_PIECES), or -1 */
};

/* What a reactor does with connection events; BASE calls the user's handlers directly. */
typedef struct sw__sink_s {
    void (*on_connect)(sw__reactor_t *r, sw__conn_t *c);
    /* `piece`: 0 for a whole message, else SW__MSG_* bits (server/framing.h): a piece of an
     * HTTP request delivered in pieces. */
    void (*on_message)(sw__reactor_t *r, sw__conn_t *c, const char *data, size_t len,
                       unsigned piece);
    /* `worker`: the connection's sw__conn_t.worker when it closed. */
    void (*on_close)(sw__reactor_t *r, uint64_t session, int reactor_id, int worker);
    void (*on_buffer)(sw__reactor_t *r, uint64_t session, bool full);
    void (*on_packet)(sw__reactor_t *r, sw_port_t *p, const char *data, size_t len,
                      const struct sockaddr *addr, socklen_t addrlen);
    /* The reactor is stopping and has no connection left. */
    void (*on_drained)(sw__reactor_t *r);
} sw__sink_t;

/* A callback owed to the sink, run once the running callback has returned. */
typedef struct sw__note_s {
    uint64_t session;
    int reactor_id;
    int type;   /* SW__N_* */
    int worker; /* SW__N_CLOSE: the connection's worker field */
} sw__note_t;

#define SW__N_CLOSE 1
#define SW__N_FULL  2
#define SW__N_EMPTY 3
#define SW__N_INPUT 4 /* deliver buffered input after a resume; reactor_id holds the fd */

typedef struct sw__listener_s {
    sw_io_t io;
    sw_port_t *port;
    int fd;
    bool own_fd; /* a per-worker SO_REUSEPORT socket this reactor closes */
} sw__listener_t;

struct sw__reactor_s {
    sw_server_t *srv;
    sw_loop_t *loop;
    int id;               /* the owner id written in the directory */
    unsigned incarnation; /* the owner's incarnation tag (8 bits) in the directory */
    int worker_id;        /* the worker whose counters this reactor updates */
    pthread_t thread;     /* the loop's thread */
    const sw__sink_t *sink;
    void *sink_arg;

    /* connections: pages[fd / SW__PAGE] -> SW__PAGE slots; the pointer array is fixed */
    sw__conn_t **pages;
    size_t npages;
    int max_fd_seen;
    uint64_t nconns; /* open slots (active or closing) */

    char *rbuf; /* the read buffer shared by every connection of this reactor */
    char *dgram_buf;
    sw__ext_t *ext_free;
    unsigned ext_free_n;

    /* Corked connections waiting for a flush, and callbacks owed to the sink. Both are
     * worked off when the outermost dispatch returns (sw__reactor_leave), or by a deferred
     * pump when they were queued outside any dispatch (timers, user fds, posted calls). */
    sw__conn_t **dirty;
    size_t ndirty, dirty_cap;
    sw__note_t *notes;
    size_t nnotes, notes_cap;
    bool pump_scheduled;
    int dispatch_depth;

    /* lingering closes (output draining after a close) */
    uint64_t linger_timer;
    uint64_t nlinger;
    /* PROCESS/THREAD: a peer's end of stream on a connection with a fixed worker is sent to
     * the worker as CLOSE while the socket stays open (SW__C_EOF) until the worker's
     * acknowledgement (sw__conn_eof_ack), so replies it sent before on_close still go out. */
    bool eof_ack;
    uint64_t neof; /* connections in SW__C_EOF */
    /* Bytes a send may queue past socket_buffer_size (output.c); 0 except while process.c
     * applies a worker's send to a connection it no longer reads (see there). */
    size_t out_slack;

    /* heartbeat */
    uint64_t heartbeat_timer;
    uint32_t idle_ms;

    sw__listener_t *listeners;
    int nlisteners;
    uint64_t accept_retry_timer;

    bool stopping;
    uint64_t stop_deadline; /* reactor ms */
    uint64_t epoch_ms;      /* loop time when the reactor started (conn clocks are relative) */

    /* output.c: corked bytes of connections whose queue was empty, written from here when
     * the dirty list is flushed; bump-allocated, reused once no span is left (cork_live). */
    size_t cork_used;
    size_t cork_live;
    char cork_buf[SW__CORK_BUFFER];
};

#define SW__PAGE_SHIFT 8
#define SW__PAGE       (1 << SW__PAGE_SHIFT)

/* reactor.c */
int sw__reactor_create(sw__reactor_t **out, sw_server_t *srv, sw_loop_t *loop, int id,
                       int worker_id, const sw__sink_t *sink, void *sink_arg);
/* Frees the reactor: every connection still open is reset without notification. */
void sw__reactor_destroy(sw__reactor_t *r);
/* Starts accepting on every stream port and reading every datagram port (BASE); with
 * reuseport, opens this reactor's own TCP sockets. */
int sw__reactor_listen(sw__reactor_t *r);
/* Takes an accepted socket of port `p` (PROCESS: handed over by the master's accept thread):
 * opens its session and starts reading it; closes it when it cannot. Loop thread. */
void sw__reactor_adopt(sw__reactor_t *r, sw_port_t *p, int fd);
void sw__reactor_unlisten(sw__reactor_t *r);
/* Begins the graceful stop: no more accepts, every connection closed (on_close, reactor_id
 * -1) once its output is written, reset at `deadline_ms` (reactor clock); sink->on_drained
 * when none is left. */
void sw__reactor_stop(sw__reactor_t *r, uint64_t deadline_ms);
/* The connection of (fd, sid) if it is open and active here, else NULL. Loop thread. */
sw__conn_t *sw__reactor_conn(sw__reactor_t *r, int fd, uint64_t sid);
/* Dispatch brackets: sends inside are corked; the outermost leave flushes them and runs the
 * owed callbacks. */
void sw__reactor_enter(sw__reactor_t *r);
void sw__reactor_leave(sw__reactor_t *r);
/* Queues a callback owed to the sink (or an input delivery) and makes sure it runs. */
void sw__reactor_note(sw__reactor_t *r, uint64_t sid, int reactor_id, int type);
/* Makes sure dirty connections and notes are worked off soon (a deferred pump when called
 * outside a dispatch). */
void sw__reactor_schedule(sw__reactor_t *r);
uint64_t sw__reactor_now(const sw__reactor_t *r);
uint32_t sw__reactor_clock(const sw__reactor_t *r);
/* Calls f for every open connection (f may close it). */
void sw__reactor_foreach(sw__reactor_t *r, void (*f)(sw__reactor_t *, sw__conn_t *, void *),
                         void *arg);

/* Server-side close of an active connection: the session is released at once; the socket is
 * closed now (reset, or nothing queued) or once the output is written (lingering); on_close
 * is owed with `reactor_id`. */
void sw__conn_close(sw__reactor_t *r, sw__conn_t *c, bool reset, int reactor_id);
/* Closes the socket of an open connection now and frees its slot (no notification). */
void sw__conn_free(sw__reactor_t *r, sw__conn_t *c, bool reset);
/* The worker acknowledged the CLOSE of an SW__C_EOF connection: close it (lingering) without
 * another on_close. */
void sw__conn_eof_ack(sw__reactor_t *r, sw__conn_t *c);
int sw__conn_pause(sw__reactor_t *r, sw__conn_t *c);
int sw__conn_resume(sw__reactor_t *r, sw__conn_t *c);
/* Registers READ/WRITE interest from the flags. */
void sw__conn_update_events(sw__reactor_t *r, sw__conn_t *c);
sw__ext_t *sw__ext_get(sw__reactor_t *r, sw__conn_t *c);
/* Gives the connection's state block back when it holds nothing. */
void sw__ext_maybe_put(sw__reactor_t *r, sw__conn_t *c);

/* output.c */
int sw__out_send(sw__reactor_t *r, sw__conn_t *c, const void *data, size_t len);
/* Two pieces as one send (one limit check, one count): nothing can come between them. */
int sw__out_send2(sw__reactor_t *r, sw__conn_t *c, const void *a, size_t alen, const void *b,
                  size_t blen);
int sw__out_sendfile(sw__reactor_t *r, sw__conn_t *c, int file_fd, uint64_t off, uint64_t len);
/* Writes what is queued; returns 0, or a negative code when the connection failed (it has
 * been closed then). */
int sw__out_flush(sw__reactor_t *r, sw__conn_t *c);
void sw__out_mark_dirty(sw__reactor_t *r, sw__conn_t *c);
void sw__out_flush_dirty(sw__reactor_t *r);
void sw__out_free(sw__ext_t *e);
int sw__out_sendwait(sw__reactor_t *r, sw__conn_t *c, const void *data, size_t len, int timeout_ms);
static inline size_t sw__out_pending(const sw__conn_t *c)
{
    const sw__ext_t *e = c->io.data;
    return e ? e->out_bytes : 0;
}
static inline bool sw__out_empty(const sw__conn_t *c)
{
    const sw__ext_t *e = c->io.data;
    return !e || !e->out_head;
}

/* heartbeat.c */
int sw__heartbeat_start(sw__reactor_t *r);
int sw__heartbeat_scan(sw__reactor_t *r, bool close_them, uint64_t *out, size_t max);
void sw__linger_add(sw__reactor_t *r, sw__conn_t *c);

/* ---- modes and processes ------------------------------------------------------------------ */

/* What differs between BASE, PROCESS and THREAD. */
typedef struct sw__mode_ops_s {
    const char *name;
    /* Runs the server; returns after shutdown (in the master). */
    int (*start)(sw_server_t *srv);
    /* Reaches a session that no reactor of this process owns (another worker's in BASE, the
     * master's reactor threads from a PROCESS worker). `op` is an SW__OP_* request. */
    int (*forward)(sw_server_t *srv, int owner, uint64_t sid, int op, const void *data, size_t len);
} sw__mode_ops_t;

extern const sw__mode_ops_t sw__mode_base;
extern const sw__mode_ops_t sw__mode_process;
extern const sw__mode_ops_t sw__mode_thread;

/* Operations on a session (posted across threads; forwarded across processes). */
#define SW__OP_SEND     1
#define SW__OP_SENDFILE 2
#define SW__OP_CLOSE    3
#define SW__OP_RESET    4
#define SW__OP_PAUSE    5
#define SW__OP_RESUME   6
#define SW__OP_BIND     7 /* PROCESS worker -> reactor: data is the uid (8 bytes) */
#define SW__OP_FRAMING  8 /* data: [mode byte][bytes sent first]; framing.c */

/* The state of a worker inside its own process. */
typedef struct sw__worker_s {
    int id;
    pid_t pid;
    sw_loop_t *loop;
    sw__reactor_t *reactor;
    sw_signal_t sigs[4];
    int nsigs;
    bool stopping;
    pthread_t thread; /* PROCESS worker: its loop's thread (BASE: reactor->thread) */
    uint64_t requests;
    unsigned max_request; /* with its grace applied */
    unsigned holds;       /* requests in pieces the layer above keeps (sw__server_hold):
                           * max_request waits for them */
    sw_server_t *srv;
    struct sw_ipc_endpoint_s **wep; /* PROCESS/THREAD: [reactor_num], to each reactor thread */
    struct sw_ipc_endpoint_s *rep;  /* PROCESS/THREAD: replies to its requests (no loop) */
    uint64_t next_req;              /* PROCESS/THREAD: the last request id */
    void *pending;                  /* PROCESS/THREAD: the request being waited for */
} sw__worker_t;

/* BASE worker: stops for max_request (deferred while it held requests in pieces). */
void sw__base_max_request(sw_server_t *srv, sw__worker_t *w);

/* Server states. */
#define SW__S_CREATED  0
#define SW__S_RUNNING  1
#define SW__S_STOPPING 2
#define SW__S_STOPPED  3

struct sw_server_s {
    sw_server_mode_t mode;
    const sw__mode_ops_t *ops;
    _Atomic int state;
    sw_server_options_t o; /* string fields point at the copies below */
    char *s_pid_file, *s_log_file, *s_user, *s_group, *s_chroot;
    sw_server_handlers_t h;
    void *arg;
    void *data;

    sw_port_t **ports;
    int nports;

    sw_log_t *log; /* where the server logs: o.log, or own_log */
    sw_log_t *own_log;

    /* runtime (set by start) */
    sw__shared_t *shm; /* the shared mapping (same address in every server process) */
    size_t shm_size;
    sw__worker_shm_t *shm_workers; /* [worker_num], inside the mapping */
    sw__dirent_t *shm_dir;         /* [dir_mask + 1], inside the mapping */
    sw_loop_t *master_loop;        /* the master's loop (BASE: also the manager's) */
    struct sw_sup_s *sup;          /* the manager's supervisor, in the process that runs it */
    sw__worker_t *worker;          /* this process's worker, or NULL (never set in THREAD
                                      mode: read sw__server_worker()) */
    bool is_master;                /* this process is the master */
    pid_t master_pid;
    sw_signal_t master_sigs[4];
    int master_nsigs;
    bool pid_file_written;
    int shutdown_requested; /* master: shutdown began */
    bool started;           /* on_start ran (so on_shutdown is owed) */
    pthread_t master_thread;
    struct sw__proc_s *proc; /* PROCESS mode: channels, reactor threads, worker endpoints */
    struct sw__task_s *task; /* task workers, messages, user processes (task_int.h) */
};

/* server.c */
/* The calling code's worker: this process's (BASE, PROCESS), or the calling thread's when it
 * is a THREAD-mode worker thread; NULL elsewhere. */
sw__worker_t *sw__server_worker(const sw_server_t *srv);
/* Records the worker of this process (BASE, PROCESS) or of the calling thread (THREAD). */
void sw__server_set_worker(sw_server_t *srv, sw__worker_t *w);
/* The reactor of this process that owns sessions of `owner`, or NULL. */
sw__reactor_t *sw__server_local_reactor(const sw_server_t *srv, int owner);
/* Master: begin the shutdown (from the master loop's thread). */
void sw__server_begin_shutdown(sw_server_t *srv);
int sw__server_check_thread(const sw_server_t *srv);
/* CPU affinity, chroot, group, user of a forked worker; logs and returns an error code. */
int sw__server_worker_settings(sw_server_t *srv, int worker_id);

/* base.c */
/* Runs worker `worker_id` in the calling process until it stops; returns its exit code. */
int sw__base_worker_main(sw_server_t *srv, int worker_id);
/* Clears every timer left on a loop the server owns (user timers of a stopped worker). */
void sw__server_clear_timers(sw_loop_t *loop);
/* Destroys a loop the server owns after its work is done: posted and deferred callbacks still
 * queued run first (requests for closed sessions are dropped), user timers are cleared; user
 * fd watchers still started are named in the log and the loop is left allocated. */
void sw__server_close_loop(sw_server_t *srv, sw_loop_t *loop);

/* process.c */
/* PROCESS worker `worker_id` in a process forked by the manager; returns its exit code. */
int sw__process_worker_main(sw_server_t *srv, int worker_id);
/* PROCESS master: the reactor thread's reactor with id `owner`, or NULL. */
sw__reactor_t *sw__process_reactor(const sw_server_t *srv, int owner);
/* PROCESS master: begin the shutdown (master loop thread). */
void sw__process_begin_shutdown(sw_server_t *srv);
/* PROCESS master: ask the manager to reload the workers (THREAD: any thread). */
int sw__process_reload(sw_server_t *srv);
/* PROCESS/THREAD worker, its loop thread: requests answered by the reactor threads
 * (proc_query.c); they block the worker until the reply comes. */
int sw__proc_query_info(sw_server_t *srv, int owner, uint64_t sid, sw_connection_info_t *info);
int sw__proc_query_heartbeat(sw_server_t *srv, bool close_them, uint64_t *out, size_t max);
int sw__proc_query_sendwait(sw_server_t *srv, int owner, uint64_t sid, const void *data, size_t len,
                            int timeout_ms);

/* send.c */
/* Fills `info` from a connection of reactor r (its loop thread). */
void sw__conn_fill_info(sw__reactor_t *r, sw__conn_t *c, sw_connection_info_t *info);
/* Runs a session op (SW__OP_*) wherever the session lives (direct, posted or forwarded). */
int sw__session_op(sw_server_t *srv, uint64_t sid, int kind, const void *data, size_t len);

/* framing.c (see server/framing.h for the modes) */
/* SW__OP_FRAMING on the owner's loop thread: sends data[1..len), sets the framing mode
 * data[0], releases a hold. Returns 0 or a negative code. */
int sw__conn_framing(sw__reactor_t *r, sw__conn_t *c, const void *data, size_t len);
/* The reactor could not frame a WebSocket connection (error rc): close frame, then close. */
void sw__conn_ws_fail(sw__reactor_t *r, sw__conn_t *c, int rc);
/* HTTP framing asked for an interim "100 Continue": sends it. */
void sw__conn_continue(sw__reactor_t *r, sw__conn_t *c);

/* stats.c: PROCESS/THREAD per-worker connection_num (+1 / -1 for worker, -1 ignored). */
void sw__stats_conn_worker(sw_server_t *srv, int worker, int delta);

/* manager.c */
int sw__manager_run(sw_server_t *srv);
int sw__manager_reload(sw_server_t *srv);

/* The port a connection was accepted on. */
static inline sw_port_t *sw__conn_port(const sw__reactor_t *r, const sw__conn_t *c)
{
    return r->srv->ports[c->port];
}

#endif
