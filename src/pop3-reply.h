/*
 * Reading what a POP3 server says; the dialogue is pop3.c's.
 *
 * Status lines are read strictly: "+OK" or "-ERR", then a space or the end
 * of the line, at most PROTO_LINE_MAX bytes; anything else is FAIL_PROTOCOL.
 * A -ERR is classified from its response code: [SYS/TEMP], [IN-USE] and
 * [LOGIN-DELAY] FAIL_TEMPORARY, [AUTH] FAIL_AUTH, [SYS/PERM] FAIL_PERMANENT,
 * otherwise the default of the command that got it.
 *
 * Every multi-line answer goes through the POP3 unstuffer (dotstuff.c), so
 * one rule ends them all: only CRLF "." CRLF.  Listings (CAPA, LIST, UIDL)
 * are read a line at a time, each line bounded by PROTO_LINE_MAX; bodies
 * (RETR, TOP) are streamed, any length, constant memory.
 */
#ifndef MAILPIPE_POP3_REPLY_H
#define MAILPIPE_POP3_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "conn.h"
#include "dotstuff.h"
#include "proto.h"
#include "sasl.h"
#include "status.h"

/* The largest message number or count we take: 32 bits, so that it fits
 * an unsigned long everywhere (RFC 1939 sets no limit). */
#define POP3_NUMBER_MAX 0xffffffffUL

struct pop3_status {
	bool ok;
	char code[64];		/* response code without brackets, or "" */
	const char *text;	/* the rest of the line (points into it) */
};

struct pop3_caps {
	bool answered;		/* CAPA answered at all, +OK or -ERR */
	bool known;		/* CAPA answered +OK */
	bool stls, user, pipelining, uidl, top, resp_codes;
	unsigned sasl_mechs;	/* SASL mechanisms offered that we speak, SASL_BIT()s */
	/* For --serverinfo: what the summary shows, parsed from every line. */
	bool sasl, expire, login_delay;
	char sasl_text[256], expire_text[64], login_delay_text[64];	/* values as sent */
	char offered[PROTO_OFFERED_MAX];	/* the CAPA lines as sent, LF after each */
	bool offered_cut;	/* lines left out of offered for want of room */
};

/* Receives a piece of a message (CRLF already LF, dots unstuffed); returns
 * 0, or -1 with a failure recorded to abort (the session is then unusable). */
typedef int pop3_sink_fn(void *arg, const char *p, size_t n);

/* Parses a status line; -1 (FAIL_PROTOCOL) when it is neither +OK nor
 * -ERR. */
int pop3_parse_status(const char *line, size_t len, struct pop3_status *st);
/* The class of a -ERR: from its response code, else dflt. */
enum failure pop3_error_class(const struct pop3_status *st, enum failure dflt);
/* Reads and parses one status line; the caller looks at st->ok.  The text
 * points into the connection's buffer (conn.h). */
int pop3_read_status(struct conn *c, struct pop3_status *st);

/* With -v (log_verbose 1), the transcript of a shortened listing shows
 * its first and its last this many lines, and between them one line that
 * counts the lines and those not shown; -vv shows every line. */
#define POP3_LISTING_ENDS 3

/* A listing being read, and the one line of it last returned. */
struct pop3_listing {
	struct pop3_unstuffer unstuffer;
	char raw[PROTO_LINE_MAX + 2];	/* one line of it, CRLF included */
	char line[PROTO_LINE_MAX + 4];	/* the same line unstuffed */
	const char *shortened;		/* its command when shortened, else NULL */
	unsigned long lines;		/* lines so far, terminator excluded */
	struct {			/* the last lines, held for the transcript */
		size_t len;
		char text[PROTO_LINE_MAX + 2];
	} tail[POP3_LISTING_ENDS];
};

/* After the +OK of a listing, before its first line.  shortened: the
 * command (LIST, UIDL) whose answer -v shows shortened; NULL for one
 * always shown whole (CAPA). */
void pop3_listing_begin(struct pop3_listing *l, const char *shortened);
/* The next line: 0 with *line_r (in l, NUL-terminated, unstuffed, without
 * its line ending), 1 at the terminator, -1 failed (recorded: a line over
 * PROTO_LINE_MAX, a NUL byte, the connection).  At the end, or a failure,
 * the transcript gets the lines it held back. */
int pop3_listing_next(struct pop3_listing *l, struct conn *c, char **line_r, size_t *len_r);
/* The caller stops reading a listing before its end (a line it refuses):
 * the transcript gets the lines held back, so it shows the last one read. */
void pop3_listing_abandon(struct pop3_listing *l);
/* One line of a CAPA answer: the capabilities we use, the rest ignored. */
void pop3_parse_capa_line(struct pop3_caps *caps, const char *line);
/* Decimal without sign, leading spaces or overflow; *end_r after it. */
bool pop3_parse_number(const char *s, unsigned long long *v_r, const char **end_r);
/* "NUM SP rest" of LIST and UIDL: NUM 1 to POP3_NUMBER_MAX, rest right
 * after a single space. */
bool pop3_parse_listing_line(const char *line, unsigned long *num_r, const char **rest_r);

/* Streams a body into sink up to its terminator, in pieces of at most
 * CONN_BUFFER_SIZE: 0, or -1 (the connection failed, recorded, or sink
 * said so).  Bytes after the terminator (the next pipelined answer) stay
 * in the connection's buffer. */
int pop3_read_body(struct conn *c, pop3_sink_fn *sink, void *arg);

#endif
