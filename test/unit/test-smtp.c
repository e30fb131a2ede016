/*
 * smtp-reply.c: smtp_parse_reply_line() on valid and invalid forms,
 * smtp_note_capability() on EHLO keywords, and smtp_read_reply() over a
 * socketpair whose forked peer writes the server's bytes exactly one byte
 * at a time (each written only after the previous one was read):
 * multi-line replies, mixed codes, an over-long line, EOF mid-reply, too
 * many lines.
 *
 * smtp.c: the session against a scripted server in a forked child that
 * checks every line the client sends and, for lock-step, that the client
 * waits for each reply: EHLO and the HELO fallback, AUTH, STARTTLS
 * refused, the envelope with and without PIPELINING, the message text and
 * its size, the final reply, and when QUIT may go out.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
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
#include "base64.h"
#include "smtp.h"
#include "spool.h"
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

/* RFC 1870: the number after SIZE is the limit; none, 0, or anything that
 * does not read as a number declares none (the server still judges). */
static void
test_size_limit(void)
{
	struct smtp_caps c;

	ok(caps_of("SIZE 1000").size_limit == 1000, "SIZE 1000: a limit of 1000");
	ok(caps_of("size 52428800").size_limit == 52428800, "size 52428800 (any case)");
	ok(caps_of("SIZE").size_limit == 0, "SIZE alone: no limit");
	ok(caps_of("SIZE 0").size_limit == 0, "SIZE 0: no limit");
	ok(caps_of("SIZE 10x").size_limit == 0 && caps_of("SIZE -5").size_limit == 0,
	    "SIZE with no number: no limit");
	ok(caps_of("SIZE 99999999999999999999999").size_limit == 0, "an overflowing SIZE: no limit");
	ok(caps_of("SIZE 9223372036854775807").size_limit == 9223372036854775807LL,
	    "the largest SIZE that fits");
	c = caps_of("SIZE 1000");
	smtp_note_capability(&c, "SIZE 5");
	ok(c.size_limit == 1000 && strcmp(c.size_text, "1000") == 0,
	    "a second SIZE line changes nothing");
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
	ok(c.auth && c.auth_mechs == (SASL_BIT(SASL_PLAIN) | SASL_BIT(SASL_LOGIN)), "AUTH PLAIN LOGIN");
	c = caps_of("AUTH LOGIN");
	ok(c.auth && c.auth_mechs == SASL_BIT(SASL_LOGIN), "AUTH LOGIN");
	c = caps_of("AUTH=LOGIN");
	ok(c.auth && c.auth_mechs == SASL_BIT(SASL_LOGIN), "AUTH=LOGIN");
	c = caps_of("AUTH CRAM-MD5 DIGEST-MD5");
	ok(c.auth && c.auth_mechs == 0, "AUTH with other mechanisms only");
	c = caps_of("AUTH CRAM-MD5 SCRAM-SHA-256 SCRAM-SHA-256-PLUS OAUTHBEARER");
	ok(c.auth && c.auth_mechs == (SASL_BIT(SASL_SCRAM_SHA_256) | SASL_BIT(SASL_OAUTHBEARER)),
	    "AUTH SCRAM-SHA-256 and OAUTHBEARER understood, -PLUS not");
	c = caps_of("AUTH PLAINX LOGINX");
	ok(c.auth_mechs == 0, "AUTH PLAINX LOGINX: no usable mechanism");
	c = caps_of("auth plain");
	ok(c.auth && c.auth_mechs == SASL_BIT(SASL_PLAIN), "auth plain (lower case)");
	c = caps_of("SIZE 1000");
	ok(c.size, "SIZE 1000: the parameter is understood");
	c = caps_of("SIZE");
	ok(c.size, "SIZE without a number: the parameter is understood");
	c = caps_of("SIZES");
	ok(!c.size, "SIZES is another keyword");
	test_size_limit();
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
	ok(caps.auth && caps.auth_mechs == (SASL_BIT(SASL_PLAIN) | SASL_BIT(SASL_LOGIN)),
	    "caps: AUTH PLAIN LOGIN");
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

/* The hint for a refusal whose first line is line: one that contains
 * want, or none (want NULL). */
static void
hint_is(const char *line, const char *want)
{
	struct smtp_reply r;
	const char *hint;

	r.code = atoi(line);
	snprintf(r.text, sizeof r.text, "%s", line);
	hint = smtp_auth_hint(&r);
	ok(want == NULL ? hint == NULL : hint != NULL && strstr(hint, want) != NULL,
	    "\"%s\": %s", line, want != NULL ? want : "no hint");
}

/* Microsoft 365 and Gmail refusals a setting cures get a hint; the same
 * codes from other servers, or other codes, get none. */
static void
test_auth_hints(void)
{
	hint_is("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is "
	    "disabled for the Tenant.", "Authenticated SMTP");
	hint_is("535 5.7.139 Authentication unsuccessful, the user credentials were incorrect.",
	    "check the password");
	hint_is("535 5.7.139 Authentication unsuccessful, basic authentication is disabled.",
	    "takes no password");
	hint_is("534-5.7.9 Application-specific password required. Learn more at",
	    "app password");
	hint_is("535-5.7.8 Username and Password not accepted. For more information, go to",
	    "auth = xoauth2");
	hint_is("535 5.7.8 Error: authentication failed: (reason unavailable)", NULL);
	hint_is("535 5.7.8 Authentication credentials invalid", NULL);
	hint_is("534 5.7.9 Authentication mechanism is too weak", NULL);
	hint_is("454 4.7.139 temporary", NULL);
	hint_is("535 5.7.13 not 139", NULL);
	hint_is("535 Authentication failed", NULL);
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

/* ---- the session, against a scripted server ---- */

/*
 * The server runs in a forked child and plays a script, one step a string:
 * "S:text" sends text and CRLF; "C:text" reads one line from the client,
 * which must be exactly text; "W" checks that nothing more has arrived (the
 * client waits for an answer: lock-step); "X" hangs up the server's sending
 * side.  After the last step the client must close without sending more.
 * The child exits 1 at the first step not followed, saying why on stderr.
 */
static bool
read_client_line(int fd, char *line, size_t size)
{
	size_t n = 0;
	char ch;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, 5000) <= 0 || read(fd, &ch, 1) != 1)
			return false;
		if (ch == '\n')
			break;
		if (n + 1 < size)
			line[n++] = ch;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return true;
}

