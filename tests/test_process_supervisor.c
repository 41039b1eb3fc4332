/* The supervisor (internal API the pool and the server's manager share): one-shot slots,
 * groups, callback order, crash-loop back-off, fork failures at start and at respawn, states. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "core/fault.h"
#include "process/supervisor.h"
#include "swoole/loop.h"
#include "test_process_util.h"

#define MAXEV 256

typedef struct {
    char ev[MAXEV]; /* 's' spawn, 'x' exit, 'e' spawn error, 'r' reload done, 'S' stopped */
    int slot[MAXEV];
    unsigned flags[MAXEV];
    int n;
    pid_t pids[8];
    int spawns[8];
    int exits[8];
    int spawn_errors;
    int reloaded;
    int stopped;
    int shutdown_after_exits; /* call shutdown from on_exit once this many exits happened */
    int nexits;
    sw_sup_t *sup;
} rec_t;

static void add(rec_t *r, char ev, int slot, unsigned flags)
{
    if (r->n < MAXEV) {
        r->ev[r->n] = ev;
        r->slot[r->n] = slot;
        r->flags[r->n] = flags;
        r->n++;
    }
}

static void on_spawn(sw_sup_t *sup, int slot, pid_t pid, void *arg)
{
    (void)sup;
    rec_t *r = arg;
    add(r, 's', slot, 0);
    r->pids[slot] = pid;
    r->spawns[slot]++;
}

static void on_exit_cb(sw_sup_t *sup, int slot, const sw_process_status_t *st, unsigned flags,
                       void *arg)
{
    rec_t *r = arg;
    (void)st;
    add(r, 'x', slot, flags);
    r->exits[slot]++;
    r->nexits++;
    if (r->shutdown_after_exits && r->nexits == r->shutdown_after_exits) {
        ASSERT_OK(sw__sup_shutdown(sup));
    }
}

static void on_spawn_error(sw_sup_t *sup, int slot, int err, void *arg)
{
    (void)sup;
    (void)err;
    rec_t *r = arg;
    add(r, 'e', slot, 0);
    r->spawn_errors++;
}

static void on_reload_done(sw_sup_t *sup, void *arg)
{
    (void)sup;
    rec_t *r = arg;
    add(r, 'r', -1, 0);
    r->reloaded = 1;
}

static void on_stopped(sw_sup_t *sup, void *arg)
{
    rec_t *r = arg;
    add(r, 'S', -1, 0);
    r->stopped = 1;
    ASSERT_OK(sw__sup_destroy(sup)); /* allowed from here: freed when the callback returns */
}

static int child_sleep(sw_sup_t *sup, int slot, void *arg)
{
    (void)sup;
    (void)slot;
    (void)arg;
    for (int i = 0; i < 6000; i++) {
        pt_sleep_ms(10);
    }
    return 0;
}

static int child_exit_now(sw_sup_t *sup, int slot, void *arg)
{
    (void)sup;
    (void)arg;
    return 3 + slot;
}

static sw_sup_t *make_sup(sw_loop_t *loop, rec_t *r, unsigned max_wait_ms)
{
    sw_sup_options_t o;
    sw__sup_options_init(&o);
    o.max_wait_ms = max_wait_ms;
    o.name = "test";
    o.arg = r;
    o.on_spawn = on_spawn;
    o.on_exit = on_exit_cb;
    o.on_spawn_error = on_spawn_error;
    o.on_reload_done = on_reload_done;
    o.on_stopped = on_stopped;
    sw_sup_t *sup = NULL;
    ASSERT_OK(sw__sup_create(&sup, loop, &o));
    r->sup = sup;
    return sup;
}

