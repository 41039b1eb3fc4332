/* The loop's fault points: epoll_create, eventfd, signalfd, write and alloc. Each failure must
 * come back as its code and leave nothing behind: the runner checks fds, and in ASan builds
 * LeakSanitizer checks memory at the end of each case. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/fault.h"
#include "sw_test.h"
#include "swoole/loop.h"

/* Present only in sanitizer builds: a leak check that does not end the process. */
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static void check_no_leaks(void)
{
    if (__lsan_do_recoverable_leak_check) {
        ASSERT_EQ(__lsan_do_recoverable_leak_check(), 0);
    }
}

static void require_faults(void)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("fault points are not compiled in (SWOOLE_FAULT_INJECTION=OFF)");
    }
}

static int is_blocked(int signum)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, signum) == 1;
}

SW_TEST(fault_backend_create)
{
    require_faults();
    sw_loop_t *loop = NULL;
    ASSERT_OK(sw__fault_set("epoll_create", 0, 1));
    int r = sw_loop_create(&loop, NULL);
    const char *env = getenv("SW_LOOP_BACKEND");
    if (env && strcmp(env, "poll") == 0) {
        /* poll has no kernel object to create. */
        ASSERT_OK(r);
        ASSERT_EQ(sw__fault_hits("epoll_create"), 0);
        ASSERT_OK(sw_loop_destroy(loop));
    } else {
        ASSERT_ERR(r, SW_EMFILE);
        ASSERT_EQ(sw__fault_hits("epoll_create"), 1);
        ASSERT_NULL(loop);
    }
    sw__fault_reset();
    ASSERT_OK(sw_loop_create(&loop, NULL));
    ASSERT_OK(sw_loop_destroy(loop));
    check_no_leaks();
}

SW_TEST(fault_wakeup_fd)
{
    require_faults();
    sw_loop_t *loop = NULL;
    ASSERT_OK(sw__fault_set("eventfd", 0, 1));
    ASSERT_ERR(sw_loop_create(&loop, NULL), SW_EMFILE);
    ASSERT_NULL(loop);
    ASSERT_EQ(sw__fault_hits("eventfd"), 1);
    sw__fault_reset();
    check_no_leaks();
}

static void sig_cb(sw_signal_t *sig, int signum, void *arg)
{
    (void)signum;
    ++*(int *)arg;
    sw_signal_stop(sig);
}

SW_TEST(fault_signal_source)
{
    require_faults();
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int calls = 0;
    sw_signal_t sig;
    ASSERT_OK(sw_signal_init(loop, &sig, sig_cb, &calls));
    ASSERT_OK(sw__fault_set("signalfd", 0, 1));
    ASSERT_ERR(sw_signal_start(&sig, SIGUSR1), SW_EMFILE);
    ASSERT_EQ(sw__fault_hits("signalfd"), 1);
    ASSERT_FALSE(is_blocked(SIGUSR1)); /* undone */
    ASSERT_EQ(sw_loop_alive(loop), 0);
    /* The next start works and the signal arrives. */
    ASSERT_OK(sw_signal_start(&sig, SIGUSR1));
    ASSERT_OK(kill(getpid(), SIGUSR1));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(calls, 1);
    ASSERT_OK(sw_loop_destroy(loop));
    sw__fault_reset();
    check_no_leaks();
}

SW_TEST(fault_write_direct)
{
    require_faults();
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    ASSERT_OK(sw__fault_set("write", 0, 1));
    ASSERT_ERR(sw_loop_write(loop, sv[0], "abc", 3), SW_EPIPE);
    ASSERT_UEQ(sw_loop_write_pending(loop, sv[0]), 0);
    ASSERT_EQ(sw_loop_write_error(loop, sv[0]), 0);
    ASSERT_EQ(sw_loop_alive(loop), 0);
    ASSERT_OK(sw_loop_write(loop, sv[0], "abc", 3)); /* the point fired once */
    char buf[4];
    ASSERT_EQ(read(sv[1], buf, sizeof(buf)), 3);
    ASSERT_OK(sw_loop_destroy(loop));
    close(sv[0]);
    close(sv[1]);
    sw__fault_reset();
    check_no_leaks();
}

typedef struct {
    int calls;
    int events;
} ev_t;

static void err_cb(sw_io_t *io, int events, void *arg)
{
    ev_t *e = arg;
    e->calls++;
    e->events |= events;
    if (events & SW_EVENT_ERROR) {
        sw_io_stop(io);
    }
}

