/*
 * One message from the POP3 server, bounded: a RETR answer streamed into a
 * new message of the delivery target, or a TOP answer reduced to the header's digest.  How
 * much a server may send for a message is decided here, once.
 */
#ifndef MAILPIPE_FETCH_MESSAGE_H
#define MAILPIPE_FETCH_MESSAGE_H

#include "deliver.h"
#include "fetch-plan.h"
#include "headerdigest.h"
#include "pop3.h"

/* The most octets an answer for a message LIST gave as size may bring:
 * 2 * size + 1 MiB (a server may count differently, not by that much),
 * and never more than max_size (0: no limit). */
unsigned long long message_limit(unsigned long long size, unsigned long long max_size);

/* Reads the oldest outstanding RETR answer for m into a new message of
 * the target d (ended, not yet committed: deliver.h) and the digest of
 * its header.
 * 0; POP3_REFUSED (the server said -ERR: recorded, the session goes on);
 * -1 (recorded; an answer over the limit is FAIL_PROTOCOL and the session
 * is then unusable).  Nothing is left of the message unless 0 is returned. */
int message_retrieve(struct pop3 *pop, struct deliver *d, const struct plan_msg *m,
	unsigned long long max_size, struct deliver_msg **msg_r,
	unsigned char digest[HEADER_DIGEST_SIZE]);

/* TOP m 0: the digest of m's header as the server has it now.  0,
 * POP3_REFUSED or -1 as above. */
int message_header_digest(struct pop3 *pop, const struct plan_msg *m,
	unsigned long long max_size, unsigned char digest[HEADER_DIGEST_SIZE]);

#endif
