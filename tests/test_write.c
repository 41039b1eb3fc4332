/* Buffered writes: the 4 MiB pipe transfer, the cap, later errors, interaction with a watcher,
 * bad arguments. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sw_test.h"
#include "swoole/loop.h"

static unsigned char pattern(size_t i)
{
    return (unsigned char)((i * 131u) ^ (i >> 11) ^ (i >> 19));
}

static void set_blocking(int fd, int blocking)
{
    int fl = fcntl(fd, F_GETFL);
    ASSERT_GE(fl, 0);
    ASSERT_OK(fcntl(fd, F_SETFL, blocking ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK)));
}

typedef struct {
    int fd;
    size_t want;
    size_t got;
    size_t mismatch_at; /* SIZE_MAX: none */
} reader_t;

/* Reads `want` bytes from a blocking fd and checks them against pattern(). */
static void *reader_main(void *arg)
{
    reader_t *r = arg;
    static unsigned char buf[65536];
    r->mismatch_at = SIZE_MAX;
    while (r->got < r->want) {
        ssize_t n = read(r->fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != pattern(r->got + (size_t)i) && r->mismatch_at == SIZE_MAX) {
                r->mismatch_at = r->got + (size_t)i;
            }
        }
        r->got += (size_t)n;
    }
    return NULL;
}

SW_TEST_TIMEOUT(write_4mib_into_pipe_byte_exact, 60)
{
    const size_t total = (size_t)4 << 20;
    unsigned char *data = malloc(total);
    ASSERT_NOT_NULL(data);
    for (size_t i = 0; i < total; i++) {
        data[i] = pattern(i);
    }
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int p[2];
    ASSERT_OK(pipe2(p, O_CLOEXEC));
    set_blocking(p[1], 0);

    /* Pieces of changing sizes: the first fills the pipe (EAGAIN), the rest are queued behind
     * it; order must hold across the direct write and the queue. */
    size_t off = 0, piece = 1;
    while (off < total) {
        size_t n = piece < total - off ? piece : total - off;
        ASSERT_OK(sw_loop_write(loop, p[1], data + off, n));
        off += n;
        piece = piece * 3 + 7;
        if (piece > 300000) {
            piece = 1;
        }
    }
    size_t pending = sw_loop_write_pending(loop, p[1]);
    ASSERT_UGT(pending, 0);
    ASSERT_ULT(pending, total);
    ASSERT_EQ(sw_loop_write_error(loop, p[1]), 0);
    ASSERT_EQ(sw_loop_alive(loop), 1); /* pending bytes keep it alive */

    reader_t r = {.fd = p[0], .want = total};
    pthread_t th;
    ASSERT_OK(pthread_create(&th, NULL, reader_main, &r));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0); /* returns once everything is written */
    ASSERT_UEQ(sw_loop_write_pending(loop, p[1]), 0);
    ASSERT_OK(pthread_join(th, NULL));
    ASSERT_UEQ(r.got, total);
    ASSERT_UEQ(r.mismatch_at, SIZE_MAX);
    ASSERT_OK(sw_loop_destroy(loop));
    close(p[0]);
    close(p[1]);
    free(data);
}

SW_TEST(write_overflow_cap)
{
    sw_loop_options_t o;
    sw_loop_options_init(&o);
    o.write_queue_max = 256 << 10;
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, &o));
    int p[2];
    ASSERT_OK(pipe2(p, O_NONBLOCK | O_CLOEXEC));
    static char buf[400 << 10];

    /* Larger than the cap in one call: refused before anything is written. */
    ASSERT_ERR(sw_loop_write(loop, p[1], buf, 300 << 10), SW_EOVERFLOW_OUTPUT);
    char c;
    ASSERT_EQ(read(p[0], &c, 1), -1);
    ASSERT_EQ(errno, EAGAIN);
    ASSERT_EQ(sw_loop_alive(loop), 0);

    /* 200 KiB: the pipe takes part, the rest is queued. */
    ASSERT_OK(sw_loop_write(loop, p[1], buf, 200 << 10));
    size_t pending = sw_loop_write_pending(loop, p[1]);
    ASSERT_UGT(pending, 0);
    ASSERT_ULT(pending, 200 << 10);
    /* Another 200 KiB would pass the cap: refused, nothing added. */
    ASSERT_ERR(sw_loop_write(loop, p[1], buf, 200 << 10), SW_EOVERFLOW_OUTPUT);
    ASSERT_UEQ(sw_loop_write_pending(loop, p[1]), pending);
    /* Exactly up to the cap is fine; one byte more is not. */
    ASSERT_OK(sw_loop_write(loop, p[1], buf, (256 << 10) - pending));
    ASSERT_UEQ(sw_loop_write_pending(loop, p[1]), 256 << 10);
    ASSERT_ERR(sw_loop_write(loop, p[1], buf, 1), SW_EOVERFLOW_OUTPUT);
    ASSERT_OK(sw_loop_write(loop, p[1], buf, 0));
    ASSERT_EQ(sw_loop_write_error(loop, p[1]), 0); /* overflow is not sticky */

    ASSERT_UEQ(sw_loop_write_cancel(loop, p[1]), 256 << 10);
    ASSERT_UEQ(sw_loop_write_pending(loop, p[1]), 0);
    ASSERT_UEQ(sw_loop_write_cancel(loop, p[1]), 0);
    ASSERT_EQ(sw_loop_alive(loop), 0);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_OK(sw_loop_destroy(loop));
    close(p[0]);
    close(p[1]);
}

