/*
 * The process module's internal pieces shared by process.c, pool.c and supervisor.c (and later
 * by the server's manager): the one fork path and the status decoding.
 */
#ifndef SW_PROCESS_PROCESS_INT_H
#define SW_PROCESS_PROCESS_INT_H

#include <sys/types.h>

#include "swoole/process.h"

/*
 * The library's only fork. In the parent returns the child's pid (> 0) or a negative SW_E*
 * code (fault point "fork"; the negated errno of fork). In the child returns 0 after:
 *   - PR_SET_PDEATHSIG with `pdeath_signal` (0: none), then a check that the parent is still
 *     the one that forked: if it died in between, the child sends itself that signal and
 *     exits, so the request is never lost;
 *   - every caught asynchronous signal reset to its default action, SIGCHLD to its default
 *     even when ignored, and the signal mask cleared (see swoole/process.h for the exact set).
 * stdio is flushed before the fork so that buffered output is not duplicated.
 */
pid_t sw__process_fork(int pdeath_signal);

/* Ends the calling (child) process: flushes stdio and calls _exit(code & 0xff). */
_Noreturn void sw__process_child_exit(int code);

/* Puts SIGCHLD back to its default action when it is ignored or has SA_NOCLDWAIT (either makes
 * the kernel reap children itself, so that waitpid finds nothing). A SIGCHLD handler the
 * program installed is left alone. Returns 0 or the negated errno of sigaction. */
int sw__process_reset_sigchld(void);

/* Decodes a waitpid status of `pid` into `st`. */
void sw__process_status_decode(pid_t pid, int wstatus, sw_process_status_t *st);

/* waitpid(pid, WNOHANG) without EINTR: returns pid (and fills st), 0 (still running), or
 * SW_ECHILD. */
pid_t sw__process_reap(pid_t pid, sw_process_status_t *st);

#endif
