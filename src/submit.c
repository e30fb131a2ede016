/*
 * One SMTP session, as a sequence of named steps: greeting, EHLO, STARTTLS
 * and EHLO again, AUTH, then one or more transactions (the envelope,
 * pipelined when offered, and the body), QUIT.  Each step classifies its
 * own failure; a failure ends the session.
 *
 * Recipients: a temporary refusal of any recipient sends nothing in that
 * transaction (75), so that a retry cannot deliver twice to the others;
 * permanent refusals of some recipients still send to the rest, and the run
 * ends with 67 naming the refused ones.  The one temporary refusal another
 * transaction cures is "too many recipients" (RFC 5321 4.5.3.1.10): the
 * message goes to those accepted, then MAIL again for the rest, as long as
 * each transaction gets at least one recipient accepted.  Once a
 * transaction has delivered, a failure says who has the message and who
 * has not, since retrying the whole run would give the first a second copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cred.h"
#include "dotstuff.h"
#include "hostname.h"
#include "log.h"
#include "proto.h"
#include "qp.h"
#include "sasl.h"
#include "smtp.h"
#include "status.h"
#include "submit.h"
#include "xalloc.h"

volatile sig_atomic_t submit_message_complete;

/* Whether a polite QUIT may still be sent. */
enum session_state {
	SESSION_READY,		/* between commands */
	SESSION_IN_DATA,	/* after 354: the server reads message text */
	SESSION_OUT_OF_SYNC,	/* a reply we could not make sense of */
};

struct session {
	struct conn *conn;
	const struct account *account;
	char *password;		/* NULL: no AUTH; wiped as soon as AUTH is over */
	const char *host_domain;	/* this host's domain name, or NULL */
	char address_literal[64];	/* EHLO's last resort: "[192.0.2.7]" */
	struct smtp_caps caps;
	enum session_state state;
};

/* What became of each recipient, over the transactions of one session. */
enum rcpt_state {
	RCPT_PENDING,		/* for the next transaction */
	RCPT_ACCEPTED,		/* accepted by RCPT in the current transaction */
	RCPT_DELIVERED,		/* the server took the message for it */
	RCPT_REFUSED,		/* refused permanently */
};

struct envelope_result {
	struct smtp_reply mail;
	struct smtp_reply data;
	size_t accepted;
	char temporary[600];	/* first recipient refused for now */
	char too_many[600];	/* first one refused as one too many (next transaction) */
};

/* One message, in as many transactions as the server's recipient limit
 * needs; the same header (Date, Message-ID) in each. */
struct delivery {
	const struct submission *s;
	struct outgoing out;
	long long size;			/* RFC 1870 message size; -1: not declared */
	enum rcpt_state *state;		/* per recipient, in s->recipients order */
	size_t *batch;			/* the recipients this transaction names */
	size_t batch_count;
	size_t delivered;
	char refused[600];		/* permanently refused recipients, for the message */
	size_t refused_count;
	struct envelope_result er;	/* the current transaction's envelope */
};

static int
read_reply(struct session *ss, struct smtp_reply *r, struct smtp_caps *caps)
{
	if (smtp_read_reply(ss->conn, r, caps) == 0)
		return 0;
	if (fail_class() == FAIL_PROTOCOL)
		ss->state = SESSION_OUT_OF_SYNC;
	return -1;
}

static int
expect(struct session *ss, int code, const char *what, enum failure permanent)
{
	struct smtp_reply r;

	if (read_reply(ss, &r, NULL) < 0)
		return -1;
	if (r.code != code)
		return smtp_refused(&r, what, permanent);
	return 0;
}

/* RFC 5321 4.1.4: the helo key, else this host's domain name, else the
 * address literal of this end of the connection; never a bare node name,
 * which servers with reject_non_fqdn_helo_hostname refuse. */
static const char *
ehlo_name(struct session *ss)
{
	if (ss->account->helo != NULL)
		return ss->account->helo;
	if (ss->host_domain != NULL)
		return ss->host_domain;
	if (ss->address_literal[0] == '\0' &&
	    conn_local_address(ss->conn, ss->address_literal, sizeof ss->address_literal) < 0)
		return NULL;
	return ss->address_literal;
}

