/*
 * The server object: create and destroy, options and handlers, listen, start and the
 * process-wide preparations around it (log, limits, daemon, pid file, shared memory), and the
 * requests any process may make (shutdown, reload, getters, the loop, timers).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log_int.h"
#include "server/server_int.h"
#include "server/task_int.h"
#include "swoole/error.h"
#include "swoole/process.h"
#include "swoole/timer.h"

void sw_port_options_init(sw_port_options_t *o)
{
    if (!o) {
        return;
    }
    memset(o, 0, sizeof(*o));
    sw_protocol_init(&o->protocol);
    o->backlog = SW__DEFAULT_BACKLOG;
    o->socket_buffer_size = SW__DEFAULT_SOCKET_BUFFER;
    o->open_tcp_nodelay = true;
    o->tcp_keepidle = 3600;
    o->tcp_keepinterval = 60;
    o->tcp_keepcount = 5;
}

static int nofile_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > (rlim_t)SW__MAX_CONN_LIMIT) {
        return SW__MAX_CONN_LIMIT;
    }
    return (int)rl.rlim_cur;
}

void sw_server_options_init(sw_server_options_t *o)
{
    if (!o) {
        return;
    }
    memset(o, 0, sizeof(*o));
    int cpus = sw__cpu_count();
    o->worker_num = cpus;
    o->reactor_num = cpus < 8 ? cpus : 8;
    o->dispatch_mode = 2;
    o->task_ipc_mode = 1;
    int lim = nofile_limit();
    o->max_conn = lim < SW__DEFAULT_MAX_CONN ? lim : SW__DEFAULT_MAX_CONN;
    o->max_wait_time = 3.0;
    o->reload_async = true;
    o->discard_timeout_request = true;
    o->log_level = SW_LOG_WARNING;
    sw_port_options_init(&o->port);
}

int sw_server_create(sw_server_t **out, sw_server_mode_t mode)
{
    if (!out || (mode != SW_MODE_BASE && mode != SW_MODE_PROCESS && mode != SW_MODE_THREAD)) {
        return SW_EINVAL;
    }
    sw_server_t *srv = sw__calloc(1, sizeof(*srv));
    if (!srv) {
        return SW_ENOMEM;
    }
    srv->mode = mode;
    srv->ops = mode == SW_MODE_BASE      ? &sw__mode_base
               : mode == SW_MODE_PROCESS ? &sw__mode_process
                                         : &sw__mode_thread;
    atomic_init(&srv->state, SW__S_CREATED);
    sw_server_options_init(&srv->o);
    *out = srv;
    return 0;
}

int sw_server_destroy(sw_server_t *srv)
{
    if (!srv) {
        return SW_EINVAL;
    }
    int st = atomic_load(&srv->state);
    if (st == SW__S_RUNNING || st == SW__S_STOPPING) {
        return SW_ESERVER_STATE;
    }
    for (int i = 0; i < srv->nports; i++) {
        sw__port_destroy(srv->ports[i]);
    }
    sw__free(srv->ports);
    sw__options_free_strings(srv);
    sw__task_free(srv);
    sw_log_destroy(srv->own_log);
    sw__free(srv);
    return 0;
}

int sw_server_mode(const sw_server_t *srv)
{
    return srv ? (int)srv->mode : SW_EINVAL;
}

int sw_server_set_options(sw_server_t *srv, const sw_server_options_t *opts)
{
    if (!srv || !opts) {
        return SW_EINVAL;
    }
    if (atomic_load(&srv->state) != SW__S_CREATED) {
        return SW_ESERVER_STATE;
    }
    int r = sw__options_check(opts);
    if (r < 0) {
        return r;
    }
    sw_server_options_t copy = *opts;
    r = sw__options_copy_strings(srv, opts);
    if (r < 0) {
        return r;
    }
    copy.pid_file = srv->s_pid_file;
    copy.log_file = srv->s_log_file;
    copy.user = srv->s_user;
    copy.group = srv->s_group;
    copy.chroot = srv->s_chroot;
    srv->o = copy;
    return 0;
}

int sw_server_get_options(const sw_server_t *srv, sw_server_options_t *opts)
{
    if (!srv || !opts) {
        return SW_EINVAL;
    }
    *opts = srv->o;
    return 0;
}

int sw_server_set_option(sw_server_t *srv, const char *name, const char *value)
{
    if (!srv || !name || !value) {
        return SW_EINVAL;
    }
    if (atomic_load(&srv->state) != SW__S_CREATED) {
        return SW_ESERVER_STATE;
    }
    return sw__options_set(srv, name, value);
}

int sw_server_set_handlers(sw_server_t *srv, const sw_server_handlers_t *h, void *arg)
{
    if (!srv || !h) {
        return SW_EINVAL;
    }
    if (atomic_load(&srv->state) != SW__S_CREATED) {
        return SW_ESERVER_STATE;
    }
    srv->h = *h;
    srv->arg = arg;
    return 0;
}

void sw_server_set_data(sw_server_t *srv, void *data)
{
    if (srv) {
        srv->data = data;
    }
}

void *sw_server_get_data(const sw_server_t *srv)
{
    return srv ? srv->data : NULL;
}

int sw_server_listen(sw_server_t *srv, const char *host, int port, sw_sock_type_t type,
                     sw_port_t **out)
{
    if (!srv || !host) {
        return SW_EINVAL;
    }
    if (atomic_load(&srv->state) != SW__S_CREATED) {
        return SW_ESERVER_STATE;
    }
    if (srv->nports >= 65535) {
        return SW_EINVAL;
    }
    sw_port_t **ports = sw__realloc(srv->ports, (size_t)(srv->nports + 1) * sizeof(*ports));
    if (!ports) {
        return SW_ENOMEM;
    }
    srv->ports = ports;
    sw_port_t *p = NULL;
    int r = sw__port_create(srv, host, port, type, &p);
    if (r < 0) {
        return r;
    }
    p->index = srv->nports;
    srv->ports[srv->nports++] = p;
    if (out) {
        *out = p;
    }
    return 0;
}

/* ---- start ---------------------------------------------------------------------------------- */

