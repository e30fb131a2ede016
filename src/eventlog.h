/*
 * The event log of the `log` key (mailpipe.ini(5), LOGGING): one line per
 * event, to syslog (facility mail) or appended to a file, never to stderr
 * (that is log.h).  A line is
 *
 *	2026-12-07T04:20:01Z mailpipe-send[4711] event=send account=work ...
 *
 * in a file (syslog adds its own time and ident): the UTC time, the
 * program and its pid, then key=value pairs separated by one space.  A
 * value made only of letters, digits and @ . _ : / + - , is written as it
 * is; any other (and "-") in double quotes, with \" and \\ for a quote and
 * a backslash, and every byte log.h would escape as \xHH.  A value that is
 * absent is a bare "-".  Nothing here sees a secret or message content:
 * the callers pass facts only.
 */
#ifndef MAILPIPE_EVENTLOG_H
#define MAILPIPE_EVENTLOG_H

#include <time.h>

#include "strbuf.h"

/* Starts a line in b (emptied first): event=NAME. */
void eventlog_begin(struct strbuf *b, const char *event);
/* Appends " key=value", quoted and escaped as above; value NULL: "-". */
void eventlog_str(struct strbuf *b, const char *key, const char *value);
void eventlog_num(struct strbuf *b, const char *key, unsigned long long value);
/* Appends " key=1.23" (seconds). */
void eventlog_seconds(struct strbuf *b, const char *key, double seconds);
/* The file form of the line: "TIME IDENT[PID] " before b's pairs, and LF. */
char *eventlog_file_line(const struct strbuf *b, const char *ident, time_t when);

/* Writes the line to dest: NULL (the log is off: nothing), "syslog"
 * (facility mail, ident, LOG_PID), or a file's absolute path, opened
 * O_APPEND (created 0600) and written with one write(2) so concurrent
 * runs never interleave.  A file we append to is ours alone: a regular
 * file, not a link, owned by the caller, with one name and writable by
 * nobody else (else root could be led to append to /etc/passwd by a
 * hard link).  A log that cannot be written never changes the run's
 * result: 0, or -1 after one line on stderr saying so (no failure is
 * recorded).  b is emptied. */
int eventlog_write(const char *dest, const char *ident, struct strbuf *b);

#endif
