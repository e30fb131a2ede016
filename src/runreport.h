/*
 * --report FILE: one JSON document per run (schema "report": 1, described
 * in mailpipe-send(1) and mailpipe-fetch(1), REPORT), made from the run's
 * records (runrec.h) and written whole: to a temp file in FILE's
 * directory, fsynced, renamed over FILE, the directory fsynced; "-" is
 * stdout.  It is written even when the run failed: that is when it is
 * read.
 */
#ifndef MAILPIPE_RUNREPORT_H
#define MAILPIPE_RUNREPORT_H

#include "runrec.h"
#include "strbuf.h"

/* The document for program's run over the records of l, which ended with
 * exit_code, into out (appended). */
void runreport_format(struct strbuf *out, const char *program,
	const struct runrec_list *l, int exit_code);
/* The report's object for one account's record r alone, into out
 * (appended): what a child of mailpipe-fetch --jobs hands its parent. */
void runreport_account(struct strbuf *out, const struct runrec *r);
/* Writes it to path.  A report that cannot be written never changes the
 * run's result: 0, or -1 after one line on stderr (no failure recorded). */
int runreport_write(const char *path, const char *program, const struct runrec_list *l,
	int exit_code);
/* The name of a failure class in the report and the log: "ok",
 * "tempfail", "noperm"... (sysexits(3) without EX_, lower case). */
const char *runreport_class_name(enum failure cls);

#endif
