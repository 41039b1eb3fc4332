/*
 * Declaration-only stand-in for BSD's <sys/event.h>, used for one purpose: compile-checking
 * src/loop/backend_kqueue.c on Linux (the ctest entry loop.kqueue_compile runs the compiler
 * with -fsyntax-only and this directory on the include path). It is never linked and never
 * part of the library. The names, types and the shape of struct kevent follow FreeBSD's
 * kqueue(2) manual page; values are those of FreeBSD's header, though a syntax check does not
 * depend on them.
 */
#ifndef SW_KQUEUE_CHECK_SYS_EVENT_H
#define SW_KQUEUE_CHECK_SYS_EVENT_H

#include <stdint.h>
#include <time.h>

#define EVFILT_READ  (-1)
#define EVFILT_WRITE (-2)

#define EV_ADD     0x0001
#define EV_DELETE  0x0002
#define EV_ENABLE  0x0004
#define EV_DISABLE 0x0008
#define EV_ONESHOT 0x0010
#define EV_CLEAR   0x0020
#define EV_RECEIPT 0x0040
#define EV_ERROR   0x4000
#define EV_EOF     0x8000

struct kevent {
    uintptr_t ident;
    short filter;
    unsigned short flags;
    unsigned int fflags;
    int64_t data;
    void *udata;
    uint64_t ext[4];
};

#define EV_SET(kevp, a, b, c, d, e, f)                                     \
    do {                                                                   \
        struct kevent *ev_p_ = (kevp);                                     \
        ev_p_->ident = (a);                                                \
        ev_p_->filter = (b);                                               \
        ev_p_->flags = (c);                                                \
        ev_p_->fflags = (d);                                               \
        ev_p_->data = (e);                                                 \
        ev_p_->udata = (f);                                                \
        ev_p_->ext[0] = ev_p_->ext[1] = ev_p_->ext[2] = ev_p_->ext[3] = 0; \
    } while (0)

int kqueue(void);
int kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
           int nevents, const struct timespec *timeout);

#endif
