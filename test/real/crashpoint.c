/*
 * LD_PRELOAD shim that stops a command at a chosen moment, so a test can
 * show what happens there, chosen by CRASHPOINT in the environment:
 *
 *   state-save: the first rename onto a "*.state" file (mailpipe-fetch's
 *   state save, which follows QUIT's +OK) kills the process with SIGKILL;
 *
 *   term-at-queue-remove: the first unlink of a queue entry's "envelope"
 *   (mailpipe-send removing a delivered message, the backlog a send
 *   flushes before its own message) sends the process SIGTERM.
 *
 * Everything else goes to the C library untouched.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int
renameat(int oldfd, const char *old, int newfd, const char *new)
{
	const char *mode = getenv("CRASHPOINT");
	size_t n = strlen(new);

	if (mode != NULL && strcmp(mode, "state-save") == 0 && n >= 6 &&
	    strcmp(new + n - 6, ".state") == 0)
		raise(SIGKILL);
	return (int)syscall(SYS_renameat2, oldfd, old, newfd, new, 0);
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	const char *mode = getenv("CRASHPOINT");
	static int fired;

	if (mode != NULL && strcmp(mode, "term-at-queue-remove") == 0 && !fired &&
	    strcmp(path, "envelope") == 0) {
		fired = 1;
		raise(SIGTERM);
	}
	return (int)syscall(SYS_unlinkat, dirfd, path, flags);
}
