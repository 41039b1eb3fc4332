/*
 * The process pool, master side: create, start on a loop, submit jobs, read replies, reload,
 * shutdown, destroy. Forking, reaping, respawning and the shutdown/reload deadlines are the
 * supervisor's (supervisor.c): the pool is one group of slots whose ids are the worker ids.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "core/log_int.h"
#include "process/pool_int.h"
#include "swoole/error.h"

#define REPLIES_PER_EVENT 64

void sw_pool_options_init(sw_pool_options_t *o)
{
    if (!o) {
        return;
    }
    memset(o, 0, sizeof(*o));
    o->worker_num = 1;
    o->ipc = SW_POOL_IPC_NONE;
    o->max_wait_ms = 3000;
    o->reload_mode = SW_POOL_RELOAD_ROLLING;
}

static int make_sockets(sw_pool_t *pool)
{
    int n = pool->o.ipc == SW_POOL_IPC_SOCKET ? (int)pool->o.worker_num : 1;
    pool->socks = sw__calloc((size_t)n, sizeof(*pool->socks));
    if (!pool->socks) {
        return SW_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        pool->socks[i][0] = pool->socks[i][1] = -1;
    }
    pool->nsocks = n;
    for (int i = 0; i < n; i++) {
        int r = SW_FAULT("socketpair", SW_EMFILE);
        if (r == 0 && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pool->socks[i]) != 0) {
            r = -errno;
        }
        if (r < 0) {
            pool->socks[i][0] = pool->socks[i][1] = -1;
            return r;
        }
        int fl = fcntl(pool->socks[i][0], F_GETFL);
        if (fl < 0 || fcntl(pool->socks[i][0], F_SETFL, fl | O_NONBLOCK) != 0) {
            return -errno;
        }
    }
    return 0;
}

void sw__pool_release(sw_pool_t *pool)
{
    for (int i = 0; i < pool->nsocks; i++) {
        for (int j = 0; j < 2; j++) {
            if (pool->socks[i][j] >= 0) {
                close(pool->socks[i][j]);
            }
        }
    }
    sw__free(pool->socks);
    if (pool->has_queue) {
        sw__msgqueue_close(&pool->queue);
    }
    sw__free(pool->ios);
    sw__free(pool->rbuf);
    sw__free(pool);
}

int sw_pool_create(sw_pool_t **out, const sw_pool_options_t *opts, const sw_pool_handlers_t *h,
                   void *arg)
{
    sw_pool_options_t o;
    if (opts) {
        o = *opts;
    } else {
        sw_pool_options_init(&o);
    }
    if (!out || !h || (!h->on_worker && !h->on_job) || o.worker_num == 0 ||
        o.worker_num > SW_POOL_MAX_WORKERS || (unsigned)o.ipc > SW_POOL_IPC_SOCKET_SHARED ||
        (unsigned)o.reload_mode > SW_POOL_RELOAD_ASYNC ||
        (!h->on_worker && o.ipc == SW_POOL_IPC_NONE)) {
        return SW_EINVAL;
    }
    sw_pool_t *pool = sw__calloc(1, sizeof(*pool));
    if (!pool) {
        return SW_ENOMEM;
    }
    pool->o = o;
    pool->h = *h;
    pool->arg = arg;
    pool->worker_id = -1;
    pool->queue.id = -1;
    int r = 0;
    if (o.ipc == SW_POOL_IPC_QUEUE) {
        r = sw__msgqueue_open(&pool->queue, o.queue_key, o.queue_key == 0);
        pool->has_queue = r == 0;
    } else if (o.ipc == SW_POOL_IPC_SOCKET || o.ipc == SW_POOL_IPC_SOCKET_SHARED) {
        r = make_sockets(pool);
    }
    if (r < 0) {
        sw__pool_release(pool);
        return r;
    }
    *out = pool;
    return 0;
}

/* ---- supervisor callbacks (master) -------------------------------------------------------- */

static void on_sup_spawn(sw_sup_t *sup, int slot, pid_t pid, void *arg)
{
    (void)sup;
    sw_pool_t *pool = arg;
    if (pool->h.on_spawn) {
        pool->h.on_spawn(pool, slot, pid, pool->arg);
    }
}

static void on_sup_exit(sw_sup_t *sup, int slot, const sw_process_status_t *st, unsigned flags,
                        void *arg)
{
    (void)sup;
    sw_pool_t *pool = arg;
    if (pool->h.on_exit) {
        pool->h.on_exit(pool, slot, st, (flags & SW_SUP_EXIT_EXPECTED) ? 1 : 0, pool->arg);
    }
}

static void on_sup_reload(sw_sup_t *sup, void *arg)
{
    (void)sup;
    sw_pool_t *pool = arg;
    if (pool->h.on_reload) {
        pool->h.on_reload(pool, pool->arg);
    }
}

