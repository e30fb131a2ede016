/* The JSON writer of the run report (json.h). */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"

/* One character: as it is, or escaped; returns the bytes consumed. */
static size_t
escape_char(struct strbuf *b, const unsigned char *s, size_t left)
{
	size_t n;

	if (s[0] == '"' || s[0] == '\\') {
		strbuf_printf(b, "\\%c", s[0]);
		return 1;
	}
	if (s[0] < 0x20 || s[0] == 0x7f) {
		strbuf_printf(b, "\\u%04x", s[0]);
		return 1;
	}
	n = s[0] < 0x80 ? 1 : log_printable_utf8(s, left);
	if (n > 0) {
		strbuf_append(b, (const char *)s, n);
		return n;
	}
	if (left >= 2 && s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f) {
		strbuf_printf(b, "\\u%04x", s[1]);	/* a C1 control: well formed */
		return 2;
	}
	strbuf_append(b, "\\ufffd", 6);
	return 1;
}

void
json_escape(struct strbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s);

	strbuf_append(b, "\"", 1);
	for (size_t i = 0; i < len;)
		i += escape_char(b, p + i, len - i);
	strbuf_append(b, "\"", 1);
}

/* The comma and the key before a value. */
static void
member(struct json *j, const char *key)
{
	if (j->has_member[j->depth])
		strbuf_append(&j->out, ",", 1);
	j->has_member[j->depth] = true;
	if (key != NULL) {
		json_escape(&j->out, key);
		strbuf_append(&j->out, ":", 1);
	}
}

static void
open_level(struct json *j, const char *key, const char *bracket)
{
	member(j, key);
	strbuf_append(&j->out, bracket, 1);
	if (j->depth + 1 >= JSON_DEPTH_MAX)
		abort();
	j->has_member[++j->depth] = false;
}

static void
close_level(struct json *j, const char *bracket)
{
	if (j->depth == 0)
		abort();
	j->depth--;
	strbuf_append(&j->out, bracket, 1);
}

void
json_object_open(struct json *j, const char *key)
{
	open_level(j, key, "{");
}

void
json_object_close(struct json *j)
{
	close_level(j, "}");
}

void
json_array_open(struct json *j, const char *key)
{
	open_level(j, key, "[");
}

void
json_array_close(struct json *j)
{
	close_level(j, "]");
}

void
json_string(struct json *j, const char *key, const char *value)
{
	member(j, key);
	if (value == NULL)
		strbuf_append(&j->out, "null", 4);
	else
		json_escape(&j->out, value);
}

void
json_raw(struct json *j, const char *key, const char *value)
{
	member(j, key);
	strbuf_append(&j->out, value, strlen(value));
}

void
json_int(struct json *j, const char *key, long long value)
{
	member(j, key);
	strbuf_printf(&j->out, "%lld", value);
}

void
json_uint(struct json *j, const char *key, unsigned long long value)
{
	member(j, key);
	strbuf_printf(&j->out, "%llu", value);
}

void
json_number(struct json *j, const char *key, double value)
{
	member(j, key);
	strbuf_printf(&j->out, "%.3f", value);
}

void
json_bool(struct json *j, const char *key, bool value)
{
	member(j, key);
	strbuf_printf(&j->out, "%s", value ? "true" : "false");
}
