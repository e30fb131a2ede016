/*
 * The envelope record's text (the format is in queue-format.h): one
 * table of the text fields, so that formatting and parsing cannot drift
 * apart, and a strict reader that names the line it could not take.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsn.h"
#include "queue-format.h"
#include "status.h"
#include "strbuf.h"
#include "xalloc.h"

#define MAGIC "mailpipe-queue"
/* The longest value a record holds comes from the command line (-s, -F):
 * Linux passes no argument longer than 32 pages.  Escaped, a byte takes
 * up to three; the key and the newline fit in the rest.  The reader must
 * take every line the writer can write. */
#define VALUE_MAX (32 * 4096)
#define LINE_MAX_LENGTH (3 * VALUE_MAX + 64)
/* The tokens of the longest line, "rcpt STATE ADDRESS". */
#define TOKENS_MAX 3

static const char *const state_names[] = {
	[QRCPT_PENDING] = "pending", [QRCPT_SENT] = "sent", [QRCPT_REFUSED] = "refused",
	[QRCPT_INFLIGHT] = "inflight", [QRCPT_UNCONFIRMED] = "unconfirmed",
};
#define STATE_COUNT (sizeof state_names / sizeof state_names[0])

/* The optional text fields, in the order they are written. */
static const struct {
	const char *key;
	size_t offset;
	const char *(*check)(const char *value);	/* NULL: any text */
} text_fields[] = {
	{ "error", offsetof(struct queue_envelope, error), NULL },
	{ "subject", offsetof(struct queue_envelope, subject), NULL },
	{ "full-name", offsetof(struct queue_envelope, full_name), NULL },
	{ "domain", offsetof(struct queue_envelope, domain), NULL },
	{ "date", offsetof(struct queue_envelope, date), NULL },
	{ "message-id", offsetof(struct queue_envelope, message_id), NULL },
	/* What goes into MAIL and RCPT as it is: read back as strictly as
	 * -N, -R and -V are checked. */
	{ "dsn-notify", offsetof(struct queue_envelope, dsn_notify), dsn_notify_check },
	{ "dsn-ret", offsetof(struct queue_envelope, dsn_ret), dsn_ret_check },
	{ "envid", offsetof(struct queue_envelope, envid), dsn_envid_check },
};
#define TEXT_FIELD_COUNT (sizeof text_fields / sizeof text_fields[0])

static char **
text_field(struct queue_envelope *e, size_t i)
{
	return (char **)((char *)e + text_fields[i].offset);
}

static const char *
text_value(const struct queue_envelope *e, size_t i)
{
	return *(char *const *)((const char *)e + text_fields[i].offset);
}

const char *
queue_rcpt_state_name(enum queue_rcpt_state st)
{
	return (size_t)st < STATE_COUNT ? state_names[st] : "?";
}

void
queue_envelope_add_rcpt(struct queue_envelope *e, const char *address,
	enum queue_rcpt_state state)
{
	e->rcpts = xgrow(e->rcpts, &e->rcpt_alloc, e->rcpt_count + 1, sizeof *e->rcpts);
	e->rcpts[e->rcpt_count++] = (struct queue_rcpt){ xstrdup(address), state };
}

size_t
queue_envelope_count(const struct queue_envelope *e, enum queue_rcpt_state st)
{
	size_t n = 0;

	for (size_t i = 0; i < e->rcpt_count; i++)
		n += e->rcpts[i].state == st;
	return n;
}

bool
queue_envelope_settle_in_flight(struct queue_envelope *e)
{
	size_t n = 0;

	for (size_t i = 0; i < e->rcpt_count; i++)
		if (e->rcpts[i].state == QRCPT_INFLIGHT) {
			e->rcpts[i].state = QRCPT_UNCONFIRMED;
			n++;
		}
	if (n > 0)
		queue_envelope_set(&e->error, "the run that sent it ended before the server's "
		    "answer was recorded; the server may have it");
	return n > 0;
}

void
queue_envelope_set(char **field, const char *text)
{
	char *copy = text != NULL ? xstrdup(text) : NULL;

	free(*field);
	*field = copy;
}

void
queue_envelope_set_dsn(struct queue_envelope *e, const struct dsn_request *dsn)
{
	queue_envelope_set(&e->dsn_notify, dsn->notify);
	queue_envelope_set(&e->dsn_ret, dsn->ret);
	queue_envelope_set(&e->envid, dsn->envid);
}

struct dsn_request
queue_envelope_dsn(const struct queue_envelope *e)
{
	return (struct dsn_request){ .notify = e->dsn_notify, .ret = e->dsn_ret,
		.envid = e->envid };
}

void
queue_envelope_free(struct queue_envelope *e)
{
	free(e->account);
	free(e->sender);
	for (size_t i = 0; i < TEXT_FIELD_COUNT; i++)
		free(*text_field(e, i));
	strlist_free(&e->to);
	for (size_t i = 0; i < e->rcpt_count; i++)
		free(e->rcpts[i].address);
	free(e->rcpts);
	memset(e, 0, sizeof *e);
}

