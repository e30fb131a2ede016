/*
 * LMTP sessions for `deliver = lmtp` (lmtp.h).  Lock-step, one command
 * and its reply at a time: a run hands over one message at a time anyway
 * (each is journaled before the next, deliver.c), so pipelining would buy
 * nothing.  A refusal at any step is that message's verdict, after which
 * RSET makes the session ready for the next one; anything else (a lost
 * connection, a malformed reply) ends the session.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "dotstuff.h"
#include "fs.h"
#include "hostname.h"
#include "lmtp.h"
#include "log.h"
#include "proto.h"
#include "smtp.h"
#include "status.h"
#include "xalloc.h"

#define UNIX_PREFIX "unix:"
/* Bytes of the message read from its file at a time. */
#define BODY_CHUNK 8192

struct lmtp {
	struct conn *conn;
	bool ready;		/* between transactions, the connection usable */
};

/* ---- the target ---- */

/* Splits "HOST:PORT" / "[V6]:PORT" into host (brackets removed) and
 * port; false when it is not one. */
static bool
split_host_port(const char *target, char host[HOSTNAME_MAX], unsigned *port_r)
{
	const char *colon = strrchr(target, ':'), *start = target, *end = colon;
	bool bracketed = *target == '[';
	char *stop;
	unsigned long port;

	if (colon == NULL || colon[1] < '0' || colon[1] > '9')
		return false;
	port = strtoul(colon + 1, &stop, 10);
	if (*stop != '\0' || port == 0 || port > 65535)
		return false;
	if (bracketed && (colon == target || colon[-1] != ']'))
		return false;
	start += bracketed;
	end -= bracketed;
	/* an IPv6 address, and only that, has colons, and needs brackets */
	if (end <= start || (size_t)(end - start) >= HOSTNAME_MAX ||
	    (memchr(start, ':', (size_t)(end - start)) != NULL) != bracketed)
		return false;
	memcpy(host, start, (size_t)(end - start));
	host[end - start] = '\0';
	*port_r = (unsigned)port;
	return true;
}

const char *
lmtp_target_check(const char *target)
{
	struct sockaddr_un sun;
	char host[HOSTNAME_MAX];
	unsigned port;

	if (strncmp(target, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0) {
		const char *path = target + strlen(UNIX_PREFIX);

		if (path[0] != '/')
			return "the socket of unix: must be an absolute path";
		if (strlen(path) >= sizeof sun.sun_path)
			return "the socket path is too long for a Unix socket";
		return NULL;
	}
	if (!split_host_port(target, host, &port))
		return "expected unix:/path or HOST:PORT";
	return NULL;
}

/* ---- connecting ---- */

/* A local socket answers connect() at once: a full backlog (EAGAIN) is
 * a busy server, to try again later, never a wait. */
static int
connect_unix(const char *path, int *fd_r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return fail(FAIL_TEMPORARY, "cannot make a socket: %s", strerror(errno));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		int err = errno;

		close(fd);
		return fail(FAIL_TEMPORARY, "cannot connect to the LMTP socket %s: %s", path,
		    err == EAGAIN ? "the server is busy" : strerror(err));
	}
	*fd_r = fd;
	return 0;
}

