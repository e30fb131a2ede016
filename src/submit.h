/*
 * The send policy over SMTP sessions (smtp.h): a session with an
 * account's server, from the password to AUTH, then one message after
 * another in it.  A message counts as sent to a recipient only when the
 * server answered 2xx to the final dot of a transaction that had it.
 */
#ifndef MAILPIPE_SUBMIT_H
#define MAILPIPE_SUBMIT_H

#include <signal.h>
#include <stdbool.h>

#include "compose.h"
#include "config.h"
#include "dsn.h"
#include "queue-policy.h"
#include "runrec.h"
#include "spool.h"
#include "strlist.h"

/* Room for the permanently refused recipients of one message, "address:
 * reply text", several joined by "; ". */
#define SUBMIT_NOTE_MAX 600

/* What became of each recipient of a message. */
enum rcpt_state {
	RCPT_PENDING,		/* not sent (yet) */
	RCPT_ACCEPTED,		/* accepted by RCPT in the transaction under way */
	RCPT_DELIVERED,		/* the server answered 2xx to the final dot */
	RCPT_REFUSED,		/* refused permanently (5xx) */
	RCPT_DEFERRED,		/* refused for now (4xx) while the others went ahead
				 * (keep_going) */
	RCPT_UNCONFIRMED,	/* the final dot went out and no answer came: the
				 * server may have it */
};

struct submission {
	const char *envelope_from;
	const struct strlist *recipients;	/* resolved, sendable */
	const struct spool *spool;
	const struct parsed_message *message;
	struct compose_options compose;		/* server_8bitmime and host_domain are
						 * filled in here */
	/* With a queue to take the rest: a recipient refused for now does not
	 * hold the others back, it is left RCPT_DEFERRED.  Without, nothing
	 * goes to anyone in that transaction, so that a retry of the whole run
	 * cannot give the others a second copy. */
	bool keep_going;
	/* When set, called once the server has said 354, before the message
	 * text goes out, with every recipient's state (those to get the message
	 * are RCPT_ACCEPTED): the queue marks them in flight there, durably.
	 * Its -1 (failure recorded) drops the connection: nothing is sent. */
	int (*before_text)(void *arg, const enum rcpt_state *state);
	void *arg;
	/* Out: one per recipient, in order (the caller's array). */
	enum rcpt_state *state;
	/* Out: the permanently refused recipients and the replies, or "". */
	char refused[SUBMIT_NOTE_MAX];
	/* Where this message's enum submit_progress is kept for a signal
	 * handler: &submit_message_complete for the message mailpipe-send was
	 * given, NULL for a queued one (its progress must not speak for the
	 * new message, which a backlog flush comes before). */
	volatile sig_atomic_t *progress;
	/* Where the server, the replies and the size are recorded, or NULL. */
	struct runrec *rec;
	/* The notifications asked for (-N, -R, -V, dsn_notify, dsn_return):
	 * sent when the server offers DSN, else left out with a -v note. */
	struct dsn_request dsn;
};

/* How far the message got, for mailpipe-send's signal handler: perhaps
 * delivered from the moment the final dot is written, just before it is
 * flushed (the server may have it even if we never hear its answer), and
 * delivered once every recipient's transaction had its 2xx.  Cleared at
 * each message. */
enum submit_progress {
	SUBMIT_NOT_SENT = 0,
	SUBMIT_PERHAPS_DELIVERED = 1,	/* what smtp_send_body() sets */
	SUBMIT_DELIVERED = 2,
};
extern volatile sig_atomic_t submit_message_complete;

struct submit_session;
struct smtp;
struct tls_peer;

/* The session with account a's server: the password (before connecting),
 * connecting, the greeting, EHLO, STARTTLS, AUTH.  sender helps choose the
 * EHLO name.  *ss_r is set in any case (submit_close() it).  On failure
 * *stage_r says what failed: STAGE_CREDENTIALS (the password source, or
 * AUTH refused as FAIL_AUTH) or STAGE_SESSION (anything else). */
int submit_open(const struct account *a, const char *sender, struct submit_session **ss_r,
	enum attempt_stage *stage_r);
/* submit_open() for --serverinfo: the same session, with what the TLS
 * handshake showed kept in *peer whatever its outcome (certinfo.h). */
int submit_open_observed(const struct account *a, const char *sender, struct tls_peer *peer,
	struct submit_session **ss_r, enum attempt_stage *stage_r);
/* The session's dialogue, to ask what the server said (smtp.h); NULL
 * when it never connected. */
const struct smtp *submit_smtp(const struct submit_session *ss);
/* Sends one message to every recipient, in as many transactions as the
 * server's recipient limit needs, and fills in s->state and s->refused.
 * 0 when every recipient has it.  Failures: as classified by the layers
 * below (*stage_r STAGE_MESSAGE, or STAGE_SESSION when the session could
 * not start another message, or STAGE_UNFIT when the message does not fit
 * what the server offered: nothing was sent); recipients refused permanently are
 * FAIL_RECIPIENT after the message went to the others; recipients
 * deferred (keep_going) FAIL_TEMPORARY; a failure once some recipients
 * have the message names who has it (without keep_going). */
int submit_send(struct submit_session *ss, struct submission *s, enum attempt_stage *stage_r);
/* Whether another message may be sent in the session. */
bool submit_usable(const struct submit_session *ss);
/* QUIT (a courtesy that never changes the result), close, wipe the
 * password; NULL is allowed. */
void submit_close(struct submit_session *ss);

#endif
