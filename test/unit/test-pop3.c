/*
 * POP3 client: status lines, response codes, and whole sessions against a
 * scripted peer over a socketpair.  With SOCK_SEQPACKET and one-byte
 * records, every read returns exactly one byte, so each parser and the
 * unstuffer see every possible split.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "pop3-reply.h"
#include "pop3.h"
#include "status.h"
#include "tap.h"

static const struct timing timing = { .timeout_ms = 10000, .deadline_ms = 0 };

struct peer {
	pid_t pid;
	int fd;
	char capture[64];
};

/* The scripted server: writes script in records of chunk bytes (0: all at
 * once), then shuts its sending side and records what the client sent. */
static void
serve(int fd, const char *script, size_t len, size_t chunk, const char *capture)
{
	FILE *out = fopen(capture, "w");
	char buf[4096];
	ssize_t n;

	for (size_t off = 0; off < len;) {
		size_t k = chunk == 0 || len - off < chunk ? len - off : chunk;

		n = send(fd, script + off, k, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		fwrite(buf, 1, (size_t)n, out);
	fclose(out);
	_exit(0);
}

static struct conn *
start(struct peer *p, int type, const char *script, size_t len, size_t chunk)
{
	int sv[2];

	snprintf(p->capture, sizeof p->capture, "/tmp/test-pop3.%d.%d", (int)getpid(),
	    rand());
	if (socketpair(AF_UNIX, type, 0, sv) < 0)
		return NULL;
	p->pid = fork();
	if (p->pid == 0) {
		close(sv[0]);
		serve(sv[1], script, len, chunk, p->capture);
	}
	close(sv[1]);
	p->fd = sv[0];
	return conn_from_fd(sv[0], "peer", &timing);
}

/* Waits for the peer and returns what the client sent (static buffer). */
static const char *
finish(struct peer *p)
{
	static char buf[8192];
	FILE *in;
	size_t n = 0;

	waitpid(p->pid, NULL, 0);
	in = fopen(p->capture, "r");
	if (in != NULL) {
		n = fread(buf, 1, sizeof buf - 1, in);
		fclose(in);
	}
	buf[n] = '\0';
	unlink(p->capture);
	return buf;
}

struct collect {
	char *data;
	size_t len, alloc;
	unsigned long calls;
};

static int
collect(void *arg, const char *p, size_t n)
{
	struct collect *c = arg;

	if (c->len + n + 1 > c->alloc) {
		c->alloc = 2 * (c->len + n + 1);
		c->data = realloc(c->data, c->alloc);
	}
	memcpy(c->data + c->len, p, n);
	c->len += n;
	c->data[c->len] = '\0';
	c->calls++;
	return 0;
}

static void
test_status_lines(void)
{
	static const struct { const char *line; int rc; bool ok; const char *code; } cases[] = {
		{ "+OK", 0, true, "" },
		{ "+OK POP3 ready", 0, true, "" },
		{ "-ERR", 0, false, "" },
		{ "-ERR no such message", 0, false, "" },
		{ "-ERR [SYS/TEMP] try later", 0, false, "SYS/TEMP" },
		{ "-ERR [IN-USE] locked", 0, false, "IN-USE" },
		{ "+OKAY", -1, false, "" },
		{ "+ok", -1, false, "" },
		{ "-ERRx", -1, false, "" },
		{ "OK", -1, false, "" },
		{ "", -1, false, "" },
		{ " +OK", -1, false, "" },
	};
	struct pop3_status st;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = pop3_parse_status(cases[i].line, strlen(cases[i].line), &st);

		ok(rc == cases[i].rc && (rc < 0 || (st.ok == cases[i].ok &&
		    strcmp(st.code, cases[i].code) == 0)), "status \"%s\"", cases[i].line);
	}
	pop3_parse_status("-ERR [SYS/TEMP] x", 17, &st);
	ok(pop3_error_class(&st, FAIL_AUTH) == FAIL_TEMPORARY, "[SYS/TEMP] is temporary");
	pop3_parse_status("-ERR [sys/temp/db] x", 20, &st);
	ok(pop3_error_class(&st, FAIL_AUTH) == FAIL_TEMPORARY, "sub-codes, any case");
	pop3_parse_status("-ERR [IN-USE] x", 15, &st);
	ok(pop3_error_class(&st, FAIL_AUTH) == FAIL_TEMPORARY, "[IN-USE] is temporary");
	pop3_parse_status("-ERR [LOGIN-DELAY] x", 20, &st);
	ok(pop3_error_class(&st, FAIL_AUTH) == FAIL_TEMPORARY, "[LOGIN-DELAY] is temporary");
	pop3_parse_status("-ERR [AUTH] bad", 15, &st);
	ok(pop3_error_class(&st, FAIL_TEMPORARY) == FAIL_AUTH, "[AUTH] is auth");
	pop3_parse_status("-ERR [SYS/PERM] gone", 20, &st);
	ok(pop3_error_class(&st, FAIL_AUTH) == FAIL_PERMANENT, "[SYS/PERM] is permanent");
	pop3_parse_status("-ERR [SYSTEM] x", 15, &st);
	ok(pop3_error_class(&st, FAIL_AUTH) == FAIL_AUTH, "unknown code: the default");
	pop3_parse_status("-ERR plain", 10, &st);
	ok(pop3_error_class(&st, FAIL_AUTH) == FAIL_AUTH, "no code: the default");
}

struct listing {
	unsigned long nums[8];
	char uidls[8][80];
	unsigned long long sizes[8];
	int n;
};

static void
on_uidl(void *arg, unsigned long num, const char *uidl, size_t len)
{
	struct listing *l = arg;

	if (l->n < 8) {
		l->nums[l->n] = num;
		snprintf(l->uidls[l->n], sizeof l->uidls[0], "%.*s", (int)len, uidl);
		l->n++;
	}
}

static void
on_list(void *arg, unsigned long num, unsigned long long size)
{
	struct listing *l = arg;

	if (l->n < 8) {
		l->nums[l->n] = num;
		l->sizes[l->n++] = size;
	}
}

static const char session_script[] =
	"+OK POP3 ready <1.2@x>\r\n"
	"+OK capabilities\r\n"
	"TOP\r\nUIDL\r\nSASL PLAIN LOGIN\r\nPIPELINING\r\nRESP-CODES\r\nUSER\r\n.\r\n"
	"+OK logged in\r\n"
	"+OK\r\n1 U-one\r\n2 ../../x\r\n.\r\n"
	"+OK 2 messages\r\n1 120\r\n2 4000000000000\r\n.\r\n"
	/* RETR 1 and RETR 2 pipelined; RETR 3 refused. */
	"+OK 120 octets\r\n"
	"From: a\r\n\r\n..leading dot\r\n.x\r\n...\r\nbare\rcr\r\n\r\nend\r\n.\r\n"
	"+OK\r\nsecond\nbare lf\r\n.\r\n"
	"-ERR [SYS/TEMP] message locked\r\n"
	"+OK deleted\r\n"
	"+OK bye\r\n";

static void
test_session(int type, size_t chunk, const char *how)
{
	struct collect one = { 0 }, two = { 0 };
	struct listing ul = { 0 }, ll = { 0 };
	struct peer peer;
	struct conn *c = start(&peer, type, session_script, sizeof session_script - 1, chunk);
	struct pop3 *p = NULL;
	const char *sent;

	fail_clear();
	ok(pop3_open_conn(c, &p) == 0, "%s: greeting and CAPA", how);
	ok(p && pop3_caps(p)->known && pop3_caps(p)->pipelining && (pop3_caps(p)->sasl_mechs & SASL_BIT(SASL_PLAIN)) &&
	    pop3_caps(p)->uidl && pop3_caps(p)->top && !pop3_caps(p)->stls,
	    "%s: capabilities parsed", how);
	ok(pop3_login(p, AUTH_AUTO, "alice", "secret") == 0, "%s: AUTH PLAIN", how);
	ok(pop3_uidl(p, on_uidl, &ul) == 0 && ul.n == 2 && strcmp(ul.uidls[0], "U-one") == 0 &&
	    strcmp(ul.uidls[1], "../../x") == 0 && ul.nums[1] == 2, "%s: UIDL listing", how);
	ok(pop3_list(p, on_list, &ll) == 0 && ll.n == 2 && ll.sizes[0] == 120 &&
	    ll.sizes[1] == 4000000000000ULL, "%s: LIST listing (absurd size parsed)", how);
	ok(pop3_send_retr(p, 1) == 0 && pop3_send_retr(p, 2) == 0 && pop3_send_retr(p, 3) == 0,
	    "%s: three RETRs pipelined", how);
	ok(pop3_read_retr(p, collect, &one) == 0, "%s: RETR 1", how);
	is_str(one.data, "From: a\n\n.leading dot\nx\n..\nbare\rcr\n\nend\n",
	    "%s: unstuffed, CRLF to LF, bare CR kept", how);
	ok(pop3_read_retr(p, collect, &two) == 0, "%s: RETR 2 right after the terminator", how);
	is_str(two.data, "second\nbare lf\n", "%s: second body", how);
	ok(pop3_read_retr(p, collect, &two) == POP3_REFUSED && fail_class() == FAIL_TEMPORARY,
	    "%s: RETR 3 refused, [SYS/TEMP] temporary", how);
	ok(pop3_idle(p), "%s: session idle again", how);
	ok(pop3_send_dele(p, 1) == 0 && pop3_read_dele(p) == 0, "%s: DELE", how);
	ok(pop3_quit(p) == 0, "%s: QUIT", how);
	pop3_close(p);
	sent = finish(&peer);
	is_str(sent, "CAPA\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nUIDL\r\nLIST\r\n"
	    "RETR 1\r\nRETR 2\r\nRETR 3\r\nDELE 1\r\nQUIT\r\n", "%s: what the client sent", how);
	free(one.data);
	free(two.data);
}

/* Runs script as the whole server side and returns the class of the
 * failure of fn, which must fail. */
static enum failure
expect_failure(const char *script, size_t chunk, int (*fn)(struct pop3 *), const char **sent_r)
{
	struct peer peer;
	struct conn *c = start(&peer, SOCK_STREAM, script, strlen(script), chunk);
	struct pop3 *p = NULL;
	enum failure cls = FAIL_NONE;

	fail_clear();
	if (pop3_open_conn(c, &p) < 0)
		cls = fail_class();
	else if (fn(p) < 0)
		cls = fail_class();
	pop3_close(p);
	*sent_r = finish(&peer);
	return cls;
}

static int
do_stls(struct pop3 *p)
{
	return pop3_stls(p);
}

static int
do_user_login(struct pop3 *p)
{
	return pop3_login(p, AUTH_USER, "alice", "secret");
}

/* A credential too long for the 255-octet command line goes after "+ ". */
static int
do_long_plain(struct pop3 *p)
{
	char password[301];

	memset(password, 'p', 300);
	password[300] = '\0';
	if (pop3_login(p, AUTH_PLAIN, "alice", password) < 0)
		return -1;
	return fail(FAIL_NONE, "logged in");
}

/* SASL PLAIN for alice with a password of n letters p. */
static int
plain_of(struct pop3 *p, size_t n)
{
	char password[301];

	memset(password, 'p', n);
	password[n] = '\0';
	if (pop3_login(p, AUTH_PLAIN, "alice", password) < 0)
		return -1;
	return fail(FAIL_NONE, "logged in");
}

/* "AUTH PLAIN " and 240 octets of base64: 253 with CRLF. */
static int
do_plain_in_253(struct pop3 *p)
{
	return plain_of(p, 173);
}

/* 244 octets of base64: 257 with CRLF, two too many. */
static int
do_plain_in_257(struct pop3 *p)
{
	return plain_of(p, 176);
}

static int
do_list(struct pop3 *p)
{
	struct listing l = { 0 };

	return pop3_list(p, on_list, &l);
}

static int
stat_then(struct pop3 *p, bool uidl)
{
	struct listing l = { 0 };
	unsigned long count;
	unsigned long long size;

	if (pop3_stat(p, &count, &size) < 0)
		return -1;
	if ((uidl ? pop3_uidl(p, on_uidl, &l) : pop3_list(p, on_list, &l)) < 0)
		return -1;
	return fail(FAIL_NONE, "listed");
}

static int
do_stat_list(struct pop3 *p)
{
	return stat_then(p, false);
}

static int
do_stat_uidl(struct pop3 *p)
{
	return stat_then(p, true);
}

/* "+OK", no CAPA, STAT counting one message, then a listing of lines
 * lines (malloc'ed). */
static char *
long_listing(unsigned lines, bool uidl)
{
	char *s = malloc(64 + (size_t)lines * 24), *o = s;

	if (s == NULL)
		abort();
	o += sprintf(o, "+OK\r\n-ERR\r\n+OK 1 20\r\n+OK\r\n");
	for (unsigned i = 1; i <= lines; i++)
		o += uidl ? sprintf(o, "%u u%u\r\n", i, i) : sprintf(o, "%u 20\r\n", i);
	strcpy(o, ".\r\n");
	return s;
}

/* A listing may have STAT's count plus POP3_LISTING_MARGIN lines, no more. */
static void
test_listing_cap(void)
{
	unsigned max = 1 + POP3_LISTING_MARGIN;
	const char *sent;
	char *script;

	for (int uidl = 0; uidl < 2; uidl++) {
		int (*fn)(struct pop3 *) = uidl ? do_stat_uidl : do_stat_list;

		script = long_listing(max, uidl);
		ok(expect_failure(script, 0, fn, &sent) == FAIL_NONE,
		    "%s: STAT 1, then %u lines: accepted", uidl ? "UIDL" : "LIST", max);
		free(script);
		script = long_listing(max + 1, uidl);
		ok(expect_failure(script, 0, fn, &sent) == FAIL_PROTOCOL,
		    "%s: one line more: protocol error (%s)", uidl ? "UIDL" : "LIST",
		    fail_reason());
		free(script);
	}
}

static int
do_capa(struct pop3 *p)
{
	const struct pop3_caps *caps = pop3_caps(p);

	return fail(caps->stls && caps->user ? FAIL_NONE : FAIL_USAGE, "STLS %d, USER %d",
	    caps->stls, caps->user);
}

static int
do_uidl_count(struct pop3 *p)
{
	struct listing l = { 0 };

	if (pop3_uidl(p, on_uidl, &l) < 0)
		return -1;
	return fail(l.n == 2 && strcmp(l.uidls[1], "u2") == 0 ? FAIL_NONE : FAIL_USAGE,
	    "%d UIDL lines", l.n);
}

/*
 * Listings end only at CRLF "." CRLF, like bodies: a "." line after a
 * bare LF is a line of the listing (for CAPA an unknown capability, for
 * UIDL a malformed line), never the end with the rest of the listing
 * then read as the next status line.
 */
static void
test_listing_terminator(void)
{
	const char *sent;
	enum failure cls;

	cls = expect_failure("+OK\r\n+OK\r\nUSER\n.\r\nSTLS\r\n.\r\n", 1, do_capa, &sent);
	ok(cls == FAIL_NONE, "CAPA: LF . CRLF does not end it (%s)", fail_reason());
	cls = expect_failure("+OK\r\n+OK\r\nUSER\n.\nSTLS\r\n.\r\n", 0, do_capa, &sent);
	ok(cls == FAIL_NONE, "CAPA: LF . LF does not end it (%s)", fail_reason());
	cls = expect_failure("+OK\r\n+OK\r\nUSER\r\n.\nSTLS\r\n.\r\n", 0, do_capa, &sent);
	ok(cls == FAIL_NONE, "CAPA: CRLF . LF does not end it (%s)", fail_reason());
	cls = expect_failure("+OK\r\n-ERR\r\n+OK\r\n1 u1\n2 u2\r\n.\r\n", 1,
	    do_uidl_count, &sent);
	ok(cls == FAIL_NONE, "UIDL: lines ending in a bare LF are lines (%s)", fail_reason());
	cls = expect_failure("+OK\r\n-ERR\r\n+OK\r\n1 u1\n.\r\n2 u2\r\n.\r\n", 1,
	    do_uidl_count, &sent);
	ok(cls == FAIL_PROTOCOL, "UIDL: a dot line after a bare LF is a malformed line, "
	    "not the end (%s)", fail_reason());
	cls = expect_failure("+OK\r\n-ERR\r\n+OK\r\n1 u1\r\n2 u2\r\n..\r\n.\r\n", 0,
	    do_uidl_count, &sent);
	ok(cls == FAIL_PROTOCOL, "UIDL: a stuffed dot line is unstuffed to \".\", malformed "
	    "(%s)", fail_reason());
}

/* The answer to AUTH PLAIN without an initial response is a go-ahead, or
 * a -ERR classified by its response code like any other. */
static void
test_plain_go_ahead(void)
{
	static const struct { const char *answer; enum failure cls; } cases[] = {
		{ "-ERR [SYS/TEMP] try later", FAIL_TEMPORARY },
		{ "-ERR [IN-USE] mailbox locked", FAIL_TEMPORARY },
		{ "-ERR [SYS/PERM] disabled", FAIL_PERMANENT },
		{ "-ERR [AUTH] no", FAIL_AUTH },
		{ "-ERR not now", FAIL_AUTH },
		{ "+OK", FAIL_PROTOCOL },
		{ "what", FAIL_PROTOCOL },
	};
	const char *sent;
	char script[200];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(script, sizeof script, "+OK\r\n+OK\r\nSASL PLAIN\r\n.\r\n%s\r\n",
		    cases[i].answer);
		is_int(expect_failure(script, 1, do_long_plain, &sent), cases[i].cls,
		    "AUTH PLAIN answered \"%s\" (%s)", cases[i].answer, fail_reason());
	}
}

