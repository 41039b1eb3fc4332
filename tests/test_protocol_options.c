/*
 * Framing specs: defaults, every option name with good and bad values, whole-spec checks, and
 * the argument errors of every call.
 */
#include <string.h>

#include "sw_test.h"
#include "swoole/protocol.h"

static void assert_same(const sw_protocol_t *a, const sw_protocol_t *b)
{
    ASSERT_EQ(a->open_eof_check, b->open_eof_check);
    ASSERT_EQ(a->open_eof_split, b->open_eof_split);
    ASSERT_EQ(a->open_length_check, b->open_length_check);
    ASSERT_EQ(a->package_eof_len, b->package_eof_len);
    ASSERT_MEM_EQ(a->package_eof, b->package_eof, a->package_eof_len);
    ASSERT_EQ(a->package_length_type, b->package_length_type);
    ASSERT_UEQ(a->package_length_offset, b->package_length_offset);
    ASSERT_UEQ(a->package_body_offset, b->package_body_offset);
    ASSERT_UEQ(a->package_max_length, b->package_max_length);
    ASSERT_PTR_EQ((void *)(uintptr_t)a->package_length_func,
                  (void *)(uintptr_t)b->package_length_func);
    ASSERT_PTR_EQ(a->package_length_arg, b->package_length_arg);
}

SW_TEST(options_defaults)
{
    sw_protocol_t p;
    memset(&p, 0xa5, sizeof p);
    sw_protocol_init(&p);
    ASSERT_FALSE(p.open_eof_check);
    ASSERT_FALSE(p.open_eof_split);
    ASSERT_FALSE(p.open_length_check);
    ASSERT_EQ(p.package_eof_len, 2);
    ASSERT_MEM_EQ(p.package_eof, "\r\n", 2);
    ASSERT_EQ(p.package_length_type, 'N');
    ASSERT_UEQ(p.package_length_offset, 0);
    ASSERT_UEQ(p.package_body_offset, 4);
    ASSERT_UEQ(p.package_max_length, 2u << 20);
    ASSERT_NULL(p.package_length_arg);
    ASSERT_TRUE(p.package_length_func == NULL);
    ASSERT_OK(sw_protocol_check(&p));
    ASSERT_EQ(sw_protocol_mode(&p), SW_FRAMING_NONE);
    sw_protocol_init(NULL);
    sw_framer_init(NULL);
}

SW_TEST(options_booleans)
{
    static const char *names[] = {"open_eof_check", "open_eof_split", "open_length_check"};
    for (int i = 0; i < 3; i++) {
        sw_protocol_t p;
        sw_protocol_init(&p);
        ASSERT_OK(sw_protocol_set_option(&p, names[i], "1"));
        ASSERT_OK(sw_protocol_set_option(&p, names[i], "false"));
        ASSERT_OK(sw_protocol_set_option(&p, names[i], "true"));
        ASSERT_OK(sw_protocol_set_option(&p, names[i], "0"));
        static const char *bad[] = {"",   "2",  "yes", "no",  "TRUE", "False", " 1",
                                    "1 ", "01", "on",  "off", "-1",   "t",     "truex"};
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            sw_protocol_t before = p;
            ASSERT_ERR(sw_protocol_set_option(&p, names[i], bad[b]), SW_EOPTION_VALUE);
            assert_same(&p, &before);
        }
    }
    /* open_eof_split turns open_eof_check on; turning split off leaves check on. */
    sw_protocol_t p;
    sw_protocol_init(&p);
    ASSERT_OK(sw_protocol_set_option(&p, "open_eof_split", "true"));
    ASSERT_TRUE(p.open_eof_check);
    ASSERT_TRUE(p.open_eof_split);
    ASSERT_EQ(sw_protocol_mode(&p), SW_FRAMING_EOF_SPLIT);
    ASSERT_OK(sw_protocol_set_option(&p, "open_eof_split", "0"));
    ASSERT_TRUE(p.open_eof_check);
    ASSERT_EQ(sw_protocol_mode(&p), SW_FRAMING_EOF_CHECK);
    ASSERT_OK(sw_protocol_set_option(&p, "open_eof_check", "0"));
    ASSERT_OK(sw_protocol_set_option(&p, "open_length_check", "1"));
    ASSERT_EQ(sw_protocol_mode(&p), SW_FRAMING_LENGTH);
}

