/*
 * The fetch policy.
 *
 * Order of one run, and why:
 *   1. lock the account, replay the journal against the Maildir (so a run
 *      killed earlier is resolved before anything is asked of the server);
 *   2. connect, STLS, log in, STAT + UIDL + LIST: the plan;
 *   3. check each listed UIDL whose deletion an earlier run requested but
 *      never saw confirmed: TOP tells the same message (known again) from
 *      a new one the server gave the UIDL to (retrieved as new);
 *   4. DELE what fetch-policy.h deletes unretrieved: retrieved earlier and
 *      no longer kept (or its QUIT never came back), or too big;
 *   5. retrieve new messages (up to max_messages, max_bytes) in batches:
 *      each into tmp/, one durability pass, one journal append (fsync),
 *      the names in new/, one fsync of new/, then (keep = no) DELEs;
 *   6. journal the requested deletions, QUIT; once it is answered +OK the
 *      deleted messages are gone, so their UIDLs are forgotten (the server
 *      may give them to new messages); then rewrite the state (pruning
 *      UIDLs the server dropped).
 * A SIGKILL anywhere leaves journal + Maildir consistent (uidl.h); a
 * connection lost anywhere leaves the server's messages in place, because
 * only QUIT's +OK makes DELE take effect.
 *
 * A message is only ever deleted without being retrieved in this run when
 * the state says it was retrieved earlier with the same size (and, when an
 * earlier deletion of it was requested but never confirmed, with the same
 * header).  Anything odd about a message (no UIDL, a
 * UIDL repeated, a size that changed behind a known UIDL, a body much
 * bigger than its LIST size) leaves it on the server and makes the run
 * fail, so that someone looks.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "cred.h"
#include "deliver.h"
#include "endpoint.h"
#include "fetch.h"
#include "fetch-dele.h"
#include "fetch-list.h"
#include "fetch-message.h"
#include "fetch-plan.h"
#include "fetch-policy.h"
#include "fetch-record.h"
#include "fetch-report.h"
#include "fetch-reset.h"
#include "fetch-state.h"
#include "fetch-unconfirmed.h"
#include "log.h"
#include "pop3.h"
#include "signals.h"
#include "status.h"
#include "uidl.h"
#include "units.h"
#include "xalloc.h"

/* Messages per commit: bounds the work a crash can cost and the open files. */
#define BATCH_MAX 64
/* Commands in flight with PIPELINING: bounded (RFC 2449), a window being
 * a dozen kilobytes of RETRs, so a slow link pays a round trip per window,
 * not per few messages (test/faults/net-fetch.sh), and not even that: it
 * runs on across batches (retrieve_batch()).  The octets in flight are
 * bounded too: 8 MiB keeps a 100 ms link busy at up to 80 MB/s, the
 * window being filled again when half of its messages have come (2 MiB
 * held one to 10 MB/s: 5,000 x 10 KB took 46 round trips at 100 ms,
 * bench-fetch --rtt 100).  After a signal what is in flight is still read
 * within the grace (clock.h); on a link too slow to bring 8 MiB in that
 * time, the messages not yet whole are not committed, so they are fetched
 * by the next run: never lost, never twice. */
#define WINDOW_PIPELINING (16 * BATCH_MAX)
#define WINDOW_OCTETS (8 * 1024 * 1024)

struct batch {
	struct deliver_item items[BATCH_MAX];
	size_t msgs[BATCH_MAX];	/* indexes into run.msgs */
	size_t n;
};

struct run {
	const struct account *a;
	struct endpoint ep;
	struct fetch_policy policy;	/* what is deleted, how much retrieved */
	bool list, human_readable;	/* --list; -H: sizes in KiB, MiB... */
	const char *maildir_path;
	struct deliver *target;		/* where messages go (deliver.h) */
	struct uidl_state *state;
	struct uidl_set *known;		/* the state's entries */
	bool other_host;		/* the state was last used with another host */
	struct pop3 *pop;
	unsigned long stat_count;
	unsigned long long stat_total;
	struct fetch_plan plan;
	bool rset;			/* RSET answered +OK: no DELE takes effect */
	struct batch batch;
	unsigned window;
	/* outcome */
	struct fetch_report report;	/* per-message failures */
	struct runrec *rec;		/* the counts, the server (runrec.h) */
	struct progress progress;	/* the line a person watches */
	int64_t started_ms;
};

