/*
 * --serverinfo for both commands: connect and log in exactly as a real
 * run would (the same session code: submit_open_observed(),
 * fetch_connect()), then describe on stdout what the server showed and
 * send nothing else (no MAIL, no RETR, no DELE; the fetch state is not
 * opened).  Every line is "key: value", every server text escaped as in
 * error lines; the format is in mailpipe-send(1) and mailpipe-fetch(1).
 */
#ifndef MAILPIPE_SERVERINFO_H
#define MAILPIPE_SERVERINFO_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Account a's SMTP server, or its POP3 server.  Returns 0 when everything
 * worked, the login included; else -1 with the failure recorded as the
 * real run would record it (an untrusted certificate or a refused login
 * 77), after printing what was learnt. */
int serverinfo_send(const struct account *a);
int serverinfo_fetch(const struct account *a);

#endif
