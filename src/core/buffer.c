/*
 * sw_buffer_t: a growable byte buffer (see swoole/buffer.h).
 *
 * Invariants kept by every function: offset <= length <= size <= limit, where limit is
 * max_size (SW_BUFFER_DEFAULT_MAX when 0, so that a zeroed struct is a valid empty buffer).
 * Every range check is written so that it cannot wrap: `offset + len > length` is tested as
 * `offset > length || len > length - offset`, never by adding first.
 *
 * Growth: to make room for `need` bytes the allocation becomes max(need, 2 * size), at least
 * BUFFER_MIN_ALLOC, rounded up to a whole page once it is BUFFER_PAGE bytes or more (large
 * buffers then fill whole pages, as Swoole's String does), and never more than the limit. A
 * failed growth leaves the buffer as it was: realloc keeps the old block on failure.
 *
 * Source data may point into the buffer itself (appending or writing a part of the buffer to
 * itself): such a source is located by its offset before the buffer moves, and copied with
 * memmove.
 */
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "swoole/buffer.h"
#include "swoole/error.h"

/* Smallest allocation made by growth: appending a few bytes at a time costs few reallocs. */
#define BUFFER_MIN_ALLOC ((size_t)64)
/* Page size used to round large allocations; a constant (not sysconf) so that sizes are the
 * same on every machine and in tests. */
#define BUFFER_PAGE ((size_t)4096)

static size_t limit_of(const sw_buffer_t *b)
{
    return b->max_size ? b->max_size : SW_BUFFER_DEFAULT_MAX;
}

/* The allocation size for at least `need` bytes (need <= limit), following the policy above. */
static size_t grow_size(size_t size, size_t need, size_t limit)
{
    size_t n = size > limit / 2 ? limit : size * 2;
    if (n < need) {
        n = need;
    }
    if (n < BUFFER_MIN_ALLOC) {
        n = BUFFER_MIN_ALLOC;
    }
    if (n >= BUFFER_PAGE && n % BUFFER_PAGE != 0) {
        size_t pad = BUFFER_PAGE - n % BUFFER_PAGE;
        n = pad > SIZE_MAX - n ? SIZE_MAX : n + pad;
    }
    return n > limit ? limit : n;
}

/* Reallocates to exactly `size` bytes (size > b->size). */
static int resize(sw_buffer_t *b, size_t size)
{
    char *p = sw__realloc(b->str, size);
    if (!p) {
        return SW_ENOMEM;
    }
    b->str = p;
    b->size = size;
    return 0;
}

/* Makes sure `need` bytes fit (need <= limit, checked by the caller). */
static int ensure(sw_buffer_t *b, size_t need)
{
    if (need <= b->size) {
        return 0;
    }
    return resize(b, grow_size(b->size, need, limit_of(b)));
}

/* When `p` points into the buffer's allocation, its offset there, else SIZE_MAX. Compared as
 * integers: relational operators on pointers into different objects are undefined. */
static size_t inner_offset(const sw_buffer_t *b, const void *p)
{
    uintptr_t base = (uintptr_t)b->str, q = (uintptr_t)p;
    if (b->str && q >= base && q - base < b->size) {
        return (size_t)(q - base);
    }
    return SIZE_MAX;
}

int sw_buffer_init(sw_buffer_t *b, size_t capacity, size_t max_size)
{
    if (!b) {
        return SW_EINVAL;
    }
    *b = (sw_buffer_t){.max_size = max_size ? max_size : SW_BUFFER_DEFAULT_MAX};
    if (capacity > b->max_size) {
        return SW_EINVAL;
    }
    if (capacity > 0) {
        b->str = sw__malloc(capacity);
        if (!b->str) {
            return SW_ENOMEM;
        }
        b->size = capacity;
    }
    return 0;
}

void sw_buffer_close(sw_buffer_t *b)
{
    if (!b) {
        return;
    }
    sw__free(b->str);
    b->str = NULL;
    b->length = b->size = b->offset = 0;
}

/* Writes `len` bytes from `data` at `at` (at <= length, at + len <= limit checked by the
 * caller), growing as needed; `data` may point into the buffer. */
