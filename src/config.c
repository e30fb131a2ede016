/*
 * mailpipe.ini, read with inih.
 *
 * inih is fed through our own line reader so that we know the line number of
 * every key (Debian builds inih without INI_HANDLER_LINENO) and can refuse
 * the lines inih would silently cut at INI_MAX_LINE, instead of using a
 * truncated value.  Keys are checked as they arrive (known key, right
 * section, not a duplicate, valid value); accounts are assembled at the end,
 * [defaults] first, so [defaults] may stand anywhere in the file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/crypto.h>

#include "config.h"
#include "cred.h"
#include "status.h"
#include "xalloc.h"

enum section_kind { SECTION_DEFAULTS, SECTION_SMTP, SECTION_POP3 };

struct entry {
	const struct key *key;
	char *value;
	int line;
};

struct section {
	enum section_kind kind;
	char *name;
	int line;
	struct entry *entries;
	size_t count;
};

struct parse {
	const char *path;
	FILE *file;
	int line;			/* of the line inih is handling */
	const char *raw;		/* that line as it is in the file */
	char *rawbuf;
	size_t rawcap;
	struct section *sections;
	size_t count;
	char *error;			/* the first error, "FILE:LINE: ..." */
};

/* Which sections a key may stand in. */
enum { FOR_SMTP = 1, FOR_POP3 = 2, FOR_BOTH = 3, DEFAULTS_ONLY = 4 };

typedef const char *(*value_parser)(struct account *a, size_t offset, const char *value);

struct key {
	const char *name;
	int scope;
	value_parser parse;
	size_t offset;
};

#define FIELD(f) offsetof(struct account, f)

static char **
string_field(struct account *a, size_t offset)
{
	return (char **)((char *)a + offset);
}

/* Replaces a string field; a secret's old value is wiped, not just freed. */
static const char *
store_string(struct account *a, size_t offset, char *copy)
{
	char **field = string_field(a, offset);

	if (*copy == '\0') {
		free(copy);
		return "empty value";
	}
	cred_wipe_string(*field);
	*field = copy;
	return NULL;
}

static const char *
parse_string(struct account *a, size_t offset, const char *value)
{
	return store_string(a, offset, xstrdup(value));
}

static const char *
parse_path(struct account *a, size_t offset, const char *value)
{
	return store_string(a, offset, config_expand_home(value));
}

static const char *
parse_bool(struct account *a, size_t offset, const char *value)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	bool *field = (bool *)((char *)a + offset);

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(value, yes[i]) == 0 || strcasecmp(value, no[i]) == 0) {
			*field = strcasecmp(value, yes[i]) == 0;
			return NULL;
		}
	}
	return "expected yes or no";
}

static const char *
parse_number(const char *value, unsigned long long max, unsigned long long *n_r)
{
	char *end;

	errno = 0;
	if (*value < '0' || *value > '9')
		return "expected a number";
	*n_r = strtoull(value, &end, 10);
	if (errno != 0 || *end != '\0' || *n_r > max)
		return "number out of range";
	return NULL;
}

static const char *
parse_port(struct account *a, size_t offset, const char *value)
{
	unsigned long long n;
	const char *err = parse_number(value, 65535, &n);

	(void)offset;
	if (err == NULL && n == 0)
		err = "port must be 1 to 65535";
	if (err == NULL)
		a->port = (unsigned)n;
	return err;
}

static const char *
parse_seconds(struct account *a, size_t offset, const char *value)
{
	unsigned long long n;
	const char *err = parse_number(value, 86400 * 7, &n);

	if (err == NULL)
		*(int *)((char *)a + offset) = (int)n;
	return err;
}

/* A wait of 0 seconds would fail every operation. */
static const char *
parse_timeout(struct account *a, size_t offset, const char *value)
{
	const char *err = parse_seconds(a, offset, value);

	return err == NULL && a->timeout == 0 ? "timeout must be at least 1 second" : err;
}

static const char *
parse_size(struct account *a, size_t offset, const char *value)
{
	static const char suffixes[] = "kMG";
	unsigned long long n, scale = 1;
	char digits[32];
	size_t len = strlen(value);
	const char *suffix;

	(void)offset;
	if (len == 0 || len >= sizeof digits)
		return "expected a size such as 5000000, 500k or 20M";
	memcpy(digits, value, len + 1);
	suffix = strchr(suffixes, digits[len - 1]);
	if (suffix != NULL) {
		scale = 1ULL << (10 * (suffix - suffixes + 1));
		digits[len - 1] = '\0';
	}
	if (parse_number(digits, (1ULL << 50) / scale, &n) != NULL)
		return "expected a size such as 5000000, 500k or 20M";
	a->max_size = n * scale;
	return NULL;
}

