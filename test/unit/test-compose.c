/*
 * compose.c: RFC 2047 encoded-words (length, no UTF-8 sequence split across
 * words, decoding back), and the header actually sent, built from a spooled
 * message: Bcc removed, Date / Message-ID / From added only when missing,
 * bare local names qualified, quoted-printable re-encoding chosen only for
 * a single-part text body the wire cannot carry, the -s mode header, and
 * the recipients for -t.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "compose.h"
#include "headerfmt.h"
#include "spool.h"
#include "status.h"
#include "strlist.h"
#include "peer.h"
#include "tap.h"

/* ---- helpers ---- */


/* The number of fields called name in a header block (LF endings). */
static int
count_fields(const char *h, const char *name)
{
	size_t n = strlen(name);
	int count = 0;

	for (const char *line = h; *line != '\0';) {
		const char *nl = strchr(line, '\n');

		if (strncasecmp(line, name, n) == 0 && line[n] == ':')
			count++;
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	return count;
}

/* The first field called name, unfolded (line breaks removed), without
 * "Name:" and the space after it; NULL when missing.  Static buffer. */
static const char *
field(const char *h, const char *name)
{
	static char value[8192];
	size_t n = strlen(name), v = 0;

	for (const char *line = h; *line != '\0';) {
		const char *nl = strchr(line, '\n');

		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *p = line + n + 1;

			p += *p == ' ';
			for (; *p != '\0' && v + 1 < sizeof value; p++) {
				if (*p == '\n' && p[1] != ' ' && p[1] != '\t')
					break;
				if (*p != '\n')
					value[v++] = *p;
			}
			value[v] = '\0';
			return value;
		}
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	return NULL;
}

static size_t
longest_line(const char *h)
{
	size_t longest = 0, cur = 0;

	for (; *h != '\0'; h++) {
		cur = *h == '\n' ? 0 : cur + 1;
		if (cur > longest)
			longest = cur;
	}
	return longest;
}

struct built {
	struct spool spool;
	struct parsed_message m;
	struct outgoing out;
	int rc;
};

static void
build_(struct built *b, const char *data, size_t n, bool has_header,
	const struct compose_options *o)
{
	memset(b, 0, sizeof *b);
	fail_clear();
	b->rc = peer_spool_text(data, n, has_header, &b->spool);
	if (b->rc == 0)
		b->rc = compose_parse(&b->spool, &b->m);
	if (b->rc == 0)
		compose_build(&b->m, o, &b->out);
	else
		diag("failed: %s", fail_reason());
}

#define build(b, data, has_header, o) build_(b, data, strlen(data), has_header, o)

static void
built_free(struct built *b)
{
	compose_free(&b->m, &b->out);
	spool_close(&b->spool);
}

/* Checks the structure every built header must have. */
static void
check_header_shape(const char *name, const struct built *b)
{
	const char *h = b->out.header;

	ok(b->rc == 0 && h != NULL, "%s: built", name);
	if (h == NULL)
		return;
	is_int(b->out.header_length, strlen(h), "%s: header_length", name);
	ok(b->out.header_length >= 2 && strcmp(h + b->out.header_length - 2, "\n\n") == 0 &&
	    strstr(h, "\n\n") == h + b->out.header_length - 2,
	    "%s: ends with its one empty line", name);
	ok(strchr(h, '\r') == NULL, "%s: LF endings", name);
	ok(longest_line(h) <= 998, "%s: no header line over 998 octets", name);
	is_int(count_fields(h, "Date"), 1, "%s: one Date", name);
	is_int(count_fields(h, "Message-ID"), 1, "%s: one Message-ID", name);
	is_int(count_fields(h, "From"), 1, "%s: one From", name);
}

/* ---- encoded-words ---- */

static bool
utf8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t len = s[i] < 0x80 ? 1 : (s[i] & 0xe0) == 0xc0 ? 2 :
		    (s[i] & 0xf0) == 0xe0 ? 3 : (s[i] & 0xf8) == 0xf0 ? 4 : 0;

		if (len == 0 || i + len > n)
			return false;
		for (size_t k = 1; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += len;
	}
	return true;
}

/* Splits an encoded value into its words, decodes them, checks each; the
 * concatenation must be the input.  Returns NULL or what is wrong. */
