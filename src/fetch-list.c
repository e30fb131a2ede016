/*
 * --list (fetch-list.h): kept apart from the fetch policy, which only
 * decides; this only shows.
 */
#include <stdio.h>
#include <time.h>

#include "fetch-list.h"
#include "status.h"
#include "units.h"

/* A size as --list shows it: bytes, or in KiB, MiB... */
static const char *
size_text(unsigned long long size, bool human, char buf[UNITS_HUMAN_SIZE_MAX])
{
	if (human)
		return units_human_size(size, buf);
	snprintf(buf, UNITS_HUMAN_SIZE_MAX, "%llu", size);
	return buf;
}

/* How long ago the state says m was first retrieved. */
static const char *
age_text(const struct plan_msg *m, long long now, char buf[UNITS_DURATION_MAX])
{
	if (m->fetched <= 0)
		return "-";
	return units_duration(m->fetched > now ? 0 : now - m->fetched, buf);
}

/* When the policy deletes m (fetch-list.h). */
static const char *
deletion_text(const struct fetch_policy *policy, const struct plan_msg *m, char buf[32])
{
	long long at = 0;
	time_t t;
	struct tm tm;

	switch (policy_when(policy, m, &at)) {
	case WHEN_NOW:		return "now";
	case WHEN_NEVER:	return "never";
	case WHEN_LATER:	return "-";
	case WHEN_AT:		break;
	}
	t = (time_t)at;
	if (gmtime_r(&t, &tm) == NULL || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return "never";		/* beyond any calendar: never in practice */
	return buf;
}

int
fetch_list_print(unsigned long count, unsigned long long total,
	const struct fetch_plan *plan, const struct fetch_policy *policy, bool human)
{
	char size[UNITS_HUMAN_SIZE_MAX], age[UNITS_DURATION_MAX], when[32];

	printf("%lu %s, ", count, units_plural(count, "message", "messages"));
	if (human)
		printf("%s\n", units_human_size(total, size));
	else
		printf("%llu %s\n", total, units_plural(total, "byte", "bytes"));
	for (size_t i = 0; i < plan->count; i++) {
		const struct plan_msg *m = &plan->msgs[i];

		printf("%lu %s %s %s %s %s\n", m->num, size_text(m->size, human, size),
		    m->uidl ? m->uidl : "-", plan_word(m->plan), age_text(m, policy->now, age),
		    deletion_text(policy, m, when));
	}
	return status_stdout_written();
}
