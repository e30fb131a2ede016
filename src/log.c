/*
 * Diagnostics on stderr.  Everything that may hold a server's words (error
 * reasons quote replies; the transcript is nothing else) goes out through
 * one escaping function, so that a hostile server cannot move the cursor,
 * erase a line or retitle the terminal of whoever reads it: C0 controls,
 * DEL, the C1 controls U+0080-U+009F (a UTF-8 terminal may obey U+009B as
 * it obeys ESC [) and every byte that is not part of well-formed UTF-8 are
 * shown as \xHH; printable UTF-8 (é, 日本) is left alone.
 *
 * Each line is built whole in a buffer and written with one write(2):
 * stderr is unbuffered, and a line written piecemeal costs one system call
 * per byte and can be interleaved with another process's output.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* A formatted message is cut at this length (an error line quotes at most
 * a part of a reply). */
#define TEXT_MAX 2048
/* Room for a transcript line of 8192 bytes (PROTO_LINE_MAX) with every
 * byte escaped to four, and the direction; a longer text is cut. */
#define LINE_MAX_BYTES (4 * 8192 + 64)

const char *log_progname = "mailpipe";
int log_verbose;
int log_quiet;
const char *log_account;

struct line {
	size_t len;
	char bytes[LINE_MAX_BYTES];
};

/* True when n more bytes fit, keeping one for the final LF. */
static bool
fits(const struct line *l, size_t n)
{
	return n < sizeof l->bytes - l->len;
}

/* Our own words (program name, prefixes): copied as they are. */
static void
put_plain(struct line *l, const char *s, size_t n)
{
	if (!fits(l, n))
		n = sizeof l->bytes - 1 - l->len;
	memcpy(l->bytes + l->len, s, n);
	l->len += n;
}

/*
 * The length of the UTF-8 sequence at s[0..n) when it is well formed
 * (shortest form, no surrogate, at most U+10FFFF) and not a C1 control;
 * 0 otherwise.  ASCII is not handled here.
 */
size_t
log_printable_utf8(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;	/* a continuation byte, C0, C1 or F5-FF: never a lead */
	switch (s[0]) {
	case 0xc2: lo = 0xa0; break;	/* U+0080-U+009F: the C1 controls */
	case 0xe0: lo = 0xa0; break;	/* overlong */
	case 0xed: hi = 0x9f; break;	/* U+D800-U+DFFF: surrogates */
	case 0xf0: lo = 0x90; break;	/* overlong */
	case 0xf4: hi = 0x8f; break;	/* above U+10FFFF */
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* The one escaping function (see the top of this file).  A byte that is
 * not printable starts no sequence: each is shown on its own, and the
 * scan goes on at the next byte, so a whole sequence after a broken one
 * is kept. */
static void
put_escaped(struct line *l, const char *text, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, n;

	while (i < len) {
		n = s[i] >= 0x20 && s[i] < 0x7f ? 1 : log_printable_utf8(s + i, len - i);
		if (n > 0) {
			if (!fits(l, n))
				return;
			memcpy(l->bytes + l->len, s + i, n);
			l->len += n;
			i += n;
			continue;
		}
		if (!fits(l, 4))
			return;
		l->bytes[l->len++] = '\\';
		l->bytes[l->len++] = 'x';
		l->bytes[l->len++] = hex[s[i] >> 4];
		l->bytes[l->len++] = hex[s[i] & 0xf];
		i++;
	}
}

/* Ends the line and writes it with one write(2) (more only if a signal
 * or a full pipe cuts it short).  A failure to write is not reported:
 * there is nowhere left to report it. */
static void
write_line(struct line *l)
{
	const char *p = l->bytes;
	size_t n;
	int saved = errno;

	l->bytes[l->len++] = '\n';
	for (n = l->len; n > 0;) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		n -= (size_t)w;
	}
	errno = saved;
}

/* "ACCOUNT: " unless the text already begins with the account's name. */
static void
put_account(struct line *l, const char *text)
{
	size_t n;

	if (log_account == NULL)
		return;
	n = strlen(log_account);
	if (strncmp(text, log_account, n) == 0 && (text[n] == ':' || strncmp(text + n, " (", 2) == 0))
		return;
	put_escaped(l, log_account, n);	/* a name is the user's, but still text */
	put_plain(l, ": ", 2);
}

static void __attribute__((format(printf, 2, 0)))
vlog(const char *prefix, const char *fmt, va_list ap)
{
	char text[TEXT_MAX];
	int len = vsnprintf(text, sizeof text, fmt, ap);
	struct line l;

	if (len < 0)
		return;
	l.len = 0;
	put_plain(&l, log_progname, strlen(log_progname));
	put_plain(&l, ": ", 2);
	put_plain(&l, prefix, strlen(prefix));
	put_account(&l, text);
	put_escaped(&l, text, (size_t)len < sizeof text ? (size_t)len : sizeof text - 1);
	write_line(&l);
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
	struct line l;

	if (!log_verbose)
		return;
	l.len = 0;
	put_account(&l, "");
	put_plain(&l, dir, strlen(dir));
	put_plain(&l, " ", 1);
	put_escaped(&l, line, len);
	write_line(&l);
}

void
log_escape(const char *text, size_t len, char *out, size_t size)
{
	struct line l;

	l.len = 0;
	put_escaped(&l, text, len);
	if (l.len >= size)
		l.len = size - 1;
	memcpy(out, l.bytes, l.len);
	out[l.len] = '\0';
}
