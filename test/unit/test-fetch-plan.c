/*
 * Fetch planning as tables: the server's UIDL and LIST lines and the known
 * entries go in, each message's plan (and why it is unusable) comes out;
 * then the UIDL-reset heuristic at its edges, and how an unconfirmed
 * deletion is settled.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch-plan.h"
#include "tap.h"

#define ROWS_MAX 12

struct known {
	const char *uidl;
	unsigned long long size;
	bool delete_requested;
};

struct plan_case {
	const char *name;
	const char *uidl[ROWS_MAX];	/* "NUM UIDL" lines */
	const char *list[ROWS_MAX];	/* "NUM SIZE" lines */
	struct known known[ROWS_MAX];
	unsigned long long max_size;
	const char *want;		/* "NUM:word" for each message, in order */
	bool prune, reset;
};

#define K(u, s) { (u), (s), false }	/* known, retrieved */
#define D(u, s) { (u), (s), true }	/* known, its deletion unconfirmed */

static const struct plan_case cases[] = {
	{ "new, retrieved, changed, unconfirmed",
	  { "1 a", "2 b", "3 c", "4 d" }, { "1 10", "2 20", "3 30", "4 40" },
	  { K("b", 20), K("c", 31), D("d", 40) }, 0,
	  "1:new 2:retrieved 3:changed 4:unconfirmed", true, false },
	{ "over max_size: too-big, known ones stay known",
	  { "1 a", "2 b" }, { "1 5000", "2 6000" }, { K("b", 6000) }, 4000,
	  "1:too-big 2:retrieved", true, false },
	{ "listings in any order", { "3 c", "1 a", "2 b" }, { "2 2", "3 3", "1 1" }, { K(NULL, 0) },
	  0, "1:new 2:new 3:new", true, false },
	{ "an invalid UIDL", { "1 a b", "2 b" }, { "1 1", "2 2" }, { K(NULL, 0) }, 0,
	  "1:bad-uidl 2:new", true, false },
	{ "a duplicate UIDL: both left alone", { "1 x", "2 x", "3 y" },
	  { "1 1", "2 2", "3 3" }, { K(NULL, 0) }, 0, "1:bad-uidl 2:bad-uidl 3:new", true, false },
	{ "UIDL lists a number twice", { "1 a", "1 b", "2 c" }, { "1 1", "2 2" }, { K(NULL, 0) }, 0,
	  "1:bad-uidl 1:bad-uidl 2:new", true, false },
	{ "a number LIST lacks", { "1 a", "2 b" }, { "1 1" }, { K(NULL, 0) }, 0,
	  "1:new 2:bad-uidl", true, false },
	{ "a number UIDL lacks", { "1 a" }, { "1 1", "2 2" }, { K(NULL, 0) }, 0,
	  "1:new 2:bad-uidl", true, false },
	{ "LIST lists a number twice", { "1 a", "2 b" }, { "1 1", "1 1", "2 2" }, { K(NULL, 0) }, 0,
	  "1:bad-uidl 2:new", true, false },
	{ "an empty listing prunes nothing", { NULL }, { NULL }, { K("a", 1), K("b", 2) }, 0,
	  "", false, false },
	{ "all UIDLs new, same sizes: a reset", { "1 x", "2 y", "3 z" },
	  { "1 300", "2 100", "3 100" }, { K("a", 100), K("b", 100), K("c", 300) }, 0,
	  "1:new 2:new 3:new", false, true },
	{ "one UIDL still known: no reset", { "1 a", "2 y", "3 z" },
	  { "1 100", "2 100", "3 300" }, { K("a", 100), K("b", 100), K("c", 300) }, 0,
	  "1:retrieved 2:new 3:new", true, false },
	{ "a size matches one entry only: no reset", { "1 x", "2 y", "3 z" },
	  { "1 100", "2 300", "3 8" }, { K("a", 100), K("b", 100), K("c", 300) }, 0,
	  "1:new 2:new 3:new", true, false },
	{ "one entry known: never a reset", { "1 x" }, { "1 100" }, { K("a", 100) }, 0,
	  "1:new", true, false },
	{ "9 of 10 sizes: a reset", { "1 p", "2 q", "3 r", "4 s", "5 t", "6 u", "7 v", "8 w",
	  "9 x" }, { "1 1", "2 2", "3 3", "4 4", "5 5", "6 6", "7 7", "8 8", "9 9" },
	  { K("a", 1), K("b", 2), K("c", 3), K("d", 4), K("e", 5), K("f", 6), K("g", 7),
	    K("h", 8), K("i", 9), K("j", 10) }, 0,
	  "1:new 2:new 3:new 4:new 5:new 6:new 7:new 8:new 9:new", false, true },
	{ "8 of 10 sizes: new mail", { "1 p", "2 q", "3 r", "4 s", "5 t", "6 u", "7 v", "8 w" },
	  { "1 1", "2 2", "3 3", "4 4", "5 5", "6 6", "7 7", "8 8" },
	  { K("a", 1), K("b", 2), K("c", 3), K("d", 4), K("e", 5), K("f", 6), K("g", 7),
	    K("h", 8), K("i", 9), K("j", 10) }, 0,
	  "1:new 2:new 3:new 4:new 5:new 6:new 7:new 8:new", true, false },
};

