/*
 * The SMTP dialogue (RFC 5321; 1869 EHLO, 3207 STARTTLS, 4954 AUTH, 2920
 * PIPELINING, 1870 SIZE, 6152 8BITMIME) over a conn, whole: the reply
 * reader (smtp-reply.c), and the session from greeting to QUIT (smtp.c):
 * EHLO, STARTTLS, AUTH, the envelope with or without pipelining, the
 * message text through the dot-stuffer, the reply to the final dot.  What
 * to make of the envelope's replies (which recipients count, whether to
 * send the message) is the caller's policy (submit.c).
 *
 * Replies are read strictly: three digits, then a space, a hyphen or the
 * end of the line; every line of a reply carries the same code; at most
 * SMTP_REPLY_LINES_MAX lines of at most PROTO_LINE_MAX bytes.  Anything
 * else is FAIL_PROTOCOL.
 *
 * Return values: 0 done; -1 failed with the failure recorded (status.h):
 * a reply with another code than the one wanted is FAIL_TEMPORARY for 4xx,
 * the class the function names for 5xx.  After a failure the session can
 * only be ended (smtp_quit(), smtp_close()).
 */
#ifndef MAILPIPE_SMTP_H
#define MAILPIPE_SMTP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "sasl.h"
#include "conn.h"
#include "dsn.h"
#include "proto.h"
#include "smtp-text.h"
#include "status.h"

struct spool;

/* A multi-line reply longer than this many lines is a protocol error. */
#define SMTP_REPLY_LINES_MAX 512

struct smtp_reply {
	int code;		/* 200..599 */
	char text[512];		/* first line's text, for messages (cut) */
};

struct smtp_caps {
	bool known;		/* EHLO answered 250: the rest is what it said */
	bool starttls;
	bool pipelining;
	bool eightbitmime;
	bool auth;		/* any AUTH mechanism offered */
	unsigned auth_mechs;	/* those we speak, SASL_BIT()s (sasl.h) */
	bool size;		/* SIZE: the MAIL parameter is understood */
	long long size_limit;	/* SIZE's number (RFC 1870): the largest message the
				 * server takes; 0: none declared */
	/* For --serverinfo: what the summary shows, parsed from every line. */
	bool smtputf8, dsn;
	char size_text[32];	/* SIZE's value as sent ("" without one) */
	char auth_text[256];	/* the first AUTH line's mechanisms as sent */
	char offered[PROTO_OFFERED_MAX];	/* the keyword lines as sent, LF after each */
	bool offered_cut;	/* lines left out of offered for want of room */
};

/* ---- replies (smtp-reply.c) ---- */

/* Parses one reply line: "DDD", "DDD text" or "DDD-text".  Returns 0 and
 * sets the code, whether it is the last line, and where the text starts;
 * -1 for anything else (nothing recorded). */
int smtp_parse_reply_line(const char *line, size_t len, int *code_r, bool *last_r,
	const char **text_r);
/* Records one EHLO keyword line into caps. */
void smtp_note_capability(struct smtp_caps *caps, const char *text);
/* Reads a whole reply; mismatching codes across lines, a bad line or too
 * many lines are FAIL_PROTOCOL, a lost connection FAIL_TEMPORARY.  With
 * caps non-NULL, the lines after the first are read as EHLO capabilities. */
int smtp_read_reply(struct conn *c, struct smtp_reply *r, struct smtp_caps *caps);
/* Reads the answer to the final dot of a message (SMTP, and LMTP's per
 * recipient), waiting at least 10 minutes whatever the timeout (RFC 5321
 * 4.5.3.2.6), within the deadline and a signal's grace.  Failures as
 * smtp_read_reply(). */
int smtp_read_final_reply(struct conn *c, struct smtp_reply *r);
/* Reads the answer to an AUTH step: a one-line 334 reply sets
 * *challenge_r to its text whole, however long (valid until the next
 * read), and the transcript shows it as "334 " and hidden unless hidden
 * is NULL; any other reply is read into r as smtp_read_reply() does, with
 * *challenge_r NULL.  Failures as smtp_read_reply(). */
int smtp_read_challenge(struct conn *c, struct smtp_reply *r, const char *hidden,
	const char **challenge_r);
