/* Tests of sw_chain_t, the chained output buffer. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sw_test.h"
#include "core/fault.h"
#include "swoole/buffer.h"

/* The queued bytes, gathered through sw_chain_peek, into `out` (at least length bytes). */
static size_t gather(const sw_chain_t *c, char *out)
{
    struct iovec iov[256];
    int n = sw_chain_peek(c, iov, 256);
    ASSERT_GE(n, 0);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        ASSERT_GT(iov[i].iov_len, 0);
        memcpy(out + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    return off;
}

/* A deterministic byte pattern, so that a reader can check any position. */
static unsigned char pattern_at(size_t i)
{
    return (unsigned char)((i * 2654435761u) >> 13);
}

static void fill_pattern(char *p, size_t from, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (char)pattern_at(from + i);
    }
}

SW_TEST(chain_init_errors)
{
    sw_chain_t c;
    ASSERT_ERR(sw_chain_init(NULL, 0, 0), SW_EINVAL);
    ASSERT_ERR(sw_chain_init(&c, SW_BUFFER_DEFAULT_MAX + 1, 0), SW_EINVAL);
    ASSERT_ERR(sw_chain_init(&c, SIZE_MAX, 0), SW_EINVAL);
    ASSERT_OK(sw_chain_init(&c, 0, 0));
    ASSERT_UEQ(c.chunk_size, SW_CHAIN_DEFAULT_CHUNK);
    ASSERT_UEQ(sw_chain_length(&c), 0);
    ASSERT_NULL(c.head);
    ASSERT_UEQ(sw_chain_length(NULL), 0);
    sw_chain_close(&c);
    sw_chain_close(NULL);
}

SW_TEST(chain_append_fills_tail_then_new_chunks)
{
    sw_chain_t c;
    ASSERT_OK(sw_chain_init(&c, 16, 0));
    ASSERT_OK(sw_chain_append(&c, "0123456789", 10));
    ASSERT_UEQ(c.nchunks, 1);
    ASSERT_OK(sw_chain_append(&c, "abcdefghij", 10)); /* 6 into the tail, 4 into a new chunk */
    ASSERT_UEQ(c.nchunks, 2);
    ASSERT_UEQ(sw_chain_length(&c), 20);

    struct iovec iov[4];
    ASSERT_EQ(sw_chain_peek(&c, iov, 4), 2);
    ASSERT_UEQ(iov[0].iov_len, 16);
    ASSERT_UEQ(iov[1].iov_len, 4);
    ASSERT_MEM_EQ(iov[0].iov_base, "0123456789abcdef", 16);
    ASSERT_MEM_EQ(iov[1].iov_base, "ghij", 4);
    ASSERT_EQ(sw_chain_peek(&c, iov, 1), 1);
    ASSERT_UEQ(iov[0].iov_len, 16);

    /* Zero bytes are a no-op, with or without a pointer. */
    ASSERT_OK(sw_chain_append(&c, NULL, 0));
    ASSERT_OK(sw_chain_append(&c, "x", 0));
    ASSERT_UEQ(sw_chain_length(&c), 20);
    sw_chain_close(&c);
    ASSERT_UEQ(sw_chain_length(&c), 0);
    ASSERT_UEQ(c.nchunks, 0);
}

SW_TEST(chain_large_append_is_one_chunk)
{
    sw_chain_t c;
    ASSERT_OK(sw_chain_init(&c, 16, 0));
    char big[100];
    fill_pattern(big, 0, sizeof(big));
    ASSERT_OK(sw_chain_append(&c, big, sizeof(big)));
    ASSERT_UEQ(c.nchunks, 1); /* one chunk of the data's size, not 7 chunks of 16 */
    ASSERT_OK(sw_chain_append(&c, "tail", 4));
    ASSERT_UEQ(c.nchunks, 2); /* the big chunk is full: a regular chunk follows */
    struct iovec iov[4];
    ASSERT_EQ(sw_chain_peek(&c, iov, 4), 2);
    ASSERT_UEQ(iov[0].iov_len, 100);
    ASSERT_MEM_EQ(iov[0].iov_base, big, 100);
    ASSERT_MEM_EQ(iov[1].iov_base, "tail", 4);
    sw_chain_close(&c);
}

