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
#include "sasl.h"
#include "status.h"
#include "tap.h"

/* ---- a scripted server ---- */

/* Steps: "C:line" the client must send (shown: "C:line|shown"),
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

int
main(void)
{
	test_base64();
	test_offer();
	test_plain();
	test_login();
	test_go_ahead();
	return done_testing();
}
