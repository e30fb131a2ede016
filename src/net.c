/*
 * Name resolution and connection set-up.  Sockets are non-blocking from the
 * start: every wait is a timing_poll() bounded by the account's timeout and
 * the session's deadline, never an alarm() or a blocking call; so is the
 * wait for the resolver (lookup.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lookup.h"
#include "net.h"
#include "status.h"

/* Finishes a non-blocking connect(); returns 0, an errno value, or -1 when
 * the wait ended otherwise than by the timeout (the deadline, a signal's
 * grace, poll() failing: timing_poll() recorded which). */
static int
connect_one(const struct addrinfo *ai, const struct timing *t, int *fd_r)
{
	int fd, err = 0, why;
	socklen_t len = sizeof err;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    ai->ai_protocol);
	if (fd < 0)
		return errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
		} else if ((why = timing_poll(fd, POLLOUT, t, "connecting")) < 0) {
			err = why == TIMING_TIMEOUT ? ETIMEDOUT : -1;
		} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
			err = errno;
		}
	}
	if (err != 0) {
		close(fd);
		return err;
	}
	*fd_r = fd;
	return 0;
}

static void
service_of(unsigned port, char service[static 16])
{
	snprintf(service, 16, "%u", port);
}

int
net_resolve_start(const char *host, unsigned port, struct net_resolving *r)
{
	const struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_ADDRCONFIG };
	char service[16];

	r->host = host;
	r->port = port;
	service_of(port, service);
	return lookup_start(host, service, &hints, &r->lookup);
}

/* The addresses of the started lookup, waited for within t (lookup.h: a
 * resolver that never answers cannot hold us past the timeout or the
 * deadline). */
static int
resolve(struct net_resolving *r, const struct timing *t, struct lookup *found)
{
	const struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	const char *host = r->host;
	char service[16];

	if (lookup_collect(&r->lookup, t, found) < 0)
		return -1;
	if (found->rc == EAI_ADDRFAMILY || found->rc == EAI_NONAME) {
		/* AI_ADDRCONFIG hides ::1 and 127.0.0.1 on a host whose only
		 * interface is loopback; ask again without it. */
		service_of(r->port, service);
		if (lookup_run(host, service, &hints, t, found) < 0)
			return -1;
	}
	if (found->rc == 0 && found->list != NULL)
		return 0;
	if (found->rc == 0)	/* never from getaddrinfo(); connect to nothing is no success */
		return fail(FAIL_HOST, "host name %s has no address", host);
	if (found->rc == EAI_NONAME || found->rc == EAI_NODATA)
		return fail(FAIL_HOST, "host name %s not found", host);
	if (found->rc == EAI_SYSTEM)
		return fail(FAIL_TEMPORARY, "%s: cannot resolve: %s", host, strerror(found->err));
	return fail(FAIL_TEMPORARY, "%s: cannot resolve: %s", host, gai_strerror(found->rc));
}

int
net_connect_resolved(struct net_resolving *r, const struct timing *t, int *fd_r)
{
	struct lookup found;
	int err = 0;

	if (resolve(r, t, &found) < 0)
		return -1;
	for (const struct addrinfo *ai = found.list; ai != NULL; ai = ai->ai_next) {
		err = connect_one(ai, t, fd_r);
		if (err <= 0 || timing_wait_ms(t) == 0)
			break;
	}
	lookup_free(&found);
	if (err <= 0)
		return err;
	return fail(FAIL_TEMPORARY, "cannot connect: %s",
	    err == ETIMEDOUT ? "timed out" : strerror(err));
}

int
net_connect(const char *host, unsigned port, const struct timing *t, int *fd_r)
{
	struct net_resolving r;

	if (net_resolve_start(host, port, &r) < 0)
		return -1;
	return net_connect_resolved(&r, t, fd_r);
}
