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

static const char *const targets[] = { NULL, UIDL_FILE_MDA, UIDL_FILE_LMTP, UIDL_FILE_MBOX };

unsigned
uidlset_target_of(const char *file, size_t len)
{
	for (unsigned i = 1; i < sizeof targets / sizeof *targets; i++)
		if (strlen(targets[i]) == len && memcmp(file, targets[i], len) == 0)
			return i;
	return 0;
}

const char *
uidlset_target(const struct uidl_known *k)
{
	return targets[k->target];
}

/* A new entry at the end, for uidl[0..len).  The state file is written
 * sorted: loading it in order needs no sort. */
static struct uidl_known *
append(struct uidl_set *s, const struct uidl_entry *e, size_t len)
{
	struct uidl_known *k;
	bool in_order = s->count == 0 ||
	    (s->sorted && strcmp(s->entries[s->count - 1].uidl, e->uidl) < 0);

	s->entries = xgrow(s->entries, &s->alloc, s->count + 1, sizeof *s->entries);
	k = &s->entries[s->count++];
	*k = (struct uidl_known){ .size = e->size, .fetched = e->fetched,
		.has_digest = e->has_digest, .delete_requested = e->delete_requested,
		.seen = e->seen, .order = s->next_order++ };
	k->uidl = uidl_pool_copy(&s->strings, e->uidl, len);
	s->sorted = in_order;
	s->changed = true;
	return k;
}

void
uidlset_add_copy(struct uidl_set *s, const struct uidl_entry *e)
{
	struct uidl_known *k = append(s, e, strlen(e->uidl));
	struct uidl_extra *x;
	size_t flen = e->file != NULL ? strlen(e->file) : 0;

	s->extras = xgrow(s->extras, &s->extra_alloc, s->extra_count + 1, sizeof *s->extras);
	x = &s->extras[s->extra_count];
	x->file = e->file != NULL ? uidl_pool_copy(&s->strings, e->file, flen) : NULL;
	memcpy(x->digest, e->digest, sizeof x->digest);
	k->own = true;
	k->tail = s->extra_count++;
	k->target = e->file != NULL ? uidlset_target_of(e->file, flen) & 3 : 0;
}

void
uidlset_add_loaded(struct uidl_set *s, const struct uidl_entry *e, size_t uidl_len,
	unsigned long long tail, unsigned target)
{
	struct uidl_known *k = append(s, e, uidl_len);

	k->tail = tail;
	k->target = target & 3;
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

/* The tail of a loaded entry, through the backing. */
static int
read_tail(const struct uidl_set *s, const struct uidl_known *k, struct uidl_tail *t)
{
	if (s->backing.read_tail == NULL)
		return -1;	/* cannot happen: only a loader with a backing adds these */
	return s->backing.read_tail(s->backing.ctx, k->tail, t);
}

int
uidlset_digest(const struct uidl_set *s, const struct uidl_known *k,
	unsigned char digest[UIDL_DIGEST_SIZE])
{
	struct uidl_tail t;

	if (!k->has_digest)
		return 0;
	if (k->own) {
		memcpy(digest, s->extras[k->tail].digest, UIDL_DIGEST_SIZE);
		return 1;
	}
	if (read_tail(s, k, &t) < 0)
		return -1;
	memcpy(digest, t.digest, UIDL_DIGEST_SIZE);
	return 1;
}

int
uidlset_entry(const struct uidl_set *s, const struct uidl_known *k, struct uidl_entry *e,
	char file[UIDL_FILE_MAX + 1])
{
	struct uidl_tail t;
	const char *name = NULL;
	size_t len = 0;

	*e = (struct uidl_entry){ .uidl = k->uidl, .size = k->size, .fetched = k->fetched,
		.has_digest = k->has_digest, .delete_requested = k->delete_requested,
		.seen = k->seen };
	if (k->own) {
		name = s->extras[k->tail].file;
		len = name != NULL ? strlen(name) : 0;
		memcpy(e->digest, s->extras[k->tail].digest, UIDL_DIGEST_SIZE);
	} else {
		if (read_tail(s, k, &t) < 0)
			return -1;
		name = t.file;
		len = t.file_len;
		memcpy(e->digest, t.digest, UIDL_DIGEST_SIZE);
	}
	if (name == NULL)
		return 0;
	len = len < UIDL_FILE_MAX ? len : UIDL_FILE_MAX;
	memcpy(file, name, len);
	file[len] = '\0';
	e->file = file;
	return 0;
}

static int
compare_entries(const void *a, const void *b)
{
	const struct uidl_known *x = a, *y = b;
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
		struct uidl_known *e = &s->entries[i];

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
	return strcmp(key, ((const struct uidl_known *)elem)->uidl);
}

const struct uidl_known *
uidlset_find_sorted(const struct uidl_set *s, const char *uidl)
{
	const struct uidl_known *e;

	if (!s->sorted || s->count == 0)
		return NULL;
	e = bsearch(uidl, s->entries, s->count, sizeof *s->entries, compare_key);
	return e != NULL && !e->gone ? e : NULL;
}

/* The first of entries[lo..hi) whose UIDL is not below uidl (hi if none). */
static size_t
lower_bound(const struct uidl_set *s, const char *uidl, size_t lo, size_t hi)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->entries[mid].uidl, uidl) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The same over entries(from..count), from's UIDL being below uidl: the
 * next few entries first (1, then 2 and 4 further on: an entry or two
 * the server no longer lists), then a binary search of the rest; a
 * listing in no order pays three comparisons more than a plain search. */
