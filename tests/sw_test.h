/*
 * The libswoole test runner's interface.
 *
 *     #include "sw_test.h"
 *
 *     SW_TEST(timer_order)            // a case with the default 30 s limit
 *     {
 *         ASSERT_EQ(1 + 1, 2);
 *     }
 *
 *     SW_TEST_TIMEOUT(big_write, 120) // a case with its own limit in seconds
 *     { ... }
 *
 * Each test file is linked with runner.c into one executable per module (test_<module>).
 * `test_<module> --list` prints the cases; `test_<module> <case>` runs one case in a forked
 * child, in its own process group, killed after its time limit (times
 * $SW_TEST_TIMEOUT_MULTIPLIER); without arguments every case runs in turn. CMake registers
 * each case as its own ctest entry "<module>.<case>" by reading the SW_TEST lines of the file.
 *
 * After the case returns, the child checks that it leaked nothing: every fd that was not open
 * before is reported, and so is any child process still alive or unreaped. A case that cannot
 * run in this build calls SW_TEST_SKIP("why") (exit code 77, shown by ctest as skipped).
 *
 * Assertions print the file, the line, the expression and both values, then end the case.
 * They may be used from any thread and from helper processes forked by the case.
 */
#ifndef SW_TEST_H
#define SW_TEST_H

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "swoole/error.h"

typedef void (*sw_test_fn)(void);

void sw_test_register(const char *name, sw_test_fn fn, int timeout_s);
_Noreturn void sw_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
_Noreturn void sw_test_skip(const char *why);

/* Milliseconds on the monotonic clock, for bounding loops in tests (never for assertions on
 * speed). */
uint64_t sw_test_now_ms(void);

/* A free TCP port on 127.0.0.1 at the time of the call (bind to port 0, read it, close). */
int sw_test_free_port(void);

/* Number of open fds of this process. */
int sw_test_count_fds(void);