void
fetch_catch_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, 0 };

	signals_finish_on(sigs, TIMING_SIGNAL_GRACE_MS);
}

int
fetch_interrupted(void)
{
	return signals_caught();
}

static int
interrupted_failure(void)
{
	return fail(FAIL_TEMPORARY, "interrupted by signal %d; what was not retrieved "
	    "is left for the next run", fetch_interrupted());
}

/* ---- the plan ---- */

static void
on_uidl(void *arg, unsigned long num, const char *uidl, size_t len)
{
	plan_add_uidl(arg, num, uidl, len);
}

static void
on_list(void *arg, unsigned long num, unsigned long long size)
{
	plan_add_size(arg, num, size);
}

/* A server that renumbered its UIDLs makes every message look new: a
 * second copy of the whole mailbox.  Refused, and the state kept. */
static int
refuse_reset(struct run *r)
{
	fail(FAIL_PROTOCOL, "the server's UIDLs all changed (a UIDL reset?); nothing "
	    "fetched; to fetch everything again remove %s", uidl_state_path(r->state));
	if (!r->list)
		return -1;
	log_warn("%s", fail_line());
	fail_clear();
	return 0;
}

static int
make_plan(struct run *r)
{
	int rc;

	if (pop3_send_listings(r->pop) < 0 ||
	    pop3_stat(r->pop, &r->stat_count, &r->stat_total) < 0)
		return -1;
	plan_expect(&r->plan, r->known, r->stat_count);
	if (pop3_uidl(r->pop, on_uidl, &r->plan) < 0)
		return fail_class() != FAIL_PERMANENT ? -1 :
		    fail_context("UIDL (needed to never fetch a message twice)");
	if (pop3_list(r->pop, on_list, &r->plan) < 0)
		return -1;
	plan_make(&r->plan, r->known);
	if (!r->plan.reset)
		return 0;
	rc = fetch_reset_confirmed(r->pop, &r->plan, r->known, r->a->max_size);
	if (rc != 0)
		return rc < 0 ? -1 : refuse_reset(r);
	r->plan.reset = false;	/* new mail with the sizes of what was deleted */
	r->plan.prune = r->plan.count > 0;
	return 0;
}

/* ---- deletions never confirmed ---- */

/* Once all are settled, the state may name this host (fetch-state.h). */
static int
verify_unconfirmed(struct run *r)
{
	const struct unconfirmed_check check = { .pop = r->pop, .known = r->known,
		.max_size = r->a->max_size, .other_host = r->other_host,
		.account = r->a->name, .policy = &r->policy };

	if (fetch_settle_unconfirmed(&check, &r->plan) < 0)
		return -1;
	fetch_state_reached(r->a, r->ep.port, r->state);
	return 0;
}

/* ---- deletion ---- */

/* DELEs for the messages at idx[0..n), pipelined within the window.  A
 * refusal only leaves that message on the server. */
static int
delete_messages(struct run *r, const size_t *idx, size_t n)
{
	size_t sent = 0;

	for (size_t done = 0; done < n; done++) {
		while (sent < n && sent - done < r->window)
			if (pop3_send_dele(r->pop, r->plan.msgs[idx[sent++]].num) < 0)
				return -1;
		if (dele_answer(r->pop, &r->plan.msgs[idx[done]], &r->report) < 0)
			return -1;
	}
	return 0;
}

static int
delete_retrieved(struct run *r)
{
	size_t *idx = xcalloc(r->plan.count + 1, sizeof *idx), n = 0;
	int rc;

	for (size_t i = 0; i < r->plan.count; i++)
		if (r->plan.msgs[i].dele)
			idx[n++] = i;
	rc = delete_messages(r, idx, n);
	free(idx);
	return rc;
}

/* QUIT said +OK: the deletions took effect, and the server may give those
 * UIDLs to new messages, which must then be retrieved, not deleted. */
