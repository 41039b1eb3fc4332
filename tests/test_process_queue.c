/* sw_process_t's System V message queue: owned and shared modes across processes, limits,
 * errors. Every body runs isolated and reports its queues, so that they are removed even when
 * an assertion fails. */
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

#include "core/fault.h"
#include "swoole/process.h"
#include "test_process_util.h"

#define NMSG 100

/* The child takes NMSG messages, checks them, reports the sum on the pipe, then pushes 50
 * messages of its own. */
static int child_queue(sw_process_t *p, void *arg)
{
    (void)arg;
    long sum = 0;
    char buf[128];
    for (int i = 0; i < NMSG; i++) {
        ssize_t n = sw_process_pop(p, buf, sizeof(buf) - 1, 0);
        if (n <= 0) {
            return 2;
        }
        buf[n] = '\0';
        int v = -1;
        if (sscanf(buf, "msg %d", &v) != 1 || v != i) {
            return 3; /* FIFO order */
        }
        sum += v;
    }
    if (sw_process_write(p, &sum, sizeof(sum)) != (ssize_t)sizeof(sum)) {
        return 4;
    }
    for (int i = 0; i < 50; i++) {
        char m[32];
        int len = snprintf(m, sizeof(m), "back %d", i);
        if (sw_process_push(p, m, (size_t)len, 0) != 0) {
            return 5;
        }
    }
    return 0;
}

static void body_owned(void *arg)
{
    int *removed_id = arg;
    sw_process_t *p = NULL;
    ASSERT_OK(sw_process_create(&p, child_queue, NULL, SW_PROCESS_PIPE_STREAM));
    ASSERT_OK(sw_process_use_queue(p, 0, SW_QUEUE_OWNED));
    int id = sw_process_queue_id(p);
    ASSERT_GE(id, 0);
    pt_report_queue(id);
    ASSERT_ERR(sw_process_use_queue(p, 0, SW_QUEUE_OWNED), SW_EALREADY);
    int pid = sw_process_start(p);
    ASSERT_GT(pid, 0);
    for (int i = 0; i < NMSG; i++) {
        char m[32];
        int len = snprintf(m, sizeof(m), "msg %d", i);
        ASSERT_OK(sw_process_push(p, m, (size_t)len, 0)); /* blocks while the queue is full */
    }
    long sum = 0;
    ASSERT_EQ(sw_process_read(p, &sum, sizeof(sum)), sizeof(sum));
    ASSERT_EQ(sum, NMSG * (NMSG - 1) / 2);
    sw_process_status_t st;
    ASSERT_EQ(sw_process_wait(pid, 1, &st), pid);
    ASSERT_EQ(st.exit_code, 0);
    size_t count = 0, bytes = 0;
    ASSERT_OK(sw_process_queue_stats(p, &count, &bytes));
    ASSERT_EQ(count, 50);
    ASSERT_GT(bytes, 0);
    for (int i = 0; i < 50; i++) {
        char buf[64];
        ssize_t n = sw_process_pop(p, buf, sizeof(buf) - 1, SW_QUEUE_NOWAIT);
        ASSERT_GT(n, 0);
        buf[n] = '\0';
        char want[32];
        snprintf(want, sizeof(want), "back %d", i);
        ASSERT_STR_EQ(buf, want);
    }
    char buf[8];
    ASSERT_ERR(sw_process_pop(p, buf, sizeof(buf), SW_QUEUE_NOWAIT), SW_EAGAIN);
    /* The child exited without removing the queue (it is not the owner); destroy removes it. */
    struct msqid_ds ds;
    ASSERT_EQ(msgctl(id, IPC_STAT, &ds), 0);
    ASSERT_OK(sw_process_destroy(p));
    ASSERT_EQ(msgctl(id, IPC_STAT, &ds), -1);
    *removed_id = id;
}

SW_TEST(process_queue_owned_across_processes)
{
    int id = -1, leaked = 0;
    int status = pt_run_isolated(body_owned, &id, &leaked);
    ASSERT_ISOLATED_OK(status);
    ASSERT_EQ(leaked, 0);
}

/* Shared mode: two objects (and the child) open one queue by key; destroy leaves it. */
static int child_shared(sw_process_t *p, void *arg)
{
    (void)arg;
    return sw_process_push(p, "from child", 10, 0) == 0 ? 0 : 2;
}

typedef struct {
    int key;
    int id;
} shared_arg_t;

