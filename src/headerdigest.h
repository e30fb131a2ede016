/*
 * A fingerprint of a message's header: SHA-256 over the delivered bytes
 * (CRLF already LF) up to and including the empty line that ends the
 * header, or over the whole message when it has none.
 *
 * mailpipe-fetch takes it from every RETR and keeps it in the state, so that
 * a UIDL whose deletion was requested but never confirmed can be checked
 * against "TOP n 0" on the next run: the same header is the same message;
 * another one is a new message the server gave the old UIDL to.
 */
#ifndef MAILPIPE_HEADERDIGEST_H
#define MAILPIPE_HEADERDIGEST_H

#include <stdbool.h>
#include <stddef.h>

#define HEADER_DIGEST_SIZE 32

struct header_digest {
	void *ctx;		/* EVP_MD_CTX */
	bool at_line_start;
	bool done;		/* the empty line was seen */
};

void header_digest_init(struct header_digest *d);
/* Feeds the next n bytes of the message, in any chunking. */
void header_digest_feed(struct header_digest *d, const char *p, size_t n);
/* Writes the digest and releases the context; init again to reuse. */
void header_digest_final(struct header_digest *d, unsigned char out[HEADER_DIGEST_SIZE]);
/* Releases the context without a result (an aborted message); NULL-safe
 * after init. */
void header_digest_abort(struct header_digest *d);

#endif
