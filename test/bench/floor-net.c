/*
 * The floor clients' transport (floor-net.h): plain blocking sockets and
 * OpenSSL with no configuration loaded but the CA file, so that what the
 * floors measure is the servers' cost and the protocol's round trips.
 */
#include "floor-net.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>

void floor_die(const char *what)
{
	fprintf(stderr, "floor: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

void floor_connect(struct floor_conn *c, const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	struct timeval limit = { .tv_sec = 300 };
	int one = 1;

	memset(c, 0, sizeof(*c));
	if (getaddrinfo(host, port, &hints, &res) != 0)
		floor_die("cannot resolve the host");
	c->fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
	if (c->fd < 0 || connect(c->fd, res->ai_addr, res->ai_addrlen) != 0)
		floor_die("cannot connect");
	freeaddrinfo(res);
	/* Commands go out as written: the floor never waits on Nagle. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A server that stops answering ends the floor, not the benchmark. */
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
}

void floor_tls(struct floor_conn *c, const char *host, const char *ca_file)
{
	if (c->start != c->end)
		floor_die("plaintext after the STARTTLS reply");
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx || !SSL_CTX_load_verify_file(c->ctx, ca_file))
		floor_die("cannot load the CA file");
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	/* Whole TLS records per read(2), not a 5-byte header and then the
	 * rest: the floor makes the fewest system calls it can. */
	SSL_CTX_set_read_ahead(c->ctx, 1);
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) || !SSL_set1_host(c->ssl, host) ||
	    !SSL_set_tlsext_host_name(c->ssl, host))
		floor_die("cannot set up TLS");
	if (SSL_connect(c->ssl) != 1)
		floor_die("TLS handshake failed");
}

void floor_write(struct floor_conn *c, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		int n = c->ssl ? SSL_write(c->ssl, p, len > 1 << 30 ? 1 << 30 : (int)len)
			       : (int)write(c->fd, p, len);
		if (n <= 0)
			floor_die("write failed");
		p += n;
		len -= (size_t)n;
	}
}

/* Every segment acknowledged at once, not up to 40 ms later: with TLS 1.3
 * Postfix sends its session tickets and then, under Nagle, holds its
 * answer to the EHLO the floor sent right after its Finished until the
 * tickets are acknowledged.  Without this, half of smtp-floor's sends
 * waited 40 ms for a delayed ACK (strace -T, 10 of 20 sends), which made
 * the floor slower than the clients it is the floor of (they leave Nagle
 * on, so their EHLO goes out with the tickets' ACK).  The kernel leaves
 * quick-ACK mode by itself, so it is asked for before each read. */
static void quick_ack(struct floor_conn *c)
{
	int one = 1;

	if (c->quick_ack)
		setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

void floor_fill(struct floor_conn *c)
{
	int n;

	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	if (c->end == sizeof(c->buf))
		return;
	quick_ack(c);
	n = c->ssl ? SSL_read(c->ssl, c->buf + c->end, (int)(sizeof(c->buf) - c->end))
		   : (int)read(c->fd, c->buf + c->end, sizeof(c->buf) - c->end);
	if (n <= 0)
		floor_die("the server closed the connection");
	c->end += (size_t)n;
	/* SSL_read hands out one record at a time: take every record already
	 * read ahead, so the caller's work per fill is per 64 KiB, not 16. */
	while (c->ssl && c->end < sizeof(c->buf) && SSL_has_pending(c->ssl) &&
	       (n = SSL_read(c->ssl, c->buf + c->end, (int)(sizeof(c->buf) - c->end))) > 0)
		c->end += (size_t)n;
}

const char *floor_line(struct floor_conn *c, size_t *len)
{
	const char *nl;
	const char *line;

	for (;;) {
		nl = memchr(c->buf + c->start, '\n', c->end - c->start);
		if (nl || c->end - c->start == sizeof(c->buf))
			break;
		floor_fill(c);
	}
	line = c->buf + c->start;
	*len = nl ? (size_t)(nl - line) + 1 : c->end - c->start;
	c->start += *len;
	return line;
}

void floor_close(struct floor_conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		SSL_CTX_free(c->ctx);
	}
	close(c->fd);
}
