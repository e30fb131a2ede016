/*
 * SCRAM-SHA-256, the client's computations.  The server's first message
 * is parsed strictly (the nonce must extend ours, the salt must be
 * base64, the iteration count within bounds) because everything it says
 * feeds the key derivation: a server that could choose the nonce or an
 * endless count could replay an old exchange or burn our CPU.  The keys
 * are made by OpenSSL and live on the stack only while the proof and the
 * expected server signature are computed; then they are wiped.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "base64.h"
#include "random.h"
#include "scram.h"
#include "secret.h"
#include "status.h"
#include "xalloc.h"

/* Random bytes in our nonce: 24 give 32 characters of base64, about
 * twice the entropy RFC 5802 asks for. */
#define NONCE_BYTES 24
/* The longest salt we accept, decoded; real servers use 16 or so. */
#define SALT_MAX 256

/* How much of a server's text an error line quotes. */
static int
shown_length(size_t len)
{
	return len > 60 ? 60 : (int)len;
}

/* What the server's first message says. */
struct server_first {
	const char *nonce;	/* "r=" value, within the message */
	size_t nonce_len;
	unsigned char salt[SALT_MAX];
	size_t salt_len;
	unsigned long long iterations;
};

/* The keys derived from the password for one exchange. */
struct keys {
	unsigned char client_key[SCRAM_KEY_LENGTH];
	unsigned char stored_key[SCRAM_KEY_LENGTH];
	unsigned char server_key[SCRAM_KEY_LENGTH];
};

bool
scram_password_usable(const char *password)
{
	if (*password == '\0')
		return false;
	for (const char *p = password; *p != '\0'; p++) {
		if (*p < 0x20 || *p > 0x7e)
			return false;
	}
	return true;
}

char *
scram_saslname(const char *user)
{
	char *out = xmalloc(3 * strlen(user) + 1), *o = out;

	for (const char *u = user; *u != '\0'; u++) {
		const char *esc = *u == ',' ? "=2C" : *u == '=' ? "=3D" : NULL;

		if (esc == NULL) {
			*o++ = *u;
			continue;
		}
		memcpy(o, esc, 3);
		o += 3;
	}
	*o = '\0';
	return out;
}

char *
scram_client_first(struct scram *s, const char *user, const char *nonce)
{
	unsigned char raw[NONCE_BYTES];
	char *made = NULL, *name = scram_saslname(user), *first;

	if (nonce == NULL) {
		random_bytes(raw, sizeof raw);
		nonce = made = base64_encode(raw, sizeof raw);
	}
	free(s->client_first_bare);
	s->client_first_bare = xasprintf("n=%s,r=%s", name, nonce);
	s->nonce_length = strlen(nonce);
	s->expecting_signature = false;
	first = xasprintf("n,,%s", s->client_first_bare);
	free(made);
	free(name);
	return first;
}

/* The value of attribute name ("r") at *at, up to the next comma; *at
 * moves past it.  NULL when the attribute is not the one there. */
static const char *
attribute(const char **at, const char *end, char name, size_t *len_r)
{
	const char *p = *at, *comma;

	if (end - p < 2 || p[0] != name || p[1] != '=')
		return NULL;
	comma = memchr(p + 2, ',', (size_t)(end - p - 2));
	if (comma == NULL)
		comma = end;
	*len_r = (size_t)(comma - p - 2);
	*at = comma < end ? comma + 1 : end;
	return p + 2;
}

/* A decimal count of at most 18 digits, nothing else. */
static bool
parse_count(const char *text, size_t len, unsigned long long *n_r)
{
	*n_r = 0;
	if (len == 0 || len > 18)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		*n_r = *n_r * 10 + (unsigned long long)(text[i] - '0');
	}
	return true;
}

static int
parse_salt(struct server_first *f, const char *text, size_t len)
{
	size_t n;
	unsigned char *salt = base64_decode(text, len, &n);

	if (salt == NULL || n == 0 || n > SALT_MAX) {
		free(salt);
		return fail(FAIL_PROTOCOL, "the server's SCRAM salt is not base64 of 1 to %d bytes",
		    SALT_MAX);
	}
	memcpy(f->salt, salt, n);
	f->salt_len = n;
	free(salt);
	return 0;
}

/* Our nonce is the end of client_first_bare; the server's must begin
 * with it and add its own part. */
static int
check_nonce(const struct scram *s, const struct server_first *f)
{
	const char *ours = s->client_first_bare + strlen(s->client_first_bare) - s->nonce_length;

	if (f->nonce_len <= s->nonce_length || memcmp(f->nonce, ours, s->nonce_length) != 0)
		return fail(FAIL_PROTOCOL, "the server's SCRAM nonce does not extend ours "
		    "(a replayed or forged exchange)");
	for (size_t i = 0; i < f->nonce_len; i++) {
		if (f->nonce[i] < 0x21 || f->nonce[i] > 0x7e)
			return fail(FAIL_PROTOCOL, "the server's SCRAM nonce holds a character "
			    "RFC 5802 does not allow");
	}
	return 0;
}

static int
check_iterations(const struct server_first *f)
{
	if (f->iterations < SCRAM_ITERATIONS_MIN)
		return fail(FAIL_PROTOCOL, "the server asks for %llu SCRAM iterations, fewer than "
		    "the %d RFC 7677 requires", f->iterations, SCRAM_ITERATIONS_MIN);
	if (f->iterations > SCRAM_ITERATIONS_MAX)
		return fail(FAIL_PROTOCOL, "the server asks for %llu SCRAM iterations, more than "
		    "the %d we compute", f->iterations, SCRAM_ITERATIONS_MAX);
	return 0;
}

