/*
 * The fetch policy.
 *
 * Order of one run, and why:
 *   1. lock the account, replay the journal against the Maildir (so a run
 *      killed earlier is resolved before anything is asked of the server);
 *   2. connect, STLS, log in, UIDL + LIST: the plan;
 *   3. delete mode: DELE what earlier runs retrieved but could not delete
 *      (their QUIT never came back), without delivering it again;
 *   4. retrieve new messages in batches: each into tmp/, then one
 *      durability pass, one journal append (fsync), the renames into new/,
 *      one fsync of new/, and only then (delete mode) their DELEs;
 *   5. QUIT, then rewrite the state (pruning UIDLs the server dropped).
 * A SIGKILL anywhere leaves journal + Maildir consistent (uidl.h); a
 * connection lost anywhere leaves the server's messages in place, because
 * only QUIT's +OK makes DELE take effect.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cred.h"
#include "fetch.h"
#include "log.h"
#include "maildir.h"
#include "net.h"
#include "pop3.h"
#include "status.h"
#include "uidl.h"
#include "xalloc.h"

/* Messages per commit: bounds the work a crash can cost and the open files. */
#define BATCH_MAX 64
/* Commands in flight with PIPELINING (RFC 2449 asks for a bounded window
 * so the server's receive buffer can always take them). */
#define WINDOW_PIPELINING 8

enum msg_state {
	MSG_NEW,		/* to retrieve */
	MSG_RETRIEVED,		/* in the state: delete (delete mode) or leave */
	MSG_KEEP,		/* retrieved, but not to be deleted (size changed) */
	MSG_TOO_BIG,		/* over max_size: left on the server */
	MSG_BAD_UIDL,		/* missing, invalid or duplicate UIDL: left alone */
};

struct msg {
	unsigned long num;
	unsigned long long size;
	char *uidl;		/* NULL when the server listed none */
	bool bad_uidl;		/* invalid or duplicate */
	enum msg_state state;
};

struct batch {
	struct maildir_msg *files[BATCH_MAX];
	size_t msgs[BATCH_MAX];	/* indexes into run.msgs */
	size_t n;
};

struct run {
	const struct account *a;
	bool keep, list;
	const char *maildir_path;
	struct maildir *md;
	struct uidl_state *state;
	struct pop3 *pop;
	struct msg *msgs;
	size_t count, alloc;
	bool listed;			/* the UIDL listing was complete */
	struct batch batch;
	unsigned window;
	/* outcome */
	enum failure soft;		/* worst per-message failure */
	unsigned soft_count;
	unsigned long retrieved, deleted, skipped;
	unsigned long long bytes;
	int64_t started_ms;
};

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

void
fetch_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;	/* a second signal kills at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	net_watch_signal_flag(&got_signal);
}

static int
interrupted_failure(void)
{
	return fail(FAIL_TEMPORARY, "interrupted by signal %d; what was not retrieved "
	    "is left for the next run", (int)got_signal);
}

/* A failure that concerns one message: reported now, the run goes on. */
static void
soft_failure(struct run *r, const struct msg *m)
{
	log_error("%s: message %lu%s%s: %s", r->a->name, m->num, m->uidl ? " UIDL " : "",
	    m->uidl ? m->uidl : "", fail_reason());
	r->soft = status_worse(r->soft, fail_class());
	r->soft_count++;
	fail_clear();
}

/* ---- the plan ---- */

static struct msg *
msg_by_num(struct run *r, unsigned long num, bool create)
{
	if (num - 1 < r->count && r->msgs[num - 1].num == num)
		return &r->msgs[num - 1];	/* the usual numbering 1..n */
	for (size_t i = 0; i < r->count; i++)
		if (r->msgs[i].num == num)
			return &r->msgs[i];
	if (!create)
		return NULL;
	if (r->count == r->alloc) {
		r->alloc = r->alloc ? 2 * r->alloc : 256;
		r->msgs = xrealloc(r->msgs, r->alloc * sizeof *r->msgs);
	}
	memset(&r->msgs[r->count], 0, sizeof *r->msgs);
	r->msgs[r->count].num = num;
	return &r->msgs[r->count++];
}

static void
on_uidl(void *arg, unsigned long num, const char *uidl, size_t len)
{
	struct run *r = arg;
	struct msg *m = msg_by_num(r, num, true);

	if (m->uidl != NULL) {
		m->bad_uidl = true;	/* the number listed twice */
		return;
	}
	m->uidl = xstrndup(uidl, len);
	if (!uidl_valid(uidl, len))
		m->bad_uidl = true;
}

static void
on_list(void *arg, unsigned long num, unsigned long long size)
{
	struct msg *m = msg_by_num(arg, num, false);

	if (m != NULL)
		m->size = size;
}

