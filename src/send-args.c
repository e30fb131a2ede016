/* mailpipe-send's command line (send-args.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "cli.h"
#include "log.h"
#include "send-args.h"
#include "status.h"
#include "userfield.h"

/* Long options without a short letter: where sendmail gives a letter
 * another meaning (-h hop count, -q queue run, -V envelope id), there is
 * only the long one. */
enum {
	OPT_HELP = 256,
	OPT_VERSION,
	OPT_QUIET,
	OPT_ATTACH,	/* --attach FILE[=NAME] */
	OPT_CC,			/* --cc ADDR */
	OPT_BCC,		/* --bcc ADDR */
	OPT_REPLY_TO,		/* --reply-to ADDR */
	OPT_HEADER,		/* --header 'Name: value' */
	OPT_HTML,		/* --html FILE */
	OPT_REPORT,		/* --report FILE */
	OPT_STATS,		/* --stats */
	OPT_SERVERINFO,		/* --serverinfo */
};

static void
usage(FILE *out)
{
	fprintf(out, "usage: %s [-Etv] [-a ACCOUNT] [-C FILE] [-f FROM] [-F NAME] "
	    "[-s SUBJECT]\n"
	    "       [--attach FILE[=NAME]] [--cc ADDR] [--bcc ADDR] [--reply-to ADDR]\n"
	    "       [--header 'NAME: VALUE'] [--html FILE]\n"
	    "       [--report FILE] [--stats] [RECIPIENT ...]\n"
	    "       %s [-v] [-a ACCOUNT] [-C FILE] --flush | --queue | --queue-delete ID\n"
	    "       %s [-v] [-a ACCOUNT] [-C FILE] --serverinfo\n",
	    log_progname, log_progname, log_progname);
	fputs("\n"
	    "Sends the message on standard input through an SMTP submission server,\n"
	    "or queues it when the account has a queue_dir and the server cannot take it now.\n"
	    "  -C, --config FILE    configuration file (default: mailpipe.ini search order)\n"
	    "  -a, --account NAME   the [smtp NAME] account (default: by sender, default_account)\n"
	    "  -f, -r FROM          envelope sender (and From when one is added)\n"
	    "  -F NAME              the display name of a From field that is added\n"
	    "  -s SUBJECT           stdin is the body of a new message with this subject\n"
	    "  -t                   recipients from To, Cc and Bcc (Bcc removed)\n"
	    "  -E                   send nothing when stdin is empty\n"
	    "      --attach FILE[=NAME]  attach FILE (repeatable), named NAME if given\n"
	    "      --cc ADDR        -s: a Cc recipient (repeatable)\n"
	    "      --bcc ADDR       a recipient no header names (repeatable)\n"
	    "      --reply-to ADDR  -s: the Reply-To field\n"
	    "      --header 'NAME: VALUE'  add (or replace, for From, Subject, Date...) a field\n"
	    "      --html FILE      an HTML alternative to the text body\n"
	    "      --report FILE    a JSON report of the run into FILE (- for stdout)\n"
	    "      --stats          the server's final reply and the size, on stderr\n"
	    "  -v, --verbose        SMTP dialogue on stderr (secrets hidden)\n"
	    "      --quiet          no warnings\n"
	    "      --flush          deliver the queued messages that are due (sendmail -q)\n"
	    "      --queue          list the queue (mailq, sendmail -bp)\n"
	    "      --queue-delete ID  remove a queued or failed message\n"
	    "      --serverinfo     describe the server and test the login; send nothing\n"
	    "      --help           this text\n"
	    "      --version        the version\n"
	    "sendmail options accepted: -bm (send, the default), -bp (--queue), -q (--flush);\n"
	    "  -N never|success,failure,delay, -R full|hdrs, -V ENVID (DSN, when offered);\n"
	    "accepted and ignored: -i, -oi, -o..., -B TYPE, -h HOPS, -L TAG,\n"
	    "  -O OPTION, -U, -X FILE\n", out);
}

/* sendmail's -b modes: deliver a message, or list the queue. */
static int
check_mode(const char *mode, struct send_options *o)
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
check_queue_run(const char *interval, struct send_options *o)
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
recipient_arguments(int argc, char **argv, struct send_options *o)
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

/* Long options; where sendmail gives a letter another meaning (-h hop
 * count, -q queue run, -V envelope id), there is only the long one. */
static const struct option long_options[] = {
	{ "config", required_argument, NULL, 'C' },
	{ "account", required_argument, NULL, 'a' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "flush", no_argument, NULL, 'Q' },
	{ "queue", no_argument, NULL, 'P' },
	{ "queue-delete", required_argument, NULL, 'D' },
	{ "serverinfo", no_argument, NULL, OPT_SERVERINFO },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "attach", required_argument, NULL, OPT_ATTACH },
	{ "cc", required_argument, NULL, OPT_CC },
	{ "bcc", required_argument, NULL, OPT_BCC },
	{ "reply-to", required_argument, NULL, OPT_REPLY_TO },
	{ "header", required_argument, NULL, OPT_HEADER },
	{ "html", required_argument, NULL, OPT_HTML },
	{ NULL, 0, NULL, 0 },
};