static bool
play_step(int fd, const char *step)
{
	char line[1024], ch;

	switch (step[0]) {
	case 'S':
		snprintf(line, sizeof line, "%s\r\n", step + 2);
		return send(fd, line, strlen(line), MSG_NOSIGNAL) == (ssize_t)strlen(line);
	case 'C':
		if (read_client_line(fd, line, sizeof line) && strcmp(line, step + 2) == 0)
			return true;
		fprintf(stderr, "# server wanted \"%s\", got \"%s\"\n", step + 2, line);
		return false;
	case 'W':
		if (recv(fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN)
			return true;
		fprintf(stderr, "# the client sent more before waiting for an answer\n");
		return false;
	default:
		return shutdown(fd, SHUT_WR) == 0;
	}
}

static void
play(int fd, const char *const *script)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char ch;

	for (; *script != NULL; script++)
		if (!play_step(fd, *script))
			_exit(1);
	if (poll(&pfd, 1, 5000) == 1 && read(fd, &ch, 1) == 0)
		_exit(0);
	fprintf(stderr, "# the client sent more than the script has, or did not close\n");
	_exit(1);
}

static struct smtp *
script_start(const char *const *script, pid_t *pid_r)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	fflush(stdout);
	*pid_r = fork();
	if (*pid_r < 0)
		abort();
	if (*pid_r == 0) {
		close(sv[0]);
		play(sv[1], script);
	}
	close(sv[1]);
	fail_clear();
	return smtp_open_conn(conn_from_fd(sv[0], "peer", &peer_patience));
}

/* Closes the session; true when the server's script was followed. */
static bool
script_end(struct smtp *s, pid_t pid)
{
	int status;

	smtp_close(s);
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0;
}

