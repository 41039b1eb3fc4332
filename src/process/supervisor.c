/*
 * The supervisor: slots, fork, reap, respawn, reload, shutdown (contract in supervisor.h).
 *
 * Book-keeping: `slots` (fixed after start) and `kids`, every child alive now: the current
 * child of each slot plus the detached ones of an async reload. A slot has at most one current
 * and (since a reload cannot start while another runs, and an async reload ends only when its
 * detached children are gone) at most one detached child, so `kids` is allocated once at start
 * with room for two per slot and never grows: a forked child can always be recorded.
 *
 * Re-entrancy: every entry from the loop (SIGCHLD, the timer) and every public call that runs
 * callbacks counts `depth`; sw__sup_destroy inside a callback only marks the supervisor, and
 * the outermost leave() frees it. Work that must not run inside the public call that caused it
 * (the end of an empty reload, the end of a shutdown with no child) is flagged and done by the
 * timer, armed to fire at once.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log_int.h"
#include "process/process_int.h"
#include "process/supervisor.h"
#include "swoole/error.h"
#include "swoole/timer.h"

#define QUICK_DEATH_MS   1000 /* a child that lived less than this died "quickly" */
#define BACKOFF_FIRST_MS 10
#define BACKOFF_MAX_MS   1000
#define KILL_RECHECK_MS  200 /* after SIGKILL, reap again this often in case SIGCHLD was lost */
#define REAP_BATCH       32

/* kid flags */
#define K_TERM     0x1 /* stop signal sent: deadline is the SIGKILL time */
#define K_KILL     0x2 /* SIGKILL sent: deadline is the next re-check */
#define K_DETACHED 0x4 /* replaced by an async reload */
#define K_RELOAD   0x8 /* asked to stop by a reload */

typedef struct {
    pid_t pid;
    int slot;
    unsigned flags;
    uint64_t started_ms;
    uint64_t deadline_ms;
} kid_t;

typedef struct {
    sw_sup_child_fn fn;
    void *arg;
    unsigned group;
    unsigned flags;
    pid_t pid;           /* current child, 0 if none */
    uint64_t respawn_at; /* a delayed start is due then; 0: none */
    unsigned quick;      /* consecutive quick deaths or fork failures */
} slot_t;

struct sw_sup_s {
    sw_loop_t *loop;
    sw_sup_options_t o;
    slot_t *slots;
    int nslots;
    int slots_cap;
    kid_t *kids;
    int nkids;
    int state;
    sw_signal_t sigchld;
    int sigchld_on;
    uint64_t timer_id; /* 0: none */
    uint64_t timer_due;
    /* reload */
    int reloading;
    int reload_mode;
    int *rq; /* rolling: the slots still to reload, from rq_pos */
    int rq_n;
    int rq_pos;
    pid_t reload_wait;  /* rolling: the old child being waited for */
    int detached_left;  /* async: detached children not reaped yet */
    int reload_end_due; /* the reload is over: on_reload_done at the next timer */
    int stop_end_due;   /* check for the end of a shutdown at the next timer */
    /* lifetime */
    int depth;
    int destroy_pending;
};

static void arm(sw_sup_t *sup);

static uint64_t now_ms(sw_sup_t *sup)
{
    sw_loop_update_time(sup->loop);
    return sw_loop_now(sup->loop);
}

static const char *name_of(const sw_sup_t *sup)
{
    return sup->o.name ? sup->o.name : "supervisor";
}

static void release(sw_sup_t *sup)
{
    sw__free(sup->rq);
    sw__free(sup->kids);
    sw__free(sup->slots);
    sw__free(sup);
}

static void enter(sw_sup_t *sup)
{
    sup->depth++;
}

/* Returns 1 when the supervisor was freed: the caller must not touch it any more. */
static int leave(sw_sup_t *sup)
{
    if (--sup->depth == 0 && sup->destroy_pending) {
        release(sup);
        return 1;
    }
    return 0;
}

void sw__sup_options_init(sw_sup_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->max_wait_ms = 3000;
    o->stop_signal = SIGTERM;
    o->pdeath_signal = SIGKILL;
}

