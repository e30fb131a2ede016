/*
 * The state file and journal text: a round trip through format and parse
 * for names that need escaping, flags and digests; version 1 files; and
 * the malformed inputs that must be reported as corrupt, never read as an
 * emptier state; a state read with its digests and file names left in the
 * file (the backing) saves the same text, and refuses to save from a file
 * changed under it; the fast scanner of entry lines reads what the full
 * parser reads and leaves it every other line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "maildir.h"
#include "statefile-private.h"
#include "statefile.h"
#include "status.h"
#include "tap.h"

/* A file holding text, at offset 0 of an fd of its own. */
static int
file_of(const char *text)
{
	int fd = memfd_create("test.state", 0);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	return fd;
}

/* Reads text as a state file, with the set copying everything; the set
 * and header are the caller's. */
static int
read_text(const char *text, struct state_header *h, struct uidl_set *set)
{
	int fd = file_of(text), rc;

	fail_clear();
	rc = statefile_read(fd, "test.state", h, set, NULL);
	close(fd);
	return rc;
}

/* The same with a backing (*b_r, to free after the set); *fd_r the file. */
static int
read_backed(const char *text, struct state_header *h, struct uidl_set *set,
	struct statefile_backing **b_r, int *fd_r)
{
	int fd = file_of(text), rc;

	fail_clear();
	*fd_r = dup(fd);
	rc = statefile_read(fd, "test.state", h, set, b_r);
	if (rc < 0)
		close(fd);
	return rc;
}

static void
test_round_trip(void)
{
	struct state_header h = { .version = 2, .account = "my work %box", .user = "al ice",
		.maildir = "/srv/mail/back up", .host = "pop.example", .port = 995 }, back;
	struct uidl_entry e[2] = {
		{ .uidl = "u1", .file = "1.M1P1Q1R1.h", .size = 10, .fetched = 1700000000,
			.has_digest = true, .delete_requested = true },
		{ .uidl = "end", .file = "2.M2P2Q2R2.h", .size = 0, .fetched = -5 },
	};
	struct uidl_set set = { 0 }, got = { 0 };
	struct uidl_known *x;
	unsigned char digest[UIDL_DIGEST_SIZE];
	size_t len;
	char *text;

	memset(e[0].digest, 0xab, sizeof e[0].digest);
	for (int i = 0; i < 2; i++) {
		struct uidl_entry copy = e[i];

		copy.uidl = strdup(e[i].uidl);
		copy.file = strdup(e[i].file);
		uidlset_add(&set, &copy);
	}
	uidlset_compact(&set, false);
	text = statefile_format(&h, &set, &len);
	ok(strstr(text, "account my%20work%20%25box\n") != NULL, "names are %%-escaped");
	ok(strstr(text, "server pop.example 995\n") != NULL, "the server is recorded");
	ok(read_text(text, &back, &got) == 0, "it reads back (%s)", fail_reason());
	is_str(back.account, h.account, "account");
	is_str(back.user, h.user, "user");
	is_str(back.maildir, h.maildir, "maildir");
	ok(back.port == 995 && strcmp(back.host, "pop.example") == 0, "server");
	x = uidlset_find(&got, "u1");
	ok(x && x->delete_requested && x->has_digest && uidlset_digest(&got, x, digest) == 1 &&
	    digest[31] == 0xab && x->size == 10 && x->fetched == 1700000000,
	    "flags, digest, size and time");
	x = uidlset_find(&got, "end");
	ok(x && !x->delete_requested && !x->has_digest && x->fetched == -5,
	    "a UIDL called end is an entry, not the trailer");
	state_header_free(&back);
	uidlset_free(&got);
	uidlset_free(&set);
	free(text);
}

