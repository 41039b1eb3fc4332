/*
 * Error codes.
 *
 * Every libswoole call that can fail returns an int: 0 (or a positive count) is success and a
 * negative value is one of the SW_E* codes below. System errors are the negated errno value
 * (SW_ECONNRESET == -ECONNRESET), so a code can be compared with -errno directly. The
 * library's own codes sit in the reserved range -4000 .. -4095, grouped by module.
 *
 * One list, SW_ERRNO_MAP, makes the enum, sw_strerror() and sw_err_name(); add a code by
 * adding one line to it, inside its module's range.
 */
#ifndef SWOOLE_ERROR_H
#define SWOOLE_ERROR_H

#include <errno.h>

#include "swoole/common.h"

/* X(name, value, message) for the system errors the library reports. */
#define SW_ERRNO_MAP_SYSTEM(X)                                                \
    X(EPERM, -EPERM, "operation not permitted")                               \
    X(ENOENT, -ENOENT, "no such file or directory")                           \
    X(ESRCH, -ESRCH, "no such process")                                       \
    X(EINTR, -EINTR, "interrupted system call")                               \
    X(EIO, -EIO, "i/o error")                                                 \
    X(E2BIG, -E2BIG, "argument list too long")                                \
    X(EBADF, -EBADF, "bad file descriptor")                                   \
    X(ECHILD, -ECHILD, "no child processes")                                  \
    X(EAGAIN, -EAGAIN, "resource temporarily unavailable")                    \
    X(ENOMEM, -ENOMEM, "not enough memory")                                   \
    X(EACCES, -EACCES, "permission denied")                                   \
    X(EFAULT, -EFAULT, "bad address")                                         \
    X(EBUSY, -EBUSY, "resource busy or locked")                               \
    X(EEXIST, -EEXIST, "already exists")                                      \
    X(ENOTDIR, -ENOTDIR, "not a directory")                                   \
    X(EISDIR, -EISDIR, "is a directory")                                      \
    X(EINVAL, -EINVAL, "invalid argument")                                    \
    X(ENFILE, -ENFILE, "file table overflow")                                 \
    X(EMFILE, -EMFILE, "too many open files")                                 \
    X(EFBIG, -EFBIG, "file too large")                                        \
    X(ENOSPC, -ENOSPC, "no space left on device")                             \
    X(ESPIPE, -ESPIPE, "invalid seek")                                        \
    X(EROFS, -EROFS, "read-only file system")                                 \
    X(EPIPE, -EPIPE, "broken pipe")                                           \
    X(ERANGE, -ERANGE, "result out of range")                                 \
    X(EDEADLK, -EDEADLK, "resource deadlock avoided")                         \
    X(ENAMETOOLONG, -ENAMETOOLONG, "name too long")                           \
    X(ENOSYS, -ENOSYS, "function not implemented")                            \
    X(ENOTEMPTY, -ENOTEMPTY, "directory not empty")                           \
    X(ENOMSG, -ENOMSG, "no message of desired type")                          \
    X(EIDRM, -EIDRM, "identifier removed")                                    \
    X(EOVERFLOW, -EOVERFLOW, "value too large for defined data type")         \
    X(EILSEQ, -EILSEQ, "illegal byte sequence")                               \
    X(ENOTSOCK, -ENOTSOCK, "socket operation on non-socket")                  \
    X(EDESTADDRREQ, -EDESTADDRREQ, "destination address required")            \
    X(EMSGSIZE, -EMSGSIZE, "message too long")                                \
    X(EPROTOTYPE, -EPROTOTYPE, "protocol wrong type for socket")              \
    X(ENOPROTOOPT, -ENOPROTOOPT, "protocol not available")                    \
    X(EPROTONOSUPPORT, -EPROTONOSUPPORT, "protocol not supported")            \
    X(ENOTSUP, -ENOTSUP, "operation not supported")                           \
    X(EAFNOSUPPORT, -EAFNOSUPPORT, "address family not supported")            \
    X(EADDRINUSE, -EADDRINUSE, "address already in use")                      \
    X(EADDRNOTAVAIL, -EADDRNOTAVAIL, "address not available")                 \
    X(ENETDOWN, -ENETDOWN, "network is down")                                 \
    X(ENETUNREACH, -ENETUNREACH, "network is unreachable")                    \
    X(ECONNABORTED, -ECONNABORTED, "software caused connection abort")        \
    X(ECONNRESET, -ECONNRESET, "connection reset by peer")                    \
    X(ENOBUFS, -ENOBUFS, "no buffer space available")                         \
    X(EISCONN, -EISCONN, "socket is already connected")                       \
    X(ENOTCONN, -ENOTCONN, "socket is not connected")                         \
    X(ESHUTDOWN, -ESHUTDOWN, "cannot send after transport endpoint shutdown") \
    X(ETIMEDOUT, -ETIMEDOUT, "connection timed out")                          \
    X(ECONNREFUSED, -ECONNREFUSED, "connection refused")                      \
    X(EHOSTUNREACH, -EHOSTUNREACH, "host is unreachable")                     \
    X(EALREADY, -EALREADY, "operation already in progress")                   \
    X(EINPROGRESS, -EINPROGRESS, "operation in progress")                     \
    X(ECANCELED, -ECANCELED, "operation canceled")                            \
    X(EOWNERDEAD, -EOWNERDEAD, "owner died")                                  \
    X(ENOTRECOVERABLE, -ENOTRECOVERABLE, "state not recoverable")

