/*
 * BASE mode: calls on a session that another worker process owns (sw__mode_base.forward).
 *
 * In BASE mode a connection lives in the worker process that accepted it. A call from another
 * worker, a task worker or a user process (send, sendfile, close, pause, resume, bind, the
 * WebSocket framing op) is forwarded to the owner: one SW_IPC_SEND message, ext = the SW__OP_*
 * code, session = the session id, written on the owner's inbox (task_int.h: every process the
 * manager forks has one, made before any fork). The owner runs it on its loop, inside a
 * dispatch bracket, after checking the session again in its own table: a session closed (or
 * reopened on the same fd) in the meantime drops the request, logged at NOTICE as a posted op
 * is (send.c).
 *
 * Ordering: a sender writes all its requests to one owner through one endpoint of one
 * channel, whose datagrams the owner reads in order, so the requests one process makes for a
 * session run in the order it made them. A thread of the sender other than its loop's posts
 * the request to its loop first (a FIFO), then the loop sends it: the channel's endpoint is
 * used by one thread only.
 *
 * Results: the sender only knows that the request left. A send to a session whose output is
 * above its high watermark fails at once with SW_EOVERFLOW_OUTPUT (the directory's FULL flag,
 * as for cross-thread sends); a send that the owner then finds over socket_buffer_size, a file
 * the owner cannot open, or a second bind are logged by the owner and dropped.
 *
 * PROCESS mode uses the same path for its task workers and user processes, which have no
 * channel to the reactor threads: the request goes to event worker sid % worker_num, which
 * hands it to sw__session_op (its own channel to the reactor thread that owns the session).
 *
 * Not forwarded: connection_info and sendwait return SW_ENOTSUP for another worker's session.
 * Both need a reply, and the owner answers only from its loop: two workers asking each other
 * at the same moment would both block until a timeout (PROCESS mode does not have this
 * problem: its reactor threads never block). Swoole's BASE mode gives connection_info of
 * another worker's fd from its shared connection table; ours is per process.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log_int.h"
#include "server/framing.h"
#include "server/task_int.h"
#include "swoole/error.h"

/* A request made on another thread of the sender, waiting for its loop. */
typedef struct fwd_s {
    sw_server_t *srv;
    int owner;
    int op;
    uint64_t sid;
    size_t len;
    char data[];
} fwd_t;

static int fwd_send(sw_server_t *srv, int owner, uint64_t sid, int op, const void *data, size_t len)
{
    sw__task_t *tk = srv->task;
    int rc = 0;
    sw_ipc_endpoint_t *ep = sw__task_out(tk, owner, false, &rc);
    if (!ep) {
        return rc;
    }
    sw_ipc_header_t h = {.type = SW_IPC_SEND,
                         .session = sid,
                         .worker_id = (uint16_t)tk->self,
                         .reactor_id = (uint16_t)owner,
                         .ext = (uint32_t)op};
    return sw__ipc_send(ep, &h, data, len);
}

static void fwd_posted(sw_loop_t *loop, void *arg)
{
    (void)loop;
    fwd_t *f = arg;
    sw__task_t *tk = f->srv->task;
    /* The member may have detached (stopping) between the post and now. */
    if (tk && tk->kind != SW__M_NONE) {
        int rc = fwd_send(f->srv, f->owner, f->sid, f->op, f->data, f->len);
        if (rc < 0) {
            SW_LOG_NOTICE(f->srv->log, "session %llu: request for worker %d dropped: %s",
                          (unsigned long long)f->sid, f->owner, sw_strerror(rc));
        }
    }
    sw__free(f);
}

static bool on_member_loop(const sw_server_t *srv)
{
    const sw__worker_t *w = sw__server_worker(srv);
    if (!w) {
        return false;
    }
    pthread_t t = w->reactor ? w->reactor->thread : w->thread;
    return pthread_equal(t, pthread_self());
}

int sw__base_forward(sw_server_t *srv, int owner, uint64_t sid, int op, const void *data,
                     size_t len)
{
    sw__task_t *tk = srv->task;
    if (!tk || !tk->ready || tk->kind == SW__M_NONE) {
        /* No manager (a single-process server owns every session itself), or the channels
         * could not be made at start (logged then). */
        return SW_ENOTSUP;
    }
    if (owner < 0 || owner >= tk->nw || owner == tk->self) {
        return SW_ESESSION;
    }
    if (len > SW__TASK_MAX_PAYLOAD) {
        return SW_EMSGSIZE;
    }
    if (op == SW__OP_SEND && (sw__session_flags(srv, sid) & SW__DIR_FULL)) {
        return SW_EOVERFLOW_OUTPUT;
    }
    if (on_member_loop(srv)) {
        return fwd_send(srv, owner, sid, op, data, len);
    }
    fwd_t *f = sw__malloc(sizeof(*f) + len);
    if (!f) {
        return SW_ENOMEM;
    }
    f->srv = srv;
    f->owner = owner;
    f->op = op;
    f->sid = sid;
    f->len = len;
    if (len) {
        memcpy(f->data, data, len);
    }
    int rc = sw_loop_post(tk->loop, fwd_posted, f);
    if (rc < 0) {
        sw__free(f);
    }
    return rc;
}

