/*
 * Allocation with a single out-of-memory exit, so no caller carries an
 * error path for it.  Running out of memory is treated as temporary (75):
 * nothing was sent or deleted yet that a later run could not redo.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "log.h"
#include "xalloc.h"

/* The first capacity xgrow() gives, in elements: small arrays never move. */
#define XGROW_FIRST 16

void
xalloc_fail(void)
{
	log_error("out of memory");
	exit(EX_TEMPFAIL);
}

/* What an allocator returned, or the out-of-memory exit for NULL. */
static void *
allocated(void *p)
{
	if (p == NULL)
		xalloc_fail();
	return p;
}

void *
xmalloc(size_t n)
{
	return allocated(malloc(n ? n : 1));
}

void *
xcalloc(size_t n, size_t size)
{
	return allocated(calloc(n ? n : 1, size ? size : 1));
}

void *
xgrow(void *p, size_t *alloc, size_t want, size_t size)
{
	size_t n = *alloc;

	if (want <= n)
		return p;
	n = n > 0 ? n : XGROW_FIRST;
	while (n < want)
		n = n <= SIZE_MAX / 2 ? 2 * n : want;
	p = allocated(reallocarray(p, n, size ? size : 1));	/* NULL also on overflow */
	*alloc = n;
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		xalloc_fail();
	va_end(ap);
	return s;
}
