/*
 * EOF framing: eof_check against eof_split on "a\r\nb\r\n" in one write and across writes
 * (scenario 7 of swoole-reference.md §4), a delimiter spanning two reads, a stream without a
 * delimiter growing to package_max_length, 8-byte and self-overlapping delimiters with NUL
 * bytes, and the search cost of a stream arriving one byte at a time (counted in bytes
 * examined, not timed).
 */
#include <stdlib.h>
#include <string.h>

#include "protocol_util.h"
#include "sw_test.h"
#include "swoole/protocol.h"

static sw_protocol_t eof_spec(bool split, const char *eof, size_t eof_len, size_t max)
{
    sw_protocol_t p;
    sw_protocol_init(&p);
    ASSERT_OK(sw_protocol_set_option(&p, split ? "open_eof_split" : "open_eof_check", "1"));
    ASSERT_OK(sw_protocol_set_eof(&p, eof, eof_len));
    p.package_max_length = max;
    ASSERT_OK(sw_protocol_check(&p));
    return p;
}

/* Frames `s` arriving in the given chunks and checks the message ends. */
static void expect_ends(const sw_protocol_t *p, const char *s, const size_t *chunks, size_t nchunks,
                        const size_t *ends, size_t count, size_t leftover)
{
    for (int guard = 0; guard < 2; guard++) {
        frame_run_t r;
        frame_run(p, s, strlen(s), chunks, nchunks, guard, &r);
        ASSERT_EQ(r.error, 0);
        ASSERT_UEQ(r.count, count);
        for (size_t i = 0; i < count; i++) {
            ASSERT_UEQ(r.ends[i], ends[i]);
        }
        ASSERT_UEQ(r.leftover, leftover);
        frame_run_free(&r);
    }
}

SW_TEST(eof_check_vs_split_one_write)
{
    sw_protocol_t check = eof_spec(false, "\r\n", 2, 1024);
    sw_protocol_t split = eof_spec(true, "\r\n", 2, 1024);
    size_t whole = 0;
    /* Check delivers both together, as Swoole does; split one each. */
    expect_ends(&check, "a\r\nb\r\n", &whole, 1, (size_t[]){6}, 1, 0);
    expect_ends(&split, "a\r\nb\r\n", &whole, 1, (size_t[]){3, 6}, 2, 0);
    /* By hand, the way the server calls it. */
    sw_framer_t st;
    sw_framer_init(&st);
    size_t out = 0;
    ASSERT_EQ(sw_protocol_next(&split, &st, "a\r\nb\r\n", 6, &out), 1);
    ASSERT_UEQ(out, 3);
    ASSERT_EQ(sw_protocol_next(&split, &st, "b\r\n", 3, &out), 1);
    ASSERT_UEQ(out, 3);
    ASSERT_EQ(sw_protocol_next(&split, &st, "", 0, &out), 0);
    ASSERT_UEQ(out, 1);
    /* The delimiter alone is a message (an empty line). */
    expect_ends(&split, "\r\n\r\nx", &whole, 1, (size_t[]){2, 4}, 2, 1);
}

SW_TEST(eof_check_vs_split_across_writes)
{
    sw_protocol_t check = eof_spec(false, "\r\n", 2, 1024);
    sw_protocol_t split = eof_spec(true, "\r\n", 2, 1024);
    /* "a\r\nb" then "\r\n": check waits for the buffer to end with the delimiter. */
    size_t cut4[] = {4, 2};
    expect_ends(&check, "a\r\nb\r\n", cut4, 2, (size_t[]){6}, 1, 0);
    expect_ends(&split, "a\r\nb\r\n", cut4, 2, (size_t[]){3, 6}, 2, 0);
    /* "a\r\n" then "b\r\n": each write ends with it, so check delivers two. */
    size_t cut3[] = {3, 3};
    expect_ends(&check, "a\r\nb\r\n", cut3, 2, (size_t[]){3, 6}, 2, 0);
    expect_ends(&split, "a\r\nb\r\n", cut3, 2, (size_t[]){3, 6}, 2, 0);
    /* Byte at a time, check delivers at every delimiter too. */
    size_t one = 1;
    expect_ends(&check, "a\r\nb\r\nc", &one, 1, (size_t[]){3, 6}, 2, 1);
    expect_ends(&split, "a\r\nb\r\nc", &one, 1, (size_t[]){3, 6}, 2, 1);
}

