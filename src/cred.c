/*
 * Password sources.  A secret lives in exactly one heap string from the
 * moment it is read until cred_free() wipes it.  Files and the command's
 * pipe are read with read(2) into a buffer that is wiped afterwards, so no
 * stdio buffer keeps a copy.
 *
 * password_command is bounded as documented: one end time, `timeout` from
 * its start, covers reading its output and reaping it, and nothing it does
 * (trickling bytes, closing stdout and lingering, flooding) stretches it.
 * It runs in a process group of its own, so that on timeout or error the
 * whole group is killed, not just the shell, whose children would
 * otherwise live on under init.  Waits are poll() against that end time
 * on the clock of clock.h; nothing of the network layer is needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "clock.h"
#include "cred.h"
#include "fs.h"
#include "secret.h"
#include "signals.h"
#include "status.h"
#include "xalloc.h"

/* A password is one line; more than this is not a password. */
#define SECRET_MAX 4096
/* After SIGKILL, how long the kernel gets to end the leader of the group
 * before we stop waiting for it. */
#define KILL_GRACE_MS 2000
/* How often reaping looks again: a command that has closed its output is
 * normally exiting already. */
#define REAP_TICK_MS 10

void
cred_free(char *secret)
{
	secret_wipe(secret);
}

/* The length of the first line of buf[0..n). */
static size_t
line_length(const char *buf, size_t n)
{
	size_t len = 0;

	while (len < n && buf[len] != '\n' && buf[len] != '\r' && buf[len] != '\0')
		len++;
	return len;
}

/* Up to SECRET_MAX + 1 bytes of the file, so that a longer line shows. */
static int
read_file(int fd, const char *path, char *buf, size_t *n_r)
{
	*n_r = 0;
	while (*n_r < SECRET_MAX + 1) {
		ssize_t got = read(fd, buf + *n_r, SECRET_MAX + 1 - *n_r);

		if (got == 0)
			break;
		if (got < 0 && errno != EINTR)
			return fail(FAIL_NOINPUT, "password_file %s: %s", path, strerror(errno));
		if (got > 0)
			*n_r += (size_t)got;
	}
	return 0;
}

static int
file_secret(const char *path, const char *buf, size_t n, char **secret_r)
{
	size_t len = line_length(buf, n);

	if (len > SECRET_MAX)
		return fail(FAIL_CONFIG, "password_file %s: the first line is longer than %d "
		    "bytes", path, SECRET_MAX);
	if (len == 0)
		return fail(FAIL_CONFIG, "password_file %s: empty first line", path);
	*secret_r = xstrndup(buf, len);
	return 0;
}

/* The file is checked (fs_check_trusted()) and read through the same
 * descriptor, so it cannot be swapped between the two. */
static int
from_file(const char *path, char **secret_r)
{
	char buf[SECRET_MAX + 1];
	size_t n = 0;
	int fd = fs_open_regular(path), rc;

	if (fd < 0)
		return fail(FAIL_NOINPUT, "password_file %s: %s", path, fs_open_error(errno));
	if (fs_check_trusted_fd(fd, path, FS_READERS_GROUP) < 0)
		rc = fail_context("password_file");
	else
		rc = read_file(fd, path, buf, &n);
	close(fd);
	if (rc == 0)
		rc = file_secret(path, buf, n, secret_r);
	OPENSSL_cleanse(buf, sizeof buf);
	return rc;
}

/* stdin from /dev/null, stdout into the pipe, stderr left alone (so that a
 * gpg or pinentry complaint reaches the user) and no other descriptor,
 * whatever another module left open; every signal at its default and none
 * blocked; a process group of its own, led by the shell. */