/* ---- writing ---- */

/* "key value"; an empty value (-s "") is the key alone. */
static void
put_line(struct strbuf *b, const char *key, const char *value)
{
	strbuf_append(b, key, strlen(key));
	if (*value != '\0') {
		strbuf_append(b, " ", 1);
		strbuf_put_escaped(b, value);
	}
	strbuf_append(b, "\n", 1);
}

char *
queue_envelope_format(const struct queue_envelope *e, size_t *len_r)
{
	struct strbuf b = { 0 };

	strbuf_printf(&b, "%s %d\n", MAGIC, QUEUE_FORMAT_VERSION);
	put_line(&b, "account", e->account);
	put_line(&b, "sender", e->sender);
	strbuf_printf(&b, "created %lld\nattempts %u\nnext %lld\n", (long long)e->created,
	    e->attempts, (long long)e->next);
	if (e->held)
		strbuf_printf(&b, "held credentials\n");
	strbuf_printf(&b, "mode %s\n", e->body_only ? "body" : "raw");
	for (size_t i = 0; i < TEXT_FIELD_COUNT; i++)
		if (text_value(e, i) != NULL)
			put_line(&b, text_fields[i].key, text_value(e, i));
	for (size_t i = 0; i < e->to.count; i++)
		put_line(&b, "to", e->to.items[i]);
	for (size_t i = 0; i < e->rcpt_count; i++) {
		strbuf_printf(&b, "rcpt %s ", state_names[e->rcpts[i].state]);
		strbuf_put_escaped(&b, e->rcpts[i].address);
		strbuf_append(&b, "\n", 1);
	}
	strbuf_printf(&b, "end %zu\n", e->rcpt_count);
	return strbuf_take(&b, len_r);
}

/* ---- reading ---- */

struct reader {
	const char *name;
	unsigned long lineno;
	bool ended;
	bool seen_mode, seen_counts;
};

static int
corrupt(const struct reader *r, const char *what)
{
	return fail(FAIL_IO, "%s is corrupt (line %lu: %s); move it out of the queue "
	    "and send its message again", r->name, r->lineno, what);
}

/* Splits line at single spaces; the number of tokens, or -1 for too many
 * or an empty one. */
static int
split(char *line, char *tok[TOKENS_MAX])
{
	int n = 0;

	for (char *p = line;; p++) {
		char *space = strchr(p, ' ');

		if (n == TOKENS_MAX || *p == '\0' || *p == ' ')
			return -1;
		tok[n++] = p;
		if (space == NULL)
			return n;
		*space = '\0';
		p = space;
	}
}

static bool
parse_number(const char *s, long long max, long long *n_r)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*n_r = strtoll(s, &end, 10);
	return errno == 0 && *end == '\0' && *n_r <= max;
}

/* A text value: once, decoded. */
static int
set_text(const struct reader *r, char **field, const char *token)
{
	if (*field != NULL)
		return corrupt(r, "a key given twice");
	if ((*field = strbuf_unescape(token)) == NULL)
		return corrupt(r, "a badly escaped value");
	return 0;
}

static int
set_checked_text(const struct reader *r, struct queue_envelope *e, size_t i, const char *token)
{
	if (set_text(r, text_field(e, i), token) < 0)
		return -1;
	if (text_fields[i].check != NULL && text_fields[i].check(*text_field(e, i)) != NULL)
		return corrupt(r, "a DSN value that is not one");
	return 0;
}

static int
parse_rcpt(const struct reader *r, struct queue_envelope *e, char *tok[], int n)
{
	char *address;

	if (n != 3)
		return corrupt(r, "rcpt needs a state and an address");
	for (size_t st = 0; st < STATE_COUNT; st++) {
		if (strcmp(tok[1], state_names[st]) != 0)
			continue;
		if ((address = strbuf_unescape(tok[2])) == NULL)
			return corrupt(r, "a badly escaped address");
		queue_envelope_add_rcpt(e, address, (enum queue_rcpt_state)st);
		free(address);
		return 0;
	}
	return corrupt(r, "an unknown recipient state");
}

static int
parse_to(const struct reader *r, struct queue_envelope *e, const char *token)
{
	char *address = strbuf_unescape(token);

	if (address == NULL)
		return corrupt(r, "a badly escaped address");
	strlist_push(&e->to, address);
	free(address);
	return 0;
}

/* created, attempts, next. */
static int
parse_count(struct reader *r, struct queue_envelope *e, const char *key, const char *value)
{
	long long n;

	if (!parse_number(value, strcmp(key, "attempts") == 0 ? 1000000 : INT64_MAX, &n))
		return corrupt(r, "not a number");
	if (strcmp(key, "created") == 0)
		e->created = n;
	else if (strcmp(key, "next") == 0)
		e->next = n;
	else
		e->attempts = (unsigned)n;
	r->seen_counts = true;
	return 0;
}

