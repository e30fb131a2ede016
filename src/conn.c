/*
 * The connection: socket, optional TLS, and two fixed buffers.  Memory is
 * bounded by construction: a line longer than the caller's limit is refused
 * before it is ever buffered whole, and bodies are streamed through
 * conn_peek()/conn_consume() in buffer-sized pieces.  Time is bounded the
 * same way: the session's deadline is checked before every read and write.
 *
 * A wrong `tls` for the port is explained here, where the mode, the port
 * and the history of the stream are known: a plaintext greeting met by
 * tls = implicit, or silence met by tls = starttls.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "conn.h"
#include "log.h"
#include "status.h"
#include "xalloc.h"

struct conn {
	int fd;
	struct tls_session *tls;
	char *peer;
	struct timing timing;
	struct tls_options tls_options;	/* for conn_starttls() */
	unsigned port;			/* 0: not known (conn_from_fd) */
	int64_t opened_ms;		/* when the TCP connection was made */
	bool received;			/* the server ever sent a byte */
	size_t rstart, rend;		/* unread bytes are rbuf[rstart..rend) */
	size_t scanned;			/* bytes after rstart known to hold no LF */
	size_t wlen;
	bool failed;			/* see conn_usable() */
	bool secret_buffered;		/* wipe wbuf after the next flush */
	char rbuf[CONN_BUFFER_SIZE];
	char wbuf[CONN_BUFFER_SIZE];
};

struct conn *
conn_from_fd(int fd, const char *name, const struct timing *t)
{
	struct conn *c = xcalloc(1, sizeof *c);

	c->tls_options.verify = true;
	c->fd = fd;
	c->peer = xstrdup(name);
	c->timing = *t;
	return c;
}

/* tls = implicit: the handshake first.  A server that greets in plaintext
 * instead is a configuration error, not a server fault: the port wants
 * STARTTLS (or nothing). */
static int
start_implicit_tls(struct conn *c)
{
	int rc = tls_start(c->fd, c->peer, &c->tls_options, &c->timing, &c->tls);

	if (rc == TLS_PLAINTEXT_PEER)
		return fail(FAIL_CONFIG, "server at %s:%u speaks plaintext first: "
		    "set tls = starttls (or tls = off)", c->peer, c->port);
	if (rc < 0)
		return -1;
	log_info("TLS: %s", tls_describe(c->tls));
	return 0;
}

/* While the server's name is looked up (a child process, lookup.h),
 * OpenSSL is started for a session that will need it: on another core,
 * the work is off the path to the first byte. */
int
conn_open(const struct endpoint *ep, struct conn **c_r)
{
	struct net_resolving resolving;
	struct conn *c;
	int fd;

	if (net_resolve_start(ep->host, ep->port, &resolving) < 0)
		return -1;
	if (ep->tls != TLS_MODE_OFF)
		tls_prepare();
	if (net_connect_resolved(&resolving, &ep->timing, &fd) < 0)
		return -1;
	c = conn_from_fd(fd, ep->host, &ep->timing);
	c->tls_options = ep->tls_options;
	c->port = ep->port;
	c->opened_ms = clock_now_ms();
	if (ep->tls == TLS_MODE_IMPLICIT && start_implicit_tls(c) < 0) {
		conn_close(c);
		return -1;
	}
	*c_r = c;
	return 0;
}

/* Records that the stream is unusable; returns -1 for the caller. */
static int
broken(struct conn *c)
{
	c->failed = true;
	return -1;
}

/* A stream that failed is never read or written again: a TLS session
 * after a fatal error must not be (SSL_read(3)), and a plain one would
 * only fail in a new way.  The failure first recorded stays the one. */
static int
refuse_broken(void)
{
	if (fail_class() != FAIL_NONE)
		return -1;
	return fail(FAIL_TEMPORARY, "the connection was already lost");
}

