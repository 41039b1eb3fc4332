/*
 * Server: creation, options by name and by struct, ports, and the calls that need a running
 * server, made on one that is not running. No server runs here (no fork).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sw_test.h"
#include "swoole/server.h"

SW_TEST(create_errors)
{
    sw_server_t *srv = NULL;
    ASSERT_ERR(sw_server_create(NULL, SW_MODE_BASE), SW_EINVAL);
    ASSERT_ERR(sw_server_create(&srv, (sw_server_mode_t)0), SW_EINVAL);
    ASSERT_ERR(sw_server_create(&srv, (sw_server_mode_t)4), SW_EINVAL);
    ASSERT_NULL(srv);
    ASSERT_ERR(sw_server_destroy(NULL), SW_EINVAL);
    ASSERT_OK(sw_server_create(&srv, SW_MODE_PROCESS));
    ASSERT_EQ(sw_server_mode(srv), SW_MODE_PROCESS);
    ASSERT_OK(sw_server_destroy(srv));
    ASSERT_ERR(sw_server_mode(NULL), SW_EINVAL);
}

SW_TEST(option_names)
{
    sw_server_t *srv;
    ASSERT_OK(sw_server_create(&srv, SW_MODE_BASE));
    ASSERT_OK(sw_server_set_option(srv, "worker_num", "3"));
    ASSERT_OK(sw_server_set_option(srv, "max_connection", "77"));
    ASSERT_OK(sw_server_set_option(srv, "max_wait_time", "0.5"));
    ASSERT_OK(sw_server_set_option(srv, "reload_async", "false"));
    ASSERT_OK(sw_server_set_option(srv, "heartbeat_idle_time", "10"));
    ASSERT_OK(sw_server_set_option(srv, "log_level", "debug"));
    ASSERT_OK(sw_server_set_option(srv, "pid_file", "/tmp/x.pid"));
    ASSERT_OK(sw_server_set_option(srv, "cpu_affinity_ignore", "0,2"));
    ASSERT_OK(sw_server_set_option(srv, "socket_buffer_size", "65536"));
    ASSERT_OK(sw_server_set_option(srv, "open_length_check", "1"));
    ASSERT_OK(sw_server_set_option(srv, "package_length_type", "n"));
    ASSERT_OK(sw_server_set_option(srv, "dispatch_mode", "4"));
    sw_server_options_t o;
    ASSERT_OK(sw_server_get_options(srv, &o));
    ASSERT_EQ(o.worker_num, 3);
    ASSERT_EQ(o.max_conn, 77);
    ASSERT_DBL_NEAR(o.max_wait_time, 0.5, 1e-9);
    ASSERT_FALSE(o.reload_async);
    ASSERT_DBL_NEAR(o.heartbeat_idle_time, 10, 1e-9);
    ASSERT_EQ(o.log_level, SW_LOG_DEBUG);
    ASSERT_STR_EQ(o.pid_file, "/tmp/x.pid");
    ASSERT_EQ(o.cpu_affinity_ignore_num, 2);
    ASSERT_EQ(o.cpu_affinity_ignore[1], 2);
    ASSERT_UEQ(o.port.socket_buffer_size, 65536);
    ASSERT_TRUE(o.port.protocol.open_length_check);
    ASSERT_EQ(o.port.protocol.package_length_type, 'n');
    ASSERT_EQ(o.dispatch_mode, 4);
    /* An empty string clears a string option. */
    ASSERT_OK(sw_server_set_option(srv, "pid_file", ""));
    ASSERT_OK(sw_server_get_options(srv, &o));
    ASSERT_NULL(o.pid_file);
    ASSERT_OK(sw_server_destroy(srv));
}

