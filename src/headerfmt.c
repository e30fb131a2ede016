/*
 * Header field text: encoded-words, phrases and folding (headerfmt.h).
 * Pure: a field is built in memory, bounded by its inputs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "header.h"
#include "headerfmt.h"
#include "xalloc.h"

#define BASE64_LENGTH(bytes) (4 * (((bytes) + 2) / 3))
/* "=?UTF-8?B?" and "?=" around the base64 text of one word. */
#define WORD_OVERHEAD 12
/* RFC 2047 2: a line that holds an encoded-word is at most 76 characters. */
#define WORD_LINE_WIDTH 76

/* Where the field being written stands. */
struct fold {
	struct strbuf *t;
	size_t column;
	/* A fold may come before the next piece: something is on the line,
	 * or it is the name of a structured field (an address list may
	 * start on the next line; unstructured text may not, see below). */
	bool may_fold;
	size_t width;		/* of this line: less once it holds a word */
};

static void
fold_start(struct fold *f, struct strbuf *t, const char *name, bool structured)
{
	f->t = t;
	f->column = strlen(name) + 1;
	f->may_fold = structured;
	f->width = HEADERFMT_FOLD_WIDTH;
	strbuf_printf(t, "%s:", name);
}

static void
fold_line(struct fold *f)
{
	strbuf_append(f->t, "\n", 1);
	f->column = 0;
	f->may_fold = false;
	f->width = HEADERFMT_FOLD_WIDTH;
}

/* " piece", on a line of its own when it would carry the line past the
 * fold width (with reserve columns to spare for what follows it).  Never
 * right after the name of unstructured text: a value that starts with a
 * line break is read with a leading space by some (python's email
 * package). */
static void
fold_piece(struct fold *f, const char *p, size_t len, size_t reserve)
{
	if (f->may_fold && f->column + 1 + len + reserve > f->width)
		fold_line(f);
	strbuf_append(f->t, " ", 1);
	strbuf_append(f->t, p, len);
	f->column += 1 + len;
	f->may_fold = true;
}

bool
headerfmt_is_plain(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return n <= max;
}

/* Plain ASCII whose every space-separated word fits a line of 998, and
 * that no reader would take for encoded-words: text holding "=?" is
 * encoded itself, so that it reads back as it was. */
static bool
is_foldable_plain(const char *s)
{
	size_t word = 0;

	if (!headerfmt_is_plain(s, SIZE_MAX) || strstr(s, "=?") != NULL)
		return false;
	for (; *s != '\0'; s++) {
		word = *s == ' ' ? 0 : word + 1;
		if (word > HEADERFMT_PLAIN_MAX)
			return false;
	}
	return true;
}

/* The bytes of text an encoded-word may hold on the current line, with
 * reserve columns kept after it: at most HEADERFMT_WORD_BYTES. */
static size_t
word_room(const struct fold *f, size_t reserve)
{
	size_t used = f->column + 1 + WORD_OVERHEAD + reserve;
	size_t room = used < WORD_LINE_WIDTH ? (WORD_LINE_WIDTH - used) / 4 * 3 : 0;

	return room < HEADERFMT_WORD_BYTES ? room : HEADERFMT_WORD_BYTES;
}

/* The length of the UTF-8 sequence at s (1 for a stray byte). */
static size_t
sequence_length(const unsigned char *s, size_t left)
{
	size_t n = 1;

	while (n < left && n < 4 && (s[n] & 0xc0) == 0x80)
		n++;
	return n;
}

/* How many of the left bytes at s fill a word of at most room bytes
 * without cutting a UTF-8 sequence (at least one sequence). */
static size_t
word_chunk(const unsigned char *s, size_t left, size_t room)
{
	size_t n = 0;

	while (n < left && n + sequence_length(s + n, left - n) <= room)
		n += sequence_length(s + n, left - n);
	return n > 0 ? n : sequence_length(s, left);
}

static void
put_word(struct fold *f, const unsigned char *s, size_t n, size_t reserve)
{
	char word[WORD_OVERHEAD + BASE64_LENGTH(HEADERFMT_WORD_BYTES) + 8];
	int b64;

	memcpy(word, "=?UTF-8?B?", 10);
	b64 = EVP_EncodeBlock((unsigned char *)word + 10, s, (int)n);
	memcpy(word + 10 + b64, "?=", 2);
	fold_piece(f, word, (size_t)b64 + WORD_OVERHEAD, reserve);
	f->width = WORD_LINE_WIDTH;
}

