/*
 * headerfmt.c: the header fields mailpipe-send writes itself.  Every
 * field is read back by python3's email package (run from the test, the
 * standard library's decoder, not ours): RFC 2047 encoded-words with
 * 4-byte UTF-8 characters at every position against the word limit, in
 * unstructured text and in display names, for a short and a 76-character
 * field name; and every line of every field within 78 columns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "headerfmt.h"
#include "strbuf.h"
#include "strlist.h"
#include "tap.h"
#include "xalloc.h"

/* Reads blocks "fields\n\n=====\n"; prints per block the hex of the
 * decoded value of its one field, or for an address field each
 * "hex(display name):address", space-separated, by RFC 2047's rules
 * (decode_header(), whitespace between words ignored), then "|" and the
 * same by policy.default (which reads a space between two words of a
 * display name). */
static const char decode_py[] =
	"import sys, email, email.policy, email.utils\n"
	"from email.header import decode_header, make_header\n"
	"def legacy(raw):\n"
	"    return ' '.join(str(make_header(decode_header(n))).encode().hex() + ':' + a\n"
	"                    for n, a in email.utils.getaddresses([raw]))\n"
	"for block in open(sys.argv[1], encoding='utf-8').read().split('\\n=====\\n')[:-1]:\n"
	"    m = email.message_from_string(block, policy=email.policy.default)\n"
	"    k = m.keys()[0]\n"
	"    h = m[k]\n"
	"    if hasattr(h, 'addresses'):\n"
	"        raw = block.split(':', 1)[1].replace('\\n', '')\n"
	"        print(legacy(raw) + '|' + ' '.join(a.display_name.encode().hex() + ':' +\n"
	"              a.addr_spec for a in h.addresses))\n"
	"    else:\n"
	"        print(str(h).encode().hex())\n";

static char dir[] = "/tmp/test-headerfmt-XXXXXX";

struct expect {
	struct strlist want;
	struct strbuf blocks;
	int fits;
};

static void
hex_of(struct strbuf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		strbuf_printf(b, "%02x", *p);
}

/* Every line of a field within 78 columns, and it ends in one LF.  A
 * name of more than 56 characters may leave no room for a word on its
 * line (headerfmt.h): that line holds the name and one word, no more. */
static int
lines_fit(const char *field)
{
	size_t len = strlen(field), name = strcspn(field, ":");

	if (len == 0 || field[len - 1] != '\n')
		return 0;
	for (const char *p = field; *p != '\0';) {
		size_t n = strcspn(p, "\n");

		if (n > HEADERFMT_FOLD_WIDTH && !(p == field && name > 56 &&
		    memchr(p + name + 2, ' ', n - name - 2) == NULL))
			return 0;
		p += n + (p[n] == '\n');
	}
	return 1;
}

static void
add_block(struct expect *e, const char *field, const char *want)
{
	if (!lines_fit(field)) {
		e->fits = 0;
		diag("a line over 78 columns: %s", field);
	}
	strbuf_printf(&e->blocks, "%s\n=====\n", field);
	strlist_push(&e->want, want);
}

static void
text_case(struct expect *e, const char *name, const char *value)
{
	struct strbuf field = { 0 }, want = { 0 };

	headerfmt_text_field(&field, name, value);
	hex_of(&want, value);
	add_block(e, field.p, want.p != NULL ? want.p : "");
	free(field.p);
	free(want.p);
}

/* given: the display name as written in the list; display: as read.
 * policy.default must read it too when it is one encoded-word. */
static void
address_case(struct expect *e, const char *name, const char *given, const char *display,
	const char *addr)
{
	struct strbuf field = { 0 }, want = { 0 };
	char *list = xasprintf("%s <%s>", given, addr);
	struct strlist lists = { 0 };

	strlist_push(&lists, list);
	strlist_push(&lists, "plain@example.test");
	headerfmt_address_field(&field, name, &lists);
	hex_of(&want, display);
	strbuf_printf(&want, ":%s :plain@example.test", addr);
	if (strlen(display) <= HEADERFMT_WORD_BYTES) {
		strbuf_printf(&want, "|");
		hex_of(&want, display);
		strbuf_printf(&want, ":%s :plain@example.test", addr);
	}
	add_block(e, field.p, want.p);
	strlist_free(&lists);
	free(list);
	free(field.p);
	free(want.p);
}

/* A 76-character field name: the first word goes on a line of its own. */
static const char long_name[] =
	"X-Name-Of-Seventy-Six-Characters-0123456789-0123456789-0123456789-0123456789";
/* The longest name that leaves room, within 78 columns, for a word of
 * one 4-byte character. */
static const char name_56[] =
	"X-Name-Of-Fifty-Six-Characters-0123456789-0123456789-012";

/* k ASCII letters, then 4-byte, 2-byte and 3-byte characters: over all k
 * every sequence meets the 39-byte word limit at each of its offsets. */
static void
split_value(char *out, size_t k, size_t repeat)
{
	memset(out, 'a', k);
	out[k] = '\0';
	for (size_t i = 0; i < repeat; i++)
		strcat(out, "\xf0\x9f\x98\x80\xf0\x90\x8d\x88\xc3\xa9\xe2\x82\xac");
}

