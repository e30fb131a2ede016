/*
 * A streaming quoted-printable encoder (RFC 2045 6.7) for text bodies that
 * cannot travel as they are: lines over 998 octets, NUL bytes, or 8-bit
 * data for a server without 8BITMIME.  Line breaks (LF or CRLF) stay line
 * breaks; everything else comes out 7-bit in lines of at most 76 octets.
 * Output lines end in LF; the SMTP stuffer turns them into CRLF.
 */
#ifndef MAILPIPE_QP_H
#define MAILPIPE_QP_H

#include <stdbool.h>
#include <stddef.h>

/* Room for what n input bytes may produce: each comes out as at most a soft
 * break and "=XX" (5 octets), and the one or two bytes held back from the
 * call before may come out with them; rounded up generously. */
#define QP_OUT_MAX(n) (8 * (n) + 16)

struct qp_encoder {
	size_t line_length;
	char pending_space;	/* a space or tab that may end its line */
	bool after_cr;
};

void qp_init(struct qp_encoder *q);
/* Encodes n bytes into out (QP_OUT_MAX(n) bytes); returns bytes written. */
size_t qp_encode(struct qp_encoder *q, const char *in, size_t n, char *out);
/* Flushes what is held back; out holds QP_OUT_MAX(0) bytes. */
size_t qp_finish(struct qp_encoder *q, char *out);

#endif
