/*
 * mailpipe-send's runs (dispatch.h): every message of a run, new or
 * queued, is a job delivered through the accounts of its chain (route.h),
 * each account's session opened once, when first needed, and kept for the
 * run; a session that fails stays failed for the run, so each account
 * costs at most one connection.
 *
 * Exactly once, for a queued message: it is claimed (queue.h); before its
 * text goes out the recipients about to get it are written "in flight";
 * after the server's answer each recipient's fate is written, and a
 * message with nothing left to send is removed.  A run that dies between
 * the two writes leaves "in flight", which the next run reads as
 * unconfirmed: the server may have it, so it is sent again only with
 * queue_resend_unconfirmed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dispatch.h"
#include "log.h"
#include "queue.h"
#include "route.h"
#include "runlog.h"
#include "status.h"
#include "strbuf.h"
#include "submit.h"
#include "xalloc.h"

/* One account's session for the run. */
struct slot {
	const struct account *account;
	struct submit_session *session;
	bool failed;			/* for the rest of the run */
	struct failure_record failure;
	enum attempt_stage stage;
};

struct run {
	const struct config *cfg;
	int64_t now;
	struct slot *slots;
	size_t slot_count, slot_alloc;
	struct failure_record queue_failure;	/* the last queue that could not be written */
	bool queue_failed;
};

/* One message to deliver in this run. */
struct job {
	struct submission sub;
	struct run *run;
	struct queue_entry *entry;	/* a queued message; NULL for a new one */
	struct strlist rcpts;		/* queued: the recipients to send to now */
	size_t *index;			/* queued: rcpts[i] is entry->env.rcpts[index[i]] */
	struct spool spool;		/* queued: its message */
	struct parsed_message parsed;
	enum attempt_stage stage;	/* of the last failure */
	struct strbuf tried;		/* "A (HOST:PORT): why; B ...": every account tried */
	size_t tried_count;
	size_t refused_before;		/* queued: recipients refused by earlier runs */
};

/* ---- sessions ---- */

static struct slot *
slot_of(struct run *r, const struct account *a)
{
	for (size_t i = 0; i < r->slot_count; i++)
		if (r->slots[i].account == a)
			return &r->slots[i];
	r->slots = xgrow(r->slots, &r->slot_alloc, r->slot_count + 1, sizeof *r->slots);
	r->slots[r->slot_count] = (struct slot){ .account = a };
	return &r->slots[r->slot_count++];
}

/* A failed session is closed at once (the next account may be on the
 * same server), its failure kept for the jobs that would have used it. */
static void
slot_fails(struct slot *s, enum attempt_stage stage)
{
	s->failed = true;
	s->stage = stage;
	fail_save(&s->failure);
	submit_close(s->session);
	s->session = NULL;
}

/* The account's session, opened when first needed; NULL (the failure
 * recorded again, *stage_r set) when it failed, now or earlier. */
static struct submit_session *
session_of(struct run *r, const struct account *a, const char *sender,
	enum attempt_stage *stage_r)
{
	struct slot *s = slot_of(r, a);

	if (s->session == NULL && !s->failed && submit_open(a, sender, &s->session,
	    &s->stage) < 0)
		slot_fails(s, s->stage);
	if (s->failed) {
		fail_restore(&s->failure);
		*stage_r = s->stage;
		return NULL;
	}
	return s->session;
}

static void
close_sessions(struct run *r)
{
	for (size_t i = 0; i < r->slot_count; i++)
		submit_close(r->slots[i].session);
	free(r->slots);
	r->slots = NULL;
	r->slot_count = r->slot_alloc = 0;
}

/* ---- one job through the accounts of its chain ---- */

static bool
server_may_have_it(const struct job *j)
{
	for (size_t i = 0; i < j->sub.recipients->count; i++)
		if (j->sub.state[i] == RCPT_DELIVERED || j->sub.state[i] == RCPT_UNCONFIRMED)
			return true;
	return false;
}

