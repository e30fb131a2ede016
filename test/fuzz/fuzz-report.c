/*
 * The --report writer: runrec.c's records, runreport_format() and json.c
 * on arbitrary server and user text (account names, hosts, error lines,
 * UIDLs, addresses, SMTP replies), the only text a report carries that
 * mailpipe did not write itself.  A report is read by other programs
 * after a failure, so it must parse whatever the server said:
 *
 *   - the whole document is valid JSON (RFC 8259, checked by a strict
 *     parser here) and valid UTF-8, one object, then one newline;
 *   - json_escape() of any string decodes back to that string with each
 *     byte that is not part of well-formed UTF-8 replaced by U+FFFD (so
 *     well-formed text, C1 controls included, comes back unchanged);
 *   - the queue id found in a final reply is at most 64 characters of
 *     [A-Za-z0-9._-] that follow "queued as " in the reply.
 *
 * Input: byte 0 chooses the records (bit 0: send or fetch, bit 1: two
 * records, bit 2: no server reached, bits 3-6: the failure class); the
 * rest is cut at NULs into the strings the records are given in order
 * (a string "\x01" stands for NULL where a field may be NULL).
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz_common.h"
#include "json.h"
#include "runrec.h"
#include "runreport.h"
#include "status.h"

#define INPUT_MAX (64 * 1024)
#define STRINGS_MAX 64
/* Either case: "A" stands 6 places after "a". */
#define HEX_DIGITS "0123456789abcdefABCDEF"

struct fields {
	const char *s[STRINGS_MAX];
	size_t count, next;
};

/* The next input string; "" once they run out. */
static const char *
next_string(struct fields *f)
{
	return f->next < f->count ? f->s[f->next++] : "";
}

static const char *
next_or_null(struct fields *f)
{
	const char *s = next_string(f);

	return strcmp(s, "\x01") == 0 ? NULL : s;
}

/* Cuts text (NUL-terminated, size bytes before the terminator) at NULs. */
static void
split(char *text, size_t size, struct fields *f)
{
	size_t start = 0;

	f->count = f->next = 0;
	for (size_t i = 0; i <= size && f->count < STRINGS_MAX; i++) {
		if (text[i] == '\0') {
			f->s[f->count++] = text + start;
			start = i + 1;
		}
	}
}

/* --- UTF-8, written from RFC 3629 section 4 (not from log.c) --- */

/* The length of the well-formed sequence at s (n bytes left), or 0. */
static size_t
utf8_sequence(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xf8 ? 0 : s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 :
	    s[0] >= 0xc0 ? 2 : 0;
	static const unsigned long min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	unsigned long cp;

	if (len == 0 || len > n)
		return 0;
	cp = len == 1 ? s[0] : s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static bool
utf8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0, len; i < n; i += len)
		if ((len = utf8_sequence(s + i, n - i)) == 0)
			return false;
	return true;
}

/* What decoding json_escape(s) must give: s, each byte outside a
 * well-formed sequence replaced by U+FFFD. */
static void
expected_text(const char *s, struct strbuf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0, len; i < n; i += len ? len : 1) {
		len = utf8_sequence(p + i, n - i);
		if (len > 0)
			strbuf_append(out, s + i, len);
		else
			strbuf_append(out, "\xef\xbf\xbd", 3);
	}
}

/* --- A strict JSON parser (RFC 8259): advances *p past one value --- */

struct parse {
	const char *p, *end;
	struct strbuf *text;	/* a string's decoded value, or NULL */
};

static void
skip_blanks(struct parse *ps)
{
	while (ps->p < ps->end && strchr(" \t\r\n", *ps->p) != NULL && *ps->p != '\0')
		ps->p++;
}

