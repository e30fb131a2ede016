/* The record of a run (runrec.h): plain data, filled where facts are known. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "runrec.h"
#include "xalloc.h"

static void
set_string(char **field, const char *value)
{
	free(*field);
	*field = value != NULL ? xstrdup(value) : NULL;
}

struct runrec *
runrec_start(struct runrec_list *l, enum runrec_kind kind, const char *account)
{
	struct runrec *r = xcalloc(1, sizeof *r);

	r->kind = kind;
	r->account = xstrdup(account);
	r->started = r->ended = time(NULL);
	r->started_ms = clock_now_ms();
	r->size = -1;
	r->result = "failed";
	l->items = xgrow(l->items, &l->alloc, l->count + 1, sizeof *l->items);
	l->items[l->count++] = r;
	return r;
}

void
runrec_server(struct runrec *r, const char *host, unsigned port, const char *tls)
{
	if (r == NULL)
		return;
	set_string(&r->host, host);
	r->port = port;
	set_string(&r->tls, tls);
}

void
runrec_finish(struct runrec *r, enum failure cls, const char *line)
{
	if (r == NULL)
		return;
	r->ended = time(NULL);
	r->seconds = (double)(clock_now_ms() - r->started_ms) / 1000.0;
	r->cls = cls;
	r->exit_code = status_exit_code(cls);
	set_string(&r->error, cls != FAIL_NONE ? line : NULL);
}

void
runrec_add_failure(struct runrec *r, unsigned long num, const char *uidl, const char *reason)
{
	struct runrec_failure *f;

	if (r == NULL)
		return;
	r->failures = xgrow(r->failures, &r->failure_alloc, r->failure_count + 1,
	    sizeof *r->failures);
	f = &r->failures[r->failure_count++];
	*f = (struct runrec_failure){ .num = num };
	set_string(&f->uidl, uidl);
	set_string(&f->reason, reason);
}

void
runrec_add_oversized(struct runrec *r, unsigned long num, const char *uidl,
	unsigned long long size)
{
	struct runrec_oversized *o;

	if (r == NULL)
		return;
	r->oversized = xgrow(r->oversized, &r->oversized_alloc, r->oversized_count + 1,
	    sizeof *r->oversized);
	o = &r->oversized[r->oversized_count++];
	*o = (struct runrec_oversized){ .num = num, .size = size };
	set_string(&o->uidl, uidl);
}

void
runrec_envelope(struct runrec *r, const char *from, const char *const *rcpts, size_t count)
{
	if (r == NULL || r->rcpts != NULL)
		return;		/* a failover's second attempt: the same envelope */
	set_string(&r->from, from);
	r->rcpts = xcalloc(count + 1, sizeof *r->rcpts);
	r->rcpt_count = count;
	for (size_t i = 0; i < count; i++)
		r->rcpts[i].address = xstrdup(rcpts[i]);
}

void
runrec_rcpt_reply(struct runrec *r, size_t i, int code, const char *text)
{
	if (r == NULL || i >= r->rcpt_count)
		return;
	r->rcpts[i].code = code;
	free(r->rcpts[i].reply);
	r->rcpts[i].reply = xstrdup(text);
}

void
runrec_final_reply(struct runrec *r, int code, const char *text)
{
	if (r == NULL)
		return;
	r->final_code = code;
	free(r->final_reply);
	r->final_reply = xstrdup(text);
	free(r->queue_id);
	r->queue_id = code >= 200 && code < 300 ? runrec_parse_queue_id(text) : NULL;
}

/* Postfix, Exim, Sendmail and most others say "queued as ID" (Exim "id=ID"
 * is not sought: a guess is worse than nothing).  The id ends at the first
 * character that is not alphanumeric, '.', '-' or '_'. */
char *
runrec_parse_queue_id(const char *text)
{
	const char *p = text != NULL ? strstr(text, "queued as ") : NULL;
	size_t n = 0;

	if (p == NULL)
		return NULL;
	p += strlen("queued as ");
	while (isalnum((unsigned char)p[n]) || p[n] == '.' || p[n] == '-' || p[n] == '_')
		n++;
	return n > 0 && n <= 64 ? xstrndup(p, n) : NULL;
}

static void
runrec_free(struct runrec *r)
{
	char *strings[] = { r->account, r->host, r->tls, r->error, r->from, r->final_reply,
		r->queue_id, r->queued_as, r->queue_reason, r->report_json };

	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
		free(strings[i]);
	for (size_t i = 0; i < r->failure_count; i++) {
		free(r->failures[i].uidl);
		free(r->failures[i].reason);
	}
	for (size_t i = 0; i < r->oversized_count; i++)
		free(r->oversized[i].uidl);
	free(r->oversized);
	for (size_t i = 0; i < r->rcpt_count; i++) {
		free(r->rcpts[i].address);
		free(r->rcpts[i].reply);
	}
	free(r->failures);
	free(r->rcpts);
	free(r);
}

void
runrec_list_free(struct runrec_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		runrec_free(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof *l);
}
