/*
 * What the three files of the fetch state share (uidl.c: the directory, the
 * lock, the state file, open and save; uidl-journal.c: the crash journal;
 * uidl-legacy.c: taking over a version 1 state).  Not for other modules:
 * uidl.h is the interface.
 */
#ifndef MAILPIPE_UIDL_PRIVATE_H
#define MAILPIPE_UIDL_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "statefile.h"
#include "uidl.h"

#define LEGACY_MAX 3

struct legacy {
	char *base;
	int lockfd;
};

struct uidl_state {
	char *dir;
	int dirfd;		/* -1: read-only and the directory does not exist */
	bool write;
	char *base, *lock_base;	/* NAME.HASH of the state, of the lock */
	char *state_path, *journal_path;	/* full paths, for messages */
	int lockfd, journalfd;
	struct state_header key;	/* this run's identity and server */
	struct state_header last;	/* what the state file said */
	bool header_changed;	/* the file does not name key's server (or
				 * there is none): the next save writes */
	struct uidl_set set;
	struct statefile_backing *backing;	/* the state file the set was
						 * loaded from (its digests and
						 * file names), or NULL */
	struct journal_record *pending;	/* journal records not yet resolved */
	size_t pending_count, pending_alloc;
	struct legacy legacy[LEGACY_MAX];
	size_t legacy_count;
};

/* NAME.HEX: the account made safe as a file name, and the first 64 bits
 * of SHA-256(text[0..len)) in hex.  A new string. */
char *uidl_hashed_name(const char *account, const char *text, size_t len);
/* openat() in the state directory, never through a link; a link is
 * FAIL_AUTH, anything else -1 with errno set and nothing recorded. */
int uidl_open_in_dir(struct uidl_state *s, const char *base, const char *suffix, int flags);
/* The same for reading, as a stream: *fp_r NULL (and 0) when there is no
 * such file; *path_r (always set, to free) names it for messages. */
int uidl_fopen_in_dir(struct uidl_state *s, const char *base, const char *suffix,
	FILE **fp_r, char **path_r);
bool uidl_exists_in_dir(struct uidl_state *s, const char *base, const char *suffix);
void uidl_unlink_in_dir(struct uidl_state *s, const char *base, const char *suffix);
/* FAIL_AUTH for a link or something else where a file of ours should be. */
int uidl_refuse_link(const char *dir, const char *name);
/* flock()s base.lock (created if missing). */
int uidl_lock_file(struct uidl_state *s, const char *base, int *fd_r);
/* Reads base.state (any version) into the set; h gets its header (version
 * 0: there is none).  backed: the digests and file names stay in the file,
 * kept open as s->backing (only for this state's own file). */
int uidl_read_state_file(struct uidl_state *s, const char *base, struct state_header *h,
	bool backed);

/* uidl-journal.c */
/* Every complete record of base.journal (of that version) into pending. */
int uidl_load_journal(struct uidl_state *s, const char *base, int version);
/* Opens this state's journal for appending, if it exists, and cuts a torn
 * last line (write mode). */
int uidl_open_existing_journal(struct uidl_state *s);
/* Empties the journal once the state holds all it says. */
int uidl_empty_journal(struct uidl_state *s);

/* uidl-legacy.c */
/* Loads a version 1 state of this account (identity without --maildir)
 * when there is no version 2 one yet. */
int uidl_load_legacy(struct uidl_state *s);
/* Removes the version 1 files taken over, once the new state is saved. */
void uidl_remove_legacy(struct uidl_state *s);

#endif
