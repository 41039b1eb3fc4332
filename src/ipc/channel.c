/*
 * Channels: the socketpair of PROCESS mode and the in-memory queues of THREAD mode.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "ipc/ipc_int.h"

void sw__ipc_channel_options_init(sw_ipc_channel_options_t *opts)
{
    if (opts) {
        memset(opts, 0, sizeof(*opts));
        opts->kind = SW_IPC_SOCKET;
    }
}

/* Asks for `size` bytes of kernel buffer: the FORCE variants pass net.core.[wr]mem_max when
 * the process may (CAP_NET_ADMIN); otherwise the plain option, which the kernel caps. Then
 * reads back what the kernel set (Linux reports twice the request: its bookkeeping share). */
static void set_buffers(int fd, size_t size, size_t *sndbuf, size_t *rcvbuf)
{
    int v = size > (size_t)INT32_MAX / 2 ? INT32_MAX / 2 : (int)size;
#ifdef SO_SNDBUFFORCE
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) != 0)
#endif
    {
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
    }
#ifdef SO_RCVBUFFORCE
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) != 0)
#endif
    {
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
    }
    int got = 0;
    socklen_t l = sizeof(got);
    *sndbuf = getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &got, &l) == 0 && got > 0 ? (size_t)got : 0;
    got = 0;
    l = sizeof(got);
    *rcvbuf = getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &l) == 0 && got > 0 ? (size_t)got : 0;
}

static int make_socketpair(sw_ipc_channel_t *ch, size_t sockbuf)
{
    int rc = SW_FAULT("socketpair", SW_EMFILE);
    if (rc) {
        return rc;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        return -errno;
    }
    for (int i = 0; i < 2; i++) {
        ch->fd[i] = sv[i];
        set_buffers(sv[i], sockbuf, &ch->sndbuf[i], &ch->rcvbuf[i]);
    }
    return 0;
}

