/*
 * Tasks: the manager's set-up of channels, queue and shared memory for task workers, worker
 * messages and user processes (layout in task_int.h); the member side (endpoints, the inbox
 * and waitbox handlers); temp files for large payloads; and the public task calls of an event
 * worker (sw_server_task, taskwait, taskwait_multi) and of a task worker (task_finish).
 *
 * Why two inbound channels per event worker: a taskwait blocks its worker without running
 * the loop. Its result comes on the waitbox, which nothing but a taskwait reads, so waiting
 * never runs another callback, and a result that comes after its taskwait gave up meets a
 * later taskwait, which sees an id it does not wait for and drops it (Swoole bug #465 gave
 * such a result to the wrong caller). Async results go to the inbox and are delivered only
 * when the id's high half is this process's pid: a respawned worker never sees its
 * predecessor's results.
 *
 * Temp files: a payload above the inline limit is written to task_tmpdir/swoole.task.<master
 * pid>.XXXXXX and the message carries the path. The receiver accepts only paths of that form
 * (a message cannot make it open or remove another file), reads the file and removes it before
 * its callback runs, so a process that dies in its callback leaves no file; one that dies
 * between reading and removing, or messages never read at shutdown, leave files that the
 * manager removes when the server stops.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "core/log_int.h"
#include "server/task_int.h"
#include "swoole/error.h"
#include "swoole/shm.h"

static sw__task_t *task_get(sw_server_t *srv);

static const char *tmpdir_of(const sw_server_t *srv)
{
    return srv->o.task_tmpdir[0] ? srv->o.task_tmpdir : "/tmp";
}

/* ---- start checks ------------------------------------------------------------------------ */

/* mkdir -p with mode 0700 for the parts it creates. */
static int make_dirs(const char *dir)
{
    char path[256];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path)) {
        return SW_EINVAL;
    }
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] == '/' || path[i] == '\0') {
            char c = path[i];
            path[i] = '\0';
            if (mkdir(path, 0700) != 0 && errno != EEXIST) {
                return -errno;
            }
            path[i] = c;
        }
    }
    return 0;
}

bool sw__task_need_manager(const sw_server_t *srv)
{
    return srv->o.task_worker_num > 0 || (srv->task && srv->task->nuprocs > 0);
}

int sw__task_check(sw_server_t *srv)
{
    if (!sw__task_need_manager(srv)) {
        return 0;
    }
    if (srv->o.task_ipc_mode < 1 || srv->o.task_ipc_mode > 3) {
        return SW_EOPTION_VALUE;
    }
    if (srv->mode == SW_MODE_THREAD &&
        ((srv->task && srv->task->nuprocs > 0) || srv->o.task_ipc_mode != 1)) {
        /* THREAD mode runs task workers as threads (task_thread.c); user processes and the
         * System V queue of modes 2/3 need processes. */
        return SW_ENOTSUP;
    }
    sw__task_t *tk = task_get(srv);
    if (!tk) {
        return SW_ENOMEM;
    }
    int r = sw__task_shm_make(srv, tk);
    if (r < 0 || srv->o.task_worker_num == 0) {
        return r;
    }
    const char *dir = tmpdir_of(srv);
    r = make_dirs(dir);
    struct stat st;
    if (r == 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        r = SW_ENOTDIR;
    }
    if (r == 0 && access(dir, W_OK | X_OK) != 0) {
        r = -errno;
    }
    if (r < 0) {
        /* The log is not set up yet at this point: stderr is what a caller sees. */
        fprintf(stderr, "server: task_tmpdir %s cannot be used: %s\n", dir, sw_strerror(r));
        return r;
    }
    return 0;
}

/* ---- manager ----------------------------------------------------------------------------- */

/* The shared state of task workers and user processes (pids, busy flags), made by the master
 * at start (or by the manager) so that every server process sees it. */
int sw__task_shm_make(sw_server_t *srv, sw__task_t *tk)
{
    size_t n = (size_t)srv->o.task_worker_num + (size_t)tk->nuprocs + 1;
    size_t size = sizeof(sw__task_shm_t) + n * sizeof(tk->shm->tw[0]);
    if (tk->shm && tk->shm_size == size) {
        return 0;
    }
    if (tk->shm) {
        /* An earlier start failed and the options changed since. */
        sw_shm_destroy(tk->shm, tk->shm_size);
        tk->shm = NULL;
    }
    void *mem = NULL;
    int rc = sw_shm_create(size, &mem);
    if (rc < 0) {
        return rc;
    }
    tk->shm = mem;
    tk->shm_size = size;
    return 0;
}