typedef struct {
    sw_loop_t *loop;
    int calls;
    int events;
    int error_seen;
    int write_again;
} errw_t;

static void errw_cb(sw_io_t *io, int events, void *arg)
{
    errw_t *e = arg;
    e->calls++;
    e->events |= events;
    if (events & SW_EVENT_ERROR) {
        e->error_seen = sw_loop_write_error(e->loop, io->fd);
        ASSERT_UEQ(sw_loop_write_pending(e->loop, io->fd), 0);
        e->write_again = sw_loop_write(e->loop, io->fd, "x", 1);
        ASSERT_OK(sw_io_stop(io));
    }
}

SW_TEST(write_error_later_is_sticky_and_reported)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    static char buf[4 << 20];
    ASSERT_OK(sw_loop_write(loop, sv[0], buf, sizeof(buf)));
    ASSERT_UGT(sw_loop_write_pending(loop, sv[0]), 0);

    errw_t e = {.loop = loop};
    sw_io_t io;
    ASSERT_OK(sw_io_init(loop, &io, sv[0], errw_cb, &e));
    ASSERT_OK(sw_io_start(&io, SW_EVENT_READ));
    close(sv[1]); /* the peer goes away: the queued bytes can never leave */
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_EQ(e.calls, 1);
    ASSERT_TRUE(e.events & SW_EVENT_ERROR);
    ASSERT_TRUE(e.error_seen == SW_EPIPE || e.error_seen == SW_ECONNRESET);
    ASSERT_EQ(e.write_again, e.error_seen); /* sticky */
    ASSERT_EQ(sw_loop_write_error(loop, sv[0]), e.error_seen);
    ASSERT_UEQ(sw_loop_write_pending(loop, sv[0]), 0);
    ASSERT_EQ(sw_loop_alive(loop), 0); /* an error is not a pending write */

    /* Cancel clears the error; the next write fails on its own, directly. */
    ASSERT_UEQ(sw_loop_write_cancel(loop, sv[0]), 0);
    ASSERT_EQ(sw_loop_write_error(loop, sv[0]), 0);
    ASSERT_ERR(sw_loop_write(loop, sv[0], "x", 1), SW_EPIPE);
    ASSERT_OK(sw_loop_destroy(loop));
    close(sv[0]);
}

SW_TEST(write_error_without_watcher)
{
    /* Nobody watches the fd: the error is only kept, and the loop ends. */
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int p[2];
    ASSERT_OK(pipe2(p, O_NONBLOCK | O_CLOEXEC));
    static char buf[256 << 10];
    ASSERT_OK(sw_loop_write(loop, p[1], buf, sizeof(buf)));
    close(p[0]);
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_ERR(sw_loop_write_error(loop, p[1]), SW_EPIPE);
    /* destroy frees the sticky state without a cancel. */
    ASSERT_OK(sw_loop_destroy(loop));
    close(p[1]);
}

typedef struct {
    sw_loop_t *loop;
    int write_calls;
    size_t pending_at_write;
} wq_watch_t;

static void wq_watch_cb(sw_io_t *io, int events, void *arg)
{
    wq_watch_t *w = arg;
    if (events & SW_EVENT_WRITE) {
        w->write_calls++;
        w->pending_at_write = sw_loop_write_pending(w->loop, io->fd);
        ASSERT_OK(sw_io_stop(io));
    }
}

SW_TEST(write_watcher_sees_write_only_when_queue_empty)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    set_blocking(sv[0], 0);
    const size_t total = (size_t)1 << 20;
    unsigned char *data = malloc(total);
    ASSERT_NOT_NULL(data);
    for (size_t i = 0; i < total; i++) {
        data[i] = pattern(i);
    }
    ASSERT_OK(sw_loop_write(loop, sv[0], data, total));
    ASSERT_UGT(sw_loop_write_pending(loop, sv[0]), 0);
    wq_watch_t w = {.loop = loop};
    sw_io_t io;
    ASSERT_OK(sw_io_init(loop, &io, sv[0], wq_watch_cb, &w));
    ASSERT_OK(sw_io_start(&io, SW_EVENT_WRITE | SW_EVENT_READ));

    reader_t r = {.fd = sv[1], .want = total};
    pthread_t th;
    ASSERT_OK(pthread_create(&th, NULL, reader_main, &r));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_OK(pthread_join(th, NULL));
    ASSERT_EQ(w.write_calls, 1);
    ASSERT_UEQ(w.pending_at_write, 0);
    ASSERT_UEQ(r.got, total);
    ASSERT_UEQ(r.mismatch_at, SIZE_MAX);
    ASSERT_OK(sw_loop_destroy(loop));
    close(sv[0]);
    close(sv[1]);
    free(data);
}

