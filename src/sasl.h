/*
 * Authentication for both protocols: the methods the `auth` key names,
 * and the one SASL client (RFC 4422) that SMTP AUTH (RFC 4954) and POP3
 * AUTH (RFC 5034) both drive.  Every mechanism is written once, here:
 * start (the initial response), step (the response to a challenge of the
 * server), done (the server said yes: does the mechanism agree?).  The
 * exchange itself (AUTH with or without the initial response, challenges
 * and responses, cancelling) is sasl_authenticate(), over the few calls a
 * protocol supplies (struct sasl_wire), so neither protocol has its own.
 *
 * One enum of methods serves SMTP and POP3: `auth` is one key, valid in
 * [defaults] for both, and "auto" and "plain" mean the same in each; a
 * protocol accepts its own subset of the names.  The protocol modules and
 * the config both build on this, so neither reaches into the other.
 *
 * Every response is a secret unless the mechanism says otherwise: it is
 * sent with a placeholder for the transcript, and wiped.
 */
#ifndef MAILPIPE_SASL_H
#define MAILPIPE_SASL_H

#include <stdbool.h>
#include <stddef.h>

enum auth_method {
	AUTH_AUTO,		/* best the server offers for a password (sasl_choose) */
	AUTH_NONE,		/* smtp only: do not authenticate */
	AUTH_LOGIN,		/* smtp */
	AUTH_PLAIN,		/* smtp and pop3 (SASL PLAIN) */
	AUTH_USER,		/* pop3 USER/PASS */
	AUTH_SCRAM_SHA_256,	/* smtp and pop3 */
	AUTH_XOAUTH2,		/* smtp and pop3: the secret is an access token */
	AUTH_OAUTHBEARER,	/* smtp and pop3: the secret is an access token */
	AUTH_EXTERNAL,		/* smtp and pop3: the TLS client certificate, no secret */
};

/* The protocols a method name may be given for; a set of bits. */
enum auth_protocol { AUTH_FOR_SMTP = 1, AUTH_FOR_POP3 = 2 };

/* The method called name (any case) if proto accepts it: 0, or -1 with
 * nothing recorded. */
int auth_method_parse(const char *name, enum auth_protocol proto, enum auth_method *method_r);
/* "expected auto, none, login, ...": what proto accepts, for the
 * error line of a name auth_method_parse() refused. */
const char *auth_method_expected(enum auth_protocol proto);

/* ---- the SASL client ---- */

/* The mechanisms we speak; a server's offer is a set of SASL_BIT()s. */
enum sasl_mech {
	SASL_PLAIN, SASL_LOGIN, SASL_SCRAM_SHA_256, SASL_XOAUTH2, SASL_OAUTHBEARER,
	SASL_EXTERNAL, SASL_MECH_COUNT
};
#define SASL_BIT(m) (1u << (m))

/* The mechanism called name (len bytes, any case): 0, or -1 (nothing
 * recorded) when we do not speak it. */
int sasl_mech_parse(const char *name, size_t len, enum sasl_mech *mech_r);
/* The mechanisms we speak among those a server lists, separated by any
 * of the characters in separators: a set of SASL_BIT()s. */
unsigned sasl_parse_offer(const char *list, const char *separators);
/* "PLAIN", as the protocols name it. */
const char *sasl_mech_name(enum sasl_mech mech);
/* The SASL mechanism an `auth` method names: 0, or -1 (nothing recorded)
 * for one that is none (auto, none, user). */
int sasl_mech_of(enum auth_method method, enum sasl_mech *mech_r);
/* Whether method logs in with a secret from the password sources (all
 * but none and external). */
bool auth_method_needs_secret(enum auth_method method);
/* auth = auto: the strongest mechanism of offered that the password
 * secret can serve, in the order SCRAM-SHA-256 (only for a printable
 * ASCII password), PLAIN, LOGIN; never an OAuth mechanism, whose secret
 * is a token, not a password.  0, or -1 (nothing recorded) when none. */
int sasl_choose(unsigned offered, const char *secret, enum sasl_mech *mech_r);

/* What a mechanism is given.  The strings are the caller's. */
struct sasl_credentials {
	const char *user;	/* the identity to log in as */
	const char *secret;	/* the password, or for OAuth the access token */
	const char *host;	/* the server, as connected to */
	unsigned port;		/* 0: not known */
};

/* One response of the client: base64 text, "" for an empty one, and what
 * the transcript shows instead (NULL: the text, which holds no secret). */
struct sasl_response {
	char *text;
	const char *shown;
};

struct sasl_client;

/* Begins mech for cred; *initial_r is the initial response (text NULL:
 * the mechanism has none and speaks second).  0, or -1 recorded
 * (FAIL_CONFIG: SCRAM with a password that is not printable ASCII). */
int sasl_start(enum sasl_mech mech, const struct sasl_credentials *cred,
	struct sasl_client **c_r, struct sasl_response *initial_r);
/* The response to the server's challenge (base64 text, len bytes): 0, or
 * -1 recorded: a challenge that is not base64, or that the mechanism
 * cannot answer (FAIL_PROTOCOL), or one that shows the server is not to be
 * trusted (FAIL_AUTH). */
int sasl_step(struct sasl_client *c, const char *challenge, size_t len, struct sasl_response *r);
/* The server said the exchange succeeded: 0 when the mechanism agrees,
 * else -1 with FAIL_AUTH recorded. */
int sasl_done(struct sasl_client *c);
/* What the mechanism learnt from the server before a refusal, for the
 * error line; "" when nothing. */
const char *sasl_refusal_note(const struct sasl_client *c);
/* Wipes and frees the text; r may be reused. */
void sasl_response_clear(struct sasl_response *r);
/* Wipes and frees the client.  NULL is allowed. */
void sasl_free(struct sasl_client *c);

/* ---- the exchange, over a protocol ---- */

/* What the protocol's reader is told about the answer it waits for. */
struct sasl_wait {
	const char *mech;	/* "PLAIN" */
	bool go_ahead;		/* the answer to AUTH sent without a response */
	const char *note;	/* sasl_refusal_note(), for a refusal's line */
	/* What the transcript shows for a challenge, which may help guess
	 * the password offline (SCRAM's server signature); NULL: itself. */
	const char *hidden;
};

/* A protocol's side of the exchange (smtp.c, pop3.c). */
struct sasl_wire {
	/* The longest command line the server takes, CRLF included: an
	 * initial response that would make AUTH longer goes on a line of its
	 * own (RFC 4954 section 4, RFC 5034 section 4). */
	size_t command_max;
	/* Sends one line; shown, when not NULL, stands for it in the
	 * transcript.  0, or -1 recorded. */
	int (*send)(void *arg, const char *line, const char *shown);
	/* Reads the server's answer: 1 and the challenge's base64 text in
	 * *challenge_r (valid until the next read), 0 for success, -1 for a
	 * refusal or failure, recorded (the protocol's class and line). */
	int (*read)(void *arg, const struct sasl_wait *w, const char **challenge_r);
	void *arg;
};

/* Authenticates with mech over w: AUTH, the initial response on its line
 * or after the go-ahead, then challenge and response until the server
 * decides, at most a few rounds.  A response the client cannot give
 * cancels the exchange ("*"), so the session stays in step for QUIT.
 * 0, or -1 with the failure recorded by the step that failed. */
int sasl_authenticate(enum sasl_mech mech, const struct sasl_credentials *cred,
	const struct sasl_wire *w);

#endif
