/*
 * The layout of sw_pool_t (internal), shared by pool.c (master side) and pool_worker.c (the
 * worker side).
 *
 * Channels, all made at create time so that every worker, respawned ones included, inherits
 * them:
 *   QUEUE          one System V queue; jobs have type 1; every worker takes type 1.
 *   SOCKET         socks[i] per worker: [0] the master's end (non-blocking), [1] the worker's.
 *   SOCKET_SHARED  socks[0] only: every worker reads the same end, so the kernel hands each
 *                  datagram to one of them.
 * Replies (socket channels) travel the other way on the same socketpair, prefixed with the
 * worker id (reply_hdr_t) so that the shared channel can tell workers apart too.
 */
#ifndef SW_PROCESS_POOL_INT_H
#define SW_PROCESS_POOL_INT_H

#include <stdint.h>
#include <sys/types.h>

#include "process/msgqueue.h"
#include "process/supervisor.h"
#include "swoole/loop.h"
#include "swoole/process.h"

#define POOL_CREATED  0
#define POOL_RUNNING  1
#define POOL_STOPPING 2
#define POOL_STOPPED  3 /* after on_stopped, or a failed start */

#define POOL_JOB_TYPE 1L

typedef struct {
    int32_t worker_id;
} reply_hdr_t;

struct sw_pool_s {
    sw_pool_options_t o;
    sw_pool_handlers_t h;
    void *arg;
    void *data;
    int state;
    int worker_id; /* -1 in the master */
    sw_loop_t *loop;
    sw_sup_t *sup;
    /* channels */
    int has_queue;
    sw_msgqueue_t queue;
    int nsocks;
    int (*socks)[2];
    /* master side */
    sw_io_t *ios;
    int ios_on;
    unsigned rr;
    char *rbuf;
    sw_signal_t sig[3]; /* SIGTERM, SIGINT, SIGUSR1 when handle_signals */
    int sigs_on;
    /* worker side: set while the worker's main runs, so that a destroy inside it is deferred */
    int in_worker_main;
    int destroy_pending;
};

/* The slot function of every worker (pool_worker.c). */
int sw__pool_worker_main(sw_sup_t *sup, int slot, void *arg);

/* Frees the pool's memory and closes what this process still holds of the channels; an owned
 * queue is removed only by the master that made it. */
void sw__pool_release(sw_pool_t *pool);

#endif
