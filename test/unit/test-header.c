/*
 * header.c: the one rule for "this line is a header field", checked on
 * named cases (RFC 5322 3.6.8 names, the obsolete "Name :" of 4.5.4, what
 * is no field), against the RFC's grammar written out a second way for
 * every short line over an alphabet of the bytes that matter, and through
 * the spool, which must end the header exactly where the rule says.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "header.h"
#include "spool.h"
#include "status.h"
#include "tap.h"

/* The bytes that can change the verdict, and ordinary ones. */
static const char alphabet[] = { 'a', 'Z', '~', ':', ' ', '\t', '\r', '\0', 0x7f, (char)0x80 };
#define ALPHABET_SIZE (sizeof alphabet)
#define LINE_LENGTH_MAX 4

static void
name_length(const char *line, size_t want)
{
	is_int(header_field_name_length(line, strlen(line)), want, "name length of \"%s\"", line);
}

static void
test_cases(void)
{
	name_length("Subject: hello", 7);
	name_length("Subject:", 7);
	name_length("X:", 1);
	name_length("Subject : obsolete but taken", 7);
	name_length("Subject \t :x", 7);
	name_length("~!#$%&'*+-./;<=>?@[]^_`{|}: printable", 26);
	name_length("Subject", 0);
	name_length("Subject \n", 0);
	name_length(": no name", 0);
	name_length(" Subject: a continuation", 0);
	name_length("\tSubject: a continuation", 0);
	name_length("Sub ject: a space inside the name", 0);
	name_length("Subject\r\n", 0);
	name_length("From someone", 0);
	name_length("", 0);
	name_length("Sub\x7fject: DEL", 0);
	name_length("Sub\xc3\xa9: 8-bit", 0);
	is_int(header_field_name_length("Subject: x", 7), 0,
	    "the colon must lie within the length given");
	is_int(header_field_name_length("A\0B: x", 6), 0, "a NUL ends no name");
}

static void
test_scan_states(void)
{
	enum header_scan s = HEADER_SCAN_START;

	s = header_field_scan(s, 'T');
	is_int(s, HEADER_SCAN_NAME, "a name byte starts a name");
	s = header_field_scan(s, ' ');
	is_int(s, HEADER_SCAN_NAME_SPACE, "white space after the name");
	is_int(header_field_scan(s, 'o'), HEADER_SCAN_NOT_FIELD, "a name resumed after space");
	s = header_field_scan(s, ':');
	is_int(s, HEADER_SCAN_FIELD, "the colon makes it a field");
	is_int(header_field_scan(s, '\n'), HEADER_SCAN_FIELD, "a field stays a field");
	is_int(header_field_scan(HEADER_SCAN_NOT_FIELD, 'a'), HEADER_SCAN_NOT_FIELD,
	    "no field stays no field");
	ok(header_is_wsp(' ') && header_is_wsp('\t') && !header_is_wsp('\n') &&
	    !header_is_wsp('\r'), "WSP is a space or a tab");
}

/* RFC 5322 3.6.8: ftext = %d33-57 / %d59-126. */
static bool
is_ftext(unsigned char ch)
{
	return (ch >= 33 && ch <= 57) || (ch >= 59 && ch <= 126);
}

/* RFC 5322: field-name = 1*ftext, and 4.5.4's obs-optional = field-name
 * *WSP ":". */
static size_t
grammar_name_length(const unsigned char *s, size_t len)
{
	size_t name = 0, colon;

	while (name < len && is_ftext(s[name]))
		name++;
	for (colon = name; colon < len && (s[colon] == 32 || s[colon] == 9); colon++)
		;
	return name > 0 && colon < len && s[colon] == 58 ? name : 0;
}

/* Fills line with the index-th string of length len over the alphabet. */
static void
nth_line(size_t index, size_t len, char *line)
{
	for (size_t i = 0; i < len; i++, index /= ALPHABET_SIZE)
		line[i] = alphabet[index % ALPHABET_SIZE];
}

static void
test_against_grammar(void)
{
	char line[LINE_LENGTH_MAX];
	size_t checked = 0, wrong = 0;

	for (size_t len = 1, count = ALPHABET_SIZE; len <= LINE_LENGTH_MAX;
	    len++, count *= ALPHABET_SIZE)
		for (size_t index = 0; index < count; index++, checked++) {
			nth_line(index, len, line);
			if (header_field_name_length(line, len) ==
			    grammar_name_length((const unsigned char *)line, len))
				continue;
			if (wrong++ == 0)
				tap_dump("first disagreement", line, len);
		}
	ok(checked > 10000 && wrong == 0, "the RFC 5322 grammar agrees on all %zu short lines",
	    checked);
}

/* body_offset of the message line + "\nX: y\n\nbody\n", spooled with a
 * header; -1 if it could not be spooled. */
static long long
spooled_body_offset(const char *line, size_t len)
{
	static const char rest[] = "\nX: y\n\nbody\n";
	char message[LINE_LENGTH_MAX + sizeof rest];
	struct spool s;
	int p[2];
	long long offset = -1;

	memcpy(message, line, len);
	memcpy(message + len, rest, sizeof rest - 1);
	if (pipe(p) < 0)
		return -1;
	if (write(p[1], message, len + sizeof rest - 1) == (ssize_t)(len + sizeof rest - 1)) {
		close(p[1]);
		p[1] = -1;
		if (spool_read(p[0], true, &s) == 0)
			offset = s.body_offset;
		spool_close(&s);
	}
	close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return offset;
}

/* A first line that starts with white space, CR or LF, or is an mbox
 * "From " line, is the spool's own business; every other first line is
 * header exactly when the rule calls it a field. */
static void
test_spool_agrees(void)
{
	char line[LINE_LENGTH_MAX];
	size_t checked = 0, wrong = 0;

	for (size_t len = 1, count = ALPHABET_SIZE; len <= LINE_LENGTH_MAX;
	    len++, count *= ALPHABET_SIZE)
		for (size_t index = 0; index < count; index++) {
			long long want;

			nth_line(index, len, line);
			if (header_is_wsp((unsigned char)line[0]) || line[0] == '\r')
				continue;
			want = header_field_name_length(line, len) > 0
			    ? (long long)len + (long long)strlen("\nX: y\n\n") : 0;
			checked++;
			if (spooled_body_offset(line, len) != want && wrong++ == 0)
				tap_dump("first disagreement", line, len);
		}
	ok(checked > 5000 && wrong == 0, "the spool ends the header where the rule says, "
	    "on all %zu short first lines", checked);
}

int
main(void)
{
	test_cases();
	test_scan_states();
	test_against_grammar();
	test_spool_agrees();
	return done_testing();
}
