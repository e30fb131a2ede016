/*
 * Documented error lines that a scripted server cannot provoke, checked on
 * the real programs (their paths in MAILPIPE_SEND and MAILPIPE_FETCH, set
 * by meson): a configuration file holding a password that others can
 * read, no configuration file anywhere, a Maildir or state directory that
 * others can write or another user owns, a state file replaced by a link
 * or damaged, another run holding the account's lock, and SIGTERM after
 * the final dot.  Each check asserts the exit status and a regular
 * expression over stderr.  test/ERRORS.md maps every error condition of
 * the man pages to the test that covers it.
 *
 * The POP3 account points at 127.0.0.1 port 1, where nothing listens: a
 * run that got past the check under test would fail with "cannot
 * connect", so a refusal "before connecting" is one with another line.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

static char dir[] = "/tmp/test-errors.XXXXXX";

static const char message[] = "From: s@example.test\nTo: r@example.test\nSubject: t\n\nhi\n";

struct child {
	pid_t pid;
	int err_fd;
};

struct outcome {
	int status;		/* the exit status, -1 if killed by a signal */
	char err[8192];		/* the start of stderr */
};

static void
in_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 || chmod(path, mode) < 0)
		abort();
}

/* Every run looks for its files in the temp dir only, never in the
 * caller's ~/.config or MAILPIPE_CONFIG. */
static void
isolate_environment(void)
{
	char path[600];

	unsetenv("MAILPIPE_CONFIG");
	setenv("HOME", dir, 1);
	in_dir(path, sizeof path, "xdg-config");
	setenv("XDG_CONFIG_HOME", path, 1);
	in_dir(path, sizeof path, "xdg-state");
	setenv("XDG_STATE_HOME", path, 1);
	setenv("TMPDIR", dir, 1);
	setenv("LC_ALL", "C", 1);
}

/* Runs argv with input on its stdin, stdout on /dev/null (the TAP stream
 * is ours) and stderr on a pipe, without waiting for it. */
static struct child
start(char *const argv[], const char *input)
{
	int in[2], err[2], null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct child c;

	if (null < 0 || pipe2(in, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		abort();
	fflush(stdout);
	if ((c.pid = fork()) < 0)
		abort();
	if (c.pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(null);
	close(in[0]);
	close(err[1]);
	if (write(in[1], input, strlen(input)) < 0)
		diag("could not write the input: %s", strerror(errno));
	close(in[1]);
	c.err_fd = err[0];
	return c;
}

/* Reads stderr to its end (keeping the start) and reaps the child. */
static struct outcome
finish(struct child c)
{
	struct outcome o;
	char rest[4096];
	size_t n = 0;
	int status;

	for (;;) {
		bool room = n < sizeof o.err - 1;
		ssize_t got = read(c.err_fd, room ? o.err + n : rest,
		    room ? sizeof o.err - 1 - n : sizeof rest);

		if (got <= 0)
			break;
		if (room)
			n += (size_t)got;
	}
	o.err[n] = '\0';
	close(c.err_fd);
	waitpid(c.pid, &status, 0);
	o.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return o;
}

static struct outcome
run(char *const argv[], const char *input)
{
	return finish(start(argv, input));
}

/* s with every character that is special in a POSIX ERE escaped. */
static const char *
re_quote(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; *s != '\0' && n + 3 < size; s++) {
		if (strchr("\\^$.[]|()*+?{}", *s) != NULL)
			buf[n++] = '\\';
		buf[n++] = *s;
	}
	buf[n] = '\0';
	return buf;
}

/* What a run printed, one "#" line per line, and what was wanted. */
static void
diag_lines(const char *err, const char *pattern)
{
	diag("wanted: /%s/", pattern);
	diag("stderr:");
	for (const char *p = err; *p != '\0'; ) {
		size_t len = strcspn(p, "\n");

		diag("  %.*s", (int)len, p);
		p += len + (p[len] == '\n');
	}
}

/* The run exited with status and a line of its stderr matches pattern
 * (a POSIX ERE; ^ and $ match at every line). */
static void
expect(struct outcome o, int status, const char *pattern, const char *name)
{
	regex_t re;
	bool matched;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE | REG_NOSUB) != 0)
		abort();
	matched = regexec(&re, o.err, 0, NULL, 0) == 0;
	regfree(&re);
	is_int(o.status, status, "%s: exit %d", name, status);
	ok(matched, "%s: the line says so", name);
	if (!matched || o.status != status)
		diag_lines(o.err, pattern);
}

