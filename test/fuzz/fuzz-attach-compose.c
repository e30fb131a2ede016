/*
 * The compose path with attachments (attach.c, attach-compose.c, and
 * compose.c, headerfmt.c, userfield.c through them) on an arbitrary
 * message: what mailpipe-send -s ... --attach ... --html ... --header
 * writes into its spool before connecting.
 *
 * The input is the body (-s mode) and, with a header, the raw message
 * (raw mode); its first line, when userfield_parse() accepts it, is a
 * --header argument.  Attached: a "log.txt" file holding the whole input
 * (a text type: the UTF-8 check, quoted-printable or base64), a
 * "data.bin" holding its first half; its second half is the --html file.
 * Byte 0 chooses which of the three are given.
 *
 * Checked: the message is written (the only refusal allowed is a header
 * over HEADER_MAX); it parses again with one MIME-Version and the
 * multipart type the choice implies; every boundary of the header
 * occurs as a delimiter line exactly as often as that multipart has
 * parts, then once as its close-delimiter, and nowhere else (random and
 * checked absent from the body: no part can end early).
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "attach.h"
#include "compose.h"
#include "fuzz_common.h"
#include "spool.h"
#include "status.h"
#include "strlist.h"
#include "userfield.h"
#include "xalloc.h"

#define INPUT_MAX (64 * 1024)

static char work_dir[256];

static void
cleanup(void)
{
	char path[300];

	for (const char *const *n = (const char *const[]){ "log.txt", "data.bin",
	    "page.html", NULL }; *n != NULL; n++) {
		snprintf(path, sizeof path, "%s/%s", work_dir, *n);
		unlink(path);
	}
	rmdir(work_dir);
}

static char *
work_file(const char *name, const uint8_t *data, size_t size)
{
	char *path;
	int fd;

	if (work_dir[0] == '\0') {
		const char *tmp = getenv("TMPDIR");

		snprintf(work_dir, sizeof work_dir, "%s/fuzz-attach-XXXXXX",
		    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
		if (mkdtemp(work_dir) == NULL) {
			perror("mkdtemp");
			abort();
		}
		atexit(cleanup);
	}
	path = xasprintf("%s/%s", work_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(path);
		abort();
	}
	close(fd);
	fuzz_write_file(path, data, size);
	return path;
}

static void
spool_input(const uint8_t *data, size_t size, bool has_header, struct spool *s)
{
	int fds[2];

	if (pipe(fds) < 0)
		abort();
	if (size > 65536)
		fcntl(fds[1], F_SETPIPE_SZ, (int)size);
	if (write(fds[1], data, size) != (ssize_t)size)
		abort();
	close(fds[1]);
	if (spool_read(fds[0], has_header, s) < 0)
		abort();
	close(fds[0]);
}

/* The text of the spool, NUL-terminated (a NUL inside counts as data). */
static char *
spool_text(const struct spool *s)
{
	char *p = xmalloc((size_t)s->size + 1);

	FUZZ_CHECK(pread(s->fd, p, (size_t)s->size, 0) == s->size);
	p[s->size] = '\0';
	return p;
}

/* Delimiter lines "--b" and close-delimiter lines "--b--" in text; b
 * anywhere else but its own boundary="b" line is a violation. */
static void
count_delimiters(const char *text, size_t len, const char *b, size_t *open, size_t *close)
{
	size_t blen = strlen(b);

	*open = *close = 0;
	for (const char *p = text; p < text + len;) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t line = nl != NULL ? (size_t)(nl - p) : (size_t)(text + len - p);

		if (line >= 2 + blen && p[0] == '-' && p[1] == '-' && memcmp(p + 2, b, blen) == 0) {
			FUZZ_CHECK(line == 2 + blen || (line == 4 + blen && p[2 + blen] == '-' &&
			    p[3 + blen] == '-'));
			*(line == 2 + blen ? open : close) += 1;
		} else if (memmem(p, line, b, blen) != NULL) {
			FUZZ_CHECK(line == strlen(" boundary=\"\"") + blen &&
			    memcmp(p, " boundary=\"", 11) == 0);
		}
		p += line + 1;
	}
}

