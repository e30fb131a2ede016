/*
 * SASL client responses (RFC 4616 PLAIN, the LOGIN convention), base64
 * encoded with OpenSSL.  Results are heap strings holding secrets: release
 * them with secret_wipe() (secret.h).
 */
#ifndef MAILPIPE_SASL_H
#define MAILPIPE_SASL_H

#include <stddef.h>

/* base64("\0user\0password"), no line breaks. */
char *sasl_plain_response(const char *user, const char *password);
/* base64 of any string (LOGIN sends user and password this way). */
char *sasl_base64(const char *text);

#endif
