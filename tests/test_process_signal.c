/* Signals and alarms through a loop, the signal state a child starts with, SIGCHLD reset, and
 * PR_SET_PDEATHSIG (no orphans). */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <unistd.h>

#include "swoole/loop.h"
#include "swoole/process.h"
#include "swoole/timer.h"
#include "test_process_util.h"

typedef struct {
    int count;
    int last;
    int done;
} sigcount_t;

static void on_sig(sw_signal_t *sig, int signum, void *arg)
{
    (void)sig;
    sigcount_t *c = arg;
    c->count++;
    c->last = signum;
    c->done = 1;
}

SW_TEST(process_signal_on_loop)
{
    sw_loop_t *loop = NULL;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    sw_process_t *p = NULL;
    ASSERT_OK(sw_process_create(&p, NULL, NULL, 0));
    ASSERT_ERR(sw_process_signal(p, loop, SIGKILL, on_sig, NULL), SW_EINVAL);
    ASSERT_ERR(sw_process_signal(p, loop, 0, on_sig, NULL), SW_EINVAL);
    ASSERT_ERR(sw_process_signal(p, loop, 65, on_sig, NULL), SW_EINVAL);
    ASSERT_ERR(sw_process_signal(p, NULL, SIGUSR1, on_sig, NULL), SW_EINVAL);
    ASSERT_OK(sw_process_signal(p, NULL, SIGUSR1, NULL, NULL)); /* removing nothing */

    sigcount_t a = {0}, b = {0};
    ASSERT_OK(sw_process_signal(p, loop, SIGUSR1, on_sig, &a));
    ASSERT_OK(sw_process_kill(getpid(), SIGUSR1));
    pt_run_until(loop, &a.done, 5000, "SIGUSR1");
    ASSERT_EQ(a.count, 1);
    ASSERT_EQ(a.last, SIGUSR1);

    /* Replacing the callback: the new one gets the next delivery, the old one nothing. */
    ASSERT_OK(sw_process_signal(p, loop, SIGUSR1, on_sig, &b));
    ASSERT_OK(sw_process_kill(getpid(), SIGUSR1));
    pt_run_until(loop, &b.done, 5000, "SIGUSR1 again");
    ASSERT_EQ(a.count, 1);
    ASSERT_EQ(b.count, 1);

    /* Removed: the loop has nothing left. */
    ASSERT_OK(sw_process_signal(p, loop, SIGUSR1, NULL, NULL));
    ASSERT_EQ(sw_loop_alive(loop), 0);

    /* destroy stops what is still registered. */
    ASSERT_OK(sw_process_signal(p, loop, SIGUSR2, on_sig, &a));
    ASSERT_EQ(sw_loop_alive(loop), 1);
    ASSERT_OK(sw_process_destroy(p));
    ASSERT_EQ(sw_loop_alive(loop), 0);
    ASSERT_OK(sw_loop_destroy(loop));
}

typedef struct {
    int ticks;
    int done;
} alarm_t;

static void on_alarm(sw_signal_t *sig, int signum, void *arg)
{
    (void)sig;
    alarm_t *a = arg;
    if (signum == SIGALRM && ++a->ticks == 3) {
        sw_process_alarm(0, SW_ALARM_REAL);
        a->done = 1;
    }
}

SW_TEST(process_alarm_via_loop)
{
    ASSERT_ERR(sw_process_alarm(-1, SW_ALARM_REAL), SW_EINVAL);
    ASSERT_ERR(sw_process_alarm(1000, 3), SW_EINVAL);
    ASSERT_ERR(sw_process_alarm(1000, -1), SW_EINVAL);
    sw_loop_t *loop = NULL;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    sw_process_t *p = NULL;
    ASSERT_OK(sw_process_create(&p, NULL, NULL, 0));
    alarm_t a = {0};
    ASSERT_OK(sw_process_signal(p, loop, SIGALRM, on_alarm, &a));
    ASSERT_OK(sw_process_alarm(20 * 1000, SW_ALARM_REAL));
    pt_run_until(loop, &a.done, 10000, "three SIGALRM");
    ASSERT_EQ(a.ticks, 3);
    /* The timer is off: nothing arrives any more. */
    struct itimerval it;
    ASSERT_EQ(getitimer(ITIMER_REAL, &it), 0);
    ASSERT_EQ(it.it_value.tv_sec, 0);
    ASSERT_EQ(it.it_value.tv_usec, 0);
    ASSERT_OK(sw_process_destroy(p));
    ASSERT_OK(sw_loop_destroy(loop));
}

