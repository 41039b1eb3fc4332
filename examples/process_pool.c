/*
 * process_pool: a pool of worker processes fed with jobs through a System V message queue.
 *
 *     process_pool [--workers N] [--jobs N] [--interval MS]
 *
 * The master submits one job every MS milliseconds (default 100) to a pool of N workers
 * (default 4). A job is a number n; the worker that takes it counts the primes below n and
 * prints one line with its worker id and pid. After --jobs jobs (default 20; 0: no limit) the
 * master waits until the queue is empty and shuts the pool down; SIGINT or SIGTERM shuts it
 * down at any time. A worker that is in the middle of a job finishes it first (the pool's job
 * loop blocks SIGTERM while a job runs); idle workers end at once. Then the master prints a
 * summary and exits with status 0.
 *
 * Try `kill -9` on a worker (`ps -o pid,args` shows them as "process_pool: worker N"): the
 * master reports it and starts a new one with the same id. `kill -USR1 <master>` reloads
 * every worker.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <unistd.h>

#include <swoole.h>

typedef struct {
    sw_loop_t *loop;
    sw_pool_t *pool;
    sw_process_title_t title;
    long next_job;
    long max_jobs;
    int draining;
    uint64_t tick;
    int spawned;
    int died;
} app_t;

static long count_primes_below(long n)
{
    long count = 0;
    for (long i = 2; i < n; i++) {
        int prime = 1;
        for (long d = 2; d * d <= i; d++) {
            if (i % d == 0) {
                prime = 0;
                break;
            }
        }
        count += prime;
    }
    return count;
}

/* ---- worker side ------------------------------------------------------------------------ */

static void on_worker_start(sw_pool_t *pool, int worker_id, void *arg)
{
    (void)pool;
    app_t *app = arg;
    char name[64];
    snprintf(name, sizeof(name), "process_pool: worker %d", worker_id);
    sw_process_set_name(&app->title, name);
}

static void on_job(sw_pool_t *pool, int worker_id, const void *data, size_t len, void *arg)
{
    (void)pool;
    (void)arg;
    char text[32];
    size_t n = len < sizeof(text) - 1 ? len : sizeof(text) - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    long limit = atol(text);
    long primes = count_primes_below(limit);
    char line[128];
    int l = snprintf(line, sizeof(line), "worker %d (pid %d): %ld primes below %ld\n", worker_id,
                     (int)getpid(), primes, limit);
    /* One write per line, so lines of different workers never interleave. */
    ssize_t w = write(STDOUT_FILENO, line, (size_t)l);
    (void)w;
}

/* ---- master side ------------------------------------------------------------------------ */

static void on_spawn(sw_pool_t *pool, int worker_id, pid_t pid, void *arg)
{
    (void)pool;
    app_t *app = arg;
    app->spawned++;
    printf("master: worker %d is pid %d\n", worker_id, (int)pid);
}

static void on_exit_cb(sw_pool_t *pool, int worker_id, const sw_process_status_t *st, int expected,
                       void *arg)
{
    (void)pool;
    app_t *app = arg;
    if (expected) {
        return;
    }
    app->died++;
    if (st->signal) {
        printf("master: worker %d (pid %d) was killed by signal %d\n", worker_id, (int)st->pid,
               st->signal);
    } else {
        printf("master: worker %d (pid %d) exited with code %d\n", worker_id, (int)st->pid,
               st->exit_code);
    }
}

static void on_reload(sw_pool_t *pool, void *arg)
{
    (void)pool;
    (void)arg;
    printf("master: every worker was replaced\n");
}

static void on_stopped(sw_pool_t *pool, void *arg)
{
    (void)pool;
    app_t *app = arg;
    printf("master: all workers stopped (%ld jobs submitted, %d worker starts, %d unexpected "
           "deaths)\n",
           app->next_job, app->spawned, app->died);
    /* Nothing else keeps the loop alive: sw_loop_run returns. */
    sw_timer_clear(app->loop, app->tick);
}

