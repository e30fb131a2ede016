/*
 * spool.c: the facts gathered while copying stdin (size, where the body
 * starts after the header's empty line with LF or CRLF, 8-bit and NUL
 * octets, the longest line without its ending), checked for input read
 * whole from a file and read one byte at a time from a pipe, and the
 * spooled bytes themselves.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dotstuff.h"
#include "spool.h"
#include "status.h"
#include "peer.h"
#include "tap.h"


/* Spools data from a pipe written one byte at a time, each byte only after
 * the previous one was read, so every read() returns one byte. */
static int
spool_from_pipe(const char *data, size_t n, bool has_header, struct spool *s)
{
	int p[2], rc;
	pid_t pid;

	if (pipe(p) < 0)
		abort();
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		close(p[0]);
		for (size_t i = 0; i < n; i++) {
			int queued = 1;

			if (write(p[1], data + i, 1) != 1)
				_exit(1);
			for (int spins = 0; spins < 100000; spins++) {
				if (ioctl(p[1], FIONREAD, &queued) < 0 || queued == 0)
					break;
				usleep(10);
			}
		}
		_exit(0);
	}
	close(p[1]);
	rc = spool_read(p[0], has_header, s);
	close(p[0]);
	waitpid(pid, NULL, 0);
	return rc;
}

static bool
same_facts(const struct body_facts *a, const struct body_facts *b)
{
	return a->size == b->size && a->has_8bit == b->has_8bit && a->has_nul == b->has_nul &&
	    a->longest_line == b->longest_line && a->smtp_octets == b->smtp_octets &&
	    a->ends_in_cr == b->ends_in_cr && a->open_line == b->open_line;
}

/* The facts of a body worked out the plain way, a byte at a time; the
 * SMTP octets as RFC 1870 counts the text DATA sends: a CR or a LF is the
 * two octets of a CRLF, except a LF right after a CR (the same CRLF). */
static struct body_facts
naive_body_facts(const unsigned char *p, size_t n)
{
	struct body_facts f = { .size = (off_t)n };
	size_t line = 0;

	for (size_t i = 0; i < n; i++) {
		f.has_8bit |= p[i] >= 0x80;
		f.has_nul |= p[i] == 0;
		line = p[i] == '\n' ? 0 : line + (p[i] != '\r');
		if (line > f.longest_line)
			f.longest_line = line;
		if (p[i] == '\r')
			f.smtp_octets += 2;
		else if (p[i] == '\n')
			f.smtp_octets += i > 0 && p[i - 1] == '\r' ? 0 : 2;
		else
			f.smtp_octets++;
	}
	f.ends_in_cr = n > 0 && p[n - 1] == '\r';
	f.open_line = n > 0 && p[n - 1] != '\r' && p[n - 1] != '\n';
	return f;
}

struct want {
	long long size, body_offset;
	bool header_8bit, header_nul;
	size_t header_longest;
	bool body_8bit, body_nul;
	size_t body_longest;
};

static void
check_facts(const char *name, const struct spool *s, const struct want *w)
{
	is_int(s->size, w->size, "%s: size", name);
	is_int(s->body_offset, w->body_offset, "%s: body_offset", name);
	is_int(s->header.size, w->body_offset, "%s: header size", name);
	is_int(s->body.size, w->size - w->body_offset, "%s: body size", name);
	ok(s->header.has_8bit == w->header_8bit && s->header.has_nul == w->header_nul,
	    "%s: header 8-bit %d, NUL %d", name, w->header_8bit, w->header_nul);
	ok(s->body.has_8bit == w->body_8bit && s->body.has_nul == w->body_nul,
	    "%s: body 8-bit %d, NUL %d", name, w->body_8bit, w->body_nul);
	is_int(s->header.longest_line, w->header_longest, "%s: header longest line", name);
	is_int(s->body.longest_line, w->body_longest, "%s: body longest line", name);
}

