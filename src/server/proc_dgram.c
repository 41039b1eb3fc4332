/*
 * Datagram ports (UDP, Unix datagram) in PROCESS and THREAD mode.
 *
 * Reactor thread (port index % reactor_num) reads the port's socket (the one made by
 * sw_server_listen) and sends each datagram, with the sender's address, to a worker as an
 * SW_IPC_DGRAM message; the worker runs on_packet. Worker choice: dispatch modes 1 and 3 as
 * for stream messages (round-robin / first idle worker); modes 2, 4, 5: a hash of the sender's
 * address (FNV-1a over it), so one client's datagrams reach one worker, in order. The user
 * dispatch function is not asked about datagrams (it is about sessions).
 *
 * A worker answers with sw_server_sendto, which writes to the port's socket directly (every
 * worker process inherits it; THREAD workers share it): no trip back through the reactor.
 *
 *   message   header: type SW_IPC_DGRAM, session 0, ext = port index
 *             payload: [u16 address length][the address][the datagram]
 *
 * Backpressure: a datagram that the worker's queue refuses at its hard cap is dropped
 * (counted in the log at NOTICE); a datagram port is never paused (UDP has no flow control:
 * the kernel drops what the socket buffer cannot hold).
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

#include "core/alloc.h"
#include "core/log_int.h"
#include "server/proc_int.h"
#include "swoole/error.h"

static int addr_worker(sw__rthread_t *rt, const struct sockaddr *addr, socklen_t len)
{
    sw_server_t *srv = rt->srv;
    int nw = rt->pr->nw;
    int mode = srv->o.dispatch_mode;
    if (mode == 1 || mode == 3) {
        if (mode == 3) {
            for (int i = 0; i < nw; i++) {
                int w = (int)((rt->rr + (unsigned)i) % (unsigned)nw);
                if (!atomic_load(&srv->shm_workers[w].busy)) {
                    rt->rr = (unsigned)w + 1;
                    return w;
                }
            }
        }
        return (int)(rt->rr++ % (unsigned)nw);
    }
    uint32_t h = 2166136261u; /* FNV-1a */
    const unsigned char *b = (const unsigned char *)addr;
    for (socklen_t i = 0; i < len; i++) {
        h = (h ^ b[i]) * 16777619u;
    }
    return (int)((h & 0x7fffffff) % (uint32_t)nw);
}

static void dgram_read_cb(sw_io_t *io, int events, void *arg)
{
    (void)events;
    sw__rthread_t *rt = arg;
    sw_server_t *srv = rt->srv;
    int idx = (int)(io - rt->dio);
    sw_port_t *port = srv->ports[idx];
    for (int i = 0; i < SW__DGRAM_BATCH; i++) {
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof(from);
        ssize_t n = recvfrom(port->fd, rt->dbuf, SW__DGRAM_MAX, MSG_DONTWAIT,
                             (struct sockaddr *)&from, &fromlen);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                SW_LOG_NOTICE(srv->log, "port %d: recvfrom: %s", idx, sw_strerror(-errno));
            }
            break;
        }
        atomic_fetch_add(&srv->shm->recv_bytes, (uint64_t)n);
        if (from.ss_family == AF_UNIX && fromlen <= sizeof(sa_family_t)) {
            fromlen = 0; /* an unbound Unix datagram sender: no address to answer to */
        }
        if (fromlen > sizeof(from)) {
            fromlen = sizeof(from);
        }
        int w = addr_worker(rt, (const struct sockaddr *)&from, fromlen);
        uint16_t al = (uint16_t)fromlen;
        sw_ipc_header_t h = {.type = SW_IPC_DGRAM,
                             .reactor_id = (uint16_t)rt->id,
                             .worker_id = (uint16_t)w,
                             .ext = (uint32_t)idx};
        struct iovec iov[3] = {{.iov_base = &al, .iov_len = 2},
                               {.iov_base = &from, .iov_len = fromlen},
                               {.iov_base = rt->dbuf, .iov_len = (size_t)n}};
        int rc = sw__ipc_sendv(rt->ep[w], &h, iov, 3);
        if (rc < 0) {
            SW_LOG_NOTICE(srv->log, "port %d: datagram for worker %d dropped: %s", idx, w,
                          sw_strerror(rc));
        }
    }
}

int sw__dgram_reactor_start(sw__rthread_t *rt)
{
    sw_server_t *srv = rt->srv;
    rt->dio = sw__calloc((size_t)srv->nports, sizeof(*rt->dio));
    if (!rt->dio) {
        return SW_ENOMEM;
    }
    for (int i = 0; i < srv->nports; i++) {
        sw_port_t *p = srv->ports[i];
        if (p->stream || i % rt->pr->nr != rt->id) {
            continue;
        }
        if (!rt->dbuf) {
            rt->dbuf = sw__malloc(SW__DGRAM_MAX);
            if (!rt->dbuf) {
                return SW_ENOMEM;
            }
        }
        int rc = sw_io_init(rt->loop, &rt->dio[i], p->fd, dgram_read_cb, rt);
        if (rc == 0) {
            rc = sw_io_start(&rt->dio[i], SW_EVENT_READ);
        }
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

void sw__dgram_reactor_stop(sw__rthread_t *rt)
{
    sw_server_t *srv = rt->srv;
    for (int i = 0; rt->dio && i < srv->nports; i++) {
        if (rt->dio[i].loop) {
            (void)sw_io_stop(&rt->dio[i]);
        }
    }
}

void sw__dgram_reactor_free(sw__rthread_t *rt)
{
    sw__dgram_reactor_stop(rt);
    sw__free(rt->dio);
    rt->dio = NULL;
    sw__free(rt->dbuf);
    rt->dbuf = NULL;
}

void sw__dgram_deliver(sw__worker_t *w, const sw_ipc_header_t *h, const void *data, size_t len)
{
    sw_server_t *srv = w->srv;
    uint16_t al;
    if (len < 2 || h->ext >= (uint32_t)srv->nports) {
        SW_LOG_WARNING(srv->log, "worker %d: malformed datagram message", w->id);
        return;
    }
    memcpy(&al, data, 2);
    if ((size_t)al + 2 > len || al > sizeof(struct sockaddr_storage)) {
        SW_LOG_WARNING(srv->log, "worker %d: malformed datagram message", w->id);
        return;
    }
    struct sockaddr_storage from;
    memset(&from, 0, sizeof(from));
    memcpy(&from, (const char *)data + 2, al);
    atomic_fetch_add(&srv->shm->request_count, 1);
    atomic_fetch_add(&srv->shm_workers[w->id].request_count, 1);
    if (srv->h.on_packet) {
        sw_packet_t pkt = {.port = srv->ports[h->ext],
                           .data = (const char *)data + 2 + al,
                           .len = len - 2 - al,
                           .addr = (const struct sockaddr *)&from,
                           .addrlen = al,
                           .worker_id = w->id};
        srv->h.on_packet(srv, &pkt, srv->arg);
    }
    w->requests++;
    if (w->max_request && w->requests >= w->max_request) {
        sw__proc_worker_stop(srv, w, "max_request");
    }
}
