/*
 * Logging.
 *
 * The library never prints by itself. Objects that may have something to report (a loop, a
 * server) take an sw_log_t; with none attached, or with a log that has neither a handler nor a
 * file, nothing is written anywhere. A log is created by the user, can be shared by many
 * objects and threads, and is destroyed by the user after every object using it is gone.
 *
 * Thread-safety: sw_log_write() and sw_log_reopen() may be called from any thread at any
 * time. The setters are meant for configuration: call them before the log is shared.
 */
#ifndef SWOOLE_LOG_H
#define SWOOLE_LOG_H

#include "swoole/common.h"

SW_EXTERN_C_BEGIN

typedef enum {
    SW_LOG_TRACE = 0,
    SW_LOG_DEBUG = 1,
    SW_LOG_INFO = 2,
    SW_LOG_NOTICE = 3,
    SW_LOG_WARNING = 4,
    SW_LOG_ERROR = 5,
    SW_LOG_NONE = 6 /* a level above every message: writes nothing */
} sw_log_level_t;

typedef struct sw_log_s sw_log_t;

/**
 * A user log handler. `line` is the finished message without a trailing newline (no time
 * stamp: the handler adds what it wants); it is valid until the handler returns. The handler
 * may run on any thread that logs and must not call back into the log.
 */
typedef void (*sw_log_cb)(sw_log_t *log, sw_log_level_t level, const char *line, void *arg);

/**
 * Creates a log with level SW_LOG_WARNING and no destination: it writes nothing until a
 * handler, a file or an fd is set. Returns 0, SW_EINVAL (out is NULL) or SW_ENOMEM.
 */
SW_API int sw_log_create(sw_log_t **out);

/**
 * Closes the log's file (not an fd given with sw_log_set_fd) and frees it. NULL is allowed.
 * No object may still use the log.
 */
SW_API void sw_log_destroy(sw_log_t *log);

/** Sets the lowest level written. Returns 0 or SW_EINVAL (NULL log, level out of range). */
SW_API int sw_log_set_level(sw_log_t *log, sw_log_level_t level);

/** The current level; SW_LOG_NONE for a NULL log. */
SW_API sw_log_level_t sw_log_get_level(const sw_log_t *log);

/**
 * Sends messages to `cb` (NULL removes the handler). When a handler is set, messages go to it
 * and not to the file or fd. Returns 0 or SW_EINVAL.
 */
SW_API int sw_log_set_handler(sw_log_t *log, sw_log_cb cb, void *arg);

/**
 * Appends messages to the file at `path` (created with mode 0644 if missing), one line each:
 * "[YYYY-MM-DD HH:MM:SS.mmm pid LEVEL] message". The path is copied. Returns 0, SW_EINVAL,
 * SW_ENAMETOOLONG (path over 4095 bytes), SW_ENOMEM or the negated errno of open().
 */
SW_API int sw_log_set_file(sw_log_t *log, const char *path);

/**
 * Writes lines, formatted as for a file, to `fd` (for example 2 for stderr). The fd stays the
 * caller's: the log never closes it. Returns 0 or SW_EINVAL (NULL log or negative fd).
 */
SW_API int sw_log_set_fd(sw_log_t *log, int fd);

/**
 * Reopens the log file by its path, for log rotation: lines written after the call go to the
 * new file; no line is lost or split. Safe from any thread (not from a signal handler; let a
 * loop's signal watcher call it). Returns 0, SW_EINVAL (no file set) or the negated errno of
 * open(); on error the old file stays in use.
 */
SW_API int sw_log_reopen(sw_log_t *log);

/**
 * Writes one message if `level` is at or above the log's level. `log` may be NULL (nothing
 * happens). `file`/`line` name the source position and may be NULL/0. A message longer than
 * 4 KiB is cut and ends with "...". Never fails visibly: a write error is dropped.
 */
SW_API void sw_log_write(sw_log_t *log, sw_log_level_t level, const char *file, int line,
                         const char *fmt, ...) SW_PRINTF(5, 6);

/** The level's name: "TRACE", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR" or "NONE". */
SW_API const char *sw_log_level_name(sw_log_level_t level);

SW_EXTERN_C_END

#endif
