/*
 * scram.c: the RFC 7677 test vector end to end, then every way a server's
 * message can be wrong: a nonce that is not ours, iteration counts out of
 * bounds, a mandatory extension, a wrong or missing signature, every
 * prefix of a good message (each in a buffer of exactly its length, so
 * ASan sees a read past it), and which passwords SCRAM can take.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scram.h"
#include "secret.h"
#include "status.h"
#include "tap.h"

/* RFC 7677 section 3. */
#define VEC_NONCE "rOprNGfwEbeRWgbNEkqO"
#define VEC_SERVER_FIRST \
	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define VEC_CLIENT_FINAL \
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
	"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define VEC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

/* Begins an exchange with the vector's user and nonce. */
static void
begin(struct scram *s)
{
	memset(s, 0, sizeof *s);
	free(scram_client_first(s, "user", VEC_NONCE));
	fail_clear();
}

/* scram_client_final() on server_first: its result; the message wiped. */
static int
final_for(struct scram *s, const char *server_first)
{
	char *final = NULL;
	int rc = scram_client_final(s, "pencil", server_first, strlen(server_first), &final);

	secret_wipe(final);
	return rc;
}

static void
test_vector(void)
{
	struct scram s = { 0 };
	char *first = scram_client_first(&s, "user", VEC_NONCE), *final = NULL;

	is_str(first, "n,,n=user,r=" VEC_NONCE, "client-first of RFC 7677");
	free(first);
	is_int(scram_client_final(&s, "pencil", VEC_SERVER_FIRST, strlen(VEC_SERVER_FIRST), &final),
	    0, "server-first of RFC 7677 accepted");
	is_str(final, VEC_CLIENT_FINAL, "client-final (the proof) of RFC 7677");
	secret_wipe(final);
	is_int(scram_server_final(&s, VEC_SERVER_FINAL, strlen(VEC_SERVER_FINAL)), 0,
	    "server-final of RFC 7677 verified");
	scram_clear(&s);
}

static void
test_server_final(void)
{
	static const struct { const char *text; enum failure cls; } bad[] = {
		{ "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G8=", FAIL_AUTH },
		{ "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", FAIL_AUTH },
		{ "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4", FAIL_AUTH },
		{ "v=", FAIL_AUTH },
		{ "e=invalid-proof", FAIL_AUTH },
		{ "x=1", FAIL_PROTOCOL },
		{ "", FAIL_PROTOCOL },
	};
	struct scram s;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		begin(&s);
		final_for(&s, VEC_SERVER_FIRST);
		fail_clear();
		ok(scram_server_final(&s, bad[i].text, strlen(bad[i].text)) < 0 &&
		    fail_class() == bad[i].cls, "server-final \"%s\" refused (class %d)", bad[i].text,
		    bad[i].cls);
		scram_clear(&s);
	}
	begin(&s);
	ok(scram_server_final(&s, VEC_SERVER_FINAL, strlen(VEC_SERVER_FINAL)) < 0 &&
	    fail_class() == FAIL_PROTOCOL, "a server-final before our proof is refused");
	scram_clear(&s);
	begin(&s);
	final_for(&s, VEC_SERVER_FIRST);
	scram_server_final(&s, "e=invalid-proof", strlen("e=invalid-proof"));
	ok(strstr(fail_reason(), "invalid-proof") != NULL, "e= names the server's reason: %s",
	    fail_reason());
	scram_clear(&s);
}

static void
test_server_first(void)
{
	static const struct { const char *text; const char *what; } bad[] = {
		{ "r=XrOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "foreign nonce" },
		{ "r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce not extended" },
		{ "r=rOprNGfwEbeRWgbNEkqo%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce case" },
		{ "r=rOprNGfwEbeRWgbNEkqO%h vY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "space in nonce" },
		{ "r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095", "4095 iterations" },
		{ "r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0", "0 iterations" },
		{ "r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000001", "too many" },
		{ "r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4294967296", "overflow" },
		{ "r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-4096", "negative" },
		{ "r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x", "count junk" },
		{ "r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22Za J0SNY7soEsUEjb6gQ==,i=4096", "salt not base64" },
		{ "r=rOprNGfwEbeRWgbNEkqO%hvYD,s=,i=4096", "empty salt" },
		{ "m=x,r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "mandatory ext" },
		{ "s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqO%hvYD,i=4096", "order" },
		{ "", "empty" },
	};
	struct scram s;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		begin(&s);
		ok(final_for(&s, bad[i].text) < 0 && fail_class() == FAIL_PROTOCOL &&
		    !s.expecting_signature, "server-first refused (76): %s", bad[i].what);
		scram_clear(&s);
	}
}

/* A count far above the bound is refused before any work, so a hostile
 * server costs us no CPU. */
static void
test_iterations_bounded(void)
{
	struct scram s;
	clock_t start = clock();

	begin(&s);
	ok(final_for(&s, "r=" VEC_NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=999999999") < 0,
	    "999999999 iterations refused");
	ok(clock() - start < CLOCKS_PER_SEC / 10, "and refused at once");
	scram_clear(&s);
	begin(&s);
	ok(final_for(&s, "r=" VEC_NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=100000") == 0,
	    "100000 iterations computed");
	scram_clear(&s);
}

/* Every proper prefix of the vector's server-first, in a buffer of its
 * exact length, is refused; none is read past. */
static void
test_prefixes(void)
{
	size_t len = strlen(VEC_SERVER_FIRST);
	int refused = 0;

	for (size_t n = 0; n < len; n++) {
		struct scram s;
		char *cut = malloc(n + 1), *final = NULL;

		memcpy(cut, VEC_SERVER_FIRST, n);
		begin(&s);
		refused += scram_client_final(&s, "pencil", cut, n, &final) < 0;
		secret_wipe(final);
		free(cut);
		scram_clear(&s);
	}
	is_int(refused, (int)len, "every one of the %zu prefixes of server-first refused", len);
}

static void
test_user_and_nonce(void)
{
	struct scram s = { 0 }, t = { 0 };
	char *first = scram_client_first(&s, "a,b=c", "n0nce"), *a, *b;

	is_str(first, "n,,n=a=2Cb=3Dc,r=n0nce", "',' and '=' in the user name escaped");
	free(first);
	a = scram_client_first(&s, "user", NULL);
	b = scram_client_first(&t, "user", NULL);
	ok(strlen(a) == strlen("n,,n=user,r=") + 32 && strcmp(a, b) != 0,
	    "random nonces: 32 characters, different each time (%s)", a);
	free(a), free(b);
	scram_clear(&s), scram_clear(&t);
}

static void
test_password_usable(void)
{
	ok(scram_password_usable("pencil"), "ASCII password usable");
	ok(scram_password_usable(" ~!x y"), "printable ASCII with spaces usable");
	ok(!scram_password_usable(""), "empty password not usable");
	ok(!scram_password_usable("p\xc3\xa4ss"), "UTF-8 password not usable");
	ok(!scram_password_usable("tab\there"), "control character not usable");
	ok(!scram_password_usable("del\x7f"), "DEL not usable");
}

int
main(void)
{
	test_vector();
	test_server_final();
	test_server_first();
	test_iterations_bounded();
	test_prefixes();
	test_user_and_nonce();
	test_password_usable();
	return done_testing();
}
