/*
 * cred.c: the password sources.
 *
 * password_file: missing, unreadable, empty, first line only, a first line
 * too long, and the trust rule (group or others may not write it, others
 * may not read it, it must be ours or root's; its group may read it).
 * password_command: its output, a failing or silent command, too much
 * output, what it inherits (stdin, descriptors, signals), and the one time
 * limit: each hostile command below must end within `timeout` with its
 * whole process group gone, whatever it does to stdout.  The hostile
 * commands run in a forked child, so that a cred.c that never returns
 * fails its checks instead of hanging the test.
 *
 * With MAILPIPE_SEND set (meson does), the real mailpipe-send too: a config
 * file others could change never runs its password_command, and the group
 * setup of mailpipe-send(1) works for a non-root member of the group.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "cred.h"
#include "faultpoll.h"
#include "signals.h"
#include "status.h"
#include "tap.h"

/* The command lines below use timeout = 2; a cred.c that has not returned
 * after WATCHDOG_MS is taken as one that never would. */
#define TIMEOUT_S 2
#define WATCHDOG_MS 25000
/* What the kill and the reaping may add to the timeout. */
#define SLACK_MS 1500

static char dir[] = "/tmp/test-cred.XXXXXX";

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
write_file(const char *p, const char *text, mode_t mode)
{
	FILE *f;

	unlink(p);
	f = fopen(p, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 || chmod(p, mode) < 0)
		abort();
}

static void
in_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static void
command_account(struct account *a, const char *command)
{
	memset(a, 0, sizeof *a);
	a->kind = ACCOUNT_SMTP;
	a->timeout = TIMEOUT_S;
	a->password_command = (char *)command;
}

static void
file_account(struct account *a, const char *path)
{
	memset(a, 0, sizeof *a);
	a->kind = ACCOUNT_SMTP;
	a->timeout = TIMEOUT_S;
	a->password_file = (char *)path;
}

/* cred_password() in this process: the secret, or NULL with *cls_r set. */
static char *
password_of(const struct account *a, enum failure *cls_r)
{
	char *secret = NULL;

	fail_clear();
	*cls_r = cred_password(a, &secret) < 0 ? fail_class() : FAIL_NONE;
	if (*cls_r != FAIL_NONE && secret != NULL) {
		diag("a failure that returned a secret");
		cred_free(secret);
		return NULL;
	}
	return secret;
}

static void
expect_secret(const struct account *a, const char *want, const char *name)
{
	enum failure cls;
	char *got = password_of(a, &cls);

	is_str(got, want, "%s", name);
	if (got == NULL)
		diag("class %d: %s", cls, fail_reason());
	cred_free(got);
}

static void
expect_failure(const struct account *a, enum failure want, const char *mention,
	const char *name)
{
	enum failure cls;
	char *got = password_of(a, &cls);

	ok(got == NULL && cls == want, "%s: class %d", name, want);
	if (got != NULL || cls != want)
		diag("got %s, class %d: %s", got ? "a secret" : "no secret", cls, fail_reason());
	if (mention != NULL) {
		ok(strstr(fail_reason(), mention) != NULL, "%s: the line says \"%s\"", name, mention);
		if (strstr(fail_reason(), mention) == NULL)
			diag("line: %s", fail_reason());
	}
	cred_free(got);
}

