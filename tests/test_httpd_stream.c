/*
 * Requests delivered to the worker in pieces (http_piece_size; swoole/http_server.h "Large
 * requests"), over loopback in BASE, PROCESS and THREAD mode: Content-Length and chunked
 * bodies far larger than a piece arrive intact (size and checksum), in a temporary file that
 * is removed afterwards; multipart uploads and urlencoded forms in pieces; the connection
 * keeps serving after such a request; a chunked body past package_max_length is 413, a bad
 * chunk line in a later piece 400; a peer that vanishes mid-request leaves no file behind;
 * pieces of one request stay on one worker under round-robin dispatch; a 128 MiB upload
 * with package_max_length 1 GiB leaves every server process's peak RSS far below the body.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sw_test.h"
#include "test_httpd_util.h"
#include "test_server_util.h"

/* The body's byte i and the checksum the /sum route computes. */
static unsigned char pat(uint64_t i)
{
    return (unsigned char)(i * 7 + (i >> 12));
}

static unsigned long pat_sum(uint64_t n)
{
    unsigned long s = 0;
    for (uint64_t i = 0; i < n; i++) {
        s = s * 31 + pat(i);
    }
    return s;
}

/* Sends everything, or stops quietly when the server has closed (a refused request). */
static int send_quiet(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Sends `n` bytes of the pattern, from stream offset `from`, as they are (Content-Length). */
static int send_pattern(int fd, uint64_t from, uint64_t n)
{
    static unsigned char buf[1 << 16];
    while (n > 0) {
        size_t k = n < sizeof(buf) ? (size_t)n : sizeof(buf);
        for (size_t i = 0; i < k; i++) {
            buf[i] = pat(from + i);
        }
        if (send_quiet(fd, buf, k) < 0) {
            return -1;
        }
        from += k;
        n -= k;
    }
    return 0;
}

/* Sends `n` bytes of the pattern as chunks of varying sizes (1 .. 70,000 bytes). */
static int send_chunked(int fd, uint64_t n)
{
    static unsigned char buf[80000];
    uint64_t off = 0, seed = 12345;
    while (off < n) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t k = 1 + (size_t)((seed >> 33) % 70000);
        if (k > n - off) {
            k = (size_t)(n - off);
        }
        int h = snprintf((char *)buf, 32, "%zx\r\n", k);
        for (size_t i = 0; i < k; i++) {
            buf[(size_t)h + i] = pat(off + i);
        }
        memcpy(buf + h + k, "\r\n", 2);
        if (send_quiet(fd, buf, (size_t)h + k + 2) < 0) {
            return -1;
        }
        off += k;
    }
    return send_quiet(fd, "0\r\nX-T: tail\r\n\r\n", 16);
}

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ASSERT_NOT_NULL(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* Waits (bounded) for the upload directory to be empty: in PROCESS and THREAD mode a response
 * may arrive a moment before the worker has removed the request's files. */
static void wait_empty(const char *dir)
{
    for (int i = 0; i < 500 && dir_entries(dir) > 0; i++) {
        usleep(10000);
    }
    ASSERT_EQ(dir_entries(dir), 0);
}

/* The server closed the connection (an orderly close, or a reset when our unread bytes were
 * still in its socket). */
#define ASSERT_CLOSED(fd)                            \
    do {                                             \
        int e_ = cli_wait_close(fd);                 \
        ASSERT_TRUE(e_ == 0 || e_ == SW_ECONNRESET); \
    } while (0)

static void expect_body(int fd, int status, const char *want)
{
    hresp_t r;
    ASSERT_EQ(hresp_read(fd, &r, 0), 0);
    if (r.status != status || (want && strcmp(r.body, want) != 0)) {
        sw_test_fail(__FILE__, __LINE__, "got %d \"%s\", want %d \"%s\"", r.status, r.body, status,
                     want ? want : "");
    }
    hresp_free(&r);
}

/* A new connection is answered (the server goes on after what came before). */
static void hello_ok(int port)
{
    int fd = cli_tcp(port);
    cli_send(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 32);
    expect_body(fd, 200, "hello\n");
    close(fd);
}

typedef struct {
    char dir[64];
    hsrv_t s;
} fixture_t;

/* A server with package_max_length `max` and pieces of `piece` bytes, uploads under a private
 * directory; extra options appended. */
static void start(fixture_t *f, sw_server_mode_t mode, int workers, const char *max,
                  const char *piece, const char *const *extra)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/sw_httpd_stream_XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(f->dir));
    const char *opts[32] = {"upload_tmp_dir",       f->dir, "port:package_max_length", max,
                            "port:http_piece_size", piece};
    int k = 6;
    for (int i = 0; extra && extra[i] && k < 30; i++) {
        opts[k++] = extra[i];
    }
    opts[k] = NULL;
    hsrv_start(&f->s, mode, workers, opts);
}

