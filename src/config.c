/*
 * mailpipe.ini: finding the file, trusting it, turning its sections into
 * accounts, and choosing an account.  Reading the file line by line is
 * config-read.c's, the keys and their values config-keys.c's.
 *
 * Accounts are assembled once the whole file is read, [defaults] first,
 * so [defaults] may stand anywhere in the file.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "config-keys.h"
#include "config-read.h"
#include "fs.h"
#include "status.h"
#include "xalloc.h"

static const char *
kind_name(enum account_kind kind)
{
	return kind == ACCOUNT_SMTP ? "smtp" : "pop3";
}

/* Applies the keys of s to a.  For [defaults] (own is the account's own
 * section) a key the account sets itself is skipped, and an error names
 * the [defaults] line and the account that inherits it. */
static int
apply_entries(const struct section *s, const struct section *own, struct account *a,
	const char *path)
{
	for (size_t i = 0; i < s->count; i++) {
		const struct key *k = s->entries[i].key;
		const char *err;

		if (k->parse == NULL || !config_key_is_for(k, a->kind) ||
		    (own != NULL && config_section_entry(own, k->name) != NULL))
			continue;
		err = k->parse(a, k->offset, s->entries[i].value);
		if (err != NULL && own != NULL)
			return fail(FAIL_CONFIG, "%s:%d: %s: %s (inherited by [%s %s])", path,
			    s->entries[i].line, k->name, err, kind_name(a->kind), a->name);
		if (err != NULL)
			return fail(FAIL_CONFIG, "%s:%d: %s: %s", path, s->entries[i].line,
			    k->name, err);
	}
	return 0;
}

static unsigned
default_port(const struct account *a)
{
	if (a->kind == ACCOUNT_SMTP)
		return a->tls == TLS_MODE_IMPLICIT ? 465 : a->tls == TLS_MODE_STARTTLS ? 587 : 25;
	return a->tls == TLS_MODE_IMPLICIT ? 995 : 110;
}

/* The trust rule for one of the TLS files (mailpipe.ini(5)), checked
 * when the config is loaded so that the error comes before any
 * connection; tls.c checks again on the descriptor it reads the file
 * through.  A file that is not there is left for tls.c to report when the
 * account is used. */
static int
check_tls_file(const char *path, const char *key, enum fs_readers readers)
{
	struct stat st;

	if (path == NULL || stat(path, &st) < 0)
		return 0;
	if (fs_check_trusted(&st, path, readers) < 0)
		return fail_context("%s", key);
	return 0;
}

/* The CA file, and the client certificate with its key, which is a
 * secret for its owner alone. */
static int
check_tls_files(const struct account *a)
{
	if ((a->tls_cert_file == NULL) != (a->tls_key_file == NULL))
		return fail(FAIL_CONFIG, "%s:%d: [%s %s]: tls_cert_file and tls_key_file go together",
		    a->file, a->line, kind_name(a->kind), a->name);
	if (check_tls_file(a->tls_ca_file, "tls_ca_file", FS_READERS_ANY) < 0 ||
	    check_tls_file(a->tls_cert_file, "tls_cert_file", FS_READERS_ANY) < 0)
		return -1;
	return check_tls_file(a->tls_key_file, "tls_key_file", FS_READERS_OWNER);
}

static int
build_account(const char *path, const struct section *defaults,
	const struct section *s, struct account *a)
{
	config_account_init(a, s->kind == SECTION_SMTP ? ACCOUNT_SMTP : ACCOUNT_POP3);
	a->name = xstrdup(s->name);
	a->file = path;
	a->line = s->line;
	if ((defaults != NULL && apply_entries(defaults, s, a, path) < 0) ||
	    apply_entries(s, NULL, a, path) < 0)
		return -1;
	if (a->host == NULL)
		return fail(FAIL_CONFIG, "%s:%d: [%s %s]: no host", path, s->line,
		    kind_name(a->kind), s->name);
	if (a->port == 0)
		a->port = default_port(a);
	if (a->delete_oversized && a->max_size == 0)
		return fail(FAIL_CONFIG, "%s:%d: [%s %s]: delete_oversized needs max_size (the "
		    "size above which to delete)", path, s->line, kind_name(a->kind), s->name);
	return check_tls_files(a);
}

