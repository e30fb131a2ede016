/*
 * The lines of the event log (eventlog.h, the `log` key) that mailpipe
 * writes, each made of facts only (never a secret, never message text):
 *
 *   event=send account= host= from= rcpts= size= result= reply= exit=
 *   event=fetch account= host= retrieved= skipped= deleted= failed=
 *	bytes= seconds= exit=
 *   event=oversized account= number= uidl= size=
 *   event=queued|held|deferred|delivered|failed|deleted id= account=
 *	from= to= reason=
 *
 * mailpipe-send(1) and mailpipe-fetch(1), LOGGING, say what each means.
 */
#ifndef MAILPIPE_RUNLOG_H
#define MAILPIPE_RUNLOG_H

#include "config.h"
#include "queue-format.h"
#include "runrec.h"

/* A record of kind for account a in l, started now, naming a's server
 * (host and port as a run would connect: a run that never reaches it
 * still says which it was). */
struct runrec *runlog_start(struct runrec_list *l, enum runrec_kind kind,
	const struct account *a);
/* The line of one message sent (or queued, or failed) through account a
 * (its `log` key decides where). */
void runlog_send(const struct account *a, const struct runrec *r);
/* The outcome of dispatch_send() (rc, its failure recorded) into r (NULL
 * allowed), and its line into a's event log; returns rc. */
int runlog_sent(const struct account *a, struct runrec *r, int rc);
/* The line of one fetch run of account a. */
void runlog_fetch(const struct account *a, const struct runrec *r);
/* The line of a message account a deleted unretrieved (delete_oversized). */
void runlog_oversized(const struct account *a, const struct runrec_oversized *o);
/* A queue event about message id of envelope e (the account a, or NULL
 * when no account has its name any more: then nothing is logged);
 * reason may be NULL.  Also the -v line on stderr. */
void runlog_queue(const struct account *a, const char *event, const char *id,
	const struct queue_envelope *e, const char *reason);
/* A new message put in the queue as id (envelope e) after the failure
 * reason: event "queued", or "held" when it waits for credentials; the
 * record (NULL allowed) says queued. */
void runlog_queued(const struct account *a, struct runrec *r, const char *id,
	const struct queue_envelope *e, const char *reason);

#endif
