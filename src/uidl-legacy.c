/*
 * Taking over a version 1 fetch state.  Version 1 keyed the state by
 * user@host:port, so its files are found by computing the names it would
 * have used for this account's host and the likely ports; they are loaded
 * as if they were ours (entries, and the journal as retrieval records),
 * saved in the new form by uidl_replay(), and only then removed.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uidl-private.h"
#include "xalloc.h"

/* A version 1 state was keyed by user@host:port: these ports are tried
 * besides the configured one, so that a change of TLS mode made before the
 * upgrade still finds it. */
static const unsigned legacy_ports[] = { 110, 995 };

/* The name version 1 used for user@host:port. */
static char *
legacy_name(const char *account, const char *user, const char *host, unsigned port)
{
	char *text = xasprintf("%s@%s:%u", user, host, port);
	char *name = uidl_hashed_name(account, text, strlen(text));

	free(text);
	return name;
}


/* Takes over a version 1 state of this account, if there is one: loads it
 * as if it were ours (entries and journal); uidl_replay() saves it in the
 * new form and only then removes it. */
static int
load_legacy_one(struct uidl_state *s, unsigned port)
{
	struct legacy *l = &s->legacy[s->legacy_count];
	struct state_header h;
	char *base = legacy_name(s->key.account, s->key.user, s->key.host, port);

	if (!uidl_exists_in_dir(s, base, ".state") && !uidl_exists_in_dir(s, base, ".journal")) {
		free(base);
		return 0;
	}
	*l = (struct legacy){ .base = base, .lockfd = -1 };
	s->legacy_count++;
	if (s->write && uidl_lock_file(s, base, &l->lockfd) < 0)
		return -1;
	if (uidl_read_state_file(s, base, &h, false) < 0)
		return -1;
	state_header_free(&h);
	return uidl_load_journal(s, base, 1);
}

int
uidl_load_legacy(struct uidl_state *s)
{
	unsigned ports[LEGACY_MAX] = { s->key.port, legacy_ports[0], legacy_ports[1] };

	if (s->key.maildir != NULL || s->key.host == NULL || s->last.version != 0 ||
	    uidl_exists_in_dir(s, s->base, ".journal"))
		return 0;	/* only the account's own state ever had a version 1 */
	for (size_t i = 0; i < LEGACY_MAX; i++) {
		bool tried = false;

		for (size_t j = 0; j < i; j++)
			tried |= ports[j] == ports[i];
		if (!tried && load_legacy_one(s, ports[i]) < 0)
			return -1;
	}
	return 0;
}

void
uidl_remove_legacy(struct uidl_state *s)
{
	for (size_t i = 0; i < s->legacy_count; i++) {
		uidl_unlink_in_dir(s, s->legacy[i].base, ".journal");
		uidl_unlink_in_dir(s, s->legacy[i].base, ".state");
		uidl_unlink_in_dir(s, s->legacy[i].base, ".lock");
	}
	if (s->legacy_count > 0)
		fsync(s->dirfd);	/* best effort: a leftover is only read again */
}