static const char *
check_encoded(const char *enc, const char *input)
{
	static char why[200];
	unsigned char decoded[4096];
	size_t dlen = 0;
	const char *p = enc;

	while (*p != '\0') {
		const char *end = strstr(p, "?=");
		size_t wlen, b64len, pad = 0;
		unsigned char chunk[256];
		int got;

		if (strncmp(p, "=?UTF-8?B?", 10) != 0 || end == NULL)
			return "not an encoded-word";
		wlen = (size_t)(end + 2 - p);
		if (wlen > 75) {
			snprintf(why, sizeof why, "an encoded-word of %zu characters", wlen);
			return why;
		}
		b64len = wlen - 12;
		if (b64len % 4 != 0 || b64len > 4 * sizeof chunk / 3)
			return "bad base64 length";
		pad = (p[10 + b64len - 1] == '=') + (p[10 + b64len - 2] == '=');
		got = EVP_DecodeBlock(chunk, (const unsigned char *)p + 10, (int)b64len);
		if (got < 0)
			return "bad base64";
		got -= (int)pad;
		if (!utf8_valid(chunk, (size_t)got))
			return "a UTF-8 sequence split across encoded-words";
		if (dlen + (size_t)got > sizeof decoded)
			return "too long";
		memcpy(decoded + dlen, chunk, (size_t)got);
		dlen += (size_t)got;
		p = end + 2;
		if (*p == '\0')
			break;
		if (strncmp(p, "\n ", 2) == 0)
			p++;
		if (*p != ' ')
			return "words not separated by white space";
		p++;
	}
	if (dlen != strlen(input) || memcmp(decoded, input, dlen) != 0)
		return "does not decode back to the input";
	return NULL;
}

/* The value headerfmt writes for a Subject of text (without "Subject: "
 * and the final line break).  New string. */
static char *
subject_value(const char *text)
{
	struct strbuf b = { 0 };
	char *value;

	headerfmt_text_field(&b, "Subject", text);
	value = strdup(b.p + strlen("Subject: "));
	value[strlen(value) - 1] = '\0';
	free(b.p);
	return value;
}

static void
encode_case(const char *name, const char *input)
{
	char *enc = subject_value(input);
	const char *bad = check_encoded(enc, input);

	ok(bad == NULL, "encode %s: words of <= 75 chars, whole sequences, decode back", name);
	if (bad != NULL) {
		diag("%s", bad);
		tap_dump("encoded", enc, strlen(enc));
	}
	free(enc);
}

static void
test_encode_words(void)
{
	char *enc;
	char s[2048];

	enc = subject_value("Backup report for host1");
	is_str(enc, "Backup report for host1", "plain ASCII subject unchanged");
	free(enc);
	enc = subject_value("");
	is_str(enc, "", "empty subject unchanged");
	free(enc);
	enc = subject_value("Gr\xc3\xbc\xc3\x9f" "e");
	is_str(enc, "=?UTF-8?B?R3LDvMOfZQ==?=", "Gr\\xc3\\xbc\\xc3\\x9fe: one encoded-word");
	free(enc);

	encode_case("short UTF-8", "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln");
	for (int prefix = 0; prefix < 4; prefix++) {
		char name[64];

		memset(s, 'a', (size_t)prefix);
		s[prefix] = '\0';
		for (int i = 0; i < 40; i++)
			strcat(s, "\xc3\xbc");		/* 2 octets */
		snprintf(name, sizeof name, "%d + 40 two-octet characters", prefix);
		encode_case(name, s);

		s[prefix] = '\0';
		for (int i = 0; i < 40; i++)
			strcat(s, "\xe2\x82\xac");	/* 3 octets */
		snprintf(name, sizeof name, "%d + 40 three-octet characters", prefix);
		encode_case(name, s);

		s[prefix] = '\0';
		for (int i = 0; i < 40; i++)
			strcat(s, "\xf0\x9f\x98\x80");	/* 4 octets */
		snprintf(name, sizeof name, "%d + 40 four-octet characters", prefix);
		encode_case(name, s);
	}
	s[0] = '\0';
	for (int i = 0; i < 60; i++)
		strcat(s, i % 3 == 0 ? "x " : i % 3 == 1 ? "\xc3\xa9" : "\xe2\x82\xac");
	encode_case("mixed widths", s);
}

