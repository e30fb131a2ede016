/*
 * A small JSON writer (RFC 8259) for the run report: values appended to a
 * strbuf, commas and nesting kept here so no caller writes punctuation.
 * Strings are escaped in one function, whatever they hold: '"' and '\'
 * with a backslash, C0 controls, DEL and the C1 controls as \u00XX, every
 * byte that is not part of well-formed UTF-8 as \uFFFD (one per byte),
 * printable UTF-8 as it is.  The output is always valid JSON in UTF-8.
 */
#ifndef MAILPIPE_JSON_H
#define MAILPIPE_JSON_H

#include <stdbool.h>

#include "strbuf.h"

#define JSON_DEPTH_MAX 8

struct json {
	struct strbuf out;
	int depth;
	bool has_member[JSON_DEPTH_MAX];	/* a comma before the next value */
};

/* key: the member's name inside an object, NULL inside an array or at the
 * top.  Nesting deeper than JSON_DEPTH_MAX is a programming error (abort). */
void json_object_open(struct json *j, const char *key);
void json_object_close(struct json *j);
void json_array_open(struct json *j, const char *key);
void json_array_close(struct json *j);
/* value NULL: null. */
void json_string(struct json *j, const char *key, const char *value);
void json_int(struct json *j, const char *key, long long value);
void json_uint(struct json *j, const char *key, unsigned long long value);
/* Three decimals (seconds). */
void json_number(struct json *j, const char *key, double value);
void json_bool(struct json *j, const char *key, bool value);
/* A value another json writer made whole (a child's account object,
 * mailpipe-fetch --jobs), appended as it is. */
void json_raw(struct json *j, const char *key, const char *value);
/* The escaped string in quotes, appended to b. */
void json_escape(struct strbuf *b, const char *s);

#endif
