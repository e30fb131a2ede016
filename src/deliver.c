/*
 * The delivery targets of mailpipe-fetch behind one interface (deliver.h).
 * A Maildir gets its batch commit (sync, journal, rename, fsync new/); an
 * mbox its append (deliver-mbox.c), the messages quoted as they arrive; an
 * MDA or an LMTP server gets one message at a time, each journaled as soon
 * as the target accepted it and before the next is handed over, so that a
 * crash can deliver at most that one message twice.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "deliver-mbox.h"
#include "fs.h"
#include "lmtp.h"
#include "log.h"
#include "mbox.h"
#include "mda.h"
#include "signals.h"
#include "spool.h"
#include "status.h"
#include "xalloc.h"

/* Bytes of a message gathered before a write to its temp file. */
#define MSG_BUFFER 65536
/* How much of a message is searched for its Return-Path. */
#define HEADER_SCAN 16384
#define SENDER_MAX DELIVER_SENDER_MAX
/* Bytes of a message quoted at a time (mbox.h: at most doubled). */
#define QUOTE_CHUNK 4096

struct deliver {
	const struct account *a;
	enum deliver_kind kind;
	struct maildir *md;	/* deliver = maildir */
	struct lmtp *lmtp;	/* deliver = lmtp, once the first message needs it */
	int64_t deadline_ms;	/* the run's (clock.h), or 0 */
	struct deliver_mbox *mbox;	/* deliver = mbox */
};

/* What a target made of one message handed over. */
enum verdict { HANDED_OVER, DEFERRED, REFUSED };

struct deliver_msg {
	struct maildir_msg *file;	/* deliver = maildir */
	int fd;				/* else: an unlinked temp file */
	unsigned long long size;	/* as received */
	unsigned long long spooled;	/* as written to fd */
	size_t buffered;
	char *buf;
	bool quoting;			/* deliver = mbox: quoted on its way */
	struct mbox_quoter quoter;
};

int
deliver_open(const struct account *a, const char *maildir_path,
	const char *maildir_option, bool create, struct deliver **d_r)
{
	struct deliver *d = xcalloc(1, sizeof *d);

	d->a = a;
	d->kind = maildir_option != NULL ? DELIVER_MAILDIR : a->deliver;
	if (d->kind == DELIVER_MAILDIR && maildir_path == NULL) {
		free(d);
		return fail(FAIL_CONFIG, "no maildir for this account (set maildir or use "
		    "--maildir)");
	}
	if ((d->kind == DELIVER_MAILDIR && maildir_open(maildir_path, create, &d->md) < 0) ||
	    (d->kind == DELIVER_MBOX && deliver_mbox_open(a, &d->mbox) < 0)) {
		free(d);
		return -1;
	}
	*d_r = d;
	return 0;
}

void
deliver_set_deadline(struct deliver *d, int64_t deadline_ms)
{
	d->deadline_ms = deadline_ms;
}

struct maildir *
deliver_maildir(struct deliver *d)
{
	return d != NULL ? d->md : NULL;
}

void
deliver_close(struct deliver *d)
{
	if (d == NULL)
		return;
	maildir_close(d->md);
	lmtp_close(d->lmtp);
	deliver_mbox_close(d->mbox);
	free(d);
}

int
deliver_recover(struct deliver *d, struct uidl_state *s)
{
	return d->mbox != NULL ? deliver_mbox_recover(d->mbox, s) : 0;
}

/* ---- one message on its way ---- */

int
deliver_msg_begin(struct deliver *d, struct deliver_msg **msg_r)
{
	struct deliver_msg *msg = xcalloc(1, sizeof *msg);

	msg->fd = -1;
	if (d->kind == DELIVER_MAILDIR) {
		if (maildir_msg_begin(d->md, &msg->file) < 0) {
			free(msg);
			return -1;
		}
	} else if ((msg->fd = spool_temporary()) < 0) {
		free(msg);
		return fail(FAIL_IO, "cannot create a temporary file for the message: %s",
		    strerror(errno));
	} else {
		msg->buf = xmalloc(MSG_BUFFER);
		msg->quoting = d->kind == DELIVER_MBOX;
		mbox_quote_init(&msg->quoter);
	}
	*msg_r = msg;
	return 0;
}

static int
flush_msg(struct deliver_msg *msg)
{
	int rc = 0;

	if (msg->buffered > 0 && fs_write_all(msg->fd, msg->buf, msg->buffered) < 0)
		rc = fail(FAIL_IO, "cannot write the message to a temporary file: %s",
		    strerror(errno));
	msg->buffered = 0;
	return rc;
}

/* Into the temp file, through the buffer. */
static int
spool_bytes(struct deliver_msg *msg, const void *p, size_t n)
{
	msg->spooled += n;
	if (msg->buffered + n > MSG_BUFFER && flush_msg(msg) < 0)
		return -1;
	if (n >= MSG_BUFFER)
		return fs_write_all(msg->fd, p, n) == 0 ? 0 : fail(FAIL_IO,
		    "cannot write the message to a temporary file: %s", strerror(errno));
	memcpy(msg->buf + msg->buffered, p, n);
	msg->buffered += n;
	return 0;
}

