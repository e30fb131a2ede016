/*
 * Dot-stuffing for SMTP DATA and unstuffing for POP3 multi-line responses,
 * as byte-at-a-time state machines: a chunk boundary may fall anywhere,
 * including between CR and LF or right after a line's leading dot.
 */
#include "dotstuff.h"

void
smtp_stuff_init(struct smtp_stuffer *s)
{
	s->at_line_start = true;
	s->after_cr = false;
}

/*
 * A bare CR is turned into a line ending rather than sent alone: a CR or LF
 * that is not part of CRLF is what SMTP smuggling attacks hide a fake
 * "end of data" behind.
 */
size_t
smtp_stuff(struct smtp_stuffer *s, const char *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char ch = in[i];

		if (ch == '\n' && s->after_cr) {
			s->after_cr = false;	/* the CR already ended the line */
			continue;
		}
		s->after_cr = ch == '\r';
		if (ch == '\r' || ch == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			s->at_line_start = true;
			continue;
		}
		if (s->at_line_start && ch == '.')
			out[o++] = '.';
		out[o++] = ch;
		s->at_line_start = false;
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

/* A byte with no pending dot or CR: a CR is held until the next byte says
 * whether it starts a CRLF; everything else is written. */
static int
unstuff_data(char ch, char *out, size_t *o)
{
	if (ch == '\r')
		return AFTER_CR;
	out[(*o)++] = ch;
	return IN_LINE;
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
		u->state = unstuff_data(ch, out, &o);
	}
	*consumed_r = i;
	return o;
}