/* X(name, value, message) for the library's own codes: -4000 .. -4095. */
#define SW_ERRNO_MAP_LIBRARY(X)                                                                  \
    /* core and loop: -4000 .. -4019 */                                                          \
    X(EOF, -4000, "end of file")                                                                 \
    X(EOVERFLOW_OUTPUT, -4001, "output buffer overflow")                                         \
    X(EPKGTOOBIG, -4002, "package too big")                                                      \
    X(ESESSION, -4003, "session closed or unknown")                                              \
    X(ELOOP_RUNNING, -4004, "loop is already running")                                           \
    X(ELOOP_THREAD, -4005, "loop used from a thread that does not own it")                       \
    X(EBUFFER_BOUNDS, -4006, "offset or length outside the buffer")                              \
    X(EPKGMALFORMED, -4007, "malformed package length")                                          \
    /* shared memory, locks, table, channel: -4020 .. -4039 */                                   \
    X(ELOCK_OWNERDEAD, -4020, "lock acquired from a holder that died; data may be inconsistent") \
    X(ELOCK_NOTOWNER, -4021, "lock is not held by the caller")                                   \
    X(ELOCK_NOTRECOVERABLE, -4022, "lock is not recoverable")                                    \
    X(ETABLE_FULL, -4023, "table is full")                                                       \
    X(ETABLE_KEY_TOO_LONG, -4024, "table key too long")                                          \
    X(ETABLE_COLUMN, -4025, "no such table column or wrong column type")                         \
    X(ETABLE_NOT_FOUND, -4026, "table key not found")                                            \
    X(ETABLE_CREATED, -4027, "table already created")                                            \
    X(ECHANNEL_MSG_TOO_BIG, -4028, "message larger than the channel can hold")                   \
    X(ESHM_EXHAUSTED, -4029, "shared memory pool exhausted")                                     \
    /* server, processes, tasks: -4040 .. -4059 */                                               \
    X(EOPTION_UNKNOWN, -4040, "unknown option")                                                  \
    X(EOPTION_VALUE, -4041, "bad option value")                                                  \
    X(ESERVER_STATE, -4042, "server is not in a state that allows this call")                    \
    X(EWORKER_ID, -4043, "no such worker")                                                       \
    X(ENOT_WORKER, -4044, "call is only allowed in a worker")                                    \
    X(ETASK_TMPFILE, -4045, "task temporary file failed")                                        \
    X(EMAX_CONN, -4046, "too many connections")                                                  \
    X(EIPC_ABNORMAL, -4047, "abnormal IPC data")                                                 \
    X(ENOT_MASTER, -4048, "call is only allowed in the master process")                          \
    /* HTTP: -4060 .. -4083 */                                                                   \
    X(EHTTP_METHOD, -4060, "invalid HTTP method")                                                \
    X(EHTTP_TARGET, -4061, "invalid HTTP request target")                                        \
    X(EHTTP_VERSION, -4062, "unsupported HTTP version")                                          \
    X(EHTTP_STATUS, -4063, "invalid HTTP status line")                                           \
    X(EHTTP_HEADER_NAME, -4064, "invalid HTTP header name")                                      \
    X(EHTTP_HEADER_VALUE, -4065, "invalid HTTP header value")                                    \
    X(EHTTP_HEADER_SPACE, -4066, "whitespace between HTTP header name and colon")                \
    X(EHTTP_OBS_FOLD, -4067, "obsolete HTTP line folding")                                       \
    X(EHTTP_CR, -4068, "bare CR in HTTP message")                                                \
    X(EHTTP_LF, -4069, "bare LF line ending in HTTP message")                                    \
    X(EHTTP_HEAD_TOO_LARGE, -4070, "HTTP header block too large")                                \
    X(EHTTP_LINE_TOO_LONG, -4071, "HTTP request or status line too long")                        \
    X(EHTTP_TOO_MANY_HEADERS, -4072, "too many HTTP headers")                                    \
    X(EHTTP_CONTENT_LENGTH, -4073, "invalid HTTP Content-Length")                                \
    X(EHTTP_DUP_CONTENT_LENGTH, -4074, "duplicate or conflicting HTTP Content-Length")           \
    X(EHTTP_TE_CL, -4075, "HTTP Transfer-Encoding together with Content-Length")                 \
    X(EHTTP_TRANSFER_ENCODING, -4076, "unsupported HTTP Transfer-Encoding")                      \
    X(EHTTP_CHUNK_SIZE, -4077, "invalid HTTP chunk size")                                        \
    X(EHTTP_CHUNK_OVERFLOW, -4078, "HTTP chunk size overflow")                                   \
    X(EHTTP_CHUNK_DATA, -4079, "invalid HTTP chunk framing")                                     \
    X(EHTTP_BODY_TOO_LARGE, -4080, "HTTP body too large")                                        \
    X(EHTTP_URL, -4081, "invalid URL or percent escape")                                         \
    X(EHTTP_MULTIPART, -4082, "malformed multipart body")                                        \
    X(EHTTP_LIMIT, -4083, "HTTP parsing limit exceeded")                                         \
    /* WebSocket: -4084 .. -4095 */                                                              \
    X(EWS_HANDSHAKE, -4084, "invalid WebSocket handshake")                                       \
    X(EWS_VERSION, -4085, "unsupported WebSocket version")                                       \
    X(EWS_OPCODE, -4086, "reserved WebSocket opcode")                                            \
    X(EWS_RSV, -4087, "WebSocket reserved bits set")                                             \
    X(EWS_CONTROL, -4088, "invalid WebSocket control frame")                                     \
    X(EWS_MASK, -4089, "WebSocket masking violation")                                            \
    X(EWS_CLOSE_CODE, -4090, "invalid WebSocket close code or payload")                          \
    X(EWS_UTF8, -4091, "invalid UTF-8 in WebSocket text")                                        \
    X(EWS_TOO_BIG, -4092, "WebSocket message too big")                                           \
    X(EWS_CONTINUATION, -4093, "unexpected WebSocket continuation state")                        \
    X(EWS_DEFLATE, -4094, "WebSocket compression error")                                         \
    X(EWS_LENGTH, -4095, "invalid WebSocket payload length")

