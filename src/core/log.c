/* Logging; see swoole/log.h. */
#include "swoole/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "swoole/error.h"

#define SW_LOG_LINE_MAX 4096
#define SW_LOG_PATH_MAX 4095

struct sw_log_s {
    _Atomic int level;
    sw_log_cb cb;
    void *cb_arg;
    _Atomic int fd; /* -1: none */
    int own_fd;     /* fd was opened from `path` */
    char *path;
    pthread_mutex_t lock; /* serialises reopen and set_file */
};

static const char *const level_names[] = {"TRACE",   "DEBUG", "INFO", "NOTICE",
                                          "WARNING", "ERROR", "NONE"};

const char *sw_log_level_name(sw_log_level_t level)
{
    if ((int)level < 0 || level > SW_LOG_NONE) {
        return "NONE";
    }
    return level_names[level];
}

int sw_log_create(sw_log_t **out)
{
    if (!out) {
        return SW_EINVAL;
    }
    sw_log_t *log = sw__calloc(1, sizeof(*log));
    if (!log) {
        return SW_ENOMEM;
    }
    atomic_init(&log->level, SW_LOG_WARNING);
    atomic_init(&log->fd, -1);
    pthread_mutex_init(&log->lock, NULL);
    *out = log;
    return 0;
}

void sw_log_destroy(sw_log_t *log)
{
    if (!log) {
        return;
    }
    if (log->own_fd) {
        close(atomic_load(&log->fd));
    }
    sw__free(log->path);
    pthread_mutex_destroy(&log->lock);
    sw__free(log);
}

int sw_log_set_level(sw_log_t *log, sw_log_level_t level)
{
    if (!log || (int)level < 0 || level > SW_LOG_NONE) {
        return SW_EINVAL;
    }
    atomic_store(&log->level, (int)level);
    return 0;
}

sw_log_level_t sw_log_get_level(const sw_log_t *log)
{
    if (!log) {
        return SW_LOG_NONE;
    }
    return (sw_log_level_t)atomic_load(&((sw_log_t *)log)->level);
}

int sw_log_set_handler(sw_log_t *log, sw_log_cb cb, void *arg)
{
    if (!log) {
        return SW_EINVAL;
    }
    log->cb = cb;
    log->cb_arg = arg;
    return 0;
}

static int open_log_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    return fd < 0 ? -errno : fd;
}

int sw_log_set_file(sw_log_t *log, const char *path)
{
    if (!log || !path || !*path) {
        return SW_EINVAL;
    }
    if (strlen(path) > SW_LOG_PATH_MAX) {
        return SW_ENAMETOOLONG;
    }
    char *copy = sw__strdup(path);
    if (!copy) {
        return SW_ENOMEM;
    }
    int fd = open_log_file(path);
    if (fd < 0) {
        sw__free(copy);
        return fd;
    }
    pthread_mutex_lock(&log->lock);
    int old = atomic_exchange(&log->fd, fd);
    if (log->own_fd && old >= 0) {
        close(old);
    }
    log->own_fd = 1;
    sw__free(log->path);
    log->path = copy;
    pthread_mutex_unlock(&log->lock);
    return 0;
}

int sw_log_set_fd(sw_log_t *log, int fd)
{
    if (!log || fd < 0) {
        return SW_EINVAL;
    }
    pthread_mutex_lock(&log->lock);
    int old = atomic_exchange(&log->fd, fd);
    if (log->own_fd && old >= 0) {
        close(old);
    }
    log->own_fd = 0;
    sw__free(log->path);
    log->path = NULL;
    pthread_mutex_unlock(&log->lock);
    return 0;
}

int sw_log_reopen(sw_log_t *log)
{
    if (!log) {
        return SW_EINVAL;
    }
    pthread_mutex_lock(&log->lock);
    int rc = SW_EINVAL;
    if (log->own_fd && log->path) {
        int fd = open_log_file(log->path);
        if (fd < 0) {
            rc = fd;
        } else {
            /* dup3 swaps the file under the same descriptor number atomically, so a writer
             * on another thread writes whole lines to either the old or the new file. */
            if (dup3(fd, atomic_load(&log->fd), O_CLOEXEC) < 0) {
                rc = -errno;
            } else {
                rc = 0;
            }
            close(fd);
        }
    }
    pthread_mutex_unlock(&log->lock);
    return rc;
}

static const char *base_name(const char *file)
{
    const char *slash = strrchr(file, '/');
    return slash ? slash + 1 : file;
}

void sw_log_write(sw_log_t *log, sw_log_level_t level, const char *file, int line, const char *fmt,
                  ...)
{
    if (!log || (int)level < atomic_load(&log->level) || level >= SW_LOG_NONE) {
        return;
    }
    sw_log_cb cb = log->cb;
    int fd = atomic_load(&log->fd);
    if (!cb && fd < 0) {
        return;
    }
    char buf[SW_LOG_LINE_MAX + 8];
    size_t n = 0;
    if (!cb) {
        struct timeval tv;
        struct tm tm;
        gettimeofday(&tv, NULL);
        localtime_r(&tv.tv_sec, &tm);
        int h =
            snprintf(buf, SW_LOG_LINE_MAX, "[%04d-%02d-%02d %02d:%02d:%02d.%03d %d %s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(tv.tv_usec / 1000), (int)getpid(), sw_log_level_name(level));
        n = h > 0 ? (size_t)h : 0;
    }
    size_t start = n;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, SW_LOG_LINE_MAX - n, fmt, ap);
    va_end(ap);
    if (m < 0) {
        return;
    }
    if ((size_t)m >= SW_LOG_LINE_MAX - n) {
        n = SW_LOG_LINE_MAX - 4;
        memcpy(buf + n, "...", 3);
        n += 3;
    } else {
        n += (size_t)m;
    }
    if (file && level <= SW_LOG_DEBUG && n + 64 < SW_LOG_LINE_MAX) {
        int k = snprintf(buf + n, SW_LOG_LINE_MAX - n, " (%s:%d)", base_name(file), line);
        if (k > 0 && (size_t)k < SW_LOG_LINE_MAX - n) {
            n += (size_t)k;
        }
    }
    buf[n] = '\0';
    if (cb) {
        cb(log, level, buf + start, log->cb_arg);
        return;
    }
    buf[n++] = '\n';
    /* One write per line: O_APPEND keeps concurrent lines from interleaving. */
    ssize_t w;
    do {
        w = write(fd, buf, n);
    } while (w < 0 && errno == EINTR);
}
