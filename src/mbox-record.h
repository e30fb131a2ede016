/*
 * The record of an mbox append in flight (`deliver = mbox`), a small file
 * next to the account's state (STATE-without-.state + ".mbox"): written
 * and fsynced before the first byte is appended, emptied (and fsynced)
 * once the messages are journaled.  A record found at the start of a run
 * is an append that was interrupted; mbox_repair_decide() says whether
 * the file may be cut back to where that append began.
 *
 * How a run knows that nobody else wrote after the interrupted append:
 * the record names the dot-lock file we held (device, inode, mtime,
 * process id); while that very file is still there, no program that
 * honours the dot-lock has appended since (it would have had to break
 * our lock and make its own).  The record also holds where each message
 * was to end: a file longer than that has been appended to.  A file
 * replaced, shorter than the cut, or whose lock was taken since is left
 * alone and reported.
 *
 * A record that does not parse or whose checksum does not match was torn
 * by a crash while it was written: the append had not begun (it is
 * written and fsynced first), so there is nothing to repair.
 */
#ifndef MAILPIPE_MBOX_RECORD_H
#define MAILPIPE_MBOX_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "mbox.h"
#include "uidlset.h"

struct mbox_record {
	char *path;			/* the mbox */
	dev_t dev;			/* the mbox file's identity */
	ino_t ino;
	struct mbox_lock_id lock;	/* the dot-lock held for the append */
	long long start;		/* the file's size before the append */
	long long fetched;		/* the time its journal entries carry */
	size_t n;			/* messages appended */
	long long *ends;		/* where each of them ends */
	char **uidls;			/* and its UIDL */
	size_t alloc;			/* room in ends and uidls (parsing) */
};

/* The text of a record (with its checksum line); a new string. */
char *mbox_record_format(const struct mbox_record *r, size_t *len_r);
/* Parses text into *r (allocated; free with mbox_record_free()): 1, or 0
 * when it is empty, torn or not a record. */
int mbox_record_parse(const char *text, size_t len, struct mbox_record *r);
void mbox_record_free(struct mbox_record *r);

/* The record file at path, opened (created mode 0600, never through a
 * link) for the run.  0, or -1 with FAIL_IO. */
int mbox_record_open(const char *path, int *fd_r);
/* Replaces the record with r, durably (fdatasync).  FAIL_IO. */
int mbox_record_write(int fd, const char *path, const struct mbox_record *r);
/* Empties it, durably.  FAIL_IO. */
int mbox_record_clear(int fd, const char *path);
/* 1 and *r filled when it holds a record, 0 when not, -1 (FAIL_IO). */
int mbox_record_read(int fd, const char *path, struct mbox_record *r);

/* How many leading messages of r the state set has journaled by this
 * very append: entries with file (the mbox target's mark, "=mbox") and
 * first retrieval r->fetched. */
size_t mbox_record_committed(const struct mbox_record *r, struct uidl_set *set,
	const char *file);

/* What the next run finds. */
struct mbox_found {
	bool exists;
	dev_t dev;
	ino_t ino;
	long long size;
	bool lock_ours;		/* the record's dot-lock is still there */
	size_t committed;	/* leading messages of the record in the state */
};

enum mbox_repair {
	MBOX_REPAIR_NONE,	/* nothing of ours to cut: forget the record */
	MBOX_REPAIR_CUT,	/* cut the file back to *cut_r */
	MBOX_REPAIR_LEAVE,	/* not ours to cut: report *why_r, leave it */
};

/* The decision table:
 *	every message of the record journaled	NONE
 *	the file is gone			LEAVE
 *	another file under the path		LEAVE
 *	shorter than the cut			LEAVE
 *	exactly the cut				NONE
 *	longer than the append's end		LEAVE
 *	our dot-lock gone or replaced		LEAVE
 *	otherwise				CUT
 * The cut is where the journaled messages end (the start when none is). */
enum mbox_repair mbox_repair_decide(const struct mbox_record *r,
	const struct mbox_found *f, long long *cut_r, const char **why_r);

#endif
