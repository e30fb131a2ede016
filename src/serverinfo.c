/*
 * --serverinfo: what a user needs to set up or debug an account, from the
 * session a real run would have, without sending or fetching anything.
 * The session is opened by the policies' own code (submit_open_observed()
 * for SMTP, fetch_connect() for POP3), so the endpoint, the TLS mode and
 * verification, the timeout and deadline and the choice of login
 * mechanism cannot drift from a real run's; this module only watches and
 * prints.  It runs the whole session first and prints afterwards: a
 * failure (an untrusted certificate, a refused login) still shows
 * everything learnt before it, and the exit code is the real run's.
 *
 * The output is "key: value" lines on stdout, stable for scripts; every
 * value goes through log.c's escaping, since most of it is the server's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "certinfo.h"
#include "clock.h"
#include "endpoint.h"
#include "fetch.h"
#include "log.h"
#include "pop3.h"
#include "proto.h"
#include "serverinfo.h"
#include "smtp.h"
#include "status.h"
#include "submit.h"

#define VALUE_MAX 2048

/* One "key: value" line, the value escaped (key is always ours). */
static void __attribute__((format(printf, 2, 3)))
say(const char *key, const char *fmt, ...)
{
	char text[VALUE_MAX], escaped[4 * VALUE_MAX + 1];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	log_escape(text, (size_t)len < sizeof text ? (size_t)len : sizeof text - 1, escaped,
	    sizeof escaped);
	printf("%s: %s\n", key, escaped);
}

static const char *
tls_mode_name(enum tls_mode mode)
{
	switch (mode) {
	case TLS_MODE_STARTTLS: return "starttls";
	case TLS_MODE_IMPLICIT: return "implicit";
	default: return "off";
	}
}

static void
say_account(const struct account *a)
{
	say("account", "%s", a->name);
	say("server", "%s port %u, tls = %s", a->host, a->port, tls_mode_name(a->tls));
}

/* ---- TLS and the certificates ---- */

static void
say_certificate(const struct tls_peer *peer, size_t i)
{
	struct cert_facts f;
	char key[64];

	if (!certinfo_facts(peer, i, &f))
		return;
	snprintf(key, sizeof key, "certificate %zu subject", i + 1);
	say(key, "%s", f.subject);
	snprintf(key, sizeof key, "certificate %zu issuer", i + 1);
	say(key, "%s", f.issuer);
	snprintf(key, sizeof key, "certificate %zu names", i + 1);
	say(key, "%s", f.names[0] != '\0' ? f.names : "(none)");
	snprintf(key, sizeof key, "certificate %zu validity", i + 1);
	say(key, "%s", f.validity);
}

static void
say_tls(const struct account *a, const struct tls_peer *peer)
{
	char fp[CERTINFO_FINGERPRINT_TEXT];

	if (a->tls == TLS_MODE_OFF) {
		say("tls", "none (tls = off)");
		return;
	}
	if (!peer->tried) {
		say("tls", "not started");
		return;
	}
	if (peer->established)
		say("tls", "%s %s", peer->protocol, peer->cipher);
	else
		say("tls", "handshake failed");
	for (size_t i = 0; i < certinfo_count(peer); i++)
		say_certificate(peer, i);
	if (certinfo_leaf_fingerprint(peer, fp))
		say("fingerprint", "%s", fp);
	say("verification", "%s", peer->verification);
}

/* ---- capabilities ---- */

static void
say_offered_lines(const char *offered, bool cut, const char *key)
{
	for (const char *line = offered; *line != '\0';) {
		size_t len = strcspn(line, "\n");

		say(key, "%.*s", (int)len, line);
		line += len + (line[len] == '\n');
	}
	if (cut)
		say("capabilities", "more not shown (over %d bytes)", PROTO_OFFERED_MAX);
}

static void
say_yes_no(bool offered, const char *key)
{
	say(key, "%s", offered ? "yes" : "no");
}

/* A keyword's value as the session parsed it, or "not announced". */
static void
say_value(bool offered, const char *value, const char *key, const char *none)
{
	if (!offered)
		say(key, "not announced");
	else
		say(key, "%s", value[0] != '\0' ? value : none);
}

/* RFC 1870: SIZE without a number, or 0, sets no limit. */
static void
say_size_limit(const struct smtp_caps *caps)
{
	if (!caps->size)
		say("size limit", "not announced");
	else if (caps->size_text[0] == '\0' || strcmp(caps->size_text, "0") == 0)
		say("size limit", "none");
	else
		say("size limit", "%s bytes", caps->size_text);
}

/* A session whose TLS failed keeps what the server offered in plaintext,
 * which is not what a run would use: shown apart, without the summary. */
static bool
caps_before_tls(const struct account *a, const struct tls_peer *peer, const char *offered,
	bool cut)
{
	if (a->tls == TLS_MODE_OFF || peer->established)
		return false;
	say_offered_lines(offered, cut, "capability before tls");
	return true;
}