static void stop(fixture_t *f)
{
    hsrv_stop(&f->s);
    ASSERT_EQ(rmdir(f->dir), 0); /* empty: nothing was left behind */
}

static void bodies(sw_server_mode_t mode)
{
    fixture_t f;
    start(&f, mode, 2, "67108864", "65536", NULL);
    int fd = cli_tcp(f.s.port);
    char head[256], want[256];
    /* Content-Length: 5 MiB in 80 pieces. */
    uint64_t n = 5u << 20;
    int h = snprintf(head, sizeof(head),
                     "POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: %llu\r\n\r\n",
                     (unsigned long long)n);
    cli_send(fd, head, (size_t)h);
    ASSERT_OK(send_pattern(fd, 0, n));
    snprintf(want, sizeof(want), "size=%llu file=1 sum=%lu f= files=0", (unsigned long long)n,
             pat_sum(n));
    expect_body(fd, 200, want);
    /* The same connection goes on: a small request (whole), then a chunked 3 MiB body. */
    cli_send(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 32);
    expect_body(fd, 200, "hello\n");
    n = 3u << 20;
    const char *ch = "POST /sum HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    cli_send(fd, ch, strlen(ch));
    ASSERT_OK(send_chunked(fd, n));
    snprintf(want, sizeof(want), "size=%llu file=1 sum=%lu f= files=0", (unsigned long long)n,
             pat_sum(n));
    expect_body(fd, 200, want);
    /* Echoed with sendfile of its temporary file, twice pipelined (the second response is
     * held behind the first: the file is sent later, then removed). */
    n = 2u << 20;
    h = snprintf(head, sizeof(head),
                 "POST /echofile HTTP/1.1\r\nHost: x\r\nContent-Length: %llu\r\n\r\n",
                 (unsigned long long)n);
    for (int i = 0; i < 2; i++) {
        cli_send(fd, head, (size_t)h);
        ASSERT_OK(send_pattern(fd, 0, n));
    }
    for (int i = 0; i < 2; i++) {
        hresp_t r;
        ASSERT_EQ(hresp_read(fd, &r, 0), 0);
        ASSERT_EQ(r.status, 200);
        ASSERT_EQ(r.body_len, (size_t)n);
        for (size_t k = 0; k < n; k++) {
            if ((unsigned char)r.body[k] != pat(k)) {
                sw_test_fail(__FILE__, __LINE__, "byte %zu differs", k);
            }
        }
        hresp_free(&r);
    }
    /* A body no longer than a piece stays whole and in memory. */
    n = 60000;
    h = snprintf(head, sizeof(head), "PUT /sum HTTP/1.1\r\nHost: x\r\nContent-Length: %llu\r\n\r\n",
                 (unsigned long long)n);
    cli_send(fd, head, (size_t)h);
    ASSERT_OK(send_pattern(fd, 0, n));
    snprintf(want, sizeof(want), "size=%llu file=0 sum=%lu f= files=0", (unsigned long long)n,
             pat_sum(n));
    expect_body(fd, 200, want);
    close(fd);
    wait_empty(f.dir);
    stop(&f);
}

