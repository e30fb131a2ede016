/*
 * The one random source: the kernel's generator, through getrandom(2).
 * OpenSSL's would do as well, but its first use loads OpenSSL's
 * configuration and instantiates its generator, half the CPU of a plain
 * send that needs no TLS at all.  Its failure ends the program through
 * the one mapping to exit codes (status.h), like running out of memory
 * does (xalloc.c): no caller carries an error path for it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "random.h"
#include "status.h"

void
random_bytes(void *p, size_t n)
{
	unsigned char *out = p;

	/* Flags 0: wait until the kernel's pool is initialised (early boot
	 * only), then never block; a request this small is never cut short
	 * but by a signal. */
	while (n > 0) {
		ssize_t got = getrandom(out, n, 0);

		if (got > 0) {
			out += got;
			n -= (size_t)got;
		} else if (got == 0 || errno != EINTR) {
			break;
		}
	}
	if (n == 0)
		return;
	fail(FAIL_TEMPORARY, "cannot get random bytes from the system's random source "
	    "(getrandom): %s", strerror(errno));
	log_error("%s", fail_line());
	exit(status_exit_code(FAIL_TEMPORARY));
}
