/*
 * --list (fetch-list.h): kept apart from the fetch policy, which only
 * decides; this only shows.
 */
#include <stdio.h>

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

int
fetch_list_print(unsigned long count, unsigned long long total,
	const struct fetch_plan *plan, bool human)
{
	char size[UNITS_HUMAN_SIZE_MAX];

	printf("%lu %s, ", count, units_plural(count, "message", "messages"));
	if (human)
		printf("%s\n", units_human_size(total, size));
	else
		printf("%llu %s\n", total, units_plural(total, "byte", "bytes"));
	for (size_t i = 0; i < plan->count; i++) {
		const struct plan_msg *m = &plan->msgs[i];

		printf("%lu %s %s %s\n", m->num, size_text(m->size, human, size),
		    m->uidl ? m->uidl : "-", plan_word(m->plan));
	}
	return status_stdout_written();
}
