/*
 * Table benchmark: operations per second of get and set on a table of 100k keys, from one
 * process and from several processes sharing the table (issue 4, item 11; Swoole documents
 * "2 million reads and writes per second" for one thread).
 *
 *   bench_table [--procs P] [--keys K] [--ops N] [--op get|set|get_int|incr|mixed]
 *               [--key-len L] [--pin] [--rounds R]
 *
 * The table has capacity K (default 100,000) and three columns (int64, double, string of 16
 * bytes: a 40-byte row buffer); it is filled with K keys of L bytes (default 16: "k" padding,
 * then the key's number as 8 binary bytes, so a key is built in a register rather than read
 * from a big array, as a caller holding its key would) before the clock starts. Each of the P processes (forked after the fill) then performs N operations
 * (default 10M) on keys drawn from its own pseudo-random sequence over all K keys, so the
 * processes touch the same buckets as often as chance makes them. --pin binds process i to
 * CPU i (or use taskset on the whole command). The processes start together (a pipe is the
 * starting gun); each times its own loop. Each round prints the total rate (sum of the
 * processes' N divided by the slowest one's time); the last line is the median over rounds.
 *
 *   get      sw_table_get: the whole row copied out
 *   set      sw_table_set: the whole row written (an update: every key exists)
 *   get_int  sw_table_get_int of one column
 *   incr     sw_table_incr_int of one column
 *   mixed    90% get, 10% set
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "swoole/table.h"

#define MAX_PROCS  64
#define MAX_ROUNDS 31

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_table: %s: %d\n", what, rc);
    exit(1);
}

typedef struct {
    int procs, pin, rounds;
    uint32_t keys, key_len;
    uint64_t ops;
    const char *op;
} config_t;

/* Key i: key_len - 8 bytes of 'k', then i as 8 bytes. */
static void make_key(char *k, uint32_t key_len, uint64_t i)
{
    memcpy(k + key_len - 8, &i, 8);
}

/* The loop a worker times. Keys come from an LCG over [0, keys): cheap enough not to matter
 * next to a table operation, and different for each worker. */
typedef struct {
    double wall_ns, cpu_ns;
} times_t;

static times_t run_worker(const config_t *c, sw_table_t *t, int index)
{
    unsigned char row[256];
    sw_table_row_clear(t, row);
    sw_table_row_set_int(t, row, 0, 42);
    sw_table_row_set_string(t, row, 2, "0123456789abcdef", 16);
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(index + 1);
    uint32_t keys = c->keys, klen = c->key_len;
    char k[64];
    memset(k, 'k', sizeof(k));
    int op = strcmp(c->op, "get") == 0       ? 0
             : strcmp(c->op, "set") == 0     ? 1
             : strcmp(c->op, "get_int") == 0 ? 2
             : strcmp(c->op, "incr") == 0    ? 3
                                             : 4;
    int64_t v;
    int bad = 0;
    uint64_t start = now_ns(), cstart = cpu_ns();
    for (uint64_t i = 0; i < c->ops; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull; /* Knuth's MMIX LCG */
        make_key(k, klen, (x >> 32) % keys);
        switch (op) {
        case 0:
            bad |= sw_table_get(t, k, klen, row);
            break;
        case 1:
            bad |= sw_table_set(t, k, klen, row);
            break;
        case 2:
            bad |= sw_table_get_int(t, k, klen, 0, &v);
            break;
        case 3:
            bad |= sw_table_incr_int(t, k, klen, 0, 1, &v);
            break;
        default:
            bad |=
                (x & 0xf00) < 0x1a0 ? sw_table_set(t, k, klen, row) : sw_table_get(t, k, klen, row);
            break;
        }
    }
    times_t r = {(double)(now_ns() - start), (double)(cpu_ns() - cstart)};
    if (bad) {
        die("an operation failed", bad);
    }
    return r;
}

static void pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        perror("sched_setaffinity");
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One round: forks the workers, starts them together, returns the total ops per second by the
 * wall clock, and in `*cpu_rate` per process per CPU-second (what a process does with a whole
 * core to itself: on a loaded machine the wall-clock rate also measures the other load). */