static void never_cb(sw_io_t *io, int events, void *arg)
{
    (void)io;
    (void)events;
    (void)arg;
    ASSERT_TRUE(0);
}

SW_TEST(write_queue_outlives_stopped_watcher)
{
    /* A watcher stops while its fd still has queued bytes: the fd stays registered for WRITE
     * and the queue drains. */
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    set_blocking(sv[0], 0);
    const size_t total = (size_t)2 << 20;
    unsigned char *data = malloc(total);
    ASSERT_NOT_NULL(data);
    for (size_t i = 0; i < total; i++) {
        data[i] = pattern(i);
    }
    sw_io_t io;
    ASSERT_OK(sw_io_init(loop, &io, sv[0], never_cb, NULL));
    ASSERT_OK(sw_io_start(&io, SW_EVENT_READ));
    ASSERT_OK(sw_loop_write(loop, sv[0], data, total));
    ASSERT_UGT(sw_loop_write_pending(loop, sv[0]), 0);
    ASSERT_OK(sw_io_stop(&io));
    ASSERT_EQ(sw_loop_alive(loop), 1);

    reader_t r = {.fd = sv[1], .want = total};
    pthread_t th;
    ASSERT_OK(pthread_create(&th, NULL, reader_main, &r));
    ASSERT_EQ(sw_loop_run(loop, SW_RUN_DEFAULT), 0);
    ASSERT_OK(pthread_join(th, NULL));
    ASSERT_UEQ(r.got, total);
    ASSERT_UEQ(r.mismatch_at, SIZE_MAX);
    ASSERT_OK(sw_loop_destroy(loop));
    close(sv[0]);
    close(sv[1]);
    free(data);
}

SW_TEST(write_direct_and_bad_arguments)
{
    sw_loop_t *loop;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));

    /* Goes out at once: nothing queued, nothing registered, nothing alive. */
    ASSERT_OK(sw_loop_write(loop, sv[0], "hello", 5));
    ASSERT_UEQ(sw_loop_write_pending(loop, sv[0]), 0);
    ASSERT_EQ(sw_loop_alive(loop), 0);
    char buf[8];
    ASSERT_EQ(read(sv[1], buf, sizeof(buf)), 5);
    ASSERT_MEM_EQ(buf, "hello", 5);

    ASSERT_ERR(sw_loop_write(NULL, sv[0], "x", 1), SW_EINVAL);
    ASSERT_ERR(sw_loop_write(loop, -1, "x", 1), SW_EINVAL);
    ASSERT_ERR(sw_loop_write(loop, sv[0], NULL, 1), SW_EINVAL);
    ASSERT_OK(sw_loop_write(loop, sv[0], NULL, 0));
    ASSERT_OK(sw_loop_write(loop, sv[0], "x", 0));

    int closed = dup(sv[0]);
    close(closed);
    ASSERT_ERR(sw_loop_write(loop, closed, "x", 1), SW_EBADF);
    ASSERT_EQ(sw_loop_write_error(loop, closed), 0); /* a direct failure is not sticky */

    int p[2];
    ASSERT_OK(pipe2(p, O_NONBLOCK | O_CLOEXEC));
    close(p[0]);
    ASSERT_ERR(sw_loop_write(loop, p[1], "x", 1), SW_EPIPE); /* SIGPIPE is ignored here */
    close(p[1]);

    ASSERT_UEQ(sw_loop_write_pending(NULL, 0), 0);
    ASSERT_UEQ(sw_loop_write_pending(loop, -1), 0);
    ASSERT_UEQ(sw_loop_write_pending(loop, 100000), 0);
    ASSERT_ERR(sw_loop_write_error(NULL, 0), SW_EINVAL);
    ASSERT_ERR(sw_loop_write_error(loop, -1), SW_EINVAL);
    ASSERT_EQ(sw_loop_write_error(loop, 100000), 0);
    ASSERT_UEQ(sw_loop_write_cancel(NULL, 0), 0);
    ASSERT_UEQ(sw_loop_write_cancel(loop, -1), 0);
    ASSERT_UEQ(sw_loop_write_cancel(loop, 100000), 0);

    ASSERT_OK(sw_loop_destroy(loop));
    close(sv[0]);
    close(sv[1]);
}
