/*
 * Diagnostics on stderr.  The transcript escapes control characters so that
 * a hostile server cannot move the cursor or hide text on an operator's
 * terminal.
 */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

const char *log_progname = "mailpipe";
int log_verbose;
int log_quiet;

static void __attribute__((format(printf, 2, 0)))
vlog(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", log_progname, prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	if (log_quiet)
		return;
	va_start(ap, fmt);
	vlog("warning: ", fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void
log_transcript(const char *dir, const char *line, size_t len)
{
	if (!log_verbose)
		return;
	fprintf(stderr, "%s ", dir);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if (ch < 0x20 || ch == 0x7f)
			fprintf(stderr, "\\x%02x", ch);
		else
			fputc(ch, stderr);
	}
	fputc('\n', stderr);
}
