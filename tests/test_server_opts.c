/*
 * Server options that act on processes (cpu affinity, user, log file), sendwait, and the
 * error paths reached through fault points (allocation, socket, accept, read, fork).
 */
#include <errno.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fault.h"
#include "sw_test.h"
#include "test_server_util.h"

SW_TEST(fault_create_and_listen)
{
    SRV_NEED_FAULTS();
    sw_server_t *srv = NULL;
    sw__fault_set("alloc", 0, 1);
    ASSERT_ERR(sw_server_create(&srv, SW_MODE_BASE), SW_ENOMEM);
    sw__fault_reset();
    ASSERT_OK(sw_server_create(&srv, SW_MODE_BASE));
    sw__fault_set("socket", 0, 1);
    ASSERT_ERR(sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP, NULL), SW_EMFILE);
    sw__fault_set("alloc", 0, 1);
    ASSERT_ERR(sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP, NULL), SW_ENOMEM);
    sw__fault_set("alloc", 0, 1);
    ASSERT_ERR(sw_server_set_option(srv, "pid_file", "/tmp/x"), SW_ENOMEM);
    sw__fault_reset();
    ASSERT_OK(sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP, NULL));
    ASSERT_OK(sw_server_destroy(srv));
}

/* accept fails once with EMFILE: the worker stops accepting for a moment, then serves. */
SW_TEST(fault_accept_emfile)
{
    SRV_NEED_FAULTS();
    srv_spec_t spec = {.workers = 1, .fault = {"accept", 0, 1}, .opts = {{"log_level", "none"}}};
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_tcp(s.port);
    cli_echo(fd, "served after the retry");
    close(fd);
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

/* A read that fails closes that connection only. */
SW_TEST(fault_read_closes_connection)
{
    SRV_NEED_FAULTS();
    srv_spec_t spec = {.workers = 1, .fault = {"read", 1, 1}}; /* the worker's second read */
    srv_t s;
    srv_start(&s, &spec, 1);
    int a = cli_tcp(s.port);
    cli_echo(a, "first read is fine");
    cli_send(a, "second fails", 12);
    int r = cli_wait_close(a);
    ASSERT_TRUE(r == 0 || r == SW_ECONNRESET);
    close(a);
    int b = cli_tcp(s.port);
    cli_echo(b, "others are served");
    close(b);
    ASSERT_NOT_NULL(srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000)));
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

