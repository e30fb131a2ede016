/*
 * Maildir delivery: the sink mailpipe-fetch writes messages into.
 *
 * A message is written into an unnamed file in tmp/ (O_TMPFILE), or where
 * the file system cannot do that into a file in tmp/ named as the Maildir
 * spec asks (time, microseconds, pid, sequence, random, escaped host
 * name); made durable; given that name in new/ (linkat, or a rename out
 * of tmp/); and new/ is fsynced.  The API is shaped for batches
 * (DESIGN.md section 3; maildir-msg.c says why each step is where it is):
 *
 *	maildir_msg_begin / _write / _end	for each message of the batch
 *	maildir_sync_batch			one durability pass over them
 *	(the caller journals the final names here)
 *	maildir_commit_batch			name each in new/, fsync new/ once
 *
 * The tmp file is removed on every failure path: maildir_msg_free() does it
 * to a message not committed (an unnamed one goes when it is closed).
 *
 * Errors: -1 with the failure recorded (status.h): FAIL_CANTCREAT when the
 * Maildir or one of its subdirectories cannot be created, FAIL_IO for any
 * other local error (write, fsync, link, rename: e.g. ENOSPC).
 *
 * The file-system primitives (durable mkdir -p, write-all) are in fs.h; this module
 * and uidl.c (the state files) share.
 */
#ifndef MAILPIPE_MAILDIR_H
#define MAILPIPE_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Longest file name this module generates, with its NUL. */
#define MAILDIR_NAME_MAX 256

struct maildir;
struct maildir_msg;

/* Opens the Maildir at path.  With create, the directory (and its parents)
 * and its tmp/ new/ cur/ are made (0700) when missing, and the parent of
 * each directory made is fsynced; without, a missing Maildir is opened as an
 * empty one (for --list) and nothing can be delivered into it. */
int maildir_open(const char *path, bool create, struct maildir **md_r);
void maildir_close(struct maildir *md);
const char *maildir_path(const struct maildir *md);

/* Creates a new file in tmp/ (unnamed where it can) and chooses its name.
 * Only one message may be open for writing at a time (between _begin and
 * _end); any number may wait for commit. */
int maildir_msg_begin(struct maildir *md, struct maildir_msg **m_r);
int maildir_msg_write(struct maildir_msg *m, const void *p, size_t n);
/* Flushes what is buffered; the file stays open for maildir_sync_batch(). */
int maildir_msg_end(struct maildir_msg *m);
/* The base name the file gets in new/, the same as in tmp/ when it has one
 * there (a reader moving the file to cur/ may append ":2,FLAGS"). */
const char *maildir_msg_name(const struct maildir_msg *m);
unsigned long long maildir_msg_size(const struct maildir_msg *m);

/* Makes the content of the n ended messages durable (fdatasync each, or
 * one syncfs() for a larger batch); closes the named files (an unnamed one
 * stays open until it is linked). */
int maildir_sync_batch(struct maildir *md, struct maildir_msg *const *msgs, size_t n);
/* Commits n synced messages: names them in new/ in order (link or rename),
 * stopping at the first failure, then fsyncs new/ once if any was named
 * (also after a failure, so that those already named are durable before
 * anyone relies on them).  If that fsync fails, the named files are taken
 * out of new/ again: none of them is committed.  Returns 0 when all n are
 * committed, else -1; maildir_msg_committed() then tells which are. */
int maildir_commit_batch(struct maildir *md, struct maildir_msg *const *msgs, size_t n);
/* True once the message is in new/ and new/ was fsynced after its name. */
bool maildir_msg_committed(const struct maildir_msg *m);
/* Removes the tmp file (if any and not committed) and frees; never fails.
 * NULL is allowed. */
void maildir_msg_free(struct maildir_msg *m);

/* True when a file of that base name is in new/ or cur/ (where it may carry
 * an info suffix ":..."). */
bool maildir_has(struct maildir *md, const char *name);
/* Removes tmp/name if it exists (journal replay of an uncommitted entry). */
void maildir_drop_tmp(struct maildir *md, const char *name);
/* True for a name this module could have generated: no '/', no leading '.',
 * printable, not too long.  Used to refuse a corrupt journal entry. */
bool maildir_name_valid(const char *name);


#endif