static int
hello(struct session *ss)
{
	const char *name = ehlo_name(ss);
	struct smtp_reply r;

	if (name == NULL)
		return -1;
	memset(&ss->caps, 0, sizeof ss->caps);
	if (proto_send(ss->conn, "EHLO %s", name) < 0 || read_reply(ss, &r, &ss->caps) < 0)
		return -1;
	if (r.code == 250)
		return 0;
	if (r.code < 500)
		return smtp_refused(&r, "EHLO", FAIL_PERMANENT);
	/* A server that does not speak ESMTP: plain HELO, no extensions. */
	memset(&ss->caps, 0, sizeof ss->caps);
	if (proto_send(ss->conn, "HELO %s", name) < 0)
		return -1;
	return expect(ss, 250, "HELO", FAIL_PERMANENT);
}

/* tls = starttls never continues in plaintext, whatever the server says;
 * a failed upgrade leaves the connection unusable (conn_usable()), so not
 * even QUIT goes out in plaintext after it. */
static int
start_tls(struct session *ss)
{
	if (ss->account->tls != TLS_MODE_STARTTLS)
		return 0;
	if (!ss->caps.starttls)
		return fail(FAIL_PERMANENT, "the server does not offer STARTTLS, which "
		    "tls = starttls requires");
	if (proto_send(ss->conn, "STARTTLS") < 0 ||
	    expect(ss, 220, "STARTTLS", FAIL_PERMANENT) < 0 ||
	    conn_starttls(ss->conn) < 0)
		return -1;
	return hello(ss);
}

static int
auth_plain(struct session *ss, const char *user)
{
	char *response = sasl_plain_response(user, ss->password);
	int rc = proto_send_secret(ss->conn, "AUTH PLAIN <credentials>", "AUTH PLAIN %s",
	    response);

	cred_wipe_string(response);
	if (rc < 0)
		return -1;
	return expect(ss, 235, "authentication failed", FAIL_AUTH);
}

static int
auth_login_step(struct session *ss, const char *shown, const char *secret, int code)
{
	char *encoded = sasl_base64(secret);
	int rc = proto_send_secret(ss->conn, shown, "%s", encoded);

	cred_wipe_string(encoded);
	if (rc < 0)
		return -1;
	return expect(ss, code, "authentication failed", FAIL_AUTH);
}

static int
auth_login(struct session *ss, const char *user)
{
	if (proto_send(ss->conn, "AUTH LOGIN") < 0 ||
	    expect(ss, 334, "AUTH LOGIN", FAIL_AUTH) < 0 ||
	    auth_login_step(ss, "<user>", user, 334) < 0)
		return -1;
	return auth_login_step(ss, "<password>", ss->password, 235);
}

static int
choose_mechanism(const struct session *ss, enum auth_method *method_r)
{
	enum auth_method m = ss->account->auth;

	if (!ss->caps.auth)
		return fail(FAIL_PERMANENT, "the server does not offer AUTH, which this account "
		    "needs (user is set)");
	if (m == AUTH_AUTO)
		m = ss->caps.auth_plain ? AUTH_PLAIN : ss->caps.auth_login ? AUTH_LOGIN : AUTH_AUTO;
	if (m == AUTH_AUTO || (m == AUTH_PLAIN && !ss->caps.auth_plain) ||
	    (m == AUTH_LOGIN && !ss->caps.auth_login))
		return fail(FAIL_PERMANENT, "the server offers no AUTH mechanism we can use "
		    "(%s)", m == AUTH_LOGIN ? "LOGIN" : m == AUTH_PLAIN ? "PLAIN" :
		    "PLAIN or LOGIN");
	*method_r = m;
	return 0;
}

/* The password is wiped as soon as AUTH is over, whatever its outcome:
 * nothing after it needs the secret, and the message may take long. */