/* RETR 1 into a buffer thrown away; its result. */
static int
retr_one(struct pop3 *p)
{
	struct collect c = { 0 };
	int rc = pop3_send_retr(p, 1);

	if (rc == 0)
		rc = pop3_read_retr(p, collect, &c);
	free(c.data);
	return rc;
}

static int
do_retr(struct pop3 *p)
{
	if (retr_one(p) == 0)
		return fail(FAIL_NONE, "no failure");
	return pop3_idle(p) ? fail(FAIL_USAGE, "idle after a failed RETR") : -1;
}

/* A RETR cut mid-body leaves the session broken; a TOP after it (the
 * failure cleared meanwhile, as fetch.c does after a refused TOP) must
 * fail with a reason recorded, sending nothing. */
static int
do_top_after_cut(struct pop3 *p)
{
	struct collect c = { 0 };
	int rc;

	if (retr_one(p) == 0)
		return fail(FAIL_NONE, "no failure");
	fail_clear();
	rc = pop3_top(p, 1, 0, collect, &c);
	free(c.data);
	if (rc == 0)
		return fail(FAIL_NONE, "TOP worked on a broken session");
	return fail_class() == FAIL_NONE ? fail(FAIL_USAGE, "TOP failed unrecorded") : -1;
}

static void
test_failures(void)
{
	const char *sent;
	char *longline;
	enum failure cls;

	cls = expect_failure("-ERR [SYS/TEMP] overloaded\r\n", 0, do_stls, &sent);
	ok(cls == FAIL_TEMPORARY, "-ERR greeting with [SYS/TEMP]: temporary");
	cls = expect_failure("HELLO\r\n", 0, do_stls, &sent);
	ok(cls == FAIL_PROTOCOL, "garbage greeting: protocol error");
	cls = expect_failure("+OK\r\n+OK\r\nUSER\r\n.\r\n", 1, do_stls, &sent);
	ok(cls == FAIL_PERMANENT, "STLS not offered: permanent");
	is_str(sent, "CAPA\r\n", "and STLS was never sent");
	cls = expect_failure("+OK\r\n+OK\r\nSTLS\r\n.\r\n-ERR not now\r\n", 1, do_stls, &sent);
	ok(cls == FAIL_PERMANENT, "STLS refused: permanent");
	cls = expect_failure("+OK\r\n+OK\r\nSTLS\r\n.\r\n+OK begin\r\n+OK injected\r\n", 0,
	    do_stls, &sent);
	ok(cls == FAIL_PROTOCOL, "bytes injected after the STLS +OK: protocol error (%s)",
	    fail_reason());
	cls = expect_failure("+OK\r\n-ERR\r\n-ERR [SYS/TEMP] busy\r\n", 1, do_stls, &sent);
	ok(cls == FAIL_TEMPORARY, "no CAPA, STLS refused with [SYS/TEMP]: temporary");
	cls = expect_failure("+OK\r\n-ERR\r\n+OK\r\n-ERR [AUTH] Authentication failed.\r\n", 1,
	    do_user_login, &sent);
	ok(cls == FAIL_AUTH, "PASS -ERR [AUTH]: auth");
	is_str(sent, "CAPA\r\nUSER alice\r\nPASS secret\r\n", "USER/PASS sent");
	cls = expect_failure("+OK\r\n-ERR\r\n+OK\r\n-ERR [IN-USE] locked\r\n", 1,
	    do_user_login, &sent);
	ok(cls == FAIL_TEMPORARY, "PASS -ERR [IN-USE]: temporary");
	cls = expect_failure("+OK\r\n-ERR\r\n+OK\r\n-ERR nope\r\n", 1, do_user_login, &sent);
	ok(cls == FAIL_AUTH, "PASS -ERR without code: auth");
	cls = expect_failure("+OK\r\n+OK\r\nSASL PLAIN\r\n.\r\n+ \r\n+OK in\r\n", 1,
	    do_long_plain, &sent);
	ok(cls == FAIL_NONE && strncmp(sent, "CAPA\r\nAUTH PLAIN\r\nAGFsaWNlAHBwc", 29) == 0 &&
	    strlen(sent) > 400, "a long SASL PLAIN response goes after the + go-ahead");
	/* RFC 2449 section 4: 255 octets, "including the terminating CRLF". */
	cls = expect_failure("+OK\r\n+OK\r\nSASL PLAIN\r\n.\r\n+OK in\r\n", 1,
	    do_plain_in_253, &sent);
	ok(cls == FAIL_NONE && strncmp(sent, "CAPA\r\nAUTH PLAIN AGFsaWNlAHBwc", 29) == 0 &&
	    strlen(sent) == 6 + 253, "AUTH PLAIN in 253 octets: on the command line");
	cls = expect_failure("+OK\r\n+OK\r\nSASL PLAIN\r\n.\r\n+ \r\n+OK in\r\n", 1,
	    do_plain_in_257, &sent);
	ok(cls == FAIL_NONE && strncmp(sent, "CAPA\r\nAUTH PLAIN\r\nAGFsaWNlAHBwc", 29) == 0 &&
	    strlen(sent) == 6 + 12 + 246, "AUTH PLAIN that would take 257 octets: after the go-ahead");
	cls = expect_failure("+OK\r\n+OK\r\nUSER\r\n.\r\n", 1, do_long_plain, &sent);
	ok(cls == FAIL_PERMANENT && strcmp(sent, "CAPA\r\n") == 0,
	    "AUTH PLAIN asked for but not offered: permanent, nothing sent");
	cls = expect_failure("+OK\r\n-ERR\r\n+OK\r\n1 99999999999999999999999\r\n.\r\n", 1,
	    do_list, &sent);
	ok(cls == FAIL_PROTOCOL, "LIST size overflow: protocol error");
	cls = expect_failure("+OK\r\n-ERR\r\n+OK\r\n1 -5\r\n.\r\n", 0, do_list, &sent);
	ok(cls == FAIL_PROTOCOL, "LIST negative size: protocol error");
	cls = expect_failure("+OK\r\n-ERR\r\n+OK\r\n0 5\r\n.\r\n", 0, do_list, &sent);
	ok(cls == FAIL_PROTOCOL, "LIST message 0: protocol error");
	cls = expect_failure("+OK\r\n-ERR\r\n+OK\r\nSubject: x\r\n\r\nhalf a bo", 1, do_retr,
	    &sent);
	ok(cls == FAIL_TEMPORARY, "connection dropped mid-RETR: temporary, not idle (%s)",
	    fail_reason());
	cls = expect_failure("+OK\r\n-ERR\r\n+OK\r\nSubject: x\r\n\r\nhalf a bo", 1,
	    do_top_after_cut, &sent);
	ok(cls == FAIL_PROTOCOL && strstr(sent, "TOP") == NULL,
	    "TOP after a cut RETR: refused with a reason, nothing sent (%s)", fail_reason());
	longline = malloc(20000);
	strcpy(longline, "+OK ");
	memset(longline + 4, 'x', 10000);
	strcpy(longline + 10004, "\r\n");
	cls = expect_failure(longline, 0, do_stls, &sent);
	ok(cls == FAIL_PROTOCOL, "a 10 kB status line: protocol error");
	free(longline);
}

