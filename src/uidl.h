/*
 * Which messages of a POP3 account were retrieved: the state file, its
 * crash journal and the per-account lock, in the state directory
 * (state_dir, default $XDG_STATE_HOME/mailpipe, i.e. ~/.local/state/mailpipe).
 *
 * Identity.  A state belongs to an account name and a user, and to a
 * Maildir when --maildir names another one than the account's: not to a
 * host, port or TLS mode, so that moving the account to port 995 or to the
 * provider's new host name never fetches the mailbox a second time.  Files
 * are named NAME.HASH, NAME the account made safe as a file name and HASH
 * 64 bits of SHA-256 over the identity:
 *
 *	NAME.HASH.state		the retrieved messages, rewritten atomically
 *				when they changed
 *	NAME.HASH.journal	appended (and fsynced) before each rename into
 *				new/ and before QUIT
 *	NAME.HASH.lock		flock()ed while a run uses the account (always
 *				the one without a Maildir in its identity: one
 *				run per mailbox)
 *
 * Format (version 2; every token printable ASCII, names %XX-escaped):
 *
 *	mailpipe-fetch state 2
 *	account NAME
 *	user USER
 *	maildir PATH			only for a --maildir identity
 *	server HOST PORT		where the last run fetched from
 *	UIDL SIZE FETCHED FLAGS DIGEST FILE	one per message
 *	end COUNT
 *
 * FETCHED is the time of the first retrieval, FLAGS "-" or "D" (its DELE
 * was answered +OK but QUIT's +OK was never recorded), DIGEST the header
 * fingerprint (headerdigest.h) or "-".  The journal holds "R UIDL SIZE
 * FETCHED DIGEST FILE" (retrieved, journaled before the rename into new/)
 * and "D UIDL" (deletion requested, journaled before QUIT).  An entry line
 * has six tokens, the trailer two, so no UIDL can pass for the trailer.
 * State files of version 1 (keyed by user@host:port) are read once and
 * replaced (uidl_replay()).
 *
 * Exactly once: an R record whose file is in new/ or cur/ counts as
 * retrieved; one whose file is missing was never committed, so it is
 * dropped and its tmp file removed.  A torn last journal line (a write cut
 * by a crash) is cut off at open, under the lock, before anything can be
 * appended after it.
 *
 * Trust: the directory must belong to the caller (or root) and be writable
 * by nobody else; every file in it is opened relative to it without
 * following symbolic links, and temp files are created exclusively.
 *
 * Durability: the state directory, the journal and the state file are
 * fsynced into their directories when created; the state file is replaced
 * atomically (temp file, fsync, rename, fsync of the directory).
 *
 * Errors: FAIL_CANTCREAT (state directory), FAIL_AUTH (a directory others
 * could write, or a link where a file should be), FAIL_TEMPORARY (lock held
 * by another run), FAIL_IO (read/write errors, and a corrupt state file,
 * which is reported rather than silently treated as empty), FAIL_CONFIG
 * (no home directory).
 */
#ifndef MAILPIPE_UIDL_H
#define MAILPIPE_UIDL_H

#include <stdbool.h>
#include <stddef.h>

#include "maildir.h"
#include "uidlset.h"

struct uidl_key {
	const char *account;
	const char *user;
	const char *maildir;	/* NULL: the account's own; else an absolute path */
	const char *host;	/* recorded in the state, not part of the identity */
	unsigned port;
};

struct uidl_state;

/* The state directory: state_dir if set (already expanded), else the XDG
 * default.  Returns a new string, or NULL with FAIL_CONFIG recorded. */
char *uidl_default_dir(const char *state_dir);

/* Opens the state of key in dir.  With write: creates the directory if
 * needed, takes the lock, cuts a torn journal tail; without (--list):
 * changes nothing on disk, takes no lock, and a missing directory is an
 * empty state.  Loads the state and reads the journal without resolving
 * it (uidl_replay()). */
int uidl_open(const char *dir, const struct uidl_key *key, bool write,
	struct uidl_state **s_r);
/* True for a UIDL_FILE_* (uidlset.h): a message delivered to a target
 * other than a Maildir. */
bool uidl_file_is_target(const char *file);

/* Resolves journal records against the Maildir (md NULL: the target is not
 * a Maildir; records of Maildir files are then dropped).  With write, also removes
 * the tmp files of dropped records, saves the state, empties the journal
 * and removes a version 1 state it replaced. */
int uidl_replay(struct uidl_state *s, struct maildir *md);

/* The retrieved messages. */
struct uidl_set *uidl_entries(struct uidl_state *s);
/* Where the state says the last run fetched from; *host_r is NULL for a
 * new state. */
void uidl_last_server(const struct uidl_state *s, const char **host_r, unsigned *port_r);
/* The server the state names when it is next saved (uidl_open() starts
 * with the key's). */
void uidl_set_server(struct uidl_state *s, const char *host, unsigned port);

/* Appends R records (and fsyncs), then adds the entries to the set as
 * seen.  Call before renaming their files into new/. */
int uidl_journal(struct uidl_state *s, const struct uidl_entry *e, size_t n);
/* Appends D records (and fsyncs) and marks the entries.  Call after the
 * DELEs were answered +OK, before QUIT. */
int uidl_journal_deletes(struct uidl_state *s, char *const *uidls, size_t n);
/* Rewrites the state file atomically, then empties the journal (fsynced,
 * so that it cannot bring forgotten entries back).  With prune, entries
 * not seen in this session (the server no longer has them) go.  When the
 * file already says what the state holds (nothing added, forgotten,
 * pruned or modified, the same server), nothing is written.  0, or -1
 * with the failure recorded. */
int uidl_save(struct uidl_state *s, bool prune);
/* Releases the lock and frees; never fails.  NULL is allowed. */
void uidl_close(struct uidl_state *s);

const char *uidl_state_path(const struct uidl_state *s);

#endif
