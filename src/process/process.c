/*
 * sw_process_t: create, start (function or exec), the pipe, the queue, exit and exec.
 *
 * The pipe is a socketpair made at create time: fds[0] is the parent's end, fds[1] the
 * child's. After the fork each side closes the other's end and keeps its own in `fd`. Both ends
 * are close-on-exec, so an exec'd child keeps the pipe only through the stdin/stdout
 * redirection.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "process/msgqueue.h"
#include "process/process_int.h"
#include "process/process_obj.h"
#include "swoole/error.h"

extern char **environ;

#define KNOWN_FLAGS \
    (SW_PROCESS_PIPE_STREAM | SW_PROCESS_PIPE_DGRAM | SW_PROCESS_REDIRECT | SW_PROCESS_NO_PDEATHSIG)

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

int sw_process_create(sw_process_t **out, sw_process_fn fn, void *arg, int flags)
{
    if (!out || (flags & ~KNOWN_FLAGS)) {
        return SW_EINVAL;
    }
    int stream = flags & SW_PROCESS_PIPE_STREAM, dgram = flags & SW_PROCESS_PIPE_DGRAM;
    if ((stream && dgram) || ((flags & SW_PROCESS_REDIRECT) && dgram)) {
        return SW_EINVAL;
    }
    if (flags & SW_PROCESS_REDIRECT) {
        stream = 1;
    }
    sw_process_t *p = sw__calloc(1, sizeof(*p));
    if (!p) {
        return SW_ENOMEM;
    }
    p->fn = fn;
    p->arg = arg;
    p->flags = flags;
    p->type = stream ? SOCK_STREAM : dgram ? SOCK_DGRAM : 0;
    p->fds[0] = p->fds[1] = p->fd = -1;
    p->queue.id = -1;
    if (p->type) {
        int r = SW_FAULT("socketpair", SW_EMFILE);
        if (r == 0 && socketpair(AF_UNIX, p->type | SOCK_CLOEXEC, 0, p->fds) != 0) {
            r = -errno;
        }
        if (r < 0) {
            sw__free(p);
            return r;
        }
        p->fd = p->fds[0];
    }
    *out = p;
    return 0;
}

static void free_strv(char **v)
{
    if (!v) {
        return;
    }
    for (char **s = v; *s; s++) {
        sw__free(*s);
    }
    sw__free(v);
}

/* Copies a NULL-terminated string vector; `*out` NULL for a NULL vector. */
static int copy_strv(char *const *v, char ***out)
{
    *out = NULL;
    if (!v) {
        return 0;
    }
    size_t n = 0;
    while (v[n]) {
        n++;
    }
    char **c = sw__calloc(n + 1, sizeof(char *));
    if (!c) {
        return SW_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        c[i] = sw__strdup(v[i]);
        if (!c[i]) {
            free_strv(c);
            return SW_ENOMEM;
        }
    }
    *out = c;
    return 0;
}

int sw_process_destroy(sw_process_t *p)
{
    if (!p) {
        return SW_EINVAL;
    }
    sw__process_signals_close(p);
    close_fd(&p->fds[0]);
    close_fd(&p->fds[1]);
    p->fd = -1;
    if (p->has_queue) {
        sw__msgqueue_close(&p->queue);
    }
    sw__free(p->exec_path);
    free_strv(p->exec_argv);
    free_strv(p->exec_envp);
    sw__free(p);
    return 0;
}

int sw_process_set_exec(sw_process_t *p, const char *path, char *const argv[], char *const envp[])
{
    if (!p || !path || p->started) {
        return SW_EINVAL;
    }
    char *cpath = sw__strdup(path);
    char **cargv = NULL, **cenvp = NULL;
    if (!cpath || copy_strv(argv, &cargv) < 0 || copy_strv(envp, &cenvp) < 0) {
        sw__free(cpath);
        free_strv(cargv);
        free_strv(cenvp);
        return SW_ENOMEM;
    }
    sw__free(p->exec_path);
    free_strv(p->exec_argv);
    free_strv(p->exec_envp);
    p->exec_path = cpath;
    p->exec_argv = cargv;
    p->exec_envp = cenvp;
    return 0;
}

/* In the child right after the fork: keep the child's end, redirect stdio. Async-signal-safe
 * calls only until the child's function runs. */