static int
build_config(const struct config_file *cf, struct config *cfg)
{
	const struct section *defaults = NULL;
	const struct entry *e;

	for (size_t i = 0; i < cf->count; i++)
		if (cf->sections[i].kind == SECTION_DEFAULTS)
			defaults = &cf->sections[i];
	if ((e = config_section_entry(defaults, "default_account")) != NULL) {
		cfg->default_account = xstrdup(e->value);
		cfg->default_account_line = e->line;
	}
	cfg->accounts = xcalloc(cf->count, sizeof *cfg->accounts);
	for (size_t i = 0; i < cf->count; i++) {
		if (cf->sections[i].kind == SECTION_DEFAULTS)
			continue;
		if (build_account(cfg->path, defaults, &cf->sections[i],
		    &cfg->accounts[cfg->count++]) < 0)
			return -1;
	}
	return 0;
}

static bool
holds_secret(const struct config_file *cf)
{
	for (size_t i = 0; i < cf->count; i++)
		for (size_t j = 0; j < cf->sections[i].count; j++)
			if (cf->sections[i].entries[j].key->flags & KEY_SECRET)
				return true;
	return false;
}

/* A file that holds a secret must be private to its owner (checked on the
 * open file, so the check and the read concern the same file). */
static int
check_private(const struct config_file *cf, FILE *f, const char *path)
{
	if (!holds_secret(cf))
		return 0;
	return fs_check_trusted_fd(fileno(f), path, FS_READERS_OWNER);
}

/* The accounts point at cfg->path (struct account's file), so the file is
 * read under that copy, which lives as long as the config. */
static int
load_file(const char *path, FILE *f, struct config *cfg)
{
	struct config_file cf = { 0 };
	int rc;

	cfg->path = xstrdup(path);
	rc = config_read(cfg->path, f, &cf);
	if (rc == 0 && (check_private(&cf, f, cfg->path) < 0 || build_config(&cf, cfg) < 0))
		rc = -1;
	config_file_free(&cf);
	return rc;
}

/* Opens path and sets *path_r.  A missing file is an error unless the
 * search may go on (*missing_r then says so); any other is always one. */
static FILE *
open_path(const char *path, bool may_be_missing, bool *missing_r, char **path_r)
{
	FILE *f = fs_fopen_regular(path);

	*missing_r = f == NULL && errno == ENOENT && may_be_missing;
	if (f == NULL && !*missing_r)
		fail(FAIL_CONFIG, "%s: %s", path, fs_open_error(errno));
	if (f != NULL)
		*path_r = xstrdup(path);
	return f;
}

/* $XDG_CONFIG_HOME/mailpipe/mailpipe.ini or ~/.config/mailpipe/mailpipe.ini;
 * NULL without a home directory. */
static char *
user_config_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	char *home, *path;

	if (xdg != NULL && *xdg == '/')
		return xasprintf("%s/mailpipe/mailpipe.ini", xdg);
	if ((home = fs_home_dir()) == NULL)
		return NULL;
	path = xasprintf("%s/.config/mailpipe/mailpipe.ini", home);
	free(home);
	return path;
}

/* Opens the first file of the search order; *path_r is the one used.  Only
 * a missing file passes on to the next candidate; an unreadable one is an
 * error, never silently skipped.  Each candidate is opened, not tested
 * first, so the file read is the file found. */