static const char *
parse_tls(struct account *a, size_t offset, const char *value)
{
	(void)offset;
	if (strcmp(value, "off") == 0)
		a->tls = TLS_MODE_OFF;
	else if (strcmp(value, "starttls") == 0)
		a->tls = TLS_MODE_STARTTLS;
	else if (strcmp(value, "implicit") == 0)
		a->tls = TLS_MODE_IMPLICIT;
	else
		return "expected off, starttls or implicit";
	return NULL;
}

static const char *
parse_auth(struct account *a, size_t offset, const char *value)
{
	static const struct { const char *name; enum auth_method method; int scope; } methods[] = {
		{ "auto", AUTH_AUTO, FOR_BOTH }, { "none", AUTH_NONE, FOR_SMTP },
		{ "login", AUTH_LOGIN, FOR_SMTP }, { "plain", AUTH_PLAIN, FOR_BOTH },
		{ "user", AUTH_USER, FOR_POP3 },
	};
	int scope = a->kind == ACCOUNT_SMTP ? FOR_SMTP : FOR_POP3;

	(void)offset;
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		if (strcmp(value, methods[i].name) == 0 && (methods[i].scope & scope)) {
			a->auth = methods[i].method;
			return NULL;
		}
	}
	return scope == FOR_SMTP ? "expected auto, none, login or plain"
				 : "expected auto, user or plain";
}

static const char *
parse_fingerprint(struct account *a, size_t offset, const char *value)
{
	unsigned char pin[TLS_PIN_LENGTH];

	if (tls_parse_fingerprint(value, pin) < 0)
		return "expected a SHA-256 fingerprint: 64 hex digits, colons allowed";
	return parse_string(a, offset, value);
}

static const struct key keys[] = {
	{ "default_account", DEFAULTS_ONLY, NULL, 0 },
	{ "host", FOR_BOTH, parse_string, FIELD(host) },
	{ "port", FOR_BOTH, parse_port, 0 },
	{ "tls", FOR_BOTH, parse_tls, 0 },
	{ "tls_verify", FOR_BOTH, parse_bool, FIELD(tls_verify) },
	{ "tls_ca_file", FOR_BOTH, parse_path, FIELD(tls_ca_file) },
	{ "tls_fingerprint", FOR_BOTH, parse_fingerprint, FIELD(tls_fingerprint) },
	{ "user", FOR_BOTH, parse_string, FIELD(user) },
	{ "password", FOR_BOTH, parse_string, FIELD(password) },
	{ "password_file", FOR_BOTH, parse_path, FIELD(password_file) },
	{ "password_command", FOR_BOTH, parse_string, FIELD(password_command) },
	{ "auth", FOR_BOTH, parse_auth, 0 },
	{ "timeout", FOR_BOTH, parse_timeout, FIELD(timeout) },
	{ "deadline", FOR_BOTH, parse_seconds, FIELD(deadline) },
	{ "from", FOR_SMTP, parse_string, FIELD(from) },
	{ "helo", FOR_SMTP, parse_string, FIELD(helo) },
	{ "aliases", FOR_SMTP, parse_path, FIELD(aliases) },
	{ "domain", FOR_SMTP, parse_string, FIELD(domain) },
	{ "maildir", FOR_POP3, parse_path, FIELD(maildir) },
	{ "keep", FOR_POP3, parse_bool, FIELD(keep) },
	{ "state_dir", FOR_POP3, parse_path, FIELD(state_dir) },
	{ "max_size", FOR_POP3, parse_size, 0 },
};

char *
config_expand_home(const char *path)
{
	const char *home = getenv("HOME");

	if (strncmp(path, "~/", 2) == 0 && home != NULL && *home != '\0')
		return xasprintf("%s/%s", home, path + 2);
	return xstrdup(path);
}

static void
account_init(struct account *a, enum account_kind kind)
{
	memset(a, 0, sizeof *a);
	a->kind = kind;
	a->tls = TLS_MODE_STARTTLS;
	a->tls_verify = true;
	a->auth = AUTH_AUTO;
	a->timeout = 60;
	/* So that a server trickling a byte a minute cannot hold a run
	 * forever: half an hour for one message, six for a mailbox backup. */
	a->deadline = kind == ACCOUNT_SMTP ? 1800 : 21600;
	a->keep = true;
}

static void
account_free(struct account *a)
{
	char **strings[] = {
		&a->name, &a->host, &a->tls_ca_file, &a->tls_fingerprint, &a->user,
		&a->password_file, &a->password_command, &a->from, &a->helo, &a->aliases,
		&a->domain, &a->maildir, &a->state_dir,
	};

	cred_wipe_string(a->password);
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
		free(*strings[i]);
	memset(a, 0, sizeof *a);
}

