/*
 * The mime.types table: read into pairs of (extension, type), looked up by
 * a linear search (a few thousand entries, a few lookups per run).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs.h"
#include "mimetype.h"
#include "xalloc.h"

/* Debian's lines are under 200 octets; a longer one is skipped. */
#define TABLE_LINE_MAX 1024
/* Bounds the work a strange table can cause. */
#define TABLE_ENTRIES_MAX 100000

static const char separators[] = " \t\r\n";

/* A type is "major/minor" of printable ASCII without white space. */
static int
is_media_type(const char *s)
{
	const char *slash = strchr(s, '/');

	if (slash == NULL || slash == s || slash[1] == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~' || *s == ';' || *s == '"')
			return 0;
	return 1;
}

static void
add_entry(struct mimetype_table *t, const char *extension, const char *type)
{
	char *lower;

	if (t->count >= TABLE_ENTRIES_MAX)
		return;
	lower = xstrdup(extension);
	for (char *p = lower; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	t->entries = xgrow(t->entries, &t->alloc, t->count + 1, sizeof *t->entries);
	t->entries[t->count].extension = lower;
	t->entries[t->count].type = xstrdup(type);
	t->count++;
}

static void
parse_line(struct mimetype_table *t, char *line)
{
	char *save = NULL, *type = strtok_r(line, separators, &save), *ext;

	if (type == NULL || type[0] == '#' || !is_media_type(type))
		return;
	while ((ext = strtok_r(NULL, separators, &save)) != NULL && ext[0] != '#')
		add_entry(t, ext, type);
}

void
mimetype_load(const char *path, struct mimetype_table *t)
{
	char line[TABLE_LINE_MAX];
	FILE *f = fs_fopen_regular(path != NULL ? path : MIMETYPE_SYSTEM_TABLE);
	int skipping = 0;

	memset(t, 0, sizeof *t);
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		int whole = strchr(line, '\n') != NULL || feof(f);

		if (!skipping && whole)
			parse_line(t, line);
		skipping = !whole;	/* the rest of an over-long line */
	}
	fclose(f);
}

const char *
mimetype_lookup(const struct mimetype_table *t, const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL || dot == name || dot[1] == '\0')
		return MIMETYPE_DEFAULT;
	for (size_t i = 0; i < t->count; i++)
		if (strcasecmp(t->entries[i].extension, dot + 1) == 0)
			return t->entries[i].type;
	return MIMETYPE_DEFAULT;
}

void
mimetype_free(struct mimetype_table *t)
{
	for (size_t i = 0; i < t->count; i++) {
		free(t->entries[i].extension);
		free(t->entries[i].type);
	}
	free(t->entries);
	memset(t, 0, sizeof *t);
}