int sw__sup_create(sw_sup_t **out, sw_loop_t *loop, const sw_sup_options_t *o)
{
    if (!out || !loop || !o || o->stop_signal <= 0 || o->stop_signal >= NSIG ||
        o->pdeath_signal < 0 || o->pdeath_signal >= NSIG) {
        return SW_EINVAL;
    }
    sw_sup_t *sup = sw__calloc(1, sizeof(*sup));
    if (!sup) {
        return SW_ENOMEM;
    }
    sup->loop = loop;
    sup->o = *o;
    sup->state = SW_SUP_IDLE;
    *out = sup;
    return 0;
}

int sw__sup_add_slot(sw_sup_t *sup, unsigned group, unsigned flags, sw_sup_child_fn fn, void *arg)
{
    if (!sup || !fn || group > 31 || (flags & ~(unsigned)SW_SUP_SLOT_ONESHOT)) {
        return SW_EINVAL;
    }
    if (sup->state != SW_SUP_IDLE) {
        return SW_ESERVER_STATE;
    }
    if (sup->nslots == sup->slots_cap) {
        int cap = sup->slots_cap ? sup->slots_cap * 2 : 8;
        slot_t *s = sw__realloc(sup->slots, (size_t)cap * sizeof(*s));
        if (!s) {
            return SW_ENOMEM;
        }
        sup->slots = s;
        sup->slots_cap = cap;
    }
    slot_t *s = &sup->slots[sup->nslots];
    memset(s, 0, sizeof(*s));
    s->fn = fn;
    s->arg = arg;
    s->group = group;
    s->flags = flags;
    return sup->nslots++;
}

static kid_t *find_kid(sw_sup_t *sup, pid_t pid)
{
    for (int i = 0; i < sup->nkids; i++) {
        if (sup->kids[i].pid == pid) {
            return &sup->kids[i];
        }
    }
    return NULL;
}

static uint64_t backoff_ms(unsigned quick)
{
    if (quick == 0) {
        return 0;
    }
    unsigned shift = quick - 1 > 7 ? 7 : quick - 1;
    uint64_t d = (uint64_t)BACKOFF_FIRST_MS << shift;
    return d > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d;
}

/* Forks the slot's child and records it. Returns the pid or a negative code. In the child it
 * never returns. */
static pid_t fork_slot(sw_sup_t *sup, int slot)
{
    pid_t pid = sw__process_fork(sup->o.pdeath_signal);
    if (pid == 0) {
        slot_t *s = &sup->slots[slot];
        sw__process_child_exit(s->fn(sup, slot, s->arg));
    }
    if (pid < 0) {
        return pid;
    }
    kid_t *k = &sup->kids[sup->nkids++];
    k->pid = pid;
    k->slot = slot;
    k->flags = 0;
    k->started_ms = now_ms(sup);
    k->deadline_ms = 0;
    sup->slots[slot].pid = pid;
    return pid;
}

/* Starts the slot's child now; on a fork failure reports it and schedules a retry. */
static void spawn_slot(sw_sup_t *sup, int slot)
{
    slot_t *s = &sup->slots[slot];
    s->respawn_at = 0;
    pid_t pid = fork_slot(sup, slot);
    if (pid < 0) {
        s->quick++;
        s->respawn_at = now_ms(sup) + backoff_ms(s->quick);
        SW_LOG_ERROR(sup->o.log, "%s: cannot start slot %d: %s; retrying", name_of(sup), slot,
                     sw_strerror((int)pid));
        if (sup->o.on_spawn_error) {
            sup->o.on_spawn_error(sup, slot, (int)pid, sup->o.arg);
        }
        return;
    }
    SW_LOG_DEBUG(sup->o.log, "%s: slot %d started, pid %d", name_of(sup), slot, (int)pid);
    if (sup->o.on_spawn) {
        sup->o.on_spawn(sup, slot, pid, sup->o.arg);
    }
}

static void signal_kid(sw_sup_t *sup, kid_t *k, unsigned extra_flags, uint64_t now)
{
    k->flags |= extra_flags;
    if (k->flags & (K_TERM | K_KILL)) {
        /* Asked already: keep the earlier deadline. */
        return;
    }
    k->flags |= K_TERM;
    k->deadline_ms = now + sup->o.max_wait_ms;
    (void)kill(k->pid, sup->o.stop_signal);
}

/* ---- reload ------------------------------------------------------------------------------ */

