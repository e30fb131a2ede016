/*
 * Delivery status notifications (RFC 3461): what the sender asks the
 * server for -- NOTIFY on each RCPT, RET and ENVID on MAIL -- checked
 * once where it enters (-N, -R, -V; the keys dsn_notify and dsn_return;
 * a queue envelope) and kept from then on in the canonical text it is
 * sent as, so that every layer in between carries plain strings.
 */
#ifndef MAILPIPE_DSN_H
#define MAILPIPE_DSN_H

#include <stddef.h>

/* "SUCCESS,FAILURE,DELAY" and its NUL. */
#define DSN_NOTIFY_MAX 24
/* RFC 3461 4.4: an ENVID holds at most 100 characters. */
#define DSN_ENVID_MAX 100
/* An ENVID as xtext: every character at worst "+XX". */
#define DSN_XTEXT_MAX (3 * DSN_ENVID_MAX + 1)

/* What one message asks for; NULL: not asked (the server's default). */
struct dsn_request {
	const char *notify;	/* "NEVER", or SUCCESS, FAILURE, DELAY joined by "," */
	const char *ret;	/* "FULL" or "HDRS" */
	const char *envid;	/* printable ASCII, at most DSN_ENVID_MAX */
};

/* "never", or any of "success", "failure", "delay" joined by commas, any
 * case, each once: NULL and the canonical upper-case text in out
 * (DSN_NOTIFY_MAX bytes), else the reason it is refused. */
const char *dsn_notify_canonical(const char *text, char *out);
/* "full" or "hdrs", any case: NULL and "FULL" or "HDRS" in out (5
 * bytes), else the reason. */
const char *dsn_ret_canonical(const char *text, char *out);
/* NULL when text can be an ENVID (1 to DSN_ENVID_MAX printable ASCII
 * characters), else the reason. */
const char *dsn_envid_check(const char *text);
/* NULL when text is already canonical for its kind (a queue envelope's
 * value read back), else the reason. */
const char *dsn_notify_check(const char *text);
const char *dsn_ret_check(const char *text);
/* " RET=FULL ENVID=xtext" for MAIL FROM (RFC 3461 4.3, 4.4): those of
 * them dsn asks for, "" for none (dsn NULL allowed); out holds
 * DSN_MAIL_PARAMETERS_MAX bytes. */
#define DSN_MAIL_PARAMETERS_MAX (16 + DSN_XTEXT_MAX)
void dsn_mail_parameters(const struct dsn_request *dsn, char *out);
/* text as RFC 3461 4 xtext: "+", "=" and anything outside "!".."~" as
 * "+XX" (upper-case hex), into out (DSN_XTEXT_MAX bytes; text checked
 * by dsn_envid_check()). */
void dsn_xtext(const char *text, char *out);

#endif
