/*
 * TLS policy in one place.  Verification is on unless the account turns it
 * off; a pinned fingerprint replaces the CA chain but never the check
 * itself.  The handshake runs on the non-blocking socket with the same
 * bounded waits as everything else.  A failed handshake is explained in
 * terms of the settings that would fix it: the first bytes the server sent
 * tell a plaintext server from a TLS one, and an untrusted certificate's
 * fingerprint is printed in the form tls_fingerprint takes.
 */
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "certinfo.h"
#include "status.h"
#include "tls-files.h"
#include "tls.h"
#include "xalloc.h"

/* OpenSSL's read buffer with read-ahead: four full records a read(2). */
#define TLS_READ_BUFFER (4 * (16384 + 256 + 5))

struct tls_session {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	unsigned char first[8];		/* the server's first bytes */
	size_t first_len;
	char description[128];
	/* Set by a finished handshake, cleared by any failure after it: only
	 * a healthy session may send close_notify (SSL_shutdown(3) must not
	 * follow a fatal error, nor a write cut off in mid-record). */
	bool healthy;
};

int
tls_parse_fingerprint(const char *text, unsigned char pin[TLS_PIN_LENGTH])
{
	size_t len = 0;
	int parsed;

	/* The mark keeps a bad value's error out of the queue that explains
	 * a later handshake failure. */
	ERR_set_mark();
	parsed = OPENSSL_hexstr2buf_ex(pin, TLS_PIN_LENGTH, &len, text, ':');
	ERR_pop_to_mark();
	return parsed == 1 && len == TLS_PIN_LENGTH ? 0 : -1;
}

static const char *
openssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();

	return e != 0 ? ERR_reason_error_string(e) : "connection closed";
}

/* OpenSSL's configuration, read at the first TLS session of a run (a
 * send without TLS never starts OpenSSL) and once; and no clean-up at
 * exit: OPENSSL_cleanup() freeing every table of a process that is ending
 * anyway was about 1.4 M instructions, 5 % of a 1 KB send.  The first
 * initialisation decides, and its result is kept here: OpenSSL answers
 * every later call with success even when the first failed (an
 * openssl.cnf that names an unknown module, with config_diagnostics
 * set), and a session must not start without the configuration the
 * system requires.  1 on success; else *reason_r says why. */
static int
init_openssl(const char **reason_r)
{
	static int result = -1;		/* not tried yet */
	static char reason[256];

	if (result < 0) {
		result = OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT,
		    NULL) == 1;
		snprintf(reason, sizeof reason, "%s", result ? "" : openssl_reason());
	}
	*reason_r = reason;
	return result;
}

static int
make_context(struct tls_session *s, const struct tls_options *o)
{
	const char *init_failure;
	SSL_CTX *ctx;

	if (init_openssl(&init_failure) != 1)
		return fail(FAIL_TEMPORARY, "TLS: cannot initialise: %s", init_failure);
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return fail(FAIL_TEMPORARY, "TLS: cannot initialise: %s", openssl_reason());
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
	/* One read(2) takes whatever the socket holds, up to the buffer, not
	 * a record's 5-byte header and then its body.  Only TLS bytes can be
	 * read ahead: the session starts after conn.c refused any plaintext
	 * still buffered (STARTTLS), and nothing plaintext follows it. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, TLS_READ_BUFFER);
	/* A renegotiation could bring a certificate the pin never saw. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	if (o->verify && o->fingerprint == NULL)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	s->ctx = ctx;
	return tls_files_load(ctx, o);
}

/* SNI for a host name (never for an address literal) and, when verifying,
 * the name or address the certificate must carry. */
static int
set_peer_name(SSL *ssl, const char *host, bool verify)
{
	unsigned char addr[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1)
		return !verify || X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1
		    ? 0 : -1;
	if (SSL_set_tlsext_host_name(ssl, host) != 1)
		return -1;
	/* "f*.example.com" for foo.example.com: RFC 6125 allows a partial
	 * wildcard only as an option, and no CA should issue one. */
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return !verify || SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

/* The server's certificate as received, before and whatever the verdict:
 * the first of the chain it sent. */
static X509 *
received_cert(SSL *ssl)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);

	return chain != NULL && sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : NULL;
}

