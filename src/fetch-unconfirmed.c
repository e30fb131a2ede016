/* Deletions never confirmed, settled with TOP (fetch-unconfirmed.h). */
#include <string.h>

#include "fetch-message.h"
#include "fetch-unconfirmed.h"
#include "headerdigest.h"
#include "log.h"
#include "status.h"

/* 1 when m is the message retrieved under its UIDL, 0 when it is another
 * (or, on another host, when nothing proves it is the same), -1 on a
 * failure. */
static int
same_message(const struct unconfirmed_check *c, const struct plan_msg *m,
	const struct uidl_known *e)
{
	const struct pop3_caps *caps = pop3_caps(c->pop);
	unsigned char got[HEADER_DIGEST_SIZE], want[HEADER_DIGEST_SIZE];
	int rc = uidlset_digest(c->known, e, want);

	if (rc < 0)
		return -1;
	if (rc == 0 || (caps->known && !caps->top))
		return !c->other_host;
	rc = message_header_digest(c->pop, m, c->max_size, got);
	if (rc < 0)
		return -1;
	if (rc == POP3_REFUSED) {
		fail_clear();	/* TOP refused: the size has to do */
		return !c->other_host;
	}
	return memcmp(got, want, sizeof got) == 0;
}

static int
settle(const struct unconfirmed_check *c, struct plan_msg *m)
{
	int same = same_message(c, m, uidlset_find(c->known, m->uidl));

	if (same < 0)
		return -1;
	if (!same && c->other_host)
		log_info("%s: message %lu: UIDL %s: nothing shows it is the message deleted "
		    "on the old host; retrieving it", c->account, m->num, m->uidl);
	else if (!same)
		log_info("%s: message %lu: UIDL %s now names another message than the one "
		    "deleted; retrieving it", c->account, m->num, m->uidl);
	plan_settle(m, c->known, same, c->max_size);
	return 0;
}

int
fetch_settle_unconfirmed(const struct unconfirmed_check *c, struct fetch_plan *plan)
{
	for (size_t i = 0; i < plan->count; i++)
		if (plan->msgs[i].plan == PLAN_UNCONFIRMED && settle(c, &plan->msgs[i]) < 0)
			return -1;
	if (c->policy != NULL)
		policy_apply(c->policy, plan);
	return 0;
}
