/*
 * The server: Swoole's swoole_server for C programs.
 *
 *     sw_server_t *srv;
 *     sw_port_t *port;
 *     sw_server_create(&srv, SW_MODE_BASE);
 *     sw_server_set_option(srv, "worker_num", "4");
 *     sw_server_listen(srv, "127.0.0.1", 9501, SW_SOCK_TCP, &port);
 *     sw_port_set_option(port, "open_length_check", "1");
 *     sw_server_handlers_t h = {.on_receive = on_receive};
 *     sw_server_set_handlers(srv, &h, NULL);
 *     sw_server_start(srv);          (blocks until the server has shut down)
 *     sw_server_destroy(srv);
 *
 * Modes (the `mode` of sw_server_create):
 *   SW_MODE_BASE     every worker process runs its own loop, accepts its own connections and
 *                    runs the callbacks for them; connections live and die with their worker.
 *                    With worker_num 1, no task workers and max_request 0 the calling process
 *                    is the only process (no manager, no fork). Otherwise the calling process
 *                    is both the master and the manager: it forks worker_num workers, respawns
 *                    them (same worker id), reloads them on SIGUSR1 and stops them on SIGTERM.
 *   SW_MODE_PROCESS  reactor threads in the master own the sockets; a manager process forks
 *                    the workers, which get whole messages over IPC (dispatch_mode picks the
 *                    worker); a worker that dies is replaced and its clients stay connected.
 *                    Datagram ports (UDP, Unix datagram) are read by a reactor thread and
 *                    each datagram goes to a worker (by the sender's address), whose
 *                    on_packet answers with sw_server_sendto.
 *   SW_MODE_THREAD   the PROCESS layout in one process: reactor threads own the sockets,
 *                    worker_num worker threads run the callbacks and get whole messages over
 *                    in-memory queues; same dispatch modes, ordering and backpressure as
 *                    PROCESS. No manager (on_manager_start/stop and on_worker_error are never
 *                    called); a worker thread is replaced on reload and max_request, but a
 *                    crash in a worker thread ends the whole process. sw_server_worker_id is
 *                    the calling worker thread's (-1 on other threads), every worker pid is
 *                    the process's; user, group and chroot are not applied.
 *
 * Sessions. A connection is named by a 64-bit session id, unique over the server's lifetime
 * and never reused (unlike an fd): every call that names a session checks it and returns
 * SW_ESESSION for a session that is closed, unknown, or (BASE) being closed.
 *
 * Threads. Unless a declaration says otherwise, a call is made from the thread that runs the
 * calling process's server loop (sw_server_loop: the worker's loop in a worker, the master's
 * loop in the master), which is where every callback runs; from another thread it returns
 * SW_ELOOP_THREAD. The calls marked "any thread" may be made from any thread of the process,
 * at any time while the server runs: sw_server_send, sendfile, close, pause and resume queue
 * the request to the connection's loop (sw_loop_post), which runs it at once (it is woken;
 * nothing waits for a periodic sweep). Requests one thread makes for one session are executed
 * in the order it made them.
 *
 * Callbacks run in the process and thread named in sw_server_handlers_t, receive the server,
 * their arguments and the `arg` given to sw_server_set_handlers, and may call any function
 * allowed on their thread (sending, closing, timers...). Pointers handed to a callback are
 * valid until it returns.
 *
 * Errors: functions return 0 (or a positive count) on success and a negative SW_E* code on
 * failure (swoole/error.h). A call that takes a callback and fails never runs it.
 *
 * Logging: the server writes to a log (swoole/log.h): the one given in the options, else one it
 * creates from log_file / log_level, else stderr at WARNING.
 */
#ifndef SWOOLE_SERVER_H
#define SWOOLE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "swoole/common.h"
#include "swoole/log.h"
#include "swoole/loop.h"
#include "swoole/protocol.h"
#include "swoole/timer.h"

SW_EXTERN_C_BEGIN

typedef struct sw_server_s sw_server_t;
typedef struct sw_port_s sw_port_t;

/** Server modes; the values are Swoole's (SWOOLE_BASE 1, SWOOLE_PROCESS 2, SWOOLE_THREAD 3). */
typedef enum { SW_MODE_BASE = 1, SW_MODE_PROCESS = 2, SW_MODE_THREAD = 3 } sw_server_mode_t;

/** Socket types of a port; the values are Swoole's SWOOLE_SOCK_* constants. */
typedef enum {
    SW_SOCK_TCP = 1,
    SW_SOCK_UDP = 2,
    SW_SOCK_TCP6 = 3,
    SW_SOCK_UDP6 = 4,
    SW_SOCK_UNIX_DGRAM = 5,
    SW_SOCK_UNIX_STREAM = 6
} sw_sock_type_t;

/* ---- options ------------------------------------------------------------------------------- */

/**
 * Options of one listening port. Field names are Swoole's setting names; sw_port_options_init
 * fills the defaults given here. The same names are accepted as strings by sw_port_set_option
 * and, as defaults for every port, by sw_server_set_option.
 */
