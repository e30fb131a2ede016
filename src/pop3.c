/*
 * POP3 client dialogue: the commands, in order, over a conn; reading the
 * server's answers is pop3-reply.c's.
 *
 * Every exchange is "send, then read one status line".  The session keeps
 * a count of answers still owed by the server, so that pipelined commands
 * are read back in order and so that pop3_quit() never sends QUIT into the
 * middle of a message body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "pop3.h"
#include "pop3-private.h"
#include "proto.h"
#include "sasl.h"
#include "xalloc.h"

/* A hostile server could list capabilities forever. */
#define CAPA_LINES_MAX 1000

/* The server removes the messages marked for deletion before it answers
 * QUIT: Dovecot took over two minutes for 50,000.  The wait for that
 * answer is `timeout` plus this much a DELE (clock.h bounds the extra). */
#define QUIT_MS_PER_DELE 10

static int read_capa(struct pop3 *p);

int
pop3_settle_capa(struct pop3 *p)
{
	if (!p->capa_due)
		return 0;
	p->capa_due = false;
	return read_capa(p);
}

/* Reads one status line; the caller looks at st->ok. */
static int
read_status(struct pop3 *p, struct pop3_status *st)
{
	if (pop3_settle_capa(p) < 0 || pop3_read_status(p->c, st) < 0) {
		p->broken = true;
		return -1;
	}
	return 0;
}

/* A -ERR to what: a failure of class dflt (or as its response code
 * says); returns POP3_REFUSED. */
static int
refused(const struct pop3_status *st, const char *what, enum failure dflt)
{
	fail(pop3_error_class(st, dflt), "%s: %s", what, st->text[0] != '\0' ? st->text : "-ERR");
	return POP3_REFUSED;
}

/* Reads a status line; -ERR becomes a failure of class dflt (or as its
 * response code says) and returns POP3_REFUSED. */
int
pop3_expect_ok(struct pop3 *p, const char *what, enum failure dflt)
{
	struct pop3_status st;

	if (read_status(p, &st) < 0)
		return -1;
	return st.ok ? 0 : refused(&st, what, dflt);
}

/* The greeting, kept as it was read. */
static int
greeting(struct pop3 *p)
{
	struct pop3_status st;

	if (read_status(p, &st) < 0)
		return -1;
	snprintf(p->greeting, sizeof p->greeting, "%s%s%s", st.ok ? "+OK" : "-ERR",
	    st.text[0] != '\0' ? " " : "", st.text);
	return st.ok ? 0 : refused(&st, "greeting", FAIL_TEMPORARY);
}

/* Sends cmd, unless it is the oldest of the commands sent ahead: then
 * only its answer is left to read. */
static int
ask(struct pop3 *p, const char *what, const char *cmd)
{
	if (p->ahead_n > 0 && strcmp(p->ahead[0], cmd) == 0) {
		memmove(p->ahead, p->ahead + 1, --p->ahead_n * sizeof p->ahead[0]);
		return 0;
	}
	if (p->broken || p->outstanding > 0 || p->ahead_n > 0)
		return fail(FAIL_PROTOCOL, "internal error: %s while the session is busy", what);
	return proto_send(p->c, "%s", cmd);
}

int
pop3_command(struct pop3 *p, const char *what, enum failure dflt, const char *cmd)
{
	if (ask(p, what, cmd) < 0)
		return -1;
	return pop3_expect_ok(p, what, dflt) == 0 ? 0 : -1;
}

/* The next line of the listing being read; 1 at its end. */
static int
read_multiline(struct pop3 *p, char **line_r, size_t *len_r)
{
	int rc = pop3_listing_next(&p->listing, p->c, line_r, len_r);

	if (rc < 0)
		p->broken = true;
	return rc;
}

/* The answer to CAPA, which replaces the capabilities known. */
static int
read_capa(struct pop3 *p)
{
	struct pop3_status st;
	char *line;
	size_t len;
	int rc;

	memset(&p->caps, 0, sizeof p->caps);
	if (read_status(p, &st) < 0)
		return -1;
	p->caps.answered = true;
	if (!st.ok)
		return 0;	/* an RFC 1939 server: capabilities unknown */
	p->caps.known = true;
	pop3_listing_begin(&p->listing, NULL);
	for (unsigned i = 0; i < CAPA_LINES_MAX; i++) {
		if ((rc = read_multiline(p, &line, &len)) != 0)
			return rc < 0 ? -1 : 0;
		pop3_parse_capa_line(&p->caps, line);
	}
	p->broken = true;
	return fail(FAIL_PROTOCOL, "endless CAPA answer");
}