SW_TEST(eof_spanning_two_reads)
{
    sw_protocol_t check = eof_spec(false, "\r\n", 2, 1024);
    sw_protocol_t split = eof_spec(true, "\r\n", 2, 1024);
    size_t cut[] = {6, 100};
    /* "hello\r" + "\nworld\r\n". */
    expect_ends(&check, "hello\r\nworld\r\n", cut, 2, (size_t[]){14}, 1, 0);
    expect_ends(&split, "hello\r\nworld\r\n", cut, 2, (size_t[]){7, 14}, 2, 0);
    /* A 4-byte delimiter cut after each of its first three bytes. */
    sw_protocol_t split4 = eof_spec(true, "\r\n\r\n", 4, 1024);
    for (size_t k = 1; k <= 3; k++) {
        size_t c[] = {3 + k, 100};
        expect_ends(&split4, "abc\r\n\r\ndef", c, 2, (size_t[]){7}, 1, 3);
    }
}

SW_TEST(eof_no_delimiter_grows_to_limit)
{
    size_t max = 4096;
    char *s = malloc(3 * max);
    ASSERT_NOT_NULL(s);
    memset(s, 'x', 3 * max);
    for (int split = 0; split < 2; split++) {
        sw_protocol_t p = eof_spec(split, "\r\n", 2, max);
        static const size_t chunks[] = {1, 7, 1000, 0};
        for (size_t c = 0; c < 4; c++) {
            frame_run_t r;
            frame_run(&p, s, 3 * max, &chunks[c], 1, false, &r);
            ASSERT_ERR(r.error, SW_EPKGTOOBIG);
            ASSERT_UEQ(r.fed_at_error, max); /* refused at the limit, never past it */
            ASSERT_UEQ(r.max_unread, max);
            ASSERT_UEQ(r.count, 0);
            frame_run_free(&r);
        }
        /* One byte short of the limit: still waiting. */
        sw_framer_t st;
        sw_framer_init(&st);
        size_t out = 0;
        ASSERT_EQ(sw_protocol_next(&p, &st, s, max - 1, &out), 0);
        ASSERT_UEQ(out, max);
        /* A message of exactly the limit is fine; one byte more is too big. */
        memcpy(s + max - 2, "\r\n", 2);
        sw_framer_init(&st);
        ASSERT_EQ(sw_protocol_next(&p, &st, s, max, &out), 1);
        ASSERT_UEQ(out, max);
        s[max - 2] = s[max - 1] = 'x';
        memcpy(s + max - 1, "\r\n", 2);
        sw_framer_init(&st);
        ASSERT_ERR(sw_protocol_next(&p, &st, s, max + 1, &out), SW_EPKGTOOBIG);
        s[max - 1] = s[max] = 'x';
    }
    free(s);
}

SW_TEST(eof_split_limit_counts_one_message)
{
    /* Split: the limit is per message, so a segment longer than the limit made of short
     * messages is fine when handed over at once. */
    sw_protocol_t p = eof_spec(true, "\n", 1, 16);
    const char *s = "0123456789\n0123456789\n0123456789\n";
    sw_framer_t st;
    sw_framer_init(&st);
    size_t out = 0, off = 0, len = strlen(s);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(sw_protocol_next(&p, &st, s + off, len - off, &out), 1);
        ASSERT_UEQ(out, 11);
        off += out;
    }
    /* A delimiter past the limit does not count: the message would be too big. */
    const char *t = "0123456789abcdef\n";
    sw_framer_init(&st);
    ASSERT_ERR(sw_protocol_next(&p, &st, t, strlen(t), &out), SW_EPKGTOOBIG);
}

static size_t append(char *s, size_t n, const void *bytes, size_t len)
{
    memcpy(s + n, bytes, len);
    return n + len;
}

SW_TEST(eof_eight_bytes_and_overlap)
{
    /* An 8-byte delimiter with NUL and high bytes. */
    static const char eof8[8] = {'\0', '\xff', 'E', 'N', 'D', '\0', '\r', '\n'};
    sw_protocol_t p = eof_spec(true, eof8, 8, 1024);
    char s[64];
    size_t n = 0;
    n = append(s, n, "one", 3);
    n = append(s, n, eof8, 8);
    n = append(s, n, eof8, 5); /* a false start */
    n = append(s, n, "two", 3);
    n = append(s, n, eof8, 8);
    static const size_t chunks[] = {0, 1, 3, 9};
    for (size_t c = 0; c < 4; c++) {
        for (int guard = 0; guard < 2; guard++) {
            frame_run_t r;
            frame_run(&p, s, n, &chunks[c], 1, guard, &r);
            ASSERT_EQ(r.error, 0);
            ASSERT_UEQ(r.count, 2);
            ASSERT_UEQ(r.ends[0], 11);
            ASSERT_UEQ(r.ends[1], n);
            frame_run_free(&r);
        }
    }
    /* A self-overlapping delimiter: "aaaaaaab" found at its first full occurrence inside a
     * long run of 'a' however the run is cut. */
    sw_protocol_t q = eof_spec(true, "aaaaaaab", 8, 1024);
    const char *t = "aaaaaaaaaaaaaaaaaaabaaaaaaaab";
    static const size_t tchunks[] = {0, 1, 2, 5, 7};
    for (size_t c = 0; c < 5; c++) {
        expect_ends(&q, t, &tchunks[c], 1, (size_t[]){20, 29}, 2, 0);
    }
    /* EOF check with an 8-byte delimiter. */
    sw_protocol_t r8 = eof_spec(false, eof8, 8, 1024);
    sw_framer_t st;
    sw_framer_init(&st);
    size_t out = 0;
    ASSERT_EQ(sw_protocol_next(&r8, &st, s, 10, &out), 0);
    ASSERT_EQ(sw_protocol_next(&r8, &st, s, 11, &out), 1);
    ASSERT_UEQ(out, 11);
}

