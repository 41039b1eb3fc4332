/* sw_process_t: arguments, pipes of both types, redirection and exec, wait and kill, fork
 * faults, the pipe on a loop. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fault.h"
#include "swoole/loop.h"
#include "swoole/process.h"
#include "test_process_util.h"

static int child_noop(sw_process_t *p, void *arg)
{
    (void)p;
    (void)arg;
    return 0;
}

SW_TEST(process_bad_arguments)
{
    sw_process_t *p = NULL;
    ASSERT_ERR(sw_process_create(NULL, child_noop, NULL, 0), SW_EINVAL);
    ASSERT_ERR(sw_process_create(&p, child_noop, NULL, 0x100), SW_EINVAL);
    ASSERT_ERR(
        sw_process_create(&p, child_noop, NULL, SW_PROCESS_PIPE_STREAM | SW_PROCESS_PIPE_DGRAM),
        SW_EINVAL);
    ASSERT_ERR(sw_process_create(&p, child_noop, NULL, SW_PROCESS_REDIRECT | SW_PROCESS_PIPE_DGRAM),
               SW_EINVAL);
    ASSERT_NULL(p);

    /* No function and no exec: nothing to start. */
    ASSERT_OK(sw_process_create(&p, NULL, NULL, 0));
    ASSERT_ERR(sw_process_start(p), SW_EINVAL);
    ASSERT_ERR(sw_process_pipe_fd(p), SW_EBADF);
    char buf[4];
    ASSERT_ERR(sw_process_write(p, "x", 1), SW_EBADF);
    ASSERT_ERR(sw_process_read(p, buf, sizeof(buf)), SW_EBADF);
    ASSERT_ERR(sw_process_close(p, SW_PROCESS_CLOSE_BOTH), SW_EBADF);
    ASSERT_ERR(sw_process_set_blocking(p, 0), SW_EBADF);
    ASSERT_ERR(sw_process_queue_id(p), SW_ENOENT);
    ASSERT_ERR(sw_process_push(p, "x", 1, 0), SW_ENOENT);
    ASSERT_ERR(sw_process_pop(p, buf, sizeof(buf), 0), SW_ENOENT);
    ASSERT_ERR(sw_process_queue_stats(p, NULL, NULL), SW_ENOENT);
    ASSERT_EQ(sw_process_pid(p), 0);
    sw_process_set_data(p, buf);
    ASSERT_PTR_EQ(sw_process_get_data(p), buf);
    ASSERT_OK(sw_process_destroy(p));

    ASSERT_OK(sw_process_create(&p, child_noop, NULL, SW_PROCESS_PIPE_STREAM));
    ASSERT_ERR(sw_process_write(p, NULL, 1), SW_EINVAL);
    ASSERT_ERR(sw_process_read(p, NULL, 1), SW_EINVAL);
    ASSERT_ERR(sw_process_read(p, buf, 0), SW_EINVAL);
    ASSERT_ERR(sw_process_close(p, 0), SW_EINVAL);
    ASSERT_ERR(sw_process_close(p, 4), SW_EINVAL);
    ASSERT_ERR(sw_process_use_queue(p, 0, 0), SW_EINVAL);
    ASSERT_ERR(sw_process_use_queue(p, 0, SW_QUEUE_SHARED), SW_EINVAL);
    ASSERT_ERR(sw_process_set_exec(p, NULL, NULL, NULL), SW_EINVAL);
    ASSERT_OK(sw_process_destroy(p));

    /* NULL objects. */
    ASSERT_ERR(sw_process_destroy(NULL), SW_EINVAL);
    ASSERT_ERR(sw_process_start(NULL), SW_EINVAL);
    ASSERT_ERR(sw_process_pipe_fd(NULL), SW_EINVAL);
    ASSERT_ERR(sw_process_set_blocking(NULL, 1), SW_EINVAL);
    ASSERT_ERR(sw_process_write(NULL, "x", 1), SW_EINVAL);
    ASSERT_ERR(sw_process_read(NULL, buf, 1), SW_EINVAL);
    ASSERT_ERR(sw_process_close(NULL, SW_PROCESS_CLOSE_BOTH), SW_EINVAL);
    ASSERT_ERR(sw_process_use_queue(NULL, 0, SW_QUEUE_OWNED), SW_EINVAL);
    ASSERT_ERR(sw_process_queue_id(NULL), SW_EINVAL);
    ASSERT_ERR(sw_process_push(NULL, "x", 1, 0), SW_EINVAL);
    ASSERT_ERR(sw_process_pop(NULL, buf, 1, 0), SW_EINVAL);
    ASSERT_ERR(sw_process_queue_stats(NULL, NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw_process_signal(NULL, NULL, SIGUSR1, NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw_process_set_exec(NULL, "/bin/true", NULL, NULL), SW_EINVAL);
    ASSERT_EQ(sw_process_pid(NULL), 0);
    ASSERT_NULL(sw_process_get_data(NULL));

    /* wait and kill refuse groups. */
    ASSERT_ERR(sw_process_wait(0, 0, NULL), SW_EINVAL);
    ASSERT_ERR(sw_process_wait(-2, 0, NULL), SW_EINVAL);
    ASSERT_ERR(sw_process_wait(-1, 0, NULL), SW_ECHILD);
    ASSERT_ERR(sw_process_kill(0, SIGTERM), SW_EINVAL);
    ASSERT_ERR(sw_process_kill(-1, SIGTERM), SW_EINVAL);
    ASSERT_ERR(sw_process_kill(getpid(), -1), SW_EINVAL);
    ASSERT_ERR(sw_process_kill(getpid(), 1000), SW_EINVAL);
    ASSERT_OK(sw_process_kill(getpid(), 0));
}

/* ---- stream pipe ------------------------------------------------------------------------ */

/* The child echoes everything it reads, upper-cased, until end of stream. */
static int child_upper(sw_process_t *p, void *arg)
{
    (void)arg;
    char buf[4096];
    for (;;) {
        ssize_t n = sw_process_read(p, buf, sizeof(buf));
        if (n <= 0) {
            return n == 0 ? 0 : 2;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] >= 'a' && buf[i] <= 'z') {
                buf[i] = (char)(buf[i] - 'a' + 'A');
            }
        }
        if (sw_process_write(p, buf, (size_t)n) != n) {
            return 3;
        }
    }
}