/* ---- raw messages ---- */

static const struct compose_options plain_options = {
	.from = "sender@example.com",
	.server_8bitmime = true,
};

static void
test_raw_basics(void)
{
	struct built b;
	const char *h;

	build(&b, "From: Alice <alice@example.com>\n"
	    "To: bob@example.com\n"
	    "Cc: carol@example.com\n"
	    "Bcc: secret@example.com,\n"
	    " hidden@example.com\n"
	    "Subject: hi\n"
	    "\n"
	    "body\n", true, &plain_options);
	check_header_shape("raw message", &b);
	h = b.out.header;
	if (h != NULL) {
		is_int(count_fields(h, "Bcc"), 0, "Bcc removed");
		ok(strstr(h, "secret") == NULL && strstr(h, "hidden") == NULL,
		    "Bcc addresses gone, continuation line too");
		is_str(field(h, "To"), "bob@example.com", "To kept");
		is_str(field(h, "Cc"), "carol@example.com", "Cc kept");
		is_str(field(h, "From"), "Alice <alice@example.com>", "From kept, not added");
		is_str(field(h, "Subject"), "hi", "Subject kept");
		ok(!b.out.body_as_qp && !b.out.eight_bit, "plain body sent as it is");
		is_int(b.out.body_offset, b.spool.body_offset, "body starts after the header");
		is_int(count_fields(h, "MIME-Version"), 0, "no MIME-Version added needlessly");
		is_int(count_fields(h, "Content-Transfer-Encoding"), 0, "no CTE added needlessly");
	}
	built_free(&b);
	/* The obsolete "Name :" form (RFC 5322 4.5.4) is a field like any other:
	 * a "Bcc :" must not survive, nor end the header early. */
	build(&b, "To: team@example.org\nBcc : boss@example.org\nSubject: report\n\nbody\n",
	    true, &plain_options);
	h = b.out.header;
	ok(h != NULL && strstr(h, "boss") == NULL, "\"Bcc :\" removed");
	ok(h != NULL && field(h, "Subject") != NULL, "\"Bcc :\": the header goes on after it");
	built_free(&b);

	build(&b, "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
	    "Message-Id: <x@y>\n"
	    "from: a@example.org\n"
	    "To: b@example.org\n"
	    "\n"
	    "body\n", true, &plain_options);
	check_header_shape("raw message with Date, Message-Id, from", &b);
	if (b.out.header != NULL) {
		is_str(field(b.out.header, "Date"), "Mon, 1 Jan 2024 00:00:00 +0000", "Date kept");
		is_str(field(b.out.header, "Message-ID"), "<x@y>", "Message-Id kept");
		is_str(field(b.out.header, "From"), "a@example.org", "lower-case from kept");
	}
	built_free(&b);

	build(&b, "To: b@example.org\nSubject: s\n\nbody\n", true, &plain_options);
	check_header_shape("raw message without From", &b);
	if (b.out.header != NULL) {
		const char *id;

		is_str(field(b.out.header, "From"), "sender@example.com", "From added from -f");
		id = field(b.out.header, "Message-ID");
		ok(id != NULL && id[0] == '<' && strstr(id, "@example.com>") != NULL &&
		    id[strlen(id) - 1] == '>' && strchr(id, ' ') == NULL,
		    "Message-ID <...@sender's domain>");
		ok(field(b.out.header, "Date") != NULL && strlen(field(b.out.header, "Date")) > 20,
		    "Date added");
	}
	built_free(&b);

	{
		static const struct { const char *full_name, *want; } names[] = {
			{ "Cron Daemon", "Cron Daemon <sender@example.com>" },
			{ "Daemon, Cron", "\"Daemon, Cron\" <sender@example.com>" },
			{ "J\xc3\xbcrgen", "=?UTF-8?B?SsO8cmdlbg==?= <sender@example.com>" },
		};
		struct compose_options o = plain_options;

		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			o.full_name = names[i].full_name;
			build(&b, "To: b@example.org\n\nbody\n", true, &o);
			if (b.out.header != NULL)
				is_str(field(b.out.header, "From"), names[i].want,
				    "From added with -F %s", names[i].want);
			ok(!b.out.eight_bit, "-F %s: header stays 7-bit", names[i].want);
			built_free(&b);
		}
		o.full_name = "Evil\nBcc: victim@example.net";
		build(&b, "To: b@example.org\n\nbody\n", true, &o);
		ok(b.out.header != NULL && count_fields(b.out.header, "Bcc") == 0,
		    "-F with a line break cannot add a header field");
		built_free(&b);
	}
}

