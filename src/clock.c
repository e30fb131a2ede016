/*
 * Deadlines and bounded waits.  Every limit is an absolute point on the
 * monotonic clock: a per-wait timeout starts when the wait starts, but the
 * session's deadline and the grace after a signal are fixed once, so that
 * neither a steady stream nor a byte now and then can push them back.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "status.h"

/* The signal machinery: the flag a handler sets, and the end of the grace
 * period, fixed the first time the flag is seen set. */
static struct {
	volatile sig_atomic_t *flag;
	int grace_ms;
	int64_t end_ms;		/* 0 until the signal is seen */
} signal_watch;

/* A point in time and the limit it stands for. */
struct limit {
	int64_t at_ms;		/* 0: no limit */
	enum timing_end why;
};

int64_t
clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
timing_watch_signal(volatile sig_atomic_t *flag, int grace_ms)
{
	signal_watch.flag = flag;
	signal_watch.grace_ms = grace_ms;
	signal_watch.end_ms = 0;
}

int64_t
timing_signal_end_ms(void)
{
	if (signal_watch.flag == NULL || *signal_watch.flag == 0)
		return 0;
	if (signal_watch.end_ms == 0)
		signal_watch.end_ms = clock_now_ms() + signal_watch.grace_ms;
	return signal_watch.end_ms;
}

/* The earlier of two limits; a limit at 0 is none. */
static struct limit
earlier(struct limit a, struct limit b)
{
	if (a.at_ms == 0)
		return b;
	return b.at_ms != 0 && b.at_ms < a.at_ms ? b : a;
}

/* The session's own end: its deadline or the end of a signal's grace. */
static struct limit
session_limit(const struct timing *t)
{
	struct limit deadline = { t->deadline_ms, TIMING_DEADLINE };
	struct limit grace = { timing_signal_end_ms(), TIMING_SIGNAL };

	return earlier(deadline, grace);
}

/* Records why time ran out; returns the reason for the caller. */
static int
ran_out(enum timing_end why, const char *what)
{
	if (why == TIMING_DEADLINE)
		fail(FAIL_TEMPORARY, "deadline reached %s", what);
	else if (why == TIMING_SIGNAL)
		fail(FAIL_TEMPORARY, "gave up %s after a signal", what);
	else
		fail(FAIL_TEMPORARY, "timed out %s", what);
	return why;
}

int
timing_wait_ms(const struct timing *t)
{
	struct limit end = session_limit(t);
	int64_t left;

	if (end.at_ms == 0)
		return t->timeout_ms;
	left = end.at_ms - clock_now_ms();
	if (left <= 0)
		return 0;
	return left < t->timeout_ms ? (int)left : t->timeout_ms;
}

int
timing_with_allowance(int timeout_ms, unsigned long items, int per_item_ms)
{
	int64_t extra = TIMING_ALLOWANCE_MAX_MS;

	if (per_item_ms <= 0)
		return timeout_ms;
	if (items < (unsigned long)(TIMING_ALLOWANCE_MAX_MS / per_item_ms))
		extra = (int64_t)items * per_item_ms;
	return extra > INT_MAX - timeout_ms ? INT_MAX : timeout_ms + (int)extra;
}

int
timing_check(const struct timing *t, const char *what)
{
	struct limit end = session_limit(t);

	if (end.at_ms != 0 && clock_now_ms() >= end.at_ms)
		return ran_out(end.why, what);
	return TIMING_READY;
}

int
timing_poll(int fd, short events, const struct timing *t, const char *what)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	struct limit timeout = { clock_now_ms() + t->timeout_ms, TIMING_TIMEOUT };

	for (;;) {
		/* Again after every EINTR: a signal may have started its grace. */
		struct limit end = earlier(timeout, session_limit(t));
		int64_t left = end.at_ms - clock_now_ms();
		int n;

		if (left <= 0)
			return ran_out(end.why, what);
		n = poll(&pfd, 1, left < INT_MAX ? (int)left : INT_MAX);
		if (n > 0)
			return TIMING_READY;
		if (n < 0 && errno != EINTR) {
			fail(FAIL_TEMPORARY, "poll: %s", strerror(errno));
			return TIMING_ERROR;
		}
	}
}