static void reload_over(sw_sup_t *sup)
{
    sup->reloading = 0;
    sw__free(sup->rq);
    sup->rq = NULL;
    sup->rq_n = sup->rq_pos = 0;
    sup->reload_wait = 0;
    sup->detached_left = 0;
    sup->reload_end_due = 1;
}

/* Rolling: signal the next slot's child, or end the reload. */
static void rolling_next(sw_sup_t *sup)
{
    uint64_t now = now_ms(sup);
    while (sup->rq_pos < sup->rq_n) {
        slot_t *s = &sup->slots[sup->rq[sup->rq_pos]];
        kid_t *k = s->pid ? find_kid(sup, s->pid) : NULL;
        if (!k) {
            /* No child now: the one it gets next is new anyway. */
            sup->rq_pos++;
            continue;
        }
        sup->reload_wait = k->pid;
        signal_kid(sup, k, K_RELOAD, now);
        return;
    }
    reload_over(sup);
}

int sw__sup_reload(sw_sup_t *sup, uint32_t group_mask, int mode)
{
    if (!sup || (mode != SW_SUP_RELOAD_ROLLING && mode != SW_SUP_RELOAD_ASYNC)) {
        return SW_EINVAL;
    }
    if (sup->state != SW_SUP_RUNNING) {
        return SW_ESERVER_STATE;
    }
    if (sup->reloading || sup->reload_end_due) {
        return SW_EBUSY;
    }
    int *rq = sw__malloc((size_t)sup->nslots * sizeof(int));
    if (!rq) {
        return SW_ENOMEM;
    }
    int n = 0;
    for (int i = 0; i < sup->nslots; i++) {
        if (group_mask & (1u << sup->slots[i].group)) {
            rq[n++] = i;
        }
    }
    enter(sup);
    sup->reloading = 1;
    sup->reload_mode = mode;
    sup->rq = rq;
    sup->rq_n = n;
    sup->rq_pos = 0;
    if (mode == SW_SUP_RELOAD_ROLLING) {
        rolling_next(sup);
    } else {
        uint64_t now = now_ms(sup);
        for (int i = 0; i < n && sup->state == SW_SUP_RUNNING; i++) {
            slot_t *s = &sup->slots[rq[i]];
            kid_t *k = s->pid ? find_kid(sup, s->pid) : NULL;
            if (!k) {
                continue;
            }
            signal_kid(sup, k, K_RELOAD | K_DETACHED, now);
            s->pid = 0;
            s->quick = 0;
            sup->detached_left++;
            spawn_slot(sup, rq[i]);
        }
        if (sup->reloading && sup->detached_left == 0) {
            reload_over(sup);
        }
    }
    arm(sup);
    leave(sup);
    return 0;
}

/* ---- reaping ----------------------------------------------------------------------------- */

static void log_exit(sw_sup_t *sup, const kid_t *k, const sw_process_status_t *st, unsigned f)
{
    sw_log_level_t level = (f & SW_SUP_EXIT_EXPECTED) ? SW_LOG_DEBUG : SW_LOG_WARNING;
    if ((f & SW_SUP_EXIT_KILLED)) {
        level = SW_LOG_WARNING;
    }
    if (st->signal) {
        SW_LOG(sup->o.log, level, "%s: slot %d pid %d killed by signal %d%s%s", name_of(sup),
               k->slot, (int)k->pid, st->signal, st->core_dumped ? " (core dumped)" : "",
               (f & SW_SUP_EXIT_KILLED) ? " after max_wait_ms" : "");
    } else {
        SW_LOG(sup->o.log, level, "%s: slot %d pid %d exited with code %d", name_of(sup), k->slot,
               (int)k->pid, st->exit_code);
    }
}

