/*
 * Password sources: `password`, `password_file` (first line), or
 * `password_command` (run with /bin/sh -c in a process group of its own,
 * first line of its output, all within the account's timeout).  The
 * returned secret is owned by the caller and must be released with
 * cred_free(), which wipes it.
 */
#ifndef MAILPIPE_CRED_H
#define MAILPIPE_CRED_H

#include "config.h"

/* *secret_r is NULL when the account has no password source.
 * Failures: FAIL_NOINPUT (password_file unreadable), FAIL_AUTH
 * (password_file not trusted: fs_check_trusted() with group reading
 * allowed), FAIL_CONFIG (an empty or over-long first line; a
 * password_command that failed, printed nothing or more than 4096 bytes,
 * or that /bin/sh could not be started for, other than for want of
 * resources), FAIL_TEMPORARY (password_command did not finish within the
 * timeout; no pipe, process or memory to start it; its output could not
 * be waited for or read, or the command not waited for). */
int cred_password(const struct account *a, char **secret_r);
void cred_free(char *secret);

#endif
