/*
 * Password sources.  A secret lives in exactly one heap string from the
 * moment it is read until cred_free() wipes it.  Files and the command's
 * pipe are read with read(2) into a buffer that is wiped afterwards, so no
 * stdio buffer keeps a copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cred.h"
#include "net.h"
#include "status.h"
#include "xalloc.h"

/* A password is one line; more than this is not a password. */
#define SECRET_MAX 4096

void
cred_wipe_string(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

void
cred_free(char *secret)
{
	cred_wipe_string(secret);
}

/* The first line of buf[0..n), or NULL if it is empty. */
static char *
first_line(const char *buf, size_t n)
{
	size_t len = 0;

	while (len < n && buf[len] != '\n' && buf[len] != '\r' && buf[len] != '\0')
		len++;
	return len > 0 ? xstrndup(buf, len) : NULL;
}

static int
from_file(const char *path, char **secret_r)
{
	char buf[SECRET_MAX];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return fail(FAIL_NOINPUT, "password_file %s: %s", path, strerror(errno));
	do
		n = read(fd, buf, sizeof buf);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return fail(FAIL_NOINPUT, "password_file %s: %s", path, strerror(errno));
	*secret_r = first_line(buf, (size_t)n);
	OPENSSL_cleanse(buf, sizeof buf);
	if (*secret_r == NULL)
		return fail(FAIL_CONFIG, "password_file %s: empty first line", path);
	return 0;
}

/* Starts /bin/sh -c command with stdin from /dev/null and stdout to a pipe;
 * stderr is left alone, so a pinentry or gpg complaint reaches the user. */
static int
start_command(const char *command, pid_t *pid_r, int *fd_r)
{
	int out[2];

	if (pipe2(out, O_CLOEXEC) < 0)
		return fail(FAIL_CONFIG, "password_command: %s", strerror(errno));
	*pid_r = fork();
	if (*pid_r < 0) {
		close(out[0]);
		close(out[1]);
		return fail(FAIL_CONFIG, "password_command: %s", strerror(errno));
	}
	if (*pid_r == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	*fd_r = out[0];
	return 0;
}

/* Reads the command's whole output (the first SECRET_MAX bytes kept) until
 * it closes stdout, within the timeout. */
static int
collect_output(int fd, const struct timing *t, char *buf, size_t *n_r)
{
	char sink[512];

	*n_r = 0;
	for (;;) {
		ssize_t got;

		if (net_wait(fd, POLLIN, t, "for password_command") < 0)
			return -1;
		if (*n_r < SECRET_MAX)
			got = read(fd, buf + *n_r, SECRET_MAX - *n_r);
		else
			got = read(fd, sink, sizeof sink);	/* drained, not kept */
		if (got == 0)
			return 0;
		if (got < 0 && errno != EINTR)
			return fail(FAIL_CONFIG, "password_command: %s", strerror(errno));
		if (got > 0 && *n_r < SECRET_MAX)
			*n_r += (size_t)got;
	}
}

static int
from_command(const struct account *a, char **secret_r)
{
	struct timing t = { .timeout_ms = a->timeout * 1000 };
	char buf[SECRET_MAX];
	size_t n = 0;
	int fd = -1, status = 0, rc;
	pid_t pid = -1;

	if (start_command(a->password_command, &pid, &fd) < 0)
		return -1;
	rc = collect_output(fd, &t, buf, &n);
	close(fd);
	if (rc < 0)
		kill(pid, SIGKILL);	/* a prompt nobody will answer, under cron */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*secret_r = rc == 0 ? first_line(buf, n) : NULL;
	OPENSSL_cleanse(buf, sizeof buf);
	if (rc < 0)
		return fail(FAIL_TEMPORARY, "password_command did not finish within %d s",
		    a->timeout);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		cred_free(*secret_r);
		*secret_r = NULL;
		return fail(FAIL_CONFIG, "password_command failed (%s %d)",
		    WIFEXITED(status) ? "exit status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	if (*secret_r == NULL)
		return fail(FAIL_CONFIG, "password_command printed nothing");
	return 0;
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