static void
append_code_point(struct strbuf *b, unsigned long cp)
{
	char u[4];

	if (cp < 0x80) {
		u[0] = (char)cp;
		strbuf_append(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		strbuf_append(b, u, 2);
	} else {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		strbuf_append(b, u, 3);
	}
}

/* After a backslash: one escape, decoded.  json.c writes no surrogates. */
static bool
parse_escape(struct parse *ps)
{
	static const char plain[] = "\"\\/bfnrt", meant[] = "\"\\/\b\f\n\r\t";
	const char *at = ps->p < ps->end ? strchr(plain, *ps->p) : NULL;
	unsigned long cp = 0;

	if (at != NULL && *at != '\0') {
		if (ps->text != NULL)
			strbuf_append(ps->text, &meant[at - plain], 1);
		ps->p++;
		return true;
	}
	if (ps->end - ps->p < 5 || *ps->p != 'u')
		return false;
	for (int i = 1; i <= 4; i++) {
		const char *hex = strchr(HEX_DIGITS, ps->p[i]);

		if (hex == NULL || ps->p[i] == '\0')
			return false;
		cp = cp << 4 | (unsigned long)(hex - HEX_DIGITS < 16 ? hex - HEX_DIGITS :
		    hex - HEX_DIGITS - 6);
	}
	FUZZ_CHECK(cp < 0xd800 || cp > 0xdfff);
	if (ps->text != NULL)
		append_code_point(ps->text, cp);
	ps->p += 5;
	return true;
}

static bool
parse_string(struct parse *ps)
{
	size_t len;

	if (ps->p >= ps->end || *ps->p++ != '"')
		return false;
	while (ps->p < ps->end && *ps->p != '"') {
		if ((unsigned char)*ps->p < 0x20)
			return false;
		if (*ps->p == '\\') {
			ps->p++;
			if (!parse_escape(ps))
				return false;
			continue;
		}
		len = utf8_sequence((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
		if (len == 0)
			return false;
		if (ps->text != NULL)
			strbuf_append(ps->text, ps->p, len);
		ps->p += len;
	}
	return ps->p++ < ps->end;
}

static bool
parse_digits(struct parse *ps)
{
	const char *start = ps->p;

	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	return ps->p > start;
}

/* No exponent: json.c writes none. */
static bool
parse_number(struct parse *ps)
{
	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '0')
		ps->p++;
	else if (ps->p >= ps->end || *ps->p < '1' || *ps->p > '9' || !parse_digits(ps))
		return false;
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		return parse_digits(ps);
	}
	return true;
}

static bool parse_value(struct parse *ps, int depth);

/* The members of an object or the elements of an array, after its bracket. */
static bool
parse_container(struct parse *ps, char close, int depth)
{
	skip_blanks(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return true;
	}
	for (;;) {
		skip_blanks(ps);
		if (close == '}' && (!parse_string(ps) || (skip_blanks(ps), ps->p >= ps->end) ||
		    *ps->p++ != ':'))
			return false;
		if (!parse_value(ps, depth + 1))
			return false;
		skip_blanks(ps);
		if (ps->p >= ps->end)
			return false;
		if (*ps->p++ == close)
			return true;
		if (ps->p[-1] != ',')
			return false;
	}
}

static bool
parse_word(struct parse *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return false;
	ps->p += n;
	return true;
}

static bool
parse_value(struct parse *ps, int depth)
{
	if (depth > JSON_DEPTH_MAX)
		return false;
	skip_blanks(ps);
	if (ps->p >= ps->end)
		return false;
	switch (*ps->p) {
	case '{': ps->p++; return parse_container(ps, '}', depth);
	case '[': ps->p++; return parse_container(ps, ']', depth);
	case '"': return parse_string(ps);
	case 't': return parse_word(ps, "true");
	case 'f': return parse_word(ps, "false");
	case 'n': return parse_word(ps, "null");
	default: return parse_number(ps);
	}
}

/* --- The properties --- */

static void
check_escape_round_trip(const char *s)
{
	struct strbuf escaped = { 0 }, decoded = { 0 }, want = { 0 };
	struct parse ps;

	json_escape(&escaped, s);
	ps = (struct parse){ escaped.p, escaped.p + escaped.len, &decoded };
	FUZZ_CHECK(parse_string(&ps) && ps.p == ps.end);
	expected_text(s, &want);
	FUZZ_CHECK(decoded.len == want.len &&
	    (want.len == 0 || memcmp(decoded.p, want.p, want.len) == 0));
	if (utf8_valid((const unsigned char *)s, strlen(s)))
		FUZZ_CHECK(decoded.len == strlen(s));
	free(escaped.p);
	free(decoded.p);
	free(want.p);
}

static void
check_document(const struct strbuf *doc)
{
	struct parse ps = { doc->p, doc->p + doc->len, NULL };

	FUZZ_CHECK(doc->len > 2 && doc->p[0] == '{' && doc->p[doc->len - 1] == '\n');
	FUZZ_CHECK(utf8_valid((const unsigned char *)doc->p, doc->len));
	FUZZ_CHECK(parse_value(&ps, 0));
	FUZZ_CHECK(ps.p == ps.end - 1);
}

static void
check_queue_id(const struct runrec *r)
{
	const char *at;
	size_t n;

	if (r->queue_id == NULL)
		return;
	n = strlen(r->queue_id);
	FUZZ_CHECK(n > 0 && n <= 64 && strspn(r->queue_id, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n);
	at = strstr(r->final_reply, "queued as ");
	FUZZ_CHECK(at != NULL && strncmp(at + strlen("queued as "), r->queue_id, n) == 0);
}

/* --- The records, from the input strings --- */

static void
fill_fetch(struct runrec *r, struct fields *f)
{
	size_t failures = strlen(next_string(f)) % 4;

	for (size_t i = 0; i < failures; i++) {
		const char *uidl = next_or_null(f);

		runrec_add_failure(r, i + 1, uidl, next_string(f));
	}
	r->listed = r->new_msgs = r->retrieved = f->next;
	r->bytes = ~0ULL;
}

static void
fill_send(struct runrec *r, struct fields *f)
{
	const char *from = next_string(f), *rcpts[3];
	size_t count = strlen(next_string(f)) % 4;

	for (size_t i = 0; i < count; i++)
		rcpts[i] = next_string(f);
	runrec_envelope(r, from, rcpts, count);
	for (size_t i = 0; i < count; i++)
		runrec_rcpt_reply(r, i, i % 2 ? 550 : 250, next_string(f));
	runrec_final_reply(r, 250, next_string(f));
	r->size = -1 - (long long)f->next;
}

static void
add_record(struct runrec_list *l, unsigned flags, struct fields *f)
{
	struct runrec *r = runrec_start(l, flags & 1 ? RUNREC_SEND : RUNREC_FETCH,
	    next_string(f));
	const char *host = next_string(f), *tls = next_or_null(f);

	if (!(flags & 4))
		runrec_server(r, host, 65535, tls);
	if (r->kind == RUNREC_FETCH)
		fill_fetch(r, f);
	else
		fill_send(r, f);
	runrec_finish(r, (enum failure)((flags >> 3 & 0xf) % (FAIL_CONFIG + 1)), next_string(f));
	check_queue_id(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct runrec_list l = { 0 };
	struct strbuf doc = { 0 };
	struct fields f;
	char *text;

	if (size < 1 || size > INPUT_MAX)
		return 0;
	text = malloc(size);
	if (text == NULL)
		abort();
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	split(text, size - 1, &f);
	for (size_t i = 0; i < f.count; i++)
		check_escape_round_trip(f.s[i]);
	add_record(&l, data[0], &f);
	if (data[0] & 2)
		add_record(&l, data[0] ^ 1, &f);
	runreport_format(&doc, data[0] & 1 ? "mailpipe-send" : "mailpipe-fetch", &l,
	    status_exit_code(l.items[0]->cls));
	check_document(&doc);
	free(doc.p);
	runrec_list_free(&l);
	free(text);
	return 0;
}
