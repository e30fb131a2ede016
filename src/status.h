/*
 * Failure classes and the one mapping to sysexits(3).
 *
 * Every error is classified once, where it is detected, by calling fail() with
 * its class and a one-line reason; the function then returns -1 to its caller,
 * which passes -1 up unchanged (or adds context with fail_context()).  The main
 * program prints the recorded line (fail_line()) and exits with
 * status_exit_code().  One process handles one account at a time, so one
 * record is enough.
 *
 * Every line names what it concerns: the runner sets the scope (the
 * account, and while a connection is made or used, its server) and fail()
 * stamps each failure with the scope of its moment, so the modules below
 * never repeat the account or the host in their reasons.
 */
#ifndef MAILPIPE_STATUS_H
#define MAILPIPE_STATUS_H

enum failure {
	FAIL_NONE = 0,
	FAIL_USAGE,		/* 64 bad command line or recipient argument */
	FAIL_DATA,		/* 65 bad input message */
	FAIL_NOINPUT,		/* 66 an input file cannot be read */
	FAIL_RECIPIENT,		/* 67 recipient refused permanently */
	FAIL_HOST,		/* 68 host name not found */
	FAIL_PERMANENT,		/* 69 permanent refusal; required feature missing */
	FAIL_CANTCREAT,		/* 73 Maildir or state directory cannot be made */
	FAIL_IO,		/* 74 local I/O error */
	FAIL_TEMPORARY,		/* 75 try again later */
	FAIL_PROTOCOL,		/* 76 the server broke the protocol */
	FAIL_AUTH,		/* 77 credentials, trust, insecure config file */
	FAIL_CONFIG,		/* 78 configuration error */
};

/* Records cls and the formatted reason (replacing any earlier one); returns -1. */
int fail(enum failure cls, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prefixes the recorded reason with "context: "; returns -1. */
int fail_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Replaces only the class, keeping the reason; returns -1. */
int fail_reclassify(enum failure cls);

/* What the failures from now on concern: account (NULL: none chosen
 * yet) and, while a connection is made or used, host and port (host
 * NULL: none).  The strings are copied. */
void fail_scope(const char *account, const char *host, unsigned port);

/* A copy of the record, so that a polite QUIT after a failure cannot
 * overwrite the reason that matters. */
struct failure_record {
	enum failure cls;
	char reason[1024];
	char account[256];
	char server[300];	/* "host:port", or "" */
};
void fail_save(struct failure_record *r);
void fail_restore(const struct failure_record *r);

enum failure fail_class(void);
const char *fail_reason(void);
/* The line to print: "ACCOUNT (HOST:PORT): REASON" for a failure that
 * concerns the server (classes 67-69 and 75-77, stamped during a
 * connection), "ACCOUNT: REASON" for any other, the bare reason before an
 * account was chosen.  Valid until the next call. */
const char *fail_line(void);
void fail_clear(void);

/* The sysexits(3) code for a class: the only place that knows the numbers. */
int status_exit_code(enum failure cls);
/* The class whose exit code is code (a child's, mailpipe-fetch --jobs);
 * FAIL_TEMPORARY for a code no class has. */
enum failure status_class_of_exit(int code);
/* Flushes stdout; 0, or -1 with FAIL_IO recorded when any write to it
 * failed (a full disk, a closed pipe): output the user asked for and did
 * not get must not end in exit 0. */
int status_stdout_written(void);
/* Of two outcomes, the one to report (for runs over several accounts). */
enum failure status_worse(enum failure a, enum failure b);

#endif
