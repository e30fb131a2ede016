/* A growable list of owned strings. */
#ifndef MAILPIPE_STRLIST_H
#define MAILPIPE_STRLIST_H

#include <stdbool.h>
#include <stddef.h>

struct strlist {
	char **items;
	size_t count;
	size_t alloc;		/* room in items, in items */
};

void strlist_push(struct strlist *l, const char *s);
/* Adds s unless an equal string (case-insensitively) is already there. */
void strlist_push_unique(struct strlist *l, const char *s);
void strlist_free(struct strlist *l);

#endif