typedef struct sw_port_options_s {
    /* Framing of the input (swoole/protocol.h): open_eof_check, open_eof_split, package_eof,
     * open_length_check, package_length_type, package_length_offset, package_body_offset,
     * package_length_func, package_max_length (default 2 MiB: a message over it closes the
     * connection without being buffered, logged as EPKGTOOBIG). Default: no framing (each read
     * is one message). */
    sw_protocol_t protocol;
    /* listen() backlog. Default 512; 1..65535. */
    int backlog;
    /* Cap of the bytes queued for output per connection; past it sw_server_send fails with
     * SW_EOVERFLOW_OUTPUT. Default 2 MiB; 4096..1 GiB. Worst-case output memory is
     * max_conn x socket_buffer_size. */
    size_t socket_buffer_size;
    /* on_buffer_full fires once when the queued output reaches the high watermark, and
     * on_buffer_empty when it falls back to the low watermark. high 0 (default) means 80% of
     * socket_buffer_size; low defaults to 0. high <= socket_buffer_size, low < high. */
    size_t buffer_high_watermark;
    size_t buffer_low_watermark;
    /* TCP_NODELAY on accepted TCP connections. Default true (sends are corked by the server,
     * so Nagle's delay only costs latency). */
    bool open_tcp_nodelay;
    /* TCP_DEFER_ACCEPT seconds (accept only once data arrived); 0 (default): off. */
    int tcp_defer_accept;
    /* SO_KEEPALIVE with TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT. Defaults: off, 3600 s,
     * 60 s, 5 (Swoole's). */
    bool open_tcp_keepalive;
    int tcp_keepidle;
    int tcp_keepinterval;
    int tcp_keepcount;
    /* SO_RCVBUF / SO_SNDBUF of accepted sockets in bytes; 0 (default): the system's. */
    int kernel_socket_recv_buffer_size;
    int kernel_socket_send_buffer_size;
} sw_port_options_t;

/** The event a user dispatch function is asked about. */
typedef enum {
    SW_DISPATCH_CONNECT = 1,
    SW_DISPATCH_DATA = 2,
    SW_DISPATCH_CLOSE = 3
} sw_dispatch_event_t;

/** What a user dispatch function (sw_server_options_t.dispatch_func) is told about an event.
 * Pointers are valid until it returns. */
typedef struct sw_dispatch_info_s {
    sw_dispatch_event_t event;
    uint64_t session;
    int fd;         /* the connection's socket in the master; -1 for CLOSE (may be gone) */
    int reactor_id; /* the reactor thread calling the function */
    int worker_num;
    sw_port_t *port;             /* the port it was accepted on; NULL for CLOSE */
    const char *data;            /* DATA: the whole framed message (or one read without framing) */
    size_t len;                  /* its length; 0 for CONNECT and CLOSE */
    const struct sockaddr *addr; /* CONNECT, DATA: the peer (getpeername); NULL for CLOSE */
    socklen_t addrlen;
} sw_dispatch_info_t;

/**
 * A user dispatch function (PROCESS and THREAD mode): returns the worker id (0..worker_num-1)
 * that gets this event, or a negative value for dispatch_mode's choice (so does an id out of
 * range, logged). Called on the reactor threads, several at once: it must be thread-safe and
 * must not block, and may only call the "any thread" functions. A worker chosen at CONNECT
 * stays the connection's worker for the events the function leaves to dispatch_mode (modes
 * 2, 4, 5); a worker chosen for DATA or CLOSE is for that event only. Connect and close are
 * delivered as dispatch_mode says (modes 1 and 3: only with enable_unsafe_event); buffer
 * events go to the connection's worker. Ordering across workers is then the function's
 * business. Each CONNECT and DATA call costs a getpeername().
 */
typedef int (*sw_dispatch_cb)(sw_server_t *srv, const sw_dispatch_info_t *info, void *arg);

/**
 * Server options. Field names are Swoole's setting names (sw_server_set_option takes the same
 * names as strings; "max_connection" is an alias of "max_conn"). Defaults in brackets.
 * Options marked PROCESS/THREAD are checked and stored now and used by those modes.
 */
