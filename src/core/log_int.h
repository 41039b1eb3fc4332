/* Logging from inside the library (internal). `log` may be NULL: nothing is written. */
#ifndef SW_CORE_LOG_INT_H
#define SW_CORE_LOG_INT_H

#include "swoole/log.h"

#define SW_LOG(log, level, ...)                                            \
    do {                                                                   \
        if ((log) && sw_log_get_level(log) <= (level)) {                   \
            sw_log_write((log), (level), __FILE__, __LINE__, __VA_ARGS__); \
        }                                                                  \
    } while (0)

#define SW_LOG_ERROR(log, ...)   SW_LOG(log, SW_LOG_ERROR, __VA_ARGS__)
#define SW_LOG_WARNING(log, ...) SW_LOG(log, SW_LOG_WARNING, __VA_ARGS__)
#define SW_LOG_NOTICE(log, ...)  SW_LOG(log, SW_LOG_NOTICE, __VA_ARGS__)
#define SW_LOG_INFO(log, ...)    SW_LOG(log, SW_LOG_INFO, __VA_ARGS__)
#define SW_LOG_DEBUG(log, ...)   SW_LOG(log, SW_LOG_DEBUG, __VA_ARGS__)

#endif