static void
test_version1(void)
{
	struct state_header h;
	struct uidl_set set = { 0 };

	ok(read_text("mailpipe-fetch state 1\nabc 12 1000 1.M1P1Q1R1.h\nend 1\n", &h, &set) == 0,
	    "a version 1 state reads");
	ok(h.version == 1 && uidlset_count(&set) == 1 && uidlset_find(&set, "abc") &&
	    !uidlset_find(&set, "abc")->has_digest, "with its entry, without a digest");
	uidlset_free(&set);
	state_header_free(&h);
}

/* A file is read into a set that may hold entries already (two version 1
 * states taken over together): its trailer counts its own entries. */
static void
test_into_a_set(void)
{
	struct state_header h;
	struct uidl_set set = { 0 };

	ok(read_text("mailpipe-fetch state 1\na 1 1 1.M1P1Q1R1.h\nend 1\n", &h, &set) == 0,
	    "a first file");
	state_header_free(&h);
	ok(read_text("mailpipe-fetch state 1\nb 2 2 2.M2P2Q2R2.h\nend 1\n", &h, &set) == 0,
	    "a second one into the same set: its count is its own (%s)", fail_reason());
	ok(uidlset_count(&set) == 2, "both entries are there");
	state_header_free(&h);
	uidlset_free(&set);
}

static void
test_corrupt(void)
{
	static const char *const bad[] = {
		"",
		"mailpipe-fetch state 3\nend 0\n",
		"mailpipe-fetch state 2\naccount a\nuser u\n",
		"mailpipe-fetch state 2\naccount a\nuser u\nend 1\n",
		"mailpipe-fetch state 2\naccount a\nuser u\nend 0\nx\n",
		"mailpipe-fetch state 2\naccount a\nuser u\nu 1 2 X - 1.M1P1Q1R1.h\nend 1\n",
		"mailpipe-fetch state 2\naccount a\nuser u\nu 1 2 - 12 1.M1P1Q1R1.h\nend 1\n",
		"mailpipe-fetch state 2\naccount a\nuser u\nu -1 2 - - 1.M1P1Q1R1.h\nend 1\n",
		"mailpipe-fetch state 2\naccount a\nuser u\nu 1 2 - - ../x\nend 1\n",
		"mailpipe-fetch state 2\naccount a%00\nuser u\nend 0\n",
		"mailpipe-fetch state 2\nuser u\nend 0\n",
		"mailpipe-fetch state 2\naccount a\nuser u\nend 0",
	};
	struct state_header h;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct uidl_set set = { 0 };

		ok(read_text(bad[i], &h, &set) < 0 && fail_class() == FAIL_IO &&
		    strstr(fail_reason(), "corrupt") != NULL, "corrupt input %zu refused", i);
		uidlset_free(&set);
	}
}

static void
test_journal(void)
{
	struct uidl_entry e = { .uidl = "u9", .file = "9.M9P9Q9R9.h", .size = 7, .fetched = 3,
		.has_digest = true };
	char *uidls[] = { "u9", "x" };
	struct journal_record r;
	size_t len;
	char *text = journal_format_retrieved(&e, 1, &len), line[200];

	ok(strncmp(text, "R u9 7 3 0000", 13) == 0 && text[len - 1] == '\n', "R record: %s",
	    text);
	snprintf(line, sizeof line, "%.*s", (int)len - 1, text);
	ok(journal_parse(line, 2, &r) && r.type == 'R' && r.e.has_digest && r.e.size == 7,
	    "and it parses back");
	uidl_entry_free(&r.e);
	free(text);
	text = journal_format_deletes(uidls, 2, &len);
	is_str(text, "D u9\nD x\n", "D records");
	free(text);
	strcpy(line, "D u9");
	ok(journal_parse(line, 2, &r) && r.type == 'D' && strcmp(r.e.uidl, "u9") == 0,
	    "a D record parses");
	uidl_entry_free(&r.e);
	strcpy(line, "u9 7 3 9.M9P9Q9R9.h");
	ok(journal_parse(line, 1, &r) && r.type == 'R', "a version 1 line is a retrieval");
	uidl_entry_free(&r.e);
	strcpy(line, "D");
	ok(!journal_parse(line, 2, &r), "a D without UIDL is malformed");
	strcpy(line, "X u9");
	ok(!journal_parse(line, 2, &r), "an unknown record type is malformed");
}

