/*
 * pop3-floor: the least work a POP3 client can do to retrieve every message
 * of a mailbox from Dovecot, so that scripts/bench-fetch can print each
 * client's time as a multiple of what the server itself costs (issue 14).
 *
 * It logs in over STLS or implicit TLS with USER/PASS pipelined with STAT,
 * then keeps a window of RETR commands (and DELE, in delete mode) in flight
 * and throws each body away with one write to /dev/null per read.  It
 * stores nothing, so no durability cost is in its figure: it is the floor
 * of the wire, not of a client that keeps mail.
 *
 * Its result is checked, like every client's in the benchmark: the number
 * of messages and the octets of their bodies (dot-unstuffed, CRLF as sent)
 * must add up to the server's STAT, or it exits 1.  On success it prints
 * "pop3-floor: N messages, B octets" on stdout.
 *
 * In uidl mode it retrieves nothing: it logs in, lists the UIDs and quits,
 * which is the floor of a fetch that finds nothing new.
 *
 * Usage: pop3-floor HOST PORT stls|implicit USER PASSWORD_FILE CA_FILE keep|delete|uidl
 */
#include "floor-net.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* RETR commands in flight: enough to keep Dovecot busy at 100 ms RTT for
 * small messages, few enough that the commands never fill a socket buffer.
 * POP3_FLOOR_WINDOW in the environment sets another (up to WINDOW_MAX),
 * to show what a deeper window, as deep as mailpipe-fetch's, gives. */
enum { WINDOW_DEFAULT = 128, WINDOW_MAX = 1024 };

static long window_size(void)
{
	const char *text = getenv("POP3_FLOOR_WINDOW");
	char *end = NULL;
	long n = text != NULL ? strtol(text, &end, 10) : WINDOW_DEFAULT;

	if (n < 1 || n > WINDOW_MAX || (end != NULL && (end == text || *end != '\0')))
		floor_die("POP3_FLOOR_WINDOW: 1 to 1024");
	return n;
}

struct mailbox {
	long count;
	uint64_t octets;
};

static void expect_ok(struct floor_conn *c, const char *after)
{
	size_t len;
	const char *line = floor_line(c, &len);

	if (len < 3 || memcmp(line, "+OK", 3) != 0) {
		fprintf(stderr, "pop3-floor: after %s: %.*s", after, (int)len, line);
		floor_die("the server refused");
	}
}

static char *read_password(const char *path)
{
	static char password[512];
	FILE *f = fopen(path, "r");

	if (!f || !fgets(password, sizeof(password), f))
		floor_die("cannot read the password file");
	fclose(f);
	password[strcspn(password, "\r\n")] = '\0';
	return password;
}

static struct mailbox login(struct floor_conn *c, const char *user, const char *pass_file)
{
	char cmd[1200];
	struct mailbox box;
	size_t len;
	const char *line;
	int n = snprintf(cmd, sizeof(cmd), "USER %s\r\nPASS %s\r\nSTAT\r\n", user,
			 read_password(pass_file));

	if (n < 0 || (size_t)n >= sizeof(cmd))
		floor_die("user name too long");
	floor_write(c, cmd, (size_t)n);
	expect_ok(c, "USER");
	expect_ok(c, "PASS");
	line = floor_line(c, &len);
	if (sscanf(line, "+OK %ld %" SCNu64, &box.count, &box.octets) != 2)
		floor_die("no STAT reply");
	return box;
}

/* Consumes one line of a body from the buffer: its octets (a stuffed dot
 * not counted), or -1 for the terminating "." line. */
static long body_line(const char *line, size_t len, bool *mid_line)
{
	bool continued = *mid_line;

	*mid_line = false;
	if (continued)
		return (long)len;
	if (len == 3 && memcmp(line, ".\r\n", 3) == 0)
		return -1;
	return (long)len - (line[0] == '.');
}

