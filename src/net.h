/*
 * TCP connection set-up: name resolution and a non-blocking connect to
 * every address in turn, each bounded by the account's timing (clock.h).
 */
#ifndef MAILPIPE_NET_H
#define MAILPIPE_NET_H

#include "clock.h"

/* Connects to every address of host in turn (IPv6 and IPv4) and returns a
 * non-blocking socket in *fd_r.  Failures: FAIL_HOST (name not found),
 * FAIL_TEMPORARY (refused, unreachable, timed out, resolver trouble). */
int net_connect(const char *host, unsigned port, const struct timing *t, int *fd_r);

/* The names these had before they moved to clock.h, for the callers that
 * still use them (cred.c, fetch.c). */
#define NET_SIGNAL_GRACE_MS TIMING_SIGNAL_GRACE_MS

static inline int
net_wait(int fd, short events, const struct timing *t, const char *what)
{
	return timing_poll(fd, events, t, what) < 0 ? -1 : 0;
}

static inline void
net_watch_signal_flag(volatile sig_atomic_t *flag)
{
	timing_watch_signal(flag, TIMING_SIGNAL_GRACE_MS);
}

#endif
