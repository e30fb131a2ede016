/*
 * The files TLS takes trust and identity from: the trust anchors
 * (tls_ca_file, or the system store) and the client certificate with its
 * key.  Each is read whole through the descriptor whose owner and mode
 * were checked (fs.c's trust rule), never opened again by name inside
 * OpenSSL; a key's bytes are wiped once parsed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "fs.h"
#include "status.h"
#include "tls-files.h"
#include "xalloc.h"

/* A CA file larger than this is not one (Debian's whole bundle is 200 kB). */
#define CA_FILE_MAX (16 * 1024 * 1024)

/* A file we take trust or a secret from, read whole through the
 * descriptor whose owner and mode were checked: whoever can change the CA
 * file can pose as any server, and OpenSSL opening a file again by name
 * could read another one.  *buf_r (wiped by the caller when secret) is a
 * new buffer of *len_r bytes.  0, or -1 recorded: FAIL_CONFIG, "WHAT PATH:
 * why", or the trust rule's FAIL_AUTH in the context of key. */
static int
read_trusted_file(const char *path, const char *key, const char *what,
	enum fs_readers readers, unsigned char **buf_r, size_t *len_r)
{
	int fd = fs_open_regular(path);
	size_t cap = 0;
	ssize_t n = 1;

	*buf_r = NULL;
	*len_r = 0;
	if (fd < 0)
		return fail(FAIL_CONFIG, "%s %s: %s", what, path, fs_open_error(errno));
	if (fs_check_trusted_fd(fd, path, readers) < 0) {
		close(fd);
		return fail_context("%s", key);
	}
	while (n > 0 && *len_r <= CA_FILE_MAX) {
		if (*len_r == cap)
			*buf_r = xgrow(*buf_r, &cap, *len_r + 8192, 1);
		n = read(fd, *buf_r + *len_r, cap - *len_r);
		*len_r += n > 0 ? (size_t)n : 0;
	}
	close(fd);
	if (n < 0 || *len_r > CA_FILE_MAX)
		return fail(FAIL_CONFIG, "%s %s: %s", what, path, n < 0 ?
		    strerror(errno) : "larger than 16 MiB");
	return 0;
}

/* The same as a memory BIO, for the certificates (no secret). */
static BIO *
read_ca_file(const char *path, const char *key, const char *what)
{
	unsigned char *buf;
	size_t len;
	BIO *bio = NULL;

	if (read_trusted_file(path, key, what, FS_READERS_ANY, &buf, &len) == 0 &&
	    (bio = BIO_new(BIO_s_mem())) == NULL)
		xalloc_fail();
	if (bio != NULL && len > 0)
		BIO_write(bio, buf, (int)len);
	free(buf);
	return bio;
}

/* Every certificate of the PEM file (and any CRL) into the context's store. */
static int
load_ca_file(SSL_CTX *ctx, const char *path)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	BIO *bio = read_ca_file(path, "tls_ca_file", "cannot load trust anchors from");
	STACK_OF(X509_INFO) *infos;
	int added = 0;

	if (bio == NULL)
		return -1;
	infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	BIO_free(bio);
	for (int i = 0; infos != NULL && i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *xi = sk_X509_INFO_value(infos, i);

		added += xi->x509 != NULL && X509_STORE_add_cert(store, xi->x509) == 1;
		if (xi->crl != NULL)
			X509_STORE_add_crl(store, xi->crl);
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	if (added == 0)
		return fail(FAIL_CONFIG, "cannot load trust anchors from %s: no certificate "
		    "in it", path);
	return 0;
}

/* The client certificate and the chain after it, as the server asks. */
static int
load_cert_chain(SSL_CTX *ctx, const char *path)
{
	BIO *bio = read_ca_file(path, "tls_cert_file", "cannot read the client certificate");
	X509 *cert;
	int rc = 0;

	if (bio == NULL)
		return -1;
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (cert == NULL || SSL_CTX_use_certificate(ctx, cert) != 1)
		rc = fail(FAIL_CONFIG, "tls_cert_file %s: no PEM certificate in it", path);
	X509_free(cert);
	while (rc == 0 && (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, cert) != 1)
			X509_free(cert);
	}
	ERR_clear_error();	/* the end of the file reads as an error */
	BIO_free(bio);
	return rc;
}

/* OpenSSL's default would ask the terminal for the passphrase of an
 * encrypted key; a batch command has nobody to ask. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf, (void)size, (void)rwflag, (void)arg;
	return -1;
}

/* The private key, read into memory that is wiped, and checked against
 * the certificate: a mismatch would only show as a handshake failure. */
static int
load_private_key(SSL_CTX *ctx, const char *path)
{
	unsigned char *buf;
	size_t len;
	BIO *bio;
	EVP_PKEY *key = NULL;
	int rc = 0;

	if (read_trusted_file(path, "tls_key_file", "cannot read the client key",
	    FS_READERS_OWNER, &buf, &len) < 0)
		return -1;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL)
		xalloc_fail();
	key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (key == NULL)
		rc = fail(FAIL_CONFIG, "tls_key_file %s: no unencrypted PEM private key in it",
		    path);
	else if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1)
		rc = fail(FAIL_CONFIG, "tls_key_file %s is not the key of tls_cert_file", path);
	ERR_clear_error();
	EVP_PKEY_free(key);
	return rc;
}

static int
load_client_cert(SSL_CTX *ctx, const struct tls_options *o)
{
	if (o->cert_file == NULL)
		return 0;
	if (load_cert_chain(ctx, o->cert_file) < 0 || load_private_key(ctx, o->key_file) < 0)
		return -1;
	return 0;
}

/* The trust anchors of a session that verifies the chain: tls_ca_file, or
 * the system store as OpenSSL configures it (the bundle file, read whole,
 * and the hashed directory).  The bundle is most of a send's CPU (Debian's
 * 140 keys, each decoded through OpenSSL 3.0's decoders), but no lazier
 * loading gives OpenSSL's verdict: the bundle is in the store before any
 * lookup, so for a name it holds the directory is never asked.  Reading
 * it only when the directory lacks an issuer hid a re-keyed root of the
 * same name in the bundle; reading it only after the directory alone
 * failed to verify accepts a chain that OpenSSL refuses, when the
 * directory holds the new root (or a current re-issue) and the bundle the
 * old one (or an expired issue) of the same name (test-tls-store). */
static int
load_trust_anchors(SSL_CTX *ctx, const struct tls_options *o)
{
	unsigned long e;

	if (o->ca_file != NULL)
		return load_ca_file(ctx, o->ca_file);
	if (SSL_CTX_set_default_verify_paths(ctx) == 1)
		return 0;
	e = ERR_peek_last_error();
	return fail(FAIL_CONFIG, "cannot load trust anchors from the system store: %s",
	    e != 0 ? ERR_reason_error_string(e) : "unknown error");
}

int
tls_files_load(SSL_CTX *ctx, const struct tls_options *o)
{
	if (o->verify && o->fingerprint == NULL && load_trust_anchors(ctx, o) < 0)
		return -1;
	return load_client_cert(ctx, o);
}