/* The right side of the Message-ID of a message built with o.  Static buffer. */
static const char *
message_id_domain(const struct compose_options *o)
{
	static char rhs[256];
	struct built b;
	const char *id, *at;

	build(&b, "To: b@example.org\n\nbody\n", true, o);
	id = b.out.header != NULL ? field(b.out.header, "Message-ID") : NULL;
	at = id != NULL ? strrchr(id, '@') : NULL;
	if (at == NULL || id[strlen(id) - 1] != '>')
		snprintf(rhs, sizeof rhs, "(no Message-ID)");
	else
		snprintf(rhs, sizeof rhs, "%.*s", (int)strlen(at + 1) - 1, at + 1);
	built_free(&b);
	return rhs;
}

/* A sender without a domain (-f root, no domain key) must not give the
 * Message-ID a bare node name ("vm") as its right side: the host's domain
 * name when it has one, else a name that is a domain and says it is none
 * of ours (RFC 2606 .invalid); the left side keeps it unique. */
static void
test_message_id_domain(void)
{
	struct compose_options o = plain_options;

	o.from = "root";
	is_str(message_id_domain(&o), "mailpipe.invalid",
	    "Message-ID without any domain: @mailpipe.invalid");
	o.host_domain = "vm.example.org";
	is_str(message_id_domain(&o), "vm.example.org",
	    "Message-ID for a bare sender: the host's domain name");
	o.from = "root@example.net";
	is_str(message_id_domain(&o), "example.net", "Message-ID: the sender's domain first");
}

static void
test_domain(void)
{
	struct compose_options o = plain_options;
	struct built b;
	const char *h;

	o.domain = "example.com";
	build(&b, "From: root (Cron Daemon)\n"
	    "To: root\n"
	    "Cc: ops, \"A. Admin\" <admin@example.org>\n"
	    "Reply-To: \"(Cron Daemon)\" <root>\n"
	    "Subject: root\n"
	    "X-Cron-Env: <HOME=/root>\n"
	    "\n"
	    "output\n", true, &o);
	check_header_shape("cron message with domain", &b);
	h = b.out.header;
	if (h != NULL) {
		is_str(field(h, "To"), "root@example.com", "To: root qualified");
		is_str(field(h, "Cc"), "ops@example.com, \"A. Admin\" <admin@example.org>",
		    "Cc: bare name qualified, full address kept");
		is_str(field(h, "From"), "root@example.com (Cron Daemon)",
		    "From: comment kept, name qualified");
		is_str(field(h, "Reply-To"), "\"(Cron Daemon)\" <root@example.com>",
		    "Reply-To qualified inside the angle brackets");
		is_str(field(h, "Subject"), "root", "Subject is not an address field");
		is_str(field(h, "X-Cron-Env"), "<HOME=/root>", "other fields untouched");
	}
	built_free(&b);

	build(&b, "To: root,\n ops,\n\ta@example.org\n\nx\n", true, &o);
	h = b.out.header;
	if (h != NULL) {
		is_str(field(h, "To"), "root@example.com, ops@example.com,\ta@example.org",
		    "folded To: every bare name qualified");
		ok(strstr(h, "To: root@example.com,\n ops@example.com,\n\ta@example.org\n") != NULL,
		    "folded To: folding kept");
	}
	built_free(&b);
}

