/* The growable string: appended to, then taken whole. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"

void
strbuf_append(struct strbuf *b, const char *p, size_t n)
{
	b->p = xgrow(b->p, &b->alloc, b->len + n + 1, 1);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		xalloc_fail();	/* only an impossible format fails */
	b->p = xgrow(b->p, &b->alloc, b->len + (size_t)n + 1, 1);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *
strbuf_take(struct strbuf *b, size_t *len_r)
{
	char *p;

	if (b->p == NULL)
		strbuf_append(b, "", 0);
	p = b->p;
	if (len_r != NULL)
		*len_r = b->len;
	memset(b, 0, sizeof *b);
	return p;
}
