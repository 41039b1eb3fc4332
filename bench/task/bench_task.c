/*
 * bench_task: task workers and worker messages (issue 6 item 11).
 *
 *     bench_task [--mode base|process] [--ipc 1|2|3] [--n N] [--what all|wait|async|msg]
 *
 * One event worker and one task worker (plus a loopback port nobody connects to: a server
 * needs one). Everything is driven from the event worker, in on_worker_start:
 *
 *   wait   N sw_server_taskwait calls with a 1-byte task and an on_task that answers with an
 *          empty result; each call timed with CLOCK_MONOTONIC: median, p90, p99 (the round
 *          trip: worker -> task worker -> worker, two process switches).
 *   async  N sw_server_task calls, at most 128 in flight (a new one from each on_finish),
 *          timed from the first send to the last on_finish: tasks/s.
 *   msg    N sw_server_send_message calls of 1 KiB to the task worker, at most 1024 not
 *          acknowledged (the task worker acknowledges every 64th with a small message):
 *          messages/s and MB/s.
 *
 * Prints one line per measurement and shuts the server down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <swoole.h>

static int g_n = 100000;
static const char *g_what = "all";
static const char *g_label = "";

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- task worker -------------------------------------------------------------------------- */

static void on_task(sw_server_t *srv, uint64_t id, int src, const void *data, size_t len, void *arg)
{
    (void)id;
    (void)src;
    (void)data;
    (void)len;
    (void)arg;
    (void)sw_server_task_finish(srv, NULL, 0);
}

static uint64_t g_msgs_in;

static void on_pipe_message(sw_server_t *srv, int src, const void *data, size_t len, void *arg);

/* ---- event worker ------------------------------------------------------------------------- */

static int g_async_sent, g_async_done;
static uint64_t g_t0;
static int g_msg_sent;
static uint64_t g_msg_acked;
static char g_kib[1024];

static void run_msg(sw_server_t *srv);

static void finish_all(sw_server_t *srv)
{
    sw_server_shutdown(srv);
}

static void on_finish(sw_server_t *srv, uint64_t id, const void *data, size_t len, void *arg)
{
    (void)id;
    (void)data;
    (void)len;
    (void)arg;
    g_async_done++;
    if (g_async_sent < g_n) {
        if (sw_server_task(srv, "x", 1, -1, NULL) == 0) {
            g_async_sent++;
        }
    }
    if (g_async_done == g_n) {
        double s = (double)(now_ns() - g_t0) / 1e9;
        printf("%sasync   %d tasks in %.3f s: %.0f tasks/s\n", g_label, g_n, s, g_n / s);
        fflush(stdout);
        if (!strcmp(g_what, "all")) {
            run_msg(srv);
        } else {
            finish_all(srv);
        }
    }
}

static void send_msgs(sw_server_t *srv)
{
    while (g_msg_sent < g_n && (uint64_t)g_msg_sent - g_msg_acked < 1024) {
        if (sw_server_send_message(srv, 1, g_kib, sizeof(g_kib)) < 0) {
            break;
        }
        g_msg_sent++;
    }
}

static void on_pipe_message(sw_server_t *srv, int src, const void *data, size_t len, void *arg)
{
    (void)arg;
    if (sw_server_worker_id(srv) == 1) {
        /* task worker: acknowledge every 64th and the last */
        g_msgs_in++;
        if (g_msgs_in % 64 == 0 || g_msgs_in == (uint64_t)g_n) {
            (void)sw_server_send_message(srv, src, &g_msgs_in, sizeof(g_msgs_in));
        }
        return;
    }
    (void)len;
    memcpy(&g_msg_acked, data, sizeof(g_msg_acked));
    if (g_msg_acked == (uint64_t)g_n) {
        double s = (double)(now_ns() - g_t0) / 1e9;
        printf("%smsg     %d x 1 KiB in %.3f s: %.0f msgs/s, %.1f MB/s\n", g_label, g_n, s, g_n / s,
               g_n * 1024.0 / s / 1e6);
        fflush(stdout);
        finish_all(srv);
        return;
    }
    send_msgs(srv);
}

