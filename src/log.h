/*
 * Diagnostics on stderr: silence on success, one line per failure, and with
 * -v the protocol transcript.  Nothing that could hold a secret is passed to
 * log_transcript(): proto.c substitutes a placeholder before calling it.
 *
 * Every line is written with one write(2).  The text of every line (not
 * the program name or prefix) is escaped: C0 controls, DEL, the C1
 * controls U+0080-U+009F and bytes that are not well-formed UTF-8 appear
 * as \xHH, one per byte; printable UTF-8 passes unchanged.  A formatted
 * message is cut at 2047 bytes, a transcript line at 8192.
 */
#ifndef MAILPIPE_LOG_H
#define MAILPIPE_LOG_H

#include <stddef.h>

extern const char *log_progname;	/* "mailpipe-send", set by main */
extern int log_verbose;			/* -v 1: transcript and summaries; -vv 2: also
					 * every line of a long POP3 listing */
extern int log_quiet;			/* -q: no warnings */
/* The account a child of mailpipe-fetch --jobs works for, or NULL: a
 * line whose text does not begin with it ("ACCOUNT:" or "ACCOUNT (") gets
 * "ACCOUNT: " after the program name and prefix, so that every line of
 * several accounts at once says whose it is. */
extern const char *log_account;

/* "prog: reason" on stderr, always. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: warning: ..." unless -q. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: ..." only with -v. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The length of the well-formed, printable UTF-8 sequence (not a C1
 * control) at s[0..n), or 0; ASCII is not handled here.  The one rule of
 * what is shown as it is, shared by the event log and the JSON report. */
size_t log_printable_utf8(const unsigned char *s, size_t n);
/* One protocol line with -v: dir is "<-" (server) or "->" (client). */
void log_transcript(const char *dir, const char *line, size_t len);
/* The len bytes of text escaped as every line here is, into out
 * (NUL-terminated; 4 * len + 1 bytes hold any text whole, a smaller size
 * cuts it): for server text that goes to stdout (--serverinfo). */
void log_escape(const char *text, size_t len, char *out, size_t size);

#endif
