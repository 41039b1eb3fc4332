/*
 * Sessions: the directory in shared memory and the server's shared region.
 *
 * Session ids come from one 64-bit counter in the shared region (session_round), created
 * before any fork, so ids are unique across every worker and every respawn for the server's
 * lifetime and are never reused. The directory has a power-of-two number of entries; session
 * `id` lives at index id & mask. To open a session the owner takes the next counter value
 * whose entry is free and claims that entry with a compare-and-swap, so lookup is one index
 * and one comparison, from any process or thread, without a lock (Swoole's session_list, with
 * a CAS instead of its spinlock). Counter values whose entry is taken are skipped, never handed
 * out later.
 *
 * Sizing: the directory holds at least max_conn + max_conn/8 entries, so a free entry is
 * always near (max_conn is enforced by the connection counter before the search).
 *
 * Consistency for readers: the owner claims an entry (sid = SW__SID_CLAIM - owner), writes fd
 * and owner, then publishes sid with a release store; on close it stores 0 first. A reader
 * loads sid (acquire), the fields, then sid again: ids are never reused, so an unchanged sid
 * means the fields belonged to it.
 */
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/server_int.h"
#include "swoole/error.h"
#include "swoole/shm.h"

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t p = 1;
    while (p < n) {
        p <<= 1;
    }
    return p;
}

int sw__shared_create(sw_server_t *srv)
{
    uint64_t max = (uint64_t)srv->o.max_conn;
    uint64_t entries = pow2_at_least(max + max / 8 + 1);
    size_t workers = (size_t)srv->o.worker_num;
    size_t off_workers = (sizeof(sw__shared_t) + 63) & ~(size_t)63;
    size_t off_dir = (off_workers + workers * sizeof(sw__worker_shm_t) + 63) & ~(size_t)63;
    size_t size = off_dir + (size_t)entries * sizeof(sw__dirent_t);
    void *mem = NULL;
    int r = sw_shm_create(size, &mem);
    if (r < 0) {
        return r;
    }
    /* The mapping is zero-filled: every counter is 0 and every entry free. */
    sw__shared_t *sh = mem;
    atomic_store(&sh->session_round, 1);
    sh->start_time = (int64_t)time(NULL);
    sh->dir_mask = entries - 1;
    sh->worker_num = (int)workers;
    srv->shm = sh;
    srv->shm_size = size;
    srv->shm_workers = (sw__worker_shm_t *)((char *)mem + off_workers);
    srv->shm_dir = (sw__dirent_t *)((char *)mem + off_dir);
    return 0;
}

void sw__shared_destroy(sw_server_t *srv)
{
    if (srv->shm) {
        sw_shm_destroy(srv->shm, srv->shm_size);
        srv->shm = NULL;
        srv->shm_workers = NULL;
        srv->shm_dir = NULL;
        srv->shm_size = 0;
    }
}

int sw__session_alloc(sw_server_t *srv, int owner, unsigned inc, int worker_id, int fd,
                      uint64_t *sid)
{
    sw__shared_t *sh = srv->shm;
    uint64_t n = atomic_fetch_add(&sh->connection_num, 1);
    if (n >= (uint64_t)srv->o.max_conn) {
        atomic_fetch_sub(&sh->connection_num, 1);
        return SW_EMAX_CONN;
    }
    uint64_t mask = sh->dir_mask;
    inc &= 0xff;
    uint64_t claim = SW__SID_CLAIM - ((uint64_t)(uint16_t)owner | (uint64_t)inc << 16);
    for (uint64_t tries = 0; tries <= mask; tries++) {
        uint64_t id = atomic_fetch_add(&sh->session_round, 1);
        if (id == 0 || id >= SW__SID_MAX) {
            /* 2^63 sessions: not reachable in practice; stop rather than wrap into reuse. */
            break;
        }
        sw__dirent_t *e = &srv->shm_dir[id & mask];
        uint64_t expect = 0;
        if (!atomic_compare_exchange_strong(&e->sid, &expect, claim)) {
            continue;
        }
        atomic_store_explicit(&e->fd, fd, memory_order_relaxed);
        atomic_store_explicit(&e->owner, (int16_t)owner, memory_order_relaxed);
        atomic_store_explicit(&e->flags, (uint16_t)(inc << 8), memory_order_relaxed);
        atomic_store_explicit(&e->sid, id, memory_order_release);
        if (worker_id >= 0 && worker_id < sh->worker_num) {
            atomic_fetch_add(&srv->shm_workers[worker_id].connection_num, 1);
        }
        *sid = id;
        return 0;
    }
    atomic_fetch_sub(&sh->connection_num, 1);
    return SW_EMAX_CONN;
}