typedef struct sw_server_options_s {
    /* Event worker processes [number of CPUs]; 1..1000 x CPUs. */
    int worker_num;
    /* PROCESS/THREAD: reactor threads [min(CPUs, 8)]; 1..4 x CPUs. */
    int reactor_num;
    /* Task worker processes [0] (BASE and PROCESS; THREAD: start fails with SW_ENOTSUP when
     * above 0). Their worker ids follow the event workers': worker_num .. worker_num +
     * task_worker_num - 1. See "tasks and messages". */
    int task_worker_num;
    /* PROCESS/THREAD: 1 round-robin, 2 fd hash, 3 idle worker, 4 IP hash, 5 uid [2]. */
    int dispatch_mode;
    /* Most connections at once, over all workers [min(RLIMIT_NOFILE, 100000)]; at least 1. A
     * connection accepted past it is closed at once (logged, counted in abort_count). A value
     * above the soft RLIMIT_NOFILE is lowered to it at start with a warning. */
    int max_conn;
    /* A worker ends after handling this many messages and is replaced [0: never]. */
    unsigned max_request;
    /* Seconds a stopping worker may take to finish (shutdown, reload, max_request) before it is
     * killed with SIGKILL [3]; 0.001..86400. */
    double max_wait_time;
    /* SIGUSR1 reload: true starts every replacement at once (old workers finish alongside),
     * false replaces one worker at a time [true]. */
    bool reload_async;
    /* Close connections that received nothing for heartbeat_idle_time seconds, checked every
     * heartbeat_check_interval seconds [0, 0: off]. Either alone enables it: the idle time
     * defaults to twice the interval, the interval to half the idle time. */
    double heartbeat_check_interval;
    double heartbeat_idle_time;
    /* BASE: each worker listens on its own SO_REUSEPORT socket for TCP ports, so the kernel
     * spreads connections over the workers [false: every worker accepts on the one shared
     * listening socket]. UDP and Unix ports always use the shared socket. */
    bool enable_reuse_port;
    /* PROCESS/THREAD: connect/close events also in dispatch modes 1 and 3 [false]. */
    bool enable_unsafe_event;
    /* PROCESS/THREAD: drop data that reaches a worker after its session closed [true]. */
    bool discard_timeout_request;
    /* PROCESS: bytes queued from one reactor thread towards one worker before the reactor
     * pauses reading the connections that feed that worker [0: 32 MiB]. */
    size_t max_queued_bytes;
    /* Detach the master from the terminal at start (sw_process_daemon; stdio to /dev/null or
     * log_file) [false]. */
    bool daemonize;
    /* File the master's pid is written to at start and removed from at shutdown [NULL]. */
    const char *pid_file;
    /* Server log file (appended) [NULL: stderr]; its level [SW_LOG_WARNING]: a number 0..6 or
     * a name (trace, debug, info, notice, warning, error, none) as a string option. */
    const char *log_file;
    int log_level;
    /* A log of the user's (not owned; must outlive the server); when set, log_file and
     * log_level are not used. Not settable by name. */
    sw_log_t *log;
    /* Workers switch to this user / group / root directory after the fork [NULL: no change].
     * Needs the privilege to do so; a worker that cannot exits with an error. */
    const char *user;
    const char *group;
    const char *chroot;
    /* Pin worker i to CPU i % CPUs, skipping the CPUs listed in cpu_affinity_ignore (a string
     * option "0,1"; at most 64 entries) [false]. */
    bool open_cpu_affinity;
    int cpu_affinity_ignore[64];
    int cpu_affinity_ignore_num;
    /* PROCESS/THREAD: a user dispatch function and its argument (see sw_dispatch_cb) [NULL:
     * dispatch_mode alone]. Not settable by name; ignored in BASE mode. */
    sw_dispatch_cb dispatch_func;
    void *dispatch_arg;
    /* How tasks reach task workers [1]: 1 a unix socket per task worker (dst chosen, or the
     * first idle one), 2 a System V message queue with the target as message type, 3 the same
     * queue shared: the first free task worker takes the next task (dst ignored). */
    int task_ipc_mode;
    /* Modes 2/3: the queue's key [0: a private queue made and removed by the manager]; a key
     * opens (or creates) that queue, which is left in place at shutdown. */
    int message_queue_key;
    /* A task worker ends after this many tasks and is replaced [0: never]. */
    unsigned task_max_request;
    /* Directory of the temporary files that carry task payloads and results too large for
     * one IPC message (64 KiB in mode 1, the queue's message size in modes 2/3) [empty:
     * "/tmp"]; created at start when missing (start fails if it cannot be); at most 200
     * bytes. */
    char task_tmpdir[208];
    /* The defaults of every port (see sw_port_options_t): a port uses them for every option
     * it did not set itself. */
    sw_port_options_t port;
} sw_server_options_t;

/** Fills `opts` with the defaults. NULL is ignored. */
SW_API void sw_port_options_init(sw_port_options_t *opts);

/** Fills `opts` with the defaults (worker_num and max_conn from this machine). NULL is
 * ignored. */
SW_API void sw_server_options_init(sw_server_options_t *opts);

/* ---- callbacks ----------------------------------------------------------------------------- */

/** A UDP or Unix datagram received by a port (on_packet). */
typedef struct sw_packet_s {
    sw_port_t *port;  /* the port it arrived on */
    const char *data; /* the datagram; valid until the callback returns */
    size_t len;
    const struct sockaddr *addr; /* the sender (for sw_server_sendto); its length: addrlen */
    socklen_t addrlen;           /* 0 for an unbound Unix datagram sender */
    int worker_id;               /* the worker that received it */
} sw_packet_t;

typedef void (*sw_server_cb)(sw_server_t *srv, void *arg);
typedef void (*sw_server_worker_cb)(sw_server_t *srv, int worker_id, void *arg);
typedef void (*sw_server_worker_error_cb)(sw_server_t *srv, int worker_id, pid_t pid, int exit_code,
                                          int signo, void *arg);
typedef void (*sw_server_session_cb)(sw_server_t *srv, uint64_t session, int reactor_id, void *arg);
typedef void (*sw_server_receive_cb)(sw_server_t *srv, uint64_t session, int reactor_id,
                                     const char *data, size_t len, void *arg);
typedef void (*sw_server_packet_cb)(sw_server_t *srv, const sw_packet_t *pkt, void *arg);
typedef void (*sw_server_task_cb)(sw_server_t *srv, uint64_t task_id, int src_worker_id,
                                  const void *data, size_t len, void *arg);
typedef void (*sw_server_finish_cb)(sw_server_t *srv, uint64_t task_id, const void *data,
                                    size_t len, void *arg);
typedef void (*sw_server_message_cb)(sw_server_t *srv, int src_worker_id, const void *data,
                                     size_t len, void *arg);

/**
 * Callbacks; any may be NULL. "master" is the process that called sw_server_start; in BASE
 * mode it is also the manager, and with a single worker also the worker. reactor_id is the
 * worker id in BASE mode.
 */
