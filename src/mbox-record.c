/*
 * The record of an mbox append in flight and the decision what an
 * interrupted one leaves to cut (mbox-record.h).  Text, so that a person
 * who finds one can read it; a checksum line, so that a torn one is not
 * taken for a record.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "mbox-record.h"
#include "status.h"
#include "strbuf.h"
#include "xalloc.h"

#define RECORD_MAGIC "mailpipe-mbox-append 1"
/* A record holds at most a batch: a bigger file is not one of ours. */
#define RECORD_MAX (1024 * 1024)

/* FNV-1a, 64 bits: enough to tell a torn write from a whole one. */
static uint64_t
checksum(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

char *
mbox_record_format(const struct mbox_record *r, size_t *len_r)
{
	struct strbuf b = { 0 };

	strbuf_printf(&b, "%s\npath ", RECORD_MAGIC);
	strbuf_put_escaped(&b, r->path);
	strbuf_printf(&b, "\nmbox %ju %ju\nlock %ju %ju %lld %ld\nstart %lld\n"
	    "fetched %lld\n", (uintmax_t)r->dev, (uintmax_t)r->ino, (uintmax_t)r->lock.dev,
	    (uintmax_t)r->lock.ino, r->lock.mtime_ns, (long)r->lock.pid, r->start, r->fetched);
	for (size_t i = 0; i < r->n; i++) {
		strbuf_printf(&b, "msg %lld ", r->ends[i]);
		strbuf_put_escaped(&b, r->uidls[i]);
		strbuf_append(&b, "\n", 1);
	}
	strbuf_printf(&b, "sum %016" PRIx64 "\n", checksum(b.p, b.len));
	return strbuf_take(&b, len_r);
}

/* ---- parsing ---- */

/* The next line of text[*at..len) without its newline, or NULL at the
 * end or for a last line without one (torn). */
static char *
next_line(const char *text, size_t len, size_t *at)
{
	const char *start = text + *at, *nl = memchr(start, '\n', len - *at);

	if (nl == NULL)
		return NULL;
	*at = (size_t)(nl - text) + 1;
	return xasprintf("%.*s", (int)(nl - start), start);
}

static bool
parse_head(const char *line, int which, struct mbox_record *r)
{
	uintmax_t dev, ino;
	long pid;
	int used = 0;

	switch (which) {
	case 0:
		return strcmp(line, RECORD_MAGIC) == 0;
	case 1:
		if (strncmp(line, "path ", 5) != 0)
			return false;
		r->path = strbuf_unescape(line + 5);
		return r->path != NULL && r->path[0] == '/';
	case 2:
		if (sscanf(line, "mbox %ju %ju%n", &dev, &ino, &used) != 2 || line[used])
			return false;
		r->dev = (dev_t)dev;
		r->ino = (ino_t)ino;
		return true;
	case 3:
		if (sscanf(line, "lock %ju %ju %lld %ld%n", &dev, &ino, &r->lock.mtime_ns, &pid,
		    &used) != 4 || line[used])
			return false;
		r->lock.dev = (dev_t)dev;
		r->lock.ino = (ino_t)ino;
		r->lock.pid = (pid_t)pid;
		return true;
	case 4:
		return sscanf(line, "start %lld%n", &r->start, &used) == 1 && !line[used] &&
		    r->start >= 0;
	default:
		return sscanf(line, "fetched %lld%n", &r->fetched, &used) == 1 && !line[used];
	}
}

static bool
parse_message(const char *line, struct mbox_record *r)
{
	size_t alloc = r->alloc;
	long long end;
	char *uidl;
	int used = 0;

	if (sscanf(line, "msg %lld %n", &end, &used) != 1 || used == 0 || line[used] == '\0')
		return false;
	if (end < (r->n > 0 ? r->ends[r->n - 1] : r->start))
		return false;
	uidl = strbuf_unescape(line + used);
	if (uidl == NULL)
		return false;
	r->ends = xgrow(r->ends, &r->alloc, r->n + 1, sizeof *r->ends);
	r->uidls = xgrow(r->uidls, &alloc, r->n + 1, sizeof *r->uidls);
	r->ends[r->n] = end;
	r->uidls[r->n++] = uidl;
	return true;
}

/* The sum line at body_end must cover text[0..body_end) and end it. */
static bool
sum_matches(const char *line, const char *text, size_t body_end, size_t at, size_t len)
{
	uint64_t want;
	int used = 0;

	return at == len && sscanf(line, "sum %" SCNx64 "%n", &want, &used) == 1 &&
	    !line[used] && want == checksum(text, body_end);
}

static bool
parse_lines(const char *text, size_t len, struct mbox_record *r)
{
	size_t at = 0, before = 0;
	bool ok = true;
	char *line;

	for (int i = 0; ok && i < 6; i++) {
		line = next_line(text, len, &at);
		ok = line != NULL && parse_head(line, i, r);
		free(line);
	}
	while (ok && (before = at, line = next_line(text, len, &at)) != NULL) {
		if (strncmp(line, "sum ", 4) == 0) {
			ok = sum_matches(line, text, before, at, len);
			free(line);
			return ok;
		}
		ok = parse_message(line, r);
		free(line);
	}
	return false;
}

int
mbox_record_parse(const char *text, size_t len, struct mbox_record *r)
{
	*r = (struct mbox_record){ 0 };
	if (len == 0 || parse_lines(text, len, r))
		return len == 0 ? 0 : 1;
	mbox_record_free(r);
	return 0;
}

void
mbox_record_free(struct mbox_record *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->uidls[i]);
	free(r->uidls);
	free(r->ends);
	free(r->path);
	*r = (struct mbox_record){ 0 };
}