static int
compare_uidl_ptr(const void *a, const void *b)
{
	const struct msg *x = *(struct msg *const *)a, *y = *(struct msg *const *)b;

	return strcmp(x->uidl ? x->uidl : "", y->uidl ? y->uidl : "");
}

/* RFC 1939 promises unique ids; a server that repeats one cannot be trusted
 * with either message, so both are left alone. */
static void
mark_duplicates(struct run *r)
{
	struct msg **v;

	if (r->count == 0)
		return;
	v = xcalloc(r->count, sizeof *v);

	for (size_t i = 0; i < r->count; i++)
		v[i] = &r->msgs[i];
	qsort(v, r->count, sizeof *v, compare_uidl_ptr);
	for (size_t i = 1; i < r->count; i++) {
		if (v[i]->uidl != NULL && v[i - 1]->uidl != NULL &&
		    strcmp(v[i]->uidl, v[i - 1]->uidl) == 0)
			v[i]->bad_uidl = v[i - 1]->bad_uidl = true;
	}
	free(v);
}

static void
classify(struct run *r, struct msg *m)
{
	struct uidl_entry *e;

	if (m->uidl == NULL || m->bad_uidl) {
		/* Still listed: an entry for it must not be pruned. */
		if (m->uidl != NULL)
			(void)uidl_lookup(r->state, m->uidl);
		m->state = MSG_BAD_UIDL;
		return;
	}
	e = uidl_lookup(r->state, m->uidl);
	if (e != NULL && e->size != m->size && !r->keep && !r->list) {
		log_warn("%s: message %lu UIDL %s: size %llu differs from %llu when it was "
		    "retrieved; the server may reuse UIDLs: not deleting it", r->a->name,
		    m->num, m->uidl, m->size, e->size);
		m->state = MSG_KEEP;
	} else if (e != NULL) {
		m->state = MSG_RETRIEVED;
	} else if (r->a->max_size > 0 && m->size > r->a->max_size) {
		m->state = MSG_TOO_BIG;
	} else {
		m->state = MSG_NEW;
	}
}

static void
report_plan_problems(struct run *r)
{
	for (size_t i = 0; i < r->count; i++) {
		struct msg *m = &r->msgs[i];

		if (m->state == MSG_BAD_UIDL && !r->list) {
			fail(FAIL_PROTOCOL, "%s UIDL from the server; message left alone",
			    m->uidl == NULL ? "no" : m->bad_uidl ? "invalid or duplicate" : "bad");
			soft_failure(r, m);
		} else if (m->state == MSG_TOO_BIG && !r->list) {
			log_warn("%s: message %lu (%llu octets) is over max_size; skipped and "
			    "left on the server", r->a->name, m->num, m->size);
			r->skipped++;
		}
	}
}

static int
make_plan(struct run *r)
{
	if (pop3_uidl(r->pop, on_uidl, r) < 0)
		return fail_context("UIDL (needed to never fetch a message twice)");
	if (pop3_list(r->pop, on_list, r) < 0)
		return -1;
	r->listed = true;
	mark_duplicates(r);
	for (size_t i = 0; i < r->count; i++)
		classify(r, &r->msgs[i]);
	report_plan_problems(r);
	return 0;
}

/* ---- --list ---- */

static const char *
state_word(const struct msg *m)
{
	switch (m->state) {
	case MSG_NEW:		return "new";
	case MSG_RETRIEVED:
	case MSG_KEEP:		return "retrieved";
	case MSG_TOO_BIG:	return "too-big";
	case MSG_BAD_UIDL:	return "bad-uidl";
	}
	return "?";
}

