/*
 * The envelope record of a queued message (mailpipe-send(1), QUEUE): what
 * a later run needs besides the spooled bytes to deliver it as the first
 * attempt would have, and what became of each recipient.  Parsing and
 * formatting only; queue.c owns the files.
 *
 * The text (version 1), one "key value" a line, every value one
 * %XX-escaped token (strbuf.h), so a subject or an error line splits the
 * same way whatever it holds:
 *
 *	mailpipe-queue 1
 *	account NAME		the account it was sent through first
 *	sender ADDRESS		the envelope sender
 *	created SECONDS		the first attempt (Unix time)
 *	attempts N
 *	next SECONDS		the earliest next attempt
 *	held credentials	(optional) waiting for the account's credentials
 *	error TEXT		(optional) the last failure, as its line said it
 *	mode raw | body		raw: the bytes are a message; body: -s, a body
 *	subject TEXT		(optional; body mode) -s
 *	full-name TEXT		(optional) -F
 *	domain TEXT		(optional) what qualifies bare names
 *	date TEXT		the Date field the message is sent with if it has none
 *	message-id TEXT		the same for Message-ID, so every attempt is one message
 *	dsn-notify TEXT		(optional) NOTIFY asked for (-N, dsn_notify): NEVER, or
 *				SUCCESS, FAILURE, DELAY joined by ","
 *	dsn-ret TEXT		(optional) RET asked for (-R, dsn_return): FULL or HDRS
 *	envid TEXT		(optional) ENVID (-V), printable ASCII
 *	to ADDRESS		(body mode, any number) the To field
 *	rcpt STATE ADDRESS	one a recipient, in order
 *	end N			N = the number of rcpt lines: a cut file is seen
 *
 * Reading is strict: anything else is a corrupt record (FAIL_IO naming the
 * line), never guessed at, because a recipient read wrongly is mail sent
 * twice or never.
 */
#ifndef MAILPIPE_QUEUE_FORMAT_H
#define MAILPIPE_QUEUE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dsn.h"
#include "strlist.h"

#define QUEUE_FORMAT_VERSION 1

/* What became of one recipient. */
enum queue_rcpt_state {
	QRCPT_PENDING,		/* still to be sent */
	QRCPT_SENT,		/* the server's 2xx to the final dot was recorded */
	QRCPT_REFUSED,		/* refused permanently (5xx) */
	QRCPT_INFLIGHT,		/* written before the message text goes out: a run
				 * that finds it left by another had its final dot
				 * perhaps sent, its answer never recorded */
	QRCPT_UNCONFIRMED,	/* the final dot went out, no answer: the server
				 * may have it (a resend may be a duplicate) */
};

struct queue_rcpt {
	char *address;
	enum queue_rcpt_state state;
};

struct queue_envelope {
	char *account;
	char *sender;
	int64_t created, next;
	unsigned attempts;
	bool held;		/* held: credentials */
	char *error;		/* NULL: none yet */
	bool body_only;		/* mode body (-s) */
	char *subject, *full_name, *domain, *date, *message_id;	/* NULL: none */
	char *dsn_notify, *dsn_ret, *envid;	/* RFC 3461, canonical (dsn.h); NULL: none */
	struct strlist to;
	struct queue_rcpt *rcpts;
	size_t rcpt_count, rcpt_alloc;
};

void queue_envelope_add_rcpt(struct queue_envelope *e, const char *address,
	enum queue_rcpt_state state);
/* How many recipients are in state st. */
size_t queue_envelope_count(const struct queue_envelope *e, enum queue_rcpt_state st);
/* Recipients a run left "in flight" (killed between the record and the
 * server's answer) become unconfirmed, and the error says why; true when
 * there were any (the record then needs writing). */
bool queue_envelope_settle_in_flight(struct queue_envelope *e);
/* Replaces the text field *field with a copy of text (NULL allowed). */
void queue_envelope_set(char **field, const char *text);
/* The DSN request into e's fields (copied), and back out of them. */
void queue_envelope_set_dsn(struct queue_envelope *e, const struct dsn_request *dsn);
struct dsn_request queue_envelope_dsn(const struct queue_envelope *e);
/* "pending", "sent", ... as the record and the listing write them. */
const char *queue_rcpt_state_name(enum queue_rcpt_state st);

/* The record's text: a new string of *len_r bytes. */
char *queue_envelope_format(const struct queue_envelope *e, size_t *len_r);
/* Parses the len bytes at text into *e (zeroed first); name says which
 * record in the error line.  0, or -1 with FAIL_IO "NAME is corrupt (line
 * N: what)"; *e is to be freed either way. */
int queue_envelope_parse(const char *text, size_t len, const char *name,
	struct queue_envelope *e);
void queue_envelope_free(struct queue_envelope *e);

#endif