/* ---- the file ---- */

/* A new record's name made durable: without it, a power loss could
 * take the record away with the append it names in flight. */
static int
sync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? xstrdup(".") : slash == path ? xstrdup("/") :
	    xasprintf("%.*s", (int)(slash - path), path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd >= 0 && fsync(fd) == 0 ? 0 : fail(FAIL_IO, "cannot fsync %s: %s", dir,
	    strerror(errno));

	fs_close(fd);
	free(dir);
	return rc;
}

int
mbox_record_open(const char *path, int *fd_r)
{
	int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
	int fd = open(path, flags | O_CREAT | O_EXCL, 0600);
	bool created = fd >= 0;

	if (fd < 0 && errno == EEXIST)
		fd = open(path, flags);
	if (fd < 0)
		return fail(FAIL_IO, "cannot open %s (the record of mbox appends): %s", path,
		    strerror(errno));
	if (created && sync_dir_of(path) < 0) {
		close(fd);
		return -1;
	}
	*fd_r = fd;
	return 0;
}

static int
record_failure(const char *path)
{
	return fail(FAIL_IO, "cannot write %s (the record of mbox appends): %s", path,
	    strerror(errno));
}

int
mbox_record_write(int fd, const char *path, const struct mbox_record *r)
{
	size_t len;
	char *text = mbox_record_format(r, &len);
	int rc = 0;

	if (pwrite(fd, text, len, 0) != (ssize_t)len || ftruncate(fd, (off_t)len) < 0 ||
	    fdatasync(fd) < 0)
		rc = record_failure(path);
	free(text);
	return rc;
}

int
mbox_record_clear(int fd, const char *path)
{
	if (ftruncate(fd, 0) < 0 || fdatasync(fd) < 0)
		return record_failure(path);
	return 0;
}

int
mbox_record_read(int fd, const char *path, struct mbox_record *r)
{
	struct stat st;
	char *text;
	ssize_t n;
	int rc;

	*r = (struct mbox_record){ 0 };
	if (fstat(fd, &st) < 0)
		return fail(FAIL_IO, "%s: %s", path, strerror(errno));
	if (st.st_size == 0 || st.st_size > RECORD_MAX)
		return 0;
	text = xmalloc((size_t)st.st_size);
	n = pread(fd, text, (size_t)st.st_size, 0);
	if (n < 0) {
		free(text);
		return fail(FAIL_IO, "cannot read %s: %s", path, strerror(errno));
	}
	rc = mbox_record_parse(text, (size_t)n, r);
	free(text);
	return rc;
}

/* ---- the decision ---- */

/* A UIDL of the record in the state is not proof enough: when the server
 * reused the UIDL of a message retrieved before (plan_settle(), not the
 * same message), the old entry stays in the state until it is saved, and
 * a partial append of the new message would count as committed.  An
 * entry this append journaled says "=mbox" and carries the time written
 * in the record, which an entry of an earlier run does not (it was
 * journaled before this append's record existed, in an earlier second,
 * or by another target). */
static bool
journaled_by(const struct mbox_record *r, const char *file, const struct uidl_known *e)
{
	return e != NULL && uidlset_target(e) != NULL && strcmp(uidlset_target(e), file) == 0 &&
	    e->fetched == r->fetched;
}

size_t
mbox_record_committed(const struct mbox_record *r, struct uidl_set *set,
	const char *file)
{
	size_t k = 0;

	while (k < r->n && journaled_by(r, file, uidlset_find(set, r->uidls[k])))
		k++;
	return k;
}

enum mbox_repair
mbox_repair_decide(const struct mbox_record *r, const struct mbox_found *f,
	long long *cut_r, const char **why_r)
{
	size_t done = f->committed < r->n ? f->committed : r->n;
	long long cut = done == 0 ? r->start : r->ends[done - 1];
	long long end = r->n > 0 ? r->ends[r->n - 1] : r->start;

	*cut_r = cut;
	*why_r = NULL;
	if (cut >= end)
		return MBOX_REPAIR_NONE;
	if (!f->exists)
		*why_r = "the file is gone";
	else if (f->dev != r->dev || f->ino != r->ino)
		*why_r = "another file was put in its place";
	else if (f->size < cut)
		*why_r = "it is shorter than before the append: another program changed it";
	else if (f->size == cut)
		return MBOX_REPAIR_NONE;
	else if (f->size > end)
		*why_r = "another program appended to it since";
	else if (!f->lock_ours)
		*why_r = "its lock was taken by another program since, which may have written "
		    "to it";
	return *why_r != NULL ? MBOX_REPAIR_LEAVE : MBOX_REPAIR_CUT;
}
