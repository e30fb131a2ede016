/*
 * What a TLS handshake showed of the server, kept for --serverinfo: the
 * certificate chain as the server sent it (kept whatever the verdict, so
 * that an untrusted certificate can still be shown and pinned), the
 * verdict in words, the protocol and cipher; and the facts of each
 * certificate as text.  tls.c fills a struct tls_peer (certinfo_keep())
 * when the tls_options ask for one; nothing here decides whether to trust.
 */
#ifndef MAILPIPE_CERTINFO_H
#define MAILPIPE_CERTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "tls.h"

struct ssl_st;
struct stack_st_X509;
struct x509_st;

/* "AB:CD:..." for 32 bytes, and its NUL. */
#define CERTINFO_FINGERPRINT_TEXT (3 * TLS_PIN_LENGTH)

struct tls_peer {
	bool tried;			/* a handshake was started */
	bool established;		/* and it completed (the pin, if any, matched) */
	char protocol[32];		/* "TLSv1.3", once established */
	char cipher[64];		/* "TLS_AES_256_GCM_SHA384", once established */
	char verification[300];		/* "ok (...)", "failed: why", "off (...)" */
	struct stack_st_X509 *chain;	/* leaf first; NULL: none received */
};

/* One certificate's facts as text (the names are the certificate's own
 * bytes: escape them before printing). */
struct cert_facts {
	char subject[512];
	char issuer[512];
	char names[1024];		/* "DNS:a.example, IP:127.0.0.1", or "" */
	char validity[160];		/* from, to, and days left (certinfo_validity()) */
};

/* Called by tls_start() when o->peer is set, after the handshake whatever
 * its outcome (established: it succeeded): keeps the chain (a reference
 * of each certificate), the protocol and cipher, and the verdict as o's
 * settings judged it.  A second call replaces the first. */
void certinfo_keep(struct tls_peer *p, struct ssl_st *ssl, const struct tls_options *o,
	bool established);
/* Frees what certinfo_keep() kept; p itself is the caller's. */
void certinfo_free(struct tls_peer *p);
/* The number of certificates kept. */
size_t certinfo_count(const struct tls_peer *p);
/* Certificate i (0 the leaf) as text: false when there is none. */
bool certinfo_facts(const struct tls_peer *p, size_t i, struct cert_facts *f);
/* The leaf's SHA-256 fingerprint in the form tls_fingerprint takes
 * ("AB:CD:..."); false when no certificate was received. */
bool certinfo_leaf_fingerprint(const struct tls_peer *p, char out[CERTINFO_FINGERPRINT_TEXT]);

/* The SHA-256 of a certificate's DER form (an X509; NULL allowed);
 * false if it cannot be had. */
bool certinfo_sha256(const struct x509_st *cert, unsigned char md[TLS_PIN_LENGTH]);
/* Pure: "AB:CD:..." for md (uppercase hex, a colon between bytes). */
void certinfo_fingerprint_text(const unsigned char md[TLS_PIN_LENGTH],
	char out[CERTINFO_FINGERPRINT_TEXT]);
/* Pure: whole days from now to t, rounded down (negative once past). */
long certinfo_days_left(time_t now, time_t t);
/* Pure: "2026-01-01 00:00:00 UTC to 2027-01-01 00:00:00 UTC (390 days
 * left)", "(expired 3 days ago)", "(not valid before ...)"; the times
 * are UTC seconds since the epoch. */
void certinfo_validity(time_t now, time_t not_before, time_t not_after, char *out,
	size_t size);

#endif
