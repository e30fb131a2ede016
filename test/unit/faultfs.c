#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <stdio.h>	/* renameat2() */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "faultfs.h"

#define SYNCED_MAX 4096

ino_t faultfs_fail_fsync_of;
int faultfs_fail_rename_at;
int faultfs_kill_at_state_save;
int faultfs_no_tmpfile;
int faultfs_no_flink;
int faultfs_no_proc_link;
int faultfs_fail_link_at;
int faultfs_kill_after_link;
int faultfs_kill_after_rename;
int faultfs_links;
static ino_t synced[SYNCED_MAX];
static size_t synced_count;

int
fsync(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (faultfs_fail_fsync_of != 0 && st.st_ino == faultfs_fail_fsync_of) {
			errno = EIO;
			return -1;
		}
		if (synced_count < SYNCED_MAX)
			synced[synced_count++] = st.st_ino;
	}
	return (int)syscall(SYS_fsync, fd);
}

int
renameat2(int oldfd, const char *old, int newfd, const char *new, unsigned int flags)
{
	int rc;

	if (faultfs_fail_rename_at > 0 && --faultfs_fail_rename_at == 0) {
		errno = EIO;
		return -1;
	}
	rc = (int)syscall(SYS_renameat2, oldfd, old, newfd, new, flags);
	if (rc == 0 && faultfs_kill_after_rename > 0 && --faultfs_kill_after_rename == 0)
		raise(SIGKILL);
	return rc;
}

/* The state file is replaced with renameat(); a run can be killed right
 * there, between QUIT's answer and the state save. */
int
renameat(int oldfd, const char *old, int newfd, const char *new)
{
	size_t n = strlen(new);

	if (n >= 6 && strcmp(new + n - 6, ".state") == 0 && faultfs_kill_at_state_save > 0 &&
	    --faultfs_kill_at_state_save == 0)
		raise(SIGKILL);
	return renameat2(oldfd, old, newfd, new, 0);
}

/* With 64-bit file offsets <fcntl.h> names this openat64, the symbol the
 * library calls. */
int
openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if ((flags & O_CREAT) == O_CREAT || (flags & O_TMPFILE) == O_TMPFILE) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (faultfs_no_tmpfile && (flags & O_TMPFILE) == O_TMPFILE) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}

static int
refused_link(const char *old, int flags)
{
	if (faultfs_no_flink && (flags & AT_EMPTY_PATH) != 0) {
		errno = ENOENT;
		return 1;
	}
	if (faultfs_no_proc_link && strncmp(old, "/proc/", 6) == 0) {
		errno = ENOENT;
		return 1;
	}
	if (faultfs_fail_link_at > 0 && --faultfs_fail_link_at == 0) {
		errno = EIO;
		return 1;
	}
	return 0;
}

int
linkat(int olddirfd, const char *old, int newdirfd, const char *new, int flags)
{
	int rc;

	if (refused_link(old, flags))
		return -1;
	rc = (int)syscall(SYS_linkat, olddirfd, old, newdirfd, new, flags);
	if (rc == 0)
		faultfs_links++;
	if (rc == 0 && faultfs_kill_after_link > 0 && --faultfs_kill_after_link == 0)
		raise(SIGKILL);
	return rc;
}

void
faultfs_forget_syncs(void)
{
	synced_count = 0;
}

size_t
faultfs_sync_count(void)
{
	return synced_count;
}

ino_t
faultfs_inode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_ino : 0;
}

int
faultfs_times_synced(const char *path)
{
	ino_t ino = faultfs_inode_of(path);
	int n = 0;

	for (size_t i = 0; i < synced_count; i++)
		n += ino != 0 && synced[i] == ino;
	return n;
}
