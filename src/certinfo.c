/*
 * The server's certificates as --serverinfo shows them.  The chain is
 * kept from the handshake by reference, whatever the verdict: a user
 * facing an untrusted certificate needs to see it, and its fingerprint,
 * to decide whether to pin it.  The verdict is put in words from the
 * same settings tls.c applied (a pin, tls_verify = no, or the CA chain
 * and the host name); this module only describes, tls.c decides.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "certinfo.h"
#include "xalloc.h"

#define SECONDS_PER_DAY 86400

bool
certinfo_sha256(const struct x509_st *cert, unsigned char md[TLS_PIN_LENGTH])
{
	unsigned char buf[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (cert == NULL || X509_digest(cert, EVP_sha256(), buf, &len) != 1 ||
	    len != TLS_PIN_LENGTH)
		return false;
	memcpy(md, buf, TLS_PIN_LENGTH);
	return true;
}

void
certinfo_fingerprint_text(const unsigned char md[TLS_PIN_LENGTH],
	char out[CERTINFO_FINGERPRINT_TEXT])
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < TLS_PIN_LENGTH; i++) {
		out[3 * i] = hex[md[i] >> 4];
		out[3 * i + 1] = hex[md[i] & 0xf];
		out[3 * i + 2] = i + 1 < TLS_PIN_LENGTH ? ':' : '\0';
	}
}

long
certinfo_days_left(time_t now, time_t t)
{
	long long diff = (long long)t - (long long)now;

	/* Rounded down, also below zero: one second past is a day ago. */
	return (long)(diff >= 0 ? diff / SECONDS_PER_DAY
			       : -((-diff + SECONDS_PER_DAY - 1) / SECONDS_PER_DAY));
}

static void
utc_text(time_t t, char *out, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, size, "(a time out of range)");
}

static const char *
days(long n)
{
	return n == 1 ? "day" : "days";
}

void
certinfo_validity(time_t now, time_t not_before, time_t not_after, char *out, size_t size)
{
	char from[40], to[40], state[64];
	long left = certinfo_days_left(now, not_after);

	utc_text(not_before, from, sizeof from);
	utc_text(not_after, to, sizeof to);
	if (now < not_before)
		snprintf(state, sizeof state, "not valid yet");
	else if (now > not_after)
		snprintf(state, sizeof state, "expired %ld %s ago", -left, days(-left));
	else
		snprintf(state, sizeof state, "%ld %s left", left, days(left));
	snprintf(out, size, "%s to %s (%s)", from, to, state);
}

/* ---- keeping what the handshake showed ---- */

static X509 *
leaf_of(const struct tls_peer *p)
{
	return certinfo_count(p) > 0 ? sk_X509_value(p->chain, 0) : NULL;
}

static bool
pin_matches(const struct tls_peer *p, const char *fingerprint)
{
	unsigned char want[TLS_PIN_LENGTH], got[TLS_PIN_LENGTH];

	return tls_parse_fingerprint(fingerprint, want) == 0 &&
	    certinfo_sha256(leaf_of(p), got) && CRYPTO_memcmp(want, got, sizeof got) == 0;
}

/* The verdict in the order tls.c applies the settings: a pin is checked
 * even with tls_verify = no; otherwise the CA chain and the host name. */
static void
judge(struct tls_peer *p, SSL *ssl, const struct tls_options *o)
{
	char *v = p->verification;
	size_t size = sizeof p->verification;
	long result = SSL_get_verify_result(ssl);

	if (certinfo_count(p) == 0)
		snprintf(v, size, "failed: the server sent no certificate");
	else if (o->fingerprint != NULL)
		snprintf(v, size, pin_matches(p, o->fingerprint) ? "ok (the certificate matches "
		    "tls_fingerprint)" : "failed: the certificate does not match tls_fingerprint");
	else if (!o->verify)
		snprintf(v, size, "off (tls_verify = no)");
	else if (result != X509_V_OK)
		snprintf(v, size, "failed: %s", X509_verify_cert_error_string(result));
	else
		snprintf(v, size, "ok (chain to %s, host name matches)",
		    o->ca_file != NULL ? "tls_ca_file" : "the system store");
}

