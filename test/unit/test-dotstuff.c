/*
 * dotstuff.c: SMTP stuffing and POP3 unstuffing.  Every case runs three
 * ways: whole, one byte at a time, and split in two at every offset; all
 * must give the same bytes (and for POP3 the same consumed count and end
 * state).  Each call gets a heap buffer of exactly the documented size, so
 * ASan catches a transform that writes past it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dotstuff.h"
#include "tap.h"

struct result {
	char *p;
	size_t len;
	size_t consumed;	/* pop3 */
	bool done;		/* pop3 */
};

static void
append(struct result *r, const char *p, size_t n)
{
	r->p = realloc(r->p, r->len + n + 1);
	if (r->p == NULL)
		abort();
	memcpy(r->p + r->len, p, n);
	r->len += n;
}

/* A small reproducible generator for the random cases. */
static unsigned
next_random(unsigned *seed)
{
	*seed = *seed * 1103515245 + 12345;
	return *seed >> 16;
}

/* n bytes of a random text over alphabet[0..k) into out. */
static size_t
random_text(unsigned *seed, const char *alphabet, unsigned k, char *out, size_t max)
{
	size_t n = next_random(seed) % max;

	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[next_random(seed) % k];
	return n;
}

/* ---- SMTP ---- */

static void
stuff_chunk(struct smtp_stuffer *s, const char *in, size_t n, struct result *r)
{
	char *out = malloc(2 * n + 1);
	char *copy = malloc(n + 1);
	size_t o;

	if (out == NULL || copy == NULL)
		abort();
	memcpy(copy, in, n);	/* exact-size input too, for ASan */
	o = smtp_stuff(s, copy, n, out);
	if (o > 2 * n + 1)
		abort();
	append(r, out, o);
	free(copy);
	free(out);
}

static void
stuff_finish(struct smtp_stuffer *s, struct result *r)
{
	char *out = malloc(5);
	size_t o;

	if (out == NULL)
		abort();
	o = smtp_stuff_end(s, out);
	if (o > 5)
		abort();
	append(r, out, o);
	free(out);
}

/* Feeds in[0..n) in chunks of `step` bytes (0: whole). */
static struct result
stuff_in_steps(const char *in, size_t n, size_t step)
{
	struct smtp_stuffer s;
	struct result r = { 0 };

	smtp_stuff_init(&s);
	append(&r, "", 0);
	if (step == 0)
		step = n > 0 ? n : 1;
	for (size_t i = 0; i < n; i += step)
		stuff_chunk(&s, in + i, n - i < step ? n - i : step, &r);
	stuff_finish(&s, &r);
	return r;
}

static struct result
stuff_split(const char *in, size_t n, size_t at)
{
	struct smtp_stuffer s;
	struct result r = { 0 };

	smtp_stuff_init(&s);
	append(&r, "", 0);
	stuff_chunk(&s, in, at, &r);
	stuff_chunk(&s, in + at, n - at, &r);
	stuff_finish(&s, &r);
	return r;
}

static void
smtp_case(const char *name, const char *in, size_t n, const char *want, size_t want_len)
{
	struct result whole = stuff_in_steps(in, n, 0);
	struct result bytes = stuff_in_steps(in, n, 1);
	size_t bad_split = (size_t)-1;

	is_mem(whole.p, whole.len, want, want_len, "smtp %s: whole", name);
	is_mem(bytes.p, bytes.len, want, want_len, "smtp %s: one byte at a time", name);
	for (size_t at = 0; at <= n && bad_split == (size_t)-1; at++) {
		struct result split = stuff_split(in, n, at);

		if (split.len != want_len || memcmp(split.p, want, want_len) != 0)
			bad_split = at;
		free(split.p);
	}
	ok(bad_split == (size_t)-1, "smtp %s: every two-way split", name);
	if (bad_split != (size_t)-1)
		diag("first bad split at offset %zu", bad_split);
	free(whole.p);
	free(bytes.p);
}