static int
connect_target(const char *target, const struct timing *t, struct conn **c_r)
{
	struct endpoint ep = { .tls = TLS_MODE_OFF, .timing = *t };
	char host[HOSTNAME_MAX];
	int fd = -1;

	if (strncmp(target, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0) {
		if (connect_unix(target + strlen(UNIX_PREFIX), &fd) < 0)
			return -1;
		*c_r = conn_from_fd(fd, target, t);
		return 0;
	}
	if (!split_host_port(target, host, &ep.port))
		return fail(FAIL_CONFIG, "not an LMTP target: %s", target);
	ep.host = host;
	return conn_open(&ep, c_r);
}

/* Reads a reply; one with another code than want is refused as
 * smtp_refused() says (5xx: permanent). */
static int
expect(struct lmtp *l, int want, const char *what, struct smtp_reply *r)
{
	if (smtp_read_reply(l->conn, r, NULL) < 0)
		return -1;
	if (r->code != want)
		return smtp_refused(r, what, FAIL_PERMANENT);
	return 0;
}

static int
greet(struct lmtp *l)
{
	char name[HOSTNAME_MAX];
	struct smtp_reply r;

	hostname_node(name, sizeof name);
	if (expect(l, 220, "LMTP greeting", &r) < 0 || proto_send(l->conn, "LHLO %s", name) < 0)
		return -1;
	return expect(l, 250, "LHLO", &r);
}

int
lmtp_open(const char *target, const struct timing *t, struct lmtp **l_r)
{
	struct lmtp *l = xcalloc(1, sizeof *l);

	if (connect_target(target, t, &l->conn) < 0 || greet(l) < 0) {
		conn_close(l->conn);
		free(l);
		return -1;
	}
	l->ready = true;
	*l_r = l;
	return 0;
}

/* ---- one message ---- */

/* The message from fd through the dot-stuffer, and the final dot. */
static int
send_body(struct lmtp *l, int fd)
{
	char in[BODY_CHUNK], out[2 * BODY_CHUNK + 8];
	struct smtp_stuffer st;
	ssize_t got;

	if (lseek(fd, 0, SEEK_SET) != 0)
		return fail(FAIL_IO, "cannot rewind the message: %s", strerror(errno));
	smtp_stuff_init(&st);
	log_transcript("->", "<message>", 9);
	while ((got = read(fd, in, sizeof in)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return fail(FAIL_IO, "cannot read the message: %s", strerror(errno));
		if (conn_write(l->conn, out, smtp_stuff(&st, in, (size_t)got, out)) < 0)
			return -1;
	}
	log_transcript("->", ".", 1);
	if (conn_write(l->conn, out, smtp_stuff_end(&st, out)) < 0)
		return -1;
	return conn_flush(l->conn);
}

/* A reply that refuses the message at step: 4xx or 5xx is the message's
 * verdict (recorded as FAIL_TEMPORARY, so that the run ends 75 as for
 * every message left on the server) and RSET readies the session for
 * the next message; anything else ends the session (-1). */
static int
refused_at(struct lmtp *l, const struct smtp_reply *r, const char *step)
{
	struct smtp_reply reset;
	bool permanent = r->code >= 500;

	if (r->code < 400 || r->code > 599)
		return fail(FAIL_PROTOCOL, "LMTP %s: unexpected reply: %s", step, r->text);
	if (proto_send(l->conn, "RSET") < 0 || expect(l, 250, "LMTP RSET", &reset) < 0)
		return -1;
	fail(FAIL_TEMPORARY, "the LMTP server %s the message at %s: %s", permanent ?
	    "refused" : "deferred", step, r->text);
	return permanent ? LMTP_PERMANENT : LMTP_TEMPORARY;
}

/* Sends command, reads its reply: 0 when it is want (250 includes 251,
 * RCPT's "will forward"), else as refused_at(). */
static int
step(struct lmtp *l, const char *command, const char *what, int want)
{
	struct smtp_reply r;
	int rc = proto_send(l->conn, "%s", command);

	if (rc == 0)
		rc = smtp_read_reply(l->conn, &r, NULL);
	if (rc < 0)
		return -1;
	if (r.code == want || (want == 250 && r.code == 251))
		return 0;
	return refused_at(l, &r, what);
}

static int
envelope(struct lmtp *l, const char *sender, const char *recipient)
{
	char *mail = xasprintf("MAIL FROM:<%s>", sender);
	char *rcpt = xasprintf("RCPT TO:<%s>", recipient);
	int rc = step(l, mail, "MAIL", 250);

	if (rc == 0)
		rc = step(l, rcpt, "RCPT", 250);
	if (rc == 0)
		rc = step(l, "DATA", "DATA", 354);
	free(mail);
	free(rcpt);
	return rc;
}

/* The reply after the dot, the one RFC 2033 4.2 gives per recipient,
 * waited for as SMTP's (RFC 5321's 10 minutes: the server may run filters
 * before it answers).  None at all: the server may have delivered the
 * message, or not. */
static int
final_reply(struct lmtp *l)
{
	struct smtp_reply r;

	if (smtp_read_final_reply(l->conn, &r) < 0)
		return fail_context("no answer from the LMTP server after the message, which "
		    "it may have delivered: a duplicate is possible");
	if (r.code >= 200 && r.code < 300)
		return LMTP_DELIVERED;
	return refused_at(l, &r, "the end of the message");
}

int
lmtp_deliver(struct lmtp *l, int fd, const char *sender, const char *recipient)
{
	int rc;

	if (!l->ready || !conn_usable(l->conn))
		return fail(FAIL_TEMPORARY, "the LMTP session cannot be used any more");
	rc = envelope(l, sender, recipient);
	if (rc == 0 && send_body(l, fd) == 0)
		rc = final_reply(l);
	else if (rc == 0)
		rc = -1;
	l->ready = rc >= 0;
	return rc;
}

void
lmtp_close(struct lmtp *l)
{
	struct failure_record saved;
	struct smtp_reply r;

	if (l == NULL)
		return;
	if (l->ready && conn_usable(l->conn)) {
		fail_save(&saved);
		if (proto_send(l->conn, "QUIT") == 0)
			smtp_read_reply(l->conn, &r, NULL);
		fail_restore(&saved);
	}
	conn_close(l->conn);
	free(l);
}
