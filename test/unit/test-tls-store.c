/*
 * tls-files.c's system store: nothing read until a chain is verified,
 * then the issuer's file from OpenSSL's hashed directory (SSL_CERT_DIR)
 * and never the bundle (SSL_CERT_FILE) when the directory has it; the
 * bundle read only when the directory lacks the issuer; neither holding
 * it fails verification.  The store's objects are counted after each
 * step: reading the whole bundle up front (SSL_CTX_set_default_verify_paths,
 * ~25 ms of CPU a run for Debian's 140 certificates) shows as objects
 * before any verification.  Certificates are made here in memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tap.h"
#include "tls-files.h"

struct cert {
	X509 *x509;
	EVP_PKEY *key;
};

/* A CA (issuer NULL) or a leaf signed by issuer, valid for a day. */
static struct cert
make_cert(const char *cn, const struct cert *issuer)
{
	struct cert c = { X509_new(), EVP_EC_gen("P-256") };
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	if (c.x509 == NULL || c.key == NULL || name == NULL)
		abort();
	X509_set_version(c.x509, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c.x509), 1);
	X509_gmtime_adj(X509_getm_notBefore(c.x509), -60);
	X509_gmtime_adj(X509_getm_notAfter(c.x509), 86400);
	X509_set_pubkey(c.x509, c.key);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(c.x509, name);
	X509_set_issuer_name(c.x509, issuer != NULL ? X509_get_subject_name(issuer->x509) : name);
	X509V3_set_ctx(&v3, issuer != NULL ? issuer->x509 : c.x509, c.x509, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	    issuer == NULL ? "critical,CA:TRUE" : "CA:FALSE");
	if (ext == NULL || X509_add_ext(c.x509, ext, -1) != 1 ||
	    X509_sign(c.x509, issuer != NULL ? issuer->key : c.key, EVP_sha256()) == 0)
		abort();
	X509_EXTENSION_free(ext);
	X509_NAME_free(name);
	return c;
}

static void
write_pem(const char *path, X509 *const *certs, size_t n)
{
	FILE *f = fopen(path, "w");

	for (size_t i = 0; f != NULL && i < n; i++)
		if (PEM_write_X509(f, certs[i]) != 1)
			abort();
	if (f == NULL || fclose(f) != 0)
		abort();
}

/* dir/HASH.0, as c_rehash and update-ca-certificates name it. */
static void
write_hashed(const char *dir, X509 *cert)
{
	char path[700];

	snprintf(path, sizeof path, "%s/%08lx.0", dir,
	    X509_NAME_hash_ex(X509_get_subject_name(cert), NULL, NULL, NULL));
	write_pem(path, &cert, 1);
}

static int
store_objects(SSL_CTX *ctx)
{
	return sk_X509_OBJECT_num(X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx)));
}

/* The verdict on leaf against ctx's store, as a handshake would ask. */
static int
verify(SSL_CTX *ctx, X509 *leaf)
{
	X509_STORE_CTX *vc = X509_STORE_CTX_new();
	int rc;

	if (vc == NULL || X509_STORE_CTX_init(vc, SSL_CTX_get_cert_store(ctx), leaf, NULL) != 1)
		abort();
	rc = X509_verify_cert(vc) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(vc);
	X509_STORE_CTX_free(vc);
	return rc;
}

struct run {
	int before, after, verdict;
};

/* One session's store from the system store as the environment names it. */
static struct run
system_store_run(const char *dir, const char *file, X509 *leaf)
{
	struct tls_options o = { .verify = true };
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	X509_LOOKUP_METHOD *bundle = NULL;
	struct run r = { -1, -1, -1 };

	setenv("SSL_CERT_DIR", dir, 1);
	setenv("SSL_CERT_FILE", file, 1);
	if (ctx != NULL && tls_files_load(ctx, &o, &bundle) == 0) {
		r.before = store_objects(ctx);
		r.verdict = verify(ctx, leaf);
		r.after = store_objects(ctx);
	}
	SSL_CTX_free(ctx);
	tls_files_free(bundle);
	return r;
}

int
main(void)
{
	char top[] = "/tmp/test-tls-store.XXXXXX", hashed[600], empty[600], bundle[600],
	    others[600], cmd[700];
	struct cert ca, other, leaf;
	struct run r;

	if (mkdtemp(top) == NULL)
		abort();
	ca = make_cert("Store Test CA", NULL);
	other = make_cert("Another CA", NULL);
	leaf = make_cert("mail.example.test", &ca);
	snprintf(hashed, sizeof hashed, "%s/hashed", top);
	snprintf(empty, sizeof empty, "%s/empty", top);
	snprintf(bundle, sizeof bundle, "%s/bundle.pem", top);
	snprintf(others, sizeof others, "%s/others.pem", top);
	if (mkdir(hashed, 0755) < 0 || mkdir(empty, 0755) < 0)
		abort();
	write_hashed(hashed, ca.x509);
	write_pem(bundle, (X509 *[]){ other.x509, ca.x509 }, 2);
	write_pem(others, &other.x509, 1);

	r = system_store_run(hashed, bundle, leaf.x509);
	is_int(r.before, 0, "hashed directory: nothing read before a chain is verified");
	is_int(r.verdict, X509_V_OK, "hashed directory: the chain verifies");
	is_int(r.after, 1, "hashed directory: only the issuer read, never the 2-CA bundle");

	r = system_store_run(empty, bundle, leaf.x509);
	is_int(r.before, 0, "bundle only: nothing read before a chain is verified");
	is_int(r.verdict, X509_V_OK, "bundle only: the chain verifies from the bundle");
	is_int(r.after, 2, "bundle only: read whole at the directory's miss");

	r = system_store_run(empty, others, leaf.x509);
	is_int(r.verdict, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
	    "neither holds the issuer: not trusted");

	X509_free(ca.x509), EVP_PKEY_free(ca.key);
	X509_free(other.x509), EVP_PKEY_free(other.key);
	X509_free(leaf.x509), EVP_PKEY_free(leaf.key);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
	if (system(cmd) != 0)
		diag("could not remove %s", top);
	return done_testing();
}