/* The RFC 1870 size of the stuffed text: its bytes without the final
 * ".\r\n" and without the dot added to each line that starts with one. */
static long long
rfc1870_size(const char *stuffed, size_t len)
{
	long long size = (long long)len - 3;

	for (size_t i = 0; i + 3 < len; i++)
		size -= stuffed[i] == '.' && (i == 0 || stuffed[i - 1] == '\n');
	return size;
}

/* smtp_size_octets() over chunks of `step` bytes (0: whole), plus the
 * line ending smtp_stuff_end() would complete. */
static long long
size_in_steps(const char *in, size_t n, size_t step)
{
	struct smtp_stuffer s;
	long long size = 0;
	char *copy = malloc(n + 1);

	if (copy == NULL)
		abort();
	memcpy(copy, in, n);
	smtp_stuff_init(&s);
	if (step == 0)
		step = n > 0 ? n : 1;
	for (size_t i = 0; i < n; i += step)
		size += smtp_size_octets(&s, copy + i, n - i < step ? n - i : step);
	free(copy);
	return size + (s.at_line_start ? 0 : 2);
}

static void
smtp_size_case(const char *name, const char *in, size_t n, const char *want, size_t want_len)
{
	long long expected = rfc1870_size(want, want_len);
	size_t bad_step = 0;

	for (size_t step = 0; step <= n + 1 && bad_step == 0; step++)
		if (size_in_steps(in, n, step) != expected)
			bad_step = step + 1;
	ok(bad_step == 0, "smtp %s: size %lld in every chunking", name, expected);
	if (bad_step != 0)
		diag("chunks of %zu bytes count %lld", bad_step - 1,
		    size_in_steps(in, n, bad_step - 1));
}

#define SMTP(name, in, want) (smtp_case(name, in, sizeof in - 1, want, sizeof want - 1), \
	smtp_size_case(name, in, sizeof in - 1, want, sizeof want - 1))

static void
test_smtp(void)
{
	SMTP("empty input", "", ".\r\n");
	SMTP("plain lines LF", "a\nb\n", "a\r\nb\r\n.\r\n");
	SMTP("plain lines CRLF", "a\r\nb\r\n", "a\r\nb\r\n.\r\n");
	SMTP("last line without newline", "a\nlast", "a\r\nlast\r\n.\r\n");
	SMTP("single line without newline", "x", "x\r\n.\r\n");
	SMTP("a lone dot line", ".\n", "..\r\n.\r\n");
	SMTP("a lone dot line CRLF", "a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n");
	SMTP("a lone dot without newline", ".", "..\r\n.\r\n");
	SMTP("two dots", "..\n", "...\r\n.\r\n");
	SMTP("dot x", ".x\n", "..x\r\n.\r\n");
	SMTP("dot only at line start", "x.y\n.z\n", "x.y\r\n..z\r\n.\r\n");
	SMTP("dot after empty line", "\n.\n", "\r\n..\r\n.\r\n");
	SMTP("bare CR becomes a line break", "a\rb", "a\r\nb\r\n.\r\n");
	SMTP("dot after bare CR", "a\r.\n", "a\r\n..\r\n.\r\n");
	SMTP("CR CR LF", "a\r\r\nb\n", "a\r\n\r\nb\r\n.\r\n");
	SMTP("LF CR", "a\n\rb\n", "a\r\n\r\nb\r\n.\r\n");
	SMTP("input ends in CR", "a\r", "a\r\n.\r\n");
	SMTP("input is one CR", "\r", "\r\n.\r\n");
	SMTP("input is one LF", "\n", "\r\n.\r\n");
	SMTP("empty lines", "\n\r\n\n", "\r\n\r\n\r\n.\r\n");
	SMTP("smuggled end of data (LF.LF)", "a\n.\nMAIL FROM:<x>\n",
	    "a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n");
	SMTP("smuggled end of data (CR.CR)", "a\r.\rRSET\r",
	    "a\r\n..\r\nRSET\r\n.\r\n");
	SMTP("NUL and 8-bit pass through", "\0.\xff\n.\0\n", "\0.\xff\r\n..\0\r\n.\r\n");
	SMTP("ends in dot line", "a\n.", "a\r\n..\r\n.\r\n");
}