/* A write that fails closes the connection (as a broken pipe would). */
SW_TEST(fault_write_closes_connection)
{
    SRV_NEED_FAULTS();
    srv_spec_t spec = {.workers = 1, .fault = {"write", 0, 1}};
    srv_t s;
    srv_start(&s, &spec, 1);
    int a = cli_tcp(s.port);
    cli_send(a, "lost", 4);
    int r = cli_wait_close(a);
    ASSERT_TRUE(r == 0 || r == SW_ECONNRESET);
    close(a);
    const ev_t *c = srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(c->a, 0); /* a failure of the connection, not a close by the program */
    int b = cli_tcp(s.port);
    cli_echo(b, "next one works");
    close(b);
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

/* The second worker cannot be forked: start fails, the first worker is gone, nothing runs. */
SW_TEST(fault_fork_fails_start)
{
    SRV_NEED_FAULTS();
    srv_spec_t spec = {.workers = 3, .fault = {"fork", 1, 1}};
    srv_t s;
    ASSERT_LT(srv_start_failure(&s, &spec), 0);
    ASSERT_EQ(srv_count(&s, EV_START), 0);
    ASSERT_EQ(srv_count(&s, EV_MSTOP), 1);
}

/* ---- process options ------------------------------------------------------------------------ */

static void affinity_wstart(sw_server_t *srv, int id, void *arg)
{
    (void)srv;
    (void)arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    int n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : -1;
    ev_emit(EV_WSTART, id, n, 0, 0);
}

SW_TEST(cpu_affinity)
{
    srv_spec_t spec = {.workers = 2, .opts = {{"open_cpu_affinity", "1"}}};
    spec.h.on_worker_start = affinity_wstart;
    srv_t s;
    srv_start(&s, &spec, 0);
    for (int i = 0; i < 2; i++) {
        const ev_t *e = srv_wait(&s, EV_WSTART, -1, scaled_ms(10000));
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(e->a, 1); /* pinned to one CPU */
    }
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

static void uid_wstart(sw_server_t *srv, int id, void *arg)
{
    (void)srv;
    (void)arg;
    ev_emit(EV_WSTART, id, (int)getuid(), (int64_t)getgid(), 0);
}

SW_TEST(worker_user)
{
    struct passwd *pw = getpwnam("nobody");
    if (getuid() != 0 || !pw) {
        SW_TEST_SKIP("needs root and a user named nobody");
    }
    srv_spec_t spec = {.workers = 2, .opts = {{"user", "nobody"}}};
    spec.h.on_worker_start = uid_wstart;
    srv_t s;
    srv_start(&s, &spec, 0);
    for (int i = 0; i < 2; i++) {
        const ev_t *e = srv_wait(&s, EV_WSTART, -1, scaled_ms(10000));
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(e->a, (int)pw->pw_uid);
        ASSERT_EQ(e->b, (int64_t)pw->pw_gid);
    }
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

static char log_path[64];

SW_TEST(log_file)
{
    snprintf(log_path, sizeof(log_path), "/tmp/sw-srv-log-%d", (int)getpid());
    unlink(log_path);
    srv_spec_t spec = {
        .workers = 1,
        .opts = {{"log_file", log_path}, {"log_level", "warning"}, {"max_conn", "1"}}};
    srv_t s;
    srv_start(&s, &spec, 1);
    int a = cli_tcp(s.port);
    cli_echo(a, "one");
    int b = cli_tcp(s.port); /* refused: logged as a warning */
    ASSERT_EQ(cli_wait_close(b), 0);
    close(b);
    close(a);
    ASSERT_EQ(srv_stop(&s, 10), 0);
    FILE *f = fopen(log_path, "r");
    ASSERT_NOT_NULL(f);
    char line[512];
    int found = 0;
    while (fgets(line, sizeof(line), f)) {
        found += strstr(line, "WARNING") && strstr(line, "max_conn (1) reached");
    }
    fclose(f);
    unlink(log_path);
    ASSERT_EQ(found, 1);
}

/* ---- sendwait ----------------------------------------------------------------------------------- */

static void wait_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                         size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    (void)data;
    (void)len;
    static char big[1 << 20];
    memset(big, 'w', sizeof(big));
    int r = sw_server_sendwait(srv, session, big, sizeof(big), scaled_ms(10000));
    ev_emit(EV_RESULT, 0, r, 0, session);
}

SW_TEST(sendwait_blocks_until_written)
{
    srv_spec_t spec = {.workers = 1};
    spec.h.on_receive = wait_receive;
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_tcp(s.port);
    cli_send(fd, "go", 2);
    static char buf[1 << 20];
    cli_recv(fd, buf, sizeof(buf));
    ASSERT_EQ(buf[0], 'w');
    ASSERT_EQ(buf[sizeof(buf) - 1], 'w');
    const ev_t *e = srv_wait(&s, EV_RESULT, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    close(fd);
    ASSERT_EQ(srv_stop(&s, 10), 0);
}

/* daemonize: the process that called sw_server_start exits at once with 0; the server goes on
 * in a daemon (found through pid_file), serves, and stops on SIGTERM. This test process makes
 * itself a child subreaper so that the daemon is its to reap. */
static char daemon_pid_path[64];

SW_TEST_TIMEOUT(daemonize, 60)
{
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    snprintf(daemon_pid_path, sizeof(daemon_pid_path), "/tmp/sw-srv-daemon-%d.pid", (int)getpid());
    unlink(daemon_pid_path);
    srv_spec_t spec = {.workers = 2, .opts = {{"daemonize", "1"}, {"pid_file", daemon_pid_path}}};
    srv_t s;
    srv_start(&s, &spec, 2);
    int status = -1;
    ASSERT_EQ(waitpid(s.pid, &status, 0), s.pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    s.pid = 0;
    FILE *f = fopen(daemon_pid_path, "r");
    ASSERT_NOT_NULL(f);
    int dpid = 0;
    ASSERT_EQ(fscanf(f, "%d", &dpid), 1);
    fclose(f);
    ASSERT_GT(dpid, 0);
    const ev_t *st = srv_wait(&s, EV_START, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(st);
    ASSERT_EQ(st->pid, dpid);
    int fd = cli_tcp(s.port);
    cli_echo(fd, "from a daemon");
    close(fd);
    ASSERT_EQ(kill(dpid, SIGTERM), 0);
    ASSERT_NOT_NULL(srv_wait(&s, EV_SHUTDOWN, -1, scaled_ms(10000)));
    ASSERT_EQ(waitpid(dpid, &status, 0), dpid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    /* The intermediate session leader of the double fork came to us as well. */
    while (waitpid(-1, &status, WNOHANG) > 0) {
    }
    ASSERT_NE(access(daemon_pid_path, F_OK), 0);
    srv_stop(&s, 1);
}
