/* fd watchers: start, modify, stop; hang-up and error events; the stale-event guard; bad
 * arguments. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sw_test.h"
#include "swoole/loop.h"

static void make_pair(int sv[2])
{
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
}

static int is_backend(const sw_loop_t *loop, const char *name)
{
    return strcmp(sw_loop_backend_name(loop), name) == 0;
}

typedef struct {
    int calls;
    int events;
    int last;
} counter_t;

static void count_io(sw_io_t *io, int events, void *arg)
{
    (void)io;
    counter_t *c = arg;
    c->calls++;
    c->events |= events;
    c->last = events;
}

SW_TEST(io_start_modify_stop)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int sv[2];
    make_pair(sv);
    counter_t c = {0};
    sw_io_t io;
    io.data = &c; /* the user's slot survives init */
    ASSERT_OK(sw_io_init(loop, &io, sv[0], count_io, &c));
    ASSERT_PTR_EQ(io.data, &c);
    ASSERT_EQ(sw_io_is_active(&io), 0);
    ASSERT_EQ(sw_loop_alive(loop), 0);

    /* READ: nothing to read yet, so NOWAIT delivers nothing. */
    ASSERT_OK(sw_io_start(&io, SW_EVENT_READ));
    ASSERT_EQ(sw_io_is_active(&io), 1);
    ASSERT_EQ(sw_loop_alive(loop), 1);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_NOWAIT), 1);
    ASSERT_EQ(c.calls, 0);

    /* Data arrives: READ, again and again while unread (level-triggered). */
    ASSERT_EQ(write(sv[1], "ab", 2), 2);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_ONCE), 1);
    ASSERT_EQ(c.calls, 1);
    ASSERT_EQ(c.last, SW_EVENT_READ);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_ONCE), 1);
    ASSERT_EQ(c.calls, 2);

    /* Same events again: a no-op. READ|WRITE: both reported. */
    ASSERT_OK(sw_io_start(&io, SW_EVENT_READ));
    ASSERT_OK(sw_io_start(&io, SW_EVENT_READ | SW_EVENT_WRITE));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_ONCE), 1);
    ASSERT_EQ(c.last, SW_EVENT_READ | SW_EVENT_WRITE);

    /* WRITE only: the pending input is no longer reported. */
    ASSERT_OK(sw_io_start(&io, SW_EVENT_WRITE));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_ONCE), 1);
    ASSERT_EQ(c.last, SW_EVENT_WRITE);

    /* 0: only errors and hang-ups; nothing here. */
    ASSERT_OK(sw_io_start(&io, 0));
    int before = c.calls;
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_NOWAIT), 1);
    ASSERT_EQ(c.calls, before);

    /* Stopped: nothing delivered, and the loop has nothing left. */
    ASSERT_OK(sw_io_start(&io, SW_EVENT_READ));
    ASSERT_OK(sw_io_stop(&io));
    ASSERT_OK(sw_io_stop(&io)); /* twice: a no-op */
    ASSERT_EQ(sw_io_is_active(&io), 0);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(c.calls, before);

    /* Restart after stop works. */
    ASSERT_OK(sw_io_start(&io, SW_EVENT_READ));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_ONCE), 1);
    ASSERT_EQ(c.calls, before + 1);
    ASSERT_OK(sw_io_stop(&io));

    ASSERT_OK(sw_loop_destroy(loop));
    close(sv[0]);
    close(sv[1]);
}

SW_TEST(io_one_watcher_per_fd)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int sv[2];
    make_pair(sv);
    counter_t c = {0};
    sw_io_t a, b;
    ASSERT_OK(sw_io_init(loop, &a, sv[0], count_io, &c));
    ASSERT_OK(sw_io_init(loop, &b, sv[0], count_io, &c));
    ASSERT_OK(sw_io_start(&a, SW_EVENT_READ));
    ASSERT_ERR(sw_io_start(&b, SW_EVENT_READ), SW_EEXIST);
    ASSERT_EQ(sw_io_is_active(&b), 0);
    ASSERT_OK(sw_io_stop(&b)); /* not started: no-op, and a stays */
    ASSERT_EQ(sw_io_is_active(&a), 1);
    ASSERT_OK(sw_io_stop(&a));
    ASSERT_OK(sw_io_start(&b, SW_EVENT_READ));
    ASSERT_OK(sw_io_stop(&b));
    ASSERT_OK(sw_loop_destroy(loop));
    close(sv[0]);
    close(sv[1]);
}

typedef struct {
    int calls;
    int events;
    ssize_t got;
} hup_t;

