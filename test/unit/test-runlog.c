/*
 * json.c, eventlog.c and runrec.c: the JSON writer escapes every hostile
 * string (controls, DEL, C1, invalid UTF-8, quotes, backslashes) so that
 * python3's json module parses the document back to the text we expect;
 * the event log's line format (bare and quoted values, escapes, absent
 * values); a log file is appended with one write, created 0600, and one
 * we must not append to (a link, a hard link, others may write) refused;
 * the server's queue id found in a final reply.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eventlog.h"
#include "json.h"
#include "progress.h"
#include "runrec.h"
#include "runreport.h"
#include "tap.h"

static char *
escaped(const char *s)
{
	struct strbuf b = { 0 };

	json_escape(&b, s);
	return strbuf_take(&b, NULL);
}

static void
check_escape(const char *in, const char *want, const char *name)
{
	char *got = escaped(in);

	is_str(got, want, "json escape: %s", name);
	free(got);
}

static const struct {
	const char *in, *json, *python, *name;
} hostile[] = {
	{ "plain", "\"plain\"", "plain", "ASCII" },
	{ "a\"b\\c", "\"a\\\"b\\\\c\"", "a\"b\\c", "quote and backslash" },
	{ "\x01\x1b[2J\n\r\t\x7f", "\"\\u0001\\u001b[2J\\u000a\\u000d\\u0009\\u007f\"",
	  "\x01\x1b[2J\n\r\t\x7f", "C0 controls and DEL" },
	{ "\xc2\x9b" "31m", "\"\\u009b31m\"", "\xc2\x9b" "31m", "C1 control (CSI)" },
	{ "caf\xc3\xa9 \xe6\x97\xa5", "\"caf\xc3\xa9 \xe6\x97\xa5\"", "caf\xc3\xa9 \xe6\x97\xa5",
	  "printable UTF-8 kept" },
	{ "x\xff\xfey", "\"x\\ufffd\\ufffdy\"", "x\xef\xbf\xbd\xef\xbf\xbdy", "invalid bytes" },
	{ "\xc0\xaf", "\"\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd", "overlong slash" },
	{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
	  "surrogate" },
	{ "\xe6\x97", "\"\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd", "cut sequence" },
};

/* The document python3 must parse back: {"v":[...]} in the order above. */
static char *
hostile_document(void)
{
	struct json j = { 0 };

	json_object_open(&j, NULL);
	json_array_open(&j, "v");
	for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++)
		json_string(&j, NULL, hostile[i].in);
	json_array_close(&j);
	json_string(&j, "k\x01\xff", NULL);
	json_int(&j, "n", -3);
	json_uint(&j, "u", 18446744073709551615ULL);
	json_number(&j, "s", 1.5);
	json_bool(&j, "b", true);
	json_object_close(&j);
	return strbuf_take(&j.out, NULL);
}

/* python3 parses doc and writes each string of "v" back as the hex of
 * its UTF-8 bytes, one per line (a lone surrogate could not be encoded
 * and fails the run). */
static char *
python_readback(const char *doc)
{
	char path[] = "/tmp/test-runlog-XXXXXX", cmd[600], *out = calloc(1, 65536);
	int fd = mkstemp(path);
	size_t n = 0;
	FILE *p;

	if (out == NULL || fd < 0 || write(fd, doc, strlen(doc)) != (ssize_t)strlen(doc))
		abort();
	close(fd);
	snprintf(cmd, sizeof cmd, "python3 -c 'import json,sys\n"
	    "d=json.load(open(sys.argv[1],encoding=\"utf-8\"))\n"
	    "assert list(d)==[\"v\",\"k\\x01\\ufffd\",\"n\",\"u\",\"s\",\"b\"], list(d)\n"
	    "assert (d[\"k\\x01\\ufffd\"],d[\"n\"],d[\"u\"],d[\"s\"],d[\"b\"])=="
	    "(None,-3,18446744073709551615,1.5,True)\n"
	    "print(\"\\n\".join(s.encode(\"utf-8\").hex() for s in d[\"v\"]))' %s", path);
	p = popen(cmd, "r");
	if (p != NULL)
		n = fread(out, 1, 65535, p);
	out[n] = '\0';
	ok(p != NULL && pclose(p) == 0, "python3's json parses the document, every member as "
	    "written");
	unlink(path);
	return out;
}

