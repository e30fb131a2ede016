/*
 * The SMTP session, as POP3's is in pop3.c: every command we send and
 * every reply we read between connecting and QUIT goes through here, in
 * blocking call-and-check style.  The replies themselves are read by
 * smtp-reply.c.
 *
 * The session keeps one state that decides whether a polite QUIT may still
 * go out: not inside the message text (the server would take it for text)
 * and not after a reply we could not make sense of (we no longer know
 * which command the next reply answers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dotstuff.h"
#include "log.h"
#include "proto.h"
#include "sasl.h"
#include "smtp.h"
#include "status.h"
#include "xalloc.h"

/* "[IPv6:" and the longest IPv6 text (INET6_ADDRSTRLEN) and "]". */
#define ADDRESS_LITERAL_MAX 64

/* Whether a polite QUIT may still be sent. */
enum smtp_state {
	SMTP_READY,		/* between commands */
	SMTP_IN_DATA,		/* after 354: the server reads message text */
	SMTP_OUT_OF_SYNC,	/* a reply we could not read or make sense of */
};

struct smtp {
	struct conn *conn;
	struct smtp_caps caps;
	enum smtp_state state;
	char *ehlo_name;	/* NULL: this end's address literal */
	char address_literal[ADDRESS_LITERAL_MAX];
	struct smtp_reply greeting;	/* as read, for --serverinfo */
	const char *auth_mechanism;	/* what the last AUTH tried, or NULL */
};

/* ---- replies ---- */

/* Every failure to read a reply leaves the session out of step with the
 * server (or the connection unusable), so no QUIT follows it. */
static int
read_reply(struct smtp *s, struct smtp_reply *r, struct smtp_caps *caps)
{
	if (smtp_read_reply(s->conn, r, caps) == 0)
		return 0;
	s->state = SMTP_OUT_OF_SYNC;
	return -1;
}

static int
expect(struct smtp *s, int code, const char *what, enum failure permanent)
{
	struct smtp_reply r;

	if (read_reply(s, &r, NULL) < 0)
		return -1;
	if (r.code != code)
		return smtp_refused(&r, what, permanent);
	return 0;
}

/* ---- session set-up ---- */

struct smtp *
smtp_open_conn(struct conn *c)
{
	struct smtp *s = xcalloc(1, sizeof *s);

	s->conn = c;
	s->state = SMTP_READY;
	return s;
}

int
smtp_open(const struct endpoint *ep, struct smtp **s_r)
{
	struct conn *c;

	if (conn_open(ep, &c) < 0)
		return -1;
	*s_r = smtp_open_conn(c);
	return 0;
}

int
smtp_greeting(struct smtp *s)
{
	if (read_reply(s, &s->greeting, NULL) < 0)
		return -1;
	if (s->greeting.code != 220)
		return smtp_refused(&s->greeting, "greeting", FAIL_PERMANENT);
	return 0;
}

const char *
smtp_tls_version(const struct smtp *s)
{
	return s != NULL ? conn_tls_version(s->conn) : NULL;
}

const struct smtp_caps *
smtp_caps(const struct smtp *s)
{
	return &s->caps;
}

const char *
smtp_greeting_text(const struct smtp *s)
{
	return s->greeting.text;
}

const char *
smtp_auth_mechanism(const struct smtp *s)
{
	return s->auth_mechanism;
}

static const char *
ehlo_name(struct smtp *s)
{
	if (s->ehlo_name != NULL)
		return s->ehlo_name;
	if (s->address_literal[0] == '\0' &&
	    conn_local_address(s->conn, s->address_literal, sizeof s->address_literal) < 0)
		return NULL;
	return s->address_literal;
}

