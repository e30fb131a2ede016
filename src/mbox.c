/*
 * The mbox target (mbox.h): the file with its two locks (the mboxrd
 * format is in mbox-format.c).  Why both locks: Debian's mail tools
 * (procmail, mutt, the MDAs of exim and postfix, liblockfile) take an
 * fcntl() lock and a dot-lock, and some readers honour only one of them,
 * so an appender that took one would race the readers of the other.
 * Why every wait ends: a lock held by a hung reader must cost this run a
 * temporary failure (75, the messages stay on the server), not the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fs.h"
#include "mbox.h"
#include "signals.h"
#include "status.h"
#include "xalloc.h"

/* A dot-lock without a readable process id is stale after this long, as
 * liblockfile and procmail judge such locks. */
#define DOTLOCK_STALE_S 300
/* How often a held lock is tried again. */
#define LOCK_RETRY_MS 100
/* Bytes copied per read when appending. */
#define COPY_BUFFER 65536

struct mbox {
	char *path;
	char *lock_path;
	int fd;
	bool dotlocked;
	bool took_leftover;	/* the dot-lock we broke was the leftover named */
	struct mbox_lock_id lock;	/* the dot-lock we made */
};

/* ---- trust of the path ---- */

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xasprintf("%.*s", (int)(slash - path), path);
}

/* A trust failure of fs.h (FAIL_AUTH) is a setting to fix here: 78. */
static int
untrusted(const char *path)
{
	fail_context("mbox %s", path);
	return fail_reclassify(FAIL_CONFIG);
}

/* The file as it is: a regular file, ours, writable by nobody else. */
static int
check_file(const struct stat *st, const char *path)
{
	if (S_ISLNK(st->st_mode))
		return fail(FAIL_CONFIG, "mbox %s is a symbolic link; give the path of the file "
		    "itself", path);
	if (!S_ISREG(st->st_mode))
		return fail(FAIL_CONFIG, "mbox %s is not a regular file", path);
	return fs_check_trusted(st, path, FS_READERS_ANY) < 0 ? untrusted(path) : 0;
}

/* The directory the dot-lock is made in: anyone else who could write
 * there could plant the lock, or swap the file under us. */
static int
check_dir(const char *path)
{
	char *dir = dir_of(path);
	struct stat st;
	int rc = 0;

	if (stat(dir, &st) < 0)
		rc = fail(errno == ENOENT ? FAIL_CANTCREAT : FAIL_CONFIG, "mbox %s: its directory "
		    "%s: %s", path, dir, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		rc = fail(FAIL_CONFIG, "mbox %s: %s is not a directory", path, dir);
	else if (fs_check_trusted(&st, dir, FS_READERS_ANY) < 0)
		rc = untrusted(path);
	free(dir);
	return rc;
}

int
mbox_check_path(const char *path)
{
	const char *why = fs_untrusted_dirs(path);
	struct stat st;

	if (why != NULL)
		return fail(FAIL_CONFIG, "mbox %s: %s", path, why);
	if (check_dir(path) < 0)
		return -1;
	if (lstat(path, &st) == 0)
		return check_file(&st, path);
	if (errno != ENOENT)
		return fail(FAIL_CONFIG, "mbox %s: %s", path, strerror(errno));
	return 0;
}

/* ---- waiting ---- */

/* Sleeps a little before the next try; -1 once the deadline passed or
 * a signal asks the run to end. */
static int
wait_a_little(int64_t deadline_ms)
{
	int64_t left = deadline_ms - clock_now_ms();
	struct timespec ts;

	if (left <= 0 || signals_caught() != 0)
		return -1;
	if (left > LOCK_RETRY_MS)
		left = LOCK_RETRY_MS;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)left * 1000000L;
	nanosleep(&ts, NULL);
	return 0;
}

static int
locked_failure(const struct mbox *m, const char *which)
{
	if (signals_caught() != 0)
		return fail(FAIL_TEMPORARY, "interrupted by signal %d while waiting for the %s "
		    "of mbox %s; nothing was appended", signals_caught(), which, m->path);
	return fail(FAIL_TEMPORARY, "mbox %s is locked by another program (%s); nothing was "
	    "appended, the messages stay on the server for the next run", m->path, which);
}

