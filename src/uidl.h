/*
 * Which messages of a POP3 account were retrieved: the state file, its
 * crash journal and the per-account lock.
 *
 * Files live in the state directory (state_dir, default
 * $XDG_STATE_HOME/mailpipe, i.e. ~/.local/state/mailpipe) under a base name
 * made of the account name and a hash of user@host:port, so that pointing
 * an account at another server or user never mixes their states:
 *
 *	NAME.HASH.state		the retrieved UIDLs, rewritten atomically
 *	NAME.HASH.journal	appended (and fsynced) before each rename into new/
 *	NAME.HASH.lock		flock()ed while a run uses the account
 *
 * Both files hold one line per message: "UIDL SIZE TIME FILE" (size in
 * octets as listed by the server, time of retrieval, the Maildir base
 * name).  The state file starts with a header line and ends with the line
 * "end COUNT", which has two fields where an entry has four, so that no
 * UIDL can pass for it.  UIDLs are validated (RFC 1939: 1-70 characters
 * 0x21-0x7E) and never used as file names.
 *
 * Exactly once: a journal entry whose file is in new/ or cur/ counts as
 * retrieved; one whose file is missing was never committed, so it is dropped
 * and its tmp file removed (uidl_replay()).  A torn last journal line (a
 * write cut by a crash) is cut off at open, under the lock, before anything
 * can be appended after it.
 *
 * Durability: the state directory, the journal and the state file are
 * fsynced into their directories when created; the state file is replaced
 * atomically (temp file, fsync, rename, fsync of the directory).
 *
 * Errors: FAIL_CANTCREAT (state directory), FAIL_TEMPORARY (lock held by
 * another run), FAIL_IO (read/write errors, and a corrupt state file, which
 * is reported rather than silently treated as empty), FAIL_CONFIG (no HOME).
 */
#ifndef MAILPIPE_UIDL_H
#define MAILPIPE_UIDL_H

#include <stdbool.h>
#include <stddef.h>

#include "maildir.h"

#define UIDL_MAX 70

struct uidl_entry {
	char *uidl;
	char *file;			/* Maildir base name */
	unsigned long long size;	/* octets as the server listed them */
	long long fetched;		/* time of retrieval (seconds since the epoch) */
	bool seen;			/* listed by the server in this session */
	bool gone;			/* internal: forgotten, dropped at the next save */
	unsigned long order;		/* internal: later entries replace earlier */
};

struct uidl_state;

/* The state directory: state_dir if set (already expanded), else the XDG
 * default.  Returns a new string, or NULL with FAIL_CONFIG recorded. */
char *uidl_default_dir(const char *state_dir);

/* Creates the directory if needed, takes the lock, cuts a torn journal
 * tail, loads the state and reads the journal (without resolving it; see
 * uidl_replay()). */
int uidl_open(const char *dir, const char *account, const char *user, const char *host,
	unsigned port, struct uidl_state **s_r);
/* Resolves journal entries against the Maildir.  With write, also removes
 * the tmp files of dropped entries, saves the state and empties the
 * journal; without (for --list), changes nothing on disk. */
int uidl_replay(struct uidl_state *s, struct maildir *md, bool write);

/* The entry for a UIDL, or NULL; marks it as seen on the server. */
struct uidl_entry *uidl_lookup(struct uidl_state *s, const char *uidl);
/* Appends entries to the journal and fsyncs it, then adds them to the
 * state as seen.  Call before renaming their files into new/. */
int uidl_journal(struct uidl_state *s, const struct uidl_entry *e, size_t n);
/* Takes an entry out: its file could not be committed, or the server
 * confirmed its deletion (QUIT +OK), after which its UIDL may be given to
 * another message.  Cheap; the entry is dropped by the next save. */
void uidl_forget(struct uidl_state *s, const char *uidl);
/* True when the server seems to have renumbered its UIDLs: the state holds
 * at least two entries, none of them was looked up (none of the server's
 * UIDLs is known), and at least 90% of their sizes are among the n sizes
 * the server listed (each server size matching one entry at most). */
bool uidl_reset_suspected(struct uidl_state *s, const unsigned long long *sizes,
	size_t n);
/* Rewrites the state file atomically, then empties the journal (fsynced,
 * so that it cannot bring forgotten entries back).  With prune, entries not
 * seen in this session (the server no longer has them) go.  0, or -1 with
 * the failure recorded. */
int uidl_save(struct uidl_state *s, bool prune);
/* Releases the lock and frees; never fails.  NULL is allowed. */
void uidl_close(struct uidl_state *s);

size_t uidl_count(const struct uidl_state *s);
const char *uidl_state_path(const struct uidl_state *s);

/* RFC 1939 section 7: 1 to 70 characters in the range 0x21 to 0x7E. */
bool uidl_valid(const char *uidl, size_t len);

#endif
