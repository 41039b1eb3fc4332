/* Process title (comm and cmdline) and daemon. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "swoole/process.h"
#include "test_process_util.h"

/* glibc passes main's argc/argv/envp to ELF constructors as well: this is how the test finds
 * the argv area that main of the runner received. */
static int g_argc;
static char **g_argv;

__attribute__((constructor)) static void capture_argv(int argc, char **argv, char **envp)
{
    (void)envp;
    g_argc = argc;
    g_argv = argv;
}

typedef struct {
    const char *name;
    int use_title;
} name_arg_t;

static int child_named(sw_process_t *p, void *arg)
{
    name_arg_t *na = arg;
    sw_process_title_t t;
    if (sw_process_title_init(&t, g_argc, g_argv) != 0) {
        return 2;
    }
    if (sw_process_set_name(na->use_title ? &t : NULL, na->name) != 0) {
        return 3;
    }
    char size[32];
    int n = snprintf(size, sizeof(size), "%zu", t.size);
    if (sw_process_write(p, size, (size_t)n) != n) {
        return 4;
    }
    char c;
    return sw_process_read(p, &c, 1) >= 0 ? 0 : 5; /* until the parent closes */
}

/* Starts a child that names itself; returns its pid with the title area size in *area. */
static int start_named(sw_process_t **p, name_arg_t *na, size_t *area)
{
    ASSERT_OK(sw_process_create(p, child_named, na, SW_PROCESS_PIPE_STREAM));
    int pid = sw_process_start(*p);
    ASSERT_GT(pid, 0);
    char buf[32];
    ssize_t n = sw_process_read(*p, buf, sizeof(buf) - 1);
    ASSERT_GT(n, 0);
    buf[n] = '\0';
    *area = (size_t)strtoul(buf, NULL, 10);
    return pid;
}

static void finish_named(sw_process_t *p, int pid)
{
    ASSERT_OK(sw_process_close(p, SW_PROCESS_CLOSE_BOTH));
    sw_process_status_t st;
    ASSERT_EQ(sw_process_wait(pid, 1, &st), pid);
    ASSERT_EQ(st.exit_code, 0);
    ASSERT_OK(sw_process_destroy(p));
}

