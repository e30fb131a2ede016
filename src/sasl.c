/*
 * The SASL client: method names, the mechanisms, and the exchange that
 * drives them over either protocol.
 *
 * A mechanism works on raw bytes; the client base64-codes what goes to
 * and comes from the wire, so no mechanism sees base64.  Every raw
 * response is wiped as soon as it is encoded, and every encoding when it
 * has been sent: a credential exists only as long as the line that
 * carries it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "base64.h"
#include "oauth.h"
#include "sasl.h"
#include "scram.h"
#include "secret.h"
#include "status.h"
#include "xalloc.h"

/* Challenges answered before the exchange is given up: the longest
 * mechanism here (SCRAM) needs two, a confused or hostile server must not
 * keep us forever. */
#define SASL_ROUNDS_MAX 8

/* In the order the error lines list them. */
static const struct {
	const char *name;
	enum auth_method method;
	unsigned protocols;
} methods[] = {
	{ "auto", AUTH_AUTO, AUTH_FOR_SMTP | AUTH_FOR_POP3 },
	{ "none", AUTH_NONE, AUTH_FOR_SMTP },
	{ "login", AUTH_LOGIN, AUTH_FOR_SMTP },
	{ "user", AUTH_USER, AUTH_FOR_POP3 },
	{ "plain", AUTH_PLAIN, AUTH_FOR_SMTP | AUTH_FOR_POP3 },
	{ "scram-sha-256", AUTH_SCRAM_SHA_256, AUTH_FOR_SMTP | AUTH_FOR_POP3 },
	{ "xoauth2", AUTH_XOAUTH2, AUTH_FOR_SMTP | AUTH_FOR_POP3 },
	{ "oauthbearer", AUTH_OAUTHBEARER, AUTH_FOR_SMTP | AUTH_FOR_POP3 },
	{ "external", AUTH_EXTERNAL, AUTH_FOR_SMTP | AUTH_FOR_POP3 },
};

int
auth_method_parse(const char *name, enum auth_protocol proto, enum auth_method *method_r)
{
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		if (strcasecmp(name, methods[i].name) == 0 && (methods[i].protocols & proto)) {
			*method_r = methods[i].method;
			return 0;
		}
	}
	return -1;
}

const char *
auth_method_expected(enum auth_protocol proto)
{
	return proto == AUTH_FOR_SMTP
	    ? "expected auto, none, login, plain, scram-sha-256, xoauth2, oauthbearer or external"
	    : "expected auto, user, plain, scram-sha-256, xoauth2, oauthbearer or external";
}

bool
auth_method_needs_secret(enum auth_method method)
{
	return method != AUTH_NONE && method != AUTH_EXTERNAL;
}

/* ---- the mechanisms ---- */

/* Raw bytes a mechanism hands over, on the heap, wiped when released. */
struct bytes {
	unsigned char *p;
	size_t n;
};

struct sasl_client {
	const struct mechanism *mech;
	const struct sasl_credentials *cred;
	unsigned steps;		/* challenges answered so far */
	const char *shown;	/* the transcript's stand-in for the response */
	char note[256];		/* sasl_refusal_note() */
	struct scram scram;	/* SCRAM's state */
	bool proven;		/* SCRAM: the server's signature was right */
	const char *hidden;	/* sasl_wait's hidden for the next challenge */
};

struct mechanism {
	const char *name;
	enum sasl_mech id;
	/* The initial response: 1, 0 when the mechanism has none, -1
	 * recorded when it cannot begin. */
	int (*initial)(struct sasl_client *c, struct bytes *out);
	/* The response to a challenge; -1 recorded when there is none. */
	int (*step)(struct sasl_client *c, const struct bytes *challenge, struct bytes *out);
	/* The server said yes: 0 when the mechanism agrees, -1 recorded. */
	int (*done)(struct sasl_client *c);
};

static void
bytes_clear(struct bytes *b)
{
	if (b->p != NULL)
		OPENSSL_cleanse(b->p, b->n);
	free(b->p);
	*b = (struct bytes){ 0 };
}

/* The concatenation of count strings, with a NUL after it: the raw form
 * of most responses.  Copied by hand, not printed: a printf of a secret
 * leaves copies in buffers of the C library that nobody wipes. */
static void
bytes_join(struct bytes *out, const char *const *parts, size_t count)
{
	size_t at = 0;

	out->n = 0;
	for (size_t i = 0; i < count; i++)
		out->n += strlen(parts[i]);
	out->p = xmalloc(out->n + 1);
	for (size_t i = 0; i < count; i++) {
		memcpy(out->p + at, parts[i], strlen(parts[i]));
		at += strlen(parts[i]);
	}
	out->p[at] = '\0';
}