/* ---- mailpipe-send ---- */

/* mailpipe.ini(5) Permissions: a file holding password must be readable
 * by its owner only (77), checked before anything else is done. */
static void
test_config_password_readable(const char *send)
{
	char conf[600], quoted[1300], pattern[2800];
	char *argv[] = { (char *)send, "-C", conf, "r@example.test", NULL };

	in_dir(conf, sizeof conf, "readable.ini");
	write_file(conf, "[smtp a]\nhost = 127.0.0.1\nport = 1\ntls = off\nuser = alice\n"
	    "password = s3cret-Pa55\nfrom = s@example.test\n", 0640);
	re_quote(conf, quoted, sizeof quoted);
	snprintf(pattern, sizeof pattern, "^mailpipe-send: %s holds a password but group or "
	    "others can read it \\(mode 0640\\); run chmod 600 %s$", quoted, quoted);
	expect(run(argv, message), 77, pattern,
	    "a config with password, mode 0640");
}

/* mailpipe.ini(5): a tls_key_file that group or others can read is
 * refused (77) when the config is loaded, before any connection (port 1
 * would refuse one: 75). */
static void
test_key_file_readable(const char *send)
{
	char conf[600], cert[600], key[600], quoted[1300], pattern[2800], text[2000];
	char *argv[] = { (char *)send, "-C", conf, "r@example.test", NULL };

	in_dir(conf, sizeof conf, "ccert.ini");
	in_dir(cert, sizeof cert, "client.pem");
	in_dir(key, sizeof key, "client.key");
	write_file(cert, "-----BEGIN CERTIFICATE-----\n", 0644);
	write_file(key, "-----BEGIN PRIVATE KEY-----\n", 0644);
	snprintf(text, sizeof text, "[smtp a]\nhost = 127.0.0.1\nport = 1\ntls = implicit\n"
	    "tls_cert_file = %s\ntls_key_file = %s\nfrom = s@example.test\n", cert, key);
	write_file(conf, text, 0600);
	re_quote(key, quoted, sizeof quoted);
	snprintf(pattern, sizeof pattern, "^mailpipe-send: tls_key_file: %s .*mode 0644.*"
	    "chmod 600 %s$", quoted, quoted);
	expect(run(argv, message), 77, pattern, "a tls_key_file of mode 0644");
	snprintf(text, sizeof text, "[smtp a]\nhost = 127.0.0.1\nport = 1\ntls = implicit\n"
	    "tls_cert_file = %s\nfrom = s@example.test\n", cert);
	write_file(conf, text, 0600);
	expect(run(argv, message), 78, "tls_cert_file and tls_key_file go together$",
	    "tls_cert_file without tls_key_file");
}

/* mailpipe.ini(5): finding no file is a configuration error (78), and the
 * line says where one may be. */
static void
test_no_config_file(const char *send)
{
	char *argv[] = { (char *)send, "r@example.test", NULL };
	char quoted[1300], pattern[1600];

	if (access("/etc/mailpipe.ini", F_OK) == 0) {
		skip("no configuration file anywhere: this machine has /etc/mailpipe.ini");
		return;
	}
	snprintf(pattern, sizeof pattern, "^mailpipe-send: no configuration file: give -C "
	    "FILE, set MAILPIPE_CONFIG, or create %s/xdg-config/mailpipe/mailpipe\\.ini or "
	    "/etc/mailpipe\\.ini$", re_quote(dir, quoted, sizeof quoted));
	expect(run(argv, message), 78, pattern,
	    "no -C, no MAILPIPE_CONFIG, no file");
}