static void
make_cases(struct expect *e)
{
	char value[1024];

	for (size_t k = 0; k < 48; k++) {
		split_value(value, k, 1 + k % 7);
		text_case(e, "Subject", value);
		text_case(e, long_name, value);
		text_case(e, name_56, value);
		address_case(e, "Reply-To", value, value, "help@example.test");
		address_case(e, "From", value, value, "a-rather-long-address.name@subdomain.example.test");
	}
	text_case(e, "Subject", "Backup report for host1");
	text_case(e, "Subject", "");
	text_case(e, "Subject", "a long ASCII subject of many words that goes on and on, past "
	    "the seventy-eight columns of a line, and is folded at its spaces");
	text_case(e, "Subject", "tab\tand \x7f control: encoded");
	/* found by fuzz-userfield: ASCII that looks like an encoded-word is
	 * encoded itself, else it would not read back as it was */
	text_case(e, "Subject", "literal =?UTF-8?B?w6k=?= text");
	text_case(e, "Subject", "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln");
	address_case(e, "Cc", "\"Doe, John\"", "Doe, John", "john@example.test");
	address_case(e, "Cc", "J\xc3\xbcrgen M\xc3\xbcller", "J\xc3\xbcrgen M\xc3\xbcller", "j@example.test");
}

static void
test_python_reads_back(void)
{
	struct expect e = { .fits = 1 };
	char path[256], command[600], *line = NULL;
	size_t cap = 0, i = 0;
	FILE *p, *f;

	make_cases(&e);
	ok(e.fits, "every line of every field within 78 columns");
	snprintf(path, sizeof path, "%s/decode.py", dir);
	f = fopen(path, "w");
	fputs(decode_py, f);
	fclose(f);
	snprintf(path, sizeof path, "%s/fields", dir);
	f = fopen(path, "w");
	fwrite(e.blocks.p, 1, e.blocks.len, f);
	fclose(f);
	snprintf(command, sizeof command, "python3 %s/decode.py %s", dir, path);
	p = popen(command, "r");
	for (; p != NULL && getline(&line, &cap, p) > 0 && i < e.want.count; i++) {
		line[strcspn(line, "\n")] = '\0';
		if (strchr(e.want.items[i], '|') == NULL)
			line[strcspn(line, "|")] = '\0';	/* policy.default not asked */
		is_str(line, e.want.items[i], "python3 decodes field %zu", i);
	}
	is_int(i, e.want.count, "python3 answered for every field");
	if (p != NULL)
		pclose(p);
	free(line);
	strlist_free(&e.want);
	free(e.blocks.p);
}

/* The words themselves: B, UTF-8, at most 75 characters each, and a
 * line holding one at most 76 (RFC 2047 2). */
static void
test_words(void)
{
	struct strbuf b = { 0 };
	char value[1024];
	int short_lines = 1;

	headerfmt_text_field(&b, "Subject", "Gr\xc3\xbc\xc3\x9f" "e");
	is_str(b.p, "Subject: =?UTF-8?B?R3LDvMOfZQ==?=\n", "one B word");
	free(b.p);
	b = (struct strbuf){ 0 };
	headerfmt_text_field(&b, "Subject", "plain words");
	is_str(b.p, "Subject: plain words\n", "plain ASCII as it is");
	free(b.p);
	for (size_t k = 0; k < 48; k++) {
		b = (struct strbuf){ 0 };
		split_value(value, k, 20);
		headerfmt_text_field(&b, "Subject", value);
		for (char *s = b.p; *s != '\0';) {
			size_t n = strcspn(s, "\n");

			short_lines &= n <= 76;
			s += n + (s[n] == '\n');
		}
		free(b.p);
	}
	ok(short_lines, "every line with encoded-words within 76 characters");
}

static void
test_list_ok(void)
{
	ok(headerfmt_address_list_ok("J\xc3\xbcrgen <j@example.test>, b@example.test"),
	    "non-ASCII display name: ok");
	ok(!headerfmt_address_list_ok("J\xc3\xbcrgen <j\xc3\xbc@example.test>"),
	    "non-ASCII address: not ok");
	ok(!headerfmt_address_list_ok("j\xc3\xbc@example.test"),
	    "non-ASCII without angle brackets: not ok");
	ok(!headerfmt_address_list_ok("a@example.test (J\xc3\xbcrgen)"),
	    "non-ASCII comment: not ok");
}

/* The longest line of a field. */
static size_t
longest_line(const char *field)
{
	size_t longest = 0, line = 0;

	for (const char *p = field; *p != '\0'; p++) {
		line = *p == '\n' ? 0 : line + 1;
		if (line > longest)
			longest = line;
	}
	return longest;
}

/* Neither a quoted display name nor an address with a comment can be
 * folded inside: made of many words of up to 900 characters each (what
 * --header lets through), either one once made a line over RFC 5322's 998
 * octets (found by fuzz-userfield). */
static void
test_long_pieces(void)
{
	struct strbuf word = { 0 }, value = { 0 }, field = { 0 };
	struct strlist list = { 0 };

	for (int i = 0; i < 800; i++)
		strbuf_append(&word, "x", 1);
	strbuf_printf(&value, "\"%s, %s, %s\" <a@example.test>, b@example.test (%s %s %s)",
	    word.p, word.p, word.p, word.p, word.p, word.p);
	strlist_push(&list, value.p);
	headerfmt_address_field(&field, "Reply-To", &list);
	ok(longest_line(field.p) <= 998, "long quoted name and comment: lines of at most 998 (%zu)",
	    longest_line(field.p));
	strlist_free(&list);
	free(word.p);
	free(value.p);
	free(field.p);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	test_words();
	test_list_ok();
	test_long_pieces();
	if (system("python3 -c 'import email.policy' 2>/dev/null") != 0)
		skip("python3 with the email package is not installed");
	else
		test_python_reads_back();
	{
		char command[300];

		snprintf(command, sizeof command, "rm -rf %s", dir);
		if (system(command) != 0)
			diag("could not remove %s", dir);
	}
	return done_testing();
}
