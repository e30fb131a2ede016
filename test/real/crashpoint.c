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
 *   term-at-queue-remove: the first unlink of a queue entry's "envelope"
 *   (mailpipe-send removing a delivered message, the backlog a send
 *   flushes before its own message) sends the process SIGTERM.
 *
 * The SIGKILL modes fire at the CRASHPOINT_NTH-th such call (default the
 * first), so a loop can stop a run at its first, second, ... batch.
 * Everything else goes to the C library untouched.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
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
