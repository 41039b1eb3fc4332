/*
 * The epoll backend (Linux), level-triggered. The udata of each fd travels in epoll_data.u64
 * and comes back untouched with its events. The events array lives in the state, so a wait
 * allocates nothing and the epoll fd itself serves as sw_loop_backend_fd().
 */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "loop/loop_int.h"
#include "swoole/error.h"

typedef struct {
    int epfd;
    int max_events;
    struct epoll_event events[];
} epoll_state_t;

static uint32_t to_epoll(int events)
{
    return ((events & SW_EVENT_READ) ? EPOLLIN : 0u) | ((events & SW_EVENT_WRITE) ? EPOLLOUT : 0u);
}

static int from_epoll(uint32_t e)
{
    return ((e & EPOLLIN) ? SW_EVENT_READ : 0) | ((e & EPOLLOUT) ? SW_EVENT_WRITE : 0) |
           ((e & EPOLLERR) ? SW_EVENT_ERROR : 0) | ((e & EPOLLHUP) ? SW_EVENT_HUP : 0);
}

static int ep_init(void **state, unsigned max_events)
{
    int r = SW_FAULT("epoll_create", SW_EMFILE);
    if (r) {
        return r;
    }
    epoll_state_t *s = sw__malloc(sizeof(*s) + (size_t)max_events * sizeof(struct epoll_event));
    if (!s) {
        return SW_ENOMEM;
    }
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) {
        r = -errno;
        sw__free(s);
        return r;
    }
    s->max_events = (int)max_events;
    *state = s;
    return 0;
}

static int ep_ctl(epoll_state_t *s, int op, int fd, int events, uint64_t udata)
{
    struct epoll_event ev = {.events = to_epoll(events), .data.u64 = udata};
    return epoll_ctl(s->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static int ep_add(void *state, int fd, int events, uint64_t udata)
{
    return ep_ctl(state, EPOLL_CTL_ADD, fd, events, udata);
}

static int ep_mod(void *state, int fd, int old_events, int events, uint64_t udata)
{
    (void)old_events;
    return ep_ctl(state, EPOLL_CTL_MOD, fd, events, udata);
}

static int ep_del(void *state, int fd, int old_events)
{
    (void)old_events;
    return ep_ctl(state, EPOLL_CTL_DEL, fd, 0, 0);
}

static int ep_wait(void *state, int timeout_ms)
{
    epoll_state_t *s = state;
    int n = epoll_wait(s->epfd, s->events, s->max_events, timeout_ms);
    if (n < 0) {
        return errno == EINTR ? 0 : -errno;
    }
    return n;
}

static void ep_dispatch(void *state, sw_loop_t *loop, int n)
{
    epoll_state_t *s = state;
    for (int i = 0; i < n; i++) {
        sw__loop_dispatch(loop, s->events[i].data.u64, from_epoll(s->events[i].events));
    }
}

static void ep_close(void *state)
{
    epoll_state_t *s = state;
    close(s->epfd);
    sw__free(s);
}

static int ep_backend_fd(const void *state)
{
    return ((const epoll_state_t *)state)->epfd;
}

const sw__backend_ops_t sw__backend_epoll = {
    .name = "epoll",
    .init = ep_init,
    .add = ep_add,
    .mod = ep_mod,
    .del = ep_del,
    .wait = ep_wait,
    .dispatch = ep_dispatch,
    .close = ep_close,
    /* Closing the child's copy of the epoll fd drops only the child's reference: the parent's
     * interest list is untouched. */
    .forget = ep_close,
    .backend_fd = ep_backend_fd,
};
