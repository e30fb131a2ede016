/*
 * signals.c: the two ways a command meets a signal, run for real (raise()
 * in this process, or in a child for the one that exits), and SIGPIPE.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "signals.h"
#include "tap.h"

/* finish, in a child: a second signal ends it by that signal. */
static bool
second_signal_kills(int sig)
{
	static const int sigs[] = { SIGTERM, SIGINT, 0 };
	int status = 0;
	pid_t pid = fork();

	if (pid < 0)
		abort();
	if (pid == 0) {
		signals_finish_on(sigs, 300);
		raise(sig);
		if (signals_caught() != sig)
			_exit(2);
		raise(sig);
		_exit(3);
	}
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

/* finish: the flag, the second signal, and the grace handed to clock.h. */
static void
test_finish(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, 0 };
	const struct timing t = { .timeout_ms = 60000, .deadline_ms = 0 };
	struct sigaction now;

	signals_finish_on(sigs, 300);
	is_int(signals_caught(), 0, "finish: no signal yet");
	is_int(timing_wait_ms(&t), 60000, "finish: before a signal a wait gets the timeout");
	raise(SIGINT);
	is_int(signals_caught(), SIGINT, "finish: SIGINT is recorded");
	ok(timing_wait_ms(&t) <= 300, "finish: after it a wait gets at most the grace");
	ok(second_signal_kills(SIGINT), "finish: a second SIGINT kills at once");
	ok(second_signal_kills(SIGTERM), "finish: a second SIGTERM kills at once");
	signal(SIGINT, SIG_DFL);
	sigaction(SIGTERM, NULL, &now);
	ok(now.sa_handler != SIG_DFL, "finish: SIGTERM, not raised, is still caught");
	signal(SIGTERM, SIG_DFL);
	timing_watch_signal(NULL, 0);
}

/* Runs a child that installs "exit" with *state as given and raises sig;
 * returns its exit status and what it wrote on stderr. */
static int
exit_child(int sig, sig_atomic_t state, char *out, size_t size)
{
	static volatile sig_atomic_t child_state;
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, 0 };
	const struct signals_exit how = {
		.state = &child_state,
		.cases = { { ": zero\n", 75 }, { ": one\n", 76 }, { NULL, 0 } },
	};
	int fds[2], status = -1;
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe(fds) < 0 || (pid = fork()) < 0)
		abort();
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		log_progname = "prog";
		child_state = state;
		signals_exit_on(sigs, &how);
		raise(sig);
		_exit(0);	/* not reached when the handler works */
	}
	close(fds[1]);
	while ((n = read(fds[0], out + got, size - 1 - (size_t)got)) > 0)
		got += n;
	out[got] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	return status;
}

static void
test_exit(void)
{
	char out[200];
	int status = exit_child(SIGHUP, 0, out, sizeof out);

	ok(WIFEXITED(status) && WEXITSTATUS(status) == 75, "exit: SIGHUP exits with the code given");
	is_str(out, "prog: zero\n", "exit: state 0 chooses the first line");
	status = exit_child(SIGTERM, 1, out, sizeof out);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 76, "exit: state 1 chooses its code");
	is_str(out, "prog: one\n", "exit: state 1 chooses the second line");
	status = exit_child(SIGINT, 2, out, sizeof out);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 && out[0] == '\0',
	    "exit: a case without a line exits silently with its code");
}

static void
test_sigpipe(void)
{
	int fds[2];
	ssize_t w;

	if (pipe(fds) < 0)
		abort();
	close(fds[0]);
	signals_ignore_sigpipe();
	w = write(fds[1], "x", 1);
	ok(w < 0 && errno == EPIPE, "SIGPIPE ignored: a write to a closed pipe is EPIPE");
	close(fds[1]);
}

int
main(void)
{
	test_finish();
	test_exit();
	test_sigpipe();
	return done_testing();
}
