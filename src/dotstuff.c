/*
 * Dot-stuffing for SMTP DATA and unstuffing for POP3 multi-line responses,
 * as state machines that carry across chunks: a boundary may fall anywhere,
 * including between CR and LF or right after a line's leading dot.
 */
#include <string.h>

#include "dotstuff.h"

void
smtp_stuff_init(struct smtp_stuffer *s)
{
	s->at_line_start = true;
	s->after_cr = false;
}

/* Where the run of bytes from p that holds no CR and no LF ends.  memchr
 * looks for the LF (most lines have one, and it is vectorised); a CR is
 * looked for only up to it. */
static size_t
plain_run(const char *p, size_t n)
{
	const char *lf = memchr(p, '\n', n);
	size_t len = lf != NULL ? (size_t)(lf - p) : n;
	const char *cr = memchr(p, '\r', len);

	return cr != NULL ? (size_t)(cr - p) : len;
}

/*
 * One step of the transform at in[0]: a line ending, or a run of line
 * bytes copied whole.  Returns the input consumed; *out_len is what it
 * makes, written to out unless out is NULL (counting only).
 * A bare CR is turned into a line ending rather than sent alone: a CR or LF
 * that is not part of CRLF is what SMTP smuggling attacks hide a fake
 * "end of data" behind.
 */
static size_t
stuff_step(struct smtp_stuffer *s, const char *in, size_t n, char *out, size_t *out_len)
{
	size_t run;

	if (in[0] == '\n' && s->after_cr) {
		s->after_cr = false;	/* the CR already ended the line */
		*out_len = 0;
		return 1;
	}
	s->after_cr = in[0] == '\r';
	if (in[0] == '\r' || in[0] == '\n') {
		if (out != NULL)
			memcpy(out, "\r\n", 2);
		s->at_line_start = true;
		*out_len = 2;
		return 1;
	}
	run = plain_run(in, n);
	*out_len = run + (s->at_line_start && in[0] == '.');
	if (out != NULL) {
		if (*out_len > run)
			*out++ = '.';
		memcpy(out, in, run);
	}
	s->at_line_start = false;
	return run;
}

size_t
smtp_stuff(struct smtp_stuffer *s, const char *in, size_t n, char *out)
{
	size_t i = 0, o = 0, made;

	while (i < n) {
		i += stuff_step(s, in + i, n - i, out + o, &made);
		o += made;
	}
	return o;
}

long long
smtp_size_octets(struct smtp_stuffer *s, const char *in, size_t n)
{
	size_t i = 0, made;
	long long o = 0;

	while (i < n) {
		bool doubled = s->at_line_start && in[i] == '.';

		i += stuff_step(s, in + i, n - i, NULL, &made);
		o += (long long)made - doubled;
	}
	return o;
}

size_t
smtp_stuff_end(struct smtp_stuffer *s, char *out)
{
	size_t o = 0;

	if (!s->at_line_start) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	out[o++] = '.';
	out[o++] = '\r';
	out[o++] = '\n';
	s->at_line_start = true;
	return o;
}

/*
 * POP3 unstuffing.  RFC 1939 section 3: a multi-line response ends with
 * CRLF "." CRLF, and a line that starts with "." had one prepended.  Only
 * a CRLF ends a line here: a bare LF or a bare CR is a data byte inside a
 * line (kept as it is), because the server did not treat it as a line
 * end either.  So:
 *  - a line start is the start of the body (the status line before it
 *    ended) or the byte after a CRLF; nothing else;
 *  - at a line start, "." CRLF is the terminator; "." followed by anything
 *    else is a stuffed dot, dropped (RFC 1939: "octets other than CRLF
 *    follow"), even when a bare LF follows it;
 *  - a "." after a bare LF or a bare CR is data and kept: the server did
 *    not see a line start there, so it did not stuff that dot, and taking
 *    LF "." LF (or LF "." CRLF) for the end would cut the message there
 *    and read the rest of it as the next response.
 * Each CRLF becomes LF; bare LF and bare CR are written unchanged.
 */
enum {
	AT_LINE_START,		/* after a CRLF (or at the start): a "." is special */
	AFTER_DOT,		/* a "." at a line start, not yet written */
	AFTER_DOT_CR,		/* ".\r" at a line start: the terminator if LF follows */
	IN_LINE,		/* anywhere else, including after a bare LF */
	AFTER_CR,		/* a CR, not yet written: CRLF or a bare CR */
};

void
pop3_unstuff_init(struct pop3_unstuffer *u)
{
	u->state = AT_LINE_START;
	u->done = false;
}

/* Bytes from in[0] that are line data in state IN_LINE: all up to the
 * next CR (a bare LF is data), copied at once. */
static size_t
copy_data_run(const char *in, size_t n, char *out)
{
	const char *cr = memchr(in, '\r', n);
	size_t run = cr != NULL ? (size_t)(cr - in) : n;

	memcpy(out, in, run);
	return run;
}

size_t
pop3_unstuff(struct pop3_unstuffer *u, const char *in, size_t n, char *out,
	size_t *consumed_r)
{
	size_t i, o = 0;

	for (i = 0; i < n && !u->done; i++) {
		char ch = in[i];

		switch (u->state) {
		case AT_LINE_START:
			if (ch == '.') {
				u->state = AFTER_DOT;
				continue;
			}
			break;
		case AFTER_DOT:
			if (ch == '\r') {
				u->state = AFTER_DOT_CR;
				continue;
			}
			break;		/* a stuffed dot: dropped */
		case AFTER_DOT_CR:
			if (ch == '\n') {
				u->done = true;
				continue;
			}
			out[o++] = '\r';	/* a stuffed dot, then a bare CR */
			break;
		case AFTER_CR:
			if (ch == '\n') {
				out[o++] = '\n';
				u->state = AT_LINE_START;
				continue;
			}
			out[o++] = '\r';	/* a bare CR */
			break;
		}
		if (ch == '\r') {	/* held until the next byte says which */
			u->state = AFTER_CR;
			continue;
		}
		size_t run = copy_data_run(in + i, n - i, out + o);

		o += run;	/* the rest of the line's data at once */
		i += run - 1;
		u->state = IN_LINE;
	}
	*consumed_r = i;
	return o;
}
