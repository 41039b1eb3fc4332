/* Tests of sw_buffer_t, the growable byte buffer. */
#include <stdlib.h>

#include "sw_test.h"
#include "core/fault.h"
#include "swoole/buffer.h"

/* The buffer holds exactly the bytes `s` (length strlen(s)). */
#define ASSERT_HOLDS(b, s)                       \
    do {                                         \
        ASSERT_UEQ((b)->length, strlen(s));      \
        ASSERT_MEM_EQ((b)->str, (s), strlen(s)); \
    } while (0)

/* A copy of a buffer's struct and bytes, to check that a failed call changed nothing. */
typedef struct {
    sw_buffer_t fields;
    char bytes[256];
} snapshot_t;

static void snap(const sw_buffer_t *b, snapshot_t *s)
{
    ASSERT_ULE(b->length, sizeof(s->bytes));
    s->fields = *b;
    if (b->length) {
        memcpy(s->bytes, b->str, b->length);
    }
}

static void assert_unchanged(const sw_buffer_t *b, const snapshot_t *s)
{
    ASSERT_PTR_EQ(b->str, s->fields.str);
    ASSERT_UEQ(b->length, s->fields.length);
    ASSERT_UEQ(b->size, s->fields.size);
    ASSERT_UEQ(b->offset, s->fields.offset);
    ASSERT_UEQ(b->max_size, s->fields.max_size);
    ASSERT_MEM_EQ(b->str, s->bytes, b->length);
}

SW_TEST(buffer_init_close)
{
    sw_buffer_t b;
    ASSERT_ERR(sw_buffer_init(NULL, 0, 0), SW_EINVAL);
    ASSERT_ERR(sw_buffer_init(&b, 11, 10), SW_EINVAL);
    ASSERT_NULL(b.str); /* left empty */
    ASSERT_ERR(sw_buffer_init(&b, SW_BUFFER_DEFAULT_MAX + 1, 0), SW_EINVAL);
    ASSERT_ERR(sw_buffer_init(&b, SIZE_MAX, 0), SW_EINVAL);

    ASSERT_OK(sw_buffer_init(&b, 0, 0));
    ASSERT_NULL(b.str); /* nothing allocated yet */
    ASSERT_UEQ(b.size, 0);
    ASSERT_UEQ(b.max_size, SW_BUFFER_DEFAULT_MAX);
    sw_buffer_close(&b);

    ASSERT_OK(sw_buffer_init(&b, 10, 10)); /* capacity == max_size is fine */
    ASSERT_NOT_NULL(b.str);
    ASSERT_UEQ(b.size, 10);
    ASSERT_UEQ(b.length, 0);
    ASSERT_OK(sw_buffer_append(&b, "abc", 3));
    sw_buffer_close(&b);
    ASSERT_NULL(b.str);
    ASSERT_UEQ(b.length, 0);
    ASSERT_UEQ(b.size, 0);
    ASSERT_UEQ(b.max_size, 10); /* kept: the closed buffer is usable again */
    ASSERT_OK(sw_buffer_append(&b, "0123456789", 10));
    ASSERT_ERR(sw_buffer_append(&b, "x", 1), SW_EOVERFLOW);
    sw_buffer_close(&b);
    sw_buffer_close(&b); /* twice is fine */
    sw_buffer_close(NULL);
}

SW_TEST(buffer_zeroed_struct_is_usable)
{
    sw_buffer_t b = {0};
    ASSERT_OK(sw_buffer_append(&b, "hello", 5));
    ASSERT_HOLDS(&b, "hello");
    ASSERT_OK(sw_buffer_expand(&b, 1000));
    ASSERT_UEQ(b.size, 1000);
    ASSERT_ERR(sw_buffer_expand(&b, SW_BUFFER_DEFAULT_MAX + 1), SW_EOVERFLOW);
    sw_buffer_close(&b);
}

