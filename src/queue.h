/*
 * The queue of mailpipe-send on disk: one directory per message in
 * queue_dir, named by a random id, holding the message exactly as it was
 * spooled (`message`) and its envelope record (`envelope`,
 * queue-format.h); `failed/` holds the messages the queue gave up on.
 *
 *	queue_dir/ID/message	never changed once written
 *	queue_dir/ID/envelope	replaced atomically (envelope.new, fsync, rename)
 *	queue_dir/ID.new/	a message being added; renamed to ID when whole
 *	queue_dir/failed/ID/	given up on: kept, never deleted by mailpipe
 *
 * Durability is the fetch state's: every file is written, fsynced and
 * renamed into place, and its directory fsynced; an entry appears whole
 * (the rename of ID.new) or not at all, and moves to failed/ whole.
 *
 * Exactly once: a run claims a message with an exclusive flock() on its
 * `message` file, and any other run skips it; the lock dies with the
 * process, SIGKILL included.  A claimed message is checked to be still in
 * place once locked, so a run never delivers one that another has just
 * delivered and removed.  Removal unlinks the envelope first: that is the
 * commit; the rest is tidying, and a run that dies before it leaves a
 * directory without envelope, which is no message.
 *
 * Trust: the queue directory is trusted like the state directory (owned
 * by the caller or root, writable by nobody else, fs_check_trusted());
 * everything in it is opened relative to its descriptor without following
 * links.  Ids are random (random.h), never taken from the message.
 *
 * Errors: FAIL_CANTCREAT (the directory cannot be made), FAIL_AUTH (a
 * directory others could write, a link where an entry should be), FAIL_IO
 * (any read or write, a full disk, a corrupt envelope).
 */
#ifndef MAILPIPE_QUEUE_H
#define MAILPIPE_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "queue-format.h"

#define QUEUE_ID_LENGTH 16	/* hex digits: 64 random bits */

struct queue;

/* Opens the queue in dir.  With create, a missing directory is made
 * (0700, durably); without, it is an empty queue.  FAIL_CANTCREAT, FAIL_AUTH. */
int queue_open(const char *dir, bool create, struct queue **q_r);
const char *queue_path(const struct queue *q);
/* NULL is allowed. */
void queue_close(struct queue *q);

/* Adds a message: the bytes of fd from offset 0 to its end, and e.  On
 * success id_r holds its id; on failure nothing of it is left.  FAIL_IO. */
int queue_add(struct queue *q, const struct queue_envelope *e, int fd,
	char id_r[QUEUE_ID_LENGTH + 1]);

/* One message as a listing sees it, without claiming it. */
struct queue_item {
	char id[QUEUE_ID_LENGTH + 1];
	struct queue_envelope env;
	long long size;		/* of the message, in bytes */
	int64_t written_ns;	/* the message's mtime: the order within a second */
	char *problem;		/* NULL, or why its envelope cannot be used */
};
struct queue_list {
	struct queue_item *items;
	size_t count, alloc;
};
/* The messages of the queue (of failed/ with failed), oldest first; one
 * that another run removes meanwhile is left out.  FAIL_IO. */
int queue_list(struct queue *q, bool failed, struct queue_list *l);
void queue_list_free(struct queue_list *l);

/* A message this run holds: locked, its envelope read, its bytes open. */
struct queue_entry {
	char id[QUEUE_ID_LENGTH + 1];
	struct queue_envelope env;	/* change it, then queue_update() */
	int fd;				/* the message, for reading */
	bool failed;			/* it is in failed/ */
	struct queue *q;
	int dirfd;
};
enum queue_claim {
	QUEUE_CLAIMED = 1,
	QUEUE_GONE = 0,		/* no such message (any more) */
	QUEUE_BUSY = 2,		/* another run holds it */
};
/* Claims message id (in failed/ with failed): QUEUE_CLAIMED with *e_r
 * set, QUEUE_GONE, QUEUE_BUSY, or -1 (FAIL_AUTH for a link, FAIL_IO for
 * a corrupt envelope or a read error). */
int queue_claim(struct queue *q, const char *id, bool failed, struct queue_entry **e_r);
/* Writes e->env in place of the envelope, atomically.  FAIL_IO. */
int queue_update(struct queue_entry *e);
/* Removes the message (delivered, or deleted by its user).  FAIL_IO when
 * the envelope cannot be removed (the message is then still queued). */
int queue_remove(struct queue_entry *e);
/* Moves the message into failed/.  FAIL_IO, FAIL_CANTCREAT, FAIL_AUTH. */
int queue_move_failed(struct queue_entry *e);
/* Unlocks and frees; NULL is allowed. */
void queue_release(struct queue_entry *e);

/* Removes what runs killed at the wrong moment left behind: a message
 * being added (ID.new) that nobody has locked for an hour, an entry
 * without envelope that nobody holds.  Never fails. */
void queue_tidy(struct queue *q, int64_t now);

#endif
