/*
 * The --header field check and its rule table (userfield.h): pure, so
 * that the fuzzer and a table test can drive it with any bytes.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "header.h"
#include "headerfmt.h"
#include "mimefield.h"
#include "status.h"
#include "userfield.h"
#include "xalloc.h"

/* The names the rule singles out; anything else is added as text. */
struct rule {
	const char *name;
	enum userfield_value kind;
	bool replaces;
	const char *refused;	/* why it is refused, or NULL */
};

static const struct rule rules[] = {
	{ "To", 0, false, "give the recipients as arguments" },
	{ "Cc", 0, false, "use --cc" },
	{ "Bcc", 0, false, "use --bcc" },
	{ "MIME-Version", 0, false, "mailpipe-send writes the MIME fields" },
	{ "From", USERFIELD_ADDRESSES, true, NULL },
	{ "Sender", USERFIELD_ADDRESSES, true, NULL },
	{ "Reply-To", USERFIELD_ADDRESSES, true, NULL },
	{ "Subject", USERFIELD_TEXT, true, NULL },
	{ "Date", USERFIELD_ASCII, true, NULL },
	{ "Message-ID", USERFIELD_ASCII, true, NULL },
	{ "In-Reply-To", USERFIELD_ASCII, true, NULL },
	{ "References", USERFIELD_ASCII, true, NULL },
};

static bool
name_is(const char *arg, size_t name_length, const char *name)
{
	return name_length == strlen(name) && strncasecmp(arg, name, name_length) == 0;
}

static const struct rule *
rule_of(const char *arg, size_t name_length)
{
	static const struct rule content = { "Content-*", 0, false,
		"mailpipe-send writes the MIME fields" };

	if (name_length >= strlen("Content-") && strncasecmp(arg, "Content-", strlen("Content-")) == 0)
		return &content;
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
		if (name_is(arg, name_length, rules[i].name))
			return &rules[i];
	return NULL;
}

/* "Name:" at the start, the name 1..USERFIELD_NAME_MAX bytes of ftext. */
static size_t
name_length_of(const char *arg, size_t len)
{
	size_t n = 0;

	while (n < len && n <= USERFIELD_NAME_MAX && header_is_name_byte((unsigned char)arg[n]))
		n++;
	return n > 0 && n <= USERFIELD_NAME_MAX && n < len && arg[n] == ':' ? n : 0;
}

/* A byte that has no place in a one-line value: a control (a line break
 * would start a field of its own) but the tab, or DEL. */
