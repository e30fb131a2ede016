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

#include "address.h"
#include "compose.h"
#include "header.h"
#include "headerfmt.h"
#include "random.h"
#include "status.h"
#include "strbuf.h"
#include "userfield.h"
#include "xalloc.h"

#define LINE_OCTETS_MAX 998	/* RFC 5322 2.1.1: a line MUST NOT be longer */
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

static void
add_from(struct strbuf *t, const struct compose_options *o)
{
	headerfmt_mailbox_field(t, "From", o->full_name, o->from);
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

/* One --header field, checked by userfield_parse() when it was given. */
static void
add_user_field(struct strbuf *t, const char *arg)
{
	struct userfield f;

	if (userfield_parse(arg, strlen(arg), &f) == 0)
		userfield_write(t, arg, &f);
}

static void
add_user_fields(struct strbuf *t, const struct compose_options *o)
{
	for (size_t i = 0; o->headers != NULL && i < o->headers->count; i++)
		add_user_field(t, o->headers->items[i]);
}

/* Whether a --header field takes the place of the field called name. */
static bool
user_replaces(const struct compose_options *o, const char *name, size_t length)
{
	for (size_t i = 0; o->headers != NULL && i < o->headers->count; i++) {
		const char *arg = o->headers->items[i];
		struct userfield f;

		if (strncasecmp(arg, name, length) == 0 && arg[length] == ':' &&
		    userfield_parse(arg, strlen(arg), &f) == 0)
			return f.replaces;
	}
	return false;
}

/* The generated field called name is needed: neither the message (m,
 * NULL in -s mode) nor a --header gives it. */
static bool
needs_generated(const struct parsed_message *m, const struct compose_options *o,
	const char *name)
{
	return (m == NULL || find_field(m, name) == NULL) &&
	    userfield_find(o->headers, name) == NULL;
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

		if (field_is(f, "Bcc") || (reencode && field_is(f, "Content-Transfer-Encoding")) ||
		    user_replaces(o, f->text, f->name_length))
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
	if (needs_generated(m, o, "From"))
		add_from(t, o);
	if (needs_generated(m, o, "Date"))
		add_date(t, o);
	if (needs_generated(m, o, "Message-ID"))
		add_message_id(t, o);
	add_user_fields(t, o);
	if (reencode) {
		if (find_field(m, "MIME-Version") == NULL)
			strbuf_printf(t, "MIME-Version: 1.0\n");
		if (find_field(m, "Content-Type") == NULL)
			strbuf_printf(t, "Content-Type: text/plain; charset=utf-8\n");
		strbuf_printf(t, "Content-Transfer-Encoding: quoted-printable\n");
	}
}

static void
add_reply_to(struct strbuf *t, const char *value)
{
	struct strlist list = { 0 };

	strlist_push(&list, value);
	headerfmt_address_field(t, "Reply-To", &list);
	strlist_free(&list);
}

static void
build_subject_mode(struct strbuf *t, const struct parsed_message *m,
	const struct compose_options *o, bool reencode)
{
	if (needs_generated(NULL, o, "From"))
		add_from(t, o);
	if (o->to->count > 0)
		headerfmt_address_field(t, "To", o->to);
	if (o->cc != NULL && o->cc->count > 0)
		headerfmt_address_field(t, "Cc", o->cc);
	if (o->reply_to != NULL)
		add_reply_to(t, o->reply_to);
	headerfmt_text_field(t, "Subject", o->subject);
	if (needs_generated(NULL, o, "Date"))
		add_date(t, o);
	if (needs_generated(NULL, o, "Message-ID"))
		add_message_id(t, o);
	add_user_fields(t, o);
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
