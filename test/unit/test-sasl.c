/*
 * sasl.c and base64.c: the mechanisms' responses byte for byte, the
 * strict base64 reader, the parsing of a server's offer, and the exchange
 * (sasl_authenticate) over a scripted wire that plays the server: the
 * initial response on the AUTH line or after the go-ahead, challenges,
 * refusals, cancelling, and what the transcript is shown for each line.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "oauth.h"
#include "sasl.h"
#include "status.h"
#include "tap.h"

/* ---- a scripted server ---- */

/* Steps: "C:line" the client must send (shown: "C:line|shown", or a
 * prefix of it: "C:text*"),
 * "S+text" a challenge, "S." success, "S-" a refusal. */
struct script {
	const char *const *steps;
	size_t at;
	char problem[300];
	char last_note[300];
};

static const char *
next_step(struct script *sc, char kind)
{
	const char *step = sc->steps[sc->at];

	if (step == NULL || step[0] != kind) {
		if (sc->problem[0] == '\0')
			snprintf(sc->problem, sizeof sc->problem, "step %zu: wanted %c..., script has %s",
			    sc->at, kind, step != NULL ? step : "(end)");
		return NULL;
	}
	sc->at++;
	return step + 1;
}

static int
script_send(void *arg, const char *line, const char *shown)
{
	struct script *sc = arg;
	const char *want = next_step(sc, 'C');
	char got[2048];

	snprintf(got, sizeof got, ":%s%s%s", line, shown != NULL ? "|" : "",
	    shown != NULL ? shown : "");
	if (want == NULL)
		return fail(FAIL_TEMPORARY, "unexpected line");
	/* "C:text*" : a line that begins with text (a random nonce follows). */
	if (want[strlen(want) - 1] == '*' && strncmp(want, got, strlen(want) - 1) == 0)
		return 0;
	if (strcmp(want, got) != 0 && sc->problem[0] == '\0')
		snprintf(sc->problem, sizeof sc->problem, "sent \"%.120s\", wanted \"%.120s\"", got,
		    want);
	return 0;
}

static int
script_read(void *arg, const struct sasl_wait *w, const char **challenge_r)
{
	struct script *sc = arg;
	const char *step = next_step(sc, 'S');

	snprintf(sc->last_note, sizeof sc->last_note, "%s%s", w->go_ahead ? "go-ahead " : "",
	    w->note);
	if (step == NULL)
		return fail(FAIL_TEMPORARY, "connection closed by the server");
	if (step[0] == '+') {
		*challenge_r = step + 1;
		return 1;
	}
	if (step[0] == '.')
		return 0;
	return fail(FAIL_AUTH, "authentication failed");
}

static const struct sasl_credentials alice = { .user = "alice", .secret = "secret",
	.host = "mail.example", .port = 587 };

/* Runs mech against the script; true when the script was followed to
 * its end; *rc_r the result. */
static bool
play(enum sasl_mech mech, const struct sasl_credentials *cred, size_t command_max,
	const char *const *steps, int *rc_r, struct script *sc)
{
	struct sasl_wire w = { .command_max = command_max, .send = script_send,
		.read = script_read, .arg = sc };

	memset(sc, 0, sizeof *sc);
	sc->steps = steps;
	fail_clear();
	*rc_r = sasl_authenticate(mech, cred, &w);
	if (sc->problem[0] == '\0' && steps[sc->at] != NULL)
		snprintf(sc->problem, sizeof sc->problem, "script left at step %zu: %s", sc->at,
		    steps[sc->at]);
	if (sc->problem[0] != '\0')
		diag("%s", sc->problem);
	return sc->problem[0] == '\0';
}

/* ---- base64 ---- */

