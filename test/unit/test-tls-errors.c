/*
 * TLS refusals of the man pages that the fake server's fixed PKI cannot
 * show: a server certificate that has expired or is not yet valid (exit
 * 77, the reason and the certificate's fingerprint in the line) and a
 * server that cannot do TLS 1.2 or newer, offering 1.1 or 1.0 (exit 69).  tls_start() runs against a forked
 * OpenSSL server on a socketpair, with certificates made here in memory,
 * so no name resolution or network is needed.  Each check asserts the
 * failure class, the exit status it maps to, and the line.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "clock.h"
#include "status.h"
#include "tap.h"
#include "tls.h"

#define HOST "mail.example.test"

static const struct timing patience = { .timeout_ms = 10000 };

struct cert {
	X509 *x509;
	EVP_PKEY *key;
};

static void
add_extension(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL || X509_add_ext(cert, ext, -1) != 1)
		abort();
	X509_EXTENSION_free(ext);
}

/* A CA when issuer is NULL, else a certificate for HOST signed by issuer;
 * valid from `from` to `until` seconds from now. */
static struct cert
make_cert(const char *cn, const struct cert *issuer, long from, long until)
{
	struct cert c = { X509_new(), EVP_EC_gen("P-256") };
	X509_NAME *name = X509_NAME_new();
	unsigned char serial[3];

	if (c.x509 == NULL || c.key == NULL || name == NULL)
		abort();
	RAND_bytes(serial, sizeof serial);
	ASN1_INTEGER_set(X509_get_serialNumber(c.x509), serial[0] << 16 | serial[1] << 8 | serial[2]);
	X509_set_version(c.x509, 2);
	X509_gmtime_adj(X509_getm_notBefore(c.x509), from);
	X509_gmtime_adj(X509_getm_notAfter(c.x509), until);
	X509_set_pubkey(c.x509, c.key);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(c.x509, name);
	X509_set_issuer_name(c.x509, issuer != NULL ? X509_get_subject_name(issuer->x509) : name);
	if (issuer == NULL)
		add_extension(c.x509, c.x509, NID_basic_constraints, "critical,CA:TRUE");
	else
		add_extension(c.x509, issuer->x509, NID_subject_alt_name, "DNS:" HOST);
	if (X509_sign(c.x509, issuer != NULL ? issuer->key : c.key, EVP_sha256()) == 0)
		abort();
	X509_NAME_free(name);
	return c;
}

static void
free_cert(struct cert *c)
{
	X509_free(c->x509);
	EVP_PKEY_free(c->key);
}

/* The CA in a PEM file of mode 0644 (a CA file others can write would be
 * refused before the handshake); its path in path. */
static void
write_ca(const struct cert *ca, char path[static 32])
{
	int fd;
	FILE *f;

	strcpy(path, "/tmp/test-tls-ca.XXXXXX");
	fd = mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL || fchmod(fd, 0644) < 0 || PEM_write_X509(f, ca->x509) != 1 ||
	    fclose(f) != 0)
		abort();
}

/* The server's side: presents leaf, speaks at most max_version (0: any),
 * then reads until the client goes. */
static void __attribute__((noreturn))
serve(int fd, const struct cert *leaf, int max_version)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	SSL *ssl;
	char buf[256];

	if (ctx == NULL || SSL_CTX_use_certificate(ctx, leaf->x509) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, leaf->key) != 1)
		_exit(1);
	if (max_version != 0) {
		/* TLS 1.1 needs the weakest level of OpenSSL 3 to be offered. */
		SSL_CTX_set_security_level(ctx, 0);
		SSL_CTX_set_min_proto_version(ctx, 0);
		SSL_CTX_set_max_proto_version(ctx, max_version);
	}
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1)
		_exit(1);
	if (SSL_accept(ssl) == 1)
		while (SSL_read(ssl, buf, sizeof buf) > 0)
			;
	_exit(0);
}

/* One handshake as HOST, trusting ca_path, against a forked server; 0 or
 * -1 with the failure recorded. */
