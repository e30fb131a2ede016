/*
 * log.c: every line on stderr is made whole and written with one write(2),
 * and a server's words reach the terminal only escaped.
 *
 * stderr is replaced by one end of a SOCK_SEQPACKET socketpair: each
 * write(2) arrives as one packet, so counting packets counts writes.  The
 * end is non-blocking, so a logger that writes byte by byte overflows it
 * and fails the test instead of hanging it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

struct captured {
	char data[65536];
	size_t len;
	unsigned packets;
};

static int reader_fd = -1, saved_stderr = -1;

static void
capture_stderr(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		abort();
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	if (saved_stderr < 0 || dup2(sv[0], STDERR_FILENO) < 0)
		abort();
	fcntl(STDERR_FILENO, F_SETFL, fcntl(STDERR_FILENO, F_GETFL) | O_NONBLOCK);
	close(sv[0]);
	reader_fd = sv[1];
}

static void
restore_stderr(void)
{
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	close(reader_fd);
}

/* Everything written since the last call: its bytes and its packets. */
static void
drain(struct captured *c)
{
	ssize_t n;

	c->len = 0;
	c->packets = 0;
	while ((n = recv(reader_fd, c->data + c->len, sizeof c->data - 1 - c->len,
	    MSG_DONTWAIT)) > 0) {
		c->len += (size_t)n;
		c->packets++;
	}
	c->data[c->len] = '\0';
}

static void
test_one_write_per_line(void)
{
	struct captured c;
	char controls[8192];

	log_error("account: message %d: %s", 7, "-ERR [SYS/TEMP] busy\r");
	drain(&c);
	is_str(c.data, "test-log: account: message 7: -ERR [SYS/TEMP] busy\\x0d\n",
	    "log_error: the line");
	is_int(c.packets, 1, "log_error: one write");

	log_warn("%s", "over max_size");
	drain(&c);
	is_str(c.data, "test-log: warning: over max_size\n", "log_warn: the line");
	is_int(c.packets, 1, "log_warn: one write");

	log_info("%s", "not shown without -v");
	drain(&c);
	is_int(c.len, 0, "log_info without -v: nothing");

	log_verbose = 1;
	log_info("%s", "shown with -v");
	drain(&c);
	is_int(c.packets, 1, "log_info with -v: one write");
	log_transcript("<-", "+OK POP3 server ready", 21);
	drain(&c);
	is_str(c.data, "<- +OK POP3 server ready\n", "log_transcript: the line");
	is_int(c.packets, 1, "log_transcript: one write");

	memset(controls, 0x01, sizeof controls);
	log_transcript("<-", controls, sizeof controls);
	drain(&c);
	is_int(c.packets, 1, "an 8 kB transcript line of controls: one write");
	is_int(c.len, 3 + 4 * sizeof controls + 1, "all of it escaped (\\x01 each)");
	ok(c.len > 8 && memcmp(c.data + c.len - 5, "\\x01\n", 5) == 0, "ends escaped, with LF");
	log_verbose = 0;
}

/* The escaped form of one server text, as log_error() prints it. */
static void
escaped_is(const char *text, const char *want, const char *name)
{
	char line[512];
	struct captured c;

	log_error("%s", text);
	drain(&c);
	snprintf(line, sizeof line, "test-log: %s\n", want);
	is_str(c.data, line, "%s", name);
}

static void
test_escaping(void)
{
	escaped_is("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 \xc2\xa0",
	    "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 \xc2\xa0",
	    "valid printable UTF-8 (2, 3, 4 octets, U+00A0) unchanged");
	escaped_is("\x1b[2J\x07\t\x7f", "\\x1b[2J\\x07\\x09\\x7f", "C0 controls and DEL");
	escaped_is("\xc2\x9b" "31m \xc2\x9d" "0;x", "\\xc2\\x9b31m \\xc2\\x9d0;x",
	    "C1 CSI and OSC (UTF-8 encoded)");
	escaped_is("\xc2\x80|\xc2\x9f", "\\xc2\\x80|\\xc2\\x9f", "U+0080 and U+009F");
	escaped_is("\x9b\x9d", "\\x9b\\x9d", "raw 8-bit C1 bytes");
	escaped_is("\xc0\xaf \xc1\xbf", "\\xc0\\xaf \\xc1\\xbf", "overlong two-octet forms");
	escaped_is("\xe0\x80\xaf", "\\xe0\\x80\\xaf", "overlong three-octet form");
	escaped_is("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf", "overlong four-octet form");
	escaped_is("\xed\xa0\x80 \xed\xbf\xbf", "\\xed\\xa0\\x80 \\xed\\xbf\\xbf", "surrogates");
	escaped_is("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80", "above U+10FFFF");
	escaped_is("\xf5\xfe\xff", "\\xf5\\xfe\\xff", "octets never in UTF-8");
	escaped_is("\xe6\x97", "\\xe6\\x97", "a sequence cut by the end of the text");
	escaped_is("\xe6\x97" "A\xe6\x97\xa5", "\\xe6\\x97A\xe6\x97\xa5",
	    "a cut sequence, then a whole one");
	escaped_is("\x80 \xbf", "\\x80 \\xbf", "lone continuation octets");
	escaped_is("\xc3\xc3\xa9", "\\xc3\xc3\xa9", "a lead octet followed by a whole sequence");
}

int
main(void)
{
	log_progname = "test-log";
	capture_stderr();
	test_one_write_per_line();
	test_escaping();
	restore_stderr();
	return done_testing();
}