static void
forget_deleted(struct run *r)
{
	if (r->rset)
		return;
	fetch_record_oversized(r->rec, &r->plan, r->a);
	for (size_t i = 0; i < r->plan.count; i++)
		if (r->plan.msgs[i].deleted)
			uidlset_forget(r->known, r->plan.msgs[i].uidl);
}

/* ---- retrieval ---- */

/* The RETRs of a run: idx[done..sent) are in flight; in delete mode the
 * DELEs of committed batches too, answered among them (fetch-dele.h). */
struct retr_queue {
	const size_t *idx;
	size_t n, sent, done;
	unsigned long long octets;	/* listed sizes of the RETRs in flight */
	struct dele_queue deles;
};

/* Delivery and journal (deliver.h), and then DELE of what was committed
 * (in_step: the session is not broken): the one commit path.  With
 * PIPELINING the DELEs go out behind the RETRs in flight, their answers
 * read as they come; without, nothing is in flight and they go one by one. */
static int
batch_commit(struct run *r, struct retr_queue *q, bool in_step)
{
	struct batch *b = &r->batch;
	size_t idx[BATCH_MAX], n = 0;
	int rc = deliver_commit(r->target, r->state, &r->report, b->items, b->n);

	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].committed)
			idx[n++] = b->msgs[i];
	r->rec->retrieved += n;
	b->n = 0;
	if (rc < 0)
		return -1;
	if (!policy_deletes_new(&r->policy) || !in_step || fetch_interrupted())
		return 0;
	if (r->window == 1)
		return delete_messages(r, idx, n);
	for (size_t i = 0; i < n; i++)
		if (dele_queue_send(&q->deles, r->pop, &r->plan.msgs[idx[i]], q->sent) < 0)
			return -1;
	return 0;
}

/* Reads the oldest outstanding RETR into the batch. */
static int
retrieve_one(struct run *r, size_t i)
{
	struct batch *b = &r->batch;
	struct deliver_item *it = &b->items[b->n];
	int rc = message_retrieve(r->pop, r->target, &r->plan.msgs[i], r->a->max_size,
	    &it->msg, it->digest);

	if (rc == POP3_REFUSED)
		report_message(&r->report, &r->plan.msgs[i]);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	it->m = &r->plan.msgs[i];
	it->committed = false;
	r->rec->bytes += deliver_msg_size(it->msg);
	progress_message(&r->progress, r->rec);
	b->msgs[b->n++] = i;
	return 0;
}

/* True when one more RETR may join those in flight, idx[done..sent): one
 * always may when none is; none beyond the window or WINDOW_OCTETS. */
static bool
retr_window_open(const struct run *r, const struct retr_queue *q)
{
	return q->sent == q->done || (q->sent - q->done < r->window && q->octets < WINDOW_OCTETS);
}

/* True when at most half the window's messages are in flight: it is then
 * filled again, so that small messages' RETRs go out a few dozen to a
 * write and their answers come back in large reads.  Big messages, whose
 * octets close the window after one or two, are asked for as soon as it
 * opens. */
static bool
retr_window_low(const struct run *r, size_t done, size_t sent)
{
	return sent - done <= r->window / 2;
}

/* Reads the next batch: RETRs pipelined within the window, which runs
 * on into the next batch, so the server sends while this one is
 * committed (syncs, journal, links) and its DELEs go out. */
static int
retrieve_batch(struct run *r, struct retr_queue *q)
{
	size_t end = q->n - q->done < BATCH_MAX ? q->n : q->done + BATCH_MAX;

	for (; q->done < end; q->done++) {
		bool refill = retr_window_low(r, q->done, q->sent);

		while (refill && q->sent < q->n && retr_window_open(r, q) && !fetch_interrupted()) {
			const struct plan_msg *m = &r->plan.msgs[q->idx[q->sent++]];

			q->octets += m->size;
			if (pop3_send_retr(r->pop, m->num) < 0)
				return -1;
		}
		if (dele_queue_read_due(&q->deles, r->pop, q->done, &r->report) < 0)
			return -1;
		if (q->done == q->sent)
			break;		/* interrupted, nothing in flight */
		if (retrieve_one(r, q->idx[q->done]) < 0)
			return -1;
		q->octets -= r->plan.msgs[q->idx[q->done]].size;
	}
	return 0;
}

