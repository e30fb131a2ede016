/*
 * `deliver = mbox PATH`: messages appended to an mbox file in the mboxrd
 * format, under the two locks Debian's mail tools take on a mailbox: an
 * fcntl() lock on the file, then the dot-lock file PATH.lock (created with
 * O_EXCL, holding our process id).  Every wait for them is bounded.
 *
 * mboxrd: each message starts with a "From SENDER DATE" line (the envelope
 * sender, or MAILER-DAEMON; the date as asctime() writes it, in UTC), and
 * every line of it that matches ^>*From  gets one more '>', so that a
 * reader removes exactly one from such lines and gets the message back
 * byte for byte.  A message ends with a newline (one is added to a last
 * line without one) and an empty line.  The bytes come already with LF
 * line ends (the POP3 unstuffer turned CRLF into LF, as for a Maildir).
 *
 * Errors are recorded with fail(): an untrusted or unusable path is
 * FAIL_CONFIG (78), a lock not obtained in time FAIL_TEMPORARY (75), a
 * write or fsync FAIL_IO (74).
 */
#ifndef MAILPIPE_MBOX_H
#define MAILPIPE_MBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* ---- the format (pure, streaming) ---- */

/* The longest "From " line mbox_from_line() writes. */
#define MBOX_FROM_MAX 320

/* The "From " line of a message ("From SENDER Www Mmm dd hh:mm:ss yyyy\n",
 * the date in UTC), sender "" written as MAILER-DAEMON.  Returns its
 * length (< MBOX_FROM_MAX; a sender longer than 256 bytes is cut). */
size_t mbox_from_line(char out[MBOX_FROM_MAX], const char *sender, time_t when);

/* The mboxrd quoting of one message, any chunking giving the same bytes. */
struct mbox_quoter {
	unsigned held;		/* bytes of "From " matched at a line start */
	bool at_start;		/* at a line start, or after its '>'s */
	bool any;		/* a byte was seen */
	bool last_newline;	/* the last byte seen was '\n' */
};

void mbox_quote_init(struct mbox_quoter *q);
/* Quotes in[0..n) into out, which must hold 2 * n + 8 bytes; returns the
 * number written. */
size_t mbox_quote(struct mbox_quoter *q, const char *in, size_t n, char *out);
/* The end of the message into out (at most 8 bytes): bytes held back, a
 * newline ending a last line without one, and the empty line. */
size_t mbox_quote_end(struct mbox_quoter *q, char *out);

/* ---- the file and its locks ---- */

/* What names one dot-lock file we made, so that a later run can tell a
 * lock left behind by our crash from one another program took since. */
struct mbox_lock_id {
	dev_t dev;
	ino_t ino;
	long long mtime_ns;
	pid_t pid;
};

struct mbox;

/* Checks the way to path without changing anything: its directory must
 * exist, be the caller's (or root's) and writable by nobody else, the
 * directories above it too (fs_untrusted_dirs()); the file, if there is
 * one, a regular file the caller (or root) owns, writable by nobody else.
 * 0, or -1: FAIL_CONFIG with one line naming the fix. */
int mbox_check_path(const char *path);

/* Opens path (creating it, mode 0600, when missing), checks it as above,
 * and takes the fcntl lock and then the dot-lock, each waited for until
 * timeout_s seconds have passed in all (or a signal came).  A dot-lock
 * whose process is gone, or one without a process id (or one of ours, marked
 * so on its second line) older than 5 minutes, is removed as stale; so is the one named by leftover (a lock an
 * interrupted run of ours left, mbox-record.h), when not NULL. */
int mbox_lock(const char *path, int timeout_s, const struct mbox_lock_id *leftover,
	struct mbox **m_r);
/* Opens path without creating it: 1 opened and locked as mbox_lock(), 0
 * when there is no such file (*m_r NULL), -1 on failure. */
int mbox_lock_existing(const char *path, int timeout_s,
	const struct mbox_lock_id *leftover, struct mbox **m_r);
/* True when the dot-lock of path is still the very file id names. */
bool mbox_lock_is(const char *path, const struct mbox_lock_id *id);
/* True when the dot-lock this lock took the place of was exactly the
 * leftover passed to it, judged while holding the fcntl lock: only then
 * did nobody lock the file between the interrupted run and this one. */
bool mbox_took_leftover(const struct mbox *m);
/* The dot-lock we hold. */
void mbox_lock_identity(const struct mbox *m, struct mbox_lock_id *id);
/* Identity and size of the locked file (fstat); -1 with FAIL_IO. */
int mbox_stat(const struct mbox *m, dev_t *dev_r, ino_t *ino_r, long long *size_r);

/* How many newlines the file needs at its end before a "From " line
 * (0 to 2: a last line without one, and the empty line).  FAIL_IO. */
int mbox_separator(const struct mbox *m, size_t *need_r);
/* Appends those newlines, the "From " line and then the file fd (a quoted
 * message, read from offset 0 to its end).  FAIL_IO. */
int mbox_append(struct mbox *m, const char *from_line, size_t from_len, int fd);
/* fsync() of the file: the commit point.  FAIL_IO. */
int mbox_sync(struct mbox *m);
/* Cuts the file back to size and fsyncs it.  FAIL_IO. */
int mbox_truncate(struct mbox *m, long long size);
/* Removes the dot-lock, releases the fcntl lock, frees.  NULL allowed. */
void mbox_unlock(struct mbox *m);

#endif
