/*
 * libswoole version. This file is the one place the version is written: CMake reads the
 * three numbers below for the SONAME, the pkg-config file and the CMake package version.
 */
#ifndef SWOOLE_VERSION_H
#define SWOOLE_VERSION_H

#include "swoole/common.h"

#define SW_VERSION_MAJOR 0
#define SW_VERSION_MINOR 1
#define SW_VERSION_PATCH 0

/* The version as one integer: 0xMMmmpp. */
#define SW_VERSION_HEX ((SW_VERSION_MAJOR << 16) | (SW_VERSION_MINOR << 8) | SW_VERSION_PATCH)

SW_EXTERN_C_BEGIN

/** The version of the library linked at run time, as SW_VERSION_HEX. */
SW_API unsigned sw_version(void);

/** The version of the library linked at run time, as "major.minor.patch". Static storage. */
SW_API const char *sw_version_string(void);

SW_EXTERN_C_END

#endif
