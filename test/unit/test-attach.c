/*
 * Attachments: the base64 line coder against coreutils' `base64 -w 76`
 * (random sizes, split at every offset in small cases, one byte at a
 * time), the RFC 2231 file name against python3's email package (4-byte
 * UTF-8 characters at every position across a section boundary), the
 * mime.types table from a test file, the UTF-8 check, a file that grows or
 * shrinks after it was measured, and a whole message with attachments
 * read back by python3's email package.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach.h"
#include "base64-stream.h"
#include "mimefield.h"
#include "mimetype.h"
#include "status.h"
#include "tap.h"

static char dir[] = "/tmp/test-attach-XXXXXX";

struct buf {
	char *p;
	size_t len, alloc;
};

/* Grows by doubling: coding one byte at a time appends a million times. */
static void
append(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->alloc) {
		b->alloc = 2 * (b->len + n + 1);
		b->p = realloc(b->p, b->alloc);
	}
	if (b->p == NULL)
		abort();
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
append_str(struct buf *b, const char *s)
{
	append(b, s, strlen(s));
}

static char *
path_in_dir(const char *name)
{
	static char path[4096];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return path;
}

static void
write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		abort();
}

/* The whole output of a shell command. */
static struct buf
run(const char *command)
{
	struct buf out = { 0 };
	char chunk[65536];
	size_t n;
	FILE *p = popen(command, "r");

	if (p == NULL)
		abort();
	append(&out, "", 0);
	while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
		append(&out, chunk, n);
	if (pclose(p) != 0)
		diag("command failed: %s", command);
	return out;
}

static uint32_t rng = 12345;

