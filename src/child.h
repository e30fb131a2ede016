/*
 * A shell command run as a child, bounded: `/bin/sh -c COMMAND` in a
 * process group of its own, with one end time (the account's `timeout`
 * from its start, cut short by a signal's grace) covering reading its
 * output and reaping it.  Whatever it does (trickling bytes, closing its
 * output and lingering, flooding) cannot stretch that; on timeout or error
 * the whole group is killed.  Shared by password_command (cred.c) and the
 * MDA of `deliver = mda` (mda.c), so both are bounded the same way.
 */
#ifndef MAILPIPE_CHILD_H
#define MAILPIPE_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct child {
	const char *what;	/* the key it comes from, for messages */
	pid_t pid;		/* also its process group; -1: none */
	int out;		/* the read end of its output pipe; -1: closed */
	int64_t end_ms;
	int timeout_s;
	bool reaped;
	int status;		/* the shell's wait status, once reaped */
	/* Set after child_start(): the command is done when its shell exits,
	 * whatever it left in the background holding the output (an MDA's
	 * notifier).  Unset, everything in the group must be done. */
	bool done_at_exit;
};

/* Starts /bin/sh -c command with stdin from in_fd (read from its current
 * offset; -1: /dev/null), stdout into the pipe c->out, stderr into it too
 * with capture_stderr (else left as ours), no other descriptor, every
 * signal at its default.  Failures: FAIL_TEMPORARY (no pipe, process or
 * memory), FAIL_CONFIG (/bin/sh could not be started otherwise), each
 * reason starting with what. */
int child_start(struct child *c, const char *what, const char *command, int in_fd,
	bool capture_stderr, int timeout_s);
/* Reads its output into buf[0..cap) until it closes the pipe (0) or buf
 * is full (1); *n_r gets the count.  -1: the end time passed or a wait or
 * read failed (FAIL_TEMPORARY). */
int child_read(struct child *c, char *buf, size_t cap, size_t *n_r);
/* Closes the pipe and reaps it before the end time: 0 with its wait
 * status, or -1 (FAIL_TEMPORARY: timed out, or it could not be waited
 * for), its group then killed.  Call once after child_start(). */
int child_wait(struct child *c, int *status_r);
/* After a failure of child_read(): closes the pipe, kills the group
 * unless reaped, forgets it.  Never fails. */
void child_abort(struct child *c);

#endif