SW_TEST(buffer_append_and_growth)
{
    sw_buffer_t b;
    ASSERT_ERR(sw_buffer_append(NULL, "a", 1), SW_EINVAL);
    ASSERT_OK(sw_buffer_init(&b, 0, 0));
    ASSERT_ERR(sw_buffer_append(&b, NULL, 1), SW_EINVAL);
    ASSERT_OK(sw_buffer_append(&b, NULL, 0));
    ASSERT_NULL(b.str); /* zero bytes allocate nothing */
    ASSERT_OK(sw_buffer_append(&b, "a", 1));
    ASSERT_UEQ(b.size, 64); /* smallest allocation */
    ASSERT_OK(sw_buffer_append(&b, "bc", 2));
    ASSERT_HOLDS(&b, "abc");

    /* Doubling, then whole pages once 4 KiB is reached. */
    char blob[3000];
    memset(blob, 'z', sizeof(blob));
    ASSERT_OK(sw_buffer_append(&b, blob, 62)); /* 65 bytes */
    ASSERT_UEQ(b.size, 128);
    ASSERT_OK(sw_buffer_append(&b, blob, 3000)); /* 3065: need beats doubling (256) */
    ASSERT_UEQ(b.size, 3065);
    ASSERT_OK(sw_buffer_append(&b, blob, 1)); /* doubling: 6130 -> 8192 (page multiple) */
    ASSERT_UEQ(b.size, 8192);
    for (int i = 0; i < 10; i++) {
        ASSERT_OK(sw_buffer_append(&b, blob, sizeof(blob)));
        ASSERT_UEQ(b.size % 4096, 0);
        ASSERT_ULE(b.length, b.size);
    }
    ASSERT_UEQ(b.length, 3066 + 30000);
    ASSERT_MEM_EQ(b.str, "abc", 3);
    for (size_t i = 3; i < b.length; i++) {
        if (b.str[i] != 'z') {
            ASSERT_EQ(b.str[i], 'z');
        }
    }
    sw_buffer_close(&b);
}

SW_TEST(buffer_append_max_size)
{
    sw_buffer_t b;
    snapshot_t s;
    ASSERT_OK(sw_buffer_init(&b, 0, 100));
    char blob[100];
    memset(blob, 'q', sizeof(blob));
    ASSERT_OK(sw_buffer_append(&b, blob, 60));
    ASSERT_ULE(b.size, 100);
    snap(&b, &s);
    ASSERT_ERR(sw_buffer_append(&b, blob, 41), SW_EOVERFLOW); /* all or nothing */
    assert_unchanged(&b, &s);
    ASSERT_OK(sw_buffer_append(&b, blob, 40)); /* exactly max_size */
    ASSERT_UEQ(b.size, 100);                   /* growth capped at the limit */
    ASSERT_ERR(sw_buffer_append(&b, blob, 1), SW_EOVERFLOW);
    ASSERT_ERR(sw_buffer_append(&b, blob, SIZE_MAX), SW_EOVERFLOW);
    ASSERT_UEQ(b.length, 100);
    sw_buffer_close(&b);

    /* Page rounding stops at the limit too. */
    ASSERT_OK(sw_buffer_init(&b, 0, 5000));
    char big[4097];
    memset(big, 'p', sizeof(big));
    ASSERT_OK(sw_buffer_append(&b, big, sizeof(big)));
    ASSERT_UEQ(b.size, 5000);
    sw_buffer_close(&b);

    /* With max_size SIZE_MAX, only wrap-around protects the sum: length + len must not wrap. */
    ASSERT_OK(sw_buffer_init(&b, 0, SIZE_MAX));
    ASSERT_OK(sw_buffer_append(&b, "0123456789", 10));
    snap(&b, &s);
    ASSERT_ERR(sw_buffer_append(&b, "x", SIZE_MAX - 5), SW_EOVERFLOW);
    ASSERT_ERR(sw_buffer_append(&b, "x", SIZE_MAX), SW_EOVERFLOW);
    assert_unchanged(&b, &s);
    sw_buffer_close(&b);
}

