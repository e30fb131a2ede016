/*
 * The POP3 dialogue (RFC 1939, 2449 CAPA and response codes, 2595 STLS,
 * 3206 SYS/AUTH codes, 5034 SASL) over a conn.  Blocking call-and-check;
 * commands that may be pipelined are split into a send half and a read
 * half, so the caller can keep a bounded window of them in flight.
 *
 * How the server's answers are read and classified is in pop3-reply.h.
 *
 * Return values: 0 done; -1 failed with the failure recorded (status.h), the
 * session is then unusable (except for pop3_close()); POP3_REFUSED the
 * server answered -ERR to a per-message command (RETR, TOP, DELE): the
 * failure is recorded and the session goes on.
 */
#ifndef MAILPIPE_POP3_H
#define MAILPIPE_POP3_H

#include <stdbool.h>
#include <stddef.h>

#include "conn.h"
#include "pop3-reply.h"
#include "sasl.h"
#include "status.h"

#define POP3_REFUSED 1
/* RFC 2449 section 4: a command line is at most 255 octets, "including
 * the terminating CRLF". */
#define POP3_COMMAND_MAX 255
/* A LIST or UIDL answer may have at most as many lines as STAT counted
 * messages plus this margin, and never more than POP3_LISTING_MAX; a
 * longer one is FAIL_PROTOCOL (a server cannot make the listing, and so
 * the client's memory, grow without end). */
#define POP3_LISTING_MARGIN 1000
#define POP3_LISTING_MAX 10000000UL

struct pop3;

/* Connects (implicit TLS per ep), reads the greeting and asks CAPA.  Once
 * connected *p_r is set, also when the greeting or CAPA then fails (-1):
 * the caller pop3_close()s it either way. */
int pop3_open(const struct endpoint *ep, struct pop3 **p_r);
/* For tests: a session over an existing conn (greeting read, CAPA asked),
 * *p_r set as pop3_open() sets it. */
int pop3_open_conn(struct conn *c, struct pop3 **p_r);
const struct pop3_caps *pop3_caps(const struct pop3 *p);
/* The session's TLS protocol ("TLSv1.3"), or NULL (p NULL allowed). */
const char *pop3_tls_version(const struct pop3 *p);
/* The greeting as read ("+OK Dovecot ready."); the mechanism the last
 * pop3_login() tried ("USER" for USER/PASS, else the SASL name), NULL
 * before any.  For --serverinfo. */
const char *pop3_greeting_text(const struct pop3 *p);
const char *pop3_login_mechanism(const struct pop3 *p);
/* STLS, refusing bytes injected before the handshake, then CAPA again.
 * Not offered or refused: FAIL_PERMANENT (never a plaintext fallback). */
int pop3_stls(struct pop3 *p);
/* Logs in with the method asked for (AUTH_AUTO: SASL PLAIN when offered,
 * else USER/PASS).  The password only ever goes through
 * proto_send_secret(). */
int pop3_login(struct pop3 *p, enum auth_method method, const char *user,
	const char *password);

/* Commands pop3_send_listings() may send ahead. */
#define POP3_AHEAD_MAX 3
/* With PIPELINING offered: sends STAT, UIDL and LIST at once (buffered,
 * flushed by the next read), whose answers pop3_stat(), pop3_uidl() and
 * pop3_list() then read, called in that order.  Without: nothing, and
 * each of them sends its own command. */
int pop3_send_listings(struct pop3 *p);
/* STAT; its count also bounds the LIST and UIDL answers that follow. */
int pop3_stat(struct pop3 *p, unsigned long *count_r, unsigned long long *size_r);
/* LIST and UIDL: the callback gets each line of the listing, parsed: the
 * message number, then the size (LIST) or the unique-id and its length
 * (UIDL; validity is the caller's business).  A line that does not parse,
 * or one line too many (see POP3_LISTING_MARGIN), is FAIL_PROTOCOL. */
int pop3_list(struct pop3 *p, void (*fn)(void *arg, unsigned long num,
	unsigned long long size), void *arg);
/* UIDL refused without a response code: FAIL_PERMANENT (the server lacks it). */
int pop3_uidl(struct pop3 *p, void (*fn)(void *arg, unsigned long num,
	const char *uidl, size_t len), void *arg);

/* RETR in two halves: the send half only buffers the command; the read
 * half reads the oldest outstanding answer and streams the body into sink,
 * in constant memory whatever the message or line length. */
int pop3_send_retr(struct pop3 *p, unsigned long num);
int pop3_read_retr(struct pop3 *p, pop3_sink_fn *sink, void *arg);
int pop3_top(struct pop3 *p, unsigned long num, unsigned long lines, pop3_sink_fn *sink,
	void *arg);
int pop3_send_dele(struct pop3 *p, unsigned long num);
int pop3_read_dele(struct pop3 *p);
int pop3_rset(struct pop3 *p);
/* QUIT; the +OK is the server's promise that DELEs took effect.  -ERR or
 * no answer is FAIL_TEMPORARY (the messages stay on the server).  The
 * server removes the messages before it answers, so the wait for the
 * answer is `timeout` plus 10 ms a DELE sent since login or RSET (at most
 * 30 minutes more), within the deadline. */
int pop3_quit(struct pop3 *p);
/* True while no answer is outstanding and no body is half read. */
bool pop3_idle(const struct pop3 *p);
/* Closes the connection without QUIT (the server then deletes nothing);
 * frees.  NULL is allowed. */
void pop3_close(struct pop3 *p);

#endif