static int
hello(struct smtp *s)
{
	const char *name = ehlo_name(s);
	struct smtp_reply r;

	if (name == NULL)
		return -1;
	memset(&s->caps, 0, sizeof s->caps);
	if (proto_send(s->conn, "EHLO %s", name) < 0 || read_reply(s, &r, &s->caps) < 0)
		return -1;
	if (r.code == 250) {
		s->caps.known = true;
		return 0;
	}
	if (r.code < 500)
		return smtp_refused(&r, "EHLO", FAIL_PERMANENT);
	/* A server that does not speak ESMTP: plain HELO, no extensions. */
	memset(&s->caps, 0, sizeof s->caps);
	if (proto_send(s->conn, "HELO %s", name) < 0)
		return -1;
	return expect(s, 250, "HELO", FAIL_PERMANENT);
}

int
smtp_hello(struct smtp *s, const char *name)
{
	free(s->ehlo_name);
	s->ehlo_name = name != NULL ? xstrdup(name) : NULL;
	return hello(s);
}

int
smtp_starttls(struct smtp *s)
{
	if (!s->caps.starttls)
		return fail(FAIL_PERMANENT, "the server does not offer STARTTLS, which "
		    "tls = starttls requires");
	if (proto_send(s->conn, "STARTTLS") < 0 || expect(s, 220, "STARTTLS", FAIL_PERMANENT) < 0 ||
	    conn_starttls(s->conn) < 0)
		return -1;
	return hello(s);
}

/* ---- AUTH: the wire of the SASL exchange (sasl.h) ---- */

/* The line an AUTH with its initial response may take: RFC 4954 section
 * 4 keeps it within RFC 5321's command line, 512 octets with the CRLF.
 * (Postfix reads no more than 2048; an OAuth2 token of Microsoft's is
 * longer than either, and goes after the 334.) */
#define AUTH_COMMAND_MAX 512

static int
auth_send(void *arg, const char *line, const char *shown)
{
	struct smtp *s = arg;

	if (shown == NULL)
		return proto_send(s->conn, "%s", line);
	return proto_send_secret(s->conn, shown, "%s", line);
}

/* A refusal, with what the mechanism learnt before it, and what to
 * change when the provider's reply says (those replies are all 5xx). */
static int
auth_refused(const struct smtp_reply *r, const struct sasl_wait *w)
{
	struct smtp_reply noted = *r;
	const char *hint = smtp_auth_hint(r), *what = "authentication failed";
	char auth_what[64];

	if (*w->note != '\0')
		snprintf(noted.text, sizeof noted.text, "%.300s; %s", r->text, w->note);
	if (w->go_ahead) {
		snprintf(auth_what, sizeof auth_what, "AUTH %s", w->mech);
		what = auth_what;
	}
	if (hint != NULL)
		return fail(FAIL_AUTH, "%s: %s -- %s", what, noted.text, hint);
	return smtp_refused(&noted, what, FAIL_AUTH);
}

static int
auth_read(void *arg, const struct sasl_wait *w, const char **challenge_r)
{
	struct smtp *s = arg;
	struct smtp_reply r;

	if (smtp_read_challenge(s->conn, &r, w->hidden, challenge_r) < 0) {
		s->state = SMTP_OUT_OF_SYNC;
		return -1;
	}
	if (*challenge_r != NULL)
		return 1;
	return r.code == 235 ? 0 : auth_refused(&r, w);
}

/* The mechanism for method among those the server offers. */
static int
choose_mechanism(const struct smtp *s, enum auth_method m, const char *password,
	enum sasl_mech *mech_r)
{
	if (!s->caps.auth)
		return fail(FAIL_PERMANENT, "the server does not offer AUTH, which this account "
		    "needs (user is set)");
	if (m == AUTH_AUTO) {
		if (sasl_choose(s->caps.auth_mechs, password, mech_r) < 0)
			return fail(FAIL_PERMANENT, "the server offers no AUTH mechanism we can "
			    "use (SCRAM-SHA-256, PLAIN or LOGIN)");
		return 0;
	}
	if (sasl_mech_of(m, mech_r) < 0 || !(s->caps.auth_mechs & SASL_BIT(*mech_r)))
		return fail(FAIL_PERMANENT, "the server offers no AUTH mechanism we can use (%s)",
		    sasl_mech_of(m, mech_r) == 0 ? sasl_mech_name(*mech_r) : "none asked for");
	return 0;
}

