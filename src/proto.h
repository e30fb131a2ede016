/*
 * The line-protocol layer shared by SMTP and POP3: commands out, lines in,
 * and the -v transcript.  A command that carries a secret is sent with
 * proto_send_secret(): the transcript then shows only `shown`, so no caller
 * can leak a credential into a log by forgetting to redact it.
 */
#ifndef MAILPIPE_PROTO_H
#define MAILPIPE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include "conn.h"

/* Longest reply line accepted from a server, without the line ending.
 * RFC 5321 allows 512 octets; real servers send longer text lines. */
#define PROTO_LINE_MAX 8192
/* Longest command sent, without CRLF (RFC 5321 4.5.3.1.4 allows 512;
 * AUTH PLAIN with long credentials needs more, RFC 4954 allows 12288). */
#define PROTO_COMMAND_MAX 12288

/* Formats a command, refuses CR, LF or NUL inside it (FAIL_DATA), appends
 * CRLF, buffers it (conn_flush sends) and logs it. */
int proto_send(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, but the transcript shows `shown` instead of the command. */
int proto_send_secret(struct conn *c, const char *shown, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Flushes pending commands, then reads one line of at most PROTO_LINE_MAX
 * bytes (line ending removed, NUL refused as FAIL_PROTOCOL) and logs it. */
int proto_read_line(struct conn *c, char **line_r, size_t *len_r);
/* Same, but a line that begins with prefix is shown in the transcript as
 * prefix and then shown (shown NULL: as it is): for a server's message
 * from which a password could be guessed offline (SCRAM's signature). */
int proto_read_line_hiding(struct conn *c, const char *prefix, const char *shown,
	char **line_r, size_t *len_r);

/* Room for the capability lines a session keeps as offered (EHLO, CAPA),
 * for --serverinfo; more are left out.  What a session acts on is parsed
 * from every line, never from this text. */
#define PROTO_OFFERED_MAX 2048
/* Appends line and a LF to the NUL-terminated list (of size bytes) if it
 * fits whole; a line that does not fit is left out, and so are the rest,
 * with *cut set (a flag, so no server text can fake or hide the cut). */
void proto_keep_offered(char *list, size_t size, bool *cut, const char *line);
/* The first time only (*seen false): sets *seen and copies into value (cut
 * to size) the rest of line after its keyword of keyword_len bytes and
 * the one space or "=" after it ("SIZE 1000" -> "1000"). */
void proto_keep_value(char *value, size_t size, bool *seen, const char *line,
	size_t keyword_len);

#endif
