/*
 * userfield.c: the --header check, as a table of arguments with the
 * verdict (accepted, 64, 65), the kind and whether the field replaces;
 * then the list rules (a replacing field given twice, -s with Subject,
 * --reply-to with Reply-To).
 */
#include <stdio.h>
#include <string.h>

#include "status.h"
#include "strlist.h"
#include "tap.h"
#include "userfield.h"

struct row {
	const char *arg;
	enum failure want;		/* FAIL_NONE: accepted */
	enum userfield_value kind;
	int replaces;
	const char *reason;		/* a part of the line, for a refusal */
};

#define NAME76 "X-0123456789012345678901234567890123456789012345678901234567890123456789012"

static const struct row rows[] = {
	{ "X-Mailer: cron", FAIL_NONE, USERFIELD_TEXT, 0, NULL },
	{ "x-mailer:cron", FAIL_NONE, USERFIELD_TEXT, 0, NULL },
	{ "X-Empty:", FAIL_NONE, USERFIELD_TEXT, 0, NULL },
	{ "X-Tab: a\tb", FAIL_NONE, USERFIELD_TEXT, 0, NULL },
	{ "Comments: Gr\xc3\xbc\xc3\x9f" "e \xf0\x9f\x98\x80", FAIL_NONE, USERFIELD_TEXT, 0, NULL },
	{ "Subject: replaced", FAIL_NONE, USERFIELD_TEXT, 1, NULL },
	{ "From: Backup <backup@example.test>", FAIL_NONE, USERFIELD_ADDRESSES, 1, NULL },
	{ "from: J\xc3\xbcrgen <j@example.test>", FAIL_NONE, USERFIELD_ADDRESSES, 1, NULL },
	{ "Reply-To: a@example.test, b@example.test", FAIL_NONE, USERFIELD_ADDRESSES, 1, NULL },
	{ "Sender: s@example.test", FAIL_NONE, USERFIELD_ADDRESSES, 1, NULL },
	{ "Date: Mon, 07 Dec 2026 06:00:00 +0000", FAIL_NONE, USERFIELD_ASCII, 1, NULL },
	{ "Message-ID: <1@example.test>", FAIL_NONE, USERFIELD_ASCII, 1, NULL },
	{ "In-Reply-To: <1@example.test>", FAIL_NONE, USERFIELD_ASCII, 1, NULL },
	{ "References: <1@example.test> <2@example.test>", FAIL_NONE, USERFIELD_ASCII, 1, NULL },
	{ NAME76 "4: x", FAIL_NONE, USERFIELD_TEXT, 0, NULL },
	{ NAME76 "45: x", FAIL_USAGE, 0, 0, "1 to 76" },
	{ ": x", FAIL_USAGE, 0, 0, "'Name: value'" },
	{ "X-Mailer", FAIL_USAGE, 0, 0, "'Name: value'" },
	{ "X Mailer: x", FAIL_USAGE, 0, 0, "'Name: value'" },
	{ "X-Mailer : x", FAIL_USAGE, 0, 0, "'Name: value'" },
	{ "X-M\xc3\xa4iler: x", FAIL_USAGE, 0, 0, "'Name: value'" },
	{ "X-A: one\nX-B: two", FAIL_USAGE, 0, 0, "line break" },
	{ "X-A: one\r\n two", FAIL_USAGE, 0, 0, "line break" },
	{ "X-A: bell\a", FAIL_USAGE, 0, 0, "control" },
	{ "X-A: del\x7f", FAIL_USAGE, 0, 0, "control" },
	{ "X-A: \xc3\x28", FAIL_USAGE, 0, 0, "not UTF-8" },
	{ "X-A: \xed\xa0\x80", FAIL_USAGE, 0, 0, "not UTF-8" },
	{ "To: a@example.test", FAIL_USAGE, 0, 0, "as arguments" },
	{ "cc: a@example.test", FAIL_USAGE, 0, 0, "--cc" },
	{ "BCC: a@example.test", FAIL_USAGE, 0, 0, "--bcc" },
	{ "MIME-Version: 1.0", FAIL_USAGE, 0, 0, "MIME fields" },
	{ "Content-Type: text/html", FAIL_USAGE, 0, 0, "MIME fields" },
	{ "content-transfer-encoding: 8bit", FAIL_USAGE, 0, 0, "MIME fields" },
	{ "Date: Montag, 7. Dezember \xc3\xa4", FAIL_USAGE, 0, 0, "ASCII only" },
	{ "Message-ID: <\xc3\xa4@example.test>", FAIL_USAGE, 0, 0, "ASCII only" },
	{ "From:", FAIL_USAGE, 0, 0, "no address" },
	{ "From: Only A Name", FAIL_USAGE, 0, 0, "invalid address" },
	{ "From: J <j\xc3\xbc@example.test>", FAIL_DATA, 0, 0, "SMTPUTF8" },
	{ "Reply-To: a@example.test (J\xc3\xbcrgen)", FAIL_DATA, 0, 0, "display name" },
	{ "From: <a@example.test> J\xc3\xbcrgen", FAIL_DATA, 0, 0, "display name" },
};

