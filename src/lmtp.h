/*
 * The LMTP client of `deliver = lmtp` (RFC 2033): one session to a local
 * delivery server (Dovecot's, Cyrus's, Postfix's virtual), over a Unix
 * socket or TCP without TLS, for a whole fetch run.  LHLO once, then per
 * message MAIL, RCPT (one recipient), DATA and the message through the
 * SMTP dot-stuffer, and the one per-recipient reply after the dot, which
 * is the delivery's verdict.  Replies are read by smtp-reply.c: LMTP's
 * reply syntax is SMTP's.
 */
#ifndef MAILPIPE_LMTP_H
#define MAILPIPE_LMTP_H

#include "clock.h"

/* The verdicts of a message the server answered for. */
enum lmtp_verdict { LMTP_DELIVERED, LMTP_TEMPORARY, LMTP_PERMANENT };

struct lmtp;

/* Checks a target, "unix:/absolute/path" or "HOST:PORT" ("[::1]:24" for
 * an IPv6 address): NULL when it is one, else what is wrong with it. */
const char *lmtp_target_check(const char *target);

/* Connects to target (checked), reads the greeting (220) and says LHLO
 * (250).  Every wait is bounded by t.  Failures: FAIL_TEMPORARY (no
 * connection, 4xx, the socket busy or gone), FAIL_PERMANENT (5xx),
 * FAIL_PROTOCOL (a malformed reply), FAIL_HOST (name not found). */
int lmtp_open(const char *target, const struct timing *t, struct lmtp **l_r);

/* Hands the message in fd (read from offset 0, LF line ends) over for
 * recipient, with sender as the envelope sender ("" for <>).
 * LMTP_DELIVERED on a 2xx reply after the dot; LMTP_TEMPORARY (4xx) or
 * LMTP_PERMANENT (5xx) at any step, the failure recorded (FAIL_TEMPORARY)
 * and the transaction reset so the session goes on; -1 when the session
 * cannot go on (recorded; a reply missing after the dot says a duplicate
 * is possible). */
int lmtp_deliver(struct lmtp *l, int fd, const char *sender, const char *recipient);

/* QUIT when the session is still usable, then closes; never fails and
 * keeps the failure record as it was.  NULL allowed. */
void lmtp_close(struct lmtp *l);

#endif
