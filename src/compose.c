/*
 * Header work for mailpipe-send.  The header is the only part of a message
 * held in memory (bounded by HEADER_MAX); the body stays in the spool and is
 * streamed by smtp.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "address.h"
#include "compose.h"
#include "header.h"
#include "random.h"
#include "status.h"
#include "strbuf.h"
#include "xalloc.h"

#define LINE_OCTETS_MAX 998	/* RFC 5322 2.1.1: a line MUST NOT be longer */
#define FOLD_WIDTH 78		/* RFC 5322 2.1.1: a line SHOULD NOT be longer */
/* Plain ASCII text up to this long goes into a field as it is: with the
 * field's name before it, its line stays within LINE_OCTETS_MAX.  Longer
 * text is split into encoded-words, which fold. */
#define PLAIN_TEXT_MAX 900
/* A Date: value, "Mon, 02 Jan 2006 15:04:05 -0700" (RFC 5322 3.3), with
 * room to spare. */
#define DATE_TEXT_MAX 64

/* Keeps a field with LF line endings inside (CRLF folding becomes LF).
 * The length is kept too: a NUL byte is data to pass on, not an end. */
static void
add_field(struct parsed_message *m, const char *start, size_t len, size_t name_length)
{
	char *text, *o;

	while (len > 0 && (start[len - 1] == '\n' || start[len - 1] == '\r'))
		len--;
	if (len == 0)
		return;		/* the empty line that ends the header */
	text = o = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		if (start[i] != '\r' || i + 1 == len || start[i + 1] != '\n')
			*o++ = start[i];
	*o = '\0';
	m->fields = xgrow(m->fields, &m->fields_alloc, m->count + 1, sizeof *m->fields);
	m->fields[m->count].text = text;
	m->fields[m->count].length = (size_t)(o - text);
	m->fields[m->count].name_length = name_length;
	m->fields[m->count].value_offset = name_length > 0 ? strcspn(text, ":") + 1 : 0;
	m->count++;
}

/* Splits the header into fields, continuation lines kept with their field.
 * spool.c has already cut the header where its fields end. */
static void
split_fields(struct parsed_message *m, const char *h, size_t len)
{
	size_t field_start = 0;

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(h + i, '\n', len - i);
		size_t next = nl != NULL ? (size_t)(nl - h) + 1 : len;

		if (next == len || !header_is_wsp((unsigned char)h[next])) {
			add_field(m, h + field_start, next - field_start,
			    header_field_name_length(h + field_start, next - field_start));
			field_start = next;
		}
		i = next;
	}
}

int
compose_parse(const struct spool *s, struct parsed_message *m)
{
	size_t len = (size_t)(s->body_offset - s->header_offset);
	char *h;

	memset(m, 0, sizeof *m);
	m->body = s->body;
	m->body_offset = s->body_offset;
	m->header_8bit = s->header.has_8bit;
	if (len == 0)
		return 0;
	if (len > HEADER_MAX)
		return fail(FAIL_DATA, "message header larger than %d bytes", HEADER_MAX);
	h = xmalloc(len);
	if (spool_pread(s, h, len, s->header_offset) != (ssize_t)len) {
		free(h);
		return fail_class() == FAIL_NONE ? fail(FAIL_IO, "short read from the spool") : -1;
	}
	split_fields(m, h, len);
	free(h);
	return 0;
}

static bool
field_is(const struct header_field *f, const char *name)
{
	return f->name_length == strlen(name) && strncasecmp(f->text, name, f->name_length) == 0;
}

static const struct header_field *
find_field(const struct parsed_message *m, const char *name)
{
	for (size_t i = 0; i < m->count; i++)
		if (field_is(&m->fields[i], name))
			return &m->fields[i];
	return NULL;
}

/* The value of a field, unfolded (CR and LF dropped), as a string to
 * parse: a NUL byte in it becomes a space, so what follows is still read. */
static char *
field_value(const struct header_field *f)
{
	const char *v = f->text + f->value_offset;
	size_t len = f->length - f->value_offset;
	char *out = xmalloc(len + 1), *o = out;

	for (size_t i = 0; i < len; i++)
		if (v[i] == '\0')
			*o++ = ' ';
		else if (v[i] != '\r' && v[i] != '\n')
			*o++ = v[i];
	*o = '\0';
	return out;
}

char *
compose_field_value(const struct parsed_message *m, const char *name)
{
	const struct header_field *f = find_field(m, name);

	return f != NULL ? field_value(f) : NULL;
}

void
compose_recipients(const struct parsed_message *m, struct strlist *out)
{
	for (size_t i = 0; i < m->count; i++) {
		const struct header_field *f = &m->fields[i];

		if (field_is(f, "To") || field_is(f, "Cc") || field_is(f, "Bcc")) {
			char *v = field_value(f);

			address_list_extract(v, out);
			free(v);
		}
	}
}

