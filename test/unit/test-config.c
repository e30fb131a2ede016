/*
 * config.c: INI files written to a temp dir, loaded with config_load().
 * Inheritance from [defaults] wherever it stands, ports by TLS mode, every
 * error reported as FAIL_CONFIG "FILE:LINE: ..." with the right line, the
 * inih line cap and " ;" comment cut detected rather than used, the
 * password file-mode check, account choice, and the search order.
 */
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "endpoint.h"
#include "route.h"
#include "status.h"
#include "tap.h"
#include "uidl.h"

static char dir[] = "/tmp/test-config.XXXXXX";
static char path[512];

static void
write_file(const char *p, const char *text, mode_t mode)
{
	FILE *f;

	unlink(p);
	f = fopen(p, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
	if (chmod(p, mode) < 0)
		abort();
}

static int
load(const char *text, mode_t mode, struct config *cfg)
{
	write_file(path, text, mode);
	return config_load(path, cfg);
}

static const struct account *
account(const struct config *cfg, enum account_kind kind, const char *name)
{
	const struct account *a = NULL;

	if (config_account(cfg, kind, name, &a) < 0)
		return NULL;
	return a;
}

/* Loads text and expects failure class cls with a reason starting with
 * "PATH:LINE: " (line 0: any reason) and containing `mention`. */
static void
expect_error_(const char *name, const char *text, mode_t mode, enum failure cls,
	const char *cls_name, int line, const char *mention)
{
	struct config cfg;
	char prefix[600];
	int rc = load(text, mode, &cfg);
	const char *reason = fail_reason();

	snprintf(prefix, sizeof prefix, "%s:%d: ", path, line);
	ok(rc < 0 && fail_class() == cls, "%s: %s", name, cls_name);
	if (rc == 0)
		diag("loaded");
	else if (fail_class() != cls)
		diag("class %d: %s", fail_class(), reason);
	if (line > 0) {
		ok(rc < 0 && strncmp(reason, prefix, strlen(prefix)) == 0,
		    "%s: reason starts with FILE:%d:", name, line);
		if (rc < 0 && strncmp(reason, prefix, strlen(prefix)) != 0)
			diag("reason: %s", reason);
	}
	if (mention != NULL) {
		ok(rc < 0 && strstr(reason, mention) != NULL, "%s: reason mentions \"%s\"", name,
		    mention);
		if (rc < 0 && strstr(reason, mention) == NULL)
			diag("reason: %s", reason);
	}
	config_free(&cfg);
}

#define expect_error(name, text, mode, cls, line, mention) \
	expect_error_(name, text, mode, cls, #cls, line, mention)

static void
test_inheritance(void)
{
	struct config cfg;
	const struct account *s, *p;
	int rc = load(
	    "; a comment\n"
	    "[defaults]\n"
	    "user = alice\n"
	    "tls_ca_file = /etc/ca.pem\n"
	    "timeout = 30\n"
	    "from = alice@example.com\n"
	    "keep = no\n"
	    "\n"
	    "[smtp work]\n"
	    "host = smtp.example.com\n"
	    "\n"
	    "[pop3 work]\n"
	    "host = pop.example.com\n"
	    "user = bob\n"
	    "tls_verify = no\n", 0600, &cfg);

	ok(rc == 0, "defaults before the accounts: loads");
	if (rc < 0)
		diag("%s", fail_reason());
	s = account(&cfg, ACCOUNT_SMTP, "work");
	p = account(&cfg, ACCOUNT_POP3, "work");
	ok(s != NULL && p != NULL, "[smtp work] and [pop3 work] side by side");
	if (s != NULL) {
		is_str(s->host, "smtp.example.com", "smtp host");
		is_str(s->user, "alice", "smtp user inherited");
		is_str(s->tls_ca_file, "/etc/ca.pem", "tls_ca_file inherited");
		is_int(s->timeout, 30, "timeout inherited");
		is_str(s->from, "alice@example.com", "from inherited by smtp");
		ok(s->tls_verify, "tls_verify defaults to yes");
		is_int(s->tls, TLS_MODE_STARTTLS, "tls defaults to starttls");
		is_str(s->name, "work", "account name");
	}
	if (p != NULL) {
		is_str(p->user, "bob", "pop3 user overrides the default");
		is_int(p->timeout, 30, "pop3 timeout inherited");
		ok(!p->keep, "keep = no inherited by pop3");
		ok(!p->tls_verify, "tls_verify = no");
		ok(p->from == NULL, "from (smtp only) not given to pop3");
	}
	config_free(&cfg);

	rc = load(
	    "[smtp a]\n"
	    "host = h\n"
	    "user = own\n"
	    "[defaults]\n"
	    "user = late\n"
	    "password_command = pass show x\n"
	    "timeout = 5\n", 0600, &cfg);
	ok(rc == 0, "defaults after the account: loads");
	s = account(&cfg, ACCOUNT_SMTP, "a");
	ok(s != NULL && s->timeout == 5 && s->password_command != NULL &&
	    strcmp(s->password_command, "pass show x") == 0,
	    "defaults after the account are inherited");
	ok(s != NULL && s->user != NULL && strcmp(s->user, "own") == 0,
	    "the account's own key wins over a later default");
	config_free(&cfg);

	rc = load("[defaults]\nhost = shared\n[pop3 empty]\n", 0600, &cfg);
	p = rc == 0 ? account(&cfg, ACCOUNT_POP3, "empty") : NULL;
	ok(p != NULL && strcmp(p->host, "shared") == 0,
	    "a section with no keys of its own is an account");
	config_free(&cfg);
}

/* An account names its file for messages long after config_load() has
 * returned (mailpipe-send's "FILE:LINE: no sender address"). */
static void
test_account_file(void)
{
	struct config cfg;
	int rc = load("[defaults]\ntimeout = 5\n[smtp a]\nhost = h\n", 0600, &cfg);
	const struct account *a = rc == 0 ? account(&cfg, ACCOUNT_SMTP, "a") : NULL;

	ok(a != NULL && a->file != NULL && strcmp(a->file, path) == 0,
	    "the account's file name outlives config_load()");
	ok(a != NULL && a->line == 3, "the account's line is its section header");
	config_free(&cfg);
}

static unsigned
port_of(enum account_kind kind, const char *tls, const char *port)
{
	struct config cfg;
	char text[300];
	unsigned result = 0;

	snprintf(text, sizeof text, "[%s x]\nhost = h\n%s%s%s%s%s", kind == ACCOUNT_SMTP ?
	    "smtp" : "pop3", tls ? "tls = " : "", tls ? tls : "", tls ? "\n" : "",
	    port ? "port = " : "", port ? port : "");
	if (load(text, 0600, &cfg) == 0 && cfg.count == 1)
		result = cfg.accounts[0].port;
	else
		diag("%s", fail_reason());
	config_free(&cfg);
	return result;
}

static void
test_ports(void)
{
	is_int(port_of(ACCOUNT_SMTP, NULL, NULL), 587, "smtp default port 587");
	is_int(port_of(ACCOUNT_SMTP, "starttls", NULL), 587, "smtp starttls: 587");
	is_int(port_of(ACCOUNT_SMTP, "implicit", NULL), 465, "smtp implicit: 465");
	is_int(port_of(ACCOUNT_SMTP, "off", NULL), 25, "smtp off: 25");
	is_int(port_of(ACCOUNT_POP3, NULL, NULL), 110, "pop3 default port 110");
	is_int(port_of(ACCOUNT_POP3, "starttls", NULL), 110, "pop3 starttls: 110");
	is_int(port_of(ACCOUNT_POP3, "implicit", NULL), 995, "pop3 implicit: 995");
	is_int(port_of(ACCOUNT_POP3, "off", NULL), 110, "pop3 off: 110");
	is_int(port_of(ACCOUNT_SMTP, "implicit", "2525\n"), 2525, "explicit port kept");
	is_int(port_of(ACCOUNT_POP3, "implicit", "65535\n"), 65535, "port 65535");
}

static void
test_errors(void)
{
	char text[1024];

	expect_error("unknown key", "[smtp a]\nhost = h\n\nfrobnicate = 1\n", 0600, FAIL_CONFIG, 4,
	    "frobnicate");
	expect_error("duplicate key", "[smtp a]\nhost = h\nuser = x\n; note\nhost = i\n", 0600,
	    FAIL_CONFIG, 5, "host");
	expect_error("duplicate key in [defaults]", "[defaults]\nuser = a\nuser = b\n"
	    "[smtp a]\nhost = h\n", 0600, FAIL_CONFIG, 3, "user");
	expect_error("bad bool", "[smtp a]\nhost = h\ntls_verify = maybe\n", 0600, FAIL_CONFIG, 3,
	    "tls_verify");
	expect_error("bad bool in [defaults]", "[defaults]\nkeep = sometimes\n[pop3 a]\n"
	    "host = h\n", 0600, FAIL_CONFIG, 2, "keep");
	expect_error("bad tls value", "[pop3 a]\nhost = h\n\ntls = ssl\n", 0600, FAIL_CONFIG, 4,
	    "tls");
	expect_error("key outside a section", "\n; top\nhost = h\n[smtp a]\nhost = h\n", 0600,
	    FAIL_CONFIG, 3, "host");
	expect_error("unknown section", "[smtp a]\nhost = h\n\n[imap b]\nhost = i\n", 0600,
	    FAIL_CONFIG, 4, "imap");
	expect_error("section without a name", "[smtp]\nhost = h\n", 0600, FAIL_CONFIG, 1, NULL);
	expect_error("section twice", "[smtp a]\nhost = h\n[smtp a]\nport = 2\n", 0600,
	    FAIL_CONFIG, 3, NULL);
	expect_error("pop3 key in smtp", "[smtp a]\nhost = h\nmaildir = ~/Mail\n", 0600,
	    FAIL_CONFIG, 3, "maildir");
	expect_error("smtp key in pop3", "[pop3 a]\nhost = h\nfrom = a@x\n", 0600, FAIL_CONFIG, 3,
	    "from");
	expect_error("default_account in an account", "[smtp a]\nhost = h\n"
	    "default_account = a\n", 0600, FAIL_CONFIG, 3, "default_account");
	expect_error("empty value", "[smtp a]\nhost =\n", 0600, FAIL_CONFIG, 2, "host");
	expect_error("port 0", "[smtp a]\nhost = h\nport = 0\n", 0600, FAIL_CONFIG, 3, "port");
	expect_error("port 65536", "[smtp a]\nhost = h\nport = 65536\n", 0600, FAIL_CONFIG, 3,
	    "port");
	expect_error("port not a number", "[smtp a]\nhost = h\nport = smtp\n", 0600, FAIL_CONFIG, 3,
	    "port");
	expect_error("port with trailing junk", "[smtp a]\nhost = h\nport = 25x\n", 0600,
	    FAIL_CONFIG, 3, "port");
	expect_error("deadline over a week", "[smtp a]\nhost = h\ndeadline = 604801\n", 0600,
	    FAIL_CONFIG, 3, "deadline");
	expect_error("timeout 0", "[smtp a]\nhost = h\ntimeout = 0\n", 0600, FAIL_CONFIG, 3,
	    "timeout");
	expect_error("auth user for smtp", "[smtp a]\nhost = h\nauth = user\n", 0600, FAIL_CONFIG,
	    3, "auth");
	expect_error("no host", "[smtp a]\nuser = u\n", 0600, FAIL_CONFIG, 1, "host");
	expect_error("indented continuation line", "[smtp a]\nhost = h\nuser = x\n  y\n", 0600,
	    FAIL_CONFIG, 4, NULL);
	expect_error("syntax error", "[smtp a]\nhost = h\njust words\n", 0600, FAIL_CONFIG, 3,
	    NULL);

	/* The inih line cap: 198 bytes are fine, 199 are reported, never cut. */
	snprintf(text, sizeof text, "[smtp a]\nhost = h\nhelo = %0191d\n", 0);
	{
		struct config cfg;
		int rc = load(text, 0600, &cfg);
		const struct account *a = rc == 0 ? account(&cfg, ACCOUNT_SMTP, "a") : NULL;

		ok(a != NULL && a->helo != NULL && strlen(a->helo) == 191,
		    "a line of 198 bytes is read whole");
		if (rc < 0)
			diag("%s", fail_reason());
		config_free(&cfg);
	}
	snprintf(text, sizeof text, "[smtp a]\nhost = h\nhelo = %0192d\n", 0);
	expect_error("a line of 199 bytes", text, 0600, FAIL_CONFIG, 3, "line");
	snprintf(text, sizeof text, "[smtp a]\nhost = h\n\npassword = %0300d\nuser = u\n", 0);
	expect_error("a password line of 311 bytes", text, 0600, FAIL_CONFIG, 4, "line");
	snprintf(text, sizeof text, "[smtp a]\nhost = h\npassword = %0300d\r\nuser = u\r\n", 0);
	expect_error("a long CRLF line", text, 0600, FAIL_CONFIG, 3, "line");

	expect_error("password = abc ;def", "[smtp a]\nhost = h\npassword = abc ;def\n", 0600,
	    FAIL_CONFIG, 3, "password");
	expect_error("password = abc\\t;def", "[smtp a]\nhost = h\npassword = abc\t;def\n",
	    0600, FAIL_CONFIG, 3, "password");
	expect_error("password in [defaults] with \" ;\"", "[defaults]\npassword = x ;y\n"
	    "[smtp a]\nhost = h\n", 0600, FAIL_CONFIG, 2, "password");
}

static void
test_password_comment_forms(void)
{
	struct config cfg;
	const struct account *a;
	int rc = load("[smtp a]\nhost = h\npassword = abc;def#ghi\n", 0600, &cfg);

	a = rc == 0 ? account(&cfg, ACCOUNT_SMTP, "a") : NULL;
	ok(a != NULL && a->password != NULL && strcmp(a->password, "abc;def#ghi") == 0,
	    "password = abc;def#ghi is taken whole");
	if (rc < 0)
		diag("%s", fail_reason());
	config_free(&cfg);

	rc = load("[smtp a]\nhost = h\npassword = p a s s  \n", 0600, &cfg);
	a = rc == 0 ? account(&cfg, ACCOUNT_SMTP, "a") : NULL;
	ok(a != NULL && a->password != NULL && strcmp(a->password, "p a s s") == 0,
	    "inner spaces kept, trailing spaces dropped");
	config_free(&cfg);

	rc = load("[smtp a] ; work\nhost = h\ntls = implicit ; port 465\nport = 2465 ; x\n"
	    "timeout = 30\t; seconds\nauth = plain ; x\ntls_verify = yes ; x\n"
	    "deadline = 1h ; x\n", 0644, &cfg);
	a = rc == 0 ? account(&cfg, ACCOUNT_SMTP, "a") : NULL;
	ok(a != NULL && a->tls == TLS_MODE_IMPLICIT && a->port == 2465 && a->timeout == 30 &&
	    a->auth == AUTH_PLAIN && a->deadline == 3600,
	    "\" ;\" comments after enumerations and numbers");
	if (rc < 0)
		diag("%s", fail_reason());
	config_free(&cfg);
	rc = load("[pop3 a]\nhost = h\nkeep = no ; x\nmax_size = 1M ; x\n", 0644, &cfg);
	a = rc == 0 ? account(&cfg, ACCOUNT_POP3, "a") : NULL;
	ok(a != NULL && !a->keep && a->max_size == 1024 * 1024,
	    "\" ;\" comments after keep and max_size");
	config_free(&cfg);
}

/* inih ends every value at " ;"; a free-text value cut there is refused,
 * whichever key it belongs to, never used shortened. */
static void
test_cut_free_text(void)
{
	static const struct { const char *section, *key; } text_keys[] = {
		{ "smtp a", "host" }, { "smtp a", "user" }, { "smtp a", "password_file" },
		{ "smtp a", "password_command" }, { "smtp a", "tls_ca_file" },
		{ "smtp a", "from" }, { "smtp a", "helo" }, { "smtp a", "aliases" },
		{ "smtp a", "domain" }, { "pop3 a", "maildir" }, { "pop3 a", "state_dir" },
		{ "defaults", "default_account" }, { "defaults", "password_command" },
	};
	struct config cfg;
	const struct account *a;
	char text[300], name[100];
	int rc;

	expect_error("password_command cut at \" ;\"", "[smtp a]\nhost = h\n"
	    "password_command = gpg -qd ~/.pw.gpg ; echo fallback\n", 0600, FAIL_CONFIG, 3,
	    "password_command");
	for (size_t i = 0; i < sizeof text_keys / sizeof text_keys[0]; i++) {
		snprintf(text, sizeof text, "[%s]\n%s = x ;y\n[smtp a]\nhost = h\n",
		    text_keys[i].section, text_keys[i].key);
		if (strcmp(text_keys[i].section, "defaults") != 0)
			snprintf(text, sizeof text, "[%s]\n%s%s = x\t;y\n", text_keys[i].section,
			    strcmp(text_keys[i].key, "host") == 0 ? "" : "host = h\n",
			    text_keys[i].key);
		snprintf(name, sizeof name, "[%s] %s = x ;y", text_keys[i].section,
		    text_keys[i].key);
		expect_error(name, text, 0600, FAIL_CONFIG, 0, text_keys[i].key);
	}
	rc = load("[smtp a]\nhost = h\npassword_command = gpg -qd x; echo y\n", 0600, &cfg);
	a = rc == 0 ? account(&cfg, ACCOUNT_SMTP, "a") : NULL;
	ok(a != NULL && strcmp(a->password_command, "gpg -qd x; echo y") == 0,
	    "\";\" without a space before it is part of the value");
	config_free(&cfg);
}

/* SCRAM and both OAuth mechanisms, valid for either protocol. */
static void
test_modern_methods(void)
{
	struct config cfg;
	const struct account *s, *p;
	int rc = load("[defaults]\nauth = scram-sha-256\n[smtp s]\nhost = h\nauth = OAuthBearer\n"
	    "[pop3 p]\nhost = h\n[pop3 x]\nhost = h\nauth = xoauth2\n"
	    "[pop3 e]\nhost = h\nauth = external\n", 0600, &cfg);

	s = rc == 0 ? account(&cfg, ACCOUNT_SMTP, "s") : NULL;
	p = rc == 0 ? account(&cfg, ACCOUNT_POP3, "p") : NULL;
	ok(s != NULL && s->auth == AUTH_OAUTHBEARER && p != NULL &&
	    p->auth == AUTH_SCRAM_SHA_256 && account(&cfg, ACCOUNT_POP3, "x")->auth == AUTH_XOAUTH2,
	    "auth = scram-sha-256, oauthbearer, xoauth2 for both protocols");
	ok(rc == 0 && account(&cfg, ACCOUNT_POP3, "e")->auth == AUTH_EXTERNAL, "auth = external");
	if (rc < 0)
		diag("%s", fail_reason());
	config_free(&cfg);
}

/* A [defaults] value is judged by the accounts that inherit it. */
static void
test_defaults_by_protocol(void)
{
	struct config cfg;
	const struct account *a;
	int rc = load("[defaults]\nauth = login\n[smtp a]\nhost = h\n", 0600, &cfg);

	a = rc == 0 ? account(&cfg, ACCOUNT_SMTP, "a") : NULL;
	ok(a != NULL && a->auth == AUTH_LOGIN, "auth = login in [defaults], smtp accounts only");
	if (rc < 0)
		diag("%s", fail_reason());
	config_free(&cfg);
	rc = load("[defaults]\nauth = user\n[pop3 a]\nhost = h\n", 0600, &cfg);
	a = rc == 0 ? account(&cfg, ACCOUNT_POP3, "a") : NULL;
	ok(a != NULL && a->auth == AUTH_USER, "auth = user in [defaults], pop3 accounts only");
	if (rc < 0)
		diag("%s", fail_reason());
	config_free(&cfg);
	rc = load("[defaults]\nauth = user\n[smtp s]\nhost = h\nauth = plain\n"
	    "[pop3 p]\nhost = h\n", 0600, &cfg);
	a = rc == 0 ? account(&cfg, ACCOUNT_SMTP, "s") : NULL;
	ok(a != NULL && a->auth == AUTH_PLAIN,
	    "auth = user in [defaults], overridden by the smtp account");
	if (rc < 0)
		diag("%s", fail_reason());
	config_free(&cfg);
	expect_error("auth = login in [defaults] inherited by pop3",
	    "[defaults]\nauth = login\n[smtp a]\nhost = h\n[pop3 b]\nhost = h\n", 0600,
	    FAIL_CONFIG, 2, "[pop3 b]");
	expect_error("auth = user in [defaults] inherited by smtp",
	    "[smtp a]\nhost = h\n[defaults]\n\nauth = user\n", 0600, FAIL_CONFIG, 5, "auth");
	expect_error("auth = kerberos in [defaults]", "[defaults]\nauth = kerberos\n", 0600,
	    FAIL_CONFIG, 2, "auth");
	test_modern_methods();
}

/* endpoint_of(): every transport setting of the account, and the deadline
 * counted from the start the caller gives (none when deadline = 0). */
static void
test_endpoint(void)
{
	struct config cfg;
	const struct account *a, *b;
	struct endpoint ep;
	int rc = load("[pop3 a]\nhost = pop.example\nport = 1995\ntls = implicit\n"
	    "tls_verify = no\ntls_ca_file = /etc/ca.pem\ntls_fingerprint = "
	    "0000000000000000000000000000000000000000000000000000000000000000\n"
	    "timeout = 2m\ndeadline = 1h\n"
	    "[smtp b]\nhost = smtp.example\ndeadline = 0\n", 0600, &cfg);

	a = rc == 0 ? account(&cfg, ACCOUNT_POP3, "a") : NULL;
	b = rc == 0 ? account(&cfg, ACCOUNT_SMTP, "b") : NULL;
	ok(a != NULL && b != NULL, "endpoint: the config loads");
	if (a == NULL || b == NULL) {
		diag("%s", fail_reason());
		config_free(&cfg);
		return;
	}
	memset(&ep, 0x5a, sizeof ep);	/* what a stack variable may hold */
	endpoint_of(a, 5000, &ep);
	ok(ep.tls_options.peer == NULL, "endpoint: no TLS observer unless the caller sets one");
	ok(ep.host == a->host && ep.port == 1995 && ep.tls == TLS_MODE_IMPLICIT,
	    "endpoint: host, port and TLS mode of the account");
	ok(!ep.tls_options.verify && ep.tls_options.ca_file == a->tls_ca_file &&
	    ep.tls_options.fingerprint == a->tls_fingerprint, "endpoint: the TLS options");
	is_int(ep.timing.timeout_ms, 120000, "endpoint: timeout = 2m is 120000 ms per wait");
	ok(ep.timing.deadline_ms == 5000 + 3600000LL,
	    "endpoint: deadline = 1h counts from the start given");
	endpoint_of(b, 5000, &ep);
	ok(ep.timing.deadline_ms == 0 && ep.port == 587 && ep.timing.timeout_ms == 60000,
	    "endpoint: deadline = 0 is none; default port and timeout");
	config_free(&cfg);
}

/* Words are compared in any case. */
static void
test_enum_case(void)
{
	struct config cfg;
	const struct account *a;
	int rc = load("[smtp a]\nhost = h\ntls = STARTTLS\nauth = Login\ntls_verify = YES\n"
	    "[pop3 b]\nhost = h\ntls = Implicit\nauth = PLAIN\nkeep = NO\n"
	    "[pop3 c]\nhost = h\ntls = OFF\nauth = User\n", 0600, &cfg);

	a = rc == 0 ? account(&cfg, ACCOUNT_SMTP, "a") : NULL;
	ok(a != NULL && a->tls == TLS_MODE_STARTTLS && a->auth == AUTH_LOGIN && a->tls_verify,
	    "tls = STARTTLS, auth = Login");
	if (rc < 0)
		diag("%s", fail_reason());
	a = rc == 0 ? account(&cfg, ACCOUNT_POP3, "b") : NULL;
	ok(a != NULL && a->tls == TLS_MODE_IMPLICIT && a->auth == AUTH_PLAIN && !a->keep,
	    "tls = Implicit, auth = PLAIN, keep = NO");
	a = rc == 0 ? account(&cfg, ACCOUNT_POP3, "c") : NULL;
	ok(a != NULL && a->tls == TLS_MODE_OFF && a->auth == AUTH_USER, "tls = OFF, auth = User");
	config_free(&cfg);
}

static int
duration_of(const char *key, const char *value, int *rc_r)
{
	struct config cfg;
	char text[300];
	int n = -1;

	snprintf(text, sizeof text, "[smtp a]\nhost = h\n%s = %s\n", key, value);
	*rc_r = load(text, 0600, &cfg);
	if (*rc_r == 0)
		n = strcmp(key, "timeout") == 0 ? cfg.accounts[0].timeout : cfg.accounts[0].deadline;
	config_free(&cfg);
	return n;
}

static void
test_durations(void)
{
	static const struct { const char *key, *value; int seconds; } good[] = {
		{ "timeout", "90", 90 }, { "timeout", "10s", 10 }, { "timeout", "2m", 120 },
		{ "deadline", "2h", 7200 }, { "deadline", "1d", 86400 },
		{ "deadline", "1w", 604800 }, { "deadline", "0", 0 }, { "deadline", "0s", 0 },
		{ "timeout", "7d", 604800 },
	};
	static const char *const bad[] = { "10x", "s", "1.5h", "10 s", "-1", "10S", "10ss",
	    "1w1d", "h2", "0x10", "", "+5", "5 m" };
	static const char *const too_long[] = { "604801", "8d", "2w", "10081m",
	    "99999999999999999999", "99999999999999999w", "18446744073709551616s" };
	int rc;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		int n = duration_of(good[i].key, good[i].value, &rc);

		ok(rc == 0 && n == good[i].seconds, "%s = %s is %d s", good[i].key,
		    good[i].value, good[i].seconds);
		if (rc < 0)
			diag("%s", fail_reason());
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[100], text[300];

		snprintf(name, sizeof name, "deadline = %s", bad[i]);
		snprintf(text, sizeof text, "[smtp a]\nhost = h\ndeadline = %s\n", bad[i]);
		expect_error(name, text, 0600, FAIL_CONFIG, 3, "not a duration (use seconds or a "
		    "number with s, m, h, d or w)");
	}
	for (size_t i = 0; i < sizeof too_long / sizeof too_long[0]; i++) {
		char name[100], text[300];

		snprintf(name, sizeof name, "timeout = %s", too_long[i]);
		snprintf(text, sizeof text, "[smtp a]\nhost = h\ntimeout = %s\n", too_long[i]);
		expect_error(name, text, 0600, FAIL_CONFIG, 3, "timeout: too long");
	}
	expect_error("timeout = 0s", "[smtp a]\nhost = h\ntimeout = 0s\n", 0600, FAIL_CONFIG, 3,
	    "timeout");
}

static void
test_permissions(void)
{
	static const char with_password[] = "[smtp a]\nhost = h\npassword = secret\n";
	static const char in_defaults[] = "[defaults]\npassword = secret\n[smtp a]\nhost = h\n";
	static const char without[] = "[smtp a]\nhost = h\npassword_command = pass x\n";
	struct config cfg;
	int rc;

	expect_error("password in a 0644 file", with_password, 0644, FAIL_AUTH, 0, NULL);
	expect_error("password in a 0640 file", with_password, 0640, FAIL_AUTH, 0, NULL);
	expect_error("password in a 0604 file", with_password, 0604, FAIL_AUTH, 0, NULL);
	expect_error("password in [defaults] in a 0644 file", in_defaults, 0644, FAIL_AUTH, 0,
	    NULL);
	rc = load(with_password, 0600, &cfg);
	ok(rc == 0 && cfg.count == 1 && strcmp(cfg.accounts[0].password, "secret") == 0,
	    "password in a 0600 file");
	config_free(&cfg);
	rc = load(with_password, 0400, &cfg);
	ok(rc == 0, "password in a 0400 file");
	config_free(&cfg);
	rc = load(without, 0644, &cfg);
	ok(rc == 0, "no password in a 0644 file: fine");
	if (rc < 0)
		diag("%s", fail_reason());
	config_free(&cfg);
}

/* Whoever can change the file can choose the commands we run: the file
 * must be the caller's (or root's) and writable by nobody else. */
static void
test_trust(void)
{
	static const char plain[] = "[smtp a]\nhost = h\npassword_command = pass x\n";
	char ca[600], text[800];

	expect_error("a 0666 config", plain, 0666, FAIL_AUTH, 0, "chmod go-w");
	expect_error("a 0620 config", plain, 0620, FAIL_AUTH, 0, "chmod go-w");
	expect_error("a 0602 config", plain, 0602, FAIL_AUTH, 0, "chmod go-w");
	snprintf(ca, sizeof ca, "%s/ca.pem", dir);
	snprintf(text, sizeof text, "[defaults]\ntls_ca_file = %s\n[smtp a]\nhost = h\n", ca);
	write_file(ca, "not checked here\n", 0646);
	expect_error("tls_ca_file writable by others", text, 0600, FAIL_AUTH, 0, ca);
	write_file(ca, "not checked here\n", 0644);
	{
		struct config cfg;
		int rc = load(text, 0600, &cfg);

		ok(rc == 0, "tls_ca_file 0644: fine");
		if (rc < 0)
			diag("%s", fail_reason());
		config_free(&cfg);
	}
	if (geteuid() != 0) {
		skip("files owned by another user (needs root to chown)");
		return;
	}
	write_file(path, plain, 0644);
	if (chown(path, 4321, 4321) < 0)
		abort();
	{
		struct config cfg;
		int rc = config_load(path, &cfg);

		ok(rc < 0 && fail_class() == FAIL_AUTH && strstr(fail_reason(), "chown") != NULL,
		    "a config owned by another user: FAIL_AUTH, says chown");
		diag("%s", fail_reason());
		config_free(&cfg);
	}
	if (chown(ca, 4321, 4321) < 0)
		abort();
	expect_error("tls_ca_file owned by another user", text, 0600, FAIL_AUTH, 0, "chown");
	unlink(ca);
}

static void
test_choose_account(void)
{
	struct config cfg;
	const struct account *a;
	int rc = load(
	    "[defaults]\n"
	    "default_account = work\n"
	    "[smtp home]\nhost = home.example\n"
	    "[smtp work]\nhost = work.example\n"
	    "[pop3 work]\nhost = pop.work.example\n"
	    "[pop3 home]\nhost = pop.home.example\n", 0600, &cfg);

	ok(rc == 0, "four accounts load");
	a = account(&cfg, ACCOUNT_SMTP, "home");
	ok(a != NULL && strcmp(a->host, "home.example") == 0, "-a home picks [smtp home]");
	a = account(&cfg, ACCOUNT_SMTP, NULL);
	ok(a != NULL && strcmp(a->host, "work.example") == 0, "default_account picks [smtp work]");
	a = account(&cfg, ACCOUNT_POP3, NULL);
	ok(a != NULL && strcmp(a->host, "pop.work.example") == 0,
	    "default_account picks [pop3 work]");
	fail_clear();
	a = account(&cfg, ACCOUNT_SMTP, "nosuch");
	ok(a == NULL && fail_class() == FAIL_CONFIG, "-a nosuch: FAIL_CONFIG");
	ok(strstr(fail_reason(), "no [smtp nosuch] section; sections: [smtp home], [smtp work]")
	    != NULL, "-a nosuch: the line lists the [smtp NAME] sections");
	diag("%s", fail_reason());
	config_free(&cfg);

	rc = load("[smtp only]\nhost = a\n[pop3 one]\nhost = b\n[pop3 two]\nhost = c\n", 0600,
	    &cfg);
	a = account(&cfg, ACCOUNT_SMTP, NULL);
	ok(rc == 0 && a != NULL && strcmp(a->name, "only") == 0, "the only smtp account");
	fail_clear();
	a = account(&cfg, ACCOUNT_POP3, NULL);
	ok(a == NULL && fail_class() == FAIL_CONFIG, "two pop3 accounts, no -a: ambiguous");
	a = account(&cfg, ACCOUNT_POP3, "two");
	ok(a != NULL && strcmp(a->host, "c") == 0, "-a two among two");
	fail_clear();
	a = account(&cfg, ACCOUNT_SMTP, "one");
	ok(a == NULL && fail_class() == FAIL_CONFIG, "-a names a pop3 account only: no smtp");
	config_free(&cfg);

	rc = load("[pop3 p]\nhost = b\n", 0600, &cfg);
	fail_clear();
	a = account(&cfg, ACCOUNT_SMTP, NULL);
	ok(rc == 0 && a == NULL && fail_class() == FAIL_CONFIG, "no smtp account at all");
	config_free(&cfg);

	rc = load("[defaults]\ndefault_account = gone\n[smtp a]\nhost = h\n", 0600, &cfg);
	fail_clear();
	a = account(&cfg, ACCOUNT_SMTP, NULL);
	ok(rc == 0 && a == NULL && fail_class() == FAIL_CONFIG,
	    "default_account naming no account: FAIL_CONFIG");
	{
		char want[700];

		snprintf(want, sizeof want, "%s:2: default_account = gone names no [smtp gone] "
		    "section; sections: [smtp a]", path);
		is_str(fail_reason(), want, "default_account naming no account: says so");
	}
	config_free(&cfg);

	rc = load("[pop3 one]\nhost = b\n[pop3 two]\nhost = c\n[smtp x]\nhost = d\n", 0600,
	    &cfg);
	fail_clear();
	a = account(&cfg, ACCOUNT_POP3, NULL);
	ok(rc == 0 && a == NULL && strstr(fail_reason(), "[pop3 one], [pop3 two]") != NULL,
	    "two pop3 accounts, no -a: the line lists them");
	diag("%s", fail_reason());
	fail_clear();
	a = account(&cfg, ACCOUNT_SMTP, "one");
	ok(a == NULL && strstr(fail_reason(), "sections: [smtp x]") != NULL,
	    "-a one, a pop3 name: the line lists the smtp sections");
	config_free(&cfg);
}

static void
test_search_order(void)
{
	char a_path[600], b_path[600], xdg[600], xdg_file[700], home[600], home_file[700];
	struct config cfg;
	int rc;

	snprintf(a_path, sizeof a_path, "%s/a.ini", dir);
	snprintf(b_path, sizeof b_path, "%s/b.ini", dir);
	write_file(a_path, "[smtp x]\nhost = from-env\n", 0600);
	write_file(b_path, "[smtp x]\nhost = from-option\n", 0600);

	setenv("MAILPIPE_CONFIG", a_path, 1);
	rc = config_load(NULL, &cfg);
	ok(rc == 0 && cfg.count == 1 && strcmp(cfg.accounts[0].host, "from-env") == 0 &&
	    strcmp(cfg.path, a_path) == 0, "MAILPIPE_CONFIG is read");
	config_free(&cfg);
	rc = config_load(b_path, &cfg);
	ok(rc == 0 && cfg.count == 1 && strcmp(cfg.accounts[0].host, "from-option") == 0,
	    "-C wins over MAILPIPE_CONFIG");
	config_free(&cfg);

	setenv("MAILPIPE_CONFIG", "/nonexistent/mailpipe.ini", 1);
	fail_clear();
	rc = config_load(NULL, &cfg);
	ok(rc < 0 && fail_class() == FAIL_CONFIG, "MAILPIPE_CONFIG naming no file: FAIL_CONFIG");
	config_free(&cfg);
	fail_clear();
	rc = config_load("/nonexistent/x.ini", &cfg);
	ok(rc < 0 && fail_class() == FAIL_CONFIG, "-C naming no file: FAIL_CONFIG");
	config_free(&cfg);

	unsetenv("MAILPIPE_CONFIG");
	snprintf(xdg, sizeof xdg, "%s/xdg", dir);
	snprintf(xdg_file, sizeof xdg_file, "%s/mailpipe", xdg);
	mkdir(xdg, 0700);
	mkdir(xdg_file, 0700);
	snprintf(xdg_file, sizeof xdg_file, "%s/mailpipe/mailpipe.ini", xdg);
	write_file(xdg_file, "[smtp x]\nhost = from-xdg\n", 0600);
	setenv("XDG_CONFIG_HOME", xdg, 1);
	rc = config_load(NULL, &cfg);
	ok(rc == 0 && cfg.count == 1 && strcmp(cfg.accounts[0].host, "from-xdg") == 0,
	    "$XDG_CONFIG_HOME/mailpipe/mailpipe.ini");
	config_free(&cfg);

	unsetenv("XDG_CONFIG_HOME");
	snprintf(home, sizeof home, "%s/home", dir);
	mkdir(home, 0700);
	snprintf(home_file, sizeof home_file, "%s/.config", home);
	mkdir(home_file, 0700);
	snprintf(home_file, sizeof home_file, "%s/.config/mailpipe", home);
	mkdir(home_file, 0700);
	snprintf(home_file, sizeof home_file, "%s/.config/mailpipe/mailpipe.ini", home);
	write_file(home_file, "[smtp x]\nhost = from-home\nhelo = ~/x\n"
	    "[pop3 y]\nhost = h\nmaildir = ~/Mail\n", 0600);
	setenv("HOME", home, 1);
	rc = config_load(NULL, &cfg);
	ok(rc == 0 && cfg.count == 2 && strcmp(cfg.accounts[0].host, "from-home") == 0,
	    "~/.config/mailpipe/mailpipe.ini without XDG_CONFIG_HOME");
	if (rc == 0 && cfg.count == 2) {
		char want[700];

		snprintf(want, sizeof want, "%s/Mail", home);
		is_str(cfg.accounts[1].maildir, want, "maildir = ~/Mail expanded with $HOME");
		is_str(cfg.accounts[0].helo, "~/x", "a non-path value is not expanded");
	}
	config_free(&cfg);

	if (access("/etc/mailpipe.ini", F_OK) < 0) {
		snprintf(home_file, sizeof home_file, "%s/empty", dir);
		mkdir(home_file, 0700);
		setenv("XDG_CONFIG_HOME", home_file, 1);
		fail_clear();
		rc = config_load(NULL, &cfg);
		ok(rc < 0 && fail_class() == FAIL_CONFIG, "no file anywhere: FAIL_CONFIG");
		config_free(&cfg);
		unsetenv("XDG_CONFIG_HOME");
	} else {
		skip("no file anywhere: this machine has /etc/mailpipe.ini");
	}
}

/* Daemons (smartd, mdadm, systemd units) run without HOME: the passwd
 * entry stands in for it. */
static void
test_no_home(void)
{
	const struct passwd *pw = getpwuid(getuid());
	char *saved = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	char want[700], *state;
	struct config cfg;
	int rc;

	if (pw == NULL || pw->pw_dir == NULL || pw->pw_dir[0] != '/') {
		skip("no passwd entry with a home directory for uid %d", (int)getuid());
		free(saved);
		return;
	}
	for (int empty = 0; empty <= 1; empty++) {
		if (empty)
			setenv("HOME", "", 1);
		else
			unsetenv("HOME");
		rc = load("[pop3 y]\nhost = h\nmaildir = ~/Mail\n", 0600, &cfg);
		snprintf(want, sizeof want, "%s/Mail", pw->pw_dir);
		ok(rc == 0 && strcmp(cfg.accounts[0].maildir, want) == 0,
		    "HOME %s: maildir = ~/Mail is the passwd home's Mail", empty ? "empty" : "unset");
		if (rc == 0 && strcmp(cfg.accounts[0].maildir, want) != 0)
			diag("got %s", cfg.accounts[0].maildir);
		config_free(&cfg);

		unsetenv("XDG_STATE_HOME");
		state = uidl_default_dir(NULL);
		snprintf(want, sizeof want, "%s/.local/state/mailpipe", pw->pw_dir);
		is_str(state, want, "HOME %s: the state directory is in the passwd home",
		    empty ? "empty" : "unset");
		free(state);
	}
	snprintf(want, sizeof want, "%s/.config/mailpipe/mailpipe.ini", pw->pw_dir);
	if (access(want, F_OK) < 0 && access("/etc/mailpipe.ini", F_OK) < 0) {
		unsetenv("XDG_CONFIG_HOME");
		fail_clear();
		rc = config_load(NULL, &cfg);
		ok(rc < 0 && strstr(fail_reason(), want) != NULL,
		    "HOME unset: the search looks in the passwd home (and says where)");
		diag("%s", fail_reason());
		config_free(&cfg);
	} else {
		skip("HOME unset, the passwd home: this machine has a config there");
	}
	if (saved != NULL)
		setenv("HOME", saved, 1);
	free(saved);
}

static unsigned long long
max_size_of(const char *value, int *rc_r)
{
	struct config cfg;
	char text[300];
	unsigned long long n = 0;

	snprintf(text, sizeof text, "[pop3 a]\nhost = h\nmax_size = %s\n", value);
	*rc_r = load(text, 0600, &cfg);
	if (*rc_r == 0)
		n = cfg.accounts[0].max_size;
	config_free(&cfg);
	return n;
}

static void
test_max_size(void)
{
	static const char *const bad[] = { "10x", "k", "-1", "1.5M", "10 M", "M20", "1T", "",
	    "99999999999999999999" };
	int rc;

	is_int(max_size_of("5000000", &rc), 5000000, "max_size = 5000000");
	is_int(max_size_of("500k", &rc), 500 * 1024, "max_size = 500k");
	is_int(max_size_of("20M", &rc), 20 * 1024 * 1024, "max_size = 20M");
	is_int(max_size_of("2G", &rc), 2ULL << 30, "max_size = 2G");
	is_int(max_size_of("0", &rc), 0, "max_size = 0: no limit");
	ok(rc == 0, "max_size = 0 accepted");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		max_size_of(bad[i], &rc);
		ok(rc < 0 && fail_class() == FAIL_CONFIG && strstr(fail_reason(), ":3: ") != NULL,
		    "max_size = \"%s\": FAIL_CONFIG at line 3", bad[i]);
	}
	/* 2^34 + 1 GiB does not fit in 64 bits: refused (or at worst
	 * saturated), never wrapped around to a small limit or to 0. */
	{
		unsigned long long n = max_size_of("17179869185G", &rc);

		ok(rc < 0 || n == ~0ULL, "max_size = 17179869185G does not wrap around");
		if (rc == 0 && n != ~0ULL)
			diag("taken as %llu", n);
		n = max_size_of("17179869184G", &rc);
		ok(rc < 0 || n == ~0ULL, "max_size = 17179869184G (2^64) is not taken as 0");
		if (rc == 0 && n != ~0ULL)
			diag("taken as %llu", n);
	}
}