static void
reply(FILE *f, const char *text)
{
	if (fputs(text, f) < 0 || fflush(f) != 0)
		_exit(3);
}

/* Where serve_stalling() stops answering. */
enum stall { STALL_AT_DOT, STALL_AT_QUIT };

/* An SMTP server that takes a message and stops answering at the final dot
 * or, having accepted the message, at QUIT; it writes a byte on notify
 * when it stops, then waits for the client to go. */
static void __attribute__((noreturn))
serve_stalling(int listener, int notify, enum stall at)
{
	int fd = accept(listener, NULL, NULL);
	FILE *f = fd >= 0 ? fdopen(fd, "r+") : NULL;
	char line[1024];
	bool in_data = false;

	alarm(30);	/* a test server must not outlive the test */
	if (f == NULL)
		_exit(2);
	reply(f, "220 stub ESMTP\r\n");
	while (fgets(line, sizeof line, f) != NULL) {
		bool stop = false;

		if (in_data) {
			in_data = strcmp(line, ".\r\n") != 0;
			stop = !in_data && at == STALL_AT_DOT;
			if (!in_data && !stop)
				reply(f, "250 queued\r\n");
		} else if (strncmp(line, "DATA", 4) == 0) {
			in_data = true;
			reply(f, "354 go ahead\r\n");
		} else if (strncmp(line, "QUIT", 4) == 0) {
			stop = true;
		} else {
			reply(f, "250 ok\r\n");
		}
		if (stop && write(notify, "", 1) != 1)
			_exit(4);
	}
	_exit(0);
}

/* A loopback listener on a port the kernel chooses; the port in *port_r. */
static int
listen_loopback(unsigned *port_r)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		abort();
	*port_r = ntohs(sin.sin_port);
	return fd;
}

/* Waits up to ten seconds for a byte on fd. */
static bool
notified(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char byte;

	return poll(&p, 1, 10000) == 1 && read(fd, &byte, 1) == 1;
}

/* SIGTERM to mailpipe-send when its server stops answering at `at`;
 * checks the exit status and the line against want_status and want. */
static void
signal_at(const char *send, enum stall at, int want_status, const char *want,
	const char *name)
{
	char conf[600], text[300];
	char *argv[] = { (char *)send, "-C", conf, "r@example.test", NULL };
	int notify[2];
	unsigned port;
	int listener = listen_loopback(&port);
	pid_t server;
	struct child c;
	struct outcome o;
	bool stalled;

	in_dir(conf, sizeof conf, "signal.ini");
	snprintf(text, sizeof text, "[smtp a]\nhost = 127.0.0.1\nport = %u\ntls = off\n"
	    "from = s@example.test\ntimeout = 20\n", port);
	write_file(conf, text, 0600);
	if (pipe2(notify, O_CLOEXEC) < 0 || (server = fork()) < 0)
		abort();
	if (server == 0)
		serve_stalling(listener, notify[1], at);
	close(listener);
	close(notify[1]);
	c = start(argv, message);
	stalled = notified(notify[0]);
	ok(stalled, "%s: the server got the whole message", name);
	kill(c.pid, SIGTERM);
	o = finish(c);
	if (want != NULL) {
		expect(o, want_status, want, name);
	} else {
		is_int(o.status, want_status, "%s: exit %d", name, want_status);
		is_str(o.err, "", "%s: nothing said", name);
	}
	close(notify[0]);
	if (!stalled)
		kill(server, SIGKILL);	/* it may still wait in accept() */
	waitpid(server, NULL, 0);
}

/* mailpipe-send(1) EXIT STATUS 75: SIGTERM once the final dot is sent,
 * before the server answered; the line must say the message may have been
 * delivered (the "not sent" case is the fake scenario
 * smtp-signal-not-sent).  Once the server accepted the message only QUIT
 * is left: the run is a success, silent. */
