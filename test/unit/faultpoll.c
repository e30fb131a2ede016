/*
 * Replaces poll() for the test binary it is linked into.  <poll.h> is not
 * included: with _FORTIFY_SOURCE it defines poll() itself.  The real call
 * is made with the ppoll system call.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "faultpoll.h"

struct pollfd;
int poll(struct pollfd *fds, unsigned long n, int timeout_ms);

int faultpoll_errno;

int
poll(struct pollfd *fds, unsigned long n, int timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };

	if (faultpoll_errno != 0 && n > 0) {
		errno = faultpoll_errno;
		return -1;
	}
	return (int)syscall(SYS_ppoll, fds, n, timeout_ms < 0 ? NULL : &ts, NULL, (size_t)8);
}