/* deliver, mda_failure: the default, each target with its
 * argument, [defaults] inheritance, and each bad value refused on its line. */
static void
test_deliver_keys(void)
{
	struct config cfg;
	const struct account *a;

	if (load("[defaults]\ndeliver = mda procmail -f %F\n[pop3 a]\nhost = h\n"
	    "[pop3 b]\nhost = h\ndeliver = maildir\nmda_failure = skip\n", 0600, &cfg) < 0) {
		ok(0, "deliver keys load: %s", fail_line());
		return;
	}
	a = account(&cfg, ACCOUNT_POP3, "a");
	ok(a != NULL && a->deliver == DELIVER_MDA && strcmp(a->deliver_to, "procmail -f %F") == 0 &&
	    !a->mda_failure_skip, "deliver = mda COMMAND, inherited; mda_failure defaults to fail");
	a = account(&cfg, ACCOUNT_POP3, "b");
	ok(a != NULL && a->deliver == DELIVER_MAILDIR && a->mda_failure_skip,
	    "deliver = maildir overrides; mda_failure = skip");
	config_free(&cfg);
	expect_error("deliver unknown", "[pop3 a]\nhost = h\ndeliver = imap x\n", 0600,
	    FAIL_CONFIG, 3, "deliver: expected maildir");
	expect_error("deliver mda without command", "[pop3 a]\nhost = h\ndeliver = mda\n",
	    0600, FAIL_CONFIG, 3, "deliver: expected maildir");
	expect_error("mda_failure bad", "[pop3 a]\nhost = h\nmda_failure = ignore\n", 0600,
	    FAIL_CONFIG, 3, "expected fail or skip");
	expect_error("deliver in smtp", "[smtp a]\nhost = h\ndeliver = maildir\n", 0600,
	    FAIL_CONFIG, 3, "deliver");
	expect_error("deliver mda with %F in quotes",
	    "[pop3 a]\nhost = h\ndeliver = mda procmail -f \"%F\"\n", 0600, FAIL_CONFIG, 3,
	    "deliver: write %F and %T without quotes");
}

