/*
 * What one fetch run deletes unretrieved and how much it retrieves: the
 * account's retention (keep = yes | no | DURATION, --keep, --delete),
 * delete_oversized, and the per-run limits max_messages and max_bytes,
 * applied to a plan (fetch-plan.h).  Pure: the clock is a value here, so
 * that every rule and its edges are table-tested (test-fetch-policy.c).
 *
 * Retention counts from the first retrieval that the state records
 * (uidl_entry.fetched), never from the message's Date header, which the
 * sender writes.  A message is deleted only once it is in the state (its
 * file committed in new/): messages retrieved in this run are deleted
 * after their commit with keep = no only.
 */
#ifndef MAILPIPE_FETCH_POLICY_H
#define MAILPIPE_FETCH_POLICY_H

#include <stdbool.h>

#include "config.h"
#include "fetch-plan.h"

enum keep_mode {
	KEEP_ALL,	/* keep = yes, --keep: nothing retrieved is deleted */
	KEEP_NONE,	/* keep = no, --delete: deleted once committed */
	KEEP_FOR,	/* keep = DURATION: deleted once that old */
};

struct fetch_policy {
	enum keep_mode keep;
	long long keep_for;		/* KEEP_FOR: seconds after the first retrieval */
	bool delete_oversized;		/* DELE messages over max_size, unretrieved */
	unsigned long max_messages;	/* per run; 0: no limit */
	unsigned long long max_bytes;	/* per run, by LIST sizes; 0: no limit */
	long long now;			/* the run's clock, seconds since the epoch */
};

/* The policy of account a.  keep_option: -1 the account's keep, 0
 * --delete (every retrieved message), 1 --keep (nothing is deleted, not
 * even by delete_oversized). */
void fetch_policy_of(const struct account *a, int keep_option, long long now,
	struct fetch_policy *p);
/* True when a message first retrieved at fetched is due for deletion
 * under KEEP_FOR: at least keep_for seconds old by p->now.  A time in the
 * future (the clock went back) or unknown (<= 0) is never due. */
bool policy_expired(const struct fetch_policy *p, long long fetched);
/* Marks each message of the plan: dele for those the policy deletes
 * before any retrieval (retrieved earlier and due, or over max_size with
 * delete_oversized), and PLAN_WAITING for the new ones beyond this run's
 * limits.  The limits take new messages in the server's order until one
 * does not fit: max_messages of them at most, and never one that would
 * take the run's LIST bytes over max_bytes, unless it is the first (so a
 * message bigger than max_bytes is still retrieved, alone).  Everything
 * after the first that does not fit waits, so the order is kept.  May be
 * called again after the plan changed (plan_settle()); returns how many
 * wait. */
unsigned long policy_apply(const struct fetch_policy *p, struct fetch_plan *plan);
/* True when the messages retrieved in this run are deleted after their
 * commit (keep = no). */
bool policy_deletes_new(const struct fetch_policy *p);

/* When a message will be deleted, for --list. */
enum policy_when {
	WHEN_NOW,	/* by a run now (a new one after it is retrieved) */
	WHEN_AT,	/* by the first run from *at on */
	WHEN_NEVER,	/* not under this policy */
	WHEN_LATER,	/* counted from a retrieval still to come */
};
enum policy_when policy_when(const struct fetch_policy *p, const struct plan_msg *m,
	long long *at);

#endif
