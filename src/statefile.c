/*
 * State file and journal text.  Lines are space-separated tokens; a name
 * that may hold spaces or other bytes (account, user, Maildir path) is
 * %XX-escaped, so every token is printable ASCII and a line splits the
 * same way whatever it holds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "maildir.h"
#include "statefile-private.h"
#include "status.h"
#include "strbuf.h"
#include "xalloc.h"

/* A save writes the file in pieces of about this size. */
#define STATE_FLUSH_AT 65536

/* ---- tokens ---- */

/* Splits line at runs of spaces into at most TOKENS_MAX tokens; -1 for
 * more.  By hand, in one pass: a state is read line by line at every
 * run. */
int
statefile_split(char *line, char *tok[TOKENS_MAX])
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

bool
statefile_parse_ull(const char *s, unsigned long long *v_r)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v_r = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/* Digits up to a newline or the end. */
bool
statefile_parse_ull_prefix(const char *s, unsigned long long *v_r)
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

bool
statefile_parse_digest(const char *s, struct uidl_entry *e)
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
	    !statefile_parse_ull(size, &e->size) || !parse_ll(fetched, &e->fetched))
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
	return statefile_parse_digest(tok[4], e);
}

/* Version 1: UIDL SIZE TIME FILE. */
bool
statefile_parse_entry(char *tok[], int n, int version, struct uidl_entry *e)
{
	if (version == 1)
		return n == 4 && parse_common(tok[0], tok[1], tok[2], tok[3], e);
	return n == 6 && parse_entry_v2(tok, e);
}

/* ---- the fast scanner ---- */

/* RFC 1939's UIDL characters, and every character of a Maildir name. */
static bool
printable(char ch)
{
	return (unsigned char)ch - 0x21u <= 0x7eu - 0x21u;
}

/* "DIGITS " at *p, at most max digits (so that no value overflows), into
 * *v_r; *p moves past the space. */
static bool
scan_number(const char **p, size_t max, unsigned long long *v_r)
{
	const char *s = *p;
	unsigned long long v = 0;
	size_t n = 0;

	while (n < max && (unsigned char)s[n] - (unsigned)'0' <= 9u)
		v = v * 10 + (unsigned)(s[n++] - '0');
	if (n == 0 || s[n] != ' ')
		return false;
	*v_r = v;
	*p = s + n + 1;
	return true;
}

/* Eight bytes at a time (SWAR, "SIMD within a register"): a state line
 * is mostly its digest and file name, checked here without a branch per
 * byte.  Each test sets the high bit of the bytes it finds. */
#define BYTES(x) (0x0101010101010101ull * (x))

/* Of bytes below 0x80 only (no carry crosses into the next byte): lo to hi. */
static uint64_t
bytes_in(uint64_t w, unsigned lo, unsigned hi)
{
	return (w + BYTES(0x80 - lo)) & ~(w + BYTES(0x7f - hi)) & BYTES(0x80);
}

/* Non-zero when one of w's bytes is no hex digit of either case. */
static uint64_t
unhex_bytes(uint64_t w)
{
	uint64_t low = w & BYTES(0x7f);

	return (w & BYTES(0x80)) |
	    ((bytes_in(low, '0', '9') | bytes_in(low | BYTES(0x20), 'a', 'f')) ^ BYTES(0x80));
}

/* Non-zero when one of w's bytes is outside 0x21-0x7e, a '/' or a ':'
 * (the tests for "any byte below n / above n / zero", exact for "any"
 * though not for which). */
static uint64_t
unfit_name_bytes(uint64_t w)
{
	uint64_t slash = w ^ BYTES('/'), colon = w ^ BYTES(':');

	return (((w - BYTES(0x21)) & ~w) | w | (w + BYTES(0x01)) |
	    ((slash - BYTES(1)) & ~slash) | ((colon - BYTES(1)) & ~colon)) & BYTES(0x80);
}

