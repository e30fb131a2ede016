/* The event log's lines (runlog.h), from the run's record or the queue. */
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "eventlog.h"
#include "log.h"
#include "runlog.h"
#include "xalloc.h"

#define IDENT_SEND "mailpipe-send"
#define IDENT_FETCH "mailpipe-fetch"

/* The server's last word: the final reply, else the failure's line (or
 * the one that put the message in the queue). */
static const char *
send_reply(const struct runrec *r)
{
	if (r->final_reply != NULL)
		return r->final_reply;
	return r->error != NULL ? r->error : r->queue_reason;
}

void
runlog_send(const struct account *a, const struct runrec *r)
{
	struct strbuf b = { 0 };

	if (a->log == NULL)
		return;
	eventlog_begin(&b, "send");
	eventlog_str(&b, "account", r->account);
	eventlog_str(&b, "host", r->host);
	eventlog_str(&b, "from", r->from);
	eventlog_num(&b, "rcpts", r->rcpt_count);
	if (r->size >= 0)
		eventlog_num(&b, "size", (unsigned long long)r->size);
	else
		eventlog_str(&b, "size", NULL);
	eventlog_str(&b, "result", r->result);
	eventlog_str(&b, "reply", send_reply(r));
	eventlog_num(&b, "exit", (unsigned long long)r->exit_code);
	eventlog_write(a->log, IDENT_SEND, &b);
}

void
runlog_fetch(const struct account *a, const struct runrec *r)
{
	struct strbuf b = { 0 };

	if (a->log == NULL)
		return;
	eventlog_begin(&b, "fetch");
	eventlog_str(&b, "account", r->account);
	eventlog_str(&b, "host", r->host);
	eventlog_num(&b, "retrieved", r->retrieved);
	eventlog_num(&b, "skipped", r->skipped);
	eventlog_num(&b, "deleted", r->deleted);
	eventlog_num(&b, "failed", r->failed);
	eventlog_num(&b, "bytes", r->bytes);
	eventlog_seconds(&b, "seconds", r->seconds);
	eventlog_num(&b, "exit", (unsigned long long)r->exit_code);
	eventlog_write(a->log, IDENT_FETCH, &b);
}

void
runlog_oversized(const struct account *a, const struct runrec_oversized *o)
{
	struct strbuf b = { 0 };

	if (a->log == NULL)
		return;
	eventlog_begin(&b, "oversized");
	eventlog_str(&b, "account", a->name);
	eventlog_num(&b, "number", o->num);
	eventlog_str(&b, "uidl", o->uidl);
	eventlog_num(&b, "size", o->size);
	eventlog_write(a->log, IDENT_FETCH, &b);
}

/* The recipients, comma-separated (addresses hold no comma unquoted, and
 * a quoted one is escaped by the quoting of the value). */
static char *
recipients_of(const struct queue_envelope *e)
{
	struct strbuf b = { 0 };

	for (size_t i = 0; i < e->rcpt_count; i++)
		strbuf_printf(&b, "%s%s", i > 0 ? "," : "", e->rcpts[i].address);
	return strbuf_take(&b, NULL);
}

void
runlog_queue(const struct account *a, const char *event, const char *id,
	const struct queue_envelope *e, const char *reason)
{
	struct strbuf b = { 0 };
	char *to;

	log_info("%s: %s%s%s", id, event, reason != NULL ? ": " : "", reason ? reason : "");
	if (a == NULL || a->log == NULL)
		return;
	to = recipients_of(e);
	eventlog_begin(&b, event);
	eventlog_str(&b, "id", id);
	eventlog_str(&b, "account", e->account);
	eventlog_str(&b, "from", e->sender);
	eventlog_str(&b, "to", to);
	eventlog_str(&b, "reason", reason);
	eventlog_write(a->log, IDENT_SEND, &b);
	free(to);
}

void
runlog_queued(const struct account *a, struct runrec *r, const char *id,
	const struct queue_envelope *e, const char *reason)
{
	runlog_queue(a, e->held ? "held" : "queued", id, e, reason);
	if (r == NULL)
		return;
	r->result = "queued";
	free(r->queued_as);
	r->queued_as = xstrdup(id);
	free(r->queue_reason);
	r->queue_reason = xstrdup(reason);
}

struct runrec *
runlog_start(struct runrec_list *l, enum runrec_kind kind, const struct account *a)
{
	struct runrec *r = runrec_start(l, kind, a->name);
	struct endpoint ep;

	endpoint_of(a, 0, &ep);
	runrec_server(r, ep.host, ep.port, NULL);
	return r;
}

int
runlog_sent(const struct account *a, struct runrec *r, int rc)
{
	if (r == NULL)
		return rc;
	runrec_finish(r, rc < 0 ? fail_class() : FAIL_NONE, fail_line());
	if (strcmp(r->result, "queued") == 0)
		;	/* the queue answers for it */
	else if (rc == 0)
		r->result = "sent";
	else if (r->final_code >= 200 && r->final_code < 300)
		r->result = "partial";	/* some recipients have it */
	runlog_send(a, r);
	return rc;
}
