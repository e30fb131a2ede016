/*
 * State file and journal text.  Lines are space-separated tokens; a name
 * that may hold spaces or other bytes (account, user, Maildir path) is
 * %XX-escaped, so every token is printable ASCII and a line splits the
 * same way whatever it holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "fs.h"
#include "maildir.h"
#include "statefile.h"
#include "status.h"
#include "strbuf.h"
#include "xalloc.h"

#define STATE_MAGIC "mailpipe-fetch state "
/* The longest line read: a header line holds an escaped path. */
#define STATE_LINE_MAX 16384
#define TOKENS_MAX 6
/* An entry line fits here but for a very long file name (then it is
 * formatted the slow way). */
#define STATE_ENTRY_MAX 512
/* The shortest entry line, "u 0 0 f\n" (version 1). */
#define STATE_ENTRY_MIN 8
/* A save writes the file in pieces of about this size. */
#define STATE_FLUSH_AT 65536

/* ---- tokens ---- */

/* Splits line at runs of spaces into at most TOKENS_MAX tokens; -1 for
 * more.  By hand, in one pass: a state is read line by line at every
 * run. */
static int
split(char *line, char *tok[TOKENS_MAX])
{
	char *p = line;
	int n = 0;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return n;
		if (n == TOKENS_MAX)
			return -1;
		tok[n++] = p;
		while (*p != ' ' && *p != '\0')
			p++;
		if (*p == '\0')
			return n;
		*p++ = '\0';
	}
}

static bool
parse_ull(const char *s, unsigned long long *v_r)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v_r = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/* Digits up to a newline or the end. */
static bool
parse_ull_prefix(const char *s, unsigned long long *v_r)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v_r = strtoull(s, &end, 10);
	return errno == 0 && (*end == '\n' || *end == '\0');
}

static bool
parse_ll(const char *s, long long *v_r)
{
	char *end;

	errno = 0;
	*v_r = strtoll(s, &end, 10);
	return errno == 0 && end != s && *end == '\0';
}

/* 0-15 for a hex digit of either case, else -1: a table, because a
 * state of 50,000 entries holds 3.2 million digits. */
