#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
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

const char *
fs_untrusted(const struct stat *st)
{
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return "belongs to another user";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "can be written by group or others";
	return NULL;
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
