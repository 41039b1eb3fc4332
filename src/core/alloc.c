#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

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