SW_TEST(options_package_eof)
{
    static const struct {
        const char *in;
        const char *out;
        size_t len;
    } good[] = {
        {"\\r\\n", "\r\n", 2},
        {"\\r\\n\\r\\n", "\r\n\r\n", 4},
        {"\\t", "\t", 1},
        {"\\\\", "\\", 1},
        {"\\0", "\0", 1},
        {"\\x00\\xff\\xAb", "\0\xff\xab", 3},
        {"abcdefgh", "abcdefgh", 8},
        {"\\r\\n\\r\\n\\r\\n\\r\\n", "\r\n\r\n\r\n\r\n", 8},
        {"END", "END", 3},
        {"\n", "\n", 1}, /* a raw newline byte, not an escape */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        sw_protocol_t p;
        sw_protocol_init(&p);
        ASSERT_OK(sw_protocol_set_option(&p, "package_eof", good[i].in));
        ASSERT_EQ(p.package_eof_len, good[i].len);
        ASSERT_MEM_EQ(p.package_eof, good[i].out, good[i].len);
    }
    static const char *bad[] = {"",
                                "\\",
                                "\\q",
                                "\\x",
                                "\\x1",
                                "\\xZZ",
                                "\\x1g",
                                "\\R",
                                "\\N",
                                "123456789",
                                "\\r\\n\\r\\n\\r\\n\\r\\n\\r",
                                "\\e",
                                "\\a",
                                "abcdefgh\\0"};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        sw_protocol_t p, before;
        sw_protocol_init(&p);
        before = p;
        ASSERT_ERR(sw_protocol_set_option(&p, "package_eof", bad[b]), SW_EOPTION_VALUE);
        assert_same(&p, &before);
    }
    /* sw_protocol_set_eof takes raw bytes. */
    sw_protocol_t p;
    sw_protocol_init(&p);
    ASSERT_OK(sw_protocol_set_eof(&p, "\0\0", 2));
    ASSERT_EQ(p.package_eof_len, 2);
    ASSERT_MEM_EQ(p.package_eof, "\0\0", 2);
    ASSERT_ERR(sw_protocol_set_eof(&p, "x", 0), SW_EOPTION_VALUE);
    ASSERT_ERR(sw_protocol_set_eof(&p, "123456789", 9), SW_EOPTION_VALUE);
    ASSERT_ERR(sw_protocol_set_eof(NULL, "x", 1), SW_EINVAL);
    ASSERT_ERR(sw_protocol_set_eof(&p, NULL, 1), SW_EINVAL);
    ASSERT_EQ(p.package_eof_len, 2);
}

SW_TEST(options_length_type)
{
    static const char good[] = "cCsSnvlLNV";
    for (const char *t = good; *t; t++) {
        sw_protocol_t p;
        sw_protocol_init(&p);
        char v[2] = {*t, 0};
        ASSERT_OK(sw_protocol_set_option(&p, "package_length_type", v));
        ASSERT_EQ(p.package_length_type, *t);
        int size = sw_protocol_length_size(*t);
        ASSERT_TRUE(size == 1 || size == 2 || size == 4);
    }
    ASSERT_EQ(sw_protocol_length_size('c'), 1);
    ASSERT_EQ(sw_protocol_length_size('C'), 1);
    ASSERT_EQ(sw_protocol_length_size('s'), 2);
    ASSERT_EQ(sw_protocol_length_size('S'), 2);
    ASSERT_EQ(sw_protocol_length_size('n'), 2);
    ASSERT_EQ(sw_protocol_length_size('v'), 2);
    ASSERT_EQ(sw_protocol_length_size('l'), 4);
    ASSERT_EQ(sw_protocol_length_size('L'), 4);
    ASSERT_EQ(sw_protocol_length_size('N'), 4);
    ASSERT_EQ(sw_protocol_length_size('V'), 4);
    /* Swoole's 'i I q Q J P' are not accepted for ports here: 8-byte and machine-sized
     * fields have no use under a 1 GiB limit. */
    static const char *bad[] = {"", "NN", "x", "q", "Q", "i", "I", "J", "P", "n ", " n", "0"};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        sw_protocol_t p, before;
        sw_protocol_init(&p);
        before = p;
        ASSERT_ERR(sw_protocol_set_option(&p, "package_length_type", bad[b]), SW_EOPTION_VALUE);
        assert_same(&p, &before);
    }
    ASSERT_ERR(sw_protocol_length_size('q'), SW_EOPTION_VALUE);
    ASSERT_ERR(sw_protocol_length_size('\0'), SW_EOPTION_VALUE);
}

