/*
 * The send policy: which session to open (the account's endpoint, EHLO
 * name, STARTTLS, AUTH and its password), what to make of the envelope's
 * replies, and what each message's result says.  The dialogue itself is
 * smtp.c's.  A session serves one message after another (a queue flush);
 * a transaction that ended before its final dot is reset first.
 *
 * Recipients: without a queue, a temporary refusal of any recipient sends
 * nothing in that transaction (75), so that a retry cannot deliver twice
 * to the others; with one (keep_going) the others get the message and the
 * refused one stays deferred, each recipient's fate recorded for the
 * queue.  Permanent refusals of some recipients still send to the rest,
 * and the message ends with 67 naming the refused ones.  The one temporary refusal another
 * transaction cures is "too many recipients" (RFC 5321 4.5.3.1.10): the
 * message goes to those accepted, then MAIL again for the rest, as long as
 * each transaction gets at least one recipient accepted.  Once a
 * transaction has delivered, a failure says who has the message and who
 * has not, since retrying the whole run would give the first a second copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cred.h"
#include "endpoint.h"
#include "hostname.h"
#include "log.h"
#include "smtp.h"
#include "status.h"
#include "submit.h"
#include "submit-fit.h"
#include "units.h"
#include "xalloc.h"

/* Room for an "address: reply text" note within one error line. */
#define NOTE_MAX SUBMIT_NOTE_MAX
/* Room for one list of names in the line about a partial delivery. */
#define NAMES_MAX 300

volatile sig_atomic_t submit_message_complete;

/* One session's needs besides the dialogue. */
struct submit_session {
	struct smtp *smtp;
	const struct account *account;
	char *password;		/* NULL: no AUTH; wiped as soon as AUTH is over */
	const char *host_domain;	/* this host's domain name, or NULL */
	char domain[HOSTNAME_MAX];
	struct hostname_lookup domain_lookup;	/* looking it up while connecting */
	bool domain_pending;	/* domain_lookup started, not collected yet */
	bool in_transaction;	/* MAIL went out, no final reply came back yet */
	const char *host;	/* the server, for the scope of each message's failures */
	unsigned port;
};

/* The recipients' replies of the current transaction, as they come. */
struct rcpt_tally {
	size_t accepted;
	char temporary[NOTE_MAX];	/* first recipient refused for now */
	char too_many[NOTE_MAX];	/* first one refused as one too many (next transaction) */
};

/* One message, in as many transactions as the server's recipient limit
 * needs; the same header (Date, Message-ID) in each. */
struct delivery {
	struct submission *s;		/* its state and refused are filled in */
	struct outgoing out;
	struct smtp_message message;	/* out, as DATA sends it */
	enum rcpt_state *state;		/* per recipient, in s->recipients order */
	struct smtp_envelope envelope;	/* the current transaction's */
	struct rcpt_tally tally;
	size_t delivered;
	size_t refused_count;
	char deferred[NOTE_MAX];	/* keep_going: the first recipient deferred */
	volatile sig_atomic_t *progress;	/* s->progress, or unwatched */
	volatile sig_atomic_t unwatched;
};

/* ---- the session ---- */

/* RFC 5321 4.1.4: the helo key, else this host's domain name, else (NULL)
 * the address literal of this end of the connection; never a bare node
 * name, which servers with reject_non_fqdn_helo_hostname refuse. */
static const char *
ehlo_name(const struct submit_session *ss)
{
	return ss->account->helo != NULL ? ss->account->helo : ss->host_domain;
}

/* tls = starttls never continues in plaintext, whatever the server says. */
static int
start_tls(struct submit_session *ss)
{
	if (ss->account->tls != TLS_MODE_STARTTLS)
		return 0;
	return smtp_starttls(ss->smtp);
}

/* The password is wiped as soon as AUTH is over, whatever its outcome:
 * nothing after it needs the secret, and the message may take long. */
static int
authenticate(struct submit_session *ss)
{
	int rc;

	if (ss->password == NULL && ss->account->auth != AUTH_EXTERNAL)
		return 0;
	rc = smtp_auth(ss->smtp, ss->account->auth, ss->account->user, ss->password);
	cred_free(ss->password);
	ss->password = NULL;
	return rc;
}

/* ---- the envelope ---- */

