/*
 * Quoted-printable, one byte at a time.  A space or tab is held back until
 * the next byte shows whether it ends a line (then it must be encoded, or a
 * relay may strip it) or not.
 */
#include "qp.h"

#define LINE_MAX_OCTETS 76	/* RFC 2045 6.7 rule (5), the soft break's "=" included */

static const char hex[] = "0123456789ABCDEF";

void
qp_init(struct qp_encoder *q)
{
	q->line_length = 0;
	q->pending_space = 0;
	q->after_cr = false;
}

/* Emits one literal byte or its =XX form, breaking the line softly first
 * when it would not fit (the soft break's "=" counts towards 76). */
static size_t
emit(struct qp_encoder *q, unsigned char ch, bool literal, char *out)
{
	size_t o = 0, width = literal ? 1 : 3;

	if (q->line_length + width > LINE_MAX_OCTETS - 1) {
		out[o++] = '=';
		out[o++] = '\n';
		q->line_length = 0;
	}
	if (literal) {
		out[o++] = (char)ch;
	} else {
		out[o++] = '=';
		out[o++] = hex[ch >> 4];
		out[o++] = hex[ch & 15];
	}
	q->line_length += width;
	return o;
}

static size_t
flush_pending(struct qp_encoder *q, bool line_ends, char *out)
{
	size_t o = 0;

	if (q->pending_space != 0) {
		o += emit(q, (unsigned char)q->pending_space, !line_ends, out + o);
		q->pending_space = 0;
	}
	if (q->after_cr) {
		o += emit(q, '\r', false, out + o);	/* a CR not before LF */
		q->after_cr = false;
	}
	return o;
}

/* RFC 2045 6.7 rule (2): printable ASCII but "=" may stand for itself. */
static bool
is_literal(unsigned char ch)
{
	return ch >= '!' && ch <= '~' && ch != '=';
}

static size_t
encode_byte(struct qp_encoder *q, unsigned char ch, char *out)
{
	size_t o = 0;

	if (ch == '\n') {
		q->after_cr = false;	/* CRLF: the CR is part of the break */
		o += flush_pending(q, true, out);
		out[o++] = '\n';
		q->line_length = 0;
		return o;
	}
	if (ch == '\r') {
		/* Held with any space before it: CRLF may follow. */
		if (q->after_cr)
			o += flush_pending(q, false, out);
		q->after_cr = true;
		return o;
	}
	o += flush_pending(q, false, out);
	if (ch == ' ' || ch == '\t')
		q->pending_space = (char)ch;
	else
		o += emit(q, ch, is_literal(ch), out + o);
	return o;
}

size_t
qp_encode(struct qp_encoder *q, const char *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		o += encode_byte(q, (unsigned char)in[i], out + o);
	return o;
}

size_t
qp_finish(struct qp_encoder *q, char *out)
{
	return flush_pending(q, true, out);
}
