/*
 * Fetch planning.  The listings are collected as they come and joined once
 * (sort by number, walk together), never searched per line: a mailbox of
 * 200,000 messages listed backwards plans in n log n.
 */
#include <stdlib.h>
#include <string.h>

#include "fetch-plan.h"
#include "xalloc.h"

static struct plan_msg *
new_msg(struct fetch_plan *p, unsigned long num)
{
	struct plan_msg *m;

	p->msgs = xgrow(p->msgs, &p->alloc, p->count + 1, sizeof *p->msgs);
	m = &p->msgs[p->count++];
	memset(m, 0, sizeof *m);
	m->num = num;
	return m;
}

void
plan_expect(struct fetch_plan *p, const struct uidl_set *known, unsigned long n)
{
	size_t want = n < PLAN_EXPECT_MAX ? n : PLAN_EXPECT_MAX;

	p->known = known;
	p->msgs = xgrow(p->msgs, &p->alloc, p->count + want, sizeof *p->msgs);
}

/* The set's copy of a UIDL it knows (the nightly run knows nearly all:
 * 50,000 strings not copied twice), else a copy of the plan's own.  Its
 * entry is kept (m->known_at) for plan_make(): one search per UIDL. */
static void
share_uidl(struct fetch_plan *p, struct plan_msg *m, const char *uidl, size_t len)
{
	size_t at = UIDLSET_NONE;
	char key[UIDL_MAX + 1];		/* a valid UIDL fits */

	if (p->known != NULL && len < sizeof key) {
		memcpy(key, uidl, len);
		key[len] = '\0';
		at = uidlset_find_from(p->known, key, &p->cursor);
	}
	m->known_at = at != UIDLSET_NONE ? at + 1 : 0;
	m->uidl = at != UIDLSET_NONE ? p->known->entries[at].uidl :
	    uidl_pool_copy(&p->uidls, uidl, len);
}

void
plan_add_uidl(struct fetch_plan *p, unsigned long num, const char *uidl, size_t len)
{
	struct plan_msg *m = new_msg(p, num);

	if (uidl_valid(uidl, len))
		share_uidl(p, m, uidl, len);
	else
		m->problem = "invalid UIDL (RFC 1939: 1 to 70 characters 0x21-0x7e)";
}

static void
push_size(struct fetch_plan *p, unsigned long num, unsigned long long size)
{
	p->sizes = xgrow(p->sizes, &p->sizes_alloc, p->nsizes + 1, sizeof *p->sizes);
	p->sizes[p->nsizes++] = (struct plan_size){ .num = num, .size = size };
}

/* The sizes given straight to messages go back into the table, in the
 * order LIST gave them (they were its first lines): the table is then
 * what it would have been without the shortcut. */
static void
spill_direct(struct fetch_plan *p)
{
	for (size_t i = 0; i < p->direct; i++) {
		push_size(p, p->msgs[i].num, p->msgs[i].size);
		p->msgs[i].size = 0;
		p->msgs[i].listed = false;
	}
	p->direct = 0;
}

/* A server lists LIST in the order of its UIDL answer, by number: each
 * size then goes straight into its message, and no table of 50,000 sizes
 * is made.  The first line out of that order puts the sizes back into the
 * table, which is joined as ever (join_listings()). */
void
plan_add_size(struct fetch_plan *p, unsigned long num, unsigned long long size)
{
	struct plan_msg *m = p->direct < p->count ? &p->msgs[p->direct] : NULL;

	if (p->nsizes == 0 && m != NULL && m->num == num &&
	    (p->direct == 0 || m[-1].num < num)) {
		m->size = size;
		m->listed = true;
		p->direct++;
		return;
	}
	spill_direct(p);
	push_size(p, num, size);
}

/* ---- joining the listings ---- */

static int
compare_msg_num(const void *a, const void *b)
{
	const struct plan_msg *x = a, *y = b;

	return x->num < y->num ? -1 : x->num > y->num;
}

static int
compare_size_num(const void *a, const void *b)
{
	const struct plan_size *x = a, *y = b;

	return x->num < y->num ? -1 : x->num > y->num;
}

/* qsort() with n == 0 may get a NULL base, which C does not allow.  A
 * server lists in order, so an array already sorted (one look at each
 * neighbour) is left as it is. */
static void
sort_array(void *base, size_t n, size_t size, int (*compare)(const void *, const void *))
{
	const char *at = base;
	size_t i = 1;

	while (i < n && compare(at + (i - 1) * size, at + i * size) <= 0)
		i++;
	if (i < n)
		qsort(base, n, size, compare);
}