SW_TEST(buffer_append_from_itself)
{
    sw_buffer_t b;
    ASSERT_OK(sw_buffer_init(&b, 0, 0));
    ASSERT_OK(sw_buffer_append(&b, "abcdefgh", 8));
    ASSERT_OK(sw_buffer_expand(&b, 8)); /* no-op: 64 already */
    /* Doubling the contents from the buffer itself, across several reallocations. */
    for (int i = 0; i < 12; i++) {
        ASSERT_OK(sw_buffer_append(&b, b.str, b.length));
    }
    ASSERT_UEQ(b.length, 8u << 12);
    for (size_t i = 0; i < b.length; i++) {
        if (b.str[i] != "abcdefgh"[i % 8]) {
            ASSERT_EQ(b.str[i], "abcdefgh"[i % 8]);
        }
    }
    /* Writing a part of itself over an overlapping range. */
    sw_buffer_clear(&b);
    ASSERT_OK(sw_buffer_append(&b, "0123456789", 10));
    ASSERT_OK(sw_buffer_write(&b, 2, b.str, 8));
    ASSERT_HOLDS(&b, "0101234567");
    ASSERT_OK(sw_buffer_write(&b, 0, b.str + 5, 5));
    ASSERT_HOLDS(&b, "3456734567");
    sw_buffer_close(&b);
}

SW_TEST(buffer_write)
{
    sw_buffer_t b;
    snapshot_t s;
    ASSERT_ERR(sw_buffer_write(NULL, 0, "a", 1), SW_EINVAL);
    ASSERT_OK(sw_buffer_init(&b, 0, 20));
    ASSERT_ERR(sw_buffer_write(&b, 0, NULL, 1), SW_EINVAL);
    ASSERT_OK(sw_buffer_write(&b, 0, "hello", 5)); /* offset == length: appends */
    ASSERT_OK(sw_buffer_write(&b, 1, "EL", 2));    /* inside: overwrites */
    ASSERT_HOLDS(&b, "hELlo");
    ASSERT_OK(sw_buffer_write(&b, 3, "p world", 7)); /* straddles the end: extends */
    ASSERT_HOLDS(&b, "hELp world");
    ASSERT_OK(sw_buffer_write(&b, 10, NULL, 0));
    ASSERT_OK(sw_buffer_write(&b, 4, "", 0));
    ASSERT_HOLDS(&b, "hELp world");

    snap(&b, &s);
    ASSERT_ERR(sw_buffer_write(&b, 11, "x", 1), SW_EBUFFER_BOUNDS); /* would leave a gap */
    ASSERT_ERR(sw_buffer_write(&b, 11, "x", 0), SW_EBUFFER_BOUNDS);
    ASSERT_ERR(sw_buffer_write(&b, SIZE_MAX, "x", 1), SW_EBUFFER_BOUNDS);
    ASSERT_ERR(sw_buffer_write(&b, SIZE_MAX, "x", 0), SW_EBUFFER_BOUNDS);
    ASSERT_ERR(sw_buffer_write(&b, 5, "0123456789abcdef", 16), SW_EOVERFLOW); /* 21 > 20 */
    ASSERT_ERR(sw_buffer_write(&b, 5, "x", SIZE_MAX), SW_EOVERFLOW);
    ASSERT_ERR(sw_buffer_write(&b, 10, "x", SIZE_MAX - 9), SW_EOVERFLOW);
    assert_unchanged(&b, &s);
    ASSERT_OK(sw_buffer_write(&b, 5, "0123456789abcde", 15)); /* exactly 20 */
    ASSERT_HOLDS(&b, "hELp 0123456789abcde");
    sw_buffer_close(&b);

    /* Without a useful limit only the wrap check stands between offset + len and disaster. */
    ASSERT_OK(sw_buffer_init(&b, 0, SIZE_MAX));
    ASSERT_OK(sw_buffer_append(&b, "abc", 3));
    snap(&b, &s);
    ASSERT_ERR(sw_buffer_write(&b, 3, "x", SIZE_MAX), SW_EOVERFLOW);
    ASSERT_ERR(sw_buffer_write(&b, 2, "x", SIZE_MAX - 1), SW_EOVERFLOW);
    assert_unchanged(&b, &s);
    sw_buffer_close(&b);
}

