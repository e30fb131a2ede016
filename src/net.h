/*
 * TCP connection set-up: name resolution and a non-blocking connect to
 * every address in turn, each bounded by the account's timing (clock.h).
 */
#ifndef MAILPIPE_NET_H
#define MAILPIPE_NET_H

#include "clock.h"
#include "lookup.h"

/* Connects to every address of host in turn (IPv6 and IPv4) and returns a
 * non-blocking socket in *fd_r.  Failures: FAIL_HOST (name not found),
 * FAIL_TEMPORARY (refused, unreachable, timed out, resolver trouble; the
 * deadline or a signal's grace reached, each said as such). */
int net_connect(const char *host, unsigned port, const struct timing *t, int *fd_r);

/* The same in two steps, so that the caller can work while the name is
 * looked up in its child process (conn.c starts OpenSSL meanwhile).
 * net_resolve_start() returns 0, or -1 when no lookup could be started
 * (recorded); net_connect_resolved() must follow it, and returns as
 * net_connect() does.  host must live until then. */
struct net_resolving {
	const char *host;
	unsigned port;
	struct lookup_pending lookup;
};
int net_resolve_start(const char *host, unsigned port, struct net_resolving *r);
int net_connect_resolved(struct net_resolving *r, const struct timing *t, int *fd_r);

#endif
