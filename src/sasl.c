/*
 * SASL encodings.  The plaintext "\0user\0password" exists only in a buffer
 * that is wiped before this function returns.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sasl.h"
#include "xalloc.h"

static char *
encode(const unsigned char *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

char *
sasl_plain_response(const char *user, const char *password)
{
	size_t ulen = strlen(user), plen = strlen(password);
	size_t len = ulen + plen + 2;
	unsigned char *raw = xmalloc(len);
	char *out;

	raw[0] = '\0';
	memcpy(raw + 1, user, ulen);
	raw[1 + ulen] = '\0';
	memcpy(raw + 2 + ulen, password, plen);
	out = encode(raw, len);
	OPENSSL_cleanse(raw, len);
	free(raw);
	return out;
}

char *
sasl_base64(const char *text)
{
	return encode((const unsigned char *)text, strlen(text));
}