static uint64_t
word_at(const char *s)
{
	uint64_t w;

	memcpy(&w, s, sizeof w);
	return w;
}

/* "-" or 64 hex digits, then a space, in the line that ends at end. */
static bool
scan_digest(const char **p, const char *end, bool *has_r)
{
	const char *s = *p;
	size_t n = 1;
	uint64_t bad = 0;

	*has_r = s[0] != '-';
	if (*has_r) {
		n = 2 * UIDL_DIGEST_SIZE;
		if ((size_t)(end - s) <= n)
			return false;
		for (size_t i = 0; i < n; i += 8)
			bad |= unhex_bytes(word_at(s + i));
	}
	if (bad || s[n] != ' ')
		return false;
	*p = s + n + 1;
	return true;
}

/* s[0..n) is a Maildir name (maildir_name_valid()'s rule). */
static bool
scan_file(const char *s, size_t n)
{
	uint64_t bad = 0;
	size_t i = 0;

	if (n == 0 || n >= MAILDIR_NAME_MAX || s[0] == '.')
		return false;
	for (; i + 8 <= n; i += 8)
		bad |= unfit_name_bytes(word_at(s + i));
	for (; i < n; i++)
		bad |= (unsigned char)s[i] - 0x21u > 0x7eu - 0x21u || s[i] == '/' || s[i] == ':';
	return !bad;
}

/* "-" or "D", then a space. */
static bool
scan_flags(const char **p, bool *delete_requested_r)
{
	const char *s = *p;

	if ((s[0] != '-' && s[0] != 'D') || s[1] != ' ')
		return false;
	*delete_requested_r = s[0] == 'D';
	*p = s + 2;
	return true;
}

bool
statefile_scan_entry(char *line, size_t len, struct statefile_scan *sc)
{
	const char *p = line;
	unsigned long long fetched;
	bool negative;
	size_t n = 0;

	memset(sc, 0, sizeof *sc);
	while (n <= UIDL_MAX && printable(p[n]))
		n++;
	if (n == 0 || n > UIDL_MAX || p[n] != ' ')
		return false;
	p += n + 1;
	if (!scan_number(&p, 19, &sc->e.size))
		return false;
	negative = *p == '-';
	p += negative;
	if (!scan_number(&p, 18, &fetched) || !scan_flags(&p, &sc->e.delete_requested))
		return false;
	sc->tail = (size_t)(p - line);
	if (!scan_digest(&p, line + len, &sc->e.has_digest))
		return false;
	sc->file_len = len - (size_t)(p - line);
	if (!scan_file(p, sc->file_len))
		return false;
	sc->e.fetched = negative ? -(long long)fetched : (long long)fetched;
	sc->e.file = line + (p - line);
	sc->e.uidl = line;
	sc->uidl_len = n;
	line[n] = '\0';
	return true;
}

/* ---- writing ---- */

/* The digest as 64 upper-case hex digits, or "-" when there is none.  By
 * hand: a save of 50,000 entries formats 50,000 of them. */
static const char *
digest_hex(bool has, const unsigned char digest[UIDL_DIGEST_SIZE],
	char hex[2 * UIDL_DIGEST_SIZE + 1])
{
	static const char digits[] = "0123456789ABCDEF";

	if (!has)
		return "-";
	for (size_t i = 0; i < UIDL_DIGEST_SIZE; i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 15];
	}
	hex[2 * UIDL_DIGEST_SIZE] = '\0';
	return hex;
}

/* "DIGEST FILE" of an entry into text (formatted the same way whether
 * the set holds them or its backing reads them back, so that a save
 * writes the same text either way); -1 (recorded) when they cannot be
 * read back. */