static int
capa(struct pop3 *p)
{
	if (proto_send(p->c, "CAPA") < 0)
		return -1;
	return read_capa(p);
}

static int
bad_listing(struct pop3 *p, const char *what, const char *line)
{
	pop3_listing_abandon(&p->listing);
	p->broken = true;
	return fail(FAIL_PROTOCOL, "malformed %s line: \"%.60s\"", what, line);
}

int
pop3_open_conn(struct conn *c, struct pop3 **p_r)
{
	struct pop3 *p = xcalloc(1, sizeof *p);
	int rc;

	p->c = c;
	p->listing_max = POP3_LISTING_MAX;
	rc = greeting(p);
	if (rc == 0)
		rc = capa(p);
	*p_r = p;	/* also on failure: --serverinfo shows the greeting read */
	return rc != 0 ? -1 : 0;
}

int
pop3_open(const struct endpoint *ep, struct pop3 **p_r)
{
	struct conn *c;

	if (conn_open(ep, &c) < 0)
		return -1;
	return pop3_open_conn(c, p_r);
}

const char *
pop3_tls_version(const struct pop3 *p)
{
	return p != NULL ? conn_tls_version(p->c) : NULL;
}

const struct pop3_caps *
pop3_caps(const struct pop3 *p)
{
	return &p->caps;
}

const char *
pop3_greeting_text(const struct pop3 *p)
{
	return p->greeting;
}

int
pop3_stls(struct pop3 *p)
{
	if (p->caps.known && !p->caps.stls)
		return fail(FAIL_PERMANENT, "the server does not offer STLS, and tls = starttls "
		    "forbids continuing without TLS");
	if (pop3_command(p, "STLS refused", FAIL_PERMANENT, "STLS") < 0)
		return -1;
	if (conn_starttls(p->c) < 0) {
		p->broken = true;
		return -1;
	}
	if (!p->caps.pipelining)
		return capa(p);
	/* RFC 2595 section 4: capabilities are asked again under TLS; with
	 * PIPELINING (RFC 2449) the login's first command goes in the same
	 * write, and the answer is read before that command's. */
	if (proto_send(p->c, "CAPA") < 0)
		return -1;
	p->capa_due = true;
	return 0;
}

int
pop3_stat(struct pop3 *p, unsigned long *count_r, unsigned long long *size_r)
{
	unsigned long long count;
	const char *end;
	struct pop3_status st;

	if (ask(p, "STAT", "STAT") < 0 || read_status(p, &st) < 0)
		return -1;
	if (!st.ok)
		return fail(pop3_error_class(&st, FAIL_TEMPORARY), "STAT failed: %s", st.text);
	if (!pop3_parse_number(st.text, &count, &end) || *end != ' ' || count > POP3_NUMBER_MAX ||
	    !pop3_parse_number(end + 1, size_r, &end) || (*end != '\0' && *end != ' '))
		return bad_listing(p, "STAT", st.text);
	*count_r = (unsigned long)count;
	if (count + POP3_LISTING_MARGIN < p->listing_max)
		p->listing_max = (unsigned long)count + POP3_LISTING_MARGIN;
	return 0;
}

/* RFC 2449 section 6.6: with PIPELINING the three go in one write, so
 * the listing costs one round trip, not three. */
int
pop3_send_listings(struct pop3 *p)
{
	static const char *const cmds[] = { "STAT", "UIDL", "LIST" };

	if (!p->caps.pipelining || p->broken || p->outstanding > 0 || p->ahead_n > 0)
		return 0;
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (proto_send(p->c, "%s", cmds[i]) < 0) {
			p->broken = true;
			return -1;
		}
		p->ahead[p->ahead_n++] = cmds[i];
	}
	return 0;
}

/* Sends cmd the first time, then returns the listing's lines one by one
 * (1 at the end).  A -ERR is of class dflt unless its code says otherwise. */
static int
listing(struct pop3 *p, const char *cmd, enum failure dflt, char **line_r, size_t *len_r,
	unsigned long lines)
{
	int rc;

	if (lines == 0) {
		if (pop3_command(p, cmd, dflt, cmd) < 0)
			return -1;
		pop3_listing_begin(&p->listing, cmd);
	}
	rc = read_multiline(p, line_r, len_r);
	if (rc == 0 && lines == p->listing_max) {
		pop3_listing_abandon(&p->listing);
		p->broken = true;
		return fail(FAIL_PROTOCOL, "%s answer longer than %lu lines (STAT's count and a "
		    "margin)", cmd, p->listing_max);
	}
	return rc;
}