static void
test_base64(void)
{
	static const struct { const char *text; const char *bytes; int n; } good[] = {
		{ "", "", 0 }, { "AA==", "\0", 1 }, { "YWI=", "ab", 2 }, { "YWJj", "abc", 3 },
		{ "AGFsaWNlAHNlY3JldA==", "\0alice\0secret", 13 },
	};
	static const char *const bad[] = { "A", "AA=", "A===", "=AAA", "AA=A", "YW I", "YWJj\n",
		"YWJj ", " YWJ", "YW-j", "YWJj====", "Y\0Jj" };
	size_t n;
	unsigned char *out;
	char *text;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		out = base64_decode(good[i].text, strlen(good[i].text), &n);
		ok(out != NULL && n == (size_t)good[i].n && memcmp(out, good[i].bytes, n) == 0 &&
		    out[n] == '\0', "base64 \"%s\" decodes to %d bytes", good[i].text, good[i].n);
		free(out);
		text = base64_encode(good[i].bytes, (size_t)good[i].n);
		is_str(text, good[i].text, "and %d bytes encode to \"%s\"", good[i].n, good[i].text);
		free(text);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t len = i == sizeof bad / sizeof bad[0] - 1 ? 4 : strlen(bad[i]);

		out = base64_decode(bad[i], len, &n);
		ok(out == NULL, "not base64: \"%s\"", bad[i]);
		free(out);
	}
}

/* ---- the offer ---- */

static void
test_offer(void)
{
	const unsigned both = SASL_BIT(SASL_PLAIN) | SASL_BIT(SASL_LOGIN);
	enum sasl_mech m;

	is_int(sasl_parse_offer(" PLAIN LOGIN", " "), both, "\" PLAIN LOGIN\"");
	is_int(sasl_parse_offer("=login plain", " ="), both, "\"=login plain\", any case");
	is_int(sasl_parse_offer(" PLAINX XLOGIN CRAM-MD5", " "), 0, "look-alikes and others: none");
	is_int(sasl_parse_offer("", " "), 0, "an empty offer");
	is_int(sasl_parse_offer("  PLAIN  ", " "), SASL_BIT(SASL_PLAIN), "extra spaces");
	ok(sasl_mech_parse("Plain", 5, &m) == 0 && m == SASL_PLAIN, "Plain is PLAIN");
	ok(sasl_mech_parse("PLAINS", 5, &m) == 0 && m == SASL_PLAIN, "by length: PLAIN of PLAINS");
	ok(sasl_mech_parse("PLAINS", 6, &m) < 0, "PLAINS is none");
	ok(sasl_choose(both, "pw", &m) == 0 && m == SASL_PLAIN, "auto: PLAIN before LOGIN");
	ok(sasl_choose(SASL_BIT(SASL_LOGIN), "pw", &m) == 0 && m == SASL_LOGIN, "auto: LOGIN alone");
	ok(sasl_choose(0, "pw", &m) < 0, "auto: nothing offered, nothing chosen");
	ok(sasl_mech_of(AUTH_LOGIN, &m) == 0 && m == SASL_LOGIN, "auth = login is LOGIN");
	ok(sasl_mech_of(AUTH_OAUTHBEARER, &m) == 0 && m == SASL_OAUTHBEARER,
	    "auth = oauthbearer is OAUTHBEARER");
	is_int(sasl_parse_offer("SCRAM-SHA-256-PLUS SCRAM-SHA-256 XOAUTH2 OAUTHBEARER", " "),
	    SASL_BIT(SASL_SCRAM_SHA_256) | SASL_BIT(SASL_XOAUTH2) | SASL_BIT(SASL_OAUTHBEARER),
	    "SCRAM and OAuth offered; -PLUS is another mechanism");
}

/* auth = auto: SCRAM first when the password can serve it, and never an
 * OAuth mechanism (the secret would be a password, not a token). */
static void
test_choose(void)
{
	const unsigned all = (1u << SASL_MECH_COUNT) - 1;
	const unsigned oauth = SASL_BIT(SASL_XOAUTH2) | SASL_BIT(SASL_OAUTHBEARER);
	enum sasl_mech m;

	ok(sasl_choose(all, "pw", &m) == 0 && m == SASL_SCRAM_SHA_256, "auto: SCRAM first");
	ok(sasl_choose(all, "p\xc3\xa4ss", &m) == 0 && m == SASL_PLAIN,
	    "auto: PLAIN for a password SCRAM cannot use");
	ok(sasl_choose(oauth, "pw", &m) < 0, "auto: never an OAuth mechanism");
	ok(sasl_choose(oauth | SASL_BIT(SASL_LOGIN), "pw", &m) == 0 && m == SASL_LOGIN,
	    "auto: LOGIN rather than OAuth");
	ok(sasl_mech_of(AUTH_USER, &m) < 0 && sasl_mech_of(AUTH_AUTO, &m) < 0,
	    "auth = user and auto name no mechanism");
}

