/*
 * Ports: the listening (stream) and bound (datagram) sockets of a server, their addresses and
 * their options.
 *
 * A port's socket is created, bound and (stream types) listening in sw_server_listen, in the
 * calling process, so that a port 0 is known at once and address errors come back from that
 * call. BASE workers inherit the socket across fork and all accept on it. With
 * enable_reuse_port, a TCP port instead gets, at start, a socket that is bound with
 * SO_REUSEPORT but does not listen (it only keeps the port number), and every worker opens its
 * own SO_REUSEPORT listening socket on that address: the kernel then spreads connections over
 * the workers. The master's first socket has to be closed and replaced for that (its bind did
 * not carry SO_REUSEPORT, since enable_reuse_port may be set after sw_server_listen): between
 * the two, another program could take the port, which start then reports as SW_EADDRINUSE.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "server/server_int.h"
#include "swoole/error.h"

static int sock_kind(sw_sock_type_t t, int *family, bool *stream)
{
    switch (t) {
    case SW_SOCK_TCP:
        *family = AF_INET;
        *stream = true;
        return 0;
    case SW_SOCK_UDP:
        *family = AF_INET;
        *stream = false;
        return 0;
    case SW_SOCK_TCP6:
        *family = AF_INET6;
        *stream = true;
        return 0;
    case SW_SOCK_UDP6:
        *family = AF_INET6;
        *stream = false;
        return 0;
    case SW_SOCK_UNIX_STREAM:
        *family = AF_UNIX;
        *stream = true;
        return 0;
    case SW_SOCK_UNIX_DGRAM:
        *family = AF_UNIX;
        *stream = false;
        return 0;
    }
    return SW_EINVAL;
}

static int make_addr(sw_port_t *p, const char *host, int port)
{
    memset(&p->addr, 0, sizeof(p->addr));
    if (p->family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&p->addr;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
            return SW_EINVAL;
        }
        p->addrlen = sizeof(*a);
    } else if (p->family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&p->addr;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) {
            return SW_EINVAL;
        }
        p->addrlen = sizeof(*a);
    } else {
        struct sockaddr_un *a = (struct sockaddr_un *)&p->addr;
        size_t len = strlen(host);
        if (len == 0 || len >= sizeof(a->sun_path)) {
            return SW_EINVAL;
        }
        a->sun_family = AF_UNIX;
        memcpy(a->sun_path, host, len + 1);
        p->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    }
    return 0;
}

/* A socket of the port's family and type, bound to its address. `reuseport` adds
 * SO_REUSEPORT; `do_listen` makes a stream socket listen. Returns the fd or a negative code. */