/* Random texts over the bytes that matter (dot, CR, LF, NUL, 8-bit, a
 * letter): whole-chunk stuffing, which copies runs of line bytes at once,
 * must give what one byte at a time gives, and the size must match. */
static void
test_smtp_random(void)
{
	static const char alphabet[] = "a.\r\n\0\xff";
	unsigned seed = 12345;
	int bad = 0;

	for (int round = 0; round < 2000 && bad == 0; round++) {
		char in[48];
		size_t n = random_text(&seed, alphabet, 6, in, sizeof in);

		struct result whole = stuff_in_steps(in, n, 0);
		struct result bytes = stuff_in_steps(in, n, 1);

		if (whole.len != bytes.len || memcmp(whole.p, bytes.p, whole.len) != 0 ||
		    size_in_steps(in, n, 0) != rfc1870_size(whole.p, whole.len) ||
		    size_in_steps(in, n, 3) != rfc1870_size(whole.p, whole.len))
			bad = round + 1;
		free(whole.p);
		free(bytes.p);
	}
	ok(bad == 0, "smtp: 2000 random texts stuff and size alike in any chunking");
	if (bad != 0)
		diag("round %d differs", bad - 1);
}

/* ---- POP3 ---- */

/* Feeds chunks of the given sizes until done; what is left is unconsumed. */
static void
unstuff_chunk(struct pop3_unstuffer *u, const char *in, size_t n, struct result *r)
{
	char *out = malloc(n + 2);
	char *copy = malloc(n + 1);
	size_t consumed = (size_t)-1, o;

	if (out == NULL || copy == NULL)
		abort();
	memcpy(copy, in, n);
	o = pop3_unstuff(u, copy, n, out, &consumed);
	if (o > n + 2 || consumed > n)
		abort();
	append(r, out, o);
	r->consumed += consumed;
	r->done = u->done;
	/* Input is left only when the terminator was seen. */
	if (consumed < n && !u->done)
		r->consumed = (size_t)-1000000;
	free(copy);
	free(out);
}

static struct result
unstuff_in_steps(const char *in, size_t n, size_t step)
{
	struct pop3_unstuffer u;
	struct result r = { 0 };

	pop3_unstuff_init(&u);
	append(&r, "", 0);
	if (step == 0)
		step = n > 0 ? n : 1;
	for (size_t i = 0; i < n && !u.done; i += step)
		unstuff_chunk(&u, in + i, n - i < step ? n - i : step, &r);
	return r;
}

static struct result
unstuff_split(const char *in, size_t n, size_t at)
{
	struct pop3_unstuffer u;
	struct result r = { 0 };

	pop3_unstuff_init(&u);
	append(&r, "", 0);
	unstuff_chunk(&u, in, at, &r);
	if (!u.done)
		unstuff_chunk(&u, in + at, n - at, &r);
	return r;
}

static bool
same_result(const struct result *a, const char *want, size_t want_len, size_t consumed,
	bool done)
{
	return a->len == want_len && memcmp(a->p, want, want_len) == 0 &&
	    a->consumed == consumed && a->done == done;
}