typedef struct sw_server_handlers_s {
    /* master, main thread: the ports listen and (with a manager) the workers were forked. */
    sw_server_cb on_start;
    /* master, main thread: every worker has ended; last callback before sw_server_start
     * returns. */
    sw_server_cb on_shutdown;
    /* manager (BASE: the master), main thread: before the first worker is forked / after the
     * last one ended. Not called without a manager. */
    sw_server_cb on_manager_start;
    sw_server_cb on_manager_stop;
    /* worker, its loop thread: when the worker starts (before it accepts anything) and when
     * it stops (its connections are closed by then; clear user timers and watchers here). */
    sw_server_worker_cb on_worker_start;
    sw_server_worker_cb on_worker_stop;
    /* manager, main thread: a worker ended without being asked to (crash, kill, exit with a
     * non-zero code). exit_code is -1 when it was killed, signo 0 when it exited. The worker
     * is restarted with the same id after this returns. */
    sw_server_worker_error_cb on_worker_error;
    /* worker owning the connection, its loop thread: a connection was accepted (before any
     * on_receive for it). */
    sw_server_session_cb on_connect;
    /* worker owning the connection, its loop thread: one framed message (or, without
     * framing, one read). */
    sw_server_receive_cb on_receive;
    /* worker that read it, its loop thread: one datagram on a UDP or Unix datagram port. */
    sw_server_packet_cb on_packet;
    /* worker owning the connection, its loop thread: the session is closed (exactly once per
     * on_connect). reactor_id is -1 when sw_server_close closed it; on_close never runs inside
     * sw_server_close itself but right after the running callback returns. */
    sw_server_session_cb on_close;
    /* worker owning the connection, its loop thread: queued output reached the high
     * watermark / fell back to the low watermark after that. */
    sw_server_session_cb on_buffer_full;
    sw_server_session_cb on_buffer_empty;
    /* task worker, its loop thread: a task sent by worker src_worker_id (sw_server_task*);
     * answer it with sw_server_task_finish. See "tasks and messages". */
    sw_server_task_cb on_task;
    /* the worker that called sw_server_task, its loop thread: the result of that task. */
    sw_server_finish_cb on_finish;
    /* the destination of sw_server_send_message (worker, task worker or user process), its
     * loop thread. */
    sw_server_message_cb on_pipe_message;
} sw_server_handlers_t;

/* ---- create, configure, start ------------------------------------------------------------- */

/**
 * Creates a server in `mode` with default options and no ports. Returns 0 and stores the
 * server in `*out`, SW_EINVAL (out NULL, unknown mode) or SW_ENOMEM.
 */
SW_API int sw_server_create(sw_server_t **out, sw_server_mode_t mode);

/**
 * Frees the server, its ports (closing their sockets; a Unix socket file the server created
 * is removed) and everything else it holds. Returns 0, SW_EINVAL (NULL) or SW_ESERVER_STATE
 * (running: stop it first; from inside a callback or a worker). 
 */
SW_API int sw_server_destroy(sw_server_t *srv);

/** The mode given to sw_server_create, or SW_EINVAL for NULL. */
SW_API int sw_server_mode(const sw_server_t *srv);

/**
 * Sets every option from `opts` (checked as a whole first: nothing changes on error). String
 * fields are copied. Before start only. Returns 0, SW_EINVAL (NULL), SW_EOPTION_VALUE (a field
 * out of its range, an inconsistent framing spec, high watermark above socket_buffer_size...),
 * SW_ESERVER_STATE (started) or SW_ENOMEM.
 */
SW_API int sw_server_set_options(sw_server_t *srv, const sw_server_options_t *opts);

/** Copies the current options into `opts` (string fields point into the server: valid until
 * the next change). Returns 0 or SW_EINVAL. */
SW_API int sw_server_get_options(const sw_server_t *srv, sw_server_options_t *opts);

/**
 * Sets one option by its Swoole name from a string: a server option, or a port option (the
 * default of every port), or a framing option (swoole/protocol.h). Values: integers in
 * decimal, sizes in bytes, times in seconds (decimals allowed: "0.5"), booleans "1", "0",
 * "true", "false", lists comma-separated. Before start only. Returns 0, SW_EINVAL (NULL
 * argument), SW_EOPTION_UNKNOWN (no such option: never ignored), SW_EOPTION_VALUE (the value
 * does not parse or is out of range; the option keeps its value), SW_ESERVER_STATE (started)
 * or SW_ENOMEM.
 */
SW_API int sw_server_set_option(sw_server_t *srv, const char *name, const char *value);

/**
 * Sets the callbacks (copied) and the `arg` every callback receives. Before start only.
 * Returns 0, SW_EINVAL (NULL srv or h) or SW_ESERVER_STATE.
 */
SW_API int sw_server_set_handlers(sw_server_t *srv, const sw_server_handlers_t *h, void *arg);

/** The user's slot; the library never touches it. Any thread. */
SW_API void sw_server_set_data(sw_server_t *srv, void *data);
SW_API void *sw_server_get_data(const sw_server_t *srv);

/**
 * Adds a listening port and returns it in `*out` (may be NULL). The socket is created, bound
 * and (stream types) listening when this returns, so that a port 0 (pick a free port) is known
 * at once (sw_port_number). `host`: an IPv4 or IPv6 literal for the inet types ("0.0.0.0",
 * "::1", "localhost" is not resolved), a path for the Unix types (an existing socket file at
 * that path is replaced; the file is removed when the server is destroyed). Any number of
 * ports; before start only. Returns 0, SW_EINVAL (NULL srv or host, unknown type, port outside
 * 0..65535, a host that does not parse for the type, a path too long), SW_ESERVER_STATE
 * (started), SW_ENOMEM or the negated errno of socket/bind/listen (SW_EADDRINUSE,
 * SW_EACCES...).
 */
SW_API int sw_server_listen(sw_server_t *srv, const char *host, int port, sw_sock_type_t type,
                            sw_port_t **out);

/**
 * Runs the server and blocks until it has shut down (SIGTERM or SIGINT to the master, or
 * sw_server_shutdown). See the header comment for the process layout. The calling thread's
 * signal watchers are taken for SIGTERM, SIGINT, SIGUSR1 and SIGUSR2 while it runs (SIGPIPE is
 * ignored in every server process); call it from the main thread before creating threads.
 *
 * Returns 0 after a clean shutdown (in the master; a forked worker never returns from it: it
 * exits), SW_EINVAL (NULL), SW_ESERVER_STATE (already started; or no port), SW_ENOTSUP
 * (THREAD mode with task workers or user processes: not available yet), SW_EOPTION_VALUE (a port's
 * framing spec or watermarks do not hold together), SW_ENOMEM, or the error of what failed
 * while starting (shared memory, loop, fork, daemonize, pid_file, task_tmpdir that cannot be
 * created or written: its mkdir/access errno, e.g. SW_EACCES, SW_ENOTDIR); on a start error nothing is
 * left running. A server starts once: destroy it afterwards.
 */
