/*
 * Maildir delivery.
 *
 * Why this order: a reader only ever looks at new/ and cur/, so a message
 * becomes visible by the rename and not before; the rename is atomic, so a
 * reader sees the whole file or nothing.  The content is made durable before
 * the rename (otherwise a crash could leave a visible but empty file), and
 * new/ is fsynced after it (otherwise a crash could undo the rename after
 * the server was told to delete the message).  Most deliverers skip the
 * second fsync; it is what makes "DELE only after commit" mean something.
 *
 * RENAME_NOREPLACE is used so that a name collision, which the naming rules
 * make impossible, could still never overwrite a delivered message.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "hostname.h"
#include "maildir.h"
#include "random.h"
#include "status.h"
#include "xalloc.h"

/* Batches at least this large are made durable with one syncfs(): on ext4
 * an fsync costs ~0.2 ms, a syncfs for 500 small files ~10 ms in total. */
#define SYNCFS_MIN_BATCH 8
/* The Maildir spec allows removing tmp/ files untouched for 36 hours. */
#define STALE_TMP_SECONDS (36 * 3600)
#define WRITE_BUFFER_SIZE 65536
/* Room for the escaped host name and its NUL: what MAILDIR_NAME_MAX leaves
 * after the unique part before it (about 50 octets of time, microseconds,
 * pid, sequence and random). */
#define ESCAPED_HOST_MAX 200
/* "\ooo", how the Maildir spec escapes a byte of the host name. */
#define OCTAL_ESCAPE_LENGTH 4
/* A name is unique by its time, pid and sequence number; should it exist
 * all the same (a clock stepped back onto a name an earlier process with
 * this pid made), the next try takes the next sequence number. */
#define NAME_TRIES 5

/* A message file's progress; RENAMED is in new/ but not yet durable there. */
enum file_state { FILE_WRITING, FILE_ENDED, FILE_SYNCED, FILE_RENAMED, FILE_COMMITTED };

struct maildir {
	char *path;
	int dirfd, tmpfd, newfd, curfd;	/* -1 when missing (read-only open) */
	char host[ESCAPED_HOST_MAX];	/* escaped host name */
	unsigned long seq;
	uint64_t random;
	char **cur_names;		/* sorted base names in cur/, built lazily */
	size_t cur_count, cur_alloc;
	bool cur_scanned;
	char buf[WRITE_BUFFER_SIZE];	/* for the one message being written */
	size_t buflen;
};

struct maildir_msg {
	struct maildir *md;
	enum file_state state;
	int fd;
	unsigned long long size;
	char name[MAILDIR_NAME_MAX];
};


/* Host name with '/' and ':' (and anything unprintable) as \ooo, as the
 * Maildir spec asks, so a name never holds a path separator or an info
 * delimiter. */
