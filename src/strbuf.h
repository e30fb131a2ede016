/*
 * A growable string for text made in pieces (state files, header blocks):
 * always NUL-terminated, grown through xgrow(), so no caller computes a
 * size.
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

#endif