static void handle_exit(sw_sup_t *sup, const kid_t *k, const sw_process_status_t *st)
{
    slot_t *s = &sup->slots[k->slot];
    unsigned f = 0;
    if (k->flags & (K_TERM | K_KILL)) {
        f |= SW_SUP_EXIT_EXPECTED;
    }
    if (k->flags & K_KILL) {
        f |= SW_SUP_EXIT_KILLED;
    }
    if (k->flags & K_RELOAD) {
        f |= SW_SUP_EXIT_RELOAD;
    }
    if (k->flags & K_DETACHED) {
        f |= SW_SUP_EXIT_DETACHED;
    }
    uint64_t now = now_ms(sup);
    int current = s->pid == k->pid;
    if (current) {
        s->pid = 0;
        if (!(f & SW_SUP_EXIT_EXPECTED) && now - k->started_ms < QUICK_DEATH_MS) {
            s->quick++;
        } else {
            s->quick = 0;
        }
    }
    if (current && sup->state == SW_SUP_RUNNING && !(s->flags & SW_SUP_SLOT_ONESHOT)) {
        f |= SW_SUP_EXIT_RESPAWN;
    }
    log_exit(sup, k, st, f);
    if (sup->o.on_exit) {
        sup->o.on_exit(sup, k->slot, st, f, sup->o.arg);
    }
    if ((f & SW_SUP_EXIT_RESPAWN) && sup->state == SW_SUP_RUNNING && s->pid == 0 &&
        s->respawn_at == 0) {
        uint64_t delay = backoff_ms(s->quick);
        if (delay == 0) {
            spawn_slot(sup, k->slot);
        } else {
            s->respawn_at = now + delay;
        }
    }
    if (sup->reloading) {
        if (sup->reload_mode == SW_SUP_RELOAD_ROLLING && k->pid == sup->reload_wait) {
            sup->reload_wait = 0;
            sup->rq_pos++;
            rolling_next(sup);
        } else if (sup->reload_mode == SW_SUP_RELOAD_ASYNC && (k->flags & K_DETACHED)) {
            if (--sup->detached_left == 0) {
                reload_over(sup);
            }
        }
    }
}

/* Reaps every child that ended and handles each. */
static void reap_all(sw_sup_t *sup)
{
    for (;;) {
        kid_t done[REAP_BATCH];
        sw_process_status_t st[REAP_BATCH];
        int nd = 0;
        for (int i = 0; i < sup->nkids && nd < REAP_BATCH;) {
            pid_t r = sw__process_reap(sup->kids[i].pid, &st[nd]);
            if (r == 0) {
                i++;
                continue;
            }
            if (r < 0) {
                /* Reaped by someone else (a waitpid(-1) in the program): the status is lost,
                 * but the slot must not wait forever. */
                st[nd] = (sw_process_status_t){.pid = sup->kids[i].pid, .exit_code = -1};
                SW_LOG_WARNING(sup->o.log, "%s: pid %d was reaped outside the supervisor",
                               name_of(sup), (int)sup->kids[i].pid);
            }
            done[nd++] = sup->kids[i];
            sup->kids[i] = sup->kids[--sup->nkids];
        }
        if (nd == 0) {
            break;
        }
        for (int i = 0; i < nd; i++) {
            handle_exit(sup, &done[i], &st[i]);
        }
    }
    if (sup->state == SW_SUP_STOPPING && sup->nkids == 0) {
        sup->stop_end_due = 1;
    }
}

/* ---- the timer and the ends of reload and shutdown --------------------------------------- */

static void finish_stop(sw_sup_t *sup)
{
    sup->stop_end_due = 0;
    sup->state = SW_SUP_STOPPED;
    if (sup->sigchld_on) {
        sw_signal_stop(&sup->sigchld);
        sup->sigchld_on = 0;
    }
    if (sup->timer_id) {
        sw_timer_clear(sup->loop, sup->timer_id);
        sup->timer_id = 0;
    }
    SW_LOG_DEBUG(sup->o.log, "%s: stopped", name_of(sup));
    if (sup->o.on_stopped) {
        sup->o.on_stopped(sup, sup->o.arg);
    }
}