static FILE *
open_config(const char *explicit_path, char **path_r)
{
	const char *env = getenv("MAILPIPE_CONFIG");
	char *user_file;
	bool missing = true;
	FILE *f = NULL;

	if (explicit_path != NULL)
		return open_path(explicit_path, false, &missing, path_r);
	if (env != NULL && *env != '\0')
		return open_path(env, false, &missing, path_r);
	user_file = user_config_path();
	if (user_file != NULL)
		f = open_path(user_file, true, &missing, path_r);
	if (f == NULL && missing)
		f = open_path("/etc/mailpipe.ini", true, &missing, path_r);
	if (f == NULL && missing)
		fail(FAIL_CONFIG, "no configuration file: give -C FILE, set MAILPIPE_CONFIG, "
		    "or create %s or /etc/mailpipe.ini",
		    user_file != NULL ? user_file : "~/.config/mailpipe/mailpipe.ini");
	free(user_file);
	return f;
}

int
config_load(const char *explicit_path, struct config *cfg)
{
	char *path = NULL;
	FILE *f;
	int rc;

	memset(cfg, 0, sizeof *cfg);
	fail_clear();
	f = open_config(explicit_path, &path);
	if (f == NULL)
		return -1;
	/* Whoever can change the file chooses the commands we run. */
	rc = fs_check_trusted_fd(fileno(f), path, FS_READERS_ANY) < 0 ? -1 :
	    load_file(path, f, cfg);
	fclose(f);
	free(path);
	return rc;
}

/* "[pop3 a], [pop3 b]": the sections of one kind, for an error line. */
static char *
list_sections(const struct config *cfg, enum account_kind kind)
{
	char *list = xstrdup("");

	for (size_t i = 0; i < cfg->count; i++) {
		char *longer;

		if (cfg->accounts[i].kind != kind)
			continue;
		longer = xasprintf("%s%s[%s %s]", list, *list != '\0' ? ", " : "",
		    kind_name(kind), cfg->accounts[i].name);
		free(list);
		list = longer;
	}
	return list;
}

/* No account of that kind is called name: say which there are, and where
 * name came from when it was default_account. */
static int
no_such_account(const struct config *cfg, enum account_kind kind, const char *name,
	bool by_default)
{
	char *list = list_sections(cfg, kind);
	const char *k = kind_name(kind);

	if (*list == '\0') {
		free(list);
		list = xasprintf("there is no [%s NAME] section", k);
	} else {
		char *with_label = xasprintf("sections: %s", list);

		free(list);
		list = with_label;
	}
	if (by_default)
		fail(FAIL_CONFIG, "%s:%d: default_account = %s names no [%s %s] section; %s",
		    cfg->path, cfg->default_account_line, name, k, name, list);
	else
		fail(FAIL_CONFIG, "%s: no [%s %s] section; %s", cfg->path, k, name, list);
	free(list);
	return -1;
}

static int
several_accounts(const struct config *cfg, enum account_kind kind)
{
	char *list = list_sections(cfg, kind);

	fail(FAIL_CONFIG, "%s: several [%s NAME] sections (%s); choose one with -a or "
	    "default_account", cfg->path, kind_name(kind), list);
	free(list);
	return -1;
}

int
config_account(const struct config *cfg, enum account_kind kind, const char *name,
	const struct account **acct_r)
{
	bool by_default = name == NULL && cfg->default_account != NULL;
	const struct account *only = NULL;
	size_t of_kind = 0;

	if (name == NULL)
		name = cfg->default_account;
	for (size_t i = 0; i < cfg->count; i++) {
		const struct account *a = &cfg->accounts[i];

		if (a->kind != kind)
			continue;
		if (name != NULL && strcmp(a->name, name) == 0) {
			*acct_r = a;
			return 0;
		}
		only = a;
		of_kind++;
	}
	if (name == NULL && of_kind == 1) {
		*acct_r = only;
		return 0;
	}
	if (name != NULL)
		return no_such_account(cfg, kind, name, by_default);
	if (of_kind == 0)
		return fail(FAIL_CONFIG, "%s: no [%s NAME] section", cfg->path, kind_name(kind));
	return several_accounts(cfg, kind);
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->count; i++)
		config_account_free(&cfg->accounts[i]);
	free(cfg->accounts);
	free(cfg->default_account);
	free(cfg->path);
	memset(cfg, 0, sizeof *cfg);
}
