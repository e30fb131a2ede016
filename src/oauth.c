/*
 * OAuth 2.0 bearer tokens over SASL.  The messages are built by copying
 * bytes, not by printf: a printf of a token leaves copies in the C
 * library's buffers that nobody wipes.  The server's error is read with
 * just enough JSON to find two string fields, since all we do with it is
 * show it: a field we cannot read is left out, never guessed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth.h"
#include "scram.h"
#include "xalloc.h"

/* The concatenation of the count strings: a new string. */
static char *
concat(const char *const *parts, size_t count)
{
	size_t total = 0, at = 0;
	char *out;

	for (size_t i = 0; i < count; i++)
		total += strlen(parts[i]);
	out = xmalloc(total + 1);
	for (size_t i = 0; i < count; i++) {
		memcpy(out + at, parts[i], strlen(parts[i]));
		at += strlen(parts[i]);
	}
	out[at] = '\0';
	return out;
}

char *
oauth_xoauth2(const char *user, const char *token)
{
	const char *parts[] = { "user=", user, "\001auth=Bearer ", token, "\001\001" };

	return concat(parts, sizeof parts / sizeof parts[0]);
}

char *
oauth_bearer(const char *user, const char *host, unsigned port, const char *token)
{
	char *name = scram_saslname(user), port_text[16] = "", *out;
	const char *parts[] = { "n,a=", name, ",\001", host != NULL ? "host=" : "",
		host != NULL ? host : "", host != NULL ? "\001" : "", port != 0 ? "port=" : "",
		port_text, port != 0 ? "\001" : "", "auth=Bearer ", token, "\001\001" };

	if (port != 0)
		snprintf(port_text, sizeof port_text, "%u", port);
	out = concat(parts, sizeof parts / sizeof parts[0]);
	free(name);
	return out;
}

/* The value of "key" in json: a string's text up to its closing quote
 * (one with escapes is not read) or a bare number, at most max - 1
 * characters, into value.  False when not found. */
static bool
json_field(const char *json, size_t len, const char *key, char *value, size_t max)
{
	size_t klen = strlen(key), i = 0, n = 0;
	const char *end = json + len, *p;
	bool quoted;

	for (p = json; p + klen + 2 <= end; p++) {
		if (p[0] == '"' && memcmp(p + 1, key, klen) == 0 && p[klen + 1] == '"')
			break;
	}
	if (p + klen + 2 > end)
		return false;
	for (p += klen + 2; p < end && (*p == ' ' || *p == ':'); p++)
		i += *p == ':';
	if (i != 1 || p >= end)
		return false;
	quoted = *p == '"';
	p += quoted;
	while (p + n < end && n + 1 < max && p[n] >= (quoted ? 0x20 : 0x21) && p[n] < 0x7f &&
	    p[n] != '"' && p[n] != '\\' && (quoted || (p[n] != ',' && p[n] != '}')))
		n++;
	memcpy(value, p, n);
	value[n] = '\0';
	return n > 0;
}

void
oauth_error_note(const char *json, size_t len, char *note, size_t size)
{
	char status[32], scope[160];
	bool has_status = json_field(json, len, "status", status, sizeof status);
	bool has_scope = json_field(json, len, "scope", scope, sizeof scope);

	snprintf(note, size, "%s%s%s%s%s", has_status ? "status " : "",
	    has_status ? status : "", has_status && has_scope ? ", " : "",
	    has_scope ? "scope " : "", has_scope ? scope : "");
}