#define GREETED "S:220 mx.example ESMTP", "C:EHLO client.example"

static void
test_hello(void)
{
	static const char *const fallback[] = { GREETED, "S:502 5.5.1 what?",
		"C:HELO client.example", "S:250 mx.example", "C:QUIT", NULL };
	static const char *const refused[] = { GREETED, "S:500 no", "C:HELO client.example",
		"S:550 go away", "C:QUIT", NULL };
	static const char *const busy[] = { GREETED, "S:421 4.3.2 busy", "C:QUIT", "X", NULL };
	pid_t pid;
	struct smtp *s = script_start(fallback, &pid);

	ok(smtp_greeting(s) == 0 && smtp_hello(s, "client.example") == 0 &&
	    !smtp_caps(s)->pipelining && !smtp_caps(s)->auth,
	    "EHLO 502: HELO with the same name, no extensions");
	smtp_quit(s);
	ok(script_end(s, pid), "EHLO 502: EHLO, HELO, QUIT, and no wait for its 221");

	s = script_start(refused, &pid);
	ok(smtp_greeting(s) == 0 && smtp_hello(s, "client.example") < 0 &&
	    fail_class() == FAIL_PERMANENT, "EHLO 500, HELO 550: FAIL_PERMANENT");
	smtp_quit(s);
	ok(script_end(s, pid), "HELO refused: QUIT still goes out");

	s = script_start(busy, &pid);
	ok(smtp_greeting(s) == 0 && smtp_hello(s, "client.example") < 0 &&
	    fail_class() == FAIL_TEMPORARY && strstr(fail_reason(), "421") != NULL,
	    "EHLO 421: FAIL_TEMPORARY, no HELO");
	smtp_quit(s);
	ok(fail_class() == FAIL_TEMPORARY && strstr(fail_reason(), "421") != NULL,
	    "a QUIT the server hangs up on keeps the failure recorded before it");
	ok(script_end(s, pid), "EHLO 421: QUIT, nothing else");
}

static void
test_hello_needs_a_name(void)
{
	static const char *const script[] = { "S:220 mx.example ESMTP", NULL };
	pid_t pid;
	struct smtp *s = script_start(script, &pid);

	ok(smtp_greeting(s) == 0 && smtp_hello(s, NULL) < 0 && fail_class() == FAIL_TEMPORARY,
	    "no name and no address literal (a unix socket): FAIL_TEMPORARY");
	ok(script_end(s, pid), "no name: no EHLO goes out");
}

static void
test_out_of_sync(void)
{
	static const char *const script[] = { GREETED, "S:25O mx.example", NULL };
	pid_t pid;
	struct smtp *s = script_start(script, &pid);

	ok(smtp_greeting(s) == 0 && smtp_hello(s, "client.example") < 0 &&
	    fail_class() == FAIL_PROTOCOL, "a malformed EHLO reply: FAIL_PROTOCOL");
	smtp_quit(s);
	ok(script_end(s, pid), "after a reply that made no sense, no QUIT");
}

#define AUTH_OFFERED(mechs) GREETED, "S:250-mx.example\r\n250 AUTH " mechs