static int open_bound(const sw_port_t *p, const struct sockaddr *addr, socklen_t addrlen,
                      bool reuseport, bool do_listen, int backlog)
{
    int fd =
        socket(p->family, (p->stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int one = 1;
    if (p->family != AF_UNIX) {
        if (p->stream) {
            (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        }
        if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
            int e = -errno;
            close(fd);
            return e;
        }
    }
    if (bind(fd, addr, addrlen) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    if (do_listen && p->stream && listen(fd, backlog) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

/* Removes a stale socket file at the path (only a socket: never a regular file). */
static void unlink_stale_socket(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        (void)unlink(path);
    }
}

int sw__port_create(sw_server_t *srv, const char *host, int port, sw_sock_type_t type,
                    sw_port_t **out)
{
    int family;
    bool stream;
    if (sock_kind(type, &family, &stream) < 0 || port < 0 || port > 65535) {
        return SW_EINVAL;
    }
    sw_port_t *p = sw__calloc(1, sizeof(*p));
    if (!p) {
        return SW_ENOMEM;
    }
    p->srv = srv;
    p->type = type;
    p->family = family;
    p->stream = stream;
    p->fd = -1;
    p->own = srv->o.port;
    int r = make_addr(p, host, port);
    if (r < 0) {
        sw__free(p);
        return r;
    }
    if (family == AF_UNIX) {
        p->unix_path = sw__strdup(host);
        if (!p->unix_path) {
            sw__free(p);
            return SW_ENOMEM;
        }
        unlink_stale_socket(host);
    }
    r = SW_FAULT("socket", SW_EMFILE);
    if (r == 0) {
        r = open_bound(p, (struct sockaddr *)&p->addr, p->addrlen, false, true,
                       srv->o.port.backlog);
    }
    if (r < 0) {
        if (p->unix_path) {
            sw__free(p->unix_path);
        }
        sw__free(p);
        return r;
    }
    p->fd = r;
    socklen_t len = sizeof(p->addr);
    if (getsockname(p->fd, (struct sockaddr *)&p->addr, &len) == 0 && family != AF_UNIX) {
        p->addrlen = len;
    }
    if (family == AF_INET) {
        p->port = ntohs(((struct sockaddr_in *)&p->addr)->sin_port);
    } else if (family == AF_INET6) {
        p->port = ntohs(((struct sockaddr_in6 *)&p->addr)->sin6_port);
    }
    *out = p;
    return 0;
}

void sw__port_destroy(sw_port_t *p)
{
    if (!p) {
        return;
    }
    if (p->fd >= 0) {
        close(p->fd);
    }
    if (p->unix_path) {
        unlink_stale_socket(p->unix_path);
        sw__free(p->unix_path);
    }
    sw__free(p);
}

int sw__port_resolve(sw_port_t *p)
{
    sw_server_t *srv = p->srv;
    sw__port_options_merge(&p->eff, &srv->o.port, &p->own, p->own_mask);
    p->eff.protocol = p->own_protocol ? p->own.protocol : srv->o.port.protocol;
    int r = sw__options_check_port(&p->eff);
    if (r < 0) {
        return r;
    }
    p->high_watermark = p->eff.buffer_high_watermark ? p->eff.buffer_high_watermark
                                                     : p->eff.socket_buffer_size / 5 * 4;
    p->low_watermark = p->eff.buffer_low_watermark;
    return 0;
}

int sw__port_prepare(sw_port_t *p, bool reuseport)
{
    bool inet_stream = p->stream && p->family != AF_UNIX;
    if (reuseport && inet_stream) {
        close(p->fd);
        p->fd = -1;
        int fd = open_bound(p, (struct sockaddr *)&p->addr, p->addrlen, true, false, 0);
        if (fd < 0) {
            return fd;
        }
        p->fd = fd;
        return 0;
    }
    if (p->stream && listen(p->fd, p->eff.backlog) < 0) {
        return -errno;
    }
    if (inet_stream && p->eff.tcp_defer_accept > 0) {
        int v = p->eff.tcp_defer_accept;
        (void)setsockopt(p->fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, sizeof(v));
    }
    return 0;
}

int sw__port_open_reuseport(const sw_port_t *p)
{
    int fd =
        open_bound(p, (const struct sockaddr *)&p->addr, p->addrlen, true, true, p->eff.backlog);
    if (fd >= 0 && p->eff.tcp_defer_accept > 0) {
        int v = p->eff.tcp_defer_accept;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, sizeof(v));
    }
    return fd;
}

void sw__port_setup_conn(const sw_port_t *p, int fd)
{
    const sw_port_options_t *o = &p->eff;
    if (p->family != AF_UNIX) {
        int one = 1;
        if (o->open_tcp_nodelay) {
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        if (o->open_tcp_keepalive) {
            (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
            (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &o->tcp_keepidle, sizeof(int));
            (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &o->tcp_keepinterval, sizeof(int));
            (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &o->tcp_keepcount, sizeof(int));
        }
    }
    if (o->kernel_socket_recv_buffer_size > 0) {
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o->kernel_socket_recv_buffer_size,
                         sizeof(int));
    }
    if (o->kernel_socket_send_buffer_size > 0) {
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &o->kernel_socket_send_buffer_size,
                         sizeof(int));
    }
}

/* ---- public -------------------------------------------------------------------------------- */

int sw_port_set_option(sw_port_t *port, const char *name, const char *value)
{
    if (!port || !name || !value) {
        return SW_EINVAL;
    }
    if (atomic_load(&port->srv->state) != SW__S_CREATED) {
        return SW_ESERVER_STATE;
    }
    return sw__port_options_set(port, name, value);
}

int sw_port_set_options(sw_port_t *port, const sw_port_options_t *opts)
{
    if (!port || !opts) {
        return SW_EINVAL;
    }
    if (atomic_load(&port->srv->state) != SW__S_CREATED) {
        return SW_ESERVER_STATE;
    }
    int r = sw__options_check_port(opts);
    if (r < 0) {
        return r;
    }
    port->own = *opts;
    port->own_mask = sw__port_options_all_mask();
    port->own_protocol = true;
    return 0;
}

int sw_port_get_options(const sw_port_t *port, sw_port_options_t *opts)
{
    if (!port || !opts) {
        return SW_EINVAL;
    }
    sw__port_options_merge(opts, &port->srv->o.port, &port->own, port->own_mask);
    opts->protocol = port->own_protocol ? port->own.protocol : port->srv->o.port.protocol;
    return 0;
}

int sw_port_number(const sw_port_t *port)
{
    return port ? port->port : SW_EINVAL;
}

int sw_port_type(const sw_port_t *port)
{
    return port ? (int)port->type : SW_EINVAL;
}

int sw_port_fd(const sw_port_t *port)
{
    return port ? port->fd : SW_EINVAL;
}