/* deliver = mbox PATH: absolute or ~/ (expanded), a relative path refused. */
static void
test_mbox_keys(void)
{
	struct config cfg;
	const struct account *a;
	char *home = getenv("HOME"), *want;

	if (load("[pop3 a]\nhost = h\ndeliver = mbox /var/mail/box\n[pop3 b]\nhost = h\n"
	    "deliver = mbox ~/mail/in box\n", 0600, &cfg) < 0) {
		ok(0, "mbox keys load: %s", fail_line());
		return;
	}
	a = account(&cfg, ACCOUNT_POP3, "a");
	ok(a != NULL && a->deliver == DELIVER_MBOX && strcmp(a->deliver_to, "/var/mail/box") == 0,
	    "deliver = mbox /absolute");
	a = account(&cfg, ACCOUNT_POP3, "b");
	want = malloc(strlen(home != NULL ? home : "") + 32);
	sprintf(want, "%s/mail/in box", home != NULL ? home : "");
	ok(a != NULL && a->deliver == DELIVER_MBOX && strcmp(a->deliver_to, want) == 0,
	    "deliver = mbox ~/path, expanded: %s", a != NULL ? a->deliver_to : "(none)");
	free(want);
	config_free(&cfg);
	expect_error("deliver mbox relative", "[pop3 a]\nhost = h\ndeliver = mbox mail/box\n",
	    0600, FAIL_CONFIG, 3, "deliver: mbox needs an absolute path");
	expect_error("deliver mbox without path", "[pop3 a]\nhost = h\ndeliver = mbox\n",
	    0600, FAIL_CONFIG, 3, "deliver: expected maildir, mbox PATH, mda COMMAND");
}