static void
test_password_file(void)
{
	char pw[600], long_line[6000];
	struct account a;

	in_dir(pw, sizeof pw, "pw");
	file_account(&a, pw);
	write_file(pw, "s3cret\nsecond line\n", 0600);
	expect_secret(&a, "s3cret", "password_file: the first line");
	write_file(pw, "s3cret\r\n", 0600);
	expect_secret(&a, "s3cret", "password_file: CRLF");
	write_file(pw, "s3cret", 0400);
	expect_secret(&a, "s3cret", "password_file: no line end, mode 0400");
	write_file(pw, "", 0600);
	expect_failure(&a, FAIL_CONFIG, "empty", "password_file empty");
	write_file(pw, "\nsecond\n", 0600);
	expect_failure(&a, FAIL_CONFIG, "empty", "password_file with an empty first line");
	memset(long_line, 'x', 5000);
	strcpy(long_line + 5000, "\n");
	write_file(pw, long_line, 0600);
	expect_failure(&a, FAIL_CONFIG, "4096", "password_file: a first line of 5000 bytes");

	file_account(&a, "/nonexistent/pw");
	expect_failure(&a, FAIL_NOINPUT, "/nonexistent/pw", "password_file missing");
	file_account(&a, dir);
	expect_failure(&a, FAIL_NOINPUT, dir, "password_file is a directory");
	{
		char fifo[600];

		snprintf(fifo, sizeof fifo, "%s/fifo", dir);
		mkfifo(fifo, 0600);
		file_account(&a, fifo);
		expect_failure(&a, FAIL_NOINPUT, "not a regular file",
		    "password_file is a FIFO: refused at once, never a blocked open");
	}
	file_account(&a, pw);
	write_file(pw, "s3cret\n", 0000);
	if (geteuid() != 0)
		expect_failure(&a, FAIL_NOINPUT, pw, "password_file mode 000");
	else
		diag("not checked: an unreadable password_file (root reads it anyway, so "
		    "there is nothing to check as root)");
}

/* The rule of fs_check_trusted(): checked on the file we read. */
static void
test_password_file_trust(void)
{
	static const struct { mode_t mode; const char *mention; } refused[] = {
		{ 0644, "chmod o-r" }, { 0604, "chmod o-r" }, { 0660, "chmod go-w" },
		{ 0602, "chmod go-w" }, { 0666, "chmod go-w" },
	};
	char pw[600], name[100];
	struct account a;

	in_dir(pw, sizeof pw, "pw");
	file_account(&a, pw);
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		write_file(pw, "s3cret\n", refused[i].mode);
		snprintf(name, sizeof name, "password_file mode %04o", (unsigned)refused[i].mode);
		expect_failure(&a, FAIL_AUTH, refused[i].mention, name);
		ok(strstr(fail_reason(), "s3cret") == NULL, "%s: no secret in the line", name);
	}
	write_file(pw, "s3cret\n", 0640);
	expect_secret(&a, "s3cret", "password_file mode 0640: its group may read it");
	if (geteuid() != 0) {
		skip("a password_file of another user (needs root to chown)");
		return;
	}
	write_file(pw, "s3cret\n", 0600);
	if (chown(pw, 4321, 4321) < 0)
		abort();
	expect_failure(&a, FAIL_AUTH, "chown", "password_file owned by another user");
	if (chown(pw, 0, 4321) < 0)
		abort();
	write_file(pw, "s3cret\n", 0640);
	expect_secret(&a, "s3cret", "password_file root:group 0640");
}

static void
test_command_output(void)
{
	char big[5000], command[200];
	struct account a;

	command_account(&a, "printf 'pw1\\nuser: alice\\n'");
	expect_secret(&a, "pw1", "password_command: the first line");
	command_account(&a, "printf 'pw2\\r\\n'");
	expect_secret(&a, "pw2", "password_command: CRLF");
	command_account(&a, "exit 3");
	expect_failure(&a, FAIL_CONFIG, "exit status 3", "password_command exit 3");
	command_account(&a, "echo pw; exit 1");
	expect_failure(&a, FAIL_CONFIG, "exit status 1", "password_command prints, then exit 1");
	command_account(&a, "true");
	expect_failure(&a, FAIL_CONFIG, "printed nothing", "password_command prints nothing");
	command_account(&a, "echo");
	expect_failure(&a, FAIL_CONFIG, "empty first line", "password_command prints a newline");
	command_account(&a, "cat");
	expect_failure(&a, FAIL_CONFIG, "printed nothing",
	    "password_command reading stdin gets /dev/null");
	command_account(&a, "kill -9 $$");
	expect_failure(&a, FAIL_CONFIG, "signal 9", "password_command killed by a signal");
	command_account(&a, "/nonexistent/helper");
	expect_failure(&a, FAIL_CONFIG, "exit status 127", "password_command not found");

	memset(big, 'x', 4096);
	big[4096] = '\0';
	command_account(&a, "head -c 4096 /dev/zero | tr '\\0' x");
	expect_secret(&a, big, "password_command printing 4096 bytes");
	snprintf(command, sizeof command, "head -c 4097 /dev/zero | tr '\\0' x");
	command_account(&a, command);
	expect_failure(&a, FAIL_CONFIG, "more than 4096 bytes",
	    "password_command printing 4097 bytes");
}