static void
note_refused(struct delivery *d, const char *rcpt, const struct smtp_reply *r)
{
	char *refused = d->s->refused;
	size_t used = strlen(refused);

	snprintf(refused + used, SUBMIT_NOTE_MAX - used, "%s%s: %s", used > 0 ? "; " : "",
	    rcpt, r->text);
	d->refused_count++;
}

/* keep_going: the recipient waits for the queue, the others go ahead. */
static void
note_deferred(struct delivery *d, const struct smtp_step *step)
{
	d->s->state[step->rcpt_index] = RCPT_DEFERRED;
	if (d->deferred[0] == '\0')
		snprintf(d->deferred, sizeof d->deferred, "%s: %s", step->rcpt, step->reply.text);
}

/* A "too many recipients" 452 leaves the recipient pending, for the next
 * transaction; any other refusal is as the reply code says. */
static void
note_recipient_reply(struct delivery *d, const struct smtp_step *step)
{
	struct rcpt_tally *t = &d->tally;
	const struct smtp_reply *r = &step->reply;

	if (r->code >= 200 && r->code < 300) {
		d->s->state[step->rcpt_index] = RCPT_ACCEPTED;
		t->accepted++;
	} else if (smtp_too_many_recipients(r)) {
		if (t->too_many[0] == '\0')
			snprintf(t->too_many, sizeof t->too_many, "%s: %s", step->rcpt, r->text);
	} else if (r->code < 500 && d->s->keep_going) {
		note_deferred(d, step);
	} else if (r->code < 500) {
		if (t->temporary[0] == '\0')
			snprintf(t->temporary, sizeof t->temporary, "%s: %s", step->rcpt, r->text);
	} else {
		d->s->state[step->rcpt_index] = RCPT_REFUSED;
		note_refused(d, step->rcpt, r);
	}
}

static void
noted(void *arg, const struct smtp_envelope *e, const struct smtp_step *step)
{
	(void)e;
	if (step->kind != SMTP_STEP_RCPT)
		return;
	note_recipient_reply(arg, step);
	runrec_rcpt_reply(((struct delivery *)arg)->s->rec, step->rcpt_index, step->reply.code,
	    step->reply.text);
}

/* Lock-step only: whether step is still worth sending.  After one "too
 * many recipients", the others of the batch would get the same; DATA only
 * for a message that would be sent. */
static bool
wanted(void *arg, const struct smtp_envelope *e, const struct smtp_step *step)
{
	const struct rcpt_tally *t = &((const struct delivery *)arg)->tally;

	if (step->kind == SMTP_STEP_MAIL)
		return true;
	if (e->mail.reply.code != 250)
		return false;
	if (step->kind == SMTP_STEP_RCPT)
		return t->too_many[0] == '\0';
	return t->accepted > 0 && t->temporary[0] == '\0';
}

/* The pending recipients, in their order, are this transaction's. */
static void
start_transaction(struct delivery *d)
{
	smtp_envelope_clear(&d->envelope);
	for (size_t i = 0; i < d->s->recipients->count; i++)
		if (d->s->state[i] == RCPT_PENDING)
			smtp_envelope_add(&d->envelope, d->s->recipients->items[i], i);
	memset(&d->tally, 0, sizeof d->tally);
}

/* Returns 0 to send the message, 1 when every recipient of the transaction
 * was refused permanently (nothing to send; the run's result says so), or
 * -1.  After 354 the only way to send no message is to drop the connection
 * (smtp_quit() then sends nothing). */
static int
judge_envelope(const struct delivery *d)
{
	const struct smtp_envelope *e = &d->envelope;
	const struct rcpt_tally *t = &d->tally;
	const char *nothing = d->delivered == 0 ? ", nothing sent" : "";

	if (e->mail.reply.code != 250)
		return smtp_refused(&e->mail.reply, "sender refused", FAIL_PERMANENT);
	if (t->temporary[0] != '\0')
		return fail(FAIL_TEMPORARY, "recipient refused for now%s: %s", nothing,
		    t->temporary);
	if (t->accepted == 0 && t->too_many[0] != '\0')
		return fail(FAIL_TEMPORARY, "recipient refused for now%s: %s", nothing,
		    t->too_many);
	if (t->accepted == 0)
		return 1;
	if (e->data.reply.code != 354)
		return smtp_refused(&e->data.reply, "DATA", FAIL_PERMANENT);
	return 0;
}

/* ---- the message ---- */

/* Those accepted in this transaction (the only ones ever ACCEPTED: a
 * transaction either delivers or ends the message) now are in state to. */