void sw__session_release(sw_server_t *srv, int worker_id, uint64_t sid)
{
    sw__shared_t *sh = srv->shm;
    sw__dirent_t *e = &srv->shm_dir[sid & sh->dir_mask];
    uint64_t expect = sid;
    if (atomic_compare_exchange_strong(&e->sid, &expect, 0)) {
        atomic_fetch_sub(&sh->connection_num, 1);
        if (worker_id >= 0 && worker_id < sh->worker_num) {
            atomic_fetch_sub(&srv->shm_workers[worker_id].connection_num, 1);
        }
    }
}

int sw__session_find(const sw_server_t *srv, uint64_t sid, int *owner, int *fd)
{
    const sw__shared_t *sh = srv->shm;
    if (!sh || sid == 0 || sid >= SW__SID_MAX) {
        return SW_ESESSION;
    }
    sw__dirent_t *e = &srv->shm_dir[sid & sh->dir_mask];
    if (atomic_load_explicit(&e->sid, memory_order_acquire) != sid) {
        return SW_ESESSION;
    }
    int o = atomic_load_explicit(&e->owner, memory_order_relaxed);
    int f = atomic_load_explicit(&e->fd, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&e->sid, memory_order_relaxed) != sid) {
        return SW_ESESSION;
    }
    if (owner) {
        *owner = o;
    }
    if (fd) {
        *fd = f;
    }
    return 0;
}

void sw__session_set_flags(sw_server_t *srv, uint64_t sid, uint16_t set, uint16_t clear)
{
    sw__dirent_t *e = &srv->shm_dir[sid & srv->shm->dir_mask];
    if (atomic_load_explicit(&e->sid, memory_order_acquire) != sid) {
        return;
    }
    if (set) {
        atomic_fetch_or(&e->flags, set);
    }
    if (clear) {
        atomic_fetch_and(&e->flags, (uint16_t)~clear);
    }
}

uint16_t sw__session_flags(const sw_server_t *srv, uint64_t sid)
{
    sw__dirent_t *e = &srv->shm_dir[sid & srv->shm->dir_mask];
    uint16_t f = atomic_load_explicit(&e->flags, memory_order_acquire);
    if (atomic_load_explicit(&e->sid, memory_order_acquire) != sid) {
        return 0;
    }
    return f & 0xff;
}

uint64_t sw__session_clear_owner(sw_server_t *srv, int owner, unsigned inc, int worker_id)
{
    sw__shared_t *sh = srv->shm;
    inc &= 0xff;
    uint64_t claim = SW__SID_CLAIM - ((uint64_t)(uint16_t)owner | (uint64_t)inc << 16);
    uint64_t cleared = 0, claims = 0;
    for (uint64_t i = 0; i <= sh->dir_mask; i++) {
        sw__dirent_t *e = &srv->shm_dir[i];
        uint64_t s = atomic_load_explicit(&e->sid, memory_order_acquire);
        if (s == 0) {
            continue;
        }
        if (s == claim) {
            /* Died while claiming: not counted as a session yet, but counted in
             * connection_num (the count comes first). */
            if (atomic_compare_exchange_strong(&e->sid, &s, 0)) {
                claims++;
            }
            continue;
        }
        if (s >= SW__SID_MAX || atomic_load_explicit(&e->owner, memory_order_relaxed) != owner ||
            (atomic_load_explicit(&e->flags, memory_order_relaxed) >> 8) != inc) {
            continue;
        }
        if (atomic_compare_exchange_strong(&e->sid, &s, 0)) {
            cleared++;
        }
    }
    if (cleared + claims) {
        atomic_fetch_sub(&sh->connection_num, cleared + claims);
    }
    if (cleared) {
        atomic_fetch_add(&sh->close_count, cleared);
        if (worker_id >= 0 && worker_id < sh->worker_num) {
            atomic_fetch_sub(&srv->shm_workers[worker_id].connection_num, cleared);
        }
    }
    return cleared;
}

int sw__session_list(const sw_server_t *srv, uint64_t *cursor, uint64_t *out, size_t max)
{
    const sw__shared_t *sh = srv->shm;
    size_t n = 0;
    uint64_t i = *cursor;
    for (; i <= sh->dir_mask && n < max; i++) {
        uint64_t s = atomic_load_explicit(&srv->shm_dir[i].sid, memory_order_acquire);
        if (s != 0 && s < SW__SID_MAX) {
            out[n++] = s;
        }
    }
    *cursor = i;
    return (int)n;
}