SW_TEST(buffer_read)
{
    sw_buffer_t b;
    char out[16];
    ASSERT_ERR(sw_buffer_read(NULL, 0, out, 1), SW_EINVAL);
    ASSERT_OK(sw_buffer_init(&b, 0, 0));
    ASSERT_OK(sw_buffer_read(&b, 0, out, 0)); /* empty, never allocated */
    ASSERT_OK(sw_buffer_read(&b, 0, NULL, 0));
    ASSERT_ERR(sw_buffer_read(&b, 0, out, 1), SW_EBUFFER_BOUNDS);
    ASSERT_OK(sw_buffer_append(&b, "0123456789", 10));
    ASSERT_ERR(sw_buffer_read(&b, 0, NULL, 1), SW_EINVAL);
    ASSERT_OK(sw_buffer_read(&b, 2, out, 3));
    ASSERT_MEM_EQ(out, "234", 3);
    ASSERT_OK(sw_buffer_read(&b, 0, out, 10));
    ASSERT_MEM_EQ(out, "0123456789", 10);
    ASSERT_OK(sw_buffer_read(&b, 10, out, 0)); /* the empty range at the end */
    ASSERT_ERR(sw_buffer_read(&b, 11, out, 0), SW_EBUFFER_BOUNDS);
    ASSERT_ERR(sw_buffer_read(&b, 9, out, 2), SW_EBUFFER_BOUNDS);
    ASSERT_ERR(sw_buffer_read(&b, 0, out, 11), SW_EBUFFER_BOUNDS);
    /* Wrap-around attempts: offset + len overflows to a small number. */
    ASSERT_ERR(sw_buffer_read(&b, SIZE_MAX, out, 1), SW_EBUFFER_BOUNDS);
    ASSERT_ERR(sw_buffer_read(&b, 1, out, SIZE_MAX), SW_EBUFFER_BOUNDS);
    ASSERT_ERR(sw_buffer_read(&b, 2, out, SIZE_MAX - 1), SW_EBUFFER_BOUNDS);
    ASSERT_ERR(sw_buffer_read(&b, SIZE_MAX, out, 0), SW_EBUFFER_BOUNDS);
    /* The read offset plays no part. */
    ASSERT_OK(sw_buffer_consume(&b, 5));
    ASSERT_OK(sw_buffer_read(&b, 0, out, 2));
    ASSERT_MEM_EQ(out, "01", 2);
    ASSERT_UEQ(b.offset, 5);
    sw_buffer_close(&b);
}

SW_TEST(buffer_substr)
{
    sw_buffer_t b;
    snapshot_t s;
    char out[16];
    ASSERT_ERR(sw_buffer_substr(NULL, 0, 0, out, false), SW_EINVAL);
    ASSERT_OK(sw_buffer_init(&b, 0, 0));
    ASSERT_OK(sw_buffer_substr(&b, 0, 0, NULL, true)); /* empty range of an empty buffer */
    ASSERT_OK(sw_buffer_append(&b, "0123456789", 10));

    ASSERT_OK(sw_buffer_substr(&b, 3, 4, out, false)); /* copy only */
    ASSERT_MEM_EQ(out, "3456", 4);
    ASSERT_HOLDS(&b, "0123456789");
    ASSERT_OK(sw_buffer_substr(&b, 3, 4, out, true)); /* copy and remove */
    ASSERT_MEM_EQ(out, "3456", 4);
    ASSERT_HOLDS(&b, "012789");
    ASSERT_OK(sw_buffer_substr(&b, 0, 2, NULL, true)); /* remove only */
    ASSERT_HOLDS(&b, "2789");
    ASSERT_OK(sw_buffer_substr(&b, 2, 2, NULL, true)); /* the tail */
    ASSERT_HOLDS(&b, "27");
    ASSERT_OK(sw_buffer_substr(&b, 2, 0, NULL, true));
    ASSERT_HOLDS(&b, "27");

    snap(&b, &s);
    ASSERT_ERR(sw_buffer_substr(&b, 1, 2, out, true), SW_EBUFFER_BOUNDS);
    ASSERT_ERR(sw_buffer_substr(&b, 3, 0, out, true), SW_EBUFFER_BOUNDS);
    ASSERT_ERR(sw_buffer_substr(&b, SIZE_MAX, 1, out, true), SW_EBUFFER_BOUNDS);
    ASSERT_ERR(sw_buffer_substr(&b, 1, SIZE_MAX, out, true), SW_EBUFFER_BOUNDS);
    ASSERT_ERR(sw_buffer_substr(&b, 2, SIZE_MAX - 1, NULL, true), SW_EBUFFER_BOUNDS);
    assert_unchanged(&b, &s);
    sw_buffer_close(&b);
}

