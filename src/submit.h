/*
 * The send policy for one message, over one SMTP session (smtp.h) from
 * greeting to QUIT.  Success means the server answered 2xx to the final
 * dot, nothing less.
 */
#ifndef MAILPIPE_SUBMIT_H
#define MAILPIPE_SUBMIT_H

#include <signal.h>

#include "compose.h"
#include "config.h"
#include "spool.h"
#include "strlist.h"

struct submission {
	const struct account *account;
	const char *envelope_from;
	const struct strlist *recipients;	/* resolved, sendable */
	const struct spool *spool;
	const struct parsed_message *message;
	struct compose_options compose;		/* server_8bitmime is filled in here */
};

/* Set once the final dot is written, just before it is flushed: from then
 * on, the server may have the message even if we never hear its answer
 * (read by mailpipe-send's signal handler). */
extern volatile sig_atomic_t submit_message_complete;

/* Sends the message to every recipient, in as many transactions as the
 * server's recipient limit needs.  Failures: as classified by the layers
 * below; recipients refused permanently are FAIL_RECIPIENT, after the
 * message went to the others; a failure once some recipients have the
 * message names who has it and who has not. */
int submit_message(struct submission *s);

#endif
