/*
 * mailpipe-send: read a message (or, with -s, a body) from stdin and submit
 * it to the account's SMTP server.  Also answers to the name "sendmail",
 * accepting what cron, at, mdadm, smartd and logwatch pass.
 *
 * The order matters: stdin is spooled completely before any connection is
 * made, and every check that needs no server (recipients, sender, -E) is
 * done before connecting.
 */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "address.h"
#include "compose.h"
#include "config.h"
#include "harden.h"
#include "log.h"
#include "signals.h"
#include "spool.h"
#include "status.h"
#include "strlist.h"
#include "submit.h"
#include "xalloc.h"

struct options {
	const char *config;
	const char *account;
	const char *from;		/* -f / -r */
	const char *full_name;		/* -F */
	const char *subject;		/* -s */
	bool skip_empty;		/* -E */
	bool extract;			/* -t */
	struct strlist recipients;	/* as given */
};

static void
usage(FILE *out)
{
	fprintf(out, "usage: %s [-Etv] [-a account] [-C file] [-f from] [-F name] "
	    "[-s subject] [recipient ...]\n", log_progname);
}

/* sendmail's -b modes: only "deliver a message" exists here. */
static int
check_mode(const char *mode)
{
	if (strcmp(mode, "m") == 0)
		return 0;
	return fail(FAIL_USAGE, "-b%s: only -bm (send a message) is supported", mode);
}

/* Everything after the options is a recipient.  One that starts with "-"
 * is an option given too late, or an untrusted argument trying to pass as
 * one: refused, rather than mailed to "-C@domain". */
