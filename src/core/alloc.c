#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/fault.h"
#include "swoole/error.h"

void *sw__malloc(size_t size)
{
    if (SW_FAULT("alloc", SW_ENOMEM)) {
        return NULL;
    }
    return malloc(size);
}

void *sw__calloc(size_t n, size_t size)
{
    if (SW_FAULT("alloc", SW_ENOMEM)) {
        return NULL;
    }
    return calloc(n, size);
}

void *sw__realloc(void *p, size_t size)
{
    if (SW_FAULT("alloc", SW_ENOMEM)) {
        return NULL;
    }
    return realloc(p, size);
}

void sw__free(void *p)
{
    free(p);
}

char *sw__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = sw__malloc(n);
    if (d) {
        memcpy(d, s, n);
    }
    return d;
}

void *sw__big_realloc(void *p, size_t old_size, size_t new_size)
{
    if (new_size < SW__BIG_ALLOC) {
        return sw__realloc(p, new_size);
    }
    if (SW_FAULT("alloc", SW_ENOMEM)) {
        return NULL;
    }
    if (p && old_size >= SW__BIG_ALLOC) {
        void *q = mremap(p, old_size, new_size, MREMAP_MAYMOVE);
        return q == MAP_FAILED ? NULL : q;
    }
    void *q = mmap(NULL, new_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED) {
        return NULL;
    }
    if (p) {
        memcpy(q, p, old_size < new_size ? old_size : new_size);
        free(p);
    }
    return q;
}

void sw__big_free(void *p, size_t size)
{
    if (!p) {
        return;
    }
    if (size >= SW__BIG_ALLOC) {
        munmap(p, size);
    } else {
        free(p);
    }
}
