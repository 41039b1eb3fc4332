/*
 * What PROCESS and THREAD mode share (internal to src/server): the master side (accept thread,
 * reactor threads whose sink feeds the ipc bus) lives in process.c; the worker side (a loop
 * with one endpoint per reactor thread that runs the user's callbacks, and the forward op that
 * sends a worker's requests to the reactor thread owning the session) in proc_worker.c; what
 * only THREAD mode has (worker threads started, stopped, reloaded and recycled by the master)
 * in thread.c.
 *
 *   PROCESS  channels SW_IPC_SOCKET, created before the manager is forked; the manager
 *            (manager.c) forks the workers, each runs sw__proc_worker_process_main.
 *   THREAD   channels SW_IPC_MEMORY; no manager: the master's main thread starts worker_num
 *            worker threads (thread.c), each runs sw__proc_worker_run.
 */
#ifndef SW_SERVER_PROC_INT_H
#define SW_SERVER_PROC_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "ipc/ipc.h"
#include "server/server_int.h"

/* worker -> reactor: sw_server_bind (payload: the uid, 8 bytes). */
#define SW__IPC_BIND (SW_IPC_TYPE_USER + 1)
/* worker -> reactor: a request with a reply (proc_query.c); reactor -> worker: its reply, on
 * the worker's reply channel. */
#define SW__IPC_QUERY (SW_IPC_TYPE_USER + 2)
#define SW__IPC_REPLY (SW_IPC_TYPE_USER + 3)
/* worker -> reactor: SW__OP_FRAMING (payload: the mode byte, then bytes to send first). */
#define SW__IPC_FRAMING (SW_IPC_TYPE_USER + 4)
/* worker -> reactor: on_close of a CLOSE with ext bit 1 (the peer's end of stream) has run;
 * the socket may close once its output is written (reactor.c, SW__C_EOF). Sent on the same
 * path as the worker's sends, so after every reply it made before. */
#define SW__IPC_CLOSE_ACK (SW_IPC_TYPE_USER + 5)

typedef struct sw__rthread_s sw__rthread_t;
typedef struct sw__tworker_s sw__tworker_t;

typedef struct sw__proc_s {
    bool threads; /* THREAD mode: workers are threads of the master */
    int nw, nr;
    sw_ipc_channel_t **ch;  /* [nw * nr], index w * nr + r */
    sw_ipc_channel_t **rch; /* [nw]: replies of the reactor threads to worker w */
    size_t max_message;
    pid_t manager; /* PROCESS */
    /* master */
    sw__rthread_t *rt;
    int nstarted;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int nready;
    _Atomic int nfinished;
    sw_io_t *acc;
    int nacc;
    uint64_t accept_retry_timer;
    uint64_t watch_timer;
    int failed; /* the manager ended on its own: the error sw_server_start returns */
    uint64_t wait_timer;
    uint64_t wait_deadline;
    bool manager_gone; /* PROCESS: the manager was reaped; THREAD: every worker thread ended */
    bool reactors_stopping;
    bool wait_warned;
    /* THREAD: the worker threads (thread.c) */
    sw__tworker_t *tw; /* [nw] */
    int reload_next;   /* rolling reload: the next worker id to replace, or -1 */
} sw__proc_t;

struct sw__rthread_s {
    sw__proc_t *pr;
    sw_server_t *srv;
    int id;
    pthread_t th;
    sw_loop_t *loop;
    sw__reactor_t *r;
    sw_ipc_endpoint_t **ep;       /* [nw] */
    sw_ipc_endpoint_t **rep;      /* [nw]: send-only, side 0 of rch[w] */
    struct sw__waiter_s *waiters; /* sendwait requests waiting for their output */
    sw_io_t *dio;                 /* [nports]: watchers of the datagram ports this thread reads */
    char *dbuf;                   /* their receive buffer */
    uint64_t wait_timer;
    unsigned rr;
    int rc;
    size_t slack;        /* see send_paused (process.c) */
    bool in_batch;       /* a bracket is open for a batch of worker requests (process.c) */
    bool leave_deferred; /* THREAD: its end is deferred to the end of the loop iteration */
};

