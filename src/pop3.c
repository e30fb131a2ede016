/*
 * POP3 client dialogue.
 *
 * Every exchange is "send, then read one status line", and every status
 * line goes through pop3_parse_status(), so the strictness rules live in
 * one function.  Every multi-line answer goes through the POP3 unstuffer
 * (dotstuff.c), so one rule ends them all: only CRLF "." CRLF.  Listings
 * (CAPA, LIST, UIDL) are read a line at a time, each line bounded by
 * PROTO_LINE_MAX; bodies (RETR, TOP) are streamed, any length, constant
 * memory.
 *
 * The session keeps a count of answers still owed by the server, so that
 * pipelined commands are read back in order and so that pop3_quit() never
 * sends QUIT into the middle of a message body.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dotstuff.h"
#include "log.h"
#include "pop3.h"
#include "proto.h"
#include "sasl.h"
#include "secret.h"
#include "xalloc.h"

/* A hostile server could list capabilities forever. */
#define CAPA_LINES_MAX 1000

struct pop3 {
	struct conn *c;
	struct pop3_caps caps;
	unsigned outstanding;	/* answers owed for pipelined commands */
	bool broken;		/* mid-body, or a read failed: only close */
	unsigned long listing_max;	/* lines a LIST or UIDL answer may have */
	struct pop3_unstuffer listing;	/* the listing being read */
	char raw[PROTO_LINE_MAX + 2];	/* one line of it, CRLF included */
	char line[PROTO_LINE_MAX + 4];	/* the same line unstuffed */
};

/* ---- status lines ---- */

static void
parse_code(const char *s, struct pop3_status *st)
{
	const char *end;
	size_t len;

	st->code[0] = '\0';
	if (*s != '[' || (end = strchr(s, ']')) == NULL)
		return;
	len = (size_t)(end - s - 1);
	if (len >= sizeof st->code)
		return;
	memcpy(st->code, s + 1, len);
	st->code[len] = '\0';
	s = end + 1;
	while (*s == ' ')
		s++;
	st->text = s;
}

int
pop3_parse_status(const char *line, size_t len, struct pop3_status *st)
{
	size_t skip;

	if (len >= 3 && memcmp(line, "+OK", 3) == 0) {
		st->ok = true;
		skip = 3;
	} else if (len >= 4 && memcmp(line, "-ERR", 4) == 0) {
		st->ok = false;
		skip = 4;
	} else {
		return fail(FAIL_PROTOCOL, "malformed POP3 status line: \"%.60s\"", line);
	}
	if (len > skip && line[skip] != ' ')
		return fail(FAIL_PROTOCOL, "malformed POP3 status line: \"%.60s\"", line);
	st->text = line + (len > skip ? skip + 1 : skip);
	st->code[0] = '\0';
	if (!st->ok)
		parse_code(st->text, st);
	return 0;
}

/* True when code is name or starts with "name/" (RFC 2449 hierarchy). */
static bool
code_is(const char *code, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(code, name, n) == 0 && (code[n] == '\0' || code[n] == '/');
}

enum failure
pop3_error_class(const struct pop3_status *st, enum failure dflt)
{
	const char *c = st->code;

	if (code_is(c, "SYS/TEMP") || code_is(c, "IN-USE") || code_is(c, "LOGIN-DELAY"))
		return FAIL_TEMPORARY;
	if (code_is(c, "SYS/PERM"))
		return FAIL_PERMANENT;
	if (code_is(c, "AUTH"))
		return FAIL_AUTH;
	return dflt;
}

/* Reads one status line; the caller looks at st->ok. */
static int
read_status(struct pop3 *p, struct pop3_status *st)
{
	char *line;
	size_t len;

	if (proto_read_line(p->c, &line, &len) < 0 || pop3_parse_status(line, len, st) < 0) {
		p->broken = true;
		return -1;
	}
	return 0;
}

/* Reads a status line; -ERR becomes a failure of class dflt (or as its
 * response code says) and returns POP3_REFUSED. */
static int
expect_ok(struct pop3 *p, const char *what, enum failure dflt)
{
	struct pop3_status st;

	if (read_status(p, &st) < 0)
		return -1;
	if (st.ok)
		return 0;
	fail(pop3_error_class(&st, dflt), "%s: %s", what, st.text[0] != '\0' ? st.text : "-ERR");
	return POP3_REFUSED;
}

static int
command(struct pop3 *p, const char *what, enum failure dflt, const char *cmd)
{
	if (p->broken || p->outstanding > 0)
		return fail(FAIL_PROTOCOL, "internal error: %s while the session is busy", what);
	if (proto_send(p->c, "%s", cmd) < 0)
		return -1;
	return expect_ok(p, what, dflt) == 0 ? 0 : -1;
}