/* stdin from /dev/null, no descriptor but 0, 1 and 2, no signal ignored,
 * whatever this process has set up. */
/* A wait that fails is said to have failed, at once: not "did not finish
 * within N s" after sitting out the timeout. */
static void
test_command_wait_fails(void)
{
	struct account a;
	long long start = now_ms();

	command_account(&a, "echo pw");
	faultpoll_errno = ENOMEM;
	expect_failure(&a, FAIL_TEMPORARY, "cannot wait for its output",
	    "password_command, poll() failing");
	faultpoll_errno = 0;
	ok(now_ms() - start < TIMEOUT_S * 1000, "password_command, poll() failing: "
	    "reported before the timeout (%lld ms)", now_ms() - start);
}

static void
test_command_inherits(void)
{
	struct account a;
	int stray = open("/dev/null", O_RDONLY);	/* no O_CLOEXEC on purpose */
	char command[300];

	signal(SIGHUP, SIG_IGN);
	/* [ -e ] stats the descriptors of the shell without opening any. */
	snprintf(command, sizeof command, "n=3; while [ $n -le %d ]; do "
	    "[ -e /proc/$$/fd/$n ] && printf '%%s ' $n; n=$((n + 1)); done; echo none",
	    stray + 16);
	command_account(&a, command);
	expect_secret(&a, "none", "password_command has only descriptors 0, 1 and 2");
	command_account(&a, "readlink /proc/$$/fd/0");
	expect_secret(&a, "/dev/null", "password_command: stdin is /dev/null");
	/* Signals 1 to 31 (glibc's posix_spawn() leaves its own two internal
	 * real-time signals ignored). */
	command_account(&a, "m=$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/$$/status); "
	    "echo $((0x$m & 0x7fffffff))");
	expect_secret(&a, "0", "password_command: no signal ignored");
	signal(SIGHUP, SIG_DFL);
	close(stray);
}

/* What a forked cred_password() reports back. */
struct outcome {
	bool returned;
	int rc;
	enum failure cls;
	long long elapsed_ms;
	char reason[512];
	char secret[64];
};

static void
run_in_child(const struct account *a, int out)
{
	struct outcome o = { .returned = true };
	char *secret = NULL;
	long long start = now_ms();

	fail_clear();
	o.rc = cred_password(a, &secret);
	o.elapsed_ms = now_ms() - start;
	o.cls = fail_class();
	snprintf(o.reason, sizeof o.reason, "%s", o.rc < 0 ? fail_reason() : "");
	snprintf(o.secret, sizeof o.secret, "%s", secret != NULL ? secret : "");
	cred_free(secret);
	if (write(out, &o, sizeof o) != (ssize_t)sizeof o)
		_exit(1);
	_exit(0);
}

/* How the child meets signals: as the tests of cred.c alone (none set
 * up), as mailpipe-fetch (finish) or as mailpipe-send (exit). */
enum signal_setup { SIGNALS_NONE, SIGNALS_FINISH, SIGNALS_EXIT };

