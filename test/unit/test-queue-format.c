/*
 * The queue's envelope record (queue-format.c): every field survives a
 * round trip whatever bytes it holds; every prefix of a record is refused,
 * so a cut file can never pass for one with fewer recipients; and each
 * kind of damage is refused with the line it is on.
 */
#include <stdlib.h>
#include <string.h>

#include "queue-format.h"
#include "status.h"
#include "tap.h"

static void
full_envelope(struct queue_envelope *e)
{
	memset(e, 0, sizeof *e);
	queue_envelope_set(&e->account, "work mail");
	queue_envelope_set(&e->sender, "alice@example.test");
	e->created = 1700000000;
	e->next = 1700000120;
	e->attempts = 3;
	e->held = true;
	queue_envelope_set(&e->error, "work (smtp.example.test:587): cannot connect: 100% refused");
	e->body_only = true;
	queue_envelope_set(&e->subject, "Grüße: nightly backup\tok");
	queue_envelope_set(&e->full_name, "Cron Daemon");
	queue_envelope_set(&e->domain, "example.test");
	queue_envelope_set(&e->date, "Mon, 02 Jan 2006 15:04:05 -0700");
	queue_envelope_set(&e->message_id, "<1.abc.mailpipe@example.test>");
	queue_envelope_set_dsn(e, &(struct dsn_request){ .notify = "SUCCESS,DELAY",
		.ret = "HDRS", .envid = "run 7+x" });
	strlist_push(&e->to, "root@example.test");
	strlist_push(&e->to, "ops@example.test");
	queue_envelope_add_rcpt(e, "bob@example.test", QRCPT_SENT);
	queue_envelope_add_rcpt(e, "carol@example.test", QRCPT_PENDING);
	queue_envelope_add_rcpt(e, "dave@example.test", QRCPT_REFUSED);
	queue_envelope_add_rcpt(e, "erin@example.test", QRCPT_INFLIGHT);
	queue_envelope_add_rcpt(e, "\"odd one\"@example.test", QRCPT_UNCONFIRMED);
}

static void
test_round_trip(void)
{
	struct queue_envelope e, back;
	size_t len;
	char *text;

	full_envelope(&e);
	text = queue_envelope_format(&e, &len);
	ok(strstr(text, "subject Gr%C3%BC%C3%9Fe:%20nightly%20backup%09ok\n") != NULL,
	    "a subject is one escaped token");
	is_int(queue_envelope_parse(text, len, "env", &back), 0, "the record parses");
	is_str(back.account, "work mail", "account");
	is_str(back.sender, "alice@example.test", "sender");
	is_int(back.created, 1700000000, "created");
	is_int(back.next, 1700000120, "next");
	is_int(back.attempts, 3, "attempts");
	ok(back.held && back.body_only, "held and body mode");
	is_str(back.error, e.error, "error, with its %%");
	is_str(back.subject, e.subject, "subject, UTF-8 and a tab");
	is_str(back.full_name, "Cron Daemon", "full name");
	is_str(back.domain, "example.test", "domain");
	is_str(back.date, e.date, "date");
	is_str(back.message_id, e.message_id, "message-id");
	is_str(queue_envelope_dsn(&back).notify, "SUCCESS,DELAY", "dsn-notify");
	is_str(queue_envelope_dsn(&back).ret, "HDRS", "dsn-ret");
	is_str(queue_envelope_dsn(&back).envid, "run 7+x", "envid, a space and a + in it");
	is_int(back.to.count, 2, "two To addresses");
	is_str(back.to.items[1], "ops@example.test", "To in order");
	is_int(back.rcpt_count, 5, "five recipients");
	for (size_t i = 0; i < 5 && i < back.rcpt_count; i++) {
		is_str(back.rcpts[i].address, e.rcpts[i].address, "recipient %zu", i);
		is_int(back.rcpts[i].state, e.rcpts[i].state, "state of recipient %zu", i);
	}
	is_int(queue_envelope_count(&back, QRCPT_PENDING), 1, "one pending");
	queue_envelope_free(&back);
	queue_envelope_free(&e);
	free(text);
}

/* The smallest record: no optional line. */
static void
test_minimal(void)
{
	static const char text[] = "mailpipe-queue 1\naccount a\nsender s@x\ncreated 5\n"
	    "attempts 1\nnext 5\nmode raw\nrcpt pending r@x\nend 1\n";
	struct queue_envelope e;

	is_int(queue_envelope_parse(text, strlen(text), "env", &e), 0, "minimal record");
	ok(!e.held && !e.body_only && e.error == NULL && e.date == NULL, "optional fields absent");
	queue_envelope_free(&e);
}

/* A cut record must never parse: with the end line last, every prefix
 * lacks it or has a cut line. */
