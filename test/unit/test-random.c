/*
 * random.c: bytes that differ from draw to draw, and a failing source that
 * ends the program with one line and exit 75 instead of a predictable
 * value, for random_bytes() itself and for its two users, a Message-ID
 * (compose_build) and a Maildir's file names (maildir_open).
 *
 * The failing source is made here: this file defines RAND_bytes() and
 * getrandom(), which the linker prefers to OpenSSL's and the C library's;
 * they pass through to the real ones until source_fails is set.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "compose.h"
#include "maildir.h"
#include "random.h"
#include "tap.h"

#define EXIT_TEMPORARY 75	/* sysexits EX_TEMPFAIL */

static bool source_fails;
static int openssl_draws;	/* calls of OpenSSL's RAND_bytes() */

int
RAND_bytes(unsigned char *buf, int num)
{
	int (*real)(unsigned char *, int);

	openssl_draws++;
	if (source_fails)
		return 0;
	*(void **)&real = dlsym(RTLD_NEXT, "RAND_bytes");
	return real != NULL ? real(buf, num) : 0;
}

ssize_t
getrandom(void *buf, size_t n, unsigned int flags)
{
	if (source_fails) {
		errno = ENOSYS;
		return -1;
	}
	return syscall(SYS_getrandom, buf, n, flags);
}

static void
test_draws(void)
{
	unsigned char a[32], b[32], zero[32] = { 0 };
	unsigned char untouched = 0xa5;

	random_bytes(a, sizeof a);
	random_bytes(b, sizeof b);
	ok(memcmp(a, b, sizeof a) != 0, "two draws of 256 bits differ");
	ok(memcmp(a, zero, sizeof a) != 0 && memcmp(b, zero, sizeof b) != 0,
	    "and neither is all zeros");
	random_bytes(&untouched, 0);
	is_int(untouched, 0xa5, "a draw of no bytes writes nothing");
	/* OpenSSL's generator would load its configuration and instantiate
	 * itself: half the CPU of a send that needs no TLS. */
	is_int(openssl_draws, 0, "the kernel's generator, not OpenSSL's");
}

/* Runs fn in a child whose random source fails; its exit status (-1 when
 * it did not exit) and what it wrote on stderr. */
static int
with_failing_source(void (*fn)(void), char *err, size_t size)
{
	int p[2], status = 0;
	ssize_t n = 0, got;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		source_fails = true;
		fn();
		_exit(0);
	}
	close(p[1]);
	while (pid > 0 && (size_t)n < size - 1 &&
	    (got = read(p[0], err + n, size - 1 - (size_t)n)) > 0)
		n += got;
	err[n] = '\0';
	close(p[0]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
draw(void)
{
	unsigned char b[16];

	random_bytes(b, sizeof b);
}

static void
message_id(void)
{
	struct parsed_message m = { 0 };
	struct compose_options o = { .from = "alice@example.org" };
	struct outgoing out;

	compose_build(&m, &o, &out);	/* a raw message without Message-ID */
	compose_free(NULL, &out);
}

static void
maildir_names(void)
{
	struct maildir *md;

	if (maildir_open("/nonexistent/test-random", false, &md) == 0)
		maildir_close(md);
}

static void
fails_loudly(void (*fn)(void), const char *what)
{
	char err[4096];
	int status = with_failing_source(fn, err, sizeof err);
	const char *nl = strchr(err, '\n');

	is_int(status, EXIT_TEMPORARY, "%s with a failing random source: exit 75", what);
	ok(strstr(err, "random") != NULL && nl != NULL && nl[1] == '\0',
	    "%s: one line that names the random source", what);
	if (err[0] != '\0')
		diag("%.*s", (int)strcspn(err, "\n"), err);
}

int
main(void)
{
	test_draws();
	fails_loudly(draw, "random_bytes");
	fails_loudly(message_id, "a Message-ID");
	fails_loudly(maildir_names, "a Maildir");
	return done_testing();
}
