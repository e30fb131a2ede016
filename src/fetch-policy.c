/* What a fetch run deletes and how much it retrieves (fetch-policy.h). */
#include <limits.h>

#include "fetch-policy.h"

void
fetch_policy_of(const struct account *a, int keep_option, long long now,
	struct fetch_policy *p)
{
	*p = (struct fetch_policy){ .delete_oversized = a->delete_oversized,
		.max_messages = a->max_messages, .max_bytes = a->max_bytes, .now = now };
	if (keep_option == 0)
		p->keep = KEEP_NONE;
	else if (keep_option > 0)
		p->keep = KEEP_ALL;
	else if (a->keep && a->keep_for > 0)
		p->keep = KEEP_FOR;
	else
		p->keep = a->keep ? KEEP_ALL : KEEP_NONE;
	p->keep_for = p->keep == KEEP_FOR ? a->keep_for : 0;
	/* --keep means that this run deletes nothing at all. */
	if (keep_option > 0)
		p->delete_oversized = false;
}

bool
policy_expired(const struct fetch_policy *p, long long fetched)
{
	/* Both positive: now - fetched cannot overflow. */
	if (fetched <= 0 || fetched > p->now)
		return false;
	return p->now - fetched >= p->keep_for;
}

bool
policy_deletes_new(const struct fetch_policy *p)
{
	return p->keep == KEEP_NONE;
}

static bool
deletes_unretrieved(const struct fetch_policy *p, const struct plan_msg *m)
{
	if (m->plan == PLAN_TOO_BIG)
		return p->delete_oversized;
	if (m->plan != PLAN_RETRIEVED)
		return false;
	return p->keep == KEEP_NONE || (p->keep == KEEP_FOR && policy_expired(p, m->fetched));
}

/* One more new message of size fits after taken of them, of bytes. */
static bool
fits(const struct fetch_policy *p, unsigned long taken, unsigned long long bytes,
	unsigned long long size)
{
	if (p->max_messages > 0 && taken >= p->max_messages)
		return false;
	if (p->max_bytes == 0 || taken == 0)
		return true;
	return bytes <= p->max_bytes && size <= p->max_bytes - bytes;
}

unsigned long
policy_apply(const struct fetch_policy *p, struct fetch_plan *plan)
{
	unsigned long taken = 0, waiting = 0;
	unsigned long long bytes = 0;

	for (size_t i = 0; i < plan->count; i++) {
		struct plan_msg *m = &plan->msgs[i];

		if (m->plan == PLAN_WAITING)
			m->plan = PLAN_NEW;
		m->dele = deletes_unretrieved(p, m);
		if (m->plan != PLAN_NEW)
			continue;
		if (waiting > 0 || !fits(p, taken, bytes, m->size)) {
			m->plan = PLAN_WAITING;
			waiting++;
			continue;
		}
		taken++;
		bytes += m->size;
	}
	return waiting;
}

/* A message in the state, by its first retrieval. */
static enum policy_when
when_retrieved(const struct fetch_policy *p, const struct plan_msg *m, long long *at)
{
	if (p->keep != KEEP_FOR)
		return p->keep == KEEP_NONE ? WHEN_NOW : WHEN_NEVER;
	if (m->fetched <= 0 || m->fetched > LLONG_MAX - p->keep_for)
		return WHEN_NEVER;
	*at = m->fetched + p->keep_for;
	return WHEN_AT;
}

enum policy_when
policy_when(const struct fetch_policy *p, const struct plan_msg *m, long long *at)
{
	if (m->dele)
		return WHEN_NOW;
	switch (m->plan) {
	case PLAN_RETRIEVED:
		return when_retrieved(p, m, at);
	case PLAN_NEW:
		return p->keep == KEEP_NONE ? WHEN_NOW : p->keep == KEEP_FOR ? WHEN_LATER :
		    WHEN_NEVER;
	case PLAN_WAITING:
	case PLAN_UNCONFIRMED:
		return p->keep == KEEP_ALL ? WHEN_NEVER : WHEN_LATER;
	default:
		return WHEN_NEVER;
	}
}