/* Removing bytes keeps the read offset on the same unread byte. */
SW_TEST(buffer_substr_moves_read_offset)
{
    sw_buffer_t b;
    ASSERT_OK(sw_buffer_init(&b, 0, 0));
    ASSERT_OK(sw_buffer_append(&b, "0123456789", 10));
    ASSERT_OK(sw_buffer_consume(&b, 6));               /* next unread: '6' */
    ASSERT_OK(sw_buffer_substr(&b, 8, 2, NULL, true)); /* after the offset: stays */
    ASSERT_UEQ(b.offset, 6);
    ASSERT_OK(sw_buffer_substr(&b, 1, 2, NULL, true)); /* before: moves down by 2 */
    ASSERT_UEQ(b.offset, 4);
    ASSERT_EQ(b.str[b.offset], '6');
    ASSERT_OK(sw_buffer_substr(&b, 3, 2, NULL, true)); /* straddles: '6' removed, '7' next */
    ASSERT_UEQ(b.offset, 3);
    ASSERT_HOLDS(&b, "0347");
    ASSERT_EQ(b.str[b.offset], '7');
    ASSERT_OK(sw_buffer_substr(&b, 3, 1, NULL, true)); /* removes the last unread byte */
    ASSERT_UEQ(b.offset, 3);
    ASSERT_UEQ(b.length, 3);
    ASSERT_OK(sw_buffer_substr(&b, 0, 3, NULL, true));
    ASSERT_UEQ(b.offset, 0);
    ASSERT_UEQ(b.length, 0);
    sw_buffer_close(&b);
}

SW_TEST(buffer_expand)
{
    sw_buffer_t b;
    snapshot_t s;
    ASSERT_ERR(sw_buffer_expand(NULL, 1), SW_EINVAL);
    ASSERT_OK(sw_buffer_init(&b, 0, 1000));
    ASSERT_OK(sw_buffer_expand(&b, 0));
    ASSERT_NULL(b.str);
    ASSERT_OK(sw_buffer_expand(&b, 100));
    ASSERT_UEQ(b.size, 100); /* exactly what was asked */
    ASSERT_OK(sw_buffer_append(&b, "keep", 4));
    ASSERT_OK(sw_buffer_expand(&b, 50)); /* never shrinks */
    ASSERT_UEQ(b.size, 100);
    ASSERT_OK(sw_buffer_expand(&b, 1000));
    ASSERT_UEQ(b.size, 1000);
    ASSERT_HOLDS(&b, "keep");
    snap(&b, &s);
    ASSERT_ERR(sw_buffer_expand(&b, 1001), SW_EOVERFLOW);
    ASSERT_ERR(sw_buffer_expand(&b, SIZE_MAX), SW_EOVERFLOW);
    assert_unchanged(&b, &s);
    sw_buffer_close(&b);
}

