/*
 * Whether a message fits what the server offered, decided after EHLO and
 * before MAIL, so that a message the server would refuse (or must not be
 * given) is never started: the SIZE limit (RFC 1870).  A message that
 * does not fit is this server's problem, not the message's for good: the
 * caller marks it STAGE_UNFIT, which fails over to the next account
 * (queue-policy.h).
 */
#ifndef MAILPIPE_SUBMIT_FIT_H
#define MAILPIPE_SUBMIT_FIT_H

#include "smtp.h"

/* The message of size octets (smtp_message_size()) against the limit the
 * server declared: 0, or -1 with FAIL_PERMANENT naming both sizes. */
int fit_size(const struct smtp_caps *caps, long long size);

#endif