int
conn_starttls(struct conn *c)
{
	/* Anything the server sent after its go-ahead came in plaintext and
	 * could have been injected by anyone on the path (CVE-2011-0411). */
	if (conn_pending(c) > 0) {
		fail(FAIL_PROTOCOL, "the server sent data after its TLS go-ahead "
		    "(possible injection); refusing to continue");
		return broken(c);
	}
	if (conn_flush(c) < 0 ||
	    tls_start(c->fd, c->peer, &c->tls_options, &c->timing, &c->tls) < 0)
		return broken(c);
	log_info("TLS: %s", tls_describe(c->tls));
	return 0;
}

bool
conn_is_tls(const struct conn *c)
{
	return c->tls != NULL;
}

const char *
conn_tls_version(const struct conn *c)
{
	return c != NULL && c->tls != NULL ? tls_version(c->tls) : NULL;
}

bool
conn_usable(const struct conn *c)
{
	return !c->failed;
}

const char *
conn_peer_host(const struct conn *c)
{
	return c->peer;
}

unsigned
conn_peer_port(const struct conn *c)
{
	return c->port;
}

int
conn_timeout(const struct conn *c)
{
	return c->timing.timeout_ms;
}

void
conn_set_timeout(struct conn *c, int timeout_ms)
{
	c->timing.timeout_ms = timeout_ms;
}

void
conn_mark_secret(struct conn *c)
{
	c->secret_buffered = true;
}

static int
send_all(struct conn *c, const char *p, size_t n)
{
	if (c->failed)
		return refuse_broken();
	if (c->tls != NULL)
		return tls_write(c->tls, p, n, &c->timing);
	while (n > 0) {
		ssize_t w;

		if (timing_check(&c->timing, "sending to the server") < 0)
			return -1;
		w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (timing_poll(c->fd, POLLOUT, &c->timing, "sending to the server") < 0)
				return -1;
		} else if (errno != EINTR) {
			return fail(FAIL_TEMPORARY, "connection lost: %s", strerror(errno));
		}
	}
	return 0;
}

int
conn_flush(struct conn *c)
{
	size_t n = c->wlen;
	int rc = n > 0 ? send_all(c, c->wbuf, n) : 0;

	c->wlen = 0;
	if (c->secret_buffered) {
		OPENSSL_cleanse(c->wbuf, n);
		c->secret_buffered = false;
	}
	return rc < 0 ? broken(c) : 0;
}

int
conn_write(struct conn *c, const void *p, size_t n)
{
	if (c->failed)
		return refuse_broken();
	if (c->wlen + n > sizeof c->wbuf) {
		if (conn_flush(c) < 0)
			return -1;
		if (n > sizeof c->wbuf)
			return send_all(c, p, n) < 0 ? broken(c) : 0;
	}
	memcpy(c->wbuf + c->wlen, p, n);
	c->wlen += n;
	return 0;
}

/* A plaintext connection on which nothing ever came, until the timeout or
 * the deadline: the port may expect TLS from the first byte and be waiting
 * for our ClientHello as we wait for its greeting.  Nothing tells the two
 * apart earlier; the line says which setting to look at. */
static int
explain_silence(struct conn *c, int why)
{
	int secs = (int)((clock_now_ms() - c->opened_ms + 500) / 1000);

	if (c->received || c->port == 0 || (why != TIMING_TIMEOUT && why != TIMING_DEADLINE))
		return -1;
	if (c->port == 465 || c->port == 995)
		return fail(FAIL_TEMPORARY, "no greeting within %d s; port %u usually wants "
		    "tls = implicit", secs, c->port);
	return fail(FAIL_TEMPORARY, "no greeting within %d s; if this port expects TLS "
	    "from the start, set tls = implicit", secs);
}