/* text as encoded-words filling each line.  What is left goes on a new
 * line rather than be cut when one word can hold it there: a display name
 * of up to HEADERFMT_WORD_BYTES bytes is then a single word, which every
 * decoder reads the same.  Where no fold may come and not even one UTF-8
 * sequence fits (after a long field name), the word holds one sequence
 * and its line is longer.  reserve: columns kept after the last word. */
static void
fold_words(struct fold *f, const char *text, size_t reserve)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t left = strlen(text);

	while (left > 0) {
		size_t first = sequence_length(s, left), room = word_room(f, reserve), n;

		if (f->may_fold && (room < first || (room < left && left <= HEADERFMT_WORD_BYTES)))
			fold_line(f);
		room = word_room(f, reserve);
		n = word_chunk(s, left, room >= first ? room : first);
		put_word(f, s, n, reserve);
		s += n;
		left -= n;
	}
}

/* Plain text folded at its spaces. */
static void
fold_plain(struct fold *f, const char *s, size_t len, size_t reserve)
{
	while (len > 0) {
		const char *space = memchr(s, ' ', len);
		size_t n = space != NULL ? (size_t)(space - s) : len;

		fold_piece(f, s, n, reserve);
		len -= space != NULL ? n + 1 : n;
		s += space != NULL ? n + 1 : n;
	}
}

void
headerfmt_text_field(struct strbuf *t, const char *name, const char *value)
{
	struct fold f;

	fold_start(&f, t, name, false);
	if (*value == '\0')
		strbuf_append(t, " ", 1);
	else if (is_foldable_plain(value))
		fold_plain(&f, value, strlen(value), 0);
	else
		fold_words(&f, value, 0);
	strbuf_append(t, "\n", 1);
}

void
headerfmt_ascii_field(struct strbuf *t, const char *name, const char *value)
{
	struct fold f;

	fold_start(&f, t, name, false);
	if (*value == '\0')
		strbuf_append(t, " ", 1);
	fold_plain(&f, value, strlen(value), 0);
	strbuf_append(t, "\n", 1);
}

/* One element of an address list: [start, end), and where its "<" is
 * (end when it has none). */
struct element {
	const char *start, *angle, *end;
};

/* Step over a quoted string or a comment starting at s; each returns the
 * byte after it (or the end of the text). */
static const char *
skip_quoted(const char *s)
{
	for (s++; *s != '\0' && *s != '"'; s++)
		if (*s == '\\' && s[1] != '\0')
			s++;
	return *s == '"' ? s + 1 : s;
}

static const char *
skip_comment(const char *s)
{
	int depth = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '(')
			depth++;
		else if (*s == ')' && --depth == 0)
			return s + 1;
	}
	return s;
}

/* The element starting at s; returns where the next one starts. */
static const char *
next_element(const char *s, struct element *e)
{
	bool in_angle = false;

	e->start = s;
	e->angle = NULL;
	while (*s != '\0' && (in_angle || *s != ',')) {
		if (*s == '"' && !in_angle) {
			s = skip_quoted(s);
			continue;
		}
		if (*s == '(' && !in_angle) {
			s = skip_comment(s);
			continue;
		}
		if (*s == '<' && e->angle == NULL) {
			e->angle = s;
			in_angle = true;
		} else if (*s == '>') {
			in_angle = false;
		}
		s++;
	}
	e->end = s;
	if (e->angle == NULL)
		e->angle = e->start;	/* no display name: all of it is the address */
	return *s == ',' ? s + 1 : s;
}

static void
trim(const char **start, const char **end)
{
	while (*start < *end && header_is_wsp((unsigned char)**start))
		(*start)++;
	while (*end > *start && header_is_wsp((unsigned char)(*end)[-1]))
		(*end)--;
}

static bool
ascii_between(const char *start, const char *end)
{
	for (; start < end; start++)
		if ((unsigned char)*start >= 0x80)
			return false;
	return true;
}