static void
test_auth(void)
{
	static const char *const plain[] = { AUTH_OFFERED("LOGIN PLAIN"),
		"C:AUTH PLAIN AGFsaWNlAHNlY3JldA==", "S:235 2.7.0 ok", NULL };
	static const char *const login[] = { AUTH_OFFERED("LOGIN"), "C:AUTH LOGIN",
		"S:334 VXNlcm5hbWU6", "C:YWxpY2U=", "S:334 UGFzc3dvcmQ6", "C:c2VjcmV0",
		"S:535 5.7.8 bad credentials", NULL };
	static const char *const not_plain[] = { AUTH_OFFERED("LOGIN"), NULL };
	pid_t pid;
	struct smtp *s = script_start(plain, &pid);

	ok(smtp_greeting(s) == 0 && smtp_hello(s, "client.example") == 0 &&
	    smtp_auth(s, AUTH_AUTO, "alice", "secret") == 0, "AUTH_AUTO: PLAIN when offered");
	ok(script_end(s, pid), "AUTH PLAIN: one command");

	s = script_start(login, &pid);
	ok(smtp_greeting(s) == 0 && smtp_hello(s, "client.example") == 0 &&
	    smtp_auth(s, AUTH_AUTO, "alice", "secret") < 0 && fail_class() == FAIL_AUTH,
	    "AUTH_AUTO: LOGIN when only LOGIN is offered; 535 is FAIL_AUTH");
	ok(script_end(s, pid), "AUTH LOGIN: command, user, password");

	s = script_start(not_plain, &pid);
	ok(smtp_greeting(s) == 0 && smtp_hello(s, "client.example") == 0 &&
	    smtp_auth(s, AUTH_PLAIN, "alice", "secret") < 0 && fail_class() == FAIL_PERMANENT,
	    "AUTH_PLAIN from a server offering only LOGIN: FAIL_PERMANENT");
	ok(script_end(s, pid), "a mechanism not offered: nothing sent");
}

/* The SASL PLAIN response of alice with a password of n letters p. */
static char *
plain_response(size_t n)
{
	char raw[600] = "\0alice\0";

	memset(raw + 7, 'p', n);
	return base64_encode(raw, 7 + n);
}

/* RFC 4954 section 4: an AUTH command with its initial response must
 * stay within RFC 5321's 512 octets, CRLF included; a longer one goes
 * without, and the response after the 334 go-ahead. */
static void
test_auth_line_limit(void)
{
	char *fits = plain_response(365), *over = plain_response(368);
	char fits_line[600], over_line[600];
	const char *const one_line[] = { AUTH_OFFERED("PLAIN"), fits_line, "S:235 2.7.0 ok", NULL };
	const char *const two_steps[] = { AUTH_OFFERED("PLAIN"), "C:AUTH PLAIN", "S:334 ",
		over_line, "S:235 2.7.0 ok", NULL };
	char password[400];
	pid_t pid;
	struct smtp *s;

	snprintf(fits_line, sizeof fits_line, "C:AUTH PLAIN %s", fits);
	snprintf(over_line, sizeof over_line, "C:%s", over);
	/* Freed before the script's child is forked: valgrind checks the
	 * child's leaks at its exit too. */
	free(fits);
	free(over);
	is_int(strlen(fits_line + 2) + 2, 509, "the script: a 509-octet AUTH line, CRLF counted");
	memset(password, 'p', sizeof password);
	password[365] = '\0';
	s = script_start(one_line, &pid);
	ok(smtp_greeting(s) == 0 && smtp_hello(s, "client.example") == 0 &&
	    smtp_auth(s, AUTH_PLAIN, "alice", password) == 0, "AUTH PLAIN in 509 octets");
	ok(script_end(s, pid), "goes on one line");
	password[365] = 'p';
	password[368] = '\0';
	s = script_start(two_steps, &pid);
	ok(smtp_greeting(s) == 0 && smtp_hello(s, "client.example") == 0 &&
	    smtp_auth(s, AUTH_PLAIN, "alice", password) == 0, "AUTH PLAIN that would take 515");
	ok(script_end(s, pid), "goes after the 334 go-ahead");
}

static void
test_starttls_refused(void)
{
	static const char *const absent[] = { GREETED, "S:250 mx.example", NULL };
	static const char *const refused[] = { GREETED, "S:250-mx.example\r\n250 STARTTLS",
		"C:STARTTLS", "S:454 4.7.0 not now", NULL };
	pid_t pid;
	struct smtp *s = script_start(absent, &pid);

	ok(smtp_greeting(s) == 0 && smtp_hello(s, "client.example") == 0 &&
	    smtp_starttls(s) < 0 && fail_class() == FAIL_PERMANENT,
	    "STARTTLS not offered: FAIL_PERMANENT");
	ok(script_end(s, pid), "STARTTLS not offered: not sent");
	s = script_start(refused, &pid);
	ok(smtp_greeting(s) == 0 && smtp_hello(s, "client.example") == 0 &&
	    smtp_starttls(s) < 0 && fail_class() == FAIL_TEMPORARY,
	    "STARTTLS 454: FAIL_TEMPORARY");
	ok(script_end(s, pid), "STARTTLS refused: nothing after it");
}

