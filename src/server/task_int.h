/*
 * Task workers, worker messages and user processes (internal to src/server).
 *
 * Members. Every process the manager forks is a "member" with an id: event workers
 * 0..nw-1, task workers nw..nw+nt-1, user processes nw+nt..np-1 (the supervisor's slot ids
 * are the same numbers: the manager adds the slots in this order).
 *
 * Channels (src/ipc, made by the manager before it forks anything, so every member and every
 * respawned member inherits them):
 *   inbox[m]    one per member: side 1 is read by member m only (its loop endpoint); every
 *               other member writes side 0 with its own sender id (its member id). Carries
 *               TASK (mode 1, to a task worker), FINISH of async tasks (to an event worker) and
 *               PIPE_MESSAGE (to anyone).
 *   waitbox[w]  one per event worker: FINISH of taskwait tasks only, read by a blocking
 *               endpoint inside sw_server_taskwait*, so that waiting never runs other
 *               callbacks and a late result can only meet a taskwait, which drops it by id.
 * Modes 2/3: tasks go through one System V queue (mode 2: type = task worker index + 1;
 * mode 3: type 1, taken by whichever task worker asks first); results and messages still use
 * the channels. A task worker reads the queue on a thread of its own that hands one task at a
 * time to the loop and waits until it has run (so a busy task worker takes nothing more).
 *
 * Shared memory (made by the manager): per task worker a busy flag (idle-first choice) and
 * its pid; reset by the manager when the task worker dies.
 */
#ifndef SW_SERVER_TASK_INT_H
#define SW_SERVER_TASK_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ipc/ipc.h"
#include "process/msgqueue.h"
#include "process/supervisor.h"
#include "server/server_int.h"

#define SW__TASK_MAX_PAYLOAD     ((size_t)64 << 20) /* tasks, results and messages */
#define SW__TASK_INLINE_MAX      ((size_t)64 << 10) /* mode 1: larger payloads go by file */
#define SW__TASK_WAIT_DEFAULT_MS 500
#define SW__TASK_MULTI_MAX       1024

/* ext flags of TASK and FINISH messages */
#define SW__TF_TMPFILE 0x1 /* the payload is the path of a file holding the data */
#define SW__TF_WAIT    0x2 /* a taskwait: the result goes to the sender's waitbox */

/* member kinds */
#define SW__M_NONE   0
#define SW__M_WORKER 1
#define SW__M_TASK   2
#define SW__M_USER   3

#define SW__GROUP_WORKER 0
#define SW__GROUP_TASK   1
#define SW__GROUP_USER   2

typedef struct sw__task_shm_s {
    _Atomic uint32_t rr;   /* round-robin start of the idle-first choice */
    _Atomic uint32_t tags; /* THREAD: the last member tag handed out (task_thread.c) */
    /* sw_server_stats: tasks sent by event workers, tasks whose on_task returned */
    _Atomic uint64_t sent;
    _Atomic uint64_t done;
    struct {
        _Atomic int32_t pid;
        _Atomic int32_t busy; /* inside on_task */
    } tw[];
} sw__task_shm_t;

typedef struct sw__uproc_s {
    sw_server_process_fn fn;
    void *arg;
} sw__uproc_t;

/* One slot of a running taskwait(_multi). */
typedef struct sw__wait_s {
    uint64_t id;
    sw_task_wait_t *t;
    bool done;
} sw__wait_t;

/* A task taken from the message queue, handed to the loop. */
typedef struct sw__mq_item_s {
    struct sw__task_s *tk;
    long type;
    size_t len;
    char buf[]; /* sw_ipc_header_t + payload */
} sw__mq_item_t;

typedef struct sw__task_s {
    sw_server_t *srv;
    /* registered before start */
    sw__uproc_t *uprocs;
    int nuprocs;
    /* set up by the manager */
    bool ready;
    int nw, nt, nu, np;
    int mode; /* task_ipc_mode */
    sw__task_shm_t *shm;
    size_t shm_size;
    sw_ipc_channel_t **inbox;   /* [np] */
    sw_ipc_channel_t **waitbox; /* [nw] */
    sw_msgqueue_t mq;
    bool mq_open;
    size_t inline_max;
    char tmpdir[256];
    char tmp_prefix[64]; /* "swoole.task.<master pid>." */
    pid_t manager_pid;
    /* in a member process */
    int self;
    int kind;
    sw_loop_t *loop;
    pid_t pid;
    sw_ipc_endpoint_t *in_ep;    /* my inbox, receiving */
    sw_ipc_endpoint_t *wait_ep;  /* my waitbox (event workers), blocking */
    sw_ipc_endpoint_t **out_ep;  /* [np] to inbox[i], made when first used */
    sw_ipc_endpoint_t **wout_ep; /* [nw] to waitbox[i] (task workers) */
    uint32_t next_seq;
    sw__wait_t *waits; /* the running taskwait's slots, or NULL */
    size_t nwaits;
    /* task worker: the running task */
    bool in_task;
    bool answered;
    uint64_t cur_id;
    int cur_src;
    unsigned cur_flags;
    unsigned handled;
    bool stopping;
    /* task worker, modes 2/3: the queue reader thread */
    pthread_t mq_thread;
    bool mq_thread_on;
    pthread_mutex_t mq_mu;
    pthread_cond_t mq_cv;
    bool mq_busy; /* a task is with the loop */
    bool mq_stop;
    sw__mq_item_t *mq_item;
    /* THREAD mode (task_thread.c): members are threads of the master process, each with its
     * own copy of this struct (the calling thread's: sw__task_self); channels are of the
     * memory kind and nothing is closed per member. */
    bool threaded;
    struct sw__tthread_s *tthreads; /* [nt], in srv->task only */
} sw__task_t;

