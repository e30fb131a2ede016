/*
 * tls-files.c's system store, as the environment names it (SSL_CERT_DIR,
 * SSL_CERT_FILE): a root found in the hashed directory or in the bundle;
 * a chain through an intermediate the server sends; a root re-keyed under
 * the same name, the old one in the directory and the new one in the
 * bundle (a lookup that read the bundle only when the directory lacked the
 * name failed this one); neither holding the root: not trusted.
 *
 * Every verdict is also compared with OpenSSL's own loading of the same
 * store (X509_STORE_set_default_paths), which any cheaper loading must
 * match.  Two cases pin how OpenSSL decides when the bundle and the
 * directory hold different certificates of one name: the bundle's answers
 * (it is in the store before any lookup) and the directory is never asked
 * for that name, so a chain that the directory's certificate alone would
 * verify is refused.  A store that tried the directory first and read the
 * bundle only after a failure (issue 14's lazy store) passed both.
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

/* When a certificate is valid, in seconds from now. */
struct validity {
	long from, until;
};

#define DAY 86400L
static const struct validity valid_today = { -60, DAY };

/* A CA or a leaf, self-signed (issuer NULL) or signed by issuer, with key
 * identifiers so that two CAs of one name are told apart; a new key, or
 * key (an up-reference is taken) for a CA re-issued with its old key. */
static struct cert
make_cert_with(const char *cn, const struct cert *issuer, bool ca, EVP_PKEY *key,
	struct validity when)
{
	struct cert c = { X509_new(), key != NULL ? key : EVP_EC_gen("P-256") };
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX v3;

	if (c.x509 == NULL || c.key == NULL || name == NULL ||
	    (key != NULL && EVP_PKEY_up_ref(key) != 1))
		abort();
	X509_set_version(c.x509, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c.x509), 1);
	X509_gmtime_adj(X509_getm_notBefore(c.x509), when.from);
	X509_gmtime_adj(X509_getm_notAfter(c.x509), when.until);
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

