/*
 * mailpipe.ini, read with inih.
 *
 * inih is fed through our own line reader so that we know the line number of
 * every key (Debian builds inih without INI_HANDLER_LINENO) and can refuse
 * the lines inih would silently cut at INI_MAX_LINE, instead of using a
 * truncated value.  Keys are checked as they arrive (known key, right
 * section, not a duplicate, valid value); accounts are assembled later
 * (config.c), [defaults] first, so [defaults] may stand anywhere in the file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>
#include <openssl/crypto.h>

#include "config-read.h"
#include "secret.h"
#include "status.h"
#include "xalloc.h"

struct parse {
	const char *path;
	FILE *file;
	int line;			/* of the line inih is handling */
	const char *raw;		/* that line as it is in the file */
	char *rawbuf;
	size_t rawcap;
	struct config_file *out;
	char *error;			/* the first error, "FILE:LINE: ..." */
};

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
	const struct config_file *cf = p->out;

	for (size_t i = 0; i < cf->count; i++)
		if (cf->sections[i].kind == kind && strcmp(cf->sections[i].name, name) == 0)
			return &cf->sections[i];
	return NULL;
}

/* Called for each section header line, so that a section without keys of
 * its own (everything inherited) still defines an account. */
static int
open_section(struct parse *p, const char *header)
{
	struct config_file *cf = p->out;
	enum section_kind kind;
	const char *name = split_section_name(header, &kind);

	if (name == NULL)
		return parse_error(p, p->line, "unknown section [%s]; expected [defaults], "
		    "[smtp NAME] or [pop3 NAME]", header);
	if (find_section(p, kind, name) != NULL)
		return parse_error(p, p->line, "section [%s] appears twice", header);
	cf->sections = xgrow(cf->sections, &cf->alloc, cf->count + 1, sizeof *cf->sections);
	cf->sections[cf->count++] = (struct section){ .kind = kind, .name = xstrdup(name),
	    .line = p->line };
	return 1;
}

/* Checks the value now, so that errors carry their line.  A [defaults]
 * value has to suit only one of the protocols its key is for (auth = login
 * for SMTP accounts, auth = user for POP3 ones): each account that inherits
 * it checks it again for its own protocol (apply_entries() in config.c). */
static int
check_value(struct parse *p, const struct key *k, enum section_kind kind, const char *value)
{
	bool smtp = kind != SECTION_POP3 && config_key_is_for(k, ACCOUNT_SMTP);
	bool pop3 = kind != SECTION_SMTP && config_key_is_for(k, ACCOUNT_POP3);
	const char *smtp_err, *pop3_err;

	if (k->parse == NULL)
		return *value == '\0' ? parse_error(p, p->line, "%s: empty value", k->name) : 1;
	smtp_err = smtp ? config_key_check(k, ACCOUNT_SMTP, value) : NULL;
	pop3_err = pop3 ? config_key_check(k, ACCOUNT_POP3, value) : NULL;
	if ((smtp && smtp_err == NULL) || (pop3 && pop3_err == NULL))
		return 1;
	if (smtp && pop3 && strcmp(smtp_err, pop3_err) != 0)
		return parse_error(p, p->line, "%s: %s for smtp accounts, %s for pop3 accounts",
		    k->name, smtp_err, pop3_err);
	return parse_error(p, p->line, "%s: %s", k->name, smtp ? smtp_err : pop3_err);
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
	const struct key *k = config_key(name);
	struct config_file *cf = p->out;
	struct section *s = cf->count > 0 ? &cf->sections[cf->count - 1] : NULL;

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
	if ((k->flags & KEY_TEXT) && config_value_was_cut(p->raw, value))
		return report_cut(p, k);
	if (check_value(p, k, s->kind, value) == 0)
		return 0;
	s->entries = xgrow(s->entries, &s->alloc, s->count + 1, sizeof *s->entries);
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

int
config_read(const char *path, FILE *f, struct config_file *cf)
{
	struct parse p = { .path = path, .file = f, .out = cf };
	int rc = ini_parse_stream(read_line, &p, handle_key, &p);

	if (p.error == NULL && rc != 0)
		parse_error(&p, rc, "%s", rc < 0 ? "cannot read the file" : "syntax error");
	rc = p.error != NULL ? fail(FAIL_CONFIG, "%s", p.error) : 0;
	if (p.rawbuf != NULL)
		OPENSSL_cleanse(p.rawbuf, p.rawcap);
	free(p.rawbuf);
	free(p.error);
	return rc;
}

const struct entry *
config_section_entry(const struct section *s, const char *name)
{
	for (size_t i = 0; s != NULL && i < s->count; i++)
		if (strcmp(s->entries[i].key->name, name) == 0)
			return &s->entries[i];
	return NULL;
}

void
config_file_free(struct config_file *cf)
{
	for (size_t i = 0; i < cf->count; i++) {
		for (size_t j = 0; j < cf->sections[i].count; j++)
			secret_wipe(cf->sections[i].entries[j].value);
		free(cf->sections[i].entries);
		free(cf->sections[i].name);
	}
	free(cf->sections);
	memset(cf, 0, sizeof *cf);
}
