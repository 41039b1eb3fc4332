/*
 * Byte buffers.
 *
 * sw_buffer_t is a growable byte buffer with Swoole's buffer operations (append, substr,
 * write at an offset, read at an offset, expand, clear, recycle). It is a small value type:
 * the caller owns the struct, the library owns `str`. Every operation checks its bounds and
 * returns an error instead of writing outside the buffer; growth is limited by `max_size`.
 * A zero-initialised sw_buffer_t (`sw_buffer_t b = {0};`) is a valid empty buffer with the
 * default limit, the same as sw_buffer_init(&b, 0, 0).
 *
 * Offsets are absolute: byte `i` is str[i], whatever the read offset. Data passed to append
 * and write may point into the buffer itself. Growth doubles the allocation (at least 64
 * bytes, whole 4 KiB pages from 4 KiB up), capped at max_size; sw_buffer_expand allocates
 * exactly what it is asked for. Allocations never shrink before sw_buffer_close.
 *
 * sw_chain_t is a chained output buffer: a queue of chunks that data is appended to and
 * written out from with writev(). The loop's buffered writes and the server's per-connection
 * output use it.
 *
 * Neither type is thread-safe: one thread uses a buffer at a time.
 */
#ifndef SWOOLE_BUFFER_H
#define SWOOLE_BUFFER_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "swoole/common.h"

SW_EXTERN_C_BEGIN

/** Default limit of sw_buffer_t growth when `max_size` is 0: 1 GiB. */
#define SW_BUFFER_DEFAULT_MAX ((size_t)1 << 30)

typedef struct sw_buffer_s {
    /* read-only (change only through the functions below) */
    char *str;       /* the bytes; NULL until the first allocation */
    size_t length;   /* bytes stored, from str[0] */
    size_t size;     /* bytes allocated */
    size_t offset;   /* read position used by sw_buffer_consume(); <= length */
    size_t max_size; /* growth limit */
} sw_buffer_t;

/**
 * Initialises `b` with room for `capacity` bytes (0: allocate on first use) and a growth limit
 * of `max_size` bytes (0: SW_BUFFER_DEFAULT_MAX). Returns 0, SW_EINVAL (b NULL or capacity >
 * max_size) or SW_ENOMEM. On error `b` is left empty and needs no close.
 */
SW_API int sw_buffer_init(sw_buffer_t *b, size_t capacity, size_t max_size);

/** Frees the bytes; `b` is empty afterwards (max_size kept) and may be used or initialised
 * again. NULL is allowed. */
SW_API void sw_buffer_close(sw_buffer_t *b);

/**
 * Appends `len` bytes. All or nothing: returns 0, SW_EINVAL (NULL arguments with len > 0),
 * SW_EOVERFLOW (the result would pass max_size) or SW_ENOMEM; on error nothing changes.
 */
SW_API int sw_buffer_append(sw_buffer_t *b, const void *data, size_t len);

/**
 * Writes `len` bytes at `offset` (offset <= length), overwriting and, past the end, extending
 * the buffer (never leaving a gap of undefined bytes). Returns 0, SW_EINVAL (NULL arguments
 * with len > 0), SW_EBUFFER_BOUNDS (offset > length, also when len is 0), SW_EOVERFLOW
 * (offset + len would pass max_size) or SW_ENOMEM; on error nothing changes.
 */
SW_API int sw_buffer_write(sw_buffer_t *b, size_t offset, const void *data, size_t len);

/**
 * Copies `len` bytes starting at `offset` into `out`. Returns 0, SW_EINVAL (b NULL, or out
 * NULL with len > 0) or SW_EBUFFER_BOUNDS (the range passes length). The read offset is not
 * used or changed.
 */
SW_API int sw_buffer_read(const sw_buffer_t *b, size_t offset, void *out, size_t len);

/**
 * Swoole's substr: copies `len` bytes at `offset` into `out` (which may be NULL to only
 * remove) and, when `remove` is true, removes them from the buffer, moving the tail down
 * (O(length - offset - len)). Removed bytes that lay before the read offset pull it back with
 * them: it stays on the same unread byte. Returns 0, SW_EINVAL (b NULL) or SW_EBUFFER_BOUNDS
 * (the range passes length); on error nothing changes. To drop parsed bytes from the front
 * cheaply, use sw_buffer_consume and, now and then, sw_buffer_recycle.
 */
SW_API int sw_buffer_substr(sw_buffer_t *b, size_t offset, size_t len, void *out, bool remove);

/**
 * Grows the allocation to exactly `capacity` bytes when it is smaller (never shrinks: a smaller
 * capacity returns 0 and changes nothing). Returns 0, SW_EINVAL (b NULL), SW_EOVERFLOW
 * (capacity > max_size) or SW_ENOMEM; on error nothing changes.
 */
SW_API int sw_buffer_expand(sw_buffer_t *b, size_t capacity);

