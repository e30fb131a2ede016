/*
 * Password sources.  A secret lives in exactly one heap string from the
 * moment it is read until cred_free() wipes it; the pipe buffer and line
 * buffers used on the way are wiped too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <openssl/crypto.h>

#include "cred.h"
#include "status.h"
#include "xalloc.h"

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

/* First line of a stream, without its line ending; NULL if empty. */
static char *
first_line(FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len = getline(&line, &cap, f);
	char *secret = NULL;

	if (len > 0) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] != '\0')
			secret = xstrdup(line);
	}
	if (line != NULL)
		OPENSSL_cleanse(line, cap);
	free(line);
	return secret;
}

static int
from_file(const char *path, char **secret_r)
{
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return fail(FAIL_NOINPUT, "password_file %s: %s", path, strerror(errno));
	*secret_r = first_line(f);
	fclose(f);
	if (*secret_r == NULL)
		return fail(FAIL_CONFIG, "password_file %s: empty first line", path);
	return 0;
}

/* Drains the rest of the command's output so it does not die of SIGPIPE
 * and report failure for what was a good answer. */
static void
drain(FILE *f)
{
	char buf[4096];

	while (fread(buf, 1, sizeof buf, f) > 0)
		OPENSSL_cleanse(buf, sizeof buf);
}

static int
from_command(const char *command, char **secret_r)
{
	FILE *f = popen(command, "re");
	int status;

	if (f == NULL)
		return fail(FAIL_CONFIG, "password_command: cannot run: %s", strerror(errno));
	*secret_r = first_line(f);
	drain(f);
	status = pclose(f);
	if (status != 0 || *secret_r == NULL) {
		cred_free(*secret_r);
		*secret_r = NULL;
		if (status != 0)
			return fail(FAIL_CONFIG, "password_command failed (%s %d)",
			    WIFEXITED(status) ? "exit status" : "signal",
			    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return fail(FAIL_CONFIG, "password_command printed nothing");
	}
	return 0;
}

int
cred_password(const struct account *a, char **secret_r)
{
	*secret_r = NULL;
	if (a->password_command != NULL)
		return from_command(a->password_command, secret_r);
	if (a->password_file != NULL)
		return from_file(a->password_file, secret_r);
	if (a->password != NULL)
		*secret_r = xstrdup(a->password);
	return 0;
}