SW_TEST(process_pipe_stream_round_trip)
{
    sw_process_t *p = NULL;
    ASSERT_OK(sw_process_create(&p, child_upper, NULL, SW_PROCESS_PIPE_STREAM));
    int pid = sw_process_start(p);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(sw_process_pid(p), pid);
    ASSERT_ERR(sw_process_start(p), SW_EALREADY);

    /* 16 rounds of 16 KiB: each round stays below the socket buffers, since the child writes
     * back while we write and both would block otherwise. */
    char out[16384], in[16384];
    for (int round = 0; round < 16; round++) {
        for (size_t i = 0; i < sizeof(out); i++) {
            out[i] = (char)('a' + (i + (size_t)round) % 26);
        }
        ASSERT_EQ(sw_process_write(p, out, sizeof(out)), sizeof(out));
        size_t got = 0;
        while (got < sizeof(in)) {
            ssize_t n = sw_process_read(p, in + got, sizeof(in) - got);
            ASSERT_GT(n, 0);
            got += (size_t)n;
        }
        for (size_t i = 0; i < sizeof(in); i++) {
            ASSERT_EQ(in[i], out[i] - 'a' + 'A');
        }
    }
    /* End of stream for the child: it exits 0, and we read end of stream. */
    ASSERT_OK(sw_process_close(p, SW_PROCESS_CLOSE_WRITE));
    ASSERT_OK(sw_process_close(p, SW_PROCESS_CLOSE_WRITE)); /* again: no-op */
    ASSERT_ERR(sw_process_write(p, "x", 1), SW_EBADF);
    ASSERT_EQ(sw_process_read(p, in, sizeof(in)), 0);
    sw_process_status_t st;
    ASSERT_EQ(sw_process_wait(pid, 1, &st), pid);
    ASSERT_EQ(st.pid, pid);
    ASSERT_EQ(st.exit_code, 0);
    ASSERT_EQ(st.signal, 0);
    ASSERT_OK(sw_process_close(p, SW_PROCESS_CLOSE_READ));
    ASSERT_ERR(sw_process_read(p, in, sizeof(in)), SW_EBADF);
    ASSERT_OK(sw_process_close(p, SW_PROCESS_CLOSE_BOTH));
    ASSERT_ERR(sw_process_pipe_fd(p), SW_EBADF);
    ASSERT_ERR(sw_process_close(p, SW_PROCESS_CLOSE_BOTH), SW_EBADF);
    ASSERT_OK(sw_process_destroy(p));
}