/* deliver = lmtp: each form of target, lmtp_recipient, and each bad
 * target refused on its line with what is wrong. */
static void
test_lmtp_keys(void)
{
	static const char *const good[] = { "unix:/run/dovecot/lmtp", "localhost:24",
		"192.0.2.1:2003", "[::1]:24", "[2001:db8::7]:65535" };
	static const struct { const char *target, *error; } bad[] = {
		{ "unix:run/lmtp", "absolute path" }, { "localhost", "expected unix:/path" },
		{ "localhost:0", "expected unix:/path" }, { "localhost:65536", "expected" },
		{ "::1:24", "expected unix:/path" }, { "[::1:24", "expected" },
		{ "[localhost]:24", "expected" }, { "localhost:24x", "expected" },
		{ ":24", "expected" },
	};
	struct config cfg;
	char text[512];

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		snprintf(text, sizeof text, "[pop3 a]\nhost = h\ndeliver = lmtp %s\n"
		    "lmtp_recipient = carol@example.test\n", good[i]);
		if (load(text, 0600, &cfg) < 0) {
			ok(0, "lmtp %s: %s", good[i], fail_line());
			continue;
		}
		const struct account *a = account(&cfg, ACCOUNT_POP3, "a");
		ok(a != NULL && a->deliver == DELIVER_LMTP && strcmp(a->deliver_to, good[i]) == 0 &&
		    strcmp(a->lmtp_recipient, "carol@example.test") == 0, "lmtp %s", good[i]);
		config_free(&cfg);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, "[pop3 a]\nhost = h\ndeliver = lmtp %s\n",
		    bad[i].target);
		expect_error(bad[i].target, text, 0600, FAIL_CONFIG, 3, bad[i].error);
	}
}

