/*
 * The public calls that name a session: send, sendfile, sendwait, close, pause, resume, exists,
 * bind, connection_info, connections, heartbeat, sendto.
 *
 * Routing. The session directory (session.c) says which reactor owns a session and its fd.
 *   - The owner is a reactor of this process and the caller runs on its loop thread: the call
 *     acts on the connection directly.
 *   - The owner is a reactor of this process but the caller is another thread: the request is
 *     copied into an op and posted to the reactor's loop (sw_loop_post wakes it at once); the
 *     loop runs it after checking the session again. Ops from one thread run in its order.
 *   - The owner is elsewhere (another BASE worker; the master's reactor threads seen from a
 *     PROCESS worker): the mode's forward op takes it (BASE: base_fwd.c, over the owner's
 *     inbox; connection_info and sendwait there: SW_ENOTSUP).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/alloc.h"
#include "core/log_int.h"
#include "server/framing.h"
#include "server/server_int.h"
#include "swoole/error.h"

typedef struct op_s {
    sw__reactor_t *r;
    uint64_t sid;
    int fd;
    int kind;
    int file_fd;
    uint64_t off;
    uint64_t flen;
    size_t len;
    char data[];
} op_t;

static void op_run(sw_loop_t *loop, void *arg)
{
    (void)loop;
    op_t *op = arg;
    sw__reactor_t *r = op->r;
    sw__conn_t *c = sw__reactor_conn(r, op->fd, op->sid);
    int rc = 0;
    if (!c) {
        rc = SW_ESESSION;
    } else {
        switch (op->kind) {
        case SW__OP_SEND:
            rc = sw__out_send(r, c, op->data, op->len);
            break;
        case SW__OP_SENDFILE:
            rc = sw__out_sendfile(r, c, op->file_fd, op->off, op->flen);
            if (rc == 0) {
                op->file_fd = -1;
            }
            break;
        case SW__OP_CLOSE:
        case SW__OP_RESET:
            sw__conn_close(r, c, op->kind == SW__OP_RESET, -1);
            break;
        case SW__OP_PAUSE:
            rc = sw__conn_pause(r, c);
            break;
        case SW__OP_RESUME:
            rc = sw__conn_resume(r, c);
            break;
        case SW__OP_FRAMING:
            rc = sw__conn_framing(r, c, op->data, op->len);
            break;
        }
    }
    if (rc < 0 && op->kind != SW__OP_PAUSE && op->kind != SW__OP_RESUME) {
        SW_LOG_NOTICE(r->srv->log, "session %llu: request from another thread dropped: %s",
                      (unsigned long long)op->sid, sw_strerror(rc));
    }
    if (op->file_fd >= 0) {
        close(op->file_fd);
    }
    sw__free(op);
}

/* Finds where `sid` lives. Returns 0 with *r (this process, maybe another thread) or with *r
 * NULL and *owner set (elsewhere), or an error. */
static int locate(const sw_server_t *srv, uint64_t sid, sw__reactor_t **r, int *owner, int *fd)
{
    if (!srv || sid == 0) {
        return SW_EINVAL;
    }
    int st = atomic_load(&srv->state);
    if ((st != SW__S_RUNNING && st != SW__S_STOPPING) || !srv->shm) {
        return SW_ESERVER_STATE;
    }
    int rc = sw__session_find(srv, sid, owner, fd);
    if (rc < 0) {
        return rc;
    }
    *r = sw__server_local_reactor(srv, *owner);
    if (!*r && !sw__server_worker(srv)) {
        return SW_ENOT_WORKER;
    }
    return 0;
}

static bool on_loop(const sw__reactor_t *r)
{
    return pthread_equal(r->thread, pthread_self());
}

/* Posts an op; takes ownership of file_fd (closed on failure). */
static int post(sw__reactor_t *r, uint64_t sid, int fd, int kind, const void *data, size_t len,
                int file_fd, uint64_t off, uint64_t flen)
{
    op_t *op = sw__malloc(sizeof(*op) + len);
    if (!op) {
        if (file_fd >= 0) {
            close(file_fd);
        }
        return SW_ENOMEM;
    }
    op->r = r;
    op->sid = sid;
    op->fd = fd;
    op->kind = kind;
    op->file_fd = file_fd;
    op->off = off;
    op->flen = flen;
    op->len = len;
    if (len) {
        memcpy(op->data, data, len);
    }
    int rc = sw_loop_post(r->loop, op_run, op);
    if (rc < 0) {
        if (file_fd >= 0) {
            close(file_fd);
        }
        sw__free(op);
    }
    return rc;
}