static void
add_known(struct uidl_set *set, const struct known *k)
{
	for (size_t i = 0; i < ROWS_MAX && k[i].uidl != NULL; i++) {
		struct uidl_entry e = { .uidl = strdup(k[i].uidl), .file = strdup("1.M1P1Q1R1.h"),
			.size = k[i].size, .delete_requested = k[i].delete_requested };

		uidlset_add(set, &e);
	}
}

static void
feed(struct fetch_plan *p, const struct plan_case *c)
{
	for (size_t i = 0; i < ROWS_MAX && c->uidl[i] != NULL; i++) {
		const char *rest = strchr(c->uidl[i], ' ') + 1;

		plan_add_uidl(p, strtoul(c->uidl[i], NULL, 10), rest, strlen(rest));
	}
	for (size_t i = 0; i < ROWS_MAX && c->list[i] != NULL; i++)
		plan_add_size(p, strtoul(c->list[i], NULL, 10),
		    strtoull(strchr(c->list[i], ' ') + 1, NULL, 10));
}

static void
summarize(const struct fetch_plan *p, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < p->count && o < size; i++)
		o += (size_t)snprintf(out + o, size - o, "%s%lu:%s", i ? " " : "", p->msgs[i].num,
		    plan_word(p->msgs[i].plan));
}

static void
test_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct plan_case *c = &cases[i];
		struct fetch_plan p = { .max_size = c->max_size };
		struct uidl_set set = { 0 };
		char got[512];

		add_known(&set, c->known);
		feed(&p, c);
		plan_make(&p, &set);
		summarize(&p, got, sizeof got);
		is_str(got, c->want, "%s", c->name);
		ok(p.prune == c->prune && p.reset == c->reset, "%s: prune %d, reset %d", c->name,
		    c->prune, c->reset);
		plan_free(&p);
		uidlset_free(&set);
	}
}

/* The problem named for each kind of unusable message. */
static void
test_problems(void)
{
	struct fetch_plan p = { 0 };
	struct uidl_set set = { 0 };

	plan_add_uidl(&p, 1, "x", 1);
	plan_add_uidl(&p, 2, "x", 1);
	plan_add_uidl(&p, 3, "\x01", 1);
	plan_add_uidl(&p, 4, "z", 1);
	plan_add_size(&p, 1, 1);
	plan_add_size(&p, 2, 1);
	plan_add_size(&p, 3, 1);
	plan_add_size(&p, 5, 1);
	plan_make(&p, &set);
	ok(p.count == 5, "five messages");
	is_str(p.msgs[0].problem, "duplicate UIDL", "a repeated UIDL");
	ok(strncmp(p.msgs[2].problem, "invalid UIDL", 12) == 0 && p.msgs[2].uidl == NULL,
	    "an invalid UIDL is named and never copied");
	is_str(p.msgs[3].problem, "not in the LIST answer", "no size");
	is_str(p.msgs[4].problem, "no UIDL from the server", "no UIDL");
	plan_free(&p);
	uidlset_free(&set);
}