static void hup_cb(sw_io_t *io, int events, void *arg)
{
    hup_t *h = arg;
    h->calls++;
    h->events |= events;
    char buf[8];
    h->got = read(io->fd, buf, sizeof(buf));
    sw_io_stop(io);
}

SW_TEST(io_peer_hangup)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int sv[2];
    make_pair(sv);
    hup_t h = {0};
    sw_io_t io;
    ASSERT_OK(sw_io_init(loop, &io, sv[0], hup_cb, &h));
    ASSERT_OK(sw_io_start(&io, SW_EVENT_READ));
    close(sv[1]);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(h.calls, 1);
    ASSERT_TRUE(h.events & SW_EVENT_READ);
    ASSERT_TRUE(h.events & SW_EVENT_HUP); /* both ends gone: a full hang-up */
    ASSERT_EQ(h.got, 0);                  /* EOF */
    ASSERT_OK(sw_loop_destroy(loop));
    close(sv[0]);
}

SW_TEST(io_hangup_reported_without_interest)
{
    /* A watcher with events 0 still hears the hang-up (not on kqueue: no filter there). */
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int sv[2];
    make_pair(sv);
    hup_t h = {0};
    sw_io_t io;
    ASSERT_OK(sw_io_init(loop, &io, sv[0], hup_cb, &h));
    ASSERT_OK(sw_io_start(&io, 0));
    close(sv[1]);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(h.calls, 1);
    ASSERT_TRUE(h.events & SW_EVENT_HUP);
    ASSERT_FALSE(h.events & SW_EVENT_READ); /* not asked for */
    ASSERT_OK(sw_loop_destroy(loop));
    close(sv[0]);
}

typedef struct {
    int calls;
    int events;
    int so_error;
} err_t;

static void err_cb(sw_io_t *io, int events, void *arg)
{
    err_t *e = arg;
    e->calls++;
    e->events |= events;
    socklen_t len = sizeof(e->so_error);
    ASSERT_OK(getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &e->so_error, &len));
    sw_io_stop(io);
}

SW_TEST(io_error_connect_refused)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int port = sw_test_free_port();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    int cerr = r < 0 ? errno : 0;
    if (r == 0) {
        close(fd);
        ASSERT_OK(sw_loop_destroy(loop));
        SW_TEST_SKIP("something listens on the free port");
    }
    err_t e = {0};
    sw_io_t io;
    ASSERT_OK(sw_io_init(loop, &io, fd, err_cb, &e));
    ASSERT_OK(sw_io_start(&io, SW_EVENT_WRITE));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(e.calls, 1);
    if (cerr == EINPROGRESS) {
        /* The refusal is still pending in the socket: the loop reports it as ERROR. */
        ASSERT_TRUE(e.events & SW_EVENT_ERROR);
        ASSERT_EQ(e.so_error, ECONNREFUSED);
    } else {
        ASSERT_EQ(cerr, ECONNREFUSED);
        ASSERT_TRUE(e.events & (SW_EVENT_ERROR | SW_EVENT_HUP));
    }
    ASSERT_OK(sw_loop_destroy(loop));
    close(fd);
}

/* ---- stale-event guard --------------------------------------------------------------------- */

typedef struct {
    sw_loop_t *loop;
    int fds[2];   /* the two watched fds (the readable ends) */
    int peers[2]; /* their peers */
    sw_io_t io[2];
    int calls[2];
    int replacement_calls;
    sw_io_t replacement;
    int pipe_fds[2]; /* the replacement comes from here (dup2'ed onto the victim's number) */
    int restart;     /* start a watcher on the replacement inside the callback */
    int victim;
} stale_t;

static void replacement_cb(sw_io_t *io, int events, void *arg)
{
    (void)io;
    (void)events;
    stale_t *s = arg;
    s->replacement_calls++;
}

static void stale_cb(sw_io_t *io, int events, void *arg)
{
    (void)events;
    stale_t *s = arg;
    int me = io == &s->io[0] ? 0 : 1;
    s->calls[me]++;
    char buf[8];
    ASSERT_EQ(read(io->fd, buf, sizeof(buf)), 1);
    if (s->victim >= 0) {
        return;
    }
    /* First callback of the batch: stop and close the other fd, then put a new, idle file on
     * the same number. Its event from this batch must not reach anyone. */
    int other = 1 - me;
    s->victim = other;
    ASSERT_OK(sw_io_stop(&s->io[other]));
    int num = s->fds[other];
    ASSERT_OK(close(num));
    ASSERT_EQ(dup2(s->pipe_fds[0], num), num);
    if (s->restart) {
        ASSERT_OK(sw_io_init(s->loop, &s->replacement, num, replacement_cb, s));
        ASSERT_OK(sw_io_start(&s->replacement, SW_EVENT_READ));
    }
}