SW_TEST(option_errors)
{
    sw_server_t *srv;
    ASSERT_OK(sw_server_create(&srv, SW_MODE_BASE));
    ASSERT_ERR(sw_server_set_option(NULL, "worker_num", "1"), SW_EINVAL);
    ASSERT_ERR(sw_server_set_option(srv, NULL, "1"), SW_EINVAL);
    ASSERT_ERR(sw_server_set_option(srv, "worker_num", NULL), SW_EINVAL);
    ASSERT_ERR(sw_server_set_option(srv, "worker_nums", "1"), SW_EOPTION_UNKNOWN);
    ASSERT_ERR(sw_server_set_option(srv, "", "1"), SW_EOPTION_UNKNOWN);
    const char *bad[][2] = {
        {"worker_num", "0"},
        {"worker_num", "-1"},
        {"worker_num", "abc"},
        {"worker_num", "1x"},
        {"worker_num", " 1"},
        {"worker_num", ""},
        {"worker_num", "99999999999999999999"},
        {"dispatch_mode", "6"},
        {"max_conn", "0"},
        {"max_wait_time", "0"},
        {"max_wait_time", "-1"},
        {"max_wait_time", "nan"},
        {"max_wait_time", "1e3"},
        {"max_wait_time", "0x10"},
        {"reload_async", "yes"},
        {"reload_async", "TRUE"},
        {"log_level", "loud"},
        {"log_level", "7"},
        {"cpu_affinity_ignore", "1,,2"},
        {"cpu_affinity_ignore", "1,"},
        {"cpu_affinity_ignore", "a"},
        {"backlog", "0"},
        {"backlog", "70000"},
        {"socket_buffer_size", "100"},
        {"tcp_keepcount", "0"},
        {"package_length_type", "x"},
        {"package_eof", ""},
        {"package_max_length", "0"},
        {"open_eof_check", "2"},
    };
    sw_server_options_t before, after;
    ASSERT_OK(sw_server_get_options(srv, &before));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = sw_server_set_option(srv, bad[i][0], bad[i][1]);
        if (r != SW_EOPTION_VALUE) {
            sw_test_fail(__FILE__, __LINE__, "%s=\"%s\": got %s", bad[i][0], bad[i][1],
                         sw_err_name(r));
        }
    }
    /* Nothing changed. */
    ASSERT_OK(sw_server_get_options(srv, &after));
    ASSERT_EQ(after.worker_num, before.worker_num);
    ASSERT_EQ(after.port.backlog, before.port.backlog);
    ASSERT_DBL_NEAR(after.max_wait_time, before.max_wait_time, 0);
    ASSERT_OK(sw_server_destroy(srv));
}

SW_TEST(options_struct)
{
    sw_server_options_t o;
    sw_server_options_init(&o);
    ASSERT_GE(o.worker_num, 1);
    ASSERT_EQ(o.dispatch_mode, 2);
    ASSERT_GE(o.max_conn, 1);
    ASSERT_TRUE(o.reload_async);
    ASSERT_EQ(o.port.backlog, 512);
    ASSERT_UEQ(o.port.socket_buffer_size, 2u << 20);
    ASSERT_TRUE(o.port.open_tcp_nodelay);
    sw_server_options_init(NULL);
    sw_port_options_init(NULL);
    sw_server_t *srv;
    ASSERT_OK(sw_server_create(&srv, SW_MODE_BASE));
    ASSERT_ERR(sw_server_set_options(srv, NULL), SW_EINVAL);
    ASSERT_ERR(sw_server_set_options(NULL, &o), SW_EINVAL);
    sw_server_options_t bad = o;
    bad.worker_num = 0;
    ASSERT_ERR(sw_server_set_options(srv, &bad), SW_EOPTION_VALUE);
    bad = o;
    bad.port.buffer_high_watermark = bad.port.socket_buffer_size + 1;
    ASSERT_ERR(sw_server_set_options(srv, &bad), SW_EOPTION_VALUE);
    bad = o;
    bad.port.buffer_high_watermark = 1000;
    bad.port.buffer_low_watermark = 1000;
    ASSERT_ERR(sw_server_set_options(srv, &bad), SW_EOPTION_VALUE);
    bad = o;
    bad.port.protocol.open_eof_check = true;
    bad.port.protocol.open_length_check = true;
    ASSERT_ERR(sw_server_set_options(srv, &bad), SW_EOPTION_VALUE);
    bad = o;
    bad.max_wait_time = 0;
    ASSERT_ERR(sw_server_set_options(srv, &bad), SW_EOPTION_VALUE);
    char path[] = "/tmp/sw-test.pid";
    o.worker_num = 2;
    o.pid_file = path;
    ASSERT_OK(sw_server_set_options(srv, &o));
    path[0] = 'X'; /* the server keeps its own copy */
    sw_server_options_t got;
    ASSERT_OK(sw_server_get_options(srv, &got));
    ASSERT_EQ(got.worker_num, 2);
    ASSERT_STR_EQ(got.pid_file, "/tmp/sw-test.pid");
    ASSERT_ERR(sw_server_get_options(srv, NULL), SW_EINVAL);
    ASSERT_OK(sw_server_destroy(srv));
}

