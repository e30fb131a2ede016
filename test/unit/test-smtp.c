/*
 * smtp.c reply reading: smtp_parse_reply_line() on valid and invalid
 * forms, smtp_note_capability() on EHLO keywords, and smtp_read_reply()
 * over a socketpair whose forked peer writes the server's bytes exactly one
 * byte at a time (each written only after the previous one was read):
 * multi-line replies, mixed codes, an over-long line, EOF mid-reply, too
 * many lines.
 */
#include <fcntl.h>
#include <linux/sockios.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "proto.h"
#include "smtp.h"
#include "status.h"
#include "peer.h"
#include "tap.h"


/* ---- parsing one line ---- */

static void
parse_ok(const char *line, int code, bool last, const char *text)
{
	int got_code = -1;
	bool got_last = !last;
	const char *got_text = NULL;
	int rc = smtp_parse_reply_line(line, strlen(line), &got_code, &got_last, &got_text);

	ok(rc == 0 && got_code == code && got_last == last && got_text != NULL &&
	    strcmp(got_text, text) == 0, "parse \"%s\": %d, %s, \"%s\"", line, code,
	    last ? "last" : "more", text);
	if (rc != 0)
		diag("refused");
	else if (got_code != code || got_last != last || got_text == NULL ||
	    strcmp(got_text, text) != 0)
		diag("got %d, %d, \"%s\"", got_code, got_last, got_text ? got_text : "(null)");
}

static void
parse_bad(const char *line, size_t len)
{
	int code;
	bool last;
	const char *text;

	ok(smtp_parse_reply_line(line, len, &code, &last, &text) < 0, "parse \"%.*s\": refused",
	    (int)len, line);
}

static void
test_parse(void)
{
	parse_ok("250", 250, true, "");
	parse_ok("250 ok", 250, true, "ok");
	parse_ok("250-x", 250, false, "x");
	parse_ok("250-", 250, false, "");
	parse_ok("250 ", 250, true, "");
	parse_ok("550 5.1.1 <a@x>: no such user", 550, true, "5.1.1 <a@x>: no such user");
	parse_ok("421-closing", 421, false, "closing");
	parse_ok("354 go ahead", 354, true, "go ahead");
	parse_ok("599 z", 599, true, "z");
	parse_ok("200 z", 200, true, "z");
	parse_bad("25O ok", 6);
	parse_bad("250x", 4);
	parse_bad("2500 ok", 7);
	parse_bad("199 x", 5);
	parse_bad("099 x", 5);
	parse_bad("600 x", 5);
	parse_bad("", 0);
	parse_bad("2", 1);
	parse_bad("25", 2);
	parse_bad(" 250 ok", 7);
	parse_bad("abc def", 7);
	parse_bad("250\tok", 6);
	/* Only len bytes count: "250 ok" cut to 3 is "250". */
	{
		int code = 0;
		bool last = false;
		const char *text = NULL;

		ok(smtp_parse_reply_line("250 ok", 3, &code, &last, &text) == 0 && code == 250 &&
		    last, "parse honours len");
	}
}

/* ---- capabilities ---- */

static struct smtp_caps
caps_of(const char *text)
{
	struct smtp_caps caps;

	memset(&caps, 0, sizeof caps);
	smtp_note_capability(&caps, text);
	return caps;
}

