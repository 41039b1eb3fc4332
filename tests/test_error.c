#include <stdio.h>
#include <errno.h>
#include <string.h>

#include "sw_test.h"
#include "swoole/error.h"
#include "swoole/version.h"

SW_TEST(error_names_and_messages)
{
    ASSERT_EQ(SW_ECONNRESET, -ECONNRESET);
    ASSERT_EQ(SW_EAGAIN, -EAGAIN);
    ASSERT_STR_EQ(sw_err_name(SW_ECONNRESET), "ECONNRESET");
    ASSERT_STR_EQ(sw_strerror(SW_ECONNRESET), "connection reset by peer");
    ASSERT_STR_EQ(sw_err_name(SW_EOVERFLOW_OUTPUT), "EOVERFLOW_OUTPUT");
    ASSERT_STR_EQ(sw_err_name(SW_EHTTP_METHOD), "EHTTP_METHOD");
    ASSERT_STR_EQ(sw_err_name(0), "OK");
    ASSERT_STR_EQ(sw_strerror(0), "success");
    ASSERT_STR_EQ(sw_err_name(-3999), "UNKNOWN");
    ASSERT_STR_EQ(sw_strerror(12345), "unknown error");
    ASSERT_EQ(sw_translate_sys_error(EPIPE), SW_EPIPE);
    ASSERT_EQ(sw_translate_sys_error(SW_EPIPE), SW_EPIPE);
}

/* Every library code sits in the reserved range, has a distinct value, a name that is the
 * enum's spelling, and a message. */
SW_TEST(error_library_range)
{
    static const struct {
        int code;
        const char *name;
    } all[] = {
#define X(name, value, msg) {value, #name},
        SW_ERRNO_MAP_LIBRARY(X)
#undef X
    };
    size_t n = sizeof(all) / sizeof(all[0]);
    ASSERT_GT(n, 40);
    for (size_t i = 0; i < n; i++) {
        ASSERT_GE(all[i].code, SW_ERRNO_LIBRARY_MIN);
        ASSERT_LE(all[i].code, SW_ERRNO_LIBRARY_MAX);
        ASSERT_STR_EQ(sw_err_name(all[i].code), all[i].name);
        ASSERT_TRUE(strcmp(sw_strerror(all[i].code), "unknown error") != 0);
        for (size_t j = i + 1; j < n; j++) {
            ASSERT_NE(all[i].code, all[j].code);
        }
    }
}

/* System codes are negated errno values and do not collide with each other. */
SW_TEST(error_system_codes)
{
    static const int all[] = {
#define X(name, value, msg) value,
        SW_ERRNO_MAP_SYSTEM(X)
#undef X
    };
    size_t n = sizeof(all) / sizeof(all[0]);
    for (size_t i = 0; i < n; i++) {
        ASSERT_LT(all[i], 0);
        ASSERT_GT(all[i], SW_ERRNO_LIBRARY_MAX);
        for (size_t j = i + 1; j < n; j++) {
            ASSERT_NE(all[i], all[j]);
        }
    }
}

SW_TEST(version)
{
    ASSERT_EQ(sw_version(), SW_VERSION_HEX);
    char want[32];
    snprintf(want, sizeof(want), "%d.%d.%d", SW_VERSION_MAJOR, SW_VERSION_MINOR, SW_VERSION_PATCH);
    ASSERT_STR_EQ(sw_version_string(), want);
}