SW_TEST(buffer_reserve_commit)
{
    sw_buffer_t b;
    snapshot_t s;
    char *p = NULL;
    ASSERT_ERR(sw_buffer_reserve(NULL, 1, &p), SW_EINVAL);
    ASSERT_ERR(sw_buffer_commit(NULL, 0), SW_EINVAL);
    ASSERT_OK(sw_buffer_init(&b, 0, 100));
    ASSERT_ERR(sw_buffer_reserve(&b, 1, NULL), SW_EINVAL);
    ASSERT_OK(sw_buffer_reserve(&b, 0, &p));
    ASSERT_NULL(p); /* nothing allocated, nothing to point at */
    ASSERT_ERR(sw_buffer_commit(&b, 1), SW_EBUFFER_BOUNDS);
    ASSERT_OK(sw_buffer_commit(&b, 0));

    ASSERT_OK(sw_buffer_reserve(&b, 5, &p));
    ASSERT_PTR_EQ(p, b.str);
    ASSERT_ULE(5, b.size);
    memcpy(p, "recv!", 5);
    ASSERT_UEQ(b.length, 0); /* nothing counts before commit */
    ASSERT_OK(sw_buffer_commit(&b, 5));
    ASSERT_HOLDS(&b, "recv!");
    ASSERT_OK(sw_buffer_reserve(&b, 3, &p));
    ASSERT_PTR_EQ(p, b.str + 5);
    memcpy(p, "abc", 3);
    ASSERT_OK(sw_buffer_commit(&b, 2)); /* fewer than reserved is fine */
    ASSERT_HOLDS(&b, "recv!ab");

    snap(&b, &s);
    ASSERT_ERR(sw_buffer_commit(&b, b.size - b.length + 1), SW_EBUFFER_BOUNDS);
    ASSERT_ERR(sw_buffer_commit(&b, SIZE_MAX), SW_EBUFFER_BOUNDS);
    ASSERT_ERR(sw_buffer_reserve(&b, 94, &p), SW_EOVERFLOW); /* 7 + 94 > 100 */
    ASSERT_ERR(sw_buffer_reserve(&b, SIZE_MAX, &p), SW_EOVERFLOW);
    ASSERT_ERR(sw_buffer_reserve(&b, SIZE_MAX - 6, &p), SW_EOVERFLOW);
    assert_unchanged(&b, &s);
    ASSERT_OK(sw_buffer_reserve(&b, 93, &p)); /* exactly the limit */
    ASSERT_UEQ(b.size, 100);
    ASSERT_OK(sw_buffer_commit(&b, 93));
    ASSERT_UEQ(b.length, 100);
    ASSERT_OK(sw_buffer_reserve(&b, 0, &p));
    ASSERT_PTR_EQ(p, b.str + 100);
    ASSERT_ERR(sw_buffer_commit(&b, 1), SW_EBUFFER_BOUNDS);
    sw_buffer_close(&b);
}

SW_TEST(buffer_consume_recycle_clear)
{
    sw_buffer_t b;
    ASSERT_ERR(sw_buffer_consume(NULL, 0), SW_EINVAL);
    sw_buffer_clear(NULL);
    sw_buffer_recycle(NULL);
    ASSERT_OK(sw_buffer_init(&b, 0, 0));
    sw_buffer_recycle(&b); /* empty, never allocated */
    sw_buffer_clear(&b);
    ASSERT_ERR(sw_buffer_consume(&b, 1), SW_EBUFFER_BOUNDS);
    ASSERT_OK(sw_buffer_append(&b, "header|body", 11));
    ASSERT_OK(sw_buffer_consume(&b, 7));
    ASSERT_UEQ(b.offset, 7);
    ASSERT_ERR(sw_buffer_consume(&b, 5), SW_EBUFFER_BOUNDS);
    ASSERT_ERR(sw_buffer_consume(&b, SIZE_MAX), SW_EBUFFER_BOUNDS);
    ASSERT_UEQ(b.offset, 7);
    ASSERT_OK(sw_buffer_consume(&b, 4)); /* to the end exactly */
    ASSERT_UEQ(b.offset, 11);
    ASSERT_ERR(sw_buffer_consume(&b, 1), SW_EBUFFER_BOUNDS);
    sw_buffer_recycle(&b); /* everything consumed: empty */
    ASSERT_UEQ(b.offset, 0);
    ASSERT_UEQ(b.length, 0);

    ASSERT_OK(sw_buffer_append(&b, "one|two", 7));
    ASSERT_OK(sw_buffer_consume(&b, 4));
    sw_buffer_recycle(&b);
    ASSERT_UEQ(b.offset, 0);
    ASSERT_HOLDS(&b, "two");
    sw_buffer_recycle(&b); /* offset 0: no-op */
    ASSERT_HOLDS(&b, "two");

    char *before = b.str;
    size_t size = b.size;
    ASSERT_OK(sw_buffer_consume(&b, 1));
    sw_buffer_clear(&b);
    ASSERT_UEQ(b.length, 0);
    ASSERT_UEQ(b.offset, 0);
    ASSERT_PTR_EQ(b.str, before); /* keeps the allocation */
    ASSERT_UEQ(b.size, size);
    sw_buffer_close(&b);
}

