/*
 * mailpipe-fetch --all --jobs N: up to N accounts fetched at once, each by
 * a child process of its own, so that a fleet of mailboxes costs the
 * slowest servers' round trips side by side rather than one after another.
 *
 * A process per account, not threads: the fetch keeps its one failure
 * record, its signal flag and its state lock per process exactly as with
 * one account, and nothing below has to know that others run beside it.
 * Each account is still locked by its own state lock; each child writes
 * its lines itself, one write(2) each (log.h), every one naming its
 * account (log_account); the self-updating progress line is off.
 */
#ifndef MAILPIPE_FETCH_JOBS_H
#define MAILPIPE_FETCH_JOBS_H

#include "config.h"
#include "fetch.h"
#include "status.h"

#define FETCH_JOBS_MAX 64

/* Runs one account in the current process; prints its own failure line.
 * The outcome (FAIL_NONE: it worked). */
typedef enum failure (*fetch_jobs_run_fn)(const struct account *a,
	const struct fetch_options *o);

/*
 * Every [pop3 ...] account of cfg, at most jobs (2..FETCH_JOBS_MAX) at
 * once, each by run in a child process.  The outcome is the worst of
 * the accounts' (status_worse()), as one after another; a child killed
 * by a signal is a failure of its account (75, a line saying so: its
 * journal makes the next run safe).  SIGTERM and SIGINT are passed on to
 * the running children, which finish as one account does (fetch.h); no
 * further account is started, and each one not started is named.  A
 * child still running the grace (TIMING_SIGNAL_GRACE_MS) and 5 seconds
 * after that is killed.  Each child's record, written by the child as its
 * report object (runreport_account()), is appended to o->records in the
 * order of the accounts.
 */
enum failure fetch_jobs_run(const struct config *cfg, unsigned jobs,
	const struct fetch_options *o, fetch_jobs_run_fn run);

#endif
