/*
 * address.c: addr-specs out of RFC 5322 address lists (display names,
 * comments, quoted strings, groups), qualification of bare local names with
 * everything else kept byte for byte, and recipient resolution through an
 * aliases file with qualification, de-duplication and refusal of what
 * cannot be sent.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.h"
#include "status.h"
#include "strlist.h"
#include "tap.h"

/* "a|b|c" for a list, for comparing in one go. */
static char *
joined(const struct strlist *l)
{
	size_t len = 1;
	char *out;

	for (size_t i = 0; i < l->count; i++)
		len += strlen(l->items[i]) + 1;
	out = calloc(1, len);
	if (out == NULL)
		abort();
	for (size_t i = 0; i < l->count; i++) {
		if (i > 0)
			strcat(out, "|");
		strcat(out, l->items[i]);
	}
	return out;
}

static void
extract(const char *list, const char *want)
{
	struct strlist l = { 0 };
	char *got;

	address_list_extract(list, &l);
	got = joined(&l);
	is_str(got, want, "extract %s", list);
	free(got);
	strlist_free(&l);
}

static void
test_extract(void)
{
	extract("a@x", "a@x");
	extract("  a@x  ", "a@x");
	extract("\"Name, Q\" <a@x>, b@y", "a@x|b@y");
	extract("root (Cron Daemon)", "root");
	extract("\"(Cron Daemon)\" <root>", "root");
	extract("undisclosed-recipients:;", "");
	extract("team: a@x, b@y;", "a@x|b@y");
	extract("team: a@x, b@y;, c@z", "a@x|b@y|c@z");
	extract("Joe Q. Public <john.q.public@example.com>", "john.q.public@example.com");
	extract("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
	    "mary@x.test|jdoe@example.org|one@y.test");
	extract("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
	    "boss@nil.test|sysservices@example.net");
	extract("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
	    "pete@silly.test");
	extract("a@x (comment, with comma), b@y", "a@x|b@y");
	extract("Name <a@x> (trailing comment)", "a@x");
	extract("\"quoted\"@example.com", "\"quoted\"@example.com");
	extract("a@x,,b@y", "a@x|b@y");
	extract("", "");
	extract("a@x,\n b@y", "a@x|b@y");
}

static void
qualify(const char *list, const char *want)
{
	char *got = address_list_qualify(list, "example.com");

	is_str(got, want, "qualify %s", list);
	free(got);
}

static void
test_qualify(void)
{
	qualify("root", "root@example.com");
	qualify("a@x", "a@x");
	qualify("root (Cron Daemon)", "root@example.com (Cron Daemon)");
	qualify("\"(Cron Daemon)\" <root>", "\"(Cron Daemon)\" <root@example.com>");
	qualify("\"Name, Q\" <a@x>, b", "\"Name, Q\" <a@x>, b@example.com");
	qualify("root, a@x, ops", "root@example.com, a@x, ops@example.com");
	qualify("Joe <joe>, team: ann, bob@y;",
	    "Joe <joe@example.com>, team: ann@example.com, bob@y;");
	qualify("undisclosed-recipients:;", "undisclosed-recipients:;");
	qualify(" root ", " root@example.com ");
	qualify("", "");
	qualify("a,b,c,d,e,f", "a@example.com,b@example.com,c@example.com,d@example.com,"
	    "e@example.com,f@example.com");
}

static void
test_sendable(void)
{
	ok(address_is_sendable("a@x"), "a@x is sendable");
	ok(address_is_sendable("root"), "root is sendable");
	ok(!address_is_sendable(""), "empty is not");
	ok(!address_is_sendable("a b@x"), "a space is not");
	ok(!address_is_sendable("a\r\n@x"), "CR LF is not");
	ok(!address_is_sendable("<a@x>"), "angle brackets are not");
	ok(!address_is_sendable("a\x7f@x"), "DEL is not");
}

static char aliases[] = "/tmp/test-address.XXXXXX";

/* rcpts "a|b" resolved; want "x|y" or NULL for a failure of class cls. */
static void
resolve_(const char *rcpts, const char *path, const char *domain, const char *want,
	enum failure cls, const char *cls_name)
{
	struct strlist l = { 0 };
	char *copy = strdup(rcpts), *save = NULL;
	int rc;

