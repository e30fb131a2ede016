/*
 * The mboxrd format of mbox.h as a streaming transform, and the "From "
 * line: pure byte work, kept apart from the file and its locks (mbox.c)
 * so that each can be read and tested on its own.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mbox.h"

/* The longest sender put on a "From " line. */
#define SENDER_SHOWN 256

size_t
mbox_from_line(char out[MBOX_FROM_MAX], const char *sender, time_t when)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	int n;

	/* Written out rather than strftime("%a %b"): the locale must not
	 * change a line every mbox reader parses. */
	gmtime_r(&when, &tm);
	n = snprintf(out, MBOX_FROM_MAX, "From %.*s %s %s %2d %02d:%02d:%02d %d\n",
	    SENDER_SHOWN, sender[0] != '\0' ? sender : "MAILER-DAEMON", days[tm.tm_wday % 7],
	    months[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    tm.tm_year + 1900);
	return n < 0 ? 0 : (size_t)n < MBOX_FROM_MAX ? (size_t)n : MBOX_FROM_MAX - 1;
}

void
mbox_quote_init(struct mbox_quoter *q)
{
	*q = (struct mbox_quoter){ .at_start = true };
}

/* Ends a partial match of "From ": the bytes held are plain text. */
static size_t
release_held(struct mbox_quoter *q, char *out)
{
	size_t n = q->held;

	memcpy(out, "From ", n);
	q->held = 0;
	q->at_start = false;
	return n;
}

/* One byte at a line start or inside its run of '>'.  The '>' that
 * quoting adds may stand anywhere in that run, so the run is passed on
 * as it comes and only a partial "From " is held back. */
static size_t
quote_at_start(struct mbox_quoter *q, char c, char *out)
{
	size_t o = 0;

	if (q->held == 0 && c == '>') {
		out[o++] = c;
		return o;
	}
	if (c == "From "[q->held]) {
		if (++q->held < 5)
			return 0;
		memcpy(out, ">From ", 6);
		q->held = 0;
		q->at_start = false;
		return 6;
	}
	o = release_held(q, out);
	out[o++] = c;
	q->at_start = c == '\n';
	return o;
}

size_t
mbox_quote(struct mbox_quoter *q, const char *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = in[i];

		q->any = true;
		q->last_newline = c == '\n';
		if (q->at_start) {
			o += quote_at_start(q, c, out + o);
			continue;
		}
		out[o++] = c;
		q->at_start = c == '\n';
	}
	return o;
}

size_t
mbox_quote_end(struct mbox_quoter *q, char *out)
{
	size_t o = release_held(q, out);

	if (q->any && !q->last_newline)
		out[o++] = '\n';
	out[o++] = '\n';
	return o;
}
