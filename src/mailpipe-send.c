/*
 * mailpipe-send: read a message (or, with -s, a body) from stdin and submit
 * it to the account's SMTP server, or queue it when the server cannot take
 * it now; or work on the queue (--flush, --queue, --queue-delete).  Also
 * answers to the names "sendmail" (with -q and -bp) and "mailq", accepting
 * what cron, at, mdadm, smartd and logwatch pass.
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
#include "dispatch.h"
#include "harden.h"
#include "hostname.h"
#include "log.h"
#include "queue-report.h"
#include "route.h"
#include "serverinfo.h"
#include "signals.h"
#include "spool.h"
#include "status.h"
#include "strlist.h"
#include "submit.h"
#include "xalloc.h"

/* What the run does. */
enum mode {
	MODE_SEND,		/* a message from stdin */
	MODE_FLUSH,		/* --flush, sendmail -q */
	MODE_LIST,		/* --queue, mailq, sendmail -bp */
	MODE_DELETE,		/* --queue-delete ID */
	MODE_SERVERINFO,	/* --serverinfo */
};

struct options {
	enum mode mode;
	const char *delete_id;
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
	    "[-s subject] [recipient ...]\n"
	    "       %s [-v] [-a account] [-C file] --flush | --queue | --queue-delete id\n"
	    "       %s [-v] [-a account] [-C file] --serverinfo\n",
	    log_progname, log_progname, log_progname);
}

/* sendmail's -b modes: deliver a message, or list the queue. */
static int
check_mode(const char *mode, struct options *o)
{
	if (strcmp(mode, "m") == 0 || strcmp(mode, "p") == 0) {
		o->mode = mode[0] == 'p' ? MODE_LIST : MODE_SEND;
		return 0;
	}
	return fail(FAIL_USAGE, "-b%s: only -bm (send a message) and -bp (list the queue) are "
	    "supported", mode);
}

/* sendmail -q runs the queue once; -q with an interval would be a daemon. */
static int
check_queue_run(const char *interval, struct options *o)
{
	if (interval != NULL)
		return fail(FAIL_USAGE, "-q%s: only -q (one queue run) is supported; "
		    "run it from a timer (see mailpipe-send(1), QUEUE)", interval);
	o->mode = MODE_FLUSH;
	return 0;
}

/* Everything after the options is a recipient.  One that starts with "-"
 * is an option given too late, or an untrusted argument trying to pass as
 * one: refused, rather than mailed to "-C@domain". */
static int
recipient_arguments(int argc, char **argv, struct options *o)
{
	if (o->mode == MODE_SERVERINFO && optind < argc)
		return fail(FAIL_USAGE, "\"%s\": --serverinfo takes no recipients", argv[optind]);
	if (o->mode != MODE_SEND && optind < argc)
		return fail(FAIL_USAGE, "\"%s\": working on the queue takes no recipients",
		    argv[optind]);
	for (int i = optind; i < argc; i++) {
		if (argv[i][0] == '-')
			return fail(FAIL_USAGE, "recipient argument \"%s\" looks like an option; "
			    "options go before the recipients", argv[i]);
		address_list_extract(argv[i], &o->recipients);
	}
	return 0;
}

static const struct option longopts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'W' },
	{ "flush", no_argument, NULL, 'Q' },
	{ "queue", no_argument, NULL, 'P' },
	{ "queue-delete", required_argument, NULL, 'D' },
	{ "serverinfo", no_argument, NULL, 'I' },
	{ NULL, 0, NULL, 0 },
};

