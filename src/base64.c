/*
 * Base64 through OpenSSL's EVP block coder, with the strictness it lacks
 * on the way in: the alphabet, the length and where padding may stand are
 * checked here, and the padding's zero bytes are not counted as data.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base64.h"
#include "xalloc.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
base64_encode(const void *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* How many "=" end text, when the rest is all of the alphabet; -1 when
 * it is not base64 of the padded form. */
static int
padding_of(const char *text, size_t len)
{
	size_t data = len;

	if (len % 4 != 0 || len > (size_t)1 << 30)
		return -1;
	while (data > 0 && len - data < 2 && text[data - 1] == '=')
		data--;
	for (size_t i = 0; i < data; i++)
		if (text[i] == '\0' || strchr(alphabet, text[i]) == NULL)
			return -1;
	return (int)(len - data);
}

unsigned char *
base64_decode(const char *text, size_t len, size_t *n_r)
{
	int padding = padding_of(text, len);
	unsigned char *out;
	int n;

	if (padding < 0)
		return NULL;
	out = xmalloc(len / 4 * 3 + 1);
	n = len > 0 ? EVP_DecodeBlock(out, (const unsigned char *)text, (int)len) : 0;
	if (n < padding) {
		free(out);
		return NULL;
	}
	*n_r = (size_t)(n - padding);
	out[*n_r] = '\0';
	return out;
}
