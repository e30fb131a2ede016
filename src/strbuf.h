/*
 * A growable string for text made in pieces (state files, header blocks):
 * always NUL-terminated, grown through xgrow(), so no caller computes a
 * size.  Also the one %XX escaping of the line-based files.
 */
#ifndef MAILPIPE_STRBUF_H
#define MAILPIPE_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *p;
	size_t len, alloc;
};

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_append(struct strbuf *b, const char *p, size_t n);
/* Hands the text over (never NULL) and empties b. */
char *strbuf_take(struct strbuf *b, size_t *len_r);

/* Appends s with every octet that is not printable ASCII, the space and
 * "%" written as %XX (upper-case hex): one token of a line-based file
 * (the fetch state, a queue envelope), whatever s holds. */
void strbuf_put_escaped(struct strbuf *b, const char *s);
/* The token with %XX decoded: a new string, or NULL when it is malformed
 * or would decode to a NUL. */
char *strbuf_unescape(const char *s);

#endif