static void
pop3_case(const char *name, const char *in, size_t n, const char *want, size_t want_len,
	size_t consumed, bool done)
{
	struct result whole = unstuff_in_steps(in, n, 0);
	struct result bytes = unstuff_in_steps(in, n, 1);
	size_t bad_split = (size_t)-1;

	is_mem(whole.p, whole.len, want, want_len, "pop3 %s: whole", name);
	ok(whole.consumed == consumed && whole.done == done,
	    "pop3 %s: whole: consumed %zu, done %d", name, consumed, done);
	if (whole.consumed != consumed || whole.done != done)
		diag("got consumed %zu, done %d", whole.consumed, whole.done);
	ok(same_result(&bytes, want, want_len, consumed, done),
	    "pop3 %s: one byte at a time", name);
	if (!same_result(&bytes, want, want_len, consumed, done)) {
		tap_dump("got ", bytes.p, bytes.len);
		diag("consumed %zu, done %d", bytes.consumed, bytes.done);
	}
	for (size_t at = 0; at <= n && bad_split == (size_t)-1; at++) {
		struct result split = unstuff_split(in, n, at);

		if (!same_result(&split, want, want_len, consumed, done))
			bad_split = at;
		free(split.p);
	}
	ok(bad_split == (size_t)-1, "pop3 %s: every two-way split", name);
	if (bad_split != (size_t)-1)
		diag("first bad split at offset %zu", bad_split);
	free(whole.p);
	free(bytes.p);
}

/* rest: the input left unconsumed (after the terminator). */
#define POP3(name, in, want, rest, done) \
	pop3_case(name, in, sizeof in - 1, want, sizeof want - 1, \
	    sizeof in - sizeof rest, done)

static void
test_pop3(void)
{
	POP3("empty body", ".\r\n", "", "", true);
	POP3("one line", "a\r\n.\r\n", "a\n", "", true);
	POP3("CRLF becomes LF", "From: x\r\n\r\nbody\r\n.\r\n", "From: x\n\nbody\n", "", true);
	POP3("two dots become one", "..\r\n.\r\n", ".\n", "", true);
	POP3("stuffed dot line", "a\r\n..\r\nb\r\n.\r\n", "a\n.\nb\n", "", true);
	POP3("stuffed dot text", "..x\r\n.\r\n", ".x\n", "", true);
	POP3("three dots", "...\r\n.\r\n", "..\n", "", true);
	POP3("leading dot before text is removed", ".x\r\n.\r\n", "x\n", "", true);
	POP3("dot inside a line", "a.b.\r\n.\r\n", "a.b.\n", "", true);
	POP3("empty lines", "\r\n\r\n.\r\n", "\n\n", "", true);
	POP3("bare CR inside a line kept", "a\rb\r\n.\r\n", "a\rb\n", "", true);
	POP3("dot CR x", ".\rx\r\n.\r\n", "\rx\n", "", true);
	/* Only a "." line that follows a CRLF ends the body; after a bare LF
	 * the dot is data and stays (the server did not stuff it). */
	POP3("bare LF lines: a dot after a bare LF is data", "a\nb\n.\r\n", "a\nb\n.\n", "",
	    false);
	POP3("bytes after the terminator left unconsumed", "a\r\n.\r\n+OK next\r\n", "a\n",
	    "+OK next\r\n", true);
	POP3("next response right after an empty body", ".\r\n.\r\n", "", ".\r\n", true);
	POP3("terminator-like text is not the end", "a.\r\n .\r\n.\r\nX", "a.\n .\n", "X",
	    true);
	POP3("no terminator yet", "a\r\nb", "a\nb", "", false);
	POP3("partial terminator", "a\r\n.\r", "a\n", "", false);
	POP3("CR at end held back", "a\r", "a", "", false);
	POP3("8-bit and NUL pass through", "\xff\0\r\n..\0\r\n.\r\n", "\xff\0\n.\0\n", "",
	    true);
	POP3("empty input", "", "", "", false);
}

/*
 * RFC 1939: only CRLF "." CRLF ends a multi-line response.  Each of these
 * bodies holds a look-alike in the middle, followed by lines that would
 * pass for the next status lines; all of it is data, kept byte for byte
 * (CRLF as LF), and the body ends only at the real terminator.
 */
