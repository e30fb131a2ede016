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
#include "fs.h"
#include "secret.h"
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

/* What a key's value is.  inih ends every value at " ;" (a comment): that
 * is welcome after a word or a number, but a free-text value cut there
 * would be used shortened (a command, a path, a secret), so it is refused. */
enum {
	KEY_TEXT = 1,		/* free text: a value cut at " ;" is an error */
	KEY_SECRET = 2,		/* a secret: the file holding it must be private */
};

typedef const char *(*value_parser)(struct account *a, size_t offset, const char *value);

struct key {
	const char *name;
	int scope;
	value_parser parse;
	size_t offset;
	int flags;
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
	secret_wipe(*field);
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
	char *path = config_expand_home(value);

	if (path == NULL)
		return "~/ stands for the home directory, but HOME is not set and the user has "
		    "no passwd entry; write the full path";
	return store_string(a, offset, path);
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

/* The longest wait or run we accept: a week. */
#define DURATION_MAX (7 * 86400ULL)

/* The one reading of a time for every key: seconds, or a number with one
 * unit (90, 90s, 15m, 2h, 1d, 1w).  More than max seconds is refused, so
 * nothing can overflow. */
static const char *
parse_duration(const char *value, unsigned long long max, unsigned long long *seconds_r)
{
	static const struct { char unit; unsigned long long scale; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 },
	};
	size_t digits = strspn(value, "0123456789");
	unsigned long long scale = value[digits] == '\0' ? 1 : 0;

	for (size_t i = 0; i < sizeof units / sizeof units[0] && digits > 0; i++)
		if (value[digits] == units[i].unit && value[digits + 1] == '\0')
			scale = units[i].scale;
	if (digits == 0 || scale == 0)
		return "not a duration (use seconds or a number with s, m, h, d or w)";
	if (digits > 19 || strtoull(value, NULL, 10) > max / scale)
		return "too long: at most a week (1w, 604800 seconds)";
	*seconds_r = strtoull(value, NULL, 10) * scale;
	return NULL;
}

static const char *
parse_seconds(struct account *a, size_t offset, const char *value)
{
	unsigned long long n;
	const char *err = parse_duration(value, DURATION_MAX, &n);

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
	if (strcasecmp(value, "off") == 0)
		a->tls = TLS_MODE_OFF;
	else if (strcasecmp(value, "starttls") == 0)
		a->tls = TLS_MODE_STARTTLS;
	else if (strcasecmp(value, "implicit") == 0)
		a->tls = TLS_MODE_IMPLICIT;
	else
		return "expected off, starttls or implicit";
	return NULL;
}

static const char *
parse_auth(struct account *a, size_t offset, const char *value)
{
	enum auth_protocol proto = a->kind == ACCOUNT_SMTP ? AUTH_FOR_SMTP : AUTH_FOR_POP3;

	(void)offset;
	if (auth_method_parse(value, proto, &a->auth) < 0)
		return auth_method_expected(proto);
	return NULL;
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
	{ "default_account", DEFAULTS_ONLY, NULL, 0, KEY_TEXT },
	{ "host", FOR_BOTH, parse_string, FIELD(host), KEY_TEXT },
	{ "port", FOR_BOTH, parse_port, 0, 0 },
	{ "tls", FOR_BOTH, parse_tls, 0, 0 },
	{ "tls_verify", FOR_BOTH, parse_bool, FIELD(tls_verify), 0 },
	{ "tls_ca_file", FOR_BOTH, parse_path, FIELD(tls_ca_file), KEY_TEXT },
	{ "tls_fingerprint", FOR_BOTH, parse_fingerprint, FIELD(tls_fingerprint), 0 },
	{ "user", FOR_BOTH, parse_string, FIELD(user), KEY_TEXT },
	{ "password", FOR_BOTH, parse_string, FIELD(password), KEY_TEXT | KEY_SECRET },
	{ "password_file", FOR_BOTH, parse_path, FIELD(password_file), KEY_TEXT },
	{ "password_command", FOR_BOTH, parse_string, FIELD(password_command), KEY_TEXT },
	{ "auth", FOR_BOTH, parse_auth, 0, 0 },
	{ "timeout", FOR_BOTH, parse_timeout, FIELD(timeout), 0 },
	{ "deadline", FOR_BOTH, parse_seconds, FIELD(deadline), 0 },
	{ "from", FOR_SMTP, parse_string, FIELD(from), KEY_TEXT },
	{ "helo", FOR_SMTP, parse_string, FIELD(helo), KEY_TEXT },
	{ "aliases", FOR_SMTP, parse_path, FIELD(aliases), KEY_TEXT },
	{ "domain", FOR_SMTP, parse_string, FIELD(domain), KEY_TEXT },
	{ "maildir", FOR_POP3, parse_path, FIELD(maildir), KEY_TEXT },
	{ "keep", FOR_POP3, parse_bool, FIELD(keep), 0 },
	{ "state_dir", FOR_POP3, parse_path, FIELD(state_dir), KEY_TEXT },
	{ "max_size", FOR_POP3, parse_size, 0, 0 },
};