SW_API int sw_server_start(sw_server_t *srv);

/**
 * Asks the server to shut down (as SIGTERM to the master): workers stop accepting, close their
 * connections once queued output is written, run on_worker_stop and exit; anything still
 * alive after max_wait_time is killed; then on_shutdown runs and sw_server_start returns. Any
 * thread of any server process. Returns 0 (also when already stopping), SW_EINVAL or
 * SW_ESERVER_STATE (not running).
 */
SW_API int sw_server_shutdown(sw_server_t *srv);

/**
 * Replaces every worker (as SIGUSR1 to the master/manager): new processes with the same ids,
 * old ones stopped as for shutdown (reload_async decides whether one at a time). Any thread of
 * any server process. Returns 0, SW_EINVAL, SW_ESERVER_STATE (not running) or SW_ENOTSUP (no
 * manager: a single-process BASE server has nobody to start the replacement).
 */
SW_API int sw_server_reload(sw_server_t *srv);

/* ---- ports -------------------------------------------------------------------------------- */

/**
 * Sets one option of this port by name (sw_port_options_t names and the framing names of
 * swoole/protocol.h). A port option set here wins over the server's default for it; setting
 * any framing option gives the port its own framing spec (starting from the server's). Before
 * start only. Returns 0, SW_EINVAL, SW_EOPTION_UNKNOWN (not a port option), SW_EOPTION_VALUE
 * or SW_ESERVER_STATE.
 */
SW_API int sw_port_set_option(sw_port_t *port, const char *name, const char *value);

/** Sets every option of this port from `opts` (checked first; all of them then win over the
 * server's defaults). Before start only. Returns 0, SW_EINVAL, SW_EOPTION_VALUE or
 * SW_ESERVER_STATE. */
SW_API int sw_port_set_options(sw_port_t *port, const sw_port_options_t *opts);

/** The port's effective options (its own where set, else the server's defaults). Returns 0
 * or SW_EINVAL. */
SW_API int sw_port_get_options(const sw_port_t *port, sw_port_options_t *opts);

/** The bound port number (the one picked when 0 was asked), 0 for Unix ports, SW_EINVAL for
 * NULL. Any thread. */
SW_API int sw_port_number(const sw_port_t *port);

/** The socket type, or SW_EINVAL. Any thread. */
SW_API int sw_port_type(const sw_port_t *port);

/** The listening (or datagram) socket shared by the workers, or SW_EINVAL. Any thread. The fd
 * belongs to the server. */
SW_API int sw_port_fd(const sw_port_t *port);

/* ---- connections -------------------------------------------------------------------------- */

/**
 * Queues `len` bytes for `session`. Sends made to one connection while a callback (or a loop
 * iteration) runs are corked: they leave together, in one writev, when it returns (or once
 * 64 KiB are corked). The data is copied. Any thread (see the header comment).
 *
 * Returns 0, SW_EINVAL (NULL srv, NULL data with len > 0, session 0), SW_ESESSION (closed,
 * closing or unknown session; from another thread: the check is made at the call and again on
 * the loop, where a send to a session closed meanwhile is dropped), SW_EOVERFLOW_OUTPUT
 * (queued output + len would pass socket_buffer_size: nothing is queued; a single send larger
 * than the cap always fails; from another thread the loop's last known state is used),
 * SW_ENOT_WORKER (called where no connection can live: the BASE master with a manager),
 * SW_ENOTSUP (BASE: the session belongs to another worker process; forwarding between
 * workers is not available yet), SW_ESERVER_STATE (not running) or SW_ENOMEM. PROCESS worker:
 * the data goes to the master's reactor thread over IPC; SW_EOVERFLOW_OUTPUT also when the
 * worker's IPC queue is at its hard cap; a send to a session that closes meanwhile is
 * dropped there.
 */
SW_API int sw_server_send(sw_server_t *srv, uint64_t session, const void *data, size_t len);

/**
 * Queues `length` bytes of the file at `path` from `offset` (length 0: to the end of the
 * file) behind what is queued for `session`. The file is opened now (so a missing file is
 * reported here) and sent with sendfile(2) from that open file when its turn comes; the bytes
 * are not counted against socket_buffer_size. Any thread. Returns the errors of
 * sw_server_send, and SW_EINVAL (NULL path, offset past the end of the file, offset + length
 * past it), or the negated errno of open/fstat (SW_ENOENT, SW_EACCES...; SW_EISDIR for a
 * directory).
 */
SW_API int sw_server_sendfile(sw_server_t *srv, uint64_t session, const char *path, uint64_t offset,
                              uint64_t length);

/**
 * Sends a datagram from UDP or Unix datagram `port` to `addr`. Not queued: it is one sendto(2)
 * now. Any thread. Returns 0, SW_EINVAL (NULL arguments, a stream port), SW_EAGAIN (the
 * socket buffer is full: the datagram was not sent), SW_EMSGSIZE, or the negated errno of
 * sendto.
 */
SW_API int sw_server_sendto(sw_server_t *srv, sw_port_t *port, const struct sockaddr *addr,
                            socklen_t addrlen, const void *data, size_t len);

