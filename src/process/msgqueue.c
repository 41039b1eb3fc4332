/*
 * System V message queues. msgsnd/msgrcv take a buffer that starts with the message type (a
 * long) followed by the text, so each call copies the payload once into such a buffer: on the
 * stack up to STACK_MSG bytes, on the heap beyond.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "process/msgqueue.h"
#include "swoole/error.h"

#define STACK_MSG      8192
#define DEFAULT_MSGMAX 8192

typedef struct {
    long type;
    char text[];
} msgbuf_t;

/* The system's largest message. IPC_INFO is Linux's way to ask; /proc is the fallback. */
static size_t system_msgmax(void)
{
#ifdef IPC_INFO
    struct msginfo info;
    if (msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)&info) >= 0 && info.msgmax > 0) {
        return (size_t)info.msgmax;
    }
#endif
    FILE *f = fopen("/proc/sys/kernel/msgmax", "re");
    if (f) {
        unsigned long v = 0;
        int ok = fscanf(f, "%lu", &v) == 1;
        fclose(f);
        if (ok && v > 0) {
            return (size_t)v;
        }
    }
    return DEFAULT_MSGMAX;
}

int sw__msgqueue_open(sw_msgqueue_t *q, int key, int owned)
{
    q->id = -1;
    q->owned = 0;
    q->owner = 0;
    q->msgmax = 0;
    if (!owned && key == 0) {
        return SW_EINVAL;
    }
    int r = SW_FAULT("msgget", SW_ENOSPC);
    if (r < 0) {
        return r;
    }
    int flags = IPC_CREAT | 0600 | (owned ? IPC_EXCL : 0);
    int id = msgget(key == 0 ? IPC_PRIVATE : (key_t)key, flags);
    if (id < 0) {
        return -errno;
    }
    q->id = id;
    q->owned = owned;
    q->owner = getpid();
    q->msgmax = system_msgmax();
    return 0;
}

int sw__msgqueue_push(const sw_msgqueue_t *q, long type, const void *data, size_t len, int nowait)
{
    if (len > q->msgmax) {
        return SW_EMSGSIZE;
    }
    union {
        msgbuf_t m;
        char bytes[sizeof(long) + STACK_MSG];
    } stack;
    msgbuf_t *m = &stack.m;
    if (len > STACK_MSG) {
        m = sw__malloc(sizeof(msgbuf_t) + len);
        if (!m) {
            return SW_ENOMEM;
        }
    }
    m->type = type;
    if (len > 0) {
        memcpy(m->text, data, len);
    }
    int r = msgsnd(q->id, m, len, nowait ? IPC_NOWAIT : 0) == 0 ? 0 : -errno;
    if (m != &stack.m) {
        sw__free(m);
    }
    /* EINVAL from msgsnd after our own size check means the queue id is no longer valid
     * (removed and not yet reused): report it as removed. */
    if (r == SW_EINVAL) {
        r = SW_EIDRM;
    }
    return r;
}

ssize_t sw__msgqueue_pop(const sw_msgqueue_t *q, long type, void *buf, size_t size, int nowait,
                         long *type_out)
{
    union {
        msgbuf_t m;
        char bytes[sizeof(long) + STACK_MSG];
    } stack;
    msgbuf_t *m = &stack.m;
    /* Never ask for more than the system's largest message: a bigger buffer buys nothing. */
    size_t want = size < q->msgmax ? size : q->msgmax;
    if (want > STACK_MSG) {
        m = sw__malloc(sizeof(msgbuf_t) + want);
        if (!m) {
            return SW_ENOMEM;
        }
    }
    ssize_t n = msgrcv(q->id, m, want, type, nowait ? IPC_NOWAIT : 0);
    ssize_t r;
    if (n < 0) {
        r = errno == ENOMSG ? SW_EAGAIN : -errno;
        if (r == SW_EINVAL) {
            r = SW_EIDRM;
        }
    } else {
        memcpy(buf, m->text, (size_t)n);
        if (type_out) {
            *type_out = m->type;
        }
        r = n;
    }
    if (m != &stack.m) {
        sw__free(m);
    }
    return r;
}

int sw__msgqueue_stats(const sw_msgqueue_t *q, size_t *messages, size_t *bytes)
{
    struct msqid_ds ds;
    if (msgctl(q->id, IPC_STAT, &ds) != 0) {
        return -errno;
    }
    if (messages) {
        *messages = (size_t)ds.msg_qnum;
    }
    if (bytes) {
#ifdef __linux__
        *bytes = (size_t)ds.__msg_cbytes;
#else
        *bytes = 0;
#endif
    }
    return 0;
}

void sw__msgqueue_close(sw_msgqueue_t *q)
{
    if (q->id >= 0 && q->owned && q->owner == getpid()) {
        (void)msgctl(q->id, IPC_RMID, NULL);
    }
    q->id = -1;
    q->owned = 0;
}