pid_t sw__task_worker_pid(const sw_server_t *srv, int worker_id)
{
    const sw__task_t *tk = srv->task;
    int i = worker_id - srv->o.worker_num;
    if (!tk || !tk->shm || i < 0 || i >= srv->o.task_worker_num + tk->nuprocs) {
        return SW_EWORKER_ID;
    }
    return atomic_load(&tk->shm->tw[i].pid);
}

static sw__task_t *task_get(sw_server_t *srv)
{
    if (!srv->task) {
        srv->task = sw__calloc(1, sizeof(sw__task_t));
        if (srv->task) {
            srv->task->srv = srv;
            srv->task->self = -1;
        }
    }
    return srv->task;
}

static void channels_close(sw__task_t *tk)
{
    for (int i = 0; tk->inbox && i < tk->np; i++) {
        if (tk->inbox[i]) {
            (void)sw__ipc_channel_destroy(tk->inbox[i]);
        }
    }
    for (int i = 0; tk->waitbox && i < tk->nw; i++) {
        if (tk->waitbox[i]) {
            (void)sw__ipc_channel_destroy(tk->waitbox[i]);
        }
    }
    sw__free(tk->inbox);
    sw__free(tk->waitbox);
    tk->inbox = tk->waitbox = NULL;
}

/* Removes every temp file of this server left in task_tmpdir. */
static void remove_stale_files(sw__task_t *tk)
{
    if (tk->nt == 0) {
        return;
    }
    DIR *d = opendir(tk->tmpdir);
    if (!d) {
        return;
    }
    size_t plen = strlen(tk->tmp_prefix);
    int dfd = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strncmp(e->d_name, tk->tmp_prefix, plen)) {
            (void)unlinkat(dfd, e->d_name, 0);
        }
    }
    closedir(d);
}

void sw__task_manager_cleanup(sw_server_t *srv)
{
    sw__task_t *tk = srv->task;
    if (!tk || !tk->ready) {
        return;
    }
    channels_close(tk);
    if (tk->mq_open) {
        sw__msgqueue_close(&tk->mq);
        tk->mq_open = false;
    }
    remove_stale_files(tk);
    /* The shared memory stays until sw_server_destroy (sw__task_free): the master reads pids
     * from it. */
    tk->ready = false;
}

int sw__task_manager_setup(sw_server_t *srv, sw_sup_t *sup)
{
    sw__task_t *tk = task_get(srv);
    if (!tk) {
        return SW_ENOMEM;
    }
    tk->nw = srv->o.worker_num;
    tk->nt = srv->o.task_worker_num;
    tk->nu = tk->nuprocs;
    tk->np = tk->nw + tk->nt + tk->nu;
    tk->mode = srv->o.task_ipc_mode ? srv->o.task_ipc_mode : 1;
    tk->manager_pid = getpid();
    snprintf(tk->tmpdir, sizeof(tk->tmpdir), "%s", tmpdir_of(srv));
    snprintf(tk->tmp_prefix, sizeof(tk->tmp_prefix), "swoole.task.%d.", (int)srv->master_pid);
    tk->inline_max = SW__TASK_INLINE_MAX;
    int rc = sw__task_shm_make(srv, tk);
    if (rc < 0) {
        return rc;
    }
    tk->ready = true; /* from here, cleanup undoes what was made */
    tk->inbox = sw__calloc((size_t)tk->np, sizeof(*tk->inbox));
    tk->waitbox = tk->nt > 0 ? sw__calloc((size_t)tk->nw, sizeof(*tk->waitbox)) : NULL;
    if (!tk->inbox || (tk->nt > 0 && !tk->waitbox)) {
        rc = SW_ENOMEM;
    }
    for (int i = 0; rc == 0 && i < tk->np; i++) {
        rc = sw__ipc_channel_create(&tk->inbox[i], NULL);
    }
    for (int i = 0; rc == 0 && tk->waitbox && i < tk->nw; i++) {
        rc = sw__ipc_channel_create(&tk->waitbox[i], NULL);
    }
    if (rc < 0) {
        SW_LOG_ERROR(srv->log, "manager: task/message channels: %s", sw_strerror(rc));
    }
    if (rc == 0 && tk->nt > 0 && tk->mode != 1) {
        int key = srv->o.message_queue_key;
        rc = sw__msgqueue_open(&tk->mq, key, key == 0);
        if (rc < 0) {
            SW_LOG_ERROR(srv->log, "manager: task message queue (key %d): %s", key,
                         sw_strerror(rc));
        } else {
            tk->mq_open = true;
            if (tk->mq.msgmax <= SW_IPC_HEADER_SIZE + 64) {
                rc = SW_EMSGSIZE;
            } else {
                tk->inline_max = tk->mq.msgmax - SW_IPC_HEADER_SIZE;
            }
        }
    }
    for (int i = 0; rc == 0 && i < tk->nt; i++) {
        int slot = sw__sup_add_slot(sup, SW__GROUP_TASK, 0, sw__task_worker_slot, srv);
        if (slot < 0) {
            rc = slot;
        } else if (slot != tk->nw + i) {
            rc = SW_EINVAL;
        }
    }
    for (int i = 0; rc == 0 && i < tk->nu; i++) {
        int slot = sw__sup_add_slot(sup, SW__GROUP_USER, 0, sw__task_user_slot, srv);
        if (slot < 0) {
            rc = slot;
        }
    }
    if (rc < 0) {
        sw__task_manager_cleanup(srv);
        if (tk->nt == 0 && tk->nu == 0 && rc != SW_ENOMEM) {
            /* Only worker messages needed the channels (two fds per worker in every
             * process): a server with many workers and a low fd limit runs without them. */
            SW_LOG_WARNING(srv->log, "manager: worker messages disabled: %s", sw_strerror(rc));
            rc = 0;
        }
    }
    return rc;
}

