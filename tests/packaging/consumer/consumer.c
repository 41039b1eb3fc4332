/*
 * A program that uses an installed libswoole the way a user would: through <swoole.h> and
 * whatever pkg-config or find_package(swoole) says. tests/packaging/install_consumer.sh builds
 * it four ways (pkg-config shared and static, CMake swoole::swoole and swoole::swoole_static)
 * and compares its output with what it expects:
 *
 *     version <major.minor.patch>
 *     SW_EINVAL: invalid argument (EINVAL)
 *     loop: 3 ticks, 3 bytes
 *
 * The loop part is the quick start's shape: a timer ticks three times, each tick writes a byte
 * into a pipe, an fd watcher reads them, and the loop ends by itself when nothing is left.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <swoole.h>

typedef struct {
    int fds[2];
    sw_io_t reader;
    int ticks;
    int bytes;
} demo_t;

static void on_tick(sw_loop_t *loop, uint64_t id, void *arg)
{
    demo_t *d = arg;
    if (write(d->fds[1], "x", 1) == 1 && ++d->ticks == 3) {
        sw_timer_clear(loop, id);
    }
}

static void on_readable(sw_io_t *io, int events, void *arg)
{
    demo_t *d = arg;
    char c;
    (void)events;
    if (read(d->fds[0], &c, 1) == 1 && ++d->bytes == 3) {
        sw_io_stop(io);
    }
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "consumer: %s: %s\n", what, sw_strerror(rc));
    return 1;
}

int main(void)
{
    char header_version[32];
    snprintf(header_version, sizeof(header_version), "%d.%d.%d", SW_VERSION_MAJOR, SW_VERSION_MINOR,
             SW_VERSION_PATCH);
    if (strcmp(header_version, sw_version_string()) != 0 || sw_version() != SW_VERSION_HEX) {
        fprintf(stderr, "consumer: headers say %s, library says %s\n", header_version,
                sw_version_string());
        return 1;
    }
    printf("version %s\n", sw_version_string());
    printf("SW_EINVAL: %s (%s)\n", sw_strerror(SW_EINVAL), sw_err_name(SW_EINVAL));

    demo_t d = {.ticks = 0};
    sw_loop_t *loop;
    int rc = sw_loop_create(&loop, NULL);
    if (rc < 0) {
        return fail("sw_loop_create", rc);
    }
    if (pipe(d.fds) < 0) {
        perror("pipe");
        return 1;
    }
    if ((rc = sw_io_init(loop, &d.reader, d.fds[0], on_readable, &d)) < 0 ||
        (rc = sw_io_start(&d.reader, SW_EVENT_READ)) < 0 ||
        (rc = sw_timer_tick(loop, 1, on_tick, &d, NULL)) < 0) {
        return fail("start", rc);
    }
    if ((rc = sw_loop_run(loop, SW_RUN_DEFAULT)) != 0) {
        return fail("sw_loop_run", rc);
    }
    if ((rc = sw_loop_destroy(loop)) != 0) {
        return fail("sw_loop_destroy", rc);
    }
    close(d.fds[0]);
    close(d.fds[1]);
    printf("loop: %d ticks, %d bytes\n", d.ticks, d.bytes);
    return 0;
}