/* Runs a connection op on the loop thread. Inside a callback, what it corks or owes is worked
 * off when the callback returns; elsewhere (a timer, a user fd) by the reactor's deferred pump
 * at the end of the loop iteration. */
static int direct(sw__reactor_t *r, uint64_t sid, int fd, int kind, const void *data, size_t len)
{
    sw__conn_t *c = sw__reactor_conn(r, fd, sid);
    if (!c) {
        return SW_ESESSION;
    }
    switch (kind) {
    case SW__OP_SEND:
        return sw__out_send(r, c, data, len);
    case SW__OP_CLOSE:
    case SW__OP_RESET:
        sw__conn_close(r, c, kind == SW__OP_RESET, -1);
        return 0;
    case SW__OP_PAUSE:
        return sw__conn_pause(r, c);
    case SW__OP_RESUME:
        return sw__conn_resume(r, c);
    case SW__OP_FRAMING:
        return sw__conn_framing(r, c, data, len);
    }
    return SW_EINVAL;
}

static int session_op(sw_server_t *srv, uint64_t sid, int kind, const void *data, size_t len)
{
    sw__reactor_t *r = NULL;
    int owner = -1, fd = -1;
    int rc = locate(srv, sid, &r, &owner, &fd);
    if (rc < 0) {
        return rc;
    }
    if (!r) {
        return srv->ops->forward(srv, owner, sid, kind, data, len);
    }
    if (on_loop(r)) {
        return direct(r, sid, fd, kind, data, len);
    }
    if (kind == SW__OP_SEND && (sw__session_flags(srv, sid) & SW__DIR_FULL)) {
        return SW_EOVERFLOW_OUTPUT;
    }
    return post(r, sid, fd, kind, data, len, -1, 0, 0);
}

int sw__session_op(sw_server_t *srv, uint64_t sid, int kind, const void *data, size_t len)
{
    return session_op(srv, sid, kind, data, len);
}

int sw_server_send(sw_server_t *srv, uint64_t session, const void *data, size_t len)
{
    if (!srv || (!data && len > 0)) {
        return SW_EINVAL;
    }
    return session_op(srv, session, SW__OP_SEND, data, len);
}

int sw__server_send2(sw_server_t *srv, uint64_t session, const void *a, size_t alen, const void *b,
                     size_t blen)
{
    if (!srv || (!a && alen) || (!b && blen) || alen > SIZE_MAX - blen) {
        return SW_EINVAL;
    }
    sw__reactor_t *r = NULL;
    int owner = -1, fd = -1;
    int rc = locate(srv, session, &r, &owner, &fd);
    if (rc < 0) {
        return rc;
    }
    if (r && on_loop(r)) {
        /* The owner's loop thread: both pieces go into the output back to back. */
        sw__conn_t *c = sw__reactor_conn(r, fd, session);
        return c ? sw__out_send2(r, c, a, alen, b, blen) : SW_ESESSION;
    }
    /* Anywhere else the send travels as one message (a post, a forward): joined. */
    char local[4096];
    size_t total = alen + blen;
    char *buf = total <= sizeof(local) ? local : sw__malloc(total);
    if (!buf) {
        return SW_ENOMEM;
    }
    if (alen) {
        memcpy(buf, a, alen);
    }
    if (blen) {
        memcpy(buf + alen, b, blen);
    }
    rc = session_op(srv, session, SW__OP_SEND, buf, total);
    if (buf != local) {
        sw__free(buf);
    }
    return rc;
}

int sw_server_close(sw_server_t *srv, uint64_t session, int reset)
{
    return session_op(srv, session, reset ? SW__OP_RESET : SW__OP_CLOSE, NULL, 0);
}

int sw_server_pause(sw_server_t *srv, uint64_t session)
{
    return session_op(srv, session, SW__OP_PAUSE, NULL, 0);
}

int sw_server_resume(sw_server_t *srv, uint64_t session)
{
    return session_op(srv, session, SW__OP_RESUME, NULL, 0);
}

int sw_server_sendfile(sw_server_t *srv, uint64_t session, const char *path, uint64_t offset,
                       uint64_t length)
{
    return sw__server_sendfile(srv, session, path, offset, length, false);
}