static void
check_row(const struct row *r)
{
	struct userfield f = { 0 };
	int rc;

	fail_clear();
	rc = userfield_parse(r->arg, strlen(r->arg), &f);
	is_int(fail_class(), r->want, "%s: class", r->arg);
	if (r->want == FAIL_NONE) {
		ok(rc == 0 && f.kind == r->kind && f.replaces == (r->replaces != 0),
		    "%s: kind and rule", r->arg);
		return;
	}
	ok(rc < 0 && strstr(fail_line(), r->reason) != NULL, "%s: the line says \"%s\"",
	    r->arg, r->reason);
	if (strstr(fail_line(), r->reason) == NULL)
		diag("line: %s", fail_line());
}

/* One more than the longest argument, and a word one over the limit. */
static void
test_lengths(void)
{
	char arg[USERFIELD_MAX + 8];
	struct userfield f;

	memset(arg, 'x', sizeof arg - 1);
	memcpy(arg, "X-A: ", 5);
	arg[USERFIELD_MAX + 1] = '\0';
	fail_clear();
	ok(userfield_parse(arg, strlen(arg), &f) < 0 && fail_class() == FAIL_USAGE,
	    "an argument over %d bytes: 64", USERFIELD_MAX);
	arg[5 + USERFIELD_WORD_MAX] = '\0';
	fail_clear();
	ok(userfield_parse(arg, strlen(arg), &f) == 0, "a word of %d characters: accepted",
	    USERFIELD_WORD_MAX);
	arg[5 + USERFIELD_WORD_MAX] = 'x';
	arg[5 + USERFIELD_WORD_MAX + 1] = '\0';
	fail_clear();
	ok(userfield_parse(arg, strlen(arg), &f) < 0 && strstr(fail_line(), "900") != NULL,
	    "a word of %d characters: 64", USERFIELD_WORD_MAX + 1);
	fail_clear();
	ok(userfield_parse("X-A: a\0b", 8, &f) < 0 && fail_class() == FAIL_USAGE,
	    "a NUL byte in the value: 64");
}

static void
test_list_rules(void)
{
	struct strlist l = { 0 };

	fail_clear();
	ok(userfield_add(&l, "X-Tag: one") == 0 && userfield_add(&l, "X-Tag: two") == 0,
	    "an added field may repeat");
	ok(userfield_add(&l, "Date: Mon, 07 Dec 2026 06:00:00 +0000") == 0, "Date once");
	ok(userfield_add(&l, "date: Tue, 08 Dec 2026 06:00:00 +0000") < 0 &&
	    strstr(fail_line(), "given twice") != NULL, "Date twice: 64, given twice");
	fail_clear();
	ok(userfield_find(&l, "DATE") == l.items[2], "found by name, any case");
	ok(userfield_conflicts(&l, true, true, true) == 0, "no Subject, Reply-To, From: no conflict");
	ok(userfield_add(&l, "Subject: s") == 0 && userfield_add(&l, "Reply-To: r@example.test") == 0,
	    "Subject and Reply-To added");
	ok(userfield_add(&l, "From: f@example.test") == 0, "From added");
	ok(userfield_conflicts(&l, false, false, false) == 0, "without -s, --reply-to, -F: fine");
	ok(userfield_conflicts(&l, true, false, false) < 0 && strstr(fail_line(), "-s") != NULL,
	    "-s and --header Subject: 64");
	fail_clear();
	ok(userfield_conflicts(&l, false, true, false) < 0 &&
	    strstr(fail_line(), "--reply-to") != NULL, "--reply-to and --header Reply-To: 64");
	fail_clear();
	ok(userfield_conflicts(&l, false, false, true) < 0 && strstr(fail_line(), "-F") != NULL,
	    "-F and --header From: 64");
	fail_clear();
	strlist_free(&l);
}

/* --cc and --reply-to lists: display names any UTF-8, nothing else. */
static void
test_address_lists(void)
{
	fail_clear();
	ok(userfield_address_list("--cc", "J\xc3\xbcrgen <j@example.test>, dave") == 0,
	    "--cc with a non-ASCII display name: accepted");
	ok(userfield_address_list("--cc", "j\xc3\xbc@example.test") < 0 &&
	    fail_class() == FAIL_DATA && strstr(fail_line(), "--cc: only a display name") != NULL,
	    "--cc with a non-ASCII address: 65");
	fail_clear();
	ok(userfield_address_list("--reply-to", "a@example.test (J\xc3\xbcrgen)") < 0 &&
	    fail_class() == FAIL_DATA, "--reply-to with a non-ASCII comment: 65");
	fail_clear();
	ok(userfield_address_list("--reply-to", "a@example.test\x01") < 0 &&
	    fail_class() == FAIL_USAGE && strstr(fail_line(), "control") != NULL,
	    "--reply-to with a control byte: 64");
	fail_clear();
	ok(userfield_address_list("--cc", "\xc3\x28 <a@example.test>") < 0 &&
	    fail_class() == FAIL_USAGE && strstr(fail_line(), "not UTF-8") != NULL,
	    "--cc not UTF-8: 64");
	fail_clear();
}

int
main(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		check_row(&rows[i]);
	test_lengths();
	test_list_rules();
	test_address_lists();
	return done_testing();
}
