/* Telling a renumbered mailbox from new mail of the same sizes. */
#include <stdlib.h>
#include <string.h>

#include "fetch-message.h"
#include "fetch-reset.h"
#include "status.h"
#include "xalloc.h"

static int
compare_sizes(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/* The sizes of the known entries that carry a header digest, sorted. */
static size_t
digest_sizes(const struct uidl_set *known, unsigned long long **sizes_r)
{
	size_t n = 0;

	*sizes_r = xcalloc(known->count + 1, sizeof **sizes_r);
	for (size_t i = 0; i < known->count; i++)
		if (known->entries[i].has_digest && !known->entries[i].gone)
			(*sizes_r)[n++] = known->entries[i].size;
	if (n > 1)
		qsort(*sizes_r, n, sizeof **sizes_r, compare_sizes);
	return n;
}

static bool
digest_known(const struct uidl_set *known, const unsigned char digest[HEADER_DIGEST_SIZE])
{
	for (size_t i = 0; i < known->count; i++) {
		const struct uidl_entry *e = &known->entries[i];

		if (e->has_digest && !e->gone && memcmp(e->digest, digest, sizeof e->digest) == 0)
			return true;
	}
	return false;
}

/* A message the plan would take for new, with the size of a known one. */
static bool
worth_checking(const struct plan_msg *m, const unsigned long long *sizes, size_t n)
{
	if (m->plan != PLAN_NEW && m->plan != PLAN_TOO_BIG)
		return false;
	return n > 0 && bsearch(&m->size, sizes, n, sizeof *sizes, compare_sizes) != NULL;
}

/* 1: its header is one retrieved before; 0: it is not; -1 failure;
 * POP3_REFUSED: TOP refused. */
static int
seen_before(struct pop3 *pop, const struct plan_msg *m, struct uidl_set *known,
	unsigned long long max_size)
{
	unsigned char digest[HEADER_DIGEST_SIZE];
	int rc = message_header_digest(pop, m, max_size, digest);

	return rc != 0 ? rc : digest_known(known, digest);
}

int
fetch_reset_confirmed(struct pop3 *pop, const struct fetch_plan *p,
	struct uidl_set *known, unsigned long long max_size)
{
	const struct pop3_caps *caps = pop3_caps(pop);
	unsigned long long *sizes;
	size_t n = digest_sizes(known, &sizes);
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
