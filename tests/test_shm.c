/* Shared mappings and the shared block pool. */
#include <string.h>

#include "core/fault.h"
#include "memory_test_util.h"
#include "swoole/shm.h"

SW_TEST(shm_bad_args)
{
    void *p = (void *)1;
    ASSERT_ERR(sw_shm_create(0, &p), SW_EINVAL);
    ASSERT_ERR(sw_shm_create(16, NULL), SW_EINVAL);
    ASSERT_ERR(sw_shm_create(SIZE_MAX, &p), SW_ENOMEM);
    ASSERT_PTR_EQ(p, (void *)1);
    ASSERT_ERR(sw_shm_destroy(NULL, 16), SW_EINVAL);
    ASSERT_OK(sw_shm_create(100, &p));
    ASSERT_ERR(sw_shm_destroy(p, 0), SW_EINVAL);
    ASSERT_ERR(sw_shm_destroy((char *)p + 1, 100), SW_EINVAL);
    ASSERT_OK(sw_shm_destroy(p, 100));
    ASSERT_TRUE(sw_shm_page_size() >= 4096);
}

SW_TEST(shm_shared_across_fork)
{
    size_t size = 3 * sw_shm_page_size() + 5;
    unsigned char *p = NULL;
    ASSERT_OK(sw_shm_create(size, (void **)&p));
    for (size_t i = 0; i < size; i++) {
        ASSERT_EQ(p[i], 0); /* zero-filled, the rounding included */
    }
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        memset(p, 0xab, size);
        _exit(0);
    }
    mt_reap(&pid, 1);
    for (size_t i = 0; i < size; i++) {
        ASSERT_EQ(p[i], 0xab);
    }
    ASSERT_OK(sw_shm_destroy(p, size));
}

SW_TEST(shm_fault_mmap)
{
    if (!sw__fault_enabled()) {
        SW_TEST_SKIP("built without SWOOLE_FAULT_INJECTION");
    }
    void *p = NULL;
    sw_shm_pool_t *pool = NULL;
    ASSERT_OK(sw__fault_set("mmap", 0, 2));
    ASSERT_ERR(sw_shm_create(64, &p), SW_ENOMEM);
    ASSERT_ERR(sw_shm_pool_create(&pool, 64, 4), SW_ENOMEM);
    ASSERT_NULL(p);
    ASSERT_NULL(pool);
    sw__fault_reset();
    ASSERT_OK(sw_shm_create(64, &p));
    ASSERT_OK(sw_shm_destroy(p, 64));
}