static void child_setup(sw_process_t *p)
{
    p->is_child = 1;
    p->pid = getpid();
    sw__process_signals_forget(p);
    if (p->type) {
        close_fd(&p->fds[0]);
        p->fd = p->fds[1];
        if (p->flags & SW_PROCESS_REDIRECT) {
            if (p->fd != 0) {
                (void)dup2(p->fd, 0);
            }
            if (p->fd != 1) {
                (void)dup2(p->fd, 1);
            }
            /* dup2 clears close-on-exec on the copies; an end that already was 0 or 1 keeps
             * its flag, so clear it explicitly. */
            (void)fcntl(0, F_SETFD, 0);
            (void)fcntl(1, F_SETFD, 0);
        }
    }
}

static int do_exec(const char *path, char *const argv[], char *const envp[])
{
    char *const def_argv[] = {(char *)path, NULL};
    execve(path, argv ? argv : def_argv, envp ? envp : environ);
    return -errno;
}

int sw_process_start(sw_process_t *p)
{
    if (!p || (!p->fn && !p->exec_path)) {
        return SW_EINVAL;
    }
    if (p->started) {
        return SW_EALREADY;
    }
    int ep[2] = {-1, -1};
    if (p->exec_path && pipe2(ep, O_CLOEXEC) != 0) {
        return -errno;
    }
    int pdeath = (p->flags & SW_PROCESS_NO_PDEATHSIG) ? 0 : SIGKILL;
    (void)sw__process_reset_sigchld();
    pid_t pid = sw__process_fork(pdeath);
    if (pid < 0) {
        close_fd(&ep[0]);
        close_fd(&ep[1]);
        return (int)pid;
    }
    if (pid == 0) {
        child_setup(p);
        if (p->exec_path) {
            close(ep[0]);
            int e = -do_exec(p->exec_path, p->exec_argv, p->exec_envp);
            ssize_t w;
            do {
                w = write(ep[1], &e, sizeof(e));
            } while (w < 0 && errno == EINTR);
            _exit(127);
        }
        sw__process_child_exit(p->fn(p, p->arg));
    }
    p->started = 1;
    p->pid = pid;
    if (p->type) {
        close_fd(&p->fds[1]);
        p->fd = p->fds[0];
    }
    if (!p->exec_path) {
        return (int)pid;
    }
    /* The exec status pipe: end of file means the exec happened (the child's end was closed
     * by it); an int is the errno of a failed exec. */
    close_fd(&ep[1]);
    int e = 0;
    ssize_t n;
    do {
        n = read(ep[0], &e, sizeof(e));
    } while (n < 0 && errno == EINTR);
    close_fd(&ep[0]);
    if (n == (ssize_t)sizeof(e)) {
        (void)sw_process_wait(pid, 1, NULL);
        p->pid = 0;
        if (e == ENOEXEC || e <= 0) {
            return SW_EINVAL;
        }
        return -e;
    }
    return (int)pid;
}

pid_t sw_process_pid(const sw_process_t *p)
{
    return p ? p->pid : 0;
}

void sw_process_set_data(sw_process_t *p, void *data)
{
    if (p) {
        p->data = data;
    }
}

void *sw_process_get_data(const sw_process_t *p)
{
    return p ? p->data : NULL;
}

int sw_process_pipe_fd(const sw_process_t *p)
{
    if (!p) {
        return SW_EINVAL;
    }
    return p->fd >= 0 ? p->fd : SW_EBADF;
}

int sw_process_set_blocking(sw_process_t *p, int blocking)
{
    if (!p) {
        return SW_EINVAL;
    }
    if (p->fd < 0) {
        return SW_EBADF;
    }
    int fl = fcntl(p->fd, F_GETFL);
    if (fl < 0) {
        return -errno;
    }
    fl = blocking ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK);
    if (fcntl(p->fd, F_SETFL, fl) != 0) {
        return -errno;
    }
    return 0;
}

