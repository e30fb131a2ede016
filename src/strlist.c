/*
 * The list of owned strings recipients and addresses are gathered in;
 * grown through xgrow(), so no count is ever multiplied unchecked.
 */
#include <stdlib.h>
#include <strings.h>

#include "strlist.h"
#include "xalloc.h"

void
strlist_push(struct strlist *l, const char *s)
{
	l->items = xgrow(l->items, &l->alloc, l->count + 1, sizeof *l->items);
	l->items[l->count++] = xstrdup(s);
}

void
strlist_push_unique(struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcasecmp(l->items[i], s) == 0)
			return;
	strlist_push(l, s);
}

void
strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = l->alloc = 0;
}