int
smtp_auth(struct smtp *s, enum auth_method method, const char *user, const char *password)
{
	struct sasl_credentials cred = { .user = user, .secret = password,
		.host = conn_peer_host(s->conn), .port = conn_peer_port(s->conn) };
	struct sasl_wire wire = { .command_max = AUTH_COMMAND_MAX, .send = auth_send,
		.read = auth_read, .arg = s };
	enum sasl_mech mech;

	if (choose_mechanism(s, method, password, &mech) < 0)
		return -1;
	s->auth_mechanism = sasl_mech_name(mech);
	return sasl_authenticate(mech, &cred, &wire);
}

/* ---- the envelope ---- */

void
smtp_envelope_init(struct smtp_envelope *e, const char *from)
{
	memset(e, 0, sizeof *e);
	e->from = from;
	e->size = -1;
	smtp_envelope_clear(e);
}

void
smtp_envelope_clear(struct smtp_envelope *e)
{
	e->mail = (struct smtp_step){ .kind = SMTP_STEP_MAIL };
	e->data = (struct smtp_step){ .kind = SMTP_STEP_DATA };
	e->rcpt_count = 0;
}

void
smtp_envelope_add(struct smtp_envelope *e, const char *rcpt, size_t index)
{
	e->rcpts = xgrow(e->rcpts, &e->rcpt_alloc, e->rcpt_count + 1, sizeof *e->rcpts);
	e->rcpts[e->rcpt_count++] = (struct smtp_step){ .kind = SMTP_STEP_RCPT, .rcpt = rcpt,
		.rcpt_index = index };
}

void
smtp_envelope_free(struct smtp_envelope *e)
{
	free(e->rcpts);
	e->rcpts = NULL;
	e->rcpt_alloc = 0;
}

static int
send_mail_from(struct smtp *s, const struct smtp_envelope *e)
{
	char size[32] = "", dsn[DSN_MAIL_PARAMETERS_MAX];

	if (e->size >= 0 && s->caps.size)
		snprintf(size, sizeof size, " SIZE=%lld", e->size);
	dsn_mail_parameters(e->dsn, dsn);
	return proto_send(s->conn, "MAIL FROM:<%s>%s%s%s%s", e->from,
	    e->eight_bit && s->caps.eightbitmime ? " BODY=8BITMIME" : "", size,
	    e->smtputf8 ? " SMTPUTF8" : "", dsn);
}

/* RFC 3461 4.1: NOTIFY on every RCPT, when asked. */
static int
send_rcpt_to(struct smtp *s, const struct smtp_envelope *e, const struct smtp_step *step)
{
	if (e->dsn == NULL || e->dsn->notify == NULL)
		return proto_send(s->conn, "RCPT TO:<%s>", step->rcpt);
	return proto_send(s->conn, "RCPT TO:<%s> NOTIFY=%s", step->rcpt, e->dsn->notify);
}

static int
send_step(struct smtp *s, const struct smtp_envelope *e, struct smtp_step *step)
{
	step->sent = true;
	if (step->kind == SMTP_STEP_MAIL)
		return send_mail_from(s, e);
	if (step->kind == SMTP_STEP_RCPT)
		return send_rcpt_to(s, e, step);
	return proto_send(s->conn, "DATA");
}

/* The reply to step, for the policy too; after a 354 to DATA the server
 * reads message text. */
static int
read_step(struct smtp *s, const struct smtp_envelope *e, struct smtp_step *step,
	const struct smtp_envelope_policy *p)
{
	if (read_reply(s, &step->reply, NULL) < 0)
		return -1;
	if (step->kind == SMTP_STEP_DATA && step->reply.code == 354)
		s->state = SMTP_IN_DATA;
	p->noted(p->arg, e, step);
	return 0;
}

