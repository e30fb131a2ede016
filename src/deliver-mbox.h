/*
 * `deliver = mbox PATH` behind deliver.h: a batch appended under the
 * mbox locks (mbox.h), and what makes it exactly once.
 *
 * The order of one commit: lock; note the file's identity and size and
 * where each message will end in the record next to the state
 * (mbox-record.h, fsynced); append the messages (quoted already, each
 * after its "From " line); one fsync of the mbox (the commit point);
 * journal their UIDLs (file "=mbox"); empty the record; unlock.  Only
 * then may they be deleted on the server.
 *
 * A crash before the journal leaves the record: the next run, before it
 * fetches anything, cuts the file back to where the append began (or
 * where its journaled messages end) when the decision table of
 * mbox_repair_decide() allows it, and fetches those messages again; when
 * another program may have written to the file since, it cuts nothing and
 * ends with one line and exit 75 (the record is dropped, so the run after
 * it goes on).  A failed write or fsync is cut back at once, under the
 * lock.
 */
#ifndef MAILPIPE_DELIVER_MBOX_H
#define MAILPIPE_DELIVER_MBOX_H

#include <stddef.h>

#include "config.h"
#include "deliver.h"
#include "uidl.h"

struct deliver_mbox;

/* The mbox of account a (its deliver_to), its path checked (mbox.h);
 * nothing is created or locked yet.  0, or -1 (FAIL_CONFIG). */
int deliver_mbox_open(const struct account *a, struct deliver_mbox **dm_r);
/* Repairs what an interrupted append left (the record next to the state
 * s), as above.  0, or -1 with the failure recorded. */
int deliver_mbox_recover(struct deliver_mbox *dm, struct uidl_state *s);
/* Appends and journals items[0..n) as above, marking them committed.  0,
 * or -1 with the failure recorded (a lock not had in time: 75, nothing
 * appended). */
int deliver_mbox_commit(struct deliver_mbox *dm, struct uidl_state *s,
	struct deliver_item *items, size_t n);
void deliver_mbox_close(struct deliver_mbox *dm);

#endif