/* Messages waiting in the pool's queue, or -1. */
static long queued(const app_t *app)
{
    struct msqid_ds ds;
    int id = sw_pool_queue_id(app->pool);
    if (id < 0 || msgctl(id, IPC_STAT, &ds) != 0) {
        return -1;
    }
    return (long)ds.msg_qnum;
}

static void on_tick(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    app_t *app = arg;
    if (app->draining) {
        /* All jobs submitted: shut down once the workers have taken every one of them. */
        if (queued(app) == 0) {
            printf("master: queue empty, shutting down\n");
            sw_pool_shutdown(app->pool);
        }
        return;
    }
    char job[32];
    long limit = 20000 + (app->next_job % 10) * 10000;
    int n = snprintf(job, sizeof(job), "%ld", limit);
    int r = sw_pool_submit(app->pool, -1, job, (size_t)n);
    if (r == SW_EAGAIN) {
        return; /* the queue is full: try again at the next tick */
    }
    if (r < 0) {
        return; /* shutting down (a signal arrived): on_stopped clears this tick */
    }
    app->next_job++;
    if (app->max_jobs > 0 && app->next_job >= app->max_jobs) {
        app->draining = 1;
    }
}

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [--workers N] [--jobs N] [--interval MS]\n", prog);
    exit(2);
}

int main(int argc, char **argv)
{
    app_t app;
    memset(&app, 0, sizeof(app));
    app.max_jobs = 20;
    unsigned workers = 4;
    long interval = 100;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--workers") == 0) {
            workers = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (i + 1 < argc && strcmp(argv[i], "--jobs") == 0) {
            app.max_jobs = strtol(argv[++i], NULL, 10);
        } else if (i + 1 < argc && strcmp(argv[i], "--interval") == 0) {
            interval = strtol(argv[++i], NULL, 10);
        } else {
            usage(argv[0]);
        }
    }
    if (workers == 0 || workers > SW_POOL_MAX_WORKERS || interval < 1 || app.max_jobs < 0) {
        usage(argv[0]);
    }
    /* After this, naming a process overwrites argv: the arguments were parsed above. */
    sw_process_title_init(&app.title, argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);

    int r = sw_loop_create(&app.loop, NULL);
    if (r < 0) {
        fprintf(stderr, "sw_loop_create: %s\n", sw_strerror(r));
        return 1;
    }
    sw_pool_options_t opts;
    sw_pool_options_init(&opts);
    opts.worker_num = workers;
    opts.ipc = SW_POOL_IPC_QUEUE; /* a private queue, removed when the pool is destroyed */
    opts.max_wait_ms = 5000;
    opts.handle_signals = 1; /* SIGTERM/SIGINT: shutdown; SIGUSR1: reload */
    sw_pool_handlers_t h;
    memset(&h, 0, sizeof(h));
    h.on_worker_start = on_worker_start;
    h.on_job = on_job;
    h.on_spawn = on_spawn;
    h.on_exit = on_exit_cb;
    h.on_reload = on_reload;
    h.on_stopped = on_stopped;
    r = sw_pool_create(&app.pool, &opts, &h, &app);
    if (r == 0) {
        r = sw_pool_start(app.pool, app.loop);
    }
    if (r < 0) {
        fprintf(stderr, "cannot start the pool: %s\n", sw_strerror(r));
        if (app.pool) {
            sw_pool_destroy(app.pool);
        }
        sw_loop_destroy(app.loop);
        return 1;
    }
    sw_process_set_name(&app.title, "process_pool: master");
    printf("master: pid %d, %u workers, queue id %d; Ctrl-C to stop\n", (int)getpid(), workers,
           sw_pool_queue_id(app.pool));
    sw_timer_tick(app.loop, (uint64_t)interval, on_tick, &app, &app.tick);

    /* Runs until the pool has stopped and the tick is gone. */
    r = sw_loop_run(app.loop, SW_RUN_DEFAULT);
    if (r < 0) {
        fprintf(stderr, "sw_loop_run: %s\n", sw_strerror(r));
    }
    sw_pool_destroy(app.pool);
    sw_loop_destroy(app.loop);
    return r < 0 ? 1 : 0;
}
