/*
 * IPC benchmark (issue 5, item 14): the server's message bus between a "reactor" process and
 * a "worker" process over one socketpair, each on its own loop and (with --cpus) its own core.
 *
 *   bench_ipc [--n N] [--size BYTES] [--mode rtt|oneway] [--kind socket|memory]
 *             [--cpus R,W] [--no-cork]
 *
 *   rtt     the reactor sends N messages of SIZE bytes as fast as its queue allows; the
 *           worker echoes each one back from its callback; the clock stops when the last
 *           echo is back (Swoole's figure to beat: 1M 1 KiB messages one way in 1.02 s).
 *   oneway  the worker only counts; the clock stops when it has all N (it reports back one
 *           message at the end).
 *
 * kind memory runs the worker as a thread over the in-memory channel (THREAD mode).
 * Prints wall time, messages/s, MB/s, the CPU time of both sides, and datagrams per message.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "swoole/loop.h"

typedef struct {
    size_t n, size;
    int rtt, memory, cork;
    int cpu_r, cpu_w;
} cfg_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void pin(int cpu)
{
    if (cpu < 0) {
        return;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        perror("sched_setaffinity");
    }
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_ipc: %s: %s\n", what, sw_strerror(rc));
    exit(1);
}

/* ---- worker ------------------------------------------------------------------------------- */

typedef struct {
    const cfg_t *cfg;
    sw_loop_t *loop;
    sw_ipc_endpoint_t *ep;
    size_t got;
    double cpu;
} worker_t;

static void worker_cb(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *hdr, const void *data,
                      size_t len, void *arg)
{
    worker_t *w = arg;
    if (hdr->type == SW_IPC_SHUTDOWN) {
        sw__ipc_flush(ep, 10000);
        sw__ipc_endpoint_destroy(ep);
        w->ep = NULL;
        return;
    }
    w->got++;
    if (w->cfg->rtt) {
        sw_ipc_header_t h = *hdr;
        h.type = SW_IPC_SEND;
        int rc;
        while ((rc = sw__ipc_send(ep, &h, data, len)) == SW_EAGAIN) {
            sw__ipc_flush(ep, 10000); /* the reactor reads continuously: short */
        }
        if (rc) {
            die("worker send", rc);
        }
    } else if (w->got == w->cfg->n) {
        sw_ipc_header_t h = {.type = SW_IPC_FINISH};
        sw__ipc_send(ep, &h, NULL, 0);
    }
}

static void *worker_main(void *p)
{
    worker_t *w = p;
    pin(w->cfg->cpu_w);
    double c0 = w->cfg->memory ? 0 : cpu_s(RUSAGE_SELF);
    sw_loop_run(w->loop, SW_RUN_DEFAULT);
    w->cpu = w->cfg->memory ? 0 : cpu_s(RUSAGE_SELF) - c0;
    return NULL;
}

static void worker_setup(worker_t *w, const cfg_t *cfg, sw_ipc_channel_t *ch)
{
    memset(w, 0, sizeof(*w));
    w->cfg = cfg;
    int rc = sw_loop_create(&w->loop, NULL);
    if (rc) {
        die("loop", rc);
    }
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.sender_id = 1;
    o.on_message = worker_cb;
    o.arg = w;
    o.max_message = cfg->size + 64;
    o.auto_cork = cfg->cork ? -1 : 0;
    o.recv_batch = 32;
    rc = sw__ipc_endpoint_create(&w->ep, ch, 1, w->loop, &o);
    if (rc) {
        die("worker endpoint", rc);
    }
}

/* ---- reactor ------------------------------------------------------------------------------ */

typedef struct {
    const cfg_t *cfg;
    sw_ipc_endpoint_t *ep;
    unsigned char *buf;
    size_t sent, back;
    int finished;
} reactor_t;

static void pump(reactor_t *r)
{
    while (r->sent < r->cfg->n) {
        sw_ipc_header_t h = {.type = SW_IPC_DATA, .session = r->sent};
        memcpy(r->buf, &r->sent, sizeof(r->sent));
        int rc = sw__ipc_send(r->ep, &h, r->buf, r->cfg->size);
        if (rc == SW_EAGAIN) {
            return; /* on_drained resumes */
        }
        if (rc) {
            die("reactor send", rc);
        }
        r->sent++;
    }
}

static void reactor_drained(sw_ipc_endpoint_t *ep, size_t queued, void *arg)
{
    (void)ep;
    (void)queued;
    pump(arg);
}

static void reactor_cb(sw_ipc_endpoint_t *ep, const sw_ipc_header_t *hdr, const void *data,
                       size_t len, void *arg)
{
    (void)ep;
    (void)data;
    (void)len;
    reactor_t *r = arg;
    if (hdr->type == SW_IPC_FINISH) {
        r->finished = 1;
        return;
    }
    if (hdr->session != r->back) {
        fprintf(stderr, "bench_ipc: echo %zu out of order (got %llu)\n", r->back,
                (unsigned long long)hdr->session);
        exit(1);
    }
    r->back++;
}

