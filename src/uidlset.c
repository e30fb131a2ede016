/*
 * The set of retrieved UIDLs.  One array, appended to and sorted lazily:
 * a run adds entries in batches and looks up every listed UIDL once, so a
 * sort per phase (n log n) beats keeping a tree balanced; entries added in
 * order (a state file being read) keep it sorted, so loading a state of
 * 200,000 entries sorts nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "uidlset.h"
#include "xalloc.h"

bool
uidl_valid(const char *uidl, size_t len)
{
	if (len == 0 || len > UIDL_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)uidl[i];

		if (ch < 0x21 || ch > 0x7e)
			return false;
	}
	return true;
}

void
uidl_entry_free(struct uidl_entry *e)
{
	free(e->uidl);
	free(e->file);
	e->uidl = e->file = NULL;
}

/* ---- the pool ---- */

struct uidl_pool_block {
	struct uidl_pool_block *next;
	size_t size;
	char text[];
};

char *
uidl_pool_copy(struct uidl_pool *pool, const char *s, size_t len)
{
	struct uidl_pool_block *b = pool->head;
	char *copy;

	if (b == NULL || b->size - pool->used < len + 1) {
		size_t size = len + 1 > UIDL_POOL_BLOCK ? len + 1 : UIDL_POOL_BLOCK;

		b = xmalloc(sizeof *b + size);
		b->next = pool->head;
		b->size = size;
		pool->head = b;
		pool->used = 0;
	}
	copy = b->text + pool->used;
	memcpy(copy, s, len);
	copy[len] = '\0';
	pool->used += len + 1;
	return copy;
}

void
uidl_pool_free(struct uidl_pool *pool)
{
	while (pool->head != NULL) {
		struct uidl_pool_block *next = pool->head->next;

		free(pool->head);
		pool->head = next;
	}
	pool->used = 0;
}

/* ---- the set ---- */

/* The state file is written sorted: loading it in order needs no sort. */
void
uidlset_add_copy(struct uidl_set *s, const struct uidl_entry *e)
{
	bool in_order = s->count == 0 ||
	    (s->sorted && strcmp(s->entries[s->count - 1].uidl, e->uidl) < 0);
	struct uidl_entry *in;

	s->entries = xgrow(s->entries, &s->alloc, s->count + 1, sizeof *s->entries);
	in = &s->entries[s->count++];
	*in = *e;
	in->uidl = uidl_pool_copy(&s->strings, e->uidl, strlen(e->uidl));
	in->file = e->file != NULL ? uidl_pool_copy(&s->strings, e->file, strlen(e->file)) :
	    NULL;
	in->order = s->next_order++;
	in->gone = false;
	s->sorted = in_order;
	s->changed = true;
}

void
uidlset_reserve(struct uidl_set *s, size_t n)
{
	s->entries = xgrow(s->entries, &s->alloc, s->count + n, sizeof *s->entries);
}

void
uidlset_add(struct uidl_set *s, struct uidl_entry *e)
{
	uidlset_add_copy(s, e);
	uidl_entry_free(e);
}

void
uidlset_note_change(struct uidl_set *s)
{
	s->changed = true;
}