SW_TEST(eof_scan_is_linear)
{
    /* 256 KiB with no delimiter, one byte per call, then the delimiter. The pathological
     * content is the delimiter's first byte repeated, so every position is a candidate. A
     * framer that searched from the start each time would examine ~n^2/2 = 3.4e10 bytes;
     * ours examines at most package_eof_len per new byte. */
    size_t n = 256 << 10;
    char *s = malloc(n + 4);
    ASSERT_NOT_NULL(s);
    memset(s, '\r', n);
    memcpy(s + n, "\r\n\r\n", 4);
    for (int split = 0; split < 2; split++) {
        sw_protocol_t p = eof_spec(split, "\r\n\r\n", 4, 1 << 20);
        frame_run_t r;
        frame_run1(&p, s, n + 4, 1, &r);
        ASSERT_EQ(r.error, 0);
        ASSERT_UEQ(r.count, 1);
        ASSERT_UEQ(r.ends[0], n + 4);
        ASSERT_UGE(r.examined, n);
        ASSERT_ULE(r.examined, 4 * (n + 4));
        frame_run_free(&r);
    }
    /* Typical content (no candidates): about one byte examined per byte. */
    memset(s, 'x', n);
    sw_protocol_t p = eof_spec(true, "\r\n", 2, 1 << 20);
    frame_run_t r;
    frame_run1(&p, s, n + 2, 1, &r);
    ASSERT_EQ(r.error, 0);
    ASSERT_ULE(r.examined, n + 8);
    frame_run_free(&r);
    /* Many messages in one segment: each byte is examined about once in total. */
    for (size_t i = 0; i < n; i += 64) {
        s[i + 62] = '\r';
        s[i + 63] = '\n';
    }
    frame_run1(&p, s, n, 0, &r);
    ASSERT_EQ(r.error, 0);
    ASSERT_UEQ(r.count, n / 64);
    ASSERT_ULE(r.examined, 2 * n);
    frame_run_free(&r);
    free(s);
}

SW_TEST(eof_shrunk_input_is_searched_again)
{
    /* Against the contract, a caller hands fewer bytes than before: the framer does not skip
     * bytes it never saw (it starts over) and reads nothing past `len`. */
    sw_protocol_t p = eof_spec(true, "\r\n", 2, 1024);
    sw_framer_t st;
    sw_framer_init(&st);
    size_t out = 0;
    ASSERT_EQ(sw_protocol_next(&p, &st, "abcdefgh", 8, &out), 0);
    ASSERT_EQ(sw_protocol_next(&p, &st, "a\r\n", 3, &out), 1);
    ASSERT_UEQ(out, 3);
}

SW_TEST(raw_mode)
{
    /* No framing: whatever arrived is the message, cut at the limit. */
    sw_protocol_t p;
    sw_protocol_init(&p);
    p.package_max_length = 4;
    ASSERT_EQ(sw_protocol_mode(&p), SW_FRAMING_NONE);
    sw_framer_t st;
    sw_framer_init(&st);
    size_t out = 0;
    ASSERT_EQ(sw_protocol_next(&p, &st, NULL, 0, &out), 0);
    ASSERT_UEQ(out, 1);
    ASSERT_EQ(sw_protocol_next(&p, &st, "abc", 3, &out), 1);
    ASSERT_UEQ(out, 3);
    ASSERT_EQ(sw_protocol_next(&p, &st, "abcdefghij", 10, &out), 1);
    ASSERT_UEQ(out, 4);
    frame_run_t r;
    frame_run1(&p, "abcdefghij", 10, 3, &r);
    ASSERT_EQ(r.error, 0);
    ASSERT_UEQ(r.count, 4);
    frame_run_free(&r);
}
