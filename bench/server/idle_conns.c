/*
 * Client of the idle-connection benchmark (issue 5, item 14): opens and holds many idle TCP
 * connections to one server.
 *
 *   idle_conns --port P [--host 127.0.0.1] --conns N [--per-proc 19000] [--sources 16]
 *              [--echo BYTES]
 *
 * The open file limit (ulimit -n, 20,000 here) bounds the connections of one process, and one
 * source address has about 28,000 ephemeral ports towards one server port: so the connections
 * are opened by ceil(N / per-proc) child processes, round-robin over the source addresses
 * 127.0.0.2 .. 127.0.0.(1 + sources) (bound with IP_BIND_ADDRESS_NO_PORT, so that the port
 * is picked at connect for the pair). With --echo, each connection sends BYTES bytes and
 * reads them back before it idles (a connection that has been used once), else it sends
 * nothing.
 *
 * Prints "connected N" once every child has all its connections, then holds them until
 * SIGTERM or SIGINT, and exits 0. A connection refused or
 * closed by the server makes it exit 1 with the count reached.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static volatile sig_atomic_t stop;

static void on_signal(int s)
{
    (void)s;
    stop = 1;
}

/* Child: opens `n` connections (the first with source index `first`), reports on `out`. */
static int child(const char *host, int port, int n, int first, int sources, int echo, int out)
{
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &dst.sin_addr);
    char *buf = echo ? malloc((size_t)echo) : NULL;
    if (echo && !buf) {
        return 1;
    }
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) {
            fprintf(stderr, "idle_conns: socket after %d: %s\n", i, strerror(errno));
            return 1;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)((first + i) % sources));
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
            connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
            fprintf(stderr, "idle_conns: connect after %d: %s\n", i, strerror(errno));
            return 1;
        }
        if (echo) {
            memset(buf, 'i', (size_t)echo);
            if (send(fd, buf, (size_t)echo, 0) != echo) {
                fprintf(stderr, "idle_conns: send: %s\n", strerror(errno));
                return 1;
            }
            for (int got = 0; got < echo;) {
                ssize_t r = recv(fd, buf + got, (size_t)(echo - got), 0);
                if (r <= 0) {
                    fprintf(stderr, "idle_conns: no echo after %d\n", i);
                    return 1;
                }
                got += (int)r;
            }
        }
    }
    free(buf);
    char c = 'r';
    if (write(out, &c, 1) != 1) {
        return 1;
    }
    while (!stop) {
        pause();
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 0, conns = 0, per_proc = 19000, sources = 16, echo = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--host")) {
            host = v;
        } else if (!strcmp(k, "--port")) {
            port = atoi(v);
        } else if (!strcmp(k, "--conns")) {
            conns = atoi(v);
        } else if (!strcmp(k, "--per-proc")) {
            per_proc = atoi(v);
        } else if (!strcmp(k, "--sources")) {
            sources = atoi(v);
        } else if (!strcmp(k, "--echo")) {
            echo = atoi(v);
        } else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
    }
    if (port <= 0 || conns <= 0 || per_proc <= 0 || sources < 1 || sources > 250 || echo < 0) {
        fprintf(stderr, "usage: idle_conns --port P --conns N [--per-proc N] [--sources S] "
                        "[--echo BYTES]\n");
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int p[2];
    if (pipe(p) < 0) {
        perror("pipe");
        return 1;
    }
    int nproc = (conns + per_proc - 1) / per_proc;
    pid_t *kids = calloc((size_t)nproc, sizeof(*kids));
    for (int k = 0; k < nproc; k++) {
        int n = k + 1 < nproc ? per_proc : conns - per_proc * (nproc - 1);
        kids[k] = fork();
        if (kids[k] == 0) {
            close(p[0]);
            _exit(child(host, port, n, k * per_proc, sources, echo, p[1]));
        }
    }
    close(p[1]);
    int ready = 0, rc = 0;
    while (ready < nproc && !stop) {
        char c;
        ssize_t r = read(p[0], &c, 1);
        if (r == 1) {
            ready++;
        } else if (r == 0 || errno != EINTR) {
            rc = 1; /* a child failed */
            break;
        }
    }
    if (rc == 0 && !stop) {
        printf("connected %d\n", conns);
        fflush(stdout);
        while (!stop) {
            pause();
        }
    }
    for (int k = 0; k < nproc; k++) {
        kill(kids[k], SIGTERM);
    }
    for (int k = 0; k < nproc; k++) {
        int st;
        waitpid(kids[k], &st, 0);
    }
    free(kids);
    return rc;
}