static int
compare_entries(const void *a, const void *b)
{
	const struct uidl_entry *x = a, *y = b;
	int c = strcmp(x->uidl, y->uidl);

	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Of several entries for one UIDL the last added wins; it keeps "seen" if
 * any of them was seen (a lookup may have marked an older one). */
static void
sort_entries(struct uidl_set *s)
{
	size_t kept = 0;

	if (s->sorted)
		return;
	if (s->count > 1)
		qsort(s->entries, s->count, sizeof *s->entries, compare_entries);
	for (size_t i = 0; i < s->count; i++) {
		struct uidl_entry *e = &s->entries[i];

		if (i + 1 < s->count && strcmp(e->uidl, e[1].uidl) == 0)
			e[1].seen |= e->seen;	/* its strings stay in the pool */
		else if (!e->gone)
			s->entries[kept++] = *e;
	}
	s->count = kept;
	s->gone_count = 0;
	s->sorted = true;
}

static int
compare_key(const void *key, const void *elem)
{
	return strcmp(key, ((const struct uidl_entry *)elem)->uidl);
}

const struct uidl_entry *
uidlset_find_sorted(const struct uidl_set *s, const char *uidl)
{
	const struct uidl_entry *e;

	if (!s->sorted || s->count == 0)
		return NULL;
	e = bsearch(uidl, s->entries, s->count, sizeof *s->entries, compare_key);
	return e != NULL && !e->gone ? e : NULL;
}

struct uidl_entry *
uidlset_find(struct uidl_set *s, const char *uidl)
{
	sort_entries(s);
	/* The set is s's own: handing its entry back writable is safe. */
	return (struct uidl_entry *)uidlset_find_sorted(s, uidl);
}

struct uidl_entry *
uidlset_lookup(struct uidl_set *s, const char *uidl)
{
	struct uidl_entry *e = uidlset_find(s, uidl);

	if (e != NULL)
		e->seen = true;
	return e;
}

void
uidlset_forget(struct uidl_set *s, const char *uidl)
{
	struct uidl_entry *e = uidlset_find(s, uidl);

	if (e == NULL)
		return;
	e->gone = true;
	s->gone_count++;
	s->changed = true;
}

void
uidlset_compact(struct uidl_set *s, bool prune)
{
	size_t kept = 0;

	sort_entries(s);
	for (size_t i = 0; i < s->count; i++) {
		struct uidl_entry *e = &s->entries[i];

		if (!e->gone && (!prune || e->seen))
			s->entries[kept++] = *e;
	}
	if (kept < s->count)
		s->changed = true;
	s->count = kept;
	s->gone_count = 0;
}

size_t
uidlset_count(const struct uidl_set *s)
{
	return s->count - s->gone_count;
}

bool
uidlset_none_seen(struct uidl_set *s)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->entries[i].seen && !s->entries[i].gone)
			return false;
	return true;
}

void
uidlset_free(struct uidl_set *s)
{
	uidl_pool_free(&s->strings);
	free(s->entries);
	memset(s, 0, sizeof *s);
}

static int
compare_sizes(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

size_t
uidlset_digest_sizes(const struct uidl_set *s, unsigned long long **sizes_r)
{
	size_t n = 0;

	*sizes_r = xcalloc(s->count + 1, sizeof **sizes_r);
	for (size_t i = 0; i < s->count; i++)
		if (s->entries[i].has_digest && !s->entries[i].gone)
			(*sizes_r)[n++] = s->entries[i].size;
	if (n > 1)
		qsort(*sizes_r, n, sizeof **sizes_r, compare_sizes);
	return n;
}

bool
uidlset_size_among(unsigned long long size, const unsigned long long *sizes, size_t n)
{
	return n > 0 && bsearch(&size, sizes, n, sizeof *sizes, compare_sizes) != NULL;
}

bool
uidlset_digest_known(const struct uidl_set *s, const unsigned char digest[UIDL_DIGEST_SIZE])
{
	for (size_t i = 0; i < s->count; i++) {
		const struct uidl_entry *e = &s->entries[i];

		if (e->has_digest && !e->gone && memcmp(e->digest, digest, sizeof e->digest) == 0)
			return true;
	}
	return false;
}

/* How many of a's n sizes have a partner in b's m (both sorted). */
static size_t
count_matches(const unsigned long long *a, size_t n, const unsigned long long *b, size_t m)
{
	size_t matched = 0, i = 0, j = 0;

	while (i < n && j < m) {
		if (a[i] == b[j]) {
			matched++;
			i++;
			j++;
		} else if (a[i] < b[j]) {
			i++;
		} else {
			j++;
		}
	}
	return matched;
}

bool
uidlset_reset_suspected(struct uidl_set *s, const unsigned long long *sizes, size_t n)
{
	unsigned long long *mine, *theirs;
	size_t matched;

	uidlset_compact(s, false);
	if (s->count < 2 || n == 0 || !uidlset_none_seen(s))
		return false;
	mine = xcalloc(s->count, sizeof *mine);
	theirs = xcalloc(n, sizeof *theirs);
	for (size_t i = 0; i < s->count; i++)
		mine[i] = s->entries[i].size;
	memcpy(theirs, sizes, n * sizeof *theirs);
	qsort(mine, s->count, sizeof *mine, compare_sizes);
	qsort(theirs, n, sizeof *theirs, compare_sizes);
	matched = count_matches(mine, s->count, theirs, n);
	free(mine);
	free(theirs);
	return matched * 10 >= s->count * 9;
}