/* proc_worker.c */
/* Runs worker `worker_id` on the calling thread (loop, endpoints on side 1 of its channels,
 * on_worker_start, the loop until it stops, on_worker_stop, flush). `publish` (THREAD) is
 * told the worker once its loop exists and again with NULL before the loop is destroyed.
 * Returns 0 or a negative code. */
int sw__proc_worker_run(sw_server_t *srv, int worker_id,
                        void (*publish)(void *arg, sw__worker_t *w), void *arg);
/* PROCESS worker process body (after the manager's fork); returns its exit code. */
int sw__proc_worker_process_main(sw_server_t *srv, int worker_id);
/* Asks worker w to stop (its loop's thread). */
void sw__proc_worker_stop(sw_server_t *srv, sw__worker_t *w, const char *why);
int sw__proc_forward(sw_server_t *srv, int owner, uint64_t sid, int op, const void *data,
                     size_t len);
/* Worker, its loop thread: a request to reactor thread r. PROCESS: sent on the worker's
 * channel (and written out at once with flush_now). THREAD: posted to the reactor thread's
 * loop (sw_loop_post), so that it is ordered with what other threads of the process post
 * there (their sends, closes...). Returns 0 or a negative code (SW_EOVERFLOW_OUTPUT: the
 * channel's queue is at its hard cap). */
int sw__proc_to_reactor(sw__worker_t *w, int r, const sw_ipc_header_t *h, const struct iovec *iov,
                        int iovcnt, bool flush_now);

/* proc_query.c */
/* Reactor thread: a QUERY message from a worker. */
void sw__query_serve(sw__rthread_t *rt, const sw_ipc_header_t *h, const void *data, size_t len);
/* Reactor thread, at its end: frees pending sendwait requests. */
void sw__query_reactor_free(sw__rthread_t *rt);
/* Worker: on_message of its reply endpoint (arg: the sw__worker_t). */
void sw__query_on_reply(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *h, const void *data,
                        size_t len, void *arg);

/* proc_dgram.c */
/* Reactor thread: starts reading the datagram ports it owns (index % reactor_num). */
int sw__dgram_reactor_start(sw__rthread_t *rt);
void sw__dgram_reactor_stop(sw__rthread_t *rt);
void sw__dgram_reactor_free(sw__rthread_t *rt);
/* Worker: an SW_IPC_DGRAM message -> on_packet. */
void sw__dgram_deliver(sw__worker_t *w, const sw_ipc_header_t *h, const void *data, size_t len);

/* process.c */
int sw__proc_start(sw_server_t *srv);
/* Reactor thread: a worker's request (as if it had come over the worker's channel). */
void sw__proc_reactor_msg(sw__rthread_t *rt, const sw_ipc_header_t *h, const void *data,
                          size_t len);
/* The same for a request posted to the reactor thread's loop (THREAD): the requests of one
 * loop iteration share one dispatch bracket, so their sends leave together. */
void sw__proc_reactor_post(sw__rthread_t *rt, const sw_ipc_header_t *h, const void *data,
                           size_t len);

/* thread.c (master main thread unless said otherwise) */
/* Starts every worker thread. */
int sw__thread_workers_start(sw_server_t *srv);
/* Asks every worker thread to stop for good (shutdown). */
void sw__thread_workers_stop(sw_server_t *srv);
/* True once every worker thread has ended and was joined. */
bool sw__thread_workers_done(sw_server_t *srv);
/* Stops and joins every worker thread, blocking (failed start, last resort). */
void sw__thread_workers_join(sw_server_t *srv);
/* Replaces every worker thread (reload_async: all at once, else one at a time). */
int sw__thread_reload(sw_server_t *srv);
void sw__thread_workers_free(sw_server_t *srv);

#endif
