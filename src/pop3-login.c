/*
 * The POP3 login (pop3.h): USER/PASS, and SASL AUTH (RFC 5034) as the
 * wire of sasl.h's exchange.  With PIPELINING, the first command of the
 * login goes out with the CAPA asked again under TLS (pop3_stls()) when
 * the capabilities from before STLS show it will do: one round trip
 * fewer, and no secret ever sent on a guess (auth = auto only guesses
 * SCRAM, whose first message is the user and a nonce).
 */
#include <stdlib.h>

#include "pop3-private.h"
#include "sasl.h"
#include "xalloc.h"

const char *
pop3_login_mechanism(const struct pop3 *p)
{
	return p->login_mechanism;
}

static int
login_user(struct pop3 *p, const char *user, const char *password)
{
	char *cmd = xasprintf("USER %s", user);
	int rc;

	p->login_mechanism = "USER";
	rc = pop3_command(p, "USER refused", FAIL_AUTH, cmd);

	free(cmd);
	if (rc < 0)
		return -1;
	if (proto_send_secret(p->c, "PASS <password>", "PASS %s", password) < 0)
		return -1;
	return pop3_expect_ok(p, "login failed", FAIL_AUTH) == 0 ? 0 : -1;
}

/* ---- AUTH: the wire of the SASL exchange (sasl.h) ---- */

static int
auth_send(void *arg, const char *line, const char *shown)
{
	struct pop3 *p = arg;
	int rc = shown == NULL ? proto_send(p->c, "%s", line)
			       : proto_send_secret(p->c, shown, "%s", line);

	if (rc < 0)
		p->broken = true;
	return rc;
}

/* A -ERR is classified by its response code like any other ([SYS/TEMP]
 * and [IN-USE] are temporary), by default as an authentication failure;
 * the line adds what the mechanism learnt before it. */
static int
auth_refused(const struct pop3_status *st, const struct sasl_wait *w)
{
	const char *text = st->text[0] != '\0' ? st->text : "-ERR";

	if (w->go_ahead)
		return fail(pop3_error_class(st, FAIL_AUTH), "AUTH %s refused: %s%s%s", w->mech,
		    text, *w->note != '\0' ? "; " : "", w->note);
	return fail(pop3_error_class(st, FAIL_AUTH), "login failed: %s%s%s", text,
	    *w->note != '\0' ? "; " : "", w->note);
}

/* "+ " and a challenge (RFC 5034 section 4), "+OK" or "-ERR". */
static int
auth_read(void *arg, const struct sasl_wait *w, const char **challenge_r)
{
	struct pop3 *p = arg;
	struct pop3_status st;
	char *line;
	size_t len;

	if (pop3_settle_capa(p) < 0)
		return -1;
	if (proto_read_line_hiding(p->c, "+ ", w->hidden, &line, &len) < 0) {
		p->broken = true;
		return -1;
	}
	if (len >= 1 && line[0] == '+' && (len == 1 || line[1] == ' ')) {
		*challenge_r = len > 2 ? line + 2 : "";
		return 1;
	}
	if (pop3_parse_status(line, len, &st) < 0)
		return -1;
	if (st.ok && w->go_ahead)
		return fail(FAIL_PROTOCOL, "AUTH %s: +OK instead of a go-ahead", w->mech);
	return st.ok ? 0 : auth_refused(&st, w);
}

static int
login_sasl(struct pop3 *p, enum sasl_mech mech, const char *user, const char *password)
{
	struct sasl_credentials cred = { .user = user, .secret = password,
		.host = conn_peer_host(p->c), .port = conn_peer_port(p->c) };
	struct sasl_wire wire = { .command_max = POP3_COMMAND_MAX, .send = auth_send,
		.read = auth_read, .arg = p };

	if (p->broken || p->outstanding > 0)
		return fail(FAIL_PROTOCOL, "internal error: AUTH while the session is busy");
	p->login_mechanism = sasl_mech_name(mech);
	return sasl_authenticate(mech, &cred, &wire);
}

/* auth = auto: the mechanism for the capabilities known. */
static int
choose_auto(const struct pop3 *p, const char *password, enum sasl_mech *mech_r)
{
	return sasl_choose(p->caps.sasl_mechs & ~SASL_BIT(SASL_LOGIN), password, mech_r);
}

/* auth = auto: the strongest SASL mechanism offered that the password
 * can serve, else USER/PASS.  LOGIN is no POP3 method (USER/PASS does
 * its work in the protocol itself).  While the CAPA after STLS is not
 * read, the choice made from the capabilities of before STLS goes out
 * with it only when its first message carries no secret (SCRAM's: the
 * user and a nonce); should the new list not offer it, the refusal is
 * forgotten and the choice made again from the new list. */
static int
login_auto(struct pop3 *p, const char *user, const char *password)
{
	enum sasl_mech mech;
	bool guess = p->capa_due;

	if (guess && (choose_auto(p, password, &mech) < 0 || mech != SASL_SCRAM_SHA_256)) {
		guess = false;
		if (pop3_settle_capa(p) < 0)
			return -1;
	}
	if (choose_auto(p, password, &mech) < 0)
		return login_user(p, user, password);
	if (login_sasl(p, mech, user, password) == 0)
		return 0;
	if (!guess || p->broken || (p->caps.sasl_mechs & SASL_BIT(mech)))
		return -1;
	fail_clear();
	return login_auto(p, user, password);
}

static int
not_offered(enum sasl_mech mech)
{
	fail_clear();
	return fail(FAIL_PERMANENT, "the server does not offer SASL %s", sasl_mech_name(mech));
}

int
pop3_login(struct pop3 *p, enum auth_method method, const char *user,
	const char *password)
{
	enum sasl_mech mech;

	if (user == NULL || (password == NULL && auth_method_needs_secret(method)))
		return fail(FAIL_CONFIG, "POP3 needs both user and a password source");
	if (method == AUTH_AUTO)
		return login_auto(p, user, password);
	if (method == AUTH_USER)
		return login_user(p, user, password);
	if (sasl_mech_of(method, &mech) < 0)
		return fail(FAIL_CONFIG, "this auth method is not available for POP3");
	/* The method is the configuration's: it goes out with the CAPA after
	 * STLS when the server offered it before. */
	if (!(p->caps.sasl_mechs & SASL_BIT(mech)) && pop3_settle_capa(p) < 0)
		return -1;
	if (p->caps.known && !(p->caps.sasl_mechs & SASL_BIT(mech)))
		return not_offered(mech);
	if (login_sasl(p, mech, user, password) == 0)
		return 0;
	if (p->broken || !p->caps.known || (p->caps.sasl_mechs & SASL_BIT(mech)))
		return -1;
	return not_offered(mech);	/* offered before STLS only */
}
