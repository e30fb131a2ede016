/* Per-message failures of a fetch run: a line each, up to a limit, then a count. */
#include "fetch-report.h"
#include "log.h"
#include "units.h"

void
report_message(struct fetch_report *rep, const struct plan_msg *m)
{
	runrec_add_failure(rep->rec, m->num, m->uidl, fail_reason());
	fail_context("message %lu%s%s", m->num, m->uidl ? " UIDL " : "",
	    m->uidl ? m->uidl : "");
	if (rep->count < REPORT_LINES_MAX)
		log_error("%s", fail_line());
	rep->worst = status_worse(rep->worst, fail_class());
	rep->count++;
	fail_clear();
}

static bool
left_alone(struct fetch_report *rep, const struct plan_msg *m)
{
	switch (m->plan) {
	case PLAN_BAD:
		fail(FAIL_PROTOCOL, "%s; message left alone", m->problem);
		break;
	case PLAN_CHANGED:
		fail(FAIL_PROTOCOL, "server changed the message behind UIDL %s (%llu %s, "
		    "%llu when it was retrieved); neither fetched nor deleted",
		    m->uidl, m->size, units_plural(m->size, "byte", "bytes"), m->was_size);
		break;
	case PLAN_TOO_BIG:
		if (m->dele)
			return false;	/* deleted (delete_oversized): logged then */
		log_warn("%s: message %lu (%llu %s) is over max_size; skipped and left on "
		    "the server", rep->account, m->num, m->size,
		    units_plural(m->size, "byte", "bytes"));
		return true;
	default:
		return false;
	}
	report_message(rep, m);
	return false;
}

unsigned long
report_plan(struct fetch_report *rep, const struct fetch_plan *p)
{
	unsigned long skipped = 0, waiting = 0;

	for (size_t i = 0; i < p->count; i++) {
		skipped += left_alone(rep, &p->msgs[i]);
		waiting += p->msgs[i].plan == PLAN_WAITING;
	}
	if (rep->rec != NULL)
		rep->rec->waiting = waiting;
	return skipped;
}

int
report_summary(const struct fetch_report *rep, int rc)
{
	unsigned hidden = rep->count > REPORT_LINES_MAX ? rep->count - REPORT_LINES_MAX : 0;

	if (rep->worst == FAIL_NONE)
		return rc;
	if (rc == 0 && hidden == 0)
		return fail(rep->worst, "%u %s could not be processed (see above)",
		    rep->count, units_plural(rep->count, "message", "messages"));
	if (rc == 0)
		return fail(rep->worst, "%u messages could not be processed (the first %d "
		    "are shown above)", rep->count, REPORT_LINES_MAX);
	if (hidden > 0)
		log_error("%s: %u more %s could not be processed (not shown)",
		    rep->account, hidden, units_plural(hidden, "message", "messages"));
	return rc;
}
