/*
 * sw_server_stats: the counters of the shared region, readable from any process and thread
 * (relaxed atomic loads: each counter is exact, the set is not a snapshot).
 */
#include <stdatomic.h>
#include <string.h>

#include "server/server_int.h"
#include "server/task_int.h"
#include "swoole/error.h"

int sw_server_stats(const sw_server_t *srv, sw_server_stats_t *stats)
{
    if (!srv || !stats) {
        return SW_EINVAL;
    }
    int st = atomic_load(&srv->state);
    const sw__shared_t *sh = srv->shm;
    if ((st != SW__S_RUNNING && st != SW__S_STOPPING) || !sh) {
        return SW_ESERVER_STATE;
    }
    memset(stats, 0, sizeof(*stats));
    stats->start_time = sh->start_time;
    stats->connection_num = atomic_load_explicit(&sh->connection_num, memory_order_relaxed);
    stats->accept_count = atomic_load_explicit(&sh->accept_count, memory_order_relaxed);
    stats->close_count = atomic_load_explicit(&sh->close_count, memory_order_relaxed);
    stats->abort_count = atomic_load_explicit(&sh->abort_count, memory_order_relaxed);
    stats->request_count = atomic_load_explicit(&sh->request_count, memory_order_relaxed);
    stats->response_count = atomic_load_explicit(&sh->response_count, memory_order_relaxed);
    stats->total_recv_bytes = atomic_load_explicit(&sh->recv_bytes, memory_order_relaxed);
    stats->total_send_bytes = atomic_load_explicit(&sh->send_bytes, memory_order_relaxed);
    stats->worker_num = sh->worker_num;
    stats->task_worker_num = srv->o.task_worker_num;
    const sw__task_t *tk = srv->task;
    if (tk && tk->shm) {
        stats->task_count = atomic_load_explicit(&tk->shm->sent, memory_order_relaxed);
        stats->task_done_count = atomic_load_explicit(&tk->shm->done, memory_order_relaxed);
        stats->tasking_num = stats->task_count > stats->task_done_count
                                 ? stats->task_count - stats->task_done_count
                                 : 0;
        for (int i = 0; i < srv->o.task_worker_num; i++) {
            stats->task_idle_worker_num +=
                atomic_load(&tk->shm->tw[i].pid) != 0 && !atomic_load(&tk->shm->tw[i].busy);
        }
    }
    const sw__worker_t *me = sw__server_worker(srv);
    if (me) {
        const sw__worker_shm_t *w = &srv->shm_workers[me->id];
        stats->worker_request_count = atomic_load(&w->request_count);
        stats->worker_response_count = atomic_load(&w->response_count);
        stats->worker_connection_num = atomic_load(&w->connection_num);
    }
    return 0;
}

void sw__stats_conn_worker(sw_server_t *srv, int worker, int delta)
{
    if (worker < 0 || worker >= srv->o.worker_num || !srv->shm_workers) {
        return;
    }
    _Atomic uint64_t *n = &srv->shm_workers[worker].connection_num;
    if (delta > 0) {
        atomic_fetch_add(n, 1);
        return;
    }
    /* Never below 0 (a close seen without its connect, e.g. a dispatch_func that chose a
     * worker at close only). */
    uint64_t v = atomic_load(n);
    while (v > 0 && !atomic_compare_exchange_weak(n, &v, v - 1)) {
    }
}
