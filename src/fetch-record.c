/* The record of a fetch run and what is made of it at the end (fetch-record.h). */
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

static void
summary(const struct runrec *r)
{
	log_info("%s: %lu %s retrieved (%llu %s), %lu deleted, %lu skipped, %.2f seconds",
	    r->account, r->retrieved, units_plural(r->retrieved, "message", "messages"),
	    r->bytes, units_plural(r->bytes, "byte", "bytes"), r->deleted, r->skipped,
	    r->seconds);
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