static void
mark_accepted(struct delivery *d, enum rcpt_state to)
{
	for (size_t i = 0; i < d->s->recipients->count; i++)
		if (d->s->state[i] == RCPT_ACCEPTED) {
			d->s->state[i] = to;
			d->delivered += to == RCPT_DELIVERED;
		}
}

/* Only a 2xx here means the message is the server's; without any answer we
 * cannot know, and say so: those recipients are unconfirmed. */
static int
send_message(struct submit_session *ss, struct delivery *d)
{
	struct smtp_reply r;

	if (d->s->before_text != NULL && d->s->before_text(d->s->arg, d->s->state) < 0)
		return -1;
	if (smtp_send_body(ss->smtp, &d->message, d->progress) < 0) {
		if (*d->progress != SUBMIT_NOT_SENT)	/* the dot was on its way */
			mark_accepted(d, RCPT_UNCONFIRMED);
		return -1;
	}
	if (smtp_read_final(ss->smtp, &r) < 0) {
		mark_accepted(d, RCPT_UNCONFIRMED);
		fail_context("no answer after the end of the message; it may have been "
		    "delivered, so a retry may send a duplicate");
		return fail_reclassify(FAIL_TEMPORARY);
	}
	ss->in_transaction = false;
	runrec_final_reply(d->s->rec, r.code, r.text);
	if (r.code < 200 || r.code >= 300)
		return smtp_refused(&r, "message refused", FAIL_PERMANENT);
	mark_accepted(d, RCPT_DELIVERED);
	return 0;
}

static int
transaction(struct submit_session *ss, struct delivery *d)
{
	const struct smtp_envelope_policy policy = { .wanted = wanted, .noted = noted, .arg = d };
	int rc;

	start_transaction(d);
	ss->in_transaction = true;
	rc = smtp_send_envelope(ss->smtp, &d->envelope, &policy);
	if (rc == 0)
		rc = judge_envelope(d);
	if (rc == 1)
		return 0;	/* all refused permanently: nothing sent */
	return rc == 0 ? send_message(ss, d) : rc;
}

/* ---- the run ---- */

static bool
any_pending(const struct delivery *d)
{
	for (size_t i = 0; i < d->s->recipients->count; i++)
		if (d->s->state[i] == RCPT_PENDING)
			return true;
	return false;
}

/* "a@x, b@x" for the recipients that have (or have not) the message, cut
 * with "and N more" to fit. */
static void
name_recipients(const struct delivery *d, bool delivered, char *out, size_t size)
{
	size_t used = 0, more = 0;

	out[0] = '\0';
	for (size_t i = 0; i < d->s->recipients->count; i++) {
		const char *name = d->s->recipients->items[i];

		if ((d->s->state[i] == RCPT_DELIVERED) != delivered)
			continue;
		if (used + strlen(name) + 2 + 32 < size)
			used += (size_t)snprintf(out + used, size - used, "%s%s",
			    used > 0 ? ", " : "", name);
		else
			more++;
	}
	if (more > 0)
		snprintf(out + used, size - used, " and %zu more", more);
}

/* Once some have the message, a failure must say who, so the retry can be
 * for the others only. */
static void
explain_partial_delivery(const struct delivery *d)
{
	char sent[NAMES_MAX], unsent[NAMES_MAX];

	name_recipients(d, true, sent, sizeof sent);
	name_recipients(d, false, unsent, sizeof unsent);
	fail_context("sent to %s but not to %s (retry only for those, or the others get a "
	    "second copy)", sent, unsent);
}

/* The message's result once no transaction failed: recipients deferred
 * for the queue, then permanent refusals, if any, name the first or the
 * refused. */
static int
delivery_result(const struct delivery *d)
{
	if (d->deferred[0] != '\0')
		return fail(FAIL_TEMPORARY, "recipient refused for now: %s", d->deferred);
	if (d->refused_count == 0)
		return 0;
	if (d->delivered == 0)
		return fail(FAIL_RECIPIENT, "%s refused: %s",
		    d->s->recipients->count > 1 ? "all recipients" : "recipient", d->s->refused);
	return fail(FAIL_RECIPIENT, "sent to %zu %s, but refused: %s", d->delivered,
	    units_plural(d->delivered, "recipient", "recipients"), d->s->refused);
}

/* Transactions until every recipient is delivered, refused or deferred.
 * Each one that succeeds settles at least one recipient, so there are at
 * most as many as recipients.  With a queue, who has the message is its
 * business, not the line's. */