char *
config_expand_home(const char *path)
{
	char *home, *expanded;

	if (strncmp(path, "~/", 2) != 0)
		return xstrdup(path);
	if ((home = fs_home_dir()) == NULL)
		return NULL;
	expanded = xasprintf("%s/%s", home, path + 2);
	free(home);
	return expanded;
}

static const char *
kind_name(enum account_kind kind)
{
	return kind == ACCOUNT_SMTP ? "smtp" : "pop3";
}

static bool
key_is_for(const struct key *k, enum account_kind kind)
{
	return k->scope & (kind == ACCOUNT_SMTP ? FOR_SMTP : FOR_POP3);
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

	secret_wipe(a->password);
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

/* The value parsed on a scratch account of that kind: NULL or the error. */
static const char *
check_for(const struct key *k, enum account_kind kind, const char *value)
{
	struct account scratch;
	const char *err;

	account_init(&scratch, kind);
	err = k->parse(&scratch, k->offset, value);
	account_free(&scratch);
	return err;
}

/* Checks the value now, so that errors carry their line.  A [defaults]
 * value has to suit only one of the protocols its key is for (auth = login
 * for SMTP accounts, auth = user for POP3 ones): each account that inherits
 * it checks it again for its own protocol (apply_entries()). */
static int
check_value(struct parse *p, const struct key *k, enum section_kind kind, const char *value)
{
	bool smtp = kind != SECTION_POP3 && key_is_for(k, ACCOUNT_SMTP);
	bool pop3 = kind != SECTION_SMTP && key_is_for(k, ACCOUNT_POP3);
	const char *smtp_err, *pop3_err;

	if (k->parse == NULL)
		return *value == '\0' ? parse_error(p, p->line, "%s: empty value", k->name) : 1;
	smtp_err = smtp ? check_for(k, ACCOUNT_SMTP, value) : NULL;
	pop3_err = pop3 ? check_for(k, ACCOUNT_POP3, value) : NULL;
	if ((smtp && smtp_err == NULL) || (pop3 && pop3_err == NULL))
		return 1;
	if (smtp && pop3 && strcmp(smtp_err, pop3_err) != 0)
		return parse_error(p, p->line, "%s: %s for smtp accounts, %s for pop3 accounts",
		    k->name, smtp_err, pop3_err);
	return parse_error(p, p->line, "%s: %s", k->name, smtp ? smtp_err : pop3_err);
}

/* inih strips " ;..." as a comment; a free-text value must never be used
 * cut. */
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
report_cut(struct parse *p, const struct key *k)
{
	if (k->flags & KEY_SECRET)
		return parse_error(p, p->line, "%s: the value contains \" ;\", which starts a "
		    "comment in this file format; use password_file or password_command", k->name);
	return parse_error(p, p->line, "%s: the value contains \" ;\", which starts a comment "
	    "in this file format and would cut it; write \";\" without a space before it "
	    "(no comment may follow %s)", k->name, k->name);
}

static int
handle_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	const struct key *k = find_key(name);
	struct section *s = p->count > 0 ? &p->sections[p->count - 1] : NULL;

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
	if ((k->flags & KEY_TEXT) && value_was_cut(p->raw, value))
		return report_cut(p, k);
	if (check_value(p, k, s->kind, value) == 0)
		return 0;
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

static const struct entry *
section_entry(const struct section *s, const char *name)
{
	for (size_t i = 0; s != NULL && i < s->count; i++)
		if (strcmp(s->entries[i].key->name, name) == 0)
			return &s->entries[i];
	return NULL;
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

		if (k->parse == NULL || !key_is_for(k, a->kind) ||
		    (own != NULL && section_entry(own, k->name) != NULL))
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

/* OpenSSL opens the CA file by its path (tls.c), so it is checked here
 * with stat(); see mailpipe.ini(5).  A file that is not there is left for
 * OpenSSL to report when the account is used. */
static int
check_ca_file(const struct account *a)
{
	struct stat st;

	if (a->tls_ca_file == NULL || stat(a->tls_ca_file, &st) < 0)
		return 0;
	if (fs_check_trusted(&st, a->tls_ca_file, FS_READERS_ANY) < 0)
		return fail_context("tls_ca_file");
	return 0;
}

static int
build_account(const struct parse *p, const struct section *defaults,
	const struct section *s, struct account *a)
{
	account_init(a, s->kind == SECTION_SMTP ? ACCOUNT_SMTP : ACCOUNT_POP3);
	a->name = xstrdup(s->name);
	a->file = p->path;
	a->line = s->line;
	if ((defaults != NULL && apply_entries(defaults, s, a, p->path) < 0) ||
	    apply_entries(s, NULL, a, p->path) < 0)
		return -1;
	if (a->host == NULL)
		return fail(FAIL_CONFIG, "%s:%d: [%s %s]: no host", p->path, s->line,
		    kind_name(a->kind), s->name);
	if (a->port == 0)
		a->port = default_port(a);
	return check_ca_file(a);
}

static int
build_config(struct parse *p, struct config *cfg)
{
	const struct section *defaults = NULL;
	const struct entry *e;

	for (size_t i = 0; i < p->count; i++)
		if (p->sections[i].kind == SECTION_DEFAULTS)
			defaults = &p->sections[i];
	if ((e = section_entry(defaults, "default_account")) != NULL) {
		cfg->default_account = xstrdup(e->value);
		cfg->default_account_line = e->line;
	}
	cfg->accounts = xcalloc(p->count, sizeof *cfg->accounts);
	for (size_t i = 0; i < p->count; i++) {
		if (p->sections[i].kind == SECTION_DEFAULTS)
			continue;
		if (build_account(p, defaults, &p->sections[i], &cfg->accounts[cfg->count++]) < 0)
			return -1;
	}
	return 0;
}

static bool
holds_secret(const struct parse *p)
{
	for (size_t i = 0; i < p->count; i++)
		for (size_t j = 0; j < p->sections[i].count; j++)
			if (p->sections[i].entries[j].key->flags & KEY_SECRET)
				return true;
	return false;
}

/* A file that holds a secret must be private to its owner (checked on the
 * open file, so the check and the read concern the same file). */
static int
check_private(const struct parse *p)
{
	if (!holds_secret(p))
		return 0;
	return fs_check_trusted_fd(fileno(p->file), p->path, FS_READERS_OWNER);
}

static void
parse_free(struct parse *p)
{
	for (size_t i = 0; i < p->count; i++) {
		for (size_t j = 0; j < p->sections[i].count; j++)
			secret_wipe(p->sections[i].entries[j].value);
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
		account_free(&cfg->accounts[i]);
	free(cfg->accounts);
	free(cfg->default_account);
	free(cfg->path);
	memset(cfg, 0, sizeof *cfg);
}
