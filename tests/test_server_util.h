/*
 * Helpers of the server tests: a server run in a forked child from a description, an event
 * pipe through which every server process reports what happened (records of PIPE_BUF size or
 * less, so writes from several processes never interleave), and blocking loopback clients
 * with time limits.
 *
 * The test process never runs the server itself: srv_start forks it; srv_stop sends SIGTERM
 * to its master and reaps it (and fails the test if anything of it is left).
 */
#ifndef SW_TEST_SERVER_UTIL_H
#define SW_TEST_SERVER_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/fault.h"
#include "swoole/server.h"

/* Event types reported by the server processes. */
enum {
    EV_PORT = 1,    /* a = the first port's number (before start) */
    EV_START,       /* on_start: pid = master */
    EV_SHUTDOWN,    /* on_shutdown */
    EV_MSTART,      /* on_manager_start */
    EV_MSTOP,       /* on_manager_stop */
    EV_WSTART,      /* on_worker_start: worker, pid */
    EV_WSTOP,       /* on_worker_stop: worker, pid */
    EV_WERROR,      /* on_worker_error: worker, pid (dead), a = exit code, b = signal */
    EV_CONNECT,     /* on_connect: worker, s = session, b = client port */
    EV_CLOSE,       /* on_close: s = session, a = reactor id */
    EV_RECV,        /* on_receive (when the test asks for it): s, a = length */
    EV_FULL,        /* on_buffer_full: s */
    EV_EMPTY,       /* on_buffer_empty: s */
    EV_RESULT,      /* a test's own report: a, b, s as the test defines */
    EV_START_FAILED /* sw_server_start failed: a = code */
};

typedef struct {
    int type;
    int worker;
    int pid;
    int a;
    int64_t b;
    uint64_t s;
} ev_t;

/* What the forked server looks like. Unset fields keep their defaults: BASE, 1 worker, TCP
 * on 127.0.0.1 port 0, echo on_receive, every other callback reporting its event. */
typedef struct srv_spec_s {
    sw_server_mode_t mode;
    int workers;
    sw_sock_type_t type;
    const char *host;
    const char *opts[24][2];      /* server options by name; NULL-terminated */
    const char *port_opts[16][2]; /* options of the first port by name */
    sw_server_handlers_t h;       /* non-NULL fields replace the defaults */
    bool report_recv;             /* default on_receive also reports EV_RECV */
    bool no_echo;                 /* default on_receive does not echo */
    /* Runs in the server child after the first port exists and before start (more ports,
     * more options); returns 0 or a code that fails the start. */
    int (*setup)(sw_server_t *srv, sw_port_t *port);
    /* A fault point armed in the server child right after `setup`: sw__fault_set(name, skip,
     * count) (src/core/fault.h). name NULL: none. */
    struct {
        const char *name;
        int skip;
        int count;
    } fault;
} srv_spec_t;

/* Skips the calling test unless the build has fault points (-DSWOOLE_FAULT_INJECTION=ON). */
#define SRV_NEED_FAULTS()                                      \
    do {                                                       \
        if (!sw__fault_enabled()) {                            \
            SW_TEST_SKIP("needs -DSWOOLE_FAULT_INJECTION=ON"); \
        }                                                      \
    } while (0)

typedef struct {
    pid_t pid;      /* the master (the forked child) */
    int port;       /* the first port's number */
    int ev_fd;      /* read end of the event pipe */
    ev_t evs[4096]; /* events read so far */
    unsigned char taken[4096];
    int nevs;
} srv_t;

/* In the server child: reports an event (from any server process or thread). */
void ev_emit(int type, int worker, int a, int64_t b, uint64_t s);

/* Forks the server; waits for EV_PORT and for `wait_workers` EV_WSTART events (0: none). */
void srv_start(srv_t *s, const srv_spec_t *spec, int wait_workers);
/* SIGTERM to the master, reap it (failing after `limit_s` seconds), close the pipe. Returns
 * the master's exit status (0 for a clean shutdown). */