/* ---- datagram pipe ---------------------------------------------------------------------- */

/* The child answers each message with its length as text, then "bye" on an empty message. */
static int child_dgram(sw_process_t *p, void *arg)
{
    (void)arg;
    static char buf[SW_PROCESS_DGRAM_MAX];
    for (;;) {
        ssize_t n = sw_process_read(p, buf, sizeof(buf));
        if (n < 0) {
            return 2;
        }
        if (n == 0) {
            return sw_process_write(p, "bye", 3) == 3 ? 0 : 3;
        }
        char reply[32];
        int len = snprintf(reply, sizeof(reply), "%zd:%c%c", n, buf[0], buf[n - 1]);
        if (sw_process_write(p, reply, (size_t)len) != len) {
            return 4;
        }
    }
}

SW_TEST(process_pipe_dgram_round_trip)
{
    sw_process_t *p = NULL;
    ASSERT_OK(sw_process_create(&p, child_dgram, NULL, SW_PROCESS_PIPE_DGRAM));
    int pid = sw_process_start(p);
    ASSERT_GT(pid, 0);
    static char msg[SW_PROCESS_DGRAM_MAX + 1];
    memset(msg, 'm', sizeof(msg));
    msg[0] = 'A';
    /* Several messages in a row keep their boundaries. */
    size_t sizes[] = {1, 100, 4096, 60000, SW_PROCESS_DGRAM_MAX};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char saved = msg[sizes[i] - 1];
        msg[sizes[i] - 1] = 'Z';
        ASSERT_EQ(sw_process_write(p, msg, sizes[i]), sizes[i]);
        msg[sizes[i] - 1] = saved;
    }
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char reply[64], want[64];
        ssize_t n = sw_process_read(p, reply, sizeof(reply) - 1);
        ASSERT_GT(n, 0);
        reply[n] = '\0';
        snprintf(want, sizeof(want), "%zu:%c%c", sizes[i], sizes[i] == 1 ? 'Z' : 'A', 'Z');
        ASSERT_STR_EQ(reply, want);
    }
    ASSERT_ERR(sw_process_write(p, msg, SW_PROCESS_DGRAM_MAX + 1), SW_EMSGSIZE);
    ASSERT_EQ(sw_process_write(p, "", 0), 0);
    /* A message larger than the read buffer is reported, not cut silently. */
    char small[2];
    ASSERT_ERR(sw_process_read(p, small, sizeof(small)), SW_EMSGSIZE);
    sw_process_status_t st;
    ASSERT_EQ(sw_process_wait(pid, 1, &st), pid);
    ASSERT_EQ(st.exit_code, 0);
    ASSERT_OK(sw_process_destroy(p));
}

/* ---- redirect and exec ------------------------------------------------------------------- */