static void
escape_host(char *out, size_t size)
{
	char host[HOSTNAME_MAX];
	size_t o = 0;

	hostname_node(host, sizeof host);
	for (const char *h = host; *h != '\0' && o + OCTAL_ESCAPE_LENGTH + 1 < size; h++) {
		unsigned char ch = (unsigned char)*h;

		if (ch == '/' || ch == ':' || ch == '\\' || ch < 0x21 || ch > 0x7e)
			o += (size_t)snprintf(out + o, size - o, "\\%03o", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
}

/* A Maildir others can write is one where they can plant the files we
 * rename, or replace new/ under us: refused, like a shared state
 * directory. */
static int
check_trusted(int fd, const char *path, const char *sub)
{
	char *full = xasprintf("%s%s%s", path, *sub ? "/" : "", sub);
	int rc = fs_check_trusted_fd(fd, full, FS_READERS_ANY);

	free(full);
	return rc < 0 ? fail_context("Maildir") : 0;
}

static bool
is_link(int at, const char *name)
{
	struct stat st;

	return fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

static int
open_dir(int at, const char *name, bool create, const char *path, int *fd_r,
	bool *made_r)
{
	if (create && mkdirat(at, name, 0700) == 0)
		*made_r = true;
	else if (create && errno != EEXIST)
		return fail(FAIL_CANTCREAT, "cannot create Maildir %s/%s: %s", path, name,
		    strerror(errno));
	*fd_r = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd_r < 0 && !create && errno == ENOENT)
		return 0;
	if (*fd_r < 0 && (errno == ELOOP || errno == ENOTDIR) && is_link(at, name))
		return fail(FAIL_AUTH, "Maildir %s/%s is a symbolic link; refusing to follow "
		    "it", path, name);
	if (*fd_r < 0)
		return fail(create ? FAIL_CANTCREAT : FAIL_IO, "cannot open Maildir %s/%s: %s",
		    path, name, strerror(errno));
	return check_trusted(*fd_r, path, name);
}

/* True for a tmp/ file this module made on this host in a process that no
 * longer exists (killed mid-delivery): nobody will ever finish it.  A live
 * process with a reused pid only keeps a stale file a little longer. */
static bool
orphan_of_ours(const struct maildir *md, const char *name)
{
	const char *p = strstr(name, ".M"), *r;
	char *end;
	long pid;

	if (p == NULL || (p = strchr(p, 'P')) == NULL || (r = strchr(p, 'R')) == NULL ||
	    (r = strchr(r, '.')) == NULL || strcmp(r + 1, md->host) != 0)
		return false;
	pid = strtol(p + 1, &end, 10);
	if (end == p + 1 || *end != 'Q' || pid <= 0)
		return false;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* Removes tmp/ files left by deliveries that died: ours at once, anyone's
 * after the 36 hours the Maildir spec allows. */
static void
clean_stale_tmp(struct maildir *md)
{
	int fd = fcntl(md->tmpfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	time_t now = time(NULL);
	struct dirent *e;
	struct stat st;

	if (d == NULL) {
		fs_close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' ||
		    fstatat(md->tmpfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (orphan_of_ours(md, e->d_name) || (now - st.st_mtime > STALE_TMP_SECONDS &&
		    now - st.st_atime > STALE_TMP_SECONDS))
			unlinkat(md->tmpfd, e->d_name, 0);
	}
	closedir(d);
}

static int
open_subdirs(struct maildir *md, bool create)
{
	bool made = false;

	if (create && fs_mkdirs(md->path, 0700) < 0)
		return fail(FAIL_CANTCREAT, "cannot create Maildir %s: %s", md->path,
		    strerror(errno));
	md->dirfd = open(md->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (md->dirfd < 0) {
		if (!create && errno == ENOENT)
			return 0;
		return fail(create ? FAIL_CANTCREAT : FAIL_IO, "cannot open Maildir %s: %s",
		    md->path, strerror(errno));
	}
	if (check_trusted(md->dirfd, md->path, "") < 0)
		return -1;
	if (open_dir(md->dirfd, "tmp", create, md->path, &md->tmpfd, &made) < 0 ||
	    open_dir(md->dirfd, "new", create, md->path, &md->newfd, &made) < 0 ||
	    open_dir(md->dirfd, "cur", create, md->path, &md->curfd, &made) < 0)
		return -1;
	if (made && fsync(md->dirfd) < 0)
		return fail(FAIL_IO, "cannot fsync Maildir %s: %s", md->path, strerror(errno));
	return 0;
}

int
maildir_open(const char *path, bool create, struct maildir **md_r)
{
	struct maildir *md = xcalloc(1, sizeof *md);

	md->path = xstrdup(path);
	md->dirfd = md->tmpfd = md->newfd = md->curfd = -1;
	escape_host(md->host, sizeof md->host);
	random_bytes(&md->random, sizeof md->random);
	if (open_subdirs(md, create) < 0) {
		maildir_close(md);
		return -1;
	}
	if (create)
		clean_stale_tmp(md);
	*md_r = md;
	return 0;
}

void
maildir_close(struct maildir *md)
{
	if (md == NULL)
		return;
	fs_close(md->dirfd);
	fs_close(md->tmpfd);
	fs_close(md->newfd);
	fs_close(md->curfd);
	for (size_t i = 0; i < md->cur_count; i++)
		free(md->cur_names[i]);
	free(md->cur_names);
	free(md->path);
	free(md);
}

const char *
maildir_path(const struct maildir *md)
{
	return md->path;
}

static void
make_name(struct maildir *md, char *name, size_t size)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	md->seq++;
	snprintf(name, size, "%lld.M%06ldP%ldQ%luR%016llx.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), md->seq, (unsigned long long)md->random,
	    md->host);
}

int
maildir_msg_begin(struct maildir *md, struct maildir_msg **m_r)
{
	struct maildir_msg *m;

	if (md->tmpfd < 0)
		return fail(FAIL_CANTCREAT, "Maildir %s does not exist", md->path);
	m = xcalloc(1, sizeof *m);
	m->md = md;
	md->buflen = 0;
	for (int tries = 0; tries < NAME_TRIES; tries++) {
		make_name(md, m->name, sizeof m->name);
		m->fd = openat(md->tmpfd, m->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600);
		if (m->fd >= 0 || errno != EEXIST)
			break;
	}
	if (m->fd < 0) {
		fail(FAIL_IO, "cannot create %s/tmp/%s: %s", md->path, m->name,
		    strerror(errno));
		free(m);
		return -1;
	}
	*m_r = m;
	return 0;
}

static int
write_all(struct maildir_msg *m, const char *p, size_t n)
{
	if (fs_write_all(m->fd, p, n) < 0)
		return fail(FAIL_IO, "cannot write %s/tmp/%s: %s", m->md->path, m->name,
		    strerror(errno));
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

static int
close_synced(struct maildir_msg *m, bool do_fsync)
{
	int rc = 0;

	if (do_fsync && fsync(m->fd) < 0)
		rc = fail(FAIL_IO, "cannot fsync %s/tmp/%s: %s", m->md->path, m->name,
		    strerror(errno));
	if (close(m->fd) < 0 && rc == 0)
		rc = fail(FAIL_IO, "cannot close %s/tmp/%s: %s", m->md->path, m->name,
		    strerror(errno));
	m->fd = -1;
	if (rc == 0)
		m->state = FILE_SYNCED;
	return rc;
}

int
maildir_sync_batch(struct maildir *md, struct maildir_msg *const *msgs, size_t n)
{
	bool each = n < SYNCFS_MIN_BATCH;
	int rc = 0;

	if (!each && syncfs(md->tmpfd) < 0)
		rc = fail(FAIL_IO, "cannot sync Maildir %s: %s", md->path, strerror(errno));
	for (size_t i = 0; i < n; i++) {
		if (msgs[i]->state != FILE_ENDED)
			continue;
		if (close_synced(msgs[i], each && rc == 0) < 0)
			rc = -1;
	}
	return rc;
}

static int
rename_into_new(struct maildir_msg *m)
{
	struct maildir *md = m->md;
	int rc;

	if (m->state != FILE_SYNCED)
		return fail(FAIL_IO, "internal error: commit of an unsynced message");
	rc = renameat2(md->tmpfd, m->name, md->newfd, m->name, RENAME_NOREPLACE);
	if (rc < 0 && errno == EINVAL)
		rc = renameat(md->tmpfd, m->name, md->newfd, m->name);
	if (rc < 0)
		return fail(FAIL_IO, "cannot rename %s/tmp/%s into new/: %s", md->path,
		    m->name, strerror(errno));
	m->state = FILE_RENAMED;
	return 0;
}

/* The renames may not survive a crash: take the files out of new/ again, so
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
	size_t renamed = 0;
	int rc = 0;

	while (renamed < n && (rc = rename_into_new(msgs[renamed])) == 0)
		renamed++;
	if (renamed == 0)
		return rc;
	if (fsync(md->newfd) < 0) {
		if (rc == 0)	/* else the rename failure is the one to report */
			fail(FAIL_IO, "cannot fsync %s/new: %s", md->path, strerror(errno));
		roll_back(msgs, renamed);
		return -1;
	}
	for (size_t i = 0; i < renamed; i++)
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
	if (m->state < FILE_RENAMED)
		unlinkat(m->md->tmpfd, m->name, 0);
	free(m);
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads cur/ once: names there are base names with an optional ":info". */
static void
scan_cur(struct maildir *md)
{
	int fd = md->curfd >= 0 ? fcntl(md->curfd, F_DUPFD_CLOEXEC, 0) : -1;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	md->cur_scanned = true;
	if (d == NULL) {
		fs_close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		md->cur_names = xgrow(md->cur_names, &md->cur_alloc, md->cur_count + 1,
		    sizeof *md->cur_names);
		md->cur_names[md->cur_count++] = xstrndup(e->d_name, strcspn(e->d_name, ":"));
	}
	closedir(d);
	if (md->cur_count > 0)
		qsort(md->cur_names, md->cur_count, sizeof *md->cur_names, compare_names);
}

bool
maildir_has(struct maildir *md, const char *name)
{
	struct stat st;

	if (md->newfd >= 0 && fstatat(md->newfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return true;
	if (md->curfd < 0)
		return false;
	if (fstatat(md->curfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return true;
	if (!md->cur_scanned)
		scan_cur(md);
	return md->cur_count > 0 && bsearch(&name, md->cur_names, md->cur_count,
	    sizeof *md->cur_names, compare_names) != NULL;
}

void
maildir_drop_tmp(struct maildir *md, const char *name)
{
	if (md->tmpfd >= 0)
		unlinkat(md->tmpfd, name, 0);
}

bool
maildir_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= MAILDIR_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == '/' || ch == ':' || ch < 0x21 || ch > 0x7e)
			return false;
	}
	return true;
}
