/*
 * Signal watchers: the lists of watchers per signal number and the delivery to them. Where the
 * signals come from is the source's business (signal_signalfd.c on Linux, signal_pipe.c
 * elsewhere); it calls sw__signal_deliver() on the loop's thread, never in signal context.
 */
#include "loop/loop_int.h"
#include "swoole/error.h"

static int valid_signum(int signum)
{
    if (signum <= 0 || signum >= SW_NSIG || signum >= NSIG || signum == SIGKILL ||
        signum == SIGSTOP) {
        return 0;
    }
#ifdef __linux__
    /* glibc keeps the signals between 32 and SIGRTMIN for its threads: they cannot be
     * blocked or caught. */
    if (signum >= 32 && signum < SIGRTMIN) {
        return 0;
    }
#endif
    return 1;
}

int sw_signal_init(sw_loop_t *loop, sw_signal_t *sig, sw_signal_cb cb, void *arg)
{
    if (!loop || !sig || !cb) {
        return SW_EINVAL;
    }
    sig->loop = loop;
    sig->cb = cb;
    sig->arg = arg;
    sig->signum = 0;
    sig->flags = 0;
    sig->next = NULL;
    return 0;
}

int sw_signal_start(sw_signal_t *sig, int signum)
{
    if (!sig || !sig->loop || !valid_signum(signum)) {
        return SW_EINVAL;
    }
    if (sig->flags & SW_SIG_ACTIVE) {
        return signum == sig->signum ? 0 : SW_EINVAL;
    }
    sw_loop_t *loop = sig->loop;
    if (!loop->sig_heads[signum]) {
        int r = sw__sigsrc_add(loop, signum);
        if (r < 0) {
            return r;
        }
    }
    /* Append: watchers of one signal are called in the order they were started. */
    sw_signal_t **p = &loop->sig_heads[signum];
    while (*p) {
        p = &(*p)->next;
    }
    *p = sig;
    sig->next = NULL;
    sig->signum = signum;
    sig->flags = SW_SIG_ACTIVE;
    loop->nsig_active++;
    return 0;
}

int sw_signal_stop(sw_signal_t *sig)
{
    if (!sig || !sig->loop) {
        return SW_EINVAL;
    }
    if (!(sig->flags & SW_SIG_ACTIVE)) {
        return 0;
    }
    sw_loop_t *loop = sig->loop;
    int signum = sig->signum;
    for (sw_signal_t **p = &loop->sig_heads[signum]; *p; p = &(*p)->next) {
        if (*p == sig) {
            *p = sig->next;
            break;
        }
    }
    sig->next = NULL;
    sig->flags = 0;
    loop->nsig_active--;
    if (!loop->sig_heads[signum]) {
        sw__sigsrc_remove(loop, signum);
    }
    return 0;
}

void sw__signal_deliver(sw_loop_t *loop, int signum)
{
    if (signum <= 0 || signum >= SW_NSIG) {
        return;
    }
    /* Mark the watchers present now, then call the marked ones one at a time, looking the
     * list up again after each callback: a callback may stop (and free) any watcher, or start
     * new ones, which are not marked and so do not see this delivery. */
    for (sw_signal_t *w = loop->sig_heads[signum]; w; w = w->next) {
        w->flags |= SW_SIG_PENDING;
    }
    for (;;) {
        sw_signal_t *w = loop->sig_heads[signum];
        while (w && !(w->flags & SW_SIG_PENDING)) {
            w = w->next;
        }
        if (!w) {
            break;
        }
        w->flags &= ~SW_SIG_PENDING;
        w->cb(w, signum, w->arg);
    }
}

void sw__signal_close(sw_loop_t *loop)
{
    sw__sigsrc_close(loop);
}
