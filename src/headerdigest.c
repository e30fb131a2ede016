/*
 * The header fingerprint.  Streaming, so a header of any size costs no
 * memory; the scan only looks for LF LF (or an LF first of all).
 */
#include <string.h>

#include <openssl/evp.h>

#include "headerdigest.h"
#include "xalloc.h"

void
header_digest_init(struct header_digest *d)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		xalloc_fail();	/* OpenSSL cannot fail here but for memory */
	d->ctx = ctx;
	d->at_line_start = true;
	d->done = false;
}

/* The length of p[0..n) that still belongs to the header. */
static size_t
header_part(struct header_digest *d, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n') {
			d->at_line_start = false;
			continue;
		}
		if (d->at_line_start) {
			d->done = true;
			return i + 1;
		}
		d->at_line_start = true;
	}
	return n;
}

void
header_digest_feed(struct header_digest *d, const char *p, size_t n)
{
	size_t take;

	if (d->done || n == 0)
		return;
	take = header_part(d, p, n);
	EVP_DigestUpdate(d->ctx, p, take);
}

void
header_digest_final(struct header_digest *d, unsigned char out[HEADER_DIGEST_SIZE])
{
	unsigned int len = 0;

	EVP_DigestFinal_ex(d->ctx, out, &len);
	header_digest_abort(d);
}

void
header_digest_abort(struct header_digest *d)
{
	EVP_MD_CTX_free(d->ctx);
	d->ctx = NULL;
}