static int
attempt(struct job *j, const struct account *a)
{
	struct submit_session *ss = session_of(j->run, a, j->sub.envelope_from, &j->stage);
	int rc;

	if (ss == NULL)
		return -1;
	rc = submit_send(ss, &j->sub, &j->stage);
	if (rc < 0 && !submit_usable(ss))
		slot_fails(slot_of(j->run, a), j->stage);
	return rc;
}

static void
note_tried(struct job *j)
{
	strbuf_printf(&j->tried, "%s%s", j->tried_count > 0 ? "; " : "", fail_line());
	j->tried_count++;
}

/* The accounts of the chain in turn, while the failure allows another
 * (queue_fails_over()); the line of a failure after several names each.
 * When one account failed for now and a later one for good, the message
 * still has somewhere to go: the failure that counts is the curable one. */
static int
deliver_job(struct job *j, const struct account *const *chain, size_t count)
{
	enum failure curable_cls = FAIL_NONE;
	enum attempt_stage curable_stage = STAGE_SESSION;

	for (size_t i = 0; i < count; i++) {
		if (attempt(j, chain[i]) == 0)
			return 0;
		note_tried(j);
		if (curable_cls == FAIL_NONE && queue_curable(fail_class(), j->stage)) {
			curable_cls = fail_class();
			curable_stage = j->stage;
		}
		if (!queue_fails_over(fail_class(), j->stage, server_may_have_it(j)))
			break;
	}
	if (j->tried_count > 1) {
		enum failure cls = fail_class();

		if (curable_cls != FAIL_NONE && !queue_curable(cls, j->stage)) {
			cls = curable_cls;
			j->stage = curable_stage;
		}
		fail_scope(NULL, NULL, 0);
		fail(cls, "%s", j->tried.p);
	}
	return -1;
}

/* ---- what the queue records ---- */

static enum queue_rcpt_state
queue_state(enum rcpt_state st, bool in_flight)
{
	switch (st) {
	case RCPT_DELIVERED:	return QRCPT_SENT;
	case RCPT_REFUSED:	return QRCPT_REFUSED;
	case RCPT_UNCONFIRMED:	return QRCPT_UNCONFIRMED;
	case RCPT_ACCEPTED:	return in_flight ? QRCPT_INFLIGHT : QRCPT_PENDING;
	default:		return QRCPT_PENDING;
	}
}

/* The job's recipient states into its envelope. */
static void
record_states(struct job *j, const enum rcpt_state *state, bool in_flight)
{
	for (size_t i = 0; i < j->rcpts.count; i++)
		j->entry->env.rcpts[j->index[i]].state = queue_state(state[i], in_flight);
}

/* submission.before_text for a queued message. */
static int
mark_in_flight(void *arg, const enum rcpt_state *state)
{
	struct job *j = arg;

	record_states(j, state, true);
	return queue_update(j->entry);
}

static bool
anything_left(const struct queue_envelope *e)
{
	return queue_envelope_count(e, QRCPT_PENDING) > 0 ||
	    queue_envelope_count(e, QRCPT_UNCONFIRMED) > 0;
}

/* A failure to write the queue is kept for the run's result. */
static void
queue_trouble(struct run *r)
{
	fail_save(&r->queue_failure);
	r->queue_failed = true;
}

static void
give_up(struct job *j, const struct account *a, const char *why)
{
	queue_envelope_set(&j->entry->env.error, why);
	runlog_queue(a, "failed", j->entry->id, &j->entry->env, why);
	if (queue_update(j->entry) < 0 || queue_move_failed(j->entry) < 0)
		queue_trouble(j->run);
}

/* After an attempt that failed: retry later, or failed/. */
static void
keep_or_give_up(struct job *j, const struct account *a)
{
	struct queue_envelope *e = &j->entry->env;
	enum queue_action act = queue_action(fail_class(), j->stage, true);
	const char *line = fail_line();

	if (act == QUEUE_FAILED) {
		give_up(j, a, line);
		return;
	}
	e->attempts++;
	e->next = j->run->now + queue_backoff(e->attempts, a->queue_backoff,
	    a->queue_backoff_limit);
	e->held = act == QUEUE_HOLD;
	queue_envelope_set(&e->error, line);
	runlog_queue(a, e->held ? "held" : "deferred", j->entry->id, e, line);
	if (queue_update(j->entry) < 0)
		queue_trouble(j->run);
}