static void run_stale_case(int restart)
{
    stale_t s = {0};
    s.victim = -1;
    s.restart = restart;
    ASSERT_OK(sw_loop_create(&s.loop, NULL));
    ASSERT_OK(pipe2(s.pipe_fds, O_NONBLOCK | O_CLOEXEC));
    for (int i = 0; i < 2; i++) {
        int sv[2];
        make_pair(sv);
        s.fds[i] = sv[0];
        s.peers[i] = sv[1];
        ASSERT_OK(sw_io_init(s.loop, &s.io[i], sv[0], stale_cb, &s));
        ASSERT_OK(sw_io_start(&s.io[i], SW_EVENT_READ));
        ASSERT_EQ(write(sv[1], "x", 1), 1);
    }
    /* Both fds are readable before the wait: one batch holds both events. */
    ASSERT_EQ(sw_loop_run(s.loop, SW_RUN_ONCE), 1);
    ASSERT_GE(s.victim, 0);
    ASSERT_EQ(s.calls[1 - s.victim], 1);
    ASSERT_EQ(s.calls[s.victim], 0);
    ASSERT_EQ(s.replacement_calls, 0);
    /* The replacement is a pipe with nothing in it: still nothing on the next iteration. */
    ASSERT_EQ(sw_loop_run(s.loop, SW_RUN_NOWAIT), 1);
    ASSERT_EQ(s.replacement_calls, 0);
    /* And it works once it has data. */
    if (restart) {
        ASSERT_EQ(write(s.pipe_fds[1], "y", 1), 1);
        ASSERT_EQ(sw_loop_run(s.loop, SW_RUN_ONCE), 1);
        ASSERT_EQ(s.replacement_calls, 1);
        ASSERT_OK(sw_io_stop(&s.replacement));
    }
    ASSERT_OK(sw_io_stop(&s.io[1 - s.victim]));
    ASSERT_EQ(sw_loop_run(s.loop, SW_RUN_NOWAIT), 0);
    ASSERT_OK(sw_loop_destroy(s.loop));
    for (int i = 0; i < 2; i++) {
        close(s.fds[i]);
        close(s.peers[i]);
    }
    close(s.pipe_fds[0]);
    close(s.pipe_fds[1]);
}

SW_TEST(io_stale_event_dropped)
{
    run_stale_case(0);
}

SW_TEST(io_stale_event_not_given_to_new_watcher)
{
    run_stale_case(1);
}

/* ---- a watcher that reuses its own memory from its callback -------------------------------- */

typedef struct {
    sw_loop_t *loop;
    sw_io_t *io;
    int second_fd;
    int first_calls;
    int second_calls;
} reuse_t;

static void second_cb(sw_io_t *io, int events, void *arg)
{
    (void)events;
    reuse_t *r = arg;
    r->second_calls++;
    char buf[4];
    ASSERT_EQ(read(io->fd, buf, sizeof(buf)), 1);
    ASSERT_OK(sw_io_stop(io));
    free(io);
}

static void first_cb(sw_io_t *io, int events, void *arg)
{
    (void)events;
    reuse_t *r = arg;
    r->first_calls++;
    char buf[4];
    ASSERT_EQ(read(io->fd, buf, sizeof(buf)), 1);
    ASSERT_OK(sw_io_stop(io));
    ASSERT_OK(sw_io_init(r->loop, io, r->second_fd, second_cb, r));
    ASSERT_OK(sw_io_start(io, SW_EVENT_READ));
}