SW_TEST(shm_pool_sizes_and_args)
{
    ASSERT_EQ(sw_shm_pool_memory_size(0, 1), 0);
    ASSERT_EQ(sw_shm_pool_memory_size(1, 0), 0);
    ASSERT_EQ(sw_shm_pool_memory_size(1, (uint32_t)INT32_MAX + 1u), 0);
    ASSERT_EQ(sw_shm_pool_memory_size(SIZE_MAX, 2), 0);
    /* 128 + round16(4 n) + n * round16(size) */
    ASSERT_EQ(sw_shm_pool_memory_size(1, 1), 128 + 16 + 16);
    ASSERT_EQ(sw_shm_pool_memory_size(16, 4), 128 + 16 + 64);
    ASSERT_EQ(sw_shm_pool_memory_size(17, 5), 128 + 32 + 5 * 32);

    sw_shm_pool_t *pool = NULL;
    ASSERT_ERR(sw_shm_pool_create(NULL, 8, 8), SW_EINVAL);
    ASSERT_ERR(sw_shm_pool_create(&pool, 0, 8), SW_EINVAL);
    ASSERT_ERR(sw_shm_pool_create(&pool, 8, 0), SW_EINVAL);
    ASSERT_ERR(sw_shm_pool_alloc(NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw_shm_pool_free(NULL, NULL), SW_EINVAL);
    ASSERT_ERR(sw_shm_pool_free_index(NULL, 0), SW_EINVAL);
    ASSERT_ERR(sw_shm_pool_destroy(NULL), SW_EINVAL);
    ASSERT_ERR(sw_shm_pool_stats(NULL, NULL), SW_EINVAL);
    ASSERT_NULL(sw_shm_pool_block(NULL, 0));
    ASSERT_ERR(sw_shm_pool_index(NULL, NULL), SW_EINVAL);

    _Alignas(16) unsigned char mem[1024];
    ASSERT_ERR(sw_shm_pool_init(NULL, 1024, 8, &pool), SW_EINVAL);
    ASSERT_ERR(sw_shm_pool_init(mem, 1024, 8, NULL), SW_EINVAL);
    ASSERT_ERR(sw_shm_pool_init(mem, 1024, 0, &pool), SW_EINVAL);
    ASSERT_ERR(sw_shm_pool_init(mem + 8, 1000, 8, &pool), SW_EINVAL);
    ASSERT_ERR(sw_shm_pool_init(mem, 128 + 16 + 15, 1, &pool), SW_EINVAL); /* no block fits */
    /* Not a pool: garbage memory is refused. */
    memset(mem, 0x5a, sizeof(mem));
    ASSERT_ERR(sw_shm_pool_alloc((sw_shm_pool_t *)mem, NULL), SW_EINVAL);

    /* The most blocks that fit, checked against the formula. */
    ASSERT_OK(sw_shm_pool_init(mem, sizeof(mem), 40, &pool));
    ASSERT_PTR_EQ(pool, mem);
    sw_shm_pool_stats_t st;
    ASSERT_OK(sw_shm_pool_stats(pool, &st));
    ASSERT_EQ(st.block_size, 48);
    ASSERT_LE(sw_shm_pool_memory_size(40, st.blocks), sizeof(mem));
    ASSERT_GT(sw_shm_pool_memory_size(40, st.blocks + 1), sizeof(mem));
    ASSERT_EQ(st.memory_size, sw_shm_pool_memory_size(40, st.blocks));
    ASSERT_ERR(sw_shm_pool_destroy(pool), SW_EINVAL); /* caller memory: not ours to unmap */
}

SW_TEST(shm_pool_alloc_free)
{
    sw_shm_pool_t *pool = NULL;
    const uint32_t n = 100;
    ASSERT_OK(sw_shm_pool_create(&pool, 24, n));
    void *blocks[100];
    unsigned char seen[100] = {0};
    for (uint32_t i = 0; i < n; i++) {
        int idx = sw_shm_pool_alloc(pool, &blocks[i]);
        ASSERT_GE(idx, 0);
        ASSERT_LT(idx, (int)n);
        ASSERT_EQ(seen[idx], 0);
        seen[idx] = 1;
        ASSERT_EQ((uintptr_t)blocks[i] % SW_SHM_POOL_ALIGN, 0);
        ASSERT_PTR_EQ(sw_shm_pool_block(pool, (uint32_t)idx), blocks[i]);
        ASSERT_EQ(sw_shm_pool_index(pool, blocks[i]), idx);
        memset(blocks[i], idx, 32); /* the whole rounded block is usable */
    }
    void *none = (void *)1;
    ASSERT_ERR(sw_shm_pool_alloc(pool, &none), SW_ESHM_EXHAUSTED);
    ASSERT_PTR_EQ(none, (void *)1);
    ASSERT_NULL(sw_shm_pool_block(pool, n));
    for (uint32_t i = 0; i < n; i++) {
        int idx = sw_shm_pool_index(pool, blocks[i]);
        unsigned char *b = blocks[i];
        for (int j = 0; j < 32; j++) {
            ASSERT_EQ(b[j], (unsigned char)idx);
        }
    }
    sw_shm_pool_stats_t st;
    ASSERT_OK(sw_shm_pool_stats(pool, &st));
    ASSERT_EQ(st.blocks, n);
    ASSERT_EQ(st.in_use, n);
    ASSERT_EQ(st.peak_in_use, n);
    ASSERT_EQ(st.allocs, n);
    ASSERT_EQ(st.exhausted, 1);

    /* Wrong pointers and double frees are refused and change nothing. */
    ASSERT_ERR(sw_shm_pool_free(pool, (char *)blocks[3] + 1), SW_EINVAL);
    ASSERT_ERR(sw_shm_pool_free(pool, pool), SW_EINVAL);
    ASSERT_ERR(sw_shm_pool_free(pool, &st), SW_EINVAL);
    ASSERT_ERR(sw_shm_pool_free_index(pool, n), SW_EINVAL);
    ASSERT_OK(sw_shm_pool_free(pool, blocks[3]));
    ASSERT_ERR(sw_shm_pool_free(pool, blocks[3]), SW_EINVAL);
    ASSERT_OK(sw_shm_pool_free_index(pool, (uint32_t)sw_shm_pool_index(pool, blocks[7])));
    ASSERT_ERR(sw_shm_pool_free(pool, blocks[7]), SW_EINVAL);
    ASSERT_OK(sw_shm_pool_stats(pool, &st));
    ASSERT_EQ(st.in_use, n - 2);
    ASSERT_EQ(st.frees, 2);
    /* LIFO: the last freed comes back first. */
    void *b;
    ASSERT_EQ(sw_shm_pool_alloc(pool, &b), sw_shm_pool_index(pool, blocks[7]));
    ASSERT_EQ(sw_shm_pool_alloc(pool, NULL), sw_shm_pool_index(pool, blocks[3]));
    ASSERT_ERR(sw_shm_pool_alloc(pool, NULL), SW_ESHM_EXHAUSTED);
    for (uint32_t i = 0; i < n; i++) {
        ASSERT_OK(sw_shm_pool_free(pool, blocks[i]));
    }
    ASSERT_OK(sw_shm_pool_stats(pool, &st));
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.peak_in_use, n);
    ASSERT_OK(sw_shm_pool_destroy(pool));
}

/* Processes and threads allocate and free at random; each block carries an owner mark that
 * must be free when handed out, so a block given to two holders at once is caught. */
typedef struct {
    sw_shm_pool_t *pool;
    long rounds;
    _Atomic long violations;
} churn_t;

