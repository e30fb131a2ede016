/*
 * qp.c: quoted-printable output is checked by a strict validator (RFC 2045
 * 6.7: lines of at most 76 octets, only printable ASCII, "=" always
 * escaped, no space or tab at the end of a line) and decoded back with a
 * decoder written here: the result must be the input with CRLF turned into
 * LF.  Fixed cases, then random inputs from a fixed seed; every input also
 * encoded one byte at a time and split at random offsets.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qp.h"
#include "tap.h"

struct buf {
	char *p;
	size_t len;
};

static void
append(struct buf *b, const char *p, size_t n)
{
	b->p = realloc(b->p, b->len + n + 1);
	if (b->p == NULL)
		abort();
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
encode_chunk(struct qp_encoder *q, const char *in, size_t n, struct buf *b)
{
	char *out = malloc(QP_OUT_MAX(n));
	char *copy = malloc(n + 1);
	size_t o;

	if (out == NULL || copy == NULL)
		abort();
	memcpy(copy, in, n);
	o = qp_encode(q, copy, n, out);
	if (o > QP_OUT_MAX(n))
		abort();
	append(b, out, o);
	free(copy);
	free(out);
}

static void
encode_finish(struct qp_encoder *q, struct buf *b)
{
	char *out = malloc(QP_OUT_MAX(0));
	size_t o;

	if (out == NULL)
		abort();
	o = qp_finish(q, out);
	if (o > QP_OUT_MAX(0))
		abort();
	append(b, out, o);
	free(out);
}

/* step 0: whole. */
static struct buf
encode_in_steps(const char *in, size_t n, size_t step)
{
	struct qp_encoder q;
	struct buf b = { 0 };

	qp_init(&q);
	append(&b, "", 0);
	if (step == 0)
		step = n > 0 ? n : 1;
	for (size_t i = 0; i < n; i += step)
		encode_chunk(&q, in + i, n - i < step ? n - i : step, &b);
	encode_finish(&q, &b);
	return b;
}

static struct buf
encode_split(const char *in, size_t n, size_t at)
{
	struct qp_encoder q;
	struct buf b = { 0 };

	qp_init(&q);
	append(&b, "", 0);
	encode_chunk(&q, in, at, &b);
	encode_chunk(&q, in + at, n - at, &b);
	encode_finish(&q, &b);
	return b;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;		/* RFC 2045: encoders must use upper case */
}

/* NULL when p[0..n) is valid quoted-printable, else what is wrong. */
static const char *
qp_invalid(const char *p, size_t n, size_t *at_r)
{
	size_t column = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		*at_r = i;
		if (ch == '\n') {
			if (i > 0 && (p[i - 1] == ' ' || p[i - 1] == '\t'))
				return "space or tab at the end of a line";
			column = 0;
			continue;
		}
		if (++column > 76)
			return "line longer than 76 octets";
		if (ch == '=') {
			if (i + 1 < n && p[i + 1] == '\n')
				continue;	/* soft line break */
			if (i + 2 >= n || hexval(p[i + 1]) < 0 || hexval(p[i + 2]) < 0)
				return "\"=\" not followed by two upper-case hex digits";
			continue;
		}
		if (ch != ' ' && ch != '\t' && (ch < 33 || ch > 126))
			return "octet that is not printable ASCII";
	}
	*at_r = n;
	if (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		return "space or tab at the end of the output";
	if (n > 0 && p[n - 1] == '=')
		return "soft line break at the very end";
	return NULL;
}

/* The decoder: "=XX" an octet, "=\n" nothing, anything else itself. */
static struct buf
qp_decode(const char *p, size_t n)
{
	struct buf b = { 0 };

	append(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '=' && i + 1 < n && p[i + 1] == '\n') {
			i++;
		} else if (p[i] == '=' && i + 2 < n) {
			char ch = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));

			append(&b, &ch, 1);
			i += 2;
		} else {
			append(&b, p + i, 1);
		}
	}
	return b;
}

/* What decoding must give back: the input with each CRLF turned into LF. */
static struct buf
expected_decoding(const char *in, size_t n)
{
	struct buf b = { 0 };

	append(&b, "", 0);
	for (size_t i = 0; i < n; i++)
		if (!(in[i] == '\r' && i + 1 < n && in[i + 1] == '\n'))
			append(&b, in + i, 1);
	return b;
}

static size_t
lcg(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (size_t)(*state >> 33);
}

/* Validity, round trip, byte-at-a-time and every split (or 8 random ones);
 * quiet: returns false and says why. */
static bool
check_input(const char *in, size_t n, bool all_splits, uint64_t *rng, char *why, size_t whylen)
{
	struct buf whole = encode_in_steps(in, n, 0);
	struct buf bytes = encode_in_steps(in, n, 1);
	struct buf dec = qp_decode(whole.p, whole.len);
	struct buf want = expected_decoding(in, n);
	const char *bad;
	size_t at;
	bool good = false;

	if ((bad = qp_invalid(whole.p, whole.len, &at)) != NULL) {
		snprintf(why, whylen, "invalid output at %zu: %s", at, bad);
	} else if (dec.len != want.len || memcmp(dec.p, want.p, want.len) != 0) {
		snprintf(why, whylen, "decoding does not give the input back");
	} else if (bytes.len != whole.len || memcmp(bytes.p, whole.p, whole.len) != 0) {
		snprintf(why, whylen, "one byte at a time differs from whole");
	} else {
		good = true;
		for (size_t k = 0; k <= n && good && (all_splits || k < 8); k++) {
			size_t split = all_splits ? k : lcg(rng) % (n + 1);
			struct buf s;

			s = encode_split(in, n, split);
			if (s.len != whole.len || memcmp(s.p, whole.p, whole.len) != 0) {
				snprintf(why, whylen, "split at %zu differs from whole", split);
				good = false;
			}
			free(s.p);
		}
	}
	free(whole.p);
	free(bytes.p);
	free(dec.p);
	free(want.p);
	return good;
}