static size_t
gallop(const struct uidl_set *s, const char *uidl, size_t from)
{
	size_t hi = s->count;

	for (size_t step = 1; step <= 4 && from + step < s->count; step *= 2) {
		if (strcmp(s->entries[from + step].uidl, uidl) >= 0) {
			hi = from + step;
			break;
		}
		from += step;
	}
	return lower_bound(s, uidl, from + 1, hi);
}

size_t
uidlset_find_from(const struct uidl_set *s, const char *uidl, size_t *cursor)
{
	size_t c, at;
	int cmp;

	if (!s->sorted || s->count == 0)
		return UIDLSET_NONE;
	c = *cursor < s->count ? *cursor : s->count - 1;
	cmp = strcmp(s->entries[c].uidl, uidl);
	at = cmp == 0 ? c : cmp > 0 ? lower_bound(s, uidl, 0, c) : gallop(s, uidl, c);
	*cursor = at;
	if (at == s->count || (cmp != 0 && strcmp(s->entries[at].uidl, uidl) != 0))
		return UIDLSET_NONE;
	*cursor = at + 1;
	return s->entries[at].gone ? UIDLSET_NONE : at;
}

struct uidl_known *
uidlset_find(struct uidl_set *s, const char *uidl)
{
	sort_entries(s);
	/* The set is s's own: handing its entry back writable is safe. */
	return (struct uidl_known *)uidlset_find_sorted(s, uidl);
}

struct uidl_known *
uidlset_lookup(struct uidl_set *s, const char *uidl)
{
	struct uidl_known *e = uidlset_find(s, uidl);

	if (e != NULL)
		e->seen = true;
	return e;
}

void
uidlset_forget(struct uidl_set *s, const char *uidl)
{
	struct uidl_known *e = uidlset_find(s, uidl);

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
		struct uidl_known *e = &s->entries[i];

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
	free(s->extras);
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

int
uidlset_digest_known(const struct uidl_set *s, const unsigned char digest[UIDL_DIGEST_SIZE])
{
	unsigned char d[UIDL_DIGEST_SIZE];

	for (size_t i = 0; i < s->count; i++) {
		const struct uidl_known *e = &s->entries[i];
		int has = e->gone ? 0 : uidlset_digest(s, e, d);

		if (has < 0)
			return -1;
		if (has > 0 && memcmp(d, digest, sizeof d) == 0)
			return 1;
	}
	return 0;
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
