#include "swoole/version.h"

#define SW_STR_(x) #x
#define SW_STR(x)  SW_STR_(x)

unsigned sw_version(void)
{
    return SW_VERSION_HEX;
}

const char *sw_version_string(void)
{
    return SW_STR(SW_VERSION_MAJOR) "." SW_STR(SW_VERSION_MINOR) "." SW_STR(SW_VERSION_PATCH);
}