/* ---- multi-line answers ---- */

/* Copies the next line of a listing, up to and including its LF, into
 * p->raw; one longer than PROTO_LINE_MAX octets and CRLF is FAIL_PROTOCOL. */
static int
read_raw_line(struct pop3 *p, size_t *len_r)
{
	const char *in, *lf;
	size_t len = 0, n, take;

	do {
		if (conn_peek(p->c, &in, &n) < 0)
			return -1;
		lf = memchr(in, '\n', n);
		take = lf != NULL ? (size_t)(lf - in) + 1 : n;
		if (take > sizeof p->raw - len)
			return fail(FAIL_PROTOCOL, "the server sent a line longer than %d bytes",
			    PROTO_LINE_MAX);
		memcpy(p->raw + len, in, take);
		conn_consume(p->c, take);
		len += take;
	} while (p->raw[len - 1] != '\n');
	*len_r = len;
	return 0;
}

/* The line without its line ending, for the transcript. */
static size_t
without_line_end(const char *raw, size_t len)
{
	len--;
	return len > 0 && raw[len - 1] == '\r' ? len - 1 : len;
}

/* Reads one line of a listing (p->listing set up when it began): *line_r,
 * NUL-terminated, unstuffed and without its line ending; returns 1 at the
 * terminator.  A "." line after a bare LF is data, as in a body
 * (dotstuff.c), so a listing cannot end early there and have its rest
 * taken for the next status line. */
static int
read_multiline(struct pop3 *p, char **line_r, size_t *len_r)
{
	size_t n = 0, used, o;

	if (read_raw_line(p, &n) < 0) {
		p->broken = true;
		return -1;
	}
	log_transcript("<-", p->raw, without_line_end(p->raw, n));
	if (memchr(p->raw, '\0', n) != NULL) {
		p->broken = true;
		return fail(FAIL_PROTOCOL, "the server sent a NUL byte in a reply");
	}
	o = pop3_unstuff(&p->listing, p->raw, n, p->line, &used);
	if (p->listing.done)
		return 1;
	/* Not the end, so the unstuffer wrote the line's LF last: drop it. */
	p->line[o - 1] = '\0';
	*line_r = p->line;
	*len_r = o - 1;
	return 0;
}

static void
parse_capa_line(struct pop3_caps *caps, const char *line)
{
	char word[32];
	size_t n = strcspn(line, " ");

	if (n >= sizeof word)
		return;
	memcpy(word, line, n);
	word[n] = '\0';
	if (strcasecmp(word, "STLS") == 0)
		caps->stls = true;
	else if (strcasecmp(word, "USER") == 0)
		caps->user = true;
	else if (strcasecmp(word, "PIPELINING") == 0)
		caps->pipelining = true;
	else if (strcasecmp(word, "UIDL") == 0)
		caps->uidl = true;
	else if (strcasecmp(word, "TOP") == 0)
		caps->top = true;
	else if (strcasecmp(word, "RESP-CODES") == 0)
		caps->resp_codes = true;
	else if (strcasecmp(word, "SASL") == 0) {
		for (const char *m = line + n; (m = strcasestr(m, "PLAIN")) != NULL; m += 5)
			if (m[-1] == ' ' && (m[5] == ' ' || m[5] == '\0'))
				caps->sasl_plain = true;
	}
}

static int
capa(struct pop3 *p)
{
	struct pop3_status st;
	char *line;
	size_t len;
	int rc;

	memset(&p->caps, 0, sizeof p->caps);
	if (proto_send(p->c, "CAPA") < 0 || read_status(p, &st) < 0)
		return -1;
	if (!st.ok)
		return 0;	/* an RFC 1939 server: capabilities unknown */
	p->caps.known = true;
	pop3_unstuff_init(&p->listing);
	for (unsigned i = 0; i < CAPA_LINES_MAX; i++) {
		if ((rc = read_multiline(p, &line, &len)) != 0)
			return rc < 0 ? -1 : 0;
		parse_capa_line(&p->caps, line);
	}
	p->broken = true;
	return fail(FAIL_PROTOCOL, "endless CAPA answer");
}

/* Decimal without sign, leading spaces or overflow; *end_r after it. */
static bool
parse_number(const char *s, unsigned long long *v_r, const char **end_r)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*v_r = strtoull(s, &end, 10);
	*end_r = end;
	return errno == 0;
}

/* "NUM SP rest": rest must start right after a single space. */
static bool
parse_listing(const char *line, unsigned long *num_r, const char **rest_r)
{
	unsigned long long num;
	const char *end;

	if (!parse_number(line, &num, &end) || num == 0 || num > 0xffffffffUL || *end != ' ')
		return false;
	*num_r = (unsigned long)num;
	*rest_r = end + 1;
	return true;
}

