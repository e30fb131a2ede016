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
	is_int(deliver_with("kill -9 $$"), MDA_PERMANENT, "killed by a signal: permanent");
	fail_clear();
}

int
main(void)
{
	test_expand();
	test_shell();
	test_verdicts();
	return done_testing();
}