static int __attribute__((format(printf, 3, 4)))
parse_error(struct parse *p, int line, const char *fmt, ...)
{
	va_list ap;
	char *message;

	if (p->error != NULL)
		return 0;
	va_start(ap, fmt);
	if (vasprintf(&message, fmt, ap) < 0)
		message = NULL;
	va_end(ap);
	p->error = xasprintf("%s:%d: %s", p->path, line, message ? message : fmt);
	free(message);
	return 0;	/* tells inih the line was bad */
}

static const struct key *
find_key(const char *name)
{
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static bool
key_fits(const struct key *k, enum section_kind kind)
{
	switch (kind) {
	case SECTION_DEFAULTS:	return true;
	case SECTION_SMTP:	return k->scope & FOR_SMTP;
	case SECTION_POP3:	return k->scope & FOR_POP3;
	}
	return false;
}

/* "[smtp work]" -> SMTP "work"; NULL for a section we do not know. */
static const char *
split_section_name(const char *section, enum section_kind *kind_r)
{
	if (strcmp(section, "defaults") == 0) {
		*kind_r = SECTION_DEFAULTS;
		return "";
	}
	if (strncmp(section, "smtp ", 5) == 0 && section[5] != '\0') {
		*kind_r = SECTION_SMTP;
		return section + 5;
	}
	if (strncmp(section, "pop3 ", 5) == 0 && section[5] != '\0') {
		*kind_r = SECTION_POP3;
		return section + 5;
	}
	return NULL;
}

static struct section *
find_section(struct parse *p, enum section_kind kind, const char *name)
{
	for (size_t i = 0; i < p->count; i++)
		if (p->sections[i].kind == kind && strcmp(p->sections[i].name, name) == 0)
			return &p->sections[i];
	return NULL;
}

/* Called for each section header line, so that a section without keys of
 * its own (everything inherited) still defines an account. */
static int
open_section(struct parse *p, const char *header)
{
	enum section_kind kind;
	const char *name = split_section_name(header, &kind);

	if (name == NULL)
		return parse_error(p, p->line, "unknown section [%s]; expected [defaults], "
		    "[smtp NAME] or [pop3 NAME]", header);
	if (find_section(p, kind, name) != NULL)
		return parse_error(p, p->line, "section [%s] appears twice", header);
	p->sections = xrealloc(p->sections, (p->count + 1) * sizeof *p->sections);
	p->sections[p->count++] = (struct section){ kind, xstrdup(name), p->line, NULL, 0 };
	return 1;
}

/* Checks the value on a scratch account now, so errors carry their line. */
static const char *
check_value(const struct key *k, enum section_kind kind, const char *value)
{
	struct account scratch;
	const char *err = NULL;

	if (k->parse == NULL)
		return *value == '\0' ? "empty value" : NULL;
	for (int i = ACCOUNT_SMTP; i <= ACCOUNT_POP3 && err == NULL; i++) {
		if (kind != SECTION_DEFAULTS && (int)kind - SECTION_SMTP != i)
			continue;
		if (!(k->scope & (i == ACCOUNT_SMTP ? FOR_SMTP : FOR_POP3)))
			continue;
		account_init(&scratch, i);
		err = k->parse(&scratch, k->offset, value);
		account_free(&scratch);
	}
	return err;
}

/* inih strips " ;..." as a comment; a secret must never be used cut. */
static bool
value_was_cut(const char *raw, const char *value)
{
	const char *start = strpbrk(raw, "=:");
	size_t len;

	if (start == NULL)
		return false;
	start += 1 + strspn(start + 1, " \t");
	len = strlen(start);
	while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
		len--;
	return len != strlen(value) || strncmp(start, value, len) != 0;
}

static int
handle_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	const struct key *k = find_key(name);
	struct section *s = p->count > 0 ? &p->sections[p->count - 1] : NULL;
	const char *err;

	if (*section == '\0' || s == NULL)
		return parse_error(p, p->line, "%s outside a section", name);
	if (p->raw[0] == ' ' || p->raw[0] == '\t')
		return parse_error(p, p->line, "%s: indented continuation lines are not "
		    "supported", name);
	if (k == NULL)
		return parse_error(p, p->line, "unknown key %s", name);
	if (!key_fits(k, s->kind) || (k->scope == DEFAULTS_ONLY && s->kind != SECTION_DEFAULTS))
		return parse_error(p, p->line, "%s does not belong in this section", name);
	for (size_t i = 0; i < s->count; i++)
		if (s->entries[i].key == k)
			return parse_error(p, p->line, "duplicate key %s", name);
	if (strcmp(k->name, "password") == 0 && value_was_cut(p->raw, value))
		return parse_error(p, p->line, "%s: the value contains \" ;\", which starts a "
		    "comment in this file format; use password_file or password_command", name);
	err = check_value(k, s->kind, value);
	if (err != NULL)
		return parse_error(p, p->line, "%s: %s", name, err);
	s->entries = xrealloc(s->entries, (s->count + 1) * sizeof *s->entries);
	s->entries[s->count++] = (struct entry){ k, xstrdup(value), p->line };
	return 1;
}

