/*
 * mailpipe-send's runs over accounts and the queue (mailpipe-send(1),
 * QUEUE): a new message through its account, or its failover accounts,
 * into the queue when it meets a temporary failure; the queued messages
 * of an account, oldest first, in one session per account; and what
 * becomes of each, recorded in its envelope.
 */
#ifndef MAILPIPE_DISPATCH_H
#define MAILPIPE_DISPATCH_H

#include <stdbool.h>

#include "compose.h"
#include "dsn.h"
#include "runrec.h"
#include "config.h"
#include "spool.h"
#include "strlist.h"

/* A message from stdin, ready to send. */
struct send_request {
	const struct spool *spool;
	const struct parsed_message *message;
	bool body_only;				/* -s: the spool holds a body */
	const char *sender;
	const struct strlist *recipients;	/* resolved, sendable */
	/* from, full_name, subject, to, domain, and the date and message_id
	 * every attempt uses (compose_date(), compose_message_id()) */
	struct compose_options compose;
	/* What the run learns about the message (runrec.h), or NULL. */
	struct runrec *rec;
	/* The notifications asked for (dsn.h); kept in the queue envelope. */
	struct dsn_request dsn;
};

/* Sends m through account a, then a's failover accounts while the failure
 * is temporary and the server cannot have it.  With a's queue_dir: first
 * the queued messages of a that are due (queue_flush_on_send), in the
 * same session; m into the queue, silently, when what failed is one the
 * queue takes (queue-policy.h).  0 when m was sent or queued; -1 with the
 * failure recorded, its line naming every account tried. */
int dispatch_send(const struct config *cfg, const struct account *a, const struct send_request *m);

/* --flush: the due messages of every queue (of account name's only, when
 * not NULL), oldest first, one session per account.  -1 when a queue
 * could not be opened or written (the last such failure recorded); what
 * the servers said is in the envelopes. */
int dispatch_flush(const struct config *cfg, const char *name);

#endif
