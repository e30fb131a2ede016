/*
 * What the server must offer for a message (submit-fit.h): checked before
 * MAIL, because a refusal there is one nobody has to clean up after, and
 * a message over the limit would otherwise be streamed whole before the
 * server's refusal of it (RFC 1870 section 6.1 lets a server refuse only
 * after the final dot).  An address that is not ASCII needs SMTPUTF8
 * (RFC 6531 section 3.2): without it the server would get raw 8-bit
 * addresses it never agreed to, which it may mangle or bounce later.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "header.h"
#include "status.h"
#include "strbuf.h"
#include "submit-fit.h"
#include "xalloc.h"

int
fit_size(const struct smtp_caps *caps, long long size)
{
	if (caps->size_limit <= 0 || size <= caps->size_limit)
		return 0;
	return fail(FAIL_PERMANENT, "the message is %lld octets, more than the %lld the server "
	    "takes (SIZE); nothing sent", size, caps->size_limit);
}

/* ---- SMTPUTF8 ---- */

static bool
is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* The header fields that hold addresses (RFC 5322 3.6.2, 3.6.3, 3.6.6). */
static bool
is_address_field(const char *name, size_t n)
{
	static const char *const names[] = { "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
		"Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Bcc" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == n && strncasecmp(name, names[i], n) == 0)
			return true;
	return false;
}

/* The end of the field starting at p: past its continuation lines. */
static const char *
field_end(const char *p, const char *end)
{
	const char *nl;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		p = nl + 1;
		if (p == end || !header_is_wsp((unsigned char)*p))
			return p;
	}
	return end;
}

/* The first address of the field's value that is not ASCII, or NULL. */
static char *
value_utf8_address(const char *value, size_t n)
{
	struct strbuf b = { 0 };
	struct strlist found = { 0 };
	char *text, *first = NULL;

	strbuf_append(&b, value, n);
	text = strbuf_take(&b, NULL);
	for (char *p = text; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';	/* unfolded */
	address_list_extract(text, &found);
	for (size_t i = 0; i < found.count && first == NULL; i++)
		if (!is_ascii(found.items[i]))
			first = xstrdup(found.items[i]);
	strlist_free(&found);
	free(text);
	return first;
}

char *
fit_header_utf8_address(const char *header, size_t length)
{
	const char *p = header, *end = header + length, *next;
	char *found = NULL;

	/* Up to the empty line: what follows is no header. */
	for (; p < end && *p != '\n' && found == NULL; p = next) {
		size_t name = header_field_name_length(p, (size_t)(end - p));
		const char *colon;

		next = field_end(p, end);
		if (name == 0 || !is_address_field(p, name))
			continue;
		colon = memchr(p, ':', (size_t)(next - p));
		found = value_utf8_address(colon + 1, (size_t)(next - colon - 1));
	}
	return found;
}

/* The first envelope address that is not ASCII, or NULL. */
static const char *
envelope_utf8_address(const struct fit_addresses *a)
{
	if (!is_ascii(a->from))
		return a->from;
	for (size_t i = 0; i < a->recipients->count; i++)
		if (!is_ascii(a->recipients->items[i]))
			return a->recipients->items[i];
	return NULL;
}

int
fit_utf8(const struct smtp_caps *caps, const struct fit_addresses *a, bool *needed_r)
{
	char *in_header = NULL;
	const char *address = envelope_utf8_address(a);
	int rc = 0;

	if (address == NULL)
		address = in_header = fit_header_utf8_address(a->header, a->header_length);
	*needed_r = address != NULL;
	if (address != NULL && !caps->smtputf8)
		rc = fail(FAIL_DATA, "the address %s is not ASCII and the server does not offer "
		    "SMTPUTF8; nothing sent", address);
	free(in_header);
	return rc;
}
