/*
 * SMTP replies (RFC 5321 4.2), read strictly: three digits, then a space,
 * a hyphen or the end of the line; every line of a reply carries the same
 * code; a reply has a bounded number of lines, each of bounded length
 * (proto.c).  A reader that tolerated less would let a broken or hostile
 * server make us misread which command a reply answers.  The session that
 * sends the commands is smtp.c; this file knows only replies, so that the
 * fuzzer can drive it over any conn.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto.h"
#include "smtp.h"
#include "status.h"

int
smtp_parse_reply_line(const char *line, size_t len, int *code_r, bool *last_r,
	const char **text_r)
{
	if (len < 3 || line[0] < '2' || line[0] > '5' || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]))
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	*code_r = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	*last_r = len == 3 || line[3] == ' ';
	*text_r = len > 3 ? line + 4 : line + 3;
	return 0;
}

static bool
keyword_is(const char *text, const char *keyword)
{
	size_t n = strlen(keyword);

	return strncasecmp(text, keyword, n) == 0 && (text[n] == '\0' || text[n] == ' ' ||
	    text[n] == '=');
}

/* RFC 1870 section 4: "SIZE" alone or "SIZE 0" declares no limit; a number
 * that does not read as one (or would overflow) is taken as none, so the
 * server's own refusal at MAIL or after the dot still decides. */
static long long
size_limit(const char *text)
{
	const char *p = text + strlen("SIZE");
	long long n = 0;

	if (*p != ' ')
		return 0;
	for (p++; isdigit((unsigned char)*p); p++) {
		int digit = *p - '0';

		if (n > (LLONG_MAX - digit) / 10)
			return 0;
		n = n * 10 + digit;
	}
	return *p == '\0' ? n : 0;
}

void
smtp_note_capability(struct smtp_caps *caps, const char *text)
{
	proto_keep_offered(caps->offered, sizeof caps->offered, &caps->offered_cut, text);
	if (keyword_is(text, "STARTTLS"))
		caps->starttls = true;
	else if (keyword_is(text, "PIPELINING"))
		caps->pipelining = true;
	else if (keyword_is(text, "8BITMIME"))
		caps->eightbitmime = true;
	else if (keyword_is(text, "SMTPUTF8"))
		caps->smtputf8 = true;
	else if (keyword_is(text, "DSN"))
		caps->dsn = true;
	else if (keyword_is(text, "SIZE") && !caps->size) {
		proto_keep_value(caps->size_text, sizeof caps->size_text, &caps->size, text, 4);
		caps->size_limit = size_limit(text);
	}
	/* "AUTH PLAIN LOGIN" or the pre-RFC "AUTH=LOGIN" form. */
	if (keyword_is(text, "AUTH")) {
		proto_keep_value(caps->auth_text, sizeof caps->auth_text, &caps->auth, text, 4);
		caps->auth_mechs |= sasl_parse_offer(text + 4, " =");
	}
}

/* Takes line n of a reply into r (and caps after the first); *last_r
 * says whether it ended the reply. */
static int
note_line(struct smtp_reply *r, struct smtp_caps *caps, int n, const char *line, size_t len,
	bool *last_r)
{
	const char *text;
	int code;

	if (smtp_parse_reply_line(line, len, &code, last_r, &text) < 0)
		return fail(FAIL_PROTOCOL, "the server sent a malformed reply: %.80s", line);
	if (n == 0) {
		r->code = code;
		snprintf(r->text, sizeof r->text, "%s", line);
	} else if (code != r->code) {
		return fail(FAIL_PROTOCOL, "the server sent a reply with mixed codes "
		    "(%d, %d)", r->code, code);
	}
	if (caps != NULL && n > 0)
		smtp_note_capability(caps, text);
	return 0;
}

/* The lines of a reply from line n on, the first n already noted. */
static int
read_lines(struct conn *c, struct smtp_reply *r, struct smtp_caps *caps, int n, bool last)
{
	for (; !last; n++) {
		char *line;
		size_t len;

		if (n == SMTP_REPLY_LINES_MAX)
			return fail(FAIL_PROTOCOL, "the server sent a reply of more than %d lines",
			    SMTP_REPLY_LINES_MAX);
		if (proto_read_line(c, &line, &len) < 0 || note_line(r, caps, n, line, len, &last) < 0)
			return -1;
	}
	return 0;
}

int
smtp_read_reply(struct conn *c, struct smtp_reply *r, struct smtp_caps *caps)
{
	return read_lines(c, r, caps, 0, false);
}

/* RFC 5321 4.5.3.2.6 gives the server 10 minutes to answer the final dot:
 * it may run content filters and sync its queue file first.  Giving up
 * sooner turns a message it accepted into a failure, and its retry into a
 * duplicate; so the wait is the longer of the two.  conn_set_timeout()
 * changes only the single wait: the deadline and a signal's grace (clock.h)
 * still end it. */
#define FINAL_REPLY_WAIT_MS (10 * 60 * 1000)