/**
 * Writes what is queued for `session` and then `data`, blocking the loop until all of it is
 * written or `timeout_ms` passed (-1: no limit). Loop thread only. BASE: polls the socket.
 * PROCESS/THREAD worker: the reactor thread queues and writes it and answers once the
 * connection's output queue is empty; the worker waits for that answer. Returns 0, the errors
 * of sw_server_send, SW_ETIMEDOUT (part may have been written; the rest stays queued; also
 * when the server shuts down meanwhile), or the socket's error (the connection is closed
 * then); SW_ENOTSUP for another BASE worker's session.
 */
SW_API int sw_server_sendwait(sw_server_t *srv, uint64_t session, const void *data, size_t len,
                              int timeout_ms);

/**
 * Closes `session`: it is invalid when this returns (further calls get SW_ESESSION), reading
 * stops, and the socket is closed once the queued output is written (at most max_wait_time
 * seconds later). With `reset`, queued output is dropped and the connection is reset
 * (SO_LINGER 0: the peer sees RST). on_close runs after the running callback returns, with
 * reactor_id -1. Any thread. Returns 0, SW_EINVAL, SW_ESESSION, SW_ENOT_WORKER, SW_ENOTSUP
 * (another worker's session) or SW_ENOMEM (from another thread).
 */
SW_API int sw_server_close(sw_server_t *srv, uint64_t session, int reset);

/**
 * Stops reading from `session` (messages already read but not delivered wait too) / starts
 * again (waiting messages are delivered first, after the running callback returns). Output
 * keeps flowing. Pausing a paused session or resuming a running one does nothing. Any thread.
 * Returns 0 and the errors of sw_server_close.
 */
SW_API int sw_server_pause(sw_server_t *srv, uint64_t session);
SW_API int sw_server_resume(sw_server_t *srv, uint64_t session);

/** 1 if `session` is open (not closed or closing), else 0. Any thread; a hint from another
 * thread or process (it may close at once). */
SW_API int sw_server_exists(const sw_server_t *srv, uint64_t session);

/** sw_server_message_piece bits: the message is a piece of an HTTP request delivered in pieces
 * (port option http_piece_size, swoole/protocol.h) and more pieces of it follow (MORE), and it
 * is not the request's first piece (CONT). */
#define SW_SERVER_PIECE_MORE 0x1u
#define SW_SERVER_PIECE_CONT 0x2u
/** In on_receive, on its thread: the SW_SERVER_PIECE_* bits of the message being delivered,
 * 0 for a whole message (every message of a port without http_piece_size). Every piece of a
 * request goes to the worker that got its first piece, in every dispatch mode. */
SW_API unsigned sw_server_message_piece(const sw_server_t *srv);

/**
 * Binds `session` to a user id (Swoole's bind: the key of dispatch_mode 5 in PROCESS mode; in
 * BASE mode only recorded and reported by sw_server_connection_info). A session can be bound
 * once: a second bind returns SW_EEXIST. Loop thread of the owning worker. Returns 0,
 * SW_EINVAL (uid 0), SW_ESESSION, SW_EEXIST, SW_ENOT_WORKER, SW_ENOTSUP (another worker's
 * session) or SW_ELOOP_THREAD. PROCESS worker (any thread): the bind is sent to the master's
 * reactor thread, in order with this worker's sends; it returns 0 once sent, SW_ESESSION
 * for a closed session; a second bind is refused there (logged at NOTICE), not reported.
 */
SW_API int sw_server_bind(sw_server_t *srv, uint64_t session, uint64_t uid);

/** What sw_server_connection_info reports. Times are Unix seconds. */
typedef struct sw_connection_info_s {
    uint64_t session;
    uint64_t uid;    /* 0 until sw_server_bind */
    int worker_id;   /* the owning worker */
    int reactor_id;  /* BASE: the worker id */
    int fd;          /* the socket in the owning process */
    sw_port_t *port; /* the port it was accepted on */
    int server_port; /* that port's number (0 for Unix) */
    sw_sock_type_t socket_type;
    struct sockaddr_storage remote_addr; /* the peer (empty for Unix stream peers) */
    socklen_t remote_addr_len;
    char remote_ip[46]; /* printable peer address ("" for Unix) */
    int remote_port;
    int64_t connect_time;
    int64_t last_recv_time;   /* last byte received (connect_time before the first) */
    size_t send_queued_bytes; /* output queued in memory (file data of sendfile not counted) */
    size_t recv_queued_bytes; /* input read but not yet delivered (an incomplete message) */
    bool paused;
} sw_connection_info_t;

/** Fills `info` for `session`. Loop thread of the owning worker (PROCESS/THREAD: of any
 * worker; the reactor thread owning the connection answers while the worker waits). Returns
 * 0, SW_EINVAL, SW_ESESSION, SW_ENOT_WORKER, SW_ENOTSUP (BASE: another worker's session),
 * SW_ETIMEDOUT (PROCESS/THREAD: no answer) or SW_ELOOP_THREAD. */
SW_API int sw_server_connection_info(sw_server_t *srv, uint64_t session,
                                     sw_connection_info_t *info);

/**
 * Iterates the open sessions of the whole server (every worker): fills up to `max` ids into
 * `out` and returns how many (0: the end). `*cursor` is 0 for the first call and carries the
 * position between calls. Order is unspecified; sessions opened or closed during an iteration
 * may or may not be listed. Any thread of any server process while it runs. Returns the count,
 * SW_EINVAL (NULL argument, max 0) or SW_ESERVER_STATE (not running).
 */
SW_API int sw_server_connections(const sw_server_t *srv, uint64_t *cursor, uint64_t *out,
                                 size_t max);

