/*
 * File name parameters, boundaries and the UTF-8 check: pure functions but
 * for the boundary's random bytes.
 */
#include <stdio.h>
#include <string.h>

#include "mimefield.h"
#include "random.h"
#include "strbuf.h"
#include "xalloc.h"

#define BOUNDARY_RANDOM_BYTES 16	/* 128 bits */
/* Characters of a file name's value per line: with the folding space,
 * "filename*0*=utf-8''" and the ";" after it, a line stays within 78
 * columns. */
#define SECTION_OCTETS_MAX 50

void
utf8_check_init(struct utf8_check *u)
{
	memset(u, 0, sizeof *u);
}

/* The first byte of a sequence: how many follow, and the range of the
 * second (RFC 3629 section 4, which rules out overlong forms and
 * surrogates). */
static void
lead_byte(struct utf8_check *u, unsigned char c)
{
	u->lower = 0x80;
	u->upper = 0xbf;
	if (c < 0x80) {
		u->has_nul |= c == 0;
		return;
	}
	if (c >= 0xc2 && c <= 0xdf)
		u->need = 1;
	else if (c >= 0xe0 && c <= 0xef)
		u->need = 2;
	else if (c >= 0xf0 && c <= 0xf4)
		u->need = 3;
	else
		u->bad = true;
	if (c == 0xe0)
		u->lower = 0xa0;
	else if (c == 0xed)
		u->upper = 0x9f;
	else if (c == 0xf0)
		u->lower = 0x90;
	else if (c == 0xf4)
		u->upper = 0x8f;
}

void
utf8_check_feed(struct utf8_check *u, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n && !u->bad; i++) {
		if (u->need == 0) {
			lead_byte(u, s[i]);
			continue;
		}
		if (s[i] < u->lower || s[i] > u->upper)
			u->bad = true;
		u->need--;
		u->lower = 0x80;
		u->upper = 0xbf;
	}
}

bool
utf8_check_is_text(const struct utf8_check *u)
{
	return !u->bad && u->need == 0 && !u->has_nul;
}

bool
mimefield_name_ok(const char *name)
{
	size_t len = strlen(name);
	struct utf8_check u;

	if (len == 0 || len > MIMEFIELD_NAME_MAX || strchr(name, '/') != NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	utf8_check_init(&u);
	utf8_check_feed(&u, name, len);
	return utf8_check_is_text(&u);
}

/* Printable ASCII that fits a line as a quoted string. */
static bool
fits_quoted(const char *s)
{
	size_t length = 0;

	for (; *s != '\0'; s++, length++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
		length += *s == '"' || *s == '\\';
	}
	return length <= SECTION_OCTETS_MAX;
}

/* attr-char of RFC 5987 3.2.1: sent as it is in an extended value. */
static bool
is_attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$&+-.^_`|~", c) != NULL);
}

/* The encoded length of the UTF-8 sequence at s. */
static size_t
sequence_width(const unsigned char *s, size_t *bytes)
{
	size_t n = 1, width = 0;

	while ((s[n] & 0xc0) == 0x80)
		n++;
	for (size_t i = 0; i < n; i++)
		width += is_attr_char(s[i]) ? 1 : 3;
	*bytes = n;
	return width;
}

static void
append_encoded(struct strbuf *b, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_attr_char(s[i]))
			strbuf_printf(b, "%c", s[i]);
		else
			strbuf_printf(b, "%%%02X", s[i]);
}

/* RFC 2231 sections 3 and 4: numbered, the first with the charset. */
static char *
extended_filename(const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	struct strbuf b = { 0 };
	unsigned section = 0;

	while (*s != '\0') {
		size_t width = 0, bytes;

		strbuf_printf(&b, ";\n filename*%u*=%s", section, section == 0 ? "utf-8''" : "");
		while (*s != '\0' && width + sequence_width(s, &bytes) <= SECTION_OCTETS_MAX) {
			width += sequence_width(s, &bytes);
			append_encoded(&b, s, bytes);
			s += bytes;
		}
		section++;
	}
	return strbuf_take(&b, NULL);
}

char *
mimefield_filename(const char *name)
{
	struct strbuf b = { 0 };

	if (!fits_quoted(name))
		return extended_filename(name);
	strbuf_printf(&b, ";\n filename=\"");
	for (const char *p = name; *p != '\0'; p++)
		strbuf_printf(&b, "%s%c", *p == '"' || *p == '\\' ? "\\" : "", *p);
	strbuf_printf(&b, "\"");
	return strbuf_take(&b, NULL);
}

char *
mimefield_boundary(void)
{
	unsigned char r[BOUNDARY_RANDOM_BYTES];
	char text[2 * BOUNDARY_RANDOM_BYTES + 3] = "=_";

	random_bytes(r, sizeof r);
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(text + 2 + 2 * i, 3, "%02x", r[i]);
	return xstrdup(text);
}
