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

/* How far the message got, for mailpipe-send's signal handler: perhaps
 * delivered from the moment the final dot is written, just before it is
 * flushed (the server may have it even if we never hear its answer), and
 * delivered once every recipient's transaction had its 2xx. */
enum submit_progress {
	SUBMIT_NOT_SENT = 0,
	SUBMIT_PERHAPS_DELIVERED = 1,	/* what smtp_send_body() sets */
	SUBMIT_DELIVERED = 2,
};
extern volatile sig_atomic_t submit_message_complete;

/* Sends the message to every recipient, in as many transactions as the
 * server's recipient limit needs.  Failures: as classified by the layers
 * below; recipients refused permanently are FAIL_RECIPIENT, after the
 * message went to the others; a failure once some recipients have the
 * message names who has it and who has not. */
int submit_message(struct submission *s);

#endif