SW_TEST(options_integers)
{
    sw_protocol_t p;
    sw_protocol_init(&p);
    ASSERT_OK(sw_protocol_set_option(&p, "package_length_offset", "65535"));
    ASSERT_UEQ(p.package_length_offset, 65535);
    ASSERT_OK(sw_protocol_set_option(&p, "package_length_offset", "0"));
    ASSERT_UEQ(p.package_length_offset, 0);
    ASSERT_OK(sw_protocol_set_option(&p, "package_body_offset", "12"));
    ASSERT_UEQ(p.package_body_offset, 12);
    ASSERT_OK(sw_protocol_set_option(&p, "package_body_start", "65535"));
    ASSERT_UEQ(p.package_body_offset, 65535);
    ASSERT_OK(sw_protocol_set_option(&p, "package_body_start", "007"));
    ASSERT_UEQ(p.package_body_offset, 7);
    ASSERT_OK(sw_protocol_set_option(&p, "package_max_length", "1"));
    ASSERT_UEQ(p.package_max_length, 1);
    ASSERT_OK(sw_protocol_set_option(&p, "package_max_length", "1073741824"));
    ASSERT_UEQ(p.package_max_length, SW_PROTOCOL_MAX_LENGTH_LIMIT);
    ASSERT_OK(sw_protocol_set_option(&p, "package_max_length", "8388608"));
    static const char *offset_names[] = {"package_length_offset", "package_body_offset",
                                         "package_body_start"};
    static const char *bad_offsets[] = {
        "",           "-1",  "+1", "65536", "1e3", "0x10", " 5", "5 ", "99999999999999999999999999",
        "4294967296", "1.5", "a"};
    for (int n = 0; n < 3; n++) {
        for (size_t b = 0; b < sizeof bad_offsets / sizeof bad_offsets[0]; b++) {
            sw_protocol_t before = p;
            ASSERT_ERR(sw_protocol_set_option(&p, offset_names[n], bad_offsets[b]),
                       SW_EOPTION_VALUE);
            assert_same(&p, &before);
        }
    }
    static const char *bad_max[] = {"0",  "1073741825",           "-5", "2M", "",
                                    "+8", "18446744073709551617", " 1", "1k"};
    for (size_t b = 0; b < sizeof bad_max / sizeof bad_max[0]; b++) {
        sw_protocol_t before = p;
        ASSERT_ERR(sw_protocol_set_option(&p, "package_max_length", bad_max[b]), SW_EOPTION_VALUE);
        assert_same(&p, &before);
    }
    ASSERT_UEQ(p.package_max_length, 8388608);
}

SW_TEST(options_unknown_and_null)
{
    sw_protocol_t p, before;
    sw_protocol_init(&p);
    before = p;
    static const char *unknown[] = {
        "open_http2_protocol", "Package_eof",         "",           "package_eof ",
        "package_length_func", "package_length_size", "worker_num", "open_eof"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        ASSERT_ERR(sw_protocol_set_option(&p, unknown[i], "1"), SW_EOPTION_UNKNOWN);
        assert_same(&p, &before);
    }
    ASSERT_ERR(sw_protocol_set_option(NULL, "open_eof_check", "1"), SW_EINVAL);
    ASSERT_ERR(sw_protocol_set_option(&p, NULL, "1"), SW_EINVAL);
    ASSERT_ERR(sw_protocol_set_option(&p, "open_eof_check", NULL), SW_EINVAL);
    ASSERT_ERR(sw_protocol_check(NULL), SW_EINVAL);
    ASSERT_EQ(sw_protocol_mode(NULL), SW_FRAMING_NONE);
}

static ssize_t any_length(const char *data, size_t len, void *arg)
{
    (void)data;
    (void)arg;
    return (ssize_t)len;
}

