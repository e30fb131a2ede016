/*
 * Message header handling for mailpipe-send (spool.c, compose.c, and
 * address.c through them) on an arbitrary message from stdin.
 *
 * The input is the message.  It is spooled from a pipe twice: with a header
 * (raw mode, as without -s) and without (as with -s).  compose_build() runs
 * in raw mode with and without qualification and both server_8bitmime
 * values, and in -s mode with a subject, full name and To: taken from the
 * message's first lines and its recipients (filtered with
 * address_is_sendable() as mailpipe-send's address_resolve() does).
 *
 * Checked on every header built: no NUL; it ends with exactly one empty
 * line and has none before (nothing can move into the body); no Bcc field
 * survives; the spool facts add up.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "address.h"
#include "compose.h"
#include "fuzz_common.h"
#include "spool.h"
#include "status.h"
#include "strlist.h"

#define INPUT_MAX (256 * 1024)

static int
pipe_with(const uint8_t *data, size_t size)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0) {
		perror("pipe2");
		abort();
	}
	if (size > 65536)
		fcntl(fds[1], F_SETPIPE_SZ, (int)size);
	while (size > 0) {
		ssize_t w = write(fds[1], data, size);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			perror("write to pipe");
			abort();
		}
		data += w;
		size -= (size_t)w;
	}
	close(fds[1]);
	return fds[0];
}

static void
spool(const uint8_t *data, size_t size, bool has_header, struct spool *s)
{
	int fd = pipe_with(data, size);

	if (spool_read(fd, has_header, s) < 0) {
		fprintf(stderr, "spool_read: %s\n", fail_reason());
		abort();
	}
	close(fd);
	FUZZ_CHECK(s->size == (off_t)size);
	FUZZ_CHECK(s->header_offset >= 0 && s->header_offset <= s->body_offset);
	FUZZ_CHECK(s->body_offset <= s->size);
	FUZZ_CHECK(has_header || (s->header_offset == 0 && s->body_offset == 0));
	/* an mbox "From " line belongs to neither part */
	FUZZ_CHECK(s->header_offset + s->header.size + s->body.size == s->size);
	FUZZ_CHECK(s->header_offset == 0 || memcmp(data, "From ", 5) == 0);
	FUZZ_CHECK((size_t)s->body.longest_line <= size);
}

/* nul_allowed: the message's own header had a NUL byte, which is data
 * and is copied (test-compose test_nul_in_header()); nothing else may
 * bring one in. */
static void
check_header(const struct outgoing *out, bool raw, bool nul_allowed)
{
	const char *h = out->header, *end;

	FUZZ_CHECK(h != NULL);
	FUZZ_CHECK(h[out->header_length] == '\0');
	FUZZ_CHECK(nul_allowed || strlen(h) == out->header_length);
	FUZZ_CHECK(out->header_length >= 2);
	FUZZ_CHECK(memcmp(h + out->header_length - 2, "\n\n", 2) == 0);
	/* No empty line before the end.  Regression seed
	 * corpus-compose/regress-nul-header-line: a header line starting with
	 * NUL used to be copied as an empty line (fixed by spool.c ending the
	 * header at the first line that is no field). */
	FUZZ_CHECK(memmem(h, out->header_length, "\n\n", 2) == h + out->header_length - 2);
	end = h + out->header_length;
	for (const char *line = h; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));

		FUZZ_CHECK(nl != NULL);
		FUZZ_CHECK(!raw || (size_t)(end - line) < 4 || strncasecmp(line, "Bcc:", 4) != 0);
		line = nl + 1;
	}
}

/* The first line of p (at most max bytes), NUL-free; a new string. */
static char *
first_line(const char *p, size_t n, size_t max, size_t *used_r)
{
	size_t len = 0;

	while (len < n && len < max && p[len] != '\n' && p[len] != '\0')
		len++;
	*used_r = len < n ? len + 1 : len;
	return strndup(p, len);
}

static void
raw_mode(const uint8_t *data, size_t size)
{
	struct spool s;
	struct parsed_message m;
	struct strlist rcpts = { 0 };

	spool(data, size, true, &s);
	fail_clear();
	if (compose_parse(&s, &m) < 0) {
		FUZZ_CHECK(fail_class() == FAIL_DATA && s.body_offset > HEADER_MAX);
		spool_close(&s);
		return;
	}
	FUZZ_CHECK(m.body_offset == s.body_offset || m.body_offset == 0);
	compose_recipients(&m, &rcpts);
	for (int variant = 0; variant < 4; variant++) {
		struct compose_options o = {
			.from = "alice@example.org",
			.domain = variant & 1 ? "example.com" : NULL,
			.server_8bitmime = variant & 2,
		};
		struct outgoing out;

		compose_build(&m, &o, &out);
		check_header(&out, true, memchr(data, 0, size) != NULL);
		FUZZ_CHECK(out.body_offset == m.body_offset);
		FUZZ_CHECK(!out.body_as_qp || !o.server_8bitmime || m.body.has_nul ||
		    m.body.longest_line > 998);
		compose_free(NULL, &out);
	}
	strlist_free(&rcpts);
	compose_free(&m, NULL);
	spool_close(&s);
}

static void
subject_mode(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct spool s;
	struct parsed_message m;
	struct strlist found = { 0 }, to = { 0 };
	size_t used1, used2;
	char *subject = first_line(p, size, 2000, &used1);
	char *name = first_line(p + used1, size - used1, 200, &used2);
	char *list = strndup(p, size);

	address_list_extract(list, &found);
	for (size_t i = 0; i < found.count; i++)
		if (address_is_sendable(found.items[i]))
			strlist_push(&to, found.items[i]);

	spool(data, size, false, &s);
	fail_clear();
	FUZZ_CHECK(compose_parse(&s, &m) == 0);
	FUZZ_CHECK(m.count == 0 && m.body_offset == 0);
	for (int variant = 0; variant < 2; variant++) {
		struct compose_options o = {
			.from = "alice@example.org",
			.full_name = variant ? name : NULL,
			.subject = subject,
			.to = &to,
			.domain = "example.com",
			.server_8bitmime = variant,
		};
		struct outgoing out;

		compose_build(&m, &o, &out);
		check_header(&out, false, false);
		compose_free(NULL, &out);
	}
	compose_free(&m, NULL);
	spool_close(&s);
	strlist_free(&found);
	strlist_free(&to);
	free(subject);
	free(name);
	free(list);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > INPUT_MAX)
		return -1;
	raw_mode(data, size);
	subject_mode(data, size);
	fail_clear();
	return 0;
}
