/*
 * Maildir delivery: a message file, from its creation to its commit in
 * new/ (the directory itself is maildir.c's).
 *
 * Why this order: a reader only ever looks at new/ and cur/, so a message
 * becomes visible when it gets its name in new/ and not before; that link
 * (or rename) is atomic, so a reader sees the whole file or nothing.  The
 * content is made durable before the name is given (otherwise a crash
 * could leave a visible but empty file), and new/ is fsynced after it
 * (otherwise a crash could undo the name after the server was told to
 * delete the message).  Most deliverers skip the second fsync; it is what
 * makes "DELE only after commit" mean something.
 *
 * Where the file system has O_TMPFILE, a message is written into an
 * unnamed file made in tmp/ and linkat() gives it its one name, in new/:
 * one directory operation per message instead of a create in tmp/ and a
 * rename out of it.  Elsewhere (found out once per run by a probe) the
 * classic way: a named file in tmp/, renamed into new/.  The name is
 * chosen when the file is made in both cases, so that the journal can
 * record it before the file is visible.
 *
 * Durability of a batch: one syncfs() when it holds 8 messages or more,
 * an fdatasync() of each file when fewer; then, after the names, one fsync
 * of new/.  An fdatasync() of each file of a large batch was measured
 * (doc/ARCHITECTURE.md, "Durability of a batch"): each one flushes the
 * disk's write cache, which made a fetch of 3,000 small messages several
 * times slower, while what syncfs() also writes for others (30 MB left
 * dirty just before) cost it tens of milliseconds once.  An fdatasync()
 * of each file submitted side by side on an io_uring (one journal commit,
 * flushes merged; write-back started at every message's end) was built
 * and measured too: 3,000 x 10 KB took 0.73 s of client CPU against
 * syncfs()'s 0.23 s (1.55 s against 0.86 s), and 2.51 s against 1.26 s
 * right after 30 MB were left dirty (scripts/bench-fetch --dirty 30,
 * medians of 3, 2026-12-07): syncfs() stays.  Write-back of a long message
 * is started as it is written (sync_file_range), so that its sync finds
 * little left to do.
 *
 * What a SIGKILL leaves, at each step of a batch (uidl.c replays the
 * journal at the next start: an R record counts when its file is in new/
 * or cur/, and is dropped otherwise):
 *   writing or syncing the files, before the journal append: no record;
 *     an unnamed file vanishes with the process (after a power loss the
 *     file system frees it at mount), a named one stays in tmp/ until
 *     clean_stale_tmp() of the next run; the messages are fetched again;
 *   journal appended, a file not yet linked: its record is dropped, it is
 *     fetched again;
 *   a file linked, new/ not yet fsynced: after a SIGKILL the link is
 *     there and the record counts (its content was durable before it was
 *     linked); after a power loss the link may be gone, and then so is
 *     the record's claim: fetched again, never twice;
 *   new/ fsynced: committed; DELE is only ever sent after this point.
 *
 * linkat() never replaces a name, and RENAME_NOREPLACE keeps the classic
 * rename from it, so that a name collision, which the naming rules make
 * impossible, could still never overwrite a delivered message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "fs.h"
#include "maildir-private.h"
#include "status.h"
#include "xalloc.h"

/* Batches at least this large are made durable with one syncfs(): each
 * fdatasync costs a flush of the disk's write cache (~4 ms on the virtual
 * disk measured), a syncfs for 64 small files ~15 ms in all, ~45 ms right
 * after another process wrote 30 MB. */
#define SYNCFS_MIN_BATCH 8
/* Write-back of a long message is started every this many octets, so
 * that the batch's sync finds little of it left to write. */
#define WRITEBACK_STEP (1024 * 1024)
/* A name is unique by its time, pid and sequence number; should it exist
 * all the same (a clock stepped back onto a name an earlier process with
 * this pid made), the next try takes the next sequence number. */
#define NAME_TRIES 5

/* A message file's progress; NAMED is in new/ but not yet durable there. */
enum file_state { FILE_WRITING, FILE_ENDED, FILE_SYNCED, FILE_NAMED, FILE_COMMITTED };



struct maildir_msg {
	struct maildir *md;
	enum file_state state;
	int fd;
	bool unnamed;			/* O_TMPFILE: no name until linked */
	unsigned long long size;
	unsigned long long written;	/* octets written to the file */
	unsigned long long written_back;	/* write-back started up to here */
	char name[MAILDIR_NAME_MAX];
};

static void
make_name(struct maildir *md, char *name, size_t size)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	md->seq++;
	snprintf(name, size, "%lld.M%06ldP%ldQ%luR%016llx.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, md->pid, md->seq, (unsigned long long)md->random,
	    md->host);
}