static bool
is_control(unsigned char ch)
{
	return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

/* Why the value cannot be sent, or NULL. */
static const char *
value_problem(const char *v, size_t len, enum userfield_value kind)
{
	struct utf8_check u;
	size_t word = 0;
	bool ascii = true;

	utf8_check_init(&u);
	utf8_check_feed(&u, v, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (is_control(ch) || ch == '\0')
			return "a line break or control character in the value";
		ascii &= ch < 0x80;
		word = header_is_wsp(ch) ? 0 : word + 1;
		if (word > USERFIELD_WORD_MAX && ch < 0x80)
			return "a word of more than 900 characters in the value";
	}
	if (!utf8_check_is_text(&u))
		return "the value is not UTF-8";
	if (!ascii && kind == USERFIELD_ASCII)
		return "this field takes ASCII only";
	return NULL;
}

/* Non-ASCII only in a display name before an angle-bracketed address
 * (what headerfmt can encode: an address needs SMTPUTF8 in the header,
 * and a comment is not encoded). */
static int
check_non_ascii(const char *what, int what_length, const char *list)
{
	if (!headerfmt_address_list_ok(list))
		return fail(FAIL_DATA, "%.*s: only a display name before <address> may be "
		    "non-ASCII (a non-ASCII address needs SMTPUTF8)", what_length, what);
	return 0;
}

/* From, Sender, Reply-To: at least one address, every one of the form
 * local@domain and sendable. */
static int
check_addresses(const char *arg, size_t name_length, const char *value)
{
	struct strlist found = { 0 };
	char *what = xasprintf("--header %.*s", (int)name_length, arg);
	int rc = check_non_ascii(what, (int)strlen(what), value);

	address_list_extract(value, &found);
	if (rc == 0 && found.count == 0)
		rc = fail(FAIL_USAGE, "%s: no address in the value", what);
	for (size_t i = 0; i < found.count && rc == 0; i++) {
		const char *a = found.items[i];

		if (strchr(a, '@') == NULL || !address_is_sendable(a))
			rc = fail(FAIL_USAGE, "%s: invalid address %s (give user@domain)", what, a);
	}
	strlist_free(&found);
	free(what);
	return rc;
}

static int
check_value(const char *arg, size_t len, struct userfield *f)
{
	size_t offset = (size_t)(f->value - arg);
	const char *problem = value_problem(f->value, len - offset, f->kind);

	if (problem != NULL)
		return fail(FAIL_USAGE, "--header %.*s: %s", (int)f->name_length, arg, problem);
	if (f->kind == USERFIELD_ADDRESSES)
		return check_addresses(arg, f->name_length, f->value);
	return 0;
}

void
userfield_write(struct strbuf *t, const char *arg, const struct userfield *f)
{
	char *name = xstrndup(arg, f->name_length);

	if (f->kind == USERFIELD_ADDRESSES) {
		struct strlist list = { 0 };

		strlist_push(&list, f->value);
		headerfmt_address_field(t, name, &list);
		strlist_free(&list);
	} else if (f->kind == USERFIELD_ASCII) {
		headerfmt_ascii_field(t, name, f->value);
	} else {
		headerfmt_text_field(t, name, f->value);
	}
	free(name);
}

/* The field as userfield_write() writes it has no line over RFC 5322's
 * 998 octets: some values cannot be folded that short (a long quoted
 * string, an address part without white space), and those are refused. */
static int
check_written_length(const char *arg, const struct userfield *f)
{
	struct strbuf t = { 0 };
	size_t line = 0, longest = 0;

	userfield_write(&t, arg, f);
	for (size_t i = 0; i < t.len; i++) {
		line = t.p[i] == '\n' ? 0 : line + 1;
		longest = line > longest ? line : longest;
	}
	free(t.p);
	if (longest > 998)
		return fail(FAIL_USAGE, "--header %.*s: would make a line of %zu octets, over the "
		    "998 a mail header allows; use shorter words", (int)f->name_length, arg, longest);
	return 0;
}

int
userfield_parse(const char *arg, size_t len, struct userfield *f)
{
	const struct rule *r;

	if (len > USERFIELD_MAX)
		return fail(FAIL_USAGE, "--header: longer than %d bytes", USERFIELD_MAX);
	f->name_length = name_length_of(arg, len);
	if (f->name_length == 0)
		return fail(FAIL_USAGE, "--header needs 'Name: value', the name 1 to %d "
		    "printable ASCII characters without a colon or space", USERFIELD_NAME_MAX);
	r = rule_of(arg, f->name_length);
	if (r != NULL && r->refused != NULL)
		return fail(FAIL_USAGE, "--header %.*s: not allowed; %s", (int)f->name_length,
		    arg, r->refused);
	f->kind = r != NULL ? r->kind : USERFIELD_TEXT;
	f->replaces = r != NULL && r->replaces;
	f->value = arg + f->name_length + 1;
	while (f->value < arg + len && header_is_wsp((unsigned char)*f->value))
		f->value++;
	if (check_value(arg, len, f) < 0)
		return -1;
	return check_written_length(arg, f);
}

bool
userfield_is(const char *arg, const char *name)
{
	size_t n = strcspn(arg, ":");

	return arg[n] == ':' && name_is(arg, n, name);
}

const char *
userfield_find(const struct strlist *fields, const char *name)
{
	for (size_t i = 0; fields != NULL && i < fields->count; i++)
		if (userfield_is(fields->items[i], name))
			return fields->items[i];
	return NULL;
}

int
userfield_add(struct strlist *fields, const char *arg)
{
	struct userfield f;

	if (userfield_parse(arg, strlen(arg), &f) < 0)
		return -1;
	for (size_t i = 0; f.replaces && i < fields->count; i++)
		if (strncasecmp(fields->items[i], arg, f.name_length + 1) == 0)
			return fail(FAIL_USAGE, "--header %.*s: given twice; this field may "
			    "appear once", (int)f.name_length, arg);
	strlist_push(fields, arg);
	return 0;
}

int
userfield_conflicts(const struct strlist *fields, bool subject_given, bool reply_to_given,
	bool full_name_given)
{
	if (subject_given && userfield_find(fields, "Subject") != NULL)
		return fail(FAIL_USAGE, "--header Subject: -s gives the subject; use one of them");
	if (reply_to_given && userfield_find(fields, "Reply-To") != NULL)
		return fail(FAIL_USAGE, "--header Reply-To: --reply-to gives it; use one of them");
	if (full_name_given && userfield_find(fields, "From") != NULL)
		return fail(FAIL_USAGE, "--header From: -F gives the From field's name; use one "
		    "of them");
	return 0;
}

int
userfield_address_list(const char *option, const char *list)
{
	const char *problem = value_problem(list, strlen(list), USERFIELD_ADDRESSES);

	if (problem != NULL)
		return fail(FAIL_USAGE, "%s: %s", option, problem);
	return check_non_ascii(option, (int)strlen(option), list);
}
