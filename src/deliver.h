/*
 * Where mailpipe-fetch delivers (`deliver`): a Maildir, an mbox, an MDA or
 * an LMTP server, behind one interface, so that the fetch policy does not
 * know which.  A message is received into a deliver_msg (a file in the
 * Maildir's tmp/, or else an unlinked temp file) and a batch of them is
 * committed by deliver_commit(), which also journals them (uidl.h):
 *
 *	target	commit point				a crash can cause
 *	maildir	journal (fsync) before the rename	nothing: replay resolves it
 *	mbox	the fsync after the append, then the	nothing: the next run cuts
 *		journal					the append back (deliver-mbox.h)
 *	mda	the MDA's exit 0, then the journal	one message delivered twice
 *	lmtp	the 2xx after the dot, then the journal	one message delivered twice
 *
 * For mda and lmtp each message is handed over and journaled before the
 * next one is handed over, so the window in which a crash delivers twice
 * is one message.  Only what deliver_commit() marks committed may be
 * deleted on the server.
 */
#ifndef MAILPIPE_DELIVER_H
#define MAILPIPE_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "fetch-plan.h"
#include "fetch-report.h"
#include "headerdigest.h"
#include "maildir.h"
#include "uidl.h"

struct deliver;
struct deliver_msg;

/* One message of a batch. */
struct deliver_item {
	const struct plan_msg *m;
	struct deliver_msg *msg;
	unsigned char digest[HEADER_DIGEST_SIZE];
	bool committed;		/* set by deliver_commit() */
};

/* The target of account a; maildir_path (--maildir or the account's)
 * is used by `deliver = maildir` and overrides any other target when
 * given on the command line (maildir_option).  With create (not --list),
 * a Maildir is created when missing.  Nothing is contacted yet.  0, or -1
 * with the failure recorded (maildir.h; FAIL_CONFIG for no maildir). */
int deliver_open(const struct account *a, const char *maildir_path,
	const char *maildir_option, bool create, struct deliver **d_r);
/* The run's deadline (clock.h; 0: none), which ends LMTP's waits too. */
void deliver_set_deadline(struct deliver *d, int64_t deadline_ms);
/* The Maildir of `deliver = maildir`, else NULL (uidl_replay()). */
struct maildir *deliver_maildir(struct deliver *d);
/* Before the run: repairs what an interrupted run left in the target
 * (`deliver = mbox`: an append cut back, deliver-mbox.h); nothing for the
 * others.  0, or -1 with the failure recorded. */
int deliver_recover(struct deliver *d, struct uidl_state *s);
/* Ends the use of the target and frees.  NULL allowed. */
void deliver_close(struct deliver *d);

/* A new message to receive: begin, write, end (maildir.h's contract). */
int deliver_msg_begin(struct deliver *d, struct deliver_msg **msg_r);
int deliver_msg_write(struct deliver_msg *msg, const void *p, size_t n);
int deliver_msg_end(struct deliver_msg *msg);
unsigned long long deliver_msg_size(const struct deliver_msg *msg);
/* The longest envelope sender taken from a Return-Path (RFC 5321 path). */
#define DELIVER_SENDER_MAX 256
/* The envelope sender of an ended message other than a Maildir's: its
 * first Return-Path, as the server's delivery wrote it (RFC 5321 4.4), or
 * "" when it has none. */
void deliver_msg_sender(const struct deliver_msg *msg, char sender[DELIVER_SENDER_MAX]);
/* Its temp file (deliver = mda, lmtp, mbox), and the bytes in it (for
 * mbox: quoted and ended, mbox.h). */
int deliver_msg_fd(const struct deliver_msg *msg);
unsigned long long deliver_msg_spooled(const struct deliver_msg *msg);
/* Removes what is left of it (a tmp file not committed) and frees. */
void deliver_msg_free(struct deliver_msg *msg);

/* Delivers and journals items[0..n) (their messages ended), marking each
 * committed one, and frees their messages.  A message the target refuses
 * (mda exit 75 or other, LMTP 4xx or 5xx) is reported through rep and
 * stays on the server; with mda_failure = skip a refusal is a warning and
 * counted as skipped.  0, or -1 when the run cannot go on (the journal,
 * the Maildir, an MDA that cannot be started or did not finish, an LMTP
 * session that cannot be opened or broke),
 * recorded; the items before it keep their marks. */
int deliver_commit(struct deliver *d, struct uidl_state *s, struct fetch_report *rep,
	struct deliver_item *items, size_t n);

#endif