static int
parse_flag(struct reader *r, struct queue_envelope *e, const char *key, const char *value)
{
	if (strcmp(key, "held") == 0) {
		if (strcmp(value, "credentials") != 0)
			return corrupt(r, "held is for credentials only");
		e->held = true;
		return 0;
	}
	if (strcmp(value, "raw") != 0 && strcmp(value, "body") != 0)
		return corrupt(r, "mode is raw or body");
	e->body_only = strcmp(value, "body") == 0;
	r->seen_mode = true;
	return 0;
}

static int
parse_end(struct reader *r, const struct queue_envelope *e, const char *value)
{
	long long n;

	if (!parse_number(value, INT64_MAX, &n) || (size_t)n != e->rcpt_count)
		return corrupt(r, "the end line does not count the recipients");
	r->ended = true;
	return 0;
}

/* One "key value" line after the first. */
static int
parse_line(struct reader *r, struct queue_envelope *e, char *line)
{
	char *tok[TOKENS_MAX];
	int n = split(line, tok);

	for (size_t i = 0; n == 1 && i < TEXT_FIELD_COUNT; i++)
		if (strcmp(tok[0], text_fields[i].key) == 0)
			return set_checked_text(r, e, i, "");	/* put_line()'s empty value */
	if (n < 2)
		return corrupt(r, "not a key and a value");	/* an empty line too */
	if (strcmp(tok[0], "rcpt") == 0)
		return parse_rcpt(r, e, tok, n);
	if (n != 2)
		return corrupt(r, "more than one value");
	if (strcmp(tok[0], "account") == 0 || strcmp(tok[0], "sender") == 0)
		return set_text(r, strcmp(tok[0], "account") == 0 ? &e->account : &e->sender,
		    tok[1]);
	for (size_t i = 0; i < TEXT_FIELD_COUNT; i++)
		if (strcmp(tok[0], text_fields[i].key) == 0)
			return set_checked_text(r, e, i, tok[1]);
	if (strcmp(tok[0], "to") == 0)
		return parse_to(r, e, tok[1]);
	if (strcmp(tok[0], "created") == 0 || strcmp(tok[0], "attempts") == 0 ||
	    strcmp(tok[0], "next") == 0)
		return parse_count(r, e, tok[0], tok[1]);
	if (strcmp(tok[0], "held") == 0 || strcmp(tok[0], "mode") == 0)
		return parse_flag(r, e, tok[0], tok[1]);
	if (strcmp(tok[0], "end") == 0)
		return parse_end(r, e, tok[1]);
	return corrupt(r, "an unknown key");
}

/* The next line of text, copied and without its newline; NULL at the
 * end, or with *rc -1 (recorded) for one that is too long, not ended or
 * holds a NUL. */
static char *
next_line(struct reader *r, const char **text, const char *end, int *rc)
{
	const char *nl = memchr(*text, '\n', (size_t)(end - *text));
	const char *what = NULL;
	char *line;

	*rc = 0;
	if (*text == end)
		return NULL;
	r->lineno++;
	if (nl == NULL)
		what = "cut short";
	else if (nl - *text > LINE_MAX_LENGTH)
		what = "line too long";
	else if (memchr(*text, '\0', (size_t)(nl - *text)) != NULL)
		what = "a NUL byte";
	if (what != NULL) {
		*rc = corrupt(r, what);
		return NULL;
	}
	line = xstrndup(*text, (size_t)(nl - *text));
	*text = nl + 1;
	return line;
}

static int
check_complete(struct reader *r, const struct queue_envelope *e)
{
	if (!r->ended)
		return corrupt(r, "cut short (no end line)");
	if (e->account == NULL || e->sender == NULL || !r->seen_mode || !r->seen_counts ||
	    e->rcpt_count == 0)
		return corrupt(r, "account, sender, mode, times or recipients missing");
	return 0;
}

int
queue_envelope_parse(const char *text, size_t len, const char *name,
	struct queue_envelope *e)
{
	struct reader r = { .name = name };
	const char *end = text + len;
	char *line, magic[32];
	int rc;

	memset(e, 0, sizeof *e);
	snprintf(magic, sizeof magic, "%s %d", MAGIC, QUEUE_FORMAT_VERSION);
	line = next_line(&r, &text, end, &rc);
	if (line == NULL || strcmp(line, magic) != 0) {
		free(line);
		return rc < 0 ? -1 : corrupt(&r, "not a version 1 queue envelope");
	}
	free(line);
	while (rc == 0 && !r.ended && (line = next_line(&r, &text, end, &rc)) != NULL) {
		rc = parse_line(&r, e, line);
		free(line);
	}
	if (rc == 0 && r.ended && text != end)
		return corrupt(&r, "text after the end line");
	return rc < 0 ? -1 : check_complete(&r, e);
}
