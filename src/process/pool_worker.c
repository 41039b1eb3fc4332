/*
 * The process pool, worker side: the worker's main (the supervisor's slot function), the
 * library's job loop, and the calls a worker makes (recv, reply, worker_fd).
 *
 * SIGTERM in the job loop. The signal stays blocked while on_job runs, so a job is never cut
 * short by it; the loop checks for a pending SIGTERM after each job and ends (exit 0). While
 * the loop waits for a job, SIGTERM is unblocked and takes its default action (the worker ends
 * by the signal), which is what the supervisor expects on shutdown. With the socket channels
 * the wait is ppoll() with SIGTERM unblocked only inside it, so there is no gap between taking
 * a job and blocking the signal. A System V queue has no fd to poll: the worker unblocks
 * SIGTERM around msgrcv(), and a SIGTERM that lands between msgrcv() returning a job and the
 * signal being blocked again ends the worker with that job in hand (a window of two system
 * calls, documented in swoole/process.h).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/alloc.h"
#include "process/pool_int.h"
#include "swoole/error.h"

/* The end this worker reads jobs from and writes replies to, or -1. */
static int worker_end(const sw_pool_t *pool)
{
    if (pool->nsocks == 0 || pool->worker_id < 0) {
        return -1;
    }
    int i = pool->o.ipc == SW_POOL_IPC_SOCKET ? pool->worker_id : 0;
    return pool->socks[i][1];
}

/* Closes what a worker must not hold: every master end (so that nothing but the master keeps
 * them), and with per-worker sockets the other workers' ends. */
static void close_foreign_fds(sw_pool_t *pool)
{
    for (int i = 0; i < pool->nsocks; i++) {
        if (pool->socks[i][0] >= 0) {
            close(pool->socks[i][0]);
            pool->socks[i][0] = -1;
        }
        int mine = pool->o.ipc != SW_POOL_IPC_SOCKET || i == pool->worker_id;
        if (!mine && pool->socks[i][1] >= 0) {
            close(pool->socks[i][1]);
            pool->socks[i][1] = -1;
        }
    }
}

static ssize_t sock_recv(int fd, void *buf, size_t size, int nowait)
{
    ssize_t n;
    do {
        n = recv(fd, buf, size, MSG_TRUNC | (nowait ? MSG_DONTWAIT : 0));
    } while (n < 0 && errno == EINTR && !nowait);
    if (n < 0) {
        return errno == EWOULDBLOCK ? SW_EAGAIN : -errno;
    }
    if ((size_t)n > size) {
        return SW_EMSGSIZE;
    }
    return n;
}

static int job_loop(sw_pool_t *pool, int id)
{
    int queue = pool->has_queue;
    size_t size = queue ? pool->queue.msgmax : SW_POOL_MESSAGE_MAX;
    char *buf = sw__malloc(size);
    if (!buf) {
        return 1;
    }
    sigset_t term, waitmask;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, &waitmask);
    sigdelset(&waitmask, SIGTERM);
    int fd = worker_end(pool);
    int code = 0;
    for (;;) {
        ssize_t n;
        if (queue) {
            sigprocmask(SIG_SETMASK, &waitmask, NULL);
            n = sw__msgqueue_pop(&pool->queue, POOL_JOB_TYPE, buf, size, 0, NULL);
            sigprocmask(SIG_BLOCK, &term, NULL);
        } else {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            if (ppoll(&pfd, 1, NULL, &waitmask) < 0) {
                n = errno == EINTR ? SW_EINTR : -errno;
            } else {
                /* EAGAIN: on the shared socket another worker took the datagram first. */
                n = sock_recv(fd, buf, size, 1);
            }
        }
        if (n == SW_EINTR || n == SW_EAGAIN || n == SW_EMSGSIZE) {
            continue;
        }
        if (n < 0) {
            code = 1;
            break;
        }
        pool->h.on_job(pool, id, buf, (size_t)n, pool->arg);
        sigset_t pending;
        if (sigpending(&pending) == 0 && sigismember(&pending, SIGTERM) == 1) {
            break;
        }
    }
    sw__free(buf);
    return code;
}

int sw__pool_worker_main(sw_sup_t *sup, int slot, void *arg)
{
    sw_pool_t *pool = arg;
    /* The supervisor and the loop are the master's; this process has copies it must not use. */
    sw__sup_child_close(sup);
    pool->sup = NULL;
    pool->loop = NULL;
    pool->ios_on = 0;
    pool->sigs_on = 0;
    pool->worker_id = slot;
    close_foreign_fds(pool);
    pool->in_worker_main = 1;
    sw_pool_handlers_t h = pool->h;
    void *uarg = pool->arg;
    if (h.on_worker_start) {
        h.on_worker_start(pool, slot, uarg);
    }
    int code = h.on_worker ? h.on_worker(pool, slot, uarg) : job_loop(pool, slot);
    if (h.on_worker_stop) {
        h.on_worker_stop(pool, slot, uarg);
    }
    pool->in_worker_main = 0;
    if (pool->destroy_pending) {
        sw__pool_release(pool);
    }
    return code;
}

/* ---- worker calls ------------------------------------------------------------------------- */

int sw_pool_worker_fd(const sw_pool_t *pool)
{
    if (!pool) {
        return SW_EINVAL;
    }
    if (pool->worker_id < 0) {
        return SW_ENOT_WORKER;
    }
    int fd = worker_end(pool);
    return fd >= 0 ? fd : SW_ENOTSUP;
}

ssize_t sw_pool_recv(sw_pool_t *pool, void *buf, size_t size, int flags)
{
    if (!pool || !buf || size == 0 || (flags & ~SW_QUEUE_NOWAIT)) {
        return SW_EINVAL;
    }
    if (pool->worker_id < 0) {
        return SW_ENOT_WORKER;
    }
    int nowait = flags & SW_QUEUE_NOWAIT;
    if (pool->has_queue) {
        return sw__msgqueue_pop(&pool->queue, POOL_JOB_TYPE, buf, size, nowait, NULL);
    }
    int fd = worker_end(pool);
    if (fd < 0) {
        return SW_ENOTSUP;
    }
    return sock_recv(fd, buf, size, nowait);
}

int sw_pool_reply(sw_pool_t *pool, const void *data, size_t len)
{
    if (!pool || (!data && len > 0)) {
        return SW_EINVAL;
    }
    if (pool->worker_id < 0) {
        return SW_ENOT_WORKER;
    }
    int fd = worker_end(pool);
    if (fd < 0) {
        return SW_ENOTSUP;
    }
    if (len > SW_POOL_MESSAGE_MAX) {
        return SW_EMSGSIZE;
    }
    reply_hdr_t hdr = {.worker_id = pool->worker_id};
    struct iovec iov[2] = {{.iov_base = &hdr, .iov_len = sizeof(hdr)},
                           {.iov_base = (void *)data, .iov_len = len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n;
    do {
        n = sendmsg(fd, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}
