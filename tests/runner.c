/* The test runner: one forked child per case, a time limit, leak checks. See sw_test.h. */
#include "sw_test.h"

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CASES 1024
#define MAX_FDS   4096
#define SKIP_CODE 77

typedef struct {
    const char *name;
    sw_test_fn fn;
    int timeout_s;
} test_case_t;

static test_case_t cases[MAX_CASES];
static int ncases;

void sw_test_register(const char *name, sw_test_fn fn, int timeout_s)
{
    if (ncases == MAX_CASES) {
        fprintf(stderr, "runner: more than %d cases\n", MAX_CASES);
        exit(2);
    }
    cases[ncases++] = (test_case_t){name, fn, timeout_s};
}

void sw_test_fail(const char *file, int line, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s:%d: FAIL: %s\n", file, line, msg);
    fflush(stdout);
    fflush(stderr);
    _exit(1);
}

void sw_test_skip(const char *why)
{
    fprintf(stderr, "SKIP: %s\n", why);
    fflush(stdout);
    fflush(stderr);
    _exit(SKIP_CODE);
}

uint64_t sw_test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int sw_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        sw_test_fail(__FILE__, __LINE__, "socket: %s", strerror(errno));
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        sw_test_fail(__FILE__, __LINE__, "bind/getsockname: %s", strerror(errno));
    }
    close(fd);
    return ntohs(sa.sin_port);
}

/* Lists the open fds into `fds` (sorted ascending as the kernel returns them), skipping the
 * directory fd used to read them. Returns the count. */
static int list_fds(int *fds, int max)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        return -1;
    }
    int self = dirfd(d), n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        int fd = atoi(e->d_name);
        if (fd != self && n < max) {
            fds[n++] = fd;
        }
    }
    closedir(d);
    return n;
}

int sw_test_count_fds(void)
{
    int fds[MAX_FDS];
    return list_fds(fds, MAX_FDS);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* Reports children of this process still present (running or unreaped). Returns the count. */
static int report_children(void)
{
    DIR *d = opendir("/proc");
    if (!d) {
        return 0;
    }
    pid_t self = getpid();
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') {
            continue;
        }
        char path[300], buf[512];
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) {
            continue;
        }
        size_t r = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[r] = '\0';
        /* pid (comm) state ppid ...; comm may hold spaces, so parse after the last ')'. */
        char *rp = strrchr(buf, ')');
        char state;
        int ppid;
        if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == self) {
            fprintf(stderr, "LEAK: child process %s (state %c) still present\n", e->d_name, state);
            n++;
        }
    }
    closedir(d);
    return n;
}

#if defined(__SANITIZE_THREAD__)
#define SW_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SW_TEST_TSAN 1
#endif
#endif

#ifdef SW_TEST_TSAN
static void *idle_thread(void *arg)
{
    return arg;
}
#endif

/* ThreadSanitizer starts a background thread at the first pthread_create; start it before the
 * "before" count so that it is not reported as a thread leaked by the case. */
static void settle_sanitizer_threads(void)
{
#ifdef SW_TEST_TSAN
    pthread_t t;
    if (pthread_create(&t, NULL, idle_thread, NULL) == 0) {
        pthread_join(t, NULL);
    }
#endif
}

static void run_in_child(const test_case_t *tc)
{
    settle_sanitizer_threads();
    int before[MAX_FDS], after[MAX_FDS];
    int nb = list_fds(before, MAX_FDS);
    int threads_before = count_entries("/proc/self/task");
    tc->fn();
    fflush(stdout);
    int na = list_fds(after, MAX_FDS);
    int leaks = 0;
    for (int i = 0; i < na; i++) {
        int found = 0;
        for (int j = 0; j < nb && !found; j++) {
            found = before[j] == after[i];
        }
        if (!found) {
            char link[64], target[256] = "?";
            snprintf(link, sizeof(link), "/proc/self/fd/%d", after[i]);
            ssize_t r = readlink(link, target, sizeof(target) - 1);
            if (r >= 0) {
                target[r] = '\0';
            }
            fprintf(stderr, "LEAK: fd %d (%s) left open\n", after[i], target);
            leaks++;
        }
    }
    leaks += report_children();
    int threads_after = count_entries("/proc/self/task");
    if (threads_after > threads_before) {
        fprintf(stderr, "LEAK: %d thread(s) still running\n", threads_after - threads_before);
        leaks++;
    }
    fflush(stderr);
    _exit(leaks ? 1 : 0);
}

static int run_case(const test_case_t *tc)
{
    double mult = 1.0;
    const char *m = getenv("SW_TEST_TIMEOUT_MULTIPLIER");
    if (m && atof(m) > 0) {
        mult = atof(m);
    }
    uint64_t limit_ms = (uint64_t)(tc->timeout_s * mult * 1000.0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "runner: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        signal(SIGPIPE, SIG_IGN);
        run_in_child(tc);
    }
    setpgid(pid, pid);
    uint64_t start = sw_test_now_ms();
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            break;
        }
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "runner: waitpid: %s\n", strerror(errno));
            return 1;
        }
        if (sw_test_now_ms() - start > limit_ms) {
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            fprintf(stderr, "%s: TIMEOUT after %.1f s\n", tc->name, limit_ms / 1000.0);
            return 1;
        }
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* Whatever the case left in its process group goes now; the child already reported it. */
    kill(-pid, SIGKILL);
    uint64_t took = sw_test_now_ms() - start;
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "%s: FAIL: killed by signal %d (%s)\n", tc->name, WTERMSIG(status),
                strsignal(WTERMSIG(status)));
        return 1;
    }
    int code = WEXITSTATUS(status);
    if (code == SKIP_CODE) {
        printf("%s: SKIP\n", tc->name);
        return SKIP_CODE;
    }
    printf("%s: %s (%llu ms)\n", tc->name, code == 0 ? "PASS" : "FAIL", (unsigned long long)took);
    return code == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (int i = 0; i < ncases; i++) {
            printf("%s\n", cases[i].name);
        }
        return 0;
    }
    if (argc > 1) {
        for (int i = 0; i < ncases; i++) {
            if (strcmp(cases[i].name, argv[1]) == 0) {
                return run_case(&cases[i]);
            }
        }
        fprintf(stderr, "runner: no case named '%s' (try --list)\n", argv[1]);
        return 2;
    }
    int failed = 0;
    for (int i = 0; i < ncases; i++) {
        if (run_case(&cases[i]) == 1) {
            failed++;
        }
    }
    printf("%d case(s), %d failed\n", ncases, failed);
    return failed ? 1 : 0;
}
