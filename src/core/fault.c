/* Named fault points for tests; see fault.h. */
#include "core/fault.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "swoole/error.h"

#define SW_FAULT_MAX_POINTS 64
#define SW_FAULT_NAME_MAX   32

typedef struct {
    char name[SW_FAULT_NAME_MAX];
    _Atomic int64_t skip;
    _Atomic int64_t count; /* failures left; -1 forever */
    _Atomic int64_t hits;
    _Atomic int used;
} fault_point_t;

static fault_point_t points[SW_FAULT_MAX_POINTS];
static pthread_mutex_t points_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static fault_point_t *find_point(const char *name, int create)
{
    for (int i = 0; i < SW_FAULT_MAX_POINTS; i++) {
        if (atomic_load(&points[i].used) && strcmp(points[i].name, name) == 0) {
            return &points[i];
        }
    }
    if (!create) {
        return NULL;
    }
    for (int i = 0; i < SW_FAULT_MAX_POINTS; i++) {
        if (!atomic_load(&points[i].used)) {
            strncpy(points[i].name, name, SW_FAULT_NAME_MAX - 1);
            points[i].name[SW_FAULT_NAME_MAX - 1] = '\0';
            atomic_store(&points[i].used, 1);
            return &points[i];
        }
    }
    return NULL;
}

static int set_point(const char *name, int64_t skip, int64_t count)
{
    pthread_mutex_lock(&points_lock);
    fault_point_t *p = find_point(name, 1);
    if (p) {
        atomic_store(&p->hits, 0);
        atomic_store(&p->skip, skip);
        atomic_store(&p->count, count);
    }
    pthread_mutex_unlock(&points_lock);
    return p ? 0 : SW_ENOMEM;
}

/* Parses SW_FAULT once. Malformed entries are ignored: a test that relies on one sees that
 * sw__fault_hits() stays 0. */
static void read_env(void)
{
    const char *env = getenv("SW_FAULT");
    if (!env || !*env) {
        return;
    }
    char buf[1024];
    strncpy(buf, env, sizeof(buf) - 1);
    buf[sizeof(buf) - 1] = '\0';
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *name = tok;
        char *c1 = strchr(tok, ':');
        int64_t skip = 0, count = 1;
        if (c1) {
            *c1 = '\0';
            char *c2 = strchr(c1 + 1, ':');
            if (c2) {
                *c2 = '\0';
                count = strtoll(c2 + 1, NULL, 10);
            }
            skip = strtoll(c1 + 1, NULL, 10);
        }
        if (*name && strlen(name) < SW_FAULT_NAME_MAX) {
            set_point(name, skip, count);
        }
    }
}

int sw__fault_check(const char *name, int code)
{
    pthread_once(&env_once, read_env);
    fault_point_t *p = find_point(name, 0);
    if (!p) {
        return 0;
    }
    atomic_fetch_add(&p->hits, 1);
    if (atomic_load(&p->count) == 0) {
        return 0;
    }
    /* Consume one skip if any is left. */
    int64_t s = atomic_load(&p->skip);
    while (s > 0) {
        if (atomic_compare_exchange_weak(&p->skip, &s, s - 1)) {
            return 0;
        }
    }
    int64_t c = atomic_load(&p->count);
    while (c != 0) {
        if (c < 0) {
            return code;
        }
        if (atomic_compare_exchange_weak(&p->count, &c, c - 1)) {
            return code;
        }
    }
    return 0;
}

int sw__fault_set(const char *name, int64_t skip, int64_t count)
{
    pthread_once(&env_once, read_env);
    return set_point(name, skip, count);
}

int64_t sw__fault_hits(const char *name)
{
    fault_point_t *p = find_point(name, 0);
    return p ? atomic_load(&p->hits) : 0;
}

void sw__fault_reset(void)
{
    pthread_mutex_lock(&points_lock);
    for (int i = 0; i < SW_FAULT_MAX_POINTS; i++) {
        atomic_store(&points[i].count, 0);
        atomic_store(&points[i].skip, 0);
        atomic_store(&points[i].hits, 0);
    }
    pthread_mutex_unlock(&points_lock);
}

int sw__fault_enabled(void)
{
#ifdef SWOOLE_FAULT_INJECTION
    return 1;
#else
    return 0;
#endif
}
