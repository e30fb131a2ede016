/*
 * Method names and SASL encodings.  The plaintext "\0user\0password" of
 * PLAIN exists only in a buffer that is wiped before the function that
 * builds it returns.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sasl.h"
#include "xalloc.h"

/* In the order the error lines list them. */
static const struct {
	const char *name;
	enum auth_method method;
	unsigned protocols;
} methods[] = {
	{ "auto", AUTH_AUTO, AUTH_FOR_SMTP | AUTH_FOR_POP3 },
	{ "none", AUTH_NONE, AUTH_FOR_SMTP },
	{ "login", AUTH_LOGIN, AUTH_FOR_SMTP },
	{ "user", AUTH_USER, AUTH_FOR_POP3 },
	{ "plain", AUTH_PLAIN, AUTH_FOR_SMTP | AUTH_FOR_POP3 },
};

int
auth_method_parse(const char *name, enum auth_protocol proto, enum auth_method *method_r)
{
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		if (strcasecmp(name, methods[i].name) == 0 && (methods[i].protocols & proto)) {
			*method_r = methods[i].method;
			return 0;
		}
	}
	return -1;
}

const char *
auth_method_expected(enum auth_protocol proto)
{
	return proto == AUTH_FOR_SMTP ? "expected auto, none, login or plain"
				      : "expected auto, user or plain";
}

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