static int
deliver_all(struct submit_session *ss, struct delivery *d)
{
	int rc = 0;

	for (size_t n = 0; rc == 0 && n < d->s->recipients->count && any_pending(d); n++)
		rc = transaction(ss, d);
	if (d->delivered == d->s->recipients->count)
		*d->progress = SUBMIT_DELIVERED;	/* QUIT may be cut short */
	if (rc < 0 && d->delivered > 0)
		explain_partial_delivery(d);
	return rc < 0 ? -1 : delivery_result(d);
}

/* The header is built once, after EHLO (whether 8BITMIME is offered
 * decides the encoding), so that every transaction sends the same message:
 * one Date, one Message-ID. */
static void
build_message(const struct submit_session *ss, struct submission *s, struct delivery *d)
{
	s->compose.server_8bitmime = smtp_caps(ss->smtp)->eightbitmime;
	s->compose.host_domain = ss->host_domain;
	compose_build(s->message, &s->compose, &d->out);
	if (d->out.sent_unfit)
		log_info("the message has lines over 998 octets, NUL bytes or 8-bit data the "
		    "server did not agree to, and is not single-part text: sending it "
		    "unchanged for the server to judge");
	d->message = (struct smtp_message){ .header = d->out.header,
		.header_length = d->out.header_length, .spool = s->spool,
		.body_offset = d->out.body_offset, .body_as_qp = d->out.body_as_qp };
}

/* Before MAIL: what the message needs from the server (submit-fit.h);
 * a message that does not fit is STAGE_UNFIT, which fails over. */
static int
check_fit(const struct submit_session *ss, struct delivery *d, enum attempt_stage *stage_r)
{
	const struct smtp_caps *caps = smtp_caps(ss->smtp);
	const struct fit_addresses a = { .from = d->s->envelope_from,
		.recipients = d->s->recipients, .header = d->out.header,
		.header_length = d->out.header_length };

	if (fit_size(caps, d->envelope.size) == 0 &&
	    fit_utf8(caps, &a, &d->envelope.smtputf8) == 0) {
		/* A UTF-8 header is 8-bit data too (RFC 6531 3.1: a server
		 * offering SMTPUTF8 offers 8BITMIME). */
		d->envelope.eight_bit |= d->envelope.smtputf8;
		return 0;
	}
	*stage_r = STAGE_UNFIT;
	return -1;
}

/* RFC 3461: the notifications asked for go only to a server that offers
 * DSN; one without it would refuse the parameters, and the message
 * matters more than its receipts. */
static void
ask_for_dsn(const struct submit_session *ss, struct delivery *d)
{
	const struct dsn_request *dsn = &d->s->dsn;

	if (dsn->notify == NULL && dsn->ret == NULL && dsn->envid == NULL)
		return;
	if (smtp_caps(ss->smtp)->dsn)
		d->envelope.dsn = dsn;
	else
		log_info("the server does not offer DSN: the notifications asked for "
		    "(NOTIFY, RET, ENVID) are left out");
}

static int
deliver(struct submit_session *ss, struct submission *s, enum attempt_stage *stage_r)
{
	struct delivery d = { .s = s };
	int rc = 0;

	d.progress = s->progress != NULL ? s->progress : &d.unwatched;
	build_message(ss, s, &d);
	smtp_envelope_init(&d.envelope, s->envelope_from);
	d.envelope.eight_bit = d.out.eight_bit;
	if (smtp_caps(ss->smtp)->size || s->rec != NULL)
		rc = smtp_message_size(&d.message, &d.envelope.size);
	if (rc == 0 && s->rec != NULL)
		s->rec->size = d.envelope.size;
	if (rc == 0)
		rc = check_fit(ss, &d, stage_r);
	if (rc == 0)
		ask_for_dsn(ss, &d);
	if (rc == 0)
		rc = deliver_all(ss, &d);
	smtp_envelope_free(&d.envelope);
	compose_free(NULL, &d.out);
	return rc;
}