/* The setting that would make a certificate refused for this reason
 * trusted; for one out of its validity period no setting but a pin can,
 * and the server is the place to fix it. */
static const char *
what_would_trust(long verify)
{
	switch (verify) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return "to trust it set host to a name it was issued for";
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "the server must get a valid one (its administrator renews it)";
	default:
		return "to trust it set tls_ca_file to its CA";
	}
}

/* One line saying why the certificate was refused, its fingerprint in the
 * form tls_fingerprint takes, and which setting would make it trusted. */
static int
untrusted(SSL *ssl, long verify, const char *host)
{
	unsigned char md[TLS_PIN_LENGTH];
	char *fp = certinfo_sha256(received_cert(ssl), md) ? OPENSSL_buf2hexstr(md, sizeof md) : NULL;
	if (fp == NULL)
		fail(FAIL_AUTH, "TLS: certificate for %s not trusted: %s", host,
		    X509_verify_cert_error_string(verify));
	else
		fail(FAIL_AUTH, "TLS: certificate for %s not trusted: %s; its SHA-256 "
		    "fingerprint is %s; %s, or tls_fingerprint = %s", host,
		    X509_verify_cert_error_string(verify), fp, what_would_trust(verify), fp);
	OPENSSL_free(fp);
	return -1;
}

/* An alert that says the server wants a client certificate, or refuses
 * ours: FAIL_AUTH naming the keys to set, since a retry will not help.
 * 0 (nothing recorded) for any other failure. */
static int
client_cert_refused(SSL *ssl)
{
	int reason = ERR_GET_REASON(ERR_peek_last_error());
	bool sent = SSL_get_certificate(ssl) != NULL;

	if (reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
	    (!sent && reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE &&
	    SSL_get_client_CA_list(ssl) != NULL))
		return fail(FAIL_AUTH, "TLS: the server requires a client certificate: set "
		    "tls_cert_file and tls_key_file");
	if (sent && (reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
	    reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA ||
	    reason == SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED ||
	    reason == SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED ||
	    reason == SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE ||
	    reason == SSL_R_TLSV1_ALERT_ACCESS_DENIED))
		return fail(FAIL_AUTH, "TLS: the server refused our client certificate "
		    "(tls_cert_file): %s", openssl_reason());
	return 0;
}