static int
spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *attr, int out)
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
	if (posix_spawn_file_actions_addopen(fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0) == 0 &&
	    posix_spawn_file_actions_adddup2(fa, out, STDOUT_FILENO) == 0 &&
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
 * signal can be handled: a handler that ends the program then ends the
 * command too, not leaving it to run on under init. */
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

/* Starts /bin/sh -c command; *pid_r is also its process group. */
static int
start_command(const char *command, pid_t *pid_r, int *fd_r)
{
	char *argv[] = { "sh", "-c", (char *)command, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int out[2], err;

	if (pipe2(out, O_CLOEXEC) < 0)
		return fail(FAIL_TEMPORARY, "password_command: cannot make a pipe: %s",
		    strerror(errno));
	if (spawn_setup(&fa, &attr, out[1]) < 0) {
		err = ENOMEM;
	} else {
		err = spawn_tracked(pid_r, &fa, &attr, argv);
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&attr);
	}
	close(out[1]);
	if (err != 0) {
		close(out[0]);
		return fail(err == EAGAIN || err == ENOMEM ? FAIL_TEMPORARY : FAIL_CONFIG,
		    "password_command: cannot start /bin/sh: %s", strerror(err));
	}
	*fd_r = out[0];
	return 0;
}

/* The end of a wait for the command: its own end time, or the end of a
 * signal's grace when that comes first (clock.h), so that mailpipe-fetch
 * stopping does not sit out a token helper's timeout. */
static int64_t
wait_end_ms(int64_t end_ms)
{
	int64_t grace_end = timing_signal_end_ms();

	return grace_end != 0 && grace_end < end_ms ? grace_end : end_ms;
}

static int
timed_out(int64_t end_ms, int timeout_s)
{
	if (wait_end_ms(end_ms) < end_ms)
		return fail(FAIL_TEMPORARY, "gave up waiting for password_command after a signal");
	return fail(FAIL_TEMPORARY, "password_command did not finish within %d s", timeout_s);
}

/* Reads the command's output into buf (SECRET_MAX + 1 bytes) until it
 * closes its stdout.  Failures: the end time passed (FAIL_TEMPORARY), more
 * than SECRET_MAX bytes (FAIL_CONFIG: never drained, it is an error), a
 * wait or read error (FAIL_TEMPORARY). */
static int
read_output(int fd, int64_t end_ms, int timeout_s, char *buf, size_t *n_r)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	*n_r = 0;
	while (*n_r <= SECRET_MAX) {
		int64_t left = wait_end_ms(end_ms) - clock_now_ms();
		ssize_t got;
		int ready;

		if (left <= 0)
			return timed_out(end_ms, timeout_s);
		pfd.revents = 0;
		ready = poll(&pfd, 1, (int)left);
		if (ready < 0 && errno != EINTR)
			return fail(FAIL_TEMPORARY, "password_command: cannot wait for its output: "
			    "%s", strerror(errno));
		if (ready <= 0)
			continue;	/* EINTR or the time is up: looked at above */
		got = read(fd, buf + *n_r, SECRET_MAX + 1 - *n_r);
		if (got == 0)
			return 0;
		if (got < 0 && errno != EINTR)
			return fail(FAIL_TEMPORARY, "password_command: cannot read its output: %s",
			    strerror(errno));
		if (got > 0)
			*n_r += (size_t)got;
	}
	return fail(FAIL_CONFIG, "password_command printed more than %d bytes", SECRET_MAX);
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

/* The command's whole group: the shell and whatever it started. */
static void
kill_group(pid_t pgid)
{
	int status;

	kill(-pgid, SIGKILL);
	reap_before(pgid, clock_now_ms() + KILL_GRACE_MS, false, &status);
	signals_track_group(0);
}

static int
check_status(int status)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return fail(FAIL_CONFIG, "password_command failed (%s %d)",
	    WIFEXITED(status) ? "exit status" : "signal",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static int
command_secret(const char *buf, size_t n, char **secret_r)
{
	size_t len = line_length(buf, n);

	if (len == 0)
		return fail(FAIL_CONFIG, "password_command printed %s", n == 0 ? "nothing" :
		    "an empty first line");
	*secret_r = xstrndup(buf, len);
	return 0;
}

/* After its output ends the command has what is left of the time to
 * exit.  Unless it was reaped, its group is killed, whatever went wrong. */
static int
from_command(const struct account *a, char **secret_r)
{
	int64_t end_ms = clock_now_ms() + a->timeout * 1000LL;
	char buf[SECRET_MAX + 1];
	size_t n = 0;
	int fd = -1, status = 0, reaped = 0, rc;
	pid_t pid = -1;

	if (start_command(a->password_command, &pid, &fd) < 0)
		return -1;
	rc = read_output(fd, end_ms, a->timeout, buf, &n);
	close(fd);
	if (rc == 0 && (reaped = reap_before(pid, end_ms, true, &status)) <= 0)
		rc = reaped == 0 ? timed_out(end_ms, a->timeout) : fail(FAIL_TEMPORARY,
		    "password_command: cannot wait for it: %s", strerror(errno));
	if (reaped == 0)
		kill_group(pid);	/* not reaped, so pid still names the group */
	signals_track_group(0);
	if (rc == 0 && (rc = check_status(status)) == 0)
		rc = command_secret(buf, n, secret_r);
	OPENSSL_cleanse(buf, sizeof buf);
	return rc;
}

int
cred_password(const struct account *a, char **secret_r)
{
	*secret_r = NULL;
	if (a->password_command != NULL)
		return from_command(a, secret_r);
	if (a->password_file != NULL)
		return from_file(a->password_file, secret_r);
	if (a->password != NULL)
		*secret_r = xstrdup(a->password);
	return 0;
}
