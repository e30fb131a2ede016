/*
 * SCRAM-SHA-256 (RFC 5802, RFC 7677), the client's side, as pure
 * functions over the three messages: what to send first, the answer to
 * the server's first message, and the check of its last, which proves
 * that the server knows the password (or a key made from it) and is not
 * a stand-in that only collects attempts.  The cryptography is OpenSSL's
 * (PBKDF2, HMAC, SHA-256, the random nonce); every key made from the
 * password is wiped as soon as the proof and the expected signature are
 * computed.  No channel binding: the GS2 header is "n,,".
 *
 * Passwords are used as they are: SASLprep (RFC 4013) leaves printable
 * ASCII unchanged, and scram_password_usable() says whether a password
 * is that; anything else the caller refuses rather than guess.
 */
#ifndef MAILPIPE_SCRAM_H
#define MAILPIPE_SCRAM_H

#include <stdbool.h>
#include <stddef.h>

#define SCRAM_KEY_LENGTH 32		/* SHA-256 */
/* RFC 7677 section 4: at least 4096 iterations.  A server asking for
 * far more would have us burn the CPU of a small machine for minutes;
 * a million take a fraction of a second on a PC, seconds on a board. */
#define SCRAM_ITERATIONS_MIN 4096
#define SCRAM_ITERATIONS_MAX 1000000

/* One exchange; zeroed to begin, scram_clear() to end. */
struct scram {
	char *client_first_bare;	/* "n=user,r=nonce" */
	size_t nonce_length;		/* of the client's nonce, which ends it */
	unsigned char server_signature[SCRAM_KEY_LENGTH];
	bool expecting_signature;	/* scram_client_final() computed it */
};

/* The user name as a saslname (RFC 5802 section 5.1, the GS2 header of
 * RFC 5801 too): ',' and '=' escaped as =2C and =3D.  A new string. */
char *scram_saslname(const char *user);
/* True when password is printable ASCII, which SCRAM can use as it is. */
bool scram_password_usable(const char *password);
/* The client-first message, "n,,n=USER,r=NONCE": a new string.  nonce
 * NULL makes a random one (random.h); tests give RFC 7677's. */
char *scram_client_first(struct scram *s, const char *user, const char *nonce);
/* The client-final message for the server-first message (len bytes), a
 * new string holding the proof (a secret: secret_wipe()).  FAIL_PROTOCOL
 * for a malformed message, a nonce that does not extend ours, an
 * iteration count out of [SCRAM_ITERATIONS_MIN, SCRAM_ITERATIONS_MAX],
 * an extension we do not know marked mandatory. */
int scram_client_final(struct scram *s, const char *password, const char *server_first,
	size_t len, char **final_r);
/* Checks the server-final message: "v=" and the signature we expect (0),
 * "e=" and the server's reason (FAIL_AUTH), a wrong signature (FAIL_AUTH:
 * the server does not know the password), anything else FAIL_PROTOCOL.
 * The comparison takes the same time wherever the signatures differ. */
int scram_server_final(struct scram *s, const char *server_final, size_t len);
/* Wipes and frees what s holds; s may begin again. */
void scram_clear(struct scram *s);

#endif
