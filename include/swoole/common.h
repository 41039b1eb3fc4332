/*
 * Definitions shared by every public libswoole header: the export attribute and the C++
 * linkage guards. Nothing here depends on how the library was configured.
 */
#ifndef SWOOLE_COMMON_H
#define SWOOLE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define SW_API               __attribute__((visibility("default")))
#define SW_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SW_API
#define SW_PRINTF(fmt, args)
#endif

#ifdef __cplusplus
#define SW_EXTERN_C_BEGIN extern "C" {
#define SW_EXTERN_C_END   }
#else
#define SW_EXTERN_C_BEGIN
#define SW_EXTERN_C_END
#endif

#endif