/* ---- a child's signals ------------------------------------------------------------------- */

static void dummy_handler(int signo)
{
    (void)signo;
}

/* Reports its signal state, then runs a loop with its own SIGUSR2 watcher. */
static int child_signals(sw_process_t *p, void *arg)
{
    (void)arg;
    sigset_t mask;
    sigprocmask(SIG_SETMASK, NULL, &mask);
    struct sigaction usr1, hup, chld;
    sigaction(SIGUSR1, NULL, &usr1);
    sigaction(SIGHUP, NULL, &hup);
    sigaction(SIGCHLD, NULL, &chld);
    char state[8];
    state[0] = sigismember(&mask, SIGUSR1) ? 'B' : 'u'; /* the parent's loop blocked it */
    state[1] = sigismember(&mask, SIGTERM) ? 'B' : 'u';
    state[2] = usr1.sa_handler == SIG_DFL ? 'd' : 'h'; /* caught in the parent */
    state[3] = hup.sa_handler == SIG_IGN ? 'i' : 'x';  /* ignored in the parent */
    state[4] = chld.sa_handler == SIG_DFL ? 'd' : 'x'; /* ignored in the parent */
    if (sw_process_write(p, state, 5) != 5) {
        return 2;
    }
    sw_loop_t *loop = NULL;
    if (sw_loop_create(&loop, NULL) != 0) {
        return 3;
    }
    sigcount_t c = {0};
    if (sw_process_signal(p, loop, SIGUSR2, on_sig, &c) != 0) {
        return 4;
    }
    if (sw_process_write(p, "R", 1) != 1) {
        return 5;
    }
    for (int i = 0; i < 1000 && !c.done; i++) {
        sw_loop_run(loop, SW_RUN_ONCE);
    }
    sw_process_signal(p, loop, SIGUSR2, NULL, NULL);
    sw_loop_destroy(loop);
    return c.last == SIGUSR2 ? 0 : 6;
}

SW_TEST(process_child_signal_state)
{
    sw_loop_t *loop = NULL;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    sw_process_t *parent_sigs = NULL;
    ASSERT_OK(sw_process_create(&parent_sigs, NULL, NULL, 0));
    sigcount_t c = {0};
    /* The parent watches SIGTERM through its loop (blocked here on Linux), catches SIGUSR1 with
     * a handler, and ignores SIGHUP and SIGCHLD. */
    ASSERT_OK(sw_process_signal(parent_sigs, loop, SIGTERM, on_sig, &c));
    struct sigaction sa = {0};
    sa.sa_handler = dummy_handler;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    sigprocmask(SIG_BLOCK, &one, NULL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGCHLD, SIG_IGN);

    sw_process_t *p = NULL;
    ASSERT_OK(sw_process_create(&p, child_signals, NULL, SW_PROCESS_PIPE_STREAM));
    int pid = sw_process_start(p);
    ASSERT_GT(pid, 0);
    char state[6] = {0};
    size_t got = 0;
    while (got < 5) {
        ssize_t n = sw_process_read(p, state + got, 5 - got);
        ASSERT_GT(n, 0);
        got += (size_t)n;
    }
    ASSERT_STR_EQ(state, "uudid");
    char r;
    ASSERT_EQ(sw_process_read(p, &r, 1), 1);
    ASSERT_EQ(r, 'R');
    ASSERT_OK(sw_process_kill(pid, SIGUSR2));
    sw_process_status_t st;
    /* SIGCHLD was ignored here: start put it back to the default, so wait still works. */
    ASSERT_EQ(sw_process_wait(pid, 1, &st), pid);
    ASSERT_EQ(st.exit_code, 0);
    ASSERT_OK(sw_process_destroy(p));
    ASSERT_OK(sw_process_destroy(parent_sigs));
    ASSERT_OK(sw_loop_destroy(loop));
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
}