/* The keys of the queue, failover and routing (mailpipe-send(1), QUEUE):
 * their defaults, their values, [defaults] inheritance, and each kind of
 * bad value refused on its line. */
static void
test_queue_keys(void)
{
	struct config cfg;
	const struct account *a = NULL;

	ok(load("[smtp a]\nhost = h\n", 0600, &cfg) == 0 && (a = account(&cfg, ACCOUNT_SMTP, "a"))
	    != NULL, "an account without queue keys");
	if (a != NULL) {
		ok(a->queue_dir == NULL && a->failover == NULL && a->match_from == NULL,
		    "default: no queue, no failover, no routing");
		ok(a->queue_backoff == 60 && a->queue_backoff_limit == 3600 &&
		    a->queue_lifetime == 5 * 86400 && a->queue_warn == 86400,
		    "default: backoff 1m to 1h, lifetime 5d, warn 1d");
		ok(a->queue_flush_on_send && !a->queue_resend_unconfirmed,
		    "default: flush on send, unconfirmed not resent");
	}
	config_free(&cfg);
	ok(load("[defaults]\nqueue_dir = ~/q\nqueue_backoff = 30s 2h\nqueue_lifetime = 2w\n"
	    "queue_warn = 0\nqueue_flush_on_send = no\nqueue_resend_unconfirmed = yes\n"
	    "[smtp a]\nhost = h\nfailover = b  c\nmatch_from = *@a.example *@b.example\n"
	    "[smtp b]\nhost = i\nqueue_backoff = 2h\n[smtp c]\nhost = j\n", 0600, &cfg) == 0,
	    "every queue key, in [defaults] and accounts");
	if ((a = account(&cfg, ACCOUNT_SMTP, "a")) != NULL) {
		ok(a->queue_dir != NULL && a->queue_dir[0] == '/' &&
		    strcmp(a->queue_dir + strlen(a->queue_dir) - 2, "/q") == 0,
		    "queue_dir: ~/ expanded, inherited");
		ok(a->queue_backoff == 30 && a->queue_backoff_limit == 7200, "queue_backoff = 30s 2h");
		ok(a->queue_lifetime == 14 * 86400 && a->queue_warn == 0,
		    "queue_lifetime = 2w, queue_warn = 0");
		ok(!a->queue_flush_on_send && a->queue_resend_unconfirmed, "the two booleans");
		is_str(a->failover, "b  c", "failover kept as words");
		is_str(a->match_from, "*@a.example *@b.example", "match_from kept as words");
	}
	if ((a = account(&cfg, ACCOUNT_SMTP, "b")) != NULL)
		ok(a->queue_backoff == 7200 && a->queue_backoff_limit == 7200,
		    "queue_backoff = 2h alone: the limit is the first wait when that is longer");
	config_free(&cfg);
	expect_error("queue_backoff three values", "[smtp a]\nhost = h\nqueue_backoff = 1m 2m 3m\n",
	    0600, FAIL_CONFIG, 3, "one or two durations");
	expect_error("queue_backoff limit shorter", "[smtp a]\nhost = h\nqueue_backoff = 1h 1m\n",
	    0600, FAIL_CONFIG, 3, "the longest wait is shorter than the first");
	expect_error("queue_backoff not a duration", "[smtp a]\nhost = h\nqueue_backoff = soon\n",
	    0600, FAIL_CONFIG, 3, "not a duration");
	expect_error("queue_lifetime too long", "[smtp a]\nhost = h\nqueue_lifetime = 53w\n",
	    0600, FAIL_CONFIG, 3, "at most a year");
	expect_error("failover with commas", "[smtp a]\nhost = h\nfailover = b, c\n", 0600,
	    FAIL_CONFIG, 3, "blanks, not commas");
	expect_error("queue_dir in pop3", "[pop3 a]\nhost = h\nqueue_dir = /q\n", 0600,
	    FAIL_CONFIG, 3, "queue_dir");
}

