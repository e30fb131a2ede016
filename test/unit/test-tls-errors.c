/*
 * TLS refusals of the man pages that the fake server's fixed PKI cannot
 * show: a server certificate that has expired or is not yet valid (exit
 * 77, the reason and the certificate's fingerprint in the line), a server
 * that cannot do TLS 1.2 or newer, offering 1.1 or 1.0 (exit 69), a server
 * that asks to renegotiate (refused: the session goes on with the
 * certificate that was checked) and one that sends an enormous
 * certificate chain (refused in bounded time and memory, exit 76).
 * (Wrong name, self-signed, fingerprint match and mismatch, a handshake
 * cut: the fake scenarios smtp-cert-*, smtp-fingerprint-*,
 * smtp-tls-handshake-cut.)  tls_start() runs against a forked
 * OpenSSL server on a socketpair, with certificates made here in memory,
 * so no name resolution or network is needed.  Each check asserts the
 * failure class, the exit status it maps to, and the line.
 *
 * And one thing that is no refusal: records are read ahead, so eight full
 * records waiting on the socket cost fewer read(2) calls than records, not
 * two each (a 5-byte header, then the body).  read() is defined here,
 * counting the calls on one descriptor, and passes through to the system.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

/* read(2) calls made on counted_fd (-1: none counted). */
static int counted_fd = -1;
static int counted_reads;

ssize_t
read(int fd, void *buf, size_t n)
{
	if (fd == counted_fd && counted_fd >= 0)
		counted_reads++;
	return syscall(SYS_read, fd, buf, n);
}

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

/* A TLS 1.2 server that asks for a renegotiation (HelloRequest) right
 * after the handshake, then answers "ping" with "pong" until the client
 * goes; its exit status is 1 when the renegotiation is still pending at
 * the end (the client refused it), 2 when it took place. */
static void __attribute__((noreturn))
serve_renegotiating(int fd, const struct cert *leaf)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	SSL *ssl;
	char buf[256];

	if (ctx == NULL || SSL_CTX_use_certificate(ctx, leaf->x509) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, leaf->key) != 1)
		_exit(99);
	SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1)
		_exit(99);
	if (SSL_accept(ssl) != 1 || SSL_renegotiate(ssl) != 1 || SSL_do_handshake(ssl) != 1)
		_exit(98);
	while (SSL_read(ssl, buf, sizeof buf) > 0)
		if (SSL_write(ssl, "pong\n", 5) != 5)
			break;
	_exit(SSL_renegotiate_pending(ssl) ? 1 : 2);
}

/* A server whose certificate message carries its leaf and `extra` copies
 * of the CA: far beyond what any real chain needs. */
static void __attribute__((noreturn))
serve_long_chain(int fd, const struct cert *leaf, const struct cert *ca, int extra)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	SSL *ssl;

	if (ctx == NULL || SSL_CTX_use_certificate(ctx, leaf->x509) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, leaf->key) != 1)
		_exit(1);
	for (int i = 0; i < extra; i++)
		if (SSL_CTX_add1_chain_cert(ctx, ca->x509) != 1)
			_exit(1);
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1)
		_exit(1);
	SSL_accept(ssl);
	_exit(0);
}

struct server {
	const struct cert *leaf;
	int records;			/* > 0: serve_records() */
	int max_version;
	bool renegotiate;
	const struct cert *chain_ca;	/* non-NULL: serve_long_chain() */
	int chain_copies;
};

/* Full records of application data after the handshake, then waits for
 * the client to go. */
static void __attribute__((noreturn))
serve_records(int fd, const struct cert *leaf, int records)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	static char record[16384];
	int big = 1 << 20;
	SSL *ssl;

	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	memset(record, 'x', sizeof record);
	if (ctx == NULL || SSL_CTX_use_certificate(ctx, leaf->x509) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, leaf->key) != 1 ||
	    (ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1)
		_exit(1);
	for (int i = 0; i < records; i++)
		if (SSL_write(ssl, record, sizeof record) != (int)sizeof record)
			_exit(1);
	while (SSL_read(ssl, record, sizeof record) > 0)
		;
	_exit(0);
}

static void __attribute__((noreturn))
serve_as(int fd, const struct server *srv)
{
	if (srv->records > 0)
		serve_records(fd, srv->leaf, srv->records);
	if (srv->renegotiate)
		serve_renegotiating(fd, srv->leaf);
	if (srv->chain_ca != NULL)
		serve_long_chain(fd, srv->leaf, srv->chain_ca, srv->chain_copies);
	serve(fd, srv->leaf, srv->max_version);
}

/* Forks the server; the client's end of the socketpair, non-blocking. */
static int
start_server(const struct server *srv, pid_t *pid_r)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	fflush(stdout);
	if ((*pid_r = fork()) < 0)
		abort();
	if (*pid_r == 0) {
		close(sv[0]);
		serve_as(sv[1], srv);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	return sv[0];
}

/* One handshake as HOST, trusting ca_path, against a forked server; 0 or
 * -1 with the failure recorded. */