/* An unnamed file in tmp/ (O_TMPFILE), or -1 with errno set. */
static int
open_unnamed(const struct maildir *md)
{
	return openat(md->tmpfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
}

/* Gives the unnamed file fd the name dirfd/name.  linkat() with
 * AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH and fails with ENOENT without
 * it; the file's /proc/self/fd link works for anyone.  Which one works is
 * remembered for the run. */
static int
link_unnamed(struct maildir *md, int fd, int dirfd, const char *name)
{
	char proc[32];

	if (!md->link_by_proc) {
		if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0)
			return 0;
		if (errno != ENOENT && errno != EPERM)
			return -1;
		md->link_by_proc = true;
	}
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW);
}

/* Unnamed files are used only when one can be made and given a name here
 * (not every file system has O_TMPFILE; the /proc link needs /proc): a
 * probe file, linked into tmp/ and removed, finds out before any message
 * is written into a file that could then not be named. */
static void
probe_unnamed(struct maildir *md)
{
	char name[MAILDIR_NAME_MAX];
	int fd = open_unnamed(md);

	md->unnamed = UNNAMED_NO;
	if (fd < 0)
		return;
	make_name(md, name, sizeof name);
	if (link_unnamed(md, fd, md->tmpfd, name) == 0) {
		md->unnamed = UNNAMED_YES;
		unlinkat(md->tmpfd, name, 0);
	}
	close(fd);
}

static int
create_in_tmp(struct maildir_msg *m)
{
	struct maildir *md = m->md;

	for (int tries = 0; tries < NAME_TRIES; tries++) {
		make_name(md, m->name, sizeof m->name);
		m->fd = openat(md->tmpfd, m->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600);
		if (m->fd >= 0 || errno != EEXIST)
			break;
	}
	return m->fd;
}

/* The name is taken now, for the journal; new/ is checked for it when the
 * file is linked (linkat() fails with EEXIST rather than replace). */
static int
create_unnamed(struct maildir_msg *m)
{
	make_name(m->md, m->name, sizeof m->name);
	m->unnamed = true;
	m->fd = open_unnamed(m->md);
	return m->fd;
}

int
maildir_msg_begin(struct maildir *md, struct maildir_msg **m_r)
{
	struct maildir_msg *m;

	if (md->tmpfd < 0)
		return fail(FAIL_CANTCREAT, "Maildir %s does not exist", md->path);
	if (md->unnamed == UNNAMED_UNKNOWN)
		probe_unnamed(md);
	m = xcalloc(1, sizeof *m);
	m->md = md;
	md->buflen = 0;
	if ((md->unnamed == UNNAMED_YES ? create_unnamed(m) : create_in_tmp(m)) < 0) {
		fail(FAIL_IO, "cannot create %s/tmp/%s: %s", md->path, m->name,
		    strerror(errno));
		free(m);
		return -1;
	}
	*m_r = m;
	return 0;
}

/* Starts write-back of a long message every WRITEBACK_STEP octets, and of
 * its tail at its end, so that the disk works while the rest arrives and
 * dirty pages stay few; a short message is left to the batch's syncfs(),
 * which writes a batch of them at once without a system call each.  Only
 * a hint: an I/O error is met again by the sync, and where the file
 * system lacks it, the sync does the whole work. */
static void
start_writeback(struct maildir_msg *m, bool at_end)
{
	unsigned long long pending = m->written - m->written_back;

	if (pending == 0 || (pending < WRITEBACK_STEP && !(at_end && m->written_back > 0)))
		return;
	sync_file_range(m->fd, (off_t)m->written_back, (off_t)pending,
	    SYNC_FILE_RANGE_WRITE);
	m->written_back = m->written;
}

static int
write_all(struct maildir_msg *m, const char *p, size_t n)
{
	if (fs_write_all(m->fd, p, n) < 0)
		return fail(FAIL_IO, "cannot write %s/tmp/%s: %s", m->md->path, m->name,
		    strerror(errno));
	m->written += n;
	start_writeback(m, false);
	return 0;
}

static int
flush_buffer(struct maildir_msg *m)
{
	struct maildir *md = m->md;
	size_t n = md->buflen;

	md->buflen = 0;
	return write_all(m, md->buf, n);
}

int
maildir_msg_write(struct maildir_msg *m, const void *p, size_t n)
{
	struct maildir *md = m->md;

	m->size += n;
	if (md->buflen + n > sizeof md->buf && flush_buffer(m) < 0)
		return -1;
	if (n >= sizeof md->buf)
		return write_all(m, p, n);
	memcpy(md->buf + md->buflen, p, n);
	md->buflen += n;
	return 0;
}

