/*
 * The one fork path of the library, and exit status decoding.
 *
 * Everything that starts a child (sw_process_start, the supervisor behind sw_pool_t and the
 * server's manager) comes through sw__process_fork(), so the guarantees written in
 * swoole/process.h hold for every child: parent-death signal with the race check, a clean
 * signal state, no duplicated stdio buffers.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fault.h"
#include "process/process_int.h"
#include "swoole/error.h"

/* Signals raised by the faulting instruction itself: their handlers (a sanitizer's, a crash
 * reporter's) stay in the child, where they still make sense. */
static int is_synchronous(int signo)
{
    return signo == SIGSEGV || signo == SIGBUS || signo == SIGFPE || signo == SIGILL ||
           signo == SIGTRAP || signo == SIGSYS || signo == SIGABRT;
}

/* In the child: default actions for caught signals, SIGCHLD default, nothing blocked. The
 * parent may watch signals through a loop: on Linux they are blocked (signalfd), elsewhere a
 * handler writes them into the parent's loop's pipe, which the child shares; neither must
 * carry over. Only async-signal-safe calls here (the parent may have threads). */
static void reset_signals_in_child(void)
{
    for (int signo = 1; signo < NSIG; signo++) {
        if (signo == SIGKILL || signo == SIGSTOP || is_synchronous(signo)) {
            continue;
        }
#ifdef __linux__
        if (signo >= 32 && signo < SIGRTMIN) {
            continue; /* glibc's own */
        }
#endif
        struct sigaction sa;
        if (sigaction(signo, NULL, &sa) != 0) {
            continue;
        }
        int caught =
            (sa.sa_flags & SA_SIGINFO) || (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN);
        if (caught || signo == SIGCHLD) {
            struct sigaction dfl = {0};
            dfl.sa_handler = SIG_DFL;
            sigemptyset(&dfl.sa_mask);
            (void)sigaction(signo, &dfl, NULL);
        }
    }
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
}

pid_t sw__process_fork(int pdeath_signal)
{
    int r = SW_FAULT("fork", SW_EAGAIN);
    if (r < 0) {
        return r;
    }
    (void)fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        return -errno;
    }
    if (pid > 0) {
        return pid;
    }
    if (pdeath_signal > 0) {
        (void)prctl(PR_SET_PDEATHSIG, pdeath_signal);
        /* The parent may have died between fork and prctl: then the request came too late and
         * the child would run on as an orphan. getppid() tells, since the parent changed. */
        if (getppid() != parent) {
            (void)kill(getpid(), pdeath_signal);
            _exit(1);
        }
    }
    reset_signals_in_child();
    return 0;
}

void sw__process_child_exit(int code)
{
    (void)fflush(NULL);
    _exit(code & 0xff);
}

int sw__process_reset_sigchld(void)
{
    struct sigaction sa;
    if (sigaction(SIGCHLD, NULL, &sa) != 0) {
        return -errno;
    }
    int ignored = !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_IGN;
    if (!ignored && !(sa.sa_flags & SA_NOCLDWAIT)) {
        return 0;
    }
    struct sigaction dfl = {0};
    if (ignored) {
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
    } else {
        /* A handler with SA_NOCLDWAIT: keep the handler, drop the flag. */
        dfl = sa;
        dfl.sa_flags &= ~SA_NOCLDWAIT;
    }
    if (sigaction(SIGCHLD, &dfl, NULL) != 0) {
        return -errno;
    }
    return 0;
}

void sw__process_status_decode(pid_t pid, int wstatus, sw_process_status_t *st)
{
    st->pid = pid;
    st->exit_code = -1;
    st->signal = 0;
    st->core_dumped = 0;
    if (WIFEXITED(wstatus)) {
        st->exit_code = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
        st->signal = WTERMSIG(wstatus);
#ifdef WCOREDUMP
        st->core_dumped = WCOREDUMP(wstatus) ? 1 : 0;
#endif
    }
}

pid_t sw__process_reap(pid_t pid, sw_process_status_t *st)
{
    int status = 0;
    pid_t r;
    do {
        r = waitpid(pid, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        return SW_ECHILD;
    }
    if (r > 0 && st) {
        sw__process_status_decode(r, status, st);
    }
    return r;
}

int sw_process_wait(pid_t pid, int blocking, sw_process_status_t *st)
{
    if (pid == 0 || pid < -1) {
        return SW_EINVAL;
    }
    int status = 0;
    pid_t r;
    do {
        r = waitpid(pid, &status, blocking ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        return errno == ECHILD ? SW_ECHILD : -errno;
    }
    if (r > 0 && st) {
        sw__process_status_decode(r, status, st);
    }
    return (int)r;
}

int sw_process_kill(pid_t pid, int signo)
{
    if (pid <= 0 || signo < 0 || signo >= NSIG) {
        return SW_EINVAL;
    }
    if (kill(pid, signo) != 0) {
        return -errno;
    }
    return 0;
}
