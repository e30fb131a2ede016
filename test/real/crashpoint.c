/*
 * LD_PRELOAD shim for the real tests: with CRASHPOINT=state-save in the
 * environment, the first rename onto a "*.state" file (mailpipe-fetch's
 * state save, which follows QUIT's +OK) kills the process with SIGKILL, so
 * a test can show what the next run makes of a crash at that very moment.
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
