/*
 * Core dumps off, once, before any secret is read.  Both calls only lower
 * what the process may do, so they need no privilege.
 */
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "harden.h"
#include "status.h"

int
harden_process(void)
{
	const struct rlimit none = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &none) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return fail(FAIL_IO, "cannot turn core dumps off: %s", strerror(errno));
	return 0;
}