int sw__server_sendfile(sw_server_t *srv, uint64_t session, const char *path, uint64_t offset,
                        uint64_t length, bool unlink_after)
{
    if (!srv || !path || (length & SW__SENDFILE_UNLINK)) {
        return SW_EINVAL;
    }
    sw__reactor_t *r = NULL;
    int owner = -1, fd = -1;
    int rc = locate(srv, session, &r, &owner, &fd);
    if (rc < 0) {
        if (unlink_after) {
            (void)unlink(path);
        }
        return rc;
    }
    if (!r) {
        /* The owner opens the file: [u64 offset][u64 length, bit 63: unlink it once open]
         * [path without its NUL]. */
        size_t plen = strlen(path);
        char *msg = sw__malloc(16 + plen);
        uint64_t lf = length | (unlink_after ? SW__SENDFILE_UNLINK : 0);
        rc = msg ? 0 : SW_ENOMEM;
        if (msg) {
            memcpy(msg, &offset, 8);
            memcpy(msg + 8, &lf, 8);
            memcpy(msg + 16, path, plen);
            rc = srv->ops->forward(srv, owner, session, SW__OP_SENDFILE, msg, 16 + plen);
            sw__free(msg);
        }
        if (rc < 0 && unlink_after) {
            (void)unlink(path);
        }
        return rc;
    }
    int ffd = open(path, O_RDONLY | O_CLOEXEC);
    if (unlink_after) {
        (void)unlink(path); /* the open fd keeps the data until the send is done */
    }
    if (ffd < 0) {
        return -errno;
    }
    struct stat st;
    if (fstat(ffd, &st) != 0) {
        rc = -errno;
        close(ffd);
        return rc;
    }
    if (S_ISDIR(st.st_mode)) {
        close(ffd);
        return SW_EISDIR;
    }
    uint64_t size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
    if (offset > size || (length && length > size - offset)) {
        close(ffd);
        return SW_EINVAL;
    }
    if (length == 0) {
        length = size - offset;
    }
    if (length == 0) {
        close(ffd);
        return 0;
    }
    if (!on_loop(r)) {
        return post(r, session, fd, SW__OP_SENDFILE, NULL, 0, ffd, offset, length);
    }
    sw__conn_t *c = sw__reactor_conn(r, fd, session);
    rc = c ? sw__out_sendfile(r, c, ffd, offset, length) : SW_ESESSION;
    if (rc < 0) {
        close(ffd);
    }
    return rc;
}

int sw_server_sendwait(sw_server_t *srv, uint64_t session, const void *data, size_t len,
                       int timeout_ms)
{
    if (!srv || (!data && len > 0)) {
        return SW_EINVAL;
    }
    sw__reactor_t *r = NULL;
    int owner = -1, fd = -1;
    int rc = locate(srv, session, &r, &owner, &fd);
    if (rc < 0) {
        return rc;
    }
    if (!r && srv->mode != SW_MODE_BASE) {
        /* A PROCESS/THREAD worker: the reactor thread sends it and answers once written. */
        return sw__proc_query_sendwait(srv, owner, session, data, len, timeout_ms);
    }
    if (!r) {
        return SW_ENOTSUP;
    }
    if (!on_loop(r)) {
        return SW_ELOOP_THREAD;
    }
    sw__conn_t *c = sw__reactor_conn(r, fd, session);
    if (!c) {
        return SW_ESESSION;
    }
    return sw__out_sendwait(r, c, data, len, timeout_ms);
}

int sw_server_exists(const sw_server_t *srv, uint64_t session)
{
    if (!srv || !srv->shm) {
        return 0;
    }
    return sw__session_find(srv, session, NULL, NULL) == 0;
}

/* The connection of `session` for a loop-thread-only call. */
static int local_conn(sw_server_t *srv, uint64_t session, sw__reactor_t **r, sw__conn_t **c)
{
    int owner = -1, fd = -1;
    int rc = locate(srv, session, r, &owner, &fd);
    if (rc < 0) {
        return rc;
    }
    if (!*r) {
        return SW_ENOTSUP;
    }
    if (!on_loop(*r)) {
        return SW_ELOOP_THREAD;
    }
    *c = sw__reactor_conn(*r, fd, session);
    return *c ? 0 : SW_ESESSION;
}

int sw_server_bind(sw_server_t *srv, uint64_t session, uint64_t uid)
{
    if (!srv || uid == 0) {
        return SW_EINVAL;
    }
    sw__reactor_t *r;
    sw__conn_t *c;
    if (sw__server_worker(srv)) {
        /* The connection lives elsewhere (the master in PROCESS/THREAD, another worker in
         * BASE): checked here in the directory, applied by its owner in order with this
         * worker's other requests (a second bind is logged there). */
        int owner = -1, fd = -1;
        int lr = locate(srv, session, &r, &owner, &fd);
        if (lr < 0) {
            return lr;
        }
        if (!r) {
            return srv->ops->forward(srv, owner, session, SW__OP_BIND, &uid, sizeof(uid));
        }
    }
    int rc = local_conn(srv, session, &r, &c);
    if (rc < 0) {
        return rc;
    }
    if (c->flags & SW__C_BOUND) {
        return SW_EEXIST;
    }
    c->uid = uid;
    c->flags |= SW__C_BOUND;
    return 0;
}

