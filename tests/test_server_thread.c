/*
 * Calls from threads other than the worker's loop thread: four threads send to one
 * connection while the loop is idle (the data can only arrive if each request wakes the loop
 * at once), pause/resume and close from a thread, and SW_ESESSION for a closed session.
 * Meant to run under ThreadSanitizer as well.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sw_test.h"
#include "test_server_util.h"

enum { NTHREADS = 4, NMSG = 300 };

/* Shared by the worker's loop thread and the four threads (in the server child). */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    sw_server_t *srv;
    uint64_t session; /* set by on_connect */
    int phase;        /* 0 wait, 1 send, 2 close, 3 quit */
    int done;         /* threads finished sending */
    pthread_t th[NTHREADS];
    int nth;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static int wait_phase(int at_least)
{
    pthread_mutex_lock(&g.lock);
    while (g.phase < at_least) {
        pthread_cond_wait(&g.cond, &g.lock);
    }
    int p = g.phase;
    pthread_mutex_unlock(&g.lock);
    return p;
}

static void set_phase(int p)
{
    pthread_mutex_lock(&g.lock);
    if (g.phase < p) {
        g.phase = p;
    }
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
}

static void *sender(void *arg)
{
    int k = (int)(intptr_t)arg;
    if (wait_phase(1) >= 3) {
        return NULL;
    }
    pthread_mutex_lock(&g.lock);
    uint64_t sid = g.session;
    pthread_mutex_unlock(&g.lock);
    int errors = 0;
    for (int i = 0; i < NMSG; i++) {
        char msg[32];
        int n = snprintf(msg + 1, sizeof(msg) - 1, "t%d:%d;", k, i);
        msg[0] = (char)n;
        int r;
        while ((r = sw_server_send(g.srv, sid, msg, (size_t)n + 1)) == SW_EOVERFLOW_OUTPUT) {
            usleep(1000);
        }
        errors += r != 0;
    }
    if (k == 0) {
        /* Pause and resume from a thread: both are accepted. */
        errors += sw_server_pause(g.srv, sid) != 0;
        errors += sw_server_resume(g.srv, sid) != 0;
    }
    pthread_mutex_lock(&g.lock);
    g.done++;
    pthread_mutex_unlock(&g.lock);
    ev_emit(EV_RESULT, 0, errors, k, sid);
    if (k != 1 || wait_phase(2) >= 3) {
        return NULL;
    }
    /* Thread 1 closes the session, then waits until it is gone and checks the error. */
    int r = sw_server_close(g.srv, sid, 0);
    int spins = 0;
    while (sw_server_exists(g.srv, sid) && spins++ < 5000) {
        usleep(1000);
    }
    int after = sw_server_send(g.srv, sid, "x", 1);
    ev_emit(EV_RESULT, 1, r, after, sid);
    return NULL;
}

static void th_worker_start(sw_server_t *srv, int id, void *arg)
{
    (void)arg;
    g.srv = srv;
    for (int i = 0; i < NTHREADS; i++) {
        if (pthread_create(&g.th[i], NULL, sender, (void *)(intptr_t)i) == 0) {
            g.nth++;
        }
    }
    ev_emit(EV_WSTART, id, g.nth, 0, 0);
}

static void th_worker_stop(sw_server_t *srv, int id, void *arg)
{
    (void)srv;
    (void)arg;
    set_phase(3);
    for (int i = 0; i < g.nth; i++) {
        pthread_join(g.th[i], NULL);
    }
    ev_emit(EV_WSTOP, id, 0, 0, 0);
}

static void th_connect(sw_server_t *srv, uint64_t session, int reactor_id, void *arg)
{
    (void)srv;
    (void)reactor_id;
    (void)arg;
    pthread_mutex_lock(&g.lock);
    g.session = session;
    pthread_mutex_unlock(&g.lock);
    set_phase(1);
}

static void th_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                       size_t len, void *arg)
{
    (void)srv;
    (void)session;
    (void)reactor_id;
    (void)arg;
    if (len == 5 && !memcmp(data, "close", 5)) {
        set_phase(2);
    }
}

SW_TEST_TIMEOUT(cross_thread_send, 60)
{
    srv_spec_t spec = {.workers = 1};
    spec.h.on_worker_start = th_worker_start;
    spec.h.on_worker_stop = th_worker_stop;
    spec.h.on_connect = th_connect;
    spec.h.on_receive = th_receive;
    srv_t s;
    srv_start(&s, &spec, 1);
    int fd = cli_tcp(s.port);
    /* Read NTHREADS x NMSG length-prefixed messages; each thread's must come in order. */
    int next[NTHREADS] = {0};
    for (int m = 0; m < NTHREADS * NMSG; m++) {
        unsigned char n;
        cli_recv(fd, &n, 1);
        char msg[64] = {0};
        ASSERT_LT(n, sizeof(msg));
        cli_recv(fd, msg, n);
        int k = -1, i = -1;
        ASSERT_EQ(sscanf(msg, "t%d:%d;", &k, &i), 2);
        ASSERT_GE(k, 0);
        ASSERT_LT(k, NTHREADS);
        ASSERT_EQ(i, next[k]);
        next[k]++;
    }
    for (int k = 0; k < NTHREADS; k++) {
        const ev_t *e = srv_wait(&s, EV_RESULT, 0, scaled_ms(5000));
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(e->a, 0);
    }
    /* Close from a thread: the client sees the end; a send afterwards is SW_ESESSION. */
    cli_send(fd, "close", 5);
    ASSERT_EQ(cli_wait_close(fd), 0);
    const ev_t *e = srv_wait(&s, EV_RESULT, 1, scaled_ms(5000));
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e->a, 0);
    ASSERT_EQ(e->b, SW_ESESSION);
    const ev_t *c = srv_wait(&s, EV_CLOSE, -1, scaled_ms(5000));
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(c->a, -1);
    close(fd);
    ASSERT_EQ(srv_stop(&s, 10), 0);
    ASSERT_EQ(srv_count(&s, EV_WSTOP), 1);
}