static void
spool_case(const char *name, const char *data, size_t n, bool has_header, const struct want *w)
{
	struct spool whole, bytes;
	char *copy = malloc(n + 1);
	int rc = peer_spool_text(data, n, has_header, &whole);

	if (copy == NULL)
		abort();
	ok(rc == 0, "%s: spooled", name);
	if (rc < 0) {
		diag("%s", fail_reason());
		free(copy);
		return;
	}
	check_facts(name, &whole, w);
	struct body_facts plain = naive_body_facts((const unsigned char *)data + whole.body_offset,
	    n - (size_t)whole.body_offset);

	ok(same_facts(&whole.body, &plain), "%s: the body's facts and SMTP octets (%lld), as "
	    "counted a byte at a time", name, (long long)plain.smtp_octets);
	ok(spool_pread(&whole, copy, n + 1, 0) == (ssize_t)n && memcmp(copy, data, n) == 0,
	    "%s: the spool holds the input", name);
	if (n <= 5000) {
		rc = spool_from_pipe(data, n, has_header, &bytes);
		ok(rc == 0 && bytes.size == whole.size && bytes.body_offset == whole.body_offset &&
		    same_facts(&bytes.header, &whole.header) &&
		    same_facts(&bytes.body, &whole.body),
		    "%s: the same facts read one byte at a time", name);
		spool_close(&bytes);
	}
	spool_close(&whole);
	free(copy);
}

#define CASE(name, data, has_header, ...) \
	spool_case(name, data, sizeof data - 1, has_header, &(struct want){ __VA_ARGS__ })

static void
test_facts(void)
{
	CASE("LF header", "Subject: x\nTo: ab\n\nbody\n", true,
	    .size = 24, .body_offset = 19, .header_longest = 10, .body_longest = 4);
	CASE("CRLF header", "Subject: x\r\nTo: ab\r\n\r\nbody\r\n", true,
	    .size = 28, .body_offset = 22, .header_longest = 10, .body_longest = 4);
	CASE("no header wanted", "Subject: x\n\nbody\n", false,
	    .size = 17, .body_offset = 0, .body_longest = 10);
	CASE("header without body", "Subject: x\nTo: y\n", true,
	    .size = 17, .body_offset = 17, .header_longest = 10);
	CASE("header, empty line, nothing", "Subject: x\n\n", true,
	    .size = 12, .body_offset = 12, .header_longest = 10);
	CASE("empty input", "", true, .size = 0, .body_offset = 0);
	CASE("empty input, no header", "", false, .size = 0, .body_offset = 0);
	CASE("starts with an empty line", "\nbody\n", true,
	    .size = 6, .body_offset = 1, .body_longest = 4);
	CASE("starts with CRLF", "\r\nbody", true,
	    .size = 6, .body_offset = 2, .body_longest = 4);
	CASE("8-bit in the body only", "S: x\n\ncaf\xc3\xa9\n", true,
	    .size = 12, .body_offset = 6, .header_longest = 4, .body_8bit = true,
	    .body_longest = 5);
	CASE("8-bit in the header only", "S: \xe9\n\nplain\n", true,
	    .size = 12, .body_offset = 6, .header_8bit = true, .header_longest = 4,
	    .body_longest = 5);
	CASE("NUL in the body", "S: x\n\na\0b\n", true,
	    .size = 10, .body_offset = 6, .header_longest = 4, .body_nul = true,
	    .body_longest = 3);
	CASE("NUL in the header", "S: \0\n\nab\n", true,
	    .size = 9, .body_offset = 6, .header_nul = true, .header_longest = 4,
	    .body_longest = 2);
	CASE("line lengths exclude CRLF", "S: x\r\n\r\nabc\r\nabcdefg\r\nab\r\n", true,
	    .size = 26, .body_offset = 8, .header_longest = 4, .body_longest = 7);
	CASE("last line without newline is counted", "S: x\n\nab\nabcdefghij", true,
	    .size = 19, .body_offset = 6, .header_longest = 4, .body_longest = 10);
	CASE("a space-only line does not end the header", "S: x\n \nT: y\n\nb\n", true,
	    .size = 15, .body_offset = 13, .header_longest = 4, .body_longest = 1);
	CASE("later empty lines belong to the body", "S: x\n\n\n\nb\n\n", true,
	    .size = 11, .body_offset = 6, .header_longest = 4, .body_longest = 1);
	CASE("a line that is no field ends the header", "WARNING: disk full\n/dev/sda1 98%\nx\n",
	    true, .size = 35, .body_offset = 19, .header_longest = 18, .body_longest = 13);
	CASE("plain text is all body", "2024-01-01 12:00 log\nmore: x\n", true,
	    .size = 29, .body_offset = 0, .body_longest = 20);
	CASE("a space before the colon is still a field (RFC 5322 4.5.4)",
	    "Bcc : x\n\nb\n", true, .size = 11, .body_offset = 9, .header_longest = 7,
	    .body_longest = 1);
	CASE("a space inside the name is no field", "Sub ject: x\n\nb\n", true,
	    .size = 15, .body_offset = 0, .body_longest = 11);
	CASE("8-bit in the first body line counts as body", "S: x\n\xe9t\xe9\n", true,
	    .size = 9, .body_offset = 5, .header_longest = 4, .body_8bit = true,
	    .body_longest = 3);
}

