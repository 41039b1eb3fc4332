/*
 * Server CPU time from /proc, for the load generators of bench/echo and bench/server: the sum
 * over a process and every process descending from it (a server's manager and workers).
 * Header-only (static functions); Linux.
 */
#ifndef SW_BENCH_PROC_CPU_H
#define SW_BENCH_PROC_CPU_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* CPU time of one task directory (/proc/PID or /proc/PID/task/TID): utime+stime in seconds
 * from its stat file; with `sched`, the scheduler's run time (ns) from its schedstat file. */
static int read_stat(const char *dir, double *stat_s, int *ppid)
{
    char path[400], buf[1024];
    snprintf(path, sizeof(path), "%s/stat", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    int pp = 0;
    /* After ")": state(3) ppid(4) pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime(14) stime(15). */
    if (!p ||
        sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &pp, &ut, &st) != 3) {
        return -1;
    }
    *stat_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    *ppid = pp;
    return 0;
}

static double read_sched(const char *dir)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/schedstat", dir);
    FILE *f = fopen(path, "r");
    unsigned long long ns = 0;
    if (f) {
        if (fscanf(f, "%llu", &ns) != 1) {
            ns = 0;
        }
        fclose(f);
    }
    return ns / 1e9;
}

/* Sums over the server: process `pid` and every process descending from it (the manager and
 * workers of a multi-process server). stat: utime+stime of each process (all its threads,
 * live and ended); sched: run time of every live thread (/proc/PID/task/TID/schedstat). */
static int read_cpu(int pid, double *stat_s, double *sched_s, int *nprocs)
{
    enum { MAXP = 4096 };
    static int pids[MAXP], ppids[MAXP];
    static double cpu[MAXP];
    int n = 0;
    DIR *d = opendir("/proc");
    if (!d) {
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d)) && n < MAXP) {
        int p = atoi(de->d_name);
        if (p <= 0) {
            continue;
        }
        char dir[64];
        snprintf(dir, sizeof(dir), "/proc/%d", p);
        if (read_stat(dir, &cpu[n], &ppids[n]) == 0) {
            pids[n++] = p;
        }
    }
    closedir(d);
    /* Mark the tree: repeat until no new descendant is found (the list is small). */
    static char in[MAXP];
    memset(in, 0, sizeof(in));
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (pids[i] == pid) {
            in[i] = 1, found = 1;
        }
    }
    if (!found) {
        return -1;
    }
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; !in[i] && j < n; j++) {
                if (in[j] && ppids[i] == pids[j]) {
                    in[i] = 1, changed = 1;
                }
            }
        }
    }
    *stat_s = *sched_s = 0;
    *nprocs = 0;
    for (int i = 0; i < n; i++) {
        if (!in[i]) {
            continue;
        }
        (*nprocs)++;
        *stat_s += cpu[i];
        char dir[300];
        snprintf(dir, sizeof(dir), "/proc/%d/task", pids[i]);
        DIR *td = opendir(dir);
        if (!td) {
            continue;
        }
        while ((de = readdir(td))) {
            if (de->d_name[0] == '.') {
                continue;
            }
            char tdir[300];
            snprintf(tdir, sizeof(tdir), "/proc/%d/task/%.32s", pids[i], de->d_name);
            *sched_s += read_sched(tdir);
        }
        closedir(td);
    }
    return 0;
}

#endif
