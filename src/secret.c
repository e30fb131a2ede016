/*
 * The one place a secret string is wiped: OPENSSL_cleanse, not memset,
 * because a store just before free() is one the compiler may drop.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "secret.h"

void
secret_wipe(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}