/* ---- the exchange ---- */

static void
test_plain(void)
{
	static const char *const one_line[] = {
		"C:AUTH PLAIN AGFsaWNlAHNlY3JldA==|AUTH PLAIN <credentials>", "S.", NULL };
	static const char *const two_steps[] = { "C:AUTH PLAIN", "S+",
		"C:AGFsaWNlAHNlY3JldA==|<credentials>", "S.", NULL };
	static const char *const refused[] = {
		"C:AUTH PLAIN AGFsaWNlAHNlY3JldA==|AUTH PLAIN <credentials>", "S-", NULL };
	static const char *const more[] = {
		"C:AUTH PLAIN AGFsaWNlAHNlY3JldA==|AUTH PLAIN <credentials>", "S+", "C:*", "S-", NULL };
	struct script sc;
	int rc;

	ok(play(SASL_PLAIN, &alice, 512, one_line, &rc, &sc) && rc == 0,
	    "PLAIN: the credentials on the AUTH line, shown as <credentials>");
	/* "AUTH PLAIN " + 20 + CRLF is 33 octets. */
	ok(play(SASL_PLAIN, &alice, 33, one_line, &rc, &sc) && rc == 0,
	    "PLAIN: a line of exactly the limit is still one line");
	ok(play(SASL_PLAIN, &alice, 32, two_steps, &rc, &sc) && rc == 0 &&
	    strcmp(sc.last_note, "") == 0, "PLAIN: one octet over, after the go-ahead");
	ok(play(SASL_PLAIN, &alice, 512, refused, &rc, &sc) && rc < 0 && fail_class() == FAIL_AUTH,
	    "PLAIN refused: the wire's failure");
	ok(play(SASL_PLAIN, &alice, 512, more, &rc, &sc) && rc < 0 &&
	    fail_class() == FAIL_PROTOCOL, "PLAIN challenged again: cancelled, FAIL_PROTOCOL (%s)",
	    fail_reason());
}

static void
test_login(void)
{
	static const char *const good[] = { "C:AUTH LOGIN", "S+VXNlcm5hbWU6",
		"C:YWxpY2U=|<user>", "S+UGFzc3dvcmQ6", "C:c2VjcmV0|<password>", "S.", NULL };
	static const char *const third[] = { "C:AUTH LOGIN", "S+VXNlcm5hbWU6",
		"C:YWxpY2U=|<user>", "S+UGFzc3dvcmQ6", "C:c2VjcmV0|<password>", "S+", "C:*",
		"S-", NULL };
	static const char *const not_base64[] = { "C:AUTH LOGIN", "S+Username:", "C:*", "S-",
		NULL };
	struct script sc;
	int rc;

	ok(play(SASL_LOGIN, &alice, 512, good, &rc, &sc) && rc == 0,
	    "LOGIN: user then password, each shown by a placeholder");
	ok(play(SASL_LOGIN, &alice, 512, third, &rc, &sc) && rc < 0 &&
	    fail_class() == FAIL_PROTOCOL, "LOGIN: a third prompt is cancelled (%s)",
	    fail_reason());
	ok(play(SASL_LOGIN, &alice, 512, not_base64, &rc, &sc) && rc < 0 &&
	    fail_class() == FAIL_PROTOCOL && strstr(fail_reason(), "not base64") != NULL,
	    "a challenge that is not base64: cancelled, FAIL_PROTOCOL (%s)", fail_reason());
}

/* The wire is told when it reads the answer to a bare AUTH. */
static void
test_go_ahead(void)
{
	static const char *const refused[] = { "C:AUTH PLAIN", "S-", NULL };
	struct script sc;
	int rc;

	ok(play(SASL_PLAIN, &alice, 20, refused, &rc, &sc) && rc < 0 &&
	    strcmp(sc.last_note, "go-ahead ") == 0, "the answer to a bare AUTH is the go-ahead");
}