static int
classify_handshake_failure(SSL *ssl, int ssl_err, const char *host)
{
	/* With SSL_VERIFY_NONE (a pin, or tls_verify = no) OpenSSL still
	 * records a chain result; it says nothing about why we failed then. */
	bool verifying = SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER;
	long verify = SSL_get_verify_result(ssl);
	int reason = ERR_GET_REASON(ERR_peek_last_error());

	if (verifying && verify != X509_V_OK)
		return untrusted(ssl, verify, host);
	if (client_cert_refused(ssl) < 0)
		return -1;
	if (reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_NO_PROTOCOLS_AVAILABLE ||
	    reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION)
		return fail(FAIL_PERMANENT, "TLS: the server does not offer TLS 1.2 or newer");
	if (ssl_err == SSL_ERROR_SYSCALL || reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return fail(FAIL_TEMPORARY, "TLS: connection cut during the handshake");
	return fail(FAIL_PROTOCOL, "TLS handshake failed: %s", openssl_reason());
}

/* Waits for what OpenSSL asked for (read or write); -1 on timeout, at the
 * deadline or after a signal's grace. */
static int
wait_for_ssl(struct tls_session *s, int ssl_err, const struct timing *t, const char *what)
{
	short events = ssl_err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;

	return timing_poll(s->fd, events, t, what) < 0 ? -1 : 0;
}

static int
check_pin(struct tls_session *s, const char *fingerprint)
{
	unsigned char want[TLS_PIN_LENGTH], got[TLS_PIN_LENGTH];

	if (tls_parse_fingerprint(fingerprint, want) < 0)
		return fail(FAIL_CONFIG, "tls_fingerprint: not a SHA-256 fingerprint in hex");
	if (!certinfo_sha256(SSL_get0_peer_certificate(s->ssl), got))
		return fail(FAIL_AUTH, "TLS: the server sent no certificate");
	if (CRYPTO_memcmp(want, got, TLS_PIN_LENGTH) != 0)
		return fail(FAIL_AUTH, "TLS: the server's certificate does not match "
		    "tls_fingerprint");
	return 0;
}

/* A BIO callback keeping the first bytes read from the server, for
 * spoke_plaintext(). */
static long
keep_first_bytes(BIO *bio, int oper, const char *argp, size_t len, int argi, long argl,
	int ret, size_t *processed)
{
	struct tls_session *s = (struct tls_session *)BIO_get_callback_arg(bio);
	size_t n;

	(void)len, (void)argi, (void)argl;
	if (oper != (BIO_CB_READ | BIO_CB_RETURN) || ret <= 0 || processed == NULL)
		return ret;
	n = sizeof s->first - s->first_len;
	n = *processed < n ? *processed : n;
	memcpy(s->first + s->first_len, argp, n);
	s->first_len += n;
	return ret;
}

/* True when the server's first bytes are text, as in "220 " or "+OK":
 * every TLS record starts with a content type from 20 to 23 (a handshake
 * 22, an alert 21), never with a printable character. */
static bool
spoke_plaintext(const struct tls_session *s)
{
	for (size_t i = 0; i < s->first_len; i++) {
		unsigned char ch = s->first[i];

		if ((ch < 0x20 || ch > 0x7e) && ch != '\r' && ch != '\n' && ch != '\t')
			return false;
	}
	return s->first_len > 0;
}

static bool
wants_io(int ssl_err)
{
	return ssl_err == SSL_ERROR_WANT_READ || ssl_err == SSL_ERROR_WANT_WRITE;
}

static int
handshake(struct tls_session *s, const char *host, const struct tls_options *o,
	const struct timing *t)
{
	int ret;

	ERR_clear_error();
	while ((ret = SSL_connect(s->ssl)) != 1) {
		int ssl_err = SSL_get_error(s->ssl, ret);

		/* Said at once: no TLS record starts like this, and a short
		 * greeting would otherwise leave us waiting for the rest. */
		if (spoke_plaintext(s)) {
			fail(FAIL_PROTOCOL, "TLS: the server answered in plaintext, not TLS");
			return TLS_PLAINTEXT_PEER;
		}
		if (!wants_io(ssl_err))
			return classify_handshake_failure(s->ssl, ssl_err, host);
		if (wait_for_ssl(s, ssl_err, t, "in the TLS handshake") < 0)
			return -1;
	}
	if (o->fingerprint != NULL)
		return check_pin(s, o->fingerprint);
	return 0;
}

/* Attaches the session to fd, watching the first bytes read from it. */
static int
attach(struct tls_session *s, int fd)
{
	BIO *bio;

	if (SSL_set_fd(s->ssl, fd) != 1)
		return -1;
	bio = SSL_get_rbio(s->ssl);
	BIO_set_callback_arg(bio, (char *)s);
	BIO_set_callback_ex(bio, keep_first_bytes);
	return 0;
}

/* The algorithm classes a client context and its handshake fetch from
 * OpenSSL's providers, each fetched once so its table is built. */
static void
prime_algorithm_tables(void)
{
	EVP_CIPHER_free(EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL));
	EVP_MD_free(EVP_MD_fetch(NULL, "SHA256", NULL));
	EVP_MAC_free(EVP_MAC_fetch(NULL, "HMAC", NULL));
	EVP_KDF_free(EVP_KDF_fetch(NULL, "HKDF", NULL));
	EVP_KEYMGMT_free(EVP_KEYMGMT_fetch(NULL, "EC", NULL));
	EVP_KEYEXCH_free(EVP_KEYEXCH_fetch(NULL, "ECDH", NULL));
	EVP_SIGNATURE_free(EVP_SIGNATURE_fetch(NULL, "RSA", NULL));
	EVP_KEM_free(EVP_KEM_fetch(NULL, "RSA", NULL));
	ERR_clear_error();
}

