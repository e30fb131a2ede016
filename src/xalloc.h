/*
 * Allocation that cannot fail: out of memory ends the program with one line
 * and exit 75 (temporary: a later run may succeed), so callers need no
 * error path for it.
 */
#ifndef MAILPIPE_XALLOC_H
#define MAILPIPE_XALLOC_H

#include <stddef.h>

/* The out-of-memory exit, for allocators that are not these (OpenSSL's). */
void xalloc_fail(void) __attribute__((noreturn));
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
/* Makes room for at least want elements of size bytes in p, whose capacity
 * (in elements) is *alloc: doubled as needed, overflow checked.  Returns
 * the (maybe moved) array; *alloc is updated. */
void *xgrow(void *p, size_t *alloc, size_t want, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