/* An mbox "From " separator before the header belongs to neither part. */
static void
test_mbox_line(void)
{
	static const char mbox[] = "From alice@example.com Mon Jan  1 00:00:00 2024\nS: x\n\nb\n";
	static const char fromish[] = "From: a@x\n\nb\n";
	struct spool s;

	ok(peer_spool_text(mbox, sizeof mbox - 1, true, &s) == 0, "mbox line: spooled");
	is_int(s.header_offset, 48, "mbox line: the header starts after it");
	is_int(s.body_offset, 54, "mbox line: body after the empty line");
	spool_close(&s);
	ok(peer_spool_text(fromish, sizeof fromish - 1, true, &s) == 0, "From: field: spooled");
	is_int(s.header_offset, 0, "From: field is no mbox line");
	is_int(s.body_offset, 11, "From: field: body after the empty line");
	spool_close(&s);
}

static void
test_big(void)
{
	size_t n = 200000;
	char *data = malloc(n);
	struct want w = { 0 };

	if (data == NULL)
		abort();
	/* A header, then one line of 100000 octets crossing the 64 KiB read
	 * boundary, then short lines; CRLF endings. */
	memcpy(data, "S: x\r\n\r\n", 8);
	memset(data + 8, 'a', 100000);
	memcpy(data + 100008, "\r\n", 2);
	for (size_t i = 100010; i < n; i++)
		data[i] = i % 50 == 0 ? '\n' : 'b';
	data[150000] = (char)0x80;
	w.size = (long long)n;
	w.body_offset = 8;
	w.header_longest = 4;
	w.body_8bit = true;
	w.body_longest = 100000;
	spool_case("200000 bytes with a 100000-octet line", data, n, true, &w);

	/* The header's empty line split across the 64 KiB read boundary. */
	memset(data, 'h', n);
	memcpy(data, "X: ", 3);
	memcpy(data + 65535, "\r\n\r\n", 4);
	for (size_t i = 65539; i < n; i++)
		data[i] = 'c';
	w.size = (long long)n;
	w.body_offset = 65539;
	w.header_longest = 65535;
	w.body_8bit = false;
	w.body_longest = n - 65539;
	spool_case("empty line at the 64 KiB boundary", data, n, true, &w);
	free(data);
}

/* Random bodies over the bytes the scan cares about, the 8-bit and NUL
 * octets anywhere in an eight-byte word: the facts match the plain way's. */
