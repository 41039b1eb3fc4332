/* sw_loop_fork_release: a child frees the parent's loop without disturbing the parent. */
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sw_test.h"
#include "swoole/loop.h"
#include "swoole/timer.h"

typedef struct {
    int reads;
    int signals;
    int posts;
    sw_loop_t *loop;
} fork_state_t;

static void on_read(sw_io_t *io, int events, void *arg)
{
    fork_state_t *s = arg;
    char buf[16];
    if (events & SW_EVENT_READ) {
        ASSERT_GT(read(io->fd, buf, sizeof(buf)), 0);
        s->reads++;
    }
    sw_loop_stop(s->loop);
}

static void on_signal(sw_signal_t *sig, int signum, void *arg)
{
    (void)sig;
    ASSERT_EQ(signum, SIGUSR1);
    fork_state_t *s = arg;
    s->signals++;
    sw_loop_stop(s->loop);
}

static void on_post(sw_loop_t *loop, void *arg)
{
    fork_state_t *s = arg;
    s->posts++;
    sw_loop_stop(loop);
}

static void noop_timer(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    (void)arg;
}

SW_TEST(loop_fork_release_leaves_parent_intact)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    fork_state_t s = {.loop = loop};
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
    sw_io_t io;
    ASSERT_OK(sw_io_init(loop, &io, sv[0], on_read, &s));
    ASSERT_OK(sw_io_start(&io, SW_EVENT_READ));
    sw_signal_t sig;
    ASSERT_OK(sw_signal_init(loop, &sig, on_signal, &s));
    ASSERT_OK(sw_signal_start(&sig, SIGUSR1));
    uint64_t tid;
    ASSERT_OK(sw_timer_after(loop, 100000, noop_timer, NULL, &tid));
    ASSERT_OK(sw_loop_post(loop, on_post, &s));
    /* The post runs here, so the wake-up fd exists and has fired once. */
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 1);
    ASSERT_EQ(s.posts, 1);

    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        int before = sw_test_count_fds();
        ASSERT_OK(sw_loop_fork_release(loop));
        int after = sw_test_count_fds();
        /* At least the wake-up fd and the signal source's fd are gone (plus the epoll fd with
         * epoll); the user's socket is not the loop's to close. */
        ASSERT_GE(before - after, 2);
        ASSERT_GE(fcntl(sv[0], F_GETFD), 0);
        ASSERT_GE(fcntl(sv[1], F_GETFD), 0);
        _exit(0);
    }
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);

    /* The parent's registrations survived: an fd event, a signal and a post still arrive. */
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 1);
    ASSERT_EQ(s.reads, 1);
    ASSERT_OK(kill(getpid(), SIGUSR1));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 1);
    ASSERT_EQ(s.signals, 1);
    ASSERT_OK(sw_loop_post(loop, on_post, &s));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 1);
    ASSERT_EQ(s.posts, 2);

    ASSERT_OK(sw_io_stop(&io));
    ASSERT_OK(sw_signal_stop(&sig));
    ASSERT_OK(sw_timer_clear(loop, tid));
    ASSERT_OK(sw_loop_destroy(loop));
    close(sv[0]);
    close(sv[1]);
}

SW_TEST(loop_fork_release_bad_argument)
{
    ASSERT_ERR(sw_loop_fork_release(NULL), SW_EINVAL);
}