/* recv() with the bounded wait; returns bytes read, 0 at EOF, -1. */
static long
read_plain(struct conn *c, void *buf, size_t n)
{
	for (;;) {
		ssize_t got;

		if (timing_check(&c->timing, "reading from the server") < 0)
			return -1;
		got = recv(c->fd, buf, n, 0);
		if (got >= 0)
			return (long)got;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int why = timing_poll(c->fd, POLLIN, &c->timing, "waiting for the server");

			if (why < 0)
				return explain_silence(c, why);
		} else if (errno != EINTR) {
			return fail(FAIL_TEMPORARY, "connection lost: %s", strerror(errno));
		}
	}
}

/* Reads what is available into the free end of rbuf (compacting first). */
static int
fill(struct conn *c)
{
	char *free_end;
	size_t room;
	long got;

	if (c->rstart > 0) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
		c->rend -= c->rstart;
		c->rstart = 0;
	}
	free_end = c->rbuf + c->rend;
	room = sizeof c->rbuf - c->rend;
	got = c->tls != NULL ? tls_read(c->tls, free_end, room, &c->timing)
			     : read_plain(c, free_end, room);
	if (got < 0)
		return -1;
	if (got == 0)
		return fail(FAIL_TEMPORARY, "connection closed by the server");
	c->received = true;
	c->rend += (size_t)got;
	return 0;
}

int
conn_read_line(struct conn *c, size_t max, char **line_r, size_t *len_r)
{
	char *lf;

	if (c->failed)
		return refuse_broken();
	/* Scan only bytes not scanned before, so a line arriving in many small
	 * segments costs linear time. */
	while ((lf = memchr(c->rbuf + c->rstart + c->scanned, '\n',
	    c->rend - c->rstart - c->scanned)) == NULL) {
		c->scanned = c->rend - c->rstart;
		/* + 1: the CR of a CRLF; a full buffer cannot take the LF. */
		if (c->scanned > max + 1 || c->scanned == sizeof c->rbuf) {
			fail(FAIL_PROTOCOL, "the server sent a line longer than %zu bytes", max);
			return broken(c);
		}
		if (fill(c) < 0)
			return broken(c);
	}
	size_t len = (size_t)(lf - (c->rbuf + c->rstart));

	*line_r = c->rbuf + c->rstart;
	c->rstart += len + 1;
	c->scanned = 0;
	if (len > 0 && (*line_r)[len - 1] == '\r')
		len--;
	if (len > max) {
		fail(FAIL_PROTOCOL, "the server sent a line longer than %zu bytes", max);
		return broken(c);
	}
	(*line_r)[len] = '\0';
	*len_r = len;
	return 0;
}

int
conn_peek(struct conn *c, const char **p_r, size_t *n_r)
{
	if (c->failed)
		return refuse_broken();
	if (c->rend == c->rstart && fill(c) < 0)
		return broken(c);
	*p_r = c->rbuf + c->rstart;
	*n_r = c->rend - c->rstart;
	return 0;
}

void
conn_consume(struct conn *c, size_t n)
{
	c->rstart += n;
	c->scanned = 0;
}

size_t
conn_pending(const struct conn *c)
{
	return c->rend - c->rstart;
}

void
conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	tls_end(c->tls);
	close(c->fd);
	free(c->peer);
	OPENSSL_cleanse(c->wbuf, sizeof c->wbuf);
	free(c);
}

int
conn_local_address(const struct conn *c, char *out, size_t size)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof ss;
	char text[INET6_ADDRSTRLEN] = "";
	bool mapped;

	if (getsockname(c->fd, (struct sockaddr *)&ss, &len) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return fail(FAIL_TEMPORARY, "no local IP address on the connection");
	mapped = ss.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr);
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &in4->sin_addr, text, sizeof text);
	else
		inet_ntop(mapped ? AF_INET : AF_INET6,
		    mapped ? (const void *)&in6->sin6_addr.s6_addr[12] : &in6->sin6_addr, text,
		    sizeof text);
	snprintf(out, size, "[%s%s]", ss.ss_family == AF_INET6 && !mapped ? "IPv6:" : "", text);
	return 0;
}
