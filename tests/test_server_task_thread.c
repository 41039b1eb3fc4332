/*
 * Task workers and worker messages in THREAD mode (src/server/task_thread.c): the main cases
 * of test_server_task.c with task workers as threads of the master and memory channels.
 * Helpers and the server's callbacks are test_server_task.c's (test_server_task.h).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "sw_test.h"
#include "swoole/error.h"
#include "test_server_task.h"

SW_TEST_TIMEOUT(task_finish_and_wait_thread, 60)
{
    task_basic(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(task_1mib_tmpfile_thread, 60)
{
    task_big(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(send_message_thread, 60)
{
    task_messages(SW_MODE_THREAD);
}

/* A late result is dropped; the next taskwait gets its own; async results still arrive. */
SW_TEST_TIMEOUT(taskwait_timeout_late_result_thread, 60)
{
    task_late_result(SW_MODE_THREAD);
}

SW_TEST_TIMEOUT(taskwait_multi_thread, 60)
{
    task_multi(SW_MODE_THREAD);
}

/* Timers in task worker threads; task_max_request starts a new incarnation of the thread
 * (on_worker_start again, same id) and tasks keep being answered. */
SW_TEST_TIMEOUT(task_thread_timer_and_max_request, 60)
{
    static const char *const x[] = {"task_max_request", "2", NULL};
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, SW_MODE_THREAD, 1, 1, x);
    ASSERT_NOT_NULL(task_wait_tag(&c.s, TAG_TIMER, 1, scaled_ms(5000)));
    task_expect(&c, "wait 3000 0 whoami", "W:0:1");
    task_expect(&c, "wait 3000 0 whoami", "W:0:1");
    ASSERT_NOT_NULL(srv_wait(&c.s, EV_WSTART, 1, scaled_ms(5000)));
    task_expect(&c, "wait 3000 0 echo:again", "W:0:again");
    task_expect(&c, "task 0 echo:async", "F:async");
    task_stop(&c);
}

SW_TEST_TIMEOUT(task_bad_calls_thread, 60)
{
    task_bad_calls(SW_MODE_THREAD);
}

/* SIGUSR2 restarts the task worker threads only (on_worker_start again, same id); SIGUSR1
 * the worker threads and the task worker threads. Tasks are answered after each. */
SW_TEST_TIMEOUT(task_reload_thread, 60)
{
    task_ctx_t c;
    srv_spec_t spec = {0};
    task_start(&c, &spec, SW_MODE_THREAD, 1, 1, NULL);
    ASSERT_EQ(kill(c.s.pid, SIGUSR2), 0);
    ASSERT_NOT_NULL(srv_wait(&c.s, EV_WSTART, 1, scaled_ms(5000)));
    task_expect(&c, "wait 3000 -1 echo:reloaded", "W:0:reloaded");
    ASSERT_NULL(srv_wait(&c.s, EV_WSTART, 0, 0));
    ASSERT_EQ(kill(c.s.pid, SIGUSR1), 0);
    ASSERT_NOT_NULL(srv_wait(&c.s, EV_WSTART, 0, scaled_ms(5000)));
    ASSERT_NOT_NULL(srv_wait(&c.s, EV_WSTART, 1, scaled_ms(5000)));
    task_expect(&c, "wait 3000 -1 echo:again", "W:0:again");
    task_stop(&c);
}
