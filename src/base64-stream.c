/*
 * Line gathering for OpenSSL's base64 block coder: every output line is
 * one EVP_EncodeBlock() call over 57 input bytes.
 */
#include <string.h>

#include <openssl/evp.h>

#include "base64-stream.h"

void
b64s_init(struct b64s_encoder *e)
{
	e->held_length = 0;
}

/* One line of up to 57 bytes: its characters and LF. */
static size_t
encode_line(const unsigned char *in, size_t n, char *out)
{
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);

	out[len] = '\n';
	return (size_t)len + 1;
}

size_t
b64s_encode(struct b64s_encoder *e, const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t written = 0;

	if (e->held_length > 0) {
		size_t take = B64S_LINE_INPUT - e->held_length;

		if (take > n)
			take = n;
		memcpy(e->held + e->held_length, p, take);
		e->held_length += take;
		p += take;
		n -= take;
		if (e->held_length < B64S_LINE_INPUT)
			return 0;
		written = encode_line(e->held, B64S_LINE_INPUT, out);
		e->held_length = 0;
	}
	for (; n >= B64S_LINE_INPUT; p += B64S_LINE_INPUT, n -= B64S_LINE_INPUT)
		written += encode_line(p, B64S_LINE_INPUT, out + written);
	memcpy(e->held, p, n);
	e->held_length = n;
	return written;
}

size_t
b64s_finish(struct b64s_encoder *e, char *out)
{
	size_t written = e->held_length > 0 ? encode_line(e->held, e->held_length, out) : 0;

	e->held_length = 0;
	return written;
}
