/*
 * mailpipe-send's command line: its options (the long ones beside
 * sendmail's letters), the recipients after them, and the mode a name
 * such as "mailq" implies.  Parsed and checked here, before anything is
 * read or connected; what the options mean is mailpipe-send.c's.
 */
#ifndef MAILPIPE_SEND_ARGS_H
#define MAILPIPE_SEND_ARGS_H

#include <stdbool.h>
#include "attach.h"
#include "dsn.h"
#include "strlist.h"

/* What the run does. */
enum send_mode {
	MODE_SEND,		/* a message from stdin */
	MODE_FLUSH,		/* --flush, sendmail -q */
	MODE_LIST,		/* --queue, mailq, sendmail -bp */
	MODE_DELETE,		/* --queue-delete ID */
	MODE_SERVERINFO,	/* --serverinfo */
};

struct send_options {
	enum send_mode mode;
	const char *delete_id;
	const char *config;
	const char *account;
	const char *from;		/* -f / -r */
	const char *full_name;		/* -F */
	const char *subject;		/* -s */
	bool skip_empty;		/* -E */
	bool extract;			/* -t */
	struct strlist recipients;	/* as given */
	const char *report;		/* --report FILE */
	bool stats;			/* --stats */
	struct attachments attachments;	/* --attach */
	struct strlist cc, bcc;		/* --cc, --bcc, as given */
	const char *reply_to;		/* --reply-to */
	/* RFC 3461, checked and canonical (dsn.h): "" / NULL when not given. */
	char dsn_notify[DSN_NOTIFY_MAX];	/* -N */
	char dsn_ret[8];			/* -R */
	const char *envid;			/* -V */
	struct strlist headers;		/* --header, each checked (userfield.h) */
};

/* Reads the command line of a command called `name` (its base name: as
 * "mailq" it lists the queue).  Returns 0, or -1 with FAIL_USAGE recorded;
 * --help and --version print and exit 0. */
int send_args_parse(int argc, char **argv, const char *name, struct send_options *o);
/* Frees what parsing gathered (recipients, attachments). */
void send_args_free(struct send_options *o);

#endif
