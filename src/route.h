/*
 * Which account carries a message: the one a sender's address routes to
 * (match_from), and the accounts to try in turn (failover).  Values only:
 * nothing here connects.
 */
#ifndef MAILPIPE_ROUTE_H
#define MAILPIPE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* The account for a message sent without -a: the first [smtp] section,
 * in the order of the file, whose match_from has a glob matching sender
 * (case-insensitively; sender NULL matches nothing), else the default
 * account (config_account()).  Failures: as config_account(). */
int route_account(const struct config *cfg, const char *sender, const struct account **a_r);

/* The accounts to try for a message of account a: a, then those its
 * failover key names, in order, each once (their own failover keys are
 * not followed).  *chain_r is a new array of *count_r entries.
 * FAIL_CONFIG "FILE:LINE: failover names no [smtp NAME] section". */
int route_chain(const struct config *cfg, const struct account *a,
	const struct account ***chain_r, size_t *count_r);

/* Whether a is an [smtp] account with queue_dir dir (any dir when dir
 * is NULL), and the one called name when name is not NULL: the accounts
 * --flush and --queue work on. */
bool route_queue_of(const struct account *a, const char *dir, const char *name);
/* Whether account i of cfg is the first such account with its
 * queue_dir: each queue is visited once, though several accounts share it. */
bool route_first_with_queue(const struct config *cfg, size_t i, const char *name);

/* The [smtp] account called name, or NULL. */
const struct account *route_find(const struct config *cfg, const char *name);

#endif