void
certinfo_keep(struct tls_peer *p, struct ssl_st *ssl, const struct tls_options *o,
	bool established)
{
	STACK_OF(X509) *sent = SSL_get_peer_cert_chain(ssl);

	certinfo_free(p);
	p->tried = true;
	p->established = established;
	if (sent != NULL && (p->chain = X509_chain_up_ref(sent)) == NULL)
		xalloc_fail();
	if (established) {
		snprintf(p->protocol, sizeof p->protocol, "%s", SSL_get_version(ssl));
		snprintf(p->cipher, sizeof p->cipher, "%s", SSL_get_cipher_name(ssl));
	}
	judge(p, ssl, o);
}

void
certinfo_free(struct tls_peer *p)
{
	sk_X509_pop_free(p->chain, X509_free);
	memset(p, 0, sizeof *p);
}

size_t
certinfo_count(const struct tls_peer *p)
{
	int n = p->chain != NULL ? sk_X509_num(p->chain) : 0;

	return n > 0 ? (size_t)n : 0;
}

bool
certinfo_leaf_fingerprint(const struct tls_peer *p, char out[CERTINFO_FINGERPRINT_TEXT])
{
	unsigned char md[TLS_PIN_LENGTH];

	if (!certinfo_sha256(leaf_of(p), md))
		return false;
	certinfo_fingerprint_text(md, out);
	return true;
}

/* ---- one certificate as text ---- */

/* What was written to a memory BIO, as a string (cut to size), freed. */
static void
take_text(BIO *bio, char *out, size_t size)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	size_t len = n > 0 ? (size_t)n : 0;

	if (len >= size)
		len = size - 1;
	if (len > 0)
		memcpy(out, data, len);
	out[len] = '\0';
	BIO_free(bio);
}

static BIO *
new_text(void)
{
	BIO *bio = BIO_new(BIO_s_mem());

	if (bio == NULL)
		xalloc_fail();
	return bio;
}

/* RFC 2253 order and escaping, but UTF-8 left as it is (our printing
 * escapes what is not printable). */
static void
name_text(const X509_NAME *name, char *out, size_t size)
{
	BIO *bio = new_text();

	X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	take_text(bio, out, size);
}

/* The subject alternative names, "DNS:a.example, IP Address:127.0.0.1". */
static void
alt_names_text(const X509 *cert, char *out, size_t size)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	BIO *bio = new_text();

	for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		if (i > 0)
			BIO_puts(bio, ", ");
		GENERAL_NAME_print(bio, sk_GENERAL_NAME_value(names, i));
	}
	GENERAL_NAMES_free(names);
	take_text(bio, out, size);
}

/* An ASN1_TIME as seconds since the epoch; false when it cannot be read. */
static bool
epoch_of(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return false;
	*out = timegm(&tm);
	return true;
}

static void
validity_text(const X509 *cert, char *out, size_t size)
{
	time_t from, to;

	if (!epoch_of(X509_get0_notBefore(cert), &from) ||
	    !epoch_of(X509_get0_notAfter(cert), &to))
		snprintf(out, size, "(unreadable dates)");
	else
		certinfo_validity(time(NULL), from, to, out, size);
}

bool
certinfo_facts(const struct tls_peer *p, size_t i, struct cert_facts *f)
{
	const X509 *cert;

	if (i >= certinfo_count(p))
		return false;
	cert = sk_X509_value(p->chain, (int)i);
	name_text(X509_get_subject_name(cert), f->subject, sizeof f->subject);
	name_text(X509_get_issuer_name(cert), f->issuer, sizeof f->issuer);
	alt_names_text(cert, f->names, sizeof f->names);
	validity_text(cert, f->validity, sizeof f->validity);
	return true;
}
