/* The record of a fetch run and what is made of it at the end (fetch-record.h). */
#include <stdio.h>

#include "fetch-record.h"
#include "log.h"
#include "runlog.h"
#include "units.h"

struct runrec *
fetch_record_start(struct runrec_list *l, const struct account *a)
{
	return runlog_start(l, RUNREC_FETCH, a);
}

void
fetch_record_plan(struct runrec *r, const struct fetch_plan *p)
{
	r->listed = p->count;
	r->new_msgs = 0;
	r->new_bytes = 0;
	for (size_t i = 0; i < p->count; i++) {
		r->new_msgs += p->msgs[i].plan == PLAN_NEW;
		r->new_bytes += p->msgs[i].plan == PLAN_NEW ? p->msgs[i].size : 0;
	}
}

void
fetch_record_oversized(struct runrec *r, const struct fetch_plan *p,
	const struct account *a)
{
	for (size_t i = 0; i < p->count; i++) {
		const struct plan_msg *m = &p->msgs[i];
		const struct runrec_oversized o = { .num = m->num, .uidl = m->uidl,
			.size = m->size };

		if (!m->deleted || m->plan != PLAN_TOO_BIG)
			continue;
		log_warn("%s: message %lu UIDL %s (%llu %s) was over max_size; deleted "
		    "without retrieving it (delete_oversized)", a->name, m->num, m->uidl,
		    m->size, units_plural(m->size, "byte", "bytes"));
		runrec_add_oversized(r, o.num, o.uidl, o.size);
		runlog_oversized(a, &o);
	}
}

static void
summary(const struct runrec *r)
{
	char waiting[64] = "";

	if (r->waiting > 0)
		snprintf(waiting, sizeof waiting, ", %lu waiting for the next run", r->waiting);
	log_info("%s: %lu %s retrieved (%llu %s), %lu deleted, %lu skipped%s, %.2f seconds",
	    r->account, r->retrieved, units_plural(r->retrieved, "message", "messages"),
	    r->bytes, units_plural(r->bytes, "byte", "bytes"), r->deleted, r->skipped,
	    waiting, r->seconds);
}

void
fetch_record_end(struct runrec *r, const struct account *a, int rc, bool list,
	struct progress *p)
{
	runrec_finish(r, rc < 0 ? fail_class() : FAIL_NONE, fail_line());
	if (list)
		return;
	runlog_fetch(a, r);
	if (!progress_end(p, r) && (rc == 0 || r->retrieved > 0))
		summary(r);
}