static int
handshake(const struct cert *leaf, int max_version, const char *ca_path)
{
	struct tls_options o = { .verify = true, .ca_file = ca_path };
	struct tls_session *s = NULL;
	int sv[2], rc;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	fflush(stdout);
	if ((pid = fork()) < 0)
		abort();
	if (pid == 0) {
		close(sv[0]);
		serve(sv[1], leaf, max_version);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	fail_clear();
	rc = tls_start(sv[0], HOST, &o, &patience, &s);
	tls_end(s);
	close(sv[0]);
	waitpid(pid, NULL, 0);
	return rc;
}

/* "AB:CD:...", the SHA-256 of the certificate, as the line gives it. */
static void
colon_fingerprint(const struct cert *c, char out[static 3 * 32])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	X509_digest(c->x509, EVP_sha256(), md, &len);
	for (unsigned i = 0; i < len; i++)
		sprintf(out + 3 * i, "%02X%s", md[i], i + 1 < len ? ":" : "");
}

static void
expect_failure(int rc, enum failure cls, int status, const char *words, const char *name)
{
	ok(rc < 0 && fail_class() == cls, "%s: refused, class %d", name, cls);
	is_int(status_exit_code(fail_class()), status, "%s: exit status %d", name, status);
	ok(strstr(fail_reason(), words) != NULL, "%s: the line says \"%s\"", name, words);
	if (strstr(fail_reason(), words) == NULL)
		diag("line: %s", fail_reason());
}

/* mailpipe-send(1) and mailpipe-fetch(1) EXIT STATUS 77: a certificate
 * from a trusted CA that expired an hour ago; the line gives the reason
 * and the fingerprint.  The same certificate still valid is accepted, so
 * the refusal is the expiry's. */
static void
test_expired(const struct cert *ca, const char *ca_path)
{
	struct cert valid = make_cert("mail", ca, -86400, 86400);
	struct cert expired = make_cert("mail", ca, -86400, -3600);
	char fp[3 * 32], words[300];

	ok(handshake(&valid, 0, ca_path) == 0, "a valid certificate from the CA: accepted");
	colon_fingerprint(&expired, fp);
	snprintf(words, sizeof words, "TLS: certificate for " HOST " not trusted: certificate "
	    "has expired; its SHA-256 fingerprint is %s;", fp);
	expect_failure(handshake(&expired, 0, ca_path), FAIL_AUTH, 77, words,
	    "an expired certificate");
	ok(strstr(fail_reason(), "the server must get a valid one") != NULL &&
	    strstr(fail_reason(), "set tls_ca_file") == NULL, "and the hint is the server's "
	    "renewal, not a CA file that is already trusted");
	free_cert(&valid);
	free_cert(&expired);
}

/* EXIT STATUS 77: a certificate from a trusted CA whose validity starts in
 * an hour (a server clock ahead, or a certificate put in place too soon). */
static void
test_not_yet_valid(const struct cert *ca, const char *ca_path)
{
	struct cert early = make_cert("mail", ca, 3600, 86400);

	expect_failure(handshake(&early, 0, ca_path), FAIL_AUTH, 77,
	    "TLS: certificate for " HOST " not trusted: certificate is not yet valid",
	    "a certificate not yet valid");
	ok(strstr(fail_reason(), "the server must get a valid one") != NULL,
	    "and the hint is the server's, as for an expired one");
	free_cert(&early);
}

/* EXIT STATUS 69: a server that speaks TLS 1.1 at most, or TLS 1.0 at most. */
static void
test_old_protocol(const struct cert *ca, const char *ca_path)
{
	struct cert leaf = make_cert("mail", ca, -86400, 86400);

	expect_failure(handshake(&leaf, TLS1_1_VERSION, ca_path), FAIL_PERMANENT, 69,
	    "TLS: the server does not offer TLS 1.2 or newer", "a TLS 1.1 server");
	expect_failure(handshake(&leaf, TLS1_VERSION, ca_path), FAIL_PERMANENT, 69,
	    "TLS: the server does not offer TLS 1.2 or newer", "a TLS 1.0 server");
	free_cert(&leaf);
}

int
main(void)
{
	struct cert ca = make_cert("test CA", NULL, -86400, 86400);
	char ca_path[32];

	alarm(60);	/* a hang is a failure, not a stuck test run */
	write_ca(&ca, ca_path);
	test_expired(&ca, ca_path);
	test_not_yet_valid(&ca, ca_path);
	test_old_protocol(&ca, ca_path);
	unlink(ca_path);
	free_cert(&ca);
	return done_testing();
}