static int
parse_options(int argc, char **argv, struct options *o)
{
	int ch;

	opterr = 0;	/* one line of our own instead of getopt's */
	/* "+": options end at the first recipient, as with sendmail, so that
	 * no recipient a caller passes on can be taken for an option. */
	while ((ch = getopt_long(argc, argv, "+:a:B:b:C:EF:f:iL:N:O:o:q::R:r:s:tUV:vX:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': o->account = optarg; break;
		case 'b': if (check_mode(optarg, o) < 0) return -1; break;
		case 'q': if (check_queue_run(optarg, o) < 0) return -1; break;
		case 'Q': o->mode = MODE_FLUSH; break;
		case 'P': o->mode = MODE_LIST; break;
		case 'D': o->mode = MODE_DELETE; o->delete_id = optarg; break;
		case 'I': o->mode = MODE_SERVERINFO; break;
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
	char *date, *message_id;	/* the same in every attempt */
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

/* The address match_from routes by: -f or -r with a domain, else with -t
 * the From field's (m NULL: not read yet); NULL when there is none. */
static char *
routing_sender(const struct options *o, const struct parsed_message *m)
{
	struct strlist found = { 0 };
	char *from_field = o->extract && m != NULL ? compose_field_value(m, "From") : NULL;
	char *sender = NULL;

	if (o->from != NULL && strchr(o->from, '@') != NULL)
		address_list_extract(o->from, &found);
	if (found.count == 0 && from_field != NULL)
		address_list_extract(from_field, &found);
	if (found.count > 0)
		sender = xstrdup(found.items[0]);
	strlist_free(&found);
	free(from_field);
	return sender;
}

/* -a, else the account the sender routes to, else the default. */
static int
choose_account(struct run *r, const struct parsed_message *m)
{
	char *sender;
	int rc;

	if (r->opt.account != NULL)
		return config_account(&r->cfg, ACCOUNT_SMTP, r->opt.account, &r->account);
	sender = routing_sender(&r->opt, m);
	rc = route_account(&r->cfg, sender, &r->account);
	free(sender);
	return rc;
}

/* The account is chosen before the message is read, so that its errors
 * name it; with -t and no -a, the From field may route it elsewhere once
 * read (and may be what picks one at all). */
static int
read_message_and_route(struct run *r)
{
	bool by_header = r->opt.account == NULL && r->opt.extract;

	if (choose_account(r, NULL) < 0) {
		if (!by_header)
			return -1;
		r->account = NULL;
		fail_clear();
	}
	fail_scope(r->account != NULL ? r->account->name : NULL, NULL, 0);
	if (compose_parse(&r->spool, &r->message) < 0 ||
	    (by_header && choose_account(r, &r->message) < 0))
		return -1;
	fail_scope(r->account->name, NULL, 0);
	return 0;
}

/* Date and Message-ID are made once, so that a queued message keeps them. */
static void
make_identity(struct run *r)
{
	char domain[HOSTNAME_MAX];
	bool need_host = strchr(r->sender, '@') == NULL;

	r->date = compose_date();
	r->message_id = compose_message_id(r->sender,
	    need_host && hostname_fqdn(domain, sizeof domain) ? domain : NULL);
}

static int
send_it(struct run *r)
{
	const char *domain;
	struct send_request req;

	/* stdin first: a producer (cron) must never die of SIGPIPE because
	 * of a problem on our side. */
	if (spool_read(STDIN_FILENO, r->opt.subject == NULL, &r->spool) < 0 ||
	    config_load(r->opt.config, &r->cfg) < 0 || read_message_and_route(r) < 0)
		return -1;
	if (r->opt.skip_empty && r->spool.size == 0)
		return 0;
	r->sender = envelope_sender(&r->opt, r->account, &r->message);
	domain = r->account->domain != NULL ? r->account->domain : domain_of(r->sender);
	if (qualify_sender(&r->sender, domain, r->account) < 0 || gather_recipients(r, domain) < 0)
		return -1;
	make_identity(r);
	req = (struct send_request){
		.spool = &r->spool, .message = &r->message, .body_only = r->opt.subject != NULL,
		.sender = r->sender, .recipients = &r->recipients,
		.compose = { .from = r->sender, .full_name = r->opt.full_name,
			.subject = r->opt.subject, .to = &r->to_header, .domain = domain,
			.date = r->date, .message_id = r->message_id },
	};
	return dispatch_send(&r->cfg, r->account, &req);
}

/* --flush, --queue, --queue-delete: the queues of the chosen accounts;
 * after a flush or a listing, the warning if a message needs a human.
 * --serverinfo: the chosen (else the default) account's server. */
static int
work_on_queue(struct run *r)
{
	const char *name = r->opt.account;
	int rc;

	if (config_load(r->opt.config, &r->cfg) < 0)
		return -1;
	if (name != NULL && config_account(&r->cfg, ACCOUNT_SMTP, name, &r->account) < 0)
		return -1;
	switch (r->opt.mode) {
	case MODE_FLUSH:
		rc = dispatch_flush(&r->cfg, name);
		break;
	case MODE_LIST:
		rc = queue_report_list(&r->cfg, name, stdout);
		if (rc == 0)
			rc = status_stdout_written();
		break;
	case MODE_SERVERINFO:
		if (config_account(&r->cfg, ACCOUNT_SMTP, name, &r->account) < 0)
			return -1;
		return serverinfo_send(r->account);
	default:
		rc = queue_report_delete(&r->cfg, name, r->opt.delete_id, stdout);
		return rc < 0 ? -1 : status_stdout_written();
	}
	return rc < 0 ? -1 : queue_report_check(&r->cfg, name);
}

/*
 * SIGTERM, SIGINT, SIGHUP: nothing needs undoing (the spool is already
 * unlinked, and the queue is safe at any moment, as under SIGKILL), so
 * the handler only says which case this is and exits 75 (signals.h); once
 * every recipient has the message, only QUIT was left, so it exits 0 and
 * says nothing, as a run that ended would.
 */
static void
catch_signals(enum mode mode)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, 0 };
	const int temporary = status_exit_code(FAIL_TEMPORARY);
	const struct signals_exit send = {
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
	const struct signals_exit queue = {
		.cases = { { ": interrupted; every queued message is still queued or "
		    "delivered\n", temporary } },
	};
	const struct signals_exit probe = { .cases = { { ": interrupted\n", temporary } } };

	signals_ignore_sigpipe();
	signals_exit_on(sigs, mode == MODE_SEND ? &send : mode == MODE_SERVERINFO ? &probe : &queue);
}

/* Called as mailq: list the queue, like sendmail -bp. */
static void
mode_from_name(const char *name, struct options *o)
{
	if (strcmp(name, "mailq") == 0)
		o->mode = MODE_LIST;
}

static void
free_run(struct run *r)
{
	spool_close(&r->spool);
	compose_free(&r->message, NULL);
	strlist_free(&r->recipients);
	strlist_free(&r->to_header);
	strlist_free(&r->opt.recipients);
	free(r->sender);
	free(r->date);
	free(r->message_id);
	config_free(&r->cfg);
}

int
main(int argc, char **argv)
{
	struct run r = { .spool = { .fd = -1 } };
	const char *slash = strrchr(argv[0], '/');
	int rc;

	log_progname = slash != NULL ? slash + 1 : argv[0];
	mode_from_name(log_progname, &r.opt);
	signals_ignore_sigpipe();
	rc = harden_process() < 0 || check_arguments(argc, argv) < 0 ||
	    parse_options(argc, argv, &r.opt) < 0 ? -1 : 0;
	if (rc == 0) {
		catch_signals(r.opt.mode);
		rc = r.opt.mode == MODE_SEND ? send_it(&r) : work_on_queue(&r);
	}
	if (rc < 0)
		log_error("%s", fail_line());
	free_run(&r);
	return rc < 0 ? status_exit_code(fail_class()) : 0;
}