/* route.c: match_from in the order of the file, case-insensitive, several
 * globs; the default when nothing matches; failover chains in order, each
 * account once, the account itself first. */
static void
test_route(void)
{
	struct config cfg;
	const struct account *a = NULL, **chain = NULL;
	size_t n = 0;

	ok(load("[defaults]\ndefault_account = home\n[smtp home]\nhost = h\nfailover = work\n"
	    "[smtp work]\nhost = w\nmatch_from = *@corp.example *@work.example\n"
	    "failover = home work spare home\n[smtp spare]\nhost = s\n"
	    "match_from = *@WORK.example\n", 0600, &cfg) == 0, "routing config");
	ok(route_account(&cfg, "Alice@Work.Example", &a) == 0 && a != NULL &&
	    strcmp(a->name, "work") == 0, "match_from: the first match in the file, any case");
	ok(route_account(&cfg, "bob@corp.example", &a) == 0 && strcmp(a->name, "work") == 0,
	    "match_from: the second glob");
	ok(route_account(&cfg, "bob@elsewhere.example", &a) == 0 && strcmp(a->name, "home") == 0,
	    "no match: default_account");
	ok(route_account(&cfg, NULL, &a) == 0 && strcmp(a->name, "home") == 0,
	    "no sender: default_account");
	a = route_find(&cfg, "work");
	ok(a != NULL && route_chain(&cfg, a, &chain, &n) == 0 && n == 3 &&
	    strcmp(chain[0]->name, "work") == 0 && strcmp(chain[1]->name, "home") == 0 &&
	    strcmp(chain[2]->name, "spare") == 0, "failover chain: itself, then each once, in order");
	free(chain);
	config_free(&cfg);
}