static const struct sasl_credentials alice_token = { .user = "alice", .secret = "secret",
	.host = "mail.example", .port = 587 };

/* The exact strings of both OAuth mechanisms, in one step and in two. */
static void
test_oauth(void)
{
	static const char *const xoauth2[] = { "C:AUTH XOAUTH2 "
		"dXNlcj1hbGljZQFhdXRoPUJlYXJlciBzZWNyZXQBAQ==|AUTH XOAUTH2 <user and token>",
		"S.", NULL };
	static const char *const xoauth2_two[] = { "C:AUTH XOAUTH2", "S+",
		"C:dXNlcj1hbGljZQFhdXRoPUJlYXJlciBzZWNyZXQBAQ==|<user and token>", "S.", NULL };
	static const char *const bearer[] = { "C:AUTH OAUTHBEARER "
		"bixhPWFsaWNlLAFob3N0PW1haWwuZXhhbXBsZQFwb3J0PTU4NwFhdXRoPUJlYXJlciBzZWNyZXQBAQ==|"
		"AUTH OAUTHBEARER <user and token>", "S.", NULL };
	static const char *const bearer_two[] = { "C:AUTH OAUTHBEARER", "S+", "C:"
		"bixhPWFsaWNlLAFob3N0PW1haWwuZXhhbXBsZQFwb3J0PTU4NwFhdXRoPUJlYXJlciBzZWNyZXQBAQ==|"
		"<user and token>", "S.", NULL };
	struct script sc;
	int rc;

	ok(play(SASL_XOAUTH2, &alice_token, 512, xoauth2, &rc, &sc) && rc == 0,
	    "XOAUTH2: user=alice^Aauth=Bearer secret^A^A on the AUTH line, redacted");
	ok(play(SASL_XOAUTH2, &alice_token, 40, xoauth2_two, &rc, &sc) && rc == 0,
	    "XOAUTH2: two steps when the line would be too long");
	ok(play(SASL_OAUTHBEARER, &alice_token, 512, bearer, &rc, &sc) && rc == 0,
	    "OAUTHBEARER: n,a=alice,^Ahost=...^Aport=587^Aauth=Bearer secret^A^A, redacted");
	ok(play(SASL_OAUTHBEARER, &alice_token, 40, bearer_two, &rc, &sc) && rc == 0,
	    "OAUTHBEARER: two steps when the line would be too long");
}

/* RFC 7628 section 3.2.2: the error as a challenge, the dummy response,
 * the refusal, and the error's status and scope in the refusal's line. */
static void
test_oauth_error(void)
{
	static const char *const bearer[] = { "C:AUTH OAUTHBEARER *",
		"S+eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZXhh"
		"bXBsZS8gcG9wIn0=", "C:AQ==", "S-", NULL };
	static const char *const xoauth2[] = { "C:AUTH XOAUTH2 *",
		"S+eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZXhh"
		"bXBsZS8gcG9wIn0=", "C:", "S-", NULL };
	struct script sc;
	int rc;

	ok(play(SASL_OAUTHBEARER, &alice_token, 512, bearer, &rc, &sc) && rc < 0 &&
	    fail_class() == FAIL_AUTH &&
	    strcmp(sc.last_note, "status 401, scope https://mail.example/ pop") == 0,
	    "OAUTHBEARER error: ^A answered, refusal noted with status and scope (%s)",
	    sc.last_note);
	ok(play(SASL_XOAUTH2, &alice_token, 512, xoauth2, &rc, &sc) && rc < 0 &&
	    fail_class() == FAIL_AUTH && strstr(sc.last_note, "status 401") != NULL,
	    "XOAUTH2 error: the empty response, refusal noted (%s)", sc.last_note);
}

/* The error note from every prefix of a JSON error, each in a buffer of
 * its exact length: what it shows is never more than is there. */
