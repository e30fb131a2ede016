/*
 * Which state (uidl.h) a fetch run uses, and what it says about the run:
 * the identity is the account and its user, and the Maildir when
 * --maildir names another one than the account's; the server the state
 * was last used with is compared with this run's.
 */
#ifndef MAILPIPE_FETCH_STATE_H
#define MAILPIPE_FETCH_STATE_H

#include <stdbool.h>

#include "config.h"
#include "maildir.h"
#include "uidl.h"

/* Opens (with write: creates, locks) the state of account a for a run
 * into md (maildir_option: --maildir, or NULL), at port, and resolves its
 * journal against md.  A change of server is noted under -v.  On a change
 * of host, *other_host_r is set: a deletion the old host never confirmed
 * may then be acted on only with proof (the header retrieved under the
 * UIDL), and the state goes on naming the old host until
 * fetch_state_reached(), so that a run that fails before that leaves the
 * next one the same caution.  0, or -1 with the failure recorded
 * (uidl.h). */
int fetch_state_open(const struct account *a, const char *maildir_option, unsigned port,
	struct maildir *md, bool write, struct uidl_state **s_r, bool *other_host_r);
/* The run has settled the old host's unconfirmed deletions against this
 * host: from now on the state names it. */
void fetch_state_reached(const struct account *a, unsigned port, struct uidl_state *s);

#endif
