/*
 * The time limits on every wait of the program, so that a hung or trickling
 * server can never stall cron: each single wait is bounded by the account's
 * `timeout`; the whole session by its `deadline`, which is looked at before
 * every read and write and not only when one would block (a server that
 * never stops sending never makes us wait); and after SIGTERM or SIGINT
 * everything by one grace period counted from the signal.
 */
#ifndef MAILPIPE_CLOCK_H
#define MAILPIPE_CLOCK_H

#include <signal.h>
#include <stdint.h>

struct timing {
	int timeout_ms;		/* one wait; > 0 */
	int64_t deadline_ms;	/* monotonic end of the session; 0 = none */
};

/* Why a wait or a check failed; every one is recorded as FAIL_TEMPORARY
 * with a line naming what was being done ("waiting for the server"). */
enum timing_end {
	TIMING_READY = 0,
	TIMING_TIMEOUT = -1,	/* "timed out WHAT": one wait took `timeout` */
	TIMING_DEADLINE = -2,	/* "deadline reached WHAT" */
	TIMING_SIGNAL = -3,	/* "gave up WHAT after a signal" */
	TIMING_ERROR = -4,	/* poll() itself failed */
};

/* CLOCK_MONOTONIC in milliseconds. */
int64_t clock_now_ms(void);
/* Milliseconds the next wait may take, or 0 when time is up. */
int timing_wait_ms(const struct timing *t);
/* Before each read or write: TIMING_READY, or TIMING_DEADLINE or
 * TIMING_SIGNAL (recorded) when the session's time is up. */
int timing_check(const struct timing *t, const char *what);
/* poll() one fd for events; TIMING_READY when it is ready, else one of the
 * negative enum timing_end values, recorded. */
int timing_poll(int fd, short events, const struct timing *t, const char *what);

/* The wait for an answer the server has to work for first, in proportion
 * to items (QUIT after DELEs: the server removes the messages before it
 * answers): timeout_ms plus per_item_ms an item, the extra at most
 * TIMING_ALLOWANCE_MAX_MS so that the wait stays bounded without a
 * deadline.  The deadline and a signal's grace still end it earlier. */
#define TIMING_ALLOWANCE_MAX_MS (30 * 60 * 1000)
int timing_with_allowance(int timeout_ms, unsigned long items, int per_item_ms);

/* A batch tool that gets SIGTERM or SIGINT should finish what it is doing,
 * not wait out a stalled server: once *flag is non-zero, every wait and
 * every read and write ends at most grace_ms after the first time the flag
 * was seen set.  Watching again (or NULL) starts afresh. */
#define TIMING_SIGNAL_GRACE_MS 10000
void timing_watch_signal(volatile sig_atomic_t *flag, int grace_ms);
/* When that grace ends (clock_now_ms() time), or 0 while no signal came:
 * for a wait that keeps its own end time and failure line (cred.c). */
int64_t timing_signal_end_ms(void);

#endif
