/*
 * What the queue does, decided in one place and without I/O, so that a
 * table of cases tests it (test-queue-policy): what becomes of a message
 * after a failure (the table mailpipe-send(1) prints in its QUEUE
 * section), when a failover account is tried, when a queued message is
 * due, has lived too long, or should be warned about.
 */
#ifndef MAILPIPE_QUEUE_POLICY_H
#define MAILPIPE_QUEUE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue-format.h"
#include "status.h"

/* Which part of an attempt failed. */
enum attempt_stage {
	STAGE_CREDENTIALS,	/* the password source, or AUTH refused: the account's
				 * credentials, which only its user can fix */
	STAGE_SESSION,		/* connecting, TLS, greeting, EHLO, STARTTLS, AUTH
				 * otherwise: the server, not this message */
	STAGE_MESSAGE,		/* this message's transaction: MAIL, RCPT, DATA, the
				 * text, the reply to the final dot */
	STAGE_UNFIT,		/* before MAIL: the message does not fit what this
				 * server offered (over its SIZE limit, SMTPUTF8
				 * needed and not offered); another account's
				 * server may take it */
};

enum queue_action {
	QUEUE_NO,		/* a new message fails now, as without a queue */
	QUEUE_KEEP,		/* queued (or stays queued) for a later attempt */
	QUEUE_HOLD,		/* the same, marked held: credentials */
	QUEUE_FAILED,		/* a queued message moves to failed/ */
};

/* The one table: what becomes of a new message (queued false) or of a
 * queued one after a failure of class cls in stage. */
enum queue_action queue_action(enum failure cls, enum attempt_stage stage, bool queued);
/* True for a failure a later attempt may cure: one the queue keeps a new
 * message for, or holds it (QUEUE_KEEP, QUEUE_HOLD). */
bool queue_curable(enum failure cls, enum attempt_stage stage);
/* Whether the next failover account is tried: a temporary failure before
 * the server may have the message (no recipient has it, no final dot went
 * out unanswered), or a message that does not fit this server's offer
 * (STAGE_UNFIT: nothing of it was sent). */
bool queue_fails_over(enum failure cls, enum attempt_stage stage, bool server_may_have_it);

/* Seconds before the next attempt once attempts attempts failed: none
 * after the first (the send that queued it), then first, doubled at each
 * further failure, at most limit. */
int64_t queue_backoff(unsigned attempts, int first, int limit);
/* Whether a flush tries e now: held messages at every flush, the others
 * once their next attempt time has come. */
bool queue_is_due(const struct queue_envelope *e, int64_t now);
/* Whether e has been queued for at least seconds (0: never). */
bool queue_is_older(const struct queue_envelope *e, int64_t now, int seconds);

/* Room for queue_duration_text(). */
#define QUEUE_DURATION_TEXT 24
/* seconds as the listing and the lines say it: "40s", "5m", "2h13m",
 * "5d3h" (two units at most, rounded down). */
void queue_duration_text(int64_t seconds, char *out, size_t size);

#endif
