/*
 * TCP connection set-up: name resolution and a non-blocking connect to
 * every address in turn, each bounded by the account's timing (clock.h).
 */
#ifndef MAILPIPE_NET_H
#define MAILPIPE_NET_H

#include "clock.h"

/* Connects to every address of host in turn (IPv6 and IPv4) and returns a
 * non-blocking socket in *fd_r.  Failures: FAIL_HOST (name not found),
 * FAIL_TEMPORARY (refused, unreachable, timed out, resolver trouble; the
 * deadline or a signal's grace reached, each said as such). */
int net_connect(const char *host, unsigned port, const struct timing *t, int *fd_r);

#endif
