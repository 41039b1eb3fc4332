/*
 * The poll backend, available everywhere. It keeps a dense pollfd array with the udata of each
 * entry beside it and an fd -> position map; removal moves the last entry into the hole.
 *
 * poll() reports in place, and callbacks may add and remove entries while events are
 * delivered, so wait copies the ready entries into `ready` first and dispatch delivers from
 * that copy. `ready` grows with the pollfd array, never during a wait. There is no fd for
 * sw_loop_backend_fd().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>

#include "core/alloc.h"
#include "loop/loop_int.h"
#include "swoole/error.h"

typedef struct {
    uint64_t udata;
    int events;
} ready_t;

typedef struct {
    struct pollfd *pfds;
    uint64_t *udata;
    ready_t *ready;
    size_t n;    /* entries in use */
    size_t cap;  /* entries allocated in pfds, udata and ready */
    int *pos;    /* fd -> index + 1 in pfds; 0: not watched */
    size_t npos; /* entries in pos */
} poll_state_t;

static short to_poll(int events)
{
    return (short)(((events & SW_EVENT_READ) ? POLLIN : 0) |
                   ((events & SW_EVENT_WRITE) ? POLLOUT : 0));
}

static int from_poll(short e)
{
    return ((e & POLLIN) ? SW_EVENT_READ : 0) | ((e & POLLOUT) ? SW_EVENT_WRITE : 0) |
           ((e & (POLLERR | POLLNVAL)) ? SW_EVENT_ERROR : 0) | ((e & POLLHUP) ? SW_EVENT_HUP : 0);
}

static int pl_init(void **state, unsigned max_events)
{
    (void)max_events; /* every ready entry is collected: poll() returns them all anyway */
    poll_state_t *s = sw__calloc(1, sizeof(*s));
    if (!s) {
        return SW_ENOMEM;
    }
    *state = s;
    return 0;
}

/* Grows each array (all or nothing for the size: a failed realloc leaves the old block). */
static int grow(poll_state_t *s, int fd)
{
    if ((size_t)fd >= s->npos) {
        size_t n = s->npos ? s->npos : 64;
        while (n <= (size_t)fd) {
            n *= 2;
        }
        int *pos = sw__realloc(s->pos, n * sizeof(*pos));
        if (!pos) {
            return SW_ENOMEM;
        }
        memset(pos + s->npos, 0, (n - s->npos) * sizeof(*pos));
        s->pos = pos;
        s->npos = n;
    }
    if (s->n == s->cap) {
        size_t n = s->cap ? s->cap * 2 : 16;
        struct pollfd *pfds = sw__realloc(s->pfds, n * sizeof(*pfds));
        if (!pfds) {
            return SW_ENOMEM;
        }
        s->pfds = pfds;
        uint64_t *udata = sw__realloc(s->udata, n * sizeof(*udata));
        if (!udata) {
            return SW_ENOMEM;
        }
        s->udata = udata;
        ready_t *ready = sw__realloc(s->ready, n * sizeof(*ready));
        if (!ready) {
            return SW_ENOMEM;
        }
        s->ready = ready;
        s->cap = n;
    }
    return 0;
}

static int pl_add(void *state, int fd, int events, uint64_t udata)
{
    poll_state_t *s = state;
    /* poll() would only report POLLNVAL later: refuse a closed fd now, as epoll does. */
    if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
        return SW_EBADF;
    }
    if ((size_t)fd < s->npos && s->pos[fd]) {
        return SW_EEXIST;
    }
    int r = grow(s, fd);
    if (r < 0) {
        return r;
    }
    s->pfds[s->n] = (struct pollfd){.fd = fd, .events = to_poll(events)};
    s->udata[s->n] = udata;
    s->n++;
    s->pos[fd] = (int)s->n;
    return 0;
}

static int pl_mod(void *state, int fd, int old_events, int events, uint64_t udata)
{
    (void)old_events;
    poll_state_t *s = state;
    if ((size_t)fd >= s->npos || !s->pos[fd]) {
        return SW_ENOENT;
    }
    size_t i = (size_t)s->pos[fd] - 1;
    s->pfds[i].events = to_poll(events);
    s->udata[i] = udata;
    return 0;
}

static int pl_del(void *state, int fd, int old_events)
{
    (void)old_events;
    poll_state_t *s = state;
    if ((size_t)fd >= s->npos || !s->pos[fd]) {
        return SW_ENOENT;
    }
    size_t i = (size_t)s->pos[fd] - 1;
    size_t last = s->n - 1;
    if (i != last) {
        s->pfds[i] = s->pfds[last];
        s->udata[i] = s->udata[last];
        s->pos[s->pfds[i].fd] = (int)i + 1;
    }
    s->pos[fd] = 0;
    s->n--;
    return 0;
}

static int pl_wait(void *state, int timeout_ms)
{
    poll_state_t *s = state;
    int r = poll(s->pfds, (nfds_t)s->n, timeout_ms);
    if (r < 0) {
        return errno == EINTR ? 0 : -errno;
    }
    int k = 0;
    for (size_t i = 0; i < s->n && k < r; i++) {
        if (s->pfds[i].revents) {
            s->ready[k].udata = s->udata[i];
            s->ready[k].events = from_poll(s->pfds[i].revents);
            k++;
        }
    }
    return k;
}

static void pl_dispatch(void *state, sw_loop_t *loop, int n)
{
    poll_state_t *s = state;
    /* `ready` may be reallocated by an add from a callback: index it afresh each time. */
    for (int i = 0; i < n; i++) {
        ready_t e = s->ready[i];
        sw__loop_dispatch(loop, e.udata, e.events);
    }
}

static void pl_close(void *state)
{
    poll_state_t *s = state;
    sw__free(s->pfds);
    sw__free(s->udata);
    sw__free(s->ready);
    sw__free(s->pos);
    sw__free(s);
}

const sw__backend_ops_t sw__backend_poll = {
    .name = "poll",
    .init = pl_init,
    .add = pl_add,
    .mod = pl_mod,
    .del = pl_del,
    .wait = pl_wait,
    .dispatch = pl_dispatch,
    .close = pl_close,
    .forget = pl_close, /* no kernel object: only memory */
    .backend_fd = NULL,
};
