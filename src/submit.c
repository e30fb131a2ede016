/*
 * One SMTP session, as a sequence of named steps: greeting, EHLO, STARTTLS
 * and EHLO again, AUTH, the envelope (pipelined when offered), the body,
 * QUIT.  Each step classifies its own failure; a failure ends the session.
 *
 * Recipients: a temporary refusal of any recipient sends nothing (75), so
 * that a retry cannot deliver twice to the others; permanent refusals of
 * some recipients still send to the rest, and the run ends with 67 naming
 * the refused ones.
 */
#include <stdio.h>
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

struct envelope_result {
	struct smtp_reply mail;
	struct smtp_reply data;
	size_t accepted;
	char temporary[600];	/* first recipient refused for now */
	char refused[600];	/* permanently refused recipients, for the message */
	size_t refused_count;
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
		return fail(FAIL_PERMANENT, "%s does not offer STARTTLS, which tls = starttls "
		    "requires", ss->account->host);
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
		return fail(FAIL_PERMANENT, "%s does not offer AUTH, which this account needs "
		    "(user is set)", ss->account->host);
	if (m == AUTH_AUTO)
		m = ss->caps.auth_plain ? AUTH_PLAIN : ss->caps.auth_login ? AUTH_LOGIN : AUTH_AUTO;
	if (m == AUTH_AUTO || (m == AUTH_PLAIN && !ss->caps.auth_plain) ||
	    (m == AUTH_LOGIN && !ss->caps.auth_login))
		return fail(FAIL_PERMANENT, "%s offers no AUTH mechanism we can use (%s)",
		    ss->account->host, m == AUTH_LOGIN ? "LOGIN" : m == AUTH_PLAIN ? "PLAIN" :
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
note_recipient_reply(struct envelope_result *er, const char *rcpt, const struct smtp_reply *r)
{
	size_t used;

	if (r->code >= 200 && r->code < 300) {
		er->accepted++;
	} else if (r->code < 500) {
		if (er->temporary[0] == '\0')
			snprintf(er->temporary, sizeof er->temporary, "%s: %s", rcpt, r->text);
	} else {
		used = strlen(er->refused);
		snprintf(er->refused + used, sizeof er->refused - used, "%s%s: %s",
		    used > 0 ? "; " : "", rcpt, r->text);
		er->refused_count++;
	}
}

/* An upper bound of what goes on the wire, for RFC 1870 SIZE: the header,
 * and the body tripled when it is re-encoded (=XX for every octet). */
static long long
size_estimate(const struct submission *s, const struct outgoing *out)
{
	long long body = (long long)(s->spool->size - out->body_offset);

	return (long long)out->header_length + (out->body_as_qp ? 3 * body : body);
}

static int
send_mail_from(struct session *ss, const struct submission *s, const struct outgoing *out)
{
	char size[32] = "";

	if (ss->caps.size)
		snprintf(size, sizeof size, " SIZE=%lld", size_estimate(s, out));
	return proto_send(ss->conn, "MAIL FROM:<%s>%s%s", s->envelope_from,
	    out->eight_bit && ss->caps.eightbitmime ? " BODY=8BITMIME" : "", size);
}

/* Command i of the envelope: 0 is MAIL, 1..n the RCPTs, n + 1 DATA. */
static int
send_envelope_command(struct session *ss, const struct submission *s,
	const struct outgoing *out, size_t i)
{
	if (i == 0)
		return send_mail_from(ss, s, out);
	if (i <= s->recipients->count)
		return proto_send(ss->conn, "RCPT TO:<%s>", s->recipients->items[i - 1]);
	return proto_send(ss->conn, "DATA");
}

static int
read_envelope_reply(struct session *ss, const struct submission *s, size_t i,
	struct envelope_result *er)
{
	struct smtp_reply r;

	if (read_reply(ss, &r, NULL) < 0)
		return -1;
	if (i == 0)
		er->mail = r;
	else if (i <= s->recipients->count)
		note_recipient_reply(er, s->recipients->items[i - 1], &r);
	else
		er->data = r;
	if (i > s->recipients->count && r.code == 354)
		ss->state = SESSION_IN_DATA;
	return 0;
}

/* Lock-step only: whether command i is still worth sending. */
static bool
worth_sending(const struct submission *s, const struct envelope_result *er, size_t i)
{
	if (i == 0)
		return true;
	if (er->mail.code != 250)
		return false;
	return i <= s->recipients->count || (er->accepted > 0 && er->temporary[0] == '\0');
}

/* MAIL, RCPT..., DATA: with PIPELINING (RFC 2920) all sent at once and the
 * replies read in order; otherwise one at a time, stopping as soon as it is
 * clear that no DATA should follow. */
static int
send_envelope(struct session *ss, const struct submission *s, const struct outgoing *out,
	struct envelope_result *er)
{
	size_t total = s->recipients->count + 2;

	memset(er, 0, sizeof *er);
	if (ss->caps.pipelining) {
		for (size_t i = 0; i < total; i++)
			if (send_envelope_command(ss, s, out, i) < 0)
				return -1;
		for (size_t i = 0; i < total; i++)
			if (read_envelope_reply(ss, s, i, er) < 0)
				return -1;
		return 0;
	}
	for (size_t i = 0; i < total && worth_sending(s, er, i); i++)
		if (send_envelope_command(ss, s, out, i) < 0 ||
		    read_envelope_reply(ss, s, i, er) < 0)
			return -1;
	return 0;
}

/* After 354 the only way to send no message is to drop the connection
 * (the state stays SESSION_IN_DATA, so no QUIT follows). */
static int
judge_envelope(const struct submission *s, const struct envelope_result *er)
{
	if (er->mail.code != 250)
		return smtp_refused(&er->mail, "sender refused", FAIL_PERMANENT);
	if (er->temporary[0] != '\0')
		return fail(FAIL_TEMPORARY, "recipient refused for now, nothing sent: %s",
		    er->temporary);
	if (er->accepted == 0)
		return fail(FAIL_RECIPIENT, "%s refused: %s",
		    s->recipients->count > 1 ? "all recipients" : "recipient", er->refused);
	if (er->data.code != 354)
		return smtp_refused(&er->data, "DATA", FAIL_PERMANENT);
	return 0;
}

/* Dot-stuffs n bytes (at most STUFF_CHUNK at a time) onto the connection. */
#define STUFF_CHUNK 8192

static int
send_stuffed(struct session *ss, struct smtp_stuffer *st, const char *p, size_t n)
{
	static char wire[2 * STUFF_CHUNK + 1];

	while (n > 0) {
		size_t chunk = n < STUFF_CHUNK ? n : STUFF_CHUNK;

		if (conn_write(ss->conn, wire, smtp_stuff(st, p, chunk, wire)) < 0)
			return -1;
		p += chunk;
		n -= chunk;
	}
	return 0;
}

/* Header from memory, body streamed from the spool (re-encoded on the way
 * when it has to be), all through the dot-stuffer. */
static int
send_message(struct session *ss, const struct submission *s, const struct outgoing *out)
{
	static char in[4096], encoded[QP_OUT_MAX(4096)];
	struct smtp_stuffer st;
	struct qp_encoder qp;
	off_t offset = out->body_offset;
	ssize_t n;
	char end[8];

	smtp_stuff_init(&st);
	qp_init(&qp);
	log_transcript("->", "<message>", 9);
	if (send_stuffed(ss, &st, out->header, out->header_length) < 0)
		return -1;
	while ((n = spool_pread(s->spool, in, sizeof in, offset)) > 0) {
		offset += n;
		if (out->body_as_qp
		    ? send_stuffed(ss, &st, encoded, qp_encode(&qp, in, (size_t)n, encoded)) < 0
		    : send_stuffed(ss, &st, in, (size_t)n) < 0)
			return -1;
	}
	if (n < 0 || (out->body_as_qp &&
	    send_stuffed(ss, &st, encoded, qp_finish(&qp, encoded)) < 0))
		return -1;
	log_transcript("->", ".", 1);
	if (conn_write(ss->conn, end, smtp_stuff_end(&st, end)) < 0)
		return -1;
	submit_message_complete = 1;	/* a flush may already have sent the dot */
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

static int
transaction(struct session *ss, struct submission *s)
{
	struct envelope_result er;
	struct outgoing out;
	int rc;

	s->compose.server_8bitmime = ss->caps.eightbitmime;
	compose_build(s->message, &s->compose, &out);
	if (out.sent_unfit)
		log_info("the message has lines over 998 octets, NUL bytes or 8-bit data the "
		    "server did not agree to, and is not single-part text: sending it "
		    "unchanged for the server to judge");
	rc = send_envelope(ss, s, &out, &er);
	if (rc == 0)
		rc = judge_envelope(s, &er);
	if (rc == 0)
		rc = send_message(ss, s, &out) < 0 ? -1 : final_reply(ss);
	compose_free(NULL, &out);
	if (rc == 0 && er.refused_count > 0)
		rc = fail(FAIL_RECIPIENT, "sent to %zu recipient%s, but refused: %s", er.accepted,
		    er.accepted == 1 ? "" : "s", er.refused);
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
	if (conn_open(&ep, &ss->conn) < 0)
		return -1;
	rc = expect(ss, 220, "greeting", FAIL_PERMANENT) < 0 || hello(ss) < 0 ||
	    start_tls(ss) < 0 || authenticate(ss) < 0 || transaction(ss, s) < 0 ? -1 : 0;
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
