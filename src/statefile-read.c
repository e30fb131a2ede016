/*
 * Reading a state file (statefile.h): in large blocks, each line parsed
 * where it lies, and the digests and file names of its entries left in it,
 * read back on demand through the set's backing (uidlset.h), so that a
 * state of 50,000 entries holds about 60 bytes a message in memory rather
 * than 160.  The tokens and the entry syntax are statefile.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir.h"
#include "statefile-private.h"
#include "status.h"
#include "strbuf.h"
#include "xalloc.h"

/* A state is read in blocks of this size (a 50,000-entry state is 8 MB). */
#define STATE_READ_BLOCK (256 * 1024)
/* Tails are read back in windows of this size. */
#define STATE_TAIL_WINDOW 65536

/* ---- the state file ---- */

int
statefile_corrupt(const char *path, unsigned long lineno, const char *what)
{
	return fail(FAIL_IO, "%s is corrupt (line %lu: %s); repair or remove it "
	    "(without it every message on the server counts as new)", path, lineno, what);
}

/* A state file read in large blocks (one read(2) per STATE_READ_BLOCK
 * octets, no stdio), each line parsed where it lies in the block. */
struct reader {
	int fd;
	const char *path;
	char *buf;			/* STATE_READ_BLOCK octets */
	size_t start, end;		/* the unread octets: buf[start..end) */
	unsigned long long buf_off;	/* the file offset of buf[0] */
	bool eof;
	char *line;			/* the current line, its newline a NUL */
	size_t line_len;
	unsigned long long line_off;	/* its file offset */
	unsigned long lineno;
};

/* Moves the unread octets to the front and reads more after them. */
static int
refill(struct reader *r)
{
	size_t keep = r->end - r->start;
	ssize_t n;

	memmove(r->buf, r->buf + r->start, keep);
	r->buf_off += r->start;
	r->start = 0;
	r->end = keep;
	do
		n = read(r->fd, r->buf + r->end, STATE_READ_BLOCK - r->end);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return fail(FAIL_IO, "cannot read %s: %s", r->path, strerror(errno));
	r->end += (size_t)n;
	r->eof = n == 0;
	return 0;
}

/* The next line: 1, or 0 at the end of the file; -1 (recorded) for a
 * line too long or unterminated. */
static int
next_line(struct reader *r)
{
	char *nl;

	while ((nl = memchr(r->buf + r->start, '\n', r->end - r->start)) == NULL) {
		if (r->end - r->start > STATE_LINE_MAX)
			return statefile_corrupt(r->path, r->lineno + 1, "line too long");
		if (r->eof)
			return r->end == r->start ? 0 : statefile_corrupt(r->path, r->lineno + 1,
			    "truncated (no end line)");
		if (refill(r) < 0)
			return -1;
	}
	r->lineno++;
	if ((size_t)(nl - (r->buf + r->start)) >= STATE_LINE_MAX)
		return statefile_corrupt(r->path, r->lineno, "line too long");
	*nl = '\0';
	r->line = r->buf + r->start;
	r->line_len = (size_t)(nl - r->line);
	r->line_off = r->buf_off + r->start;
	r->start = (size_t)(nl - r->buf) + 1;
	return 1;
}

static int
read_magic(struct reader *r, struct state_header *h)
{
	size_t n = strlen(STATE_MAGIC);
	int got = next_line(r);

	if (got < 0)
		return -1;
	if (got == 0 || strncmp(r->line, STATE_MAGIC, n) != 0 ||
	    (strcmp(r->line + n, "1") != 0 && strcmp(r->line + n, "2") != 0))
		return statefile_corrupt(r->path, 1, "not a mailpipe-fetch state file");
	h->version = r->line[n] - '0';
	return 0;
}

/* A header line of version 2: "KEY VALUE" or "server HOST PORT"; 1 when
 * it was one, 0 when the line is something else. */
