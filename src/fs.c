/*
 * File-system primitives: durable mkdir -p, write-all, the home directory,
 * and the one rule for trusting a file we take orders from.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "status.h"
#include "xalloc.h"

/* Fsyncs the directory that holds path (a path without a trailing '/'). */
static int
sync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *parent = slash == NULL ? xstrdup(".") : slash == path ? xstrdup("/") :
	    xstrndup(path, (size_t)(slash - path));
	int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = -1, saved;

	if (fd >= 0) {
		rc = fsync(fd);
		saved = errno;
		close(fd);
		errno = saved;
	}
	free(parent);
	return rc;
}

int
fs_mkdirs(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	int rc = 0;

	if (p[0] == '\0') {
		free(p);
		errno = ENOENT;
		return -1;
	}
	for (char *s = p + 1; rc == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char saved = *s;

		*s = '\0';
		if (mkdir(p, mode) == 0)
			rc = sync_parent(p);
		else if (errno != EEXIST)
			rc = -1;
		*s = saved;
		if (saved == '\0')
			break;
	}
	free(p);
	return rc;
}

int
fs_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

char *
fs_home_dir(void)
{
	const char *home = getenv("HOME");
	const struct passwd *pw;

	if (home != NULL && *home != '\0')
		return xstrdup(home);
	pw = getpwuid(getuid());
	if (pw == NULL || pw->pw_dir == NULL || pw->pw_dir[0] == '\0')
		return NULL;
	return xstrdup(pw->pw_dir);
}

/* The read bits a secret of this kind must not have. */
static mode_t
forbidden_reads(enum fs_readers readers)
{
	switch (readers) {
	case FS_READERS_ANY:	return 0;
	case FS_READERS_GROUP:	return S_IROTH;
	case FS_READERS_OWNER:	return S_IRGRP | S_IROTH;
	}
	return S_IRGRP | S_IROTH;
}

int
fs_check_trusted(const struct stat *st, const char *path, enum fs_readers readers)
{
	uid_t me = geteuid();
	unsigned mode = (unsigned)(st->st_mode & 07777);

	if (st->st_uid != me && st->st_uid != 0)
		return fail(FAIL_AUTH, "%s is owned by uid %ju, not by you (uid %ju) or root; "
		    "run chown %ju %s", path, (uintmax_t)st->st_uid, (uintmax_t)me,
		    (uintmax_t)me, path);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return fail(FAIL_AUTH, "%s is writable by group or others (mode %04o); "
		    "run chmod go-w %s", path, mode, path);
	if (st->st_mode & forbidden_reads(readers))
		return fail(FAIL_AUTH, "%s holds a password but %s can read it (mode %04o); "
		    "run chmod %s %s", path, readers == FS_READERS_GROUP ? "others" :
		    "group or others", mode, readers == FS_READERS_GROUP ? "o-r" : "600", path);
	return 0;
}

int
fs_check_trusted_fd(int fd, const char *path, enum fs_readers readers)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return fail(FAIL_NOINPUT, "%s: %s", path, strerror(errno));
	return fs_check_trusted(&st, path, readers);
}

char *
fs_absolute_path(const char *path)
{
	char *real = realpath(path, NULL), *cwd;

	if (real != NULL || path[0] == '/')
		return real != NULL ? real : xstrdup(path);
	cwd = getcwd(NULL, 0);
	real = xasprintf("%s/%s", cwd != NULL ? cwd : ".", path);
	free(cwd);
	return real;
}

int
fs_open_regular(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), saved;
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && fcntl(fd, F_SETFL, 0) == 0)
		return fd;
	saved = fstat(fd, &st) == 0 && !S_ISREG(st.st_mode) ? EINVAL : errno;
	close(fd);
	errno = saved;
	return -1;
}

FILE *
fs_fopen_regular(const char *path)
{
	int fd = fs_open_regular(path), saved;
	FILE *f;

	if (fd < 0)
		return NULL;
	if ((f = fdopen(fd, "r")) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
	}
	return f;
}

const char *
fs_open_error(int err)
{
	return err == EINVAL ? "not a regular file" : strerror(err);
}

void
fs_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* One step of the walk: a link must be the caller's or root's; the
 * directory it is (or leads to) too, and writable by nobody else unless
 * sticky (/tmp), where others cannot replace what is ours. */
static const char *
untrusted_step(const char *prefix)
{
	uid_t me = geteuid();
	struct stat st;

	if (lstat(prefix, &st) < 0)
		return NULL;	/* the open that follows says why */
	if (S_ISLNK(st.st_mode) && st.st_uid != me && st.st_uid != 0)
		return "a symbolic link on the way belongs to another user";
	if (stat(prefix, &st) < 0 || !S_ISDIR(st.st_mode))
		return NULL;
	if (st.st_uid != me && st.st_uid != 0)
		return "a directory on the way belongs to another user";
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0)
		return "a directory on the way is writable by others (chmod go-w)";
	return NULL;
}

const char *
fs_untrusted_dirs(const char *path)
{
	char *copy = xstrdup(path);
	const char *why = NULL;

	for (char *p = copy + 1; why == NULL && (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		why = untrusted_step(copy);
		*p = '/';
	}
	if (why == NULL && path[0] == '/')
		why = untrusted_step("/");
	free(copy);
	return why;
}
