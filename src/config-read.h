/*
 * Inside the config module: mailpipe.ini read with inih into its sections
 * and their entries, every key checked on the line it stands on.  Turning
 * sections into accounts is config.c's.  Not for use outside config*.c.
 */
#ifndef MAILPIPE_CONFIG_READ_H
#define MAILPIPE_CONFIG_READ_H

#include <stddef.h>
#include <stdio.h>

#include "config-keys.h"

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
	size_t count, alloc;
};

/* The sections in the order of the file. */
struct config_file {
	struct section *sections;
	size_t count, alloc;
};

/* Reads f (called path in messages) into *cf, which starts zeroed.  Each
 * key is checked as it arrives: known, in the right section, not a
 * duplicate, a valid value, not cut by a comment, on a line inih would
 * not cut.  0, or -1 with FAIL_CONFIG "PATH:LINE: ..." for the first
 * error; either way config_file_free() releases *cf. */
int config_read(const char *path, FILE *f, struct config_file *cf);
/* The entry of s for the key called name, or NULL (s may be NULL). */
const struct entry *config_section_entry(const struct section *s, const char *name);
/* Frees the sections, wiping every value (one may be a password). */
void config_file_free(struct config_file *cf);

#endif
