/*
 * What mailpipe-fetch shows a person watching (mailpipe-fetch(1),
 * PROGRESS): one self-updating line per account while messages arrive,
 *
 *	work: 1,234/5,000 msgs  61.2 MB  24.5 MB/s  ETA 0:03
 *
 * only when stderr is a terminal or with --progress, never under -q; and
 * a summary at the end,
 *
 *	work: 5,000 retrieved (212 MB), 0 deleted, 0 skipped, 8.4 s
 *
 * by default on a terminal and always with --stats, never under -q.  Also
 * mailpipe-send --stats: the final reply and the size.  MB are 10^6 bytes;
 * counts have thousands separators.
 */
#ifndef MAILPIPE_PROGRESS_H
#define MAILPIPE_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runrec.h"

/* What the command line asked for. */
struct progress_options {
	bool progress;		/* --progress */
	bool stats;		/* --stats */
	bool no_line;		/* --jobs > 1: one terminal line cannot show
				 * several accounts; never the self-updating one */
};

struct progress {
	bool line, summary;	/* shown, as decided by progress_start() */
	bool drawn;		/* a line is on the terminal */
	unsigned long done;	/* messages read in this run */
	int64_t started_ms, drawn_ms;
};

/* Decides what to show from o, -q and whether stderr is a terminal. */
void progress_start(struct progress *p, const struct progress_options *o);
/* One more message read into r's counts: the line is redrawn at most
 * five times a second. */
void progress_message(struct progress *p, const struct runrec *r);
/* Clears the line, then the summary of r when it is to be shown; true
 * when it was (the -v summary then is not needed). */
bool progress_end(struct progress *p, const struct runrec *r);
/* mailpipe-send --stats: "ACCOUNT: FINAL REPLY (N bytes)" on stderr. */
void progress_send_stats(const struct runrec *r);

/* 1234567 as "1,234,567" into out (room for 27 bytes). */
void progress_count(unsigned long long n, char *out, size_t size);
/* 61234567 bytes as "61.2 MB" (below 10 MB one decimal, else none above
 * 100 MB). */
void progress_mb(unsigned long long bytes, char *out, size_t size);

#endif
