/*
 * The two OAuth 2.0 SASL mechanisms' messages, as pure functions:
 * XOAUTH2 (Google's and Microsoft's, never standardised) and OAUTHBEARER
 * (RFC 7628), and the reading of the error a server sends as a challenge
 * when it refuses a token (a JSON object with "status" and "scope").
 * The messages hold the access token: they are secrets (secret.h).
 */
#ifndef MAILPIPE_OAUTH_H
#define MAILPIPE_OAUTH_H

#include <stddef.h>

/* "user=USER^Aauth=Bearer TOKEN^A^A": a new string (a secret). */
char *oauth_xoauth2(const char *user, const char *token);
/* "n,a=USER,^Ahost=HOST^Aport=PORT^Aauth=Bearer TOKEN^A^A" (RFC 7628
 * section 3.1; USER escaped as a GS2 saslname); host NULL and port 0
 * are left out.  A new string (a secret). */
char *oauth_bearer(const char *user, const char *host, unsigned port, const char *token);
/* The error a server sent as a challenge (len bytes of decoded JSON), as
 * "status 401, scope S" into note (size bytes, always terminated):
 * only the fields it has; "" when it has neither. */
void oauth_error_note(const char *json, size_t len, char *note, size_t size);

#endif
