/*
 * Allocation (internal). Every allocation of the library goes through these, so the "alloc"
 * fault point can fail any of them in tests. They behave as malloc/calloc/realloc/free.
 */
#ifndef SW_CORE_ALLOC_H
#define SW_CORE_ALLOC_H

#include <stddef.h>

void *sw__malloc(size_t size);
void *sw__calloc(size_t n, size_t size);
/* On failure returns NULL and leaves `p` untouched, like realloc. */
void *sw__realloc(void *p, size_t size);
void sw__free(void *p);
/* Duplicates a NUL-terminated string; NULL on failure. */
char *sw__strdup(const char *s);

#endif
