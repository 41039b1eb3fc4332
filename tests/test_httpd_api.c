/*
 * The HTTP server's calls with bad arguments and in bad states, options, responses misused
 * inside a handler, and a failing temporary file during an upload (fault point "open").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sw_test.h"
#include "test_httpd_util.h"
#include "test_server_util.h"

/* Sends `req` on a new connection to `port` and reads the response into r (the connection is
 * closed again). */
static void exchange(int port, const char *req, hresp_t *r)
{
    int fd = cli_tcp(port);
    cli_send(fd, req, strlen(req));
    ASSERT_EQ(hresp_read(fd, r, 0), 0);
    close(fd);
}

/* POST /files with one multipart file (field "u", file name "x") holding `content`; returns
 * the response's status, its body in r. */
static int upload(int port, const char *content, hresp_t *r)
{
    char body[256], req[512];
    snprintf(body, sizeof(body),
             "--B\r\nContent-Disposition: form-data; name=\"u\"; filename=\"x\"\r\n\r\n"
             "%s\r\n--B--\r\n",
             content);
    snprintf(req, sizeof(req),
             "POST /files HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
             "boundary=B\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    exchange(port, req, r);
    return r->status;
}

SW_TEST(api_bad_args)
{
    sw_server_t *srv;
    sw_http_server_t *hs;
    ASSERT_OK(sw_server_create(&srv, SW_MODE_BASE));
    ASSERT_ERR(sw_http_server_create(NULL, srv), SW_EINVAL);
    ASSERT_ERR(sw_http_server_create(&hs, NULL), SW_EINVAL);
    ASSERT_ERR(sw_http_server_destroy(NULL), SW_EINVAL);
    ASSERT_NULL(sw_http_server_server(NULL));
    ASSERT_OK(sw_http_server_create(&hs, srv));
    ASSERT_PTR_EQ(sw_http_server_server(hs), srv);
    ASSERT_ERR(sw_http_server_set_option(NULL, "document_root", "/"), SW_EINVAL);
    ASSERT_ERR(sw_http_server_set_option(hs, NULL, "/"), SW_EINVAL);
    ASSERT_ERR(sw_http_server_set_option(hs, "document_root", NULL), SW_EINVAL);
    ASSERT_ERR(sw_http_server_set_option(hs, "no_such_option", "1"), SW_EOPTION_UNKNOWN);
    ASSERT_ERR(sw_http_server_set_option(hs, "enable_static_handler", "yes"), SW_EOPTION_VALUE);
    ASSERT_ERR(sw_http_server_set_option(hs, "http_compression_level", "10"), SW_EOPTION_VALUE);
    ASSERT_ERR(sw_http_server_set_option(hs, "http_compression_level", "1.5"), SW_EOPTION_VALUE);
    ASSERT_ERR(sw_http_server_set_option(hs, "http_header_timeout", "-1"), SW_EOPTION_VALUE);
    ASSERT_ERR(sw_http_server_set_option(hs, "http_header_timeout", "x"), SW_EOPTION_VALUE);
    ASSERT_ERR(sw_http_server_set_option(hs, "upload_tmp_dir", ""), SW_EOPTION_VALUE);
    ASSERT_ERR(sw_http_server_set_option(hs, "upload_max_filesize", "0"), SW_EOPTION_VALUE);
    ASSERT_ERR(sw_http_server_set_option(hs, "http_server_software", "a\r\nb"), SW_EOPTION_VALUE);
    ASSERT_OK(sw_http_server_set_option(hs, "http_server_software", ""));
    ASSERT_OK(sw_http_server_set_option(hs, "enable_static_handler", "true"));
    ASSERT_OK(sw_http_server_set_option(hs, "http_header_timeout", "0.5"));
    ASSERT_OK(sw_http_server_set_option(hs, "upload_max_filesize", "1048576"));
    ASSERT_OK(sw_http_server_set_option(hs, "http_compression", "false"));
    ASSERT_OK(sw_http_server_set_option(hs, "http_parse_files", "0"));
    ASSERT_ERR(sw_http_server_enable_port(hs, NULL), SW_EINVAL);
    ASSERT_ERR(sw_http_server_enable_port(NULL, NULL), SW_EINVAL);
    sw_port_t *udp, *tcp, *first = NULL;
    ASSERT_OK(sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_UDP, &udp));
    ASSERT_ERR(sw_http_server_enable_port(hs, udp), SW_EINVAL);
    for (int i = 0; i < 16; i++) {
        ASSERT_OK(sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP, &tcp));
        ASSERT_OK(sw_http_server_enable_port(hs, tcp));
        ASSERT_OK(sw_http_server_enable_port(hs, tcp)); /* twice is fine */
        first = first ? first : tcp;
    }
    ASSERT_OK(sw_server_listen(srv, "127.0.0.1", 0, SW_SOCK_TCP, &tcp));
    ASSERT_ERR(sw_http_server_enable_port(hs, tcp), SW_EOVERFLOW);
    /* An enabled port frames HTTP. */
    sw_port_options_t po;
    ASSERT_OK(sw_port_get_options(tcp, &po));
    ASSERT_EQ(po.protocol.open_http_protocol, false);
    ASSERT_OK(sw_port_get_options(first, &po));
    ASSERT_EQ(po.protocol.open_http_protocol, true);
    ASSERT_ERR(sw_http_server_set_handlers(hs, NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw_http_server_set_handlers(NULL, NULL, NULL), SW_EINVAL);
    /* NULL requests and responses. */
    ASSERT_ERR(sw_http_request_method(NULL), SW_EINVAL);
    ASSERT_ERR(sw_http_request_version(NULL), SW_EINVAL);
    ASSERT_NULL(sw_http_request_path(NULL, NULL));
    ASSERT_NULL(sw_http_request_uri(NULL, NULL));
    ASSERT_NULL(sw_http_request_header(NULL, "a", NULL));
    ASSERT_NULL(sw_http_request_get(NULL, "a", NULL));
    ASSERT_NULL(sw_http_request_post(NULL, "a", NULL));
    ASSERT_NULL(sw_http_request_cookie(NULL, "a", NULL));
    ASSERT_EQ(sw_http_request_file_count(NULL), 0u);
    ASSERT_EQ(sw_http_request_header_count(NULL), 0u);
    ASSERT_ERR(sw_http_response_status(NULL, 200, NULL), SW_EINVAL);
    ASSERT_ERR(sw_http_response_header(NULL, "a", "b"), SW_EINVAL);
    ASSERT_ERR(sw_http_response_cookie(NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw_http_response_write(NULL, "a", 1), SW_EINVAL);
    ASSERT_ERR(sw_http_response_end(NULL, "a", 1), SW_EINVAL);
    ASSERT_ERR(sw_http_response_sendfile(NULL, "/", 0, 0), SW_EINVAL);
    ASSERT_ERR(sw_http_response_gzip(NULL, 1), SW_EINVAL);
    ASSERT_EQ(sw_http_response_writable(NULL), 0);
    ASSERT_OK(sw_http_server_destroy(hs));
    ASSERT_OK(sw_server_destroy(srv));
}

SW_TEST(api_misuse_in_handler)
{
    hsrv_t s;
    hsrv_start(&s, SW_MODE_BASE, 1, NULL);
    hresp_t r;
    exchange(s.port, "GET /misuse HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STR_EQ(r.body, "xbad=0");
    hresp_free(&r);
    hsrv_stop(&s);
}

/* The temporary file of an upload cannot be created: 500, nothing left behind, and the
 * server goes on serving. */
SW_TEST(upload_open_fault)
{
#ifndef SWOOLE_FAULT_INJECTION
    SW_TEST_SKIP("built without fault injection");
#else
    char dir[] = "/tmp/sw_httpd_fault_XXXXXX";
    ASSERT_NOT_NULL(mkdtemp(dir));
    const char *opts[] = {"upload_tmp_dir", dir, "fault:open", "0", NULL};
    hsrv_t s;
    hsrv_start(&s, SW_MODE_BASE, 1, opts);
    hresp_t r;
    ASSERT_EQ(upload(s.port, "data", &r), 500);
    hresp_free(&r);
    /* The fault fired once: the next upload works. */
    ASSERT_EQ(upload(s.port, "data", &r), 200);
    ASSERT_NOT_NULL(strstr(r.body, "u x 4 "));
    hresp_free(&r);
    hsrv_stop(&s);
    ASSERT_EQ(rmdir(dir), 0);
#endif
}

/* A port not enabled for HTTP reaches the user's on_receive; the HTTP port still serves. */
static void mixed_ports(sw_server_mode_t mode)
{
    static const char *const opts[] = {"raw_port", "1", NULL};
    hsrv_t s;
    hsrv_start(&s, mode, 1, opts);
    ASSERT_GT(s.raw_port, 0);
    int raw = cli_tcp(s.raw_port);
    cli_send(raw, "not http\n", 9);
    char buf[16];
    cli_recv(raw, buf, 9);
    ASSERT_MEM_EQ(buf, "not http\n", 9);
    hresp_t r;
    exchange(s.port, "GET /remote HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    ASSERT_STR_EQ(r.body, "127.0.0.1 1 1");
    hresp_free(&r);
    close(raw);
    hsrv_stop(&s);
}

SW_TEST(mixed_ports_base)
{
    mixed_ports(SW_MODE_BASE);
}

SW_TEST(mixed_ports_process)
{
    mixed_ports(SW_MODE_PROCESS);
}

SW_TEST(mixed_ports_thread)
{
    mixed_ports(SW_MODE_THREAD);
}

/* A file over upload_max_filesize: 413, and its partial temporary file is removed. */
SW_TEST(upload_max_filesize)
{
    char dir[] = "/tmp/sw_httpd_max_XXXXXX";
    ASSERT_NOT_NULL(mkdtemp(dir));
    const char *opts[] = {"upload_tmp_dir", dir, "upload_max_filesize", "8", NULL};
    hsrv_t s;
    hsrv_start(&s, SW_MODE_BASE, 1, opts);
    hresp_t r;
    ASSERT_EQ(upload(s.port, "0123456789", &r), 413);
    hresp_free(&r);
    hsrv_stop(&s);
    ASSERT_EQ(rmdir(dir), 0);
}

/* The server callbacks of sw_http_handlers_t.server reach the user (on_task here): a request
 * answered through a task worker, in each mode that has task workers. */
static void task_through_http(sw_server_mode_t mode)
{
    const char *opts[] = {"task_worker_num", "1", NULL};
    hsrv_t s;
    hsrv_start(&s, mode, 1, opts);
    hresp_t r;
    exchange(s.port, "POST /task HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nping", &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STR_EQ(r.body, "task:ping");
    hresp_free(&r);
    hsrv_stop(&s);
}

SW_TEST(task_callbacks_base)
{
    task_through_http(SW_MODE_BASE);
}

SW_TEST(task_callbacks_process)
{
    task_through_http(SW_MODE_PROCESS);
}

SW_TEST(task_callbacks_thread)
{
    task_through_http(SW_MODE_THREAD);
}