int
submit_send(struct submit_session *ss, struct submission *s, enum attempt_stage *stage_r)
{
	*stage_r = STAGE_SESSION;
	for (size_t i = 0; i < s->recipients->count; i++)
		s->state[i] = RCPT_PENDING;
	s->refused[0] = '\0';
	if (s->progress != NULL)
		*s->progress = SUBMIT_NOT_SENT;
	fail_scope(ss->account->name, ss->host, ss->port);
	runrec_server(s->rec, ss->host, ss->port, smtp_tls_version(ss->smtp));
	if (!submit_usable(ss))
		return fail(FAIL_TEMPORARY, "the connection cannot be used for another message");
	if (ss->in_transaction && smtp_reset(ss->smtp) < 0)
		return -1;
	ss->in_transaction = false;
	*stage_r = STAGE_MESSAGE;
	return deliver(ss, s, stage_r);
}

bool
submit_usable(const struct submit_session *ss)
{
	return ss->smtp != NULL && smtp_usable(ss->smtp);
}

/* ---- the session ---- */

/* This host's domain name is needed when EHLO (no helo key) or the
 * Message-ID (a sender without a domain) needs it.  Its lookup (a child
 * process, lookup.h) runs while the password is found, the server's name
 * looked up and connected to and its greeting read, and is collected
 * before EHLO: 1.5 ms (4 %) off a 1 KB send here, less than the lookup
 * takes alone, as the parent's writes copy the pages it still shares
 * with the child.
 * A resolver that cannot answer for this host holds the session before
 * EHLO for the account's timeout at most (it held it back from connecting
 * as long), and EHLO then gives the address literal. */
static void
start_host_domain(struct submit_session *ss, const char *sender)
{
	if (ss->account->helo != NULL && strchr(sender, '@') != NULL)
		return;
	hostname_fqdn_start(&ss->domain_lookup);
	ss->domain_pending = true;
}

static void
collect_host_domain(struct submit_session *ss)
{
	if (!ss->domain_pending)
		return;
	ss->domain_pending = false;
	if (hostname_fqdn_collect(&ss->domain_lookup, ss->domain, sizeof ss->domain,
	    ss->account->timeout * 1000))
		ss->host_domain = ss->domain;
}

/* A failed AUTH is the credentials' fault only when they were refused. */
static int
start_session(struct submit_session *ss, struct tls_peer *peer, enum attempt_stage *stage_r)
{
	struct endpoint ep;

	endpoint_of(ss->account, clock_now_ms(), &ep);
	ep.tls_options.peer = peer;
	ss->host = ep.host;
	ss->port = ep.port;
	fail_scope(ss->account->name, ep.host, ep.port);
	if (smtp_open(&ep, &ss->smtp) < 0 || smtp_greeting(ss->smtp) < 0)
		return -1;
	collect_host_domain(ss);
	if (smtp_hello(ss->smtp, ehlo_name(ss)) < 0 || start_tls(ss) < 0)
		return -1;
	if (authenticate(ss) < 0) {
		if (fail_class() == FAIL_AUTH)
			*stage_r = STAGE_CREDENTIALS;
		return -1;
	}
	return 0;
}

/* The password is found before connecting: a slow password_command must
 * not hold a session open, and a password failure needs no server at all.
 * This host's domain name is looked up meanwhile (start_host_domain()). */
int
submit_open(const struct account *a, const char *sender, struct submit_session **ss_r,
	enum attempt_stage *stage_r)
{
	return submit_open_observed(a, sender, NULL, ss_r, stage_r);
}

int
submit_open_observed(const struct account *a, const char *sender, struct tls_peer *peer,
	struct submit_session **ss_r, enum attempt_stage *stage_r)
{
	struct submit_session *ss = xcalloc(1, sizeof *ss);

	*ss_r = ss;
	ss->account = a;
	*stage_r = STAGE_CREDENTIALS;
	fail_scope(a->name, NULL, 0);
	start_host_domain(ss, sender);
	if (auth_method_needs_secret(a->auth) && a->user != NULL) {
		if (cred_password(a, &ss->password) < 0)
			return -1;
		if (ss->password == NULL)
			return fail(FAIL_CONFIG, "%s:%d: user is set but no password, "
			    "password_file or password_command", a->file, a->line);
	}
	*stage_r = STAGE_SESSION;
	return start_session(ss, peer, stage_r);
}

const struct smtp *
submit_smtp(const struct submit_session *ss)
{
	return ss->smtp;
}

void
submit_close(struct submit_session *ss)
{
	if (ss == NULL)
		return;
	if (ss->domain_pending)
		hostname_fqdn_abandon(&ss->domain_lookup);
	smtp_quit(ss->smtp);	/* a courtesy: it never changes the result */
	smtp_close(ss->smtp);
	cred_free(ss->password);	/* when the session ended before AUTH */
	free(ss);
}
