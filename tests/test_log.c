#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sw_test.h"
#include "swoole/log.h"

typedef struct {
    int calls;
    sw_log_level_t level;
    char line[8192];
} capture_t;

static void capture(sw_log_t *log, sw_log_level_t level, const char *line, void *arg)
{
    (void)log;
    capture_t *c = arg;
    c->calls++;
    c->level = level;
    snprintf(c->line, sizeof(c->line), "%s", line);
}

SW_TEST(log_silent_by_default)
{
    int p[2];
    ASSERT_OK(pipe2(p, O_NONBLOCK | O_CLOEXEC));
    /* A log with no destination writes nothing, even to stderr. */
    int saved = dup(2);
    ASSERT_GE(saved, 0);
    dup2(p[1], 2);
    sw_log_t *log;
    ASSERT_OK(sw_log_create(&log));
    sw_log_write(log, SW_LOG_ERROR, __FILE__, __LINE__, "must not appear %d", 1);
    sw_log_write(NULL, SW_LOG_ERROR, NULL, 0, "nor this");
    dup2(saved, 2);
    close(saved);
    char buf[64];
    ASSERT_EQ(read(p[0], buf, sizeof(buf)), -1);
    sw_log_destroy(log);
    close(p[0]);
    close(p[1]);
}

SW_TEST(log_handler_and_levels)
{
    sw_log_t *log;
    capture_t c = {0};
    ASSERT_OK(sw_log_create(&log));
    ASSERT_EQ(sw_log_get_level(log), SW_LOG_WARNING);
    ASSERT_OK(sw_log_set_handler(log, capture, &c));
    sw_log_write(log, SW_LOG_INFO, NULL, 0, "below the level");
    ASSERT_EQ(c.calls, 0);
    sw_log_write(log, SW_LOG_WARNING, NULL, 0, "x=%d", 42);
    ASSERT_EQ(c.calls, 1);
    ASSERT_EQ(c.level, SW_LOG_WARNING);
    ASSERT_STR_EQ(c.line, "x=42");
    ASSERT_OK(sw_log_set_level(log, SW_LOG_TRACE));
    sw_log_write(log, SW_LOG_DEBUG, "/a/b/file.c", 7, "dbg");
    ASSERT_STR_EQ(c.line, "dbg (file.c:7)");
    ASSERT_OK(sw_log_set_level(log, SW_LOG_NONE));
    sw_log_write(log, SW_LOG_ERROR, NULL, 0, "none");
    ASSERT_EQ(c.calls, 2);
    /* Long messages are cut, never overflow. */
    ASSERT_OK(sw_log_set_level(log, SW_LOG_TRACE));
    char *big = malloc(20000);
    memset(big, 'a', 19999);
    big[19999] = '\0';
    sw_log_write(log, SW_LOG_ERROR, NULL, 0, "%s", big);
    free(big);
    size_t n = strlen(c.line);
    ASSERT_LT(n, 4100);
    ASSERT_STR_EQ(c.line + n - 3, "...");
    ASSERT_ERR(sw_log_set_level(log, (sw_log_level_t)99), SW_EINVAL);
    ASSERT_ERR(sw_log_set_level(NULL, SW_LOG_INFO), SW_EINVAL);
    ASSERT_ERR(sw_log_create(NULL), SW_EINVAL);
    ASSERT_STR_EQ(sw_log_level_name(SW_LOG_NOTICE), "NOTICE");
    sw_log_destroy(log);
}

static size_t file_size(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return (size_t)n;
}

SW_TEST(log_file_and_reopen)
{
    char dir[] = "/tmp/sw_log_XXXXXX";
    ASSERT_NOT_NULL(mkdtemp(dir));
    char path[256], rotated[256];
    snprintf(path, sizeof(path), "%s/app.log", dir);
    snprintf(rotated, sizeof(rotated), "%s/app.log.1", dir);
    sw_log_t *log;
    ASSERT_OK(sw_log_create(&log));
    ASSERT_ERR(sw_log_reopen(log), SW_EINVAL);
    ASSERT_OK(sw_log_set_file(log, path));
    sw_log_write(log, SW_LOG_ERROR, NULL, 0, "first");
    ASSERT_OK(rename(path, rotated));
    ASSERT_OK(sw_log_reopen(log));
    sw_log_write(log, SW_LOG_ERROR, NULL, 0, "second");
    char buf[512] = {0};
    FILE *f = fopen(rotated, "r");
    ASSERT_NOT_NULL(f);
    ASSERT_NOT_NULL(fgets(buf, sizeof(buf), f));
    fclose(f);
    ASSERT_NOT_NULL(strstr(buf, "ERROR] first\n"));
    f = fopen(path, "r");
    ASSERT_NOT_NULL(f);
    ASSERT_NOT_NULL(fgets(buf, sizeof(buf), f));
    fclose(f);
    ASSERT_NOT_NULL(strstr(buf, "ERROR] second\n"));
    ASSERT_ERR(sw_log_set_file(log, "/nonexistent-dir/x.log"), SW_ENOENT);
    sw_log_destroy(log);
    unlink(path);
    unlink(rotated);
    rmdir(dir);
}

typedef struct {
    sw_log_t *log;
    int id;
} writer_arg_t;

static void *writer(void *p)
{
    writer_arg_t *a = p;
    for (int i = 0; i < 2000; i++) {
        sw_log_write(a->log, SW_LOG_ERROR, NULL, 0, "thread %d line %d", a->id, i);
    }
    return NULL;
}

/* Four threads write while the main thread rotates the file: every line lands whole in one of
 * the files, none is lost. */
SW_TEST(log_threads_and_reopen)
{
    char dir[] = "/tmp/sw_log_XXXXXX";
    ASSERT_NOT_NULL(mkdtemp(dir));
    char path[256], rotated[256];
    snprintf(path, sizeof(path), "%s/app.log", dir);
    snprintf(rotated, sizeof(rotated), "%s/old.log", dir);
    sw_log_t *log;
    ASSERT_OK(sw_log_create(&log));
    ASSERT_OK(sw_log_set_file(log, path));
    pthread_t th[4];
    writer_arg_t args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (writer_arg_t){log, i};
        ASSERT_OK(pthread_create(&th[i], NULL, writer, &args[i]));
    }
    /* Rotate once some lines are in the first file (bounded wait, not a timing assumption). */
    for (int i = 0; i < 5000 && file_size(path) == 0; i++) {
        usleep(1000);
    }
    ASSERT_GT(file_size(path), 0);
    ASSERT_OK(rename(path, rotated));
    ASSERT_OK(sw_log_reopen(log));
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
    }
    sw_log_destroy(log);
    int lines = 0;
    const char *files[2] = {path, rotated};
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(files[k], "r");
        ASSERT_NOT_NULL(f);
        char buf[256];
        while (fgets(buf, sizeof(buf), f)) {
            ASSERT_NOT_NULL(strstr(buf, "] thread "));
            ASSERT_EQ(buf[strlen(buf) - 1], '\n');
            lines++;
        }
        fclose(f);
    }
    ASSERT_EQ(lines, 8000);
    ASSERT_GT(file_size(rotated), 0);
    unlink(path);
    unlink(rotated);
    rmdir(dir);
}