/**
 * Finds the calling worker's connections that received nothing for heartbeat_idle_time
 * seconds, stores up to `max` of their ids in `out` (may be NULL with max 0) and, when
 * `close_them`, closes them (as the heartbeat does: on_close with the worker's reactor id).
 * Returns how many were idle, SW_EINVAL (no idle time configured), SW_ENOT_WORKER or
 * SW_ELOOP_THREAD. PROCESS/THREAD worker: every reactor thread scans the connections fed to
 * this worker (all of them in dispatch modes 1 and 3) while the worker waits; SW_ETIMEDOUT
 * when one does not answer.
 */
SW_API int sw_server_heartbeat(sw_server_t *srv, bool close_them, uint64_t *out, size_t max);

/** Counters of the server (shared by every process). */
typedef struct sw_server_stats_s {
    int64_t start_time;      /* Unix seconds */
    uint64_t connection_num; /* open connections now, all workers */
    uint64_t accept_count;   /* connections accepted */
    uint64_t close_count;    /* connections closed */
    uint64_t abort_count;    /* connections refused at accept (max_conn) */
    uint64_t request_count;  /* messages and datagrams delivered to callbacks */
    uint64_t response_count; /* successful send / sendfile / sendto calls */
    uint64_t total_recv_bytes;
    uint64_t total_send_bytes;
    int worker_num;
    int task_worker_num;
    /* the calling worker's (0 outside workers) */
    uint64_t worker_request_count;
    uint64_t worker_response_count;
    /* Connections this worker gets the events of. PROCESS/THREAD: counted for dispatch modes
     * 2, 4, 5 and a dispatch_func's choice at connect (a mode 5 bind moves it); always 0 in
     * modes 1 and 3, where a connection is not tied to one worker. */
    uint64_t worker_connection_num;
    /* Task workers (0 without them): tasks sent (task, taskwait, taskwait_multi), tasks whose
     * on_task returned, tasking_num = sent - done (queued or running; a task lost with a
     * killed task worker stays counted), task workers running and not inside on_task. */
    uint64_t task_count;
    uint64_t task_done_count;
    uint64_t tasking_num;
    int task_idle_worker_num;
} sw_server_stats_t;

/** Fills `stats`. Any thread of any server process while it runs. Returns 0, SW_EINVAL or
 * SW_ESERVER_STATE (not running). */
SW_API int sw_server_stats(const sw_server_t *srv, sw_server_stats_t *stats);

/* ---- the process's loop and timers ------------------------------------------------------- */

/**
 * The loop of the calling process's server role: the worker's loop in a worker (also the
 * single process of a one-worker BASE server), the master's loop in the master (THREAD mode:
 * the calling worker thread's loop on a worker thread, the master's on any other thread). Add
 * your own fds and timers to it from its thread; they do not keep a stopping worker alive.
 * NULL before start, after shutdown, for NULL. Any thread (the loop itself belongs to its
 * thread).
 */
SW_API sw_loop_t *sw_server_loop(const sw_server_t *srv);

/** sw_timer_after / sw_timer_tick / sw_timer_clear on sw_server_loop(). Loop thread only.
 * Return the codes of those calls, SW_ESERVER_STATE (no loop) or SW_ELOOP_THREAD. */
SW_API int sw_server_after(sw_server_t *srv, uint64_t ms, sw_timer_cb cb, void *arg, uint64_t *id);
SW_API int sw_server_tick(sw_server_t *srv, uint64_t ms, sw_timer_cb cb, void *arg, uint64_t *id);
SW_API int sw_server_clear_timer(sw_server_t *srv, uint64_t id);

/* ---- who am I ----------------------------------------------------------------------------- */

/** The master's pid (the process that called sw_server_start), 0 before start. Any thread. */
SW_API pid_t sw_server_master_pid(const sw_server_t *srv);
/** The manager's pid (the master itself in BASE mode), 0 when there is none (THREAD mode,
 * a single-process BASE server). Any thread. */
SW_API pid_t sw_server_manager_pid(const sw_server_t *srv);
/** The calling process's worker id (0..worker_num-1), -1 outside workers. Any thread (THREAD
 * mode: the calling worker thread's id, -1 on every other thread). */
SW_API int sw_server_worker_id(const sw_server_t *srv);
/** The calling worker's pid, 0 outside workers (THREAD mode: the process's pid on a worker
 * thread). */
SW_API pid_t sw_server_worker_pid(const sw_server_t *srv);
/** The current pid of worker `worker_id` (0 while it is being restarted): event workers, task
 * workers and user processes (ids as in "tasks and messages"). SW_EWORKER_ID for a bad id,
 * SW_ESERVER_STATE before start. Any thread of any server process. */
SW_API pid_t sw_server_get_worker_pid(const sw_server_t *srv, int worker_id);

/* ---- tasks and messages -------------------------------------------------------------------- */

/*
 * Task workers (task_worker_num > 0) are processes of the manager, like the event workers,
 * with ids worker_num .. worker_num + task_worker_num - 1 (dst_worker below counts task
 * workers from 0). Each runs a loop (timers, sw_server_after, work in it), on_worker_start /
 * on_worker_stop with its id, and on_task for every task. An event worker sends tasks:
 *
 *   sw_server_task      async; the result comes to on_finish in the sending worker;
 *   sw_server_taskwait  blocks the sending worker until the result or the timeout;
 *   sw_server_taskwait_multi  several tasks, one timeout.
 *
 * Contract of on_task: it answers by calling sw_server_task_finish(srv, data, len) (at most
 * once, before it returns); a task whose on_task does not call it has no result (its
 * on_finish never runs; a taskwait on it times out). Task ids are 64-bit, made by the sending
 * process (its pid in the high half, a counter in the low half): a result carries the id, and
 * a result for a task the process is not waiting for any more (a taskwait that timed out, a
 * task of a previous process with the same worker id) is dropped, never handed to another
 * wait or to on_finish.
 *
 * Payloads (task data and results) larger than 64 KiB (mode 1) or than the message queue's
 * message size (modes 2/3) travel in a file of task_tmpdir, named swoole.task.<master
 * pid>.XXXXXX; the receiver reads it and removes it before its callback runs, and the manager
 * removes the server's files left at shutdown. Task and message payloads are limited to
 * 64 MiB.
 *
 * Messages (sw_server_send_message) go between any two of: event workers, task workers, user
 * processes (sw_server_add_process), over unix sockets in every task_ipc_mode, any size up to
 * 64 MiB; they arrive in on_pipe_message of the destination, in the order each sender sent
 * them.
 */

