/*
 * The task tests' server and client helpers (test_server_task.c), shared with the THREAD-mode
 * cases of test_server_task_thread.c.
 */
#ifndef SW_TEST_SERVER_TASK_H
#define SW_TEST_SERVER_TASK_H

#include "test_server_util.h"

enum {
    TAG_TASKPID = 1, /* a task worker about to sleep in "sleeppid": b = pid */
    TAG_MSG,         /* on_pipe_message: b = length, s = src << 1 | pattern ok */
    TAG_TIMER,       /* a timer fired in a task worker */
    TAG_USTART,      /* a user process started: b = pid */
    TAG_TBAD,        /* bad calls inside a task worker: b = rc of task(), s = rc of 2nd finish */
};

typedef struct {
    srv_t s;
    int fd;
    char opt_tmpdir[128];
} task_ctx_t;

/* A server with `workers` event workers and `tasks` task workers in `mode` (extra options:
 * name, value pairs, NULL-terminated), a client connected to it. */
void task_start(task_ctx_t *c, srv_spec_t *spec, sw_server_mode_t mode, int workers, int tasks,
                const char *const *extra);
/* Stops it; checks that no temp file is left. */
void task_stop(task_ctx_t *c);
/* One command, its one-line reply. */
void task_cmd(task_ctx_t *c, const char *line, char *out, size_t cap);
void task_expect(task_ctx_t *c, const char *line, const char *want);
const ev_t *task_wait_tag(srv_t *s, int tag, int worker, int ms);
/* Whole cases run in `mode`: task + on_finish and taskwait; 1 MiB through temp files;
 * messages worker <-> worker <-> task worker. */
void task_basic(sw_server_mode_t mode);
void task_big(sw_server_mode_t mode);
void task_messages(sw_server_mode_t mode);
/* A taskwait that times out: its late result is dropped, the next ones get their own; several
 * taskwaits with one timeout; bad calls in a worker and in a task worker. */
void task_late_result(sw_server_mode_t mode);
void task_multi(sw_server_mode_t mode);
void task_bad_calls(sw_server_mode_t mode);

#endif