/* After a signal no RETR is sent, but those in flight are still read and
 * committed. */
static int
retrieve_new(struct run *r)
{
	size_t *idx = xcalloc(r->plan.count + 1, sizeof *idx), n = 0;
	struct retr_queue q = { .idx = idx };
	int rc = 0;

	for (size_t i = 0; i < r->plan.count; i++)
		if (r->plan.msgs[i].plan == PLAN_NEW)
			idx[n++] = i;
	q.n = n;
	dele_queue_init(&q.deles, n);
	while (rc == 0 && (q.done < q.sent || (q.done < n && !fetch_interrupted()))) {
		rc = retrieve_batch(r, &q);
		/* Whatever arrived complete is kept, even when the session died
		 * under the next message: it is committed but not deleted. */
		if (batch_commit(r, &q, rc == 0) < 0)
			rc = -1;
	}
	if (rc == 0)
		rc = dele_queue_read_due(&q.deles, r->pop, SIZE_MAX, &r->report);
	dele_queue_free(&q.deles);
	free(idx);
	return rc;
}

/* ---- the session ---- */

int
fetch_connect(const struct account *a, const struct endpoint *ep, struct pop3 **pop_r)
{
	char *password = NULL;
	int rc;

	if (a->user == NULL)
		return fail(FAIL_CONFIG, "%s:%d: no user (POP3 always logs in)", a->file, a->line);
	if (auth_method_needs_secret(a->auth) && cred_password(a, &password) < 0)
		return -1;
	if (password == NULL && auth_method_needs_secret(a->auth))
		return fail(FAIL_CONFIG, "%s:%d: user is set but no password, password_file or "
		    "password_command", a->file, a->line);
	if (fetch_interrupted()) {	/* during a slow password_command */
		cred_free(password);
		return interrupted_failure();
	}
	fail_scope(a->name, ep->host, ep->port);
	rc = pop3_open(ep, pop_r);
	if (rc == 0 && ep->tls == TLS_MODE_STARTTLS)
		rc = pop3_stls(*pop_r);
	if (rc == 0)
		rc = pop3_login(*pop_r, a->auth, a->user, password);
	cred_free(password);
	return rc;
}

static int
connect_and_login(struct run *r)
{
	if (fetch_connect(r->a, &r->ep, &r->pop) < 0)
		return -1;
	r->window = pop3_caps(r->pop)->pipelining ? WINDOW_PIPELINING : 1;
	return 0;
}

/* Before QUIT makes the DELEs take effect, the journal records which were
 * requested: a crash between QUIT's +OK and the state save then leaves
 * them marked, and the next run checks them (verify_unconfirmed()) rather
 * than take a new message that got one of their UIDLs for the old one. */
static int
journal_deletions(struct run *r, unsigned long asked)
{
	char **uidls = xcalloc(asked + 1, sizeof *uidls);
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < r->plan.count; i++)
		if (r->plan.msgs[i].deleted)
			uidls[n++] = r->plan.msgs[i].uidl;
	rc = uidl_journal_deletes(r->state, uidls, n);
	free(uidls);
	if (rc == 0)
		return 0;
	return fail_context("the deletions could not be recorded, so they were not "
	    "committed (no QUIT)");
}

/* QUIT after the work.  Refused or unanswered, it only matters when DELEs
 * were sent: refused, they did not take effect; unanswered, nobody knows.
 * The next run checks (fetch-unconfirmed.h) and repeats those still there. */