SW_TEST(fault_write_background)
{
    require_faults();
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    static char buf[1 << 20];
    ASSERT_OK(sw_loop_write(loop, sv[0], buf, sizeof(buf)));
    ASSERT_UGT(sw_loop_write_pending(loop, sv[0]), 0);
    ev_t e = {0};
    sw_io_t io;
    ASSERT_OK(sw_io_init(loop, &io, sv[0], err_cb, &e));
    ASSERT_OK(sw_io_start(&io, SW_EVENT_READ));
    /* Make room so that the fd becomes writable, then fail the background write. */
    static char sink[256 << 10];
    ASSERT_GT(read(sv[1], sink, sizeof(sink)), 0);
    ASSERT_OK(sw__fault_set("write", 0, 1));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(sw__fault_hits("write"), 1);
    ASSERT_EQ(e.calls, 1);
    ASSERT_TRUE(e.events & SW_EVENT_ERROR);
    ASSERT_ERR(sw_loop_write_error(loop, sv[0]), SW_EPIPE);
    ASSERT_UEQ(sw_loop_write_pending(loop, sv[0]), 0);
    ASSERT_UEQ(sw_loop_write_cancel(loop, sv[0]), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    close(sv[0]);
    close(sv[1]);
    sw__fault_reset();
    check_no_leaks();
}

/* Fails the 1st, 2nd, ... allocation of `expr` until it succeeds, checking that each failure
 * is SW_ENOMEM; `undo` reverts the success. */
#define ALLOC_SWEEP(expr, undo)                          \
    do {                                                 \
        for (int skip_ = 0;; skip_++) {                  \
            ASSERT_LT(skip_, 64);                        \
            ASSERT_OK(sw__fault_set("alloc", skip_, 1)); \
            int r_ = (expr);                             \
            int hit_ = sw__fault_hits("alloc") > skip_;  \
            sw__fault_reset();                           \
            if (r_ == 0) {                               \
                ASSERT_FALSE(hit_);                      \
                undo;                                    \
                break;                                   \
            }                                            \
            ASSERT_ERR(r_, SW_ENOMEM);                   \
        }                                                \
    } while (0)

static void noop_cb(sw_loop_t *loop, void *arg)
{
    (void)loop;
    ++*(int *)arg;
}

static void io_noop(sw_io_t *io, int events, void *arg)
{
    (void)io;
    (void)events;
    (void)arg;
}

SW_TEST(fault_alloc_everywhere)
{
    require_faults();
    sw_loop_t *loop = NULL;
    /* Creation: every allocation of it may fail. */
    ALLOC_SWEEP(sw_loop_create(&loop, NULL), (void)0);
    ASSERT_NOT_NULL(loop);
    check_no_leaks();

    /* Defer and post: a failed call never runs its callback. */
    int calls = 0;
    ALLOC_SWEEP(sw_loop_defer(loop, noop_cb, &calls), (void)0);
    ALLOC_SWEEP(sw_loop_post(loop, noop_cb, &calls), (void)0);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(calls, 2);

    /* A watcher on a high fd grows the tables. */
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    ASSERT_EQ(dup2(sv[0], 900), 900);
    sw_io_t io;
    ASSERT_OK(sw_io_init(loop, &io, 900, io_noop, NULL));
    ALLOC_SWEEP(sw_io_start(&io, SW_EVENT_READ), ASSERT_OK(sw_io_stop(&io)));
    ASSERT_EQ(sw_loop_alive(loop), 0);

    /* Queueing a write: fill the socket first so that nothing goes out directly, then every
     * allocation of the queue may fail with nothing written and nothing queued. */
    static char buf[64 << 10];
    while (write(sv[0], buf, sizeof(buf)) > 0) {
    }
    ALLOC_SWEEP(sw_loop_write(loop, sv[0], buf, 1000), (void)sw_loop_write_cancel(loop, sv[0]));
    ASSERT_EQ(sw_loop_alive(loop), 0);

    /* The signal source: its state and its watcher. */
    sw_signal_t sig;
    int sigcalls = 0;
    ASSERT_OK(sw_signal_init(loop, &sig, sig_cb, &sigcalls));
    ALLOC_SWEEP(sw_signal_start(&sig, SIGUSR2), ASSERT_OK(sw_signal_stop(&sig)));
    ASSERT_FALSE(is_blocked(SIGUSR2));
    ASSERT_EQ(sw_loop_alive(loop), 0);

    ASSERT_OK(sw_loop_destroy(loop));
    close(900);
    close(sv[0]);
    close(sv[1]);
    check_no_leaks();
}
