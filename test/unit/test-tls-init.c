/*
 * How tls.c starts OpenSSL: its configuration read at the first session
 * (or in tls_prepare()), and no clean-up registered for the exit, whose
 * freeing of every table of a process that is ending cost 5 % of a send's
 * instructions.  Seen from an exit handler registered before OpenSSL
 * started, which therefore runs after any handler of OpenSSL's: OpenSSL
 * still answers there only if its clean-up did not run.  Each case runs in
 * a new process (this program, exec'd), where nothing started OpenSSL
 * before; a control case that starts OpenSSL with its defaults shows that
 * the probe sees a clean-up when there is one.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "clock.h"
#include "status.h"
#include "tap.h"
#include "tls.h"

/* The exit status of a case whose OpenSSL was cleaned up before the end. */
#define CLEANED_UP 3

/* Last of the exit handlers: does OpenSSL still start? */
static void
report_at_exit(void)
{
	_exit(OPENSSL_init_crypto(0, NULL) == 1 ? 0 : CLEANED_UP);
}

/* A session that fails at once (the peer has gone), after its context. */
static void
start_a_session(void)
{
	static const struct timing patience = { .timeout_ms = 10000 };
	struct tls_options o = { .verify = false };
	struct tls_session *s = NULL;
	int pair[2];

	signal(SIGPIPE, SIG_IGN);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0)
		_exit(2);
	close(pair[1]);
	if (tls_start(pair[0], "localhost", &o, &patience, &s) == 0)
		tls_end(s);
	close(pair[0]);
}

/* OpenSSL's configuration names a module that does not exist, with
 * config_diagnostics set, so its initialisation fails; the session must
 * fail for it too, and also when tls_prepare() met the failure first
 * (OpenSSL answers a second initialisation with success).  Exits 0 when
 * the session failed saying why. */
static void
broken_config(bool prepare_first)
{
	static const char conf[] = "config_diagnostics = 1\nopenssl_conf = init\n"
	    "[init]\nnosuch_module = sect\n[sect]\nx = y\n";
	static const struct timing patience = { .timeout_ms = 10000 };
	struct tls_options o = { .verify = false };
	struct tls_session *s = NULL;
	char path[] = "/tmp/test-tls-init-XXXXXX";
	int fd = mkstemp(path), pair[2], rc;

	if (fd < 0 || write(fd, conf, sizeof conf - 1) != (ssize_t)(sizeof conf - 1) ||
	    setenv("OPENSSL_CONF", path, 1) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0)
		_exit(2);
	close(fd);
	close(pair[1]);		/* a session that got past the start fails at once */
	if (prepare_first)
		tls_prepare();
	rc = tls_start(pair[0], "localhost", &o, &patience, &s);
	unlink(path);
	_exit(rc < 0 && strstr(fail_reason(), "cannot initialise: unknown module name") != NULL
	    ? 0 : 4);
}

/* One case, in the exec'd process. */
static int
run_case(const char *name)
{
	if (strcmp(name, "broken-config") == 0 || strcmp(name, "broken-config-prepared") == 0)
		broken_config(strcmp(name, "broken-config-prepared") == 0);
	atexit(report_at_exit);
	if (strcmp(name, "prepare") == 0)
		tls_prepare();
	else if (strcmp(name, "session") == 0)
		start_a_session();
	else if (strcmp(name, "defaults") == 0)
		OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
	else
		return 2;
	return 0;
}

/* The exit status of this program run as case name. */
static int
case_status(const char *name)
{
	static const char self[] = "/proc/self/exe";
	pid_t pid = fork();
	int status;

	if (pid < 0)
		abort();
	if (pid == 0) {
		execl(self, self, "--case", name, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		abort();
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--case") == 0)
		return run_case(argv[2]);
	alarm(60);	/* a hang is a failure, not a stuck test run */
	is_int(case_status("defaults"), CLEANED_UP,
	    "the probe: OpenSSL started with its defaults is cleaned up at exit");
	is_int(case_status("prepare"), 0,
	    "tls_prepare(): OpenSSL not cleaned up at exit");
	is_int(case_status("session"), 0,
	    "tls_start(): OpenSSL not cleaned up at exit");
	is_int(case_status("broken-config"), 0,
	    "a broken OpenSSL configuration: the session fails, saying why");
	is_int(case_status("broken-config-prepared"), 0,
	    "... also after tls_prepare() met it first");
	return done_testing();
}