static void
hex_of(const char *s, char *out)
{
	for (; *s != '\0'; s++, out += 2)
		sprintf(out, "%02x", (unsigned char)*s);
	*out = '\0';
}

static void
test_json(void)
{
	char *doc, *back, *line, *save = NULL, want[256];
	size_t i = 0;

	for (size_t k = 0; k < sizeof hostile / sizeof hostile[0]; k++)
		check_escape(hostile[k].in, hostile[k].json, hostile[k].name);
	doc = hostile_document();
	back = python_readback(doc);
	for (line = strtok_r(back, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), i++) {
		if (i >= sizeof hostile / sizeof hostile[0])
			break;
		hex_of(hostile[i].python, want);
		is_str(line, want, "python3 reads back: %s", hostile[i].name);
	}
	is_int(i, sizeof hostile / sizeof hostile[0], "python3 gave every string back");
	free(back);
	free(doc);
}

/* ---- the event log ---- */

static void
test_line_format(void)
{
	struct strbuf b = { 0 };
	char *line;

	eventlog_begin(&b, "send");
	eventlog_str(&b, "account", "work");
	eventlog_str(&b, "from", "a.b+c@example.test");
	eventlog_str(&b, "host", NULL);
	eventlog_str(&b, "dash", "-");
	eventlog_str(&b, "empty", "");
	eventlog_num(&b, "size", 1234);
	eventlog_seconds(&b, "seconds", 0.5);
	eventlog_str(&b, "reply", "250 2.0.0 Ok: \"queued\" as \\X\x1b[2J\xff\xc3\xa9");
	line = eventlog_file_line(&b, "mailpipe-send", 0);
	ok(strncmp(line, "1970-01-01T00:00:00Z mailpipe-send[", 35) == 0,
	    "file line: UTC time and ident[pid] first");
	is_str(strchr(line, ']') + 2, "event=send account=work from=a.b+c@example.test host=- "
	    "dash=\"-\" empty=\"\" size=1234 seconds=0.50 reply=\"250 2.0.0 Ok: \\\"queued\\\" as "
	    "\\\\X\\x1b[2J\\xff\xc3\xa9\"\n", "key=value pairs: bare, quoted, escaped, absent");
	free(line);
	free(b.p);
}

static const char *
read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	return buf;
}

static int
write_event(const char *dest, const char *value)
{
	struct strbuf b = { 0 };

	eventlog_begin(&b, "test");
	eventlog_str(&b, "v", value);
	return eventlog_write(dest, "test-runlog", &b);
}

static void
test_log_file(void)
{
	char dir[] = "/tmp/test-runlog-dir-XXXXXX", path[300], other[300], buf[4096];
	struct stat st;

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof path, "%s/log", dir);
	umask(022);
	is_int(write_event(path, "one"), 0, "log file created");
	is_int(write_event(path, "two"), 0, "and appended to");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "created 0600");
	{
		const char *one = strstr(read_file(path, buf, sizeof buf), "] event=test v=one\n");
		const char *two = strstr(buf, "] event=test v=two\n");

		ok(one != NULL && two != NULL && one < two, "both lines, in order");
	}
	snprintf(other, sizeof other, "%s/link", dir);
	if (symlink(path, other) < 0)
		abort();
	is_int(write_event(other, "three"), -1, "a symbolic link is refused");
	unlink(other);
	if (link(path, other) < 0)
		abort();
	is_int(write_event(path, "four"), -1, "a file with a second name is refused");
	unlink(other);
	chmod(path, 0620);
	is_int(write_event(path, "five"), -1, "a file others may write is refused");
	ok(strstr(read_file(path, buf, sizeof buf), "three") == NULL &&
	    strstr(buf, "four") == NULL && strstr(buf, "five") == NULL, "nothing appended then");
	is_int(write_event(NULL, "six"), 0, "log none: nothing, no error");
	unlink(path);
	rmdir(dir);
}