/* A 3 MB line costs nothing extra: it streams through in buffer-sized
 * pieces. */
static void
test_long_line(void)
{
	size_t big = 3 * 1024 * 1024;
	size_t head = strlen("+OK\r\n-ERR\r\n+OK\r\n");
	char *script = malloc(head + big + 16);
	struct collect got = { 0 };
	struct peer peer;
	struct conn *c;
	struct pop3 *p = NULL;
	size_t i;

	memcpy(script, "+OK\r\n-ERR\r\n+OK\r\n", head);
	memset(script + head, 'y', big);
	memcpy(script + head + big, "\r\n.\r\n", 6);
	c = start(&peer, SOCK_STREAM, script, head + big + 5, 0);
	fail_clear();
	ok(pop3_open_conn(c, &p) == 0 && pop3_send_retr(p, 1) == 0 &&
	    pop3_read_retr(p, collect, &got) == 0, "RETR of a message with a 3 MB line");
	for (i = 0; i < got.len && got.data[i] == 'y'; i++)
		;
	ok(got.len == big + 1 && i == big && got.data[big] == '\n', "all of it, LF-terminated");
	ok(got.calls >= big / CONN_BUFFER_SIZE, "delivered in %lu pieces of at most %d bytes",
	    got.calls, CONN_BUFFER_SIZE);
	pop3_close(p);
	finish(&peer);
	free(got.data);
	free(script);
}

