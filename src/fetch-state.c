/* The state of a fetch run: its identity, and the server it follows. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch-state.h"
#include "fs.h"
#include "log.h"

/* The Maildir in the state's identity: NULL for the account's own (the
 * usual state), else the real path of --maildir's, so that emptying the
 * mailbox into another Maildir once puts all of it there. */
static char *
identity_maildir(const struct account *a, const char *option)
{
	char *other, *own;

	if (option == NULL)
		return NULL;
	other = fs_absolute_path(option);
	own = a->maildir != NULL ? fs_absolute_path(a->maildir) : NULL;
	if (own != NULL && strcmp(own, other) == 0) {
		free(other);
		other = NULL;
	}
	free(own);
	return other;
}

/* True when the state was last used with another host.  It then goes on
 * naming that host until fetch_state_reached(): the deletions that host
 * never confirmed are checked against the new one first. */
static bool
note_server_change(const struct account *a, unsigned port, struct uidl_state *s)
{
	const char *host;
	unsigned was_port;

	uidl_last_server(s, &host, &was_port);
	if (host == NULL || (strcasecmp(host, a->host) == 0 && was_port == port))
		return false;
	log_info("%s: the state was last used with %s:%u, now %s:%u", a->name, host,
	    was_port, a->host, port);
	if (strcasecmp(host, a->host) == 0)
		return false;
	uidl_set_server(s, host, was_port);	/* copied before it is replaced */
	return true;
}

void
fetch_state_reached(const struct account *a, unsigned port, struct uidl_state *s)
{
	uidl_set_server(s, a->host, port);
}

int
fetch_state_open(const struct account *a, const char *maildir_option, unsigned port,
	struct maildir *md, bool write, struct uidl_state **s_r, bool *other_host_r)
{
	char *dir = uidl_default_dir(a->state_dir);
	char *maildir = identity_maildir(a, maildir_option);
	struct uidl_key key = { .account = a->name, .user = a->user, .maildir = maildir,
		.host = a->host, .port = port };
	int rc = dir == NULL ? -1 : uidl_open(dir, &key, write, s_r);

	free(dir);
	free(maildir);
	if (rc < 0)
		return -1;
	if (uidl_replay(*s_r, md) < 0)
		return -1;
	*other_host_r = note_server_change(a, port, *s_r);
	return 0;
}
