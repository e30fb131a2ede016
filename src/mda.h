/*
 * `deliver = mda COMMAND`: one message handed to a mail delivery agent
 * (procmail, maildrop, dovecot-lda), run by /bin/sh with the message on
 * stdin and bounded like password_command (child.h).  Its exit status is
 * the verdict, as sysexits(3) has it for every MDA: 0 delivered, 75
 * (EX_TEMPFAIL) try again later, anything else refused.
 */
#ifndef MAILPIPE_MDA_H
#define MAILPIPE_MDA_H

/* The verdicts of an MDA that ran to its end. */
enum mda_verdict { MDA_DELIVERED, MDA_TEMPORARY, MDA_PERMANENT };

struct mda_call {
	const char *command;	/* with %F and %T as configured */
	const char *sender;	/* the envelope sender, "" for none */
	const char *recipient;
	int timeout_s;
};

/* The command with %F (the sender) and %T (the recipient) each replaced
 * by its value in single quotes, so that no byte of it is shell syntax,
 * and %% by %; any other % stays.  A new string. */
char *mda_expand(const char *command, const char *sender, const char *recipient);

/* NULL when every %F and %T of command stands where the shell reads it
 * unquoted; else why not.  mda_expand() puts each value in single quotes,
 * which inside the user's own quotes would be literal, leaving $ and `
 * of a sender's address to the shell. */
const char *mda_command_check(const char *command);

/* Runs the command with the file fd (read from offset 0) on stdin, its
 * stdout and stderr into one pipe of which the first line is kept (the
 * rest read and dropped).  MDA_DELIVERED (a first line, if any, is
 * written as a warning), or MDA_TEMPORARY / MDA_PERMANENT with the
 * failure recorded (FAIL_TEMPORARY, the exit status and the first line);
 * -1 when it could not be started, did not finish within the timeout (its
 * process group killed) or could not be waited for (recorded as
 * child.h says). */
int mda_deliver(const struct mda_call *call, int fd);

#endif