/* sendmail's DSN options, -N, -R and -V (RFC 3461): refused when they
 * are not what a server could take. */
static int
dsn_option(struct send_options *o, int ch)
{
	const char *err;

	if (ch == 'N')
		err = dsn_notify_canonical(optarg, o->dsn_notify);
	else if (ch == 'R')
		err = dsn_ret_canonical(optarg, o->dsn_ret);
	else
		err = dsn_envid_check(optarg);
	if (err != NULL)
		return fail(FAIL_USAGE, "-%c %s: %s", ch, optarg, err);
	if (ch == 'V')
		o->envid = optarg;
	return 0;
}

/* One option; -1 when it is refused (recorded). */
static int
apply_option(struct send_options *o, int ch)
{
	switch (ch) {
	case 'a': o->account = optarg; break;
	case 'b': return check_mode(optarg, o);
	case 'q': return check_queue_run(optarg, o);
	case 'Q': o->mode = MODE_FLUSH; break;
	case 'P': o->mode = MODE_LIST; break;
	case 'D': o->mode = MODE_DELETE; o->delete_id = optarg; break;
	case OPT_SERVERINFO: o->mode = MODE_SERVERINFO; break;
	case 'C': o->config = optarg; break;
	case 'E': o->skip_empty = true; break;
	case 'F': o->full_name = optarg; break;
	case 'f': case 'r': o->from = optarg; break;
	case 's': o->subject = optarg; break;
	case 't': o->extract = true; break;
	case 'v': log_verbose++; break;
	case OPT_QUIET: log_quiet = 1; break;
	case OPT_REPORT: o->report = optarg; break;
	case OPT_STATS: o->stats = true; break;
	case OPT_ATTACH: return attach_add(&o->attachments, optarg);
	case OPT_CC: strlist_push(&o->cc, optarg); break;	/* display names kept */
	case OPT_BCC: address_list_extract(optarg, &o->bcc); break;
	case OPT_REPLY_TO: o->reply_to = optarg; break;
	case 'N': case 'R': case 'V': return dsn_option(o, ch);
	case OPT_HEADER: return userfield_add(&o->headers, optarg);
	case OPT_HTML: return attach_html(&o->attachments, optarg);
	case OPT_VERSION:
		printf("mailpipe-send %s\n", MAILPIPE_VERSION);
		exit(0);
	case OPT_HELP:
		usage(stdout);
		exit(0);
	/* sendmail options that change nothing here: -i/-oi (a lone "." is
	 * always data), -B (8-bit handling is automatic), -o..., -h (hop
	 * count), -X, -L, -O, -U. */
	case 'B': case 'h': case 'i': case 'L': case 'O': case 'o':
	case 'U': case 'X':
		break;
	default:	/* in the tables but not here: never ignored quietly */
		return fail(FAIL_USAGE, "internal error: option %d has no case", ch);
	}
	return 0;
}

/* --serverinfo sends nothing: an option that only shapes a message is a
 * mistake to point out, not one to ignore silently. */
static int
serverinfo_alone(const struct send_options *o)
{
	const char *given = o->subject != NULL ? "-s" : o->extract ? "-t" :
	    o->skip_empty ? "-E" : o->full_name != NULL ? "-F" :
	    o->attachments.count > 0 ? "--attach" : o->cc.count > 0 ? "--cc" :
	    o->bcc.count > 0 ? "--bcc" : o->reply_to != NULL ? "--reply-to" :
	    o->headers.count > 0 ? "--header" : o->attachments.html.arg != NULL ? "--html" :
	    o->stats ? "--stats" : o->report != NULL ? "--report" : NULL;

	if (o->mode != MODE_SERVERINFO || given == NULL)
		return 0;
	return fail(FAIL_USAGE, "--serverinfo sends nothing: %s does not go with it", given);
}

static int
parse_options(int argc, char **argv, struct send_options *o)
{
	int ch;

	/* "+": options end at the first recipient, as with sendmail, so that
	 * no recipient a caller passes on can be taken for an option. */
	while ((ch = cli_getopt(argc, argv, "+:a:B:b:C:EF:f:h:iL:N:O:o:q::R:r:s:tUV:vX:",
	    long_options)) != -1)
		if (ch == CLI_REFUSED || apply_option(o, ch) < 0)
			return -1;
	if (serverinfo_alone(o) < 0)
		return -1;
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

/* Called as mailq: list the queue, like sendmail -bp. */
static void
mode_from_name(const char *name, struct send_options *o)
{
	if (strcmp(name, "mailq") == 0)
		o->mode = MODE_LIST;
}

int
send_args_parse(int argc, char **argv, const char *name, struct send_options *o)
{
	mode_from_name(name, o);
	if (check_arguments(argc, argv) < 0)
		return -1;
	return parse_options(argc, argv, o);
}

void
send_args_free(struct send_options *o)
{
	strlist_free(&o->recipients);
	strlist_free(&o->cc);
	strlist_free(&o->bcc);
	strlist_free(&o->headers);
	attach_free(&o->attachments);
}
