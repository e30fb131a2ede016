/*
 * The text of the fetch state file and of its journal (the format is
 * described in uidl.h): parsing and formatting only.  uidl.c owns the
 * files, the directory and the order of operations.
 *
 * Reading is strict: anything that does not parse is reported as a corrupt
 * file (FAIL_IO, naming the line), never skipped, because a state read as
 * emptier than it is would fetch messages a second time.
 */
#ifndef MAILPIPE_STATEFILE_H
#define MAILPIPE_STATEFILE_H

#include <stdbool.h>

#include "uidlset.h"

#define STATEFILE_VERSION 2

/* What a state file says besides its entries. */
struct state_header {
	int version;		/* 1 (keyed by user@host:port) or 2 */
	char *account, *user, *maildir;	/* version 2; maildir may be NULL */
	char *host;		/* version 2: the server of the last run */
	unsigned port;
};

/* One journal record: R (retrieved) carries a whole entry, D (deletion
 * requested) only the UIDL. */
struct journal_record {
	char type;		/* 'R' or 'D' */
	struct uidl_entry e;
};

/* Reads the whole state file open on fd (either version) into h and set.
 * FAIL_IO naming path and line for anything malformed or truncated.  With
 * b_r, the digests and file names of version 2 entries stay in the file:
 * *b_r reads them back (the set's backing), owns fd from then on and must
 * outlive the set's use; without, the set copies them and fd stays the
 * caller's. */
struct statefile_backing;
int statefile_read(int fd, const char *path, struct state_header *h, struct uidl_set *set,
	struct statefile_backing **b_r);
/* Closes the file and frees (NULL allowed). */
void statefile_backing_free(struct statefile_backing *b);
/* The whole file for h (version 2) and the set's entries (compacted by the
 * caller); a new string of *len_r bytes, or NULL (recorded) when a
 * loaded entry could not be read back. */
char *statefile_format(const struct state_header *h, const struct uidl_set *set,
	size_t *len_r);
/* The same text written to fd as it is made, in pieces (memory stays flat
 * whatever the number of entries); 0, or -1 with FAIL_IO recorded (path
 * names the file). */
int statefile_write(int fd, const char *path, const struct state_header *h,
	const struct uidl_set *set);
void state_header_free(struct state_header *h);

/* Parses one journal line (without its newline; modified in place) of the
 * given version; false when malformed. */
bool journal_parse(char *line, int version, struct journal_record *r);
/* R records for e[0..n) / D records for uidls[0..n); new strings. */
char *journal_format_retrieved(const struct uidl_entry *e, size_t n, size_t *len_r);
char *journal_format_deletes(char *const *uidls, size_t n, size_t *len_r);

#endif
