/*
 * The DSN parameters (dsn.c): what -N, -R, -V and the keys accept, the
 * canonical text they become, the strict check of a queue envelope's
 * values, and xtext (RFC 3461 4) against the RFC's own rule.
 */
#include <stdio.h>
#include <string.h>

#include "dsn.h"
#include "tap.h"

static void
test_notify(void)
{
	static const struct {
		const char *in, *want;	/* want NULL: refused */
	} cases[] = {
		{ "never", "NEVER" }, { "NEVER", "NEVER" }, { "success", "SUCCESS" },
		{ "failure,success", "SUCCESS,FAILURE" }, { "Delay,FAILURE,success",
		"SUCCESS,FAILURE,DELAY" }, { "never,success", NULL }, { "", NULL },
		{ "success,", NULL }, { ",success", NULL }, { "success,success", NULL },
		{ "success failure", NULL }, { "sucess", NULL }, { "success,never", NULL },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[DSN_NOTIFY_MAX] = "";
		const char *err = dsn_notify_canonical(cases[i].in, out);

		if (cases[i].want == NULL)
			ok(err != NULL, "-N \"%s\" refused", cases[i].in);
		else
			ok(err == NULL && strcmp(out, cases[i].want) == 0, "-N \"%s\" is %s",
			    cases[i].in, cases[i].want);
	}
	ok(dsn_notify_check("SUCCESS,DELAY") == NULL, "canonical NOTIFY read back");
	ok(dsn_notify_check("delay,success") != NULL && dsn_notify_check("NEVER X") != NULL,
	    "anything not canonical is refused");
}

static void
test_ret_and_envid(void)
{
	char out[8];
	char envid[DSN_ENVID_MAX + 2];

	ok(dsn_ret_canonical("hdrs", out) == NULL && strcmp(out, "HDRS") == 0, "-R hdrs");
	ok(dsn_ret_canonical("Full", out) == NULL && strcmp(out, "FULL") == 0, "-R Full");
	ok(dsn_ret_canonical("body", out) != NULL, "-R body refused");
	ok(dsn_ret_check("HDRS") == NULL && dsn_ret_check("hdrs") != NULL, "RET read back");
	memset(envid, 'x', DSN_ENVID_MAX);
	envid[DSN_ENVID_MAX] = '\0';
	ok(dsn_envid_check(envid) == NULL, "an ENVID of 100 characters");
	strcat(envid, "x");
	ok(dsn_envid_check(envid) != NULL, "101 refused");
	ok(dsn_envid_check("") != NULL && dsn_envid_check("a\tb") != NULL &&
	    dsn_envid_check("caf\xc3\xa9") != NULL, "empty, a tab, 8-bit: refused");
}

/* RFC 3461 4: xchar ("!".."~" but "+" and "=") as it is, else "+XX". */
static void
test_xtext(void)
{
	char all[96], out[DSN_XTEXT_MAX], want[DSN_XTEXT_MAX] = "";
	size_t n = 0;

	for (int c = ' '; c <= '~'; c++)
		all[n++] = (char)c;
	all[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)all[i];
		size_t len = strlen(want);

		if (c == ' ' || c == '+' || c == '=')
			snprintf(want + len, 4, "+%02X", c);
		else
			snprintf(want + len, 2, "%c", c);
	}
	dsn_xtext(all, out);
	is_str(out, want, "every printable character");
	dsn_xtext("a+b=c d", out);
	is_str(out, "a+2Bb+3Dc+20d", "a+b=c d");
}

int
main(void)
{
	test_notify();
	test_ret_and_envid();
	test_xtext();
	return done_testing();
}