static int
authenticate(struct session *ss)
{
	enum auth_method method = AUTH_AUTO;
	int rc;

	if (ss->password == NULL)
		return 0;
	if (choose_mechanism(ss, &method) < 0)
		rc = -1;
	else
		rc = method == AUTH_PLAIN ? auth_plain(ss, ss->account->user)
					  : auth_login(ss, ss->account->user);
	cred_free(ss->password);
	ss->password = NULL;
	return rc;
}

static void
note_refused(struct delivery *d, const char *rcpt, const struct smtp_reply *r)
{
	size_t used = strlen(d->refused);

	snprintf(d->refused + used, sizeof d->refused - used, "%s%s: %s", used > 0 ? "; " : "",
	    rcpt, r->text);
	d->refused_count++;
}

/* A "too many recipients" 452 leaves the recipient pending, for the next
 * transaction; any other refusal is as the reply code says. */
static void
note_recipient_reply(struct delivery *d, size_t rcpt, const struct smtp_reply *r)
{
	struct envelope_result *er = &d->er;
	const char *name = d->s->recipients->items[rcpt];

	if (r->code >= 200 && r->code < 300) {
		d->state[rcpt] = RCPT_ACCEPTED;
		er->accepted++;
	} else if (smtp_too_many_recipients(r)) {
		if (er->too_many[0] == '\0')
			snprintf(er->too_many, sizeof er->too_many, "%s: %s", name, r->text);
	} else if (r->code < 500) {
		if (er->temporary[0] == '\0')
			snprintf(er->temporary, sizeof er->temporary, "%s: %s", name, r->text);
	} else {
		d->state[rcpt] = RCPT_REFUSED;
		note_refused(d, name, r);
	}
}

static int
send_mail_from(struct session *ss, const struct delivery *d)
{
	char size[32] = "";

	if (d->size >= 0)
		snprintf(size, sizeof size, " SIZE=%lld", d->size);
	return proto_send(ss->conn, "MAIL FROM:<%s>%s%s", d->s->envelope_from,
	    d->out.eight_bit && ss->caps.eightbitmime ? " BODY=8BITMIME" : "", size);
}

/* Command i of the envelope: 0 is MAIL, 1..n the RCPTs of the batch,
 * n + 1 DATA. */
static int
send_envelope_command(struct session *ss, const struct delivery *d, size_t i)
{
	if (i == 0)
		return send_mail_from(ss, d);
	if (i <= d->batch_count)
		return proto_send(ss->conn, "RCPT TO:<%s>",
		    d->s->recipients->items[d->batch[i - 1]]);
	return proto_send(ss->conn, "DATA");
}

static int
read_envelope_reply(struct session *ss, struct delivery *d, size_t i)
{
	struct smtp_reply r;

	if (read_reply(ss, &r, NULL) < 0)
		return -1;
	if (i == 0)
		d->er.mail = r;
	else if (i <= d->batch_count)
		note_recipient_reply(d, d->batch[i - 1], &r);
	else
		d->er.data = r;
	if (i > d->batch_count && r.code == 354)
		ss->state = SESSION_IN_DATA;
	return 0;
}

/* Lock-step only: whether command i is still worth sending.  After one
 * "too many recipients", the others of the batch would get the same. */
static bool
worth_sending(const struct delivery *d, size_t i)
{
	const struct envelope_result *er = &d->er;

	if (i == 0)
		return true;
	if (er->mail.code != 250)
		return false;
	if (i <= d->batch_count)
		return er->too_many[0] == '\0';
	return er->accepted > 0 && er->temporary[0] == '\0';
}

/* The pending recipients, in their order, are this transaction's batch. */
static void
start_batch(struct delivery *d)
{
	d->batch_count = 0;
	for (size_t i = 0; i < d->s->recipients->count; i++)
		if (d->state[i] == RCPT_PENDING)
			d->batch[d->batch_count++] = i;
	memset(&d->er, 0, sizeof d->er);
}

/* MAIL, RCPT..., DATA: with PIPELINING (RFC 2920) all sent at once and the
 * replies read in order; otherwise one at a time, leaving out what is
 * clearly not worth sending. */