static const char backed_text[] = "mailpipe-fetch state 2\naccount a\nuser u\n"
	"a 10 100 - 0102030405060708091011121314151617181920212223242526272829303132 "
	"1.M1P1Q1R1.h\n"
	"b 20 200 D - =mbox\n"
	"c 30 300 - - 3.M3P3Q3R3.h,S=30\n"
	"end 3\n";

/* Entries whose digest and file stay in the file: every field reads back,
 * and a save writes the very text it was loaded from. */
static void
test_backed(void)
{
	struct state_header h;
	struct uidl_set set = { 0 };
	struct statefile_backing *b = NULL;
	struct uidl_entry e;
	char file[UIDL_FILE_MAX + 1], *text;
	int fd = -1;
	size_t len = 0;

	ok(read_backed(backed_text, &h, &set, &b, &fd) == 0 && b != NULL, "read with a backing "
	    "(%s)", fail_reason());
	ok(set.count == 3 && !set.entries[0].own && set.extras == NULL,
	    "no digest or file name copied");
	ok(uidlset_entry(&set, uidlset_find(&set, "a"), &e, file) == 0 && e.has_digest &&
	    e.digest[0] == 0x01 && e.digest[31] == 0x32 && strcmp(e.file, "1.M1P1Q1R1.h") == 0,
	    "a's digest and file read back");
	ok(uidlset_target(uidlset_find(&set, "b")) != NULL &&
	    strcmp(uidlset_target(uidlset_find(&set, "b")), "=mbox") == 0 &&
	    uidlset_find(&set, "b")->delete_requested, "b's target and flag known without reading");
	ok(uidlset_target(uidlset_find(&set, "c")) == NULL, "c went to a Maildir file");
	text = statefile_format(&h, &set, &len);
	is_str(text, backed_text, "saved as it was loaded");
	free(text);
	uidlset_free(&set);
	statefile_backing_free(b);
	state_header_free(&h);
	close(fd);
}

/* A file replaced in place under a loaded set (mailpipe never does; a
 * person might): nothing is saved from it. */
static void
test_backing_changed(void)
{
	struct state_header h;
	struct uidl_set set = { 0 };
	struct statefile_backing *b = NULL;
	int fd = -1;
	size_t len = 0;

	ok(read_backed(backed_text, &h, &set, &b, &fd) == 0, "read with a backing");
	ok(pwrite(fd, "zz", 2, 53) == 2, "a's digest changed in the file");
	fail_clear();
	ok(statefile_format(&h, &set, &len) == NULL && fail_class() == FAIL_IO &&
	    strstr(fail_reason(), "changed while in use") != NULL, "then nothing is saved (%s)",
	    fail_reason());
	uidlset_free(&set);
	statefile_backing_free(b);
	state_header_free(&h);
	close(fd);
}

/* ---- the fast scanner against the full parser ---- */

#define HEX64 "00112233445566778899aabbccddeeffAABBCCDDEEFF00112233445566778899"

struct scan_case {
	const char *line;
	bool scans;		/* the scanner takes it (else the parser alone) */
	bool valid;		/* the parser accepts it */
};

/* The one entry of a state file holding line, read with or without a
 * backing: 0 with *e filled (file into file), -1 when refused. */
static int
read_one(const char *line, bool backed, struct uidl_entry *e, char file[UIDL_FILE_MAX + 1],
	char uidl[UIDL_MAX + 2])
{
	char text[1024];
	struct state_header h = { 0 };
	struct uidl_set set = { 0 };
	struct statefile_backing *b = NULL;
	int fd, rc;

	snprintf(text, sizeof text, "mailpipe-fetch state 2\naccount a\nuser u\n%s\nend 1\n", line);
	rc = backed ? read_backed(text, &h, &set, &b, &fd) : read_text(text, &h, &set);
	if (rc == 0 && (set.count != 1 || uidlset_entry(&set, &set.entries[0], e, file) < 0))
		rc = -1;
	if (rc == 0) {
		snprintf(uidl, UIDL_MAX + 2, "%s", e->uidl);
		e->uidl = uidl;
	}
	if (backed && rc == 0)
		close(fd);
	statefile_backing_free(b);
	uidlset_free(&set);
	state_header_free(&h);
	return rc;
}

