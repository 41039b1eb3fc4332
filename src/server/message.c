/*
 * Worker messages (sw_server_send_message -> on_pipe_message) and user processes
 * (sw_server_add_process). Messages use the inbox channels of task_int.h in every
 * task_ipc_mode: one unix datagram socket per member, chunked by the ipc bus, so a message
 * of any size up to SW__TASK_MAX_PAYLOAD arrives whole and each sender's messages arrive in
 * the order it sent them.
 */
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "core/alloc.h"
#include "server/task_int.h"
#include "swoole/error.h"
#include "swoole/shm.h"

int sw_server_send_message(sw_server_t *srv, int dst_worker_id, const void *data, size_t len)
{
    if (!srv || !data || len == 0) {
        return SW_EINVAL;
    }
    sw__task_t *tk = sw__task_self(srv);
    if (!sw__server_worker(srv) || (srv->mode != SW_MODE_THREAD && srv->is_master)) {
        return SW_ENOT_WORKER;
    }
    if (!tk || !tk->ready || tk->kind == SW__M_NONE) {
        /* A single-process server, or the channels could not be made (logged at start). */
        return SW_ENOTSUP;
    }
    int rc = sw__server_check_thread(srv);
    if (rc < 0) {
        return rc;
    }
    if (dst_worker_id < 0 || dst_worker_id >= tk->np || dst_worker_id == tk->self) {
        return SW_EWORKER_ID;
    }
    if (len > SW__TASK_MAX_PAYLOAD) {
        return SW_EMSGSIZE;
    }
    sw_ipc_endpoint_t *ep = sw__task_out(tk, dst_worker_id, false, &rc);
    if (!ep) {
        return rc;
    }
    sw_ipc_header_t h = {.type = SW_IPC_PIPE_MESSAGE,
                         .worker_id = (uint16_t)tk->self,
                         .reactor_id = (uint16_t)dst_worker_id};
    return sw__ipc_send(ep, &h, data, len);
}

int sw_server_add_process(sw_server_t *srv, sw_server_process_fn fn, void *arg, int *worker_id)
{
    if (!srv || !fn) {
        return SW_EINVAL;
    }
    if (atomic_load(&srv->state) != SW__S_CREATED) {
        return SW_ESERVER_STATE;
    }
    if (srv->mode == SW_MODE_THREAD) {
        /* No manager to fork and respawn it (THREAD mode has none). */
        return SW_ENOTSUP;
    }
    if (!srv->task) {
        srv->task = sw__calloc(1, sizeof(sw__task_t));
        if (!srv->task) {
            return SW_ENOMEM;
        }
        srv->task->srv = srv;
        srv->task->self = -1;
    }
    sw__task_t *tk = srv->task;
    sw__uproc_t *u = sw__realloc(tk->uprocs, (size_t)(tk->nuprocs + 1) * sizeof(*u));
    if (!u) {
        return SW_ENOMEM;
    }
    tk->uprocs = u;
    u[tk->nuprocs].fn = fn;
    u[tk->nuprocs].arg = arg;
    if (worker_id) {
        *worker_id = srv->o.worker_num + srv->o.task_worker_num + tk->nuprocs;
    }
    tk->nuprocs++;
    return 0;
}

void sw__task_free(sw_server_t *srv)
{
    if (srv->task) {
        if (srv->task->shm) {
            sw_shm_destroy(srv->task->shm, srv->task->shm_size);
        }
        sw__free(srv->task->uprocs);
        sw__free(srv->task);
        srv->task = NULL;
    }
}

void sw__task_master_signal(sw_server_t *srv, int signum)
{
    if (srv->mode == SW_MODE_THREAD) {
        /* No manager: the master's thread reloads the task worker threads itself. */
        if (signum == SIGUSR2) {
            sw__task_threads_reload(srv);
        }
        return;
    }
    pid_t manager = srv->shm ? atomic_load(&srv->shm->manager_pid) : 0;
    if (signum == SIGUSR2 && manager > 0) {
        (void)kill(manager, SIGUSR2);
    }
}