/* Where a raw line is a section header, the section it opens. */
static void
note_section_header(struct parse *p, const char *raw)
{
	const char *start = raw + strspn(raw, " \t");
	const char *end = strchr(start, ']');

	if (*start != '[' || end == NULL)
		return;
	char *header = xstrndup(start + 1, (size_t)(end - start - 1));

	open_section(p, header);
	free(header);
}

/* inih's line source: whole lines from the file, with their numbers; a line
 * inih would cut is reported and replaced by an empty comment. */
static char *
read_line(char *str, int num, void *stream)
{
	struct parse *p = stream;
	ssize_t len = getline(&p->rawbuf, &p->rawcap, p->file);

	if (len < 0)
		return NULL;
	p->line++;
	p->raw = p->rawbuf;
	while (len > 0 && (p->rawbuf[len - 1] == '\n' || p->rawbuf[len - 1] == '\r'))
		p->rawbuf[--len] = '\0';
	if (len > num - 2) {
		parse_error(p, p->line, "line longer than %d bytes, which the INI parser "
		    "would cut; put long secrets in password_file", num - 2);
		strcpy(str, ";\n");
		return str;
	}
	note_section_header(p, p->rawbuf);
	memcpy(str, p->rawbuf, (size_t)len);
	memcpy(str + len, "\n", 2);
	return str;
}

