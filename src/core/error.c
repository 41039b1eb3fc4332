/* The error table: messages and names made from the one list in swoole/error.h. */
#include "swoole/error.h"

const char *sw_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define SW_ERRNO_MSG_(name, value, msg) \
    case (value):                       \
        return msg;
        SW_ERRNO_MAP(SW_ERRNO_MSG_)
#undef SW_ERRNO_MSG_
    default:
        return "unknown error";
    }
}

const char *sw_err_name(int code)
{
    switch (code) {
    case 0:
        return "OK";
#define SW_ERRNO_NAME_(name, value, msg) \
    case (value):                        \
        return #name;
        SW_ERRNO_MAP(SW_ERRNO_NAME_)
#undef SW_ERRNO_NAME_
    default:
        return "UNKNOWN";
    }
}

int sw_translate_sys_error(int err)
{
    return err <= 0 ? err : -err;
}