SW_TEST(options_check)
{
    sw_protocol_t p;
    /* EOF and length framing together. */
    sw_protocol_init(&p);
    ASSERT_OK(sw_protocol_set_option(&p, "open_eof_check", "1"));
    ASSERT_OK(sw_protocol_set_option(&p, "open_length_check", "1"));
    ASSERT_ERR(sw_protocol_check(&p), SW_EOPTION_VALUE);
    p.open_eof_check = false;
    p.open_eof_split = true; /* split alone, set from C, also counts as EOF framing */
    ASSERT_ERR(sw_protocol_check(&p), SW_EOPTION_VALUE);
    p.open_length_check = false;
    ASSERT_OK(sw_protocol_check(&p));
    /* Delimiter length. */
    p.package_eof_len = 0;
    ASSERT_ERR(sw_protocol_check(&p), SW_EOPTION_VALUE);
    p.package_eof_len = 9;
    ASSERT_ERR(sw_protocol_check(&p), SW_EOPTION_VALUE);
    p.package_eof_len = 8;
    ASSERT_OK(sw_protocol_check(&p));
    /* ... and the limit must hold it. */
    p.package_max_length = 7;
    ASSERT_ERR(sw_protocol_check(&p), SW_EOPTION_VALUE);
    p.package_max_length = 8;
    ASSERT_OK(sw_protocol_check(&p));
    /* With EOF framing off the delimiter is not looked at. */
    p.open_eof_split = false;
    p.package_eof_len = 0;
    ASSERT_OK(sw_protocol_check(&p));
    /* Length type, offsets, limit. */
    sw_protocol_init(&p);
    p.open_length_check = true;
    p.package_length_type = 'q';
    ASSERT_ERR(sw_protocol_check(&p), SW_EOPTION_VALUE);
    p.package_length_func = any_length; /* the type is not used with a function */
    ASSERT_OK(sw_protocol_check(&p));
    p.package_length_func = NULL;
    p.package_length_type = 'N';
    p.package_length_offset = 65536;
    ASSERT_ERR(sw_protocol_check(&p), SW_EOPTION_VALUE);
    p.package_length_offset = 100;
    p.package_body_offset = 65536;
    ASSERT_ERR(sw_protocol_check(&p), SW_EOPTION_VALUE);
    p.package_body_offset = 0;
    p.package_max_length = 103; /* the field would end past the limit */
    ASSERT_ERR(sw_protocol_check(&p), SW_EOPTION_VALUE);
    p.package_max_length = 104;
    ASSERT_OK(sw_protocol_check(&p));
    p.package_max_length = 0;
    ASSERT_ERR(sw_protocol_check(&p), SW_EOPTION_VALUE);
    p.package_max_length = SW_PROTOCOL_MAX_LENGTH_LIMIT + 1;
    ASSERT_ERR(sw_protocol_check(&p), SW_EOPTION_VALUE);
    /* Offsets are checked in every mode, since a port may switch modes later. */
    sw_protocol_init(&p);
    p.package_body_offset = 70000;
    ASSERT_ERR(sw_protocol_check(&p), SW_EOPTION_VALUE);
}

SW_TEST(next_argument_errors)
{
    sw_protocol_t p;
    sw_protocol_init(&p);
    p.open_length_check = true;
    sw_framer_t st;
    sw_framer_init(&st);
    size_t out = 77;
    ASSERT_ERR(sw_protocol_next(NULL, &st, "x", 1, &out), SW_EINVAL);
    ASSERT_ERR(sw_protocol_next(&p, NULL, "x", 1, &out), SW_EINVAL);
    ASSERT_ERR(sw_protocol_next(&p, &st, "x", 1, NULL), SW_EINVAL);
    ASSERT_ERR(sw_protocol_next(&p, &st, NULL, 1, &out), SW_EINVAL);
    ASSERT_UEQ(out, 77); /* not written on error */
    ASSERT_EQ(sw_protocol_next(&p, &st, NULL, 0, &out), 0);
    ASSERT_UEQ(out, 4);
    /* A spec changed into an invalid one after it was checked is refused, not trusted. */
    p.package_length_type = 'x';
    ASSERT_ERR(sw_protocol_next(&p, &st, "abcd", 4, &out), SW_EOPTION_VALUE);
    p.package_length_type = 'N';
    p.open_eof_check = true;
    ASSERT_ERR(sw_protocol_next(&p, &st, "abcd", 4, &out), SW_EOPTION_VALUE);
    p.open_length_check = false;
    p.package_eof_len = 0;
    ASSERT_ERR(sw_protocol_next(&p, &st, "abcd", 4, &out), SW_EOPTION_VALUE);
}

SW_TEST(error_code_names)
{
    ASSERT_STR_EQ(sw_err_name(SW_EPKGTOOBIG), "EPKGTOOBIG");
    ASSERT_STR_EQ(sw_err_name(SW_EPKGMALFORMED), "EPKGMALFORMED");
    ASSERT_STR_EQ(sw_strerror(SW_EPKGMALFORMED), "malformed package length");
}
