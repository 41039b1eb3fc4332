#include <stdlib.h>

#include "sw_test.h"
#include "core/alloc.h"
#include "core/fault.h"
#include "swoole/log.h"

SW_TEST(fault_alloc_point)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    ASSERT_OK(sw__fault_set("alloc", 1, 2));
    void *a = sw__malloc(16); /* skipped */
    ASSERT_NOT_NULL(a);
    ASSERT_NULL(sw__malloc(16)); /* fails */
    sw_log_t *log = NULL;
    ASSERT_ERR(sw_log_create(&log), SW_ENOMEM); /* fails: the library reports it */
    ASSERT_NULL(log);
    ASSERT_OK(sw_log_create(&log)); /* armed count used up */
    ASSERT_EQ(sw__fault_hits("alloc"), 4);
    sw_log_destroy(log);
    sw__free(a);
    sw__fault_reset();
}

SW_TEST(fault_forever_and_env)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    ASSERT_OK(sw__fault_set("read", 0, -1));
    for (int i = 0; i < 100; i++) {
        ASSERT_ERR(SW_FAULT("read", SW_EIO), SW_EIO);
    }
    ASSERT_OK(sw__fault_set("read", 0, 0));
    ASSERT_EQ(SW_FAULT("read", SW_EIO), 0);
    ASSERT_EQ(sw__fault_hits("nothing-armed"), 0);
    sw__fault_reset();
}

/* Points are switched on from the environment by name and count: "alloc:1:2" lets one
 * allocation pass, fails the next two, then lets them pass again. The variable is read once,
 * at the first fault point hit in the process (this case runs in a fresh child). */
SW_TEST(fault_from_environment)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    ASSERT_OK(setenv("SW_FAULT", "alloc:1:2,read:0:-1", 1));
    void *a = sw__malloc(8);
    ASSERT_NOT_NULL(a);
    ASSERT_NULL(sw__malloc(8));
    ASSERT_NULL(sw__malloc(8));
    void *b = sw__malloc(8);
    ASSERT_NOT_NULL(b);
    ASSERT_EQ(sw__fault_hits("alloc"), 4);
    ASSERT_ERR(SW_FAULT("read", SW_EIO), SW_EIO);
    ASSERT_ERR(SW_FAULT("read", SW_EIO), SW_EIO);
    sw__free(a);
    sw__free(b);
    sw__fault_reset();
}
