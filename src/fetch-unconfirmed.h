/*
 * Deletions the state asked for and never saw confirmed (a QUIT whose
 * answer was lost, a run killed after it), settled against the server:
 * the UIDL is still listed, so either QUIT never took effect (the same
 * message, already retrieved: deleted again, not fetched twice) or it did
 * and the server gave the UIDL to a new message (fetched as new).  TOP and
 * the header digest in the state tell which.
 */
#ifndef MAILPIPE_FETCH_UNCONFIRMED_H
#define MAILPIPE_FETCH_UNCONFIRMED_H

#include <stdbool.h>

#include "fetch-plan.h"
#include "fetch-policy.h"
#include "pop3.h"
#include "uidlset.h"

struct unconfirmed_check {
	struct pop3 *pop;
	struct uidl_set *known;
	unsigned long long max_size;
	bool other_host;	/* the deletions were asked of another host */
	const char *account;	/* for the -v lines */
	const struct fetch_policy *policy;	/* applied anew once settled, or NULL */
};

/* Settles every PLAN_UNCONFIRMED message of plan (plan_settle()).  When
 * nothing tells the messages apart (no digest, no TOP), the same host is
 * believed (the size then decides); another host is not: without proof,
 * deleting could take a message never retrieved, so it is fetched.  Then
 * the policy is applied anew (policy_apply()): a settled message may be
 * due for deletion, or new and over the run's limits.  0, or -1 on a
 * failure of the session (recorded). */
int fetch_settle_unconfirmed(const struct unconfirmed_check *c, struct fetch_plan *plan);

#endif
