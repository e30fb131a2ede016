/*
 * The dot-stuffing transforms (dotstuff.c), checked for the properties the
 * header promises rather than just for crashes:
 *
 * pop3_unstuff:
 *  - any split of the input gives the same output, consumed count and done
 *    state as the whole input in one call, and as one byte per call;
 *  - one call writes at most consumed + 1 bytes (a CR held back from the
 *    previous call) and never more than n + 2; it stops right after the
 *    terminator and consumes everything when there is none;
 *  - it agrees with a reference written from RFC 1939 without a state
 *    machine: the input is lines separated by CRLF (a bare CR or LF is
 *    data), the first line that is exactly "." ends it, any other line
 *    loses a leading "."; without a terminator its output may lack only a
 *    last CR it holds back.
 *
 * smtp_stuff:
 *  - any split gives the same output; output fits in 2n + 1;
 *  - on the wire there is no bare CR or LF and every line that starts with
 *    "." starts with "..", so no body line can end DATA early;
 *  - round trip: pop3_unstuff(stuffed + end) consumes exactly all of it,
 *    finds the terminator at the end, and gives back the input with every
 *    line ending (CRLF, bare LF, bare CR) as LF and a final LF added to a
 *    last line without one.
 *
 * The split position is derived from byte 0 (scaled over the input length);
 * all bytes, byte 0 included, are the data.
 */
#include <stdbool.h>
#include <string.h>

#include "dotstuff.h"
#include "fuzz_common.h"

#define INPUT_MAX (64 * 1024)

struct unstuff_result {
	char *out;
	size_t out_len;
	size_t consumed;
	bool done;
};

/* Unstuffs in pieces ending at the given cut points (ascending).  The
 * scratch output is exactly the documented minimum for the longest piece,
 * so ASan sees any overflow there. */
static void
unstuff_pieces(const char *in, size_t n, const size_t *cuts, size_t ncuts,
	struct unstuff_result *r)
{
	struct pop3_unstuffer u;
	size_t start = 0, longest = 0;
	char *out;

	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : n;

		if (end - start > longest)
			longest = end - start;
		start = end;
	}
	out = malloc(longest + 2);
	r->out = malloc(n + 2);
	r->out_len = 0;
	r->consumed = 0;
	start = 0;
	pop3_unstuff_init(&u);
	for (size_t k = 0; k <= ncuts && !u.done; k++) {
		size_t end = k < ncuts ? cuts[k] : n;
		size_t piece = end - start, consumed = (size_t)-1;
		size_t o = pop3_unstuff(&u, in + start, piece, out, &consumed);

		FUZZ_CHECK(consumed <= piece);
		FUZZ_CHECK(o <= consumed + 1);
		FUZZ_CHECK(u.done || consumed == piece);
		if (u.done)	/* the terminator is the last thing consumed */
			FUZZ_CHECK(consumed > 0 && in[start + consumed - 1] == '\n');
		FUZZ_CHECK(r->out_len + o <= n + 2);
		memcpy(r->out + r->out_len, out, o);
		r->out_len += o;
		r->consumed += consumed;
		start = end;
	}
	r->done = u.done;
	free(out);
}

static void
same_result(const struct unstuff_result *a, const struct unstuff_result *b)
{
	FUZZ_CHECK(a->done == b->done);
	FUZZ_CHECK(a->consumed == b->consumed);
	FUZZ_CHECK(a->out_len == b->out_len);
	FUZZ_CHECK(memcmp(a->out, b->out, a->out_len) == 0);
}

/* The rule in its plainest form (see the top of this file). */
static void
unstuff_reference(const char *in, size_t n, struct unstuff_result *r)
{
	size_t start = 0;

	r->out = malloc(n + 1);
	r->out_len = 0;
	r->consumed = n;
	r->done = false;
	for (;;) {
		const char *crlf = memmem(in + start, n - start, "\r\n", 2);
		size_t end = crlf != NULL ? (size_t)(crlf - in) : n;
		const char *line = in + start;
		size_t len = end - start;

		if (crlf != NULL && len == 1 && line[0] == '.') {
			r->done = true;
			r->consumed = end + 2;
			return;
		}
		if (len > 0 && line[0] == '.') {
			line++;
			len--;
		}
		memcpy(r->out + r->out_len, line, len);
		r->out_len += len;
		if (crlf == NULL)
			return;
		r->out[r->out_len++] = '\n';
		start = end + 2;
	}
}