static int
finish_session(struct run *r)
{
	unsigned long asked = r->rec->deleted;

	/* The record counts only the deletions the server confirmed: none
	 * after RSET, a broken session (no QUIT) or a QUIT not answered +OK. */
	r->rec->deleted = 0;
	if (fetch_interrupted() && pop3_idle(r->pop))
		r->rset = pop3_rset(r->pop) == 0;
	if (!pop3_idle(r->pop))
		return 0;
	if (!r->rset && journal_deletions(r, asked) < 0)
		return -1;
	if (pop3_quit(r->pop) == 0) {
		forget_deleted(r);
		r->rec->deleted = r->rset ? 0 : asked;
		return 0;
	}
	if (r->rset || asked == 0 || fetch_interrupted()) {
		fail_clear();
		return 0;
	}
	return fail_context("%lu %s retrieved, but the server did not confirm the "
	    "deletion; the next run deletes what is still there", asked,
	    units_plural(asked, "message was", "messages were"));
}

static int
session(struct run *r)
{
	int rc;

	rc = connect_and_login(r);
	runrec_server(r->rec, r->ep.host, r->ep.port, pop3_tls_version(r->pop));
	if (rc < 0 || make_plan(r) < 0)
		return -1;
	policy_apply(&r->policy, &r->plan);
	fetch_record_plan(r->rec, &r->plan);
	if (r->list)
		return fetch_list_print(r->stat_count, r->stat_total, &r->plan, &r->policy,
		    r->human_readable);
	if (verify_unconfirmed(r) < 0)
		return -1;
	r->rec->skipped += report_plan(&r->report, &r->plan);
	rc = fetch_interrupted() ? 0 : delete_retrieved(r);
	if (rc == 0)
		rc = retrieve_new(r);
	if (rc < 0)
		return -1;
	if (finish_session(r) < 0)
		return -1;
	return fetch_interrupted() ? interrupted_failure() : 0;
}

static int
open_state(struct run *r, const char *maildir_option)
{
	if (fetch_state_open(r->a, maildir_option, r->ep.port, deliver_maildir(r->target),
	    !r->list, &r->state, &r->other_host) < 0)
		return -1;
	r->known = uidl_entries(r->state);
	return 0;
}

static int
open_local(struct run *r, const char *maildir_option)
{
	if (deliver_open(r->a, r->maildir_path, maildir_option, !r->list, &r->target) < 0 ||
	    open_state(r, maildir_option) < 0)
		return -1;
	deliver_set_deadline(r->target, r->ep.timing.deadline_ms);
	return r->list ? 0 : deliver_recover(r->target, r->state);
}

/* The state is saved whatever happened: it holds what the journal holds,
 * and pruning needs a complete listing.  The first failure is the one to
 * report; a failure to save comes second. */
static int
close_run(struct run *r, int rc)
{
	struct failure_record first;
	bool failed = rc < 0;

	fail_save(&first);
	if (r->state != NULL && !r->list && uidl_save(r->state, r->plan.prune) < 0) {
		if (!failed)
			rc = -1;
		else if (fail_context("also") < 0)
			log_error("%s", fail_line());
	}
	if (failed)
		fail_restore(&first);
	pop3_close(r->pop);
	uidl_close(r->state);
	deliver_close(r->target);
	plan_free(&r->plan);
	return rc;
}

int
fetch_account(const struct account *a, const struct fetch_options *o)
{
	struct runrec_list own = { 0 };
	struct run r = { .a = a, .list = o->list, .window = 1, .report = { .account = a->name },
		.plan = { .max_size = a->max_size, .now = (long long)time(NULL) },
		.rec = fetch_record_start(o->records ? o->records : &own, a) };
	int rc;

	fetch_policy_of(a, o->keep, r.plan.now, &r.policy);
	r.human_readable = o->human_readable;
	r.maildir_path = o->maildir ? o->maildir : a->maildir;
	r.started_ms = clock_now_ms();
	r.report.rec = r.rec;
	progress_start(&r.progress, &o->show);
	endpoint_of(a, r.started_ms, &r.ep);	/* the deadline counts from here */
	rc = open_local(&r, o->maildir);
	if (rc == 0)
		rc = session(&r);
	rc = report_summary(&r.report, rc);
	rc = close_run(&r, rc);
	r.rec->failed = r.report.count;
	fetch_record_end(r.rec, a, rc, r.list, &r.progress);
	runrec_list_free(&own);
	return rc;
}