	if (copy == NULL)
		abort();
	for (char *t = strtok_r(copy, "|", &save); t != NULL; t = strtok_r(NULL, "|", &save))
		strlist_push(&l, strcmp(t, "EMPTY") == 0 ? "" : t);
	free(copy);
	fail_clear();
	rc = address_resolve(&l, path, domain);
	if (want != NULL) {
		char *got = joined(&l);

		ok(rc == 0, "resolve %s (domain %s): succeeds", rcpts, domain ? domain : "none");
		if (rc < 0)
			diag("%s", fail_reason());
		is_str(got, want, "resolve %s (domain %s)", rcpts, domain ? domain : "none");
		free(got);
	} else {
		ok(rc < 0 && fail_class() == cls, "resolve %s: %s", rcpts, cls_name);
		if (rc == 0 || fail_class() != cls)
			diag("rc %d, class %d: %s", rc, fail_class(), fail_reason());
	}
	strlist_free(&l);
}

#define resolve(r, p, d, w) resolve_(r, p, d, w, FAIL_NONE, "")
#define resolve_fails(r, p, d, cls) resolve_(r, p, d, NULL, cls, #cls)

static void
test_resolve(void)
{
	int fd = mkstemp(aliases);
	static const char text[] =
	    "# mailpipe aliases\n"
	    "#root: evil@example.org\n"
	    "  # indented comment: x@y\n"
	    "\n"
	    "root: admin@example.com, ops@example.com\n"
	    "postmaster : root2\n"
	    "Webmaster:\"Web Team\" <web@example.net>\n"
	    "default: catchall@example.com\n";

	if (fd < 0 || write(fd, text, sizeof text - 1) != (ssize_t)(sizeof text - 1))
		abort();
	close(fd);

	resolve("root", aliases, NULL, "admin@example.com|ops@example.com");
	resolve("root|admin@example.com", aliases, NULL, "admin@example.com|ops@example.com");
	resolve("ROOT", aliases, NULL, "admin@example.com|ops@example.com");
	resolve("nobody", aliases, NULL, "catchall@example.com");
	resolve("nobody|daemon", aliases, NULL, "catchall@example.com");
	resolve("a@x|root", aliases, NULL, "a@x|admin@example.com|ops@example.com");
	resolve("postmaster", aliases, "example.com", "root2@example.com");
	resolve("webmaster", aliases, NULL, "web@example.net");
	resolve("root@here", aliases, "example.com", "root@here");
	resolve("root", NULL, "example.com", "root@example.com");
	resolve("root", NULL, NULL, "root");
	resolve("a@x|A@X|a@x", NULL, NULL, "a@x");
	resolve("root|root@example.com", NULL, "example.com", "root@example.com");
	resolve_fails("a b@x", NULL, NULL, FAIL_USAGE);
	resolve_fails("ok@x|<a@x>", NULL, NULL, FAIL_USAGE);
	resolve_fails("EMPTY", NULL, NULL, FAIL_USAGE);
	resolve_fails("a\r\n@x", NULL, NULL, FAIL_USAGE);
	resolve_fails("a\n", NULL, "example.com", FAIL_USAGE);
	resolve_fails("root", "/nonexistent/aliases", NULL, FAIL_NOINPUT);

	/* Whoever can write the aliases file can read the mail sent to
	 * local names: it must be ours (or root's) and nobody else's to
	 * write. */
	if (chmod(aliases, 0646) < 0)
		abort();
	resolve_fails("root", aliases, NULL, FAIL_AUTH);
	ok(strstr(fail_reason(), "chmod go-w") != NULL, "an aliases file others can write: "
	    "the line says chmod go-w");
	if (chmod(aliases, 0664) < 0)
		abort();
	resolve_fails("root", aliases, NULL, FAIL_AUTH);
	if (chmod(aliases, 0644) < 0)
		abort();
	resolve("root", aliases, NULL, "admin@example.com|ops@example.com");
	if (geteuid() == 0) {
		if (chown(aliases, 4321, 4321) < 0)
			abort();
		resolve_fails("root", aliases, NULL, FAIL_AUTH);
		ok(strstr(fail_reason(), "chown") != NULL, "an aliases file of another user: "
		    "the line says chown");
	} else {
		skip("an aliases file owned by another user (needs root to chown)");
	}
	unlink(aliases);
}

/* An address longer than any server takes is refused, never cut short to
 * some other, deliverable address. */
static void
test_too_long(void)
{
	char list[1200];
	struct strlist out = { 0 };
	char *q;

	memset(list, 'a', 1100);
	strcpy(list + 1100, "@example.com");
	address_list_extract(list, &out);
	ok(out.count == 1 && !address_is_sendable(out.items[0]),
	    "an 1112-byte address is extracted as something unsendable");
	q = address_list_qualify(list, "example.org");
	is_str(q, list, "an over-long address is not qualified either");
	free(q);
	strlist_free(&out);
}

int
main(void)
{
	test_too_long();
	test_extract();
	test_qualify();
	test_sendable();
	test_resolve();
	return done_testing();
}
