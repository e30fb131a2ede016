/*
 * Authentication for both protocols: the methods the `auth` key names,
 * and the SASL client responses (RFC 4616 PLAIN, the LOGIN convention),
 * base64 encoded with OpenSSL.  Responses are heap strings holding
 * secrets: release them with secret_wipe() (secret.h).
 *
 * One enum serves SMTP and POP3: `auth` is one key, valid in [defaults]
 * for both, and "auto" and "plain" mean the same in each; a protocol
 * accepts its own subset of the names.  The protocol modules and the
 * config both build on this, so neither reaches into the other.
 */
#ifndef MAILPIPE_SASL_H
#define MAILPIPE_SASL_H

#include <stddef.h>

enum auth_method {
	AUTH_AUTO,		/* best the server offers (smtp: plain, login; pop3: plain, user) */
	AUTH_NONE,		/* smtp only: do not authenticate */
	AUTH_LOGIN,		/* smtp */
	AUTH_PLAIN,		/* smtp and pop3 (SASL PLAIN) */
	AUTH_USER,		/* pop3 USER/PASS */
};

/* The protocols a method name may be given for; a set of bits. */
enum auth_protocol { AUTH_FOR_SMTP = 1, AUTH_FOR_POP3 = 2 };

/* The method called name (any case) if proto accepts it: 0, or -1 with
 * nothing recorded. */
int auth_method_parse(const char *name, enum auth_protocol proto, enum auth_method *method_r);
/* "expected auto, none, login or plain": what proto accepts, for the
 * error line of a name auth_method_parse() refused. */
const char *auth_method_expected(enum auth_protocol proto);

/* base64("\0user\0password"), no line breaks. */
char *sasl_plain_response(const char *user, const char *password);
/* base64 of any string (LOGIN sends user and password this way). */
char *sasl_base64(const char *text);

#endif