int
maildir_msg_end(struct maildir_msg *m)
{
	if (flush_buffer(m) < 0)
		return -1;
	start_writeback(m, true);
	m->state = FILE_ENDED;
	return 0;
}

const char *
maildir_msg_name(const struct maildir_msg *m)
{
	return m->name;
}

unsigned long long
maildir_msg_size(const struct maildir_msg *m)
{
	return m->size;
}

/* Closes a named file, whose rename needs no descriptor; an unnamed one
 * stays open until linkat() has given it its name. */
static int
file_synced(struct maildir_msg *m, bool do_sync)
{
	int rc = 0;

	if (do_sync && fdatasync(m->fd) < 0)
		rc = fail(FAIL_IO, "cannot fsync %s/tmp/%s: %s", m->md->path, m->name,
		    strerror(errno));
	if (rc == 0 && !m->unnamed && close(m->fd) < 0)
		rc = fail(FAIL_IO, "cannot close %s/tmp/%s: %s", m->md->path, m->name,
		    strerror(errno));
	if (rc == 0 && !m->unnamed)
		m->fd = -1;
	if (rc == 0)
		m->state = FILE_SYNCED;
	return rc;
}

int
maildir_sync_batch(struct maildir *md, struct maildir_msg *const *msgs, size_t n)
{
	bool each = n < SYNCFS_MIN_BATCH;

	if (!each && syncfs(md->tmpfd) < 0)
		return fail(FAIL_IO, "cannot sync Maildir %s: %s", md->path, strerror(errno));
	for (size_t i = 0; i < n; i++)
		if (msgs[i]->state == FILE_ENDED && file_synced(msgs[i], each) < 0)
			return -1;
	return 0;
}

static int
rename_into_new(struct maildir_msg *m)
{
	struct maildir *md = m->md;
	int rc = renameat2(md->tmpfd, m->name, md->newfd, m->name, RENAME_NOREPLACE);

	if (rc < 0 && errno == EINVAL)
		rc = renameat(md->tmpfd, m->name, md->newfd, m->name);
	if (rc < 0)
		return fail(FAIL_IO, "cannot rename %s/tmp/%s into new/: %s", md->path,
		    m->name, strerror(errno));
	return 0;
}

/* Gives a synced file its name in new/: the link of an unnamed file (then
 * closed: it has its name), or the rename out of tmp/. */
static int
name_in_new(struct maildir_msg *m)
{
	struct maildir *md = m->md;

	if (m->state != FILE_SYNCED)
		return fail(FAIL_IO, "internal error: commit of an unsynced message");
	if (!m->unnamed && rename_into_new(m) < 0)
		return -1;
	if (m->unnamed && link_unnamed(md, m->fd, md->newfd, m->name) < 0)
		return fail(FAIL_IO, "cannot link %s/new/%s: %s", md->path, m->name,
		    strerror(errno));
	if (m->unnamed)
		fs_close(m->fd);
	m->fd = -1;
	m->state = FILE_NAMED;
	return 0;
}

/* The names may not survive a crash: take the files out of new/ again, so
 * that nothing the caller will not record stays visible (it would be
 * fetched a second time).  The server still has every one of them. */
static void
roll_back(struct maildir_msg *const *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unlinkat(msgs[i]->md->newfd, msgs[i]->name, 0);
		msgs[i]->state = FILE_SYNCED;	/* in neither tmp/ nor new/ */
	}
}

int
maildir_commit_batch(struct maildir *md, struct maildir_msg *const *msgs, size_t n)
{
	size_t named = 0;
	int rc = 0;

	while (named < n && (rc = name_in_new(msgs[named])) == 0)
		named++;
	if (named == 0)
		return rc;
	if (fsync(md->newfd) < 0) {
		if (rc == 0)	/* else the link or rename failure is the one to report */
			fail(FAIL_IO, "cannot fsync %s/new: %s", md->path, strerror(errno));
		roll_back(msgs, named);
		return -1;
	}
	for (size_t i = 0; i < named; i++)
		msgs[i]->state = FILE_COMMITTED;
	return rc;
}

bool
maildir_msg_committed(const struct maildir_msg *m)
{
	return m->state == FILE_COMMITTED;
}

void
maildir_msg_free(struct maildir_msg *m)
{
	if (m == NULL)
		return;
	fs_close(m->fd);
	if (m->state < FILE_NAMED && !m->unnamed)
		unlinkat(m->md->tmpfd, m->name, 0);
	free(m);
}