static int
bad_listing(struct pop3 *p, const char *what, const char *line)
{
	p->broken = true;
	return fail(FAIL_PROTOCOL, "malformed %s line: \"%.60s\"", what, line);
}

/* ---- session set-up ---- */

int
pop3_open_conn(struct conn *c, struct pop3 **p_r)
{
	struct pop3 *p = xcalloc(1, sizeof *p);
	int rc;

	p->c = c;
	p->listing_max = POP3_LISTING_MAX;
	rc = expect_ok(p, "greeting", FAIL_TEMPORARY);
	if (rc == 0)
		rc = capa(p);
	if (rc != 0) {
		pop3_close(p);
		return -1;
	}
	*p_r = p;
	return 0;
}

int
pop3_open(const struct endpoint *ep, struct pop3 **p_r)
{
	struct conn *c;

	if (conn_open(ep, &c) < 0)
		return -1;
	return pop3_open_conn(c, p_r);
}

const struct pop3_caps *
pop3_caps(const struct pop3 *p)
{
	return &p->caps;
}

int
pop3_stls(struct pop3 *p)
{
	if (p->caps.known && !p->caps.stls)
		return fail(FAIL_PERMANENT, "the server does not offer STLS, and tls = starttls "
		    "forbids continuing without TLS");
	if (command(p, "STLS refused", FAIL_PERMANENT, "STLS") < 0)
		return -1;
	if (conn_starttls(p->c) < 0) {
		p->broken = true;
		return -1;
	}
	return capa(p);
}

static int
login_user(struct pop3 *p, const char *user, const char *password)
{
	char *cmd = xasprintf("USER %s", user);
	int rc = command(p, "USER refused", FAIL_AUTH, cmd);

	free(cmd);
	if (rc < 0)
		return -1;
	if (proto_send_secret(p->c, "PASS <password>", "PASS %s", password) < 0)
		return -1;
	return expect_ok(p, "login failed", FAIL_AUTH) == 0 ? 0 : -1;
}

/* Reads the go-ahead "+ " of a SASL exchange.  A -ERR instead is classified
 * by its response code like any other ([SYS/TEMP] and [IN-USE] are
 * temporary), by default as an authentication failure. */
static int
read_go_ahead(struct pop3 *p, const char *what)
{
	struct pop3_status st;
	char *line;
	size_t len;

	if (proto_read_line(p->c, &line, &len) < 0)
		return -1;
	if (len >= 1 && line[0] == '+' && (len == 1 || line[1] == ' '))
		return 0;
	if (pop3_parse_status(line, len, &st) < 0)
		return -1;
	if (st.ok)
		return fail(FAIL_PROTOCOL, "%s: +OK instead of a go-ahead", what);
	return fail(pop3_error_class(&st, FAIL_AUTH), "%s refused: %s", what,
	    st.text[0] != '\0' ? st.text : "-ERR");
}

/* RFC 5034: the initial response goes on the command line when it fits
 * the 255-octet limit; otherwise after the server's "+ " go-ahead. */
static int
login_plain(struct pop3 *p, const char *user, const char *password)
{
	char *resp = sasl_plain_response(user, password);
	bool inline_ok = strlen("AUTH PLAIN ") + strlen(resp) <= POP3_COMMAND_MAX;
	int rc;

	if (inline_ok) {
		rc = proto_send_secret(p->c, "AUTH PLAIN <credentials>", "AUTH PLAIN %s", resp);
	} else {
		rc = proto_send(p->c, "AUTH PLAIN");
		if (rc == 0)
			rc = read_go_ahead(p, "AUTH PLAIN");
		if (rc == 0)
			rc = proto_send_secret(p->c, "<credentials>", "%s", resp);
	}
	secret_wipe(resp);
	if (rc < 0) {
		p->broken = true;
		return -1;
	}
	return expect_ok(p, "login failed", FAIL_AUTH) == 0 ? 0 : -1;
}

int
pop3_login(struct pop3 *p, enum auth_method method, const char *user,
	const char *password)
{
	if (user == NULL || password == NULL)
		return fail(FAIL_CONFIG, "POP3 needs both user and a password source");
	switch (method) {
	case AUTH_AUTO:
		if (p->caps.sasl_plain)
			return login_plain(p, user, password);
		return login_user(p, user, password);
	case AUTH_PLAIN:
		if (p->caps.known && !p->caps.sasl_plain)
			return fail(FAIL_PERMANENT, "the server does not offer SASL PLAIN");
		return login_plain(p, user, password);
	case AUTH_USER:
		return login_user(p, user, password);
	default:
		return fail(FAIL_CONFIG, "this auth method is not available for POP3");
	}
}

