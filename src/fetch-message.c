/*
 * A message's way from the server: through the POP3 unstuffer (pop3.c)
 * into a sink that counts what arrives against the limit, digests the
 * header, and writes the message (deliver.h).  No signal check here: a
 * message whose RETR is in flight is finished (fetch.c's window bounds how
 * many), so the session can still end with RSET and QUIT; a second signal
 * kills at once, which the journal makes safe.
 */
#include <limits.h>

#include "fetch-message.h"
#include "status.h"
#include "units.h"

/* A body may exceed its LIST size (a server may count it differently) but
 * not by this much: 2 * size + 1 MiB.  Beyond, the server is not sending
 * the message it listed, and nothing bounds what it sends. */
#define BODY_SLACK (1024ULL * 1024)

struct message_sink {
	const struct plan_msg *m;
	struct deliver_msg *file;	/* NULL: TOP, only the digest */
	struct header_digest digest;
	unsigned long long limit, have, max_size;
};

unsigned long long
message_limit(unsigned long long size, unsigned long long max_size)
{
	unsigned long long limit = ULLONG_MAX;

	if (size <= (ULLONG_MAX - BODY_SLACK) / 2)
		limit = 2 * size + BODY_SLACK;
	if (max_size > 0 && max_size < limit)
		limit = max_size;
	return limit;
}

/* An answer over its limit aborts the session: the rest of it would have
 * to be read, and nothing bounds how much a server may send. */
static int
sink(void *arg, const char *p, size_t n)
{
	struct message_sink *k = arg;

	if (n > k->limit - k->have)
		return fail(FAIL_PROTOCOL, "message %lu UIDL %s: more than %llu %s sent "
		    "for a message LIST gave as %llu%s; retrieval aborted, the message stays "
		    "on the server", k->m->num, k->m->uidl, k->limit,
		    units_plural(k->limit, "byte", "bytes"), k->m->size,
		    k->max_size == k->limit ? " (max_size)" : "");
	k->have += n;
	header_digest_feed(&k->digest, p, n);
	return k->file != NULL ? deliver_msg_write(k->file, p, n) : 0;
}

static void
sink_init(struct message_sink *k, const struct plan_msg *m, unsigned long long max_size)
{
	*k = (struct message_sink){ .m = m, .limit = message_limit(m->size, max_size),
		.max_size = max_size };
	header_digest_init(&k->digest);
}

int
message_retrieve(struct pop3 *pop, struct deliver *d, const struct plan_msg *m,
	unsigned long long max_size, struct deliver_msg **msg_r,
	unsigned char digest[HEADER_DIGEST_SIZE])
{
	struct message_sink k;
	int rc;

	sink_init(&k, m, max_size);
	if (deliver_msg_begin(d, &k.file) < 0) {
		header_digest_abort(&k.digest);
		return -1;
	}
	rc = pop3_read_retr(pop, sink, &k);
	if (rc == 0)
		rc = deliver_msg_end(k.file);
	if (rc != 0) {
		header_digest_abort(&k.digest);
		deliver_msg_free(k.file);
		return rc;
	}
	header_digest_final(&k.digest, digest);
	*msg_r = k.file;
	return 0;
}

int
message_header_digest(struct pop3 *pop, const struct plan_msg *m,
	unsigned long long max_size, unsigned char digest[HEADER_DIGEST_SIZE])
{
	struct message_sink k;
	int rc;

	sink_init(&k, m, max_size);
	rc = pop3_top(pop, m->num, 0, sink, &k);
	if (rc != 0) {
		header_digest_abort(&k.digest);
		return rc;
	}
	header_digest_final(&k.digest, digest);
	return 0;
}