/* A message with CRLF endings gives a header with LF endings. */
static void
test_crlf_message(void)
{
	struct built b;
	const char *h;

	build(&b, "From: a@example.com\r\n"
	    "To: b@example.com,\r\n"
	    " c@example.com\r\n"
	    "bcc: d@example.com\r\n"
	    "Subject: s\r\n"
	    "\r\n"
	    "body\r\n", true, &plain_options);
	check_header_shape("CRLF message", &b);
	h = b.out.header;
	if (h != NULL) {
		is_int(count_fields(h, "bcc"), 0, "lower-case bcc removed");
		ok(strstr(h, "d@example.com") == NULL, "its address is gone");
		is_str(field(h, "Subject"), "s", "Subject without CR");
		ok(strstr(h, "To: b@example.com,\n c@example.com\n") != NULL,
		    "folded To with LF endings");
	}
	is_int(b.out.body_offset, 91, "body after the CRLF empty line");
	if (h != NULL && strchr(h, '\r') != NULL)
		tap_dump("header", h, strlen(h));
	built_free(&b);
}

static void
test_reencoding(void)
{
	struct built b;
	char *msg = malloc(4096);
	const char *h;

	if (msg == NULL)
		abort();
	/* Single-part text with a 2000-octet line. */
	{
		size_t hl;

		strcpy(msg, "From: a@example.com\nTo: b@example.com\nSubject: log\n"
		    "Content-Transfer-Encoding: 8bit\n\n");
		hl = strlen(msg);
		memset(msg + hl, 'x', 2000);
		strcpy(msg + hl + 2000, "\nend\n");
	}
	build(&b, msg, true, &plain_options);
	check_header_shape("2000-octet line", &b);
	h = b.out.header;
	ok(b.out.body_as_qp, "2000-octet line: body re-encoded quoted-printable");
	if (h != NULL) {
		is_int(count_fields(h, "Content-Transfer-Encoding"), 1, "one CTE");
		is_str(field(h, "Content-Transfer-Encoding"), "quoted-printable",
		    "CTE: quoted-printable");
		ok(strstr(h, "8bit") == NULL, "the old CTE dropped");
		is_int(count_fields(h, "MIME-Version"), 1, "MIME-Version added");
		is_str(field(h, "MIME-Version"), "1.0", "MIME-Version: 1.0");
		is_int(count_fields(h, "Content-Type"), 1, "Content-Type added");
		ok(field(h, "Content-Type") != NULL &&
		    strncasecmp(field(h, "Content-Type"), "text/plain", 10) == 0,
		    "Content-Type text/plain");
	}
	ok(!b.out.eight_bit, "quoted-printable body is 7-bit");
	built_free(&b);

	/* Existing MIME fields are kept, not doubled. */
	{
		size_t hl;

		strcpy(msg, "MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n"
		    "Content-Transfer-Encoding: 7bit\n\n");
		hl = strlen(msg);
		memset(msg + hl, 'y', 1500);
		strcpy(msg + hl + 1500, "\n");
	}
	build(&b, msg, true, &plain_options);
	h = b.out.header;
	ok(b.out.body_as_qp, "text/plain with a long line: re-encoded");
	if (h != NULL) {
		is_int(count_fields(h, "MIME-Version"), 1, "MIME-Version not doubled");
		is_str(field(h, "Content-Type"), "text/plain; charset=iso-8859-1",
		    "Content-Type kept with its charset");
		is_str(field(h, "Content-Transfer-Encoding"), "quoted-printable",
		    "7bit replaced by quoted-printable");
		is_int(count_fields(h, "Content-Transfer-Encoding"), 1, "one CTE");
	}
	built_free(&b);

	/* Multipart: the structure is not ours to re-encode. */
	{
		size_t hl;

		strcpy(msg, "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n"
		    "\n--b\nContent-Type: text/plain\n\n");
		hl = strlen(msg);
		memset(msg + hl, 'z', 2000);
		strcpy(msg + hl + 2000, "\n--b--\n");
	}
	build(&b, msg, true, &plain_options);
	h = b.out.header;
	ok(b.rc == 0 && !b.out.body_as_qp, "multipart with a long line: sent unchanged");
	if (h != NULL) {
		is_int(count_fields(h, "Content-Transfer-Encoding"), 0,
		    "no CTE added to multipart");
		is_str(field(h, "Content-Type"), "multipart/mixed; boundary=\"b\"",
		    "multipart Content-Type kept");
	}
	built_free(&b);

	/* base64 text: already encoded, not ours either. */
	{
		size_t hl;

		strcpy(msg, "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n");
		hl = strlen(msg);
		memset(msg + hl, 'Q', 1200);
		strcpy(msg + hl + 1200, "\n");
	}
	build(&b, msg, true, &plain_options);
	ok(b.rc == 0 && !b.out.body_as_qp, "base64 body with a long line: sent unchanged");
	built_free(&b);

	/* NUL in a text body. */
	{
		static const char nul[] = "Subject: x\n\na\0b\n";

		build_(&b, nul, sizeof nul - 1, true, &plain_options);
		ok(b.rc == 0 && b.out.body_as_qp, "NUL in a text body: re-encoded");
		built_free(&b);
	}

	/* 8-bit body: as is with 8BITMIME, re-encoded without. */
	{
		struct compose_options o = plain_options;

		build(&b, "Subject: x\n\ncaf\xc3\xa9\n", true, &o);
		ok(b.rc == 0 && !b.out.body_as_qp && b.out.eight_bit,
		    "8-bit body, server with 8BITMIME: sent as 8-bit");
		built_free(&b);
		o.server_8bitmime = false;
		build(&b, "Subject: x\n\ncaf\xc3\xa9\n", true, &o);
		ok(b.rc == 0 && b.out.body_as_qp && !b.out.eight_bit,
		    "8-bit body, no 8BITMIME: re-encoded, 7-bit");
		built_free(&b);
		build(&b, "Subject: caf\xc3\xa9\n\nplain\n", true, &plain_options);
		ok(b.rc == 0 && !b.out.body_as_qp && b.out.eight_bit,
		    "8-bit header: the message is 8-bit");
		built_free(&b);
	}

	/* A line of exactly 998 octets still fits. */
	{
		size_t hl;

		strcpy(msg, "Subject: x\n\n");
		hl = strlen(msg);
		memset(msg + hl, 'w', 998);
		strcpy(msg + hl + 998, "\r\n");
	}
	build(&b, msg, true, &plain_options);
	ok(b.rc == 0 && !b.out.body_as_qp, "a 998-octet line (plus CRLF) is sent as it is");
	built_free(&b);
	free(msg);
}

