/* Telling a renumbered mailbox from new mail of the same sizes. */
#include <stdlib.h>

#include "fetch-message.h"
#include "fetch-reset.h"
#include "status.h"

/* A message the plan would take for new, with the size of a known one. */
static bool
worth_checking(const struct plan_msg *m, const unsigned long long *sizes, size_t n)
{
	if (m->plan != PLAN_NEW && m->plan != PLAN_TOO_BIG)
		return false;
	return uidlset_size_among(m->size, sizes, n);
}

/* 1: its header is one retrieved before; 0: it is not; -1 failure;
 * POP3_REFUSED: TOP refused. */
static int
seen_before(struct pop3 *pop, const struct plan_msg *m, struct uidl_set *known,
	unsigned long long max_size)
{
	unsigned char digest[HEADER_DIGEST_SIZE];
	int rc = message_header_digest(pop, m, max_size, digest);

	return rc != 0 ? rc : uidlset_digest_known(known, digest);
}

int
fetch_reset_confirmed(struct pop3 *pop, const struct fetch_plan *p,
	struct uidl_set *known, unsigned long long max_size)
{
	const struct pop3_caps *caps = pop3_caps(pop);
	unsigned long long *sizes;
	size_t n = uidlset_digest_sizes(known, &sizes);
	int checked = 0, rc = 0;

	for (size_t i = 0; i < p->count && checked < RESET_CHECKS && rc == 0; i++) {
		if (!worth_checking(&p->msgs[i], sizes, n))
			continue;
		rc = caps->known && !caps->top ? 1 : seen_before(pop, &p->msgs[i], known, max_size);
		checked++;
	}
	free(sizes);
	if (rc == POP3_REFUSED) {
		fail_clear();	/* no TOP: the sizes have to do */
		return 1;
	}
	return rc != 0 ? rc : checked == 0;
}
