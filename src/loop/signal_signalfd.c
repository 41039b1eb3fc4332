/*
 * Signal source on Linux: a signalfd per loop, created with the loop's first signal watcher.
 *
 * A watched signal is blocked in the calling thread so that the kernel queues it for the
 * signalfd instead of running its disposition. Whether it was blocked before is remembered per
 * signal; when the loop's last watcher of a signal stops, an instance still pending (it arrived
 * while watched but was not read yet) is taken off with sigtimedwait() so that unblocking
 * cannot hand it to the default action, and the signal is unblocked again unless it was
 * blocked before the first start.
 */
#include <errno.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "loop/loop_int.h"
#include "swoole/error.h"

typedef struct {
    int fd;
    sigset_t mask;        /* signals read from fd */
    uint64_t was_blocked; /* bit n: signal n was blocked before its first watcher started */
    sw_io_t io;
} sigsrc_t;

static void sigfd_cb(sw_io_t *io, int events, void *arg)
{
    (void)events;
    sigsrc_t *s = arg;
    struct signalfd_siginfo si[16];
    /* A bounded number of reads: a signal storm cannot hold the loop here. */
    for (int round = 0; round < 4; round++) {
        ssize_t n = read(s->fd, si, sizeof(si));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        size_t count = (size_t)n / sizeof(si[0]);
        for (size_t i = 0; i < count; i++) {
            sw__signal_deliver(io->loop, (int)si[i].ssi_signo);
        }
        if (count < sizeof(si) / sizeof(si[0])) {
            break;
        }
    }
}

int sw__sigsrc_add(sw_loop_t *loop, int signum)
{
    sigsrc_t *s = loop->sig_src;
    if (!s) {
        s = sw__calloc(1, sizeof(*s));
        if (!s) {
            return SW_ENOMEM;
        }
        s->fd = -1;
        sigemptyset(&s->mask);
        loop->sig_src = s;
    }
    sigset_t one, old;
    sigemptyset(&one);
    sigaddset(&one, signum);
    int r = pthread_sigmask(SIG_BLOCK, &one, &old);
    if (r != 0) {
        return -r;
    }
    int was_blocked = sigismember(&old, signum) == 1;
    sigset_t mask = s->mask;
    sigaddset(&mask, signum);
    if (s->fd < 0) {
        r = SW_FAULT("signalfd", SW_EMFILE);
        int fd = -1;
        if (r == 0) {
            fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
            r = fd < 0 ? -errno : 0;
        }
        if (r == 0) {
            r = sw__io_start_internal(loop, &s->io, fd, sigfd_cb, s);
            if (r < 0) {
                close(fd);
            } else {
                s->fd = fd;
            }
        }
    } else if (signalfd(s->fd, &mask, 0) < 0) {
        r = -errno;
    }
    if (r < 0) {
        if (!was_blocked) {
            pthread_sigmask(SIG_UNBLOCK, &one, NULL);
        }
        return r;
    }
    s->mask = mask;
    if (was_blocked) {
        s->was_blocked |= (uint64_t)1 << (signum - 1);
    } else {
        s->was_blocked &= ~((uint64_t)1 << (signum - 1));
    }
    return 0;
}

void sw__sigsrc_remove(sw_loop_t *loop, int signum)
{
    sigsrc_t *s = loop->sig_src;
    sigdelset(&s->mask, signum);
    (void)signalfd(s->fd, &s->mask, 0);
    if (s->was_blocked & ((uint64_t)1 << (signum - 1))) {
        return;
    }
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, signum);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&one, NULL, &zero) == signum) {
    }
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
}

void sw__sigsrc_forget(sw_loop_t *loop)
{
    sigsrc_t *s = loop->sig_src;
    if (!s) {
        return;
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    sw__free(s);
    loop->sig_src = NULL;
}

void sw__sigsrc_close(sw_loop_t *loop)
{
    sigsrc_t *s = loop->sig_src;
    if (!s) {
        return;
    }
    if (s->fd >= 0) {
        sw_io_stop(&s->io);
        close(s->fd);
    }
    sw__free(s);
    loop->sig_src = NULL;
}