/* A policy that records what smtp.c asks and tells: the kind of each
 * reply, in order, and how often it was asked whether a step is wanted.
 * Like submit.c's, it wants no RCPT after a "too many recipients". */
struct trace {
	char noted[16];
	size_t n;
	int asked;
	bool too_many;
};

static bool
trace_wanted(void *arg, const struct smtp_envelope *e, const struct smtp_step *step)
{
	struct trace *t = arg;

	(void)e;
	t->asked++;
	return step->kind != SMTP_STEP_RCPT || !t->too_many;
}

static void
trace_noted(void *arg, const struct smtp_envelope *e, const struct smtp_step *step)
{
	struct trace *t = arg;

	(void)e;
	if (t->n + 1 < sizeof t->noted)
		t->noted[t->n++] = "MRD"[step->kind];
	if (step->kind == SMTP_STEP_RCPT && smtp_too_many_recipients(&step->reply))
		t->too_many = true;
}

static void
three_recipients(struct smtp_envelope *e)
{
	smtp_envelope_init(e, "s@x.example");
	e->eight_bit = true;
	e->size = 1234;
	smtp_envelope_add(e, "a@x.example", 7);
	smtp_envelope_add(e, "b@x.example", 8);
	smtp_envelope_add(e, "c@x.example", 9);
}

/* Without PIPELINING: one command, then its reply; no BODY= or SIZE= the
 * server did not offer; no RCPT after a 452 "too many"; after 354, no QUIT. */
static void
test_envelope_lockstep(void)
{
	static const char *const script[] = { GREETED, "S:250 mx.example",
		"C:MAIL FROM:<s@x.example>", "W", "S:250 ok", "C:RCPT TO:<a@x.example>", "W",
		"S:250 ok", "C:RCPT TO:<b@x.example>", "W", "S:452 4.5.3 too many recipients",
		"C:DATA", "W", "S:354 go ahead", NULL };
	struct trace t = { .n = 0 };
	const struct smtp_envelope_policy policy = { trace_wanted, trace_noted, &t };
	struct smtp_envelope e;
	pid_t pid;
	struct smtp *s = script_start(script, &pid);

	three_recipients(&e);
	ok(smtp_greeting(s) == 0 && smtp_hello(s, "client.example") == 0 &&
	    smtp_send_envelope(s, &e, &policy) == 0, "lock-step envelope: sent");
	is_str(t.noted, "MRRD", "lock-step: every reply noted in order, none for the left out");
	is_int(t.asked, 5, "lock-step: the policy asked before each step");
	ok(e.mail.reply.code == 250 && e.rcpts[0].reply.code == 250 &&
	    e.rcpts[1].reply.code == 452 && !e.rcpts[2].sent && e.rcpts[2].rcpt_index == 9 &&
	    e.data.sent && e.data.reply.code == 354, "lock-step: each reply in its step");
	smtp_quit(s);
	ok(script_end(s, pid), "lock-step: a reply before each next command; no QUIT after 354");
	smtp_envelope_free(&e);
}

/* With PIPELINING: every command at once, then the replies, in order. */
static void
test_envelope_pipelined(void)
{
	static const char *const script[] = { GREETED,
		"S:250-mx.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE",
		"C:MAIL FROM:<s@x.example> BODY=8BITMIME SIZE=1234", "C:RCPT TO:<a@x.example>",
		"C:RCPT TO:<b@x.example>", "C:RCPT TO:<c@x.example>", "C:DATA", "W",
		"S:250 ok\r\n550 no such user\r\n452 4.5.3 too many\r\n452 4.5.3 too many\r\n"
		"554 no valid recipients", "C:QUIT", NULL };
	struct trace t = { .n = 0 };
	const struct smtp_envelope_policy policy = { trace_wanted, trace_noted, &t };
	struct smtp_envelope e;
	pid_t pid;
	struct smtp *s = script_start(script, &pid);

	three_recipients(&e);
	ok(smtp_greeting(s) == 0 && smtp_hello(s, "client.example") == 0 &&
	    smtp_send_envelope(s, &e, &policy) == 0, "pipelined envelope: sent");
	is_str(t.noted, "MRRRD", "pipelined: every reply noted, in order");
	is_int(t.asked, 0, "pipelined: everything is sent, the policy is not asked");
	ok(e.rcpts[0].reply.code == 550 && e.rcpts[2].sent && e.rcpts[2].reply.code == 452 &&
	    e.data.reply.code == 554, "pipelined: each reply in its step");
	smtp_quit(s);
	ok(script_end(s, pid), "pipelined: all commands before any reply; QUIT after DATA 554");
	smtp_envelope_free(&e);
}