static void
same_as_reference(const struct unstuff_result *got, const char *in, size_t n)
{
	struct unstuff_result want;

	unstuff_reference(in, n, &want);
	FUZZ_CHECK(got->done == want.done);
	FUZZ_CHECK(got->consumed == want.consumed);
	FUZZ_CHECK(got->out_len <= want.out_len);
	FUZZ_CHECK(memcmp(got->out, want.out, got->out_len) == 0);
	if (got->done)
		FUZZ_CHECK(got->out_len == want.out_len);
	else if (got->out_len < want.out_len)
		FUZZ_CHECK(got->out_len + 1 == want.out_len && want.out[got->out_len] == '\r');
	free(want.out);
}

static void
check_unstuff(const char *in, size_t n, size_t split)
{
	struct unstuff_result whole, two, bytes;
	size_t *cuts = malloc((n + 1) * sizeof *cuts);

	unstuff_pieces(in, n, NULL, 0, &whole);
	unstuff_pieces(in, n, &split, 1, &two);
	for (size_t i = 0; i < n; i++)
		cuts[i] = i + 1;
	unstuff_pieces(in, n, cuts, n > 0 ? n - 1 : 0, &bytes);
	same_result(&whole, &two);
	same_result(&whole, &bytes);
	same_as_reference(&whole, in, n);
	free(whole.out);
	free(two.out);
	free(bytes.out);
	free(cuts);
}

/* Stuffs in0..n split at split, with the end; returns a new buffer. */
static char *
stuff(const char *in, size_t n, size_t split, size_t *len_r)
{
	struct smtp_stuffer s;
	char *wire = malloc(2 * n + 1 + 5), *a, *b;
	size_t la, lb, le;

	smtp_stuff_init(&s);
	a = malloc(2 * split + 1);
	la = smtp_stuff(&s, in, split, a);
	FUZZ_CHECK(la <= 2 * split);
	b = malloc(2 * (n - split) + 1);
	lb = smtp_stuff(&s, in + split, n - split, b);
	FUZZ_CHECK(lb <= 2 * (n - split));
	memcpy(wire, a, la);
	memcpy(wire + la, b, lb);
	le = smtp_stuff_end(&s, wire + la + lb);
	FUZZ_CHECK(le >= 3 && le <= 5);
	free(a);
	free(b);
	*len_r = la + lb + le;
	return wire;
}

/* The input with every line ending as LF and a final LF if missing. */
static char *
normalise(const char *in, size_t n, size_t *len_r)
{
	char *out = malloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\r') {
			out[o++] = '\n';
			if (i + 1 < n && in[i + 1] == '\n')
				i++;
		} else {
			out[o++] = in[i];
		}
	}
	if (o > 0 && out[o - 1] != '\n')
		out[o++] = '\n';
	*len_r = o;
	return out;
}

static void
check_stuff(const char *in, size_t n, size_t split)
{
	size_t wlen, wlen_whole, nlen;
	char *wire = stuff(in, n, split, &wlen);
	char *whole = stuff(in, n, n, &wlen_whole);
	char *expect = normalise(in, n, &nlen);
	struct unstuff_result r;
	size_t body_end;

	FUZZ_CHECK(wlen == wlen_whole && memcmp(wire, whole, wlen) == 0);

	/* Wire form: CRLF only, leading dots doubled, ".\r\n" only at the end. */
	FUZZ_CHECK(wlen >= 3 && memcmp(wire + wlen - 3, ".\r\n", 3) == 0);
	body_end = wlen - 3;
	FUZZ_CHECK(body_end == 0 || wire[body_end - 1] == '\n');
	for (size_t i = 0; i < body_end; i++) {
		if (wire[i] == '\r')
			FUZZ_CHECK(i + 1 < body_end && wire[i + 1] == '\n');
		if (wire[i] == '\n')
			FUZZ_CHECK(i > 0 && wire[i - 1] == '\r');
		if ((i == 0 || wire[i - 1] == '\n') && wire[i] == '.')
			FUZZ_CHECK(i + 1 < body_end && wire[i + 1] == '.');
	}

	/* Round trip through the POP3 side. */
	unstuff_pieces(wire, wlen, NULL, 0, &r);
	FUZZ_CHECK(r.done);
	FUZZ_CHECK(r.consumed == wlen);
	FUZZ_CHECK(r.out_len == nlen);
	FUZZ_CHECK(memcmp(r.out, expect, nlen) == 0);

	free(r.out);
	free(wire);
	free(whole);
	free(expect);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t split;

	if (size > INPUT_MAX)
		return -1;
	split = size > 0 ? (size_t)data[0] * (size + 1) / 256 : 0;
	check_unstuff(in, size, split);
	check_stuff(in, size, split);
	return 0;
}