/* What an attempt on a queued message leaves: removed when nothing is
 * left to send (failed/ when this attempt met a refusal: nobody has heard
 * of it yet, while one refused when the message was first sent was the
 * caller's exit 67), else kept or given up. */
static void
settle_queued(struct job *j, const struct account *a, int rc)
{
	struct queue_envelope *e = &j->entry->env;

	record_states(j, j->sub.state, false);
	if (rc == 0 || !anything_left(e)) {
		if (queue_envelope_count(e, QRCPT_REFUSED) > j->refused_before) {
			give_up(j, a, rc < 0 ? fail_line() : "refused by the server");
			return;
		}
		runlog_queue(a, "delivered", j->entry->id, e, NULL);
		if (queue_remove(j->entry) < 0)
			queue_trouble(j->run);
		return;
	}
	keep_or_give_up(j, a);
}

/* ---- a queued message, claimed ---- */

/* What a run killed while sending left "in flight" the server may have:
 * from now on it is unconfirmed, and says why. */
static int
settle_in_flight(struct queue_entry *e)
{
	return queue_envelope_settle_in_flight(&e->env) ? queue_update(e) : 0;
}

/* The recipients to send to now: those pending, and the unconfirmed ones
 * when the account resends them. */
static void
choose_recipients(struct job *j, const struct account *a)
{
	const struct queue_envelope *e = &j->entry->env;

	j->index = xcalloc(e->rcpt_count, sizeof *j->index);
	for (size_t i = 0; i < e->rcpt_count; i++) {
		enum queue_rcpt_state st = e->rcpts[i].state;

		if (st == QRCPT_PENDING || (st == QRCPT_UNCONFIRMED &&
		    a->queue_resend_unconfirmed)) {
			j->index[j->rcpts.count] = i;
			strlist_push(&j->rcpts, e->rcpts[i].address);
		}
	}
}

/* The submission of a queued message: its bytes, and the header its first
 * attempt would have sent. */
static int
load_message(struct job *j)
{
	const struct queue_envelope *e = &j->entry->env;
	int fd = dup(j->entry->fd);

	if (fd < 0 || spool_open_file(fd, !e->body_only, &j->spool) < 0 ||
	    compose_parse(&j->spool, &j->parsed) < 0)
		return fd < 0 ? fail(FAIL_IO, "cannot open a queued message") : -1;
	j->sub = (struct submission){
		.envelope_from = e->sender, .recipients = &j->rcpts, .spool = &j->spool,
		.message = &j->parsed, .keep_going = true, .before_text = mark_in_flight,
		.arg = j, .state = xcalloc(j->rcpts.count, sizeof *j->sub.state),
		.compose = { .from = e->sender, .full_name = e->full_name, .subject = e->subject,
		    .to = &e->to, .domain = e->domain, .date = e->date,
		    .message_id = e->message_id },
		.dsn = queue_envelope_dsn(e),
	};
	return 0;
}

/* 1: the job is ready to go; 0: nothing to send now (not due, only
 * unconfirmed recipients, or too old and moved to failed/); -1: the
 * queue failed. */
static int
prepare_queued(struct job *j, const struct account *a)
{
	struct queue_envelope *e = &j->entry->env;
	char *why, lifetime[QUEUE_DURATION_TEXT];

	if (settle_in_flight(j->entry) < 0)
		return -1;
	if (queue_is_older(e, j->run->now, a->queue_lifetime)) {
		queue_duration_text(a->queue_lifetime, lifetime, sizeof lifetime);
		why = xasprintf("not delivered within queue_lifetime (%s)%s%s", lifetime,
		    e->error != NULL ? "; the last attempt: " : "", e->error ? e->error : "");
		give_up(j, a, why);
		free(why);
		return 0;
	}
	if (!queue_is_due(e, j->run->now))
		return 0;
	j->refused_before = queue_envelope_count(e, QRCPT_REFUSED);
	choose_recipients(j, a);
	if (j->rcpts.count == 0)
		return 0;
	return load_message(j) < 0 ? -1 : 1;
}