/* ---- the message text ---- */

/* What smtp_send_body() writes for header and body (from byte skip of the
 * spool on), byte for byte, and the RFC 1870 size smtp_message_size()
 * gives for it: without the final ".\r\n" and the stuffing dots. */
static void
text_is(const char *name, const char *header, const char *body, size_t skip, bool qp,
	const char *wire, long long size)
{
	struct spool sp;
	struct smtp_message m = { .header = header, .header_length = strlen(header),
		.spool = &sp, .body_offset = (off_t)skip, .body_as_qp = qp };
	volatile sig_atomic_t ended = 0;
	long long got_size = -1;
	char got[512];
	ssize_t n;
	int sv[2];
	struct smtp *s;

	if (peer_spool_text(body, strlen(body), false, &sp) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	s = smtp_open_conn(conn_from_fd(sv[0], "peer", &peer_patience));
	ok(smtp_message_size(&m, &got_size) == 0 && got_size == size, "%s: size %lld", name,
	    size);
	if (got_size != size)
		diag("got %lld", got_size);
	ok(smtp_send_body(s, &m, &ended) == 0 && ended == 1, "%s: sent, end noted", name);
	n = recv(sv[1], got, sizeof got, MSG_DONTWAIT);
	is_mem(got, n < 0 ? 0 : (size_t)n, wire, strlen(wire), "%s: the wire", name);
	smtp_close(s);
	close(sv[1]);
	spool_close(&sp);
}

static void
test_message_text(void)
{
	text_is("stuffed dot, no final newline", "Subject: x\n\n", ".dot\nlast", 0, false,
	    "Subject: x\r\n\r\n..dot\r\nlast\r\n.\r\n", 26);
	text_is("CRLF and a bare CR", "", "a\r\nb\rc\n", 0, false, "a\r\nb\r\nc\r\n.\r\n", 9);
	text_is("nothing at all", "", "", 0, false, ".\r\n", 0);
	text_is("from body_offset on", "H: 1\n\n", "skip me\n.\n", 8, false,
	    "H: 1\r\n\r\n..\r\n.\r\n", 11);
	text_is("re-encoded quoted-printable", "", "caf\xc3\xa9\n", 0, true,
	    "caf=C3=A9\r\n.\r\n", 11);
}

/* A child that reads fd to its end and exits 0 if it got want's n bytes;
 * other_end is the parent's. */
static pid_t
expect_wire(int fd, int other_end, const char *want, size_t n)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		abort();
	if (pid > 0)
		return pid;
	close(other_end);
	char *got = malloc(n + 1);
	size_t have = 0;
	ssize_t r = 1;

	while (got != NULL && have < n + 1 && r > 0)
		if ((r = read(fd, got + have, n + 1 - have)) > 0)
			have += (size_t)r;
	_exit(got != NULL && have == n && memcmp(got, want, n) == 0 ? 0 : 1);
}

/* A body of some 300 kB (lines of every length up to 300, dots at line
 * starts, CRLF, bare CR) goes out in pieces held back to whole TLS
 * records: every byte once, in order, as one stuffing of the whole. */
