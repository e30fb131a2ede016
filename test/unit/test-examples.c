/*
 * The example files shipped in conf/ are read by users as documentation and
 * copied as they are: each must load without an error, and the provider
 * accounts must connect where mailpipe.ini(5) says they do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "status.h"
#include "tap.h"

struct expected {
	enum account_kind kind;
	const char *name, *host;
	unsigned port;
	enum tls_mode tls;
};

static const struct expected providers[] = {
	{ ACCOUNT_SMTP, "gmail", "smtp.gmail.com", 587, TLS_MODE_STARTTLS },
	{ ACCOUNT_POP3, "gmail", "pop.gmail.com", 995, TLS_MODE_IMPLICIT },
	{ ACCOUNT_POP3, "gmail-recent", "pop.gmail.com", 995, TLS_MODE_IMPLICIT },
	{ ACCOUNT_SMTP, "office", "smtp.office365.com", 587, TLS_MODE_STARTTLS },
	{ ACCOUNT_POP3, "office", "outlook.office365.com", 995, TLS_MODE_IMPLICIT },
	{ ACCOUNT_SMTP, "fastmail", "smtp.fastmail.com", 465, TLS_MODE_IMPLICIT },
	{ ACCOUNT_POP3, "fastmail", "pop.fastmail.com", 995, TLS_MODE_IMPLICIT },
	{ ACCOUNT_SMTP, "home", "mail.example.net", 587, TLS_MODE_STARTTLS },
	{ ACCOUNT_POP3, "home", "mail.example.net", 995, TLS_MODE_IMPLICIT },
};

static void
test_loads(const char *file, struct config *cfg)
{
	int rc = config_load(file, cfg);

	ok(rc == 0, "%s loads", file);
	if (rc < 0)
		diag("%s", fail_reason());
}

static void
test_provider(const struct config *cfg, const struct expected *e)
{
	const struct account *a = NULL;

	if (config_account(cfg, e->kind, e->name, &a) < 0) {
		ok(0, "[%s %s] exists", e->kind == ACCOUNT_SMTP ? "smtp" : "pop3", e->name);
		return;
	}
	ok(strcmp(a->host, e->host) == 0 && a->port == e->port && a->tls == e->tls,
	    "[%s %s] is %s port %u", e->kind == ACCOUNT_SMTP ? "smtp" : "pop3", e->name,
	    e->host, e->port);
}

int
main(int argc, char **argv)
{
	struct config cfg;

	if (argc != 3) {
		fprintf(stderr, "usage: test-examples MAILPIPE.INI PROVIDERS.INI\n");
		return 2;
	}
	unsetenv("MAILPIPE_CONFIG");
	memset(&cfg, 0, sizeof cfg);
	test_loads(argv[1], &cfg);
	ok(cfg.count >= 2, "%s has accounts", argv[1]);
	config_free(&cfg);

	memset(&cfg, 0, sizeof cfg);
	test_loads(argv[2], &cfg);
	for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++)
		test_provider(&cfg, &providers[i]);
	config_free(&cfg);
	return done_testing();
}