/* The enhanced status code (RFC 3463) a reply's text starts with, as in
 * "452 4.5.3 text": class, subject and detail into code_r.  False when the
 * text starts with none (servers without ENHANCEDSTATUSCODES). */
bool smtp_enhanced_code(const struct smtp_reply *r, int code_r[3]);
/* Whether a refused RCPT means "too many recipients in this transaction"
 * (RFC 5321 4.5.3.1.10), which another transaction cures: 452 with the
 * enhanced code 4.5.3, or 452 with no enhanced code at all.  A 452 with any
 * other code (4.2.2 mailbox full, 4.3.1 no storage) is not. */
bool smtp_too_many_recipients(const struct smtp_reply *r);
/* What to change when a provider refuses AUTH for a reason a setting
 * cures (Microsoft 365's 535 5.7.139, Gmail's 534 5.7.9 and its 535 5.7.8):
 * a sentence, or NULL for any other refusal. */
const char *smtp_auth_hint(const struct smtp_reply *r);
/* Records a failure for a reply that is not what `what` needed:
 * 4xx FAIL_TEMPORARY, 5xx permanent_class, anything else FAIL_PROTOCOL;
 * returns -1. */
int smtp_refused(const struct smtp_reply *r, const char *what, enum failure permanent_class);

/* ---- the session (smtp.c) ---- */

struct smtp;

/* Connects (implicit TLS per ep); nothing is read yet.  Failures: as
 * conn_open(). */
int smtp_open(const struct endpoint *ep, struct smtp **s_r);
/* A session over an existing conn (tests), which smtp_close() closes. */
struct smtp *smtp_open_conn(struct conn *c);
/* The greeting: 220, else refused (5xx FAIL_PERMANENT). */
int smtp_greeting(struct smtp *s);
/* EHLO name, and HELO name (no extensions) from a server that answers EHLO
 * with 5xx; 4xx is FAIL_TEMPORARY, HELO refused FAIL_PERMANENT.  A NULL
 * name stands for this end's address literal, "[192.0.2.7]" (RFC 5321
 * 4.1.4: a host without a domain name gives one, never a bare node name);
 * FAIL_TEMPORARY when the connection has none.  The name is copied, for
 * the EHLO after STARTTLS. */
int smtp_hello(struct smtp *s, const char *name);
/* What the last EHLO offered (nothing after HELO). */
const struct smtp_caps *smtp_caps(const struct smtp *s);
/* The session's TLS protocol ("TLSv1.3"), or NULL (s NULL allowed). */
const char *smtp_tls_version(const struct smtp *s);
/* The greeting's first line as read ("220 mx.example ESMTP"), "" before
 * it was read; the name of the mechanism the last smtp_auth() tried
 * ("PLAIN"), NULL before any.  For --serverinfo. */
const char *smtp_greeting_text(const struct smtp *s);
const char *smtp_auth_mechanism(const struct smtp *s);
/* STARTTLS, the handshake, then EHLO again.  Not offered or refused:
 * FAIL_PERMANENT (4xx FAIL_TEMPORARY), never a plaintext fallback.  The
 * handshake fails as conn_starttls() says (bytes sent before it are
 * FAIL_PROTOCOL) and leaves the connection unusable, so not even QUIT
 * follows it. */
int smtp_starttls(struct smtp *s);
/* AUTH with the method asked for (AUTH_AUTO: the strongest mechanism
 * offered that the password can serve, sasl_choose()), through the SASL
 * client (sasl.h).  AUTH not offered, or not the method asked for:
 * FAIL_PERMANENT; credentials refused: FAIL_AUTH (a 4xx FAIL_TEMPORARY).
 * Secrets only ever go through proto_send_secret(), and their encodings
 * are wiped; the caller wipes password. */
int smtp_auth(struct smtp *s, enum auth_method method, const char *user,
	const char *password);

/* ---- one transaction: envelope, message, final reply (smtp.c) ---- */

enum smtp_step_kind { SMTP_STEP_MAIL, SMTP_STEP_RCPT, SMTP_STEP_DATA };