static void parse(cfg_t *c, int argc, char **argv)
{
    c->n = 1000000;
    c->size = 1024;
    c->rtt = 1;
    c->cork = 1;
    c->cpu_r = c->cpu_w = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--n")) {
            c->n = strtoull(v, NULL, 10), i++;
        } else if (!strcmp(a, "--size")) {
            c->size = strtoull(v, NULL, 10), i++;
        } else if (!strcmp(a, "--mode")) {
            c->rtt = strcmp(v, "oneway") != 0, i++;
        } else if (!strcmp(a, "--kind")) {
            c->memory = !strcmp(v, "memory"), i++;
        } else if (!strcmp(a, "--cpus")) {
            if (sscanf(v, "%d,%d", &c->cpu_r, &c->cpu_w) != 2) {
                c->cpu_r = c->cpu_w = -1;
            }
            i++;
        } else if (!strcmp(a, "--no-cork")) {
            c->cork = 0;
        } else {
            fprintf(stderr, "usage: bench_ipc [--n N] [--size BYTES] [--mode rtt|oneway] "
                            "[--kind socket|memory] [--cpus R,W] [--no-cork]\n");
            exit(2);
        }
    }
    if (c->size < 8) {
        c->size = 8;
    }
}

int main(int argc, char **argv)
{
    cfg_t cfg;
    parse(&cfg, argc, argv);
    sw_ipc_channel_options_t co;
    sw__ipc_channel_options_init(&co);
    co.kind = cfg.memory ? SW_IPC_MEMORY : SW_IPC_SOCKET;
    sw_ipc_channel_t *ch;
    int rc = sw__ipc_channel_create(&ch, &co);
    if (rc) {
        die("channel", rc);
    }

    worker_t w;
    pid_t pid = -1;
    pthread_t th;
    if (!cfg.memory) {
        pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            sw__ipc_channel_close_side(ch, 0);
            worker_setup(&w, &cfg, ch);
            worker_main(&w);
            printf("  worker: %zu messages, cpu %.3f s\n", w.got, w.cpu);
            fflush(stdout);
            sw_loop_destroy(w.loop);
            sw__ipc_channel_destroy(ch);
            _exit(0);
        }
        sw__ipc_channel_close_side(ch, 1);
    } else {
        worker_setup(&w, &cfg, ch);
    }

    pin(cfg.cpu_r);
    sw_loop_t *loop;
    if ((rc = sw_loop_create(&loop, NULL))) {
        die("loop", rc);
    }
    reactor_t r = {.cfg = &cfg};
    r.buf = calloc(1, cfg.size);
    sw_ipc_endpoint_options_t o;
    sw__ipc_endpoint_options_init(&o);
    o.sender_id = 0;
    o.on_message = reactor_cb;
    o.on_drained = reactor_drained;
    o.arg = &r;
    o.max_message = cfg.size + 64;
    o.queue_max = 8 << 20;
    o.auto_cork = cfg.cork ? -1 : 0;
    o.recv_batch = 32;
    if ((rc = sw__ipc_endpoint_create(&r.ep, ch, 0, loop, &o))) {
        die("reactor endpoint", rc);
    }
    if (cfg.memory && (rc = pthread_create(&th, NULL, worker_main, &w)) != 0) {
        die("thread", -rc);
    }
    /* Let the worker reach its loop before the clock starts. */
    usleep(100000);
    double c0 = cpu_s(RUSAGE_SELF), t0 = now_s();
    pump(&r);
    while (cfg.rtt ? r.back < cfg.n : !r.finished) {
        if (sw_loop_run(loop, SW_RUN_ONCE) < 0) {
            break;
        }
    }
    double t = now_s() - t0, cpu = cpu_s(RUSAGE_SELF) - c0;
    sw_ipc_stats_t st;
    sw__ipc_stats(r.ep, &st);

    sw_ipc_header_t h = {.type = SW_IPC_SHUTDOWN};
    sw__ipc_send(r.ep, &h, NULL, 0);
    sw__ipc_flush(r.ep, 10000);
    double mb = (double)cfg.n * (double)cfg.size / 1e6 * (cfg.rtt ? 2 : 1);
    printf("%s %s %zu x %zu B (%s): %.3f s, %.2f M msg/s, %.0f MB/s, reactor cpu %.3f s%s, "
           "datagrams/msg out %.4f in %.4f\n",
           cfg.memory ? "memory" : "socket", cfg.rtt ? "round-trip" : "one-way", cfg.n, cfg.size,
           cfg.cork ? "auto-cork" : "no cork", t, (double)cfg.n / t / 1e6, mb / t, cpu,
           cfg.memory ? " (both threads)" : "", (double)st.sent_datagrams / (double)cfg.n,
           (double)st.recv_datagrams / (double)(cfg.rtt ? cfg.n : 1));
    fflush(stdout);
    if (cfg.memory) {
        pthread_join(th, NULL);
        sw_loop_destroy(w.loop);
    } else {
        int status;
        waitpid(pid, &status, 0);
    }
    sw__ipc_endpoint_destroy(r.ep);
    sw_loop_destroy(loop);
    sw__ipc_channel_destroy(ch);
    free(r.buf);
    return 0;
}