static int
print_list(struct run *r)
{
	unsigned long count;
	unsigned long long total;

	if (pop3_stat(r->pop, &count, &total) < 0)
		return -1;
	printf("%lu messages, %llu octets\n", count, total);
	for (size_t i = 0; i < r->count; i++) {
		const struct msg *m = &r->msgs[i];

		printf("%lu %llu %s %s\n", m->num, m->size, m->uidl && !m->bad_uidl ? m->uidl :
		    "-", state_word(m));
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		return fail(FAIL_IO, "cannot write the listing");
	return 0;
}

/* ---- deletion ---- */

/* DELEs for the messages at idx[0..n), pipelined within the window.  A
 * refusal only leaves that message on the server. */
static int
delete_messages(struct run *r, const size_t *idx, size_t n)
{
	size_t sent = 0, done = 0;
	int rc;

	while (done < n) {
		while (sent < n && sent - done < r->window)
			if (pop3_send_dele(r->pop, r->msgs[idx[sent++]].num) < 0)
				return -1;
		rc = pop3_read_dele(r->pop);
		if (rc < 0)
			return -1;
		if (rc == POP3_REFUSED)
			soft_failure(r, &r->msgs[idx[done]]);
		else
			r->deleted++;
		done++;
	}
	return 0;
}

static int
delete_retrieved(struct run *r)
{
	size_t *idx = xcalloc(r->count, sizeof *idx), n = 0;
	int rc;

	for (size_t i = 0; i < r->count; i++)
		if (r->msgs[i].state == MSG_RETRIEVED)
			idx[n++] = i;
	rc = delete_messages(r, idx, n);
	free(idx);
	return rc;
}

/* ---- retrieval ---- */

static void
batch_discard(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		maildir_msg_free(b->files[i]);
	b->n = 0;
}

/* Renames journaled files into new/; a file that fails to move is taken
 * out of the state again, since the journal replay would drop it too. */
static int
batch_rename(struct run *r, struct batch *b)
{
	int rc = 0;

	for (size_t i = 0; i < b->n; i++) {
		if (rc == 0 && maildir_msg_commit(b->files[i]) == 0)
			continue;
		rc = -1;
		uidl_forget(r->state, r->msgs[b->msgs[i]].uidl);
	}
	if (rc == 0 && maildir_sync_new(r->md) < 0) {
		/* A rename that may not survive a crash: refetching later (a
		 * possible duplicate) is better than a lost message. */
		for (size_t i = 0; i < b->n; i++)
			uidl_forget(r->state, r->msgs[b->msgs[i]].uidl);
		rc = -1;
	}
	return rc;
}

static int
batch_journal(struct run *r, struct batch *b)
{
	struct uidl_entry e[BATCH_MAX];
	long long now = (long long)time(NULL);

	for (size_t i = 0; i < b->n; i++) {
		const struct msg *m = &r->msgs[b->msgs[i]];

		e[i] = (struct uidl_entry){ .uidl = m->uidl, .size = m->size, .fetched = now,
			.file = (char *)maildir_msg_name(b->files[i]) };
	}
	return uidl_journal(r->state, e, b->n);
}

/* Sync, journal, rename, fsync new/, and then DELE: the one commit path. */
static int
batch_commit(struct run *r)
{
	struct batch *b = &r->batch;
	size_t idx[BATCH_MAX], n = b->n;
	int rc;

	if (n == 0)
		return 0;
	rc = maildir_sync_batch(r->md, b->files, n);
	if (rc == 0)
		rc = batch_journal(r, b);
	if (rc == 0)
		rc = batch_rename(r, b);
	memcpy(idx, b->msgs, n * sizeof *idx);
	batch_discard(b);
	if (rc < 0)
		return -1;
	r->retrieved += n;
	if (r->keep || !pop3_idle(r->pop) || got_signal)
		return 0;
	return delete_messages(r, idx, n);
}

/* No signal check here: a message whose RETR is in flight is finished
 * (the window bounds how many), so the session can still end with RSET and
 * QUIT.  A second signal kills at once, which the journal makes safe. */
static int
sink(void *arg, const char *p, size_t n)
{
	return maildir_msg_write(arg, p, n);
}

/* Reads the oldest outstanding RETR into a new tmp file. */
static int
retrieve_one(struct run *r, size_t i)
{
	struct batch *b = &r->batch;
	struct maildir_msg *m;
	int rc;

	if (maildir_msg_begin(r->md, &m) < 0)
		return -1;
	rc = pop3_read_retr(r->pop, sink, m);
	if (rc == 0)
		rc = maildir_msg_end(m);
	if (rc != 0) {
		maildir_msg_free(m);
		if (rc == POP3_REFUSED)
			soft_failure(r, &r->msgs[i]);
		return rc < 0 ? -1 : 0;
	}
	r->bytes += maildir_msg_size(m);
	b->files[b->n] = m;
	b->msgs[b->n++] = i;
	return 0;
}

/* RETRs for idx[0..n) (n <= BATCH_MAX), pipelined within the window. */
static int
retrieve_batch(struct run *r, const size_t *idx, size_t n)
{
	size_t sent = 0, done = 0;

	for (; done < n; done++) {
		while (sent < n && sent - done < r->window && !got_signal)
			if (pop3_send_retr(r->pop, r->msgs[idx[sent++]].num) < 0)
				return -1;
		if (done == sent)
			break;		/* interrupted, nothing in flight */
		if (retrieve_one(r, idx[done]) < 0)
			return -1;
	}
	return 0;
}

static int
retrieve_new(struct run *r)
{
	size_t *idx = xcalloc(r->count, sizeof *idx), n = 0;
	int rc = 0;

	for (size_t i = 0; i < r->count; i++)
		if (r->msgs[i].state == MSG_NEW)
			idx[n++] = i;
	for (size_t at = 0; at < n && rc == 0 && !got_signal; at += BATCH_MAX) {
		size_t len = n - at < BATCH_MAX ? n - at : BATCH_MAX;

		rc = retrieve_batch(r, idx + at, len);
		/* Whatever arrived complete is kept, even when the session died
		 * under the next message: it is committed but not deleted. */
		if (batch_commit(r) < 0)
			rc = -1;
	}
	free(idx);
	return rc;
}

/* ---- the session ---- */

static int
connect_and_login(struct run *r)
{
	const struct account *a = r->a;
	struct endpoint ep;
	char *password = NULL;
	int rc;

	if (cred_password(a, &password) < 0)
		return -1;
	config_endpoint(a, &ep);
	rc = pop3_open(&ep, &r->pop);
	if (rc == 0 && ep.tls == TLS_MODE_STARTTLS)
		rc = pop3_stls(r->pop);
	if (rc == 0)
		rc = pop3_login(r->pop, a->auth, a->user, password);
	cred_free(password);
	if (rc == 0)
		r->window = pop3_caps(r->pop)->pipelining ? WINDOW_PIPELINING : 1;
	return rc;
}

/* QUIT after the work.  Refused or unanswered, it only matters when DELEs
 * were sent: they did not take effect, and the next run repeats them. */
static int
finish_session(struct run *r)
{
	if (got_signal && pop3_idle(r->pop))
		(void)pop3_rset(r->pop);
	if (!pop3_idle(r->pop))
		return 0;
	if (pop3_quit(r->pop) == 0)
		return 0;
	if (r->deleted == 0 || got_signal) {
		fail_clear();
		return 0;
	}
	return fail_context("%lu messages were retrieved but stay on the server; "
	    "the next run deletes them", r->deleted);
}

static int
session(struct run *r)
{
	int rc;

	if (connect_and_login(r) < 0 || make_plan(r) < 0)
		return -1;
	if (r->list)
		return print_list(r);
	rc = r->keep || got_signal ? 0 : delete_retrieved(r);
	if (rc == 0)
		rc = retrieve_new(r);
	if (rc < 0)
		return -1;
	if (finish_session(r) < 0)
		return -1;
	return got_signal ? interrupted_failure() : 0;
}

static int
open_local(struct run *r)
{
	struct endpoint ep;
	char *dir;
	int rc;

	if (r->maildir_path == NULL)
		return fail(FAIL_CONFIG, "no maildir for this account (set maildir or use "
		    "--maildir)");
	if (maildir_open(r->maildir_path, !r->list, &r->md) < 0)
		return -1;
	if ((dir = uidl_default_dir(r->a->state_dir)) == NULL)
		return -1;
	config_endpoint(r->a, &ep);
	rc = uidl_open(dir, r->a->name, r->a->user, r->a->host, ep.port, &r->state);
	free(dir);
	if (rc == 0)
		rc = uidl_replay(r->state, r->md, !r->list);
	return rc;
}

static void
summary(const struct run *r)
{
	double secs = (double)(clock_now_ms() - r->started_ms) / 1000.0;

	log_info("%s: %lu messages retrieved (%llu bytes), %lu deleted, %lu skipped, "
	    "%.2f seconds", r->a->name, r->retrieved, r->bytes, r->deleted, r->skipped, secs);
}

/* The state is saved whatever happened: it holds what the journal holds,
 * and pruning needs a complete listing. */
static int
close_run(struct run *r, int rc)
{
	enum failure cls = fail_class();
	char *reason = rc < 0 ? xstrdup(fail_reason()) : NULL;

	if (r->state != NULL && !r->list && uidl_save(r->state, r->listed) < 0) {
		if (rc == 0)
			rc = -1;
		else
			log_error("%s: also: %s", r->a->name, fail_reason());
	}
	if (reason != NULL) {
		fail(cls, "%s", reason);	/* the first failure is the one to report */
		free(reason);
	}
	pop3_close(r->pop);
	uidl_close(r->state);
	maildir_close(r->md);
	for (size_t i = 0; i < r->count; i++)
		free(r->msgs[i].uidl);
	free(r->msgs);
	return rc;
}

int
fetch_account(const struct account *a, const struct fetch_options *o)
{
	struct run r = { .a = a, .list = o->list, .window = 1 };
	int rc;

	r.keep = o->keep >= 0 ? o->keep != 0 : a->keep;
	r.maildir_path = o->maildir ? o->maildir : a->maildir;
	r.started_ms = clock_now_ms();
	rc = open_local(&r);
	if (rc == 0)
		rc = session(&r);
	if (rc == 0 && r.soft != FAIL_NONE)
		rc = fail(r.soft, "%u message(s) could not be processed (see above)",
		    r.soft_count);
	rc = close_run(&r, rc);
	if (!r.list && (rc == 0 || r.retrieved > 0))
		summary(&r);
	return rc;
}