/* Runs what is due: SIGKILLs, delayed starts, the ends of a reload or a shutdown. */
static void run_due(sw_sup_t *sup)
{
    uint64_t now = now_ms(sup);
    for (int i = 0; i < sup->nkids; i++) {
        kid_t *k = &sup->kids[i];
        if (!(k->flags & (K_TERM | K_KILL)) || k->deadline_ms > now) {
            continue;
        }
        if (!(k->flags & K_KILL)) {
            SW_LOG_WARNING(sup->o.log,
                           "%s: slot %d pid %d still alive %u ms after signal %d: "
                           "SIGKILL",
                           name_of(sup), k->slot, (int)k->pid, sup->o.max_wait_ms,
                           sup->o.stop_signal);
            (void)kill(k->pid, SIGKILL);
            k->flags |= K_KILL;
        }
        k->deadline_ms = now + KILL_RECHECK_MS;
    }
    for (int i = 0; i < sup->nslots && sup->state == SW_SUP_RUNNING; i++) {
        slot_t *s = &sup->slots[i];
        if (s->respawn_at && s->respawn_at <= now && s->pid == 0) {
            spawn_slot(sup, i);
        }
    }
    if (sup->reload_end_due) {
        sup->reload_end_due = 0;
        if (sup->o.on_reload_done && sup->state == SW_SUP_RUNNING) {
            sup->o.on_reload_done(sup, sup->o.arg);
        }
    }
    if (sup->stop_end_due && sup->state == SW_SUP_STOPPING && sup->nkids == 0) {
        finish_stop(sup);
    }
}

static void timer_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    sw_sup_t *sup = arg;
    sup->timer_id = 0;
    enter(sup);
    reap_all(sup);
    run_due(sup);
    arm(sup);
    leave(sup);
}

/* Arms the timer for the earliest due item, or clears it when nothing is due. */
static void arm(sw_sup_t *sup)
{
    if (sup->state == SW_SUP_STOPPED || sup->state == SW_SUP_IDLE || sup->destroy_pending) {
        return;
    }
    uint64_t now = now_ms(sup);
    uint64_t due = UINT64_MAX;
    if (sup->reload_end_due || sup->stop_end_due) {
        due = now;
    }
    for (int i = 0; i < sup->nkids; i++) {
        const kid_t *k = &sup->kids[i];
        if ((k->flags & (K_TERM | K_KILL)) && k->deadline_ms < due) {
            due = k->deadline_ms;
        }
    }
    for (int i = 0; i < sup->nslots && sup->state == SW_SUP_RUNNING; i++) {
        if (sup->slots[i].respawn_at && sup->slots[i].respawn_at < due) {
            due = sup->slots[i].respawn_at;
        }
    }
    if (sup->timer_id && sup->timer_due == due) {
        return;
    }
    if (sup->timer_id) {
        sw_timer_clear(sup->loop, sup->timer_id);
        sup->timer_id = 0;
    }
    if (due == UINT64_MAX) {
        return;
    }
    uint64_t id = 0;
    int r = sw_timer_after(sup->loop, due > now ? due - now : 0, timer_cb, sup, &id);
    if (r < 0) {
        SW_LOG_ERROR(sup->o.log, "%s: cannot arm the timer: %s", name_of(sup), sw_strerror(r));
        return;
    }
    sup->timer_id = id;
    sup->timer_due = due;
}

static void sigchld_cb(sw_signal_t *sig, int signum, void *arg)
{
    (void)sig;
    (void)signum;
    sw_sup_t *sup = arg;
    enter(sup);
    reap_all(sup);
    run_due(sup);
    arm(sup);
    leave(sup);
}

/* ---- start, shutdown, destroy ------------------------------------------------------------- */

int sw__sup_start(sw_sup_t *sup)
{
    if (!sup) {
        return SW_EINVAL;
    }
    if (sup->state != SW_SUP_IDLE) {
        return SW_ESERVER_STATE;
    }
    if (sup->nslots == 0) {
        return SW_EINVAL;
    }
    sup->kids = sw__calloc((size_t)sup->nslots * 2, sizeof(kid_t));
    if (!sup->kids) {
        return SW_ENOMEM;
    }
    int r = sw__process_reset_sigchld();
    if (r == 0) {
        r = sw_signal_init(sup->loop, &sup->sigchld, sigchld_cb, sup);
    }
    if (r == 0) {
        r = sw_signal_start(&sup->sigchld, SIGCHLD);
    }
    if (r < 0) {
        sup->state = SW_SUP_STOPPED;
        return r;
    }
    sup->sigchld_on = 1;
    sup->state = SW_SUP_RUNNING;
    for (int i = 0; i < sup->nslots; i++) {
        pid_t pid = fork_slot(sup, i);
        if (pid < 0) {
            /* Undo: the children started so far go, synchronously (SIGKILL cannot be ignored,
             * so the waits are short). */
            for (int j = 0; j < sup->nkids; j++) {
                (void)kill(sup->kids[j].pid, SIGKILL);
            }
            for (int j = 0; j < sup->nkids; j++) {
                (void)sw_process_wait(sup->kids[j].pid, 1, NULL);
                sup->slots[sup->kids[j].slot].pid = 0;
            }
            sup->nkids = 0;
            sw_signal_stop(&sup->sigchld);
            sup->sigchld_on = 0;
            sup->state = SW_SUP_STOPPED;
            SW_LOG_ERROR(sup->o.log, "%s: start failed: %s", name_of(sup), sw_strerror((int)pid));
            return (int)pid;
        }
    }
    enter(sup);
    for (int i = 0; i < sup->nslots && sup->o.on_spawn; i++) {
        if (sup->slots[i].pid) {
            sup->o.on_spawn(sup, i, sup->slots[i].pid, sup->o.arg);
        }
    }
    arm(sup);
    leave(sup);
    return 0;
}