int sw_server_connection_info(sw_server_t *srv, uint64_t session, sw_connection_info_t *info)
{
    if (!srv || !info) {
        return SW_EINVAL;
    }
    sw__reactor_t *r = NULL;
    sw__conn_t *c;
    int owner = -1, fd = -1;
    int rc = locate(srv, session, &r, &owner, &fd);
    if (rc < 0) {
        return rc;
    }
    if (!r && srv->mode != SW_MODE_BASE) {
        /* A PROCESS/THREAD worker: the reactor thread that owns it answers. */
        return sw__proc_query_info(srv, owner, session, info);
    }
    rc = local_conn(srv, session, &r, &c);
    if (rc < 0) {
        return rc;
    }
    sw__conn_fill_info(r, c, info);
    return 0;
}

void sw__conn_fill_info(sw__reactor_t *r, sw__conn_t *c, sw_connection_info_t *info)
{
    sw_server_t *srv = r->srv;
    memset(info, 0, sizeof(*info));
    const sw_port_t *p = sw__conn_port(r, c);
    const sw__ext_t *e = c->io.data;
    info->session = c->session;
    info->uid = c->uid;
    info->worker_id = r->worker_id >= 0 ? r->worker_id : c->worker;
    info->reactor_id = r->id;
    info->fd = c->io.fd;
    info->port = srv->ports[c->port];
    info->server_port = p->port;
    info->socket_type = p->type;
    info->connect_time = c->connect_time;
    uint32_t ago = sw__reactor_clock(r) - c->last_recv;
    info->last_recv_time = (int64_t)time(NULL) - (int64_t)(ago / 1000);
    if (info->last_recv_time < info->connect_time) {
        info->last_recv_time = info->connect_time;
    }
    info->send_queued_bytes = e ? e->out_bytes : 0;
    info->recv_queued_bytes = e ? e->in.length - e->in.offset : 0;
    info->paused = (c->flags & SW__C_PAUSED) != 0;
    socklen_t len = sizeof(info->remote_addr);
    if (getpeername(c->io.fd, (struct sockaddr *)&info->remote_addr, &len) == 0) {
        info->remote_addr_len = len;
        if (info->remote_addr.ss_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)&info->remote_addr;
            inet_ntop(AF_INET, &a->sin_addr, info->remote_ip, sizeof(info->remote_ip));
            info->remote_port = ntohs(a->sin_port);
        } else if (info->remote_addr.ss_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&info->remote_addr;
            inet_ntop(AF_INET6, &a->sin6_addr, info->remote_ip, sizeof(info->remote_ip));
            info->remote_port = ntohs(a->sin6_port);
        }
    }
}

int sw_server_connections(const sw_server_t *srv, uint64_t *cursor, uint64_t *out, size_t max)
{
    if (!srv || !cursor || !out || max == 0) {
        return SW_EINVAL;
    }
    int st = atomic_load(&srv->state);
    if ((st != SW__S_RUNNING && st != SW__S_STOPPING) || !srv->shm) {
        return SW_ESERVER_STATE;
    }
    if (max > INT32_MAX) {
        max = INT32_MAX;
    }
    return sw__session_list(srv, cursor, out, max);
}

int sw_server_heartbeat(sw_server_t *srv, bool close_them, uint64_t *out, size_t max)
{
    if (!srv || (!out && max > 0)) {
        return SW_EINVAL;
    }
    sw__worker_t *w = sw__server_worker(srv);
    if (w && !w->reactor && srv->mode != SW_MODE_BASE) {
        /* A PROCESS/THREAD worker: every reactor thread scans the connections it feeds. */
        return sw__proc_query_heartbeat(srv, close_them, out, max);
    }
    if (!w || !w->reactor) {
        return SW_ENOT_WORKER;
    }
    sw__reactor_t *r = w->reactor;
    if (!on_loop(r)) {
        return SW_ELOOP_THREAD;
    }
    return sw__heartbeat_scan(r, close_them, out, max);
}

int sw_server_sendto(sw_server_t *srv, sw_port_t *port, const struct sockaddr *addr,
                     socklen_t addrlen, const void *data, size_t len)
{
    if (!srv || !port || !addr || addrlen == 0 || (!data && len > 0) || port->srv != srv ||
        port->stream) {
        return SW_EINVAL;
    }
    ssize_t n;
    do {
        n = sendto(port->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL, addr, addrlen);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return errno == EWOULDBLOCK ? SW_EAGAIN : -errno;
    }
    if (srv->shm) {
        atomic_fetch_add(&srv->shm->send_bytes, (uint64_t)n);
        atomic_fetch_add(&srv->shm->response_count, 1);
    }
    return 0;
}