static void stop_master_watchers(sw_pool_t *pool)
{
    if (pool->ios_on) {
        for (int i = 0; i < pool->nsocks; i++) {
            sw_io_stop(&pool->ios[i]);
        }
        pool->ios_on = 0;
    }
    if (pool->sigs_on) {
        for (int i = 0; i < 3; i++) {
            sw_signal_stop(&pool->sig[i]);
        }
        pool->sigs_on = 0;
    }
}

static void on_sup_stopped(sw_sup_t *sup, void *arg)
{
    (void)sup;
    sw_pool_t *pool = arg;
    stop_master_watchers(pool);
    pool->state = POOL_STOPPED;
    /* Last statement: the user may destroy the pool here. */
    if (pool->h.on_stopped) {
        pool->h.on_stopped(pool, pool->arg);
    }
}

/* ---- master watchers ---------------------------------------------------------------------- */

static void reply_cb(sw_io_t *io, int events, void *arg)
{
    (void)events;
    sw_pool_t *pool = arg;
    int fd = io->fd;
    for (int i = 0; i < REPLIES_PER_EVENT && pool->ios_on; i++) {
        ssize_t n = recv(fd, pool->rbuf, sizeof(reply_hdr_t) + SW_POOL_MESSAGE_MAX, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                SW_LOG_WARNING(pool->o.log, "pool: reading replies: %s", strerror(errno));
            }
            return;
        }
        reply_hdr_t hdr;
        if ((size_t)n < sizeof(hdr)) {
            continue;
        }
        memcpy(&hdr, pool->rbuf, sizeof(hdr));
        if (hdr.worker_id < 0 || (unsigned)hdr.worker_id >= pool->o.worker_num) {
            SW_LOG_WARNING(pool->o.log, "pool: reply from unknown worker %d dropped",
                           (int)hdr.worker_id);
            continue;
        }
        if (pool->h.on_reply) {
            pool->h.on_reply(pool, hdr.worker_id, pool->rbuf + sizeof(hdr), (size_t)n - sizeof(hdr),
                             pool->arg);
        }
    }
}

static void signal_cb(sw_signal_t *sig, int signum, void *arg)
{
    (void)sig;
    sw_pool_t *pool = arg;
    if (signum == SIGUSR1) {
        int r = sw_pool_reload(pool);
        if (r < 0) {
            SW_LOG_NOTICE(pool->o.log, "pool: SIGUSR1: reload refused: %s", sw_strerror(r));
        }
    } else {
        (void)sw_pool_shutdown(pool);
    }
}

static int start_master_watchers(sw_pool_t *pool)
{
    if (pool->nsocks > 0) {
        pool->rbuf = sw__malloc(sizeof(reply_hdr_t) + SW_POOL_MESSAGE_MAX);
        pool->ios = sw__calloc((size_t)pool->nsocks, sizeof(sw_io_t));
        if (!pool->rbuf || !pool->ios) {
            return SW_ENOMEM;
        }
        for (int i = 0; i < pool->nsocks; i++) {
            int r = sw_io_init(pool->loop, &pool->ios[i], pool->socks[i][0], reply_cb, pool);
            if (r == 0) {
                r = sw_io_start(&pool->ios[i], SW_EVENT_READ);
            }
            if (r < 0) {
                for (int j = 0; j < i; j++) {
                    sw_io_stop(&pool->ios[j]);
                }
                return r;
            }
        }
        pool->ios_on = 1;
    }
    if (pool->o.handle_signals) {
        static const int signals[3] = {SIGTERM, SIGINT, SIGUSR1};
        for (int i = 0; i < 3; i++) {
            int r = sw_signal_init(pool->loop, &pool->sig[i], signal_cb, pool);
            if (r == 0) {
                r = sw_signal_start(&pool->sig[i], signals[i]);
            }
            if (r < 0) {
                for (int j = 0; j < i; j++) {
                    sw_signal_stop(&pool->sig[j]);
                }
                return r;
            }
        }
        pool->sigs_on = 1;
    }
    return 0;
}

/* ---- public master calls ------------------------------------------------------------------ */

int sw_pool_start(sw_pool_t *pool, sw_loop_t *loop)
{
    if (!pool || !loop) {
        return SW_EINVAL;
    }
    if (pool->worker_id >= 0) {
        return SW_ENOT_MASTER;
    }
    if (pool->state != POOL_CREATED) {
        return SW_EALREADY;
    }
    sw_sup_options_t so;
    sw__sup_options_init(&so);
    so.max_wait_ms = pool->o.max_wait_ms;
    so.log = pool->o.log;
    so.name = "pool";
    so.arg = pool;
    so.on_spawn = on_sup_spawn;
    so.on_exit = on_sup_exit;
    so.on_reload_done = on_sup_reload;
    so.on_stopped = on_sup_stopped;
    pool->loop = loop;
    int r = sw__sup_create(&pool->sup, loop, &so);
    for (unsigned i = 0; r == 0 && i < pool->o.worker_num; i++) {
        int slot = sw__sup_add_slot(pool->sup, 0, 0, sw__pool_worker_main, pool);
        r = slot < 0 ? slot : 0;
    }
    if (r == 0) {
        r = start_master_watchers(pool);
    }
    if (r == 0) {
        pool->state = POOL_RUNNING;
        r = sw__sup_start(pool->sup);
    }
    if (r < 0) {
        stop_master_watchers(pool);
        if (pool->sup) {
            sw__sup_destroy(pool->sup);
            pool->sup = NULL;
        }
        pool->state = POOL_STOPPED;
        return r;
    }
    return 0;
}