bool
headerfmt_address_list_ok(const char *list)
{
	struct element e;

	for (const char *s = list; *s != '\0';) {
		s = next_element(s, &e);
		if (!ascii_between(e.angle, e.end))
			return false;
	}
	return true;
}

/* A display name as given, its quotes and escapes removed when it is one
 * quoted string.  New string. */
static char *
unquoted(const char *start, const char *end)
{
	char *out, *o;

	if (end - start < 2 || *start != '"' || end[-1] != '"' || skip_quoted(start) != end)
		return xstrndup(start, (size_t)(end - start));
	out = o = xmalloc((size_t)(end - start));
	for (const char *p = start + 1; p < end - 1; p++) {
		if (*p == '\\' && p + 1 < end - 1)
			p++;
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

/* The longest display name written as one quoted string. */
#define QUOTED_MAX 200

/* A display name as pieces of the field: encoded-words, one quoted
 * string, or its words as they are. */
static void
fold_phrase(struct fold *f, const char *name)
{
	struct strbuf q = { 0 };

	/* A quoted string cannot be folded: a long one (words of up to
	 * HEADERFMT_PLAIN_MAX each, many of them) would make a line over
	 * RFC 5322's 998 octets, so it becomes encoded-words, which fold. */
	if (!headerfmt_is_plain(name, HEADERFMT_PLAIN_MAX) || strlen(name) > QUOTED_MAX) {
		fold_words(f, name, 2);
	} else if (strpbrk(name, "()<>[]:;@\\,.\"") == NULL && strstr(name, "=?") == NULL) {
		fold_plain(f, name, strlen(name), 0);
	} else {
		strbuf_append(&q, "\"", 1);
		for (const char *p = name; *p != '\0'; p++)
			strbuf_printf(&q, "%s%c", *p == '"' || *p == '\\' ? "\\" : "", *p);
		strbuf_append(&q, "\"", 1);
		fold_piece(f, q.p, q.len, 0);
		free(q.p);
	}
}

/* One mailbox: the display name (if any), then the address, with a
 * column kept for the comma that may follow. */
static void
fold_mailbox(struct fold *f, const char *display, const char *address, size_t len)
{
	if (display != NULL && *display != '\0')
		fold_phrase(f, display);
	if (len > QUOTED_MAX)	/* comments and all: fold at its spaces, as for a phrase */
		fold_plain(f, address, len, 1);
	else
		fold_piece(f, address, len, 1);
}

static void
fold_element(struct fold *f, const struct element *e)
{
	const char *name_start = e->start, *name_end = e->angle;
	const char *addr_start = e->angle, *addr_end = e->end;
	char *display;

	trim(&name_start, &name_end);
	trim(&addr_start, &addr_end);
	display = unquoted(name_start, name_end);
	fold_mailbox(f, display, addr_start, (size_t)(addr_end - addr_start));
	free(display);
}

/* Every element of one list, a comma before each but the field's
 * first; blank elements ("a, , b") left out. */
static void
fold_list(struct fold *f, const char *list, bool *first)
{
	struct element e;

	for (const char *s = list; *s != '\0';) {
		const char *start, *end;

		s = next_element(s, &e);
		start = e.start;
		end = e.end;
		trim(&start, &end);
		if (start == end)
			continue;
		if (!*first) {
			strbuf_append(f->t, ",", 1);
			f->column++;
		}
		*first = false;
		fold_element(f, &e);
	}
}

void
headerfmt_address_field(struct strbuf *t, const char *name, const struct strlist *lists)
{
	struct fold f;
	bool first = true;

	fold_start(&f, t, name, true);
	for (size_t i = 0; i < lists->count; i++)
		fold_list(&f, lists->items[i], &first);
	strbuf_append(t, "\n", 1);
}

void
headerfmt_mailbox_field(struct strbuf *t, const char *name, const char *display,
	const char *address)
{
	struct fold f;
	char *bracketed = xasprintf("<%s>", address);

	fold_start(&f, t, name, true);
	if (display != NULL && *display != '\0')
		fold_mailbox(&f, display, bracketed, strlen(bracketed));
	else
		fold_piece(&f, address, strlen(address), 0);
	free(bracketed);
	strbuf_append(t, "\n", 1);
}