static bool
same_fields(const struct uidl_entry *a, const struct uidl_entry *b)
{
	return strcmp(a->uidl, b->uidl) == 0 && strcmp(a->file, b->file) == 0 &&
	    a->size == b->size && a->fetched == b->fetched &&
	    a->delete_requested == b->delete_requested && a->has_digest == b->has_digest &&
	    (!a->has_digest || memcmp(a->digest, b->digest, UIDL_DIGEST_SIZE) == 0);
}

static void
check_scan_case(const struct scan_case *c)
{
	char copy[600], fa[UIDL_FILE_MAX + 1], fb[UIDL_FILE_MAX + 1];
	char ua[UIDL_MAX + 2], ub[UIDL_MAX + 2];
	struct statefile_scan sc;
	struct uidl_entry a, b;
	int ra, rb;

	snprintf(copy, sizeof copy, "%s", c->line);
	ok(statefile_scan_entry(copy, strlen(copy), &sc) == c->scans,
	    "the scanner %s \"%.40s\"", c->scans ? "takes" : "leaves", c->line);
	ra = read_one(c->line, true, &a, fa, ua);
	rb = read_one(c->line, false, &b, fb, ub);
	ok((ra == 0) == c->valid && (rb == 0) == c->valid, "read %s with and without a backing",
	    c->valid ? "alike" : "refused");
	if (ra == 0 && rb == 0)
		ok(same_fields(&a, &b), "the same fields either way");
}

