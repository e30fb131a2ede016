/*
 * The message text of SMTP DATA (RFC 5321 4.5.2): the header from memory,
 * then the body from the spool, re-encoded quoted-printable on the way
 * when asked; every line ending made CRLF and every line dot-stuffed
 * (dotstuff.h).  Its RFC 1870 size comes from the very same bytes, so the
 * SIZE parameter is exact, not an estimate.
 */
#ifndef MAILPIPE_SMTP_TEXT_H
#define MAILPIPE_SMTP_TEXT_H

#include <stdbool.h>
#include <sys/types.h>

#include "conn.h"
#include "dotstuff.h"
#include "spool.h"

struct smtp_message {
	const char *header;		/* with its empty line */
	size_t header_length;
	const struct spool *spool;
	off_t body_offset;
	bool body_as_qp;
};

/* The RFC 1870 size of m's text: what smtp_text_write() sends and its
 * completion of a last line, not the final "." line nor doubled dots.
 * The spool's count for a body sent as spooled, else counted from the
 * spool: FAIL_IO when it cannot be read. */
int smtp_message_size(const struct smtp_message *m, long long *size_r);
/* m's text, stuffed by st, into c's buffer (not flushed, no final dot).
 * FAIL_IO reading the spool; writing fails as conn_write() says. */
int smtp_text_write(struct conn *c, const struct smtp_message *m, struct smtp_stuffer *st);

#endif
