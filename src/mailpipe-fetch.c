/*
 * mailpipe-fetch: POP3 to Maildir.  Options, config, one account or all of
 * them, exit status; the policy is in fetch.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "fetch.h"
#include "fetch-jobs.h"
#include "harden.h"
#include "log.h"
#include "runreport.h"
#include "serverinfo.h"
#include "signals.h"
#include "status.h"
#include "tls.h"

#ifndef MAILPIPE_VERSION
#define MAILPIPE_VERSION "unknown"
#endif

struct cli {
	const char *config;
	const char *account;
	bool all;
	unsigned jobs;			/* --jobs N; 0: not given (1) */
	struct fetch_options fetch;
	const char *report;		/* --report FILE */
	struct runrec_list records;	/* one per account run */
};

#define SYNOPSIS \
	"usage: mailpipe-fetch [-C FILE] [-a ACCOUNT | --all [-j N]] [--keep | --delete]\n" \
	"                      [--maildir DIR] [--list [-H]] [--report FILE] [--progress]\n" \
	"                      [--stats] [-v | -vv] [-q]\n" \
	"       mailpipe-fetch [-C FILE] [-a ACCOUNT | --all] --serverinfo [-v]\n"

static void
usage(FILE *fp)
{
	fprintf(fp, SYNOPSIS
	    "\n"
	    "Retrieves new messages from a POP3 account into a Maildir.\n"
	    "  -C, --config FILE    configuration file (default: mailpipe.ini search order)\n"
	    "  -a, --account NAME   the [pop3 NAME] account (default: default_account)\n"
	    "      --all            every [pop3 ...] account in turn\n"
	    "  -j, --jobs N         with --all, up to N (1-64) accounts at once\n"
	    "      --keep           leave messages on the server (overrides keep)\n"
	    "      --delete         delete each message once it is safely stored\n"
	    "      --maildir DIR    deliver into DIR instead of the account's maildir\n"
	    "      --list           show the server's messages; retrieve nothing\n"
	    "      --report FILE    a JSON report of the run into FILE (- for stdout)\n"
	    "      --progress       a self-updating progress line (default on a terminal)\n"
	    "      --stats          a summary line at the end (default on a terminal)\n"
	    "      --serverinfo     describe the server and test the login; fetch nothing\n"
	    "  -H, --human-readable --list shows sizes in KiB, MiB, GiB (1024-based)\n"
	    "  -v, --verbose        protocol transcript (secrets hidden) and a summary;\n"
	    "                       long LIST and UIDL answers are shortened, -vv shows all\n"
	    "  -q, --quiet          no warnings\n"
	    "  -h, --help           this text\n"
	    "  -V, --version        the version\n");
}

enum { OPT_ALL = 256, OPT_KEEP, OPT_DELETE, OPT_MAILDIR, OPT_LIST, OPT_REPORT, OPT_PROGRESS,
	OPT_STATS, OPT_SERVERINFO, OPT_JOBS };

static const struct option options[] = {
	{ "config", required_argument, NULL, 'C' },
	{ "account", required_argument, NULL, 'a' },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "jobs", required_argument, NULL, 'j' },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ "delete", no_argument, NULL, OPT_DELETE },
	{ "maildir", required_argument, NULL, OPT_MAILDIR },
	{ "list", no_argument, NULL, OPT_LIST },
	{ "human-readable", no_argument, NULL, 'H' },
	{ "serverinfo", no_argument, NULL, OPT_SERVERINFO },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ NULL, 0, NULL, 0 },
};

/* The usage failure recorded, on one line; the exit code. */
static int
usage_failed(void)
{
	log_error("%s", fail_line());
	return status_exit_code(FAIL_USAGE);
}

static int
usage_error(const char *what, const char *arg)
{
	fail(FAIL_USAGE, "%s%s%s", what, arg != NULL ? ": " : "", arg != NULL ? arg : "");
	return usage_failed();
}

/* --keep and --delete contradict each other, in any order: neither wins. */
static int
keep_or_delete(struct cli *cli, int keep)
{
	if (cli->fetch.keep == !keep)
		return usage_error("--keep and --delete exclude each other", NULL);
	cli->fetch.keep = keep;
	return -1;
}

/* --jobs N: a whole number of processes within the pool's bound. */
static int
jobs_given(struct cli *cli, const char *arg)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || n < 1 || n > FETCH_JOBS_MAX)
		return usage_error("--jobs wants a number from 1 to 64", arg);
	cli->jobs = (unsigned)n;
	return -1;
}

/* Returns -1 to go on, else the exit code. */
static int
parse_option(struct cli *cli, int ch)
{
	switch (ch) {
	case 'C':		cli->config = optarg; break;
	case 'a':		cli->account = optarg; break;
	case OPT_ALL:		cli->all = true; break;
	case 'j':		return jobs_given(cli, optarg);
	case OPT_KEEP:		return keep_or_delete(cli, 1);
	case OPT_DELETE:	return keep_or_delete(cli, 0);
	case OPT_MAILDIR:	cli->fetch.maildir = optarg; break;
	case OPT_LIST:		cli->fetch.list = true; break;
	case OPT_REPORT:	cli->report = optarg; break;
	case OPT_PROGRESS:	cli->fetch.show.progress = true; break;
	case OPT_STATS:		cli->fetch.show.stats = true; break;
	case OPT_SERVERINFO:	cli->fetch.serverinfo = true; break;
	case 'H':		cli->fetch.human_readable = true; break;
	case 'v':		log_verbose++; break;
	case 'q':		log_quiet = 1; break;
	case 'h':
		usage(stdout);
		return 0;
	case 'V':
		printf("mailpipe-fetch %s\n", MAILPIPE_VERSION);
		return 0;
	default:	/* cli_getopt() reports what getopt refused */
		return usage_error("unknown option", NULL);
	}
	return -1;
}