static int
send_envelope(struct session *ss, struct delivery *d)
{
	size_t total;

	start_batch(d);
	total = d->batch_count + 2;
	if (ss->caps.pipelining) {
		for (size_t i = 0; i < total; i++)
			if (send_envelope_command(ss, d, i) < 0)
				return -1;
		for (size_t i = 0; i < total; i++)
			if (read_envelope_reply(ss, d, i) < 0)
				return -1;
		return 0;
	}
	for (size_t i = 0; i < total; i++)
		if (worth_sending(d, i) &&
		    (send_envelope_command(ss, d, i) < 0 || read_envelope_reply(ss, d, i) < 0))
			return -1;
	return 0;
}

/* Returns 0 to send the message, 1 when every recipient of the batch was
 * refused permanently (nothing to send; the run's result says so), or -1.
 * After 354 the only way to send no message is to drop the connection (the
 * state stays SESSION_IN_DATA, so no QUIT follows). */
static int
judge_envelope(const struct delivery *d)
{
	const struct envelope_result *er = &d->er;
	const char *nothing = d->delivered == 0 ? ", nothing sent" : "";

	if (er->mail.code != 250)
		return smtp_refused(&er->mail, "sender refused", FAIL_PERMANENT);
	if (er->temporary[0] != '\0')
		return fail(FAIL_TEMPORARY, "recipient refused for now%s: %s", nothing,
		    er->temporary);
	if (er->accepted == 0 && er->too_many[0] != '\0')
		return fail(FAIL_TEMPORARY, "recipient refused for now%s: %s", nothing,
		    er->too_many);
	if (er->accepted == 0)
		return 1;
	if (er->data.code != 354)
		return smtp_refused(&er->data, "DATA", FAIL_PERMANENT);
	return 0;
}

/* Where the stuffed message goes: the connection, or a count for SIZE.
 * Both passes run the very same transforms, so the count is exact. */
typedef int (*text_sink)(void *sink, const char *p, size_t n);

static int
to_connection(void *conn, const char *p, size_t n)
{
	return conn_write(conn, p, n);
}

struct octet_count {
	long long octets;
	bool at_line_start;
};

/* RFC 1870 section 4: the message size counts "CR-LF pairs, but not the
 * SMTP DATA command's terminating dot or doubled quoting dots".  Every
 * stuffed line that starts with "." starts with the dot the stuffer added. */
static int
to_count(void *count, const char *p, size_t n)
{
	struct octet_count *c = count;

	for (size_t i = 0; i < n; i++) {
		if (!c->at_line_start || p[i] != '.')
			c->octets++;
		c->at_line_start = p[i] == '\n';
	}
	return 0;
}

/* Dot-stuffs n bytes (at most STUFF_CHUNK at a time) into the sink. */
#define STUFF_CHUNK 8192

static int
write_stuffed(struct smtp_stuffer *st, const char *p, size_t n, text_sink sink, void *to)
{
	static char wire[2 * STUFF_CHUNK + 1];

	while (n > 0) {
		size_t chunk = n < STUFF_CHUNK ? n : STUFF_CHUNK;

		if (sink(to, wire, smtp_stuff(st, p, chunk, wire)) < 0)
			return -1;
		p += chunk;
		n -= chunk;
	}
	return 0;
}

/* Header from memory, body streamed from the spool (re-encoded on the way
 * when it has to be), all through the dot-stuffer; not its end. */
static int
stream_message(const struct delivery *d, struct smtp_stuffer *st, text_sink sink, void *to)
{
	static char in[4096], encoded[QP_OUT_MAX(4096)];
	const struct outgoing *out = &d->out;
	struct qp_encoder qp;
	off_t offset = out->body_offset;
	ssize_t n;

	qp_init(&qp);
	if (write_stuffed(st, out->header, out->header_length, sink, to) < 0)
		return -1;
	while ((n = spool_pread(d->s->spool, in, sizeof in, offset)) > 0) {
		offset += n;
		if (out->body_as_qp
		    ? write_stuffed(st, encoded, qp_encode(&qp, in, (size_t)n, encoded), sink, to) < 0
		    : write_stuffed(st, in, (size_t)n, sink, to) < 0)
			return -1;
	}
	if (n < 0)
		return -1;
	return out->body_as_qp ? write_stuffed(st, encoded, qp_finish(&qp, encoded), sink, to)
			       : 0;
}

