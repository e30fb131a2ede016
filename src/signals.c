/*
 * The signal handlers of both commands.  A handler can reach data only
 * through statics: the flag (the one piece of state that changes) and the
 * exit policy, written once before any handler is installed.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "signals.h"

static volatile sig_atomic_t caught;
static volatile sig_atomic_t tracked_group;	/* a pid_t; 0: none */
static struct signals_exit exiting;

void
signals_ignore_sigpipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}

static void
install(const int *sigs, void (*handler)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	for (; *sigs != 0; sigs++)
		sigaction(*sigs, &sa, NULL);
}

void
signals_track_group(pid_t pgid)
{
	tracked_group = (sig_atomic_t)pgid;
}

static void
kill_tracked_group(void)
{
	if (tracked_group > 0)
		kill(-(pid_t)tracked_group, SIGKILL);
}

/* The default action of sig, after the tracked group is gone. */
static void
die_by(int sig)
{
	struct sigaction dfl;

	kill_tracked_group();
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	raise(sig);
}

static void
on_signal_finish(int sig)
{
	if (caught != 0)
		die_by(sig);
	else
		caught = sig;
}

void
signals_finish_on(const int *sigs, int grace_ms)
{
	install(sigs, on_signal_finish, 0);
	timing_watch_signal(&caught, grace_ms);
}

int
signals_caught(void)
{
	return (int)caught;
}

static void
write_stderr(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void
on_signal_exit(int sig)
{
	sig_atomic_t state = exiting.state != NULL ? *exiting.state : 0;
	int which = state >= 0 && state < SIGNALS_EXIT_CASES ? (int)state : 0;
	const char *line = exiting.cases[which].line;

	caught = sig;
	kill_tracked_group();
	if (line != NULL) {
		write_stderr(log_progname, strlen(log_progname));
		write_stderr(line, strlen(line));
	}
	_exit(exiting.cases[which].exit_code);
}

void
signals_exit_on(const int *sigs, const struct signals_exit *how)
{
	exiting = *how;
	install(sigs, on_signal_exit, 0);
}