static int
header_line(struct reader *r, char *tok[], int n, struct state_header *h)
{
	static const char *const names[] = { "account", "user", "maildir" };
	char **fields[] = { &h->account, &h->user, &h->maildir };
	unsigned long long port;

	if (n == 3 && strcmp(tok[0], "server") == 0 && statefile_parse_ull(tok[2], &port) &&
	    port > 0 && port < 65536 && h->host == NULL) {
		h->host = strbuf_unescape(tok[1]);
		h->port = (unsigned)port;
		return h->host != NULL ? 1 : statefile_corrupt(r->path, r->lineno, "bad server");
	}
	for (size_t i = 0; n == 2 && i < 3; i++) {
		if (strcmp(tok[0], names[i]) != 0 || *fields[i] != NULL)
			continue;
		*fields[i] = strbuf_unescape(tok[1]);
		return *fields[i] != NULL ? 1 : statefile_corrupt(r->path, r->lineno, "bad name");
	}
	return 0;
}

/* The trailer "end COUNT": two tokens where an entry has four or six. */
static bool
is_trailer(char *tok[], int n, unsigned long long *count_r)
{
	return n == 2 && strcmp(tok[0], "end") == 0 && statefile_parse_ull(tok[1], count_r);
}

/* A parsed entry into the set: with a backing (version 2), only what a
 * run needs, its digest and file left in the file at their offset. */
static void
add_entry(struct reader *r, char *tok[], const struct uidl_entry *e, bool backed,
	struct uidl_set *set)
{
	if (!backed) {
		uidlset_add_copy(set, e);
		return;
	}
	uidlset_add_loaded(set, e, (size_t)(tok[1] - 1 - tok[0]),
	    r->line_off + (unsigned long long)(tok[4] - r->line),
	    uidlset_target_of(tok[5], strlen(tok[5])));
}

/* An entry line as the writer writes it, scanned in one pass into the
 * set (backed: version 2 only); false for any other line, left as it was
 * for the full parser. */
static bool
add_scanned(struct reader *r, struct uidl_set *set)
{
	struct statefile_scan sc;

	if (!statefile_scan_entry(r->line, r->line_len, &sc))
		return false;
	uidlset_add_loaded(set, &sc.e, sc.uidl_len, r->line_off + sc.tail,
	    sc.e.file[0] == '=' ? uidlset_target_of(sc.e.file, sc.file_len) : 0);
	return true;
}

/* Entries up to the trailer; header lines first in version 2. */
static int
read_body(struct reader *r, struct state_header *h, struct uidl_set *set, bool backed)
{
	bool in_header = h->version == 2, scan = backed && h->version == 2;
	unsigned long long expected, entries = 0;	/* of this file: set may hold more */
	struct uidl_entry e;
	char *tok[TOKENS_MAX];
	int rc, n;

	while ((rc = next_line(r)) == 1) {
		if (scan && !in_header && add_scanned(r, set)) {
			entries++;
			continue;
		}
		n = statefile_split(r->line, tok);
		if (in_header && (rc = header_line(r, tok, n, h)) != 0) {
			if (rc < 0)
				return -1;
			continue;
		}
		in_header = false;
		if (is_trailer(tok, n, &expected))
			return expected == entries ? 0 :
			    statefile_corrupt(r->path, r->lineno, "entry count mismatch");
		if (!statefile_parse_entry(tok, n, h->version, &e))
			return statefile_corrupt(r->path, r->lineno, "malformed entry");
		add_entry(r, tok, &e, backed && h->version == 2, set);
		entries++;
	}
	return rc < 0 ? -1 : statefile_corrupt(r->path, r->lineno + 1, "truncated (no end line)");
}

/* Nothing may follow the trailer. */
static int
expect_end(struct reader *r)
{
	int more = next_line(r);

	if (more < 0)
		return -1;
	return more == 0 ? 0 : statefile_corrupt(r->path, r->lineno, "data after the end");
}

/* The count the trailer announces, read from the end of the file, or 0
 * when there is none to be found.  Only a hint for sizing the set (the
 * count is checked when the trailer is read): bounded by the file's size,
 * so that a forged count cannot make a small file allocate much. */
static size_t
announced_count(int fd)
{
	char tail[64];
	struct stat st;
	ssize_t n;
	unsigned long long count;
	const char *end;

	if (fstat(fd, &st) < 0 || st.st_size <= 0)
		return 0;
	n = st.st_size < (off_t)sizeof tail - 1 ? (ssize_t)st.st_size : (ssize_t)sizeof tail - 1;
	n = pread(fd, tail, (size_t)n, st.st_size - n);
	if (n <= 0)
		return 0;
	tail[n] = '\0';
	end = strstr(tail, "\nend ");
	if (end == NULL || !statefile_parse_ull_prefix(end + 5, &count))
		return 0;
	return count <= (unsigned long long)st.st_size / STATE_ENTRY_MIN ? (size_t)count : 0;
}

