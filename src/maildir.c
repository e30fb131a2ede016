/*
 * Maildir delivery: the directory.  Opening it (made when missing, each
 * parent made fsynced), the trust rule for it and its tmp/ new/ cur/, the
 * clean-up of what killed runs left in tmp/, and the lookups the journal
 * replay makes.  A message file, from its creation to its commit in new/,
 * is in maildir-msg.c, which says why its steps come in their order.
 *
 * Why a Maildir others can write is refused: they could plant the files
 * we give names to in new/, or replace new/ under us.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "hostname.h"
#include "maildir-private.h"
#include "random.h"
#include "status.h"
#include "xalloc.h"

/* The Maildir spec allows removing tmp/ files untouched for 36 hours. */
#define STALE_TMP_SECONDS (36 * 3600)
/* "\ooo", how the Maildir spec escapes a byte of the host name. */
#define OCTAL_ESCAPE_LENGTH 4

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
	md->pid = (long)getpid();
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