static void
test_pop3_lookalike_terminators(void)
{
	POP3("LF . LF is data", "before\n.\n+OK 2 octets\r\n-ERR fake\r\nafter\r\n.\r\n",
	    "before\n.\n+OK 2 octets\n-ERR fake\nafter\n", "", true);
	POP3("CRLF . LF: the dot is stuffing, LF is data",
	    "before\r\n.\n+OK injected\r\n-ERR injected\r\nafter\r\n.\r\n",
	    "before\n\n+OK injected\n-ERR injected\nafter\n", "", true);
	POP3("LF . CRLF is data", "before\n.\r\n+OK injected\r\n-ERR x\r\nafter\r\n.\r\n",
	    "before\n.\n+OK injected\n-ERR x\nafter\n", "", true);
	POP3("CR . CRLF is data", "before\r.\r\n+OK x\r\n-ERR y\r\nafter\r\n.\r\n",
	    "before\r.\n+OK x\n-ERR y\nafter\n", "", true);
	POP3("CR . LF is data", "a\r.\nb\r\n.\r\n", "a\r.\nb\n", "", true);
	POP3("LF . LF right at the start: stuffing dot, then data", ".\n+OK\r\n.\r\n",
	    "\n+OK\n", "", true);
	POP3("two dots after a bare LF are both kept", "a\n..\r\n.\r\n", "a\n..\n", "", true);
	POP3("look-alikes and then the end, bytes after it unconsumed",
	    "x\n.\ny\n.\r\nz\r.\r\n.\r\n+OK next\r\n", "x\n.\ny\n.\nz\r.\n",
	    "+OK next\r\n", true);
	POP3("CR CR LF . CRLF ends it (the last CR LF is a CRLF)", "a\r\r\n.\r\nX",
	    "a\r\n", "X", true);
	POP3("dot CR CR LF: stuffing dot, a bare CR, a line end", ".\r\r\n.\r\n", "\r\n", "",
	    true);
	POP3("LF . CRLF without an end is not done", "a\n.\r\n", "a\n.\n", "", false);
}

/* Random answers over the bytes that matter: unstuffing them whole, which
 * copies runs of line data at once, gives what one byte at a time gives,
 * with the same end and consumed count. */
static void
test_pop3_random(void)
{
	static const char alphabet[] = "a.\r\n";
	unsigned seed = 777;
	int bad = 0;

	for (int round = 0; round < 3000 && bad == 0; round++) {
		char in[40];
		size_t n = random_text(&seed, alphabet, 4, in, sizeof in);

		struct result whole = unstuff_in_steps(in, n, 0);
		struct result bytes = unstuff_in_steps(in, n, 1);

		if (!same_result(&bytes, whole.p, whole.len, whole.consumed, whole.done))
			bad = round + 1;
		free(whole.p);
		free(bytes.p);
	}
	ok(bad == 0, "pop3: 3000 random answers unstuff alike whole and byte by byte");
	if (bad != 0)
		diag("round %d differs", bad - 1);
}

/* Stuffing then unstuffing gives back the lines with LF endings. */
static void
test_round_trip(void)
{
	static const char in[] = "a\n.\n..\n.x\nlast";
	static const char want[] = "a\n.\n..\n.x\nlast\n";
	struct result stuffed = stuff_in_steps(in, sizeof in - 1, 1);
	struct result back = unstuff_in_steps(stuffed.p, stuffed.len, 1);

	is_mem(back.p, back.len, want, sizeof want - 1, "stuff then unstuff round trip");
	ok(back.done && back.consumed == stuffed.len, "round trip ends at the terminator");
	free(stuffed.p);
	free(back.p);
}

int
main(void)
{
	test_smtp();
	test_smtp_random();
	test_pop3();
	test_pop3_lookalike_terminators();
	test_pop3_random();
	test_round_trip();
	return done_testing();
}