SW_TEST(sup_states_and_arguments)
{
    sw_loop_t *loop = NULL;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    rec_t r = {0};
    sw_sup_options_t o;
    sw__sup_options_init(&o);
    ASSERT_EQ(o.max_wait_ms, 3000);
    ASSERT_EQ(o.stop_signal, SIGTERM);
    ASSERT_EQ(o.pdeath_signal, SIGKILL);
    sw_sup_t *sup = NULL;
    ASSERT_ERR(sw__sup_create(NULL, loop, &o), SW_EINVAL);
    ASSERT_ERR(sw__sup_create(&sup, NULL, &o), SW_EINVAL);
    o.stop_signal = 0;
    ASSERT_ERR(sw__sup_create(&sup, loop, &o), SW_EINVAL);

    sup = make_sup(loop, &r, 1000);
    ASSERT_EQ(sw__sup_state(sup), SW_SUP_IDLE);
    ASSERT_ERR(sw__sup_start(sup), SW_EINVAL); /* no slots */
    ASSERT_ERR(sw__sup_add_slot(sup, 0, 0, NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw__sup_add_slot(sup, 32, 0, child_sleep, NULL), SW_EINVAL);
    ASSERT_ERR(sw__sup_add_slot(sup, 0, 0x80, child_sleep, NULL), SW_EINVAL);
    ASSERT_EQ(sw__sup_add_slot(sup, 0, 0, child_sleep, NULL), 0);
    ASSERT_EQ(sw__sup_add_slot(sup, 1, 0, child_sleep, NULL), 1);
    ASSERT_EQ(sw__sup_slot_count(sup), 2);
    ASSERT_ERR(sw__sup_shutdown(sup), SW_ESERVER_STATE);
    ASSERT_ERR(sw__sup_reload(sup, 1, SW_SUP_RELOAD_ROLLING), SW_ESERVER_STATE);
    ASSERT_ERR(sw__sup_reload(sup, 1, 7), SW_EINVAL);
    ASSERT_EQ(sw__sup_pid(sup, 0), 0);
    ASSERT_ERR(sw__sup_pid(sup, 2), SW_EINVAL);
    ASSERT_ERR(sw__sup_kill(sup, 0, SIGTERM), SW_ESRCH);

    ASSERT_OK(sw__sup_start(sup));
    ASSERT_EQ(sw__sup_state(sup), SW_SUP_RUNNING);
    ASSERT_ERR(sw__sup_start(sup), SW_ESERVER_STATE);
    ASSERT_ERR(sw__sup_add_slot(sup, 0, 0, child_sleep, NULL), SW_ESERVER_STATE);
    ASSERT_ERR(sw__sup_destroy(sup), SW_EBUSY);
    ASSERT_EQ(sw__sup_alive(sup), 2);
    ASSERT_EQ(r.spawns[0], 1);
    ASSERT_EQ(r.spawns[1], 1);
    ASSERT_EQ(sw__sup_pid(sup, 0), r.pids[0]);
    ASSERT_EQ(sw__sup_slot_of(sup, r.pids[1]), 1);
    ASSERT_ERR(sw__sup_slot_of(sup, getpid()), SW_ENOENT);

    ASSERT_OK(sw__sup_reload(sup, 1u << 1, SW_SUP_RELOAD_ROLLING));
    ASSERT_ERR(sw__sup_reload(sup, 1u << 1, SW_SUP_RELOAD_ROLLING), SW_EBUSY);
    pt_run_until(loop, &r.reloaded, 10000, "reload of group 1");
    ASSERT_EQ(r.spawns[0], 1); /* group 0 untouched */
    ASSERT_EQ(r.spawns[1], 2);

    ASSERT_OK(sw__sup_shutdown(sup));
    ASSERT_EQ(sw__sup_state(sup), SW_SUP_STOPPING);
    ASSERT_OK(sw__sup_shutdown(sup)); /* again: 0 */
    ASSERT_EQ(r.stopped, 0);          /* never inside the call */
    pt_run_until(loop, &r.stopped, 10000, "stop");
    ASSERT_EQ(sw_loop_alive(loop), 0);
    ASSERT_OK(sw_loop_destroy(loop));
}

/* Every exit is reported before its replacement starts; a one-shot slot stays empty. */
SW_TEST(sup_exit_before_respawn_and_oneshot)
{
    sw_loop_t *loop = NULL;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    rec_t r = {0};
    sw_sup_t *sup = make_sup(loop, &r, 1000);
    ASSERT_EQ(sw__sup_add_slot(sup, 0, 0, child_sleep, NULL), 0);
    ASSERT_EQ(sw__sup_add_slot(sup, 0, SW_SUP_SLOT_ONESHOT, child_exit_now, NULL), 1);
    ASSERT_OK(sw__sup_start(sup));
    pid_t first = r.pids[0];
    ASSERT_OK(sw__sup_kill(sup, 0, SIGKILL));
    r.shutdown_after_exits = 2; /* the kill and the one-shot's own exit */
    pt_run_until(loop, &r.stopped, 20000, "stop");
    /* Slot 0: x (not expected, respawn) then s; slot 1: one x, no respawn. */
    int seen_x0 = -1, seen_s0_after = 0;
    for (int i = 0; i < r.n; i++) {
        if (r.ev[i] == 'x' && r.slot[i] == 0 && seen_x0 < 0) {
            seen_x0 = i;
            ASSERT_EQ(r.flags[i] & SW_SUP_EXIT_EXPECTED, 0);
        }
        if (r.ev[i] == 's' && r.slot[i] == 0 && seen_x0 >= 0 && i > seen_x0) {
            seen_s0_after = 1;
        }
        if (r.ev[i] == 'x' && r.slot[i] == 1) {
            ASSERT_EQ(r.flags[i] & SW_SUP_EXIT_RESPAWN, 0);
        }
    }
    ASSERT_GE(seen_x0, 0);
    ASSERT_EQ(r.spawns[1], 1);
    ASSERT_EQ(r.exits[1], 1);
    /* Whether slot 0 came back before the shutdown depends on the order of the two exits;
     * when it did, its new pid differs. */
    if (seen_s0_after) {
        ASSERT_NE(r.pids[0], first);
    }
    ASSERT_EQ(r.ev[r.n - 1], 'S');
    ASSERT_OK(sw_loop_destroy(loop));
}

/* A slot that dies at once is restarted with a growing delay, not in a tight loop. */
static void stop_soon(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)id;
    rec_t *r = arg;
    if (r->spawns[0] < 2) {
        /* A slow machine: wait for at least one restart before stopping. */
        ASSERT_OK(sw_timer_after(loop, 100, stop_soon, r, NULL));
        return;
    }
    ASSERT_OK(sw__sup_shutdown(r->sup));
}

