/*
 * Diagnostics on stderr.  Everything that may hold a server's words (error
 * reasons quote replies; the transcript is nothing else) goes out with
 * control characters escaped, so that a hostile server cannot move the
 * cursor, erase a line or retitle the terminal of whoever reads it.
 */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

const char *log_progname = "mailpipe";
int log_verbose;
int log_quiet;

static void
write_escaped(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch < 0x20 || ch == 0x7f)
			fprintf(stderr, "\\x%02x", ch);
		else
			fputc(ch, stderr);
	}
}

static void __attribute__((format(printf, 2, 0)))
vlog(const char *prefix, const char *fmt, va_list ap)
{
	char line[2048];
	int len = vsnprintf(line, sizeof line, fmt, ap);

	if (len < 0)
		return;
	fprintf(stderr, "%s: %s", log_progname, prefix);
	write_escaped(line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
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
	write_escaped(line, len);
	fputc('\n', stderr);
}