void
tls_skip_cleanup_at_exit(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
}

void
tls_prepare(void)
{
	static bool prepared;
	const char *init_failure;

	if (prepared)
		return;
	if (init_openssl(&init_failure) == 1)
		prime_algorithm_tables();
	ERR_clear_error();	/* a failure shows again at the first tls_start() */
	prepared = true;
}

int
tls_start(int fd, const char *host, const struct tls_options *o, const struct timing *t,
	struct tls_session **s_r)
{
	struct tls_session *s = xcalloc(1, sizeof *s);
	int rc;

	s->fd = fd;
	if (make_context(s, o) < 0) {
		tls_end(s);
		return -1;
	}
	s->ssl = SSL_new(s->ctx);
	if (s->ssl == NULL || attach(s, fd) < 0 ||
	    set_peer_name(s->ssl, host, o->verify && o->fingerprint == NULL) < 0) {
		fail(FAIL_TEMPORARY, "TLS: cannot set up session: %s", openssl_reason());
		tls_end(s);
		return -1;
	}
	rc = handshake(s, host, o, t);
	if (o->peer != NULL)
		certinfo_keep(o->peer, s->ssl, o, rc == 0);
	if (rc < 0) {
		tls_end(s);
		return rc;
	}
	BIO_set_callback_ex(SSL_get_rbio(s->ssl), NULL);
	s->healthy = true;
	snprintf(s->description, sizeof s->description, "%s %s", SSL_get_version(s->ssl),
	    SSL_get_cipher_name(s->ssl));
	*s_r = s;
	return 0;
}

/* A read or write failed (recorded by the caller or here): the session
 * is not used again, not even for close_notify. */
static int
give_up(struct tls_session *s)
{
	s->healthy = false;
	return -1;
}

/* With TLS 1.3 a server that refuses our client certificate says so
 * after the handshake, at the first read: that is a setting to fix. */
static int
connection_lost(struct tls_session *s)
{
	if (client_cert_refused(s->ssl) == 0)
		fail(FAIL_TEMPORARY, "TLS: connection lost: %s", openssl_reason());
	return give_up(s);
}

long
tls_read(struct tls_session *s, void *buf, size_t n, const struct timing *t)
{
	ERR_clear_error();
	for (;;) {
		size_t got;
		int ret, ssl_err;

		if (timing_check(t, "reading from the server") < 0)
			return give_up(s);
		ret = SSL_read_ex(s->ssl, buf, n, &got);
		if (ret == 1)
			return (long)got;
		ssl_err = SSL_get_error(s->ssl, ret);
		if (ssl_err == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (!wants_io(ssl_err))
			return connection_lost(s);
		if (wait_for_ssl(s, ssl_err, t, "waiting for the server") < 0)
			return give_up(s);
	}
}

int
tls_write(struct tls_session *s, const void *buf, size_t n, const struct timing *t)
{
	const char *p = buf;

	ERR_clear_error();
	while (n > 0) {
		size_t written;
		int ret, ssl_err;

		if (timing_check(t, "sending to the server") < 0)
			return give_up(s);
		ret = SSL_write_ex(s->ssl, p, n, &written);
		if (ret == 1) {
			p += written;
			n -= written;
			continue;
		}
		ssl_err = SSL_get_error(s->ssl, ret);
		if (!wants_io(ssl_err))
			return connection_lost(s);
		if (wait_for_ssl(s, ssl_err, t, "sending to the server") < 0)
			return give_up(s);
	}
	return 0;
}

void
tls_end(struct tls_session *s)
{
	if (s == NULL)
		return;
	if (s->ssl != NULL) {
		if (s->healthy)
			SSL_shutdown(s->ssl);	/* one close_notify, no wait for the reply */
		SSL_free(s->ssl);
	}
	SSL_CTX_free(s->ctx);
	free(s);
}

const char *
tls_describe(const struct tls_session *s)
{
	return s->description;
}

const char *
tls_version(const struct tls_session *s)
{
	return SSL_get_version(s->ssl);
}
