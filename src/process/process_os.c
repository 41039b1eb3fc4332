/*
 * What a process does to itself: signal handlers on a loop (kept by an sw_process_t), interval
 * timers, daemonizing, and its title.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "process/process_int.h"
#include "process/process_obj.h"
#include "swoole/error.h"

/* ---- signals ------------------------------------------------------------------------------ */

static void drop_watcher(sw_process_t *p, int signo)
{
    sw_signal_t *w = p->sigs[signo];
    if (w) {
        sw_signal_stop(w);
        sw__free(w);
        p->sigs[signo] = NULL;
    }
}

int sw_process_signal(sw_process_t *p, sw_loop_t *loop, int signo, sw_signal_cb cb, void *arg)
{
    if (!p || signo <= 0 || signo >= SW_PROCESS_NSIG || signo >= NSIG) {
        return SW_EINVAL;
    }
    if (!cb) {
        drop_watcher(p, signo);
        return 0;
    }
    if (!loop) {
        return SW_EINVAL;
    }
    sw_signal_t *w = sw__calloc(1, sizeof(*w));
    if (!w) {
        return SW_ENOMEM;
    }
    int r = sw_signal_init(loop, w, cb, arg);
    if (r == 0) {
        r = sw_signal_start(w, signo);
    }
    if (r < 0) {
        sw__free(w);
        return r;
    }
    /* The new watcher is started before the old one stops, so that the signal is never left
     * unwatched (and at its default action) in between. */
    drop_watcher(p, signo);
    p->sigs[signo] = w;
    return 0;
}

void sw__process_signals_close(sw_process_t *p)
{
    for (int s = 1; s < SW_PROCESS_NSIG; s++) {
        drop_watcher(p, s);
    }
}

void sw__process_signals_forget(sw_process_t *p)
{
    for (int s = 1; s < SW_PROCESS_NSIG; s++) {
        p->sigs[s] = NULL;
    }
}

int sw_process_alarm(int64_t usec, int type)
{
    static const int which[] = {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF};
    if (usec < 0 || type < SW_ALARM_REAL || type > SW_ALARM_PROF) {
        return SW_EINVAL;
    }
    struct itimerval it;
    it.it_interval.tv_sec = (time_t)(usec / 1000000);
    it.it_interval.tv_usec = (suseconds_t)(usec % 1000000);
    it.it_value = it.it_interval;
    if (setitimer(which[type], &it, NULL) != 0) {
        return -errno;
    }
    return 0;
}

/* ---- daemon ------------------------------------------------------------------------------- */

int sw_process_daemon(int nochdir, int noclose)
{
    /* Classic double fork (as in Stevens, "Advanced Programming in the UNIX Environment",
     * ch. 13): the first child becomes a session leader with setsid(), and its own child, not
     * being a session leader, can never acquire a controlling terminal. */
    pid_t pid = sw__process_fork(0);
    if (pid < 0) {
        return (int)pid;
    }
    if (pid > 0) {
        _exit(0);
    }
    if (setsid() < 0) {
        return -errno;
    }
    pid = sw__process_fork(0);
    if (pid < 0) {
        return (int)pid;
    }
    if (pid > 0) {
        _exit(0);
    }
    if (!nochdir && chdir("/") != 0) {
        return -errno;
    }
    if (!noclose) {
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            return -errno;
        }
        for (int i = 0; i < 3; i++) {
            if (fd != i && dup2(fd, i) < 0) {
                int e = errno;
                close(fd);
                return -e;
            }
        }
        if (fd > 2) {
            close(fd);
        } else {
            (void)fcntl(fd, F_SETFD, 0);
        }
    }
    return 0;
}

/* ---- title -------------------------------------------------------------------------------- */

int sw_process_title_init(sw_process_title_t *t, int argc, char **argv)
{
    if (!t || !argv || argc < 1 || !argv[0]) {
        return SW_EINVAL;
    }
    /* The kernel lays the argument strings out one after the other; the area ends where that
     * stops (a program may have replaced some argv pointers). */
    char *start = argv[0];
    char *end = start + strlen(start) + 1;
    for (int i = 1; i < argc && argv[i] == end; i++) {
        end += strlen(argv[i]) + 1;
    }
    t->area = start;
    t->size = (size_t)(end - start);
    return 0;
}

int sw_process_set_name(const sw_process_title_t *t, const char *name)
{
    if (!name || !*name) {
        return SW_EINVAL;
    }
    if (prctl(PR_SET_NAME, name, 0, 0, 0) != 0) {
        return -errno;
    }
    if (t && t->area && t->size > 0) {
        size_t n = strlen(name);
        if (n > t->size - 1) {
            n = t->size - 1;
        }
        memcpy(t->area, name, n);
        memset(t->area + n, 0, t->size - n);
    }
    return 0;
}
