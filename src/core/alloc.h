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

/* Resizes an array that may grow large. From SW__BIG_ALLOC bytes up the array lives in its own
 * anonymous mapping, which mremap grows by moving page tables instead of copying the bytes
 * (glibc's realloc copies blocks below its adaptive mmap threshold, which stays low after big
 * blocks are freed). `old_size` must be the size the array was last given (0 for NULL). On
 * failure returns NULL and leaves the array untouched. */
#define SW__BIG_ALLOC ((size_t)1 << 20)
void *sw__big_realloc(void *p, size_t old_size, size_t new_size);
/* Frees an array from sw__big_realloc; `size` as last given. NULL is allowed. */
void sw__big_free(void *p, size_t size);

#endif
