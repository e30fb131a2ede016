/*
 * mda.c: the %F and %T placeholders (their values single-quoted, so that
 * no byte of a sender an attacker writes becomes shell syntax, checked by
 * running the expanded command through /bin/sh and comparing what it
 * printed with the value), %% and other % left alone; and the verdicts
 * of mda_deliver() from a command's exit status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "mda.h"
#include "spool.h"
#include "status.h"
#include "tap.h"

static void
test_expand(void)
{
	char *s;

	s = mda_expand("procmail -f %F -a %T", "a@b.example", "alice");
	is_str(s, "procmail -f 'a@b.example' -a 'alice'", "both placeholders quoted");
	free(s);
	s = mda_expand("x %% %d %F%", "", "r");
	is_str(s, "x % %d ''%", "%s", "%% is %, %d and a final % stay, an empty sender is ''");
	free(s);
	s = mda_expand("%F", "o'neil@x", "r");
	is_str(s, "'o'\\''neil@x'", "a quote closes, is escaped, reopens");
	free(s);
}

/* What /bin/sh makes of the expanded "printf %s %F". */
static void
shell_round_trip(const char *sender)
{
	char *cmd = mda_expand("printf '%%s' %F", sender, "r");
	char got[512] = "";
	FILE *p = popen(cmd, "r");
	size_t n = p != NULL ? fread(got, 1, sizeof got - 1, p) : 0;

	if (p != NULL)
		pclose(p);
	got[n] = '\0';
	is_str(got, sender, "the shell gives back exactly the sender [%s]", sender);
	free(cmd);
}

static void
test_shell(void)
{
	static const char *const hostile[] = {
		"plain@example.test", "'", "''", "a'b'c", "$(touch /tmp/x)", "`id`",
		"a;b|c&d>e<f", "\\'\\", "\"dq\"", "*?[x]", "~root", "%F%T", "a b\tc",
	};

	for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++)
		shell_round_trip(hostile[i]);
}

static int
deliver_with(const char *command)
{
	struct mda_call call = { .command = command, .sender = "s", .recipient = "r",
		.timeout_s = 5 };
	int fd = spool_temporary(), rc;

	if (write(fd, "Subject: x\n\nbody\n", 17) != 17)
		return -2;
	rc = mda_deliver(&call, fd);
	close(fd);
	return rc;
}

static void
test_verdicts(void)
{
	is_int(deliver_with("cat >/dev/null"), MDA_DELIVERED, "exit 0: delivered");
	is_int(deliver_with("grep -q '^body$' && exit 75"), MDA_TEMPORARY,
	    "exit 75: temporary (and stdin is the message from its start)");
	is_int(fail_class(), FAIL_TEMPORARY, "recorded as temporary");
	fail_clear();
	is_int(deliver_with("echo nope >&2; exit 67"), MDA_PERMANENT, "exit 67: permanent");
	ok(strstr(fail_reason(), "exit status 67): nope") != NULL, "its line is in the reason: %s",
	    fail_reason());
	fail_clear();
	is_int(deliver_with("kill -9 $$"), MDA_TEMPORARY, "killed by a signal: temporary");
	fail_clear();
}

/* An MDA that leaves a process in the background holding its output (a
 * notifier started with &) is done when its shell exits, not when the
 * background process lets go of the pipe: waiting for that would time out
 * and deliver the message again on every run. */
static void
test_background_child(void)
{
	int64_t start = clock_now_ms();

	is_int(deliver_with("sleep 8 & exit 0"), MDA_DELIVERED,
	    "a background process holding the output: delivered when the shell exits");
	ok(clock_now_ms() - start < 4000, "without waiting for the background process (%lld ms)",
	    (long long)(clock_now_ms() - start));
	fail_clear();
}

/* %F inside the user's own quotes would put mailpipe's single quotes
 * inside them, where they mean nothing and a sender's $( ) runs. */
static void
test_command_check(void)
{
	static const char *const good[] = {
		"procmail -f %F", "dovecot-lda -d %T -f %F", "maildrop -f %F 'x y'",
		"echo \"100%%\" %F", "printf '%s' x; cat", "a \\\"%F", "",
	};
	static const char *const bad[] = {
		"procmail -f \"%F\"", "procmail -f '%F'", "x \"a %T b\"", "x 'it''s %F'",
	};

	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		ok(mda_command_check(good[i]) == NULL, "accepted: %s", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ok(mda_command_check(bad[i]) != NULL, "refused: %s", bad[i]);
}

int
main(void)
{
	test_command_check();
	test_expand();
	test_shell();
	test_verdicts();
	test_background_child();
	return done_testing();
}