/**
 * Makes sure `len` more bytes fit after `length` and returns a pointer to them in `*out`, for
 * reading into the buffer directly (recv into it, then sw_buffer_commit). Returns 0,
 * SW_EINVAL (b or out NULL), SW_EOVERFLOW (length + len would pass max_size) or SW_ENOMEM; on
 * error nothing changes. The pointer is valid until the next call that may grow the buffer.
 * `*out` is NULL when len is 0 and nothing was ever allocated.
 */
SW_API int sw_buffer_reserve(sw_buffer_t *b, size_t len, char **out);

/** Adds `len` bytes written after `length` to the buffer. Returns 0, SW_EINVAL (b NULL) or
 * SW_EBUFFER_BOUNDS (length + len would pass `size`). */
SW_API int sw_buffer_commit(sw_buffer_t *b, size_t len);

/** Advances the read offset by `len` (bytes consumed by a parser). Returns 0, SW_EINVAL (b
 * NULL) or SW_EBUFFER_BOUNDS (offset + len would pass `length`). The unread bytes are
 * str + offset .. str + length. */
SW_API int sw_buffer_consume(sw_buffer_t *b, size_t len);

/** Empties the buffer (length and offset 0) and keeps the allocation. NULL is allowed. */
SW_API void sw_buffer_clear(sw_buffer_t *b);

/** Drops the bytes before the read offset, moving the rest to the front (Swoole's recycle);
 * offset becomes 0 and length shrinks by the old offset. NULL is allowed. */
SW_API void sw_buffer_recycle(sw_buffer_t *b);

/* ------------------------------------------------------------------------------------------ */

/** Default chunk size of a chain: 64 KiB. */
#define SW_CHAIN_DEFAULT_CHUNK ((size_t)64 << 10)

typedef struct sw_chain_chunk_s sw_chain_chunk_t;

typedef struct sw_chain_s {
    /* private */
    sw_chain_chunk_t *head;
    sw_chain_chunk_t *tail;
    size_t length;     /* bytes queued */
    size_t chunk_size; /* allocation unit */
    size_t max_length; /* 0: unlimited */
    size_t nchunks;
} sw_chain_t;

/**
 * Initialises an empty chain. `chunk_size` 0 means SW_CHAIN_DEFAULT_CHUNK; `max_length` 0
 * means no limit. Allocates nothing. Returns 0 or SW_EINVAL (c NULL, or chunk_size above
 * SW_BUFFER_DEFAULT_MAX).
 */
SW_API int sw_chain_init(sw_chain_t *c, size_t chunk_size, size_t max_length);

/** Frees every chunk; the chain is empty afterwards. NULL is allowed. */
SW_API void sw_chain_close(sw_chain_t *c);

/**
 * Copies `len` bytes to the end of the chain: into the tail chunk's free room first, then into
 * one new chunk of max(chunk_size, bytes left) bytes, so a large append is one allocation and
 * one iovec. All or nothing: returns 0, SW_EINVAL (c NULL, or data NULL with len > 0),
 * SW_EOVERFLOW_OUTPUT (length + len would pass max_length, or wrap) or SW_ENOMEM; on error
 * the chain is unchanged. A chunk is freed as soon as its last byte is consumed.
 */
SW_API int sw_chain_append(sw_chain_t *c, const void *data, size_t len);

/** Bytes queued. */
SW_API size_t sw_chain_length(const sw_chain_t *c);

/**
 * Fills up to `iovcnt` iovecs with the queued bytes from the front, one per chunk, for
 * writev(). Returns the number filled (0 when empty or iovcnt is 0) or SW_EINVAL (c NULL,
 * iovcnt < 0, iov NULL with iovcnt > 0). The pointers stay valid until the chain changes.
 */
SW_API int sw_chain_peek(const sw_chain_t *c, struct iovec *iov, int iovcnt);

/** Removes `len` bytes from the front, freeing drained chunks. Returns 0, SW_EINVAL (c NULL)
 * or SW_EBUFFER_BOUNDS (len > length; nothing is removed). */
SW_API int sw_chain_consume(sw_chain_t *c, size_t len);

/**
 * Writes as much as `fd` takes with writev() (up to 64 iovecs a call, repeated while the fd
 * takes everything offered), retrying on EINTR, and consumes what was written. Returns the
 * bytes written (> 0), 0 when the chain is empty (fd not used), SW_EAGAIN when the fd took
 * nothing, SW_EINVAL (c NULL), or the negated errno of writev (SW_EBADF, SW_EPIPE,
 * SW_ECONNRESET...) when it failed before writing anything; an error after some bytes went
 * out is reported by the next call. writev raises SIGPIPE on a broken pipe or socket: a
 * program that writes to peers ignores SIGPIPE (the server does).
 */
SW_API ssize_t sw_chain_write(sw_chain_t *c, int fd);

SW_EXTERN_C_END

#endif
