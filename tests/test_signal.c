/* Signal watchers: SIGUSR1 and SIGCHLD through the loop, several watchers of one signal, the
 * signal state restored after the last watcher, bad arguments. */
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sw_test.h"
#include "swoole/loop.h"

static int is_blocked(int signum)
{
    sigset_t cur;
    ASSERT_OK(pthread_sigmask(SIG_BLOCK, NULL, &cur));
    return sigismember(&cur, signum) == 1;
}

static int has_default_action(int signum)
{
    struct sigaction sa;
    ASSERT_OK(sigaction(signum, NULL, &sa));
    return sa.sa_handler == SIG_DFL;
}

/* Runs single iterations until *flag changes (bounded in time). */
static void run_until(sw_loop_t *loop, const int *flag, int want)
{
    uint64_t start = sw_test_now_ms();
    while (*flag != want && sw_test_now_ms() - start < 10000) {
        sw_loop_run(loop, SW_RUN_ONCE);
    }
    ASSERT_EQ(*flag, want);
}

typedef struct {
    int calls;
    int signum;
    int stop;
} sigcount_t;

static void count_sig(sw_signal_t *sig, int signum, void *arg)
{
    sigcount_t *c = arg;
    c->calls++;
    c->signum = signum;
    if (c->stop) {
        ASSERT_OK(sw_signal_stop(sig));
    }
}

SW_TEST(signal_usr1_via_loop)
{
    ASSERT_FALSE(is_blocked(SIGUSR1));
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    sigcount_t c = {.stop = 1};
    sw_signal_t sig;
    ASSERT_OK(sw_signal_init(loop, &sig, count_sig, &c));
    ASSERT_EQ(sw_loop_alive(loop), 0);
    ASSERT_OK(sw_signal_start(&sig, SIGUSR1));
    ASSERT_OK(sw_signal_start(&sig, SIGUSR1)); /* same number: no-op */
    ASSERT_EQ(sw_loop_alive(loop), 1);
    ASSERT_OK(kill(getpid(), SIGUSR1));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0); /* the callback stops the only watcher */
    ASSERT_EQ(c.calls, 1);
    ASSERT_EQ(c.signum, SIGUSR1);
    /* The thread's signal state is as before. */
    ASSERT_FALSE(is_blocked(SIGUSR1));
    ASSERT_TRUE(has_default_action(SIGUSR1));
    ASSERT_OK(sw_loop_destroy(loop));
}

typedef struct {
    pid_t pid;
    int reaped;
    int status;
} child_t;

static void chld_cb(sw_signal_t *sig, int signum, void *arg)
{
    ASSERT_EQ(signum, SIGCHLD);
    child_t *c = arg;
    int st;
    pid_t r = waitpid(c->pid, &st, WNOHANG);
    if (r == c->pid) {
        c->reaped = 1;
        c->status = st;
        ASSERT_OK(sw_signal_stop(sig));
    }
}

SW_TEST(signal_sigchld_reaps_child)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    child_t c = {0};
    sw_signal_t sig;
    ASSERT_OK(sw_signal_init(loop, &sig, chld_cb, &c));
    ASSERT_OK(sw_signal_start(&sig, SIGCHLD));
    c.pid = fork();
    ASSERT_GE(c.pid, 0);
    if (c.pid == 0) {
        _exit(7);
    }
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(c.reaped, 1);
    ASSERT_TRUE(WIFEXITED(c.status));
    ASSERT_EQ(WEXITSTATUS(c.status), 7);
    ASSERT_OK(sw_loop_destroy(loop));
}

typedef struct {
    sw_signal_t w[2];
    int calls[2];
    int order[8];
    int n;
    int stop_second;
} multi_t;

static void multi_cb(sw_signal_t *sig, int signum, void *arg)
{
    (void)signum;
    multi_t *m = arg;
    int me = sig == &m->w[0] ? 0 : 1;
    m->calls[me]++;
    if (m->n < 8) {
        m->order[m->n++] = me;
    }
    if (me == 0 && m->stop_second) {
        ASSERT_OK(sw_signal_stop(&m->w[1]));
    }
}

SW_TEST(signal_several_watchers)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    multi_t m = {0};
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(sw_signal_init(loop, &m.w[i], multi_cb, &m));
        ASSERT_OK(sw_signal_start(&m.w[i], SIGUSR2));
    }
    /* Both are called, in start order. */
    ASSERT_OK(kill(getpid(), SIGUSR2));
    run_until(loop, &m.calls[1], 1);
    ASSERT_EQ(m.calls[0], 1);
    ASSERT_EQ(m.order[0], 0);
    ASSERT_EQ(m.order[1], 1);
    /* The first stops the second: the second does not see this delivery. */
    m.stop_second = 1;
    ASSERT_OK(kill(getpid(), SIGUSR2));
    run_until(loop, &m.calls[0], 2);
    ASSERT_EQ(m.calls[1], 1);
    ASSERT_EQ(sw_loop_alive(loop), 1);
    ASSERT_OK(sw_signal_stop(&m.w[0]));
    ASSERT_EQ(sw_loop_alive(loop), 0);
    ASSERT_OK(sw_loop_destroy(loop));
}

