/*
 * Password sources: `password`, `password_file` (first line), or
 * `password_command` (run with /bin/sh -c, first line of its output).  The
 * returned secret is owned by the caller and must be released with
 * cred_free(), which wipes it.
 */
#ifndef MAILPIPE_CRED_H
#define MAILPIPE_CRED_H

#include "config.h"

/* *secret_r is NULL when the account has no password source.
 * Failures: FAIL_NOINPUT (password_file unreadable), FAIL_CONFIG
 * (password_command failed or printed nothing). */
int cred_password(const struct account *a, char **secret_r);
void cred_free(char *secret);
/* Wipes and frees any heap string (used for encoded credentials too). */
void cred_wipe_string(char *s);

#endif
