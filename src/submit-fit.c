/*
 * What the server must offer for a message (submit-fit.h): checked before
 * MAIL, because a refusal there is one nobody has to clean up after, and
 * a message over the limit would otherwise be streamed whole before the
 * server's refusal of it (RFC 1870 section 6.1 lets a server refuse only
 * after the final dot).
 */
#include "status.h"
#include "submit-fit.h"

int
fit_size(const struct smtp_caps *caps, long long size)
{
	if (caps->size_limit <= 0 || size <= caps->size_limit)
		return 0;
	return fail(FAIL_PERMANENT, "the message is %lld octets, more than the %lld the server "
	    "takes (SIZE); nothing sent", size, caps->size_limit);
}
