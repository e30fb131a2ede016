/*
 * The --header check (userfield.c) and the writer of the field
 * (headerfmt.c) on arbitrary bytes: the input is one --header argument,
 * NUL bytes included.
 *
 * Checked:
 *  - a refusal is FAIL_USAGE or FAIL_DATA with one line of printable text
 *    (a tab from the argument allowed);
 *  - an accepted argument has a name of 1 to USERFIELD_NAME_MAX bytes of
 *    printable ASCII without a colon, then a colon, and no NUL, line
 *    break or other control byte but the tab;
 *  - the field written for it, as compose writes it, is one field: it
 *    starts with the name and a colon, every line break but the last is
 *    followed by a space, every byte is 7-bit printable (or a tab), no
 *    line is over 998 octets;
 *  - unstructured text reads back: unfolded, a plain value is the value
 *    (but for spaces at its end), and encoded-words decode to it; its lines are within 78
 *    columns unless the name is over 56 characters or the value has a
 *    word of more than 20 characters;
 *  - userfield_address_list() on the same text refuses with FAIL_USAGE
 *    or FAIL_DATA only.
 */
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

#include "fuzz_common.h"
#include "headerfmt.h"
#include "status.h"
#include "strbuf.h"
#include "strlist.h"
#include "userfield.h"
#include "xalloc.h"

#define INPUT_MAX (USERFIELD_MAX + 64)

static void
check_refusal(void)
{
	FUZZ_CHECK(fail_class() == FAIL_USAGE || fail_class() == FAIL_DATA);
	for (const char *p = fail_line(); *p != '\0'; p++)
		FUZZ_CHECK(((unsigned char)*p >= 0x20 || *p == '\t') && *p != 0x7f);
	fail_clear();
}

static void
check_accepted(const char *arg, size_t len, const struct userfield *f)
{
	FUZZ_CHECK(f->name_length >= 1 && f->name_length <= USERFIELD_NAME_MAX);
	FUZZ_CHECK(arg[f->name_length] == ':');
	for (size_t i = 0; i < f->name_length; i++)
		FUZZ_CHECK(arg[i] > ' ' && arg[i] < 0x7f && arg[i] != ':');
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK(((unsigned char)arg[i] >= 0x20 || arg[i] == '\t') && arg[i] != 0x7f);
}

/* One field, 7-bit, folded lines of at most 998 octets. */
static void
check_field(const char *field, const char *arg, size_t name_length)
{
	size_t len = strlen(field), line = 0;

	FUZZ_CHECK(len > name_length && memcmp(field, arg, name_length) == 0);
	FUZZ_CHECK(field[name_length] == ':' && field[len - 1] == '\n');
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)field[i];

		FUZZ_CHECK((ch >= 0x20 && ch < 0x7f) || ch == '\t' || ch == '\n');
		FUZZ_CHECK(ch != '\n' || i + 1 == len || field[i + 1] == ' ');
		line = ch == '\n' ? 0 : line + 1;
		FUZZ_CHECK(line <= 998);
	}
}

/* The unfolded field's value decoded: encoded-words (white space between
 * two of them dropped, RFC 2047 6.2), or the text as it is. */
static char *
read_back(const char *field, size_t name_length)
{
	struct strbuf out = { 0 };
	const char *p = field + name_length + 2;	/* ": " */

	if (strstr(p, "=?UTF-8?B?") == NULL) {
		strbuf_append(&out, "", 0);
		for (; *p != '\0'; p++)
			if (*p != '\n')
				strbuf_append(&out, p, 1);
		return strbuf_take(&out, NULL);
	}
	strbuf_append(&out, "", 0);
	while ((p = strstr(p, "=?UTF-8?B?")) != NULL) {
		const char *b = p + 10, *end = strstr(b, "?=");
		unsigned char bytes[128];
		int n;

		FUZZ_CHECK(end != NULL && end - p <= 75 && (end - b) % 4 == 0);
		n = EVP_DecodeBlock(bytes, (const unsigned char *)b, (int)(end - b));
		FUZZ_CHECK(n >= 0);
		n -= (end[-1] == '=') + (end[-2] == '=');
		strbuf_append(&out, (const char *)bytes, (size_t)n);
		p = end + 2;
	}
	return strbuf_take(&out, NULL);
}

static bool
short_words(const char *value)
{
	size_t word = 0;

	for (; *value != '\0'; value++) {
		word = *value == ' ' ? 0 : word + 1;
		if (word > 20)
			return false;
	}
	return true;
}

/* The length of s without its trailing spaces: plain text is folded at
 * its spaces, and those at its end are not kept. */
static size_t
trimmed(const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == ' ')
		n--;
	return n;
}

static void
check_text(const char *field, const char *value, size_t name_length)
{
	char *back = read_back(field, name_length);
	size_t line = 0;

	FUZZ_CHECK(trimmed(back) == trimmed(value) && memcmp(back, value, trimmed(value)) == 0);
	free(back);
	if (name_length > 56 || !short_words(value))
		return;
	for (const char *p = field; *p != '\0'; p++) {
		line = *p == '\n' ? 0 : line + 1;
		FUZZ_CHECK(line <= HEADERFMT_FOLD_WIDTH);
	}
}

static void
write_field(const char *arg, const struct userfield *f)
{
	struct strbuf t = { 0 };

	userfield_write(&t, arg, f);
	check_field(t.p, arg, f->name_length);
	if (f->kind == USERFIELD_TEXT)
		check_text(t.p, f->value, f->name_length);
	free(t.p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct userfield f;
	char *arg;

	if (size > INPUT_MAX)
		return -1;
	arg = xmalloc(size + 1);
	memcpy(arg, data, size);
	arg[size] = '\0';
	fail_clear();
	if (userfield_parse(arg, size, &f) < 0) {
		check_refusal();
	} else {
		check_accepted(arg, size, &f);
		write_field(arg, &f);
	}
	if (userfield_address_list("--cc", arg) < 0)
		check_refusal();
	free(arg);
	return 0;
}