static void
qp_case(const char *name, const char *in, size_t n, const char *want, size_t want_len)
{
	struct buf whole = encode_in_steps(in, n, 0);
	char why[200] = "";
	uint64_t rng = 1;

	is_mem(whole.p, whole.len, want, want_len, "%s: encoding", name);
	ok(check_input(in, n, true, &rng, why, sizeof why),
	    "%s: valid, decodes back, same in any chunking", name);
	if (why[0] != '\0')
		diag("%s", why);
	free(whole.p);
}

#define QP(name, in, want) qp_case(name, in, sizeof in - 1, want, sizeof want - 1)

static void
test_fixed(void)
{
	QP("empty", "", "");
	QP("plain text", "hello, world\n", "hello, world\n");
	QP("no final newline", "hello", "hello");
	QP("equals sign", "a=b\n", "a=3Db\n");
	QP("trailing space", "a \n", "a=20\n");
	QP("trailing tab", "a\t\n", "a=09\n");
	QP("trailing space before CRLF", "a \r\nb", "a=20\nb");
	QP("space at the end of input", "a ", "a=20");
	QP("two trailing spaces", "a  \n", "a =20\n");
	QP("inner spaces literal", "a b\tc\n", "a b\tc\n");
	QP("8-bit", "caf\xc3\xa9\n", "caf=C3=A9\n");
	QP("NUL", "a\0b\n", "a=00b\n");
	QP("DEL and controls", "\x7f\x01\x1b\n", "=7F=01=1B\n");
	QP("CRLF becomes LF", "a\r\nb\r\n", "a\nb\n");
	QP("bare CR encoded", "a\rb\n", "a=0Db\n");
	QP("CR CR LF", "a\r\r\n", "a=0D\n");
	QP("CR at end of input", "a\r", "a=0D");
	QP("space then CR then text", "a \rb", "a =0Db");
	QP("empty lines", "\n\n\r\n", "\n\n\n");
	QP("dot line untouched", ".\n", ".\n");
}

static void
check_long(const char *name, const char *in, size_t n)
{
	struct buf whole = encode_in_steps(in, n, 0);
	size_t soft = 0, at;
	char why[200] = "";
	uint64_t rng = 7;
	const char *bad = qp_invalid(whole.p, whole.len, &at);

	ok(bad == NULL, "%s: every line within 76 octets, valid", name);
	if (bad != NULL)
		diag("at %zu: %s", at, bad);
	for (size_t i = 0; i + 1 < whole.len; i++)
		soft += whole.p[i] == '=' && whole.p[i + 1] == '\n';
	ok(soft > 0, "%s: soft line breaks used (%zu)", name, soft);
	ok(check_input(in, n, false, &rng, why, sizeof why), "%s: decodes back, any chunking",
	    name);
	if (why[0] != '\0')
		diag("%s", why);
	free(whole.p);
}

static void
test_long_lines(void)
{
	char in[3001];

	memset(in, 'x', 3000);
	in[3000] = '\n';
	check_long("3000-byte line", in, sizeof in);
	memset(in, '=', 3000);
	check_long("3000 equals signs", in, sizeof in);
	memset(in, ' ', 3000);
	check_long("3000 spaces", in, sizeof in);
	for (size_t i = 0; i < 3000; i++)
		in[i] = i % 3 == 0 ? 'a' : (char)0xe9;
	check_long("3000 mixed 8-bit", in, sizeof in);
	/* Exactly at the limits: 75 and 76 literal octets. */
	memset(in, 'y', 76);
	in[76] = '\n';
	{
		struct buf b = encode_in_steps(in, 77, 0);
		size_t at;

		ok(qp_invalid(b.p, b.len, &at) == NULL, "76-octet line stays within 76 octets");
		free(b.p);
	}
}

static uint64_t
next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Bytes biased towards what is hard: space, tab, CR, LF, "=", 8-bit, NUL,
 * and long runs without a line break. */
static char
random_byte(uint64_t *s)
{
	static const char hard[] = " \t\r\n=.\0\xff\x80";
	uint64_t r = next_random(s);

	switch (r % 8) {
	case 0:
	case 1:
		return hard[(r >> 8) % (sizeof hard - 1)];
	case 2:
		return (char)((r >> 8) & 0xff);
	default:
		return (char)('a' + (r >> 8) % 26);
	}
}

static void
test_random(void)
{
	uint64_t seed = 0x2545F4914F6CDD1DULL, rng = 3;
	int bad = 0;
	char why[200] = "";

	for (int round = 0; round < 300; round++) {
		size_t n = (size_t)(next_random(&seed) % (round < 200 ? 200 : 4000));
		char *in = malloc(n + 1);

		if (in == NULL)
			abort();
		for (size_t i = 0; i < n; i++)
			in[i] = random_byte(&seed);
		if (round % 3 == 0)	/* some long lines */
			for (size_t i = 0; i < n; i++)
				if (in[i] == '\n' || in[i] == '\r')
					in[i] = 'L';
		if (!check_input(in, n, n < 200, &rng, why, sizeof why)) {
			if (bad++ == 0) {
				diag("round %d: %s", round, why);
				tap_dump("input", in, n);
			}
		}
		free(in);
	}
	ok(bad == 0, "300 random inputs: valid output, decode back, chunking does not matter");
}

int
main(void)
{
	test_fixed();
	test_long_lines();
	test_random();
	return done_testing();
}