SW_TEST(port_options)
{
    sw_server_t *srv;
    sw_port_t *a, *b;
    ASSERT_OK(sw_server_create(&srv, SW_MODE_BASE));
    ASSERT_OK(sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP, &a));
    ASSERT_OK(sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP, &b));
    ASSERT_GT(sw_port_number(a), 0);
    ASSERT_NE(sw_port_number(a), sw_port_number(b));
    ASSERT_EQ(sw_port_type(a), SW_SOCK_TCP);
    ASSERT_GE(sw_port_fd(a), 0);
    /* Server-level settings made after listen are the defaults of every port... */
    ASSERT_OK(sw_server_set_option(srv, "backlog", "100"));
    ASSERT_OK(sw_server_set_option(srv, "open_eof_split", "1"));
    /* ...except where a port set its own. */
    ASSERT_OK(sw_port_set_option(b, "backlog", "200"));
    ASSERT_OK(sw_port_set_option(b, "open_length_check", "true"));
    ASSERT_ERR(sw_port_set_option(b, "worker_num", "2"), SW_EOPTION_UNKNOWN);
    ASSERT_ERR(sw_port_set_option(b, "backlog", "-5"), SW_EOPTION_VALUE);
    ASSERT_ERR(sw_port_set_option(NULL, "backlog", "5"), SW_EINVAL);
    sw_port_options_t oa, ob;
    ASSERT_OK(sw_port_get_options(a, &oa));
    ASSERT_OK(sw_port_get_options(b, &ob));
    ASSERT_EQ(oa.backlog, 100);
    ASSERT_TRUE(oa.protocol.open_eof_split);
    ASSERT_EQ(ob.backlog, 200);
    /* b's framing started from the server's (EOF split) and added length: inconsistent. */
    ASSERT_TRUE(ob.protocol.open_length_check);
    ASSERT_TRUE(ob.protocol.open_eof_split);
    /* A configuration error at start leaves the server configurable. */
    ASSERT_ERR(sw_server_start(srv), SW_EOPTION_VALUE);
    ASSERT_OK(sw_port_set_option(b, "open_eof_split", "0"));
    ASSERT_OK(sw_port_set_option(b, "open_eof_check", "0"));
    ASSERT_OK(sw_port_get_options(b, &ob));
    ASSERT_TRUE(ob.protocol.open_length_check);
    ASSERT_FALSE(ob.protocol.open_eof_check);
    ASSERT_ERR(sw_port_number(NULL), SW_EINVAL);
    ASSERT_ERR(sw_port_type(NULL), SW_EINVAL);
    ASSERT_ERR(sw_port_fd(NULL), SW_EINVAL);
    sw_port_options_t po;
    sw_port_options_init(&po);
    po.socket_buffer_size = 10;
    ASSERT_ERR(sw_port_set_options(a, &po), SW_EOPTION_VALUE);
    sw_port_options_init(&po);
    po.backlog = 7;
    ASSERT_OK(sw_port_set_options(a, &po));
    ASSERT_OK(sw_port_get_options(a, &oa));
    ASSERT_EQ(oa.backlog, 7);
    ASSERT_FALSE(oa.protocol.open_eof_split);
    ASSERT_OK(sw_server_destroy(srv));
}

