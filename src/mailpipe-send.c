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
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "address.h"
#include "attach.h"
#include "compose.h"
#include "config.h"
#include "dispatch.h"
#include "harden.h"
#include "hostname.h"
#include "log.h"
#include "progress.h"
#include "queue-report.h"
#include "route.h"
#include "runlog.h"
#include "runreport.h"
#include "send-args.h"
#include "serverinfo.h"
#include "signals.h"
#include "spool.h"
#include "status.h"
#include "strlist.h"
#include "submit.h"
#include "userfield.h"
#include "xalloc.h"

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
envelope_sender(const struct send_options *o, const struct account *a,
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
	struct send_options opt;
	struct config cfg;
	const struct account *account;
	struct spool spool;
	struct parsed_message message;
	struct strlist recipients;	/* resolved envelope recipients */
	struct strlist to_header;	/* -s: the To: field */
	struct strlist cc_header;	/* -s: the Cc: field */
	char *reply_to;			/* -s: the Reply-To: value, qualified */
	char *sender;
	char *date, *message_id;	/* the same in every attempt */
	struct runrec_list records;	/* the message's (runrec.h) */
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

/* Addresses given as arguments go into the envelope, and qualified into
 * a header field's list (header NULL: none, --bcc). */
static void
add_given(const struct strlist *given, const char *domain, struct strlist *envelope,
	struct strlist *header)
{
	for (size_t i = 0; i < given->count; i++) {
		strlist_push(envelope, given->items[i]);
		char *q = domain != NULL ? address_list_qualify(given->items[i], domain)
		    : xstrdup(given->items[i]);

		if (header != NULL)
			strlist_push(header, q);
		free(q);
	}
}

/* --reply-to: an address list whose every address a server could take,
 * qualified like the others. */
static int
reply_to_value(struct run *r, const char *domain)
{
	struct strlist found = { 0 };
	bool usable = true;

	if (r->opt.reply_to == NULL)
		return 0;
	if (userfield_address_list("--reply-to", r->opt.reply_to) < 0)
		return -1;
	address_list_extract(r->opt.reply_to, &found);
	for (size_t i = 0; i < found.count; i++)
		usable &= address_is_sendable(found.items[i]);
	usable &= found.count > 0;
	strlist_free(&found);
	if (!usable)
		return fail(FAIL_USAGE, "--reply-to: no usable address in \"%s\"", r->opt.reply_to);
	r->reply_to = domain != NULL ? address_list_qualify(r->opt.reply_to, domain)
	    : xstrdup(r->opt.reply_to);
	return 0;
}

/* --cc: each list as given, checked; its addresses go into the envelope,
 * the list itself, qualified and with its display names, into Cc. */
static int
add_cc(struct run *r, const char *domain)
{
	for (size_t i = 0; i < r->opt.cc.count; i++) {
		const char *list = r->opt.cc.items[i];
		struct strlist found = { 0 };

		if (userfield_address_list("--cc", list) < 0)
			return -1;
		address_list_extract(list, &found);
		add_given(&found, domain, &r->recipients, NULL);
		if (found.count > 0) {
			char *q = domain != NULL ? address_list_qualify(list, domain)
			    : xstrdup(list);

			strlist_push(&r->cc_header, q);
			free(q);
		}
		strlist_free(&found);
	}
	return 0;
}

static int
gather_recipients(struct run *r, const char *domain)
{
	add_given(&r->opt.recipients, domain, &r->recipients, &r->to_header);
	if (add_cc(r, domain) < 0)
		return -1;
	add_given(&r->opt.bcc, domain, &r->recipients, NULL);
	if (reply_to_value(r, domain) < 0)
		return -1;
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
routing_sender(const struct send_options *o, const struct parsed_message *m)
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
	    need_host && hostname_fqdn(domain, sizeof domain, r->account->timeout * 1000) ?
	    domain : NULL);
}

/* --attach, --html, --cc, --reply-to, --header: the message (and its
 * files) are written into a new spool, a raw message from then on, whose
 * header compose made now, so that the queue (whose record rebuilds only
 * a -s header's To) and every retry send exactly this. */