void sw__task_on_spawn(sw_server_t *srv, int slot, pid_t pid)
{
    sw__task_t *tk = srv->task;
    int t = slot - tk->nw;
    if (t >= 0 && t < tk->nt + tk->nu) {
        atomic_store(&tk->shm->tw[t].pid, (int32_t)pid);
    }
}

void sw__task_on_exit(sw_server_t *srv, int slot, const sw_process_status_t *st, unsigned flags)
{
    sw__task_t *tk = srv->task;
    int t = slot - tk->nw;
    bool task = t >= 0 && t < tk->nt;
    if (t >= 0 && t < tk->nt + tk->nu) {
        int32_t dead = (int32_t)st->pid;
        if (atomic_compare_exchange_strong(&tk->shm->tw[t].pid, &dead, 0)) {
            atomic_store(&tk->shm->tw[t].busy, 0);
        }
    }
    bool abnormal = !(flags & SW_SUP_EXIT_EXPECTED) && (st->signal != 0 || st->exit_code != 0);
    if (abnormal) {
        SW_LOG_WARNING(srv->log, "%s %d (pid %d) exited abnormally: code %d, signal %d",
                       task ? "task worker" : "user process", slot, (int)st->pid, st->exit_code,
                       st->signal);
        if (srv->h.on_worker_error) {
            srv->h.on_worker_error(srv, slot, st->pid, st->exit_code, st->signal, srv->arg);
        }
    }
}

/* ---- temp files -------------------------------------------------------------------------- */

static int tmp_write(sw__task_t *tk, const void *data, size_t len, char *path, size_t cap)
{
    int n = snprintf(path, cap, "%s/%sXXXXXX", tk->tmpdir, tk->tmp_prefix);
    if (n < 0 || (size_t)n >= cap) {
        return SW_ETASK_TMPFILE;
    }
    int fd = SW_FAULT("task_tmpfile", SW_ETASK_TMPFILE);
    if (fd == 0) {
        fd = mkostemp(path, O_CLOEXEC);
    }
    if (fd < 0) {
        SW_LOG_ERROR(tk->srv->log, "task: cannot create a file in %s: %s", tk->tmpdir,
                     sw_strerror(fd == SW_ETASK_TMPFILE ? fd : -errno));
        return SW_ETASK_TMPFILE;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            SW_LOG_ERROR(tk->srv->log, "task: cannot write %s: %s", path,
                         sw_strerror(w < 0 ? -errno : SW_EIO));
            close(fd);
            (void)unlink(path);
            return SW_ETASK_TMPFILE;
        }
        p += w;
        left -= (size_t)w;
    }
    close(fd);
    return 0;
}