SW_TEST(listen_errors)
{
    sw_server_t *srv;
    sw_port_t *p = NULL;
    ASSERT_OK(sw_server_create(&srv, SW_MODE_BASE));
    ASSERT_ERR(sw_server_listen(NULL, "127.0.0.1", 0, SW_SOCK_TCP, &p), SW_EINVAL);
    ASSERT_ERR(sw_server_listen(srv, NULL, 0, SW_SOCK_TCP, &p), SW_EINVAL);
    ASSERT_ERR(sw_server_listen(srv, "127.0.0.1", -1, SW_SOCK_TCP, &p), SW_EINVAL);
    ASSERT_ERR(sw_server_listen(srv, "127.0.0.1", 65536, SW_SOCK_TCP, &p), SW_EINVAL);
    ASSERT_ERR(sw_server_listen(srv, "127.0.0.1", 0, (sw_sock_type_t)9, &p), SW_EINVAL);
    ASSERT_ERR(sw_server_listen(srv, "localhost", 0, SW_SOCK_TCP, &p), SW_EINVAL);
    ASSERT_ERR(sw_server_listen(srv, "::1", 0, SW_SOCK_TCP, &p), SW_EINVAL);
    ASSERT_ERR(sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP6, &p), SW_EINVAL);
    char longpath[200];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = 0;
    ASSERT_ERR(sw_server_listen(srv, longpath, 0, SW_SOCK_UNIX_STREAM, &p), SW_EINVAL);
    ASSERT_OK(sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP, &p));
    int used = sw_port_number(p);
    ASSERT_ERR(sw_server_listen(srv, "127.0.0.1", used, SW_SOCK_TCP, NULL), SW_EADDRINUSE);
    /* UDP on the same number is another socket space. */
    ASSERT_OK(sw_server_listen(srv, "127.0.0.1", used, SW_SOCK_UDP, NULL));
    ASSERT_OK(sw_server_destroy(srv));
}

SW_TEST(unix_socket_file)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/sw-srv-%d.sock", (int)getpid());
    sw_server_t *srv;
    ASSERT_OK(sw_server_create(&srv, SW_MODE_BASE));
    ASSERT_OK(sw_server_listen(srv, path, 0, SW_SOCK_UNIX_STREAM, NULL));
    struct stat st;
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_TRUE(S_ISSOCK(st.st_mode));
    ASSERT_OK(sw_server_destroy(srv));
    ASSERT_NE(stat(path, &st), 0);
    /* A stale socket file is replaced; a regular file is not touched. */
    ASSERT_OK(sw_server_create(&srv, SW_MODE_BASE));
    ASSERT_OK(sw_server_listen(srv, path, 0, SW_SOCK_UNIX_DGRAM, NULL));
    ASSERT_OK(sw_server_destroy(srv));
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fclose(f);
    ASSERT_OK(sw_server_create(&srv, SW_MODE_BASE));
    ASSERT_ERR(sw_server_listen(srv, path, 0, SW_SOCK_UNIX_STREAM, NULL), SW_EADDRINUSE);
    ASSERT_OK(sw_server_destroy(srv));
    ASSERT_EQ(stat(path, &st), 0);
    unlink(path);
}

SW_TEST(start_errors)
{
    sw_server_t *srv;
    ASSERT_ERR(sw_server_start(NULL), SW_EINVAL);
    ASSERT_OK(sw_server_create(&srv, SW_MODE_BASE));
    ASSERT_ERR(sw_server_start(srv), SW_ESERVER_STATE); /* no port */
    ASSERT_OK(sw_server_destroy(srv));
    /* THREAD mode: task_ipc_mode 2/3 are not supported (test_server_task.c has the rest). */
    ASSERT_OK(sw_server_create(&srv, SW_MODE_THREAD));
    ASSERT_OK(sw_server_set_option(srv, "task_worker_num", "1"));
    ASSERT_OK(sw_server_set_option(srv, "task_ipc_mode", "3"));
    ASSERT_OK(sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP, NULL));
    ASSERT_ERR(sw_server_start(srv), SW_ENOTSUP);
    ASSERT_OK(sw_server_destroy(srv));
}

static void timer_cb(sw_loop_t *loop, uint64_t id, void *arg)
{
    (void)loop;
    (void)id;
    (void)arg;
}