#define SW_TEST_TIMEOUT(name, seconds)                                \
    static void sw_test_case_##name(void);                            \
    __attribute__((constructor)) static void sw_test_reg_##name(void) \
    {                                                                 \
        sw_test_register(#name, sw_test_case_##name, (seconds));      \
    }                                                                 \
    static void sw_test_case_##name(void)

#define SW_TEST(name) SW_TEST_TIMEOUT(name, 30)

#define SW_TEST_SKIP(why) sw_test_skip(why)

#define SW_ASSERT_CMP_(a, op, b, type, fmt)                                                      \
    do {                                                                                         \
        type sw_a_ = (type)(a);                                                                  \
        type sw_b_ = (type)(b);                                                                  \
        if (!(sw_a_ op sw_b_)) {                                                                 \
            sw_test_fail(__FILE__, __LINE__, "ASSERT(%s %s %s): %" fmt " vs %" fmt, #a, #op, #b, \
                         sw_a_, sw_b_);                                                          \
        }                                                                                        \
    } while (0)

#define ASSERT_EQ(a, b)  SW_ASSERT_CMP_(a, ==, b, intmax_t, PRIdMAX)
#define ASSERT_NE(a, b)  SW_ASSERT_CMP_(a, !=, b, intmax_t, PRIdMAX)
#define ASSERT_LT(a, b)  SW_ASSERT_CMP_(a, <, b, intmax_t, PRIdMAX)
#define ASSERT_LE(a, b)  SW_ASSERT_CMP_(a, <=, b, intmax_t, PRIdMAX)
#define ASSERT_GT(a, b)  SW_ASSERT_CMP_(a, >, b, intmax_t, PRIdMAX)
#define ASSERT_GE(a, b)  SW_ASSERT_CMP_(a, >=, b, intmax_t, PRIdMAX)
#define ASSERT_UEQ(a, b) SW_ASSERT_CMP_(a, ==, b, uintmax_t, PRIuMAX)
#define ASSERT_ULT(a, b) SW_ASSERT_CMP_(a, <, b, uintmax_t, PRIuMAX)
#define ASSERT_ULE(a, b) SW_ASSERT_CMP_(a, <=, b, uintmax_t, PRIuMAX)
#define ASSERT_UGT(a, b) SW_ASSERT_CMP_(a, >, b, uintmax_t, PRIuMAX)
#define ASSERT_UGE(a, b) SW_ASSERT_CMP_(a, >=, b, uintmax_t, PRIuMAX)
#define ASSERT_DBL_NEAR(a, b, eps)                                                                \
    do {                                                                                          \
        double sw_a_ = (double)(a), sw_b_ = (double)(b);                                          \
        if (!(sw_a_ - sw_b_ <= (eps) && sw_b_ - sw_a_ <= (eps))) {                                \
            sw_test_fail(__FILE__, __LINE__, "ASSERT(%s ~= %s): %g vs %g", #a, #b, sw_a_, sw_b_); \
        }                                                                                         \
    } while (0)

#define ASSERT_TRUE(x)                                               \
    do {                                                             \
        if (!(x)) {                                                  \
            sw_test_fail(__FILE__, __LINE__, "ASSERT_TRUE(%s)", #x); \
        }                                                            \
    } while (0)
#define ASSERT_FALSE(x)                                               \
    do {                                                              \
        if (x) {                                                      \
            sw_test_fail(__FILE__, __LINE__, "ASSERT_FALSE(%s)", #x); \
        }                                                             \
    } while (0)

#define ASSERT_NULL(p)                                                          \
    do {                                                                        \
        const void *sw_p_ = (const void *)(p);                                  \
        if (sw_p_ != NULL) {                                                    \
            sw_test_fail(__FILE__, __LINE__, "ASSERT_NULL(%s): %p", #p, sw_p_); \
        }                                                                       \
    } while (0)
#define ASSERT_NOT_NULL(p)                                               \
    do {                                                                 \
        if ((const void *)(p) == NULL) {                                 \
            sw_test_fail(__FILE__, __LINE__, "ASSERT_NOT_NULL(%s)", #p); \
        }                                                                \
    } while (0)
#define ASSERT_PTR_EQ(a, b)                                                                       \
    do {                                                                                          \
        const void *sw_a_ = (const void *)(a), *sw_b_ = (const void *)(b);                        \
        if (sw_a_ != sw_b_) {                                                                     \
            sw_test_fail(__FILE__, __LINE__, "ASSERT(%s == %s): %p vs %p", #a, #b, sw_a_, sw_b_); \
        }                                                                                         \
    } while (0)

/* The call returns 0 (prints the error's name and message otherwise). */
#define ASSERT_OK(expr)                                                                  \
    do {                                                                                 \
        intmax_t sw_r_ = (intmax_t)(expr);                                               \
        if (sw_r_ != 0) {                                                                \
            sw_test_fail(__FILE__, __LINE__, "ASSERT_OK(%s): %jd %s (%s)", #expr, sw_r_, \
                         sw_err_name((int)sw_r_), sw_strerror((int)sw_r_));              \
        }                                                                                \
    } while (0)

/* The call returns exactly `code`, an SW_E* value. */
#define ASSERT_ERR(expr, code)                                                                     \
    do {                                                                                           \
        intmax_t sw_r_ = (intmax_t)(expr);                                                         \
        intmax_t sw_c_ = (intmax_t)(code);                                                         \
        if (sw_r_ != sw_c_) {                                                                      \
            sw_test_fail(__FILE__, __LINE__, "ASSERT_ERR(%s, %s): got %jd %s, want %jd %s", #expr, \
                         #code, sw_r_, sw_err_name((int)sw_r_), sw_c_, sw_err_name((int)sw_c_));   \
        }                                                                                          \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                                     \
    do {                                                                                        \
        const char *sw_a_ = (a), *sw_b_ = (b);                                                  \
        if (!sw_a_ || !sw_b_ || strcmp(sw_a_, sw_b_) != 0) {                                    \
            sw_test_fail(__FILE__, __LINE__, "ASSERT_STR_EQ(%s, %s): \"%s\" vs \"%s\"", #a, #b, \
                         sw_a_ ? sw_a_ : "(null)", sw_b_ ? sw_b_ : "(null)");                   \
        }                                                                                       \
    } while (0)

#define ASSERT_MEM_EQ(a, b, n)                                                                   \
    do {                                                                                         \
        size_t sw_n_ = (size_t)(n);                                                              \
        const unsigned char *sw_a_ = (const unsigned char *)(a);                                 \
        const unsigned char *sw_b_ = (const unsigned char *)(b);                                 \
        for (size_t sw_i_ = 0; sw_i_ < sw_n_; sw_i_++) {                                         \
            if (sw_a_[sw_i_] != sw_b_[sw_i_]) {                                                  \
                sw_test_fail(__FILE__, __LINE__,                                                 \
                             "ASSERT_MEM_EQ(%s, %s, %zu): differ at byte %zu: 0x%02x vs 0x%02x", \
                             #a, #b, sw_n_, sw_i_, sw_a_[sw_i_], sw_b_[sw_i_]);                  \
            }                                                                                    \
        }                                                                                        \
    } while (0)

#endif