/* The same as a string. */
static char *
join(const char *const *parts, size_t count)
{
	struct bytes b;

	bytes_join(&b, parts, count);
	return (char *)b.p;
}

/* A string (a secret) taken over as the raw response. */
static void
bytes_take(struct bytes *out, char *text)
{
	out->p = (unsigned char *)text;
	out->n = strlen(text);
}

/* RFC 4616: authzid (empty), NUL, authcid, NUL, password. */
static int
plain_initial(struct sasl_client *c, struct bytes *out)
{
	size_t ulen = strlen(c->cred->user), plen = strlen(c->cred->secret);

	out->n = ulen + plen + 2;
	out->p = xmalloc(out->n);
	out->p[0] = '\0';
	memcpy(out->p + 1, c->cred->user, ulen);
	out->p[1 + ulen] = '\0';
	memcpy(out->p + 2 + ulen, c->cred->secret, plen);
	c->shown = "<credentials>";
	return 1;
}

static int
plain_step(struct sasl_client *c, const struct bytes *challenge, struct bytes *out)
{
	(void)challenge, (void)out;
	return fail(FAIL_PROTOCOL, "the server asked for more after the %s credentials",
	    c->mech->name);
}

static int
no_initial(struct sasl_client *c, struct bytes *out)
{
	(void)c, (void)out;
	return 0;
}

static int
agreed(struct sasl_client *c)
{
	(void)c;
	return 0;
}

/* The LOGIN convention: the user name, then the password, each asked
 * for by a prompt whose wording does not matter. */
static int
login_step(struct sasl_client *c, const struct bytes *challenge, struct bytes *out)
{
	const char *answer = c->steps == 0 ? c->cred->user : c->cred->secret;

	(void)challenge;
	if (c->steps > 1)
		return plain_step(c, challenge, out);
	bytes_join(out, &answer, 1);
	c->shown = c->steps == 0 ? "<user>" : "<password>";
	return 0;
}

/* SCRAM-SHA-256 (scram.h): the client-first message, which holds no
 * secret but the user name; a password SCRAM cannot use as it is ends
 * the run before anything is sent. */
static int
scram_initial(struct sasl_client *c, struct bytes *out)
{
	if (!scram_password_usable(c->cred->secret))
		return fail(FAIL_CONFIG, "SCRAM-SHA-256 needs a password of printable ASCII here "
		    "(use auth = plain over TLS for this one)");
	bytes_take(out, scram_client_first(&c->scram, c->cred->user, NULL));
	c->shown = "<user and nonce>";
	return 1;
}

/* The proof for the server's first message, then the check of its
 * signature, answered with an empty response. */
static int
scram_step(struct sasl_client *c, const struct bytes *challenge, struct bytes *out)
{
	char *final;

	if (c->steps == 0) {
		if (scram_client_final(&c->scram, c->cred->secret, (const char *)challenge->p,
		    challenge->n, &final) < 0)
			return -1;
		bytes_take(out, final);
		c->shown = "<proof>";
		c->hidden = "<server signature>";
		return 0;
	}
	if (c->steps > 1)
		return plain_step(c, challenge, out);
	if (scram_server_final(&c->scram, (const char *)challenge->p, challenge->n) < 0)
		return -1;
	c->proven = true;
	bytes_take(out, xstrdup(""));
	c->shown = NULL;
	return 0;
}

/* A yes without the server's signature proves nothing. */
static int
scram_done(struct sasl_client *c)
{
	if (!c->proven)
		return fail(FAIL_AUTH, "the server accepted SCRAM-SHA-256 without proving that it "
		    "knows the password (a stand-in server?)");
	return 0;
}

static int
xoauth2_initial(struct sasl_client *c, struct bytes *out)
{
	bytes_take(out, oauth_xoauth2(c->cred->user, c->cred->secret));
	c->shown = "<user and token>";
	return 1;
}

static int
oauthbearer_initial(struct sasl_client *c, struct bytes *out)
{
	bytes_take(out, oauth_bearer(c->cred->user, c->cred->host, c->cred->port,
	    c->cred->secret));
	c->shown = "<user and token>";
	return 1;
}

/* The server refuses the token with a JSON error as a challenge (RFC
 * 7628 section 3.2.2); it is noted for the error line and answered so
 * that the server can send its final refusal: OAUTHBEARER with the
 * dummy ^A of RFC 7628, XOAUTH2 with the empty response its providers
 * document. */
static int
oauth_step(struct sasl_client *c, const struct bytes *challenge, struct bytes *out)
{
	if (c->steps > 0)
		return plain_step(c, challenge, out);
	oauth_error_note((const char *)challenge->p, challenge->n, c->note, sizeof c->note);
	bytes_take(out, xstrdup(c->mech->id == SASL_OAUTHBEARER ? "\001" : ""));
	c->shown = NULL;
	return 0;
}

