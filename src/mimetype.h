/*
 * The media type of an attachment from its file name, as the system's
 * table says (/etc/mime.types, Debian's media-types package: "type ext
 * ext ..." lines).  The table is read once per run; a missing or
 * unreadable table is no error, every file is then
 * application/octet-stream, which any reader can save.
 */
#ifndef MAILPIPE_MIMETYPE_H
#define MAILPIPE_MIMETYPE_H

#include <stddef.h>

#define MIMETYPE_SYSTEM_TABLE "/etc/mime.types"
#define MIMETYPE_DEFAULT "application/octet-stream"

struct mimetype_entry {
	char *extension;	/* lower case, without the dot */
	char *type;
};

struct mimetype_table {
	struct mimetype_entry *entries;
	size_t count;
	size_t alloc;
};

/* Reads the table at path (NULL: MIMETYPE_SYSTEM_TABLE).  Lines longer
 * than a line buffer and malformed lines are skipped; the first type
 * named for an extension wins.  Never fails. */
void mimetype_load(const char *path, struct mimetype_table *t);
/* The type of a file called name, by the extension after its last dot,
 * compared without regard to case; MIMETYPE_DEFAULT when the table has
 * none.  The string belongs to the table. */
const char *mimetype_lookup(const struct mimetype_table *t, const char *name);
void mimetype_free(struct mimetype_table *t);

#endif