typedef struct {
    _Atomic uint64_t owner;
    uint64_t check;
} block_t;

static void churn_worker(int idx, void *arg)
{
    churn_t *c = arg;
    uint64_t me = ((uint64_t)getpid() << 16) | (uint64_t)(idx + 1);
    int held[16];
    int nheld = 0;
    uint32_t rnd = (uint32_t)me * 2654435761u;
    for (long r = 0; r < c->rounds; r++) {
        rnd = rnd * 1103515245u + 12345u;
        if (nheld < 16 && (nheld == 0 || (rnd >> 16) % 3 != 0)) {
            void *p;
            int i = sw_shm_pool_alloc(c->pool, &p);
            if (i == SW_ESHM_EXHAUSTED) {
                continue;
            }
            ASSERT_GE(i, 0);
            block_t *b = p;
            uint64_t zero = 0;
            if (!atomic_compare_exchange_strong(&b->owner, &zero, me)) {
                atomic_fetch_add(&c->violations, 1);
            }
            b->check = me ^ (uint64_t)i;
            held[nheld++] = i;
        } else {
            int k = (int)((rnd >> 8) % (uint32_t)nheld);
            int i = held[k];
            held[k] = held[--nheld];
            block_t *b = sw_shm_pool_block(c->pool, (uint32_t)i);
            if (b->check != (me ^ (uint64_t)i) || atomic_load(&b->owner) != me) {
                atomic_fetch_add(&c->violations, 1);
            }
            atomic_store(&b->owner, 0);
            ASSERT_OK(sw_shm_pool_free_index(c->pool, (uint32_t)i));
        }
    }
    while (nheld > 0) {
        block_t *b = sw_shm_pool_block(c->pool, (uint32_t)held[--nheld]);
        atomic_store(&b->owner, 0);
        ASSERT_OK(sw_shm_pool_free(c->pool, b));
    }
}

static void churn(int threads)
{
    void *mem;
    ASSERT_OK(sw_shm_create(sizeof(churn_t), &mem));
    churn_t *c = mem;
    /* Fewer blocks than 4 workers can hold, so exhaustion happens too. */
    ASSERT_OK(sw_shm_pool_create(&c->pool, sizeof(block_t), 48));
    c->rounds = mt_scaled(200000);
    if (threads) {
        mt_thread_t ts[4];
        mt_threads_run(ts, 4, churn_worker, c);
    } else {
        pid_t pids[4];
        mt_spawn(pids, 4, churn_worker, c);
        mt_reap(pids, 4);
    }
    ASSERT_EQ(atomic_load(&c->violations), 0);
    sw_shm_pool_stats_t st;
    ASSERT_OK(sw_shm_pool_stats(c->pool, &st));
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.allocs, st.frees);
    /* The free list is whole: every block can be taken once. */
    for (uint32_t i = 0; i < 48; i++) {
        ASSERT_GE(sw_shm_pool_alloc(c->pool, NULL), 0);
    }
    ASSERT_ERR(sw_shm_pool_alloc(c->pool, NULL), SW_ESHM_EXHAUSTED);
    ASSERT_OK(sw_shm_pool_destroy(c->pool));
    ASSERT_OK(sw_shm_destroy(mem, sizeof(churn_t)));
}

SW_TEST_TIMEOUT(shm_pool_churn_processes, 60)
{
    churn(0);
}

SW_TEST_TIMEOUT(shm_pool_churn_threads, 60)
{
    churn(1);
}

/* A process killed in the middle of allocating and freeing leaves a usable pool: what it held
 * is lost (in use), everything else can be allocated. */
static void churn_forever(int idx, void *arg)
{
    (void)idx;
    churn_t *c = arg;
    for (;;) {
        int i = sw_shm_pool_alloc(c->pool, NULL);
        if (i >= 0) {
            atomic_fetch_add(&c->violations, 1); /* used as a progress counter here */
            sw_shm_pool_free_index(c->pool, (uint32_t)i);
        }
    }
}

SW_TEST(shm_pool_killed_user)
{
    void *mem;
    ASSERT_OK(sw_shm_create(sizeof(churn_t), &mem));
    churn_t *c = mem;
    ASSERT_OK(sw_shm_pool_create(&c->pool, 64, 32));
    pid_t pids[2];
    mt_spawn(pids, 2, churn_forever, c);
    MT_WAIT_FLAG(&c->violations, 1000, 10000);
    mt_kill(pids[0]);
    mt_kill(pids[1]);
    sw_shm_pool_stats_t st;
    ASSERT_OK(sw_shm_pool_stats(c->pool, &st));
    ASSERT_LE(st.in_use, 2);
    uint32_t got = 0;
    while (sw_shm_pool_alloc(c->pool, NULL) >= 0) {
        got++;
        ASSERT_LE(got, 32);
    }
    ASSERT_GE(got, 30);
    ASSERT_OK(sw_shm_pool_destroy(c->pool));
    ASSERT_OK(sw_shm_destroy(mem, sizeof(churn_t)));
}
