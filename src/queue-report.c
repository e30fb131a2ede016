/*
 * The listing of the queues and the warning that keeps a message from
 * hiding in one.  The listing is for people (mailq style: one line per
 * message, then its envelope indented); the warning is one line and exit
 * 75, for a timer or a monitoring check, since a message in failed/ or
 * stuck for a day is what nobody would otherwise see.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue-policy.h"
#include "queue-report.h"
#include "queue.h"
#include "route.h"
#include "runlog.h"
#include "status.h"
#include "units.h"
#include "xalloc.h"

/* What needs a human, over the queues looked at. */
struct attention {
	size_t failed, old, unreadable;
	int warn;			/* the queue_warn of the first old one */
	char *dir;			/* the first queue with something (a copy) */
};

/* ---- the listing ---- */

static void
print_recipients(const struct queue_envelope *e, FILE *out)
{
	fprintf(out, "    to");
	for (size_t i = 0; i < e->rcpt_count; i++)
		fprintf(out, "%s %s (%s)", i > 0 ? "," : "", e->rcpts[i].address,
		    queue_rcpt_state_name(e->rcpts[i].state));
	fprintf(out, "\n");
}

/* "next attempt in 12m", or why there is none. */
static void
print_next(const struct queue_envelope *e, const struct account *a, int64_t now, FILE *out)
{
	char in[QUEUE_DURATION_TEXT];

	if (e->held)
		fprintf(out, "  held: credentials, tried at every flush");
	else if (queue_envelope_count(e, QRCPT_PENDING) == 0 && a != NULL &&
	    !a->queue_resend_unconfirmed)
		fprintf(out, "  unconfirmed, not resent");
	else if (e->next <= now)
		fprintf(out, "  next attempt now");
	else {
		queue_duration_text(e->next - now, in, sizeof in);
		fprintf(out, "  next attempt in %s", in);
	}
}

static void
print_item(const struct queue_item *it, bool failed, const struct config *cfg, int64_t now,
	FILE *out)
{
	const struct queue_envelope *e = &it->env;
	char age[QUEUE_DURATION_TEXT];

	if (it->problem != NULL) {
		fprintf(out, "%s%s  unreadable: %s\n", failed ? "failed/" : "", it->id, it->problem);
		return;
	}
	queue_duration_text(now - e->created, age, sizeof age);
	fprintf(out, "%s%s  %s  %s old  %lld %s  attempts %u", failed ? "failed/" : "",
	    it->id, e->account, age, it->size,
	    units_plural((unsigned long long)it->size, "byte", "bytes"), e->attempts);
	if (!failed)
		print_next(e, route_find(cfg, e->account), now, out);
	fprintf(out, "\n    from %s\n", e->sender);
	print_recipients(e, out);
	if (queue_envelope_count(e, QRCPT_UNCONFIRMED) > 0)
		fprintf(out, "    unconfirmed: the server may already have it; "
		    "queue_resend_unconfirmed = yes sends it again, --queue-delete %s drops it\n",
		    it->id);
	if (e->error != NULL)
		fprintf(out, "    %s: %s\n", failed ? "why" : "last error", e->error);
}

/* The messages queued (*l) and those in failed/ (*f). */
static int
list_both(struct queue *q, struct queue_list *l, struct queue_list *f)
{
	if (queue_list(q, false, l) < 0)
		return -1;
	if (queue_list(q, true, f) < 0) {
		queue_list_free(l);
		return -1;
	}
	return 0;
}

static int
list_queue(struct queue *q, const struct config *cfg, int64_t now, FILE *out)
{
	struct queue_list l, f;

	if (list_both(q, &l, &f) < 0)
		return -1;
	fprintf(out, "%s: %zu queued, %zu failed\n", queue_path(q), l.count, f.count);
	for (size_t i = 0; i < l.count; i++)
		print_item(&l.items[i], false, cfg, now, out);
	for (size_t i = 0; i < f.count; i++)
		print_item(&f.items[i], true, cfg, now, out);
	queue_list_free(&l);
	queue_list_free(&f);
	return 0;
}

/* Calls each(q, ...) for every queue chosen; stops at the first -1. */
static int
each_queue(const struct config *cfg, const char *name,
	int (*each)(struct queue *q, const struct config *cfg, void *arg), void *arg)
{
	size_t seen = 0;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < cfg->count; i++) {
		struct queue *q;

		if (!route_first_with_queue(cfg, i, name))
			continue;
		seen++;
		rc = queue_open(cfg->accounts[i].queue_dir, false, &q) < 0 ? -1 :
		    each(q, cfg, arg);
		queue_close(q);
	}
	if (seen == 0 && name != NULL && route_find(cfg, name) == NULL)
		return fail(FAIL_CONFIG, "%s: no [smtp %s] section", cfg->path, name);
	return rc;
}