/* ---- transaction state ---- */

int
pop3_stat(struct pop3 *p, unsigned long *count_r, unsigned long long *size_r)
{
	unsigned long long count;
	const char *end;
	struct pop3_status st;

	if (proto_send(p->c, "STAT") < 0 || read_status(p, &st) < 0)
		return -1;
	if (!st.ok)
		return fail(pop3_error_class(&st, FAIL_TEMPORARY), "STAT failed: %s", st.text);
	if (!parse_number(st.text, &count, &end) || *end != ' ' || count > 0xffffffffUL ||
	    !parse_number(end + 1, size_r, &end) || (*end != '\0' && *end != ' '))
		return bad_listing(p, "STAT", st.text);
	*count_r = (unsigned long)count;
	if (count + POP3_LISTING_MARGIN < p->listing_max)
		p->listing_max = (unsigned long)count + POP3_LISTING_MARGIN;
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
		if (command(p, cmd, dflt, cmd) < 0)
			return -1;
		pop3_unstuff_init(&p->listing);
	}
	rc = read_multiline(p, line_r, len_r);
	if (rc == 0 && lines == p->listing_max) {
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
		if (!parse_listing(line, &num, &rest) || !parse_number(rest, &size, &end) ||
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
		if (!parse_listing(line, &num, &rest))
			return bad_listing(p, "UIDL", line);
		fn(arg, num, rest, len - (size_t)(rest - line));
	}
	return rc < 0 ? -1 : 0;
}

/* ---- messages ---- */

static int
send_pipelined(struct pop3 *p, const char *verb, unsigned long num)
{
	if (p->broken)
		return fail(FAIL_PROTOCOL, "internal error: %s on a broken session", verb);
	if (proto_send(p->c, "%s %lu", verb, num) < 0) {
		p->broken = true;
		return -1;
	}
	p->outstanding++;
	return 0;
}

/* Streams a multi-line body into sink.  The unstuffer stops at the
 * terminator, so bytes after it (the next pipelined answer) stay in the
 * connection's buffer. */
static int
read_body(struct pop3 *p, pop3_sink_fn *sink, void *arg)
{
	char out[CONN_BUFFER_SIZE + 2];
	struct pop3_unstuffer u;
	const char *in;
	size_t n, used, o;

	p->broken = true;	/* until the terminator is seen */
	pop3_unstuff_init(&u);
	while (!u.done) {
		if (conn_peek(p->c, &in, &n) < 0)
			return fail_context("during a message body");
		if (n > CONN_BUFFER_SIZE)
			n = CONN_BUFFER_SIZE;
		o = pop3_unstuff(&u, in, n, out, &used);
		conn_consume(p->c, used);
		if (o > 0 && sink(arg, out, o) < 0)
			return -1;
	}
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
	rc = expect_ok(p, what, FAIL_TEMPORARY);
	if (rc != 0)
		return rc;
	return read_body(p, sink, arg);
}

int
pop3_send_retr(struct pop3 *p, unsigned long num)
{
	return send_pipelined(p, "RETR", num);
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
	if (p->outstanding > 0)
		return fail(FAIL_PROTOCOL, "internal error: TOP while the session is busy");
	if (p->broken || proto_send(p->c, "TOP %lu %lu", num, lines) < 0)
		return -1;
	p->outstanding++;
	return read_message(p, "TOP failed", sink, arg);
}

int
pop3_send_dele(struct pop3 *p, unsigned long num)
{
	return send_pipelined(p, "DELE", num);
}

int
pop3_read_dele(struct pop3 *p)
{
	if (p->outstanding == 0)
		return fail(FAIL_PROTOCOL, "internal error: no DELE outstanding");
	p->outstanding--;
	return expect_ok(p, "DELE failed", FAIL_TEMPORARY);
}

int
pop3_noop(struct pop3 *p)
{
	return command(p, "NOOP failed", FAIL_TEMPORARY, "NOOP");
}

int
pop3_rset(struct pop3 *p)
{
	return command(p, "RSET failed", FAIL_TEMPORARY, "RSET");
}

int
pop3_quit(struct pop3 *p)
{
	if (command(p, "QUIT failed (messages marked for deletion stay on the server)",
	    FAIL_TEMPORARY, "QUIT") == 0)
		return 0;
	return fail_reclassify(FAIL_TEMPORARY);
}

bool
pop3_idle(const struct pop3 *p)
{
	return !p->broken && p->outstanding == 0;
}

void
pop3_close(struct pop3 *p)
{
	if (p == NULL)
		return;
	conn_close(p->c);
	free(p);
}