static void run_msg(sw_server_t *srv)
{
    memset(g_kib, 'm', sizeof(g_kib));
    g_t0 = now_ns();
    send_msgs(srv);
}

static void run_async(sw_server_t *srv)
{
    g_t0 = now_ns();
    while (g_async_sent < g_n && g_async_sent < 128) {
        if (sw_server_task(srv, "x", 1, -1, NULL) < 0) {
            break;
        }
        g_async_sent++;
    }
}

static void run_wait(sw_server_t *srv)
{
    uint64_t *lat = malloc(sizeof(uint64_t) * (size_t)g_n);
    int fails = 0;
    /* warm-up */
    for (int i = 0; i < 1000; i++) {
        void *res = NULL;
        (void)sw_server_taskwait(srv, "x", 1, 1000, -1, &res, NULL);
        sw_server_task_free(res);
    }
    uint64_t t0 = now_ns();
    for (int i = 0; i < g_n; i++) {
        void *res = NULL;
        uint64_t a = now_ns();
        if (sw_server_taskwait(srv, "x", 1, 1000, -1, &res, NULL) < 0) {
            fails++;
        }
        lat[i] = now_ns() - a;
        sw_server_task_free(res);
    }
    double total = (double)(now_ns() - t0) / 1e9;
    qsort(lat, (size_t)g_n, sizeof(uint64_t), cmp_u64);
    printf("%staskwait %d calls in %.3f s: median %.2f us, p90 %.2f us, p99 %.2f us "
           "(%d failed)\n",
           g_label, g_n, total, lat[g_n / 2] / 1e3, lat[g_n * 9 / 10] / 1e3,
           lat[g_n * 99 / 100] / 1e3, fails);
    fflush(stdout);
    free(lat);
}

static void on_worker_start(sw_server_t *srv, int id, void *arg)
{
    (void)arg;
    if (id != 0) {
        return;
    }
    if (!strcmp(g_what, "all") || !strcmp(g_what, "wait")) {
        run_wait(srv);
    }
    if (!strcmp(g_what, "all") || !strcmp(g_what, "async")) {
        run_async(srv);
    } else if (!strcmp(g_what, "msg")) {
        run_msg(srv);
    } else {
        finish_all(srv);
    }
}

int main(int argc, char **argv)
{
    const char *mode = "base", *ipc = "1";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--mode")) {
            mode = argv[i + 1];
        } else if (!strcmp(argv[i], "--ipc")) {
            ipc = argv[i + 1];
        } else if (!strcmp(argv[i], "--n")) {
            g_n = atoi(argv[i + 1]);
        } else if (!strcmp(argv[i], "--what")) {
            g_what = argv[i + 1];
        } else {
            fprintf(stderr,
                    "usage: %s [--mode base|process] [--ipc 1|2|3] [--n N] "
                    "[--what all|wait|async|msg]\n",
                    argv[0]);
            return 2;
        }
    }
    if (g_n < 100) {
        g_n = 100;
    }
    static char label[64];
    snprintf(label, sizeof(label), "[%s ipc=%s] ", mode, ipc);
    g_label = label;
    sw_server_t *srv;
    int r = sw_server_create(&srv, strcmp(mode, "process") ? SW_MODE_BASE : SW_MODE_PROCESS);
    if (r == 0) {
        (void)sw_server_set_option(srv, "worker_num", "1");
        (void)sw_server_set_option(srv, "reactor_num", "1");
        (void)sw_server_set_option(srv, "task_worker_num", "1");
        r = sw_server_set_option(srv, "task_ipc_mode", ipc);
    }
    if (r == 0) {
        r = sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP, NULL);
    }
    if (r < 0) {
        fprintf(stderr, "bench_task: %s\n", sw_strerror(r));
        return 1;
    }
    sw_server_handlers_t h = {.on_worker_start = on_worker_start,
                              .on_task = on_task,
                              .on_finish = on_finish,
                              .on_pipe_message = on_pipe_message};
    sw_server_set_handlers(srv, &h, NULL);
    r = sw_server_start(srv);
    sw_server_destroy(srv);
    return r < 0 ? 1 : 0;
}
