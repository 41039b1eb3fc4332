/*
 * Real clients against the test HTTP server: curl (keep-alive over two URLs, a chunked
 * upload, a multipart upload) and Python's http.client (keep-alive, chunked upload, HEAD).
 * Each case is skipped with a message when the program is not on this machine (Debian
 * packages: curl, python3; tools/setup-debian.sh installs them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sw_test.h"
#include "test_httpd_util.h"

static int have(const char *prog)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
    return system(cmd) == 0;
}

/* Runs `cmd` and returns its standard output (malloc'd, NUL-terminated); fails the test when
 * it exits with an error. */
static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    ASSERT_NOT_NULL(p);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    ASSERT_NOT_NULL(out);
    size_t n;
    while ((n = fread(out + len, 1, cap - 1 - len, p)) > 0) {
        len += n;
        if (len == cap - 1) {
            break;
        }
    }
    out[len] = '\0';
    int st = pclose(p);
    if (st != 0) {
        sw_test_fail(__FILE__, __LINE__, "`%s` failed (%d): %s", cmd, st, out);
    }
    return out;
}

static void make_file(char *path, size_t size)
{
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    char buf[4096];
    for (size_t done = 0; done < size;) {
        size_t n = size - done < sizeof(buf) ? size - done : sizeof(buf);
        for (size_t i = 0; i < n; i++) {
            buf[i] = (char)('a' + (done + i) % 26);
        }
        ASSERT_EQ(write(fd, buf, n), (ssize_t)n);
        done += n;
    }
    close(fd);
}

static void curl_clients(sw_server_mode_t mode)
{
    if (!have("curl")) {
        SW_TEST_SKIP("curl is not installed (Debian package curl)");
    }
    char dir[] = "/tmp/sw_httpd_curl_XXXXXX";
    ASSERT_NOT_NULL(mkdtemp(dir));
    const char *opts[] = {"upload_tmp_dir", dir, NULL};
    hsrv_t s;
    hsrv_start(&s, mode, 2, opts);
    char cmd[1024];
    /* Keep-alive: the second URL reuses the first connection (num_connects 0). */
    snprintf(cmd, sizeof(cmd),
             "curl -sS --max-time 20 -w ' %%{http_code} %%{num_connects}\\n' "
             "http://127.0.0.1:%d/hello http://127.0.0.1:%d/hello",
             s.port, s.port);
    char *out = run(cmd);
    ASSERT_STR_EQ(out, "hello\n 200 1\nhello\n 200 0\n");
    free(out);
    /* Chunked upload of 300 KB, echoed back. */
    char file[] = "/tmp/sw_httpd_curl_up_XXXXXX";
    make_file(file, 300000);
    snprintf(cmd, sizeof(cmd),
             "curl -sS --max-time 20 -H 'Transfer-Encoding: chunked' --data-binary @%s "
             "http://127.0.0.1:%d/echo | cmp - %s && echo same",
             file, s.port, file);
    out = run(cmd);
    ASSERT_STR_EQ(out, "same\n");
    free(out);
    /* Multipart: a field and two files. */
    snprintf(cmd, sizeof(cmd),
             "curl -sS --max-time 20 -F f=value -F 'up1=@%s;filename=one.txt' "
             "-F 'up2=@%s;filename=two.bin' http://127.0.0.1:%d/files",
             file, file, s.port);
    out = run(cmd);
    ASSERT_NOT_NULL(strstr(out, "up1 one.txt 300000 "));
    ASSERT_NOT_NULL(strstr(out, "up2 two.bin 300000 "));
    ASSERT_NOT_NULL(strstr(out, "f=value\n"));
    free(out);
    hsrv_stop(&s);
    unlink(file);
    ASSERT_EQ(rmdir(dir), 0); /* the uploads' temporary files are gone */
}

SW_TEST_TIMEOUT(curl_base, 60)
{
    curl_clients(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(curl_process, 60)
{
    curl_clients(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(curl_thread, 60)
{
    curl_clients(SW_MODE_THREAD);
}

static const char k_py[] =
    "import http.client, sys\n"
    "c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=20)\n"
    "out = []\n"
    "for i in range(3):\n"
    "    c.request('GET', '/info?a=%d' % i, headers={'X-Case': 'py', 'Cookie': 'c=k'})\n"
    "    r = c.getresponse(); out.append('%d %s' % (r.status, r.read().decode()))\n"
    "def gen():\n"
    "    yield b'abc'\n"
    "    yield b'defg'\n"
    "c.request('POST', '/echo', body=gen(), encode_chunked=True)\n"
    "r = c.getresponse(); out.append('%d %s' % (r.status, r.read().decode()))\n"
    "c.request('HEAD', '/hello')\n"
    "r = c.getresponse(); out.append('%d %s %r' % (r.status, r.getheader('Content-Length'),"
    " r.read()))\n"
    "c.request('GET', '/chunked')\n"
    "r = c.getresponse(); out.append('%d %s' % (r.status, r.read().decode()))\n"
    "print('|'.join(out))\n";

SW_TEST_TIMEOUT(python_http_client, 60)
{
    if (!have("python3")) {
        SW_TEST_SKIP("python3 is not installed (Debian package python3)");
    }
    char script[] = "/tmp/sw_httpd_py_XXXXXX";
    int fd = mkstemp(script);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, k_py, sizeof(k_py) - 1), (ssize_t)(sizeof(k_py) - 1));
    close(fd);
    hsrv_t s;
    hsrv_start(&s, SW_MODE_BASE, 1, NULL);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "python3 %s %d", script, s.port);
    char *out = run(cmd);
    hsrv_stop(&s);
    unlink(script);
    ASSERT_STR_EQ(out, "200 GET /info a=0 c=k f= h=py v=11|200 GET /info a=1 c=k f= h=py v=11|"
                       "200 GET /info a=2 c=k f= h=py v=11|200 abcdefg|200 6 b''|200 abcdefgh\n");
    free(out);
}
