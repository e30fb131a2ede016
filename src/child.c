/*
 * A shell command as a bounded child (child.h).  Waits are poll() against
 * one end time on the clock of clock.h; the group is made known to
 * signals.h before any signal can be handled, so that a handler that ends
 * the program ends the command too, not leaving it to run on under init.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "clock.h"
#include "signals.h"
#include "status.h"

/* After SIGKILL, how long the kernel gets to end the leader of the group
 * before we stop waiting for it. */
#define KILL_GRACE_MS 2000
/* How often reaping looks again: a command that has closed its output is
 * normally exiting already. */
#define REAP_TICK_MS 10
/* How often a read of its output looks whether the shell has exited. */
#define LEADER_TICK_MS 100

static int
redirect(posix_spawn_file_actions_t *fa, int in_fd, int out, bool capture_stderr)
{
	int rc = in_fd >= 0 ? posix_spawn_file_actions_adddup2(fa, in_fd, STDIN_FILENO) :
	    posix_spawn_file_actions_addopen(fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(fa, out, STDOUT_FILENO);
	if (rc == 0 && capture_stderr)
		rc = posix_spawn_file_actions_adddup2(fa, out, STDERR_FILENO);
	return rc;
}

/* stdin and the pipe as child_start() says and no other descriptor,
 * whatever another module left open; every signal at its default and none
 * blocked; a process group of its own, led by the shell. */
static int
spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *attr, int in_fd, int out,
	bool capture_stderr)
{
	sigset_t all, none;

	sigfillset(&all);
	sigemptyset(&none);
	if (posix_spawn_file_actions_init(fa) != 0)
		return -1;
	if (posix_spawnattr_init(attr) != 0) {
		posix_spawn_file_actions_destroy(fa);
		return -1;
	}
	if (redirect(fa, in_fd, out, capture_stderr) == 0 &&
	    posix_spawn_file_actions_addclosefrom_np(fa, STDERR_FILENO + 1) == 0 &&
	    posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETSIGMASK) == 0 &&
	    posix_spawnattr_setpgroup(attr, 0) == 0 &&
	    posix_spawnattr_setsigdefault(attr, &all) == 0 &&
	    posix_spawnattr_setsigmask(attr, &none) == 0)
		return 0;
	posix_spawn_file_actions_destroy(fa);
	posix_spawnattr_destroy(attr);
	return -1;
}

/* posix_spawn(), with the new group made known to signals.h before any
 * signal can be handled. */
static int
spawn_tracked(pid_t *pid_r, const posix_spawn_file_actions_t *fa,
	const posix_spawnattr_t *attr, char *argv[])
{
	sigset_t all, before;
	int err;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &before);
	err = posix_spawn(pid_r, "/bin/sh", fa, attr, argv, environ);
	if (err == 0)
		signals_track_group(*pid_r);
	sigprocmask(SIG_SETMASK, &before, NULL);
	return err;
}

int
child_start(struct child *c, const char *what, const char *command, int in_fd,
	bool capture_stderr, int timeout_s)
{
	char *argv[] = { "sh", "-c", (char *)command, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int out[2], err;

	*c = (struct child){ .what = what, .pid = -1, .out = -1, .timeout_s = timeout_s,
		.end_ms = clock_now_ms() + timeout_s * 1000LL };
	if (pipe2(out, O_CLOEXEC) < 0)
		return fail(FAIL_TEMPORARY, "%s: cannot make a pipe: %s", what, strerror(errno));
	if (spawn_setup(&fa, &attr, in_fd, out[1], capture_stderr) < 0) {
		err = ENOMEM;
	} else {
		err = spawn_tracked(&c->pid, &fa, &attr, argv);
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&attr);
	}
	close(out[1]);
	if (err != 0) {
		close(out[0]);
		c->pid = -1;
		return fail(err == EAGAIN || err == ENOMEM ? FAIL_TEMPORARY : FAIL_CONFIG,
		    "%s: cannot start /bin/sh: %s", what, strerror(err));
	}
	c->out = out[0];
	return 0;
}