#define SW_ERRNO_MAP(X) SW_ERRNO_MAP_SYSTEM(X) SW_ERRNO_MAP_LIBRARY(X)

SW_EXTERN_C_BEGIN

typedef enum {
#define SW_ERRNO_ENUM_(name, value, msg) SW_##name = (value),
    SW_ERRNO_MAP(SW_ERRNO_ENUM_)
#undef SW_ERRNO_ENUM_
        SW_OK = 0
} sw_errno_t;

/** Lowest (most negative) code of the library's reserved range. */
#define SW_ERRNO_LIBRARY_MIN (-4095)
/** Highest code of the library's reserved range. */
#define SW_ERRNO_LIBRARY_MAX (-4000)

/**
 * The message for an error code, e.g. "connection reset by peer". Never NULL: unknown codes
 * give "unknown error" and 0 gives "success". The string has static storage; thread-safe.
 */
SW_API const char *sw_strerror(int code);

/**
 * The name of an error code without its SW_ prefix, e.g. "ECONNRESET" or "EHTTP_METHOD".
 * Never NULL: unknown codes give "UNKNOWN" and 0 gives "OK". Static storage; thread-safe.
 */
SW_API const char *sw_err_name(int code);

/** Converts an errno value (positive) to an SW_E* code: returns -err. */
SW_API int sw_translate_sys_error(int err);

SW_EXTERN_C_END

#endif