/* ---- task.c ---------------------------------------------------------------------------- */

/* sw_server_start: checks and creates task_tmpdir when task workers are configured; refuses
 * THREAD mode with task workers or user processes. Returns 0 or the error start returns. */
int sw__task_check(sw_server_t *srv);
/* True when the server needs a manager for tasks or user processes (BASE single mode). */
bool sw__task_need_manager(const sw_server_t *srv);
/* Manager, after the event worker slots were added: shared memory, channels, queue, the task
 * worker and user process slots. Returns 0 or an error (nothing is left then). */
int sw__task_manager_setup(sw_server_t *srv, sw_sup_t *sup);
/* Manager, after every member ended: closes everything, removes the server's temp files. */
void sw__task_manager_cleanup(sw_server_t *srv);
/* Manager: a member of id >= worker_num was started / ended. */
void sw__task_on_spawn(sw_server_t *srv, int slot, pid_t pid);
void sw__task_on_exit(sw_server_t *srv, int slot, const sw_process_status_t *st, unsigned flags);
/* Event worker, after its loop exists and before on_worker_start / after on_worker_stop. */
int sw__task_worker_attach(sw_server_t *srv, sw__worker_t *w);
void sw__task_worker_detach(sw_server_t *srv, sw__worker_t *w);
/* The shared pids/busy flags (made at start by sw__task_check, else by the manager). */
int sw__task_shm_make(sw_server_t *srv, sw__task_t *tk);
/* sw_server_get_worker_pid for ids past the event workers. */
pid_t sw__task_worker_pid(const sw_server_t *srv, int worker_id);
/* Frees what sw_server_add_process registered and the shared state (sw_server_destroy). */
void sw__task_free(sw_server_t *srv);
/* PROCESS master: SIGUSR2 goes to the manager; THREAD: reloads the task worker threads. */
void sw__task_master_signal(sw_server_t *srv, int signum);

/* Shared by task*.c / message.c. */
int sw__task_member_attach(sw__task_t *tk, int self, int kind, sw_loop_t *loop);
void sw__task_member_detach(sw__task_t *tk, int flush_ms);
sw_ipc_endpoint_t *sw__task_out(sw__task_t *tk, int dst, bool waitbox, int *err);
/* Sends `data` on `ep` with header `h`, through a temp file when above tk->inline_max. */
int sw__task_send_payload(sw__task_t *tk, sw_ipc_endpoint_t *ep, sw_ipc_header_t *h,
                          const void *data, size_t len);
/* Loads a payload: a temp file's content (the file is removed) or the bytes themselves.
 * *out is malloc'ed (NUL-terminated) when `copy` or for a file; else it points at data. */
int sw__task_load(sw__task_t *tk, unsigned flags, const void *data, size_t len, char **out,
                  size_t *out_len, bool copy);
/* Removes the temp file a dropped message names (if it is one of ours). */
void sw__task_drop_payload(sw__task_t *tk, unsigned flags, const void *data, size_t len);

/* ---- base_fwd.c --------------------------------------------------------------------------- */

/* BASE mode's forward op: a session op for another worker process, over its inbox. */
int sw__base_forward(sw_server_t *srv, int owner, uint64_t sid, int op, const void *data,
                     size_t len);
/* Owner side: runs a forwarded op (an SW_IPC_SEND inbox message) on this worker's reactor. */
void sw__base_fwd_run(sw_server_t *srv, const sw_ipc_header_t *h, const void *data, size_t len);

/* ---- task_thread.c ------------------------------------------------------------------------- */

/* The calling member's task state: the calling thread's member copy in THREAD mode (or
 * srv->task, not a member, on other threads); srv->task in the other modes. */
sw__task_t *sw__task_self(const sw_server_t *srv);
/* THREAD master, before the event worker threads start: memory channels for every member,
 * the task worker threads. Returns 0 or an error (start fails). */
int sw__task_threads_start(sw_server_t *srv);
/* THREAD master: ask every task worker thread to stop; true when all have ended (joined). */
void sw__task_threads_stop(sw_server_t *srv);
bool sw__task_threads_done(sw_server_t *srv);
/* THREAD master: every task worker thread starts a new incarnation (reload). */
void sw__task_threads_reload(sw_server_t *srv);
/* THREAD master: stop and join every task worker thread, then free channels and state. */
void sw__task_threads_free(sw_server_t *srv);
/* THREAD event worker thread: its member copy (attach) and its end (detach). */
int sw__task_thread_attach(sw_server_t *srv, sw__worker_t *w);
void sw__task_thread_detach(sw_server_t *srv);

/* ---- task_worker.c ----------------------------------------------------------------------- */

int sw__task_worker_slot(sw_sup_t *sup, int slot, void *arg);
int sw__task_user_slot(sw_sup_t *sup, int slot, void *arg);
/* A task arrived at this task worker (inbox or queue). */
void sw__task_run(sw__task_t *tk, const sw_ipc_header_t *h, const void *data, size_t len);

#endif
