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
#include <unistd.h>

#include "cred.h"
#include "dotstuff.h"
#include "log.h"
#include "proto.h"
#include "qp.h"
#include "sasl.h"
#include "smtp.h"
#include "status.h"
#include "submit.h"
#include "xalloc.h"

struct session {
	struct conn *conn;
	const struct account *account;
	struct smtp_caps caps;
	bool broken;		/* no QUIT possible: lost, or mid-DATA */
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
expect(struct session *ss, int code, const char *what, enum failure permanent)
{
	struct smtp_reply r;

	if (smtp_read_reply(ss->conn, &r, NULL) < 0)
		return -1;
	if (r.code != code)
		return smtp_refused(&r, what, permanent);
	return 0;
}

static int
hello(struct session *ss)
{
	const char *name = ss->account->helo;
	char host[256] = "localhost";
	struct smtp_reply r;

	if (name == NULL && gethostname(host, sizeof host - 1) == 0)
		name = host;
	memset(&ss->caps, 0, sizeof ss->caps);
	if (proto_send(ss->conn, "EHLO %s", name ? name : "localhost") < 0 ||
	    smtp_read_reply(ss->conn, &r, &ss->caps) < 0)
		return -1;
	if (r.code == 250) {
		ss->caps.esmtp = true;
		return 0;
	}
	if (r.code < 500)
		return smtp_refused(&r, "EHLO", FAIL_PERMANENT);
	/* A server that does not speak ESMTP: plain HELO, no extensions. */
	memset(&ss->caps, 0, sizeof ss->caps);
	if (proto_send(ss->conn, "HELO %s", name ? name : "localhost") < 0)
		return -1;
	return expect(ss, 250, "HELO", FAIL_PERMANENT);
}

/* tls = starttls never continues in plaintext, whatever the server says. */
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
auth_plain(struct session *ss, const char *user, const char *password)
{
	char *response = sasl_plain_response(user, password);
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
auth_login(struct session *ss, const char *user, const char *password)
{
	if (proto_send(ss->conn, "AUTH LOGIN") < 0 ||
	    expect(ss, 334, "AUTH LOGIN", FAIL_AUTH) < 0 ||
	    auth_login_step(ss, "<user>", user, 334) < 0)
		return -1;
	return auth_login_step(ss, "<password>", password, 235);
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

static int
authenticate(struct session *ss)
{
	const struct account *a = ss->account;
	enum auth_method method = AUTH_AUTO;
	char *password;
	int rc;

	if (a->auth == AUTH_NONE || a->user == NULL)
		return 0;
	if (choose_mechanism(ss, &method) < 0 || cred_password(a, &password) < 0)
		return -1;
	if (password == NULL)
		return fail(FAIL_CONFIG, "%s:%d: user is set but no password, password_file "
		    "or password_command", a->file, a->line);
	rc = method == AUTH_PLAIN ? auth_plain(ss, a->user, password)
				  : auth_login(ss, a->user, password);
	cred_free(password);
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

static void
mail_parameters(const struct session *ss, const struct outgoing *out, off_t size,
	char *params, size_t cap)
{
	int n = 0;

	params[0] = '\0';
	if (out->eight_bit && ss->caps.eightbitmime)
		n = snprintf(params, cap, " BODY=8BITMIME");
	if (ss->caps.size > 0 && n >= 0 && (size_t)n < cap)
		snprintf(params + n, cap - (size_t)n, " SIZE=%lld", (long long)size);
}

/* MAIL, RCPT..., DATA: with PIPELINING all sent at once and the replies
 * read in order; otherwise one by one, stopping as soon as it is clear
 * that no DATA should follow. */
static int
send_envelope(struct session *ss, const struct submission *s, const struct outgoing *out,
	struct envelope_result *er)
{
	const struct strlist *rcpts = s->recipients;
	bool pipelined = ss->caps.pipelining;
	char params[64];
	size_t sent = 0, read = 0, total = rcpts->count + 2;

	mail_parameters(ss, out, s->spool->size + (off_t)out->header_length, params,
	    sizeof params);
	memset(er, 0, sizeof *er);
	while (sent < total) {
		bool data_is_next = sent == total - 1;

		if (!pipelined && ((sent > 0 && er->mail.code != 250) ||
		    (data_is_next && (er->accepted == 0 || er->temporary[0] != '\0'))))
			break;
		if ((sent == 0 ? proto_send(ss->conn, "MAIL FROM:<%s>%s", s->envelope_from, params)
		    : data_is_next ? proto_send(ss->conn, "DATA")
		    : proto_send(ss->conn, "RCPT TO:<%s>", rcpts->items[sent - 1])) < 0)
			return -1;
		sent++;
		for (; read < sent && (!pipelined || sent == total); read++) {
			struct smtp_reply r;

			if (smtp_read_reply(ss->conn, &r, NULL) < 0)
				return -1;
			if (read == 0)
				er->mail = r;
			else if (read == total - 1)
				er->data = r;
			else
				note_recipient_reply(er, rcpts->items[read - 1], &r);
		}
	}
	return 0;
}

static int
judge_envelope(struct session *ss, const struct submission *s, const struct envelope_result *er)
{
	/* DATA accepted but nothing should be sent: only closing the
	 * connection ends the transaction without a message. */
	if (er->data.code == 354 && (er->accepted == 0 || er->temporary[0] != '\0'))
		ss->broken = true;
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

static int
send_stuffed(struct session *ss, struct smtp_stuffer *st, const char *p, size_t n)
{
	static char wire[2 * QP_OUT_MAX(4096) + 1];

	while (n > 0) {
		size_t chunk = n < QP_OUT_MAX(4096) ? n : QP_OUT_MAX(4096);

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
	return conn_write(ss->conn, end, smtp_stuff_end(&st, end));
}

static int
final_reply(struct session *ss)
{
	struct smtp_reply r;

	if (smtp_read_reply(ss->conn, &r, NULL) < 0) {
		ss->broken = true;
		fail_context("no answer after the end of the message; it may have been "
		    "delivered, so a retry may send a duplicate");
		return fail_reclassify(FAIL_TEMPORARY);
	}
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
	if (s->message->body.longest_line > 998 && !out.body_as_qp)
		log_info("message has lines over 998 octets and is not single-part text; "
		    "sending it unchanged for the server to judge");
	rc = send_envelope(ss, s, &out, &er);
	if (rc == 0)
		rc = judge_envelope(ss, s, &er);
	if (rc == 0) {
		ss->broken = true;	/* until the final reply */
		rc = send_message(ss, s, &out) < 0 ? -1 : final_reply(ss);
		ss->broken = rc < 0 && fail_class() != FAIL_PERMANENT;
	}
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

	if (ss->broken)
		return;
	fail_save(&saved);
	if (proto_send(ss->conn, "QUIT") == 0)
		smtp_read_reply(ss->conn, &r, NULL);
	fail_restore(&saved);
}

int
submit_message(struct submission *s)
{
	struct session ss = { .account = s->account };
	struct endpoint ep;
	int rc;

	config_endpoint(s->account, &ep);
	if (conn_open(&ep, &ss.conn) < 0)
		return -1;
	rc = expect(&ss, 220, "greeting", FAIL_PERMANENT);
	if (rc == 0)
		rc = hello(&ss) < 0 || start_tls(&ss) < 0 || authenticate(&ss) < 0 ||
		    transaction(&ss, s) < 0 ? -1 : 0;
	if (rc < 0 && (fail_class() == FAIL_TEMPORARY || fail_class() == FAIL_PROTOCOL))
		ss.broken = true;
	quit(&ss);
	conn_close(ss.conn);
	return rc;
}