static const int term_only[] = { SIGTERM, 0 };
/* The grace "finish" gives; the command sleeps far longer. */
#define GRACE_MS 300

static void
set_up_signals(enum signal_setup how)
{
	static const struct signals_exit exiting = {
		.cases = { { ": stopped by a signal\n", 75 } },
	};

	if (how == SIGNALS_FINISH)
		signals_finish_on(term_only, GRACE_MS);
	else if (how == SIGNALS_EXIT)
		signals_exit_on(term_only, &exiting);
}

/* cred_password() in a child set up as how; its end of the pipe the
 * outcome comes back on in *fd_r. */
static pid_t
start_child(const struct account *a, enum signal_setup how, int *fd_r)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds) < 0)
		abort();
	fflush(stdout);
	if ((pid = fork()) < 0)
		abort();
	if (pid == 0) {
		close(fds[0]);
		set_up_signals(how);
		run_in_child(a, fds[1]);
	}
	close(fds[1]);
	*fd_r = fds[0];
	return pid;
}

/* The child's outcome (WATCHDOG_MS to report back, else it is killed) and
 * its wait status. */
static int
collect(pid_t pid, int fd, struct outcome *o)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int status = 0;

	memset(o, 0, sizeof *o);
	if (poll(&pfd, 1, WATCHDOG_MS) == 1 && read(fd, o, sizeof *o) == (ssize_t)sizeof *o)
		o->returned = true;
	kill(pid, SIGKILL);	/* only if it is still there: a failed check */
	waitpid(pid, &status, 0);
	close(fd);
	return status;
}

/* cred_password() in a child, given WATCHDOG_MS to report back. */
static void
run_guarded(const struct account *a, struct outcome *o)
{
	int fd;
	pid_t pid = start_child(a, SIGNALS_NONE, &fd);

	collect(pid, fd, o);
}

/* The process group the command wrote to file, or -1. */
static pid_t
read_pgid(const char *file)
{
	FILE *f = fopen(file, "r");
	long pgid = -1;

	if (f != NULL) {
		if (fscanf(f, "%ld", &pgid) != 1)
			pgid = -1;
		fclose(f);
	}
	return (pid_t)pgid;
}

/* True once no process is left in group pgid.  Killed members that were
 * children of the command were reparented to us (a subreaper): reap them,
 * for a zombie still counts as a member. */
static bool
group_gone(pid_t pgid)
{
	for (int i = 0; i < 200; i++) {
		while (waitpid(-pgid, NULL, WNOHANG) > 0)
			;
		if (kill(-pgid, 0) < 0 && errno == ESRCH)
			return true;
		usleep(10000);
	}
	return false;
}

/* A hostile command: it must end within the timeout plus SLACK_MS, with
 * class cls and a line mentioning mention, and leave no process behind. */
static void
expect_bounded(const char *body, enum failure cls, const char *mention)
{
	char marker[600], command[1200];
	struct account a;
	struct outcome o;
	pid_t pgid;

	in_dir(marker, sizeof marker, "pgid");
	unlink(marker);
	/* The fifth field of /proc/PID/stat is the process group. */
	snprintf(command, sizeof command, "read -r a b c d g e < /proc/$$/stat; "
	    "echo $g > %s; %s", marker, body);
	command_account(&a, command);
	run_guarded(&a, &o);
	ok(o.returned, "%s: cred_password() returned", body);
	ok(o.returned && o.elapsed_ms < TIMEOUT_S * 1000 + SLACK_MS,
	    "%s: within the timeout (%lld ms)", body, o.elapsed_ms);
	ok(o.returned && o.rc < 0 && o.cls == cls && o.secret[0] == '\0',
	    "%s: fails with class %d, no secret", body, cls);
	ok(strstr(o.reason, mention) != NULL, "%s: the line says \"%s\"", body, mention);
	diag("%s", o.reason);
	pgid = read_pgid(marker);
	ok(pgid > 0 && pgid != getpgrp(), "%s: ran in a process group of its own", body);
	ok(pgid > 0 && pgid != getpgrp() && group_gone(pgid), "%s: no process left in it",
	    body);
}