static void
say_smtp_caps(const struct smtp_caps *caps)
{
	if (!caps->known) {
		say("capabilities", "unknown (EHLO not answered with 250)");
		return;
	}
	say_offered_lines(caps->offered, caps->offered_cut, "capability");
	say_size_limit(caps);
	say_value(caps->auth, caps->auth_text, "auth mechanisms", "none");
	say_yes_no(caps->pipelining, "pipelining");
	say_yes_no(caps->eightbitmime, "8bitmime");
	say_yes_no(caps->smtputf8, "smtputf8");
	say_yes_no(caps->dsn, "dsn");
}

static void
say_pop3_caps(const struct pop3_caps *caps)
{
	if (!caps->answered) {
		say("capabilities", "unknown (CAPA not answered)");
		return;
	}
	if (!caps->known) {
		say("capabilities", "unknown (CAPA refused: an RFC 1939 server)");
		return;
	}
	say_offered_lines(caps->offered, caps->offered_cut, "capability");
	say_value(caps->sasl, caps->sasl_text, "sasl mechanisms", "none");
	say_yes_no(caps->uidl, "uidl");
	say_yes_no(caps->pipelining, "pipelining");
	say_yes_no(caps->top, "top");
	say_value(caps->expire, caps->expire_text, "expire", "(no value)");
	/* Not "login-delay": only the login line may begin with "login". */
	say_value(caps->login_delay, caps->login_delay_text, "delay between logins",
	    "(no value)");
}

/* ---- the login ---- */

/* mechanism: what the login tried (NULL: it was not reached). */
static void
say_login(int rc, bool wanted, const char *mechanism)
{
	if (rc == 0 && !wanted)
		say("login", "not tried (no credentials configured)");
	else if (rc == 0)
		say("login", "ok (%s)", mechanism != NULL ? mechanism : "?");
	else if (mechanism != NULL)
		say("login", "failed: %s", fail_reason());
	else
		say("login", "not tried: %s", fail_reason());
}

/* ---- the two commands ---- */

/* The session's result, unless it worked and the output was lost: a
 * failure already recorded is the one to report. */
static int
output_written(int rc)
{
	if (rc < 0) {
		fflush(stdout);
		return rc;
	}
	return status_stdout_written();
}

/* What a real run of mailpipe-send authenticates with (submit.c). */
static bool
smtp_logs_in(const struct account *a)
{
	return (a->user != NULL && auth_method_needs_secret(a->auth)) ||
	    a->auth == AUTH_EXTERNAL;
}

int
serverinfo_send(const struct account *a)
{
	struct tls_peer peer = { 0 };
	struct submit_session *ss = NULL;
	enum attempt_stage stage;
	const struct smtp *smtp;
	int rc;

	rc = submit_open_observed(a, a->from != NULL ? a->from : "", &peer, &ss, &stage);
	smtp = submit_smtp(ss);
	say_account(a);
	if (smtp != NULL && smtp_greeting_text(smtp)[0] != '\0')
		say("greeting", "%s", smtp_greeting_text(smtp));
	say_tls(a, &peer);
	if (smtp != NULL && !caps_before_tls(a, &peer, smtp_caps(smtp)->offered,
	    smtp_caps(smtp)->offered_cut))
		say_smtp_caps(smtp_caps(smtp));
	say_login(rc, smtp_logs_in(a), smtp != NULL ? smtp_auth_mechanism(smtp) : NULL);
	rc = output_written(rc);
	submit_close(ss);	/* QUIT, which never changes the result */
	certinfo_free(&peer);
	return rc;
}

/* QUIT, without letting its outcome replace the one that matters: after
 * a login no DELE was sent, so nothing is deleted. */
static void
quit_politely(struct pop3 *pop, int rc)
{
	struct failure_record saved;

	if (pop == NULL || !pop3_idle(pop))
		return;
	fail_save(&saved);
	pop3_quit(pop);
	if (rc < 0)
		fail_restore(&saved);
	else
		fail_clear();
}

int
serverinfo_fetch(const struct account *a)
{
	struct tls_peer peer = { 0 };
	struct endpoint ep;
	struct pop3 *pop = NULL;
	int rc;

	endpoint_of(a, clock_now_ms(), &ep);
	ep.tls_options.peer = &peer;
	rc = fetch_connect(a, &ep, &pop);
	say_account(a);
	if (pop != NULL && pop3_greeting_text(pop)[0] != '\0')
		say("greeting", "%s", pop3_greeting_text(pop));
	say_tls(a, &peer);
	if (pop != NULL && !caps_before_tls(a, &peer, pop3_caps(pop)->offered,
	    pop3_caps(pop)->offered_cut))
		say_pop3_caps(pop3_caps(pop));
	say_login(rc, true, pop != NULL ? pop3_login_mechanism(pop) : NULL);
	rc = output_written(rc);
	quit_politely(pop, rc);
	pop3_close(pop);
	certinfo_free(&peer);
	return rc;
}