SW_TEST(chain_append_errors_and_limit)
{
    sw_chain_t c;
    ASSERT_ERR(sw_chain_append(NULL, "a", 1), SW_EINVAL);
    ASSERT_OK(sw_chain_init(&c, 8, 20));
    ASSERT_ERR(sw_chain_append(&c, NULL, 1), SW_EINVAL);
    ASSERT_OK(sw_chain_append(&c, "0123456789", 10));
    /* All or nothing: 11 more would pass 20, so nothing of them is queued. */
    ASSERT_ERR(sw_chain_append(&c, "abcdefghijk", 11), SW_EOVERFLOW_OUTPUT);
    ASSERT_UEQ(sw_chain_length(&c), 10);
    ASSERT_UEQ(c.nchunks, 1); /* 10 > chunk_size: one chunk of 10 */
    ASSERT_ERR(sw_chain_append(&c, "x", SIZE_MAX), SW_EOVERFLOW_OUTPUT);
    ASSERT_ERR(sw_chain_append(&c, "x", SIZE_MAX - 9), SW_EOVERFLOW_OUTPUT);
    ASSERT_OK(sw_chain_append(&c, "abcdefghij", 10)); /* exactly max_length */
    ASSERT_ERR(sw_chain_append(&c, "y", 1), SW_EOVERFLOW_OUTPUT);
    char out[32];
    ASSERT_UEQ(gather(&c, out), 20);
    ASSERT_MEM_EQ(out, "0123456789abcdefghij", 20);
    /* Consuming makes room again. */
    ASSERT_OK(sw_chain_consume(&c, 5));
    ASSERT_OK(sw_chain_append(&c, "KLMNO", 5));
    ASSERT_ERR(sw_chain_append(&c, "y", 1), SW_EOVERFLOW_OUTPUT);
    ASSERT_UEQ(gather(&c, out), 20);
    ASSERT_MEM_EQ(out, "56789abcdefghijKLMNO", 20);
    sw_chain_close(&c);

    /* Without a limit a wrapping length is still refused, before any allocation. */
    ASSERT_OK(sw_chain_init(&c, 8, 0));
    ASSERT_OK(sw_chain_append(&c, "abc", 3));
    ASSERT_ERR(sw_chain_append(&c, "x", SIZE_MAX - 2), SW_EOVERFLOW_OUTPUT);
    ASSERT_ERR(sw_chain_append(&c, "x", SIZE_MAX), SW_EOVERFLOW_OUTPUT);
    /* A length that does not wrap but cannot be allocated is SW_ENOMEM, chain unchanged. */
    ASSERT_ERR(sw_chain_append(&c, "x", SIZE_MAX - 3), SW_ENOMEM);
    ASSERT_UEQ(sw_chain_length(&c), 3);
    sw_chain_close(&c);
}

SW_TEST(chain_peek_errors)
{
    sw_chain_t c;
    struct iovec iov[2];
    ASSERT_OK(sw_chain_init(&c, 0, 0));
    ASSERT_ERR(sw_chain_peek(NULL, iov, 2), SW_EINVAL);
    ASSERT_ERR(sw_chain_peek(&c, iov, -1), SW_EINVAL);
    ASSERT_ERR(sw_chain_peek(&c, NULL, 1), SW_EINVAL);
    ASSERT_EQ(sw_chain_peek(&c, NULL, 0), 0);
    ASSERT_EQ(sw_chain_peek(&c, iov, 2), 0); /* empty */
    ASSERT_OK(sw_chain_append(&c, "abc", 3));
    ASSERT_EQ(sw_chain_peek(&c, iov, 0), 0);
    ASSERT_EQ(sw_chain_peek(&c, iov, 2), 1);
    sw_chain_close(&c);
}