SW_TEST(signal_state_restored)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    sigcount_t c = {0};
    sw_signal_t sig;
    ASSERT_OK(sw_signal_init(loop, &sig, count_sig, &c));

    /* Blocked before: stays blocked after. */
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    ASSERT_OK(pthread_sigmask(SIG_BLOCK, &one, NULL));
    ASSERT_OK(sw_signal_start(&sig, SIGUSR1));
    ASSERT_OK(sw_signal_stop(&sig));
    ASSERT_TRUE(is_blocked(SIGUSR1));
    ASSERT_OK(pthread_sigmask(SIG_UNBLOCK, &one, NULL));

    /* A signal that arrived while watched but was never read does not reach the default
     * action (which would end this process) when the watcher stops. */
    ASSERT_OK(sw_signal_start(&sig, SIGUSR1));
    ASSERT_OK(kill(getpid(), SIGUSR1));
    ASSERT_OK(sw_signal_stop(&sig));
    ASSERT_FALSE(is_blocked(SIGUSR1));
    ASSERT_TRUE(has_default_action(SIGUSR1));
    ASSERT_EQ(c.calls, 0);

    /* Start, stop, start again: delivered. */
    ASSERT_OK(sw_signal_start(&sig, SIGUSR1));
    c.stop = 1;
    ASSERT_OK(kill(getpid(), SIGUSR1));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(c.calls, 1);
    ASSERT_OK(sw_loop_destroy(loop));
}

SW_TEST(signal_makes_backend_fd_readable)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int bfd = sw_loop_backend_fd(loop);
    if (bfd == SW_ENOTSUP) {
        ASSERT_OK(sw_loop_destroy(loop));
        return;
    }
    ASSERT_GE(bfd, 0);
    sigcount_t c = {.stop = 1};
    sw_signal_t sig;
    ASSERT_OK(sw_signal_init(loop, &sig, count_sig, &c));
    ASSERT_OK(sw_signal_start(&sig, SIGUSR2));
    struct pollfd p = {.fd = bfd, .events = POLLIN};
    ASSERT_EQ(poll(&p, 1, 0), 0);
    ASSERT_OK(kill(getpid(), SIGUSR2));
    ASSERT_EQ(poll(&p, 1, 5000), 1);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_NOWAIT), 0);
    ASSERT_EQ(c.calls, 1);
    ASSERT_OK(sw_loop_destroy(loop));
}

SW_TEST(signal_bad_arguments)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    sigcount_t c = {0};
    sw_signal_t sig;
    ASSERT_ERR(sw_signal_init(NULL, &sig, count_sig, &c), SW_EINVAL);
    ASSERT_ERR(sw_signal_init(loop, NULL, count_sig, &c), SW_EINVAL);
    ASSERT_ERR(sw_signal_init(loop, &sig, NULL, &c), SW_EINVAL);
    ASSERT_OK(sw_signal_init(loop, &sig, count_sig, &c));
    ASSERT_ERR(sw_signal_start(NULL, SIGUSR1), SW_EINVAL);
    ASSERT_ERR(sw_signal_start(&sig, 0), SW_EINVAL);
    ASSERT_ERR(sw_signal_start(&sig, -1), SW_EINVAL);
    ASSERT_ERR(sw_signal_start(&sig, 65), SW_EINVAL);
    ASSERT_ERR(sw_signal_start(&sig, 1000), SW_EINVAL);
    ASSERT_ERR(sw_signal_start(&sig, SIGKILL), SW_EINVAL);
    ASSERT_ERR(sw_signal_start(&sig, SIGSTOP), SW_EINVAL);
#ifdef __linux__
    ASSERT_ERR(sw_signal_start(&sig, 32), SW_EINVAL); /* glibc's own */
#endif
    ASSERT_OK(sw_signal_start(&sig, SIGUSR1));
    ASSERT_ERR(sw_signal_start(&sig, SIGUSR2), SW_EINVAL); /* started on another number */
    ASSERT_ERR(sw_signal_stop(NULL), SW_EINVAL);
    sw_signal_t zero = {0};
    ASSERT_ERR(sw_signal_start(&zero, SIGUSR1), SW_EINVAL);
    ASSERT_ERR(sw_signal_stop(&zero), SW_EINVAL);
    ASSERT_OK(sw_signal_stop(&sig));
    ASSERT_OK(sw_signal_stop(&sig)); /* twice: no-op */
    ASSERT_FALSE(is_blocked(SIGUSR1));
    ASSERT_OK(sw_loop_destroy(loop));
}