static void
test_oauth_error_prefixes(void)
{
	static const char json[] = "{\"status\":\"invalid_token\",\"scope\":\"a b\"}";
	size_t len = strlen(json);
	int sane = 0;

	for (size_t n = 0; n <= len; n++) {
		char *cut = malloc(n + 1), note[256];

		memcpy(cut, json, n);
		oauth_error_note(cut, n, note, sizeof note);
		sane += strlen(note) <= n;
		free(cut);
	}
	is_int(sane, (int)len + 1, "error note of every prefix within its bytes");
	{
		char note[256];

		oauth_error_note(json, len, note, sizeof note);
		is_str(note, "status invalid_token, scope a b", "the whole error");
		oauth_error_note("{\"status\": 400}", 15, note, sizeof note);
		is_str(note, "status 400", "a bare number, no scope");
		oauth_error_note("{}", 2, note, sizeof note);
		is_str(note, "", "neither field");
	}
}

/* EXTERNAL: the empty authorization identity ("=" on the AUTH line, an
 * empty line after a go-ahead), no secret, nothing redacted. */
static void
test_external(void)
{
	static const char *const one_line[] = { "C:AUTH EXTERNAL =", "S.", NULL };
	static const char *const two_steps[] = { "C:AUTH EXTERNAL", "S+", "C:", "S.", NULL };
	static const struct sasl_credentials nobody = { .user = NULL, .secret = NULL };
	struct script sc;
	int rc;
	enum sasl_mech m;

	ok(play(SASL_EXTERNAL, &nobody, 512, one_line, &rc, &sc) && rc == 0,
	    "EXTERNAL: AUTH EXTERNAL =, without user or secret");
	ok(play(SASL_EXTERNAL, &nobody, 16, two_steps, &rc, &sc) && rc == 0,
	    "EXTERNAL: the empty response after the go-ahead");
	ok(sasl_mech_of(AUTH_EXTERNAL, &m) == 0 && m == SASL_EXTERNAL, "auth = external");
	ok(sasl_choose(SASL_BIT(SASL_EXTERNAL), "pw", &m) < 0, "auto never picks EXTERNAL");
	ok(!auth_method_needs_secret(AUTH_EXTERNAL) && !auth_method_needs_secret(AUTH_NONE) &&
	    auth_method_needs_secret(AUTH_XOAUTH2), "external and none need no secret");
}

/* SCRAM over the exchange: a password it cannot use sends nothing (78);
 * a yes without the server's signature is refused (77); a nonce that is
 * not ours is cancelled (76). */
static void
test_scram(void)
{
	static const char *const nothing[] = { NULL };
	static const char *const unproven[] = {
		"C:AUTH SCRAM-SHA-256 biwsbj1hbGljZSxy*", "S.", NULL };
	static const char *const foreign[] = { "C:AUTH SCRAM-SHA-256 *",
		"S+cj1mb3JlaWduMDEyMzQ1Njc4OSxzPVcyMlphSjBTTlk3c29Fc1VFamI2Z1E9PSxpPTQwOTY=",
		"C:*", "S-", NULL };
	static const struct sasl_credentials umlaut = { .user = "alice",
		.secret = "p\xc3\xa4ss" };
	struct script sc;
	int rc;

	ok(play(SASL_SCRAM_SHA_256, &umlaut, 512, nothing, &rc, &sc) && rc < 0 &&
	    fail_class() == FAIL_CONFIG && strstr(fail_reason(), "ASCII") != NULL,
	    "SCRAM with a UTF-8 password: nothing sent, 78 (%s)", fail_reason());
	ok(play(SASL_SCRAM_SHA_256, &alice, 512, unproven, &rc, &sc) && rc < 0 &&
	    fail_class() == FAIL_AUTH, "SCRAM: a yes without the signature is refused (%s)",
	    fail_reason());
	ok(play(SASL_SCRAM_SHA_256, &alice, 512, foreign, &rc, &sc) && rc < 0 &&
	    fail_class() == FAIL_PROTOCOL, "SCRAM: a foreign nonce is cancelled (%s)",
	    fail_reason());
}

int
main(void)
{
	test_base64();
	test_offer();
	test_choose();
	test_oauth();
	test_oauth_error();
	test_oauth_error_prefixes();
	test_scram();
	test_external();
	test_plain();
	test_login();
	test_go_ahead();
	return done_testing();
}
