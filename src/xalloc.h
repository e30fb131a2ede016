/*
 * Allocation that cannot fail: out of memory ends the program with one line
 * and exit 75 (temporary: a later run may succeed), so callers need no
 * error path for it.
 */
#ifndef MAILPIPE_XALLOC_H
#define MAILPIPE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
