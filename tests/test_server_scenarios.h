/*
 * Server scenarios written once and run in several modes: each function starts a server of
 * the given mode (test_server_util.h), drives it from loopback clients and checks the
 * outcome, failing the calling test on any difference. The SW_TEST cases stay in the suites'
 * own files (test_server_base.c, test_server_mproc.c, test_server_tmode.c) as one-line calls,
 * so every ctest entry keeps its name; this file has no SW_TEST of its own.
 *
 * Where a mode has more to check than another (THREAD mode has no manager and runs every
 * worker in the master process, for instance), the scenario checks it for that mode only and
 * says so in its comment.
 */
#ifndef SW_TEST_SERVER_SCENARIOS_H
#define SW_TEST_SERVER_SCENARIOS_H

#include <stdint.h>

#include "swoole/server.h"

/* Two echoes on one connection, one connect/start/shutdown each; THREAD mode: no manager, and
 * every worker start and connect reported from the master process. */
void scenario_echo(sw_server_mode_t mode);

/* 200 clients x 100 messages of 1..1500 bytes (sizes from `seed`), all echoed byte-exact,
 * four workers (two reactor threads unless BASE). */
void scenario_many_clients(sw_server_mode_t mode, uint32_t seed);

/* dispatch_mode 1: one client's messages go round the four workers; no connect/close. */
void scenario_dispatch_round_robin(sw_server_mode_t mode);
/* dispatch_mode 3: with every worker idle each message is answered, by some worker. */
void scenario_dispatch_idle_worker(sw_server_mode_t mode);
/* dispatch_mode 4: every connection from one client address reaches the same worker. */
void scenario_dispatch_ip_hash(sw_server_mode_t mode);
/* dispatch_mode `dispatch` (2, 4, or 5 before a bind; NULL: the default, 2): connect, every
 * message and close of a session reach one worker, in that order; except for mode 4 (one
 * client address) the sessions spread over more than one worker. */
void scenario_dispatch_order(sw_server_mode_t mode, const char *dispatch);
/* dispatch_mode 5: after sw_server_bind a connection's messages go to worker uid % 4, for
 * every connection bound to that uid; PROCESS mode also checks that a second bind is refused
 * and changes nothing. */
void scenario_dispatch_uid(sw_server_mode_t mode);

/* A 16 MiB length-framed message each way. */
void scenario_16mib_message(sw_server_mode_t mode);

/* SIGUSR1 with reload_async `async` ("true"/"false"): every worker is replaced and the
 * connections stay; THREAD mode also checks requests in flight at the signal and during the
 * reload. */
void scenario_reload_keeps(sw_server_mode_t mode, const char *async);

/* Calls from a worker's callback: send from a user thread, sendfile, pause with a worker
 * timer that resumes; THREAD mode also: send to a closed session (SW_ESESSION) and close from
 * a user thread. `tag` names the temporary file. */
void scenario_calls_from_worker(sw_server_mode_t mode, const char *tag);

/* A send to a closed session fails with SW_ESESSION (from a worker: the directory). */
void scenario_send_to_closed_session(sw_server_mode_t mode);

/* The reactor threads run the heartbeat: an idle client is closed, its worker gets on_close
 * with the reactor thread's id. */
void scenario_heartbeat(sw_server_mode_t mode);

/* max_request 2 with one worker: it is replaced after its messages; the client keeps its
 * connection and every message is answered. */
void scenario_max_request(sw_server_mode_t mode);

#endif
