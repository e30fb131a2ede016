/*
 * What statefile.c (the tokens, the entry syntax, formatting, the journal)
 * and statefile-read.c (reading a state file) share.  Not for other
 * modules: statefile.h is the interface.
 */
#ifndef MAILPIPE_STATEFILE_PRIVATE_H
#define MAILPIPE_STATEFILE_PRIVATE_H

#include "statefile.h"

#define STATE_MAGIC "mailpipe-fetch state "
/* The longest line read: a header line holds an escaped path. */
#define STATE_LINE_MAX 16384
#define TOKENS_MAX 6
/* An entry line's "DIGEST FILE" fits here (64 + 1 + a file name of at
 * most UIDL_FILE_MAX). */
#define STATE_ENTRY_MAX 512
/* The shortest entry line, "u 0 0 f\n" (version 1). */
#define STATE_ENTRY_MIN 8

/* Splits line at runs of spaces into at most TOKENS_MAX tokens (NULs
 * written after each); -1 for more. */
int statefile_split(char *line, char *tok[TOKENS_MAX]);
/* Digits only, the whole string / up to a newline or the end. */
bool statefile_parse_ull(const char *s, unsigned long long *v_r);
bool statefile_parse_ull_prefix(const char *s, unsigned long long *v_r);
/* "-" or 64 hex digits into e's digest. */
bool statefile_parse_digest(const char *s, struct uidl_entry *e);
/* An entry line's n tokens of the given version into e (its strings
 * borrowed from the tokens). */
bool statefile_parse_entry(char *tok[], int n, int version, struct uidl_entry *e);
/* A version 2 entry line as the writer writes it (one space between
 * tokens, no sign but a minus, numbers short enough never to overflow),
 * scanned in one pass: what nearly every line of a state is.  The
 * scanner accepts no line that statefile_parse_entry() refuses, and
 * gives what it would; anything else it leaves to that parser. */
struct statefile_scan {
	struct uidl_entry e;	/* no digest: it stays in the line */
	size_t uidl_len;
	size_t tail;		/* where "DIGEST FILE" starts in the line */
	size_t file_len;
};
/* line[0..len) (a NUL after it): true with sc filled (the UIDL's end
 * becomes a NUL), else false and the line unchanged. */
bool statefile_scan_entry(char *line, size_t len, struct statefile_scan *sc);
/* FAIL_IO: path is corrupt at lineno. */
int statefile_corrupt(const char *path, unsigned long lineno, const char *what);

#endif
