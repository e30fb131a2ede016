/*
 * Commands out, lines in, transcript on the side.  Commands are assembled
 * in a fixed buffer and checked for embedded line breaks, so an argument
 * can never smuggle a second command onto the wire.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"
#include "proto.h"
#include "status.h"

static int __attribute__((format(printf, 3, 0)))
vsend(struct conn *c, const char *shown, const char *fmt, va_list ap)
{
	char command[PROTO_COMMAND_MAX + 3];
	int len = vsnprintf(command, sizeof command - 2, fmt, ap);
	int rc;

	if (len < 0 || len > PROTO_COMMAND_MAX)
		rc = fail(FAIL_DATA, "command too long for the protocol (%d bytes)", len);
	else if (strpbrk(command, "\r\n") != NULL || strlen(command) != (size_t)len)
		rc = fail(FAIL_DATA, "refusing to send a command with a line break or NUL in it");
	else {
		log_transcript("->", shown ? shown : command, shown ? strlen(shown) : (size_t)len);
		memcpy(command + len, "\r\n", 2);
		rc = conn_write(c, command, (size_t)len + 2);
		if (shown != NULL)
			conn_mark_secret(c);	/* after the write: it may flush */
	}
	OPENSSL_cleanse(command, sizeof command);
	return rc;
}

int
proto_send(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsend(c, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

int
proto_send_secret(struct conn *c, const char *shown, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsend(c, shown, fmt, ap);
	va_end(ap);
	return rc;
}

int
proto_read_line(struct conn *c, char **line_r, size_t *len_r)
{
	return proto_read_line_hiding(c, NULL, NULL, line_r, len_r);
}

/* The transcript's line for what was read: prefix + shown when hidden. */
static void
log_read(const char *line, size_t len, const char *prefix, const char *shown)
{
	char stand_in[128];

	if (shown == NULL || len < strlen(prefix) || memcmp(line, prefix, strlen(prefix)) != 0) {
		log_transcript("<-", line, len);
		return;
	}
	snprintf(stand_in, sizeof stand_in, "%s%s", prefix, shown);
	log_transcript("<-", stand_in, strlen(stand_in));
}

int
proto_read_line_hiding(struct conn *c, const char *prefix, const char *shown,
	char **line_r, size_t *len_r)
{
	if (conn_flush(c) < 0 || conn_read_line(c, PROTO_LINE_MAX, line_r, len_r) < 0)
		return -1;
	log_read(*line_r, *len_r, prefix, shown);
	if (memchr(*line_r, '\0', *len_r) != NULL)
		return fail(FAIL_PROTOCOL, "the server sent a NUL byte in a reply");
	return 0;
}

void
proto_keep_offered(char *list, size_t size, bool *cut, const char *line)
{
	size_t used = strlen(list), len = strlen(line);

	if (*cut)
		return;
	if (used + len + 1 < size)
		snprintf(list + used, size - used, "%s\n", line);
	else
		*cut = true;
}

void
proto_keep_value(char *value, size_t size, bool *seen, const char *line, size_t keyword_len)
{
	const char *rest = line + keyword_len;

	if (*seen)
		return;
	*seen = true;
	if (*rest == ' ' || *rest == '=')
		rest++;
	snprintf(value, size, "%s", rest);
}