/* SASL EXTERNAL (RFC 4422 appendix A): the identity is the TLS client
 * certificate's; the response is the empty authorization identity, so
 * the server logs in whom the certificate names. */
static int
external_initial(struct sasl_client *c, struct bytes *out)
{
	(void)c;
	bytes_take(out, xstrdup(""));
	return 1;
}

static const struct mechanism mechanisms[SASL_MECH_COUNT] = {
	{ "PLAIN", SASL_PLAIN, plain_initial, plain_step, agreed },
	{ "LOGIN", SASL_LOGIN, no_initial, login_step, agreed },
	{ "SCRAM-SHA-256", SASL_SCRAM_SHA_256, scram_initial, scram_step, scram_done },
	{ "XOAUTH2", SASL_XOAUTH2, xoauth2_initial, oauth_step, agreed },
	{ "OAUTHBEARER", SASL_OAUTHBEARER, oauthbearer_initial, oauth_step, agreed },
	{ "EXTERNAL", SASL_EXTERNAL, external_initial, plain_step, agreed },
};

int
sasl_mech_parse(const char *name, size_t len, enum sasl_mech *mech_r)
{
	for (size_t i = 0; i < SASL_MECH_COUNT; i++) {
		if (strlen(mechanisms[i].name) == len &&
		    strncasecmp(name, mechanisms[i].name, len) == 0) {
			*mech_r = mechanisms[i].id;
			return 0;
		}
	}
	return -1;
}

unsigned
sasl_parse_offer(const char *list, const char *separators)
{
	unsigned offered = 0;

	for (const char *m = list; *m != '\0'; ) {
		size_t len = strcspn(m, separators);
		enum sasl_mech mech;

		if (len > 0 && sasl_mech_parse(m, len, &mech) == 0)
			offered |= SASL_BIT(mech);
		m += len + (m[len] != '\0');
	}
	return offered;
}

const char *
sasl_mech_name(enum sasl_mech mech)
{
	return mechanisms[mech].name;
}

int
sasl_mech_of(enum auth_method method, enum sasl_mech *mech_r)
{
	static const struct { enum auth_method method; enum sasl_mech mech; } named[] = {
		{ AUTH_PLAIN, SASL_PLAIN }, { AUTH_LOGIN, SASL_LOGIN },
		{ AUTH_SCRAM_SHA_256, SASL_SCRAM_SHA_256 }, { AUTH_XOAUTH2, SASL_XOAUTH2 },
		{ AUTH_OAUTHBEARER, SASL_OAUTHBEARER }, { AUTH_EXTERNAL, SASL_EXTERNAL },
	};

	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
		if (named[i].method == method) {
			*mech_r = named[i].mech;
			return 0;
		}
	}
	return -1;
}

int
sasl_choose(unsigned offered, const char *secret, enum sasl_mech *mech_r)
{
	static const enum sasl_mech strongest_first[] = { SASL_SCRAM_SHA_256, SASL_PLAIN,
		SASL_LOGIN };

	if (!scram_password_usable(secret))
		offered &= ~SASL_BIT(SASL_SCRAM_SHA_256);
	for (size_t i = 0; i < sizeof strongest_first / sizeof strongest_first[0]; i++) {
		if (offered & SASL_BIT(strongest_first[i])) {
			*mech_r = strongest_first[i];
			return 0;
		}
	}
	return -1;
}

/* ---- the client ---- */

/* Encodes raw into r and wipes it. */
static void
respond(struct sasl_client *c, struct bytes *raw, struct sasl_response *r)
{
	r->text = base64_encode(raw->p, raw->n);
	r->shown = c->shown;
	bytes_clear(raw);
}

int
sasl_start(enum sasl_mech mech, const struct sasl_credentials *cred,
	struct sasl_client **c_r, struct sasl_response *initial_r)
{
	struct sasl_client *c = xcalloc(1, sizeof *c);
	struct bytes raw = { 0 };
	int rc;

	c->mech = &mechanisms[mech];
	c->cred = cred;
	*initial_r = (struct sasl_response){ 0 };
	*c_r = c;
	rc = c->mech->initial(c, &raw);
	if (rc > 0)
		respond(c, &raw, initial_r);
	return rc < 0 ? -1 : 0;
}