/* SENDFILE from another worker: [u64 offset][u64 length][path without its NUL]. */
static int run_sendfile(sw__reactor_t *r, sw__conn_t *c, const char *data, size_t len)
{
    if (len <= 16 || len - 16 >= 4096) {
        return SW_EINVAL;
    }
    uint64_t off, flen;
    memcpy(&off, data, 8);
    memcpy(&flen, data + 8, 8);
    char path[4096];
    memcpy(path, data + 16, len - 16);
    path[len - 16] = '\0';
    int ffd = open(path, O_RDONLY | O_CLOEXEC);
    if (flen & SW__SENDFILE_UNLINK) {
        flen &= ~SW__SENDFILE_UNLINK;
        (void)unlink(path);
    }
    if (ffd < 0) {
        return -errno;
    }
    struct stat st;
    int rc = 0;
    if (fstat(ffd, &st) != 0) {
        rc = -errno;
    } else if (S_ISDIR(st.st_mode)) {
        rc = SW_EISDIR;
    } else {
        uint64_t size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
        if (off > size || (flen && flen > size - off)) {
            rc = SW_EINVAL;
        } else if (flen == 0) {
            flen = size - off;
        }
    }
    if (rc == 0 && flen > 0) {
        rc = sw__out_sendfile(r, c, ffd, off, flen);
        if (rc == 0) {
            return 0; /* the queue owns the fd now */
        }
    }
    close(ffd);
    return rc;
}

void sw__base_fwd_run(sw_server_t *srv, const sw_ipc_header_t *h, const void *data, size_t len)
{
    if (srv->mode != SW_MODE_BASE) {
        /* PROCESS: relayed for a task worker or user process; this worker forwards it to the
         * reactor thread on its own channel (the session is checked there again). */
        int rr = sw__session_op(srv, h->session, (int)h->ext, data, len);
        if (rr < 0) {
            SW_LOG_NOTICE(srv->log, "session %llu: request %u relayed for worker %d dropped: %s",
                          (unsigned long long)h->session, (unsigned)h->ext, (int)h->worker_id,
                          sw_strerror(rr));
        }
        return;
    }
    sw__worker_t *w = srv->worker;
    sw__reactor_t *r = w ? w->reactor : NULL;
    int op = (int)h->ext;
    int owner = -1, fd = -1;
    sw__conn_t *c = NULL;
    if (r && sw__session_find(srv, h->session, &owner, &fd) == 0 && owner == r->id) {
        c = sw__reactor_conn(r, fd, h->session);
    }
    int rc = 0;
    if (!c) {
        rc = SW_ESESSION;
    } else {
        sw__reactor_enter(r);
        switch (op) {
        case SW__OP_SEND:
            rc = sw__out_send(r, c, data, len);
            break;
        case SW__OP_SENDFILE:
            rc = run_sendfile(r, c, data, len);
            break;
        case SW__OP_CLOSE:
        case SW__OP_RESET:
            sw__conn_close(r, c, op == SW__OP_RESET, -1);
            break;
        case SW__OP_PAUSE:
            rc = sw__conn_pause(r, c);
            break;
        case SW__OP_RESUME:
            rc = sw__conn_resume(r, c);
            break;
        case SW__OP_BIND:
            if (len != sizeof(uint64_t)) {
                rc = SW_EINVAL;
            } else if (c->flags & SW__C_BOUND) {
                rc = SW_EEXIST;
            } else {
                memcpy(&c->uid, data, sizeof(uint64_t));
                c->flags |= SW__C_BOUND;
            }
            break;
        case SW__OP_FRAMING:
            rc = sw__conn_framing(r, c, data, len);
            break;
        default:
            rc = SW_EINVAL;
            break;
        }
        sw__reactor_leave(r);
    }
    if (rc < 0 && op != SW__OP_PAUSE && op != SW__OP_RESUME) {
        SW_LOG_NOTICE(srv->log, "session %llu: request %d from worker %d dropped: %s",
                      (unsigned long long)h->session, op, (int)h->worker_id, sw_strerror(rc));
    }
}
