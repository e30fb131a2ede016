/*
 * A suspected UIDL reset, checked against the server.  The plan
 * (fetch-plan.c) suspects one from sizes alone: none of the server's UIDLs
 * is known and nearly all the known sizes are listed again.  That is also
 * what a keep-mode account sees when another client deleted what it had
 * fetched and new messages of the same sizes came (cron reports often have
 * one size); refusing then would stall the account for good.  The header
 * digests in the state settle it: a listed message whose header is one
 * retrieved before means the mailbox was renumbered.
 */
#ifndef MAILPIPE_FETCH_RESET_H
#define MAILPIPE_FETCH_RESET_H

#include "fetch-plan.h"
#include "pop3.h"
#include "uidlset.h"

/* How many listed messages are asked for their header (TOP n 0). */
#define RESET_CHECKS 3

/* 1 when the reset is confirmed, or cannot be told apart from new mail (no
 * digests, no TOP); 0 when the messages checked are all new mail; -1 on a
 * failure of the session (recorded). */
int fetch_reset_confirmed(struct pop3 *pop, const struct fetch_plan *p,
	struct uidl_set *known, unsigned long long max_size);

#endif