SW_TEST(chain_consume_frees_chunks)
{
    sw_chain_t c;
    ASSERT_ERR(sw_chain_consume(NULL, 0), SW_EINVAL);
    ASSERT_OK(sw_chain_init(&c, 4, 0));
    ASSERT_ERR(sw_chain_consume(&c, 1), SW_EBUFFER_BOUNDS);
    ASSERT_OK(sw_chain_consume(&c, 0));
    ASSERT_OK(sw_chain_append(&c, "aaaa", 4));
    ASSERT_OK(sw_chain_append(&c, "bbbb", 4));
    ASSERT_OK(sw_chain_append(&c, "cc", 2));
    ASSERT_UEQ(c.nchunks, 3);
    ASSERT_ERR(sw_chain_consume(&c, 11), SW_EBUFFER_BOUNDS);
    ASSERT_ERR(sw_chain_consume(&c, SIZE_MAX), SW_EBUFFER_BOUNDS);
    ASSERT_UEQ(sw_chain_length(&c), 10);
    ASSERT_OK(sw_chain_consume(&c, 3)); /* inside the first chunk */
    ASSERT_UEQ(c.nchunks, 3);
    ASSERT_OK(sw_chain_consume(&c, 1)); /* exactly the end of the first chunk: freed */
    ASSERT_UEQ(c.nchunks, 2);
    ASSERT_OK(sw_chain_consume(&c, 5)); /* across a boundary */
    ASSERT_UEQ(c.nchunks, 1);
    char out[4];
    ASSERT_UEQ(gather(&c, out), 1);
    ASSERT_EQ(out[0], 'c');
    ASSERT_OK(sw_chain_consume(&c, 1)); /* the tail chunk, with room left, is freed too */
    ASSERT_UEQ(c.nchunks, 0);
    ASSERT_NULL(c.head);
    ASSERT_NULL(c.tail);
    ASSERT_OK(sw_chain_append(&c, "zz", 2)); /* and the chain works again */
    ASSERT_UEQ(gather(&c, out), 2);
    ASSERT_MEM_EQ(out, "zz", 2);
    sw_chain_close(&c);
}

/* Random appends and consumes against a flat model; every iovec boundary is checked. */
SW_TEST(chain_iovec_boundaries_random)
{
    enum { CAP = 1 << 16 };
    char *model = malloc(CAP);
    char *got = malloc(CAP);
    char src[64];
    ASSERT_NOT_NULL(model);
    ASSERT_NOT_NULL(got);
    uint32_t seed = 12345;
    for (int round = 0; round < 4; round++) {
        sw_chain_t c;
        size_t chunk = (size_t)(1 + round * 5); /* 1, 6, 11, 16: many boundaries */
        ASSERT_OK(sw_chain_init(&c, chunk, 0));
        size_t mlen = 0, written = 0;
        for (int step = 0; step < 3000; step++) {
            seed = seed * 1103515245u + 12345u;
            size_t n = (seed >> 16) % 40;
            if ((seed >> 8) % 3 != 0 && mlen + n < CAP) {
                fill_pattern(src, written, n);
                ASSERT_OK(sw_chain_append(&c, src, n));
                memcpy(model + mlen, src, n);
                mlen += n;
                written += n;
            } else {
                n = n > mlen ? mlen : n;
                ASSERT_OK(sw_chain_consume(&c, n));
                memmove(model, model + n, mlen - n);
                mlen -= n;
            }
            ASSERT_UEQ(sw_chain_length(&c), mlen);
            /* Every iovec is one non-empty chunk; their sum is the whole queue. */
            struct iovec iov[4096];
            int cnt = sw_chain_peek(&c, iov, 4096);
            ASSERT_UEQ((size_t)cnt, c.nchunks);
            size_t off = 0;
            for (int i = 0; i < cnt; i++) {
                ASSERT_ULE(iov[i].iov_len, chunk > 40 ? chunk : 40);
                memcpy(got + off, iov[i].iov_base, iov[i].iov_len);
                off += iov[i].iov_len;
            }
            ASSERT_UEQ(off, mlen);
            ASSERT_MEM_EQ(got, model, mlen);
        }
        sw_chain_close(&c);
    }
    free(model);
    free(got);
}