static void body_shared(void *arg)
{
    shared_arg_t *sa = arg;
    sw_process_t *a = NULL, *b = NULL;
    ASSERT_OK(sw_process_create(&a, child_shared, NULL, 0));
    ASSERT_OK(sw_process_create(&b, NULL, NULL, 0));
    /* Owned mode refuses a key that exists. */
    ASSERT_ERR(sw_process_use_queue(a, sa->key, SW_QUEUE_OWNED), SW_EEXIST);
    ASSERT_OK(sw_process_use_queue(a, sa->key, SW_QUEUE_SHARED));
    ASSERT_OK(sw_process_use_queue(b, sa->key, SW_QUEUE_SHARED));
    ASSERT_EQ(sw_process_queue_id(a), sa->id);
    ASSERT_EQ(sw_process_queue_id(b), sa->id);
    int pid = sw_process_start(a);
    ASSERT_GT(pid, 0);
    char buf[64];
    ssize_t n = sw_process_pop(b, buf, sizeof(buf), 0);
    ASSERT_EQ(n, 10);
    ASSERT_MEM_EQ(buf, "from child", 10);
    ASSERT_EQ(sw_process_wait(pid, 1, NULL), pid);
    ASSERT_OK(sw_process_destroy(a));
    ASSERT_OK(sw_process_destroy(b));
    struct msqid_ds ds;
    ASSERT_EQ(msgctl(sa->id, IPC_STAT, &ds), 0); /* still there */
}

SW_TEST(process_queue_shared_mode)
{
    shared_arg_t sa;
    sa.key = pt_fresh_queue_key(&sa.id);
    int status = pt_run_isolated(body_shared, &sa, NULL);
    /* The test made this queue; it removes it whatever the body did. */
    int removed = msgctl(sa.id, IPC_RMID, NULL);
    ASSERT_ISOLATED_OK(status);
    ASSERT_EQ(removed, 0);
}

static void body_limits(void *arg)
{
    (void)arg;
    sw_process_t *p = NULL;
    ASSERT_OK(sw_process_create(&p, NULL, NULL, 0));
    ASSERT_OK(sw_process_use_queue(p, 0, SW_QUEUE_OWNED));
    int id = sw_process_queue_id(p);
    pt_report_queue(id);

    static char big[1 << 20];
    memset(big, 'q', sizeof(big));
    char txt[32];
    long msgmax = 8192;
    if (pt_read_file("/proc/sys/kernel/msgmax", txt, sizeof(txt)) > 0) {
        msgmax = atol(txt);
    }
    ASSERT_LT(msgmax, (long)sizeof(big));
    ASSERT_ERR(sw_process_push(p, big, (size_t)msgmax + 1, 0), SW_EMSGSIZE);
    ASSERT_OK(sw_process_push(p, big, (size_t)msgmax, 0));
    ASSERT_EQ(sw_process_pop(p, big, sizeof(big), 0), msgmax);
    ASSERT_ERR(sw_process_push(p, NULL, 3, 0), SW_EINVAL);
    ASSERT_ERR(sw_process_push(p, "x", 1, 0x10), SW_EINVAL);
    ASSERT_ERR(sw_process_pop(p, big, sizeof(big), 0x10), SW_EINVAL);
    ASSERT_ERR(sw_process_pop(p, big, sizeof(big), SW_QUEUE_NOWAIT), SW_EAGAIN);

    /* Too small a buffer: E2BIG, the message stays. */
    ASSERT_OK(sw_process_push(p, "0123456789", 10, 0));
    char small[4];
    ASSERT_ERR(sw_process_pop(p, small, sizeof(small), SW_QUEUE_NOWAIT), SW_E2BIG);
    size_t count = 0;
    ASSERT_OK(sw_process_queue_stats(p, &count, NULL));
    ASSERT_EQ(count, 1);
    ASSERT_EQ(sw_process_pop(p, big, sizeof(big), SW_QUEUE_NOWAIT), 10);

    /* An empty message is fine. */
    ASSERT_OK(sw_process_push(p, NULL, 0, 0));
    ASSERT_EQ(sw_process_pop(p, big, sizeof(big), SW_QUEUE_NOWAIT), 0);

    /* Fill it: a non-blocking push fails with EAGAIN (bounded by the system's msgmnb). */
    int pushed = 0, r = 0;
    for (int i = 0; i < 100000; i++) {
        r = sw_process_push(p, big, 1024, SW_QUEUE_NOWAIT);
        if (r != 0) {
            break;
        }
        pushed++;
    }
    ASSERT_ERR(r, SW_EAGAIN);
    ASSERT_GT(pushed, 0);

    /* Removed behind our back. */
    ASSERT_EQ(msgctl(id, IPC_RMID, NULL), 0);
    r = sw_process_push(p, "x", 1, SW_QUEUE_NOWAIT);
    ASSERT_TRUE(r == SW_EIDRM);
    r = (int)sw_process_pop(p, big, sizeof(big), SW_QUEUE_NOWAIT);
    ASSERT_TRUE(r == SW_EIDRM);
    ASSERT_OK(sw_process_destroy(p));

    if (sw__fault_enabled()) {
        ASSERT_OK(sw_process_create(&p, NULL, NULL, 0));
        ASSERT_OK(sw__fault_set("msgget", 0, 1));
        ASSERT_ERR(sw_process_use_queue(p, 0, SW_QUEUE_OWNED), SW_ENOSPC);
        ASSERT_ERR(sw_process_queue_id(p), SW_ENOENT);
        ASSERT_OK(sw_process_destroy(p));
    }
}

SW_TEST(process_queue_limits_and_errors)
{
    int status = pt_run_isolated(body_limits, NULL, NULL);
    ASSERT_ISOLATED_OK(status);
}