static void
test_signal_after_dot(const char *send)
{
	signal_at(send, STALL_AT_DOT, 75, "^mailpipe-send: interrupted after the end "
	    "of the message; it may have been delivered, so a retry may send a duplicate$",
	    "SIGTERM after the final dot");
	signal_at(send, STALL_AT_QUIT, 0, NULL, "SIGTERM during QUIT, the message accepted");
}

/* ---- mailpipe-fetch ---- */

struct fetch_setup {
	char conf[600], maildir[600], state[600];
	char lock[1200], state_file[1200];	/* the account's, after a first run */
};

/* The name of the account's lock file in the state directory, made by a
 * first run (NAME.HASH.lock); "" if there is none. */
static void
find_lock(struct fetch_setup *f)
{
	DIR *d = opendir(f->state);
	const struct dirent *e;

	f->lock[0] = f->state_file[0] = '\0';
	while (d != NULL && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len > 5 && strcmp(e->d_name + len - 5, ".lock") == 0) {
			snprintf(f->lock, sizeof f->lock, "%s/%s", f->state, e->d_name);
			snprintf(f->state_file, sizeof f->state_file, "%s/%.*s.state", f->state,
			    (int)(len - 5), e->d_name);
		}
	}
	if (d != NULL)
		closedir(d);
}

/* Writes the account and runs it once: it makes the Maildir and the state
 * directory, then fails to connect (75), which every check below must not
 * get as far as. */
static bool
fetch_setup(const char *fetch, struct fetch_setup *f)
{
	char text[2000];
	char *argv[] = { (char *)fetch, "-C", f->conf, NULL };

	in_dir(f->conf, sizeof f->conf, "fetch.ini");
	in_dir(f->maildir, sizeof f->maildir, "Maildir");
	in_dir(f->state, sizeof f->state, "state");
	snprintf(text, sizeof text, "[pop3 work]\nhost = 127.0.0.1\nport = 1\ntls = off\n"
	    "user = alice\npassword = s3cret-Pa55\nmaildir = %s\nstate_dir = %s\ntimeout = 5\n",
	    f->maildir, f->state);
	write_file(f->conf, text, 0600);
	expect(run(argv, ""), 75, "^mailpipe-fetch: work \\(127\\.0\\.0\\.1:1\\): "
	    "cannot connect: ", "a first run gets as far as connecting");
	find_lock(f);
	ok(f->lock[0] != '\0', "and leaves the account's lock file in the state directory");
	return f->lock[0] != '\0';
}

static struct outcome
run_fetch(const char *fetch, const struct fetch_setup *f)
{
	char *argv[] = { (char *)fetch, "-C", (char *)f->conf, NULL };

	return run(argv, "");
}

/* mailpipe-fetch(1) EXIT STATUS 77: a Maildir or state directory that
 * group or others can write, refused before connecting; the line names
 * it and the chmod that fixes it. */
static void
test_writable_dir(const char *fetch, const struct fetch_setup *f, const char *path,
	const char *what)
{
	char quoted[1300], pattern[3000], name[100];

	re_quote(path, quoted, sizeof quoted);
	snprintf(pattern, sizeof pattern, "^mailpipe-fetch: work: %s: %s is writable by group "
	    "or others \\(mode 0777\\); run chmod go-w %s$", what, quoted, quoted);
	snprintf(name, sizeof name, "%s of mode 0777", what);
	chmod(path, 0777);
	expect(run_fetch(fetch, f), 77, pattern, name);
	chmod(path, 0700);
}

/* ... and one that another user owns (needs root to chown). */
static void
test_foreign_maildir(const char *fetch, const struct fetch_setup *f)
{
	char quoted[1300], pattern[3000];

	if (geteuid() != 0) {
		skip("a Maildir of another user: needs root to chown");
		return;
	}
	re_quote(f->maildir, quoted, sizeof quoted);
	snprintf(pattern, sizeof pattern, "^mailpipe-fetch: work: Maildir: %s is owned by uid "
	    "4321, not by you \\(uid 0\\) or root; run chown 0 %s$", quoted, quoted);
	if (chown(f->maildir, 4321, 4321) < 0)
		abort();
	expect(run_fetch(fetch, f), 77, pattern, "a Maildir of uid 4321");
	if (chown(f->maildir, 0, 0) < 0)
		abort();
}

