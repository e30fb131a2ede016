/*
 * LD_PRELOAD shim that stops a command at a chosen moment, so a test can
 * show what happens there, chosen by CRASHPOINT in the environment:
 *
 *   state-save: a rename onto a "*.state" file (mailpipe-fetch's state
 *   save, which follows QUIT's +OK) kills the process with SIGKILL;
 *
 *   state-write: a write into a "*.state.tmp" file (the state rewrite
 *   before that rename) writes half its bytes, then SIGKILL;
 *
 *   journal-write: a write into a "*.journal" file (the batch's journal
 *   record, or the DELE record) writes half its bytes, then SIGKILL: a
 *   torn record, as a crash in the middle of the append leaves it;
 *
 *   syncfs: the syncfs() that makes a batch of tmp/ files durable, SIGKILL
 *   before it;
 *
 *   name-new: a message file given its name in new/ (linkat() of an
 *   unnamed file, or renameat2() out of tmp/), SIGKILL right after it:
 *   linked, not yet made durable by the fsync of new/;
 *
 *   term-at-queue-remove: the first unlink of a queue entry's "envelope"
 *   (mailpipe-send removing a delivered message, the backlog a send
 *   flushes before its own message) sends the process SIGTERM.
 *
 * The SIGKILL modes fire at the CRASHPOINT_NTH-th such call (default the
 * first), so a loop can stop a run at its first, second, ... batch.
 * With CRASHPOINT_NO_TMPFILE=1, openat() with O_TMPFILE fails with
 * EOPNOTSUPP, as on a file system without it: the Maildir's named tmp/
 * files and renames.  Everything else goes to the C library untouched.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int
mode_is(const char *want)
{
	const char *mode = getenv("CRASHPOINT");

	return mode != NULL && strcmp(mode, want) == 0;
}

static int
ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), k = strlen(tail);

	return n >= k && strcmp(s + n - k, tail) == 0;
}

/* True on the CRASHPOINT_NTH-th call (counted per process). */
static int
nth_reached(void)
{
	static int calls;
	const char *nth = getenv("CRASHPOINT_NTH");
	int want = nth != NULL ? atoi(nth) : 1;

	return ++calls == (want > 0 ? want : 1);
}

/* Whether fd is an open file whose path ends in tail. */
static int
fd_names(int fd, const char *tail)
{
	char link[64], path[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof path - 1);
	if (n < 0)
		return 0;
	path[n] = '\0';
	return ends_with(path, tail);
}

int
renameat(int oldfd, const char *old, int newfd, const char *new)
{
	if (mode_is("state-save") && ends_with(new, ".state") && nth_reached())
		raise(SIGKILL);
	return (int)syscall(SYS_renameat2, oldfd, old, newfd, new, 0);
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	const char *tail = mode_is("journal-write") ? ".journal" :
	    mode_is("state-write") ? ".state.tmp" : NULL;

	if (tail != NULL && n > 1 && fd_names(fd, tail) && nth_reached()) {
		syscall(SYS_write, fd, buf, n / 2);
		raise(SIGKILL);
	}
	return syscall(SYS_write, fd, buf, n);
}

int
syncfs(int fd)
{
	if (mode_is("syncfs") && nth_reached())
		raise(SIGKILL);
	return (int)syscall(SYS_syncfs, fd);
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	static int fired;

	if (mode_is("term-at-queue-remove") && !fired && strcmp(path, "envelope") == 0) {
		fired = 1;
		raise(SIGTERM);
	}
	return (int)syscall(SYS_unlinkat, dirfd, path, flags);
}

/* After a name given in new/ (not the probe's in tmp/): SIGKILL. */
static void
named_in_new(int rc, int dirfd)
{
	if (rc == 0 && mode_is("name-new") && fd_names(dirfd, "/new") && nth_reached())
		raise(SIGKILL);
}

int
linkat(int olddirfd, const char *old, int newdirfd, const char *new, int flags)
{
	int rc = (int)syscall(SYS_linkat, olddirfd, old, newdirfd, new, flags);

	named_in_new(rc, newdirfd);
	return rc;
}

int
renameat2(int oldfd, const char *old, int newfd, const char *new, unsigned int flags)
{
	int rc = (int)syscall(SYS_renameat2, oldfd, old, newfd, new, flags);

	named_in_new(rc, newfd);
	return rc;
}

/* The symbol the programs call (64-bit offsets); O_TMPFILE refused on
 * request. */
int crashpoint_openat(int dirfd, const char *path, int flags, ...) __asm__("openat64");

int
crashpoint_openat(int dirfd, const char *path, int flags, ...)
{
	const char *no_tmpfile = getenv("CRASHPOINT_NO_TMPFILE");
	mode_t mode = 0;
	va_list ap;

	if ((flags & O_CREAT) == O_CREAT || (flags & O_TMPFILE) == O_TMPFILE) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (no_tmpfile != NULL && strcmp(no_tmpfile, "1") == 0 &&
	    (flags & O_TMPFILE) == O_TMPFILE) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}