static int setup_log(sw_server_t *srv)
{
    if (srv->o.log) {
        srv->log = srv->o.log;
        return 0;
    }
    if (!srv->own_log) {
        int r = sw_log_create(&srv->own_log);
        if (r < 0) {
            return r;
        }
    }
    sw_log_set_level(srv->own_log, (sw_log_level_t)srv->o.log_level);
    int r = srv->o.log_file ? sw_log_set_file(srv->own_log, srv->o.log_file)
                            : sw_log_set_fd(srv->own_log, 2);
    if (r < 0) {
        return r;
    }
    srv->log = srv->own_log;
    return 0;
}

static int write_pid_file(sw_server_t *srv)
{
    if (!srv->o.pid_file) {
        return 0;
    }
    int fd = open(srv->o.pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = -errno;
        SW_LOG_ERROR(srv->log, "server: cannot write pid_file %s: %s", srv->o.pid_file,
                     sw_strerror(e));
        return e;
    }
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
    ssize_t w = write(fd, buf, (size_t)n);
    close(fd);
    if (w != n) {
        return SW_EIO;
    }
    srv->pid_file_written = true;
    return 0;
}

/* Everything that must hold before a process is forked or a connection accepted. */
static int prepare(sw_server_t *srv)
{
    int r = setup_log(srv);
    if (r < 0) {
        return r;
    }
    int lim = nofile_limit();
    if (srv->mode == SW_MODE_BASE && srv->o.worker_num > 1) {
        /* BASE: every worker is a process of its own, with its own open file limit. */
        int64_t all = (int64_t)lim * srv->o.worker_num;
        lim = all < SW__MAX_CONN_LIMIT ? (int)all : SW__MAX_CONN_LIMIT;
    }
    if (srv->o.max_conn > lim) {
        SW_LOG_WARNING(srv->log,
                       "server: max_conn %d is above the open file limit (ulimit -n) %d: "
                       "lowered to %d; raise the limit to accept more",
                       srv->o.max_conn, lim, lim);
        srv->o.max_conn = lim;
    }
    if (srv->o.heartbeat_check_interval > 0 && srv->o.heartbeat_idle_time <= 0) {
        srv->o.heartbeat_idle_time = srv->o.heartbeat_check_interval * 2;
    } else if (srv->o.heartbeat_idle_time > 0 && srv->o.heartbeat_check_interval <= 0) {
        srv->o.heartbeat_check_interval = srv->o.heartbeat_idle_time / 2;
    }
    /* Writes to peers that went away must not kill the process (the library's own socket
     * writes use MSG_NOSIGNAL, but sendfile(2) and user code may raise it). */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGPIPE, &sa, NULL);
    if (srv->o.daemonize) {
        r = sw_process_daemon(1, 0);
        if (r < 0) {
            return r;
        }
    }
    for (int i = 0; i < srv->nports; i++) {
        r = sw__port_prepare(srv->ports[i], srv->o.enable_reuse_port);
        if (r < 0) {
            SW_LOG_ERROR(srv->log, "server: port %d: %s", i, sw_strerror(r));
            return r;
        }
    }
    r = sw__shared_create(srv);
    if (r < 0) {
        return r;
    }
    srv->master_pid = getpid();
    srv->master_thread = pthread_self();
    srv->is_master = true;
    atomic_store(&srv->shm->master_pid, (int32_t)srv->master_pid);
    atomic_store(&srv->shm->running, 1);
    return write_pid_file(srv);
}

