/*
 * Password sources.  A secret lives in exactly one heap string from the
 * moment it is read until cred_free() wipes it.  Files and the command's
 * pipe are read with read(2) into a buffer that is wiped afterwards, so no
 * stdio buffer keeps a copy.
 *
 * password_command is bounded as documented, by child.h: one end time,
 * `timeout` from its start, covers reading its output and reaping it, and
 * nothing it does (trickling bytes, closing stdout and lingering,
 * flooding) stretches it; on timeout or error its whole process group is
 * killed.  Nothing of the network layer is needed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "child.h"
#include "cred.h"
#include "fs.h"
#include "secret.h"
#include "status.h"
#include "xalloc.h"

/* A password is one line; more than this is not a password. */
#define SECRET_MAX 4096

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
 * exit (child.h).  stdin is /dev/null and stderr left alone, so that a
 * gpg or pinentry complaint reaches the user. */
static int
from_command(const struct account *a, char **secret_r)
{
	struct child c;
	char buf[SECRET_MAX + 1];
	size_t n = 0;
	int status = 0, rc;

	if (child_start(&c, "password_command", a->password_command, -1, false,
	    a->timeout) < 0)
		return -1;
	rc = child_read(&c, buf, sizeof buf, &n);
	if (rc > 0)
		rc = fail(FAIL_CONFIG, "password_command printed more than %d bytes",
		    SECRET_MAX);
	if (rc < 0)
		child_abort(&c);
	else
		rc = child_wait(&c, &status);
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