static unsigned
next_random(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

/* Encodes in pieces: first at split, then the rest in steps of step. */
static struct buf
encode(const unsigned char *in, size_t n, size_t split, size_t step)
{
	struct b64s_encoder e;
	struct buf out = { 0 };
	char *coded = malloc(B64S_OUT_MAX(n));
	size_t done = split < n ? split : n;

	append(&out, "", 0);
	b64s_init(&e);
	append(&out, coded, b64s_encode(&e, in, done, coded));
	while (done < n) {
		size_t take = n - done < step ? n - done : step;

		append(&out, coded, b64s_encode(&e, in + done, take, coded));
		done += take;
	}
	append(&out, coded, b64s_finish(&e, coded));
	free(coded);
	return out;
}

static int
same(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

static void
check_base64_size(size_t n, int every_split)
{
	unsigned char *in = malloc(n + 1);
	char command[4200];
	struct buf want, got;
	int all = 1;

	for (size_t i = 0; i < n; i++)
		in[i] = (unsigned char)next_random();
	write_file(path_in_dir("b64.in"), in, n);
	snprintf(command, sizeof command, "base64 -w 76 %s", path_in_dir("b64.in"));
	want = run(command);
	got = encode(in, n, n, 1);
	is_mem(got.p, got.len, want.p, want.len, "base64 of %zu bytes, whole", n);
	free(got.p);
	got = encode(in, n, 0, 1);
	ok(same(&got, &want), "base64 of %zu bytes, one byte at a time", n);
	free(got.p);
	for (size_t split = 0; every_split && split <= n; split++) {
		got = encode(in, n, split, n);
		all &= same(&got, &want);
		free(got.p);
	}
	for (int i = 0; !every_split && i < 20; i++) {
		got = encode(in, n, next_random() % (n + 1), 1 + next_random() % 5000);
		all &= same(&got, &want);
		free(got.p);
	}
	ok(all, "base64 of %zu bytes, split at %s", n, every_split ? "every offset" : "random offsets");
	free(want.p);
	free(in);
}

static void
test_base64(void)
{
	static const size_t small[] = { 0, 1, 2, 3, 56, 57, 58, 113, 114, 115, 200 };

	for (size_t i = 0; i < sizeof small / sizeof small[0]; i++)
		check_base64_size(small[i], 1);
	for (int i = 0; i < 12; i++)
		check_base64_size(1 + next_random() % 300000, 0);
}

static const char decode_names_py[] =
    "import email, email.policy, sys\n"
    "data = open(sys.argv[1], 'rb').read().split(b'\\n=====\\n')\n"
    "for block in data[:-1]:\n"
    "    a = email.message_from_bytes(block, policy=email.policy.default).get_filename()\n"
    "    b = email.message_from_bytes(block).get_filename()\n"
    "    print(a.encode().hex() if a else '-', b.encode().hex() if b else '-')\n";

/* Every line of a header at most 78 columns. */
static int
lines_fit(const char *text)
{
	for (const char *p = text; *p != '\0';) {
		size_t len = strcspn(p, "\n");

		if (len > 78)
			return 0;
		p += len + (p[len] == '\n');
	}
	return 1;
}

static void
add_name(char **names, size_t *count, const char *name)
{
	names[(*count)++] = strdup(name);
}

/* Names across the 60-octet section limit: k ASCII letters, then 4-byte
 * and 2-byte characters, for every k. */
static size_t
make_names(char **names)
{
	static const char *const fixed[] = { "report.pdf", "a \"quoted\" \\ name.txt",
		"résumé.pdf", "отчёт-2026.txt", "\xf0\x9f\x98\x80.txt", "日本語のファイル名.csv",
		"a-name-that-is-much-longer-than-sixty-characters-but-plain-ascii.log" };
	size_t count = 0;
	char name[256];

	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		add_name(names, &count, fixed[i]);
	for (size_t k = 0; k < 64; k++) {
		memset(name, 'a', k);
		strcpy(name + k, "\xf0\x9f\x98\x80\xf0\x90\x8d\x88\xc3\xa9\xf0\x9f\x98\x80.bin");
		add_name(names, &count, name);
	}
	return count;
}

static void
test_rfc2231(void)
{
	char *names[100], command[8400], hex[600], want[1200];
	size_t count = make_names(names);
	struct buf headers = { 0 }, answer;
	int fits = 1;
	const char *line;

	for (size_t i = 0; i < count; i++) {
		char *param = mimefield_filename(names[i]);

		append(&headers, "Content-Disposition: attachment", 31);
		append(&headers, param, strlen(param));
		append(&headers, "\n\n=====\n", 8);
		fits &= lines_fit(param);
		free(param);
	}
	ok(fits, "every file name line within 78 columns");
	write_file(path_in_dir("names"), headers.p, headers.len);
	write_file(path_in_dir("names.py"), decode_names_py, strlen(decode_names_py));
	snprintf(command, sizeof command, "cd %s && python3 names.py names", dir);
	answer = run(command);
	line = answer.p;
	for (size_t i = 0; i < count; i++) {
		size_t o = 0, len = strcspn(line, "\n");
		char *got = strndup(line, len);

		for (const unsigned char *p = (const unsigned char *)names[i]; *p; p++)
			o += (size_t)snprintf(hex + o, sizeof hex - o, "%02x", *p);
		snprintf(want, sizeof want, "%s %s", hex, hex);
		is_str(got, want, "python3 reads back file name %zu (both policies)", i);
		free(got);
		line += len + (line[len] == '\n');
		free(names[i]);
	}
	free(answer.p);
	free(headers.p);
}

static void
test_mimetypes(void)
{
	struct mimetype_table t;
	struct buf table = { 0 };
	char longline[1500];

	memset(longline, 'x', sizeof longline - 1);
	longline[sizeof longline - 1] = '\0';
	append_str(&table, "# comment line pdf\n\ntext/plain\t\ttxt text LOG\n");
	append_str(&table, "application/pdf pdf # note\n");
	append_str(&table, "text/x-first csv\ntext/csv csv\nnot-a-type tgz\n");
	append_str(&table, "application/x-long ");
	append_str(&table, longline);
	append_str(&table, " gz\napplication/gzip\tgz");	/* no final newline */
	write_file(path_in_dir("mime.types"), table.p, table.len);
	mimetype_load(path_in_dir("mime.types"), &t);
	is_str(mimetype_lookup(&t, "a.txt"), "text/plain", "lookup by extension");
	is_str(mimetype_lookup(&t, "A.TXT"), "text/plain", "the extension's case is ignored");
	is_str(mimetype_lookup(&t, "x.log"), "text/plain", "the table's case is ignored");
	is_str(mimetype_lookup(&t, "a.b.PDF"), "application/pdf", "the last dot counts");
	is_str(mimetype_lookup(&t, "data.csv"), "text/x-first", "the first type named wins");
	is_str(mimetype_lookup(&t, "x.gz"), "application/gzip",
	    "an over-long line is skipped, the last line without LF is read");
	is_str(mimetype_lookup(&t, "x.tgz"), MIMETYPE_DEFAULT, "a malformed type is skipped");
	is_str(mimetype_lookup(&t, "x.note"), MIMETYPE_DEFAULT, "comments name nothing");
	is_str(mimetype_lookup(&t, "pdf"), MIMETYPE_DEFAULT, "no dot: no extension");
	is_str(mimetype_lookup(&t, ".txt"), MIMETYPE_DEFAULT, "a dot file has no extension");
	is_str(mimetype_lookup(&t, "x."), MIMETYPE_DEFAULT, "an empty extension");
	mimetype_free(&t);
	mimetype_load(path_in_dir("no-such-table"), &t);
	is_str(mimetype_lookup(&t, "a.txt"), MIMETYPE_DEFAULT, "no table: octet-stream");
	mimetype_free(&t);
	free(table.p);
}

static int
utf8_text(const char *s, size_t n, size_t split)
{
	struct utf8_check u;

	utf8_check_init(&u);
	utf8_check_feed(&u, s, split);
	utf8_check_feed(&u, s + split, n - split);
	return utf8_check_is_text(&u);
}

static void
test_utf8(void)
{
	static const struct {
		const char *text;
		size_t len;
		int want;
	} cases[] = {
		{ "plain", 5, 1 }, { "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80", 15, 1 },
		{ "\xc0\x80", 2, 0 }, { "\xe0\x80\x80", 3, 0 }, { "\xed\xa0\x80", 3, 0 },
		{ "\xf4\x90\x80\x80", 4, 0 }, { "\xf5\x80\x80\x80", 4, 0 }, { "\xc3", 1, 0 },
		{ "\xe2\x82", 2, 0 }, { "a\0b", 3, 0 }, { "\x80", 1, 0 }, { "\xc3\x28", 2, 0 },
		{ "\xf4\x8f\xbf\xbf", 4, 1 }, { "\xed\x9f\xbf", 3, 1 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int all = 1;

		for (size_t split = 0; split <= cases[i].len; split++)
			all &= utf8_text(cases[i].text, cases[i].len, split) == cases[i].want;
		ok(all, "UTF-8 case %zu is %s text, split anywhere", i, cases[i].want ? "" : "not");
	}
	ok(mimefield_name_ok("r\xc3\xa9sum\xc3\xa9.pdf"), "a UTF-8 name can be sent");
	ok(!mimefield_name_ok("a/b"), "a name with / cannot");
	ok(!mimefield_name_ok(""), "an empty name cannot");
	ok(!mimefield_name_ok("tab\there"), "a name with a control character cannot");
	ok(!mimefield_name_ok("latin1-\xe9.txt"), "a name not in UTF-8 cannot");
}

static const char read_message_py[] =
    "import email, email.policy, hashlib, sys\n"
    "msg = email.message_from_bytes(open(sys.argv[1], 'rb').read(),\n"
    "    policy=email.policy.default)\n"
    "parts = list(msg.iter_parts())\n"
    "print(msg.get_content_type(), len(parts))\n"
    "print(parts[0].get_payload(decode=True) == open(sys.argv[2], 'rb').read())\n"
    "for part, (path, name) in zip(parts[1:], zip(sys.argv[3::2], sys.argv[4::2])):\n"
    "    data = part.get_payload(decode=True)\n"
    "    print(part.get_filename() == name,\n"
    "        hashlib.sha256(data).digest() == hashlib.sha256(open(path, 'rb').read()).digest(),\n"
    "        part.get_content_type(), part.get_content_charset(), part['content-transfer-encoding'])\n";

/* The -s message (body in the file called body) with the attachments of
 * a, into *out. */
static int
compose_with(struct attachments *a, struct spool *out)
{
	struct strlist to = { 0 };
	struct compose_options o = { .from = "a@example.test", .subject = "t", .to = &to,
		.date = "Mon, 07 Dec 2026 00:00:00 +0000", .message_id = "<x@example.test>" };
	struct parsed_message m;
	struct spool in;
	int fd = open(path_in_dir("body"), O_RDONLY), rc;

	strlist_push(&to, "b@example.test");
	if (fd < 0 || spool_read(fd, false, &in) < 0 || compose_parse(&in, &m) < 0)
		abort();
	close(fd);
	rc = attach_open(a, path_in_dir("mime.types")) < 0 ? -1
	    : attach_compose(&in, &m, &o, a, out);
	compose_free(&m, NULL);
	spool_close(&in);
	strlist_free(&to);
	return rc;
}

static void
fill_file(const char *name, size_t n, const char *pattern)
{
	char *p = malloc(n + 1);

	for (size_t i = 0; i < n; i++)
		p[i] = pattern != NULL ? pattern[i % strlen(pattern)] : (char)next_random();
	write_file(path_in_dir(name), p, n);
	free(p);
}

/* The text of the spool file, into a file python can read. */
static void
save_spool(const struct spool *s, const char *name)
{
	char *p = malloc((size_t)s->size + 1);

	if (pread(s->fd, p, (size_t)s->size, 0) != s->size)
		abort();
	write_file(path_in_dir(name), p, (size_t)s->size);
	free(p);
}

static void
add_attachment(struct attachments *a, const char *arg)
{
	if (attach_add(a, strdup(arg)) < 0)
		abort();
}

/* The table is read for files to name, not for every message sent: a
 * message without --attach does no work for it (74 kB parsed, a sixth
 * of a plain send's instructions, before the configuration was read). */
static void
test_mimetypes_only_for_files(void)
{
	struct attachments a = { 0 };

	write_file(path_in_dir("mime.types"), "text/plain txt\n", 15);
	is_int(attach_open(&a, path_in_dir("mime.types")), 0, "no --attach: attach_open() works");
	is_int((int)a.types.count, 0, "no --attach: the mime.types table is not read");
	attach_free(&a);
	write_file(path_in_dir("a.txt"), "text\n", 5);
	add_attachment(&a, path_in_dir("a.txt"));
	is_int(attach_open(&a, path_in_dir("mime.types")), 0, "one --attach: attach_open() works");
	is_int((int)a.types.count, 1, "one --attach: the table is read");
	free((char *)a.items[0].arg);
	attach_free(&a);
}

static void
test_whole_message(void)
{
	static const char *const args[][2] = {
		{ "bin.dat", "bin.dat" }, { "text.txt", "text.txt" }, { "cyr.txt", "cyr.txt" },
		{ "latin1.txt", "latin1.txt" }, { "empty.txt", "empty.txt" },
		{ "bin.dat=Donn\xc3\xa9" "es \xf0\x9f\x98\x80.bin", "Donn\xc3\xa9" "es \xf0\x9f\x98\x80.bin" },
	};
	static const char *const want[] = {
		"True True application/octet-stream None base64",
		"True True text/plain utf-8 quoted-printable",
		"True True text/plain utf-8 base64",
		"True True application/octet-stream None base64",
		"True True text/plain utf-8 quoted-printable",
		"True True application/octet-stream None base64",
	};
	struct attachments a = { 0 };
	struct spool out = { .fd = -1 };
	char command[9000];
	size_t o;
	struct buf answer;
	const char *line;

	fill_file("body", 3000, "body text, \xc3\xa9t\xc3\xa9\n.\n");
	fill_file("bin.dat", 300000, NULL);
	fill_file("text.txt", 200000, "a log line, status 1: ok \xc3\xa9\n");
	fill_file("cyr.txt", 20000, "\xd0\xbe\xd1\x82\xd1\x87\xd1\x91\xd1\x82\n");
	fill_file("latin1.txt", 100, "caf\xe9\n");
	fill_file("empty.txt", 0, "");
	o = (size_t)snprintf(command, sizeof command, "cd %s && python3 read.py message body",
	    dir);
	for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) {
		char *path = strdup(path_in_dir(args[i][0]));

		add_attachment(&a, path);
		free(path);
		path = strdup(path_in_dir(args[i][0]));
		path[strcspn(path, "=")] = '\0';
		o += (size_t)snprintf(command + o, sizeof command - o, " '%s' '%s'", path, args[i][1]);
		free(path);
	}
	is_int(compose_with(&a, &out), 0, "a message with six attachments is written");
	save_spool(&out, "message");
	write_file(path_in_dir("read.py"), read_message_py, strlen(read_message_py));
	answer = run(command);
	line = answer.p;
	ok(strncmp(line, "multipart/mixed 7\nTrue\n", 23) == 0, "python3: multipart/mixed, "
	    "7 parts, the body part gives back the body");
	line += strcspn(line, "\n") + 1;
	line += strcspn(line, "\n") + 1;
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		size_t len = strcspn(line, "\n");

		is_mem(line, len, want[i], strlen(want[i]), "python3: attachment %zu: name, "
		    "sha256, type, charset, encoding", i);
		line += len + (line[len] == '\n');
	}
	free(answer.p);
	spool_close(&out);
	for (size_t i = 0; i < a.count; i++)
		free((char *)a.items[i].arg);
	attach_free(&a);
}

static const char read_html_py[] =
    "import email, email.policy, sys\n"
    "msg = email.message_from_bytes(open(sys.argv[1], 'rb').read(),\n"
    "    policy=email.policy.default)\n"
    "def tree(p):\n"
    "    if p.is_multipart():\n"
    "        return p.get_content_type() + '(' + ' '.join(tree(q) for q in p.iter_parts()) + ')'\n"
    "    return p.get_content_type()\n"
    "print(tree(msg))\n"
    "print(msg.get_body(('html',)).get_payload(decode=True) == open(sys.argv[3], 'rb').read(),\n"
    "    msg.get_body(('plain',)).get_payload(decode=True) == open(sys.argv[2], 'rb').read(),\n"
    "    msg.get_body(('html',)).get_content_charset())\n";

/* --html, without and with a file: the structure python3 reads, and both
 * alternatives give back their bytes. */
static void
check_html(const char *html_file, int with_file, const char *want_tree, const char *want_read)
{
	struct attachments a = { 0 };
	struct spool out = { .fd = -1 };
	char command[9000];
	struct buf answer;
	size_t len;

	if (attach_html(&a, strdup(path_in_dir(html_file))) < 0)
		abort();
	if (with_file)
		add_attachment(&a, path_in_dir("text.txt"));
	is_int(compose_with(&a, &out), 0, "--html %s%s: written", html_file,
	    with_file ? " with a file" : "");
	save_spool(&out, "html-message");
	snprintf(command, sizeof command, "cd %s && python3 html.py html-message body %s",
	    dir, html_file);
	answer = run(command);
	len = strcspn(answer.p, "\n");
	is_mem(answer.p, len, want_tree, strlen(want_tree), "  python3 reads the structure");
	is_str(answer.p + len + (answer.p[len] == '\n'), want_read,
	    "  python3 gives back both alternatives");
	free(answer.p);
	spool_close(&out);
	free((char *)a.html.arg);
	for (size_t i = 0; i < a.count; i++)
		free((char *)a.items[i].arg);
	attach_free(&a);
}

static void
test_html(void)
{
	struct attachments a = { 0 };

	write_file(path_in_dir("html.py"), read_html_py, strlen(read_html_py));
	fill_file("body", 3000, "body text, \xc3\xa9t\xc3\xa9\n.\n");
	fill_file("page.html", 5000, "<p>caf\xc3\xa9 \xf0\x9f\x98\x80</p>\n");
	fill_file("latin1.htm", 300, "<p>caf\xe9</p>\n");
	fill_file("text.txt", 2000, "a log line\n");
	check_html("page.html", 0, "multipart/alternative(text/plain text/html)",
	    "True True utf-8\n");
	check_html("latin1.htm", 1, "multipart/mixed(multipart/alternative(text/plain "
	    "text/html) text/plain)", "True True None\n");
	is_int(attach_html(&a, "x.html"), 0, "--html once: noted");
	is_int(attach_html(&a, "y.html"), -1, "--html twice: refused");
	is_int(fail_class(), FAIL_USAGE, "  as a usage error (64)");
	fail_clear();
	a.html.arg = NULL;
	is_int(attach_html(&a, "-"), -1, "--html -: refused (stdin is the body)");
	fail_clear();
	a.html.arg = strdup(path_in_dir("missing.html"));
	is_int(attach_open(&a, NULL), -1, "--html of a missing file: refused");
	ok(fail_class() == FAIL_NOINPUT && strstr(fail_reason(), "cannot open the --html file")
	    != NULL, "  as 66, with its line: %s", fail_reason());
	fail_clear();
	free((char *)a.html.arg);
	attach_free(&a);
}

/* The file is measured by attach_open(), then changed before it is read
 * for the message. */
static void
check_size_change(const char *name, off_t new_size)
{
	struct attachments a = { 0 };
	struct spool out = { .fd = -1 };
	char *path = strdup(path_in_dir(name));
	char *body = strdup(path_in_dir("body"));
	struct spool in;
	struct parsed_message m;
	struct strlist to = { 0 };
	struct compose_options o = { .from = "a@example.test", .subject = "t", .to = &to,
		.date = "Mon, 07 Dec 2026 00:00:00 +0000", .message_id = "<x@example.test>" };
	int fd = open(body, O_RDONLY);

	fill_file(name, 1000, NULL);
	add_attachment(&a, path);
	if (fd < 0 || spool_read(fd, false, &in) < 0 || compose_parse(&in, &m) < 0 ||
	    attach_open(&a, NULL) < 0 || truncate(path, new_size) < 0)
		abort();
	is_int(attach_compose(&in, &m, &o, &a, &out), -1, "%s: a file of 1000 bytes that "
	    "is %lld bytes when read is refused", name, (long long)new_size);
	is_int(fail_class(), FAIL_TEMPORARY, "%s: as a temporary failure (75)", name);
	ok(strstr(fail_reason(), "changed size while being read (1000 bytes when opened)")
	    != NULL, "%s: the line says so: %s", name, fail_reason());
	fail_clear();
	close(fd);
	compose_free(&m, NULL);
	spool_close(&in);
	free((char *)a.items[0].arg);
	attach_free(&a);
	free(path);
	free(body);
}

/* attach_open() on one argument: its result, class and line. */
static void
check_open(const char *arg, int want_rc, enum failure want_class, const char *want_line,
	const char *want_name)
{
	struct attachments a = { 0 };
	char *copy = strdup(arg);

	add_attachment(&a, copy);
	is_int(attach_open(&a, path_in_dir("mime.types")), want_rc, "attach_open(%s)", arg);
	is_int(fail_class(), want_class, "  its class");
	ok(want_line == NULL || strstr(fail_reason(), want_line) != NULL, "  its line: %s",
	    fail_reason());
	if (want_name != NULL)
		is_str(a.items[0].name, want_name, "  the name sent");
	fail_clear();
	free((char *)a.items[0].arg);
	attach_free(&a);
	free(copy);
}

static void
test_attach_names(void)
{
	struct attachments a = { 0 };
	char arg[4200];

	is_int(attach_add(&a, "-"), -1, "--attach - is refused");
	is_int(fail_class(), FAIL_USAGE, "  as a usage error (64)");
	fail_clear();
	is_int(attach_add(&a, ""), -1, "--attach \"\" is refused");
	fail_clear();
	attach_free(&a);
	fill_file("plain.log", 10, "x");
	fill_file("with=sign.log", 10, "x");
	fill_file("latin1-\xe9.log", 10, "x");
	check_open(path_in_dir("plain.log"), 0, FAIL_NONE, NULL, "plain.log");
	snprintf(arg, sizeof arg, "%s=renamed.txt", path_in_dir("plain.log"));
	check_open(arg, 0, FAIL_NONE, NULL, "renamed.txt");
	check_open(path_in_dir("with=sign.log"), 0, FAIL_NONE, NULL, "with=sign.log");
	/* FILE=NAME splits at the last "=": a FILE may hold "=", a NAME not */
	snprintf(arg, sizeof arg, "%s=renamed.txt", path_in_dir("with=sign.log"));
	check_open(arg, 0, FAIL_NONE, NULL, "renamed.txt");
	snprintf(arg, sizeof arg, "%s=a=b.txt", path_in_dir("plain.log"));
	check_open(arg, -1, FAIL_NOINPUT, "plain.log=a: ", NULL);
	snprintf(arg, sizeof arg, "%s=a/b", path_in_dir("plain.log"));
	check_open(arg, -1, FAIL_USAGE, "\"a/b\" cannot be sent as a file name", NULL);
	check_open(path_in_dir("latin1-\xe9.log"), -1, FAIL_USAGE, "give one as FILE=NAME", NULL);
	snprintf(arg, sizeof arg, "%s=", path_in_dir("plain.log"));
	check_open(arg, -1, FAIL_USAGE, "cannot be sent as a file name", NULL);
	check_open(path_in_dir("missing.log"), -1, FAIL_NOINPUT,
	    "cannot open attachment", NULL);
	check_open(dir, -1, FAIL_NOINPUT, "not a regular file", NULL);
}

int
main(void)
{
	char command[100];

	if (mkdtemp(dir) == NULL)
		abort();
	test_base64();
	test_rfc2231();
	test_mimetypes();
	test_mimetypes_only_for_files();
	test_utf8();
	test_attach_names();
	test_whole_message();
	test_html();
	check_size_change("grows.bin", 1010);
	check_size_change("shrinks.bin", 500);
	snprintf(command, sizeof command, "rm -rf %s", dir);
	if (system(command) != 0)
		diag("cannot remove %s", dir);
	return done_testing();
}
