/*
 * deliver = mbox (deliver-mbox.h): the commit of a batch into an mbox and
 * the repair of one an earlier run did not finish.  Kept apart from
 * deliver.c because its exactly-once rests on a record of its own (the
 * append in flight), which the other targets do not need.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deliver-mbox.h"
#include "fs.h"
#include "log.h"
#include "mbox-record.h"
#include "mbox.h"
#include "status.h"
#include "xalloc.h"

struct deliver_mbox {
	const char *path;	/* the account's deliver_to */
	int timeout_s;		/* for each lock */
	int record_fd;		/* opened by the first use */
	char *record_path;
};

/* The messages of one append: their "From " lines, and the record. */
struct append {
	struct mbox_record rec;	/* strings borrowed, arrays owned */
	char (*from)[MBOX_FROM_MAX];
	size_t *from_len;
};

int
deliver_mbox_open(const struct account *a, struct deliver_mbox **dm_r)
{
	struct deliver_mbox *dm;

	if (mbox_check_path(a->deliver_to) < 0)
		return -1;
	dm = xcalloc(1, sizeof *dm);
	dm->path = a->deliver_to;
	dm->timeout_s = a->timeout;
	dm->record_fd = -1;
	*dm_r = dm;
	return 0;
}

void
deliver_mbox_close(struct deliver_mbox *dm)
{
	if (dm == NULL)
		return;
	fs_close(dm->record_fd);
	free(dm->record_path);
	free(dm);
}

/* The record lives next to the state, named after it: one per account,
 * written only under the account's lock. */
static int
open_record(struct deliver_mbox *dm, struct uidl_state *s)
{
	const char *state = uidl_state_path(s);
	size_t len = strlen(state);

	if (dm->record_fd >= 0)
		return 0;
	if (len > 6 && strcmp(state + len - 6, ".state") == 0)
		len -= 6;
	free(dm->record_path);
	dm->record_path = xasprintf("%.*s.mbox", (int)len, state);
	return mbox_record_open(dm->record_path, &dm->record_fd);
}

/* ---- the repair at the start of a run ---- */

/* 0 done, 1 reported (recorded as a failure), -1 failed. */
static int
act_on(struct mbox *m, const struct mbox_record *rec, const struct mbox_found *f)
{
	long long cut;
	const char *why;
	enum mbox_repair what = mbox_repair_decide(rec, f, &cut, &why);
	long long end = rec->n > 0 ? rec->ends[rec->n - 1] : rec->start;

	if (what == MBOX_REPAIR_LEAVE) {
		fail(FAIL_TEMPORARY, "mbox %s: an append an earlier run did not finish (bytes "
		    "%lld to %lld) was not cut back: %s; check the message at byte %lld; the "
		    "next run goes on", rec->path, cut, end, why, cut);
		return 1;
	}
	if (what == MBOX_REPAIR_NONE)
		return 0;
	if (mbox_truncate(m, cut) < 0)
		return -1;
	log_warn("mbox %s: cut back from %lld to %lld bytes, the end of an append an "
	    "earlier run did not finish; those messages are fetched again", rec->path,
	    f->size, cut);
	return 0;
}

/* Locks the recorded file (taking over our own dot-lock left behind),
 * finds how it is, and acts on the decision. */
static int
repair(struct deliver_mbox *dm, struct uidl_state *s, const struct mbox_record *rec)
{
	struct mbox_found f = { .committed = mbox_record_committed(rec,
		uidl_entries(s), UIDL_FILE_MBOX) };
	struct mbox *m = NULL;
	int rc = mbox_lock_existing(rec->path, dm->timeout_s, &rec->lock, &m);

	if (rc < 0)
		return -1;
	f.exists = rc == 1;
	/* Judged by the lock taking, under the fcntl lock: looked at before
	 * it, the leftover could be broken by a writer holding that lock and
	 * the file grown before we got it, and its message cut. */
	f.lock_ours = m != NULL && mbox_took_leftover(m);
	rc = m != NULL ? mbox_stat(m, &f.dev, &f.ino, &f.size) : 0;
	if (rc == 0)
		rc = act_on(m, rec, &f);
	/* Repaired or reported, the record has served: dropped even after
	 * a report, so that the next run goes on. */
	if (rc >= 0 && mbox_record_clear(dm->record_fd, dm->record_path) < 0)
		rc = -1;
	mbox_unlock(m);
	return rc == 0 ? 0 : -1;
}

int
deliver_mbox_recover(struct deliver_mbox *dm, struct uidl_state *s)
{
	struct mbox_record rec;
	int rc;

	if (open_record(dm, s) < 0)
		return -1;
	rc = mbox_record_read(dm->record_fd, dm->record_path, &rec);
	if (rc <= 0)
		return rc;
	rc = repair(dm, s, &rec);
	mbox_record_free(&rec);
	return rc;
}