static int
entry_tail(const struct uidl_set *set, const struct uidl_known *k,
	char text[STATE_ENTRY_MAX], int *len_r)
{
	char hex[2 * UIDL_DIGEST_SIZE + 1];
	const unsigned char *digest;
	const char *file;
	int file_len;
	struct uidl_tail t;

	if (k->own) {
		digest = set->extras[k->tail].digest;
		file = set->extras[k->tail].file;
		file_len = (int)strlen(file);
	} else if (set->backing.read_tail == NULL) {
		return fail(FAIL_IO, "entry %s: no state file to read it back from", k->uidl);
	} else if (set->backing.read_tail(set->backing.ctx, k->tail, &t) < 0) {
		return -1;
	} else {
		digest = t.digest;
		file = t.file;
		file_len = (int)t.file_len;
	}
	*len_r = snprintf(text, STATE_ENTRY_MAX, "%s %.*s", digest_hex(k->has_digest, digest,
	    hex), file_len, file);
	return *len_r >= 0 && *len_r < STATE_ENTRY_MAX ? 0 :
	    fail(FAIL_IO, "entry %s: file name too long", k->uidl);
}

/* One formatting pass a line (strbuf_printf() measures first, then
 * prints: twice the work, for 50,000 lines a save). */
static int
put_entry(struct strbuf *b, const struct uidl_set *set, const struct uidl_known *k)
{
	char line[2 * STATE_ENTRY_MAX], tail[STATE_ENTRY_MAX];
	int tail_len = 0, n;

	if (entry_tail(set, k, tail, &tail_len) < 0)
		return -1;
	n = snprintf(line, sizeof line, "%s %llu %lld %s %.*s\n", k->uidl, k->size, k->fetched,
	    k->delete_requested ? "D" : "-", tail_len, tail);
	if (n < 0 || (size_t)n >= sizeof line)
		return fail(FAIL_IO, "entry %s: line too long", k->uidl);
	strbuf_append(b, line, (size_t)n);
	return 0;
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
flush_text(struct strbuf *b, int fd, const char *path)
{
	int rc = fs_write_all(fd, b->p, b->len);

	b->len = 0;
	return rc == 0 ? 0 : fail(FAIL_IO, "cannot write %s: %s", path, strerror(errno));
}

/* The entries and the trailer into b; with fd >= 0, b is written out
 * whenever it holds STATE_FLUSH_AT bytes, so that memory stays flat
 * whatever the size of the state. */
static int
put_entries(struct strbuf *b, const struct uidl_set *set, int fd, const char *path)
{
	for (size_t i = 0; i < set->count; i++) {
		if (put_entry(b, set, &set->entries[i]) < 0)
			return -1;
		if (fd >= 0 && b->len >= STATE_FLUSH_AT && flush_text(b, fd, path) < 0)
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
	if (put_entries(&b, set, -1, NULL) < 0) {
		free(b.p);
		return NULL;
	}
	return strbuf_take(&b, len_r);
}

int
statefile_write(int fd, const char *path, const struct state_header *h,
	const struct uidl_set *set)
{
	struct strbuf b = { 0 };
	int rc;

	put_header(&b, h);
	rc = put_entries(&b, set, fd, path);
	if (rc == 0)
		rc = flush_text(&b, fd, path);
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
	int n = statefile_split(line, tok);

	memset(r, 0, sizeof *r);
	if (version == 1) {
		r->type = 'R';
		return statefile_parse_entry(tok, n, 1, &r->e) && own_strings(&r->e);
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
	return statefile_parse_digest(tok[4], &r->e) && own_strings(&r->e);
}

char *
journal_format_retrieved(const struct uidl_entry *e, size_t n, size_t *len_r)
{
	struct strbuf b = { 0 };
	char hex[2 * UIDL_DIGEST_SIZE + 1];

	for (size_t i = 0; i < n; i++)
		strbuf_printf(&b, "R %s %llu %lld %s %s\n", e[i].uidl, e[i].size,
		    e[i].fetched, digest_hex(e[i].has_digest, e[i].digest, hex), e[i].file);
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
