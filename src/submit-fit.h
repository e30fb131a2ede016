/*
 * Whether a message fits what the server offered, decided after EHLO and
 * before MAIL, so that a message the server would refuse (or must not be
 * given) is never started: the SIZE limit (RFC 1870), and SMTPUTF8 for an
 * address that is not ASCII (RFC 6531).  A message that does not fit is
 * this server's problem, not the message's for good: the caller marks it
 * STAGE_UNFIT, which fails over to the next account (queue-policy.h).
 */
#ifndef MAILPIPE_SUBMIT_FIT_H
#define MAILPIPE_SUBMIT_FIT_H

#include <stdbool.h>
#include <stddef.h>

#include "smtp.h"
#include "strlist.h"

/* The message of size octets (smtp_message_size()) against the limit the
 * server declared: 0, or -1 with FAIL_PERMANENT naming both sizes. */
int fit_size(const struct smtp_caps *caps, long long size);

/* The addresses of one message: the envelope's, and the header as sent
 * (LF line endings), whose address fields (From, To, Cc, Reply-To, ...)
 * count too. */
struct fit_addresses {
	const char *from;
	const struct strlist *recipients;
	const char *header;
	size_t header_length;
};

/* Whether the message needs SMTPUTF8: *needed_r true when an address is
 * not ASCII.  0, or -1 with FAIL_DATA naming the address when it needs
 * SMTPUTF8 and the server does not offer it: raw 8-bit addresses never go
 * to a server that did not agree to them. */
int fit_utf8(const struct smtp_caps *caps, const struct fit_addresses *a, bool *needed_r);
/* The first address of the header's address fields that is not ASCII, or
 * NULL; a new string.  (For fit_utf8(), and tests.) */
char *fit_header_utf8_address(const char *header, size_t length);

#endif