/* ---- the commit ---- */

static void
append_free(struct append *ap)
{
	free(ap->rec.ends);
	free(ap->rec.uidls);
	free(ap->from);
	free(ap->from_len);
}

/* The record of the append about to begin: where the file is and where
 * each message will end. */
static int
plan_append(struct deliver_mbox *dm, struct mbox *m, const struct deliver_item *items,
	size_t n, struct append *ap)
{
	time_t now = time(NULL);
	char sender[DELIVER_SENDER_MAX];
	size_t pad;
	long long at;

	*ap = (struct append){ .rec = { .path = (char *)dm->path, .n = n, .fetched = now,
		.ends = xcalloc(n, sizeof *ap->rec.ends),
		.uidls = xcalloc(n, sizeof *ap->rec.uidls) },
		.from = xcalloc(n, sizeof *ap->from), .from_len = xcalloc(n, sizeof *ap->from_len) };
	if (mbox_stat(m, &ap->rec.dev, &ap->rec.ino, &ap->rec.start) < 0 ||
	    mbox_separator(m, &pad) < 0)
		return -1;
	mbox_lock_identity(m, &ap->rec.lock);
	/* The newlines mbox_append() puts before the first message. */
	at = ap->rec.start + (long long)pad;
	for (size_t i = 0; i < n; i++) {
		deliver_msg_sender(items[i].msg, sender);
		ap->from_len[i] = mbox_from_line(ap->from[i], sender, now);
		at += (long long)(ap->from_len[i] + deliver_msg_spooled(items[i].msg));
		ap->rec.ends[i] = at;
		ap->rec.uidls[i] = items[i].m->uidl;
	}
	return 0;
}

/* The messages appended and fsynced; on a failure cut back at once (we
 * hold the lock: nobody else wrote) and the record emptied. */
static int
append_all(struct deliver_mbox *dm, struct mbox *m, const struct deliver_item *items,
	const struct append *ap)
{
	int rc = 0;

	for (size_t i = 0; i < ap->rec.n && rc == 0; i++)
		rc = mbox_append(m, ap->from[i], ap->from_len[i], deliver_msg_fd(items[i].msg));
	if (rc == 0)
		rc = mbox_sync(m);
	if (rc == 0)
		return 0;
	if (mbox_truncate(m, ap->rec.start) == 0)
		(void)mbox_record_clear(dm->record_fd, dm->record_path);
	return -1;
}

static int
journal_all(struct deliver_mbox *dm, struct uidl_state *s, struct deliver_item *items,
	const struct append *ap)
{
	size_t n = ap->rec.n;
	struct uidl_entry *e = xcalloc(n, sizeof *e);
	long long now = ap->rec.fetched;	/* the record's: how a repair knows them */
	int rc;

	for (size_t i = 0; i < n; i++) {
		e[i] = (struct uidl_entry){ .uidl = items[i].m->uidl, .size = items[i].m->size,
			.fetched = now, .file = UIDL_FILE_MBOX, .has_digest = true };
		memcpy(e[i].digest, items[i].digest, sizeof e[i].digest);
	}
	rc = uidl_journal(s, e, n);
	free(e);
	/* Emptied either way: a journal that failed may still hold some of
	 * the records, so cutting these messages back could lose them; they
	 * stay, and may come twice. */
	if (rc < 0) {
		(void)mbox_record_clear(dm->record_fd, dm->record_path);
		return fail_context("%zu %s appended to mbox %s but could not be recorded, "
		    "so the next run may append them again", n, n == 1 ? "message was" :
		    "messages were", dm->path);
	}
	for (size_t i = 0; i < n; i++)
		items[i].committed = true;
	/* Left behind, the record would make a later run look at this append
	 * again; its journaled UIDLs and our dot-lock gone make that cut
	 * nothing, but a failure here is reported all the same. */
	return mbox_record_clear(dm->record_fd, dm->record_path);
}

int
deliver_mbox_commit(struct deliver_mbox *dm, struct uidl_state *s,
	struct deliver_item *items, size_t n)
{
	struct append ap = { 0 };
	struct mbox *m = NULL;
	int rc = open_record(dm, s);

	if (rc == 0)
		rc = mbox_lock(dm->path, dm->timeout_s, NULL, &m);
	if (rc == 0)
		rc = plan_append(dm, m, items, n, &ap);
	if (rc == 0)
		rc = mbox_record_write(dm->record_fd, dm->record_path, &ap.rec);
	if (rc == 0)
		rc = append_all(dm, m, items, &ap);
	if (rc == 0)
		rc = journal_all(dm, s, items, &ap);
	mbox_unlock(m);
	append_free(&ap);
	return rc;
}
