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

enum {
	AT_LINE_START,		/* nothing of the line seen yet */
	AFTER_DOT,		/* a leading "." */
	AFTER_DOT_CR,		/* a leading ".\r": the terminator if LF follows */
	IN_LINE,
	AFTER_CR,		/* a CR inside a line, not yet written */
};

void
pop3_unstuff_init(struct pop3_unstuffer *u)
{
	u->state = AT_LINE_START;
	u->done = false;
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
			if (ch == '\n') {
				u->done = true;	/* tolerate a bare-LF terminator */
				continue;
			}
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
			out[o++] = '\r';
			break;
		case AFTER_CR:
			if (ch != '\n')
				out[o++] = '\r';
			break;
		}
		if (ch == '\r') {
			u->state = AFTER_CR;
		} else {
			out[o++] = ch;
			u->state = ch == '\n' ? AT_LINE_START : IN_LINE;
		}
	}
	*consumed_r = i;
	return o;
}