/* The end of a wait for the command: its own end time, or the end of a
 * signal's grace when that comes first (clock.h), so that mailpipe-fetch
 * stopping does not sit out a helper's timeout. */
static int64_t
wait_end_ms(int64_t end_ms)
{
	int64_t grace_end = timing_signal_end_ms();

	return grace_end != 0 && grace_end < end_ms ? grace_end : end_ms;
}

static int
timed_out(const struct child *c)
{
	if (wait_end_ms(c->end_ms) < c->end_ms)
		return fail(FAIL_TEMPORARY, "gave up waiting for %s after a signal", c->what);
	return fail(FAIL_TEMPORARY, "%s did not finish within %d s", c->what, c->timeout_s);
}

/* True once the shell has exited (its status kept in c).  What it wrote is
 * in the pipe by then; a background process it started may hold the pipe
 * open for as long as it likes, and with done_at_exit is not waited for. */
static bool
leader_exited(struct child *c)
{
	if (!c->reaped && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
		c->reaped = true;
	return c->reaped;
}

int
child_read(struct child *c, char *buf, size_t cap, size_t *n_r)
{
	struct pollfd pfd = { .fd = c->out, .events = POLLIN };

	*n_r = 0;
	while (*n_r < cap) {
		int64_t left = wait_end_ms(c->end_ms) - clock_now_ms();
		ssize_t got;
		int ready;

		if (left <= 0)
			return timed_out(c);
		pfd.revents = 0;
		ready = poll(&pfd, 1, (int)(left < LEADER_TICK_MS ? left : LEADER_TICK_MS));
		if (ready < 0 && errno != EINTR)
			return fail(FAIL_TEMPORARY, "%s: cannot wait for its output: %s", c->what,
			    strerror(errno));
		if (ready == 0 && c->done_at_exit && leader_exited(c))
			return 0;	/* nothing left from the shell itself */
		if (ready <= 0)
			continue;	/* EINTR or the time is up: looked at above */
		got = read(c->out, buf + *n_r, cap - *n_r);
		if (got == 0)
			return 0;
		if (got < 0 && errno != EINTR)
			return fail(FAIL_TEMPORARY, "%s: cannot read its output: %s", c->what,
			    strerror(errno));
		if (got > 0)
			*n_r += (size_t)got;
	}
	return 1;
}

/* Reaps pid before end_ms (or the end of a signal's grace, when graced):
 * 1 when it was reaped (*status set), 0 when the time ran out first, -1
 * (errno set) when it cannot be waited for. */
static int
reap_before(pid_t pid, int64_t end_ms, bool graced, int *status)
{
	for (;;) {
		pid_t got = waitpid(pid, status, WNOHANG);
		int64_t left = (graced ? wait_end_ms(end_ms) : end_ms) - clock_now_ms();

		if (got == pid)
			return 1;
		if (got < 0 && errno != EINTR)
			return -1;
		if (left <= 0)
			return 0;
		poll(NULL, 0, (int)(left < REAP_TICK_MS ? left : REAP_TICK_MS));
	}
}

void
child_abort(struct child *c)
{
	int status;

	if (c->out >= 0)
		close(c->out);
	c->out = -1;
	if (c->pid > 0 && !c->reaped) {
		/* not reaped, so pid still names the group */
		kill(-c->pid, SIGKILL);
		reap_before(c->pid, clock_now_ms() + KILL_GRACE_MS, false, &status);
	}
	c->pid = -1;
	signals_track_group(0);
}

int
child_wait(struct child *c, int *status_r)
{
	int reaped, err;

	if (c->out >= 0)
		close(c->out);
	c->out = -1;
	if (c->reaped) {	/* by child_read */
		*status_r = c->status;
		child_abort(c);
		return 0;
	}
	reaped = reap_before(c->pid, c->end_ms, true, status_r);
	err = errno;
	c->reaped = reaped == 1;
	if (reaped == 1) {
		child_abort(c);
		return 0;
	}
	if (reaped == 0)
		timed_out(c);
	else
		fail(FAIL_TEMPORARY, "%s: cannot wait for it: %s", c->what, strerror(err));
	child_abort(c);
	return -1;
}