int sw__sup_shutdown(sw_sup_t *sup)
{
    if (!sup) {
        return SW_EINVAL;
    }
    if (sup->state == SW_SUP_IDLE) {
        return SW_ESERVER_STATE;
    }
    if (sup->state != SW_SUP_RUNNING) {
        return 0;
    }
    enter(sup);
    sup->state = SW_SUP_STOPPING;
    if (sup->reloading) {
        reload_over(sup);
    }
    sup->reload_end_due = 0;
    for (int i = 0; i < sup->nslots; i++) {
        sup->slots[i].respawn_at = 0;
    }
    uint64_t now = now_ms(sup);
    for (int i = 0; i < sup->nkids; i++) {
        signal_kid(sup, &sup->kids[i], 0, now);
    }
    SW_LOG_DEBUG(sup->o.log, "%s: stopping %d children", name_of(sup), sup->nkids);
    if (sup->nkids == 0) {
        sup->stop_end_due = 1;
    }
    arm(sup);
    if (sup->stop_end_due && !sup->timer_id) {
        /* No timer (out of memory): finish here rather than never. */
        finish_stop(sup);
    }
    leave(sup);
    return 0;
}

int sw__sup_destroy(sw_sup_t *sup)
{
    if (!sup) {
        return SW_EINVAL;
    }
    if (sup->nkids > 0 || sup->state == SW_SUP_RUNNING || sup->state == SW_SUP_STOPPING) {
        return SW_EBUSY;
    }
    if (sup->depth > 0) {
        sup->destroy_pending = 1;
        return 0;
    }
    if (sup->timer_id) {
        sw_timer_clear(sup->loop, sup->timer_id);
    }
    release(sup);
    return 0;
}

void sw__sup_child_close(sw_sup_t *sup)
{
    if (sup) {
        release(sup);
    }
}

/* ---- getters ----------------------------------------------------------------------------- */

pid_t sw__sup_pid(const sw_sup_t *sup, int slot)
{
    if (!sup || slot < 0 || slot >= sup->nslots) {
        return SW_EINVAL;
    }
    return sup->slots[slot].pid;
}

int sw__sup_slot_of(const sw_sup_t *sup, pid_t pid)
{
    if (!sup || pid <= 0) {
        return SW_ENOENT;
    }
    for (int i = 0; i < sup->nkids; i++) {
        if (sup->kids[i].pid == pid) {
            return sup->kids[i].slot;
        }
    }
    return SW_ENOENT;
}

int sw__sup_kill(sw_sup_t *sup, int slot, int signo)
{
    if (!sup || slot < 0 || slot >= sup->nslots || signo < 0 || signo >= NSIG) {
        return SW_EINVAL;
    }
    if (sup->slots[slot].pid == 0) {
        return SW_ESRCH;
    }
    if (kill(sup->slots[slot].pid, signo) != 0) {
        return -errno;
    }
    return 0;
}

int sw__sup_state(const sw_sup_t *sup)
{
    return sup ? sup->state : SW_EINVAL;
}

int sw__sup_slot_count(const sw_sup_t *sup)
{
    return sup ? sup->nslots : SW_EINVAL;
}

int sw__sup_alive(const sw_sup_t *sup)
{
    return sup ? sup->nkids : SW_EINVAL;
}