/* Every listed entry is marked seen, so only the others are pruned. */
static void
test_seen(void)
{
	struct known k[] = { K("a", 1), K("b", 2), K(NULL, 0) };
	struct fetch_plan p = { 0 };
	struct uidl_set set = { 0 };

	add_known(&set, k);
	plan_add_uidl(&p, 1, "a", 1);
	plan_add_size(&p, 1, 1);
	plan_make(&p, &set);
	uidlset_compact(&set, true);
	ok(set.count == 1 && strcmp(set.entries[0].uidl, "a") == 0, "the listed entry is "
	    "seen, the other pruned");
	plan_free(&p);
	uidlset_free(&set);
}

/* An unconfirmed deletion, settled either way. */
static void
test_settle(void)
{
	struct known k[] = { D("a", 10), D("b", 10), D("c", 10),
		K(NULL, 0) };
	struct fetch_plan p = { 0 };
	struct uidl_set set = { 0 };

	add_known(&set, k);
	plan_add_uidl(&p, 1, "a", 1);
	plan_add_uidl(&p, 2, "b", 1);
	plan_add_uidl(&p, 3, "c", 1);
	plan_add_size(&p, 1, 10);
	plan_add_size(&p, 2, 10);
	plan_add_size(&p, 3, 11);
	plan_make(&p, &set);
	plan_settle(&p.msgs[0], &set, true, 0);
	ok(p.msgs[0].plan == PLAN_RETRIEVED && !uidlset_find(&set, "a")->delete_requested,
	    "the same message: retrieved, the mark cleared");
	plan_settle(&p.msgs[1], &set, false, 0);
	ok(p.msgs[1].plan == PLAN_NEW && uidlset_find(&set, "b") == NULL,
	    "another message under the UIDL: forgotten, retrieved as new");
	plan_settle(&p.msgs[2], &set, true, 0);
	ok(p.msgs[2].plan == PLAN_CHANGED && uidlset_find(&set, "c")->delete_requested,
	    "no proof either way and another size: left alone, still marked");
	plan_free(&p);
	uidlset_free(&set);
}

/* With plan_expect(), a UIDL the state knows is the state's string, not a
 * copy (memory per listed message); any other is the plan's own, even a
 * prefix of a known one; and the plan is made the same. */
static void
test_shared_uidls(void)
{
	struct known k[] = { K("a", 1), K("b", 2), K(NULL, 0) };
	struct fetch_plan p = { 0 };
	struct uidl_set set = { 0 };
	const char listing[] = "bc";

	add_known(&set, k);
	plan_expect(&p, &set, 3);
	plan_add_uidl(&p, 1, "a", 1);
	plan_add_uidl(&p, 2, listing, 1);	/* "b", not NUL-terminated */
	plan_add_uidl(&p, 3, "c", 1);
	for (unsigned long n = 1; n <= 3; n++)
		plan_add_size(&p, n, n);
	plan_make(&p, &set);
	ok(p.msgs[0].uidl == set.entries[0].uidl && p.msgs[1].uidl == set.entries[1].uidl,
	    "known UIDLs are the state's strings");
	ok(p.msgs[2].uidl != NULL && strcmp(p.msgs[2].uidl, "c") == 0, "a new one is copied");
	ok(p.msgs[0].plan == PLAN_RETRIEVED && p.msgs[1].plan == PLAN_RETRIEVED &&
	    p.msgs[2].plan == PLAN_NEW, "planned as without sharing");
	plan_free(&p);
	uidlset_free(&set);
}

/* LIST in the order of UIDL: the sizes go straight into the messages,
 * no table of sizes is made; a line out of that order puts them back into
 * the table, and the plan is the same. */
static void
test_sizes_direct(void)
{
	static const unsigned long in_order[] = { 1, 2, 3, 4 }, swapped[] = { 1, 2, 4, 3 };
	const unsigned long *orders[] = { in_order, swapped };

	for (int o = 0; o < 2; o++) {
		struct fetch_plan p = { 0 };
		struct uidl_set set = { 0 };
		char uidl[8];
		bool sizes_right = true;

		for (unsigned long n = 1; n <= 4; n++) {
			snprintf(uidl, sizeof uidl, "u%lu", n);
			plan_add_uidl(&p, n, uidl, strlen(uidl));
		}
		for (int i = 0; i < 4; i++)
			plan_add_size(&p, orders[o][i], 100 * orders[o][i]);
		ok(o == 0 ? p.sizes == NULL && p.direct == 4 : p.nsizes == 4 && p.direct == 0,
		    o == 0 ? "in order: no table of sizes" : "out of order: all four in the table");
		plan_make(&p, &set);
		for (size_t i = 0; i < p.count; i++)
			sizes_right &= p.msgs[i].num == i + 1 && p.msgs[i].listed &&
			    p.msgs[i].size == 100 * (i + 1) && p.msgs[i].plan == PLAN_NEW;
		ok(p.count == 4 && sizes_right, "each message its size, planned new");
		plan_free(&p);
		uidlset_free(&set);
	}
}