SW_TEST(io_reuse_memory_in_callback)
{
    reuse_t r = {0};
    ASSERT_OK(sw_loop_create(&r.loop, NULL));
    int a[2], b[2];
    make_pair(a);
    make_pair(b);
    r.second_fd = b[0];
    r.io = malloc(sizeof(sw_io_t));
    ASSERT_NOT_NULL(r.io);
    ASSERT_OK(sw_io_init(r.loop, r.io, a[0], first_cb, &r));
    ASSERT_OK(sw_io_start(r.io, SW_EVENT_READ));
    ASSERT_EQ(write(a[1], "1", 1), 1);
    ASSERT_EQ(write(b[1], "2", 1), 1);
    ASSERT_EQ(sw_loop_run(r.loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(r.first_calls, 1);
    ASSERT_EQ(r.second_calls, 1);
    ASSERT_OK(sw_loop_destroy(r.loop));
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
}

SW_TEST(io_high_fd_numbers)
{
    /* fd numbers far apart grow the fd table (and the poll backend's map) by doubling. */
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int sv[2];
    make_pair(sv);
    const int nums[3] = {300, 700, 1000};
    sw_io_t io[3];
    counter_t c[3] = {{0}};
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(dup2(sv[0], nums[i]), nums[i]);
        ASSERT_OK(sw_io_init(loop, &io[i], nums[i], count_io, &c[i]));
        ASSERT_OK(sw_io_start(&io[i], SW_EVENT_WRITE));
    }
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_ONCE), 1);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(c[i].calls, 1);
        ASSERT_EQ(c[i].last, SW_EVENT_WRITE);
        ASSERT_OK(sw_io_stop(&io[i]));
        close(nums[i]);
    }
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    close(sv[0]);
    close(sv[1]);
}

/* ---- bad arguments ------------------------------------------------------------------------- */

SW_TEST(io_bad_arguments)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int sv[2];
    make_pair(sv);
    counter_t c = {0};
    sw_io_t io;
    ASSERT_ERR(sw_io_init(NULL, &io, sv[0], count_io, &c), SW_EINVAL);
    ASSERT_ERR(sw_io_init(loop, NULL, sv[0], count_io, &c), SW_EINVAL);
    ASSERT_ERR(sw_io_init(loop, &io, sv[0], NULL, &c), SW_EINVAL);
    ASSERT_ERR(sw_io_init(loop, &io, -1, count_io, &c), SW_EINVAL);
    ASSERT_ERR(sw_io_init(loop, &io, -100, count_io, &c), SW_EINVAL);

    /* A closed fd. */
    int closed = dup(sv[0]);
    ASSERT_GE(closed, 0);
    close(closed);
    ASSERT_ERR(sw_io_init(loop, &io, closed, count_io, &c), SW_EBADF);

    /* Closed between init and start. */
    int fd = dup(sv[0]);
    ASSERT_OK(sw_io_init(loop, &io, fd, count_io, &c));
    close(fd);
    ASSERT_ERR(sw_io_start(&io, SW_EVENT_READ), SW_EBADF);
    ASSERT_EQ(sw_io_is_active(&io), 0);

    ASSERT_OK(sw_io_init(loop, &io, sv[0], count_io, &c));
    ASSERT_ERR(sw_io_start(NULL, SW_EVENT_READ), SW_EINVAL);
    ASSERT_ERR(sw_io_start(&io, SW_EVENT_ERROR), SW_EINVAL);
    ASSERT_ERR(sw_io_start(&io, SW_EVENT_HUP | SW_EVENT_READ), SW_EINVAL);
    ASSERT_ERR(sw_io_start(&io, 0x100), SW_EINVAL);
    ASSERT_ERR(sw_io_start(&io, -1), SW_EINVAL);
    ASSERT_OK(sw_io_start(&io, SW_EVENT_READ));
    ASSERT_ERR(sw_io_start(&io, 0x40), SW_EINVAL); /* started: still checked */
    ASSERT_EQ(sw_io_is_active(&io), 1);
    ASSERT_ERR(sw_io_stop(NULL), SW_EINVAL);
    ASSERT_EQ(sw_io_is_active(NULL), 0);
    sw_io_t zero = {0};
    ASSERT_ERR(sw_io_start(&zero, SW_EVENT_READ), SW_EINVAL);
    ASSERT_ERR(sw_io_stop(&zero), SW_EINVAL);
    ASSERT_OK(sw_io_stop(&io));

    /* A regular file: epoll refuses it (EPERM); poll accepts it (always ready). */
    char path[] = "/tmp/sw_test_io_XXXXXX";
    int file = mkstemp(path);
    ASSERT_GE(file, 0);
    unlink(path);
    ASSERT_OK(sw_io_init(loop, &io, file, count_io, &c));
    if (is_backend(loop, "epoll")) {
        ASSERT_ERR(sw_io_start(&io, SW_EVENT_READ), SW_EPERM);
        ASSERT_EQ(sw_io_is_active(&io), 0);
    } else {
        ASSERT_OK(sw_io_start(&io, SW_EVENT_READ));
        ASSERT_OK(sw_io_stop(&io));
    }
    close(file);

    ASSERT_EQ(sw_loop_alive(loop), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    close(sv[0]);
    close(sv[1]);
}