/* A path carried by a message is used only if it is one of this server's temp files. */
static bool tmp_path_ok(const sw__task_t *tk, const char *path, size_t len)
{
    size_t dl = strlen(tk->tmpdir), pl = strlen(tk->tmp_prefix);
    if (len == 0 || path[len - 1] != '\0' || strlen(path) != len - 1) {
        return false;
    }
    if (strncmp(path, tk->tmpdir, dl) || path[dl] != '/' ||
        strncmp(path + dl + 1, tk->tmp_prefix, pl)) {
        return false;
    }
    return strchr(path + dl + 1, '/') == NULL;
}

void sw__task_drop_payload(sw__task_t *tk, unsigned flags, const void *data, size_t len)
{
    if ((flags & SW__TF_TMPFILE) && tmp_path_ok(tk, data, len)) {
        (void)unlink((const char *)data);
    }
}

int sw__task_load(sw__task_t *tk, unsigned flags, const void *data, size_t len, char **out,
                  size_t *out_len, bool copy)
{
    *out = NULL;
    *out_len = 0;
    if (!(flags & SW__TF_TMPFILE)) {
        if (copy) {
            char *c = sw__malloc(len + 1);
            if (!c) {
                return SW_ENOMEM;
            }
            if (len) {
                memcpy(c, data, len);
            }
            c[len] = '\0';
            *out = c;
        } else {
            *out = (char *)(uintptr_t)data;
        }
        *out_len = len;
        return 0;
    }
    const char *path = data;
    if (!tmp_path_ok(tk, path, len)) {
        SW_LOG_WARNING(tk->srv->log, "task: message names a file outside task_tmpdir: dropped");
        return SW_EIPC_ABNORMAL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = -errno;
        SW_LOG_ERROR(tk->srv->log, "task: cannot open %s: %s", path, sw_strerror(e));
        return SW_ETASK_TMPFILE;
    }
    int rc = 0;
    struct stat st;
    char *buf = NULL;
    size_t size = 0;
    if (fstat(fd, &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > SW__TASK_MAX_PAYLOAD) {
        rc = SW_ETASK_TMPFILE;
    } else {
        size = (size_t)st.st_size;
        buf = sw__malloc(size + 1);
        if (!buf) {
            rc = SW_ENOMEM;
        }
    }
    size_t got = 0;
    while (rc == 0 && got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            rc = SW_ETASK_TMPFILE;
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    (void)unlink(path);
    if (rc < 0) {
        SW_LOG_ERROR(tk->srv->log, "task: cannot read %s: %s", path, sw_strerror(rc));
        sw__free(buf);
        return rc;
    }
    buf[size] = '\0';
    *out = buf;
    *out_len = size;
    return 0;
}

int sw__task_send_payload(sw__task_t *tk, sw_ipc_endpoint_t *ep, sw_ipc_header_t *h,
                          const void *data, size_t len)
{
    if (len <= SW__TASK_INLINE_MAX) {
        h->ext &= ~(uint32_t)SW__TF_TMPFILE;
        return sw__ipc_send(ep, h, data, len);
    }
    char path[320];
    int rc = tmp_write(tk, data, len, path, sizeof(path));
    if (rc < 0) {
        return rc;
    }
    h->ext |= SW__TF_TMPFILE;
    rc = sw__ipc_send(ep, h, path, strlen(path) + 1);
    if (rc < 0) {
        (void)unlink(path);
    }
    return rc;
}

/* ---- member endpoints -------------------------------------------------------------------- */

static void inbox_msg(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *h, const void *data, size_t len,
                      void *arg);
static void wait_msg(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *h, const void *data, size_t len,
                     void *arg);

static void ep_options(sw__task_t *tk, sw_ipc_endpoint_options_t *eo, const char *name)
{
    sw__ipc_endpoint_options_init(eo);
    eo->sender_id = (uint16_t)tk->self;
    eo->arg = tk;
    eo->max_message = SW__TASK_MAX_PAYLOAD;
    eo->auto_cork = 0;
    eo->log = tk->srv->log;
    eo->name = name;
}

sw_ipc_endpoint_t *sw__task_out(sw__task_t *tk, int dst, bool waitbox, int *err)
{
    sw_ipc_endpoint_t **slot = waitbox ? &tk->wout_ep[dst] : &tk->out_ep[dst];
    if (*slot) {
        return *slot;
    }
    sw_ipc_endpoint_options_t eo;
    ep_options(tk, &eo, waitbox ? "task result" : "message");
    sw_ipc_channel_t *ch = waitbox ? tk->waitbox[dst] : tk->inbox[dst];
    int rc = sw__ipc_endpoint_create(slot, ch, 0, tk->loop, &eo);
    if (rc < 0) {
        *slot = NULL;
        *err = rc;
        return NULL;
    }
    return *slot;
}

int sw__task_member_attach(sw__task_t *tk, int self, int kind, sw_loop_t *loop)
{
    tk->self = self;
    tk->kind = kind;
    tk->loop = loop;
    /* The high half of task ids: the pid, or in THREAD mode a tag unique to this member
     * incarnation (every member shares the pid there). */
    tk->pid = tk->threaded ? (pid_t)(atomic_fetch_add(&tk->shm->tags, 1) + 1) : getpid();
    tk->next_seq = 0;
    tk->waits = NULL;
    tk->in_task = false;
    tk->stopping = false;
    tk->handled = 0;
    /* Keep: side 0 of every other inbox (to write), side 1 of ours (to read); the waitbox of
     * an event worker (side 1); side 0 of every waitbox in a task worker. */
    for (int i = 0; !tk->threaded && i < tk->np; i++) {
        (void)sw__ipc_channel_close_side(tk->inbox[i], i == self ? 0 : 1);
    }
    for (int i = 0; !tk->threaded && tk->waitbox && i < tk->nw; i++) {
        if (kind == SW__M_TASK) {
            (void)sw__ipc_channel_close_side(tk->waitbox[i], 1);
        } else if (kind == SW__M_WORKER && i == self) {
            (void)sw__ipc_channel_close_side(tk->waitbox[i], 0);
        } else {
            (void)sw__ipc_channel_destroy(tk->waitbox[i]);
            tk->waitbox[i] = NULL;
        }
    }
    if (kind == SW__M_TASK || kind == SW__M_USER) {
        /* Also set by the manager when it forks us, maybe after our on_worker_start: from here
         * on sw_server_stats counts us as a running task worker. */
        atomic_store(&tk->shm->tw[self - tk->nw].pid, (int32_t)getpid());
    }
    tk->out_ep = sw__calloc((size_t)tk->np, sizeof(*tk->out_ep));
    if (kind == SW__M_TASK && tk->nw > 0) {
        tk->wout_ep = sw__calloc((size_t)tk->nw, sizeof(*tk->wout_ep));
        if (!tk->wout_ep) {
            return SW_ENOMEM;
        }
    }
    if (!tk->out_ep) {
        return SW_ENOMEM;
    }
    sw_ipc_endpoint_options_t eo;
    ep_options(tk, &eo, "inbox");
    eo.on_message = inbox_msg;
    int rc = sw__ipc_endpoint_create(&tk->in_ep, tk->inbox[self], 1, loop, &eo);
    if (rc == 0 && kind == SW__M_WORKER && tk->waitbox) {
        ep_options(tk, &eo, "waitbox");
        eo.on_message = wait_msg;
        rc = sw__ipc_endpoint_create(&tk->wait_ep, tk->waitbox[self], 1, NULL, &eo);
    }
    if (rc < 0) {
        SW_LOG_ERROR(tk->srv->log, "worker %d: task/message endpoints: %s", self, sw_strerror(rc));
    }
    return rc;
}

void sw__task_member_detach(sw__task_t *tk, int flush_ms)
{
    if (tk->kind == SW__M_NONE) {
        return;
    }
    for (int i = 0; tk->out_ep && i < tk->np; i++) {
        if (tk->out_ep[i]) {
            (void)sw__ipc_flush(tk->out_ep[i], flush_ms);
            (void)sw__ipc_endpoint_destroy(tk->out_ep[i]);
        }
    }
    for (int i = 0; tk->wout_ep && i < tk->nw; i++) {
        if (tk->wout_ep[i]) {
            (void)sw__ipc_flush(tk->wout_ep[i], flush_ms);
            (void)sw__ipc_endpoint_destroy(tk->wout_ep[i]);
        }
    }
    if (tk->in_ep) {
        (void)sw__ipc_endpoint_destroy(tk->in_ep);
    }
    if (tk->wait_ep) {
        (void)sw__ipc_endpoint_destroy(tk->wait_ep);
    }
    sw__free(tk->out_ep);
    sw__free(tk->wout_ep);
    tk->out_ep = tk->wout_ep = NULL;
    tk->in_ep = tk->wait_ep = NULL;
    /* Let the loop finish the endpoints' deferred frees before it is destroyed. */
    if (tk->loop) {
        (void)sw_loop_run(tk->loop, SW_RUN_NOWAIT);
    }
    tk->kind = SW__M_NONE;
    tk->loop = NULL;
}

int sw__task_worker_attach(sw_server_t *srv, sw__worker_t *w)
{
    sw__task_t *tk = srv->task;
    if (srv->mode == SW_MODE_THREAD) {
        return sw__task_thread_attach(srv, w);
    }
    if (!tk || !tk->ready || srv->is_master) {
        return 0;
    }
    return sw__task_member_attach(tk, w->id, SW__M_WORKER, w->loop);
}

void sw__task_worker_detach(sw_server_t *srv, sw__worker_t *w)
{
    (void)w;
    if (srv->mode == SW_MODE_THREAD) {
        sw__task_thread_detach(srv);
        return;
    }
    sw__task_t *tk = srv->task;
    if (tk && tk->kind != SW__M_NONE) {
        sw__task_member_detach(tk, (int)(srv->o.max_wait_time * 1000));
    }
}

/* ---- receiving --------------------------------------------------------------------------- */

static void inbox_msg(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *h, const void *data, size_t len,
                      void *arg)
{
    (void)ep;
    sw__task_t *tk = arg;
    sw_server_t *srv = tk->srv;
    switch (h->type) {
    case SW_IPC_TASK:
        if (tk->kind == SW__M_TASK) {
            sw__task_run(tk, h, data, len);
            return;
        }
        break;
    case SW_IPC_FINISH:
        if (tk->kind == SW__M_WORKER && (uint32_t)(h->session >> 32) == (uint32_t)tk->pid &&
            srv->h.on_finish) {
            char *p;
            size_t n;
            if (sw__task_load(tk, h->ext, data, len, &p, &n, false) == 0) {
                srv->h.on_finish(srv, h->session, p, n, srv->arg);
                if (p != data) {
                    sw__free(p);
                }
            }
            return;
        }
        break;
    case SW_IPC_SEND:
        /* BASE: a session op from another member for a connection of ours (base_fwd.c). */
        if (tk->kind == SW__M_WORKER) {
            sw__base_fwd_run(srv, h, data, len);
        }
        return;
    case SW_IPC_PIPE_MESSAGE:
        if (srv->h.on_pipe_message) {
            srv->h.on_pipe_message(srv, h->worker_id, data, len, srv->arg);
        }
        return;
    default:
        SW_LOG_WARNING(srv->log, "worker %d: unexpected message type %d", tk->self, h->type);
        return;
    }
    /* Not for us (a result for a previous process with our id): only the file goes. */
    sw__task_drop_payload(tk, h->ext, data, len);
}

static void wait_msg(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *h, const void *data, size_t len,
                     void *arg)
{
    (void)ep;
    sw__task_t *tk = arg;
    for (size_t i = 0; h->type == SW_IPC_FINISH && i < tk->nwaits; i++) {
        sw__wait_t *wt = &tk->waits[i];
        if (wt->id != h->session || wt->done) {
            continue;
        }
        char *p;
        size_t n;
        int rc = sw__task_load(tk, h->ext, data, len, &p, &n, true);
        wt->done = true;
        wt->t->status = rc;
        if (rc == 0) {
            wt->t->result = p;
            wt->t->result_len = n;
        }
        return;
    }
    /* A result whose taskwait gave up: dropped (never given to another wait). */
    SW_LOG_DEBUG(tk->srv->log, "worker %d: late task result %llu dropped", tk->self,
                 (unsigned long long)h->session);
    sw__task_drop_payload(tk, h->ext, data, len);
}

/* ---- sending tasks ----------------------------------------------------------------------- */

static int sender_check(sw_server_t *srv)
{
    if (srv->o.task_worker_num == 0) {
        return SW_ENOTSUP;
    }
    sw__task_t *tk = sw__task_self(srv);
    if (!tk || !tk->ready || tk->kind != SW__M_WORKER || !sw__server_worker(srv)) {
        return SW_ENOT_WORKER;
    }
    return sw__server_check_thread(srv);
}

static int pick_task_worker(sw__task_t *tk)
{
    uint32_t start = atomic_fetch_add(&tk->shm->rr, 1) % (uint32_t)tk->nt;
    for (int i = 0; i < tk->nt; i++) {
        int t = (int)((start + (uint32_t)i) % (uint32_t)tk->nt);
        if (!atomic_load(&tk->shm->tw[t].busy)) {
            return t;
        }
    }
    return (int)start;
}

/* Modes 2/3: one queue message = header + payload (or the temp file's path). */
static int queue_send(sw__task_t *tk, sw_ipc_header_t *h, const void *data, size_t len, long type)
{
    char path[320];
    bool file = len > tk->inline_max;
    if (file) {
        int rc = tmp_write(tk, data, len, path, sizeof(path));
        if (rc < 0) {
            return rc;
        }
        h->ext |= SW__TF_TMPFILE;
        data = path;
        len = strlen(path) + 1;
    }
    char *buf = sw__malloc(SW_IPC_HEADER_SIZE + len);
    if (!buf) {
        if (file) {
            (void)unlink(path);
        }
        return SW_ENOMEM;
    }
    h->length = (uint32_t)len;
    h->magic = SW_IPC_MAGIC;
    h->flags = SW_IPC_FLAG_BEGIN | SW_IPC_FLAG_END;
    h->sender = (uint16_t)tk->self;
    memcpy(buf, h, SW_IPC_HEADER_SIZE);
    if (len) {
        memcpy(buf + SW_IPC_HEADER_SIZE, data, len);
    }
    int rc = sw__msgqueue_push(&tk->mq, type, buf, SW_IPC_HEADER_SIZE + len, 1);
    sw__free(buf);
    if (rc < 0 && file) {
        (void)unlink(path);
    }
    return rc;
}

static int send_task(sw__task_t *tk, const void *data, size_t len, int dst, unsigned flags,
                     uint64_t *id_out)
{
    if (len > SW__TASK_MAX_PAYLOAD) {
        return SW_EMSGSIZE;
    }
    if (++tk->next_seq == 0) {
        tk->next_seq = 1;
    }
    uint64_t id = (uint64_t)(uint32_t)tk->pid << 32 | tk->next_seq;
    sw_ipc_header_t h = {
        .type = SW_IPC_TASK, .session = id, .worker_id = (uint16_t)tk->self, .ext = flags};
    int rc;
    if (tk->mode == 1) {
        int t = dst >= 0 ? dst : pick_task_worker(tk);
        h.reactor_id = (uint16_t)t;
        sw_ipc_endpoint_t *ep = sw__task_out(tk, tk->nw + t, false, &rc);
        rc = ep ? sw__task_send_payload(tk, ep, &h, data, len) : rc;
    } else {
        int t = tk->mode == 2 ? (dst >= 0 ? dst : pick_task_worker(tk)) : -1;
        h.reactor_id = (uint16_t)(t < 0 ? 0xffff : t);
        rc = queue_send(tk, &h, data, len, t < 0 ? 1 : t + 1);
    }
    if (rc == 0) {
        atomic_fetch_add_explicit(&tk->shm->sent, 1, memory_order_relaxed);
    }
    if (rc == 0 && id_out) {
        *id_out = id;
    }
    return rc;
}

int sw_server_task(sw_server_t *srv, const void *data, size_t len, int dst_worker,
                   uint64_t *task_id)
{
    if (!srv || (!data && len > 0)) {
        return SW_EINVAL;
    }
    int rc = sender_check(srv);
    if (rc < 0) {
        return rc;
    }
    sw__task_t *tk = sw__task_self(srv);
    if (dst_worker < -1 || dst_worker >= tk->nt) {
        return SW_EINVAL;
    }
    return send_task(tk, data, len, dst_worker, 0, task_id);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sends every task of `tasks` with the WAIT flag and collects the results on the waitbox
 * until all came or `timeout_ms` passed. Returns the number of results. */
static int wait_tasks(sw__task_t *tk, sw_task_wait_t *tasks, size_t n, int timeout_ms, int dst)
{
    if (timeout_ms < 0) {
        timeout_ms = SW__TASK_WAIT_DEFAULT_MS;
    }
    sw__wait_t *ws = sw__calloc(n, sizeof(*ws));
    if (!ws) {
        return SW_ENOMEM;
    }
    uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
    size_t expected = 0;
    for (size_t i = 0; i < n; i++) {
        tasks[i].result = NULL;
        tasks[i].result_len = 0;
        ws[i].t = &tasks[i];
        int rc = send_task(tk, tasks[i].data, tasks[i].len, dst, SW__TF_WAIT, &ws[i].id);
        tasks[i].status = rc < 0 ? rc : SW_ETIMEDOUT;
        ws[i].done = rc < 0;
        expected += rc == 0;
    }
    /* Tasks that the channel did not take at once must leave before we wait. */
    for (int t = 0; tk->mode == 1 && t < tk->nt; t++) {
        sw_ipc_endpoint_t *ep = tk->out_ep[tk->nw + t];
        if (ep && sw__ipc_queued(ep) > 0) {
            uint64_t now = mono_ms();
            (void)sw__ipc_flush(ep, now < deadline ? (int)(deadline - now) : 0);
        }
    }
    tk->waits = ws;
    tk->nwaits = n;
    /* Every delivery on the waitbox runs wait_msg, which marks its slot done (or drops a
     * result nobody here waits for); stop when all slots are done or at the deadline. */
    while (expected > 0) {
        uint64_t now = mono_ms();
        if (now >= deadline) {
            break;
        }
        int rc = sw__ipc_recv_wait(tk->wait_ep, (int)(deadline - now));
        if (rc < 0 && rc != SW_ETIMEDOUT) {
            SW_LOG_ERROR(tk->srv->log, "worker %d: taskwait: %s", tk->self, sw_strerror(rc));
            break;
        }
        size_t done = 0;
        for (size_t i = 0; i < n; i++) {
            done += ws[i].done;
        }
        if (done == n) {
            break;
        }
    }
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        got += ws[i].done && tasks[i].status == 0;
    }
    tk->waits = NULL;
    tk->nwaits = 0;
    sw__free(ws);
    return (int)got;
}

int sw_server_taskwait(sw_server_t *srv, const void *data, size_t len, int timeout_ms,
                       int dst_worker, void **result, size_t *result_len)
{
    if (!srv || (!data && len > 0) || !result) {
        return SW_EINVAL;
    }
    *result = NULL;
    if (result_len) {
        *result_len = 0;
    }
    int rc = sender_check(srv);
    if (rc < 0) {
        return rc;
    }
    sw__task_t *tk = sw__task_self(srv);
    if (dst_worker < -1 || dst_worker >= tk->nt || tk->waits) {
        return SW_EINVAL;
    }
    sw_task_wait_t t = {.data = data, .len = len};
    rc = wait_tasks(tk, &t, 1, timeout_ms, dst_worker);
    if (rc < 0) {
        return rc;
    }
    if (t.status < 0) {
        return t.status;
    }
    *result = t.result;
    if (result_len) {
        *result_len = t.result_len;
    }
    return 0;
}

int sw_server_taskwait_multi(sw_server_t *srv, sw_task_wait_t *tasks, size_t n, int timeout_ms)
{
    if (!srv || !tasks || n == 0 || n > SW__TASK_MULTI_MAX) {
        return SW_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!tasks[i].data && tasks[i].len > 0) {
            return SW_EINVAL;
        }
    }
    int rc = sender_check(srv);
    if (rc < 0) {
        return rc;
    }
    sw__task_t *tk = sw__task_self(srv);
    if (tk->waits) {
        return SW_EINVAL;
    }
    return wait_tasks(tk, tasks, n, timeout_ms, -1);
}

void sw_server_task_free(void *result)
{
    sw__free(result);
}

int sw_server_task_finish(sw_server_t *srv, const void *data, size_t len)
{
    if (!srv || (!data && len > 0)) {
        return SW_EINVAL;
    }
    sw__task_t *tk = sw__task_self(srv);
    if (!tk || tk->kind != SW__M_TASK || !tk->in_task) {
        return SW_ENOT_WORKER;
    }
    if (tk->answered) {
        return SW_EALREADY;
    }
    if (len > SW__TASK_MAX_PAYLOAD) {
        return SW_EMSGSIZE;
    }
    if (tk->cur_src < 0 || tk->cur_src >= tk->nw) {
        return SW_EWORKER_ID;
    }
    bool wait = tk->cur_flags & SW__TF_WAIT;
    sw_ipc_header_t h = {.type = SW_IPC_FINISH,
                         .session = tk->cur_id,
                         .worker_id = (uint16_t)tk->self,
                         .reactor_id = (uint16_t)tk->cur_src,
                         .ext = wait ? SW__TF_WAIT : 0};
    int rc = SW_EINVAL;
    sw_ipc_endpoint_t *ep = sw__task_out(tk, tk->cur_src, wait, &rc);
    if (ep) {
        rc = sw__task_send_payload(tk, ep, &h, data, len);
    }
    if (rc == 0) {
        tk->answered = true;
    }
    return rc;
}