int sw_server_start(sw_server_t *srv)
{
    if (!srv) {
        return SW_EINVAL;
    }
    if (atomic_load(&srv->state) != SW__S_CREATED || srv->nports == 0) {
        return SW_ESERVER_STATE;
    }
    if (!srv->ops) {
        return SW_ENOTSUP;
    }
    /* Configuration errors leave the server as it was: fix the option and start again. */
    int r = sw__options_check(&srv->o);
    if (r == 0) {
        r = sw__task_check(srv);
    }
    for (int i = 0; r == 0 && i < srv->nports; i++) {
        r = sw__port_resolve(srv->ports[i]);
    }
    if (r < 0) {
        return r;
    }
    atomic_store(&srv->state, SW__S_RUNNING);
    r = prepare(srv);
    if (r == 0) {
        r = srv->ops->start(srv);
    }
    atomic_store(&srv->state, SW__S_STOPPED);
    if (srv->pid_file_written && srv->master_pid == getpid()) {
        (void)unlink(srv->o.pid_file);
        srv->pid_file_written = false;
    }
    sw__shared_destroy(srv);
    return r;
}

/* ---- requests from any process ------------------------------------------------------------ */

static void post_shutdown_cb(sw_loop_t *loop, void *arg)
{
    (void)loop;
    sw__server_begin_shutdown(arg);
}

int sw_server_shutdown(sw_server_t *srv)
{
    if (!srv) {
        return SW_EINVAL;
    }
    int st = atomic_load(&srv->state);
    if (st == SW__S_STOPPING) {
        return 0;
    }
    if (st != SW__S_RUNNING || !srv->shm) {
        return SW_ESERVER_STATE;
    }
    if (srv->is_master) {
        sw_loop_t *loop =
            srv->master_loop ? srv->master_loop : (srv->worker ? srv->worker->loop : NULL);
        if (!loop) {
            return SW_ESERVER_STATE;
        }
        return sw_loop_post(loop, post_shutdown_cb, srv);
    }
    pid_t master = atomic_load(&srv->shm->master_pid);
    if (master <= 0 || kill(master, SIGTERM) != 0) {
        return SW_ESERVER_STATE;
    }
    return 0;
}

static void post_reload_cb(sw_loop_t *loop, void *arg)
{
    (void)loop;
    (void)sw__manager_reload(arg);
}

int sw_server_reload(sw_server_t *srv)
{
    if (!srv) {
        return SW_EINVAL;
    }
    if (atomic_load(&srv->state) != SW__S_RUNNING || !srv->shm) {
        return SW_ESERVER_STATE;
    }
    if (srv->mode == SW_MODE_THREAD) {
        return srv->proc ? sw__process_reload(srv) : SW_ESERVER_STATE;
    }
    pid_t manager = atomic_load(&srv->shm->manager_pid);
    if (manager <= 0) {
        return SW_ENOTSUP;
    }
    if (srv->proc && srv->is_master) {
        return sw__process_reload(srv);
    }
    if (srv->is_master && srv->master_loop) {
        return sw_loop_post(srv->master_loop, post_reload_cb, srv);
    }
    return kill(manager, SIGUSR1) == 0 ? 0 : SW_ESERVER_STATE;
}

