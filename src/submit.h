/*
 * The send policy: one SMTP session from greeting to QUIT for one message.
 * Success means the server answered 2xx to the final dot, nothing less.
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

/* Set once the end of the message has been written: from then on, the
 * server may have the message even if we never hear its answer (read by
 * mailpipe-send's signal handler). */
extern volatile sig_atomic_t submit_message_complete;

/* Failures: as classified by the layers below; a recipient refused
 * permanently while others accepted the message is FAIL_RECIPIENT after
 * the message was sent to the others. */
int submit_message(struct submission *s);

#endif