static void
test_capabilities(void)
{
	struct smtp_caps c;

	c = caps_of("STARTTLS");
	ok(c.starttls && !c.pipelining && !c.auth, "STARTTLS");
	c = caps_of("starttls");
	ok(c.starttls, "starttls (keywords are case-insensitive)");
	c = caps_of("STARTTLSX");
	ok(!c.starttls, "STARTTLSX is not STARTTLS");
	c = caps_of("PIPELINING");
	ok(c.pipelining && !c.starttls, "PIPELINING");
	c = caps_of("8BITMIME");
	ok(c.eightbitmime, "8BITMIME");
	c = caps_of("AUTH PLAIN LOGIN");
	ok(c.auth && c.auth_plain && c.auth_login, "AUTH PLAIN LOGIN");
	c = caps_of("AUTH LOGIN");
	ok(c.auth && !c.auth_plain && c.auth_login, "AUTH LOGIN");
	c = caps_of("AUTH=LOGIN");
	ok(c.auth && c.auth_login && !c.auth_plain, "AUTH=LOGIN");
	c = caps_of("AUTH CRAM-MD5 SCRAM-SHA-256");
	ok(c.auth && !c.auth_plain && !c.auth_login, "AUTH with other mechanisms only");
	c = caps_of("AUTH PLAINX LOGINX");
	ok(!c.auth_plain && !c.auth_login, "AUTH PLAINX LOGINX: no usable mechanism");
	c = caps_of("auth plain");
	ok(c.auth && c.auth_plain, "auth plain (lower case)");
	c = caps_of("SIZE 1000");
	ok(c.size, "SIZE 1000: the parameter is understood");
	c = caps_of("SIZE");
	ok(c.size, "SIZE without a number: the parameter is understood");
	c = caps_of("SIZES");
	ok(!c.size, "SIZES is another keyword");
	c = caps_of("ENHANCEDSTATUSCODES");
	ok(!c.starttls && !c.pipelining && !c.eightbitmime && !c.auth && !c.size,
	    "an unknown keyword changes nothing");
}

/* ---- replies over a socketpair ---- */


