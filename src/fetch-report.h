/*
 * The failures of a fetch run that concern one message (a RETR or DELE
 * refused, a message the listings make unusable): each is reported as it
 * happens, counted, and the run goes on; the count becomes the run's last
 * line.  Only the first REPORT_LINES_MAX get a line of their own, so that
 * a server listing thousands of bad messages cannot flood the log.
 */
#ifndef MAILPIPE_FETCH_REPORT_H
#define MAILPIPE_FETCH_REPORT_H

#include "fetch-plan.h"
#include "runrec.h"
#include "status.h"

#define REPORT_LINES_MAX 10

struct fetch_report {
	const char *account;
	enum failure worst;	/* FAIL_NONE while nothing failed */
	unsigned count;
	struct runrec *rec;	/* each failure is recorded there too, or NULL */
};

/* The failure just recorded concerns message m: reported (with its number
 * and UIDL), counted, then cleared. */
void report_message(struct fetch_report *rep, const struct plan_msg *m);
/* Every message the plan leaves alone: a message over max_size with a
 * warning (returns how many: a configured skip, not a failure; none for
 * those delete_oversized deletes), any other through report_message();
 * those left for the next run by max_messages or max_bytes counted into
 * the record's waiting. */
unsigned long report_plan(struct fetch_report *rep, const struct fetch_plan *p);
/* The run's result: rc when nothing failed per message; else, after a run
 * that went well, the count as the failure to report (-1), and after a
 * failed one, its failure stays the last line and the count of what was
 * not shown comes before it. */
int report_summary(const struct fetch_report *rep, int rc);

#endif
