/*
 * mailpipe-fetch --list: what the server holds and what a run would do
 * with each message, on stdout, for a person or a script.
 */
#ifndef MAILPIPE_FETCH_LIST_H
#define MAILPIPE_FETCH_LIST_H

#include <stdbool.h>

#include "fetch-plan.h"
#include "fetch-policy.h"

/* "N messages, M bytes" (STAT's count and total, pluralised), then a line
 * per message: number, size, UIDL ("-" without one), the plan's word, its
 * age since the first retrieval ("-" when not retrieved; units_duration())
 * and when the policy deletes it: "now", "never", "-" (counted from a
 * retrieval to come) or the UTC time from which a run deletes it
 * (2026-12-31T23:59:59Z).  Sizes in bytes, or with human set as units_human_size() writes them
 * ("305 messages, 12.3 MiB"; "1 1.2 KiB UIDL new").  Returns 0, or -1
 * with FAIL_IO recorded when stdout cannot take it. */
int fetch_list_print(unsigned long count, unsigned long long total,
	const struct fetch_plan *plan, const struct fetch_policy *policy, bool human);

#endif