/* The RFC 1870 message size, for MAIL FROM's SIZE=: the spool (a local
 * file, most likely still in the page cache) run once more through the
 * transforms of the wire into a count.  The line ending that completes a
 * last line without one belongs to the message; the final ".\r\n" not. */
static int
message_size(const struct delivery *d, long long *size_r)
{
	struct octet_count count = { .octets = 0, .at_line_start = true };
	struct smtp_stuffer st;
	char end[8];

	smtp_stuff_init(&st);
	if (stream_message(d, &st, to_count, &count) < 0)
		return -1;
	*size_r = count.octets + (long long)smtp_stuff_end(&st, end) - 3;
	return 0;
}

static int
send_message(struct session *ss, const struct delivery *d)
{
	struct smtp_stuffer st;
	char end[8];
	size_t n;

	smtp_stuff_init(&st);
	log_transcript("->", "<message>", 9);
	if (stream_message(d, &st, to_connection, ss->conn) < 0)
		return -1;
	log_transcript("->", ".", 1);
	n = smtp_stuff_end(&st, end);
	/* conn_write() only buffers these few bytes (a flush it makes sends
	 * what came before them); they leave with conn_flush().  Set first, so
	 * that a signal during the flush says the server may have it. */
	if (conn_write(ss->conn, end, n) < 0)
		return -1;
	submit_message_complete = 1;
	return conn_flush(ss->conn);
}

/* Only a 2xx here means the message is the server's; without any answer we
 * cannot know, and say so. */
static int
final_reply(struct session *ss)
{
	struct smtp_reply r;

	if (read_reply(ss, &r, NULL) < 0) {
		fail_context("no answer after the end of the message; it may have been "
		    "delivered, so a retry may send a duplicate");
		return fail_reclassify(FAIL_TEMPORARY);
	}
	ss->state = SESSION_READY;
	if (r.code < 200 || r.code >= 300)
		return smtp_refused(&r, "message refused", FAIL_PERMANENT);
	return 0;
}

static void
mark_delivered(struct delivery *d)
{
	for (size_t i = 0; i < d->batch_count; i++)
		if (d->state[d->batch[i]] == RCPT_ACCEPTED) {
			d->state[d->batch[i]] = RCPT_DELIVERED;
			d->delivered++;
		}
}

static int
transaction(struct session *ss, struct delivery *d)
{
	int rc = send_envelope(ss, d);

	if (rc == 0)
		rc = judge_envelope(d);
	if (rc == 1)
		return 0;	/* all refused permanently: nothing sent */
	if (rc == 0)
		rc = send_message(ss, d) < 0 ? -1 : final_reply(ss);
	if (rc == 0)
		mark_delivered(d);
	return rc;
}

static bool
any_pending(const struct delivery *d)
{
	for (size_t i = 0; i < d->s->recipients->count; i++)
		if (d->state[i] == RCPT_PENDING)
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

		if ((d->state[i] == RCPT_DELIVERED) != delivered)
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
	char sent[300], unsent[300];

	name_recipients(d, true, sent, sizeof sent);
	name_recipients(d, false, unsent, sizeof unsent);
	fail_context("sent to %s but not to %s (retry only for those, or the others get a "
	    "second copy)", sent, unsent);
}

/* The run's result once no transaction failed: permanent refusals, if
 * any, name the refused. */
static int
delivery_result(const struct delivery *d)
{
	if (d->refused_count == 0)
		return 0;
	if (d->delivered == 0)
		return fail(FAIL_RECIPIENT, "%s refused: %s",
		    d->s->recipients->count > 1 ? "all recipients" : "recipient", d->refused);
	return fail(FAIL_RECIPIENT, "sent to %zu recipient%s, but refused: %s", d->delivered,
	    d->delivered == 1 ? "" : "s", d->refused);
}