/* One command of the envelope, and the server's answer to it. */
struct smtp_step {
	enum smtp_step_kind kind;
	const char *rcpt;		/* RCPT: the address */
	size_t rcpt_index;		/* RCPT: the caller's number for it */
	bool sent;			/* false: left out (lock-step only) */
	struct smtp_reply reply;	/* once sent */
};

/* MAIL FROM, one RCPT TO per recipient, DATA: what smtp_send_envelope()
 * sends, in that order, and the replies it got.  One envelope serves
 * transaction after transaction (smtp_envelope_clear() in between). */
struct smtp_envelope {
	const char *from;
	bool eight_bit;			/* BODY=8BITMIME when the server offers it */
	bool smtputf8;			/* SMTPUTF8 (RFC 6531): an address is not
					 * ASCII (the caller checked it is offered) */
	const struct dsn_request *dsn;	/* RFC 3461 NOTIFY, RET, ENVID, or NULL
					 * (the caller checked DSN is offered) */
	long long size;			/* SIZE= when the server offers it; -1: none */
	struct smtp_step mail;
	struct smtp_step *rcpts;	/* rcpt_count of them */
	size_t rcpt_count, rcpt_alloc;
	struct smtp_step data;
};

/* An empty envelope from the envelope sender from. */
void smtp_envelope_init(struct smtp_envelope *e, const char *from);
/* No recipient, nothing sent: ready for the next transaction. */
void smtp_envelope_clear(struct smtp_envelope *e);
/* Adds a recipient; index is the caller's number for it. */
void smtp_envelope_add(struct smtp_envelope *e, const char *rcpt, size_t index);
void smtp_envelope_free(struct smtp_envelope *e);

/* The caller's policy, asked as the envelope goes. */
struct smtp_envelope_policy {
	/* Without PIPELINING only: whether step is still worth sending, given
	 * the replies so far (left out, it stays unsent). */
	bool (*wanted)(void *arg, const struct smtp_envelope *e, const struct smtp_step *step);
	/* Every reply, in order, as soon as it is read. */
	void (*noted)(void *arg, const struct smtp_envelope *e, const struct smtp_step *step);
	void *arg;
};

/* Sends the envelope and reads the replies into its steps: with
 * PIPELINING (RFC 2920) every command at once, then every reply; without,
 * one command at a time, each only if the policy still wants it.  A refusal
 * is no failure here (the caller judges the replies); -1 only when the
 * dialogue itself failed.  A 354 to DATA puts the session in the message
 * text: from then on only smtp_send_body() or closing the connection is
 * possible (smtp_quit() sends nothing). */
int smtp_send_envelope(struct smtp *s, struct smtp_envelope *e,
	const struct smtp_envelope_policy *p);

/* The message text and the final dot, flushed.  *ended_r is set to 1 once
 * the final dot is written and before it is flushed: from then on the
 * server may have the message even if no reply ever comes (a signal
 * handler reads it).  FAIL_IO reading the spool; writing to the server
 * fails as conn_write() says. */
int smtp_send_body(struct smtp *s, const struct smtp_message *m,
	volatile sig_atomic_t *ended_r);
/* Reads the reply to the final dot into *r, whatever its code (judging
 * it is the caller's), waiting as smtp_read_final_reply() does; -1 when
 * there is none (FAIL_TEMPORARY) or it is malformed (FAIL_PROTOCOL). */
int smtp_read_final(struct smtp *s, struct smtp_reply *r);

/* Whether another transaction may start: between commands, on a usable
 * connection (not inside the message text, not after a reply that made
 * no sense, not after the transport failed). */
bool smtp_usable(const struct smtp *s);
/* RSET: a transaction that ended before its final dot is forgotten, so
 * the next message can start with MAIL.  Not usable or 4xx:
 * FAIL_TEMPORARY; any other refusal FAIL_PROTOCOL. */
int smtp_reset(struct smtp *s);

/* QUIT, as a courtesy, without waiting for its 221: sent only between
 * commands on a usable connection (not inside the message text, not after
 * a reply that made no sense); its outcome is not reported, and the
 * recorded failure stays what it was.  NULL is allowed. */
void smtp_quit(struct smtp *s);
/* Closes the connection (no QUIT) and frees.  NULL is allowed. */
void smtp_close(struct smtp *s);

#endif