SW_TEST(process_exec_echo_redirected)
{
    sw_process_t *p = NULL;
    ASSERT_OK(sw_process_create(&p, NULL, NULL, SW_PROCESS_REDIRECT));
    char *argv[] = {"echo", "hello", "from", "echo", NULL};
    ASSERT_OK(sw_process_set_exec(p, "/bin/echo", argv, NULL));
    int pid = sw_process_start(p);
    ASSERT_GT(pid, 0);
    char buf[256];
    size_t got = 0;
    for (;;) {
        ssize_t n = sw_process_read(p, buf + got, sizeof(buf) - 1 - got);
        ASSERT_GE(n, 0);
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    ASSERT_STR_EQ(buf, "hello from echo\n");
    sw_process_status_t st;
    ASSERT_EQ(sw_process_wait(pid, 1, &st), pid);
    ASSERT_EQ(st.exit_code, 0);
    ASSERT_OK(sw_process_destroy(p));
}

/* stdin redirected too: /bin/cat copies the pipe back. */
SW_TEST(process_exec_cat_stdin_stdout)
{
    sw_process_t *p = NULL;
    ASSERT_OK(sw_process_create(&p, NULL, NULL, SW_PROCESS_REDIRECT));
    ASSERT_OK(sw_process_set_exec(p, "/bin/cat", NULL, NULL));
    int pid = sw_process_start(p);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(sw_process_write(p, "through cat\n", 12), 12);
    ASSERT_OK(sw_process_close(p, SW_PROCESS_CLOSE_WRITE));
    char buf[64];
    size_t got = 0;
    for (;;) {
        ssize_t n = sw_process_read(p, buf + got, sizeof(buf) - 1 - got);
        ASSERT_GE(n, 0);
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    ASSERT_STR_EQ(buf, "through cat\n");
    sw_process_status_t st;
    ASSERT_EQ(sw_process_wait(pid, 1, &st), pid);
    ASSERT_EQ(st.exit_code, 0);
    ASSERT_OK(sw_process_destroy(p));
}

SW_TEST(process_exec_failure_reported)
{
    sw_process_t *p = NULL;
    ASSERT_OK(sw_process_create(&p, NULL, NULL, SW_PROCESS_REDIRECT));
    ASSERT_OK(sw_process_set_exec(p, "/nonexistent/program", NULL, NULL));
    ASSERT_ERR(sw_process_start(p), SW_ENOENT);
    ASSERT_EQ(sw_process_pid(p), 0);
    ASSERT_ERR(sw_process_start(p), SW_EALREADY);
    ASSERT_OK(sw_process_destroy(p));

    /* No execute permission (refused even to root): SW_EACCES. Executable but not a program
     * the kernel knows (no #! line): ENOEXEC, reported as SW_EINVAL. */
    char path[64];
    snprintf(path, sizeof(path), "/tmp/sw_test_noexec_%d", (int)getpid());
    for (int mode = 0; mode < 2; mode++) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode ? 0755 : 0644);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(write(fd, "plain text\n", 11), 11);
        close(fd);
        ASSERT_EQ(chmod(path, mode ? 0755 : 0644), 0);
        ASSERT_OK(sw_process_create(&p, NULL, NULL, 0));
        ASSERT_OK(sw_process_set_exec(p, path, NULL, NULL));
        int r = sw_process_start(p);
        unlink(path);
        ASSERT_ERR(r, mode ? SW_EINVAL : SW_EACCES);
        ASSERT_OK(sw_process_destroy(p));
    }
    ASSERT_EQ(pt_count_children(), 0);
}

/* sw_process_exec from inside the child's function, with an environment. */
static int child_exec_env(sw_process_t *p, void *arg)
{
    (void)arg;
    char *argv[] = {"sh", "-c", "printf '%s' \"$SW_TEST_VALUE\"", NULL};
    char *envp[] = {"SW_TEST_VALUE=value-42", NULL};
    int r = sw_process_exec(p, "/bin/sh", argv, envp);
    return r == SW_ENOENT ? 126 : 127;
}

