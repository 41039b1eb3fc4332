/*
 * sw_chain_t: a chained output buffer (see swoole/buffer.h).
 *
 * The chain is a singly linked queue of chunks. Bytes are appended at the tail and leave from
 * the head; a chunk that has been drained is freed at once, so a chain holds at most one chunk
 * that is partly written (the head) and one that is partly filled (the tail).
 *
 * Chunk sizing: an append first fills the free room of the tail chunk; whatever is left goes
 * into ONE new chunk of max(chunk_size, remainder) bytes. A large append (a 4 MiB response)
 * therefore costs one allocation and one iovec instead of 64 chunks of 64 KiB; the price is
 * that such a chunk keeps its whole allocation until its last byte is written. Appending
 * never allocates more than one chunk, which is what makes it all-or-nothing for free.
 *
 * The chunk struct is private to this file on purpose: the server adds other kinds of chunk
 * later (a file range written with sendfile(), a "close after this" marker). Such a kind gets
 * a tag in the struct; sw_chain_peek stops at the first chunk that is not memory and
 * sw_chain_append never fills one. Nothing outside this file depends on the layout.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/uio.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "swoole/buffer.h"
#include "swoole/error.h"

/* Iovecs passed to one writev(): at most IOV_MAX, and 64 is plenty (64 chunks of 64 KiB is
 * 4 MiB, more than any socket buffer takes at once). */
#if defined(IOV_MAX) && IOV_MAX < 64
#define CHAIN_WRITE_IOV IOV_MAX
#else
#define CHAIN_WRITE_IOV 64
#endif

/* Largest chunk_size sw_chain_init accepts: 1 GiB, the same ceiling as a buffer's default. */
#define CHAIN_MAX_CHUNK SW_BUFFER_DEFAULT_MAX

struct sw_chain_chunk_s {
    sw_chain_chunk_t *next;
    size_t size;  /* bytes of room in data[] */
    size_t start; /* first byte not yet consumed */
    size_t end;   /* one past the last byte appended; start <= end <= size */
    char data[];
};

int sw_chain_init(sw_chain_t *c, size_t chunk_size, size_t max_length)
{
    if (!c) {
        return SW_EINVAL;
    }
    if (chunk_size > CHAIN_MAX_CHUNK) {
        return SW_EINVAL;
    }
    *c = (sw_chain_t){
        .chunk_size = chunk_size ? chunk_size : SW_CHAIN_DEFAULT_CHUNK,
        .max_length = max_length,
    };
    return 0;
}

void sw_chain_close(sw_chain_t *c)
{
    if (!c) {
        return;
    }
    sw_chain_chunk_t *k = c->head;
    while (k) {
        sw_chain_chunk_t *next = k->next;
        sw__free(k);
        k = next;
    }
    c->head = c->tail = NULL;
    c->length = 0;
    c->nchunks = 0;
}

int sw_chain_append(sw_chain_t *c, const void *data, size_t len)
{
    if (!c || (!data && len > 0)) {
        return SW_EINVAL;
    }
    if (len == 0) {
        return 0;
    }
    /* length + len must neither pass max_length nor wrap around. */
    size_t limit = c->max_length ? c->max_length : SIZE_MAX;
    if (c->length > limit || len > limit - c->length) {
        return SW_EOVERFLOW_OUTPUT;
    }
    const char *src = data;
    size_t room = c->tail ? c->tail->size - c->tail->end : 0;
    size_t first = len < room ? len : room;
    size_t rest = len - first;

    /* Allocate before touching anything, so that a failure leaves the chain unchanged. */
    sw_chain_chunk_t *fresh = NULL;
    if (rest > 0) {
        size_t size = rest > c->chunk_size ? rest : c->chunk_size;
        if (size > SIZE_MAX - sizeof(sw_chain_chunk_t)) {
            return SW_ENOMEM;
        }
        fresh = sw__malloc(sizeof(sw_chain_chunk_t) + size);
        if (!fresh) {
            return SW_ENOMEM;
        }
        fresh->next = NULL;
        fresh->size = size;
        fresh->start = 0;
        fresh->end = rest;
        memcpy(fresh->data, src + first, rest);
    }
    if (first > 0) {
        memcpy(c->tail->data + c->tail->end, src, first);
        c->tail->end += first;
    }
    if (fresh) {
        if (c->tail) {
            c->tail->next = fresh;
        } else {
            c->head = fresh;
        }
        c->tail = fresh;
        c->nchunks++;
    }
    c->length += len;
    return 0;
}

size_t sw_chain_length(const sw_chain_t *c)
{
    return c ? c->length : 0;
}

int sw_chain_peek(const sw_chain_t *c, struct iovec *iov, int iovcnt)
{
    if (!c || iovcnt < 0 || (!iov && iovcnt > 0)) {
        return SW_EINVAL;
    }
    int n = 0;
    for (const sw_chain_chunk_t *k = c->head; k && n < iovcnt; k = k->next) {
        iov[n].iov_base = (void *)(k->data + k->start);
        iov[n].iov_len = k->end - k->start;
        n++;
    }
    return n;
}

int sw_chain_consume(sw_chain_t *c, size_t len)
{
    if (!c) {
        return SW_EINVAL;
    }
    if (len > c->length) {
        return SW_EBUFFER_BOUNDS;
    }
    c->length -= len;
    while (len > 0) {
        sw_chain_chunk_t *k = c->head;
        size_t avail = k->end - k->start;
        if (len < avail) {
            k->start += len;
            break;
        }
        len -= avail;
        c->head = k->next;
        if (!c->head) {
            c->tail = NULL;
        }
        c->nchunks--;
        sw__free(k); /* drained, even if it is the tail with room left: an empty chain holds
                        no memory, so an idle connection costs no chunk */
    }
    return 0;
}

ssize_t sw_chain_write(sw_chain_t *c, int fd)
{
    if (!c) {
        return SW_EINVAL;
    }
    ssize_t total = 0;
    while (c->length > 0) {
        struct iovec iov[CHAIN_WRITE_IOV];
        int cnt = sw_chain_peek(c, iov, CHAIN_WRITE_IOV);
        size_t want = 0;
        for (int i = 0; i < cnt; i++) {
            want += iov[i].iov_len;
        }
        ssize_t n;
        int fault = SW_FAULT("write", SW_EIO);
        if (fault) {
            n = -1;
            errno = -fault;
        } else {
            n = writev(fd, iov, cnt);
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (total > 0) {
                break; /* report what was written; the error comes back on the next call */
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return SW_EAGAIN;
            }
            return sw_translate_sys_error(errno);
        }
        /* n <= want by writev's contract; consume cannot fail. */
        sw_chain_consume(c, (size_t)n);
        total += n;
        if ((size_t)n < want) {
            break; /* the fd is full: a further writev would only return EAGAIN */
        }
    }
    return total;
}