/* ---- loop, timers, getters ----------------------------------------------------------------- */

sw_loop_t *sw_server_loop(const sw_server_t *srv)
{
    if (!srv) {
        return NULL;
    }
    sw__worker_t *w = sw__server_worker(srv);
    if (w && w->loop) {
        return w->loop;
    }
    return srv->is_master ? srv->master_loop : NULL;
}

/* THREAD mode: the worker of the calling worker thread. A thread belongs to at most one
 * worker of one server at a time, so one pointer per thread is enough; the server is checked
 * because several servers may run in one process. */
static _Thread_local sw__worker_t *tl_worker;

sw__worker_t *sw__server_worker(const sw_server_t *srv)
{
    if (srv->mode == SW_MODE_THREAD) {
        sw__worker_t *w = tl_worker;
        return w && w->srv == srv ? w : NULL;
    }
    return srv->worker;
}

void sw__server_set_worker(sw_server_t *srv, sw__worker_t *w)
{
    if (srv->mode == SW_MODE_THREAD) {
        tl_worker = w;
    } else {
        srv->worker = w;
    }
}

int sw__server_check_thread(const sw_server_t *srv)
{
    sw__worker_t *w = sw__server_worker(srv);
    if (w && w->reactor) {
        return pthread_equal(w->reactor->thread, pthread_self()) ? 0 : SW_ELOOP_THREAD;
    }
    if (w && (srv->mode != SW_MODE_BASE || !w->reactor)) {
        return pthread_equal(w->thread, pthread_self()) ? 0 : SW_ELOOP_THREAD;
    }
    if (srv->is_master && srv->master_loop) {
        return pthread_equal(srv->master_thread, pthread_self()) ? 0 : SW_ELOOP_THREAD;
    }
    return SW_ESERVER_STATE;
}

static int timer_loop(sw_server_t *srv, sw_loop_t **loop)
{
    if (!srv) {
        return SW_EINVAL;
    }
    *loop = sw_server_loop(srv);
    if (!*loop) {
        return SW_ESERVER_STATE;
    }
    return sw__server_check_thread(srv);
}

int sw_server_after(sw_server_t *srv, uint64_t ms, sw_timer_cb cb, void *arg, uint64_t *id)
{
    sw_loop_t *loop;
    int r = timer_loop(srv, &loop);
    return r < 0 ? r : sw_timer_after(loop, ms, cb, arg, id);
}

int sw_server_tick(sw_server_t *srv, uint64_t ms, sw_timer_cb cb, void *arg, uint64_t *id)
{
    sw_loop_t *loop;
    int r = timer_loop(srv, &loop);
    return r < 0 ? r : sw_timer_tick(loop, ms, cb, arg, id);
}

int sw_server_clear_timer(sw_server_t *srv, uint64_t id)
{
    sw_loop_t *loop;
    int r = timer_loop(srv, &loop);
    return r < 0 ? r : sw_timer_clear(loop, id);
}

pid_t sw_server_master_pid(const sw_server_t *srv)
{
    if (!srv || !srv->shm) {
        return 0;
    }
    return atomic_load(&srv->shm->master_pid);
}

pid_t sw_server_manager_pid(const sw_server_t *srv)
{
    if (!srv || !srv->shm) {
        return 0;
    }
    return atomic_load(&srv->shm->manager_pid);
}

int sw_server_worker_id(const sw_server_t *srv)
{
    sw__worker_t *w = srv ? sw__server_worker(srv) : NULL;
    return w ? w->id : -1;
}

pid_t sw_server_worker_pid(const sw_server_t *srv)
{
    sw__worker_t *w = srv ? sw__server_worker(srv) : NULL;
    return w ? w->pid : 0;
}

