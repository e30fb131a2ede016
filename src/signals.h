/*
 * How both commands meet signals, in one place.  SIGPIPE is ignored, so
 * that a server closing the connection gives an error, not a death.
 * SIGTERM, SIGINT (and whatever else a command asks for) are met in one
 * of two ways, both recording the signal in the one flag:
 *
 *   finish: the first signal sets the flag; the work looks at it between
 *   messages, and clock.h ends every wait at most a grace period after it
 *   was first seen.  A second signal kills at once (mailpipe-fetch: its
 *   journal makes that safe), as the default action would.
 *
 *   exit: nothing needs undoing, so the handler writes one line and exits
 *   at once, line and exit code chosen by a state the caller keeps
 *   (mailpipe-send: not sent, perhaps delivered, or delivered).
 */
#ifndef MAILPIPE_SIGNALS_H
#define MAILPIPE_SIGNALS_H

#include <signal.h>
#include <sys/types.h>

/* Each main calls this first.  A password_command gets every signal back
 * at its default (cred.c), so it is not affected. */
void signals_ignore_sigpipe(void);

/* "finish" for each signal in sigs (a list ending in 0): see above.
 * grace_ms is the grace given to clock.h (TIMING_SIGNAL_GRACE_MS). */
void signals_finish_on(const int *sigs, int grace_ms);
/* The signal caught, or 0 while there was none. */
int signals_caught(void);

/* What the "exit" handler does, chosen by a state the caller keeps. */
#define SIGNALS_EXIT_CASES 3
struct signals_exit {
	const volatile sig_atomic_t *state;	/* NULL: always case 0 */
	struct {
		const char *line;	/* after the program name; NULL: nothing */
		int exit_code;
	} cases[SIGNALS_EXIT_CASES];		/* by *state */
};
/* "exit" for each signal in sigs (a list ending in 0): the program name
 * (log_progname) and the chosen line go to stderr with async-signal-safe
 * calls only, then _exit() with the chosen code.  how is copied; its
 * strings and state must stay valid for the rest of the run. */
void signals_exit_on(const int *sigs, const struct signals_exit *how);

/* A child process group that must not outlive the program (cred.c's
 * password_command): when a signal ends the program (the "exit" handler,
 * or a second "finish" signal), the group is killed first.  0: none. */
void signals_track_group(pid_t pgid);

#endif