/*
 * The "alloc" fault point on every call that may allocate: init, append, write, expand and
 * reserve each return SW_ENOMEM and leave the buffer exactly as it was (realloc keeps the old
 * block), and the same call succeeds once the fault is gone. Leaks are caught by ASan.
 */
SW_TEST(buffer_alloc_fault)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    sw_buffer_t b;
    snapshot_t s;
    char *p = NULL;

    ASSERT_OK(sw__fault_set("alloc", 0, 1));
    ASSERT_ERR(sw_buffer_init(&b, 10, 0), SW_ENOMEM);
    ASSERT_NULL(b.str);
    ASSERT_UEQ(b.size, 0);
    ASSERT_EQ(sw__fault_hits("alloc"), 1);
    ASSERT_OK(sw_buffer_init(&b, 10, 0));
    ASSERT_OK(sw_buffer_append(&b, "0123456789", 10)); /* fits: no allocation */

    /* Each step needs a larger allocation than the buffer has. */
    static char blob[1024];
    memset(blob, 'k', sizeof(blob));
    for (int pass = 0; pass < 2; pass++) {
        for (int op = 0; op < 5; op++) {
            if (pass == 0) {
                snap(&b, &s);
                ASSERT_OK(sw__fault_set("alloc", 0, 1));
            }
            int rc = 0;
            switch (op) {
            case 0:
                rc = sw_buffer_append(&b, b.str, b.length); /* from itself; length == size */
                break;
            case 1:
                rc = sw_buffer_append(&b, blob, b.size - b.length + 1);
                break;
            case 2:
                rc = sw_buffer_write(&b, b.length - 1, blob, b.size - b.length + 2);
                break;
            case 3:
                rc = sw_buffer_expand(&b, b.size + 1);
                break;
            case 4:
                rc = sw_buffer_reserve(&b, b.size - b.length + 1, &p);
                break;
            }
            if (pass == 1) {
                ASSERT_OK(rc);
                continue;
            }
            ASSERT_ERR(rc, SW_ENOMEM);
            ASSERT_EQ(sw__fault_hits("alloc"), 1);
            assert_unchanged(&b, &s);
            ASSERT_OK(sw__fault_set("alloc", 0, 0));
        }
        if (pass == 0) {
            ASSERT_HOLDS(&b, "0123456789");
        }
    }
    ASSERT_UEQ(b.length, 129);
    ASSERT_MEM_EQ(b.str, "01234567890123456789", 20);
    for (size_t i = 20; i < b.length; i++) {
        ASSERT_EQ(b.str[i], 'k');
    }

    /* Calls that need no allocation ignore an armed fault. */
    ASSERT_OK(sw__fault_set("alloc", 0, -1));
    char out[4];
    ASSERT_OK(sw_buffer_write(&b, 0, "A", 1));
    ASSERT_OK(sw_buffer_read(&b, 0, out, 1));
    ASSERT_OK(sw_buffer_substr(&b, 0, 1, out, true));
    ASSERT_OK(sw_buffer_expand(&b, 1));
    ASSERT_OK(sw_buffer_reserve(&b, 1, &p));
    ASSERT_OK(sw_buffer_consume(&b, 1));
    sw_buffer_recycle(&b);
    ASSERT_EQ(sw__fault_hits("alloc"), 0);
    sw__fault_reset();
    sw_buffer_close(&b);
}