/* deliver = mbox: quoted as it arrives, so that the spooled size is what
 * the append will add, known before the append begins (deliver-mbox.h). */
static int
spool_quoted(struct deliver_msg *msg, const char *p, size_t n)
{
	char out[2 * QUOTE_CHUNK + 8];

	while (n > 0) {
		size_t take = n < QUOTE_CHUNK ? n : QUOTE_CHUNK;

		if (spool_bytes(msg, out, mbox_quote(&msg->quoter, p, take, out)) < 0)
			return -1;
		p += take;
		n -= take;
	}
	return 0;
}

int
deliver_msg_write(struct deliver_msg *msg, const void *p, size_t n)
{
	msg->size += n;
	if (msg->file != NULL)
		return maildir_msg_write(msg->file, p, n);
	return msg->quoting ? spool_quoted(msg, p, n) : spool_bytes(msg, p, n);
}

int
deliver_msg_end(struct deliver_msg *msg)
{
	char end[8];

	if (msg->file != NULL)
		return maildir_msg_end(msg->file);
	if (msg->quoting && spool_bytes(msg, end, mbox_quote_end(&msg->quoter, end)) < 0)
		return -1;
	return flush_msg(msg);
}

unsigned long long
deliver_msg_size(const struct deliver_msg *msg)
{
	return msg->size;
}

int
deliver_msg_fd(const struct deliver_msg *msg)
{
	return msg->fd;
}

unsigned long long
deliver_msg_spooled(const struct deliver_msg *msg)
{
	return msg->spooled;
}

void
deliver_msg_free(struct deliver_msg *msg)
{
	if (msg == NULL)
		return;
	maildir_msg_free(msg->file);
	fs_close(msg->fd);
	free(msg->buf);
	free(msg);
}

/* ---- the journal ---- */

static struct uidl_entry
entry_of(const struct deliver_item *it, const char *file, long long now)
{
	struct uidl_entry e = { .uidl = it->m->uidl, .size = it->m->size, .fetched = now,
		.file = (char *)file, .has_digest = true };

	memcpy(e.digest, it->digest, sizeof e.digest);
	return e;
}

/* ---- deliver = maildir: the batch commit ---- */

/* Sync, journal, rename, fsync new/ (maildir.h); a file that is not
 * durably in new/ is taken out of the state again, as the journal replay
 * would do, and is not committed. */
static int
commit_maildir(struct deliver *d, struct uidl_state *s, struct deliver_item *items,
	size_t n)
{
	struct maildir_msg **files = xcalloc(n, sizeof *files);
	struct uidl_entry *e = xcalloc(n, sizeof *e);
	long long now = (long long)time(NULL);
	bool journaled = false;
	int rc;

	for (size_t i = 0; i < n; i++)
		files[i] = items[i].msg->file;
	rc = maildir_sync_batch(d->md, files, n);
	for (size_t i = 0; i < n && rc == 0; i++)
		e[i] = entry_of(&items[i], maildir_msg_name(files[i]), now);
	if (rc == 0)
		journaled = (rc = uidl_journal(s, e, n)) == 0;
	if (rc == 0)
		rc = maildir_commit_batch(d->md, files, n);
	for (size_t i = 0; i < n; i++) {
		items[i].committed = maildir_msg_committed(files[i]);
		if (!items[i].committed && journaled)
			uidlset_forget(uidl_entries(s), items[i].m->uidl);
	}
	free(files);
	free(e);
	return rc;
}

/* ---- deliver = mda: one message at a time ---- */

/* The address of a "Return-Path: <addr>" line of the header in buf, or
 * "" when there is none or it is not a plain address. */
static void
return_path(const char *buf, size_t n, char sender[SENDER_MAX])
{
	const char *p = buf, *end = buf + n;

	sender[0] = '\0';
	while (p < end && *p != '\n' && !(*p == '\r' && p + 1 < end && p[1] == '\n')) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *lt, *gt;

		if (eol == NULL)
			return;
		if (eol - p > 12 && strncasecmp(p, "Return-Path:", 12) == 0 &&
		    (lt = memchr(p, '<', (size_t)(eol - p))) != NULL &&
		    (gt = memchr(lt, '>', (size_t)(eol - lt))) != NULL && gt - lt < SENDER_MAX) {
			for (const char *c = lt + 1; c < gt; c++)
				if (*c <= ' ' || *c > '~' || *c == '<')
					return;
			memcpy(sender, lt + 1, (size_t)(gt - lt - 1));
			sender[gt - lt - 1] = '\0';
			return;
		}
		p = eol + 1;
	}
}