SW_TEST(process_exec_from_function)
{
    sw_process_t *p = NULL;
    ASSERT_OK(sw_process_create(&p, child_exec_env, NULL, SW_PROCESS_REDIRECT));
    int pid = sw_process_start(p);
    ASSERT_GT(pid, 0);
    char buf[64];
    size_t got = 0;
    for (;;) {
        ssize_t n = sw_process_read(p, buf + got, sizeof(buf) - 1 - got);
        ASSERT_GE(n, 0);
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    ASSERT_STR_EQ(buf, "value-42");
    sw_process_status_t st;
    ASSERT_EQ(sw_process_wait(pid, 1, &st), pid);
    ASSERT_EQ(st.exit_code, 0);
    ASSERT_OK(sw_process_destroy(p));
    ASSERT_ERR(sw_process_exec(NULL, NULL, NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw_process_exec(NULL, "/nonexistent", NULL, NULL), SW_ENOENT);
}

/* ---- wait, kill, exit codes -------------------------------------------------------------- */

static int child_exit_code(sw_process_t *p, void *arg)
{
    (void)p;
    return (int)(intptr_t)arg;
}

static int child_exit_call(sw_process_t *p, void *arg)
{
    (void)arg;
    sw_process_exit(p, 300); /* masked to 44 */
}

static int child_pause(sw_process_t *p, void *arg)
{
    (void)p;
    (void)arg;
    for (int i = 0; i < 3000; i++) {
        pt_sleep_ms(10);
    }
    return 9;
}

SW_TEST(process_wait_status_and_signal)
{
    sw_process_t *p = NULL;
    ASSERT_OK(sw_process_create(&p, child_exit_code, (void *)(intptr_t)37, 0));
    int pid = sw_process_start(p);
    ASSERT_GT(pid, 0);
    sw_process_status_t st;
    ASSERT_EQ(sw_process_wait(pid, 1, &st), pid);
    ASSERT_EQ(st.exit_code, 37);
    ASSERT_EQ(st.signal, 0);
    ASSERT_EQ(st.core_dumped, 0);
    ASSERT_ERR(sw_process_wait(pid, 1, &st), SW_ECHILD);
    ASSERT_OK(sw_process_destroy(p));

    ASSERT_OK(sw_process_create(&p, child_exit_call, NULL, 0));
    pid = sw_process_start(p);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(sw_process_wait(-1, 1, &st), pid);
    ASSERT_EQ(st.exit_code, 300 & 0xff);
    ASSERT_OK(sw_process_destroy(p));

    /* Killed by a signal: not blocking first (still running), then blocking. */
    ASSERT_OK(sw_process_create(&p, child_pause, NULL, 0));
    pid = sw_process_start(p);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(sw_process_wait(pid, 0, &st), 0);
    ASSERT_OK(sw_process_kill(pid, 0));
    ASSERT_OK(sw_process_kill(pid, SIGKILL));
    ASSERT_EQ(sw_process_wait(pid, 1, &st), pid);
    ASSERT_EQ(st.exit_code, -1);
    ASSERT_EQ(st.signal, SIGKILL);
    ASSERT_ERR(sw_process_kill(pid, 0), SW_ESRCH);
    ASSERT_OK(sw_process_destroy(p));

    /* A caught-by-default signal: SIGTERM. */
    ASSERT_OK(sw_process_create(&p, child_pause, NULL, 0));
    pid = sw_process_start(p);
    ASSERT_OK(sw_process_kill(pid, SIGTERM));
    ASSERT_EQ(sw_process_wait(pid, 1, &st), pid);
    ASSERT_EQ(st.signal, SIGTERM);
    ASSERT_OK(sw_process_destroy(p));
}

SW_TEST(process_fork_fault)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("fault injection not compiled in");
    }
    int fds_before = sw_test_count_fds();
    sw_process_t *p = NULL;
    ASSERT_OK(sw_process_create(&p, child_noop, NULL, SW_PROCESS_PIPE_STREAM));
    ASSERT_OK(sw__fault_set("fork", 0, 1));
    ASSERT_ERR(sw_process_start(p), SW_EAGAIN);
    sw__fault_reset();
    /* Not started: it can still start. */
    int pid = sw_process_start(p);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(sw_process_wait(pid, 1, NULL), pid);
    ASSERT_OK(sw_process_destroy(p));

    /* Exec mode: the status pipe is closed on the fault path too. */
    ASSERT_OK(sw_process_create(&p, NULL, NULL, 0));
    ASSERT_OK(sw_process_set_exec(p, "/bin/true", NULL, NULL));
    ASSERT_OK(sw__fault_set("fork", 0, 1));
    ASSERT_ERR(sw_process_start(p), SW_EAGAIN);
    sw__fault_reset();
    ASSERT_OK(sw_process_destroy(p));

    /* socketpair and alloc faults at create. */
    ASSERT_OK(sw__fault_set("socketpair", 0, 1));
    ASSERT_ERR(sw_process_create(&p, child_noop, NULL, SW_PROCESS_PIPE_DGRAM), SW_EMFILE);
    ASSERT_OK(sw__fault_set("alloc", 0, 1));
    ASSERT_ERR(sw_process_create(&p, child_noop, NULL, SW_PROCESS_PIPE_DGRAM), SW_ENOMEM);
    ASSERT_OK(sw_process_create(&p, NULL, NULL, 0));
    char *argv[] = {"a", "b", NULL};
    for (int skip = 0; skip < 3; skip++) {
        ASSERT_OK(sw__fault_set("alloc", skip, 1));
        ASSERT_ERR(sw_process_set_exec(p, "/bin/true", argv, NULL), SW_ENOMEM);
    }
    sw__fault_reset();
    ASSERT_OK(sw_process_destroy(p));
    ASSERT_EQ(sw_test_count_fds(), fds_before);
}

