/* The growable string: appended to, then taken whole; and the %XX
 * escaping that keeps any text one printable token of a line-based file. */
#include <stdarg.h>
#include <stdlib.h>
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

void
strbuf_put_escaped(struct strbuf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch <= 0x20 || ch >= 0x7f || ch == '%')
			strbuf_printf(b, "%%%02X", ch);
		else
			strbuf_append(b, s, 1);
	}
}

static int
hex_value(char ch)
{
	static const char digits[] = "0123456789ABCDEF";
	const char *p = ch != '\0' ? strchr(digits, ch) : NULL;

	return p != NULL ? (int)(p - digits) : -1;
}

char *
strbuf_unescape(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	for (; *s != '\0'; s++) {
		int hi, lo;

		if (*s != '%') {
			*o++ = *s;
			continue;
		}
		hi = hex_value(s[1]);
		lo = hi < 0 ? -1 : hex_value(s[2]);
		if (lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		s += 2;
	}
	*o = '\0';
	return out;
}