/* "[m=...,]r=NONCE,s=SALT,i=COUNT[,extensions]" (RFC 5802 section 7). */
static int
parse_server_first(const struct scram *s, const char *msg, size_t len, struct server_first *f)
{
	const char *at = msg, *end = msg + len, *salt, *count;
	size_t salt_len, count_len;

	if (memchr(msg, '\0', len) != NULL)
		return fail(FAIL_PROTOCOL, "the server's SCRAM message holds a NUL");
	if (len >= 2 && memcmp(msg, "m=", 2) == 0)
		return fail(FAIL_PROTOCOL, "the server requires a SCRAM extension we do not know");
	f->nonce = attribute(&at, end, 'r', &f->nonce_len);
	salt = f->nonce != NULL ? attribute(&at, end, 's', &salt_len) : NULL;
	count = salt != NULL ? attribute(&at, end, 'i', &count_len) : NULL;
	if (count == NULL || !parse_count(count, count_len, &f->iterations))
		return fail(FAIL_PROTOCOL, "the server's SCRAM message is not r=,s=,i=: \"%.*s\"",
		    shown_length(len), msg);
	if (check_nonce(s, f) < 0 || parse_salt(f, salt, salt_len) < 0)
		return -1;
	return check_iterations(f);
}

static void
hmac(const unsigned char *key, const void *data, size_t len, unsigned char *out)
{
	unsigned int out_len = SCRAM_KEY_LENGTH;

	HMAC(EVP_sha256(), key, SCRAM_KEY_LENGTH, data, len, out, &out_len);
}

/* SaltedPassword, then the client, stored and server keys (RFC 5802
 * section 3).  0, or -1 recorded when OpenSSL cannot compute them. */
static int
derive_keys(const char *password, const struct server_first *f, struct keys *k)
{
	unsigned char salted[SCRAM_KEY_LENGTH];

	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), f->salt, (int)f->salt_len,
	    (int)f->iterations, EVP_sha256(), sizeof salted, salted) != 1)
		return fail(FAIL_TEMPORARY, "OpenSSL cannot compute the SCRAM key (PBKDF2)");
	hmac(salted, "Client Key", strlen("Client Key"), k->client_key);
	hmac(salted, "Server Key", strlen("Server Key"), k->server_key);
	SHA256(k->client_key, sizeof k->client_key, k->stored_key);
	OPENSSL_cleanse(salted, sizeof salted);
	return 0;
}

/* client-first-bare "," server-first "," client-final-without-proof. */
static char *
auth_message(const struct scram *s, const char *server_first, size_t len, const char *bare_final)
{
	return xasprintf("%s,%.*s,%s", s->client_first_bare, (int)len, server_first, bare_final);
}

/* The proof (ClientKey XOR HMAC(StoredKey, AuthMessage)) as base64, and
 * the signature the server must show (HMAC(ServerKey, AuthMessage)). */
static char *
prove(struct scram *s, struct keys *k, const char *message)
{
	unsigned char signature[SCRAM_KEY_LENGTH];
	char *proof;

	hmac(k->stored_key, message, strlen(message), signature);
	for (size_t i = 0; i < SCRAM_KEY_LENGTH; i++)
		signature[i] ^= k->client_key[i];
	proof = base64_encode(signature, sizeof signature);
	hmac(k->server_key, message, strlen(message), s->server_signature);
	s->expecting_signature = true;
	OPENSSL_cleanse(signature, sizeof signature);
	return proof;
}

int
scram_client_final(struct scram *s, const char *password, const char *server_first,
	size_t len, char **final_r)
{
	struct server_first f;
	struct keys k;
	char *bare, *message, *proof;

	if (parse_server_first(s, server_first, len, &f) < 0 ||
	    derive_keys(password, &f, &k) < 0)
		return -1;
	/* "biws" is base64 of "n,,": no channel binding, no authzid. */
	bare = xasprintf("c=biws,r=%.*s", (int)f.nonce_len, f.nonce);
	message = auth_message(s, server_first, len, bare);
	proof = prove(s, &k, message);
	OPENSSL_cleanse(&k, sizeof k);
	*final_r = xasprintf("%s,p=%s", bare, proof);
	secret_wipe(proof);
	free(message);
	free(bare);
	return 0;
}

/* The signature of "v=BASE64" against the one we computed. */
static int
check_signature(const struct scram *s, const char *text, size_t len)
{
	size_t n;
	unsigned char *got = base64_decode(text, len, &n);
	bool same = got != NULL && n == SCRAM_KEY_LENGTH &&
	    CRYPTO_memcmp(got, s->server_signature, SCRAM_KEY_LENGTH) == 0;

	free(got);
	if (!same)
		return fail(FAIL_AUTH, "the server's SCRAM signature is wrong: it does not know "
		    "the password, whatever it says (a stand-in server?)");
	return 0;
}

int
scram_server_final(struct scram *s, const char *server_final, size_t len)
{
	const char *at = server_final, *end = server_final + len, *value;
	size_t value_len;

	if (!s->expecting_signature)
		return fail(FAIL_PROTOCOL, "the server ended SCRAM before our proof");
	if ((value = attribute(&at, end, 'e', &value_len)) != NULL)
		return fail(FAIL_AUTH, "the server refused the SCRAM proof: %.*s",
		    shown_length(value_len), value);
	if ((value = attribute(&at, end, 'v', &value_len)) == NULL)
		return fail(FAIL_PROTOCOL, "the server's last SCRAM message is not v= or e=: "
		    "\"%.*s\"", shown_length(len), server_final);
	return check_signature(s, value, value_len);
}

void
scram_clear(struct scram *s)
{
	free(s->client_first_bare);
	OPENSSL_cleanse(s, sizeof *s);
}