static int
list_one(struct queue *q, const struct config *cfg, void *out)
{
	return list_queue(q, cfg, time(NULL), out);
}

int
queue_report_list(const struct config *cfg, const char *name, FILE *out)
{
	bool any = false;

	for (size_t i = 0; i < cfg->count; i++)
		any |= route_queue_of(&cfg->accounts[i], NULL, name);
	if (!any)
		fprintf(out, "no queue: no [smtp] account%s has queue_dir\n",
		    name != NULL ? " of that name" : "");
	return each_queue(cfg, name, list_one, out);
}

/* ---- the warning ---- */

static void
note_old(struct attention *at, const struct queue_list *l, const struct config *cfg,
	const char *dir, int64_t now)
{
	for (size_t i = 0; i < l->count; i++) {
		const struct account *a = route_find(cfg, l->items[i].env.account);
		int warn = a != NULL ? a->queue_warn : 86400;

		if (l->items[i].problem != NULL)
			at->unreadable++;
		else if (queue_is_older(&l->items[i].env, now, warn) && at->old++ == 0)
			at->warn = warn;
		if (at->dir == NULL && (at->unreadable > 0 || at->old > 0))
			at->dir = xstrdup(dir);
	}
}

static int
check_one(struct queue *q, const struct config *cfg, void *arg)
{
	struct attention *at = arg;
	struct queue_list l, f;

	if (list_both(q, &l, &f) < 0)
		return -1;
	note_old(at, &l, cfg, queue_path(q), time(NULL));
	at->failed += f.count;
	if (at->dir == NULL && f.count > 0)
		at->dir = xstrdup(queue_path(q));
	queue_list_free(&l);
	queue_list_free(&f);
	return 0;
}

int
queue_report_check(const struct config *cfg, const char *name)
{
	struct attention at = { 0 };
	char warn[QUEUE_DURATION_TEXT];
	int rc = each_queue(cfg, name, check_one, &at);

	if (rc == 0 && at.dir != NULL) {
		queue_duration_text(at.warn, warn, sizeof warn);
		fail_scope(NULL, NULL, 0);
		rc = fail(FAIL_TEMPORARY, "queue %s: %zu in failed/, %zu queued longer than %s, "
		    "%zu unreadable (see mailpipe-send --queue)", at.dir, at.failed, at.old,
		    at.old > 0 ? warn : "queue_warn", at.unreadable);
	}
	free(at.dir);
	return rc;
}

/* ---- --queue-delete ---- */

struct deletion {
	const struct config *cfg;
	const char *id;
	FILE *out;
	bool done, busy;
};

static int
delete_in(struct queue *q, bool failed, struct deletion *d)
{
	struct queue_entry *e;
	int rc = queue_claim(q, d->id, failed, &e);

	d->busy |= rc == QUEUE_BUSY;
	if (rc != QUEUE_CLAIMED)
		return rc < 0 ? -1 : 0;
	rc = queue_remove(e);
	if (rc == 0) {
		fprintf(d->out, "deleted %s%s from %s\n", failed ? "failed/" : "", d->id,
		    e->env.sender);
		print_recipients(&e->env, d->out);
		runlog_queue(route_find(d->cfg, e->env.account), "deleted", d->id, &e->env, NULL);
		d->done = true;
	}
	queue_release(e);
	return rc;
}

static int
delete_one(struct queue *q, const struct config *cfg, void *arg)
{
	struct deletion *d = arg;

	(void)cfg;
	if (d->done)
		return 0;
	return delete_in(q, false, d) < 0 || (!d->done && delete_in(q, true, d) < 0) ? -1 : 0;
}

int
queue_report_delete(const struct config *cfg, const char *name, const char *id, FILE *out)
{
	struct deletion d = { .cfg = cfg, .id = id, .out = out };

	if (each_queue(cfg, name, delete_one, &d) < 0)
		return -1;
	if (d.done)
		return 0;
	if (d.busy)
		return fail(FAIL_TEMPORARY, "message %s is being delivered by another run; "
		    "try again when it is done", id);
	return fail(FAIL_USAGE, "no message %s in the queue (see mailpipe-send --queue)", id);
}
