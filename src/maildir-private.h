/*
 * What the two halves of the Maildir sink share, and nobody else: the open
 * Maildir.  maildir.c has the directory (open, trust, the clean-up of
 * tmp/, the lookups of the journal replay); maildir-msg.c a message file
 * from its creation to its commit in new/.
 */
#ifndef MAILPIPE_MAILDIR_PRIVATE_H
#define MAILPIPE_MAILDIR_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maildir.h"

#define WRITE_BUFFER_SIZE 65536
/* Room for the escaped host name and its NUL: what MAILDIR_NAME_MAX leaves
 * after the unique part before it (about 50 octets of time, microseconds,
 * pid, sequence and random). */
#define ESCAPED_HOST_MAX 200

/* Whether messages are written into unnamed files (O_TMPFILE). */
enum unnamed_files { UNNAMED_UNKNOWN, UNNAMED_YES, UNNAMED_NO };

struct maildir {
	char *path;
	int dirfd, tmpfd, newfd, curfd;	/* -1 when missing (read-only open) */
	char host[ESCAPED_HOST_MAX];	/* escaped host name */
	long pid;			/* of this process, for the names */
	unsigned long seq;
	enum unnamed_files unnamed;	/* probed at the first message */
	bool link_by_proc;		/* linkat() through /proc/self/fd */
	uint64_t random;
	char **cur_names;		/* sorted base names in cur/, built lazily */
	size_t cur_count, cur_alloc;
	bool cur_scanned;
	char buf[WRITE_BUFFER_SIZE];	/* for the one message being written */
	size_t buflen;
};

#endif
