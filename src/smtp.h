/*
 * The SMTP dialogue: a strict, bounded reply reader and the commands, each
 * classifying its own failures (status.h) by the reply code: 4xx is
 * temporary, 5xx permanent, anything malformed a protocol error.
 */
#ifndef MAILPIPE_SMTP_H
#define MAILPIPE_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include "conn.h"
#include "status.h"

/* A multi-line reply longer than this many lines is a protocol error. */
#define SMTP_REPLY_LINES_MAX 512

struct smtp_reply {
	int code;		/* 200..599 */
	char text[512];		/* first line's text, for messages (cut) */
};

struct smtp_caps {
	bool starttls;
	bool pipelining;
	bool eightbitmime;
	bool auth_plain;
	bool auth_login;
	bool auth;		/* any AUTH mechanism offered */
	bool size;		/* SIZE: the MAIL parameter is understood */
};

/* Parses one reply line: "DDD", "DDD text" or "DDD-text".  Returns 0 and
 * sets the code, whether it is the last line, and where the text starts;
 * -1 for anything else. */
int smtp_parse_reply_line(const char *line, size_t len, int *code_r, bool *last_r,
	const char **text_r);
/* Records one EHLO keyword line into caps. */
void smtp_note_capability(struct smtp_caps *caps, const char *text);

/* Reads a whole reply; mismatching codes across lines, a bad line or too
 * many lines are FAIL_PROTOCOL.  With caps non-NULL, the lines after the
 * first are read as EHLO capabilities. */
int smtp_read_reply(struct conn *c, struct smtp_reply *r, struct smtp_caps *caps);
/* The enhanced status code (RFC 3463) a reply's text starts with, as in
 * "452 4.5.3 text": class, subject and detail into code_r.  False when the
 * text starts with none (servers without ENHANCEDSTATUSCODES). */
bool smtp_enhanced_code(const struct smtp_reply *r, int code_r[3]);
/* Whether a refused RCPT means "too many recipients in this transaction"
 * (RFC 5321 4.5.3.1.10), which another transaction cures: 452 with the
 * enhanced code 4.5.3, or 452 with no enhanced code at all.  A 452 with any
 * other code (4.2.2 mailbox full, 4.3.1 no storage) is not. */
bool smtp_too_many_recipients(const struct smtp_reply *r);
/* Records a failure for a reply that is not what `what` needed:
 * 4xx FAIL_TEMPORARY, 5xx permanent_class. */
int smtp_refused(const struct smtp_reply *r, const char *what, enum failure permanent_class);

#endif