SW_TEST_TIMEOUT(bodies_base, 120)
{
    bodies(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(bodies_process, 120)
{
    bodies(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(bodies_thread, 120)
{
    bodies(SW_MODE_THREAD);
}

/* Multipart with two large files and a field, and an urlencoded form, both in pieces. */
static void forms(sw_server_mode_t mode)
{
    fixture_t f;
    start(&f, mode, 1, "67108864", "65536", NULL);
    int fd = cli_tcp(f.s.port);
    uint64_t n1 = 1500000, n2 = 700001;
    char pre1[256], pre2[256], head[512];
    int l1 = snprintf(pre1, sizeof(pre1),
                      "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nvalue of f\r\n"
                      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a.bin\"\r\n"
                      "Content-Type: application/octet-stream\r\n\r\n");
    int l2 = snprintf(pre2, sizeof(pre2),
                      "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"b\"; "
                      "filename=\"b.bin\"\r\n\r\n");
    const char *end = "\r\n--XyZ--\r\n";
    uint64_t total = (uint64_t)l1 + n1 + (uint64_t)l2 + n2 + strlen(end);
    int h = snprintf(head, sizeof(head),
                     "POST /files HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                     "boundary=XyZ\r\nContent-Length: %llu\r\n\r\n",
                     (unsigned long long)total);
    cli_send(fd, head, (size_t)h);
    cli_send(fd, pre1, (size_t)l1);
    ASSERT_OK(send_pattern(fd, 0, n1));
    cli_send(fd, pre2, (size_t)l2);
    ASSERT_OK(send_pattern(fd, 0, n2));
    cli_send(fd, end, strlen(end));
    hresp_t r;
    ASSERT_EQ(hresp_read(fd, &r, 0), 0);
    ASSERT_EQ(r.status, 200);
    char fa[64], na[64], pa[512], fb[64], nb[64], pb[512];
    unsigned long long sa, sb;
    unsigned long ca, cb;
    ASSERT_EQ(sscanf(r.body, "%63s %63s %llu %lu %511s\n%63s %63s %llu %lu %511s", fa, na, &sa, &ca,
                     pa, fb, nb, &sb, &cb, pb),
              10);
    ASSERT_STR_EQ(fa, "a");
    ASSERT_EQ(sa, n1);
    ASSERT_EQ(ca, pat_sum(n1));
    ASSERT_STR_EQ(fb, "b");
    ASSERT_EQ(sb, n2);
    ASSERT_EQ(cb, pat_sum(n2));
    ASSERT_NOT_NULL(strstr(r.body, "f=value of f\n"));
    hresp_free(&r);
    /* An urlencoded form of 300 KB: parsed from the body file. */
    size_t big = 300000;
    char *form = malloc(big + 64);
    ASSERT_NOT_NULL(form);
    size_t k = (size_t)snprintf(form, 64, "g=");
    memset(form + k, 'x', big);
    k += big;
    k += (size_t)snprintf(form + k, 64, "&f=hello+there");
    h = snprintf(head, sizeof(head),
                 "POST /sum HTTP/1.1\r\nHost: x\r\nContent-Type: "
                 "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n",
                 k);
    cli_send(fd, head, (size_t)h);
    cli_send(fd, form, k);
    unsigned long s = 0;
    for (size_t i = 0; i < k; i++) {
        s = s * 31 + (unsigned char)form[i];
    }
    char want[256];
    snprintf(want, sizeof(want), "size=%zu file=1 sum=%lu f=hello there files=0", k, s);
    expect_body(fd, 200, want);
    free(form);
    close(fd);
    wait_empty(f.dir);
    stop(&f);
}

SW_TEST_TIMEOUT(forms_base, 120)
{
    forms(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(forms_process, 120)
{
    forms(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(forms_thread, 120)
{
    forms(SW_MODE_THREAD);
}

/* What cannot be completed: a chunked body past package_max_length (413), a bad chunk line in
 * a later piece (400), a client gone in the middle (no file left, the server goes on). */
static void refused(sw_server_mode_t mode)
{
    fixture_t f;
    start(&f, mode, 1, "1048576", "65536", NULL);
    const char *ch = "POST /sum HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    int fd = cli_tcp(f.s.port);
    cli_send(fd, ch, strlen(ch));
    (void)send_chunked(fd, (1u << 20) + 200000);
    expect_body(fd, 413, NULL);
    ASSERT_CLOSED(fd);
    close(fd);

    fd = cli_tcp(f.s.port);
    cli_send(fd, ch, strlen(ch));
    char buf[70000];
    int k = snprintf(buf, 16, "%x\r\n", 60000);
    memset(buf + k, 'z', 60000);
    memcpy(buf + k + 60000, "\r\n", 2);
    for (int i = 0; i < 4; i++) {
        cli_send(fd, buf, (size_t)k + 60002);
    }
    cli_send(fd, "12;x\r\nabc\r\n", 11); /* data shorter than its size: no CRLF where due */
    cli_send(fd, "0123456789abcdef\r\n", 18);
    expect_body(fd, 400, NULL);
    ASSERT_CLOSED(fd);
    close(fd);

    /* Half a body, then the client is gone. */
    fd = cli_tcp(f.s.port);
    cli_send(fd, "PUT /sum HTTP/1.1\r\nHost: x\r\nContent-Length: 900000\r\n\r\n", 54);
    ASSERT_OK(send_pattern(fd, 0, 450000));
    usleep(100000);
    close(fd);
    wait_empty(f.dir);
    hello_ok(f.s.port);
    stop(&f);
}

SW_TEST_TIMEOUT(refused_base, 120)
{
    refused(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(refused_process, 120)
{
    refused(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(refused_thread, 120)
{
    refused(SW_MODE_THREAD);
}

/* Round-robin dispatch (mode 1) and max_request 1 with three workers: every piece of a
 * request reaches the worker that has its head, and a worker is not recycled in the middle
 * of one. Several connections upload at once. */
static void sticky(sw_server_mode_t mode)
{
    fixture_t f;
    const char *extra[] = {"dispatch_mode", "1", "max_request", "1", NULL};
    start(&f, mode, 3, "67108864", "32768", extra);
    enum { N = 4 };
    int fds[N];
    uint64_t n = 1u << 20;
    char head[256], want[256];
    int h = snprintf(head, sizeof(head),
                     "POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: %llu\r\n\r\n",
                     (unsigned long long)n);
    for (int i = 0; i < N; i++) {
        fds[i] = cli_tcp(f.s.port);
        cli_send(fds[i], head, (size_t)h);
    }
    /* Interleaved: a slice of each in turn. */
    for (uint64_t off = 0; off < n; off += 100000) {
        uint64_t k = n - off < 100000 ? n - off : 100000;
        for (int i = 0; i < N; i++) {
            ASSERT_OK(send_pattern(fds[i], off, k));
        }
    }
    snprintf(want, sizeof(want), "size=%llu file=1 sum=%lu f= files=0", (unsigned long long)n,
             pat_sum(n));
    for (int i = 0; i < N; i++) {
        expect_body(fds[i], 200, want);
        close(fds[i]);
    }
    wait_empty(f.dir);
    stop(&f);
}

SW_TEST_TIMEOUT(sticky_process, 120)
{
    sticky(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(sticky_thread, 120)
{
    sticky(SW_MODE_THREAD);
}

/* Peak resident memory (VmHWM, kB) of `pid` and of every process descending from it. */
static long peak_rss_tree(pid_t pid)
{
    char path[128];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *fp = fopen(path, "r");
    long peak = 0;
    char line[256];
    while (fp && fgets(line, sizeof(line), fp)) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            peak = atol(line + 6);
        }
    }
    if (fp) {
        fclose(fp);
    }
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
    fp = fopen(path, "r");
    int child;
    while (fp && fscanf(fp, "%d", &child) == 1) {
        long p = peak_rss_tree((pid_t)child);
        peak = p > peak ? p : peak;
    }
    if (fp) {
        fclose(fp);
    }
    return peak;
}

/* 128 MiB with package_max_length 1 GiB and the default piece size: no server process ever
 * holds the body (peak RSS under 64 MiB, where a whole request would need 128 MiB at least).
 * Sanitizer builds keep freed memory in quarantine, which says nothing about the server:
 * there the request is only checked to arrive. */
static void big(sw_server_mode_t mode)
{
    fixture_t f;
    snprintf(f.dir, sizeof(f.dir), "/tmp/sw_httpd_stream_XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(f.dir));
    const char *opts[] = {"upload_tmp_dir", f.dir, "port:package_max_length", "1073741824", NULL};
    hsrv_start(&f.s, mode, 1, opts);
    int fd = cli_tcp(f.s.port);
    uint64_t n = 128u << 20;
    char head[256], want[256];
    int h = snprintf(head, sizeof(head),
                     "PUT /size HTTP/1.1\r\nHost: x\r\nContent-Length: %llu\r\n\r\n",
                     (unsigned long long)n);
    cli_send(fd, head, (size_t)h);
    ASSERT_OK(send_pattern(fd, 0, n));
    snprintf(want, sizeof(want), "size=%llu file=1 sum=0 f= files=0", (unsigned long long)n);
    expect_body(fd, 200, want);
    long peak = peak_rss_tree(f.s.pid);
    close(fd);
    wait_empty(f.dir);
    stop(&f);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    (void)peak;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    (void)peak;
#else
    ASSERT_GT(peak, 0);
    ASSERT_LT(peak, 64 * 1024);
#endif
#else
    ASSERT_GT(peak, 0);
    ASSERT_LT(peak, 64 * 1024);
#endif
}

SW_TEST_TIMEOUT(big_base, 300)
{
    big(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(big_process, 300)
{
    big(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(big_thread, 300)
{
    big(SW_MODE_THREAD);
}

/* The body file cannot be created or written: 500, the connection closes, nothing is left. */
static void faults(const char *point)
{
    fixture_t f;
    const char *extra[] = {point, "0", NULL};
    start(&f, SW_MODE_BASE, 1, "67108864", "65536", extra);
    int fd = cli_tcp(f.s.port);
    cli_send(fd, "PUT /sum HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n", 54);
    (void)send_pattern(fd, 0, 300000);
    expect_body(fd, 500, NULL);
    ASSERT_CLOSED(fd);
    close(fd);
    wait_empty(f.dir);
    stop(&f);
}

SW_TEST_TIMEOUT(fault_open, 60)
{
    faults("fault:httpd_body_open");
}

SW_TEST_TIMEOUT(fault_write, 60)
{
    faults("fault:httpd_body_write");
}

SW_TEST_TIMEOUT(fault_mmap, 60)
{
    faults("fault:httpd_body_mmap");
}

SW_TEST_TIMEOUT(fault_link, 60)
{
    /* The complete body file cannot be given its name. */
    faults("fault:httpd_tmp_link");
}

/* The deepest process under `pid` (PROCESS mode with one worker: master, manager, worker). */
static pid_t leaf(pid_t pid)
{
    char path[128];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *fp = fopen(path, "r");
    int child = 0;
    int n = fp ? fscanf(fp, "%d", &child) : 0;
    if (fp) {
        fclose(fp);
    }
    return n == 1 && child > 0 ? leaf((pid_t)child) : pid;
}

/* The worker that holds the first pieces is killed: the rest is answered 500 by the worker
 * that replaces it (or the connection just ends), the unfinished body file goes with the dead
 * worker (it has no name yet), and the server goes on. */
SW_TEST_TIMEOUT(worker_killed_process, 120)
{
    fixture_t f;
    start(&f, SW_MODE_PROCESS, 1, "67108864", "65536", NULL);
    int fd = cli_tcp(f.s.port);
    const char *head = "PUT /sum HTTP/1.1\r\nHost: x\r\nContent-Length: 4194304\r\n\r\n";
    cli_send(fd, head, strlen(head));
    ASSERT_OK(send_pattern(fd, 0, 1u << 20));
    usleep(200000);
    pid_t w = leaf(f.s.pid);
    ASSERT_NE(w, f.s.pid);
    ASSERT_EQ(kill(w, SIGKILL), 0);
    (void)send_pattern(fd, 1u << 20, 3u << 20);
    hresp_t r;
    if (hresp_read(fd, &r, 0) == 0) {
        ASSERT_EQ(r.status, 500);
        hresp_free(&r);
    }
    ASSERT_CLOSED(fd);
    close(fd);
    wait_empty(f.dir);
    hello_ok(f.s.port); /* served by the new worker */
    stop(&f);
}

/* A plain server (no HTTP layer) on a port with HTTP framing in pieces: on_receive sees each
 * piece with its sw_server_message_piece bits, and answers "<len>:<bits>\n". */
static void piece_receive(sw_server_t *srv, uint64_t session, int reactor_id, const char *data,
                          size_t len, void *arg)
{
    (void)reactor_id;
    (void)data;
    (void)arg;
    char line[64];
    int n = snprintf(line, sizeof(line), "%zu:%u\n", len, sw_server_message_piece(srv));
    sw_server_send(srv, session, line, (size_t)n);
}

static int piece_run(sw_server_mode_t mode, int workers, const char *const *opts, int wfd)
{
    (void)opts;
    sw_server_t *srv;
    sw_port_t *port;
    int r = fork_server_create(&srv, &port, mode, workers, "HTTPD_TEST_LOG");
    if (!srv) {
        return 1;
    }
    r |= sw_port_set_option(port, "open_http_protocol", "1");
    r |= sw_port_set_option(port, "http_piece_size", "1000");
    r |= sw_server_set_option(srv, "dispatch_mode", "1");
    sw_server_handlers_t h = {.on_receive = piece_receive};
    r |= sw_server_set_handlers(srv, &h, NULL);
    int p = r == 0 ? sw_port_number(port) : -1;
    if (write(wfd, &p, sizeof(p)) != (ssize_t)sizeof(p) || r != 0) {
        return 1;
    }
    close(wfd);
    r = sw_server_start(srv);
    sw_server_destroy(srv);
    return r == 0 ? 0 : 1;
}

static void plain_pieces(sw_server_mode_t mode)
{
    int port;
    pid_t pid = fork_server(piece_run, mode, 2, NULL, &port, sizeof(port), "plain");
    int fd = cli_tcp(port);
    const char *h = "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3500\r\n\r\n";
    size_t hl = strlen(h); /* 50 */
    cli_send(fd, h, hl);
    ASSERT_OK(send_pattern(fd, 0, 3500));
    /* 3550 bytes in pieces: 1000 (MORE), 1000, 1000 (MORE|CONT), 550 (CONT), all answered by
     * one worker in order although dispatch is round-robin; then a whole GET (sent after
     * those answers: another worker may answer it). */
    const char *want = "1000:1\n1000:3\n1000:3\n550:2\n";
    char got[128] = {0};
    cli_recv(fd, got, strlen(want));
    ASSERT_STR_EQ(got, want);
    cli_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
    memset(got, 0, sizeof(got));
    cli_recv(fd, got, 5);
    ASSERT_STR_EQ(got, "27:0\n");
    close(fd);
    fork_server_stop(pid, "plain");
}

SW_TEST_TIMEOUT(plain_pieces_base, 60)
{
    plain_pieces(SW_MODE_BASE);
}

SW_TEST_TIMEOUT(plain_pieces_process, 60)
{
    plain_pieces(SW_MODE_PROCESS);
}

SW_TEST_TIMEOUT(plain_pieces_thread, 60)
{
    plain_pieces(SW_MODE_THREAD);
}