static void
test_no_header(void)
{
	struct built b;

	build(&b, "just some text\nmore text\n", true, &plain_options);
	ok(b.rc == 0 && b.m.count == 0 && b.m.body_offset == 0,
	    "text without a header is all body");
	is_int(b.m.body.size, 25, "all of it counted as body");
	check_header_shape("text without a header", &b);
	is_int(b.out.body_offset, 0, "sent from offset 0");
	built_free(&b);

	build(&b, "hello world\n\nsecond paragraph\n", true, &plain_options);
	ok(b.rc == 0 && b.m.count == 0 && b.m.body_offset == 0,
	    "text with an empty line but no header is all body");
	is_int(b.m.body.size, 30, "every byte counted as body");
	built_free(&b);

	build(&b, "X-Header: yes\n\nbody\n", true, &plain_options);
	ok(b.rc == 0 && b.m.count == 1 && b.m.body_offset == 15, "a real header is a header");
	built_free(&b);
}

static void
test_header_max(void)
{
	size_t n = (HEADER_MAX / 100 + 2) * 100;	/* whole 100-octet lines */
	char *msg = malloc(n + 16);
	struct spool s;
	struct parsed_message m;
	int rc;

	if (msg == NULL)
		abort();
	for (size_t i = 0; i < n; i += 100) {
		memset(msg + i, 'v', 100);
		memcpy(msg + i, "X-Filler: ", 10);
		msg[i + 99] = '\n';
	}
	strcpy(msg + n, "\nbody\n");
	rc = peer_spool_text(msg, strlen(msg), true, &s);
	fail_clear();
	ok(rc == 0 && compose_parse(&s, &m) < 0 && fail_class() == FAIL_DATA,
	    "a header over HEADER_MAX: FAIL_DATA");
	compose_free(&m, NULL);
	spool_close(&s);
	free(msg);
}

/* ---- -s mode ---- */

static void
subject_mode(struct built *b, const char *body, size_t n, const char *subject, bool eightbitmime)
{
	static const char *const to_items[] = { "a@example.com", "b@example.org" };
	static struct strlist to = { .items = (char **)to_items, .count = 2 };
	struct compose_options o = {
		.from = "me@example.com",
		.subject = subject,
		.to = &to,
		.server_8bitmime = eightbitmime,
	};

	build_(b, body, n, false, &o);
}