static void
job_free(struct job *j)
{
	strlist_free(&j->rcpts);
	free(j->index);
	free(j->sub.state);
	if (j->entry != NULL) {
		spool_close(&j->spool);
		compose_free(&j->parsed, NULL);
	}
	free(j->tried.p);
	queue_release(j->entry);
}

/* One queued message of account a, if it is still there and due. */
static void
flush_one(struct run *r, struct queue *q, const char *id, const struct account *a,
	const struct account *const *chain, size_t count)
{
	struct job j = { .run = r, .spool = { .fd = -1 } };
	int rc = queue_claim(q, id, false, &j.entry);

	if (rc < 0)
		queue_trouble(r);
	if (rc != QUEUE_CLAIMED)
		return;
	rc = prepare_queued(&j, a);
	if (rc < 0)
		queue_trouble(r);
	if (rc == 1)
		settle_queued(&j, a, deliver_job(&j, chain, count));
	job_free(&j);
}

/* The queued messages of account a in q, oldest first. */
static int
flush_account(struct run *r, struct queue *q, const struct account *a)
{
	const struct account **chain;
	struct queue_list l;
	size_t count;

	if (route_chain(r->cfg, a, &chain, &count) < 0 || queue_list(q, false, &l) < 0) {
		free(chain);
		return -1;
	}
	for (size_t i = 0; i < l.count; i++)
		if (l.items[i].problem == NULL && strcmp(l.items[i].env.account, a->name) == 0)
			flush_one(r, q, l.items[i].id, a, chain, count);
	queue_list_free(&l);
	free(chain);
	return 0;
}

/* ---- a new message ---- */

static void
envelope_of(const struct job *j, const struct send_request *m, const struct account *a,
	enum queue_action act, struct queue_envelope *e)
{
	memset(e, 0, sizeof *e);
	queue_envelope_set(&e->account, a->name);
	queue_envelope_set(&e->sender, m->sender);
	e->created = e->next = j->run->now;
	e->attempts = 1;
	e->held = act == QUEUE_HOLD;
	queue_envelope_set(&e->error, fail_line());
	e->body_only = m->body_only;
	queue_envelope_set(&e->subject, m->compose.subject);
	queue_envelope_set(&e->full_name, m->compose.full_name);
	queue_envelope_set(&e->domain, m->compose.domain);
	queue_envelope_set(&e->date, m->compose.date);
	queue_envelope_set(&e->message_id, m->compose.message_id);
	queue_envelope_set_dsn(e, &m->dsn);
	for (size_t i = 0; m->compose.to != NULL && i < m->compose.to->count; i++)
		strlist_push(&e->to, m->compose.to->items[i]);
	for (size_t i = 0; i < m->recipients->count; i++)
		queue_envelope_add_rcpt(e, m->recipients->items[i],
		    queue_state(j->sub.state[i], false));
}

/* Into the queue, silently: the queue now answers for it.  A recipient
 * refused for good is still the caller's to hear about (67). */
static int
enqueue(struct job *j, const struct send_request *m, const struct account *a,
	struct queue *q, enum queue_action act)
{
	char id[QUEUE_ID_LENGTH + 1], *why = xstrdup(fail_line()), *queue_why;
	struct queue_envelope e;
	int rc;

	envelope_of(j, m, a, act, &e);
	rc = queue_add(q, &e, m->spool->fd, id);
	if (rc == 0)
		runlog_queued(a, j->sub.rec, id, &e, why);
	queue_envelope_free(&e);
	if (rc == 0) {
		free(why);
		fail_scope(a->name, NULL, 0);
		return j->sub.refused[0] == '\0' ? 0 :
		    fail(FAIL_RECIPIENT, "refused: %s (queued for the others)", j->sub.refused);
	}
	queue_why = xstrdup(fail_reason());
	fail_scope(NULL, NULL, 0);
	fail(FAIL_IO, "the message was not sent (%s) and cannot be queued: %s", why, queue_why);
	free(queue_why);
	free(why);
	return -1;
}