static int
apply_entries(const struct section *s, struct account *a, const char *path)
{
	int scope = a->kind == ACCOUNT_SMTP ? FOR_SMTP : FOR_POP3;

	for (size_t i = 0; i < s->count; i++) {
		const struct key *k = s->entries[i].key;
		const char *err;

		if (k->parse == NULL || !(k->scope & scope))
			continue;
		err = k->parse(a, k->offset, s->entries[i].value);
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

static int
build_account(const struct parse *p, const struct section *defaults,
	const struct section *s, struct account *a)
{
	account_init(a, s->kind == SECTION_SMTP ? ACCOUNT_SMTP : ACCOUNT_POP3);
	a->name = xstrdup(s->name);
	a->file = p->path;
	a->line = s->line;
	if ((defaults != NULL && apply_entries(defaults, a, p->path) < 0) ||
	    apply_entries(s, a, p->path) < 0)
		return -1;
	if (a->host == NULL)
		return fail(FAIL_CONFIG, "%s:%d: [%s %s]: no host", p->path, s->line,
		    s->kind == SECTION_SMTP ? "smtp" : "pop3", s->name);
	if (a->port == 0)
		a->port = default_port(a);
	return 0;
}

static const struct entry *
section_entry(const struct section *s, const char *name)
{
	for (size_t i = 0; s != NULL && i < s->count; i++)
		if (strcmp(s->entries[i].key->name, name) == 0)
			return &s->entries[i];
	return NULL;
}

static int
build_config(struct parse *p, struct config *cfg)
{
	const struct section *defaults = NULL;
	const struct entry *e;

	for (size_t i = 0; i < p->count; i++)
		if (p->sections[i].kind == SECTION_DEFAULTS)
			defaults = &p->sections[i];
	if ((e = section_entry(defaults, "default_account")) != NULL)
		cfg->default_account = xstrdup(e->value);
	cfg->accounts = xcalloc(p->count, sizeof *cfg->accounts);
	for (size_t i = 0; i < p->count; i++) {
		if (p->sections[i].kind == SECTION_DEFAULTS)
			continue;
		if (build_account(p, defaults, &p->sections[i], &cfg->accounts[cfg->count++]) < 0)
			return -1;
	}
	return 0;
}

/* A file that holds a password must be private to its owner (fstat on the
 * open file, so the check and the read concern the same file). */
static int
check_private(const struct parse *p)
{
	struct stat st;
	bool has_password = false;

	for (size_t i = 0; i < p->count; i++)
		has_password |= section_entry(&p->sections[i], "password") != NULL;
	if (!has_password)
		return 0;
	if (fstat(fileno(p->file), &st) < 0)
		return fail(FAIL_CONFIG, "%s: %s", p->path, strerror(errno));
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return fail(FAIL_AUTH, "%s holds a password but group or others can read it; "
		    "run chmod 600 %s", p->path, p->path);
	return 0;
}

static void
parse_free(struct parse *p)
{
	for (size_t i = 0; i < p->count; i++) {
		for (size_t j = 0; j < p->sections[i].count; j++)
			cred_wipe_string(p->sections[i].entries[j].value);
		free(p->sections[i].entries);
		free(p->sections[i].name);
	}
	free(p->sections);
	if (p->rawbuf != NULL)
		OPENSSL_cleanse(p->rawbuf, p->rawcap);
	free(p->rawbuf);
	free(p->error);
}

/* The accounts point at cfg->path (struct account's file), so the parse
 * uses that copy, which lives as long as the config. */
static int
load_file(const char *path, FILE *f, struct config *cfg)
{
	struct parse p = { .file = f };
	int rc;

	cfg->path = xstrdup(path);
	p.path = cfg->path;
	rc = ini_parse_stream(read_line, &p, handle_key, &p);
	if (p.error == NULL && rc != 0)
		parse_error(&p, rc, "%s", rc < 0 ? "cannot read the file" : "syntax error");
	if (p.error != NULL)
		rc = fail(FAIL_CONFIG, "%s", p.error);
	else
		rc = check_private(&p) < 0 || build_config(&p, cfg) < 0 ? -1 : 0;
	parse_free(&p);
	return rc;
}

static FILE *
open_path(const char *path, char **path_r)
{
	FILE *f = fopen(path, "re");

	*path_r = xstrdup(path);
	if (f == NULL)
		fail(FAIL_CONFIG, "%s: %s", path, strerror(errno));
	return f;
}

/* Opens the first file of the search order; *path_r is the one used.  Only
 * a missing file passes on to the next candidate; an unreadable one is an
 * error, never silently skipped. */
static FILE *
open_config(const char *explicit_path, char **path_r)
{
	const char *env = getenv("MAILPIPE_CONFIG");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char *user_file = NULL;
	FILE *f = NULL;

	if (explicit_path != NULL)
		return open_path(explicit_path, path_r);
	if (env != NULL && *env != '\0')
		return open_path(env, path_r);
	if (xdg != NULL && *xdg == '/')
		user_file = xasprintf("%s/mailpipe/mailpipe.ini", xdg);
	else if (home != NULL && *home != '\0')
		user_file = xasprintf("%s/.config/mailpipe/mailpipe.ini", home);
	if (user_file != NULL && (access(user_file, F_OK) == 0 || errno != ENOENT))
		f = open_path(user_file, path_r);
	else if (access("/etc/mailpipe.ini", F_OK) == 0 || errno != ENOENT)
		f = open_path("/etc/mailpipe.ini", path_r);
	else
		fail(FAIL_CONFIG, "no configuration file: give -C FILE, set MAILPIPE_CONFIG, "
		    "or create ~/.config/mailpipe/mailpipe.ini or /etc/mailpipe.ini");
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
	if (f == NULL) {
		free(path);
		return -1;
	}
	rc = load_file(path, f, cfg);
	fclose(f);
	free(path);
	return rc;
}

int
config_account(const struct config *cfg, enum account_kind kind, const char *name,
	const struct account **acct_r)
{
	const char *kind_name = kind == ACCOUNT_SMTP ? "smtp" : "pop3";
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
		return fail(FAIL_CONFIG, "%s: no [%s %s] section", cfg->path, kind_name, name);
	if (of_kind == 0)
		return fail(FAIL_CONFIG, "%s: no [%s NAME] section", cfg->path, kind_name);
	return fail(FAIL_CONFIG, "%s: several [%s NAME] sections; choose one with -a or "
	    "default_account", cfg->path, kind_name);
}

void
config_endpoint(const struct account *a, struct endpoint *ep)
{
	ep->host = a->host;
	ep->port = a->port;
	ep->tls = a->tls;
	ep->tls_options.verify = a->tls_verify;
	ep->tls_options.ca_file = a->tls_ca_file;
	ep->tls_options.fingerprint = a->tls_fingerprint;
	ep->timing.timeout_ms = a->timeout * 1000;
	ep->timing.deadline_ms = a->deadline > 0 ? clock_now_ms() + a->deadline * 1000LL : 0;
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->count; i++)
		account_free(&cfg->accounts[i]);
	free(cfg->accounts);
	free(cfg->default_account);
	free(cfg->path);
	memset(cfg, 0, sizeof *cfg);
}
