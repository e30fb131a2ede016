/*
 * Diagnostics on stderr: silence on success, one line per failure, and with
 * -v the protocol transcript.  Nothing that could hold a secret is passed to
 * log_transcript(): proto.c substitutes a placeholder before calling it.
 */
#ifndef MAILPIPE_LOG_H
#define MAILPIPE_LOG_H

#include <stddef.h>

extern const char *log_progname;	/* "mailpipe-send", set by main */
extern int log_verbose;			/* -v: transcript and summaries */
extern int log_quiet;			/* -q: no warnings */

/* "prog: reason" on stderr, always. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: warning: ..." unless -q. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: ..." only with -v. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One protocol line with -v: dir is "<-" (server) or "->" (client).
 * Control characters are shown escaped so a hostile server cannot
 * rewrite the terminal. */
void log_transcript(const char *dir, const char *line, size_t len);

#endif