static int
handshake(const struct cert *leaf, int max_version, const char *ca_path)
{
	struct server srv = { .leaf = leaf, .max_version = max_version };
	struct tls_options o = { .verify = true, .ca_file = ca_path };
	struct tls_session *s = NULL;
	pid_t pid;
	int fd = start_server(&srv, &pid), rc;

	fail_clear();
	rc = tls_start(fd, HOST, &o, &patience, &s);
	tls_end(s);
	close(fd);
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

/* A server that asks to renegotiate after the handshake: the client says
 * no (a second handshake could bring a certificate that a pinned
 * fingerprint was never compared with).  OpenSSL's server ends the session
 * over the refusal: for the client a lost connection, 75, the next run
 * tries again; the ping after the request gets no answer. */
static void
test_renegotiation(const struct cert *ca, const char *ca_path)
{
	struct cert leaf = make_cert("mail", ca, -86400, 86400);
	struct server srv = { .leaf = &leaf, .renegotiate = true };
	struct tls_options o = { .verify = true, .ca_file = ca_path };
	struct tls_session *s = NULL;
	char buf[16];
	long n = 0;
	pid_t pid;
	int fd = start_server(&srv, &pid), status = -1;

	fail_clear();
	ok(tls_start(fd, HOST, &o, &patience, &s) == 0, "renegotiation: the handshake succeeds");
	for (int i = 0; i < 2 && s != NULL && n >= 0; i++)
		n = tls_write(s, "ping\n", 5, &patience) == 0 ?
		    tls_read(s, buf, sizeof buf, &patience) : -1;
	expect_failure(n < 0 ? -1 : 0, FAIL_TEMPORARY, 75, "TLS: connection lost",
	    "a server that renegotiates");
	tls_end(s);
	close(fd);
	waitpid(pid, &status, 0);
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 1,
	    "renegotiation: refused, still pending at the end (2: renegotiated)");
	free_cert(&leaf);
}

/* A certificate message of about a megabyte (the leaf and 2,000 copies of
 * the CA): refused within the message size limit (100 kB), quickly, as a
 * protocol error (76), with nothing sent after the handshake. */
static void
test_enormous_chain(const struct cert *ca, const char *ca_path)
{
	struct cert leaf = make_cert("mail", ca, -86400, 86400);
	struct server srv = { .leaf = &leaf, .chain_ca = ca, .chain_copies = 2000 };
	struct tls_options o = { .verify = true, .ca_file = ca_path };
	struct tls_session *s = NULL;
	int64_t t0 = clock_now_ms();
	pid_t pid;
	int fd = start_server(&srv, &pid), rc;

	fail_clear();
	rc = tls_start(fd, HOST, &o, &patience, &s);
	expect_failure(rc, FAIL_PROTOCOL, 76, "TLS handshake failed: excessive message size",
	    "an enormous certificate chain");
	ok(clock_now_ms() - t0 < tap_ms_bound(5000), "an enormous certificate chain: refused within 5 s");
	tls_end(s);
	close(fd);
	waitpid(pid, NULL, 0);
	free_cert(&leaf);
}

/* Waits (bounded) until n bytes are waiting on fd: the reads counted
 * then find every record there, whatever the scheduling. */
static bool
wait_for_bytes(int fd, int n)
{
	for (int tries = 0; tries < 1000; tries++) {
		int waiting = 0;

		if (ioctl(fd, FIONREAD, &waiting) == 0 && waiting >= n)
			return true;
		usleep(10000);
	}
	return false;
}

static void
test_read_ahead(const struct cert *ca, const char *ca_path)
{
	enum { RECORDS = 8, RECORD = 16384 };
	struct cert leaf = make_cert("mail", ca, -86400, 86400);
	struct server srv = { .leaf = &leaf, .records = RECORDS };
	struct tls_options o = { .verify = true, .ca_file = ca_path };
	struct tls_session *s = NULL;
	char buf[RECORD];
	long got = 0, n = 1;
	pid_t pid;
	int fd = start_server(&srv, &pid);

	fail_clear();
	ok(tls_start(fd, HOST, &o, &patience, &s) == 0, "read-ahead: the handshake succeeds");
	ok(wait_for_bytes(fd, RECORDS * RECORD), "read-ahead: %d records wait on the socket",
	    RECORDS);
	counted_fd = fd;
	while (s != NULL && got < RECORDS * RECORD && n > 0)
		got += (n = tls_read(s, buf, sizeof buf, &patience)) > 0 ? n : 0;
	counted_fd = -1;
	is_int(got, RECORDS * RECORD, "read-ahead: every byte of the records read");
	ok(counted_reads < RECORDS, "read-ahead: %d records in %d read(2) calls (fewer than "
	    "records; 2 each without read-ahead)", RECORDS, counted_reads);
	tls_end(s);
	close(fd);
	waitpid(pid, NULL, 0);
	free_cert(&leaf);
}

int
main(void)
{
	struct cert ca = make_cert("test CA", NULL, -86400, 86400);
	char ca_path[32];

	alarm(60);	/* a hang is a failure, not a stuck test run */
	/* As the programs do (signals.c): a write to a server that has gone
	 * (the renegotiating one) is an error to report, not a death. */
	signal(SIGPIPE, SIG_IGN);
	write_ca(&ca, ca_path);
	test_expired(&ca, ca_path);
	test_not_yet_valid(&ca, ca_path);
	test_old_protocol(&ca, ca_path);
	test_renegotiation(&ca, ca_path);
	test_enormous_chain(&ca, ca_path);
	test_read_ahead(&ca, ca_path);
	unlink(ca_path);
	free_cert(&ca);
	return done_testing();
}
