/*
 * The POP3 session as pop3.c and pop3-login.c share it: the login, its
 * SASL wire included, is a module of its own so that pop3.c stays the
 * command sequence of the session; nothing outside these two includes
 * this header.
 */
#ifndef MAILPIPE_POP3_PRIVATE_H
#define MAILPIPE_POP3_PRIVATE_H

#include <stdbool.h>

#include "pop3.h"
#include "proto.h"

struct pop3 {
	struct conn *c;
	struct pop3_caps caps;
	unsigned outstanding;	/* answers owed for pipelined commands */
	unsigned long deletions;	/* DELEs sent since login or RSET */
	bool broken;		/* mid-body, or a read failed: only close */
	unsigned long listing_max;	/* lines a LIST or UIDL answer may have */
	struct pop3_listing listing;	/* the listing being read */
	char greeting[PROTO_LINE_MAX + 8];	/* as read, for --serverinfo */
	const char *login_mechanism;	/* what the last login tried, or NULL */
	/* Commands sent ahead by pop3_send_listings(), oldest first, whose
	 * answers the calls named after them read in this order. */
	const char *ahead[POP3_AHEAD_MAX];
	unsigned ahead_n;
	/* CAPA sent after STLS and not read yet (pop3_stls()): caps are
	 * still those from before STLS, good for a guess only. */
	bool capa_due;
};

/* Reads the answer to the CAPA pop3_stls() sent with PIPELINING, if it
 * is still due (it is answered before anything sent after it): the caps
 * are then those under TLS.  0, or -1 recorded (the session broken). */
int pop3_settle_capa(struct pop3 *p);
/* Reads a status line; -ERR becomes a failure of class dflt (or as its
 * response code says) and returns POP3_REFUSED. */
int pop3_expect_ok(struct pop3 *p, const char *what, enum failure dflt);
/* Sends cmd (unless pop3_send_listings() sent it ahead) and reads its
 * +OK: 0, or -1 with -ERR a failure of class dflt naming what. */
int pop3_command(struct pop3 *p, const char *what, enum failure dflt, const char *cmd);

#endif