SW_TEST(chain_alloc_fault)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    sw_chain_t c;
    ASSERT_OK(sw_chain_init(&c, 8, 0)); /* init allocates nothing */
    ASSERT_OK(sw__fault_set("alloc", 0, 1));
    ASSERT_ERR(sw_chain_append(&c, "abc", 3), SW_ENOMEM);
    ASSERT_EQ(sw__fault_hits("alloc"), 1);
    ASSERT_UEQ(sw_chain_length(&c), 0);
    ASSERT_NULL(c.head);
    ASSERT_OK(sw_chain_append(&c, "abc", 3));

    /* Fits the tail's room: no allocation, so an armed fault does not fire. */
    ASSERT_OK(sw__fault_set("alloc", 0, -1));
    ASSERT_OK(sw_chain_append(&c, "defgh", 5));
    ASSERT_EQ(sw__fault_hits("alloc"), 0);
    /* The tail is full now: the next byte needs a chunk, and gets SW_ENOMEM. */
    ASSERT_ERR(sw_chain_append(&c, "ij", 2), SW_ENOMEM);
    ASSERT_OK(sw_chain_consume(&c, 2));
    ASSERT_UEQ(c.nchunks, 1);
    sw_chain_close(&c);

    /* Partly fits: the part that fits must not be copied when the new chunk fails. */
    ASSERT_OK(sw__fault_set("alloc", 0, 0));
    ASSERT_OK(sw_chain_init(&c, 8, 0));
    ASSERT_OK(sw_chain_append(&c, "12345", 5));
    ASSERT_OK(sw__fault_set("alloc", 0, 1));
    ASSERT_ERR(sw_chain_append(&c, "67890", 5), SW_ENOMEM);
    ASSERT_UEQ(sw_chain_length(&c), 5);
    ASSERT_OK(sw_chain_append(&c, "ab", 2));
    char out[16];
    ASSERT_UEQ(gather(&c, out), 7);
    ASSERT_MEM_EQ(out, "12345ab", 7);
    sw_chain_close(&c);
    sw__fault_reset();
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    ASSERT_GE(fl, 0);
    ASSERT_EQ(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/*
 * 4 MiB through a non-blocking pipe: the chain is written until EAGAIN, then the reader drains
 * what arrived and checks it byte by byte, in turn, until everything has passed. Small chunks
 * (1000 B) make every writev hit the 64-iovec cap.
 */
SW_TEST_TIMEOUT(chain_write_pipe_eagain, 60)
{
    enum { TOTAL = 4 << 20 };
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    set_nonblock(p[0]);
    set_nonblock(p[1]);
    sw_chain_t c;
    ASSERT_OK(sw_chain_init(&c, 1000, 0));
    char *src = malloc(3000);
    char *rbuf = malloc(1 << 16);
    ASSERT_NOT_NULL(src);
    ASSERT_NOT_NULL(rbuf);
    size_t queued = 0, received = 0;
    uint32_t seed = 7;
    while (queued < TOTAL) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 3000;
        if (n > TOTAL - queued) {
            n = TOTAL - queued;
        }
        fill_pattern(src, queued, n);
        ASSERT_OK(sw_chain_append(&c, src, n));
        queued += n;
    }
    ASSERT_UEQ(sw_chain_length(&c), TOTAL);
    int eagains = 0;
    for (int rounds = 0; received < TOTAL; rounds++) {
        ASSERT_LT(rounds, 1000000);
        for (;;) {
            ssize_t w = sw_chain_write(&c, p[1]);
            if (w == SW_EAGAIN) {
                eagains++;
                break;
            }
            ASSERT_GE(w, 0);
            if (w == 0) {
                break; /* empty */
            }
        }
        for (;;) {
            ssize_t r = read(p[0], rbuf, 1 << 16);
            if (r < 0) {
                ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
                break;
            }
            ASSERT_GT(r, 0);
            for (ssize_t i = 0; i < r; i++) {
                if ((unsigned char)rbuf[i] != pattern_at(received + (size_t)i)) {
                    ASSERT_EQ((unsigned char)rbuf[i], pattern_at(received + (size_t)i));
                }
            }
            received += (size_t)r;
        }
    }
    ASSERT_GT(eagains, 0); /* 4 MiB cannot fit a pipe at once */
    ASSERT_UEQ(received, TOTAL);
    ASSERT_UEQ(sw_chain_length(&c), 0);
    ASSERT_UEQ(c.nchunks, 0);
    ASSERT_EQ(sw_chain_write(&c, p[1]), 0); /* empty chain: nothing to do */
    sw_chain_close(&c);
    free(src);
    free(rbuf);
    close(p[0]);
    close(p[1]);
}

