/*
 * The one random source.  Its failure ends the program through the one
 * mapping to exit codes (status.h), like running out of memory does
 * (xalloc.c): no caller carries an error path for it.
 */
#include <limits.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "log.h"
#include "random.h"
#include "status.h"

void
random_bytes(void *p, size_t n)
{
	const char *why;

	if (n <= INT_MAX && RAND_bytes(p, (int)n) == 1)
		return;
	why = ERR_reason_error_string(ERR_get_error());
	fail(FAIL_TEMPORARY, "cannot get random bytes from the system's random source "
	    "(getrandom, /dev/urandom): %s", why != NULL ? why : "OpenSSL's generator failed");
	log_error("%s", fail_line());
	exit(status_exit_code(FAIL_TEMPORARY));
}
