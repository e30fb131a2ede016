/*
 * tls-files.c's system store, as the environment names it (SSL_CERT_DIR,
 * SSL_CERT_FILE): a root found in the hashed directory or in the bundle;
 * a chain through an intermediate the server sends; a root re-keyed under
 * the same name, the old one in the directory and the new one in the
 * bundle (a lookup that read the bundle only when the directory lacked the
 * name failed this one); neither holding the root: not trusted.
 * Certificates are made here in memory.
 */
#include <stdbool.h>
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

static void
add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);

	if (ext == NULL || X509_add_ext(x, ext, -1) != 1)
		abort();
	X509_EXTENSION_free(ext);
}

/* A CA or a leaf, self-signed (issuer NULL) or signed by issuer, valid for
 * a day, with key identifiers so that two CAs of one name are told apart. */
static struct cert
make_cert(const char *cn, const struct cert *issuer, bool ca)
{
	struct cert c = { X509_new(), EVP_EC_gen("P-256") };
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX v3;

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
	add_ext(c.x509, &v3, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
	add_ext(c.x509, &v3, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(c.x509, &v3, NID_authority_key_identifier, "keyid:always");
	if (X509_sign(c.x509, issuer != NULL ? issuer->key : c.key, EVP_sha256()) == 0)
		abort();
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

/* The verdict on leaf (with the intermediates a server would send)
 * against ctx's store, as a handshake would ask. */
static int
verify(SSL_CTX *ctx, X509 *leaf, STACK_OF(X509) *sent)
{
	X509_STORE_CTX *vc = X509_STORE_CTX_new();
	int rc;

	if (vc == NULL || X509_STORE_CTX_init(vc, SSL_CTX_get_cert_store(ctx), leaf, sent) != 1)
		abort();
	rc = X509_verify_cert(vc) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(vc);
	X509_STORE_CTX_free(vc);
	return rc;
}

/* The verdict on leaf from the system store as the environment names it. */
static int
system_store_verdict(const char *dir, const char *file, X509 *leaf, STACK_OF(X509) *sent)
{
	struct tls_options o = { .verify = true };
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int verdict = -1;

	setenv("SSL_CERT_DIR", dir, 1);
	setenv("SSL_CERT_FILE", file, 1);
	if (ctx != NULL && tls_files_load(ctx, &o) == 0)
		verdict = verify(ctx, leaf, sent);
	SSL_CTX_free(ctx);
	return verdict;
}

static void
free_cert(struct cert c)
{
	X509_free(c.x509);
	EVP_PKEY_free(c.key);
}

static void
path_in(char *buf, size_t size, const char *top, const char *name)
{
	snprintf(buf, size, "%s/%s", top, name);
}

int
main(void)
{
	char top[] = "/tmp/test-tls-store.XXXXXX", hashed[600], rekeyed[600], empty[600],
	    bundle[600], others[600], newroot_file[600], cmd[700];
	struct cert ca, other, root, inter, leaf, via_inter, oldroot, newroot, leaf2;
	STACK_OF(X509) *sent = sk_X509_new_null();

	if (mkdtemp(top) == NULL || sent == NULL)
		abort();
	ca = make_cert("Store Test CA", NULL, true);
	other = make_cert("Another CA", NULL, true);
	leaf = make_cert("mail.example.test", &ca, false);
	root = make_cert("Store Test Root", NULL, true);
	inter = make_cert("Store Test Intermediate", &root, true);
	via_inter = make_cert("relay.example.test", &inter, false);
	oldroot = make_cert("Rollover CA", NULL, true);
	newroot = make_cert("Rollover CA", NULL, true);
	leaf2 = make_cert("mail2.example.test", &newroot, false);
	path_in(hashed, sizeof hashed, top, "hashed");
	path_in(rekeyed, sizeof rekeyed, top, "rekeyed");
	path_in(empty, sizeof empty, top, "empty");
	path_in(bundle, sizeof bundle, top, "bundle.pem");
	path_in(others, sizeof others, top, "others.pem");
	path_in(newroot_file, sizeof newroot_file, top, "newroot.pem");
	if (mkdir(hashed, 0755) < 0 || mkdir(rekeyed, 0755) < 0 || mkdir(empty, 0755) < 0)
		abort();
	write_hashed(hashed, ca.x509);
	write_hashed(hashed, root.x509);
	write_hashed(rekeyed, oldroot.x509);
	write_pem(bundle, (X509 *[]){ other.x509, ca.x509 }, 2);
	write_pem(others, &other.x509, 1);
	write_pem(newroot_file, &newroot.x509, 1);

	is_int(system_store_verdict(hashed, others, leaf.x509, NULL), X509_V_OK,
	    "the root in the hashed directory only: trusted");
	is_int(system_store_verdict(empty, bundle, leaf.x509, NULL), X509_V_OK,
	    "the root in the bundle only: trusted");
	sk_X509_push(sent, inter.x509);
	is_int(system_store_verdict(hashed, others, via_inter.x509, sent), X509_V_OK,
	    "a chain through the intermediate the server sends: trusted");
	is_int(system_store_verdict(empty, others, via_inter.x509, sent),
	    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
	    "the same chain with its root nowhere: not trusted");
	is_int(system_store_verdict(rekeyed, newroot_file, leaf2.x509, NULL), X509_V_OK,
	    "a root re-keyed under its old name, the new one in the bundle: trusted");
	is_int(system_store_verdict(empty, others, leaf.x509, NULL),
	    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "neither holds the issuer: not trusted");

	sk_X509_free(sent);
	free_cert(ca), free_cert(other), free_cert(leaf), free_cert(root), free_cert(inter);
	free_cert(via_inter), free_cert(oldroot), free_cert(newroot), free_cert(leaf2);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
	if (system(cmd) != 0)
		diag("could not remove %s", top);
	return done_testing();
}