static bool
queue_takes(const struct job *j, struct queue *q)
{
	enum queue_action act = queue_action(fail_class(), j->stage, false);

	if (q == NULL || (act != QUEUE_KEEP && act != QUEUE_HOLD))
		return false;
	for (size_t i = 0; i < j->sub.recipients->count; i++)
		if (j->sub.state[i] != RCPT_DELIVERED && j->sub.state[i] != RCPT_REFUSED)
			return true;
	return false;
}

static int
send_new(struct run *r, const struct send_request *m, const struct account *a,
	struct queue *q)
{
	const struct account **chain;
	struct job j = { .run = r, .spool = { .fd = -1 } };
	size_t count;
	int rc = route_chain(r->cfg, a, &chain, &count);

	j.sub = (struct submission){ .envelope_from = m->sender, .recipients = m->recipients,
		.spool = m->spool, .message = m->message, .compose = m->compose,
		.keep_going = q != NULL, .progress = &submit_message_complete, .rec = m->rec,
		.state = xcalloc(m->recipients->count, sizeof *j.sub.state), .dsn = m->dsn };
	runrec_envelope(m->rec, m->sender, (const char *const *)m->recipients->items,
	    m->recipients->count);
	if (rc == 0 && deliver_job(&j, chain, count) < 0)
		rc = queue_takes(&j, q) ? enqueue(&j, m, a, q,
		    queue_action(fail_class(), j.stage, false)) : -1;
	free(chain);
	job_free(&j);
	return rc;
}

/* Whether account a has a message in q that a flush would try now. */
static bool
has_backlog(struct queue *q, const struct account *a, int64_t now)
{
	struct queue_list l;
	bool any = false;

	if (queue_list(q, false, &l) < 0)
		return false;	/* the send goes on; --flush reports the queue */
	for (size_t i = 0; i < l.count; i++)
		any |= l.items[i].problem == NULL && strcmp(l.items[i].env.account, a->name) == 0 &&
		    queue_is_due(&l.items[i].env, now);
	queue_list_free(&l);
	return any;
}

/* The backlog goes first, in the session the new message will use; when
 * that session cannot be opened (the server is down), the queued messages
 * are left as they are: they were not tried, so no attempt is counted and
 * no backoff delays them once the server is back. */
static void
flush_before_send(struct run *r, struct queue *q, const struct account *a, const char *sender)
{
	enum attempt_stage stage;

	if (session_of(r, a, sender, &stage) != NULL)
		flush_account(r, q, a);
}

int
dispatch_send(const struct config *cfg, const struct account *a, const struct send_request *m)
{
	struct run r = { .cfg = cfg, .now = time(NULL) };
	struct queue *q = NULL;
	int rc;

	if (a->queue_dir != NULL && queue_open(a->queue_dir, true, &q) < 0) {
		log_warn("%s: the message is sent without a queue: %s", a->name, fail_reason());
		queue_close(q);
		q = NULL;
	}
	if (q != NULL && a->queue_flush_on_send && has_backlog(q, a, r.now))
		flush_before_send(&r, q, a, m->sender);
	fail_clear();
	rc = send_new(&r, m, a, q);
	close_sessions(&r);
	queue_close(q);
	return rc;
}

/* ---- --flush ---- */

/* Every chosen account whose queue is dir. */
static void
flush_dir(struct run *r, const char *dir, const char *name)
{
	struct queue *q;

	if (queue_open(dir, false, &q) < 0) {
		queue_trouble(r);
		queue_close(q);
		return;
	}
	queue_tidy(q, r->now);
	for (size_t i = 0; i < r->cfg->count; i++) {
		const struct account *a = &r->cfg->accounts[i];

		if (route_queue_of(a, dir, name) && flush_account(r, q, a) < 0)
			queue_trouble(r);
	}
	queue_close(q);
}

int
dispatch_flush(const struct config *cfg, const char *name)
{
	struct run r = { .cfg = cfg, .now = time(NULL) };

	for (size_t i = 0; i < cfg->count; i++)
		if (route_first_with_queue(cfg, i, name))
			flush_dir(&r, cfg->accounts[i].queue_dir, name);
	close_sessions(&r);
	if (!r.queue_failed)
		return 0;
	fail_restore(&r.queue_failure);
	return -1;
}