static double round_rate(const config_t *c, sw_table_t *t, double *cpu_rate)
{
    int go[2], res[2];
    if (pipe(go) != 0 || pipe(res) != 0) {
        die("pipe", -1);
    }
    pid_t pids[MAX_PROCS];
    for (int p = 0; p < c->procs; p++) {
        pids[p] = fork();
        if (pids[p] < 0) {
            die("fork", -1);
        }
        if (pids[p] == 0) {
            close(go[1]);
            close(res[0]);
            if (c->pin) {
                pin_to(p);
            }
            char b;
            if (read(go[0], &b, 1) != 0) {
                _exit(2);
            }
            times_t ns = run_worker(c, t, p);
            if (write(res[1], &ns, sizeof(ns)) != (ssize_t)sizeof(ns)) {
                _exit(2);
            }
            _exit(0);
        }
    }
    close(go[0]);
    close(res[1]);
    usleep(20000); /* let every worker reach its read() */
    close(go[1]);  /* EOF: go */
    double slowest = 0, cpu = 0;
    for (int p = 0; p < c->procs; p++) {
        times_t ns;
        if (read(res[0], &ns, sizeof(ns)) != (ssize_t)sizeof(ns)) {
            die("worker failed", p);
        }
        if (ns.wall_ns > slowest) {
            slowest = ns.wall_ns;
        }
        cpu += ns.cpu_ns;
    }
    *cpu_rate = (double)c->ops * c->procs / (cpu / 1e9); /* ops per CPU-second, per process */
    close(res[0]);
    for (int p = 0; p < c->procs; p++) {
        int status;
        waitpid(pids[p], &status, 0);
    }
    return (double)c->ops * c->procs / (slowest / 1e9);
}

int main(int argc, char **argv)
{
    config_t c = {
        .procs = 1, .keys = 100000, .key_len = 16, .ops = 10000000, .op = "get", .rounds = 5};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--pin") == 0) {
            c.pin = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "missing value for %s\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--procs") == 0) {
            c.procs = atoi(v);
        } else if (strcmp(a, "--keys") == 0) {
            c.keys = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--ops") == 0) {
            c.ops = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--op") == 0) {
            c.op = v;
        } else if (strcmp(a, "--key-len") == 0) {
            c.key_len = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--rounds") == 0) {
            c.rounds = atoi(v);
        } else {
            fprintf(stderr, "unknown option %s\n", a);
            return 2;
        }
    }
    if (c.procs < 1 || c.procs > MAX_PROCS || c.keys == 0 || c.key_len < 8 || c.key_len > 63 ||
        c.rounds < 1 || c.rounds > MAX_ROUNDS) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }

    sw_table_column_t cols[] = {
        {"n", SW_TABLE_INT, 8}, {"f", SW_TABLE_FLOAT, 0}, {"s", SW_TABLE_STRING, 16}};
    sw_table_options_t o;
    sw_table_options_init(&o);
    o.rows = c.keys;
    o.key_max = c.key_len;
    sw_table_t *t;
    int rc = sw_table_create(&t, &o, cols, 3);
    if (rc) {
        die("sw_table_create", rc);
    }
    char k[64];
    memset(k, 'k', sizeof(k));
    for (uint32_t i = 0; i < c.keys; i++) {
        make_key(k, c.key_len, i);
        rc = sw_table_set_int(t, k, c.key_len, 0, i);
        if (rc) {
            die("fill", rc);
        }
    }
    sw_table_stats_t st;
    sw_table_stats(t, &st);
    printf("table: %u keys, %u buckets, row buffer %zu B, shm %zu B, max chain %u; "
           "op %s, %d process(es)%s, %llu ops each\n",
           st.rows, st.buckets, st.row_size, st.memory_size, st.max_chain, c.op, c.procs,
           c.pin ? " pinned" : "", (unsigned long long)c.ops);
    double rates[MAX_ROUNDS], cpu_rates[MAX_ROUNDS];
    for (int r = 0; r < c.rounds; r++) {
        rates[r] = round_rate(&c, t, &cpu_rates[r]);
        printf("round %d: %.2f M ops/s total (wall clock); %.2f M ops/s per process-CPU-second\n",
               r + 1, rates[r] / 1e6, cpu_rates[r] / 1e6);
        fflush(stdout);
    }
    qsort(rates, (size_t)c.rounds, sizeof(double), cmp_double);
    qsort(cpu_rates, (size_t)c.rounds, sizeof(double), cmp_double);
    printf("median: %.2f M ops/s total (wall); %.2f M ops/s per process-CPU-second (%s, %d "
           "process(es))\n",
           rates[c.rounds / 2] / 1e6, cpu_rates[c.rounds / 2] / 1e6, c.op, c.procs);
    sw_table_destroy(t);
    return 0;
}