/* Numbers of STAT, LIST and UIDL: digits only, to the last value that
 * fits, the end where the digits end. */
static void
test_numbers(void)
{
	static const struct {
		const char *text;
		bool valid;
		unsigned long long value;
		size_t end;
	} cases[] = {
		{ "0", true, 0, 1 }, { "12 x", true, 12, 2 }, { "007", true, 7, 3 },
		{ "18446744073709551615", true, 18446744073709551615ull, 20 },
		{ "18446744073709551616", false, 0, 0 }, { "99999999999999999999", false, 0, 0 },
		{ "184467440737095516150", false, 0, 0 },
		{ "", false, 0, 0 }, { " 1", false, 0, 0 }, { "+1", false, 0, 0 }, { "-1", false, 0, 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		unsigned long long v = 1;
		const char *end = NULL;
		bool got = pop3_parse_number(cases[i].text, &v, &end);

		ok(got == cases[i].valid && (!got || (v == cases[i].value &&
		    end == cases[i].text + cases[i].end)), "number \"%s\"", cases[i].text);
	}
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_numbers();
	test_status_lines();
	test_session(SOCK_SEQPACKET, 1, "one byte per read");
	test_session(SOCK_STREAM, 0, "one write");
	test_session(SOCK_STREAM, 7, "7-byte pieces");
	test_failures();
	test_long_line();
	test_listing_cap();
	test_listing_terminator();
	test_plain_go_ahead();
	return done_testing();
}