void
deliver_msg_sender(const struct deliver_msg *msg, char sender[SENDER_MAX])
{
	char buf[HEADER_SCAN];
	ssize_t n = pread(msg->fd, buf, sizeof buf, 0);

	return_path(buf, n > 0 ? (size_t)n : 0, sender);
}

/* %T of the MDA, the RCPT of LMTP: lmtp_recipient, else the user. */
static const char *
recipient(const struct account *a)
{
	return a->lmtp_recipient != NULL ? a->lmtp_recipient : a->user;
}

/* A message the target refused: reported (it stays on the server and the
 * run ends 75), or with mda_failure = skip a permanent refusal only
 * warned about and counted as skipped. */
static void
refused(struct deliver *d, struct fetch_report *rep, const struct deliver_item *it,
	bool permanent)
{
	if (!permanent || !d->a->mda_failure_skip) {
		report_message(rep, it->m);
		return;
	}
	log_warn("%s: message %lu UIDL %s: %s; skipped (mda_failure = skip), left on the "
	    "server", d->a->name, it->m->num, it->m->uidl, fail_reason());
	fail_clear();
	if (rep->rec != NULL)
		rep->rec->skipped++;
}

static int
journal_one(struct uidl_state *s, struct deliver_item *it, const char *file)
{
	struct uidl_entry e = entry_of(it, file, (long long)time(NULL));

	if (uidl_journal(s, &e, 1) < 0)
		return fail_context("message %lu UIDL %s was delivered, but could not be "
		    "recorded, so the next run may deliver it again", it->m->num, it->m->uidl);
	it->committed = true;
	return 0;
}

/* What the MDA made of the message (mda.h), or -1. */
static int
hand_to_mda(struct deliver *d, const struct deliver_item *it, const char *sender)
{
	struct mda_call call = { .command = d->a->deliver_to, .sender = sender,
		.recipient = recipient(d->a), .timeout_s = d->a->timeout };
	int rc = mda_deliver(&call, it->msg->fd);

	if (rc < 0)
		return -1;
	return rc == MDA_DELIVERED ? HANDED_OVER : rc == MDA_TEMPORARY ? DEFERRED : REFUSED;
}

/* What the LMTP server made of it (lmtp.h), the session opened by the first
 * message that needs it (so --list and a run with nothing new connect
 * nowhere), or -1.  Every wait of it is bounded by timeout (the answer to
 * the dot by 10 minutes at least), the run's deadline and a signal's grace. */
static int
hand_to_lmtp(struct deliver *d, const struct deliver_item *it, const char *sender)
{
	struct timing t = { .timeout_ms = d->a->timeout * 1000, .deadline_ms = d->deadline_ms };
	int rc;

	if (d->lmtp == NULL && lmtp_open(d->a->deliver_to, &t, &d->lmtp) < 0)
		return fail_context("LMTP server %s", d->a->deliver_to);
	rc = lmtp_deliver(d->lmtp, it->msg->fd, sender, recipient(d->a));
	if (rc < 0)
		return -1;
	return rc == LMTP_DELIVERED ? HANDED_OVER : rc == LMTP_TEMPORARY ? DEFERRED : REFUSED;
}

/* Hands one message over and, once the target accepted it, journals
 * it: the target's acceptance is the commit point. */
static int
commit_one(struct deliver *d, struct uidl_state *s, struct fetch_report *rep,
	struct deliver_item *it)
{
	char sender[SENDER_MAX];
	int rc;

	deliver_msg_sender(it->msg, sender);
	rc = d->kind == DELIVER_MDA ? hand_to_mda(d, it, sender) : hand_to_lmtp(d, it, sender);
	if (rc < 0)
		return fail_context("message %lu UIDL %s (left on the server)", it->m->num,
		    it->m->uidl);
	if (rc != HANDED_OVER) {
		refused(d, rep, it, rc == REFUSED);
		return 0;
	}
	return journal_one(s, it, d->kind == DELIVER_MDA ? UIDL_FILE_MDA : UIDL_FILE_LMTP);
}

/* Each message handed over and journaled before the next: the window in
 * which a crash delivers twice is one message.  After SIGTERM or SIGINT
 * no further message is handed over (each could take the whole grace):
 * those stay on the server for the next run, as uncommitted. */
static int
commit_each(struct deliver *d, struct uidl_state *s, struct fetch_report *rep,
	struct deliver_item *items, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0 && signals_caught() == 0; i++)
		rc = commit_one(d, s, rep, &items[i]);
	return rc;
}

int
deliver_commit(struct deliver *d, struct uidl_state *s, struct fetch_report *rep,
	struct deliver_item *items, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	if (d->kind == DELIVER_MAILDIR)
		rc = commit_maildir(d, s, items, n);
	else if (d->kind == DELIVER_MBOX)
		rc = deliver_mbox_commit(d->mbox, s, items, n);
	else
		rc = commit_each(d, s, rep, items, n);
	for (size_t i = 0; i < n; i++) {
		deliver_msg_free(items[i].msg);
		items[i].msg = NULL;
	}
	return rc;
}
