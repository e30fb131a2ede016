/*
 * TLS for conn.c, the only module that runs a session (config.c takes
 * only the mode and the fingerprint parser, to check the file's values
 * as they are read).  Policy lives here and nowhere else: TLS 1.2 or
 * newer; certificate and host name verified unless the account says
 * tls_verify = no; a tls_fingerprint (SHA-256 of the DER certificate)
 * replaces CA verification; SNI for host names, never for address
 * literals.
 */
#ifndef MAILPIPE_TLS_H
#define MAILPIPE_TLS_H

#include <stdbool.h>
#include "clock.h"

/* The `tls` key: none, STARTTLS/STLS after the greeting, or TLS from the
 * first byte. */
enum tls_mode { TLS_MODE_OFF, TLS_MODE_STARTTLS, TLS_MODE_IMPLICIT };

struct tls_peer;

struct tls_options {
	bool verify;			/* tls_verify */
	const char *ca_file;		/* NULL: the system store */
	const char *fingerprint;	/* hex SHA-256 pin, colons allowed; NULL: none */
	const char *cert_file;		/* client certificate chain (PEM); NULL: none */
	const char *key_file;		/* its private key (PEM), with cert_file */
	/* NULL; else what the handshake showed is kept there, whatever its
	 * outcome (certinfo.h, for --serverinfo). */
	struct tls_peer *peer;
};

struct tls_session;

#define TLS_PIN_LENGTH 32	/* SHA-256 */

/* Parses a tls_fingerprint: 32 bytes in hex, with a colon between bytes
 * or none ("AB:CD:..." as printed for an untrusted certificate, or
 * "ABCD...").  Returns 0, or -1 (nothing recorded) when it is not one. */
int tls_parse_fingerprint(const char *text, unsigned char pin[TLS_PIN_LENGTH]);

/* OpenSSL's one-time work before any session: its configuration read
 * and its algorithm tables built.  For a parent about to fork workers that
 * each start a session: they then share it instead of each repeating it.
 * No context, session or random generator is made, so no TLS or random
 * state is ever shared across the fork.  Like the first tls_start(), it
 * starts OpenSSL without its clean-up at exit.  Also called by conn.c
 * while a server's name is looked up.  Does its work once; never fails (a
 * failure shows at tls_start()). */
void tls_prepare(void);
/* Makes OpenSSL's first initialisation in this process one without its
 * clean-up at exit, for a command whose first use of OpenSSL is not a TLS
 * session (mailpipe-fetch names its state with SHA-256 before it
 * connects).  Loads no configuration.  Never fails. */
void tls_skip_cleanup_at_exit(void);

/* tls_start()'s result when the server's first bytes were printable text,
 * not a TLS record: it speaks plaintext first (a greeting such as "220 "
 * or "+OK").  FAIL_PROTOCOL is recorded; the caller, which knows why it
 * expected TLS, may say more. */
#define TLS_PLAINTEXT_PEER (-2)

/* Handshake on a connected non-blocking fd; 0, -1 or TLS_PLAINTEXT_PEER.
 * Failures: FAIL_AUTH (untrusted, expired, wrong host, pin mismatch; the
 * line then gives the certificate's fingerprint as tls_fingerprint takes
 * it), FAIL_PERMANENT (no common protocol, e.g. the server cannot do TLS
 * 1.2), FAIL_TEMPORARY (cut, timed out, deadline), FAIL_CONFIG (unreadable
 * CA file, malformed pin), FAIL_PROTOCOL (anything else). */
int tls_start(int fd, const char *host, const struct tls_options *o,
	const struct timing *t, struct tls_session **s_r);
/* Read up to n bytes; returns bytes read (> 0), 0 at clean EOF, -1 on error
 * (the deadline is checked before every read, whether it would block or not). */
long tls_read(struct tls_session *s, void *buf, size_t n, const struct timing *t);
/* Write all n bytes or fail (-1); the deadline is checked before every write. */
int tls_write(struct tls_session *s, const void *buf, size_t n, const struct timing *t);
/* Sends close_notify (best effort, without waiting) and frees. */
void tls_end(struct tls_session *s);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" for -v. */
const char *tls_describe(const struct tls_session *s);
/* "TLSv1.3": the protocol of the session, for the run's record. */
const char *tls_version(const struct tls_session *s);

#endif
