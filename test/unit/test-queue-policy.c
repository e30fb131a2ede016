/*
 * The queue's decisions (queue-policy.c) as tables: the failure table of
 * mailpipe-send(1) QUEUE row by row, failover, the backoff sequence, when
 * a message is due and when it is old.
 */
#include <string.h>

#include "queue-policy.h"
#include "tap.h"

static const char *
action_name(enum queue_action a)
{
	static const char *const names[] = { "fail now", "queue", "hold", "failed/" };

	return names[a];
}

static void
test_table(void)
{
	static const struct {
		enum failure cls;
		enum attempt_stage stage;
		enum queue_action new_message, queued;
		const char *what;
	} rows[] = {
		{ FAIL_TEMPORARY, STAGE_SESSION, QUEUE_KEEP, QUEUE_KEEP, "connection refused (75)" },
		{ FAIL_TEMPORARY, STAGE_MESSAGE, QUEUE_KEEP, QUEUE_KEEP, "4xx at RCPT, lost dot (75)" },
		{ FAIL_AUTH, STAGE_CREDENTIALS, QUEUE_HOLD, QUEUE_HOLD, "AUTH refused (77)" },
		{ FAIL_CONFIG, STAGE_CREDENTIALS, QUEUE_HOLD, QUEUE_HOLD, "password_command fails (78)" },
		{ FAIL_TEMPORARY, STAGE_CREDENTIALS, QUEUE_HOLD, QUEUE_HOLD,
		    "password_command times out (75)" },
		{ FAIL_NOINPUT, STAGE_CREDENTIALS, QUEUE_NO, QUEUE_KEEP, "password_file unreadable (66)" },
		{ FAIL_RECIPIENT, STAGE_MESSAGE, QUEUE_NO, QUEUE_FAILED, "5xx at RCPT (67)" },
		{ FAIL_PERMANENT, STAGE_MESSAGE, QUEUE_NO, QUEUE_FAILED, "5xx at MAIL, DATA, dot (69)" },
		{ FAIL_PERMANENT, STAGE_SESSION, QUEUE_NO, QUEUE_KEEP, "STARTTLS not offered (69)" },
		{ FAIL_AUTH, STAGE_SESSION, QUEUE_NO, QUEUE_KEEP, "certificate not trusted (77)" },
		{ FAIL_HOST, STAGE_SESSION, QUEUE_NO, QUEUE_KEEP, "host not found (68)" },
		{ FAIL_PROTOCOL, STAGE_MESSAGE, QUEUE_NO, QUEUE_KEEP, "malformed reply (76)" },
		{ FAIL_IO, STAGE_MESSAGE, QUEUE_NO, QUEUE_KEEP, "spool unreadable (74)" },
		{ FAIL_USAGE, STAGE_MESSAGE, QUEUE_NO, QUEUE_KEEP, "usage (64)" },
		{ FAIL_DATA, STAGE_MESSAGE, QUEUE_NO, QUEUE_KEEP, "bad input (65)" },
		{ FAIL_PERMANENT, STAGE_UNFIT, QUEUE_NO, QUEUE_FAILED,
		    "over the server's SIZE limit (69)" },
		{ FAIL_DATA, STAGE_UNFIT, QUEUE_NO, QUEUE_FAILED,
		    "a non-ASCII address, no SMTPUTF8 (65)" },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		enum queue_action got = queue_action(rows[i].cls, rows[i].stage, false);

		is_str(action_name(got), action_name(rows[i].new_message), "new message, %s",
		    rows[i].what);
		got = queue_action(rows[i].cls, rows[i].stage, true);
		is_str(action_name(got), action_name(rows[i].queued), "queued message, %s",
		    rows[i].what);
	}
}

static void
test_failover(void)
{
	ok(queue_fails_over(FAIL_TEMPORARY, STAGE_SESSION, false), "connection refused: next account");
	ok(queue_fails_over(FAIL_TEMPORARY, STAGE_MESSAGE, false), "4xx before the dot: next account");
	ok(!queue_fails_over(FAIL_TEMPORARY, STAGE_MESSAGE, true),
	    "no answer after the dot: never another account");
	ok(!queue_fails_over(FAIL_AUTH, STAGE_CREDENTIALS, false), "AUTH refused: held, not moved");
	ok(!queue_fails_over(FAIL_TEMPORARY, STAGE_CREDENTIALS, false),
	    "password_command timed out: held, not moved");
	ok(!queue_fails_over(FAIL_PERMANENT, STAGE_SESSION, false), "a permanent refusal: not moved");
	ok(queue_fails_over(FAIL_PERMANENT, STAGE_UNFIT, false),
	    "over one server's SIZE limit: the next account may take it");
	ok(!queue_curable(FAIL_PERMANENT, STAGE_UNFIT),
	    "over the SIZE limit: not curable by waiting");
	ok(queue_fails_over(FAIL_DATA, STAGE_UNFIT, false) && !queue_curable(FAIL_DATA,
	    STAGE_UNFIT), "SMTPUTF8 needed, not offered: the next account, not a wait");
	ok(queue_curable(FAIL_TEMPORARY, STAGE_SESSION) && queue_curable(FAIL_AUTH,
	    STAGE_CREDENTIALS), "curable: a server down, credentials refused (held)");
	ok(!queue_curable(FAIL_PERMANENT, STAGE_MESSAGE) && !queue_curable(FAIL_RECIPIENT,
	    STAGE_MESSAGE), "not curable: the message or its recipients refused for good");
}

static void
test_backoff(void)
{
	static const struct {
		unsigned attempts;
		long long want;
	} steps[] = {
		{ 0, 0 }, { 1, 0 }, { 2, 60 }, { 3, 120 }, { 4, 240 }, { 5, 480 }, { 6, 960 },
		{ 7, 1920 }, { 8, 3600 }, { 9, 3600 }, { 1000000, 3600 },
	};

	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		is_int(queue_backoff(steps[i].attempts, 60, 3600), steps[i].want,
		    "after %u failed attempts: wait %lld s", steps[i].attempts, steps[i].want);
	is_int(queue_backoff(5, 0, 0), 0, "queue_backoff = 0: every flush tries");
	is_int(queue_backoff(3, 600, 600), 600, "first = limit: a fixed delay");
}

static void
test_due_and_age(void)
{
	struct queue_envelope e = { .created = 1000, .next = 2000 };

	ok(!queue_is_due(&e, 1999), "not due before next");
	ok(queue_is_due(&e, 2000), "due at next");
	e.held = true;
	ok(queue_is_due(&e, 1500), "held: due at every flush");
	ok(!queue_is_older(&e, 1000 + 86399, 86400), "younger than a day");
	ok(queue_is_older(&e, 1000 + 86400, 86400), "a day old");
	ok(!queue_is_older(&e, 1000 + 9999999, 0), "0: never old");
}

int
main(void)
{
	test_table();
	test_failover();
	test_backoff();
	test_due_and_age();
	return done_testing();
}