int
pop3_list(struct pop3 *p, void (*fn)(void *arg, unsigned long num,
	unsigned long long size), void *arg)
{
	unsigned long long size;
	unsigned long num;
	const char *rest, *end;
	char *line;
	size_t len;
	int rc;

	for (unsigned long n = 0; (rc = listing(p, "LIST", FAIL_TEMPORARY, &line, &len, n)) == 0;
	    n++) {
		if (!pop3_parse_listing_line(line, &num, &rest) || !pop3_parse_number(rest, &size, &end) ||
		    (*end != '\0' && *end != ' '))
			return bad_listing(p, "LIST", line);
		fn(arg, num, size);
	}
	return rc < 0 ? -1 : 0;
}

int
pop3_uidl(struct pop3 *p, void (*fn)(void *arg, unsigned long num, const char *uidl,
	size_t len), void *arg)
{
	unsigned long num;
	const char *rest;
	char *line;
	size_t len;
	int rc;

	for (unsigned long n = 0; (rc = listing(p, "UIDL", FAIL_PERMANENT, &line, &len, n)) == 0;
	    n++) {
		if (!pop3_parse_listing_line(line, &num, &rest))
			return bad_listing(p, "UIDL", line);
		fn(arg, num, rest, len - (size_t)(rest - line));
	}
	return rc < 0 ? -1 : 0;
}

static int
send_pipelined(struct pop3 *p, const char *verb, unsigned long num, const char *more)
{
	if (p->broken)
		return fail(FAIL_PROTOCOL, "internal error: %s on a broken session", verb);
	if (proto_send(p->c, "%s %lu%s", verb, num, more) < 0) {
		p->broken = true;
		return -1;
	}
	p->outstanding++;
	return 0;
}

/* The session is unusable until the body's terminator is seen. */
static int
read_body(struct pop3 *p, pop3_sink_fn *sink, void *arg)
{
	p->broken = true;
	if (pop3_read_body(p->c, sink, arg) < 0)
		return -1;
	p->broken = false;
	return 0;
}

static int
read_message(struct pop3 *p, const char *what, pop3_sink_fn *sink, void *arg)
{
	int rc;

	if (p->outstanding == 0)
		return fail(FAIL_PROTOCOL, "internal error: no %s outstanding", what);
	p->outstanding--;
	rc = pop3_expect_ok(p, what, FAIL_TEMPORARY);
	if (rc != 0)
		return rc;
	return read_body(p, sink, arg);
}

int
pop3_send_retr(struct pop3 *p, unsigned long num)
{
	return send_pipelined(p, "RETR", num, "");
}

int
pop3_read_retr(struct pop3 *p, pop3_sink_fn *sink, void *arg)
{
	return read_message(p, "RETR failed", sink, arg);
}

int
pop3_top(struct pop3 *p, unsigned long num, unsigned long lines, pop3_sink_fn *sink,
	void *arg)
{
	char more[24];

	if (p->outstanding > 0)
		return fail(FAIL_PROTOCOL, "internal error: TOP while the session is busy");
	snprintf(more, sizeof more, " %lu", lines);
	if (send_pipelined(p, "TOP", num, more) < 0)
		return -1;
	return read_message(p, "TOP failed", sink, arg);
}

int
pop3_send_dele(struct pop3 *p, unsigned long num)
{
	if (send_pipelined(p, "DELE", num, "") < 0)
		return -1;
	p->deletions++;
	return 0;
}

int
pop3_read_dele(struct pop3 *p)
{
	if (p->outstanding == 0)
		return fail(FAIL_PROTOCOL, "internal error: no DELE outstanding");
	p->outstanding--;
	return pop3_expect_ok(p, "DELE failed", FAIL_TEMPORARY);
}

int
pop3_rset(struct pop3 *p)
{
	if (pop3_command(p, "RSET failed", FAIL_TEMPORARY, "RSET") < 0)
		return -1;
	p->deletions = 0;	/* nothing left for QUIT to remove */
	return 0;
}

int
pop3_quit(struct pop3 *p)
{
	int timeout = conn_timeout(p->c);
	int rc;

	conn_set_timeout(p->c, timing_with_allowance(timeout, p->deletions, QUIT_MS_PER_DELE));
	rc = pop3_command(p, "QUIT failed (messages marked for deletion stay on the server)",
	    FAIL_TEMPORARY, "QUIT");
	conn_set_timeout(p->c, timeout);
	return rc == 0 ? 0 : fail_reclassify(FAIL_TEMPORARY);
}

bool
pop3_idle(const struct pop3 *p)
{
	return !p->broken && p->outstanding == 0 && p->ahead_n == 0;
}

void
pop3_close(struct pop3 *p)
{
	if (p == NULL)
		return;
	conn_close(p->c);
	free(p);
}
