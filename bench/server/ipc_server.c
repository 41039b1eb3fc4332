/*
 * Server of the IPC benchmark (issue 5, item 14): an echo server on the libswoole server whose
 * port frames messages by a 4-byte big-endian length ('N', offset 0, body at 4), so that a
 * pipelined stream of many small messages reaches on_receive one message at a time.
 *
 *   ipc_server [--host H] [--port P] [--mode base|process|thread] [--workers N] [--reactors N]
 *
 * In PROCESS (and THREAD) mode every message goes reactor thread -> worker (an SW_IPC_DATA
 * message on the bus) and its echo worker -> reactor thread (SW_IPC_SEND), which is what
 * bench/server/ipc.sh measures; BASE mode, with no IPC, is the same work without the bus.
 * Prints "listening on H:P"; SIGTERM/SIGINT stop it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <swoole.h>

static void on_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                       size_t len, void *arg)
{
    (void)reactor_id;
    (void)arg;
    if (sw_server_send(srv, session, data, len) < 0) {
        sw_server_close(srv, session, 1);
    }
}

static void on_buffer_full(sw_server_t *srv, uint64_t session, int reactor_id, void *arg)
{
    (void)reactor_id;
    (void)arg;
    (void)sw_server_pause(srv, session);
}

static void on_buffer_empty(sw_server_t *srv, uint64_t session, int reactor_id, void *arg)
{
    (void)reactor_id;
    (void)arg;
    (void)sw_server_resume(srv, session);
}

static void on_start(sw_server_t *srv, void *arg)
{
    (void)srv;
    printf("listening on %s\n", (const char *)arg);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *mode = "process", *workers = "1", *reactors = "1";
    int port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--host")) {
            host = v;
        } else if (!strcmp(k, "--port")) {
            port = atoi(v);
        } else if (!strcmp(k, "--mode")) {
            mode = v;
        } else if (!strcmp(k, "--workers")) {
            workers = v;
        } else if (!strcmp(k, "--reactors")) {
            reactors = v;
        } else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
    }
    sw_server_mode_t m = !strcmp(mode, "base")     ? SW_MODE_BASE
                         : !strcmp(mode, "thread") ? SW_MODE_THREAD
                                                   : SW_MODE_PROCESS;
    sw_server_t *srv;
    int r = sw_server_create(&srv, m);
    if (r < 0) {
        fprintf(stderr, "ipc_server: %s mode: %s\n", mode, sw_strerror(r));
        return 1;
    }
    sw_port_t *p = NULL;
    r = sw_server_set_option(srv, "worker_num", workers);
    if (r == 0 && m != SW_MODE_BASE) {
        r = sw_server_set_option(srv, "reactor_num", reactors);
    }
    if (r == 0) {
        r = sw_server_listen(srv, host, port, SW_SOCK_TCP, &p);
    }
    static const char *const opts[][2] = {{"open_length_check", "1"},
                                          {"package_length_type", "N"},
                                          {"package_length_offset", "0"},
                                          {"package_body_offset", "4"},
                                          {"package_max_length", "1048576"}};
    for (size_t i = 0; r == 0 && i < sizeof(opts) / sizeof(opts[0]); i++) {
        r = sw_port_set_option(p, opts[i][0], opts[i][1]);
    }
    if (r < 0) {
        fprintf(stderr, "ipc_server: %s\n", sw_strerror(r));
        sw_server_destroy(srv);
        return 1;
    }
    static char addr[300];
    snprintf(addr, sizeof(addr), "%s:%d", host, sw_port_number(p));
    sw_server_handlers_t h = {.on_start = on_start,
                              .on_receive = on_receive,
                              .on_buffer_full = on_buffer_full,
                              .on_buffer_empty = on_buffer_empty};
    sw_server_set_handlers(srv, &h, addr);
    r = sw_server_start(srv);
    if (r < 0) {
        fprintf(stderr, "ipc_server: %s\n", sw_strerror(r));
    }
    sw_server_destroy(srv);
    return r < 0 ? 1 : 0;
}