static void
test_fingerprint(void)
{
	static const char hex64[] =
	    "5E0B9A6E21C3D4F5A6B7C8D9E0F1A2B3C4D5E6F708192A3B4C5D6E7F80910AC4";
	static const char colons[] =
	    "5E:0B:9A:6E:21:C3:D4:F5:A6:B7:C8:D9:E0:F1:A2:B3:C4:D5:E6:F7:08:19:2A:3B:"
	    "4C:5D:6E:7F:80:91:0A:C4";
	char text[400];
	struct config cfg;
	int rc;

	snprintf(text, sizeof text, "[smtp a]\nhost = h\ntls_fingerprint = %s\n", hex64);
	rc = load(text, 0600, &cfg);
	ok(rc == 0 && strcmp(cfg.accounts[0].tls_fingerprint, hex64) == 0,
	    "tls_fingerprint: 64 hex digits");
	config_free(&cfg);
	snprintf(text, sizeof text, "[smtp a]\nhost = h\ntls_fingerprint = %s\n", colons);
	rc = load(text, 0600, &cfg);
	ok(rc == 0, "tls_fingerprint: with colons");
	config_free(&cfg);
	rc = load("[smtp a]\nhost = h\ntls_fingerprint = "
	    "5e0b9a6e21c3d4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f80910ac4\n", 0600, &cfg);
	ok(rc == 0, "tls_fingerprint: lower case");
	config_free(&cfg);

	snprintf(text, sizeof text, "[smtp a]\nhost = h\ntls_fingerprint = %.63s\n", hex64);
	expect_error("tls_fingerprint: 63 digits", text, 0600, FAIL_CONFIG, 3, "tls_fingerprint");
	snprintf(text, sizeof text, "[smtp a]\nhost = h\ntls_fingerprint = %sA\n", hex64);
	expect_error("tls_fingerprint: 65 digits", text, 0600, FAIL_CONFIG, 3, "tls_fingerprint");
	snprintf(text, sizeof text, "[smtp a]\nhost = h\ntls_fingerprint = %.63sG\n", hex64);
	expect_error("tls_fingerprint: not hex", text, 0600, FAIL_CONFIG, 3, "tls_fingerprint");
	expect_error("tls_fingerprint: SHA-1 length", "[smtp a]\nhost = h\ntls_fingerprint = "
	    "5E:0B:9A:6E:21:C3:D4:F5:A6:B7:C8:D9:E0:F1:A2:B3:C4:D5:E6:F7\n", 0600, FAIL_CONFIG,
	    3, "tls_fingerprint");
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof path, "%s/mailpipe.ini", dir);
	unsetenv("MAILPIPE_CONFIG");
	test_inheritance();
	test_account_file();
	test_ports();
	test_errors();
	test_password_comment_forms();
	test_cut_free_text();
	test_defaults_by_protocol();
	test_enum_case();
	test_endpoint();
	test_durations();
	test_permissions();
	test_trust();
	test_choose_account();
	test_search_order();
	test_no_home();
	test_max_size();
	test_deliver_keys();
	test_mbox_keys();
	test_lmtp_keys();
	test_fingerprint();
	test_queue_keys();
	test_route();
	{
		char cmd[600];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			diag("could not remove %s", dir);
	}
	return done_testing();
}
