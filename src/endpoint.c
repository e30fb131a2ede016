/*
 * The endpoint of an account.  Pure: the start of the run is the caller's
 * reading of the clock, so the deadline's origin is visible where the run
 * begins.
 */
#include "endpoint.h"

void
endpoint_of(const struct account *a, int64_t start_ms, struct endpoint *ep)
{
	ep->host = a->host;
	ep->port = a->port;
	ep->tls = a->tls;
	ep->tls_options.verify = a->tls_verify;
	ep->tls_options.ca_file = a->tls_ca_file;
	ep->tls_options.fingerprint = a->tls_fingerprint;
	ep->tls_options.cert_file = a->tls_cert_file;
	ep->tls_options.key_file = a->tls_key_file;
	ep->tls_options.peer = NULL;
	ep->timing.timeout_ms = a->timeout * 1000;
	ep->timing.deadline_ms = a->deadline > 0 ? start_ms + a->deadline * 1000LL : 0;
}