/* ---- the pipe on a loop ------------------------------------------------------------------ */

static int child_count(sw_process_t *p, void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++) {
        char line[32];
        int n = snprintf(line, sizeof(line), "line %d\n", i);
        if (sw_process_write(p, line, (size_t)n) != n) {
            return 2;
        }
    }
    return 0;
}

typedef struct {
    sw_process_t *p;
    char buf[4096];
    size_t got;
    int eof;
} loop_read_t;

static void on_pipe(sw_io_t *io, int events, void *arg)
{
    (void)events;
    loop_read_t *lr = arg;
    ssize_t n = sw_process_read(lr->p, lr->buf + lr->got, sizeof(lr->buf) - 1 - lr->got);
    if (n == SW_EAGAIN) {
        return;
    }
    if (n <= 0) {
        lr->eof = 1;
        sw_io_stop(io);
        return;
    }
    lr->got += (size_t)n;
}

SW_TEST(process_pipe_on_loop)
{
    sw_loop_t *loop = NULL;
    ASSERT_OK(sw_loop_create(&loop, NULL));
    loop_read_t lr = {0};
    ASSERT_OK(sw_process_create(&lr.p, child_count, NULL, SW_PROCESS_PIPE_STREAM));
    ASSERT_OK(sw_process_set_blocking(lr.p, 0));
    char tmp[8];
    ASSERT_ERR(sw_process_read(lr.p, tmp, sizeof(tmp)), SW_EAGAIN); /* nothing yet */
    int pid = sw_process_start(lr.p);
    ASSERT_GT(pid, 0);
    sw_io_t io;
    ASSERT_OK(sw_io_init(loop, &io, sw_process_pipe_fd(lr.p), on_pipe, &lr));
    ASSERT_OK(sw_io_start(&io, SW_EVENT_READ));
    pt_run_until(loop, &lr.eof, 10000, "end of the child's output");
    lr.buf[lr.got] = '\0';
    ASSERT_TRUE(strncmp(lr.buf, "line 0\nline 1\n", 14) == 0);
    ASSERT_TRUE(strstr(lr.buf, "line 49\n") != NULL);
    ASSERT_EQ(sw_process_wait(pid, 1, NULL), pid);
    ASSERT_OK(sw_process_destroy(lr.p));
    ASSERT_OK(sw_loop_destroy(loop));
}

/* EPIPE instead of SIGPIPE when the child is gone (SIGPIPE at its default action here). */
SW_TEST(process_write_to_dead_child)
{
    signal(SIGPIPE, SIG_DFL);
    sw_process_t *p = NULL;
    ASSERT_OK(sw_process_create(&p, child_noop, NULL, SW_PROCESS_PIPE_STREAM));
    int pid = sw_process_start(p);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(sw_process_wait(pid, 1, NULL), pid);
    ASSERT_ERR(sw_process_write(p, "x", 1), SW_EPIPE);
    ASSERT_OK(sw_process_destroy(p));
}