/* ---- one search per UIDL ---- */

#define LOOKUP_KNOWN 40

/* The i-th of the listing: the known UIDLs u000..u039 and, between and
 * around them, UIDLs the state does not know. */
static void
lookup_uidl(size_t i, char out[16])
{
	if (i % 5 == 4)
		snprintf(out, 16, "u%03u5", (unsigned)(i / 5) % 1000);	/* between two */
	else if (i == LOOKUP_KNOWN + LOOKUP_KNOWN / 4)
		snprintf(out, 16, "zz");
	else
		snprintf(out, 16, "u%03u", (unsigned)(i - i / 5) % 1000);
}

/* The listing's order: rising, falling, shuffled. */
static size_t
listing_at(int order, size_t i, size_t n)
{
	return order == 0 ? i : order == 1 ? n - 1 - i : (i * 7) % n;	/* 7 and n = 51 coprime */
}

/* Whatever the order of the listing, uidlset_find_from() finds what
 * uidlset_find_sorted() finds; and the plan, which keeps each message's
 * entry from its UIDL line to plan_make(), plans as a lookup would, also
 * when the entry was forgotten or the set re-sorted in between. */
static void
test_lookup_orders(void)
{
	size_t n = LOOKUP_KNOWN + LOOKUP_KNOWN / 4 + 1;

	for (int order = 0; order < 4; order++) {
		struct fetch_plan p = { 0 };
		struct uidl_set set = { 0 };
		struct uidl_entry e = { .file = "f" };
		char uidl[16];
		bool found_alike = true, planned = true;
		size_t cursor = 0;

		for (size_t i = 0; i < LOOKUP_KNOWN; i++) {
			snprintf(uidl, sizeof uidl, "u%03u", (unsigned)i);
			e.uidl = uidl;
			e.size = i;
			uidlset_add_copy(&set, &e);
		}
		plan_expect(&p, &set, n);
		for (size_t i = 0; i < n; i++) {
			size_t at;
			const struct uidl_known *k;

			lookup_uidl(listing_at(order % 3, i, n), uidl);
			at = uidlset_find_from(&set, uidl, &cursor);
			k = uidlset_find_sorted(&set, uidl);
			found_alike &= k == NULL ? at == UIDLSET_NONE : at < set.count &&
			    &set.entries[at] == k;
			plan_add_uidl(&p, i + 1, uidl, strlen(uidl));
		}
		ok(found_alike, "order %d: uidlset_find_from() finds what a search finds", order);
		uidlset_forget(&set, "u007");
		if (order == 3) {	/* a new entry, the set sorted again: indexes move */
			e.uidl = "u0000";
			uidlset_add_copy(&set, &e);
		}
		for (size_t i = 0; i < n; i++) {
			lookup_uidl(listing_at(order % 3, i, n), uidl);
			plan_add_size(&p, i + 1, strncmp(uidl, "u0", 2) == 0 ? (size_t)atoi(uidl + 1) : 0);
		}
		plan_make(&p, &set);
		for (size_t i = 0; i < p.count; i++) {
			const struct plan_msg *m = &p.msgs[i];
			bool known = strlen(m->uidl) == 4 && strcmp(m->uidl, "u007") != 0;
			const struct uidl_known *k = uidlset_find(&set, m->uidl);

			planned &= m->plan == (known ? PLAN_RETRIEVED : PLAN_NEW) &&
			    (!known || (k != NULL && k->seen && k->uidl == m->uidl));
		}
		ok(planned && p.count == n, "order %d: each message planned as by a lookup", order);
		plan_free(&p);
		uidlset_free(&set);
	}
}

int
main(void)
{
	test_cases();
	test_problems();
	test_seen();
	test_settle();
	test_shared_uidls();
	test_sizes_direct();
	test_lookup_orders();
	return done_testing();
}
