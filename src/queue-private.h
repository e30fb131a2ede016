/*
 * Inside the queue module: the open directory and the names in it, shared
 * by queue.c (adding, claiming, removing) and queue-list.c (listing,
 * tidying).  Not for use outside queue*.c.
 */
#ifndef MAILPIPE_QUEUE_PRIVATE_H
#define MAILPIPE_QUEUE_PRIVATE_H

#include <stdbool.h>

#include "queue.h"

#define QUEUE_MESSAGE "message"
#define QUEUE_ENVELOPE "envelope"
#define QUEUE_ENVELOPE_NEW "envelope.new"
#define QUEUE_NEW_SUFFIX ".new"
#define QUEUE_FAILED_DIR "failed"

struct queue {
	char *path;
	int fd;			/* -1: the directory does not exist (not created) */
	int failed_fd;		/* failed/, once opened; -1 before */
};

/* FAIL_IO "cannot WHAT in the queue PATH: strerror(errno)"; returns -1. */
int queue_write_error(const struct queue *q, const char *what);
/* FAIL_AUTH for a link or a non-directory where an entry should be. */
int queue_refuse(const struct queue *q, const char *name);
/* Opens failed/ into q->failed_fd, made (0700, durably) when missing with
 * create: 0, 1 when it is missing and create is false, or -1 (recorded). */
int queue_failed_dir(struct queue *q, bool create);
/* Whether name is an id: QUEUE_ID_LENGTH lower-case hex digits. */
bool queue_is_id(const char *name);
/* Reads and parses the envelope of the entry open at dirfd.
 * QUEUE_CLAIMED (read), QUEUE_GONE (no envelope: being removed), or -1
 * (FAIL_IO, a corrupt or unreadable envelope). */
int queue_read_envelope(const struct queue *q, int dirfd, const char *id,
	struct queue_envelope *e);
/* Unlinks the files of the entry open at dirfd, then the entry name in
 * base_fd; what cannot be removed stays for queue_tidy(). */
void queue_unlink_entry(int base_fd, const char *name, int dirfd);

#endif