/* Valid today, with a key of its own. */
static struct cert
make_cert(const char *cn, const struct cert *issuer, bool ca)
{
	return make_cert_with(cn, issuer, ca, NULL, valid_today);
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
 * against store, as a handshake would ask. */
static int
verify(X509_STORE *store, X509 *leaf, STACK_OF(X509) *sent)
{
	X509_STORE_CTX *vc = X509_STORE_CTX_new();
	int rc;

	if (vc == NULL || X509_STORE_CTX_init(vc, store, leaf, sent) != 1)
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
		verdict = verify(SSL_CTX_get_cert_store(ctx), leaf, sent);
	SSL_CTX_free(ctx);
	return verdict;
}

/* The verdict of OpenSSL's own loading of the same system store. */
static int
openssl_verdict(const char *dir, const char *file, X509 *leaf, STACK_OF(X509) *sent)
{
	X509_STORE *store = X509_STORE_new();
	int verdict;

	setenv("SSL_CERT_DIR", dir, 1);
	setenv("SSL_CERT_FILE", file, 1);
	if (store == NULL || X509_STORE_set_default_paths(store) != 1)
		abort();
	verdict = verify(store, leaf, sent);
	X509_STORE_free(store);
	return verdict;
}

/* One case: the verdict wanted, and the same as OpenSSL's loading. */
static void
check_store(const char *dir, const char *file, X509 *leaf, STACK_OF(X509) *sent, int want,
	const char *what)
{
	int verdict = system_store_verdict(dir, file, leaf, sent);

	is_int(verdict, want, "%s", what);
	is_int(verdict, openssl_verdict(dir, file, leaf, sent), "%s: as OpenSSL's loading", what);
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

/* The certificates of the cases. */
struct certs {
	struct cert ca, other, leaf;			/* one CA, one unrelated */
	struct cert root, inter, via_inter;		/* a chain of three */
	struct cert oldroot, newroot, leaf2;		/* re-keyed, the same name */
	struct cert current, expired, leaf3;		/* re-issued, the same key */
};

static void
make_certs(struct certs *c)
{
	c->ca = make_cert("Store Test CA", NULL, true);
	c->other = make_cert("Another CA", NULL, true);
	c->leaf = make_cert("mail.example.test", &c->ca, false);
	c->root = make_cert("Store Test Root", NULL, true);
	c->inter = make_cert("Store Test Intermediate", &c->root, true);
	c->via_inter = make_cert("relay.example.test", &c->inter, false);
	c->oldroot = make_cert("Rollover CA", NULL, true);
	c->newroot = make_cert("Rollover CA", NULL, true);
	c->leaf2 = make_cert("mail2.example.test", &c->newroot, false);
	c->current = make_cert("Reissue CA", NULL, true);
	c->expired = make_cert_with("Reissue CA", NULL, true, c->current.key,
	    (struct validity){ -3 * DAY, -DAY });
	c->leaf3 = make_cert("mail3.example.test", &c->current, false);
}

static void
free_certs(struct certs *c)
{
	struct cert all[] = { c->ca, c->other, c->leaf, c->root, c->inter, c->via_inter,
	    c->oldroot, c->newroot, c->leaf2, c->current, c->expired, c->leaf3 };

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		free_cert(all[i]);
}

/* The stores of the cases, under top: hashed directories and bundles. */
struct paths {
	char hashed[600], rekeyed[600], newkey[600], current[600], empty[600];
	char bundle[600], others[600], newroot[600], oldroot[600], expired[600];
};

static void
make_dir(char *buf, size_t size, const char *top, const char *name)
{
	path_in(buf, size, top, name);
	if (mkdir(buf, 0755) < 0)
		abort();
}

static void
write_stores(struct paths *p, const char *top, const struct certs *c)
{
	make_dir(p->hashed, sizeof p->hashed, top, "hashed");
	make_dir(p->rekeyed, sizeof p->rekeyed, top, "rekeyed");
	make_dir(p->newkey, sizeof p->newkey, top, "newkey");
	make_dir(p->current, sizeof p->current, top, "current");
	make_dir(p->empty, sizeof p->empty, top, "empty");
	write_hashed(p->hashed, c->ca.x509);
	write_hashed(p->hashed, c->root.x509);
	write_hashed(p->rekeyed, c->oldroot.x509);
	write_hashed(p->newkey, c->newroot.x509);
	write_hashed(p->current, c->current.x509);
	path_in(p->bundle, sizeof p->bundle, top, "bundle.pem");
	path_in(p->others, sizeof p->others, top, "others.pem");
	path_in(p->newroot, sizeof p->newroot, top, "newroot.pem");
	path_in(p->oldroot, sizeof p->oldroot, top, "oldroot.pem");
	path_in(p->expired, sizeof p->expired, top, "expired.pem");
	write_pem(p->bundle, (X509 *[]){ c->other.x509, c->ca.x509 }, 2);
	write_pem(p->others, &c->other.x509, 1);
	write_pem(p->newroot, &c->newroot.x509, 1);
	write_pem(p->oldroot, &c->oldroot.x509, 1);
	write_pem(p->expired, &c->expired.x509, 1);
}

/* Where the root is found, or not. */
static void
check_found(const struct paths *p, const struct certs *c, STACK_OF(X509) *sent)
{
	check_store(p->hashed, p->others, c->leaf.x509, NULL, X509_V_OK,
	    "the root in the hashed directory only: trusted");
	check_store(p->empty, p->bundle, c->leaf.x509, NULL, X509_V_OK,
	    "the root in the bundle only: trusted");
	check_store(p->hashed, p->others, c->via_inter.x509, sent, X509_V_OK,
	    "a chain through the intermediate the server sends: trusted");
	check_store(p->empty, p->others, c->via_inter.x509, sent,
	    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
	    "the same chain with its root nowhere: not trusted");
	check_store(p->empty, p->others, c->leaf.x509, NULL,
	    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
	    "neither holds the issuer: not trusted");
}

/* The bundle and the directory holding different certificates of one
 * name: the bundle's decides, as in OpenSSL's loading. */
static void
check_same_name(const struct paths *p, const struct certs *c)
{
	check_store(p->rekeyed, p->newroot, c->leaf2.x509, NULL, X509_V_OK,
	    "a root re-keyed under its old name, the new one in the bundle: trusted");
	check_store(p->newkey, p->others, c->leaf2.x509, NULL, X509_V_OK,
	    "the re-keyed root in the directory, no other of its name: trusted");
	check_store(p->newkey, p->oldroot, c->leaf2.x509, NULL,
	    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
	    "the new root in the directory, the old one in the bundle: the bundle's "
	    "hides it, not trusted");
	check_store(p->current, p->others, c->leaf3.x509, NULL, X509_V_OK,
	    "a root re-issued with its key, in the directory: trusted");
	check_store(p->current, p->expired, c->leaf3.x509, NULL, X509_V_ERR_CERT_HAS_EXPIRED,
	    "the same with its expired issue in the bundle: the bundle's decides, expired");
}

int
main(void)
{
	char top[] = "/tmp/test-tls-store.XXXXXX", cmd[700];
	struct certs c;
	struct paths p;
	STACK_OF(X509) *sent = sk_X509_new_null();

	if (mkdtemp(top) == NULL || sent == NULL)
		abort();
	make_certs(&c);
	write_stores(&p, top, &c);
	sk_X509_push(sent, c.inter.x509);
	check_found(&p, &c, sent);
	check_same_name(&p, &c);

	sk_X509_free(sent);
	free_certs(&c);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
	if (system(cmd) != 0)
		diag("could not remove %s", top);
	return done_testing();
}