/* ---- the fcntl lock ---- */

/* 1 taken, 0 held by another, -1 failed. */
static int
try_fcntl(struct mbox *m)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	while (fcntl(m->fd, F_SETLK, &fl) < 0) {
		if (errno == EACCES || errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			return fail(FAIL_IO, "cannot lock mbox %s: %s", m->path, strerror(errno));
	}
	return 1;
}

static int
take_fcntl(struct mbox *m, int64_t deadline_ms)
{
	int rc;

	while ((rc = try_fcntl(m)) == 0)
		if (wait_a_little(deadline_ms) < 0)
			return locked_failure(m, "fcntl lock");
	return rc < 0 ? -1 : 0;
}

/* ---- the dot-lock ---- */

static long long
mtime_ns(const struct stat *st)
{
	return (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

/* The line after the process id in the dot-locks we make: it lets a
 * later run know a lock of ours whose process id was reused. */
#define DOTLOCK_OURS "mailpipe\n"

/* The process id written in a dot-lock, or 0 when none can be read;
 * *ours when the lock carries our mark. */
static pid_t
read_dotlock(const char *lock_path, bool *ours)
{
	char buf[48];
	int fd = open(lock_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	char *end;
	long pid;

	fs_close(fd);
	*ours = false;
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	if (pid <= 0 || pid >= INT32_MAX || (*end != '\n' && *end != '\0'))
		return 0;
	*ours = *end == '\n' && strcmp(end + 1, DOTLOCK_OURS) == 0;
	return (pid_t)pid;
}

static pid_t
dotlock_pid(const char *lock_path)
{
	bool ours;

	return read_dotlock(lock_path, &ours);
}

static bool
same_lock(const struct stat *st, pid_t pid, const struct mbox_lock_id *id)
{
	return id != NULL && st->st_dev == id->dev && st->st_ino == id->ino &&
	    mtime_ns(st) == id->mtime_ns && pid == id->pid;
}

/* A lock whose process is gone (same host: the mbox is local), one
 * without a process id that is old, or the one an interrupted run of
 * ours left (leftover: *is_leftover set).  A lock of ours no record
 * names (a crash between making it and writing the record, or between
 * clearing the record and removing it) is judged by age too: its
 * process id may have been reused by a long-lived process, which would
 * keep every later run waiting.  Sound because it is judged under the
 * fcntl lock, which a run of ours holds as long as its dot-lock. */
static bool
dotlock_stale(const char *lock_path, const struct stat *st,
	const struct mbox_lock_id *leftover, bool *is_leftover)
{
	bool ours;
	pid_t pid = read_dotlock(lock_path, &ours);
	bool old = time(NULL) - st->st_mtim.tv_sec > DOTLOCK_STALE_S;

	*is_leftover = same_lock(st, pid, leftover);
	if (*is_leftover || (ours && old))
		return true;
	if (pid > 0)
		return kill(pid, 0) < 0 && errno == ESRCH;
	return old;
}

/* Removes a stale lock if it is still the one judged (not replaced by
 * a live one meanwhile). */
static void
break_dotlock(const char *lock_path, const struct stat *judged)
{
	struct stat now;

	if (lstat(lock_path, &now) == 0 && now.st_dev == judged->st_dev &&
	    now.st_ino == judged->st_ino && mtime_ns(&now) == mtime_ns(judged))
		unlink(lock_path);
}

/* Creates the lock file with our process id; 1 made, 0 exists, -1. */
static int
make_dotlock(struct mbox *m)
{
	char pid[48];
	int n = snprintf(pid, sizeof pid, "%ld\n" DOTLOCK_OURS, (long)getpid());
	int fd = open(m->lock_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	struct stat st;

	if (fd < 0 && errno == EEXIST)
		return 0;
	if (fd < 0)
		return fail(FAIL_IO, "cannot create the lock %s: %s", m->lock_path,
		    strerror(errno));
	if (fs_write_all(fd, pid, (size_t)n) < 0 || fstat(fd, &st) < 0) {
		fail(FAIL_IO, "cannot write the lock %s: %s", m->lock_path, strerror(errno));
		close(fd);
		unlink(m->lock_path);
		return -1;
	}
	close(fd);
	m->lock = (struct mbox_lock_id){ .dev = st.st_dev, .ino = st.st_ino,
		.mtime_ns = mtime_ns(&st), .pid = getpid() };
	m->dotlocked = true;
	return 1;
}

/* 1 taken, 0 held by a live process, -1 failed.  Called under the
 * fcntl lock, so a leftover judged here is one no fcntl-locking writer
 * can have broken and replaced since: m->took_leftover tells the repair
 * that nobody took the file over between the crash and now. */
static int
try_dotlock(struct mbox *m, const struct mbox_lock_id *leftover)
{
	struct stat st;
	bool is_leftover;
	int rc = make_dotlock(m);

	if (rc != 0)
		return rc;
	if (lstat(m->lock_path, &st) < 0)
		return errno == ENOENT ? 0 : fail(FAIL_IO, "%s: %s", m->lock_path,
		    strerror(errno));
	if (!dotlock_stale(m->lock_path, &st, leftover, &is_leftover))
		return 0;
	break_dotlock(m->lock_path, &st);
	rc = make_dotlock(m);
	m->took_leftover = rc == 1 && is_leftover;
	return rc;
}

static int
take_dotlock(struct mbox *m, int64_t deadline_ms, const struct mbox_lock_id *leftover)
{
	int rc;

	while ((rc = try_dotlock(m, leftover)) == 0)
		if (wait_a_little(deadline_ms) < 0)
			return locked_failure(m, m->lock_path);
	return rc < 0 ? -1 : 0;
}

static void
drop_dotlock(struct mbox *m)
{
	struct stat st;

	if (m->dotlocked && lstat(m->lock_path, &st) == 0 && st.st_dev == m->lock.dev &&
	    st.st_ino == m->lock.ino)
		unlink(m->lock_path);
	m->dotlocked = false;
}

/* ---- opening ---- */

/* A new file's name is made durable with its directory. */
static void
sync_dir_of(const char *path)
{
	char *dir = dir_of(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0)
		fsync(fd);
	fs_close(fd);
	free(dir);
}

/* The file opened for appending: fd, 0 when missing and not created, -1. */
static int
open_file(const char *path, bool create, int *fd_r)
{
	int flags = O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	int fd = create ? open(path, flags | O_CREAT | O_EXCL, 0600) : -1;
	struct stat st;

	if (fd >= 0)
		sync_dir_of(path);
	else if ((fd = open(path, flags)) < 0)
		return !create && errno == ENOENT ? 0 : fail(errno == ELOOP ? FAIL_CONFIG :
		    FAIL_IO, "cannot open mbox %s: %s", path, errno == ELOOP ?
		    "it is a symbolic link" : strerror(errno));
	if (fstat(fd, &st) < 0 || fcntl(fd, F_SETFL, O_APPEND) < 0) {
		fail(FAIL_IO, "mbox %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (check_file(&st, path) < 0) {
		close(fd);
		return -1;
	}
	*fd_r = fd;
	return 1;
}

static int
lock_path(const char *path, bool create, int timeout_s,
	const struct mbox_lock_id *leftover, struct mbox **m_r)
{
	int64_t deadline_ms = clock_now_ms() + (int64_t)timeout_s * 1000;
	struct mbox *m;
	int fd = -1, rc;

	*m_r = NULL;
	if (mbox_check_path(path) < 0)
		return -1;
	if ((rc = open_file(path, create, &fd)) <= 0)
		return rc;
	m = xcalloc(1, sizeof *m);
	m->path = xstrdup(path);
	m->lock_path = xasprintf("%s.lock", path);
	m->fd = fd;
	if (take_fcntl(m, deadline_ms) < 0 || take_dotlock(m, deadline_ms, leftover) < 0) {
		mbox_unlock(m);
		return -1;
	}
	*m_r = m;
	return 1;
}

int
mbox_lock(const char *path, int timeout_s, const struct mbox_lock_id *leftover,
	struct mbox **m_r)
{
	return lock_path(path, true, timeout_s, leftover, m_r) < 0 ? -1 : 0;
}

int
mbox_lock_existing(const char *path, int timeout_s,
	const struct mbox_lock_id *leftover, struct mbox **m_r)
{
	return lock_path(path, false, timeout_s, leftover, m_r);
}

bool
mbox_lock_is(const char *path, const struct mbox_lock_id *id)
{
	char *lock = xasprintf("%s.lock", path);
	struct stat st;
	bool same = lstat(lock, &st) == 0 && same_lock(&st, dotlock_pid(lock), id);

	free(lock);
	return same;
}

bool
mbox_took_leftover(const struct mbox *m)
{
	return m->took_leftover;
}

void
mbox_lock_identity(const struct mbox *m, struct mbox_lock_id *id)
{
	*id = m->lock;
}

int
mbox_stat(const struct mbox *m, dev_t *dev_r, ino_t *ino_r, long long *size_r)
{
	struct stat st;

	if (fstat(m->fd, &st) < 0)
		return fail(FAIL_IO, "mbox %s: %s", m->path, strerror(errno));
	*dev_r = st.st_dev;
	*ino_r = st.st_ino;
	*size_r = (long long)st.st_size;
	return 0;
}

/* ---- writing ---- */

static int
write_failure(const struct mbox *m)
{
	return fail(FAIL_IO, "cannot append to mbox %s: %s", m->path, strerror(errno));
}

int
mbox_separator(const struct mbox *m, size_t *need_r)
{
	char tail[2] = { '\n', '\n' };
	struct stat st;
	off_t from;

	if (fstat(m->fd, &st) < 0)
		return fail(FAIL_IO, "mbox %s: %s", m->path, strerror(errno));
	from = st.st_size >= 2 ? st.st_size - 2 : 0;
	if (st.st_size > 0 && pread(m->fd, tail + 2 - (st.st_size - from), (size_t)(st.st_size -
	    from), from) != st.st_size - from)
		return fail(FAIL_IO, "cannot read mbox %s: %s", m->path, strerror(errno));
	*need_r = tail[1] != '\n' ? 2 : tail[0] != '\n' ? 1 : 0;
	return 0;
}

/* A file another program left without the empty line a "From " line
 * needs before it: the missing newlines first, or a reader would take
 * our message for part of the last one. */
static int
write_separator(struct mbox *m)
{
	size_t need;

	if (mbox_separator(m, &need) < 0)
		return -1;
	return need > 0 && fs_write_all(m->fd, "\n\n", need) < 0 ? write_failure(m) : 0;
}

int
mbox_append(struct mbox *m, const char *from_line, size_t from_len, int fd)
{
	char *buf = xmalloc(COPY_BUFFER);
	off_t at = 0;
	ssize_t n;
	int rc = write_separator(m);

	if (rc == 0 && fs_write_all(m->fd, from_line, from_len) < 0)
		rc = write_failure(m);

	while (rc == 0 && (n = pread(fd, buf, COPY_BUFFER, at)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = fail(FAIL_IO, "cannot read the spooled message: %s", strerror(errno));
		else if (fs_write_all(m->fd, buf, (size_t)n) < 0)
			rc = write_failure(m);
		else
			at += n;
	}
	free(buf);
	return rc;
}

int
mbox_sync(struct mbox *m)
{
	if (fsync(m->fd) < 0)
		return fail(FAIL_IO, "cannot make mbox %s durable (fsync): %s", m->path,
		    strerror(errno));
	return 0;
}

int
mbox_truncate(struct mbox *m, long long size)
{
	if (ftruncate(m->fd, (off_t)size) < 0 || fsync(m->fd) < 0)
		return fail(FAIL_IO, "cannot cut mbox %s back to %lld bytes: %s", m->path, size,
		    strerror(errno));
	return 0;
}

void
mbox_unlock(struct mbox *m)
{
	if (m == NULL)
		return;
	drop_dotlock(m);
	fs_close(m->fd);	/* releases the fcntl lock */
	free(m->lock_path);
	free(m->path);
	free(m);
}