static void
test_command_bounded(void)
{
	char within[100];

	snprintf(within, sizeof within, "did not finish within %d s", TIMEOUT_S);
	expect_bounded("yes", FAIL_CONFIG, "printed more than 4096 bytes");
	expect_bounded("while :; do printf x; sleep 1; done", FAIL_TEMPORARY, within);
	expect_bounded("echo pw; exec >&-; sleep 15", FAIL_TEMPORARY, within);
	expect_bounded("sleep 40; echo pw", FAIL_TEMPORARY, within);
	expect_bounded("(sleep 30; echo late) & echo pw", FAIL_TEMPORARY, within);
}

/* --- a signal while the command runs --- */

/* Waits (bounded) for the command to write its process group to marker. */
static pid_t
await_pgid(const char *marker)
{
	for (int i = 0; i < 500; i++) {
		pid_t pgid = read_pgid(marker);

		if (pgid > 0)
			return pgid;
		usleep(10000);
	}
	return -1;
}

/* Runs a sleeping password_command in a child set up as how, sends it
 * `signals` SIGTERMs once the command runs, and returns the child's wait
 * status; the outcome, when cred_password() returned, in *o. */
static int
run_signalled(enum signal_setup how, int signals, struct outcome *o, pid_t *pgid_r)
{
	char marker[600], command[1200];
	struct account a;
	int fd;
	pid_t pid;

	in_dir(marker, sizeof marker, "pgid-signal");
	unlink(marker);
	snprintf(command, sizeof command, "read -r a b c d g e < /proc/$$/stat; "
	    "echo $g > %s; sleep 40; echo pw", marker);
	command_account(&a, command);
	a.timeout = 30;
	pid = start_child(&a, how, &fd);
	*pgid_r = await_pgid(marker);
	for (int i = 0; i < signals; i++) {
		kill(pid, SIGTERM);
		usleep(50000);
	}
	return collect(pid, fd, o);
}

/* mailpipe-fetch ("finish"): the command is given the grace, not its
 * timeout, then its group is killed; a second signal kills at once and
 * takes the group down too.  mailpipe-send ("exit"): the handler exits
 * at once and takes the group down. */
static void
test_command_signalled(void)
{
	struct outcome o;
	pid_t pgid;
	int status;

	status = run_signalled(SIGNALS_FINISH, 1, &o, &pgid);
	ok(pgid > 0 && o.returned && o.rc < 0 && o.cls == FAIL_TEMPORARY &&
	    strstr(o.reason, "after a signal") != NULL,
	    "finish: SIGTERM during password_command gives up after the grace: %s", o.reason);
	ok(o.returned && o.elapsed_ms < GRACE_MS + SLACK_MS,
	    "finish: within the grace, not the 30 s timeout (%lld ms)", o.elapsed_ms);
	ok(pgid > 0 && group_gone(pgid), "finish: no process left in the command's group");

	status = run_signalled(SIGNALS_FINISH, 2, &o, &pgid);
	ok(pgid > 0 && !o.returned && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
	    "finish: a second SIGTERM kills at once");
	ok(pgid > 0 && group_gone(pgid), "finish, second signal: the command's group is gone");

	status = run_signalled(SIGNALS_EXIT, 1, &o, &pgid);
	ok(pgid > 0 && !o.returned && WIFEXITED(status) && WEXITSTATUS(status) == 75,
	    "exit: SIGTERM during password_command exits 75 at once");
	ok(pgid > 0 && group_gone(pgid), "exit: the command's group is gone too");
}

/* --- the real mailpipe-send --- */

/* Runs argv (stdin from the string, stderr into err) and returns its exit
 * status, or -1. */