SW_TEST(sup_crash_loop_backoff)
{
    sw_loop_t *loop = NULL;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    rec_t r = {0};
    sw_sup_t *sup = make_sup(loop, &r, 1000);
    ASSERT_EQ(sw__sup_add_slot(sup, 0, 0, child_exit_now, NULL), 0);
    ASSERT_OK(sw__sup_start(sup));
    ASSERT_OK(sw_timer_after(loop, 600, stop_soon, &r, NULL));
    pt_run_until(loop, &r.stopped, 20000, "stop");
    /* 10, 20, 40, 80, 160, 320 ms: about 7 starts fit in 600 ms (fewer on a slow machine);
     * without the back-off a child that exits at once would be restarted thousands of times. */
    ASSERT_GE(r.spawns[0], 2);
    ASSERT_LE(r.spawns[0], 12);
    ASSERT_OK(sw_loop_destroy(loop));
}

SW_TEST(sup_start_fork_fault_cleans_up)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("fault injection not compiled in");
    }
    sw_loop_t *loop = NULL;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    rec_t r = {0};
    sw_sup_t *sup = make_sup(loop, &r, 1000);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(sw__sup_add_slot(sup, 0, 0, child_sleep, NULL), i);
    }
    ASSERT_OK(sw__fault_set("fork", 2, 1)); /* the third fork fails */
    ASSERT_ERR(sw__sup_start(sup), SW_EAGAIN);
    sw__fault_reset();
    ASSERT_EQ(sw__sup_state(sup), SW_SUP_STOPPED);
    ASSERT_EQ(r.spawns[0] + r.spawns[1] + r.spawns[2], 0); /* no callbacks */
    ASSERT_EQ(pt_count_children(), 0);                     /* killed and reaped */
    ASSERT_EQ(sw__sup_alive(sup), 0);
    ASSERT_EQ(sw_loop_alive(loop), 0);
    ASSERT_OK(sw__sup_destroy(sup));
    ASSERT_OK(sw_loop_destroy(loop));
}

static int two_spawns(void *arg)
{
    return ((rec_t *)arg)->spawns[0] >= 2;
}

/* A respawn whose fork fails is reported and retried. */
SW_TEST(sup_respawn_fork_failure_retried)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("fault injection not compiled in");
    }
    sw_loop_t *loop = NULL;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    rec_t r = {0};
    sw_sup_t *sup = make_sup(loop, &r, 1000);
    ASSERT_EQ(sw__sup_add_slot(sup, 0, 0, child_sleep, NULL), 0);
    ASSERT_OK(sw__sup_start(sup));
    pid_t first = r.pids[0];
    ASSERT_OK(sw__fault_set("fork", 0, 2)); /* the next two forks fail */
    ASSERT_OK(sw__sup_kill(sup, 0, SIGKILL));
    pt_run_while_not(loop, two_spawns, &r, 20000, "the respawn after two fork failures");
    sw__fault_reset();
    ASSERT_EQ(r.spawn_errors, 2);
    ASSERT_NE(r.pids[0], first);
    ASSERT_OK(sw__sup_shutdown(sup));
    pt_run_until(loop, &r.stopped, 20000, "stop");
    ASSERT_OK(sw_loop_destroy(loop));
}