static int
hex_value(char ch)
{
	static const signed char value[256] = {
		['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
		['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13,
		['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12, ['C'] = 13,
		['D'] = 14, ['E'] = 15, ['F'] = 16,
	};

	return value[(unsigned char)ch] - 1;	/* stored plus one: 0 is "not a digit" */
}

static bool
parse_digest(const char *s, struct uidl_entry *e)
{
	size_t len = 0;

	e->has_digest = strcmp(s, "-") != 0;
	if (!e->has_digest)
		return true;
	for (len = 0; len < UIDL_DIGEST_SIZE; len++) {
		int hi = hex_value(s[2 * len]), lo = hi < 0 ? -1 : hex_value(s[2 * len + 1]);

		if (lo < 0)
			return false;
		e->digest[len] = (unsigned char)(hi << 4 | lo);
	}
	return s[2 * UIDL_DIGEST_SIZE] == '\0';
}

/* The fields every entry has: UIDL, SIZE, FETCHED, FILE.  The strings
 * are the line's (borrowed): a state file's entries are copied into the
 * set's pool, a journal record's duplicated (own_strings()). */
static bool
parse_common(char *uidl, char *size, char *fetched, char *file, struct uidl_entry *e)
{
	memset(e, 0, sizeof *e);
	if (!uidl_valid(uidl, strlen(uidl)) || !maildir_name_valid(file) ||
	    !parse_ull(size, &e->size) || !parse_ll(fetched, &e->fetched))
		return false;
	e->uidl = uidl;
	e->file = file;
	return true;
}

/* Version 2: UIDL SIZE FETCHED FLAGS DIGEST FILE. */
static bool
parse_entry_v2(char *tok[], struct uidl_entry *e)
{
	const char *flags = tok[3];

	if (strcmp(flags, "-") != 0 && strcmp(flags, "D") != 0)
		return false;
	if (!parse_common(tok[0], tok[1], tok[2], tok[5], e))
		return false;
	e->delete_requested = flags[0] == 'D';
	return parse_digest(tok[4], e);
}

/* Version 1: UIDL SIZE TIME FILE. */
static bool
parse_entry(char *tok[], int n, int version, struct uidl_entry *e)
{
	if (version == 1)
		return n == 4 && parse_common(tok[0], tok[1], tok[2], tok[3], e);
	return n == 6 && parse_entry_v2(tok, e);
}

/* ---- the state file ---- */

static int
corrupt(const char *path, unsigned long lineno, const char *what)
{
	return fail(FAIL_IO, "%s is corrupt (line %lu: %s); repair or remove it "
	    "(without it every message on the server counts as new)", path, lineno, what);
}

struct reader {
	FILE *fp;
	const char *path;
	char *line;
	size_t cap;
	unsigned long lineno;
};

/* The next line without its newline: 1, or 0 at the end of the file; -1
 * (recorded) for a line too long or unterminated. */
static int
next_line(struct reader *r)
{
	ssize_t len = getline(&r->line, &r->cap, r->fp);

	if (len < 0)
		return ferror(r->fp) ? fail(FAIL_IO, "cannot read %s: %s", r->path,
		    strerror(errno)) : 0;
	r->lineno++;
	if (len > STATE_LINE_MAX || r->line[len - 1] != '\n')
		return corrupt(r->path, r->lineno, len > STATE_LINE_MAX ? "line too long" :
		    "truncated (no end line)");
	r->line[len - 1] = '\0';
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
		return corrupt(r->path, 1, "not a mailpipe-fetch state file");
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

	if (n == 3 && strcmp(tok[0], "server") == 0 && parse_ull(tok[2], &port) &&
	    port > 0 && port < 65536 && h->host == NULL) {
		h->host = strbuf_unescape(tok[1]);
		h->port = (unsigned)port;
		return h->host != NULL ? 1 : corrupt(r->path, r->lineno, "bad server");
	}
	for (size_t i = 0; n == 2 && i < 3; i++) {
		if (strcmp(tok[0], names[i]) != 0 || *fields[i] != NULL)
			continue;
		*fields[i] = strbuf_unescape(tok[1]);
		return *fields[i] != NULL ? 1 : corrupt(r->path, r->lineno, "bad name");
	}
	return 0;
}

/* The trailer "end COUNT": two tokens where an entry has four or six. */
static bool
is_trailer(char *tok[], int n, unsigned long long *count_r)
{
	return n == 2 && strcmp(tok[0], "end") == 0 && parse_ull(tok[1], count_r);
}

/* Entries up to the trailer; header lines first in version 2. */
static int
read_body(struct reader *r, struct state_header *h, struct uidl_set *set)
{
	bool in_header = h->version == 2;
	unsigned long long expected, entries = 0;	/* of this file: set may hold more */
	struct uidl_entry e;
	char *tok[TOKENS_MAX];
	int rc, n;

	while ((rc = next_line(r)) == 1) {
		n = split(r->line, tok);
		if (in_header && (rc = header_line(r, tok, n, h)) != 0) {
			if (rc < 0)
				return -1;
			continue;
		}
		in_header = false;
		if (is_trailer(tok, n, &expected))
			return expected == entries ? 0 :
			    corrupt(r->path, r->lineno, "entry count mismatch");
		if (!parse_entry(tok, n, h->version, &e))
			return corrupt(r->path, r->lineno, "malformed entry");
		uidlset_add_copy(set, &e);
		entries++;
	}
	return rc < 0 ? -1 : corrupt(r->path, r->lineno + 1, "truncated (no end line)");
}

/* Nothing may follow the trailer. */
static int
expect_end(struct reader *r)
{
	int more = next_line(r);

	if (more < 0)
		return -1;
	return more == 0 ? 0 : corrupt(r->path, r->lineno, "data after the end");
}

/* The count the trailer announces, read from the end of the file, or 0
 * when there is none to be found.  Only a hint for sizing the set (the
 * count is checked when the trailer is read): bounded by the file's size,
 * so that a forged count cannot make a small file allocate much. */
static size_t
announced_count(FILE *fp)
{
	char tail[64];
	long size;
	size_t n;
	unsigned long long count;
	const char *end;

	if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) <= 0)
		return 0;
	n = (size_t)size < sizeof tail - 1 ? (size_t)size : sizeof tail - 1;
	if (fseek(fp, size - (long)n, SEEK_SET) != 0)
		return 0;
	n = fread(tail, 1, n, fp);
	tail[n] = '\0';
	end = strstr(tail, "\nend ");
	if (end == NULL || !parse_ull_prefix(end + 5, &count))
		return 0;
	return count <= (unsigned long long)size / STATE_ENTRY_MIN ? (size_t)count : 0;
}

int
statefile_read(FILE *fp, const char *path, struct state_header *h, struct uidl_set *set)
{
	struct reader r = { .fp = fp, .path = path };
	size_t count = announced_count(fp);
	int rc;

	memset(h, 0, sizeof *h);
	rewind(fp);
	uidlset_reserve(set, count);
	rc = read_magic(&r, h);
	if (rc == 0)
		rc = read_body(&r, h, set);
	if (rc == 0)
		rc = expect_end(&r);
	if (rc == 0 && h->version == 2 && (h->account == NULL || h->user == NULL))
		rc = corrupt(path, 2, "no account or user line");
	if (rc < 0)
		state_header_free(h);
	free(r.line);
	return rc;
}

/* The digest as 64 hex digits, or "-" when there is none. */
static const char *
digest_hex(const struct uidl_entry *e, char hex[2 * UIDL_DIGEST_SIZE + 1])
{
	if (!e->has_digest)
		return "-";
	OPENSSL_buf2hexstr_ex(hex, 2 * UIDL_DIGEST_SIZE + 1, NULL, e->digest,
	    sizeof e->digest, '\0');
	return hex;
}

/* One formatting pass a line (strbuf_printf() measures first, then
 * prints: twice the work, for 50,000 lines a save). */
static void
put_entry(struct strbuf *b, const struct uidl_entry *e)
{
	char hex[2 * UIDL_DIGEST_SIZE + 1], line[STATE_ENTRY_MAX];
	int n = snprintf(line, sizeof line, "%s %llu %lld %s %s %s\n", e->uidl, e->size,
	    e->fetched, e->delete_requested ? "D" : "-", digest_hex(e, hex), e->file);

	if (n >= 0 && (size_t)n < sizeof line)
		strbuf_append(b, line, (size_t)n);
	else
		strbuf_printf(b, "%s %llu %lld %s %s %s\n", e->uidl, e->size, e->fetched,
		    e->delete_requested ? "D" : "-", hex, e->file);
}

static void
put_header(struct strbuf *b, const struct state_header *h)
{
	strbuf_printf(b, STATE_MAGIC "%d\naccount ", STATEFILE_VERSION);
	strbuf_put_escaped(b, h->account);
	strbuf_printf(b, "\nuser ");
	strbuf_put_escaped(b, h->user);
	if (h->maildir != NULL) {
		strbuf_printf(b, "\nmaildir ");
		strbuf_put_escaped(b, h->maildir);
	}
	if (h->host != NULL) {
		strbuf_printf(b, "\nserver ");
		strbuf_put_escaped(b, h->host);
		strbuf_printf(b, " %u", h->port);
	}
	strbuf_printf(b, "\n");
}

/* Writes out what b holds and empties it (keeping its memory). */
static int
flush_text(struct strbuf *b, int fd)
{
	int rc = fs_write_all(fd, b->p, b->len);

	b->len = 0;
	return rc;
}

/* The entries and the trailer into b; with fd >= 0, b is written out
 * whenever it holds STATE_FLUSH_AT bytes, so that memory stays flat
 * whatever the size of the state. */
static int
put_entries(struct strbuf *b, const struct uidl_set *set, int fd)
{
	for (size_t i = 0; i < set->count; i++) {
		put_entry(b, &set->entries[i]);
		if (fd >= 0 && b->len >= STATE_FLUSH_AT && flush_text(b, fd) < 0)
			return -1;
	}
	strbuf_printf(b, "end %zu\n", set->count);
	return 0;
}

char *
statefile_format(const struct state_header *h, const struct uidl_set *set, size_t *len_r)
{
	struct strbuf b = { 0 };

	put_header(&b, h);
	put_entries(&b, set, -1);
	return strbuf_take(&b, len_r);
}

int
statefile_write(int fd, const struct state_header *h, const struct uidl_set *set)
{
	struct strbuf b = { 0 };
	int rc;

	put_header(&b, h);
	rc = put_entries(&b, set, fd);
	if (rc == 0)
		rc = flush_text(&b, fd);
	free(b.p);
	return rc;
}

void
state_header_free(struct state_header *h)
{
	free(h->account);
	free(h->user);
	free(h->maildir);
	free(h->host);
	memset(h, 0, sizeof *h);
}

/* ---- the journal ---- */

/* A record outlives its line: its strings become its own. */
static bool
own_strings(struct uidl_entry *e)
{
	e->uidl = xstrdup(e->uidl);
	e->file = e->file != NULL ? xstrdup(e->file) : NULL;
	return true;
}

bool
journal_parse(char *line, int version, struct journal_record *r)
{
	char *tok[TOKENS_MAX];
	int n = split(line, tok);

	memset(r, 0, sizeof *r);
	if (version == 1) {
		r->type = 'R';
		return parse_entry(tok, n, 1, &r->e) && own_strings(&r->e);
	}
	if (n == 2 && strcmp(tok[0], "D") == 0 && uidl_valid(tok[1], strlen(tok[1]))) {
		r->type = 'D';
		r->e.uidl = tok[1];
		return own_strings(&r->e);
	}
	if (n != 6 || strcmp(tok[0], "R") != 0 || !parse_common(tok[1], tok[2], tok[3],
	    tok[5], &r->e))
		return false;
	r->type = 'R';
	return parse_digest(tok[4], &r->e) && own_strings(&r->e);
}

char *
journal_format_retrieved(const struct uidl_entry *e, size_t n, size_t *len_r)
{
	struct strbuf b = { 0 };
	char hex[2 * UIDL_DIGEST_SIZE + 1];

	for (size_t i = 0; i < n; i++)
		strbuf_printf(&b, "R %s %llu %lld %s %s\n", e[i].uidl, e[i].size,
		    e[i].fetched, digest_hex(&e[i], hex), e[i].file);
	return strbuf_take(&b, len_r);
}

char *
journal_format_deletes(char *const *uidls, size_t n, size_t *len_r)
{
	struct strbuf b = { 0 };

	for (size_t i = 0; i < n; i++)
		strbuf_printf(&b, "D %s\n", uidls[i]);
	return strbuf_take(&b, len_r);
}