static void
test_subject_mode(void)
{
	static const char utf8_subject[] =
	    "Sicherungsbericht f\xc3\xbcr den Server in K\xc3\xb6ln: alles gr\xc3\xbcn, "
	    "keine Fehler \xe2\x9c\x93";
	struct built b;
	const char *h;
	char *body;

	subject_mode(&b, "hello\n", 6, "Backup ok", true);
	check_header_shape("-s ASCII", &b);
	h = b.out.header;
	if (h != NULL) {
		is_str(field(h, "Subject"), "Backup ok", "ASCII subject as is");
		is_str(field(h, "From"), "me@example.com", "From");
		is_str(field(h, "To"), "a@example.com, b@example.org", "To from the recipients");
		is_str(field(h, "MIME-Version"), "1.0", "MIME-Version");
		ok(field(h, "Content-Type") != NULL &&
		    strstr(field(h, "Content-Type"), "text/plain") != NULL &&
		    strstr(field(h, "Content-Type"), "charset=utf-8") != NULL,
		    "text/plain; charset=utf-8");
		is_str(field(h, "Content-Transfer-Encoding"), "7bit", "ASCII body: 7bit");
	}
	ok(!b.out.body_as_qp && !b.out.eight_bit, "ASCII body sent as it is");
	is_int(b.out.body_offset, 0, "body from offset 0");
	built_free(&b);

	subject_mode(&b, "hello\n", 6, utf8_subject, true);
	h = b.out.header;
	if (h != NULL) {
		const char *subj = field(h, "Subject");
		char *folded = subject_value(utf8_subject);
		const char *bad;

		ok(subj != NULL && strncmp(subj, "=?UTF-8?B?", 10) == 0, "UTF-8 subject encoded");
		bad = check_encoded(folded, utf8_subject);
		ok(bad == NULL, "the encoded subject decodes back");
		if (bad != NULL)
			diag("%s", bad);
		ok(strstr(h, folded) != NULL, "Subject field holds the encoded-words");
		free(folded);
		/* RFC 2047 2: each line of a field holding encoded-words is at
		 * most 76 characters, "Subject: " included. */
		{
			const char *start = strstr(h, "\nSubject:") + 1, *end = start;
			size_t longest = 0, cur = 0;

			while (*end != '\0' && !(end[0] == '\n' && end[1] != ' ' && end[1] != '\t'))
				end++;
			for (const char *p = start; p < end; p++) {
				cur = *p == '\n' ? 0 : cur + 1;
				if (cur > longest)
					longest = cur;
			}
			ok(longest <= 76, "every Subject line within 76 characters (RFC 2047 2)");
			if (longest > 76)
				diag("longest Subject line: %zu characters", longest);
		}
	}
	ok(!b.out.eight_bit, "encoded subject keeps the header 7-bit");
	built_free(&b);

	subject_mode(&b, "caf\xc3\xa9\n", 6, "x", true);
	h = b.out.header;
	if (h != NULL)
		is_str(field(h, "Content-Transfer-Encoding"), "8bit", "8-bit body, 8BITMIME: 8bit");
	ok(!b.out.body_as_qp && b.out.eight_bit, "8-bit body sent as 8-bit");
	built_free(&b);

	subject_mode(&b, "caf\xc3\xa9\n", 6, "x", false);
	h = b.out.header;
	if (h != NULL)
		is_str(field(h, "Content-Transfer-Encoding"), "quoted-printable",
		    "8-bit body, no 8BITMIME: quoted-printable");
	ok(b.out.body_as_qp && !b.out.eight_bit, "re-encoded, 7-bit on the wire");
	built_free(&b);

	body = malloc(2001);
	if (body == NULL)
		abort();
	memset(body, 'l', 2000);
	body[2000] = '\n';
	subject_mode(&b, body, 2001, "x", true);
	h = b.out.header;
	if (h != NULL)
		is_str(field(h, "Content-Transfer-Encoding"), "quoted-printable",
		    "2000-octet line: quoted-printable");
	ok(b.out.body_as_qp, "long line re-encoded");
	built_free(&b);
	free(body);

	subject_mode(&b, "a\0b\n", 4, "x", true);
	h = b.out.header;
	if (h != NULL)
		is_str(field(h, "Content-Transfer-Encoding"), "quoted-printable",
		    "NUL in the body: quoted-printable");
	built_free(&b);

	subject_mode(&b, "", 0, "x", true);
	h = b.out.header;
	if (h != NULL)
		is_str(field(h, "Content-Transfer-Encoding"), "7bit", "empty body: 7bit");
	built_free(&b);

	subject_mode(&b, "x\n", 2, "hi\nBcc: victim@example.net\r\nX-Evil: 1", true);
	h = b.out.header;
	ok(h != NULL && count_fields(h, "Bcc") == 0 && count_fields(h, "X-Evil") == 0,
	    "-s with line breaks cannot add header fields");
	check_header_shape("-s with line breaks", &b);
	built_free(&b);

	subject_mode(&b, "Subject: not a header\n\nreally\n", 30, "x", true);
	ok(b.rc == 0 && b.m.count == 0 && b.out.body_offset == 0,
	    "-s: header-like body text stays body");
	if (b.out.header != NULL)
		is_str(field(b.out.header, "Subject"), "x", "-s: the subject is the option's");
	built_free(&b);

	{
		char long_subject[2100];

		memset(long_subject, 's', 2000);
		long_subject[2000] = '\0';
		subject_mode(&b, "x\n", 2, long_subject, true);
		check_header_shape("-s with a 2000-character ASCII subject", &b);
		built_free(&b);
	}
}