int
sasl_step(struct sasl_client *c, const char *challenge, size_t len, struct sasl_response *r)
{
	struct bytes in = { 0 }, out = { 0 };
	int rc;

	in.p = base64_decode(challenge, len, &in.n);
	if (in.p == NULL)
		return fail(FAIL_PROTOCOL, "the server's %s challenge is not base64: \"%.40s\"",
		    c->mech->name, challenge);
	rc = c->mech->step(c, &in, &out);
	bytes_clear(&in);
	if (rc < 0)
		return -1;
	c->steps++;
	respond(c, &out, r);
	return 0;
}

int
sasl_done(struct sasl_client *c)
{
	return c->mech->done(c);
}

const char *
sasl_refusal_note(const struct sasl_client *c)
{
	return c->note;
}

void
sasl_response_clear(struct sasl_response *r)
{
	secret_wipe(r->text);
	*r = (struct sasl_response){ 0 };
}

void
sasl_free(struct sasl_client *c)
{
	if (c == NULL)
		return;
	scram_clear(&c->scram);
	OPENSSL_cleanse(c, sizeof *c);
	free(c);
}

/* ---- the exchange ---- */

/* "AUTH MECH" with the initial response when it fits the command line
 * ("=" for an empty one, RFC 4954 and RFC 5034), else without; *sent_r
 * says whether it went. */
static int
send_auth(const struct sasl_wire *w, const char *mech, const struct sasl_response *initial,
	bool *sent_r)
{
	size_t bare = strlen("AUTH ") + strlen(mech);
	char *line, *shown = NULL;
	int rc;

	*sent_r = initial->text != NULL &&
	    bare + 1 + (*initial->text != '\0' ? strlen(initial->text) : 1) + 2 <= w->command_max;
	if (!*sent_r) {
		line = xasprintf("AUTH %s", mech);
	} else {
		const char *parts[] = { "AUTH ", mech, " ",
			*initial->text != '\0' ? initial->text : "=" };

		line = join(parts, 4);
		if (initial->shown != NULL)
			shown = xasprintf("AUTH %s %s", mech, initial->shown);
	}
	rc = w->send(w->arg, line, shown);
	secret_wipe(line);
	free(shown);
	return rc;
}

/* Gives up the exchange in a way the server understands ("*", RFC 4954
 * and RFC 5034), so a QUIT can still follow; the failure that made us
 * give up stays the one recorded. */
static int
cancel(const struct sasl_wire *w, const char *mech)
{
	struct sasl_wait wait = { .mech = mech, .note = "" };
	struct failure_record saved;
	const char *challenge;

	fail_save(&saved);
	if (w->send(w->arg, "*", NULL) == 0)
		w->read(w->arg, &wait, &challenge);
	fail_restore(&saved);
	return -1;
}

/* The answer to a challenge: the initial response still owed after a
 * bare AUTH, else the mechanism's step. */
static int
answer(struct sasl_client *c, const char *challenge, struct sasl_response *owed,
	struct sasl_response *r)
{
	if (owed->text == NULL)
		return sasl_step(c, challenge, strlen(challenge), r);
	*r = *owed;
	*owed = (struct sasl_response){ 0 };
	return 0;
}

static int
exchange(struct sasl_client *c, const struct sasl_wire *w, struct sasl_wait *wait,
	struct sasl_response *owed)
{
	for (unsigned round = 0; round < SASL_ROUNDS_MAX; round++) {
		struct sasl_response r = { 0 };
		const char *challenge;
		int rc;

		wait->note = sasl_refusal_note(c);
		wait->hidden = c->hidden;
		rc = w->read(w->arg, wait, &challenge);
		wait->go_ahead = false;
		if (rc <= 0)
			return rc < 0 ? -1 : sasl_done(c);
		if (answer(c, challenge, owed, &r) < 0)
			return cancel(w, wait->mech);
		rc = w->send(w->arg, r.text, r.shown);
		sasl_response_clear(&r);
		if (rc < 0)
			return -1;
	}
	fail(FAIL_PROTOCOL, "the server went on with %s challenges after %d rounds", wait->mech,
	    SASL_ROUNDS_MAX);
	return cancel(w, wait->mech);
}

int
sasl_authenticate(enum sasl_mech mech, const struct sasl_credentials *cred,
	const struct sasl_wire *w)
{
	struct sasl_wait wait = { .mech = sasl_mech_name(mech) };
	struct sasl_response initial;
	struct sasl_client *c;
	bool sent = false;
	int rc;

	if (sasl_start(mech, cred, &c, &initial) < 0) {
		sasl_free(c);
		return -1;
	}
	rc = send_auth(w, wait.mech, &initial, &sent);
	if (sent)
		sasl_response_clear(&initial);
	wait.go_ahead = !sent;
	if (rc == 0)
		rc = exchange(c, w, &wait, &initial);
	sasl_response_clear(&initial);
	sasl_free(c);
	return rc;
}