/* ---- the record ---- */

static void
test_queue_id(void)
{
	char *id = runrec_parse_queue_id("2.0.0 Ok: queued as 4XyZ9-a_b.c; more");

	is_str(id, "4XyZ9-a_b.c", "Postfix's queue id");
	free(id);
	ok(runrec_parse_queue_id("2.0.0 Ok") == NULL, "no id when none is given");
	ok(runrec_parse_queue_id("2.0.0 queued as ") == NULL, "no id when it is empty");
}

/* ---- the numbers of the progress line and summary ---- */

static void
test_numbers(void)
{
	static const struct { unsigned long long n; const char *want; } counts[] = {
		{ 0, "0" }, { 999, "999" }, { 1000, "1,000" }, { 1234, "1,234" },
		{ 5000, "5,000" }, { 999999, "999,999" }, { 1234567, "1,234,567" },
		{ 18446744073709551615ULL, "18,446,744,073,709,551,615" },
	};
	static const struct { unsigned long long b; const char *want; } sizes[] = {
		{ 0, "0.0 MB" }, { 61234567, "61.2 MB" }, { 99949999, "99.9 MB" },
		{ 212000000, "212 MB" }, { 24500000, "24.5 MB" },
	};
	char out[32];

	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		progress_count(counts[i].n, out, sizeof out);
		is_str(out, counts[i].want, "count %llu", counts[i].n);
	}
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		progress_mb(sizes[i].b, out, sizeof out);
		is_str(out, sizes[i].want, "size %llu", sizes[i].b);
	}
	progress_count(1234567, out, 6);
	ok(strlen(out) < 6, "a count is cut to the room given, never beyond");
}

/* The way to the log and the report is trusted like the files: a
 * directory others can write (not sticky), or a link or directory of
 * another user, could point a root run's write anywhere. */
static void
test_log_dirs(void)
{
	char dir[] = "/tmp/test-runlog-dirs-XXXXXX", sub[200], path[400], lnk[200];
	struct runrec_list none = { 0 };

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(sub, sizeof sub, "%s/shared", dir);
	snprintf(path, sizeof path, "%s/log", sub);
	if (mkdir(sub, 0700) < 0 || chmod(sub, 0777) < 0)
		abort();
	is_int(write_event(path, "x"), -1, "a log in a directory others can write is refused");
	ok(access(path, F_OK) < 0, "and not created");
	snprintf(path, sizeof path, "%s/report.json", sub);
	is_int(runreport_write(path, "test", &none, 0), -1, "so is a report there");
	if (chmod(sub, 01777) < 0)
		abort();
	snprintf(path, sizeof path, "%s/log", sub);
	is_int(write_event(path, "x"), 0, "a sticky one (/tmp) is fine");
	unlink(path);
	snprintf(lnk, sizeof lnk, "%s/link", dir);
	snprintf(path, sizeof path, "%s/log", lnk);
	if (symlink(sub, lnk) < 0)
		abort();
	if (geteuid() != 0 || lchown(lnk, 65534, 65534) < 0) {
		skip("a link of another user: needs root to give it away");
	} else {
		is_int(write_event(path, "x"), -1, "a log reached through another user's link "
		    "is refused");
		if (chown(sub, 65534, 65534) < 0)
			abort();
		snprintf(path, sizeof path, "%s/log", sub);
		is_int(write_event(path, "x"), -1, "so is one in another user's directory");
		snprintf(path, sizeof path, "%s/owned", dir);
		is_int(write_event(path, "x"), 0, "a log of our own in our directory is written");
		if (chown(path, 65534, 65534) < 0)
			abort();
		is_int(write_event(path, "y"), -1, "a log file another user owns is refused");
	}
	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	if (system(path) != 0)
		diag("could not remove %s", dir);
}

int
main(void)
{
	test_json();
	test_line_format();
	test_log_file();
	test_log_dirs();
	test_queue_id();
	test_numbers();
	return done_testing();
}