static int
send_and_read_step(struct smtp *s, const struct smtp_envelope *e, struct smtp_step *step,
	const struct smtp_envelope_policy *p)
{
	if (!p->wanted(p->arg, e, step))
		return 0;
	if (send_step(s, e, step) < 0)
		return -1;
	return read_step(s, e, step, p);
}

static int
send_only_step(struct smtp *s, const struct smtp_envelope *e, struct smtp_step *step,
	const struct smtp_envelope_policy *p)
{
	(void)p;
	return send_step(s, e, step);
}

typedef int step_fn(struct smtp *s, const struct smtp_envelope *e, struct smtp_step *step,
	const struct smtp_envelope_policy *p);

/* fn on every step in the order of the wire, until one fails. */
static int
each_step(struct smtp *s, struct smtp_envelope *e, const struct smtp_envelope_policy *p,
	step_fn *fn)
{
	if (fn(s, e, &e->mail, p) < 0)
		return -1;
	for (size_t i = 0; i < e->rcpt_count; i++)
		if (fn(s, e, &e->rcpts[i], p) < 0)
			return -1;
	return fn(s, e, &e->data, p);
}

int
smtp_send_envelope(struct smtp *s, struct smtp_envelope *e, const struct smtp_envelope_policy *p)
{
	if (!s->caps.pipelining)
		return each_step(s, e, p, send_and_read_step);
	if (each_step(s, e, p, send_only_step) < 0)
		return -1;
	return each_step(s, e, p, read_step);
}

/* ---- the message text ---- */

int
smtp_send_body(struct smtp *s, const struct smtp_message *m, volatile sig_atomic_t *ended_r)
{
	struct smtp_stuffer st;
	char end[8];
	size_t n;

	smtp_stuff_init(&st);
	log_transcript("->", "<message>", 9);
	if (smtp_text_write(s->conn, m, &st) < 0)
		return -1;
	log_transcript("->", ".", 1);
	n = smtp_stuff_end(&st, end);
	/* conn_write() only buffers these few bytes (a flush it makes sends
	 * what came before them); they leave with conn_flush().  Set first, so
	 * that a signal during the flush says the server may have it. */
	if (conn_write(s->conn, end, n) < 0)
		return -1;
	*ended_r = 1;
	return conn_flush(s->conn);
}

int
smtp_read_final(struct smtp *s, struct smtp_reply *r)
{
	if (smtp_read_final_reply(s->conn, r) < 0) {
		s->state = SMTP_OUT_OF_SYNC;
		return -1;
	}
	s->state = SMTP_READY;
	return 0;
}

/* ---- between messages (a queue flush sends many in one session) ---- */

bool
smtp_usable(const struct smtp *s)
{
	return s->state == SMTP_READY && conn_usable(s->conn);
}

int
smtp_reset(struct smtp *s)
{
	if (!smtp_usable(s))
		return fail(FAIL_TEMPORARY, "the connection cannot be used for another message");
	if (proto_send(s->conn, "RSET") < 0)
		return -1;
	return expect(s, 250, "RSET", FAIL_PROTOCOL);
}

/* ---- the end of a session ---- */

/* QUIT goes out and the 221 is not waited for: every message's fate was
 * settled by its final reply, and the 221 would only cost a round trip
 * (Postfix's own client skips it too: smtp_skip_quit_response).  The
 * transport below records its own failures (a server that hung up
 * already), so the record is kept aside meanwhile. */
void
smtp_quit(struct smtp *s)
{
	struct failure_record saved;

	if (s == NULL || s->state != SMTP_READY || !conn_usable(s->conn))
		return;
	fail_save(&saved);
	if (proto_send(s->conn, "QUIT") == 0)
		conn_flush(s->conn);
	fail_restore(&saved);
}

void
smtp_close(struct smtp *s)
{
	if (s == NULL)
		return;
	conn_close(s->conn);
	free(s->ehlo_name);
	free(s);
}