/* Reads one RETR body to its terminating line, adding its octets. */
static void read_body(struct floor_conn *c, int sink, uint64_t *octets)
{
	bool mid_line = false, done = false;

	while (!done) {
		size_t from = c->start;
		const char *nl;

		while (!done && (nl = memchr(c->buf + c->start, '\n', c->end - c->start))) {
			size_t len = (size_t)(nl - (c->buf + c->start)) + 1;
			long got = body_line(c->buf + c->start, len, &mid_line);

			done = got < 0;
			*octets += done ? 0 : (uint64_t)got;
			c->start += len;
		}
		if (!done && c->start == 0 && c->end == sizeof(c->buf)) {
			*octets += c->end;	/* a line longer than the buffer */
			c->start = c->end;
			mid_line = true;
		}
		if (c->start > from && write(sink, c->buf + from, c->start - from) < 0)
			floor_die("cannot write to /dev/null");
		if (!done)
			floor_fill(c);
	}
}

/* Queues the commands for message NUMBER into OUT. */
static size_t queue_commands(char *out, size_t used, long number, bool delete)
{
	used += (size_t)sprintf(out + used, "RETR %ld\r\n", number);
	if (delete)
		used += (size_t)sprintf(out + used, "DELE %ld\r\n", number);
	return used;
}

static struct mailbox retrieve_all(struct floor_conn *c, long count, bool delete, long window)
{
	static char out[WINDOW_MAX * 48];
	struct mailbox got = { 0, 0 };
	long sent = 0;
	int sink = open("/dev/null", O_WRONLY);

	if (sink < 0)
		floor_die("cannot open /dev/null");
	while (got.count < count) {
		size_t used = 0;

		/* Top the window up in one write once half of it is answered. */
		if (sent - got.count <= window / 2)
			while (sent < count && sent - got.count < window)
				used = queue_commands(out, used, ++sent, delete);
		if (used > 0)
			floor_write(c, out, used);
		expect_ok(c, "RETR");
		read_body(c, sink, &got.octets);
		if (delete)
			expect_ok(c, "DELE");
		got.count++;
	}
	close(sink);
	return got;
}

/* UIDL: one line per message, checked against STAT's count. */
static struct mailbox list_uids(struct floor_conn *c)
{
	struct mailbox got = { 0, 0 };
	size_t len;
	const char *line;

	floor_write(c, "UIDL\r\n", 6);
	expect_ok(c, "UIDL");
	while ((line = floor_line(c, &len)) && !(len == 3 && memcmp(line, ".\r\n", 3) == 0))
		got.count++;
	return got;
}

int main(int argc, char **argv)
{
	struct floor_conn c;
	struct mailbox box, got;
	bool implicit, delete, uidl;
	long window;

	if (argc != 8)
		floor_die("usage: pop3-floor HOST PORT stls|implicit USER PASSWORD_FILE CA_FILE keep|delete|uidl");
	implicit = strcmp(argv[3], "implicit") == 0;
	delete = strcmp(argv[7], "delete") == 0;
	uidl = strcmp(argv[7], "uidl") == 0;
	window = window_size();	/* a bad setting ends the floor before it connects */
	floor_connect(&c, argv[1], argv[2]);
	if (implicit)
		floor_tls(&c, argv[1], argv[6]);
	expect_ok(&c, "connecting");
	if (!implicit) {
		floor_write(&c, "STLS\r\n", 6);
		expect_ok(&c, "STLS");
		floor_tls(&c, argv[1], argv[6]);
	}
	box = login(&c, argv[4], argv[5]);
	got = uidl ? list_uids(&c) : retrieve_all(&c, box.count, delete, window);
	if (uidl)
		box.octets = 0;
	floor_write(&c, "QUIT\r\n", 6);
	expect_ok(&c, "QUIT");	/* in delete mode, the server's commit */
	floor_close(&c);
	if (got.count != box.count || got.octets != box.octets)
		floor_die("the bodies do not add up to STAT");
	printf("pop3-floor: %ld messages, %" PRIu64 " octets\n", got.count, got.octets);
	return 0;
}