ssize_t sw_process_write(sw_process_t *p, const void *data, size_t len)
{
    if (!p || (!data && len > 0)) {
        return SW_EINVAL;
    }
    if (p->fd < 0 || (p->shut & SW_PROCESS_CLOSE_WRITE)) {
        return SW_EBADF;
    }
    if (p->type == SOCK_DGRAM) {
        if (len > SW_PROCESS_DGRAM_MAX) {
            return SW_EMSGSIZE;
        }
        ssize_t n;
        do {
            n = send(p->fd, data, len, MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : n;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(p->fd, (const char *)data + off, len - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (off > 0) {
                break;
            }
            return -errno;
        }
        off += (size_t)n;
    }
    return (ssize_t)off;
}

ssize_t sw_process_read(sw_process_t *p, void *buf, size_t size)
{
    if (!p || !buf || size == 0) {
        return SW_EINVAL;
    }
    if (p->fd < 0 || (p->shut & SW_PROCESS_CLOSE_READ)) {
        return SW_EBADF;
    }
    int flags = p->type == SOCK_DGRAM ? MSG_TRUNC : 0;
    ssize_t n;
    do {
        n = recv(p->fd, buf, size, flags);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    if ((size_t)n > size) {
        return SW_EMSGSIZE;
    }
    return n;
}

int sw_process_close(sw_process_t *p, int how)
{
    if (!p || how < SW_PROCESS_CLOSE_READ || how > SW_PROCESS_CLOSE_BOTH) {
        return SW_EINVAL;
    }
    if (p->fd < 0) {
        return SW_EBADF;
    }
    if (how == SW_PROCESS_CLOSE_BOTH) {
        int fd = p->fd;
        if (p->fds[0] == fd) {
            p->fds[0] = -1;
        }
        if (p->fds[1] == fd) {
            p->fds[1] = -1;
        }
        close(fd);
        p->fd = -1;
        p->shut = SW_PROCESS_CLOSE_BOTH;
        return 0;
    }
    if (p->shut & (unsigned)how) {
        return 0;
    }
    if (shutdown(p->fd, how == SW_PROCESS_CLOSE_READ ? SHUT_RD : SHUT_WR) != 0) {
        return -errno;
    }
    p->shut |= (unsigned)how;
    return 0;
}

void sw_process_exit(sw_process_t *p, int code)
{
    (void)p;
    sw__process_child_exit(code);
}

int sw_process_exec(sw_process_t *p, const char *path, char *const argv[], char *const envp[])
{
    (void)p;
    if (!path) {
        return SW_EINVAL;
    }
    return do_exec(path, argv, envp);
}

/* ---- queue -------------------------------------------------------------------------------- */

int sw_process_use_queue(sw_process_t *p, int key, int mode)
{
    if (!p || (mode != SW_QUEUE_OWNED && mode != SW_QUEUE_SHARED) ||
        (mode == SW_QUEUE_SHARED && key == 0)) {
        return SW_EINVAL;
    }
    if (p->has_queue) {
        return SW_EALREADY;
    }
    int r = sw__msgqueue_open(&p->queue, key, mode == SW_QUEUE_OWNED);
    if (r < 0) {
        return r;
    }
    p->has_queue = 1;
    return 0;
}

int sw_process_queue_id(const sw_process_t *p)
{
    if (!p) {
        return SW_EINVAL;
    }
    return p->has_queue ? p->queue.id : SW_ENOENT;
}

int sw_process_push(sw_process_t *p, const void *data, size_t len, int flags)
{
    if (!p || (!data && len > 0) || (flags & ~SW_QUEUE_NOWAIT)) {
        return SW_EINVAL;
    }
    if (!p->has_queue) {
        return SW_ENOENT;
    }
    return sw__msgqueue_push(&p->queue, 1, data, len, flags & SW_QUEUE_NOWAIT);
}

ssize_t sw_process_pop(sw_process_t *p, void *buf, size_t size, int flags)
{
    if (!p || !buf || (flags & ~SW_QUEUE_NOWAIT)) {
        return SW_EINVAL;
    }
    if (!p->has_queue) {
        return SW_ENOENT;
    }
    return sw__msgqueue_pop(&p->queue, 0, buf, size, flags & SW_QUEUE_NOWAIT, NULL);
}

int sw_process_queue_stats(const sw_process_t *p, size_t *messages, size_t *bytes)
{
    if (!p) {
        return SW_EINVAL;
    }
    if (!p->has_queue) {
        return SW_ENOENT;
    }
    return sw__msgqueue_stats(&p->queue, messages, bytes);
}