/* Gives each UIDL line its LIST size (both sorted by number, walked
 * together); a number LIST lacks, or has twice, leaves the size unknown. */
static void
attach_sizes(struct fetch_plan *p)
{
	const struct plan_size *v = p->sizes;
	size_t j = 0;

	for (size_t i = 0; i < p->count; i++) {
		struct plan_msg *m = &p->msgs[i];

		while (j < p->nsizes && v[j].num < m->num)
			j++;
		if (j == p->nsizes || v[j].num != m->num) {
			m->problem = m->problem ? m->problem : "not in the LIST answer";
			continue;
		}
		m->size = v[j].size;
		m->listed = true;
		if (j + 1 < p->nsizes && v[j + 1].num == m->num)
			m->problem = "listed twice by LIST";
	}
}

/* A number that LIST shows and UIDL does not: it cannot be identified. */
static void
add_unidentified(struct fetch_plan *p)
{
	size_t listed_by_uidl = p->count, i = 0;

	for (size_t j = 0; j < p->nsizes; j++) {
		const struct plan_size *l = &p->sizes[j];
		struct plan_msg *m;

		if (j > 0 && p->sizes[j - 1].num == l->num)
			continue;
		while (i < listed_by_uidl && p->msgs[i].num < l->num)
			i++;
		if (i < listed_by_uidl && p->msgs[i].num == l->num)
			continue;
		m = new_msg(p, l->num);
		m->size = l->size;
		m->listed = true;
		m->problem = "no UIDL from the server";
	}
}

static void
join_listings(struct fetch_plan *p)
{
	size_t n = p->count;

	if (p->nsizes == 0 && p->direct == n)
		return;		/* both in order, each number once: joined as listed */
	spill_direct(p);
	sort_array(p->msgs, p->count, sizeof *p->msgs, compare_msg_num);
	sort_array(p->sizes, p->nsizes, sizeof *p->sizes, compare_size_num);
	for (size_t i = 1; i < n; i++)
		if (p->msgs[i].num == p->msgs[i - 1].num)
			p->msgs[i].problem = p->msgs[i - 1].problem =
			    "UIDL listed the number twice";
	attach_sizes(p);
	add_unidentified(p);
	if (p->count > n)
		sort_array(p->msgs, p->count, sizeof *p->msgs, compare_msg_num);
	free(p->sizes);
	p->sizes = NULL;
	p->nsizes = p->sizes_alloc = 0;
}

static int
compare_uidl_ptr(const void *a, const void *b)
{
	const struct plan_msg *x = *(struct plan_msg *const *)a;
	const struct plan_msg *y = *(struct plan_msg *const *)b;

	return strcmp(x->uidl ? x->uidl : "", y->uidl ? y->uidl : "");
}

/* True when the messages' UIDLs rise with their numbers (Dovecot's do):
 * a repeated one is then next to its twin. */
static bool
uidls_ascending(const struct fetch_plan *p)
{
	for (size_t i = 1; i < p->count; i++)
		if (p->msgs[i].uidl == NULL || p->msgs[i - 1].uidl == NULL ||
		    strcmp(p->msgs[i - 1].uidl, p->msgs[i].uidl) >= 0)
			return false;
	return true;
}

/* RFC 1939 promises unique ids; a server that repeats one cannot be trusted
 * with either message, so both are left alone.  UIDLs listed in rising
 * order are unique already: no array of pointers to sort. */
static void
mark_duplicates(struct fetch_plan *p)
{
	struct plan_msg **v;

	if (p->count == 0 || uidls_ascending(p))
		return;
	v = xcalloc(p->count, sizeof *v);
	for (size_t i = 0; i < p->count; i++)
		v[i] = &p->msgs[i];
	sort_array(v, p->count, sizeof *v, compare_uidl_ptr);
	for (size_t i = 1; i < p->count; i++) {
		if (v[i]->uidl != NULL && v[i - 1]->uidl != NULL &&
		    strcmp(v[i]->uidl, v[i - 1]->uidl) == 0)
			v[i]->problem = v[i - 1]->problem = "duplicate UIDL";
	}
	free(v);
}

/* ---- classifying ---- */

/* A message the state does not know: retrieve it, unless it is too big. */
static enum plan
plan_new(const struct plan_msg *m, unsigned long long max_size)
{
	return max_size > 0 && m->size > max_size ? PLAN_TOO_BIG : PLAN_NEW;
}