static void
test_scanner(void)
{
	static char long_uidl[80], longer_uidl[80], long_file[300], longer_file[300];
	char lines[4][320];
	struct scan_case cases[] = {
		{ "u1 12 1700000000 - - 1.M1P1Q1R1.h", true, true },
		{ "u2 7 -5 D " HEX64 " 1.M2.h,S=7", true, true },
		{ "u3 0 0 - - =mda", true, true },
		{ lines[0], true, true }, { lines[1], false, false },
		{ lines[2], true, true }, { lines[3], false, false },
		{ "u1  12 5 - - f", false, true }, { " u1 12 5 - - f", false, true },
		{ "u1 12 5 - - f ", false, true }, { "u1 12 +5 - - f", false, true },
		{ "u1 12 \t5 - - f", false, true }, { "u1 12 1000000000000000000 - - f", false, true },
		{ "u1 18446744073709551615 5 - - f", false, true },
		{ "u1 18446744073709551616 5 - - f", false, false },
		{ "u1 12 5 - - a:b", false, false }, { "u1 12 5 - - a/b", false, false },
		{ "u1 12 5 - - .f", false, false }, { "u1 12 5 X - f", false, false },
		{ "u1 12 5 -- - f", false, false }, { "u1 12 5 - " HEX64 "0 f", false, false },
		{ "u1 12 5 - 0" HEX64 " f", false, false },
		{ "u1 12 5 - g" HEX64 " f", false, false }, { "u1 12 5 - - ", false, false },
		{ "u1 12 5 - -", false, false }, { "u1 12 5 - - f g", false, false },
		{ "u1 -12 5 - - f", false, false }, { "u1 12 - - - f", false, false },
		/* a byte the name may not hold in its first, second, last word or after */
		{ "u1 12 5 - - ab:defghijklmnop", false, false },
		{ "u1 12 5 - - abcdefghij/lmnop", false, false },
		{ "u1 12 5 - - abcdefghijklmno\x7f", false, false },
		{ "u1 12 5 - - abcdefghijklmnop\xe9", false, false },
		{ "u1 12 5 - - abcdefgh\x01", false, false },
		{ "u1 12 5 - - abcdefgh~!", true, true },
		/* and in the digest */
		{ "u1 12 5 - 00112233445566778899aabbccddeeffAABBCCDDEEFF0011223344556677889G f",
		  false, false },
		{ "u1 12 5 - 0011223344556677" "\xc1" "899aabbccddeeffAABBCCDDEEFF00112233445566778899 f",
		  false, false },
		{ "u1 12 5 - 0011223344556677" "@" "899aabbccddeeffAABBCCDDEEFF00112233445566778899 f",
		  false, false },
		{ "u1 12 5 - 0011223344556677" "`" "899aabbccddeeffAABBCCDDEEFF00112233445566778899 f",
		  false, false },
		{ "u1 12 5 - 0011223344556677" "/" "899aabbccddeeffAABBCCDDEEFF00112233445566778899 f",
		  false, false },
		{ "u1 12 5 - 0011223344556677" ":" "899aabbccddeeffAABBCCDDEEFF00112233445566778899 f",
		  false, false },
		{ "u1 12 5 - 0011223344556677" "\x10" "899aabbccddeeffAABBCCDDEEFF00112233445566778899 f",
		  false, false },
		{ "u1 12 5 - 0011223344556677" "g" "899aabbccddeeffAABBCCDDEEFF00112233445566778899 f",
		  false, false },
		{ "u1 12 5 - 0011223344556677" "F" "899aabbccddeeffAABBCCDDEEFF00112233445566778899 f",
		  true, true },
	};

	memset(long_uidl, 'x', UIDL_MAX);
	memset(longer_uidl, 'x', UIDL_MAX + 1);
	memset(long_file, 'f', 255);
	memset(longer_file, 'f', 256);
	snprintf(lines[0], sizeof lines[0], "%s 1 2 - - 1.M1.h", long_uidl);
	snprintf(lines[1], sizeof lines[1], "%s 1 2 - - 1.M1.h", longer_uidl);
	snprintf(lines[2], sizeof lines[2], "u 1 2 - - %s", long_file);
	snprintf(lines[3], sizeof lines[3], "u 1 2 - - %s", longer_file);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		check_scan_case(&cases[i]);
}

/* Every byte at every place of a name and of a digest (the scanner
 * checks them eight at a time): taken exactly when the full parser's
 * rules allow it (maildir_name_valid(), a hex digit). */
static void
test_scanner_bytes(void)
{
	char line[160], copy[160];
	struct statefile_scan sc;
	bool name_ok = true, digest_ok = true;

	for (int b = 1; b < 256; b++) {
		for (size_t at = 0; at < 19; at++) {
			char name[] = "abcdefghijklmnopqrs";

			name[at] = (char)b;
			snprintf(line, sizeof line, "u 1 2 - - %s", name);
			memcpy(copy, line, sizeof copy);
			name_ok &= statefile_scan_entry(copy, strlen(copy), &sc) ==
			    (b != ' ' && maildir_name_valid(name));
		}
		for (size_t at = 0; at < 2 * UIDL_DIGEST_SIZE; at++) {
			char digest[] = HEX64;

			digest[at] = (char)b;
			snprintf(line, sizeof line, "u 1 2 - %s f", digest);
			memcpy(copy, line, sizeof copy);
			digest_ok &= statefile_scan_entry(copy, strlen(copy), &sc) ==
			    (strchr("0123456789abcdefABCDEF", b) != NULL);
		}
	}
	ok(name_ok, "each byte in a name: taken as maildir_name_valid() says");
	ok(digest_ok, "each byte in a digest: taken when a hex digit");
}

int
main(void)
{
	test_scanner();
	test_scanner_bytes();
	test_round_trip();
	test_backed();
	test_backing_changed();
	test_version1();
	test_into_a_set();
	test_corrupt();
	test_journal();
	return done_testing();
}