static void
test_every_prefix_refused(void)
{
	struct queue_envelope e, back;
	size_t len, refused = 0;
	char *text;

	full_envelope(&e);
	text = queue_envelope_format(&e, &len);
	for (size_t cut = 0; cut < len; cut++) {
		fail_clear();
		if (queue_envelope_parse(text, cut, "env", &back) < 0 && fail_class() == FAIL_IO)
			refused++;
		queue_envelope_free(&back);
	}
	is_int(refused, len, "each of the %zu shorter prefixes is refused as corrupt", len);
	queue_envelope_free(&e);
	free(text);
}

static void
test_damage(void)
{
	static const struct {
		const char *name, *text, *reason;
	} cases[] = {
		{ "wrong magic", "mailpipe-queue 2\n", "line 1: not a version 1" },
		{ "unknown key", "mailpipe-queue 1\nfrom a\n", "line 2: an unknown key" },
		{ "bad state", "mailpipe-queue 1\nrcpt maybe r@x\n", "line 2: an unknown recipient state" },
		{ "rcpt without address", "mailpipe-queue 1\nrcpt sent\n", "line 2: rcpt needs" },
		{ "two values", "mailpipe-queue 1\naccount a b\n", "line 2: more than one value" },
		{ "double space", "mailpipe-queue 1\naccount  a\n", "line 2: not a key" },
		{ "empty line", "mailpipe-queue 1\n\n", "line 2: not a key" },
		{ "key twice", "mailpipe-queue 1\naccount a\naccount b\n", "line 3: a key given twice" },
		{ "bad escape", "mailpipe-queue 1\nsender a%4\n", "line 2: a badly escaped" },
		{ "escaped NUL", "mailpipe-queue 1\nsender a%00\n", "line 2: a badly escaped" },
		{ "not a number", "mailpipe-queue 1\ncreated -5\n", "line 2: not a number" },
		{ "held other", "mailpipe-queue 1\nheld spam\n", "line 2: held is for credentials" },
		{ "bad mode", "mailpipe-queue 1\nmode mime\n", "line 2: mode is raw or body" },
		{ "end miscounts", "mailpipe-queue 1\nrcpt sent r@x\nend 2\n", "line 3: the end line" },
		{ "nothing after end", "mailpipe-queue 1\naccount a\nsender s\ncreated 1\nattempts 1\n"
		    "next 1\nmode raw\nrcpt sent r@x\nend 1\nrcpt sent q@x\n", "line 9: text after" },
		{ "no recipients", "mailpipe-queue 1\naccount a\nsender s\ncreated 1\nattempts 1\n"
		    "next 1\nmode raw\nend 0\n", "recipients missing" },
		{ "no sender", "mailpipe-queue 1\naccount a\ncreated 1\nattempts 1\nnext 1\n"
		    "mode raw\nrcpt sent r@x\nend 1\n", "recipients missing" },
		{ "no end", "mailpipe-queue 1\naccount a\n", "no end line" },
		{ "bad NOTIFY", "mailpipe-queue 1\ndsn-notify NEVER,SUCCESS\n",
		    "line 2: a DSN value that is not one" },
		{ "NOTIFY not canonical", "mailpipe-queue 1\ndsn-notify failure\n",
		    "line 2: a DSN value" },
		{ "bad RET", "mailpipe-queue 1\ndsn-ret BODY\n", "line 2: a DSN value" },
		{ "empty ENVID", "mailpipe-queue 1\nenvid\n", "line 2: a DSN value" },
		{ "8-bit ENVID", "mailpipe-queue 1\nenvid caf%C3%A9\n", "line 2: a DSN value" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct queue_envelope e;
		int rc;

		fail_clear();
		rc = queue_envelope_parse(cases[i].text, strlen(cases[i].text), "Q/x/envelope", &e);
		ok(rc < 0 && fail_class() == FAIL_IO, "%s: refused as corrupt", cases[i].name);
		ok(strstr(fail_reason(), cases[i].reason) != NULL &&
		    strncmp(fail_reason(), "Q/x/envelope is corrupt (", 25) == 0,
		    "%s: the line names the record and says \"%s\"", cases[i].name, cases[i].reason);
		if (strstr(fail_reason(), cases[i].reason) == NULL)
			diag("got: %s", fail_reason());
		queue_envelope_free(&e);
	}
}

static void
test_nul_in_text(void)
{
	static const char text[] = "mailpipe-queue 1\naccount a\0b\n";
	struct queue_envelope e;

	fail_clear();
	ok(queue_envelope_parse(text, sizeof text - 1, "env", &e) < 0 &&
	    strstr(fail_reason(), "line 2: a NUL byte") != NULL, "a NUL byte in a line is refused");
	queue_envelope_free(&e);
}

int
main(void)
{
	test_round_trip();
	test_minimal();
	test_every_prefix_refused();
	test_damage();
	test_nul_in_text();
	return done_testing();
}