/* mailpipe-fetch(1) EXIT STATUS 77: a symbolic link where the state should
 * be is refused, and what it points to is left alone. */
static void
test_state_link(const char *fetch, const struct fetch_setup *f)
{
	char target[600], quoted[1300], pattern[1600], text[64] = "";
	FILE *fp;

	in_dir(target, sizeof target, "precious");
	write_file(target, "precious\n", 0600);
	unlink(f->state_file);
	if (symlink(target, f->state_file) < 0)
		abort();
	snprintf(pattern, sizeof pattern, "^mailpipe-fetch: work: %s is a symbolic link or not "
	    "a regular file; refusing to use it \\(remove it\\)$",
	    re_quote(f->state_file, quoted, sizeof quoted));
	expect(run_fetch(fetch, f), 77, pattern, "a link as the state file");
	fp = fopen(target, "r");
	ok(fp != NULL && fgets(text, sizeof text, fp) != NULL && strcmp(text, "precious\n") == 0,
	    "and the file it points to is untouched");
	if (fp != NULL)
		fclose(fp);
	unlink(f->state_file);
}

/* mailpipe-fetch(1) EXIT STATUS 74 and State: a damaged state file is an
 * error, never a reason to fetch the whole mailbox again. */
static void
test_state_corrupt(const char *fetch, const struct fetch_setup *f)
{
	char quoted[1300], pattern[1600];

	write_file(f->state_file, "not a state file\n", 0600);
	snprintf(pattern, sizeof pattern, "^mailpipe-fetch: work: %s is corrupt \\(line 1: "
	    "[^)]+\\); repair or remove it", re_quote(f->state_file, quoted, sizeof quoted));
	expect(run_fetch(fetch, f), 74, pattern, "a damaged state file");
	unlink(f->state_file);
}

/* mailpipe-fetch(1): a second run for an account while one is going exits
 * 75 and says so; here this test holds the account's lock. */
static void
test_lock_held(const char *fetch, const struct fetch_setup *f)
{
	char quoted[1300], pattern[1600];
	int fd = open(f->lock, O_RDWR | O_CLOEXEC);

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
		abort();
	snprintf(pattern, sizeof pattern, "^mailpipe-fetch: work: account work is in use by "
	    "another mailpipe-fetch \\(lock %s\\); try again later$",
	    re_quote(f->lock, quoted, sizeof quoted));
	expect(run_fetch(fetch, f), 75, pattern, "the account's lock held");
	close(fd);
}

static void
test_fetch(const char *fetch)
{
	struct fetch_setup f;

	if (!fetch_setup(fetch, &f))
		return;
	test_writable_dir(fetch, &f, f.maildir, "Maildir");
	test_writable_dir(fetch, &f, f.state, "state directory");
	test_foreign_maildir(fetch, &f);
	test_state_link(fetch, &f);
	test_state_corrupt(fetch, &f);
	test_lock_held(fetch, &f);
}

int
main(void)
{
	const char *send = getenv("MAILPIPE_SEND"), *fetch = getenv("MAILPIPE_FETCH");
	char cmd[600];

	alarm(120);	/* a hang is a failure, not a stuck test run */
	if (send == NULL || *send == '\0' || fetch == NULL || *fetch == '\0') {
		skip("MAILPIPE_SEND and MAILPIPE_FETCH are not set");
		return done_testing();
	}
	if (mkdtemp(dir) == NULL)
		abort();
	isolate_environment();
	test_config_password_readable(send);
	test_key_file_readable(send);
	test_no_config_file(send);
	test_signal_after_dot(send);
	test_fetch(fetch);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