SW_TEST(calls_when_not_running)
{
    sw_server_t *srv;
    sw_port_t *udp;
    ASSERT_OK(sw_server_create(&srv, SW_MODE_BASE));
    ASSERT_OK(sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_UDP, &udp));
    ASSERT_ERR(sw_server_send(srv, 1, "x", 1), SW_ESERVER_STATE);
    ASSERT_ERR(sw_server_send(srv, 0, "x", 1), SW_EINVAL);
    ASSERT_ERR(sw_server_send(srv, 1, NULL, 1), SW_EINVAL);
    ASSERT_ERR(sw_server_send(NULL, 1, "x", 1), SW_EINVAL);
    ASSERT_ERR(sw_server_close(srv, 1, 0), SW_ESERVER_STATE);
    ASSERT_ERR(sw_server_pause(srv, 1), SW_ESERVER_STATE);
    ASSERT_ERR(sw_server_resume(srv, 1), SW_ESERVER_STATE);
    ASSERT_ERR(sw_server_sendfile(srv, 1, "/etc/hostname", 0, 0), SW_ESERVER_STATE);
    ASSERT_ERR(sw_server_sendfile(srv, 1, NULL, 0, 0), SW_EINVAL);
    ASSERT_ERR(sw_server_sendwait(srv, 1, "x", 1, 10), SW_ESERVER_STATE);
    ASSERT_ERR(sw_server_bind(srv, 1, 5), SW_ESERVER_STATE);
    ASSERT_ERR(sw_server_bind(srv, 1, 0), SW_EINVAL);
    sw_connection_info_t info;
    ASSERT_ERR(sw_server_connection_info(srv, 1, &info), SW_ESERVER_STATE);
    ASSERT_ERR(sw_server_connection_info(srv, 1, NULL), SW_EINVAL);
    ASSERT_EQ(sw_server_exists(srv, 1), 0);
    uint64_t cur = 0, ids[4];
    ASSERT_ERR(sw_server_connections(srv, &cur, ids, 4), SW_ESERVER_STATE);
    ASSERT_ERR(sw_server_connections(srv, &cur, ids, 0), SW_EINVAL);
    ASSERT_ERR(sw_server_heartbeat(srv, false, NULL, 0), SW_ENOT_WORKER);
    sw_server_stats_t st;
    ASSERT_ERR(sw_server_stats(srv, &st), SW_ESERVER_STATE);
    ASSERT_ERR(sw_server_shutdown(srv), SW_ESERVER_STATE);
    ASSERT_ERR(sw_server_reload(srv), SW_ESERVER_STATE);
    ASSERT_NULL(sw_server_loop(srv));
    uint64_t id;
    ASSERT_ERR(sw_server_after(srv, 10, timer_cb, NULL, &id), SW_ESERVER_STATE);
    ASSERT_ERR(sw_server_tick(srv, 10, timer_cb, NULL, &id), SW_ESERVER_STATE);
    ASSERT_ERR(sw_server_clear_timer(srv, 1), SW_ESERVER_STATE);
    ASSERT_EQ(sw_server_worker_id(srv), -1);
    ASSERT_EQ(sw_server_worker_pid(srv), 0);
    ASSERT_EQ(sw_server_master_pid(srv), 0);
    ASSERT_EQ(sw_server_manager_pid(srv), 0);
    ASSERT_ERR(sw_server_get_worker_pid(srv, 0), SW_ESERVER_STATE);
    /* sendto needs no running server: it is one sendto(2) on the port's socket. */
    struct sockaddr_storage to;
    socklen_t tolen = sizeof(to);
    ASSERT_EQ(getsockname(sw_port_fd(udp), (struct sockaddr *)&to, &tolen), 0);
    ASSERT_OK(sw_server_sendto(srv, udp, (struct sockaddr *)&to, tolen, "ping", 4));
    ASSERT_ERR(sw_server_sendto(srv, udp, NULL, tolen, "ping", 4), SW_EINVAL);
    sw_server_set_data(srv, &cur);
    ASSERT_PTR_EQ(sw_server_get_data(srv), &cur);
    ASSERT_ERR(sw_server_set_handlers(srv, NULL, NULL), SW_EINVAL);
    ASSERT_OK(sw_server_destroy(srv));
}
