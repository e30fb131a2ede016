/*
 * The crash journal of the fetch state (uidl.h): records appended and
 * fsynced before each rename into new/ (R) and before QUIT (D), read back
 * at the next start; a torn last line (a write a crash cut) is cut off
 * under the lock before anything is appended after it, and is otherwise
 * ignored, because that write never completed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "status.h"
#include "uidl-private.h"
#include "xalloc.h"

static void
push_pending(struct uidl_state *s, const struct journal_record *r)
{
	s->pending = xgrow(s->pending, &s->pending_alloc, s->pending_count + 1,
	    sizeof *s->pending);
	s->pending[s->pending_count++] = *r;
}

static int
corrupt_journal(const char *path, unsigned long lineno)
{
	return fail(FAIL_IO, "%s is corrupt (line %lu: malformed entry); repair or remove "
	    "it", path, lineno);
}

/* Every complete line of a journal; a torn last line (no newline: that
 * write never completed) is ignored. */
static int
read_journal_lines(FILE *fp, const char *path, int version, struct uidl_state *s)
{
	struct journal_record r;
	unsigned long lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;

	while (rc == 0 && (len = getline(&line, &cap, fp)) > 0 && line[len - 1] == '\n') {
		lineno++;
		line[len - 1] = '\0';
		if (journal_parse(line, version, &r))
			push_pending(s, &r);
		else
			rc = corrupt_journal(path, lineno);
	}
	if (rc == 0 && ferror(fp))
		rc = fail(FAIL_IO, "cannot read %s: %s", path, strerror(errno));
	free(line);
	return rc;
}

int
uidl_load_journal(struct uidl_state *s, const char *base, int version)
{
	FILE *fp;
	char *path;
	int rc = uidl_fopen_in_dir(s, base, ".journal", &fp, &path);

	if (rc == 0 && fp != NULL) {
		rc = read_journal_lines(fp, path, version, s);
		fclose(fp);
	}
	free(path);
	return rc;
}

/* The offset just after the journal's last newline (0 if none). */
static int
journal_good_length(struct uidl_state *s, off_t size, off_t *len_r)
{
	char buf[4096];
	off_t end = size;

	while (end > 0) {
		size_t n = end < (off_t)sizeof buf ? (size_t)end : sizeof buf;
		const char *nl;

		if (pread(s->journalfd, buf, n, end - (off_t)n) != (ssize_t)n)
			return fail(FAIL_IO, "cannot read %s: %s", s->journal_path,
			    strerror(errno));
		if ((nl = memrchr(buf, '\n', n)) != NULL) {
			*len_r = end - (off_t)n + (nl - buf) + 1;
			return 0;
		}
		end -= (off_t)n;
	}
	*len_r = 0;
	return 0;
}

/* Opens an existing journal for appending and cuts a torn last line (a
 * write that a crash interrupted), durably, before anything can be
 * appended to it. */
int
uidl_open_existing_journal(struct uidl_state *s)
{
	struct stat st;
	off_t good;

	s->journalfd = uidl_open_in_dir(s, s->base, ".journal", O_RDWR | O_APPEND);
	if (s->journalfd < 0)
		return errno == ENOENT ? 0 : errno == ELOOP ? -1 :
		    fail(FAIL_IO, "cannot open %s: %s", s->journal_path, strerror(errno));
	if (fstat(s->journalfd, &st) < 0)
		return fail(FAIL_IO, "cannot stat %s: %s", s->journal_path, strerror(errno));
	if (journal_good_length(s, st.st_size, &good) < 0)
		return -1;
	if (good == st.st_size)
		return 0;
	if (ftruncate(s->journalfd, good) < 0 || fdatasync(s->journalfd) < 0)
		return fail(FAIL_IO, "cannot cut the torn end of %s: %s", s->journal_path,
		    strerror(errno));
	return 0;
}

/* The journal, for appending.  The first time it is created, the directory
 * is fsynced too: without its directory entry, the records fsynced into it
 * could vanish with it. */
static int
open_journal(struct uidl_state *s)
{
	if (s->journalfd >= 0)
		return 0;
	s->journalfd = uidl_open_in_dir(s, s->base, ".journal", O_WRONLY | O_CREAT | O_EXCL |
	    O_APPEND);
	if (s->journalfd < 0)
		return errno == ELOOP ? -1 : fail(FAIL_IO, "cannot create %s: %s",
		    s->journal_path, strerror(errno));
	if (fsync(s->dirfd) < 0)
		return fail(FAIL_IO, "cannot fsync %s: %s", s->dir, strerror(errno));
	return 0;
}

static int
append_journal(struct uidl_state *s, char *text, size_t len)
{
	int rc = open_journal(s);

	if (rc == 0 && fs_write_all(s->journalfd, text, len) < 0)
		rc = fail(FAIL_IO, "cannot write %s: %s", s->journal_path, strerror(errno));
	if (rc == 0 && fdatasync(s->journalfd) < 0)
		rc = fail(FAIL_IO, "cannot fsync %s: %s", s->journal_path, strerror(errno));
	free(text);
	return rc;
}

int
uidl_journal(struct uidl_state *s, const struct uidl_entry *e, size_t n)
{
	size_t len;
	char *text;

	if (n == 0)
		return 0;
	text = journal_format_retrieved(e, n, &len);
	if (append_journal(s, text, len) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct uidl_entry copy = e[i];

		copy.seen = true;
		uidlset_add_copy(&s->set, &copy);
	}
	return 0;
}

int
uidl_journal_deletes(struct uidl_state *s, char *const *uidls, size_t n)
{
	struct uidl_known *e;
	size_t len;
	char *text;

	if (n == 0)
		return 0;
	text = journal_format_deletes(uidls, n, &len);
	if (append_journal(s, text, len) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((e = uidlset_find(&s->set, uidls[i])) != NULL)
			e->delete_requested = true;
	uidlset_note_change(&s->set);	/* and the journal must be emptied */
	return 0;
}

/* Empties the journal once the state holds all it says.  Fsynced: a
 * journal that a crash kept would bring back entries forgotten since
 * (deleted on the server, their UIDLs free for other messages). */
int
uidl_empty_journal(struct uidl_state *s)
{
	if (s->journalfd < 0)
		return 0;	/* there is none: not at open, and not since */
	if (ftruncate(s->journalfd, 0) < 0 || fdatasync(s->journalfd) < 0)
		return fail(FAIL_IO, "cannot empty %s: %s", s->journal_path, strerror(errno));
	return 0;
}