/* Transactions until every recipient is delivered or refused.  Each one
 * that succeeds settles at least one recipient, so there are at most as
 * many as recipients. */
static int
deliver_all(struct session *ss, struct delivery *d)
{
	int rc = 0;

	for (size_t n = 0; rc == 0 && n < d->s->recipients->count && any_pending(d); n++)
		rc = transaction(ss, d);
	if (rc < 0 && d->delivered > 0)
		explain_partial_delivery(d);
	return rc < 0 ? -1 : delivery_result(d);
}

/* The header is built once, after EHLO (whether 8BITMIME is offered
 * decides the encoding), so that every transaction sends the same message:
 * one Date, one Message-ID. */
static int
deliver(struct session *ss, struct submission *s)
{
	size_t count = s->recipients->count;
	struct delivery d = { .s = s, .size = -1 };
	int rc = 0;

	s->compose.server_8bitmime = ss->caps.eightbitmime;
	compose_build(s->message, &s->compose, &d.out);
	if (d.out.sent_unfit)
		log_info("the message has lines over 998 octets, NUL bytes or 8-bit data the "
		    "server did not agree to, and is not single-part text: sending it "
		    "unchanged for the server to judge");
	d.state = xcalloc(count, sizeof *d.state);
	d.batch = xcalloc(count, sizeof *d.batch);
	if (ss->caps.size)
		rc = message_size(&d, &d.size);
	if (rc == 0)
		rc = deliver_all(ss, &d);
	free(d.state);
	free(d.batch);
	compose_free(NULL, &d.out);
	return rc;
}

/* QUIT is a courtesy: its outcome never changes the run's result. */
static void
quit(struct session *ss)
{
	struct failure_record saved;
	struct smtp_reply r;

	if (ss->state != SESSION_READY || !conn_usable(ss->conn))
		return;
	fail_save(&saved);
	if (proto_send(ss->conn, "QUIT") == 0)
		smtp_read_reply(ss->conn, &r, NULL);
	fail_restore(&saved);
}

static int
session(struct session *ss, struct submission *s)
{
	struct endpoint ep;
	int rc;

	config_endpoint(s->account, &ep);
	fail_scope(s->account->name, ep.host, ep.port);
	if (conn_open(&ep, &ss->conn) < 0)
		return -1;
	rc = expect(ss, 220, "greeting", FAIL_PERMANENT) < 0 || hello(ss) < 0 ||
	    start_tls(ss) < 0 || authenticate(ss) < 0 || deliver(ss, s) < 0 ? -1 : 0;
	quit(ss);
	conn_close(ss->conn);
	return rc;
}

/* This host's domain name, when EHLO (no helo key) or the Message-ID (a
 * sender without a domain) needs it. */
static const char *
host_domain(const struct submission *s, char *buf, size_t size)
{
	if (s->account->helo != NULL && strchr(s->envelope_from, '@') != NULL)
		return NULL;
	return hostname_fqdn(buf, size) ? buf : NULL;
}

/* The password and the host's domain name are found before connecting: a
 * slow password_command or resolver must not hold a session open, and a
 * password failure needs no server at all. */
int
submit_message(struct submission *s)
{
	const struct account *a = s->account;
	struct session ss = { .account = a };
	char domain[HOSTNAME_MAX];
	int rc;

	if (a->auth != AUTH_NONE && a->user != NULL) {
		if (cred_password(a, &ss.password) < 0)
			return -1;
		if (ss.password == NULL)
			return fail(FAIL_CONFIG, "%s:%d: user is set but no password, "
			    "password_file or password_command", a->file, a->line);
	}
	ss.host_domain = host_domain(s, domain, sizeof domain);
	s->compose.host_domain = ss.host_domain;
	rc = session(&ss, s);
	cred_free(ss.password);		/* when the session ended before AUTH */
	return rc;
}