/* A message the state knows, judged by the entry's size. */
static enum plan
plan_known(struct plan_msg *m, const struct uidl_known *e)
{
	if (e->size == m->size)
		return PLAN_RETRIEVED;
	m->was_size = e->size;
	return PLAN_CHANGED;
}

/* An entry whose first retrieval time is unknown (0, or a negative
 * time hand-edited into the state) counts from now: never deleted early.
 * The state then changed, and is rewritten with it. */
static long long
first_retrieval(struct uidl_set *known, struct uidl_known *e, long long now)
{
	if (e->fetched <= 0) {
		e->fetched = now;
		uidlset_note_change(known);
	}
	return e->fetched;
}

/* m's entry in known, marked seen: the one plan_add_uidl() found when
 * it is still there (the same string at the same place), else looked up. */
static struct uidl_known *
known_entry(struct plan_msg *m, struct uidl_set *known, const struct fetch_plan *p)
{
	size_t at = m->known_at;
	struct uidl_known *e = at > 0 && known == p->known && known->sorted &&
	    at <= known->count ? &known->entries[at - 1] : NULL;

	m->was_size = 0;
	if (m->uidl == NULL)
		return NULL;
	if (e == NULL || e->uidl != m->uidl || e->gone)
		return uidlset_lookup(known, m->uidl);
	e->seen = true;
	return e;
}

static void
classify(struct plan_msg *m, struct uidl_set *known, const struct fetch_plan *p)
{
	/* Looked up even when unusable: an entry still listed is not pruned. */
	struct uidl_known *e = known_entry(m, known, p);

	m->fetched = e != NULL ? first_retrieval(known, e, p->now) : 0;
	if (m->problem != NULL)
		m->plan = PLAN_BAD;
	else if (e == NULL)
		m->plan = plan_new(m, p->max_size);
	else if (e->delete_requested)
		m->plan = PLAN_UNCONFIRMED;
	else
		m->plan = plan_known(m, e);
}

/* A server that renumbered its UIDLs makes every message look new: a
 * second copy of the whole mailbox.  Recognised by its sizes. */
static bool
looks_reset(const struct fetch_plan *p, struct uidl_set *known)
{
	unsigned long long *sizes;
	size_t n = 0;
	bool reset;

	if (!uidlset_none_seen(known))
		return false;	/* a UIDL still known: no reset (and no array of sizes) */
	sizes = xcalloc(p->count + 1, sizeof *sizes);

	for (size_t i = 0; i < p->count; i++)
		if (p->msgs[i].listed)
			sizes[n++] = p->msgs[i].size;
	reset = uidlset_reset_suspected(known, sizes, n);
	free(sizes);
	return reset;
}

void
plan_make(struct fetch_plan *p, struct uidl_set *known)
{
	join_listings(p);
	mark_duplicates(p);
	for (size_t i = 0; i < p->count; i++)
		classify(&p->msgs[i], known, p);
	/* An empty listing proves nothing: a server that shows nothing for a
	 * moment must not make the state forget what was retrieved; nor does
	 * a listing that looks renumbered (the state lets the user decide). */
	p->reset = looks_reset(p, known);
	p->prune = p->count > 0 && !p->reset;
}

void
plan_settle(struct plan_msg *m, struct uidl_set *known, bool same,
	unsigned long long max_size)
{
	struct uidl_known *e = uidlset_find(known, m->uidl);

	if (!same) {
		uidlset_forget(known, m->uidl);
		m->fetched = 0;
		m->plan = plan_new(m, max_size);
		return;
	}
	m->plan = plan_known(m, e);
	if (m->plan == PLAN_RETRIEVED) {	/* QUIT never took effect: just retrieved */
		e->delete_requested = false;
		uidlset_note_change(known);
	}
}

const char *
plan_word(enum plan plan)
{
	switch (plan) {
	case PLAN_NEW:		return "new";
	case PLAN_RETRIEVED:	return "retrieved";
	case PLAN_UNCONFIRMED:	return "unconfirmed";
	case PLAN_CHANGED:	return "changed";
	case PLAN_TOO_BIG:	return "too-big";
	case PLAN_BAD:		return "bad-uidl";
	case PLAN_WAITING:	return "waiting";
	}
	return "?";
}

void
plan_free(struct fetch_plan *p)
{
	uidl_pool_free(&p->uidls);
	free(p->msgs);
	free(p->sizes);
	memset(p, 0, sizeof *p);
}
