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

static void
note_server_change(const struct account *a, unsigned port, struct uidl_state *s)
{
	const char *host;
	unsigned was_port;
	size_t dropped;

	uidl_last_server(s, &host, &was_port);
	if (host == NULL || (strcasecmp(host, a->host) == 0 && was_port == port))
		return;
	log_info("%s: the state was last used with %s:%u, now %s:%u", a->name, host,
	    was_port, a->host, port);
	if (strcasecmp(host, a->host) == 0)
		return;
	dropped = uidlset_forget_unconfirmed(uidl_entries(s));
	if (dropped > 0)
		log_info("%s: %zu unconfirmed deletion(s) on %s dropped", a->name, dropped, host);
}

int
fetch_state_open(const struct account *a, const char *maildir_option, unsigned port,
	struct maildir *md, bool write, struct uidl_state **s_r)
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
	note_server_change(a, port, *s_r);
	return 0;
}
