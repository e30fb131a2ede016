/*
 * A small scanner for RFC 5322 address lists.  It finds, for each element,
 * the addr-spec and the place where "@domain" would go, which is all that
 * both extraction (-t) and qualification (cron's "To: root") need; display
 * names, comments and quoted strings are stepped over, never rewritten.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "fs.h"
#include "status.h"
#include "strbuf.h"
#include "xalloc.h"

/* The longest address taken: one that fills a line (RFC 5322 2.1.1) could
 * not be written in a header field, let alone an SMTP command; a longer
 * one is refused, never cut. */
#define ADDR_MAX 998

struct element {
	char addr[ADDR_MAX + 1];
	size_t length;
	bool too_long;		/* never cut an address: refuse it */
	size_t insert_at;	/* where "@domain" belongs in the list */
	size_t end;		/* index of the separator or the end */
};

static void
append(struct element *e, char ch)
{
	if (e->length < ADDR_MAX)
		e->addr[e->length++] = ch;
	else
		e->too_long = true;
}

/* Steps over a comment, nested ones included; returns the index after it. */
static size_t
skip_comment(const char *s, size_t i)
{
	int depth = 0;

	for (; s[i] != '\0'; i++) {
		if (s[i] == '\\' && s[i + 1] != '\0')
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return i;
}

/* Copies a quoted string into the address; returns the index after it. */
static size_t
take_quoted(const char *s, size_t i, struct element *e)
{
	append(e, s[i++]);
	for (; s[i] != '\0' && s[i] != '"'; i++) {
		if (s[i] == '\\' && s[i + 1] != '\0')
			append(e, s[i++]);
		append(e, s[i]);
	}
	if (s[i] == '"')
		append(e, s[i++]);
	return i;
}

static size_t
scan_element(const char *s, size_t i, struct element *e)
{
	bool in_angle = false, angle_done = false;

	memset(e, 0, sizeof *e);
	while (s[i] != '\0' && (in_angle || (s[i] != ',' && s[i] != ';'))) {
		char ch = s[i];

		if (ch == '(') {
			i = skip_comment(s, i);
		} else if (ch == '"' && !angle_done) {
			i = take_quoted(s, i, e);
			e->insert_at = i;
		} else if (ch == '<' && !in_angle) {
			in_angle = true;
			e->length = 0;	/* what came before was a display name */
			i++;
		} else if (ch == '>' && in_angle) {
			in_angle = false;
			angle_done = true;
			e->insert_at = i++;
		} else if (ch == ':' && !in_angle) {
			e->length = 0;	/* "group-name:" */
			i++;
		} else if (isspace((unsigned char)ch) || angle_done) {
			i++;
		} else {
			append(e, ch);
			e->insert_at = ++i;
		}
	}
	e->addr[e->length] = '\0';
	e->end = i;
	return s[i] != '\0' ? i + 1 : i;
}

void
address_list_extract(const char *list, struct strlist *out)
{
	struct element e;

	for (size_t i = 0; list[i] != '\0';) {
		i = scan_element(list, i, &e);
		if (e.too_long)
			strlist_push(out, "<address too long>");	/* not sendable */
		else if (e.length > 0)
			strlist_push(out, e.addr);
	}
}

char *
address_list_qualify(const char *list, const char *domain)
{
	struct strbuf out = { 0 };
	size_t done = 0;
	struct element e;

	for (size_t i = 0; list[i] != '\0';) {
		i = scan_element(list, i, &e);
		if (e.length == 0 || e.too_long || strchr(e.addr, '@') != NULL)
			continue;
		strbuf_append(&out, list + done, e.insert_at - done);
		strbuf_printf(&out, "@%s", domain);
		done = e.insert_at;
	}
	strbuf_append(&out, list + done, strlen(list + done));
	return strbuf_take(&out, NULL);
}

bool
address_is_sendable(const char *addr)
{
	if (*addr == '\0' || strlen(addr) > ADDR_MAX)
		return false;
	for (const char *p = addr; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == 0x7f)
			return false;
	return true;
}

/* The addresses for name in the aliases file, or for "default". */
static int
lookup_alias(FILE *f, const char *name, struct strlist *out)
{
	struct strlist fallback = { 0 };
	char *line = NULL;
	size_t cap = 0;

	rewind(f);
	while (getline(&line, &cap, f) > 0 && out->count == 0) {
		char *colon = strchr(line, ':');
		char *key = line + strspn(line, " \t");

		if (*key == '#' || colon == NULL)
			continue;
		*colon = '\0';
		key[strcspn(key, " \t")] = '\0';
		if (strcasecmp(key, name) == 0)
			address_list_extract(colon + 1, out);
		else if (strcasecmp(key, "default") == 0 && fallback.count == 0)
			address_list_extract(colon + 1, &fallback);
	}
	free(line);
	for (size_t i = 0; out->count == 0 && i < fallback.count; i++)
		strlist_push(out, fallback.items[i]);
	strlist_free(&fallback);
	return 0;
}

/* Opens the aliases file and checks the file opened: whoever can change it
 * can read the mail sent to local names. */
static int
open_aliases(const char *path, FILE **f_r)
{
	*f_r = fs_fopen_regular(path);
	if (*f_r == NULL)
		return fail(FAIL_NOINPUT, "aliases file %s: %s", path, fs_open_error(errno));
	if (fs_check_trusted_fd(fileno(*f_r), path, FS_READERS_ANY) < 0) {
		fclose(*f_r);
		*f_r = NULL;
		return fail_context("aliases file");
	}
	return 0;
}

/* Adds addr, with "@domain" when it is a bare local name and there is a
 * domain, unless the list has it already. */
static void
push_qualified(struct strlist *l, const char *addr, const char *domain)
{
	char *q = strchr(addr, '@') == NULL && domain != NULL
	    ? xasprintf("%s@%s", addr, domain) : xstrdup(addr);

	strlist_push_unique(l, q);
	free(q);
}

int
address_resolve(struct strlist *rcpts, const char *aliases_path, const char *domain)
{
	FILE *aliases = NULL;
	struct strlist resolved = { 0 };

	if (aliases_path != NULL && open_aliases(aliases_path, &aliases) < 0)
		return -1;
	for (size_t i = 0; i < rcpts->count; i++) {
		struct strlist mapped = { 0 };
		const char *r = rcpts->items[i];

		if (strchr(r, '@') == NULL && aliases != NULL)
			lookup_alias(aliases, r, &mapped);
		if (mapped.count == 0)
			strlist_push(&mapped, r);
		for (size_t j = 0; j < mapped.count; j++)
			push_qualified(&resolved, mapped.items[j], domain);
		strlist_free(&mapped);
	}
	if (aliases != NULL)
		fclose(aliases);
	strlist_free(rcpts);
	*rcpts = resolved;
	for (size_t i = 0; i < rcpts->count; i++)
		if (!address_is_sendable(rcpts->items[i]))
			return fail(FAIL_USAGE, "invalid recipient address: %s", rcpts->items[i]);
	return 0;
}