static int
recipient_arguments(int argc, char **argv, struct options *o)
{
	for (int i = optind; i < argc; i++) {
		if (argv[i][0] == '-')
			return fail(FAIL_USAGE, "recipient argument \"%s\" looks like an option; "
			    "options go before the recipients", argv[i]);
		address_list_extract(argv[i], &o->recipients);
	}
	return 0;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	opterr = 0;	/* one line of our own instead of getopt's */
	/* "+": options end at the first recipient, as with sendmail, so that
	 * no recipient a caller passes on can be taken for an option. */
	while ((ch = getopt_long(argc, argv, "+:a:B:b:C:EF:f:iL:N:O:o:R:r:s:tUV:vX:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': o->account = optarg; break;
		case 'b': if (check_mode(optarg) < 0) return -1; break;
		case 'C': o->config = optarg; break;
		case 'E': o->skip_empty = true; break;
		case 'F': o->full_name = optarg; break;
		case 'f': case 'r': o->from = optarg; break;
		case 's': o->subject = optarg; break;
		case 't': o->extract = true; break;
		case 'v': log_verbose = 1; break;
		case 'W':
			printf("mailpipe-send %s\n", MAILPIPE_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		/* sendmail options that change nothing here: -i/-oi (a lone "." is
		 * always data), -B (8-bit handling is automatic), -o..., -N, -R,
		 * -V (DSN envelope id), -X, -L, -O, -U. */
		case 'B': case 'i': case 'L': case 'N': case 'O': case 'o':
		case 'R': case 'U': case 'V': case 'X':
			break;
		case ':':
			return fail(FAIL_USAGE, "option -%c needs an argument (see --help)", optopt);
		default:
			return optopt != 0
			    ? fail(FAIL_USAGE, "unknown option -%c (see --help)", optopt)
			    : fail(FAIL_USAGE, "unknown option %s (see --help)", argv[optind - 1]);
		}
	}
	return recipient_arguments(argc, argv, o);
}

/* Arguments end up in header fields and SMTP commands: a line break in one
 * would let it add fields or commands of its own. */
static int
check_arguments(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strpbrk(argv[i], "\r\n") != NULL)
			return fail(FAIL_USAGE, "argument %d contains a line break", i);
	return 0;
}

static const char *
domain_of(const char *address)
{
	const char *at = address != NULL ? strrchr(address, '@') : NULL;

	return at != NULL ? at + 1 : NULL;
}

/* -f with a domain, else from =, else a bare -f (cron's "-f root" must not
 * replace a configured sender that the server may require), else the
 * message's From:, else user if it is an address. */
static char *
envelope_sender(const struct options *o, const struct account *a,
	const struct parsed_message *m)
{
	struct strlist found = { 0 };
	char *from_field = compose_field_value(m, "From"), *sender = NULL;

	if (o->from != NULL && strchr(o->from, '@') != NULL)
		address_list_extract(o->from, &found);
	if (found.count == 0 && a->from != NULL)
		strlist_push(&found, a->from);
	if (found.count == 0 && o->from != NULL)
		address_list_extract(o->from, &found);
	if (found.count == 0 && from_field != NULL)
		address_list_extract(from_field, &found);
	if (found.count == 0 && a->user != NULL && strchr(a->user, '@') != NULL)
		strlist_push(&found, a->user);
	if (found.count > 0)
		sender = xstrdup(found.items[0]);
	strlist_free(&found);
	free(from_field);
	return sender;
}

static int
qualify_sender(char **sender, const char *domain, const struct account *a)
{
	if (*sender == NULL)
		return fail(FAIL_CONFIG, "%s:%d: no sender address: set from, or give -f",
		    a->file, a->line);
	if (strchr(*sender, '@') == NULL && domain != NULL) {
		char *q = xasprintf("%s@%s", *sender, domain);

		free(*sender);
		*sender = q;
	}
	if (!address_is_sendable(*sender))
		return fail(FAIL_USAGE, "invalid sender address: %s", *sender);
	return 0;
}

struct run {
	struct options opt;
	struct config cfg;
	const struct account *account;
	struct spool spool;
	struct parsed_message message;
	struct strlist recipients;	/* resolved envelope recipients */
	struct strlist to_header;	/* -s: the To: field */
	char *sender;
};

/* -t: a bad address in the message is bad input (65), not a bad argument. */
static int
header_recipients(const struct parsed_message *m, struct strlist *out)
{
	struct strlist found = { 0 };
	int rc = 0;

	compose_recipients(m, &found);
	for (size_t i = 0; i < found.count && rc == 0; i++) {
		if (address_is_sendable(found.items[i]))
			strlist_push(out, found.items[i]);
		else
			rc = fail(FAIL_DATA, "invalid address in the message header: %s",
			    found.items[i]);
	}
	strlist_free(&found);
	return rc;
}

static int
gather_recipients(struct run *r, const char *domain)
{
	for (size_t i = 0; i < r->opt.recipients.count; i++) {
		strlist_push(&r->recipients, r->opt.recipients.items[i]);
		char *q = domain != NULL ? address_list_qualify(r->opt.recipients.items[i], domain)
		    : xstrdup(r->opt.recipients.items[i]);

		strlist_push(&r->to_header, q);
		free(q);
	}
	if (r->opt.extract && header_recipients(&r->message, &r->recipients) < 0)
		return -1;
	if (r->recipients.count == 0)
		return r->opt.extract ? fail(FAIL_DATA, "no recipients in the message (-t)")
				      : fail(FAIL_USAGE, "no recipients given");
	return address_resolve(&r->recipients, r->account->aliases, domain);
}

static int
send_it(struct run *r)
{
	const char *domain;
	struct submission sub;

	/* stdin first: a producer (cron) must never die of SIGPIPE because
	 * of a problem on our side. */
	if (spool_read(STDIN_FILENO, r->opt.subject == NULL, &r->spool) < 0 ||
	    config_load(r->opt.config, &r->cfg) < 0 ||
	    config_account(&r->cfg, ACCOUNT_SMTP, r->opt.account, &r->account) < 0)
		return -1;
	fail_scope(r->account->name, NULL, 0);
	if (compose_parse(&r->spool, &r->message) < 0)
		return -1;
	if (r->opt.skip_empty && r->spool.size == 0)
		return 0;
	r->sender = envelope_sender(&r->opt, r->account, &r->message);
	domain = r->account->domain != NULL ? r->account->domain : domain_of(r->sender);
	if (qualify_sender(&r->sender, domain, r->account) < 0 || gather_recipients(r, domain) < 0)
		return -1;
	sub = (struct submission){
		.account = r->account, .envelope_from = r->sender, .recipients = &r->recipients,
		.spool = &r->spool, .message = &r->message,
		.compose = { .from = r->sender, .full_name = r->opt.full_name,
			.subject = r->opt.subject, .to = &r->to_header, .domain = domain },
	};
	return submit_message(&sub);
}

/*
 * SIGTERM, SIGINT, SIGHUP: nothing needs undoing (the spool is already
 * unlinked), so the handler only says which case this is and exits 75
 * (signals.h); once every recipient has the message, only QUIT was left,
 * so it exits 0 and says nothing, as a run that ended would.
 */
static void
catch_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, 0 };
	const int temporary = status_exit_code(FAIL_TEMPORARY);
	const struct signals_exit how = {
		.state = &submit_message_complete,
		.cases = {
			[SUBMIT_NOT_SENT] = { ": interrupted; the message was not sent\n",
			    temporary },
			[SUBMIT_PERHAPS_DELIVERED] = { ": interrupted after the end of the "
			    "message; it may have been delivered, so a retry may send a "
			    "duplicate\n", temporary },
			[SUBMIT_DELIVERED] = { NULL, 0 },
		},
	};

	signals_ignore_sigpipe();
	signals_exit_on(sigs, &how);
}

int
main(int argc, char **argv)
{
	struct run r = { .spool = { .fd = -1 } };
	const char *slash = strrchr(argv[0], '/');
	int rc;

	log_progname = slash != NULL ? slash + 1 : argv[0];
	catch_signals();
	rc = harden_process() < 0 || check_arguments(argc, argv) < 0 ||
	    parse_options(argc, argv, &r.opt) < 0 ? -1 : send_it(&r);
	if (rc < 0)
		log_error("%s", fail_line());
	spool_close(&r.spool);
	compose_free(&r.message, NULL);
	strlist_free(&r.recipients);
	strlist_free(&r.to_header);
	strlist_free(&r.opt.recipients);
	free(r.sender);
	config_free(&r.cfg);
	return rc < 0 ? status_exit_code(fail_class()) : 0;
}