/* The launcher ignored SIGCHLD: the supervisor resets it and still respawns (swoole #2335). */
SW_TEST(sup_sigchld_ignored_still_respawns)
{
    signal(SIGCHLD, SIG_IGN);
    sw_loop_t *loop = NULL;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    rec_t r = {0};
    sw_sup_t *sup = make_sup(loop, &r, 1000);
    ASSERT_EQ(sw__sup_add_slot(sup, 0, 0, child_sleep, NULL), 0);
    ASSERT_OK(sw__sup_start(sup));
    ASSERT_OK(sw__sup_kill(sup, 0, SIGKILL));
    pt_run_while_not(loop, two_spawns, &r, 20000, "the respawn");
    ASSERT_EQ(r.spawns[0], 2);
    ASSERT_EQ(r.exits[0], 1);
    ASSERT_OK(sw__sup_shutdown(sup));
    pt_run_until(loop, &r.stopped, 20000, "stop");
    ASSERT_OK(sw_loop_destroy(loop));
}

/* Async reload: old and new overlap, old ones are reported detached, stragglers are killed. */
static int child_ignore_term(sw_sup_t *sup, int slot, void *arg)
{
    (void)sup;
    (void)slot;
    int fd = *(int *)arg;
    signal(SIGTERM, SIG_IGN);
    if (write(fd, "r", 1) != 1) {
        return 40;
    }
    for (int i = 0; i < 6000; i++) {
        pt_sleep_ms(10);
    }
    return 0;
}

SW_TEST(sup_async_reload_kills_stragglers)
{
    sw_loop_t *loop = NULL;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    rec_t r = {0};
    sw_sup_t *sup = make_sup(loop, &r, 200);
    int rp[2];
    ASSERT_EQ(pipe2(rp, O_CLOEXEC), 0);
    ASSERT_EQ(sw__sup_add_slot(sup, 0, 0, child_ignore_term, &rp[1]), 0);
    ASSERT_EQ(sw__sup_add_slot(sup, 0, 0, child_sleep, NULL), 1);
    ASSERT_OK(sw__sup_start(sup));
    pid_t old0 = r.pids[0], old1 = r.pids[1];
    char c;
    ASSERT_EQ(read(rp[0], &c, 1), 1); /* slot 0 ignores SIGTERM now */
    ASSERT_OK(sw__sup_reload(sup, 1, SW_SUP_RELOAD_ASYNC));
    /* Replacements exist at once. */
    ASSERT_EQ(r.spawns[0], 2);
    ASSERT_EQ(r.spawns[1], 2);
    ASSERT_NE(r.pids[0], old0);
    ASSERT_NE(r.pids[1], old1);
    ASSERT_EQ(sw__sup_alive(sup), 4);
    ASSERT_EQ(sw__sup_slot_of(sup, old0), 0);
    pt_run_until(loop, &r.reloaded, 20000, "async reload");
    ASSERT_EQ(sw__sup_alive(sup), 2);
    int killed = 0, detached = 0;
    for (int i = 0; i < r.n; i++) {
        if (r.ev[i] == 'x') {
            ASSERT_TRUE(r.flags[i] & SW_SUP_EXIT_EXPECTED);
            ASSERT_TRUE(r.flags[i] & SW_SUP_EXIT_RELOAD);
            ASSERT_EQ(r.flags[i] & SW_SUP_EXIT_RESPAWN, 0);
            detached += (r.flags[i] & SW_SUP_EXIT_DETACHED) != 0;
            killed += (r.flags[i] & SW_SUP_EXIT_KILLED) != 0;
        }
    }
    ASSERT_EQ(detached, 2);
    ASSERT_EQ(killed, 1); /* the one that ignored SIGTERM */
    ASSERT_OK(sw__sup_shutdown(sup));
    pt_run_until(loop, &r.stopped, 20000, "stop");
    ASSERT_OK(sw_loop_destroy(loop));
    close(rp[0]);
    close(rp[1]);
}