/** Sends a task (copied) to task worker `dst_worker` (0..task_worker_num-1) or, with -1, to
 * an idle one (round-robin when none is idle; mode 3: whichever is free first). Stores its id
 * in `*task_id` (may be NULL). Event worker, its loop thread. Returns 0, SW_EINVAL (NULL srv,
 * data NULL with len > 0, dst out of range), SW_ENOT_WORKER (not an event worker: the master,
 * a task worker, a user process), SW_ENOTSUP (no task workers), SW_EMSGSIZE (len > 64 MiB),
 * SW_EAGAIN (modes 2/3: the queue is full), SW_ETASK_TMPFILE (the temporary file could not
 * be written), SW_ENOMEM, or the error of the channel. */
SW_API int sw_server_task(sw_server_t *srv, const void *data, size_t len, int dst_worker,
                          uint64_t *task_id);

/** In on_task: sends `len` bytes as the current task's result to the worker that sent it
 * (on_finish or its taskwait). Returns 0, SW_EINVAL (NULL srv, data NULL with len > 0),
 * SW_ENOT_WORKER (not a task worker, or not inside on_task), SW_EALREADY (already answered),
 * SW_EMSGSIZE, SW_ETASK_TMPFILE or the error of the channel. */
SW_API int sw_server_task_finish(sw_server_t *srv, const void *data, size_t len);

/** Sends a task and blocks the calling worker until its result arrives or `timeout_ms`
 * passes (< 0: 500 ms, Swoole's default). The result is stored in `*result` (NUL-terminated
 * for convenience, owned by the caller: free it with sw_server_task_free) and its length in
 * `*result_len` (may be NULL). Returns 0, SW_ETIMEDOUT (no result in time: `*result` NULL; the
 * late result is dropped when it arrives), or the errors of sw_server_task (SW_EINVAL also
 * for result NULL). Other messages of the worker wait until it returns to its loop. */
SW_API int sw_server_taskwait(sw_server_t *srv, const void *data, size_t len, int timeout_ms,
                              int dst_worker, void **result, size_t *result_len);

/** One task of sw_server_taskwait_multi: `data`/`len` in; `status` (0: result here,
 * SW_ETIMEDOUT, or the error of sending it), `result`/`result_len` out (free result with
 * sw_server_task_free). */
typedef struct sw_task_wait_s {
    const void *data;
    size_t len;
    int status;
    void *result;
    size_t result_len;
} sw_task_wait_t;

/** Sends `n` tasks (1..1024, each to any task worker) and waits up to `timeout_ms` in all
 * (< 0: 500 ms) for their results. Returns the number of results received (0..n) or, before
 * anything was sent, SW_EINVAL / SW_ENOT_WORKER / SW_ENOTSUP. */
SW_API int sw_server_taskwait_multi(sw_server_t *srv, sw_task_wait_t *tasks, size_t n,
                                    int timeout_ms);

/** Frees a result of sw_server_taskwait / taskwait_multi. NULL is ignored. */
SW_API void sw_server_task_free(void *result);

/** Sends `len` bytes (copied) to worker `dst_worker_id` (any id: event worker, task worker,
 * user process; not the caller itself), whose on_pipe_message receives them with the
 * caller's id. From an event worker, task worker or user process, on its loop thread; never
 * blocks (queued while the socket is full: a user process must run its loop, or return, for
 * the rest to leave). Returns 0, SW_EINVAL (NULL srv, data NULL with len > 0, len 0), SW_EWORKER_ID
 * (no such worker, or itself), SW_ENOT_WORKER (the master or manager, a single-process server), SW_ENOTSUP
 * (the manager could not make the channels at start: logged), SW_EMSGSIZE (len > 64
 * MiB), SW_EAGAIN (64 MiB already queued towards it), SW_ENOMEM or the error of the channel. */
SW_API int sw_server_send_message(sw_server_t *srv, int dst_worker_id, const void *data,
                                  size_t len);

/** The body of a user process; its return value is the exit code. */
typedef int (*sw_server_process_fn)(sw_server_t *srv, int worker_id, void *arg);

/**
 * Adds a user process (before start): the manager forks it after the workers, restarts it
 * (same id) whenever it ends while the server runs, and stops it with the server (SIGTERM,
 * SIGKILL after max_wait_time); it is not reloaded. Its id (stored in `*worker_id`, may be
 * NULL) follows the task workers'. In the process, sw_server_loop(srv) is a loop that
 * receives its messages (on_pipe_message) and that stops on SIGTERM: a body that runs it
 * (sw_loop_run) returns when the server stops. Returns 0, SW_EINVAL (NULL srv or fn),
 * SW_ESERVER_STATE (started), SW_ENOTSUP (THREAD mode), SW_ENOMEM.
 */
SW_API int sw_server_add_process(sw_server_t *srv, sw_server_process_fn fn, void *arg,
                                 int *worker_id);

SW_EXTERN_C_END

#endif