int srv_stop(srv_t *s, int limit_s);
/* Waits up to `ms` for the next event of `type` not yet taken (optionally matching worker
 * >= 0); returns a pointer to it (marked taken) or NULL on timeout. */
const ev_t *srv_wait(srv_t *s, int type, int worker, int ms);
/* Reads what is available now, without waiting. */
void srv_poll(srv_t *s);
/* Counts events of `type` seen so far (taken or not). */
int srv_count(srv_t *s, int type);

/* Clients: blocking sockets with 5 s (times the sanitizer multiplier) send/receive limits. */
int cli_tcp(int port);
int cli_tcp6(int port);
int cli_unix(const char *path);
int cli_udp(int port, bool v6);
void cli_send(int fd, const void *data, size_t len);
/* Receives exactly `len` bytes (fails the test on timeout or EOF). */
void cli_recv(int fd, void *buf, size_t len);
/* Returns 0 when the peer closed (EOF), SW_ECONNRESET on a reset, SW_EAGAIN on timeout; data
 * that arrives before the end is skipped. */
int cli_wait_close(int fd);
/* Sets the receive limit in ms. */
void cli_timeout(int fd, int ms);

/* Sends `msg` and receives its echo, byte-exact (fails the test otherwise; up to 256 bytes). */
void cli_echo(int fd, const char *msg);
/* Sends 4 KiB chunks without blocking until `cap` bytes are out or the peer has taken nothing
 * for a second (scaled): the client is held back. Returns the bytes sent. */
int64_t cli_send_until_held(int fd, int64_t cap);

/* Forks a server whose start must fail: waits for EV_START_FAILED and for the master to exit
 * with status 1. Returns the code sw_server_start returned (s keeps the events). */
int srv_start_failure(srv_t *s, const srv_spec_t *spec);
/* The current pid of workers 0..n-1 (the latest EV_WSTART of each id; 0 for none yet). */
void srv_worker_pids(srv_t *s, pid_t *pids, int n);

/* A server run by another helper (HTTP, WebSocket tests): `run` builds and starts it in a
 * forked child, writes its start-up report (ints; the first is the port, > 0 once it listens)
 * to `wfd`, and returns the child's exit status. fork_server reads `report_len` bytes of the
 * report into `report` and returns the child's pid; a short report or a port <= 0 kills the
 * child and fails the test ("the <what> server did not start"). */
typedef int (*fork_server_run_fn)(sw_server_mode_t mode, int workers, const char *const *opts,
                                  int wfd);
pid_t fork_server(fork_server_run_fn run, sw_server_mode_t mode, int workers,
                  const char *const *opts, int *report, size_t report_len, const char *what);
/* For `run`: creates the server (`mode`, `workers` workers, log level from the environment
 * variable `log_env`, "error" without it) and its first port, TCP on 127.0.0.1, any port
 * number. Returns 0, or nonzero when a step failed (*srv is NULL when the server itself could
 * not be created). */
int fork_server_create(sw_server_t **srv, sw_port_t **port, sw_server_mode_t mode, int workers,
                       const char *log_env);
/* SIGTERM to the child, then waits up to 15 s (scaled); fails the test unless it exited with
 * status 0. */
void fork_server_stop(pid_t pid, const char *what);

/* The value of header `name` (case-insensitive) in an HTTP head ("start line CRLF fields
 * CRLF CRLF"), copied into out (truncated to cap - 1 bytes, NUL-terminated). Returns the
 * value's full length, or -1 when the head has no such field. */
int http_head_field(const char *head, const char *name, char *out, size_t cap);

/* Milliseconds scaled by SW_TEST_TIMEOUT_MULTIPLIER. */
int scaled_ms(int ms);

/* 1 if a process with this pid exists and is not a zombie. */
int pid_alive(pid_t pid);

#endif
