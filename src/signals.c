/*
 * The signal handlers of both commands.  A handler can reach data only
 * through statics: the flag (the one piece of state that changes) and the
 * exit policy, written once before any handler is installed.
 */
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "signals.h"

static volatile sig_atomic_t caught;
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

static void
on_signal_finish(int sig)
{
	caught = sig;
}

void
signals_finish_on(const int *sigs, int grace_ms)
{
	install(sigs, on_signal_finish, SA_RESETHAND);
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
	const char *line = exiting.line[exiting.state != NULL && *exiting.state != 0];

	caught = sig;
	write_stderr(log_progname, strlen(log_progname));
	write_stderr(line, strlen(line));
	_exit(exiting.exit_code);
}

void
signals_exit_on(const int *sigs, const struct signals_exit *how)
{
	exiting = *how;
	install(sigs, on_signal_exit, 0);
}
