/*
 * The plan of one fetch run: which of the server's messages to retrieve,
 * which the state already knows, which to leave alone and why.  Pure: the
 * listings (UIDL and LIST lines as pop3.c parsed them) and the set of
 * retrieved messages (uidlset.h) go in, an array of messages sorted by
 * number, each with its plan, comes out.  No I/O, so that every rule is
 * unit-tested with tables (test-fetch-plan.c).
 */
#ifndef MAILPIPE_FETCH_PLAN_H
#define MAILPIPE_FETCH_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "uidlset.h"

enum plan {
	PLAN_NEW,		/* to retrieve */
	PLAN_RETRIEVED,		/* in the state: delete (delete mode) or leave */
	PLAN_UNCONFIRMED,	/* in the state, its deletion requested but never
				 * confirmed: the same message, or a new one with
				 * the old UIDL?  (plan_settle()) */
	PLAN_CHANGED,		/* in the state with another size: left alone, an error */
	PLAN_TOO_BIG,		/* over max_size: left on the server */
	PLAN_BAD,		/* the listings make it unusable (see problem): left alone */
	PLAN_WAITING,		/* new, but over this run's max_messages or max_bytes:
				 * left for the next run (fetch-policy.h) */
};

struct plan_msg {
	unsigned long num;
	unsigned long long size;
	union {
		unsigned long long was_size;	/* PLAN_CHANGED: the size in the state */
		size_t known_at;	/* until plan_make(): 1 + the index of its entry
					 * in plan_expect()'s set, 0 for none */
	};
	char *uidl;		/* NULL when UIDL did not list it, or listed it invalid */
	const char *problem;	/* why the listings make it unusable, or NULL */
	long long fetched;	/* in the state: its first retrieval; else 0 */
	enum plan plan;		/* next to the flags: one message is 56 bytes */
	bool listed;		/* LIST gave its size */
	bool deleted;		/* DELE answered +OK (kept here for the run) */
	bool dele;		/* the policy deletes it unretrieved (fetch-policy.h) */
};

struct plan_size {
	unsigned long num;
	unsigned long long size;
};

struct fetch_plan {
	struct plan_msg *msgs;		/* sorted by number once made */
	size_t count, alloc;
	struct uidl_pool uidls;		/* the UIDLs known does not hold */
	const struct uidl_set *known;	/* plan_expect()'s, or NULL */
	size_t cursor;			/* where its last lookup ended */
	size_t direct;			/* msgs[0..direct) got their LIST size
					 * straight (plan_add_size()) */
	struct plan_size *sizes;	/* the rest of the LIST answer, until joined */
	size_t nsizes, sizes_alloc;
	unsigned long long max_size;	/* 0: no limit */
	long long now;			/* the run's clock: the first retrieval
					 * of a listed entry without one */
	bool prune;			/* the listing was complete and not empty */
	bool reset;			/* the UIDLs look renumbered: refuse */
};

/* Room for the n messages STAT counted (at most PLAN_EXPECT_MAX), made
 * at once rather than grown while a big listing is read; and the set the
 * plan will be made against (plan_make()), whose strings the plan then
 * shares rather than copies: known must outlive the plan's UIDLs. */
#define PLAN_EXPECT_MAX 1000000
void plan_expect(struct fetch_plan *p, const struct uidl_set *known, unsigned long n);
/* The listings, line by line, in any order (UIDL's first costs least:
 * LIST's sizes then go straight into the messages).  An invalid UIDL is
 * never copied, only marked: a server may list thousands of 8 kB ones. */
void plan_add_uidl(struct fetch_plan *p, unsigned long num, const char *uidl, size_t len);
void plan_add_size(struct fetch_plan *p, unsigned long num, unsigned long long size);
/* Joins the listings into one message per number, marks what they make
 * unusable (no UIDL, a UIDL or number listed twice, no size), and
 * classifies each message against known (each listed entry is marked seen
 * there, and given p->now as its first retrieval when it has none, so
 * that keep = DURATION counts from the first run that knows its age).
 * Sets prune, and reset when the server seems to have renumbered
 * its UIDLs (uidlset_reset_suspected()); then prune is false. */
void plan_make(struct fetch_plan *p, struct uidl_set *known);
/* An unconfirmed message, once checked: same says whether it is the one
 * retrieved under its UIDL (else the entry is forgotten and the message is
 * planned as new). */
void plan_settle(struct plan_msg *m, struct uidl_set *known, bool same,
	unsigned long long max_size);
/* "new", "retrieved", ... for --list. */
const char *plan_word(enum plan plan);
void plan_free(struct fetch_plan *p);

#endif
