/*
 * The server's side of POP3: status lines, response codes, listings and
 * bodies (pop3-reply.h).  Every status line goes through
 * pop3_parse_status(), so the strictness rules live in one function.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "pop3-reply.h"

static void
parse_code(const char *s, struct pop3_status *st)
{
	const char *end;
	size_t len;

	st->code[0] = '\0';
	if (*s != '[' || (end = strchr(s, ']')) == NULL)
		return;
	len = (size_t)(end - s - 1);
	if (len >= sizeof st->code)
		return;
	memcpy(st->code, s + 1, len);
	st->code[len] = '\0';
	s = end + 1;
	while (*s == ' ')
		s++;
	st->text = s;
}

int
pop3_parse_status(const char *line, size_t len, struct pop3_status *st)
{
	size_t skip;

	if (len >= 3 && memcmp(line, "+OK", 3) == 0) {
		st->ok = true;
		skip = 3;
	} else if (len >= 4 && memcmp(line, "-ERR", 4) == 0) {
		st->ok = false;
		skip = 4;
	} else {
		return fail(FAIL_PROTOCOL, "malformed POP3 status line: \"%.60s\"", line);
	}
	if (len > skip && line[skip] != ' ')
		return fail(FAIL_PROTOCOL, "malformed POP3 status line: \"%.60s\"", line);
	st->text = line + (len > skip ? skip + 1 : skip);
	st->code[0] = '\0';
	if (!st->ok)
		parse_code(st->text, st);
	return 0;
}

/* True when code is name or starts with "name/" (RFC 2449 hierarchy). */
static bool
code_is(const char *code, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(code, name, n) == 0 && (code[n] == '\0' || code[n] == '/');
}

enum failure
pop3_error_class(const struct pop3_status *st, enum failure dflt)
{
	const char *c = st->code;

	if (code_is(c, "SYS/TEMP") || code_is(c, "IN-USE") || code_is(c, "LOGIN-DELAY"))
		return FAIL_TEMPORARY;
	if (code_is(c, "SYS/PERM"))
		return FAIL_PERMANENT;
	if (code_is(c, "AUTH"))
		return FAIL_AUTH;
	return dflt;
}

int
pop3_read_status(struct conn *c, struct pop3_status *st)
{
	char *line;
	size_t len;

	if (proto_read_line(c, &line, &len) < 0)
		return -1;
	return pop3_parse_status(line, len, st);
}

/* Copies the next line of a listing, up to and including its LF, into
 * l->raw; one longer than PROTO_LINE_MAX octets and CRLF is FAIL_PROTOCOL. */
static int
read_raw_line(struct pop3_listing *l, struct conn *c, size_t *len_r)
{
	const char *in, *lf;
	size_t len = 0, n, take;

	do {
		if (conn_peek(c, &in, &n) < 0)
			return -1;
		lf = memchr(in, '\n', n);
		take = lf != NULL ? (size_t)(lf - in) + 1 : n;
		if (take > sizeof l->raw - len)
			return fail(FAIL_PROTOCOL, "the server sent a line longer than %d bytes",
			    PROTO_LINE_MAX);
		memcpy(l->raw + len, in, take);
		conn_consume(c, take);
		len += take;
	} while (l->raw[len - 1] != '\n');
	*len_r = len;
	return 0;
}

/* The line without its line ending, for the transcript. */
static size_t
without_line_end(const char *raw, size_t len)
{
	len--;
	return len > 0 && raw[len - 1] == '\r' ? len - 1 : len;
}

void
pop3_listing_begin(struct pop3_listing *l, const char *shortened)
{
	pop3_unstuff_init(&l->unstuffer);
	l->shortened = shortened;
	l->lines = 0;
}

/* True while -v holds this listing's lines back after the first few. */
static bool
holding(const struct pop3_listing *l)
{
	return l->shortened != NULL && log_verbose == 1;
}

/* One line for the transcript: shown now, or held among the last few
 * (line k, counted from 1 after the first ENDS, in slot (k - 1) % ENDS). */
static void
transcript_line(struct pop3_listing *l, const char *text, size_t len)
{
	size_t slot;

	l->lines++;
	if (!holding(l) || l->lines <= POP3_LISTING_ENDS) {
		log_transcript("<-", text, len);
		return;
	}
	slot = (l->lines - POP3_LISTING_ENDS - 1) % POP3_LISTING_ENDS;
	memcpy(l->tail[slot].text, text, len);
	l->tail[slot].len = len;
}

/* The lines held back: the count of those never shown, then the last
 * few.  Once only: the listing is then shown as it goes. */
