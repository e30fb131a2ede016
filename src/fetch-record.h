/*
 * The record of a fetch run (runrec.h): started with the account's
 * server, the plan's counts added once the listings are in, and at the
 * end the outcome, the event log's line (the `log` key) and, with -v, the
 * summary.  fetch.c counts retrieved, deleted, skipped and bytes into the
 * record directly, as it goes.
 */
#ifndef MAILPIPE_FETCH_RECORD_H
#define MAILPIPE_FETCH_RECORD_H

#include <stdbool.h>

#include "config.h"
#include "fetch-plan.h"
#include "progress.h"
#include "runrec.h"

/* A new record for account a, appended to l. */
struct runrec *fetch_record_start(struct runrec_list *l, const struct account *a);
/* listed and new from the plan. */
void fetch_record_plan(struct runrec *r, const struct fetch_plan *p);
/* QUIT took the deletions: each message of the plan deleted unretrieved
 * for being over max_size (delete_oversized) is logged (a warning, the
 * event log's `oversized` line) and recorded for the report. */
void fetch_record_oversized(struct runrec *r, const struct fetch_plan *p,
	const struct account *a);
/* The run ended with rc (-1: the failure recorded): the outcome, the log
 * line, the progress line cleared and the summary (progress.h; else with
 * -v the old one); none of it for --list, which changes nothing. */
void fetch_record_end(struct runrec *r, const struct account *a, int rc, bool list,
	struct progress *p);

#endif