SW_TEST(chain_write_errors)
{
    sw_chain_t c;
    ASSERT_ERR(sw_chain_write(NULL, 1), SW_EINVAL);
    ASSERT_OK(sw_chain_init(&c, 0, 0));
    ASSERT_EQ(sw_chain_write(&c, -1), 0); /* empty: the fd is not even looked at */
    ASSERT_OK(sw_chain_append(&c, "hello", 5));
    ASSERT_ERR(sw_chain_write(&c, -1), SW_EBADF);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    close(p[1]);
    ASSERT_ERR(sw_chain_write(&c, p[1]), SW_EBADF); /* closed fd */
    ASSERT_ERR(sw_chain_write(&c, p[0]), SW_EBADF); /* read end */
    close(p[0]);
    ASSERT_UEQ(sw_chain_length(&c), 5);

    /* Reader gone: EPIPE (SIGPIPE ignored in this child, as a server must). */
    ASSERT_EQ(pipe(p), 0);
    signal(SIGPIPE, SIG_IGN);
    close(p[0]);
    ASSERT_ERR(sw_chain_write(&c, p[1]), SW_EPIPE);
    ASSERT_UEQ(sw_chain_length(&c), 5);
    close(p[1]);

    if (sw__fault_enabled()) {
        ASSERT_EQ(pipe(p), 0);
        ASSERT_OK(sw__fault_set("write", 0, 1));
        ASSERT_ERR(sw_chain_write(&c, p[1]), SW_EIO);
        ASSERT_UEQ(sw_chain_length(&c), 5);
        ASSERT_EQ(sw_chain_write(&c, p[1]), 5);
        char out[8];
        ASSERT_EQ(read(p[0], out, sizeof(out)), 5);
        ASSERT_MEM_EQ(out, "hello", 5);
        close(p[0]);
        close(p[1]);
        sw__fault_reset();
    }
    sw_chain_close(&c);
}

static volatile sig_atomic_t usr1_count;

static void on_usr1(int sig)
{
    (void)sig;
    usr1_count++;
}

/*
 * A blocking writev into a full pipe interrupted by a signal (no SA_RESTART) fails with EINTR
 * when nothing was written; sw_chain_write retries it and finishes once a reader drains the
 * pipe. Whether the signal lands inside writev depends on scheduling, so the test asserts only
 * the outcome: all bytes arrive, in order.
 */
SW_TEST(chain_write_retries_eintr)
{
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    set_nonblock(p[1]);
    char fill[4096];
    memset(fill, 'f', sizeof(fill));
    size_t prefill = 0;
    for (;;) {
        ssize_t w = write(p[1], fill, sizeof(fill));
        if (w < 0) {
            ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
            break;
        }
        prefill += (size_t)w;
    }
    int fl = fcntl(p[1], F_GETFL);
    ASSERT_EQ(fcntl(p[1], F_SETFL, fl & ~O_NONBLOCK), 0);

    struct sigaction sa = {.sa_handler = on_usr1};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: writev returns EINTR */
    ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);

    pid_t parent = getpid();
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        close(p[1]);
        usleep(100 * 1000);
        kill(parent, SIGUSR1);
        usleep(100 * 1000);
        char buf[8192];
        size_t got = 0;
        int bad = 0;
        for (;;) {
            ssize_t r = read(p[0], buf, sizeof(buf));
            if (r <= 0) {
                break;
            }
            for (ssize_t i = 0; i < r; i++, got++) {
                char want = got < prefill ? 'f' : "interrupted"[(got - prefill) % 11];
                bad |= buf[i] != want;
            }
        }
        _exit(bad || got != prefill + 11 * 100 ? 1 : 0);
    }
    close(p[0]);
    sw_chain_t c;
    ASSERT_OK(sw_chain_init(&c, 64, 0));
    for (int i = 0; i < 100; i++) {
        ASSERT_OK(sw_chain_append(&c, "interrupted", 11));
    }
    size_t sent = 0;
    while (sw_chain_length(&c) > 0) {
        ssize_t w = sw_chain_write(&c, p[1]);
        ASSERT_GT(w, 0);
        sent += (size_t)w;
    }
    ASSERT_UEQ(sent, 1100);
    close(p[1]);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    ASSERT_EQ(usr1_count, 1);
    sw_chain_close(&c);
}