SW_TEST(process_name_comm_and_cmdline)
{
    if (!g_argv || g_argc < 1) {
        SW_TEST_SKIP("argv not available to constructors");
    }
    char orig_cmdline[4096];
    ASSERT_GT(pt_read_file("/proc/self/cmdline", orig_cmdline, sizeof(orig_cmdline)), 0);

    name_arg_t na = {"sw-title-test", 1};
    sw_process_t *p = NULL;
    size_t area = 0;
    int pid = start_named(&p, &na, &area);
    ASSERT_GT(area, strlen(na.name)); /* "<path>/test_process process_name_..." is longer */
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/comm", pid);
    ASSERT_GT(pt_read_file(path, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "sw-title-test\n");
    snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
    ssize_t n = pt_read_file(path, buf, sizeof(buf));
    ASSERT_GT(n, 0);
    ASSERT_STR_EQ(buf, "sw-title-test"); /* up to the first NUL */
    for (ssize_t i = (ssize_t)strlen(na.name); i < n; i++) {
        ASSERT_EQ(buf[i], 0); /* the rest of the area is NUL padding */
    }
    finish_named(p, pid);

    /* Our own argv is untouched (the child wrote its copy). */
    ASSERT_GT(pt_read_file("/proc/self/cmdline", buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, orig_cmdline);

    /* Without a title only comm changes; comm keeps the first 15 bytes. */
    name_arg_t nb = {"a-much-longer-process-name", 0};
    pid = start_named(&p, &nb, &area);
    snprintf(path, sizeof(path), "/proc/%d/comm", pid);
    ASSERT_GT(pt_read_file(path, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "a-much-longer-p\n");
    snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
    ASSERT_GT(pt_read_file(path, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, orig_cmdline);
    finish_named(p, pid);
}

SW_TEST(process_name_truncated_to_area)
{
    if (!g_argv || g_argc < 1) {
        SW_TEST_SKIP("argv not available to constructors");
    }
    static char longname[8192];
    memset(longname, 'n', sizeof(longname) - 1);
    name_arg_t na = {longname, 1};
    sw_process_t *p = NULL;
    size_t area = 0;
    int pid = start_named(&p, &na, &area);
    ASSERT_LT(area, sizeof(longname));
    char path[64], buf[16384];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
    ASSERT_GT(pt_read_file(path, buf, sizeof(buf)), 0);
    ASSERT_EQ(strlen(buf), area - 1);
    finish_named(p, pid);
}

SW_TEST(process_name_bad_arguments)
{
    sw_process_title_t t;
    char *argv[] = {NULL};
    ASSERT_ERR(sw_process_title_init(NULL, 1, g_argv), SW_EINVAL);
    ASSERT_ERR(sw_process_title_init(&t, 0, g_argv), SW_EINVAL);
    ASSERT_ERR(sw_process_title_init(&t, 1, NULL), SW_EINVAL);
    ASSERT_ERR(sw_process_title_init(&t, 1, argv), SW_EINVAL);
    ASSERT_ERR(sw_process_set_name(NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw_process_set_name(NULL, ""), SW_EINVAL);
    /* A vector whose strings are not contiguous: the area is argv[0] only. */
    char gap[] = "first\0Xsecond";
    char *v[] = {gap, gap + 7, NULL};
    ASSERT_OK(sw_process_title_init(&t, 2, v));
    ASSERT_PTR_EQ(t.area, gap);
    ASSERT_EQ(t.size, 6);
    char contiguous[] = "ab\0cd\0ef";
    char *w[] = {contiguous, contiguous + 3, contiguous + 6, NULL};
    ASSERT_OK(sw_process_title_init(&t, 3, w));
    ASSERT_EQ(t.size, 9);
}

/* ---- daemon ------------------------------------------------------------------------------ */

typedef struct {
    char path[PATH_MAX];
    int nochdir;
    int noclose;
} daemon_arg_t;

/* Becomes a daemon that writes "pid sid pgid ppid-was-1-or-subreaper cwd fd1-target" to a
 * file and exits. */
static int child_daemon(sw_process_t *p, void *arg)
{
    (void)p;
    daemon_arg_t *da = arg;
    int r = sw_process_daemon(da->nochdir, da->noclose);
    if (r != 0) {
        return 10;
    }
    char cwd[PATH_MAX] = "?", fd1[PATH_MAX] = "?";
    if (!getcwd(cwd, sizeof(cwd))) {
        strcpy(cwd, "?");
    }
    ssize_t n = readlink("/proc/self/fd/1", fd1, sizeof(fd1) - 1);
    fd1[n > 0 ? n : 0] = '\0';
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", da->path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        return 11;
    }
    fprintf(f, "%d %d %d %s %s\n", (int)getpid(), (int)getsid(0), (int)getpgrp(), cwd, fd1);
    fclose(f);
    rename(tmp, da->path); /* the reader sees the whole file or nothing */
    return 0;
}

static void run_daemon(int nochdir, int noclose)
{
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    static daemon_arg_t da;
    snprintf(da.path, sizeof(da.path), "/tmp/sw_test_daemon_%d_%d", (int)getpid(), nochdir);
    da.nochdir = nochdir;
    da.noclose = noclose;
    unlink(da.path);
    sw_process_t *p = NULL;
    ASSERT_OK(sw_process_create(&p, child_daemon, &da, 0));
    int pid = sw_process_start(p);
    ASSERT_GT(pid, 0);
    /* The original process exits 0 at once; the session leader too; the daemon writes the
     * file and exits 0. All of them are our children now (subreaper): reap all three. */
    sw_process_status_t st;
    int reaped = 0, daemon_code = -1;
    uint64_t start = sw_test_now_ms();
    while (reaped < 3 && sw_test_now_ms() - start < 20000) {
        int r = sw_process_wait(-1, 1, &st);
        ASSERT_GT(r, 0);
        reaped++;
        if (r != pid && st.exit_code != 0) {
            daemon_code = st.exit_code;
        }
        if (r == pid) {
            ASSERT_EQ(st.exit_code, 0);
        }
    }
    ASSERT_EQ(reaped, 3);
    ASSERT_EQ(daemon_code, -1);
    char buf[2 * PATH_MAX + 64];
    ASSERT_GT(pt_read_file(da.path, buf, sizeof(buf)), 0);
    unlink(da.path);
    int dpid = 0, sid = 0, pgid = 0;
    char cwd[PATH_MAX], fd1[PATH_MAX];
    ASSERT_EQ(sscanf(buf, "%d %d %d %s %s", &dpid, &sid, &pgid, cwd, fd1), 5);
    ASSERT_NE(dpid, pid);
    ASSERT_NE(sid, getsid(0)); /* a new session */
    ASSERT_NE(sid, dpid);      /* not its leader: it cannot acquire a terminal */
    ASSERT_EQ(pgid, sid);
    if (nochdir) {
        char here[PATH_MAX];
        ASSERT_NOT_NULL(getcwd(here, sizeof(here)));
        ASSERT_STR_EQ(cwd, here);
    } else {
        ASSERT_STR_EQ(cwd, "/");
    }
    if (!noclose) {
        ASSERT_STR_EQ(fd1, "/dev/null");
    }
    ASSERT_OK(sw_process_destroy(p));
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}

SW_TEST(process_daemon)
{
    run_daemon(0, 0);
}

SW_TEST(process_daemon_nochdir_noclose)
{
    run_daemon(1, 1);
}
