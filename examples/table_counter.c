/*
 * table_counter: several worker processes count into one shared table.
 *
 *   table_counter [workers] [increments]       (defaults: 4 workers, 100000 increments)
 *
 * The parent creates a table before forking, so every worker sees the same shared memory.
 * Each worker adds 1 to the row "total" and to its own row "worker-<n>", `increments` times
 * (sw_table_incr_int is atomic: no update is lost however the workers interleave). The
 * parent waits for them, lists the rows with an iteration, and checks the sums. Exit status
 * 0 when every count is exact, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <swoole.h>

static int worker(sw_table_t *t, int id, long increments)
{
    char key[32];
    int klen = snprintf(key, sizeof(key), "worker-%d", id);
    for (long i = 0; i < increments; i++) {
        int rc = sw_table_incr_int(t, "total", 5, 0, 1, NULL);
        if (rc == 0) {
            rc = sw_table_incr_int(t, key, (size_t)klen, 0, 1, NULL);
        }
        if (rc != 0) {
            fprintf(stderr, "worker %d: %s\n", id, sw_strerror(rc));
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int workers = argc > 1 ? atoi(argv[1]) : 4;
    long increments = argc > 2 ? atol(argv[2]) : 100000;
    if (workers < 1 || workers > 256 || increments < 1) {
        fprintf(stderr, "usage: %s [workers 1..256] [increments >= 1]\n", argv[0]);
        return 2;
    }

    /* One integer column; one row per worker plus "total". */
    sw_table_column_t cols[] = {{"count", SW_TABLE_INT, 8}};
    sw_table_options_t opts;
    sw_table_options_init(&opts);
    opts.rows = (uint32_t)workers + 1;
    size_t bytes = 0;
    sw_table_memory_size(&opts, cols, 1, &bytes);
    sw_table_t *t;
    int rc = sw_table_create(&t, &opts, cols, 1);
    if (rc != 0) {
        fprintf(stderr, "sw_table_create: %s\n", sw_strerror(rc));
        return 1;
    }
    printf("table: %u rows, %zu bytes of shared memory\n", opts.rows, bytes);

    pid_t *pids = calloc((size_t)workers, sizeof(pid_t));
    if (!pids) {
        return 1;
    }
    for (int i = 0; i < workers; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("fork");
            return 1;
        }
        if (pids[i] == 0) {
            _exit(worker(t, i, increments));
        }
    }
    int failed = 0;
    for (int i = 0; i < workers; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            fprintf(stderr, "worker %d failed\n", i);
            failed = 1;
        }
    }
    free(pids);

    /* Every row, in the table's order. */
    sw_table_iter_t it;
    sw_table_iter_init(&it, t);
    char key[64];
    size_t klen;
    unsigned char row[8];
    long sum_workers = 0;
    while (sw_table_iter_next(&it, key, &klen, row) == 1) {
        int64_t v;
        sw_table_row_get_int(t, row, 0, &v);
        printf("  %-12.*s %lld\n", (int)klen, key, (long long)v);
        if (klen != 5 || memcmp(key, "total", 5) != 0) {
            sum_workers += (long)v;
            if (v != increments) {
                failed = 1;
            }
        }
    }

    int64_t total = 0;
    sw_table_get_int(t, "total", 5, 0, &total);
    long expect = (long)workers * increments;
    printf("total %lld, expected %ld, sum of workers %ld: %s\n", (long long)total, expect,
           sum_workers, total == expect && sum_workers == expect && !failed ? "OK" : "MISMATCH");
    sw_table_destroy(t);
    return total == expect && sum_workers == expect && !failed ? 0 : 1;
}
