/*
 * DELE for a fetch run: one answer read and accounted for, and the DELEs
 * a run sends while RETRs are still in flight (delete mode, PIPELINING):
 * a batch's DELEs go out as soon as the batch is durable, behind the RETRs
 * already asked for, so neither waits for the other (RFC 2449 section
 * 6.6).  The server answers in order, so each DELE remembers how many
 * RETRs went before it: its answer comes after theirs.
 */
#ifndef MAILPIPE_FETCH_DELE_H
#define MAILPIPE_FETCH_DELE_H

#include <stddef.h>

#include "fetch-plan.h"
#include "fetch-report.h"
#include "pop3.h"

/* Reads the answer to the oldest outstanding command, a DELE of m: +OK
 * marks m deleted and counts it in rep->rec; -ERR only leaves m on the
 * server (reported through rep).  0, or -1 when the session failed. */
int dele_answer(struct pop3 *pop, struct plan_msg *m, struct fetch_report *rep);

struct dele_queue {
	struct queued_dele {
		struct plan_msg *m;
		size_t retrs_before;	/* RETRs sent before this DELE */
	} *deles;
	size_t sent, done, max;
};

/* Room for max DELEs over the run. */
void dele_queue_init(struct dele_queue *d, size_t max);
/* Sends DELE for m (buffered) after retrs_sent RETRs.  0, or -1 recorded. */
int dele_queue_send(struct dele_queue *d, struct pop3 *pop, struct plan_msg *m,
	size_t retrs_sent);
/* Reads the answers due before the answer to RETR number retrs_read (from
 * 0); SIZE_MAX: every one still outstanding.  0, or -1 recorded. */
int dele_queue_read_due(struct dele_queue *d, struct pop3 *pop, size_t retrs_read,
	struct fetch_report *rep);
void dele_queue_free(struct dele_queue *d);

#endif