/* SA_NOCLDWAIT is cleared too (it would make the kernel reap the child itself). */
SW_TEST(process_sigchld_nocldwait_reset)
{
    struct sigaction sa = {0};
    sa.sa_handler = SIG_DFL;
    sa.sa_flags = SA_NOCLDWAIT;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGCHLD, &sa, NULL), 0);
    sw_process_t *p = NULL;
    ASSERT_OK(sw_process_create(&p, NULL, NULL, 0));
    ASSERT_OK(sw_process_set_exec(p, "/bin/true", NULL, NULL));
    int pid = sw_process_start(p);
    ASSERT_GT(pid, 0);
    sw_process_status_t st;
    ASSERT_EQ(sw_process_wait(pid, 1, &st), pid);
    ASSERT_EQ(st.exit_code, 0);
    struct sigaction now;
    ASSERT_EQ(sigaction(SIGCHLD, NULL, &now), 0);
    ASSERT_EQ(now.sa_flags & SA_NOCLDWAIT, 0);
    ASSERT_OK(sw_process_destroy(p));
}

/* ---- parent death ------------------------------------------------------------------------ */

static int child_sleeper(sw_process_t *p, void *arg)
{
    (void)p;
    (void)arg;
    for (int i = 0; i < 6000; i++) {
        pt_sleep_ms(10);
    }
    return 9;
}

/* The middle process starts a grandchild (with or without PDEATHSIG), reports its pid, and
 * waits to be killed. */
static int child_middle(sw_process_t *p, void *arg)
{
    int flags = (int)(intptr_t)arg;
    sw_process_t *g = NULL;
    if (sw_process_create(&g, child_sleeper, NULL, flags) != 0) {
        return 2;
    }
    int gpid = sw_process_start(g);
    if (gpid <= 0 || sw_process_write(p, &gpid, sizeof(gpid)) != (ssize_t)sizeof(gpid)) {
        return 3;
    }
    for (int i = 0; i < 6000; i++) {
        pt_sleep_ms(10);
    }
    return 4;
}

static void check_parent_death(int flags, int expect_killed)
{
    /* Orphans come to us instead of init, so that we can reap and inspect them. */
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    sw_process_t *p = NULL;
    ASSERT_OK(sw_process_create(&p, child_middle, (void *)(intptr_t)flags, SW_PROCESS_PIPE_STREAM));
    int pid = sw_process_start(p);
    ASSERT_GT(pid, 0);
    int gpid = 0;
    ASSERT_EQ(sw_process_read(p, &gpid, sizeof(gpid)), sizeof(gpid));
    ASSERT_GT(gpid, 0);
    ASSERT_OK(sw_process_kill(pid, SIGKILL));
    sw_process_status_t st;
    ASSERT_EQ(sw_process_wait(pid, 1, &st), pid);
    ASSERT_EQ(st.signal, SIGKILL);
    if (expect_killed) {
        /* The grandchild got SIGKILL from the kernel when its parent died. */
        ASSERT_EQ(sw_process_wait(gpid, 1, &st), gpid);
        ASSERT_EQ(st.signal, SIGKILL);
    } else {
        /* It lives on (reparented to us); end it ourselves. */
        pt_sleep_ms(50);
        ASSERT_EQ(sw_process_wait(gpid, 0, &st), 0);
        ASSERT_OK(sw_process_kill(gpid, SIGTERM));
        ASSERT_EQ(sw_process_wait(gpid, 1, &st), gpid);
        ASSERT_EQ(st.signal, SIGTERM);
    }
    ASSERT_OK(sw_process_destroy(p));
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}

SW_TEST(process_child_dies_with_parent)
{
    check_parent_death(0, 1);
}

SW_TEST(process_no_pdeathsig_child_survives)
{
    check_parent_death(SW_PROCESS_NO_PDEATHSIG, 0);
}