static int make_eventfd(int initial, int *out)
{
    int rc = SW_FAULT("eventfd", SW_EMFILE);
    if (rc) {
        return rc;
    }
    int fd = eventfd((unsigned)initial, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    *out = fd;
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static void mq_close(sw_ipc_mq_t *q)
{
    sw_ipc_block_t *b = q->head;
    while (b) {
        sw_ipc_block_t *next = b->next;
        sw__free(b);
        b = next;
    }
    q->head = q->tail = NULL;
    q->bytes = 0;
    close_fd(&q->data_fd);
    close_fd(&q->space_fd);
    pthread_mutex_destroy(&q->lock);
}

static int mq_init(sw_ipc_mq_t *q, size_t capacity)
{
    memset(q, 0, sizeof(*q));
    q->data_fd = q->space_fd = -1;
    q->capacity = capacity;
    if (pthread_mutex_init(&q->lock, NULL) != 0) {
        return SW_ENOMEM;
    }
    int rc = make_eventfd(0, &q->data_fd);
    if (rc == 0) {
        rc = make_eventfd(1, &q->space_fd); /* empty: room to send */
    }
    if (rc) {
        mq_close(q);
        return rc;
    }
    q->space_set = true;
    return 0;
}

int sw__ipc_channel_create(sw_ipc_channel_t **out, const sw_ipc_channel_options_t *opts)
{
    if (!out) {
        return SW_EINVAL;
    }
    sw_ipc_channel_options_t o;
    sw__ipc_channel_options_init(&o);
    if (opts) {
        o = *opts;
    }
    if (o.kind != SW_IPC_SOCKET && o.kind != SW_IPC_MEMORY) {
        return SW_EINVAL;
    }
    if (o.max_datagram == 0) {
        o.max_datagram = SW_IPC_DATAGRAM_DEFAULT;
    }
    if (o.max_datagram < SW_IPC_DATAGRAM_MIN || o.max_datagram > SW_IPC_DATAGRAM_MAX) {
        return SW_EINVAL;
    }
    if (o.sockbuf == 0) {
        o.sockbuf = SW_IPC_SOCKBUF_DEFAULT;
    }
    if (o.capacity == 0) {
        o.capacity = o.sockbuf;
    }
    sw_ipc_channel_t *ch = sw__calloc(1, sizeof(*ch));
    if (!ch) {
        return SW_ENOMEM;
    }
    ch->kind = o.kind;
    ch->fd[0] = ch->fd[1] = -1;
    ch->max_datagram = o.max_datagram;
    int rc;
    if (o.kind == SW_IPC_SOCKET) {
        rc = make_socketpair(ch, o.sockbuf);
    } else {
        rc = mq_init(&ch->mq[0], o.capacity);
        if (rc == 0) {
            rc = mq_init(&ch->mq[1], o.capacity);
            if (rc) {
                mq_close(&ch->mq[0]);
            }
        }
    }
    if (rc) {
        sw__free(ch);
        return rc;
    }
    *out = ch;
    return 0;
}

int sw__ipc_channel_destroy(sw_ipc_channel_t *ch)
{
    if (!ch) {
        return SW_EINVAL;
    }
    if (ch->endpoints[0] || ch->endpoints[1]) {
        return SW_EBUSY;
    }
    if (ch->kind == SW_IPC_SOCKET) {
        close_fd(&ch->fd[0]);
        close_fd(&ch->fd[1]);
    } else {
        mq_close(&ch->mq[0]);
        mq_close(&ch->mq[1]);
    }
    sw__free(ch);
    return 0;
}

int sw__ipc_channel_info(const sw_ipc_channel_t *ch, sw_ipc_channel_info_t *out)
{
    if (!ch || !out) {
        return SW_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    out->kind = ch->kind;
    for (int i = 0; i < 2; i++) {
        out->fd[i] = ch->kind == SW_IPC_SOCKET ? ch->fd[i] : -1;
        out->sndbuf[i] = ch->sndbuf[i];
        out->rcvbuf[i] = ch->rcvbuf[i];
    }
    out->max_datagram = ch->max_datagram;
    return 0;
}

int sw__ipc_channel_close_side(sw_ipc_channel_t *ch, int side)
{
    if (!ch || (side != 0 && side != 1) || ch->kind != SW_IPC_SOCKET) {
        return SW_EINVAL;
    }
    if (ch->endpoints[side]) {
        return SW_EBUSY;
    }
    close_fd(&ch->fd[side]);
    return 0;
}

/* ---- memory queues ----------------------------------------------------------------------- */

/* The eventfds mirror two conditions, changed only under the lock: data_fd is readable while
 * the queue holds a message, space_fd while it is under its capacity. Writes and reads of an
 * eventfd set and clear it; a failure would need 2^64 - 2 pending writes. */
static void efd_set(int fd, bool *state)
{
    if (!*state) {
        uint64_t one = 1;
        ssize_t r = write(fd, &one, sizeof(one));
        (void)r;
        *state = true;
    }
}

static void efd_clear(int fd, bool *state)
{
    if (*state) {
        uint64_t v;
        ssize_t r = read(fd, &v, sizeof(v));
        (void)r;
        *state = false;
    }
}

int sw__ipc_mq_push(sw_ipc_mq_t *q, sw_ipc_block_t *b)
{
    size_t size = b->used;
    pthread_mutex_lock(&q->lock);
    if (q->head && q->bytes + size > q->capacity) {
        efd_clear(q->space_fd, &q->space_set);
        pthread_mutex_unlock(&q->lock);
        return SW_EAGAIN;
    }
    b->next = NULL;
    if (q->tail) {
        q->tail->next = b;
    } else {
        q->head = b;
    }
    q->tail = b;
    q->bytes += size;
    efd_set(q->data_fd, &q->data_set);
    if (q->bytes >= q->capacity) {
        efd_clear(q->space_fd, &q->space_set);
    }
    pthread_mutex_unlock(&q->lock);
    return 0;
}

sw_ipc_block_t *sw__ipc_mq_take(sw_ipc_mq_t *q, unsigned max)
{
    size_t taken = 0;
    pthread_mutex_lock(&q->lock);
    sw_ipc_block_t *first = q->head, *last = NULL, *b = q->head;
    for (unsigned i = 0; b && i < max; i++) {
        taken += b->used;
        last = b;
        b = b->next;
    }
    if (last) {
        q->head = last->next;
        if (!q->head) {
            q->tail = NULL;
        }
        last->next = NULL;
        q->bytes -= taken;
    } else {
        first = NULL;
    }
    if (!q->head) {
        efd_clear(q->data_fd, &q->data_set);
    }
    if (q->bytes < q->capacity) {
        efd_set(q->space_fd, &q->space_set);
    }
    pthread_mutex_unlock(&q->lock);
    return first;
}