pid_t sw_server_get_worker_pid(const sw_server_t *srv, int worker_id)
{
    if (!srv) {
        return SW_EINVAL;
    }
    if (!srv->shm) {
        return SW_ESERVER_STATE;
    }
    if (worker_id >= srv->shm->worker_num) {
        return sw__task_worker_pid(srv, worker_id); /* task workers, user processes */
    }
    if (worker_id < 0) {
        return SW_EWORKER_ID;
    }
    return atomic_load(&srv->shm_workers[worker_id].pid);
}

sw__reactor_t *sw__server_local_reactor(const sw_server_t *srv, int owner)
{
    if (srv->worker && srv->worker->reactor && srv->worker->reactor->id == owner) {
        return srv->worker->reactor;
    }
    if (srv->mode == SW_MODE_THREAD && sw__server_worker(srv)) {
        /* A THREAD-mode worker thread reaches the reactor threads over its channels (in
         * order with its binds, with PROCESS's backpressure), as a PROCESS worker does. */
        return NULL;
    }
    if (srv->proc && srv->is_master) {
        return sw__process_reactor(srv, owner);
    }
    return NULL;
}

/* ---- worker process settings --------------------------------------------------------------- */

/* CPU affinity, chroot, group and user of a forked worker. Errors are logged; the worker then
 * exits (the caller checks the return value). */
int sw__server_worker_settings(sw_server_t *srv, int worker_id)
{
    if (srv->o.open_cpu_affinity) {
        /* Worker i takes the i-th CPU (modulo) of those this process may run on, minus the
         * ignored ones. */
        cpu_set_t allowed, set;
        CPU_ZERO(&allowed);
        int n = 0;
        if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
            for (int i = 0; i < srv->o.cpu_affinity_ignore_num; i++) {
                int c = srv->o.cpu_affinity_ignore[i];
                if (c >= 0 && c < CPU_SETSIZE) {
                    CPU_CLR(c, &allowed);
                }
            }
            n = CPU_COUNT(&allowed);
        }
        if (n > 0) {
            int want = worker_id % n;
            CPU_ZERO(&set);
            for (int c = 0; c < CPU_SETSIZE; c++) {
                if (CPU_ISSET(c, &allowed) && want-- == 0) {
                    CPU_SET(c, &set);
                    break;
                }
            }
            if (sched_setaffinity(0, sizeof(set), &set) != 0) {
                SW_LOG_WARNING(srv->log, "worker %d: cpu affinity: %s", worker_id,
                               sw_strerror(-errno));
            }
        }
    }
    gid_t gid = (gid_t)-1;
    uid_t uid = (uid_t)-1;
    if (srv->o.group) {
        struct group *g = getgrnam(srv->o.group);
        if (!g) {
            SW_LOG_ERROR(srv->log, "worker %d: no group %s", worker_id, srv->o.group);
            return SW_EINVAL;
        }
        gid = g->gr_gid;
    }
    if (srv->o.user) {
        struct passwd *pw = getpwnam(srv->o.user);
        if (!pw) {
            SW_LOG_ERROR(srv->log, "worker %d: no user %s", worker_id, srv->o.user);
            return SW_EINVAL;
        }
        uid = pw->pw_uid;
        if (gid == (gid_t)-1) {
            gid = pw->pw_gid;
        }
    }
    if (srv->o.chroot && (chroot(srv->o.chroot) != 0 || chdir("/") != 0)) {
        int e = -errno;
        SW_LOG_ERROR(srv->log, "worker %d: chroot %s: %s", worker_id, srv->o.chroot,
                     sw_strerror(e));
        return e;
    }
    if (gid != (gid_t)-1 && (setgroups(0, NULL) != 0 || setgid(gid) != 0)) {
        int e = -errno;
        SW_LOG_ERROR(srv->log, "worker %d: setgid: %s", worker_id, sw_strerror(e));
        return e;
    }
    if (uid != (uid_t)-1 && setuid(uid) != 0) {
        int e = -errno;
        SW_LOG_ERROR(srv->log, "worker %d: setuid: %s", worker_id, sw_strerror(e));
        return e;
    }
    return 0;
}
