/*
 * TCP connection set-up with deadlines.  Every wait in the program goes
 * through timing_wait_ms(), so a hung server can never stall cron: each single
 * wait is bounded by the account's `timeout` and the whole run by `deadline`.
 */
#ifndef MAILPIPE_NET_H
#define MAILPIPE_NET_H

#include <signal.h>
#include <stdint.h>

struct timing {
	int timeout_ms;		/* one wait; > 0 */
	int64_t deadline_ms;	/* monotonic end of the run; 0 = none */
};

int64_t clock_now_ms(void);
/* Milliseconds the next wait may take, or 0 when time is up. */
int timing_wait_ms(const struct timing *t);
/* poll() one fd for events within the timing; returns 0 when ready, or -1
 * with FAIL_TEMPORARY recorded ("timed out ...: what"). */
int net_wait(int fd, short events, const struct timing *t, const char *what);

/* After a SIGTERM or SIGINT a batch tool should finish what it is doing,
 * not wait out a stalled server: once *flag is non-zero, every wait is cut
 * to NET_SIGNAL_GRACE_MS. */
#define NET_SIGNAL_GRACE_MS 10000
void net_watch_signal_flag(volatile sig_atomic_t *flag);

/* Connects to every address of host in turn (IPv6 and IPv4) and returns a
 * non-blocking socket in *fd_r.  Failures: FAIL_HOST (name not found),
 * FAIL_TEMPORARY (refused, unreachable, timed out, resolver trouble). */
int net_connect(const char *host, unsigned port, const struct timing *t, int *fd_r);

#endif