static void
server_end(struct conn *c, pid_t pid)
{
	conn_close(c);
	waitpid(pid, NULL, 0);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void
test_ehlo_reply(void)
{
	static const char data[] =
	    "220 mail.example.com ESMTP\r\n"
	    "250-mail.example.com Hello\r\n"
	    "250-PIPELINING\r\n"
	    "250-SIZE 1000\r\n"
	    "250-STARTTLS\r\n"
	    "250-AUTH PLAIN LOGIN\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n"
	    "250 8BITMIME\r\n"
	    "354 go ahead\n";		/* bare LF tolerated */
	struct smtp_reply r;
	struct smtp_caps caps;
	pid_t pid;
	struct conn *c = peer_bytewise(data, sizeof data - 1, true, &pid);
	int rc;

	memset(&caps, 0, sizeof caps);
	fail_clear();
	rc = smtp_read_reply(c, &r, NULL);
	ok(rc == 0 && r.code == 220, "greeting: 220");
	ok(strstr(r.text, "mail.example.com ESMTP") != NULL, "greeting text kept");
	rc = smtp_read_reply(c, &r, &caps);
	ok(rc == 0 && r.code == 250, "multi-line EHLO reply: 250");
	if (rc < 0)
		diag("%s", fail_reason());
	ok(strstr(r.text, "mail.example.com Hello") != NULL, "first line's text");
	ok(caps.pipelining, "caps: PIPELINING");
	ok(caps.size, "caps: SIZE 1000");
	ok(caps.starttls, "caps: STARTTLS");
	ok(caps.auth && caps.auth_plain && caps.auth_login, "caps: AUTH PLAIN LOGIN");
	ok(caps.eightbitmime, "caps: 8BITMIME (on the last line)");
	rc = smtp_read_reply(c, &r, NULL);
	ok(rc == 0 && r.code == 354, "the next reply is read separately: 354");
	server_end(c, pid);
}

/* The first line of a reply is its text, not a capability. */
static void
test_first_line_not_a_capability(void)
{
	static const char data[] = "250-STARTTLS\r\n250 SIZE 5\r\n";
	struct smtp_reply r;
	struct smtp_caps caps;
	pid_t pid;
	struct conn *c = peer_bytewise(data, sizeof data - 1, true, &pid);

	memset(&caps, 0, sizeof caps);
	ok(smtp_read_reply(c, &r, &caps) == 0 && !caps.starttls && caps.size,
	    "the greeting line of an EHLO reply is not read as a keyword");
	server_end(c, pid);
}

static void
expect_reply_failure_(const char *name, const char *data, size_t n, bool hold_open,
	enum failure cls, const char *cls_name)
{
	struct smtp_reply r;
	struct smtp_caps caps;
	pid_t pid;
	struct conn *c = peer_bytewise(data, n, hold_open, &pid);
	int64_t start = now_ms();
	int rc;

	memset(&caps, 0, sizeof caps);
	fail_clear();
	rc = smtp_read_reply(c, &r, &caps);
	ok(rc < 0 && fail_class() == cls, "%s: %s", name, cls_name);
	if (rc == 0)
		diag("accepted, code %d", r.code);
	else if (fail_class() != cls)
		diag("class %d: %s", fail_class(), fail_reason());
	ok(now_ms() - start < 8000, "%s: without waiting for the timeout", name);
	server_end(c, pid);
}

#define expect_reply_failure(name, data, n, hold_open, cls) \
	expect_reply_failure_(name, data, n, hold_open, cls, #cls)
#define FAILS(name, data, hold_open, cls) \
	expect_reply_failure(name, data, sizeof data - 1, hold_open, cls)

/* "250-line NNN\r\n" lines, then a last "250 end\r\n". */
static char *
many_lines(int continuation_lines, size_t *len_r)
{
	size_t cap = (size_t)continuation_lines * 16 + 16, len = 0;
	char *p = malloc(cap);

	if (p == NULL)
		abort();
	for (int i = 0; i < continuation_lines; i++)
		len += (size_t)snprintf(p + len, cap - len, "250-line %d\r\n", i);
	len += (size_t)snprintf(p + len, cap - len, "250 end\r\n");
	*len_r = len;
	return p;
}

static void
test_bad_replies(void)
{
	size_t len;
	char *p;

	FAILS("mixed codes", "250-a\r\n251 b\r\n", true, FAIL_PROTOCOL);
	FAILS("mixed codes on the first continuation", "250-a\r\n550-b\r\n550 c\r\n", true,
	    FAIL_PROTOCOL);
	FAILS("malformed first line", "25O ok\r\n", true, FAIL_PROTOCOL);
	FAILS("malformed continuation", "250-a\r\n250x\r\n", true, FAIL_PROTOCOL);
	FAILS("code 199", "199 x\r\n", true, FAIL_PROTOCOL);
	FAILS("code 600", "600 x\r\n", true, FAIL_PROTOCOL);
	FAILS("empty line", "\r\n", true, FAIL_PROTOCOL);
	FAILS("NUL in a reply", "250 a\0b\r\n", true, FAIL_PROTOCOL);
	FAILS("EOF mid-reply", "250-first\r\n250-sec", false, FAIL_TEMPORARY);
	FAILS("EOF after a continuation line", "250-first\r\n", false, FAIL_TEMPORARY);
	FAILS("EOF before anything", "", false, FAIL_TEMPORARY);

	/* 9000 bytes without a line end, the server keeping the connection
	 * open: refused once the line passes PROTO_LINE_MAX, not by timeout. */
	p = malloc(9000);
	if (p == NULL)
		abort();
	memcpy(p, "250 ", 4);
	memset(p + 4, 'x', 9000 - 4);
	expect_reply_failure("a line of 9000 bytes", p, 9000, true, FAIL_PROTOCOL);
	free(p);

	p = many_lines(599, &len);
	expect_reply_failure("a reply of 600 lines", p, len, true, FAIL_PROTOCOL);
	free(p);
	p = many_lines(SMTP_REPLY_LINES_MAX, &len);
	expect_reply_failure("a reply of SMTP_REPLY_LINES_MAX + 1 lines", p, len, true,
	    FAIL_PROTOCOL);
	free(p);
}

static void
test_limits_accepted(void)
{
	struct smtp_reply r;
	size_t len;
	pid_t pid;
	struct conn *c;
	char *p = many_lines(SMTP_REPLY_LINES_MAX - 1, &len);
	int rc;

	c = peer_bytewise(p, len, true, &pid);
	fail_clear();
	rc = smtp_read_reply(c, &r, NULL);
	ok(rc == 0 && r.code == 250, "a reply of exactly SMTP_REPLY_LINES_MAX lines is accepted");
	if (rc < 0)
		diag("%s", fail_reason());
	server_end(c, pid);
	free(p);

	/* A line of exactly PROTO_LINE_MAX bytes plus CRLF. */
	p = malloc(PROTO_LINE_MAX + 2);
	if (p == NULL)
		abort();
	memcpy(p, "250 ", 4);
	memset(p + 4, 'z', PROTO_LINE_MAX - 4);
	memcpy(p + PROTO_LINE_MAX, "\r\n", 2);
	c = peer_bytewise(p, PROTO_LINE_MAX + 2, true, &pid);
	fail_clear();
	rc = smtp_read_reply(c, &r, NULL);
	ok(rc == 0 && r.code == 250, "a reply line of exactly PROTO_LINE_MAX bytes is accepted");
	if (rc < 0)
		diag("%s", fail_reason());
	server_end(c, pid);
	free(p);
}

static void
test_refused(void)
{
	struct smtp_reply r = { .code = 451, .text = "451 try later" };

	fail_clear();
	smtp_refused(&r, "MAIL FROM", FAIL_PERMANENT);
	is_int(fail_class(), FAIL_TEMPORARY, "smtp_refused: 4xx is temporary");
	r.code = 550;
	fail_clear();
	smtp_refused(&r, "RCPT TO", FAIL_RECIPIENT);
	is_int(fail_class(), FAIL_RECIPIENT, "smtp_refused: 5xx is the permanent class given");
}

static void
reply_is(const char *line, bool too_many)
{
	struct smtp_reply r;

	r.code = atoi(line);
	snprintf(r.text, sizeof r.text, "%s", line);
	ok(smtp_too_many_recipients(&r) == too_many, "\"%s\": %s", line,
	    too_many ? "too many recipients, the rest in another transaction"
		     : "an ordinary refusal");
}

/* RFC 5321 4.5.3.1.10: a server limiting recipients per transaction says
 * 452; with enhanced status codes (RFC 3463) 4.5.3.  Any other enhanced
 * code is another reason, which another transaction would not cure. */
static void
test_too_many_recipients(void)
{
	reply_is("452 4.5.3 Error: too many recipients", true);
	reply_is("452 4.5.3", true);
	reply_is("452-4.5.3 too many recipients", true);
	reply_is("452 Too many recipients", true);
	reply_is("452", true);
	reply_is("452 4.2.2 Mailbox full", false);
	reply_is("452 4.3.1 Insufficient system storage", false);
	reply_is("452 4.5.30 not the code 4.5.3", false);
	reply_is("452 4.5.3x not a code", true);	/* no code: bare 452 */
	reply_is("452 5.5.3 inconsistent class", false);
	reply_is("451 4.5.3 too many recipients, but not 452", false);
	reply_is("450 4.2.1 mailbox busy", false);
	reply_is("552 5.5.3 too many recipients", false);
	reply_is("250 2.1.5 ok", false);
}

static void
enhanced_is(const char *line, bool has, int a, int b, int c)
{
	struct smtp_reply r;
	int code[3] = { -1, -1, -1 };
	bool got;

	r.code = atoi(line);
	snprintf(r.text, sizeof r.text, "%s", line);
	got = smtp_enhanced_code(&r, code);
	if (has)
		ok(got && code[0] == a && code[1] == b && code[2] == c, "\"%s\": %d.%d.%d",
		    line, a, b, c);
	else
		ok(!got, "\"%s\": no enhanced status code", line);
}

static void
test_enhanced_codes(void)
{
	enhanced_is("250 2.1.5 ok", true, 2, 1, 5);
	enhanced_is("550 5.1.1 <a@x>: no such user", true, 5, 1, 1);
	enhanced_is("452 4.5.3", true, 4, 5, 3);
	enhanced_is("452-4.5.3 more", true, 4, 5, 3);
	enhanced_is("554 5.999.999 largest", true, 5, 999, 999);
	enhanced_is("554 5.1000.1 subject too long", false, 0, 0, 0);
	enhanced_is("554 5.1.1000 detail too long", false, 0, 0, 0);
	enhanced_is("554 3.1.1 no such class", false, 0, 0, 0);
	enhanced_is("554 5.1 two parts", false, 0, 0, 0);
	enhanced_is("554 5..1 empty part", false, 0, 0, 0);
	enhanced_is("554 5.1.1: glued", false, 0, 0, 0);
	enhanced_is("554 text 5.1.1", false, 0, 0, 0);
	enhanced_is("554", false, 0, 0, 0);
	enhanced_is("554 ", false, 0, 0, 0);
}

int
main(void)
{
	alarm(120);	/* a hang is a failure, not a stuck test run */
	signal(SIGPIPE, SIG_IGN);
	test_parse();
	test_capabilities();
	test_ehlo_reply();
	test_first_line_not_a_capability();
	test_bad_replies();
	test_limits_accepted();
	test_refused();
	test_enhanced_codes();
	test_too_many_recipients();
	return done_testing();
}