/* --serverinfo fetches nothing: an option that only shapes a fetch is a
 * mistake to point out, not one to ignore silently. */
static int
serverinfo_alone(const struct cli *cli)
{
	const struct fetch_options *f = &cli->fetch;
	const char *given = f->keep == 1 ? "--keep" : f->keep == 0 ? "--delete" :
	    f->list ? "--list" : f->maildir != NULL ? "--maildir" :
	    f->human_readable ? "--human-readable" : f->show.progress ? "--progress" :
	    f->show.stats ? "--stats" : cli->report != NULL ? "--report" : NULL;
	char what[80];

	if (!f->serverinfo || given == NULL)
		return -1;
	snprintf(what, sizeof what, "--serverinfo fetches nothing: %s does not go with it", given);
	return usage_error(what, NULL);
}

/* More than one job fetches accounts side by side: it needs --all, and
 * what prints on stdout or redraws one line cannot share them. */
static int
jobs_alone(struct cli *cli)
{
	const struct fetch_options *f = &cli->fetch;
	const char *clash = f->list ? "--list" : f->serverinfo ? "--serverinfo" :
	    f->show.progress ? "--progress" : NULL;
	char what[80];

	if (cli->jobs <= 1)
		return -1;
	if (!cli->all)
		return usage_error("--jobs needs --all", NULL);
	if (clash != NULL) {
		snprintf(what, sizeof what, "--jobs %u does not go with %s", cli->jobs, clash);
		return usage_error(what, NULL);
	}
	cli->fetch.show.no_line = true;
	return -1;
}

static int
parse_args(int argc, char **argv, struct cli *cli)
{
	int ch, rc;

	cli->fetch.keep = -1;
	/* "+": options end at the first other argument, so that nothing
	 * after a stray argument is taken for an option (-C FILE). */
	while ((ch = cli_getopt(argc, argv, "+:C:a:j:vqhVH", options)) != -1) {
		if (ch == CLI_REFUSED)
			return usage_failed();
		if ((rc = parse_option(cli, ch)) >= 0)
			return rc;
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind]);
	if (cli->all && cli->account != NULL)
		return usage_error("-a and --all exclude each other", NULL);
	if (cli->all && cli->fetch.maildir != NULL)
		return usage_error("--maildir with --all would mix accounts in one Maildir", NULL);
	if ((rc = jobs_alone(cli)) >= 0)
		return rc;
	return serverinfo_alone(cli);
}

static enum failure
run_one(const struct account *a, const struct fetch_options *o)
{
	fail_clear();
	fail_scope(a->name, NULL, 0);
	if ((o->serverinfo ? serverinfo_fetch(a) : fetch_account(a, o)) == 0)
		return FAIL_NONE;
	log_error("%s", fail_line());
	return fail_class();
}

static bool
has_pop3(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->count; i++)
		if (cfg->accounts[i].kind == ACCOUNT_POP3)
			return true;
	return false;
}

/* Every [pop3 ...] account; one failing does not stop the others, but a
 * SIGTERM or SIGINT does: the account in progress ends cleanly (75) and no
 * other is started.  With --jobs above 1, the pool (fetch-jobs.h) runs
 * them. */
static enum failure
run_all(const struct config *cfg, const struct fetch_options *o, unsigned jobs)
{
	enum failure worst = FAIL_NONE;
	size_t n = 0;

	if (jobs > 1 && has_pop3(cfg))
		return fetch_jobs_run(cfg, jobs, o, run_one);

	for (size_t i = 0; i < cfg->count; i++) {
		if (cfg->accounts[i].kind != ACCOUNT_POP3)
			continue;
		n++;
		if (fetch_interrupted()) {
			log_error("%s: not fetched: interrupted by signal %d", cfg->accounts[i].name,
			    fetch_interrupted());
			worst = status_worse(worst, FAIL_TEMPORARY);
			continue;
		}
		worst = status_worse(worst, run_one(&cfg->accounts[i], o));
	}
	if (n == 0) {
		log_error("%s: no [pop3 NAME] section", cfg->path);
		return FAIL_CONFIG;
	}
	return worst;
}

int
main(int argc, char **argv)
{
	struct cli cli = { 0 };
	struct config cfg = { 0 };
	const struct account *a;
	enum failure result;
	int rc;

	log_progname = "mailpipe-fetch";
	signals_ignore_sigpipe();
	if (harden_process() < 0) {
		log_error("%s", fail_reason());
		return status_exit_code(fail_class());
	}
	if ((rc = parse_args(argc, argv, &cli)) >= 0)
		return rc;
	fetch_catch_signals();
	/* Before the state's first SHA-256, which would start OpenSSL with
	 * OPENSSL_cleanup() at exit: 1.4 M instructions (callgrind) spent
	 * freeing the tables of a process that is ending anyway. */
	tls_skip_cleanup_at_exit();
	cli.fetch.records = &cli.records;
	if (config_load(cli.config, &cfg) < 0) {
		log_error("%s", fail_reason());
		result = fail_class();
	} else if (cli.all) {
		result = run_all(&cfg, &cli.fetch, cli.jobs);
	} else if (config_account(&cfg, ACCOUNT_POP3, cli.account, &a) < 0) {
		log_error("%s", fail_reason());
		result = fail_class();
	} else {
		result = run_one(a, &cli.fetch);
	}
	config_free(&cfg);
	/* Also when the run failed before an account started. */
	if (cli.report != NULL)
		runreport_write(cli.report, "mailpipe-fetch", &cli.records,
		    status_exit_code(result));
	runrec_list_free(&cli.records);
	return status_exit_code(result);
}
