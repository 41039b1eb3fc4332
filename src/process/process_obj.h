/*
 * The layout of sw_process_t (internal), shared by process.c (pipe, queue, start, exec) and
 * process_os.c (signals kept by the object).
 */
#ifndef SW_PROCESS_PROCESS_OBJ_H
#define SW_PROCESS_PROCESS_OBJ_H

#include <signal.h>
#include <sys/types.h>

#include "process/msgqueue.h"
#include "swoole/loop.h"
#include "swoole/process.h"

/* Signal numbers a process object can watch: 1 .. SW_PROCESS_NSIG-1. */
#define SW_PROCESS_NSIG 65

struct sw_process_s {
    sw_process_fn fn;
    void *arg;
    void *data;
    int flags;
    int type;      /* SOCK_STREAM, SOCK_DGRAM, or 0: no pipe */
    int fds[2];    /* [0] the parent's end, [1] the child's end; -1 once closed */
    int fd;        /* this side's end (-1: none or closed) */
    unsigned shut; /* SW_PROCESS_CLOSE_READ / _WRITE bits already shut down */
    pid_t pid;
    int started;
    int is_child;
    int has_queue;
    sw_msgqueue_t queue;
    char *exec_path;
    char **exec_argv;
    char **exec_envp;
    sw_signal_t *sigs[SW_PROCESS_NSIG];
};

/* Stops and frees every signal watcher of the object. */
void sw__process_signals_close(sw_process_t *p);

/* In a child: drops the parent's watchers without touching them (they belong to the parent's
 * loop, which the child must not use). */
void sw__process_signals_forget(sw_process_t *p);

#endif