static void
test_random_bodies(void)
{
	static const unsigned char alphabet[] = "ab\r\n\0\x80\xff";
	unsigned seed = 4242;
	int bad = 0;

	for (int round = 0; round < 500 && bad == 0; round++) {
		unsigned char text[200];
		size_t n = (seed = seed * 1103515245 + 12345) >> 16 & 127;
		struct spool sp;
		int odds = 1 + round % 40;	/* how rare the special bytes are */

		for (size_t i = 0; i < n; i++) {
			unsigned r = (seed = seed * 1103515245 + 12345) >> 16;

			text[i] = r % (unsigned)odds == 0 ? alphabet[(r >> 8) % 7] : 'a';
		}
		struct body_facts want = naive_body_facts(text, n);

		if (peer_spool_text((const char *)text, n, false, &sp) < 0)
			abort();
		if (!same_facts(&sp.body, &want))
			bad = round + 1;
		spool_close(&sp);
	}
	ok(bad == 0, "500 random bodies: the same facts as a byte-at-a-time scan");
	if (bad != 0)
		diag("round %d differs", bad - 1);
}

/* The RFC 1870 size of a body DATA sends after a header, as dotstuff.c
 * counts it. */
static long long
stuffer_size(const unsigned char *p, size_t n)
{
	struct smtp_stuffer st;
	long long size;

	smtp_stuff_init(&st);
	size = smtp_size_octets(&st, (const char *)p, n);
	return size + (st.at_line_start ? 0 : 2);
}

/* Random messages with a header, made of the pieces the scan decides on
 * (field names, colons, white space, mbox "From ", dots, CR, LF, 8-bit,
 * NUL): wherever the header ends, the body's facts and SMTP octets are
 * those of a byte-at-a-time count, and its size that of dotstuff.c's
 * counter; read whole from a file, and for some one byte at a time. */
static void
test_random_messages(void)
{
	static const char *const pieces[] = { "S: x", "From ", "From: a", ":", " ", "\r",
		"\n", "\r\n", ".", "a", "\x80", "X-Y", "\r\r\n" };
	unsigned seed = 1717;
	int bad = 0, bytewise_bad = 0;

	for (int round = 0; round < 600 && bad == 0 && bytewise_bad == 0; round++) {
		char text[400];
		size_t n = 0, count = (seed = seed * 1103515245 + 12345) >> 16 & 63;
		struct spool sp, one;

		for (size_t i = 0; i < count; i++) {
			unsigned r = (seed = seed * 1103515245 + 12345) >> 16;
			const char *piece = pieces[r % (sizeof pieces / sizeof *pieces)];

			memcpy(text + n, piece, strlen(piece));
			n += strlen(piece);
		}
		text[n] = round % 3 == 0 ? '\0' : 'z';	/* a NUL in the body, now and then */
		n += round % 2;
		if (peer_spool_text(text, n, true, &sp) < 0)
			abort();
		const unsigned char *body = (const unsigned char *)text + sp.body_offset;
		size_t body_n = n - (size_t)sp.body_offset;
		struct body_facts want = naive_body_facts(body, body_n);

		if (!same_facts(&sp.body, &want) ||
		    stuffer_size(body, body_n) != want.smtp_octets + (want.open_line ? 2 : 0))
			bad = round + 1;
		if (round % 20 == 0 && bad == 0) {
			if (spool_from_pipe(text, n, true, &one) < 0)
				abort();
			if (one.body_offset != sp.body_offset || !same_facts(&one.body, &want))
				bytewise_bad = round + 1;
			spool_close(&one);
		}
		spool_close(&sp);
	}
	ok(bad == 0, "600 random messages: the body's SMTP octets as counted a byte at a "
	    "time and by dotstuff.c");
	ok(bytewise_bad == 0, "30 of them read one byte at a time: the same");
	if (bad != 0 || bytewise_bad != 0)
		diag("round %d differs", (bad != 0 ? bad : bytewise_bad) - 1);
}

int
main(void)
{
	alarm(120);
	test_facts();
	test_random_bodies();
	test_random_messages();
	test_mbox_line();
	test_big();
	return done_testing();
}
