/*
 * Signal source without signalfd (BSD, macOS, and Linux built with -DSWOOLE_LOOP_PORTABLE=ON):
 * the classic self-pipe. A sigaction handler writes the signal number as one byte into the
 * pipe of every loop that watches it; the loop reads the pipe and calls the watchers on its own
 * thread.
 *
 * This is the one place of the library with process-wide state, because signal dispositions
 * are process-wide: a table of up to SW_SIGPIPE_SLOTS loops (their pipe and the set of signals
 * they watch), and per signal the number of loops watching it and the disposition to restore
 * when the last one stops. The handler only loads atomics and calls write(), both
 * async-signal-safe; the table changes under a mutex that the handler never takes.
 *
 * Signals are not blocked on this path (the handler must run), and one signal reaches every
 * loop watching it. A handler running in another thread while a loop is destroyed may write
 * into the pipe just before it closes; slots are cleared before the pipe is closed, so only a
 * handler that already loaded the fd can do so.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "loop/loop_int.h"
#include "swoole/error.h"

/* Loops that may watch signals at once in one process on this path. */
#define SW_SIGPIPE_SLOTS 64
/* The handler keeps one bit per signal in a 64-bit mask. */
#define SW_SIGPIPE_MAXSIG 64

typedef struct {
    atomic_int wfd_plus1;  /* the pipe's write end + 1; 0: free slot */
    _Atomic uint64_t mask; /* bit n: the loop watches signal n */
} sigslot_t;

static sigslot_t slots[SW_SIGPIPE_SLOTS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static int users[SW_SIGPIPE_MAXSIG];                      /* loops watching signal n */
static struct sigaction saved_actions[SW_SIGPIPE_MAXSIG]; /* to restore with the last one */

typedef struct {
    int rfd;
    int wfd;
    int slot;
    sw_io_t io;
} pipesrc_t;

static void on_signal(int signum)
{
    int saved_errno = errno;
    unsigned char b = (unsigned char)signum;
    uint64_t bit = (uint64_t)1 << signum;
    for (int i = 0; i < SW_SIGPIPE_SLOTS; i++) {
        if (atomic_load(&slots[i].mask) & bit) {
            int fd = atomic_load(&slots[i].wfd_plus1) - 1;
            if (fd >= 0) {
                /* A full pipe drops the byte: the loop has deliveries of this signal to read
                 * already, and signals merge anyway. */
                ssize_t r = write(fd, &b, 1);
                (void)r;
            }
        }
    }
    errno = saved_errno;
}

static void pipe_cb(sw_io_t *io, int events, void *arg)
{
    (void)events;
    (void)arg;
    unsigned char buf[64];
    for (int round = 0; round < 4; round++) {
        ssize_t n = read(io->fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        for (ssize_t i = 0; i < n; i++) {
            sw__signal_deliver(io->loop, buf[i]);
        }
        if ((size_t)n < sizeof(buf)) {
            break;
        }
    }
}

static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        return -errno;
    }
    return 0;
}

static int src_open(sw_loop_t *loop, pipesrc_t **out)
{
    int r = SW_FAULT("signalfd", SW_EMFILE);
    if (r) {
        return r;
    }
    pipesrc_t *s = sw__calloc(1, sizeof(*s));
    if (!s) {
        return SW_ENOMEM;
    }
    int p[2];
    if (pipe(p) < 0) {
        r = -errno;
        sw__free(s);
        return r;
    }
    s->rfd = p[0];
    s->wfd = p[1];
    s->slot = -1;
    r = set_flags(p[0]);
    if (r == 0) {
        r = set_flags(p[1]);
    }
    if (r == 0) {
        pthread_mutex_lock(&slots_lock);
        for (int i = 0; i < SW_SIGPIPE_SLOTS && s->slot < 0; i++) {
            if (atomic_load(&slots[i].wfd_plus1) == 0) {
                s->slot = i;
                atomic_store(&slots[i].mask, 0);
                atomic_store(&slots[i].wfd_plus1, s->wfd + 1);
            }
        }
        pthread_mutex_unlock(&slots_lock);
        r = s->slot < 0 ? SW_EBUSY : 0;
    }
    if (r == 0) {
        r = sw__io_start_internal(loop, &s->io, s->rfd, pipe_cb, s);
        if (r < 0) {
            atomic_store(&slots[s->slot].wfd_plus1, 0);
        }
    }
    if (r < 0) {
        close(p[0]);
        close(p[1]);
        sw__free(s);
        return r;
    }
    *out = s;
    return 0;
}

int sw__sigsrc_add(sw_loop_t *loop, int signum)
{
    if (signum >= SW_SIGPIPE_MAXSIG) {
        return SW_EINVAL;
    }
    pipesrc_t *s = loop->sig_src;
    if (!s) {
        int r = src_open(loop, &s);
        if (r < 0) {
            return r;
        }
        loop->sig_src = s;
    }
    int r = 0;
    pthread_mutex_lock(&slots_lock);
    if (users[signum] == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigfillset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        if (sigaction(signum, &sa, &saved_actions[signum]) < 0) {
            r = -errno;
        }
    }
    if (r == 0) {
        users[signum]++;
        atomic_fetch_or(&slots[s->slot].mask, (uint64_t)1 << signum);
    }
    pthread_mutex_unlock(&slots_lock);
    return r;
}

void sw__sigsrc_remove(sw_loop_t *loop, int signum)
{
    pipesrc_t *s = loop->sig_src;
    pthread_mutex_lock(&slots_lock);
    atomic_fetch_and(&slots[s->slot].mask, ~((uint64_t)1 << signum));
    if (--users[signum] == 0) {
        sigaction(signum, &saved_actions[signum], NULL);
    }
    pthread_mutex_unlock(&slots_lock);
}

void sw__sigsrc_forget(sw_loop_t *loop)
{
    pipesrc_t *s = loop->sig_src;
    if (!s) {
        return;
    }
    /* The slot table is this process's copy: clearing it cannot affect the parent. The lock
     * may have been held by another thread at fork(), so it is not taken. */
    atomic_store(&slots[s->slot].mask, 0);
    atomic_store(&slots[s->slot].wfd_plus1, 0);
    close(s->rfd);
    close(s->wfd);
    sw__free(s);
    loop->sig_src = NULL;
}

void sw__sigsrc_close(sw_loop_t *loop)
{
    pipesrc_t *s = loop->sig_src;
    if (!s) {
        return;
    }
    pthread_mutex_lock(&slots_lock);
    atomic_store(&slots[s->slot].mask, 0);
    atomic_store(&slots[s->slot].wfd_plus1, 0);
    pthread_mutex_unlock(&slots_lock);
    sw_io_stop(&s->io);
    close(s->rfd);
    close(s->wfd);
    sw__free(s);
    loop->sig_src = NULL;
}
