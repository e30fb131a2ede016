/*
 * The record of one run of one account: what the send and fetch paths
 * already know (counts, bytes, times, the server, each failure, each
 * recipient's reply), gathered in one place where each fact is learnt, so
 * that the log line (runlog.h) and the JSON report (runreport.h) are made
 * from the same facts and no layer has to reach up for them.  Every
 * setter accepts a NULL record (nothing is being recorded) and copies its
 * strings.
 */
#ifndef MAILPIPE_RUNREC_H
#define MAILPIPE_RUNREC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "status.h"

/* A message a fetch run could not process. */
struct runrec_failure {
	unsigned long num;
	char *uidl;		/* NULL: the server gave none */
	char *reason;
};

/* A message a fetch run deleted unretrieved: over max_size with
 * delete_oversized. */
struct runrec_oversized {
	unsigned long num;
	char *uidl;
	unsigned long long size;
};

/* A recipient of a send and the server's answer to its RCPT. */
struct runrec_rcpt {
	char *address;
	int code;		/* 0: never answered */
	char *reply;		/* "250 2.1.5 Ok", or NULL */
};

enum runrec_kind { RUNREC_SEND, RUNREC_FETCH };

struct runrec {
	enum runrec_kind kind;
	char *account;
	char *host;		/* NULL: no server was reached */
	unsigned port;
	char *tls;		/* "TLSv1.3", or NULL: plaintext or not connected */
	time_t started, ended;	/* wall clock, for the log and the report */
	int64_t started_ms;	/* monotonic, for seconds */
	double seconds;
	enum failure cls;	/* FAIL_NONE: it worked */
	int exit_code;
	char *error;		/* the failure's line, or NULL */
	/* fetch */
	unsigned long listed, new_msgs, retrieved, skipped, deleted, failed;
	unsigned long waiting;	/* new, left by max_messages or max_bytes */
	struct runrec_oversized *oversized;
	size_t oversized_count, oversized_alloc;
	unsigned long long bytes;
	unsigned long long new_bytes;	/* the LIST sizes of the new ones (the ETA) */
	struct runrec_failure *failures;
	size_t failure_count, failure_alloc;
	/* send */
	char *from;
	struct runrec_rcpt *rcpts;
	size_t rcpt_count;
	long long size;		/* -1: unknown */
	int final_code;		/* 0: no reply to the final dot */
	char *final_reply;
	char *queue_id;		/* the server's "queued as" id, or NULL */
	const char *result;	/* "sent", "partial", "queued", "failed" */
	char *queued_as;	/* our queue's id when the message was queued */
	char *queue_reason;	/* and the failure that put it there */
	/* mailpipe-fetch --jobs: the account's report object as the child
	 * that ran it wrote it (runreport_account()); then it is the report's,
	 * and the fields above are not. */
	char *report_json;
};

/* The records of one command's run, one per account, in order. */
struct runrec_list {
	struct runrec **items;
	size_t count, alloc;
};

/* A new record of that kind for account, started now, appended to l. */
struct runrec *runrec_start(struct runrec_list *l, enum runrec_kind kind,
	const char *account);
/* The server the run talks to; tls NULL for plaintext. */
void runrec_server(struct runrec *r, const char *host, unsigned port, const char *tls);
/* The outcome: ended now, the class and its exit code, and line as the
 * error when cls is not FAIL_NONE. */
void runrec_finish(struct runrec *r, enum failure cls, const char *line);
void runrec_add_failure(struct runrec *r, unsigned long num, const char *uidl,
	const char *reason);
void runrec_add_oversized(struct runrec *r, unsigned long num, const char *uidl,
	unsigned long long size);
/* The envelope of a send: the sender and the recipients (no reply yet). */
void runrec_envelope(struct runrec *r, const char *from, const char *const *rcpts,
	size_t count);
/* The reply to recipient i's RCPT: code, and text the reply's first line
 * as the server sent it (code included). */
void runrec_rcpt_reply(struct runrec *r, size_t i, int code, const char *text);
/* The reply to the final dot; a "queued as ID" in it becomes queue_id. */
void runrec_final_reply(struct runrec *r, int code, const char *text);
/* The queue id the server named in a reply text, or NULL: a new string. */
char *runrec_parse_queue_id(const char *text);
void runrec_list_free(struct runrec_list *l);

#endif