static ssize_t send_job(int fd, const void *data, size_t len)
{
    ssize_t n;
    do {
        n = send(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

int sw_pool_submit(sw_pool_t *pool, int worker_id, const void *data, size_t len)
{
    if (!pool || (!data && len > 0)) {
        return SW_EINVAL;
    }
    if (pool->worker_id >= 0) {
        return SW_ENOT_MASTER;
    }
    if (pool->o.ipc == SW_POOL_IPC_NONE) {
        return SW_ENOTSUP;
    }
    if (worker_id < -1 || worker_id >= (int)pool->o.worker_num ||
        (worker_id >= 0 && pool->o.ipc != SW_POOL_IPC_SOCKET)) {
        return SW_EINVAL;
    }
    if (pool->state != POOL_RUNNING) {
        return SW_ESERVER_STATE;
    }
    if (pool->o.ipc == SW_POOL_IPC_QUEUE) {
        return sw__msgqueue_push(&pool->queue, POOL_JOB_TYPE, data, len, 1);
    }
    if (len > SW_POOL_MESSAGE_MAX) {
        return SW_EMSGSIZE;
    }
    if (pool->o.ipc == SW_POOL_IPC_SOCKET_SHARED) {
        return (int)send_job(pool->socks[0][0], data, len);
    }
    if (worker_id >= 0) {
        return (int)send_job(pool->socks[worker_id][0], data, len);
    }
    /* Round-robin, skipping workers whose socket is full. */
    for (unsigned i = 0; i < pool->o.worker_num; i++) {
        unsigned w = (pool->rr + i) % pool->o.worker_num;
        int r = (int)send_job(pool->socks[w][0], data, len);
        if (r != SW_EAGAIN) {
            if (r == 0) {
                pool->rr = w + 1;
            }
            return r;
        }
    }
    return SW_EAGAIN;
}

int sw_pool_reload(sw_pool_t *pool)
{
    if (!pool) {
        return SW_EINVAL;
    }
    if (pool->worker_id >= 0) {
        return SW_ENOT_MASTER;
    }
    if (pool->state != POOL_RUNNING) {
        return SW_ESERVER_STATE;
    }
    int mode =
        pool->o.reload_mode == SW_POOL_RELOAD_ASYNC ? SW_SUP_RELOAD_ASYNC : SW_SUP_RELOAD_ROLLING;
    return sw__sup_reload(pool->sup, 1u, mode);
}

int sw_pool_shutdown(sw_pool_t *pool)
{
    if (!pool) {
        return SW_EINVAL;
    }
    if (pool->worker_id >= 0) {
        return SW_ENOT_MASTER;
    }
    if (pool->state == POOL_CREATED) {
        return SW_ESERVER_STATE;
    }
    if (pool->state != POOL_RUNNING) {
        return 0;
    }
    pool->state = POOL_STOPPING;
    return sw__sup_shutdown(pool->sup);
}

int sw_pool_destroy(sw_pool_t *pool)
{
    if (!pool) {
        return SW_EINVAL;
    }
    if (pool->worker_id >= 0) {
        if (pool->in_worker_main) {
            pool->destroy_pending = 1;
            return 0;
        }
        sw__pool_release(pool);
        return 0;
    }
    if (pool->state == POOL_RUNNING || pool->state == POOL_STOPPING) {
        return SW_EBUSY;
    }
    if (pool->sup) {
        /* From inside on_stopped the supervisor frees itself when its callback returns. */
        sw__sup_destroy(pool->sup);
        pool->sup = NULL;
    }
    sw__pool_release(pool);
    return 0;
}

int sw_pool_worker_pid(const sw_pool_t *pool, int worker_id)
{
    if (!pool || worker_id < 0 || worker_id >= (int)pool->o.worker_num) {
        return SW_EINVAL;
    }
    if (pool->worker_id >= 0) {
        return worker_id == pool->worker_id ? (int)getpid() : SW_ENOT_MASTER;
    }
    if (!pool->sup) {
        return 0;
    }
    return (int)sw__sup_pid(pool->sup, worker_id);
}

int sw_pool_queue_id(const sw_pool_t *pool)
{
    if (!pool) {
        return SW_EINVAL;
    }
    return pool->has_queue ? pool->queue.id : SW_ENOENT;
}

int sw_pool_worker_id(const sw_pool_t *pool)
{
    return pool ? pool->worker_id : -1;
}

void sw_pool_set_data(sw_pool_t *pool, void *data)
{
    if (pool) {
        pool->data = data;
    }
}

void *sw_pool_get_data(const sw_pool_t *pool)
{
    return pool ? pool->data : NULL;
}