int
smtp_read_final_reply(struct conn *c, struct smtp_reply *r)
{
	int timeout = conn_timeout(c);
	int rc;

	if (timeout < FINAL_REPLY_WAIT_MS)
		conn_set_timeout(c, FINAL_REPLY_WAIT_MS);
	rc = smtp_read_reply(c, r, NULL);
	conn_set_timeout(c, timeout);
	return rc;
}

/* A challenge is one line, "334 " and base64, which may be far longer
 * than the text a reply keeps; so the first line is looked at whole
 * before it becomes a reply. */
int
smtp_read_challenge(struct conn *c, struct smtp_reply *r, const char *hidden,
	const char **challenge_r)
{
	char *line;
	size_t len;
	bool last;

	*challenge_r = NULL;
	if (proto_read_line_hiding(c, "334 ", hidden, &line, &len) < 0 || note_line(r, NULL, 0, line, len, &last) < 0)
		return -1;
	if (r->code == 334 && last) {
		*challenge_r = len > 4 ? line + 4 : "";
		return 0;
	}
	return read_lines(c, r, NULL, 1, last);
}

/* 1 to max_digits digits at *p, read into *value_r and skipped. */
static bool
read_number(const char **p, int max_digits, int *value_r)
{
	int n = 0;

	*value_r = 0;
	for (; isdigit((unsigned char)**p); (*p)++) {
		if (++n > max_digits)
			return false;
		*value_r = *value_r * 10 + (**p - '0');
	}
	return n > 0;
}

bool
smtp_enhanced_code(const struct smtp_reply *r, int code_r[3])
{
	const char *p = r->text;

	if (strlen(p) < 5)
		return false;
	p += 4;		/* "DDD " or "DDD-" */
	if (!read_number(&p, 1, &code_r[0]) || *p++ != '.' ||
	    !read_number(&p, 3, &code_r[1]) || *p++ != '.' ||
	    !read_number(&p, 3, &code_r[2]) || (*p != '\0' && *p != ' '))
		return false;
	return code_r[0] == 2 || code_r[0] == 4 || code_r[0] == 5;
}

bool
smtp_too_many_recipients(const struct smtp_reply *r)
{
	int code[3];

	if (r->code != 452)
		return false;
	return !smtp_enhanced_code(r, code) || (code[0] == 4 && code[1] == 5 && code[2] == 3);
}

int
smtp_refused(const struct smtp_reply *r, const char *what, enum failure permanent_class)
{
	if (r->code >= 400 && r->code < 500)
		return fail(FAIL_TEMPORARY, "%s: %s", what, r->text);
	if (r->code >= 500)
		return fail(permanent_class, "%s: %s", what, r->text);
	return fail(FAIL_PROTOCOL, "%s: unexpected reply: %s", what, r->text);
}

/* The refusals worth a hint: code, enhanced code, a phrase of the text
 * that tells the provider (NULL: the codes suffice), and the hint.  A
 * generic 535 5.7.8 (Postfix's, Dovecot's) gets none. */
static const struct {
	int code;
	int enhanced[3];
	const char *phrase;
	const char *hint;
} auth_hints[] = {
	{ 535, { 5, 7, 139 }, "SmtpClientAuthentication is disabled",
	  "Microsoft 365 has SMTP AUTH turned off for this mailbox or organisation: "
	  "its administrator can turn on Authenticated SMTP for the mailbox "
	  "(Set-CASMailbox -SmtpClientAuthenticationDisabled $false), which "
	  "auth = xoauth2 needs too" },
	{ 535, { 5, 7, 139 }, "basic authentication is disabled",
	  "Microsoft 365 takes no password here any more: use auth = xoauth2 with "
	  "a token helper in password_command" },
	{ 535, { 5, 7, 139 }, NULL,
	  "Microsoft 365 refused the login: check the password, that Authenticated "
	  "SMTP is on for the mailbox, and that security defaults do not block it "
	  "(or use auth = xoauth2)" },
	{ 534, { 5, 7, 9 }, "Application-specific password",
	  "Gmail wants an app password (Google Account, Security, App passwords) "
	  "in the password source, or OAuth 2.0: auth = xoauth2 with a token helper" },
	{ 535, { 5, 7, 8 }, "Username and Password not accepted",
	  "Gmail refused the user name or password: with 2-Step Verification it "
	  "takes an app password only, and Google Workspace may require OAuth 2.0 "
	  "(auth = xoauth2 with a token helper)" },
};

const char *
smtp_auth_hint(const struct smtp_reply *r)
{
	int code[3];

	if (!smtp_enhanced_code(r, code))
		return NULL;
	for (size_t i = 0; i < sizeof auth_hints / sizeof auth_hints[0]; i++) {
		if (r->code == auth_hints[i].code && code[0] == auth_hints[i].enhanced[0] &&
		    code[1] == auth_hints[i].enhanced[1] && code[2] == auth_hints[i].enhanced[2] &&
		    (auth_hints[i].phrase == NULL || strcasestr(r->text, auth_hints[i].phrase) != NULL))
			return auth_hints[i].hint;
	}
	return NULL;
}
