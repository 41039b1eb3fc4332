/*
 * System V message queues (internal), for sw_process_t's queue, the pool's job queue and the
 * server's task_ipc_mode 2/3.
 *
 * A message carries a type (> 0): push gives it, pop asks for one type (> 0), the lowest
 * type up to |type| (< 0), or any (0), as msgrcv(2) does. A queue is owned (made new, removed
 * by close in the process that made it: children inherit the id but never remove it) or
 * shared (opened or made by key, never removed by the library).
 */
#ifndef SW_PROCESS_MSGQUEUE_H
#define SW_PROCESS_MSGQUEUE_H

#include <stddef.h>
#include <sys/types.h>

typedef struct sw_msgqueue_s {
    int id;        /* msqid, -1 when closed */
    int owned;     /* remove on close (in the owner process) */
    pid_t owner;   /* the process that created an owned queue */
    size_t msgmax; /* largest message the system accepts */
} sw_msgqueue_t;

/* Opens a queue. `key` 0 is IPC_PRIVATE. owned: IPC_CREAT|IPC_EXCL (SW_EEXIST when the key is
 * taken); shared: IPC_CREAT. Permissions 0600. Returns 0, SW_EINVAL (shared with key 0) or the
 * negated errno of msgget (fault point "msgget"). */
int sw__msgqueue_open(sw_msgqueue_t *q, int key, int owned);

/* Sends a message of `type` (> 0). Returns 0, SW_EMSGSIZE (len > msgmax), SW_EAGAIN (full and
 * nowait), SW_EINTR, SW_EIDRM, SW_ENOMEM or another negated errno. */
int sw__msgqueue_push(const sw_msgqueue_t *q, long type, const void *data, size_t len, int nowait);

/* Receives a message (type as in msgrcv). Returns its length, SW_E2BIG (longer than `size`: it
 * stays queued), SW_EAGAIN (none and nowait), SW_EINTR, SW_EIDRM or another negated errno.
 * `type_out` (may be NULL) receives the message's type. */
ssize_t sw__msgqueue_pop(const sw_msgqueue_t *q, long type, void *buf, size_t size, int nowait,
                         long *type_out);

/* Messages and bytes queued now. Returns 0 or the negated errno of msgctl. */
int sw__msgqueue_stats(const sw_msgqueue_t *q, size_t *messages, size_t *bytes);

/* Forgets the queue; an owned queue is removed (IPC_RMID) when the caller is its owner. */
void sw__msgqueue_close(sw_msgqueue_t *q);

#endif