static void
show_held(struct pop3_listing *l)
{
	unsigned long after_head, held, k;

	if (!holding(l) || l->lines <= POP3_LISTING_ENDS) {
		l->shortened = NULL;
		return;
	}
	after_head = l->lines - POP3_LISTING_ENDS;
	held = after_head < POP3_LISTING_ENDS ? after_head : POP3_LISTING_ENDS;
	if (after_head > held)
		log_info("%s answer: %lu lines, %lu not shown (-vv shows every line)",
		    l->shortened, l->lines, after_head - held);
	for (k = after_head - held + 1; k <= after_head; k++) {
		size_t slot = (k - 1) % POP3_LISTING_ENDS;

		log_transcript("<-", l->tail[slot].text, l->tail[slot].len);
	}
	l->shortened = NULL;
}

void
pop3_listing_abandon(struct pop3_listing *l)
{
	show_held(l);
}

/* A "." line after a bare LF is data, as in a body (dotstuff.c), so a
 * listing cannot end early there and have its rest taken for the next
 * status line. */
int
pop3_listing_next(struct pop3_listing *l, struct conn *c, char **line_r, size_t *len_r)
{
	size_t n = 0, used, o;

	if (read_raw_line(l, c, &n) < 0) {
		show_held(l);
		return -1;
	}
	o = pop3_unstuff(&l->unstuffer, l->raw, n, l->line, &used);
	if (l->unstuffer.done)
		show_held(l);	/* before the terminator */
	transcript_line(l, l->raw, without_line_end(l->raw, n));
	if (memchr(l->raw, '\0', n) != NULL) {
		show_held(l);
		return fail(FAIL_PROTOCOL, "the server sent a NUL byte in a reply");
	}
	if (l->unstuffer.done)
		return 1;
	/* Not the end, so the unstuffer wrote the line's LF last: drop it. */
	l->line[o - 1] = '\0';
	*line_r = l->line;
	*len_r = o - 1;
	return 0;
}

void
pop3_parse_capa_line(struct pop3_caps *caps, const char *line)
{
	char word[32];
	size_t n = strcspn(line, " ");

	proto_keep_offered(caps->offered, sizeof caps->offered, &caps->offered_cut, line);
	if (n >= sizeof word)
		return;
	memcpy(word, line, n);
	word[n] = '\0';
	if (strcasecmp(word, "STLS") == 0)
		caps->stls = true;
	else if (strcasecmp(word, "USER") == 0)
		caps->user = true;
	else if (strcasecmp(word, "PIPELINING") == 0)
		caps->pipelining = true;
	else if (strcasecmp(word, "UIDL") == 0)
		caps->uidl = true;
	else if (strcasecmp(word, "TOP") == 0)
		caps->top = true;
	else if (strcasecmp(word, "RESP-CODES") == 0)
		caps->resp_codes = true;
	else if (strcasecmp(word, "EXPIRE") == 0)
		proto_keep_value(caps->expire_text, sizeof caps->expire_text, &caps->expire, line, n);
	else if (strcasecmp(word, "LOGIN-DELAY") == 0)
		proto_keep_value(caps->login_delay_text, sizeof caps->login_delay_text,
		    &caps->login_delay, line, n);
	else if (strcasecmp(word, "SASL") == 0) {
		proto_keep_value(caps->sasl_text, sizeof caps->sasl_text, &caps->sasl, line, n);
		caps->sasl_mechs = sasl_parse_offer(line + n, " ");
	}
}

/* By hand rather than strtoull(): a listing of 50,000 messages holds
 * 150,000 numbers, and strtoull() pays for locales, signs and bases. */
bool
pop3_parse_number(const char *s, unsigned long long *v_r, const char **end_r)
{
	unsigned long long v = 0;
	bool overflow = false;
	unsigned d;

	if (!isdigit((unsigned char)*s))
		return false;
	for (; (d = (unsigned char)*s - (unsigned)'0') <= 9; s++) {
		overflow |= v > (ULLONG_MAX - d) / 10;
		v = v * 10 + d;
	}
	*v_r = v;
	*end_r = s;
	return !overflow;
}

bool
pop3_parse_listing_line(const char *line, unsigned long *num_r, const char **rest_r)
{
	unsigned long long num;
	const char *end;

	if (!pop3_parse_number(line, &num, &end) || num == 0 || num > POP3_NUMBER_MAX ||
	    *end != ' ')
		return false;
	*num_r = (unsigned long)num;
	*rest_r = end + 1;
	return true;
}

int
pop3_read_body(struct conn *c, pop3_sink_fn *sink, void *arg)
{
	char out[CONN_BUFFER_SIZE + 2];
	struct pop3_unstuffer u;
	const char *in;
	size_t n, used, o;

	pop3_unstuff_init(&u);
	while (!u.done) {
		if (conn_peek(c, &in, &n) < 0)
			return fail_context("during a message body");
		if (n > CONN_BUFFER_SIZE)
			n = CONN_BUFFER_SIZE;
		o = pop3_unstuff(&u, in, n, out, &used);
		conn_consume(c, used);
		if (o > 0 && sink(arg, out, o) < 0)
			return -1;
	}
	return 0;
}