static int
run_binary(char *const argv[], const char *input, char *err, size_t err_size)
{
	int in[2], errp[2], status;
	ssize_t n = 0, got;
	pid_t pid;

	if (pipe(in) < 0 || pipe(errp) < 0)
		abort();
	fflush(stdout);
	if ((pid = fork()) < 0)
		abort();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(errp[1], 2);
		close(in[1]);
		close(errp[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(errp[1]);
	if (write(in[1], input, strlen(input)) < 0)
		diag("could not write the message: %s", strerror(errno));
	close(in[1]);
	while (n < (ssize_t)err_size - 1 && (got = read(errp[0], err + n,
	    err_size - 1 - (size_t)n)) > 0)
		n += got;
	err[n] = '\0';
	close(errp[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char message[] = "From: s@example.test\nTo: r@example.test\nSubject: t\n\nhi\n";

/* A config file others could change, or of another user: 77, and its
 * password_command never ran. */
static void
test_untrusted_config(const char *send)
{
	char conf[600], marker[600], text[1500], err[2048];
	char *argv[] = { (char *)send, "-C", conf, "r@example.test", NULL };
	int rc;

	in_dir(conf, sizeof conf, "mailpipe.ini");
	in_dir(marker, sizeof marker, "ran");
	snprintf(text, sizeof text, "[smtp a]\nhost = 127.0.0.1\nport = 9\ntls = off\n"
	    "user = alice\npassword_command = touch %s; echo pw\nfrom = s@example.test\n",
	    marker);
	unlink(marker);
	write_file(conf, text, 0666);
	rc = run_binary(argv, message, err, sizeof err);
	is_int(rc, 77, "mailpipe-send, config mode 0666: exit 77");
	ok(access(marker, F_OK) < 0, "mailpipe-send, config mode 0666: the command never ran");
	ok(strstr(err, "chmod go-w") != NULL, "mailpipe-send, config mode 0666: says chmod");
	diag("%s", err);
	if (geteuid() != 0) {
		skip("a config file of another user (needs root to chown)");
		return;
	}
	unlink(marker);
	write_file(conf, text, 0644);
	if (chown(conf, 4321, 4321) < 0)
		abort();
	rc = run_binary(argv, message, err, sizeof err);
	is_int(rc, 77, "mailpipe-send, config of another user: exit 77");
	ok(access(marker, F_OK) < 0, "mailpipe-send, config of another user: the command "
	    "never ran");
	ok(strstr(err, "chown") != NULL, "mailpipe-send, config of another user: says chown");
	diag("%s", err);
}

/* A one-connection SMTP server: AUTH PLAIN must carry the password of the
 * group setup below; exits 0 when it did and a message was accepted. */
#define GROUP_AUTH "AUTH PLAIN AGFsaWNlAGdyb3VwLVBhNTU="	/* \0alice\0group-Pa55 */

static void
reply(int fd, const char *text)
{
	if (write(fd, text, strlen(text)) < 0)
		_exit(3);
}

static void __attribute__((noreturn))
serve_one(int listener)
{
	int fd = accept(listener, NULL, NULL);
	FILE *in = fd >= 0 ? fdopen(fd, "r") : NULL;
	char line[1024];
	bool authed = false, in_data = false, sent = false;

	alarm(20);	/* a test server must not outlive the test */
	if (in == NULL)
		_exit(2);
	reply(fd, "220 stub ESMTP\r\n");
	while (fgets(line, sizeof line, in) != NULL) {
		if (in_data) {
			in_data = strcmp(line, ".\r\n") != 0;
			if (!in_data)
				reply(fd, "250 queued\r\n");
			sent |= !in_data;
		} else if (strncmp(line, "EHLO", 4) == 0) {
			reply(fd, "250-stub\r\n250 AUTH PLAIN\r\n");
		} else if (strncmp(line, "AUTH", 4) == 0) {
			authed = strcmp(line, GROUP_AUTH "\r\n") == 0;
			reply(fd, authed ? "235 ok\r\n" : "535 no\r\n");
		} else if (strncmp(line, "DATA", 4) == 0) {
			in_data = true;
			reply(fd, "354 go\r\n");
		} else if (strncmp(line, "QUIT", 4) == 0) {
			reply(fd, "221 bye\r\n");
			break;
		} else {
			reply(fd, "250 ok\r\n");
		}
	}
	_exit(authed && sent ? 0 : 1);
}

static pid_t
start_server(unsigned *port_r)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (listener < 0 || bind(listener, (struct sockaddr *)&sin, sizeof sin) < 0 ||
	    listen(listener, 1) < 0 || getsockname(listener, (struct sockaddr *)&sin, &len) < 0)
		abort();
	*port_r = ntohs(sin.sin_port);
	fflush(stdout);
	if ((pid = fork()) < 0)
		abort();
	if (pid == 0)
		serve_one(listener);
	close(listener);
	return pid;
}

/* mailpipe-send(1): a shared config without password, and a password_file
 * of root and group G, mode 0640, read by a member of G who is not root
 * (uid and gid without a passwd entry, given to setpriv as numbers). */
static void
test_group_setup(const char *send)
{
	char conf[600], pw[600], text[800], err[2048];
	char *argv[] = { "/usr/bin/setpriv", "--reuid=4321", "--regid=4322", "--clear-groups",
	    "--", (char *)send, "-C", conf, "r@example.test", NULL };
	unsigned port;
	int rc, served;
	pid_t server;

	if (geteuid() != 0 || access(argv[0], X_OK) < 0) {
		skip("the group setup (needs root and setpriv)");
		return;
	}
	if (chmod(dir, 0711) < 0)
		abort();
	in_dir(conf, sizeof conf, "shared.ini");
	in_dir(pw, sizeof pw, "relay.pw");
	write_file(pw, "group-Pa55\n", 0640);
	if (chown(pw, 0, 4322) < 0)
		abort();
	server = start_server(&port);
	snprintf(text, sizeof text, "[smtp relay]\nhost = 127.0.0.1\nport = %u\ntls = off\n"
	    "user = alice\npassword_file = %s\nfrom = s@example.test\ntimeout = 10\n", port, pw);
	write_file(conf, text, 0600);
	if (chown(conf, 4321, 4322) < 0)
		abort();
	rc = run_binary(argv, message, err, sizeof err);
	is_int(rc, 0, "the group setup: a member of the group sends");
	if (rc != 0)
		diag("%s", err);
	waitpid(server, &served, 0);
	ok(WIFEXITED(served) && WEXITSTATUS(served) == 0,
	    "the group setup: the server got the password from the file");

	write_file(pw, "group-Pa55\n", 0644);
	if (chown(pw, 0, 4322) < 0)
		abort();
	rc = run_binary(argv, message, err, sizeof err);
	is_int(rc, 77, "the group setup with a password_file others can read: exit 77");
	ok(strstr(err, "chmod o-r") != NULL, "... and the line says chmod o-r");
	diag("%s", err);
}

int
main(void)
{
	const char *send = getenv("MAILPIPE_SEND");

	if (mkdtemp(dir) == NULL)
		abort();
	/* Members of a killed command's group that outlive its shell come
	 * to us, so that group_gone() can reap them (the container's init
	 * may not). */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	test_password_file();
	test_password_file_trust();
	test_command_output();
	test_command_inherits();
	test_command_wait_fails();
	test_command_bounded();
	test_command_signalled();
	if (send != NULL && *send != '\0') {
		test_untrusted_config(send);
		test_group_setup(send);
	} else {
		skip("the real mailpipe-send (MAILPIPE_SEND is not set)");
	}
	{
		char cmd[600];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			diag("could not remove %s", dir);
	}
	return done_testing();
}