static int put(sw_buffer_t *b, size_t at, const void *data, size_t len)
{
    size_t inner = inner_offset(b, data);
    int rc = ensure(b, at + len);
    if (rc < 0) {
        return rc;
    }
    const char *src = inner != SIZE_MAX ? b->str + inner : data;
    memmove(b->str + at, src, len);
    if (at + len > b->length) {
        b->length = at + len;
    }
    return 0;
}

int sw_buffer_append(sw_buffer_t *b, const void *data, size_t len)
{
    if (!b || (!data && len > 0)) {
        return SW_EINVAL;
    }
    if (len == 0) {
        return 0;
    }
    if (len > limit_of(b) - b->length) {
        return SW_EOVERFLOW;
    }
    return put(b, b->length, data, len);
}

int sw_buffer_write(sw_buffer_t *b, size_t offset, const void *data, size_t len)
{
    if (!b || (!data && len > 0)) {
        return SW_EINVAL;
    }
    if (offset > b->length) {
        return SW_EBUFFER_BOUNDS;
    }
    if (len == 0) {
        return 0;
    }
    if (len > limit_of(b) - offset) {
        return SW_EOVERFLOW;
    }
    return put(b, offset, data, len);
}

/* 0 when [offset, offset + len) lies inside [0, length), else SW_EBUFFER_BOUNDS. */
static int check_range(const sw_buffer_t *b, size_t offset, size_t len)
{
    if (offset > b->length || len > b->length - offset) {
        return SW_EBUFFER_BOUNDS;
    }
    return 0;
}

int sw_buffer_read(const sw_buffer_t *b, size_t offset, void *out, size_t len)
{
    if (!b || (!out && len > 0)) {
        return SW_EINVAL;
    }
    int rc = check_range(b, offset, len);
    if (rc < 0) {
        return rc;
    }
    if (len > 0) {
        memcpy(out, b->str + offset, len);
    }
    return 0;
}

int sw_buffer_substr(sw_buffer_t *b, size_t offset, size_t len, void *out, bool remove)
{
    if (!b) {
        return SW_EINVAL;
    }
    int rc = check_range(b, offset, len);
    if (rc < 0 || len == 0) {
        return rc;
    }
    if (out) {
        memcpy(out, b->str + offset, len);
    }
    if (remove) {
        size_t end = offset + len;
        memmove(b->str + offset, b->str + end, b->length - end);
        b->length -= len;
        /* Removed bytes that were already consumed no longer count as consumed. */
        if (b->offset >= end) {
            b->offset -= len;
        } else if (b->offset > offset) {
            b->offset = offset;
        }
    }
    return 0;
}

int sw_buffer_expand(sw_buffer_t *b, size_t capacity)
{
    if (!b) {
        return SW_EINVAL;
    }
    if (capacity <= b->size) {
        return 0;
    }
    if (capacity > limit_of(b)) {
        return SW_EOVERFLOW;
    }
    return resize(b, capacity);
}

int sw_buffer_reserve(sw_buffer_t *b, size_t len, char **out)
{
    if (!b || !out) {
        return SW_EINVAL;
    }
    if (len > limit_of(b) - b->length) {
        return SW_EOVERFLOW;
    }
    int rc = ensure(b, b->length + len);
    if (rc < 0) {
        return rc;
    }
    *out = b->str ? b->str + b->length : NULL;
    return 0;
}

int sw_buffer_commit(sw_buffer_t *b, size_t len)
{
    if (!b) {
        return SW_EINVAL;
    }
    if (len > b->size - b->length) {
        return SW_EBUFFER_BOUNDS;
    }
    b->length += len;
    return 0;
}

int sw_buffer_consume(sw_buffer_t *b, size_t len)
{
    if (!b) {
        return SW_EINVAL;
    }
    if (len > b->length - b->offset) {
        return SW_EBUFFER_BOUNDS;
    }
    b->offset += len;
    return 0;
}

void sw_buffer_clear(sw_buffer_t *b)
{
    if (b) {
        b->length = 0;
        b->offset = 0;
    }
}

void sw_buffer_recycle(sw_buffer_t *b)
{
    if (!b || b->offset == 0) {
        return;
    }
    memmove(b->str, b->str + b->offset, b->length - b->offset);
    b->length -= b->offset;
    b->offset = 0;
}