static void
test_large_text(void)
{
	size_t n = 300000, wire_n;
	char *body = malloc(n), *wire = malloc(2 * n + 64);
	struct spool sp;
	struct smtp_message m = { .header = "Subject: big\n\n", .header_length = 14,
		.spool = &sp };
	struct smtp_stuffer st;
	volatile sig_atomic_t ended = 0;
	unsigned seed = 99;
	int sv[2], status = -1;
	pid_t pid;

	if (body == NULL || wire == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned r = (seed = seed * 1103515245 + 12345) >> 16;

		body[i] = r % 300 == 0 ? '\n' : r % 300 == 1 ? '\r' : i % 61 == 0 ? '.' : 'a';
	}
	smtp_stuff_init(&st);
	wire_n = smtp_stuff(&st, m.header, m.header_length, wire);
	wire_n += smtp_stuff(&st, body, n, wire + wire_n);
	wire_n += smtp_stuff_end(&st, wire + wire_n);
	if (peer_spool_text(body, n, false, &sp) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	pid = expect_wire(sv[1], sv[0], wire, wire_n);
	close(sv[1]);
	struct smtp *s = smtp_open_conn(conn_from_fd(sv[0], "peer", &peer_patience));

	ok(smtp_send_body(s, &m, &ended) == 0 && ended == 1, "300 kB body: sent");
	smtp_close(s);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "300 kB body: the wire holds %zu bytes, each once and in order", wire_n);
	spool_close(&sp);
	free(body);
	free(wire);
}

/* One recipient, lock-step, up to the message text of "Subject: x", "",
 * "body" and the final dot. */
#define IN_DATA GREETED, "S:250 mx.example", "C:MAIL FROM:<s@x.example>", "S:250 ok", \
	"C:RCPT TO:<a@x.example>", "S:250 ok", "C:DATA", "S:354 go ahead", "C:Subject: x", \
	"C:", "C:body", "C:."

static bool
send_one(struct smtp *s, const struct smtp_message *m, struct smtp_reply *r)
{
	struct trace t = { .n = 0 };
	const struct smtp_envelope_policy policy = { trace_wanted, trace_noted, &t };
	volatile sig_atomic_t ended = 0;
	struct smtp_envelope e;
	bool sent;

	smtp_envelope_init(&e, "s@x.example");
	smtp_envelope_add(&e, "a@x.example", 0);
	sent = smtp_greeting(s) == 0 && smtp_hello(s, "client.example") == 0 &&
	    smtp_send_envelope(s, &e, &policy) == 0 && smtp_send_body(s, m, &ended) == 0;
	smtp_envelope_free(&e);
	return sent && smtp_read_final(s, r) == 0;
}

/* The reply to the final dot: whatever its code, the session is between
 * commands again; no reply at all leaves it unusable. */
static void
test_final_reply(void)
{
	static const char *const answered[] = { IN_DATA, "W", "S:554 5.7.1 spam", "C:QUIT",
		NULL };
	static const char *const unanswered[] = { IN_DATA, "X", NULL };
	struct spool sp;
	struct smtp_message m = { .header = "Subject: x\n\n", .header_length = 12, .spool = &sp };
	struct smtp_reply r = { .code = 0 };
	pid_t pid;
	struct smtp *s;

	if (peer_spool_text("body\n", 5, false, &sp) < 0)
		abort();
	s = script_start(answered, &pid);
	ok(send_one(s, &m, &r) && r.code == 554, "final reply 554: read, for the caller to judge");
	smtp_quit(s);
	ok(script_end(s, pid), "final reply read: QUIT goes out, and no wait for its 221");

	s = script_start(unanswered, &pid);
	ok(!send_one(s, &m, &r) && fail_class() == FAIL_TEMPORARY,
	    "no final reply: FAIL_TEMPORARY");
	smtp_quit(s);
	ok(script_end(s, pid), "no final reply: no QUIT");
	spool_close(&sp);
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
	test_auth_hints();
	test_hello();
	test_hello_needs_a_name();
	test_out_of_sync();
	test_auth();
	test_auth_line_limit();
	test_starttls_refused();
	test_envelope_lockstep();
	test_envelope_pipelined();
	test_message_text();
	test_large_text();
	test_final_reply();
	return done_testing();
}