static void
test_recipients(void)
{
	struct built b;
	struct strlist l = { 0 };
	char got[512] = "";

	build(&b, "From: f@x\n"
	    "To: a@x, \"B, b\" <b@y>\n"
	    "Cc: c@z,\n\td@w\n"
	    "Reply-To: r@x\n"
	    "X-To: no@x\n"
	    "bcc: e@v\n"
	    "TO: root (Cron Daemon)\n"
	    "Resent-To: no2@x\n"
	    "\n"
	    "To: body@x\n", true, &plain_options);
	compose_recipients(&b.m, &l);
	for (size_t i = 0; i < l.count; i++) {
		if (i > 0)
			strcat(got, "|");
		strcat(got, l.items[i]);
	}
	is_str(got, "a@x|b@y|c@z|d@w|e@v|root", "-t: To, Cc and Bcc, in order, folded ones too");
	strlist_free(&l);
	built_free(&b);
}

/* A NUL byte in a header field is data like any other: the field is sent
 * whole (SMTP lets the server judge it), not cut at the NUL, and -t still
 * finds the addresses after it. */
static void
test_nul_in_header(void)
{
	static const char msg[] = "From: f@x\nX-Tag: a\0b tail\nTo: a@x,\0 b@y\n\nbody\n";
	struct compose_options qualify = plain_options;
	struct strlist l = { 0 };
	struct built b;

	qualify.domain = "example.org";
	build_(&b, msg, sizeof msg - 1, true, &qualify);
	ok(b.rc == 0 && b.out.header != NULL, "a header with NUL bytes: built");
	if (b.out.header == NULL)
		return;
	ok(memmem(b.out.header, b.out.header_length, "X-Tag: a\0b tail\n", 16) != NULL,
	    "the field with a NUL is sent whole, the NUL kept");
	ok(memmem(b.out.header, b.out.header_length, "To: a@x,\0 b@y\n", 14) != NULL,
	    "an address field with a NUL is sent unchanged, not qualified or cut");
	compose_recipients(&b.m, &l);
	ok(l.count == 2 && strcmp(l.items[0], "a@x") == 0 && strcmp(l.items[1], "b@y") == 0,
	    "-t finds the address after the NUL");
	strlist_free(&l);
	built_free(&b);
}

int
main(void)
{
	test_encode_words();
	test_raw_basics();
	test_domain();
	test_message_id_domain();
	test_crlf_message();
	test_reencoding();
	test_no_header();
	test_header_max();
	test_subject_mode();
	test_recipients();
	test_nul_in_header();
	return done_testing();
}
