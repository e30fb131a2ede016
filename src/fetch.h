/*
 * The fetch policy: which messages to retrieve and delete, in which order,
 * and what to do when something fails half way.  Everything here follows
 * one rule: a message is deleted on the server only after its file is
 * committed in new/ and recorded in the state, and it is never delivered
 * twice (DESIGN.md section 3).
 */
#ifndef MAILPIPE_FETCH_H
#define MAILPIPE_FETCH_H

#include <stdbool.h>

#include "config.h"
#include "conn.h"
#include "progress.h"
#include "runrec.h"

struct pop3;

struct fetch_options {
	const char *maildir;	/* --maildir: overrides the account's */
	int keep;		/* -1: the account's `keep`; 0 --delete; 1 --keep */
	bool list;		/* --list: show, retrieve nothing, change nothing */
	/* Each run's record is appended here (--report), or NULL. */
	struct runrec_list *records;
	struct progress_options show;	/* --progress, --stats */
	bool human_readable;	/* --human-readable: --list shows sizes in KiB, MiB... */
	bool serverinfo;	/* --serverinfo: the server described (serverinfo.h) */
};

/* Runs one account.  Returns 0, or -1 with the failure recorded; per-message
 * failures (a RETR or DELE refused; a missing, invalid or duplicate UIDL;
 * a message whose size changed behind a known UIDL) are reported on stderr
 * as they happen, the other messages are still processed, and the worst of
 * them is what is recorded at the end.  Messages over max_size are skipped
 * with a warning only: a configured policy, not a failure. */
int fetch_account(const struct account *a, const struct fetch_options *o);
/* The record appended to o->records by the last fetch_account() also
 * wrote the run's line to the account's event log (runlog.h). */

/* What a run does to log in, and only that: the password, connect to
 * ep, STLS with tls = starttls, log in.  *pop_r (NULL before) is set once
 * connected, also when a later step fails (pop3_close() it).  0, or -1
 * with the failure recorded. */
int fetch_connect(const struct account *a, const struct endpoint *ep, struct pop3 **pop_r);

/* SIGTERM and SIGINT set a flag that the fetch checks between messages: no
 * new RETR is sent, those in flight are finished and committed (not
 * deleted), then RSET and QUIT, and the run fails with FAIL_TEMPORARY.  A
 * second signal kills at once (safe: see uidl.h). */
void fetch_catch_signals(void);
/* The signal caught (SIGTERM or SIGINT), or 0: once set, nothing new should
 * be started (with --all, no further account). */
int fetch_interrupted(void);

#endif