static int
read_file(struct reader *r, struct state_header *h, struct uidl_set *set, bool backed)
{
	int rc = read_magic(r, h);

	if (rc == 0)
		rc = read_body(r, h, set, backed);
	if (rc == 0)
		rc = expect_end(r);
	if (rc == 0 && h->version == 2 && (h->account == NULL || h->user == NULL))
		rc = statefile_corrupt(r->path, 2, "no account or user line");
	return rc;
}

/* ---- reading the tails back ---- */

struct statefile_backing {
	int fd;
	char *path;
	char buf[STATE_TAIL_WINDOW];
	unsigned long long off;		/* the file offset of buf[0] */
	size_t len;
};

static int
changed_under_us(const struct statefile_backing *b)
{
	return fail(FAIL_IO, "%s changed while in use (a digest and file name could not be "
	    "read back); run again", b->path);
}

/* "DIGEST FILE" of text[0..len) (no newline) into t. */
static bool
parse_tail(const char *text, size_t len, struct uidl_tail *t)
{
	char copy[STATE_ENTRY_MAX], *tok[TOKENS_MAX];
	struct uidl_entry e;

	if (len >= sizeof copy)
		return false;
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (statefile_split(copy, tok) != 2 || !statefile_parse_digest(tok[0], &e) || !maildir_name_valid(tok[1]))
		return false;
	*t = (struct uidl_tail){ .has_digest = e.has_digest, .file = text + (tok[1] - copy),
		.file_len = strlen(tok[1]) };
	memcpy(t->digest, e.digest, sizeof t->digest);
	return true;
}

/* The backing's window, read from off: tails are read back in the order
 * they were loaded, so one pread serves a few hundred. */
static int
fill_window(struct statefile_backing *b, unsigned long long off)
{
	ssize_t n;

	do
		n = pread(b->fd, b->buf, sizeof b->buf, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return fail(FAIL_IO, "cannot read %s: %s", b->path, strerror(errno));
	b->off = off;
	b->len = (size_t)n;
	return 0;
}

static const char *
line_end_in_window(const struct statefile_backing *b, unsigned long long off)
{
	if (off < b->off || off >= b->off + b->len)
		return NULL;
	return memchr(b->buf + (off - b->off), '\n', b->len - (size_t)(off - b->off));
}

static int
backing_read_tail(void *ctx, unsigned long long off, struct uidl_tail *t)
{
	struct statefile_backing *b = ctx;
	const char *nl = line_end_in_window(b, off);

	if (nl == NULL && (fill_window(b, off) < 0))
		return -1;
	if (nl == NULL && (nl = line_end_in_window(b, off)) == NULL)
		return changed_under_us(b);
	if (!parse_tail(b->buf + (off - b->off), (size_t)(nl - b->buf) - (size_t)(off - b->off), t))
		return changed_under_us(b);
	return 0;
}

void
statefile_backing_free(struct statefile_backing *b)
{
	if (b == NULL)
		return;
	close(b->fd);
	free(b->path);
	free(b);
}

/* ---- loading ---- */

int
statefile_read(int fd, const char *path, struct state_header *h, struct uidl_set *set,
	struct statefile_backing **b_r)
{
	struct reader r = { .fd = fd, .path = path };
	int rc;

	memset(h, 0, sizeof *h);
	uidlset_reserve(set, announced_count(fd));
	r.buf = xmalloc(STATE_READ_BLOCK);
	rc = lseek(fd, 0, SEEK_SET) < 0 ? fail(FAIL_IO, "cannot read %s: %s", path,
	    strerror(errno)) : read_file(&r, h, set, b_r != NULL);
	free(r.buf);
	if (rc < 0) {
		state_header_free(h);
		return -1;
	}
	if (b_r != NULL) {
		*b_r = xcalloc(1, sizeof **b_r);
		**b_r = (struct statefile_backing){ .fd = fd, .path = xstrdup(path) };
		set->backing = (struct uidl_backing){ .read_tail = backing_read_tail, .ctx = *b_r };
	}
	return 0;
}

