/*
 * This host's names, in one place for every module that gives one: the node
 * name (gethostname) for Maildir file names, and the fully qualified domain
 * name for EHLO and the right side of a Message-ID.  A bare node name such
 * as "vm" is no domain name: servers with reject_non_fqdn_helo_hostname
 * refuse it in EHLO, where RFC 5321 4.1.4 wants a domain or an address
 * literal.
 */
#ifndef MAILPIPE_HOSTNAME_H
#define MAILPIPE_HOSTNAME_H

#include <stdbool.h>
#include <stddef.h>

#include "lookup.h"

/* Room for any host name (RFC 1035: 253 octets) and its NUL. */
#define HOSTNAME_MAX 256

/* The node name, or "localhost" when gethostname() fails or gives an empty
 * name; cut to size, always NUL-terminated. */
void hostname_node(char *out, size_t size);
/* The host's domain name: the canonical name of the node name (getaddrinfo
 * with AI_CANONNAME, which may ask the resolver, given timeout_ms at most),
 * else the node name, if hostname_choose() takes it.  False, with out
 * empty, when there is none, it does not fit or the lookup took too long
 * (nothing recorded: the caller goes on without one). */
bool hostname_fqdn(char *out, size_t size, int timeout_ms);
/* The same in two steps, the lookup running in between (lookup.h):
 * started, then collected (timeout_ms more at most) or abandoned. */
struct hostname_lookup {
	char node[HOSTNAME_MAX];
	struct lookup_pending pending;
};
void hostname_fqdn_start(struct hostname_lookup *h);
bool hostname_fqdn_collect(struct hostname_lookup *h, char *out, size_t size, int timeout_ms);
void hostname_fqdn_abandon(struct hostname_lookup *h);
/* The choice hostname_fqdn() makes from what the system said (either may be
 * NULL): the canonical name when it is a domain name of this host, else the
 * node name when it is one, else NULL.  A domain name here has two labels
 * or more of letters, digits and inner hyphens, at most 63 octets each and
 * 253 in all, a last label that is not all digits (an IPv4 address is no
 * name), and no "localhost" or "localdomain" label at either end, which
 * names no host to anyone else. */
const char *hostname_choose(const char *node, const char *canonical);

#endif