static int
write_whole_message(struct run *r, struct send_request *req)
{
	struct spool whole = { .fd = -1 };

	if (r->opt.attachments.count == 0 && r->opt.attachments.html.arg == NULL &&
	    r->cc_header.count == 0 && r->reply_to == NULL && r->opt.headers.count == 0)
		return 0;
	if (attach_compose(&r->spool, &r->message, &req->compose, &r->opt.attachments,
	    &whole) < 0) {
		spool_close(&whole);
		return -1;
	}
	spool_close(&r->spool);
	compose_free(&r->message, NULL);
	r->spool = whole;
	req->body_only = false;
	req->compose.subject = NULL;
	req->compose.headers = NULL;	/* in the header now: never twice */
	return compose_parse(&r->spool, &r->message);
}

/* -N, -R, -V, else the account's dsn_notify and dsn_return. */
static struct dsn_request
dsn_asked(const struct send_options *o, const struct account *a)
{
	return (struct dsn_request){
		.notify = o->dsn_notify[0] != '\0' ? o->dsn_notify : a->dsn_notify,
		.ret = o->dsn_ret[0] != '\0' ? o->dsn_ret : a->dsn_return,
		.envid = o->envid,
	};
}

static int
send_it(struct run *r)
{
	const char *domain;
	struct send_request req;

	if (r->opt.subject == NULL && (r->opt.cc.count > 0 || r->opt.reply_to != NULL))
		return fail(FAIL_USAGE, "--cc and --reply-to need -s: a complete message "
		    "on stdin has its own header");
	if (userfield_conflicts(&r->opt.headers, r->opt.subject != NULL, r->opt.reply_to != NULL,
	    r->opt.full_name != NULL) < 0)
		return -1;
	/* stdin first: a producer (cron) must never die of SIGPIPE because
	 * of a problem on our side. */
	if (spool_read(STDIN_FILENO, r->opt.subject == NULL, &r->spool) < 0 ||
	    attach_open(&r->opt.attachments, NULL) < 0 || config_load(r->opt.config, &r->cfg) < 0 || read_message_and_route(r) < 0)
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
			.cc = &r->cc_header, .reply_to = r->reply_to,
			.date = r->date, .message_id = r->message_id,
			.headers = &r->opt.headers },
		.dsn = dsn_asked(&r->opt, r->account),
	};
	req.rec = runlog_start(&r->records, RUNREC_SEND, r->account);
	if (write_whole_message(r, &req) < 0)
		return runlog_sent(r->account, req.rec, -1);
	return runlog_sent(r->account, req.rec, dispatch_send(&r->cfg, r->account, &req));
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
catch_signals(enum send_mode mode)
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

static void
free_run(struct run *r)
{
	spool_close(&r->spool);
	compose_free(&r->message, NULL);
	strlist_free(&r->recipients);
	strlist_free(&r->to_header);
	strlist_free(&r->cc_header);
	free(r->reply_to);
	send_args_free(&r->opt);
	free(r->sender);
	free(r->date);
	free(r->message_id);
	config_free(&r->cfg);
	runrec_list_free(&r->records);
}

int
main(int argc, char **argv)
{
	struct run r = { .spool = { .fd = -1 } };
	const char *slash = strrchr(argv[0], '/');
	int rc;

	log_progname = slash != NULL ? slash + 1 : argv[0];
	signals_ignore_sigpipe();
	rc = harden_process() < 0 ||
	    send_args_parse(argc, argv, log_progname, &r.opt) < 0 ? -1 : 0;
	if (rc == 0) {
		catch_signals(r.opt.mode);
		rc = r.opt.mode == MODE_SEND ? send_it(&r) : work_on_queue(&r);
	}
	if (rc < 0)
		log_error("%s", fail_line());
	rc = rc < 0 ? status_exit_code(fail_class()) : 0;
	if (r.opt.stats && r.records.count > 0)
		progress_send_stats(r.records.items[0]);
	if (r.opt.report != NULL)
		runreport_write(r.opt.report, "mailpipe-send", &r.records, rc);
	free_run(&r);
	return rc;
}
