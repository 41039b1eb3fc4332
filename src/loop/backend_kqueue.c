/*
 * The kqueue backend (FreeBSD, OpenBSD, NetBSD 10+, DragonFly, macOS).
 *
 * One EVFILT_READ and one EVFILT_WRITE filter per fd, added and deleted as the interest
 * changes. The udata rides in the kevent's udata pointer, so the stale-event guard needs a
 * 64-bit pointer: on 32-bit systems init refuses with SW_ENOTSUP and the loop falls back to
 * poll. The kernel reports the two filters of one fd as two events, which the loop dispatches
 * one by one. An interest of 0 registers no filter, so on kqueue such a watcher sees nothing
 * (epoll and poll still report errors and hang-ups to it).
 *
 * EV_EOF on a filter maps to SW_EVENT_HUP, plus SW_EVENT_ERROR when the kernel gives a socket
 * error in fflags; a change that failed inside the event list (EV_ERROR) maps to
 * SW_EVENT_ERROR. The kqueue fd is pollable itself and serves as sw_loop_backend_fd().
 *
 * This file cannot run on the Linux machines the project is tested on; it is compile-checked
 * there against a declaration-only <sys/event.h> (src/loop/kqueue_check/), and on BSD/macOS
 * it is built and runs the loop test suite with SW_LOOP_BACKEND=kqueue.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "loop/loop_int.h"
#include "swoole/error.h"

typedef struct {
    int kq;
    int max_events;
    struct kevent events[];
} kq_state_t;

static int kq_init(void **state, unsigned max_events)
{
#if UINTPTR_MAX < UINT64_MAX
    (void)state;
    (void)max_events;
    return SW_ENOTSUP;
#else
    int r = SW_FAULT("epoll_create", SW_EMFILE);
    if (r) {
        return r;
    }
    kq_state_t *s = sw__malloc(sizeof(*s) + (size_t)max_events * sizeof(struct kevent));
    if (!s) {
        return SW_ENOMEM;
    }
    s->kq = kqueue();
    if (s->kq < 0) {
        r = -errno;
        sw__free(s);
        return r;
    }
    /* Not inherited by fork() by design; keep it out of exec'd programs too. */
    (void)fcntl(s->kq, F_SETFD, FD_CLOEXEC);
    s->max_events = (int)max_events;
    *state = s;
    return 0;
#endif
}

/* Sends the filter changes that turn `old_events` into `events`: EV_ADD for each filter wanted
 * (which also refreshes the udata of one already there), EV_DELETE for each one dropped. */
static int kq_change(kq_state_t *s, int fd, int old_events, int events, uint64_t udata)
{
    struct kevent ch[2];
    int n = 0;
    void *ud = (void *)(uintptr_t)udata;
    static const struct {
        int bit;
        short filter;
    } filters[2] = {{SW_EVENT_READ, EVFILT_READ}, {SW_EVENT_WRITE, EVFILT_WRITE}};
    for (int i = 0; i < 2; i++) {
        if (events & filters[i].bit) {
            EV_SET(&ch[n], (uintptr_t)fd, filters[i].filter, EV_ADD, 0, 0, ud);
            n++;
        } else if (old_events & filters[i].bit) {
            EV_SET(&ch[n], (uintptr_t)fd, filters[i].filter, EV_DELETE, 0, 0, NULL);
            n++;
        }
    }
    if (n == 0) {
        return 0;
    }
    return kevent(s->kq, ch, n, NULL, 0, NULL) < 0 ? -errno : 0;
}

static int kq_add(void *state, int fd, int events, uint64_t udata)
{
    /* With no filter to add, kevent() would not look at the fd: check it is open here. */
    if (events == 0 && fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
        return SW_EBADF;
    }
    return kq_change(state, fd, 0, events, udata);
}

static int kq_mod(void *state, int fd, int old_events, int events, uint64_t udata)
{
    return kq_change(state, fd, old_events, events, udata);
}

static int kq_del(void *state, int fd, int old_events)
{
    return kq_change(state, fd, old_events, 0, 0);
}

static int kq_wait(void *state, int timeout_ms)
{
    kq_state_t *s = state;
    struct timespec ts, *tsp = NULL;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        tsp = &ts;
    }
    int n = kevent(s->kq, NULL, 0, s->events, s->max_events, tsp);
    if (n < 0) {
        return errno == EINTR ? 0 : -errno;
    }
    return n;
}

static void kq_dispatch(void *state, sw_loop_t *loop, int n)
{
    kq_state_t *s = state;
    for (int i = 0; i < n; i++) {
        const struct kevent *e = &s->events[i];
        int ev;
        if (e->flags & EV_ERROR) {
            ev = SW_EVENT_ERROR;
        } else {
            ev = e->filter == EVFILT_READ ? SW_EVENT_READ : SW_EVENT_WRITE;
            if (e->flags & EV_EOF) {
                ev |= SW_EVENT_HUP | (e->fflags ? SW_EVENT_ERROR : 0);
            }
        }
        sw__loop_dispatch(loop, (uint64_t)(uintptr_t)e->udata, ev);
    }
}

static void kq_close(void *state)
{
    kq_state_t *s = state;
    close(s->kq);
    sw__free(s);
}

/* A kqueue is not inherited by fork(): in the child its number may already name another file,
 * so only the memory is freed. */
static void kq_forget(void *state)
{
    sw__free(state);
}

static int kq_backend_fd(const void *state)
{
    return ((const kq_state_t *)state)->kq;
}

const sw__backend_ops_t sw__backend_kqueue = {
    .name = "kqueue",
    .init = kq_init,
    .add = kq_add,
    .mod = kq_mod,
    .del = kq_del,
    .wait = kq_wait,
    .dispatch = kq_dispatch,
    .close = kq_close,
    .forget = kq_forget,
    .backend_fd = kq_backend_fd,
};