/* The boundary="..." of the first field "\nContent-Type: type;" (the
 * message's own Content-* fields come after those attach-compose.c
 * writes). */
static char *
boundary_of(const char *text, size_t len, const char *type)
{
	char *field = xasprintf("\nContent-Type: %s;\n boundary=\"", type);
	const char *b = memmem(text, len, field, strlen(field)), *end;

	FUZZ_CHECK(b != NULL);	/* a NUL in the message's header is data */
	b += strlen(field);
	end = memchr(b, '"', (size_t)(text + len - b));
	FUZZ_CHECK(end != NULL && end > b);
	free(field);
	return xstrndup(b, (size_t)(end - b));
}

static void
check_multipart(const char *text, size_t len, const char *type, size_t parts)
{
	char *b = boundary_of(text, len, type);
	size_t open, close;

	count_delimiters(text, len, b, &open, &close);
	FUZZ_CHECK(open == parts && close == 1);
	free(b);
}

static void
check_message(const struct spool *out, bool files, bool html)
{
	struct parsed_message m;
	char *text = spool_text(out);
	size_t len = (size_t)out->size;

	FUZZ_CHECK(compose_parse(out, &m) == 0);
	compose_free(&m, NULL);
	if (files)
		check_multipart(text, len, "multipart/mixed", 1 + 1 + 1);
	if (html)
		check_multipart(text, len, "multipart/alternative", 2);
	free(text);
}

static void
compose_once(const uint8_t *data, size_t size, bool raw, struct attachments *a,
	const struct strlist *headers, bool files, bool html)
{
	struct strlist to = { 0 };
	struct compose_options o = { .from = "a@example.test", .subject = raw ? NULL : "s",
		.to = &to, .date = "Mon, 07 Dec 2026 00:00:00 +0000",
		.message_id = "<x@example.test>", .headers = headers };
	struct parsed_message m;
	struct spool in, out = { .fd = -1 };

	strlist_push(&to, "b@example.test");
	spool_input(data, size, raw, &in);
	fail_clear();
	if (compose_parse(&in, &m) < 0) {
		FUZZ_CHECK(fail_class() == FAIL_DATA);
	} else {
		FUZZ_CHECK(attach_compose(&in, &m, &o, a, &out) == 0);
		check_message(&out, files, html);
		spool_close(&out);
	}
	fail_clear();
	compose_free(&m, NULL);
	spool_close(&in);
	strlist_free(&to);
}

static void
first_line_header(const uint8_t *data, size_t size, struct strlist *headers, char **arg)
{
	size_t n = 0;

	while (n < size && data[n] != '\n')
		n++;
	*arg = xstrndup((const char *)data, n);
	fail_clear();
	if (strlen(*arg) == n && userfield_add(headers, *arg) < 0)
		fail_clear();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attachments a = { 0 };
	struct strlist headers = { 0 };
	char *paths[3], *arg;
	bool files, html;

	if (size < 1 || size > INPUT_MAX)
		return -1;
	files = (data[0] & 1) != 0;
	html = (data[0] & 2) != 0;
	paths[0] = work_file("log.txt", data, size);
	paths[1] = work_file("data.bin", data, size / 2);
	paths[2] = work_file("page.html", data + size / 2, size - size / 2);
	if ((files && (attach_add(&a, paths[0]) < 0 || attach_add(&a, paths[1]) < 0)) ||
	    (html && attach_html(&a, paths[2]) < 0) || attach_open(&a, "/nonexistent") < 0)
		abort();
	first_line_header(data + 1, size - 1, &headers, &arg);
	compose_once(data + 1, size - 1, false, &a, &headers, files, html);
	compose_once(data + 1, size - 1, true, &a, &headers, files, html);
	attach_free(&a);
	strlist_free(&headers);
	free(arg);
	for (int i = 0; i < 3; i++)
		free(paths[i]);
	return 0;
}
