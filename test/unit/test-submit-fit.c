/*
 * What a message needs from the server (submit-fit.c): the SIZE limit
 * against the exact size, and which addresses make it need SMTPUTF8 --
 * the envelope's, and those of the header's address fields (folded or
 * not, any case), never a display name or another field.
 */
#include <stdlib.h>
#include <string.h>

#include "submit-fit.h"
#include "tap.h"

static char *
utf8_address_of(const char *header)
{
	return fit_header_utf8_address(header, strlen(header));
}

static void
test_header_addresses(void)
{
	char *a;

	ok(utf8_address_of("From: a@example.test\nTo: b@example.test\n\n") == NULL,
	    "an ASCII header needs nothing");
	ok(utf8_address_of("From: Jörg Müller <j@example.test>\n\n") == NULL,
	    "a non-ASCII display name of an ASCII address needs nothing");
	ok(utf8_address_of("Subject: jörg@bücher.example\n\n") == NULL,
	    "an address-like Subject is no address field");
	a = utf8_address_of("To: a@example.test\ncc: b@example.test,\n \"F\" <用户@例子.example>\n\n");
	is_str(a, "用户@例子.example", "a folded Cc (any case) names the address");
	free(a);
	a = utf8_address_of("Resent-To: x@example.test\nReply-To: jörg@bücher.example\n\n");
	is_str(a, "jörg@bücher.example", "Reply-To counts");
	free(a);
	a = utf8_address_of("X-To: jörg@bücher.example\nTo: a@example.test\n\n");
	ok(a == NULL, "X-To is not To");
	free(a);
	a = utf8_address_of("To: a@example.test\n\nTo: jörg@bücher.example\n");
	ok(a == NULL, "the body is not looked at");
	free(a);
}

static void
test_envelope(void)
{
	struct smtp_caps caps = { .known = true };
	struct strlist rcpts = { 0 };
	struct fit_addresses a = { .from = "s@example.test", .recipients = &rcpts,
		.header = "To: r@example.test\n\n", .header_length = 20 };
	bool needed = true;

	strlist_push(&rcpts, "r@example.test");
	ok(fit_utf8(&caps, &a, &needed) == 0 && !needed, "ASCII: SMTPUTF8 not needed");
	strlist_push(&rcpts, "jörg@bücher.example");
	ok(fit_utf8(&caps, &a, &needed) == -1 && needed && fail_class() == FAIL_DATA,
	    "a non-ASCII recipient, SMTPUTF8 not offered: FAIL_DATA");
	ok(strstr(fail_reason(), "jörg@bücher.example") != NULL, "the line names it");
	caps.smtputf8 = true;
	ok(fit_utf8(&caps, &a, &needed) == 0 && needed, "offered: needed, no failure");
	strlist_free(&rcpts);
	a.recipients = &rcpts;
	a.from = "jörg@bücher.example";
	caps.smtputf8 = false;
	ok(fit_utf8(&caps, &a, &needed) == -1 && needed, "a non-ASCII sender counts");
}

static void
test_size(void)
{
	struct smtp_caps caps = { .size = true, .size_limit = 1000 };

	ok(fit_size(&caps, 1000) == 0, "exactly the limit fits");
	ok(fit_size(&caps, 1001) == -1 && fail_class() == FAIL_PERMANENT, "one octet more: 69");
	ok(strstr(fail_reason(), "1001 octets, more than the 1000") != NULL, "both sizes");
	caps.size_limit = 0;
	ok(fit_size(&caps, 1LL << 40) == 0, "no limit declared: anything fits");
}

int
main(void)
{
	test_header_addresses();
	test_envelope();
	test_size();
	return done_testing();
}