/* Leading and trailing white space removed, lower case; a new string. */
static char *
field_token(const struct header_field *f)
{
	char *v = field_value(f), *start = v + strspn(v, " \t"), *out;
	size_t len = strcspn(start, " \t;");

	out = xstrndup(start, len);
	for (char *p = out; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	free(v);
	return out;
}

/* Only a single-part text message can be re-encoded without understanding
 * its MIME structure. */
static bool
is_single_part_text(const struct parsed_message *m)
{
	const struct header_field *type = find_field(m, "Content-Type");
	const struct header_field *encoding = find_field(m, "Content-Transfer-Encoding");
	bool ok = true;

	if (type != NULL) {
		char *t = field_token(type);

		ok = strncmp(t, "text/", strlen("text/")) == 0;
		free(t);
	}
	if (ok && encoding != NULL) {
		char *e = field_token(encoding);

		ok = strcmp(e, "7bit") == 0 || strcmp(e, "8bit") == 0 || strcmp(e, "binary") == 0;
		free(e);
	}
	return ok;
}

static bool
wire_cannot_carry(const struct body_facts *b, bool server_8bitmime)
{
	return b->has_nul || b->longest_line > LINE_OCTETS_MAX || (b->has_8bit && !server_8bitmime);
}

static bool
is_plain_ascii(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return n <= max;
}

/* Bytes of text per encoded-word: 39 bytes are 52 base64 characters, 64
 * with "=?UTF-8?B?" and "?=", so even the first word, after "Subject: ",
 * keeps its line within the 76 characters of RFC 2047 section 2. */
#define WORD_BYTES 39
#define BASE64_LENGTH(bytes) (4 * (((bytes) + 2) / 3))

/* How many bytes of s fit in one encoded-word without splitting a UTF-8
 * sequence. */
static size_t
word_chunk(const unsigned char *s, size_t left)
{
	size_t n = left < WORD_BYTES ? left : WORD_BYTES;

	while (n < left && n > 0 && (s[n] & 0xc0) == 0x80)
		n--;
	return n > 0 ? n : (left < WORD_BYTES ? left : WORD_BYTES);
}

char *
compose_encode_words(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t left = strlen(text);
	struct strbuf out = { 0 };
	char b64[BASE64_LENGTH(WORD_BYTES) + 1];

	if (is_plain_ascii(text, PLAIN_TEXT_MAX))
		return xstrdup(text);
	while (left > 0) {
		size_t n = word_chunk(s, left);

		EVP_EncodeBlock((unsigned char *)b64, s, (int)n);
		strbuf_printf(&out, "%s=?UTF-8?B?%s?=", out.len > 0 ? "\n " : "", b64);
		s += n;
		left -= n;
	}
	return strbuf_take(&out, NULL);
}

/* A display name as a phrase: encoded-words, a quoted string, or as is. */
static char *
display_name(const char *name)
{
	struct strbuf out = { 0 };

	if (!is_plain_ascii(name, PLAIN_TEXT_MAX))
		return compose_encode_words(name);
	if (strpbrk(name, "()<>[]:;@\\,.\"") == NULL)
		return xstrdup(name);
	strbuf_printf(&out, "\"");
	for (const char *p = name; *p != '\0'; p++)
		strbuf_printf(&out, "%s%c", *p == '"' || *p == '\\' ? "\\" : "", *p);
	strbuf_printf(&out, "\"");
	return strbuf_take(&out, NULL);
}

static void
add_from(struct strbuf *t, const struct compose_options *o)
{
	if (o->full_name != NULL && *o->full_name != '\0') {
		char *name = display_name(o->full_name);

		strbuf_printf(t, "From: %s <%s>\n", name, o->from);
		free(name);
	} else {
		strbuf_printf(t, "From: %s\n", o->from);
	}
}

char *
compose_date(void)
{
	char date[DATE_TEXT_MAX];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
	return xstrdup(date);
}

static void
add_date(struct strbuf *t, const struct compose_options *o)
{
	char *date = o->date == NULL ? compose_date() : NULL;

	strbuf_printf(t, "Date: %s\n", o->date != NULL ? o->date : date);
	free(date);
}

/* The right side names a domain the id is unique in: the sender's, else
 * this host's; a host without a domain name gets one that is reserved to
 * name nothing (RFC 2606), never a bare node name.  The left side's time
 * and random bits keep the id unique whatever the right side is. */
#define MESSAGE_ID_RANDOM_BYTES 12	/* 96 bits */
char *
compose_message_id(const char *from, const char *host_domain)
{
	unsigned char unique[MESSAGE_ID_RANDOM_BYTES];
	const char *at = strrchr(from, '@');
	struct strbuf id = { 0 };

	random_bytes(unique, sizeof unique);
	strbuf_printf(&id, "<%lld.", (long long)time(NULL));
	for (size_t i = 0; i < sizeof unique; i++)
		strbuf_printf(&id, "%02x", unique[i]);
	strbuf_printf(&id, ".mailpipe@%s>", at != NULL ? at + 1 :
	    host_domain != NULL ? host_domain : "mailpipe.invalid");
	return strbuf_take(&id, NULL);
}

static void
add_message_id(struct strbuf *t, const struct compose_options *o)
{
	char *id = o->message_id == NULL ? compose_message_id(o->from, o->host_domain) : NULL;

	strbuf_printf(t, "Message-ID: %s\n", o->message_id != NULL ? o->message_id : id);
	free(id);
}

/* "To: a, b" (or "Cc: ...") folded so no line grows past FOLD_WIDTH
 * octets. */
static void
add_to(struct strbuf *t, const char *name, const struct strlist *to)
{
	size_t column = strlen(name) + 1;

	strbuf_printf(t, "%s:", name);
	for (size_t i = 0; i < to->count; i++) {
		size_t width = strlen(to->items[i]) + strlen(", ");

		if (i > 0 && column + width > FOLD_WIDTH) {
			strbuf_printf(t, ",\n");
			column = 0;
		} else if (i > 0) {
			strbuf_printf(t, ",");
		}
		strbuf_printf(t, " %s", to->items[i]);
		column += width;
	}
	strbuf_printf(t, "\n");
}

static bool
is_address_field(const struct header_field *f)
{
	return field_is(f, "From") || field_is(f, "To") || field_is(f, "Cc") ||
	    field_is(f, "Sender") || field_is(f, "Reply-To");
}

static void
copy_fields(struct strbuf *t, const struct parsed_message *m, const struct compose_options *o,
	bool reencode)
{
	for (size_t i = 0; i < m->count; i++) {
		const struct header_field *f = &m->fields[i];

		if (field_is(f, "Bcc") || (reencode && field_is(f, "Content-Transfer-Encoding")))
			continue;
		if (o->domain != NULL && is_address_field(f) &&
		    memchr(f->text, '\0', f->length) == NULL) {
			char *q = address_list_qualify(f->text + f->value_offset, o->domain);

			strbuf_printf(t, "%.*s%s\n", (int)f->value_offset, f->text, q);
			free(q);
		} else {
			strbuf_append(t, f->text, f->length);
			strbuf_append(t, "\n", 1);
		}
	}
}

static void
build_raw(struct strbuf *t, const struct parsed_message *m, const struct compose_options *o,
	bool reencode)
{
	copy_fields(t, m, o, reencode);
	if (find_field(m, "From") == NULL)
		add_from(t, o);
	if (find_field(m, "Date") == NULL)
		add_date(t, o);
	if (find_field(m, "Message-ID") == NULL)
		add_message_id(t, o);
	if (reencode) {
		if (find_field(m, "MIME-Version") == NULL)
			strbuf_printf(t, "MIME-Version: 1.0\n");
		if (find_field(m, "Content-Type") == NULL)
			strbuf_printf(t, "Content-Type: text/plain; charset=utf-8\n");
		strbuf_printf(t, "Content-Transfer-Encoding: quoted-printable\n");
	}
}

static void
build_subject_mode(struct strbuf *t, const struct parsed_message *m,
	const struct compose_options *o, bool reencode)
{
	char *subject = compose_encode_words(o->subject);

	add_from(t, o);
	if (o->to->count > 0)
		add_to(t, "To", o->to);
	if (o->cc != NULL && o->cc->count > 0)
		add_to(t, "Cc", o->cc);
	if (o->reply_to != NULL)
		strbuf_printf(t, "Reply-To: %s\n", o->reply_to);
	strbuf_printf(t, "Subject: %s\n", subject);
	free(subject);
	add_date(t, o);
	add_message_id(t, o);
	strbuf_printf(t, "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: %s\n",
	    reencode ? "quoted-printable" : m->body.has_8bit ? "8bit" : "7bit");
}

void
compose_build(const struct parsed_message *m, const struct compose_options *o,
	struct outgoing *out)
{
	struct strbuf t = { 0 };
	bool unfit = wire_cannot_carry(&m->body, o->server_8bitmime);

	memset(out, 0, sizeof *out);
	if (o->subject != NULL) {
		out->body_as_qp = unfit;
		build_subject_mode(&t, m, o, unfit);
	} else {
		out->body_as_qp = unfit && is_single_part_text(m);
		out->sent_unfit = unfit && !out->body_as_qp;
		build_raw(&t, m, o, out->body_as_qp);
	}
	strbuf_printf(&t, "\n");
	out->header = strbuf_take(&t, &out->header_length);
	out->body_offset = m->body_offset;
	out->eight_bit = m->header_8bit || (m->body.has_8bit && !out->body_as_qp);
}

void
compose_free(struct parsed_message *m, struct outgoing *out)
{
	if (m != NULL) {
		for (size_t i = 0; i < m->count; i++)
			free(m->fields[i].text);
		free(m->fields);
		memset(m, 0, sizeof *m);
	}
	if (out != NULL) {
		free(out->header);
		memset(out, 0, sizeof *out);
	}
}
